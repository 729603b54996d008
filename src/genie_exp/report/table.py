"""Grouped runs as a markdown table (top-1 in percent): one row per setting, the settings that differ
between rows as columns of their own, so that a budget sweep reads as a budget sweep."""
from __future__ import annotations

from .collect import varying_keys


def cell(value) -> str:
    if isinstance(value, list):
        return "[" + ",".join(map(str, value)) + "]"
    return "-" if value is None else str(value)


def top1_text(r: dict) -> str:
    std = f" ± {100 * r['quant_top1_std']:.2f}" if len(r["seeds"]) > 1 else ""
    return f"{100 * r['quant_top1']:.2f}{std}"


def markdown_table(rows: list[dict]) -> str:
    extra = varying_keys(rows)
    # the data column where runs differ in it (e.g. an API run's `given` test images beside a CLI run's)
    data = [r["dataset"] for r in rows] if len({str(r["dataset"]) for r in rows}) > 1 else None
    cols = ["model", *(["data"] if data else []), "bits", "distill", "quantizer", "samples", *extra, "seeds",
            "FP32 top-1 %", "quant top-1 %", "drop", "time s"]
    head = "| " + " | ".join(cols) + " |\n|" + "---|" * len(cols) + "\n"
    lines = []
    for i, r in enumerate(rows):
        cells = [r["model"], *([data[i]] if data else []), f"W{r['w_bits']}A{r['a_bits']}", r["calib"], r["quantizer"], r["n_samples"],
                 *[cell(r["settings"].get(k)) for k in extra], ",".join(map(str, r["seeds"])),
                 f"{100 * r['fp32_top1']:.2f}", top1_text(r), f"{100 * r['drop']:.2f}", f"{r['seconds']:.0f}"]
        lines.append("| " + " | ".join(str(c) for c in cells) + " |")
    return head + "\n".join(lines) + "\n"
