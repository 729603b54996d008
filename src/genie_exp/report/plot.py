"""report.png: one column of panels per model. Top: top-1 (%) against weight bits, FP32 as a grey line.
Bottom: the drop from FP32 in points on a log axis, so that runs within a point of FP32 stay apart
from each other while RTN's 70-point drops fit too. A line joins only runs of one method and one
activation bit-width, and never across a weight bit-width the series lacks (colour: method and any setting
that differs between rows; line style and marker: activation bits); error bars are the standard deviation over seeds. One legend for the figure."""
from __future__ import annotations

from pathlib import Path

# The Agg canvas directly (not pyplot): no global backend switch, no display needed, thread-safe.
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

A_STYLES = (("-", "o"), ("--", "s"), (":", "^"), ("-.", "D"))  # per activation bit-width, highest first


def method_label(r: dict) -> str:
    """`distill+quantizer`, plus the settings that differ between the report's rows."""
    extra = " ".join(f"{k}={_short(v)}" for k, v in sorted(r["settings"].items()))  # full keys: distill.iters != recon.iters
    return f"{r['calib']}+{r['quantizer']}" + (f" {extra}" if extra else "")


def series_label(r: dict, rows: list[dict] = ()) -> str:
    return f"{r['model']} {method_label(r)} A{r['a_bits']}"


def _short(v) -> str:
    text = str(v)
    return text if len(text) <= 18 else text[:15] + "..."


def _plain(text: str) -> str:
    """Text as matplotlib should show it: a `$` would start its maths mode."""
    return str(text).replace("$", r"\$")


def _segments(runs: list[dict], panel_bits: list[int]) -> list[list[dict]]:
    """Split a series where the panel has a weight bit-width it lacks: a line from W2 to W4 across a W3
    where only other settings ran would draw a W3 value nobody measured."""
    out: list[list[dict]] = []
    for r in runs:
        if out and not any(out[-1][-1]["w_bits"] < b < r["w_bits"] for b in panel_bits):
            out[-1].append(r)
        else:
            out.append([r])
    return out


def plot_top1(rows: list[dict], path: Path) -> Path:
    """`rows` as from `group_rows` (top-1 as fractions); writes a PNG to `path`."""
    models = sorted({str(r["model"]) for r in rows})
    methods = sorted({method_label(r) for r in rows})
    colour = {m: f"C{i % 10}" for i, m in enumerate(methods)}
    # methods side by side at each bit-width, so that equal results do not hide each other
    shift = {m: 0.05 * (i - (len(methods) - 1) / 2) for i, m in enumerate(methods)}
    a_bits = sorted({r["a_bits"] for r in rows}, reverse=True)
    style = {a: A_STYLES[i % len(A_STYLES)] for i, a in enumerate(a_bits)}
    fig = Figure(figsize=(max(6.0, 4.6 * len(models)) + 2.6, 7.4), dpi=110, layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(2, len(models), squeeze=False, sharex="col")
    handles = {}
    for col, model in enumerate(models):
        top, drop = axes[0][col], axes[1][col]
        mine = [r for r in rows if str(r["model"]) == model]
        series: dict[tuple, list[dict]] = {}
        for r in mine:
            series.setdefault((method_label(r), r["a_bits"]), []).append(r)
        panel_bits = sorted({r["w_bits"] for r in mine})
        for (method, a), runs in sorted(series.items()):
            ls, marker = style[a]
            kw = dict(color=colour[method], linestyle=ls, marker=marker, capsize=3, markersize=5)
            for seg in _segments(sorted(runs, key=lambda r: r["w_bits"]), panel_bits):
                x = [r["w_bits"] + shift[method] for r in seg]
                err = [100 * r["quant_top1_std"] for r in seg]
                h = top.errorbar(x, [100 * r["quant_top1"] for r in seg], yerr=err, **kw)
                drop.errorbar(x, [max(100 * r["drop"], 0.01) for r in seg], yerr=err, **kw)
                handles.setdefault(_plain(f"{method}, A{a}"), h)
        fp32 = sum(r["fp32_top1"] for r in mine) / len(mine)
        h = top.axhline(100 * fp32, color="0.4", linestyle="--", linewidth=1.1)
        handles.setdefault("FP32 (each model's)", h)
        top.set_title(_plain(f"{model} (FP32 {100 * fp32:.2f} %)"), fontsize=10)
        drop.set_yscale("log")
        drop.set_xticks(sorted({r["w_bits"] for r in mine}))
        drop.set_xlabel("weight bits")
        for ax in (top, drop):
            ax.grid(alpha=0.3, which="both")
        if col == 0:
            top.set_ylabel("top-1 (%)")
            drop.set_ylabel("drop from FP32 (points, log)")
    fig.legend(list(handles.values()), list(handles), loc="outside right center", fontsize=8, frameon=False)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    return path
