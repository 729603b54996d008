"""Find metrics.json files and group runs that differ only by seed."""
from __future__ import annotations

import json
import statistics
from pathlib import Path

KEY = ("model", "dataset", "w_bits", "a_bits", "calib", "quantizer", "n_samples")


def collect_metrics(dirs: list[str | Path]) -> list[dict]:
    rows = []
    for d in dirs:
        for path in sorted(Path(d).rglob("metrics.json")):
            try:
                m = json.loads(path.read_text())
            except (OSError, json.JSONDecodeError):
                continue  # a run that died before writing is not a result
            m["_path"] = str(path.parent)
            rows.append(m)
    return rows


def collect_failures(dirs: list[str | Path]) -> list[dict]:
    """The failed.json records of multirun jobs that died (error line, overrides, `dir`)."""
    out = []
    for d in dirs:
        for path in sorted(Path(d).rglob("failed.json")):
            try:
                out.append({**json.loads(path.read_text()), "dir": str(path.parent)})
            except (OSError, json.JSONDecodeError):
                continue
    return out


def group_rows(rows: list[dict]) -> list[dict]:
    """One row per configuration: mean and std of the top-1s over seeds, the seeds themselves."""
    groups: dict[tuple, list[dict]] = {}
    for r in rows:
        groups.setdefault(tuple(r.get(k) for k in KEY), []).append(r)
    out = []
    for key, runs in groups.items():
        q = [r["quant_top1"] for r in runs]
        f = [r["fp32_top1"] for r in runs]
        out.append({**dict(zip(KEY, key)), "seeds": sorted(r["seed"] for r in runs),
                    "fp32_top1": statistics.mean(f), "quant_top1": statistics.mean(q),
                    "quant_top1_std": statistics.stdev(q) if len(q) > 1 else 0.0,
                    "seconds": statistics.mean(r["seconds"]["total"] for r in runs)})
    return sorted(out, key=lambda r: (r["model"], -r["w_bits"], -r["a_bits"], r["quantizer"], r["calib"]))
