"""Pivot the runs of a table directory into model x method rows and bit-setting columns (top-1 %);
a cell with several seeds shows mean ± sample std over them and the number of seeds.

    python experiments/fashion_mnist/pivot.py experiments/fashion_mnist/results.jsonl --only sweep/

The benchmark table: the sweep's runs are the lines sweep/... of the study's results.jsonl; a rerun of
sweep.sh adds its runs as runs/sweep/... (--only runs/sweep/). Any DIR or results.jsonl the report
reads works here too, and --only PREFIX keeps the runs whose path under it (a line: its name) starts so.
"""
import argparse
import statistics

from genie_exp.report import collect_metrics


def cell(values: list) -> str:
    if not values:
        return "not run"
    mean = 100 * statistics.mean(values)
    if len(values) == 1:
        return f"{mean:.2f}"
    return f"{mean:.2f} ± {100 * statistics.stdev(values):.2f} ({len(values)})"


parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
parser.add_argument("dirs", nargs="+", help="run or sweep directories, or results.jsonl files")
parser.add_argument("--only", metavar="PREFIX", help="only the runs whose path under DIR (a line: its name) starts so")
args = parser.parse_args()
rows = collect_metrics(args.dirs, only=args.only)
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
            if calib is None:  # FP32: one value per teacher, whatever the seed
                cells.append(cell([hit[0]["fp32_top1"]] if hit else []))
            else:
                cells.append(cell([r["quant_top1"] for r in hit]))
        zs = "" if calib is None else (" (Genie-D)" if calib == "genie" else "")
        print(f"| {model} | {label}{zs} | " + " | ".join(cells) + " |")
