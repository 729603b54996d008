"""Pivot the runs of a table directory into model x method rows and bit-setting columns (top-1 %).

    python experiments/fashion_mnist/pivot.py experiments/fashion_mnist/runs/quant
"""
import sys

from genie_exp.report import collect_metrics

rows = collect_metrics(sys.argv[1:])
bits = sorted({(r["w_bits"], r["a_bits"]) for r in rows}, key=lambda b: (-b[0], -b[1]))
methods = [("FP32", None, None), ("RTN", "genie", "rtn"), ("AdaRound + QDrop", "genie", "adaround"),
           ("Genie-M", "genie", "genie"), ("Genie-M, real images (few-shot)", "real", "genie")]
print("| model | method (calibration) | " + " | ".join(f"W{w}A{a}" for w, a in bits) + " |")
print("|---|---|" + "---|" * len(bits))
for model in sorted({r["model"] for r in rows}, key=lambda m: m != "resnet20"):
    for label, calib, quantizer in methods:
        cells = []
        for w, a in bits:
            hit = [r for r in rows if r["model"] == model and (r["w_bits"], r["a_bits"]) == (w, a)
                   and (calib is None or (r["calib"], r["quantizer"]) == (calib, quantizer))]
            value = hit[0]["fp32_top1"] if (hit and calib is None) else (hit[0]["quant_top1"] if hit else None)
            cells.append(f"{100 * value:.2f}" if value is not None else "not run")
        zs = "" if calib is None else (" (Genie-D)" if calib == "genie" else "")
        print(f"| {model} | {label}{zs} | " + " | ".join(cells) + " |")
