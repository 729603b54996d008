"""report_size.png: top-1 against the weights' size (MB), one panel per model, where a model's runs differ
in size (mixed precision, or uniform widths side by side); a uniform and a mixed run of equal size sit on
one vertical line. The size comes from metrics.json's layer_bits (every quantized layer's weight bits and
count); runs without it are left out."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from .plot import _plain, method_label


def weight_mb(run: dict) -> Optional[float]:
    bits = run.get("layer_bits")
    if not isinstance(bits, dict) or not bits:
        return None
    return sum(int(v["w"]) * int(v["weights"]) for v in bits.values()) / 8e6


def _label(r: dict) -> str:
    mixed = r["runs"][0].get("mixed_precision")
    kind = f"mixed {mixed['weight_bits_avg']:g} bits" if isinstance(mixed, dict) else f"uniform W{r['w_bits']}"
    return f"{kind} A{r['a_bits']} {method_label(r)}"


def plot_top1_vs_size(rows: list[dict], path: Path) -> Optional[Path]:
    """`rows` as from `group_rows`; None (nothing written) where no model has runs of two sizes."""
    sized = [(r, weight_mb(r["runs"][0])) for r in rows]
    sized = [(r, mb) for r, mb in sized if mb is not None]
    models = sorted({str(r["model"]) for r, _ in sized
                     if len({round(mb, 6) for q, mb in sized if str(q["model"]) == str(r["model"])}) > 1})
    if not models:
        return None
    fig = Figure(figsize=(4.6 * len(models) + 3.0, 4.2), dpi=110, layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, len(models), squeeze=False)[0]
    for ax, model in zip(axes, models):
        mine = sorted(((r, mb) for r, mb in sized if str(r["model"]) == model), key=lambda p: p[1])
        for i, (r, mb) in enumerate(mine):
            mixed = isinstance(r["runs"][0].get("mixed_precision"), dict)
            ax.errorbar([mb], [100 * r["quant_top1"]], yerr=[100 * r["quant_top1_std"]], capsize=3,
                        marker="*" if mixed else "o", markersize=9 if mixed else 6, color=f"C{i % 10}",
                        linestyle="none", label=_plain(_label(r)))
        ax.set_title(_plain(f"{model}: top-1 against weight size"), fontsize=10)
        ax.set_xlabel("weights (MB)")
        ax.set_ylabel("top-1 (%)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="lower right")
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    return path
