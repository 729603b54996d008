"""Grouped runs as a markdown table (top-1 in percent)."""
from __future__ import annotations


def markdown_table(rows: list[dict]) -> str:
    head = "| model | bits | calib | quantizer | samples | seeds | FP32 top-1 % | quant top-1 % | time s |\n"
    head += "|---|---|---|---|---|---|---|---|---|\n"
    lines = []
    for r in rows:
        std = f" ± {100 * r['quant_top1_std']:.2f}" if len(r["seeds"]) > 1 else ""
        lines.append(f"| {r['model']} | W{r['w_bits']}A{r['a_bits']} | {r['calib']} | {r['quantizer']} | "
                     f"{r['n_samples']} | {','.join(map(str, r['seeds']))} | {100 * r['fp32_top1']:.2f} | "
                     f"{100 * r['quant_top1']:.2f}{std} | {r['seconds']:.0f} |")
    return head + "\n".join(lines) + "\n"
