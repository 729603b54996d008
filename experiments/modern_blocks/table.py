"""The modern-blocks table from results.jsonl (one line per run dir runs/TAG, `python
experiments/results.py experiments/modern_blocks`): per setting (a run's tag without its seed), FP32
top-1, quantized top-1 mean ± std over seeds, the seeds, and the whole-process seconds (walls.jsonl;
a run that found its calibration set in the cache took less than a fresh one).

    python experiments/modern_blocks/table.py
"""
from __future__ import annotations

import json
import statistics
import sys
from collections import defaultdict
from pathlib import Path

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE.parent))
from results import read_results  # noqa: E402  (experiments/results.py)


def rows() -> list[tuple]:
    walls = {}
    if (HERE / "walls.jsonl").exists():
        walls = {w["tag"]: w["wall_s"] for w in map(json.loads, (HERE / "walls.jsonl").read_text().splitlines())}
    groups: dict[str, list] = defaultdict(list)
    for line in read_results(HERE):
        parts = line["name"].split("/")  # runs/TAG
        if len(parts) != 2 or parts[0] != "runs":
            continue
        tag, m = parts[1], line["metrics"]
        setting, _, seed = tag.rpartition("-s")
        groups[setting].append((int(seed), 100 * m["fp32_top1"], 100 * m["quant_top1"], walls.get(tag)))
    out = []
    for setting, runs in groups.items():
        tops = [r[2] for r in runs]
        secs = [r[3] for r in runs if r[3] is not None]
        std = f" ± {statistics.stdev(tops):.2f}" if len(tops) > 1 else ""
        out.append((setting, f"{runs[0][1]:.2f}", f"{statistics.mean(tops):.2f}{std}",
                    ",".join(str(r[0]) for r in sorted(runs)), f"{statistics.mean(secs):.0f}" if secs else "-"))
    return out


def main() -> None:
    print("| setting | FP32 % | top-1 % | seeds | s per run |")
    print("| --- | --- | --- | --- | --- |")
    for r in rows():
        print("| " + " | ".join(r) + " |")


if __name__ == "__main__":
    main()
