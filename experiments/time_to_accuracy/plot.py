"""accuracy.png: top-1 (mean over seeds, bars: min..max) against seconds per run (table.py's), one
panel per bit width, one line per model, distillation budget and rounding learning rate through the
reconstruction budgets (other schedule variants as single points), the old default and the paper's code
as crosses.

    python experiments/time_to_accuracy/plot.py    # -> experiments/time_to_accuracy/accuracy.png"""
from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from table import HERE, rows  # noqa: E402

BUDGET = re.compile(r"^(?P<model>[a-z0-9]+)_w(?P<w>\d)_d(?P<d>\d+)_r(?P<r>\d+)(_lr(?P<lr>[0-9e.-]+))?$")
OTHER_METHODS = ("_adaround", "_rtn", "_real")  # the results table's columns, not budget points
COLOURS = {"mbv2": "tab:blue", "resnet20": "tab:orange", "treppe": "tab:green"}


def main() -> None:
    data = rows()
    bits = sorted({r["w_bits"] for r in data})
    fig, axes = plt.subplots(1, len(bits), figsize=(9.5 * len(bits), 4.8), squeeze=False)
    for ax, w in zip(axes[0], bits):
        lines = defaultdict(list)
        for r in data:
            if r["w_bits"] != w or r["name"].endswith(OTHER_METHODS):
                continue
            model = r["name"].split("_")[0]
            colour = COLOURS.get(model, "grey")
            lo, hi = min(r["top1"]), max(r["top1"])
            err = [[r["mean"] - lo], [hi - r["mean"]]]
            m = BUDGET.match(r["name"])
            if m:
                lines[(model, int(m["d"]), m["lr"] or "1e-3")].append((r["seconds"], r["mean"], err, int(m["r"])))
            elif r["name"].endswith("_old") or r["name"].endswith("_paper"):
                ax.errorbar(r["seconds"], r["mean"], yerr=err, fmt="x", color=colour, ms=9, capsize=3,
                            label=f"{model}: {'the old default' if r['name'].endswith('_old') else 'the paper code'}")
            else:
                ax.errorbar(r["seconds"], r["mean"], yerr=err, fmt="d", color=colour, ms=5, capsize=2, alpha=0.6)
                ax.annotate(r["name"].split("_", 4)[-1], (r["seconds"], r["mean"]), fontsize=6, alpha=0.7)
        for (model, d, lr), pts in sorted(lines.items()):
            pts.sort()
            style = {25: (0, (1, 1)), 50: ":", 100: "-", 200: "--", 400: "-."}.get(d, "-")
            ax.plot([p[0] for p in pts], [p[1] for p in pts], linestyle=style, color=COLOURS.get(model, "grey"),
                    marker="o" if lr == "1e-3" else "s", ms=4, lw=1.0 if lr == "1e-3" else 2.0,
                    label=f"{model}, {d} distillation steps, rounding lr {lr}")
            for s, t, e, rsteps in pts:
                ax.errorbar(s, t, yerr=e, color=COLOURS.get(model, "grey"), capsize=2, lw=0.8)
                ax.annotate(str(rsteps), (s, t), textcoords="offset points", xytext=(3, -9), fontsize=6)
        ax.set_title(f"W{w}A4, Fashion-MNIST, 256 images; labels: reconstruction steps per unit")
        ax.set_xlabel("seconds per run (whole process, one thread, two runs at a time)")
        ax.set_ylabel("test top-1 %")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=6, loc="upper left", bbox_to_anchor=(1.01, 1.0))  # beside the panel: the points fill it
    fig.tight_layout()
    fig.savefig(HERE / "accuracy.png", dpi=110)


if __name__ == "__main__":
    main()
