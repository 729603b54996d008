"""report_distill.png: the distillation loss against the step, one line per batch group of the first
seed of each configuration that distilled (read from its logs/metrics.csv, or for a results.jsonl run
from its line's distill_curve)."""
from __future__ import annotations

import math
from pathlib import Path
from typing import Optional

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from .collect import distill_loss_points
from .plot import _plain, method_label


def _curves(run: dict) -> list[list[tuple[int, float]]]:
    """The distill/loss curves of a run: a new curve wherever the step starts again (a new batch group)."""
    points = run["_distill_curve"] if "_distill_curve" in run else distill_loss_points(run["_path"])
    curves: list[list[tuple[int, float]]] = []
    for point in points:
        if not curves or point[0] <= curves[-1][-1][0]:
            curves.append([])
        if math.isfinite(point[1]):
            curves[-1].append(point)
    return [c for c in curves if c]


def _first_run(r: dict) -> dict:
    """The run of a configuration that its first path names (the lowest seed)."""
    return next((run for run in r["runs"] if run["_path"] == r["paths"][0]), {"_path": r["paths"][0]})


def plot_distill_curves(rows: list[dict], path: Path) -> Optional[Path]:
    found = [(r, _curves(_first_run(r))) for r in rows if r["paths"] and not r["paths"][0].startswith("http")]
    found = [(r, c) for r, c in found if c]
    if not found:
        return None
    fig = Figure(figsize=(9, 4.2), dpi=110)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    seen = set()
    for i, (r, curves) in enumerate(found):
        label = _plain(f"{r['model']} {method_label(r)} seed {r['seeds'][0]}")
        if label in seen:
            continue
        seen.add(label)
        for k, c in enumerate(curves):
            ax.plot([p[0] for p in c], [p[1] for p in c], color=f"C{len(seen) % 10}", alpha=0.8,
                    label=label if k == 0 else None)
    ax.set_yscale("log")
    ax.set_xlabel("distillation step (each batch group from 0)")
    ax.set_ylabel("BN-statistics loss (log)")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=7, loc="upper right")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    return path
