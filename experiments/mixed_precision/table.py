"""The mixed-precision table: per model, uniform W2/W3/W4 A4 against the mixed allocations, top-1 per seed,
mean ± std, the weights' size (MB) and average bits of the allocated layers, the allocation's seconds.
Uniform W2A4 / W4A4 are the headline runs of experiments/time_to_accuracy (the same command without a
budget; their metrics.json predate layer_bits, so their size is the W3 run's layers at 2 or 4 bits).
    python experiments/results.py experiments/mixed_precision
    python experiments/mixed_precision/table.py"""
from __future__ import annotations

import statistics
import sys
from collections import defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
from results import read_results  # noqa: E402  (experiments/results.py)

HEADLINE = {("mobilenetv2", 2): "mbv2_w2_d100_r1000_lr3e-3_fb10", ("mobilenetv2", 4): "mbv2_w4_d100_r1000_lr3e-3_fb10",
            ("resnet20", 2): "resnet20_w2_d100_r1000_lr3e-3_fb10", ("resnet20", 4): "resnet20_w4_d100_r1000_lr3e-3_fb10"}


def size(layer_bits: dict, allocated: set, w: int | None = None) -> tuple[float, float]:
    """(MB of all quantized weights, average bits of the allocated layers), the allocated ones at `w` if given."""
    bits = {n: (w if w is not None and n in allocated else v["w"]) for n, v in layer_bits.items()}
    mb = sum(bits[n] * v["weights"] for n, v in layer_bits.items()) / 8e6
    n_alloc = sum(layer_bits[n]["weights"] for n in allocated)
    return mb, sum(bits[n] * layer_bits[n]["weights"] for n in allocated) / n_alloc


def main() -> None:
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for line in read_results(HERE):
        name = line["name"].split("/")[1]
        groups[name].append(line["metrics"])
    for line in read_results(HERE.parent / "time_to_accuracy"):
        for (model, w), name in HEADLINE.items():
            if line["name"].startswith(f"runs/{name}/"):
                groups[f"{model}_w{w}"].append(line["metrics"])
    print("| model | weights | seeds | top-1 % per seed | mean ± std | weights MB | avg bits (allocated layers) | allocation s |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for model in ("mobilenetv2", "resnet20"):
        ref = next((m for n, ms in groups.items() if n.startswith(model + "_mixed") for m in ms), None)
        allocated = set(ref["mixed_precision"]["bits"]) if ref else set()
        rows = []
        for name, ms in groups.items():
            if not name.startswith(model + "_"):
                continue
            ms = sorted(ms, key=lambda m: m["seed"])
            mixed = ms[0].get("mixed_precision")
            if mixed:
                mb, avg = size(ms[0]["layer_bits"], allocated)
                label, secs = f"mixed {mixed['weight_bits_avg']:g}", statistics.mean(m["mixed_precision"]["seconds"] for m in ms)
            else:
                w = ms[0]["w_bits"]
                mb, avg = size(ref["layer_bits"], allocated, w) if ref else (float("nan"), float(w))
                label, secs = f"uniform W{w}", None
            top = [100 * m["quant_top1"] for m in ms]
            spread = f" ± {statistics.stdev(top):.2f}" if len(top) > 1 else ""
            rows.append((avg, label, ms, top, spread, mb, secs))
        for avg, label, ms, top, spread, mb, secs in sorted(rows, key=lambda r: (r[0], r[1])):
            print(f"| {model} | {label} | {','.join(str(m['seed']) for m in ms)} | {' / '.join(f'{t:.2f}' for t in top)} | "
                  f"{statistics.mean(top):.2f}{spread} | {mb:.4f} | {avg:.3f} | {'' if secs is None else f'{secs:.1f}'} |")


if __name__ == "__main__":
    main()
