"""report.html: one self-contained page, the table as HTML and the plot embedded as base64 PNG."""
from __future__ import annotations

import base64
from html import escape

COLUMNS = ("model", "bits", "calib", "quantizer", "samples", "seeds", "FP32 top-1 %", "quant top-1 %", "time s")
STYLE = ("body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
         "th,td{border:1px solid #bbb;padding:4px 8px;text-align:right}th{background:#eee}"
         "td:nth-child(-n+4){text-align:left}")


def _cells(r: dict) -> list[str]:
    std = f" ± {100 * r['quant_top1_std']:.2f}" if len(r["seeds"]) > 1 else ""
    return [r["model"], f"W{r['w_bits']}A{r['a_bits']}", r["calib"], r["quantizer"], str(r["n_samples"]),
            ",".join(map(str, r["seeds"])), f"{100 * r['fp32_top1']:.2f}", f"{100 * r['quant_top1']:.2f}{std}",
            f"{r['seconds']:.0f}"]


def html_table(rows: list[dict]) -> str:
    head = "".join(f"<th>{escape(c)}</th>" for c in COLUMNS)
    body = "\n".join("<tr>" + "".join(f"<td>{escape(str(c))}</td>" for c in _cells(r)) + "</tr>" for r in rows)
    return f"<table>\n<tr>{head}</tr>\n{body}\n</table>"


def html_page(rows: list[dict], png: bytes, n_runs: int, failures: list[dict] = ()) -> str:
    img = base64.b64encode(png).decode("ascii")
    failed = ""
    if failures:
        items = "\n".join(f"<li><code>{escape(f['dir'])}</code>: {escape(str(f.get('error', '')))}</li>"
                          for f in failures)
        failed = f"<h2>Failed runs ({len(failures)})</h2>\n<ul>\n{items}\n</ul>\n"
    return (f"<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>genie-exp report</title>"
            f"<style>{STYLE}</style></head>\n<body>\n<h1>genie-exp report</h1>\n<p>{n_runs} runs, "
            f"{len(rows)} configurations; top-1 on the evaluated test images.</p>\n{html_table(rows)}\n"
            f"<h2>Top-1 vs weight bits</h2>\n<img alt=\"top-1 vs weight bits\" src=\"data:image/png;base64,{img}\">\n"
            f"{failed}</body></html>\n")
