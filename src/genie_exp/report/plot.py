"""report.png: quantized top-1 (%) against weight bits, one line per model x method x activation bits
(colour: method, marker: model, line style: activation bits), and each model's FP32 top-1 as a grey
reference line."""
from __future__ import annotations

from pathlib import Path

# The Agg canvas directly (not pyplot): no global backend switch, no display needed, thread-safe.
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

MARKERS = "osD^v<>ph*"  # one per model
A_STYLES = ("-", "--", ":", "-.")  # one per activation bit-width, highest first
FP32_STYLES = ("--", "-.", ":", (0, (6, 2, 1, 2)))  # FP32 references: dashed, one pattern per model


def _varies(rows: list[dict], key: str) -> bool:
    return len({r[key] for r in rows}) > 1


def series_label(r: dict, rows: list[dict]) -> str:
    """`model calib+quantizer A<a>`, plus dataset / sample count only where the report mixes several."""
    extra = (f" {r['dataset']}" if _varies(rows, "dataset") else "") + \
        (f" n={r['n_samples']}" if _varies(rows, "n_samples") else "")
    return f"{r['model']}{extra} {r['calib']}+{r['quantizer']} A{r['a_bits']}"


def plot_top1(rows: list[dict], path: Path) -> Path:
    """`rows` as from `group_rows` (top-1 as fractions); writes a PNG to `path`."""
    fig = Figure(figsize=(10, 5.2), dpi=110)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    models = sorted({r["model"] for r in rows})
    marker = {m: MARKERS[i % len(MARKERS)] for i, m in enumerate(models)}
    methods = sorted({f"{r['calib']}+{r['quantizer']}" for r in rows})
    colour = {m: f"C{i % 10}" for i, m in enumerate(methods)}
    a_style = {a: A_STYLES[i % len(A_STYLES)] for i, a in enumerate(sorted({r["a_bits"] for r in rows}, reverse=True))}
    series: dict[str, list[dict]] = {}
    for r in rows:
        series.setdefault(series_label(r, rows), []).append(r)
    for label, runs in sorted(series.items()):
        runs = sorted(runs, key=lambda r: r["w_bits"])
        first = runs[0]
        ax.errorbar([r["w_bits"] for r in runs], [100 * r["quant_top1"] for r in runs],
                    yerr=[100 * r.get("quant_top1_std", 0.0) for r in runs],
                    color=colour[f"{first['calib']}+{first['quantizer']}"], linestyle=a_style[first["a_bits"]],
                    marker=marker[first["model"]], capsize=3, label=label)
    for i, m in enumerate(models):
        fp32 = [r["fp32_top1"] for r in rows if r["model"] == m]
        ax.axhline(100 * sum(fp32) / len(fp32), color="0.35", linestyle=FP32_STYLES[i % len(FP32_STYLES)],
                   linewidth=1.2, label=f"{m} FP32")
    ax.set_xticks(sorted({r["w_bits"] for r in rows}))
    ax.set_xlabel("weight bits")
    ax.set_ylabel("top-1 (%)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))  # outside: the lines stay visible
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    return path
