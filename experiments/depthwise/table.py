"""The depthwise study's table: one row per variant in runs/, seeds 0 / 1 / 2 and mean ± std.
    python experiments/depthwise/table.py [RUNS_DIR]"""
from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path

runs = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).parent / "runs")
print("| variant | seeds | top-1 per seed % | mean ± std % | distill / recon s (mean) |")
print("| --- | --- | --- | --- | --- |")
for d in sorted(p for p in runs.iterdir() if p.is_dir()):
    ms = [(int(s.name[1:]), json.loads((s / "metrics.json").read_text()))
          for s in sorted(d.glob("s*")) if (s / "metrics.json").is_file()]
    if not ms:
        continue
    top = [100 * m["quant_top1"] for _, m in ms]
    spread = f" ± {statistics.stdev(top):.2f}" if len(top) > 1 else ""
    sec = [m["seconds"] for _, m in ms]
    print(f"| {d.name} | {','.join(str(s) for s, _ in ms)} | {' / '.join(f'{t:.2f}' for t in top)} | "
          f"{statistics.mean(top):.2f}{spread} | {statistics.mean(s['distill'] for s in sec):.0f} / "
          f"{statistics.mean(s['recon'] for s in sec):.0f} |")
