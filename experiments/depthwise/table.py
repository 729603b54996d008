"""The depthwise study's first table: one row per variant of runs/NAME/sSEED in results.jsonl (the image
candidates under runs/images/ have results_table.py), seeds 0 / 1 / 2 and mean ± std.
    python experiments/depthwise/table.py"""
from __future__ import annotations

import statistics
import sys
from collections import defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
from results import read_results  # noqa: E402  (experiments/results.py)

variants = defaultdict(list)
for line in read_results(HERE):
    parts = line["name"].split("/")  # runs/NAME/sSEED
    if len(parts) == 3 and parts[2].startswith("s"):
        variants[parts[1]].append((int(parts[2][1:]), line["metrics"]))
print("| variant | seeds | top-1 per seed % | mean ± std % | distill / recon s (mean) |")
print("| --- | --- | --- | --- | --- |")
for name, ms in sorted(variants.items()):
    ms.sort(key=lambda sm: sm[0])
    top = [100 * m["quant_top1"] for _, m in ms]
    spread = f" ± {statistics.stdev(top):.2f}" if len(top) > 1 else ""
    sec = [m["seconds"] for _, m in ms]
    print(f"| {name} | {','.join(str(s) for s, _ in ms)} | {' / '.join(f'{t:.2f}' for t in top)} | "
          f"{statistics.mean(top):.2f}{spread} | {statistics.mean(s['distill'] for s in sec):.0f} / "
          f"{statistics.mean(s['recon'] for s in sec):.0f} |")
