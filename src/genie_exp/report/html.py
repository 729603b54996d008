"""report.html: one self-contained page (nothing is fetched): the configurations as a table that sorts
by any column (drop from FP32, seconds, seeds, a link to each run dir), the plots, the reconstruction
loss of every unit before and after, per run and across configurations, and the distillation loss
curves. Every text that comes from a metrics.json is escaped."""
from __future__ import annotations

import base64
import os
from html import escape
from pathlib import Path

from .collect import varying_keys
from .table import cell, top1_text

STYLE = ("body{font-family:sans-serif;margin:2em;max-width:110em}table{border-collapse:collapse;margin:1em 0}"
         "th,td{border:1px solid #bbb;padding:3px 7px;text-align:right}th{background:#eee;cursor:pointer}"
         "td.t,th.t{text-align:left}details{margin:.4em 0}summary{cursor:pointer}img{max-width:100%}")
# Click a header to sort by it (again: the other way); numbers sort as numbers.
SORT_JS = ("document.querySelectorAll('table.sortable th').forEach((th,i)=>th.onclick=()=>{"
           "const t=th.closest('table'),b=t.tBodies[0],rows=[...b.rows],up=th.dataset.up!=='1';"
           "const v=r=>{const s=r.cells[i].dataset.v??r.cells[i].textContent;const n=parseFloat(s);"
           "return isNaN(n)?s:n};rows.sort((x,y)=>{const a=v(x),c=v(y);"
           "return (a>c?1:a<c?-1:0)*(up?1:-1)});th.dataset.up=up?'1':'0';rows.forEach(r=>b.appendChild(r))});")


def _img(png: bytes, alt: str) -> str:
    return f'<img alt="{escape(alt)}" src="data:image/png;base64,{base64.b64encode(png).decode("ascii")}">'


def _link(path: str, out_dir: Path) -> str:
    if path.startswith(("http://", "https://")):  # a W&B run
        return f'<a href="{escape(path)}">W&amp;B</a>'
    rel = os.path.relpath(path, out_dir)
    # the path from the report, not the dir's name: a sweep's job dirs are all named 0, 1, 2, ...
    text = "/".join(part for part in Path(rel).parts if part != "..") or rel
    return f'<a href="{escape(rel)}/metrics.json">{escape(text)}</a>'


def config_table(rows: list[dict], out_dir: Path) -> str:
    extra = varying_keys(rows)
    cols = ["model", "bits", "distill", "quantizer", "samples", *extra, "seeds", "FP32 top-1 %", "quant top-1 %",
            "drop from FP32", "time s", "runs"]
    text_cols = {0, 1, 2, 3, *range(5, 5 + len(extra)), 5 + len(extra), len(cols) - 1}
    head = "".join(f'<th class="{"t" if i in text_cols else ""}">{escape(c)}</th>' for i, c in enumerate(cols))
    body = []
    for r in rows:
        cells = [(r["model"], None), (f"W{r['w_bits']}A{r['a_bits']}", f"{r['w_bits'] * 10 + r['a_bits']}"),
                 (r["calib"], None), (r["quantizer"], None), (r["n_samples"], None),
                 *[(cell(r["settings"].get(k)), None) for k in extra], (",".join(map(str, r["seeds"])), None),
                 (f"{100 * r['fp32_top1']:.2f}", None), (top1_text(r), f"{100 * r['quant_top1']:.4f}"),
                 (f"{100 * r['drop']:.2f}", None), (f"{r['seconds']:.0f}", None)]
        tds = "".join(f'<td class="{"t" if i in text_cols else ""}"' + (f' data-v="{escape(v)}"' if v else "")
                      + f">{escape(str(c))}</td>" for i, (c, v) in enumerate(cells))
        links = " ".join(_link(p, out_dir) for p in r["paths"])
        body.append(f"<tr>{tds}<td class=\"t\">{links}</td></tr>")
    return f'<table class="sortable"><thead><tr>{head}</tr></thead><tbody>\n' + "\n".join(body) + "\n</tbody></table>"


def _units(run: dict) -> list[dict]:
    units = run.get("units")
    return [u for u in units if isinstance(u, dict) and "name" in u] if isinstance(units, list) else []


def unit_tables(rows: list[dict], out_dir: Path) -> str:
    """Across configurations: each unit's final loss (mean over seeds); then per run, before -> after."""
    cols = [r for r in rows if any(_units(run) for run in r["runs"])]
    if not cols:
        return "<p>No reconstructed units in these runs.</p>"
    names: list[str] = []
    for r in cols:
        for run in r["runs"]:
            names += [u["name"] for u in _units(run) if u["name"] not in names]
    head = "".join(f"<th>{escape(_config_name(r))}</th>" for r in cols)
    lines = []
    for name in names:
        tds = []
        for r in cols:
            losses = [u["loss"] for run in r["runs"] for u in _units(run)
                      if u["name"] == name and isinstance(u.get("loss"), (int, float))]
            tds.append(f"<td>{sum(losses) / len(losses):.4g}</td>" if losses else "<td>-</td>")
        lines.append(f'<tr><td class="t">{escape(name)}</td>{"".join(tds)}</tr>')
    across = (f'<table class="sortable"><thead><tr><th class="t">unit (final loss, mean over seeds)</th>{head}'
              f'</tr></thead><tbody>\n' + "\n".join(lines) + "\n</tbody></table>")
    per_run = []
    for r in cols:
        for run in r["runs"]:
            units = _units(run)
            if not units:
                continue
            trs = "".join(f'<tr><td class="t">{escape(str(u["name"]))}</td><td class="t">{escape(str(u.get("kind", "")))}</td>'
                          f'<td>{_num(u.get("loss_start"))}</td><td>{_num(u.get("loss"))}</td>'
                          f'<td>{_num(u.get("seconds"))}</td></tr>' for u in units)
            per_run.append(f"<details><summary>{escape(str(run['model']))} W{run['w_bits']}A{run['a_bits']} "
                           f"{escape(str(run['calib']))}+{escape(str(run['quantizer']))} seed {escape(str(run['seed']))} "
                           f"({_link(run['_path'], out_dir)})</summary><table><tr><th class=\"t\">unit</th>"
                           f"<th class=\"t\">kind</th><th>loss before</th><th>loss after</th><th>seconds</th></tr>"
                           f"{trs}</table></details>")
    return across + "\n" + "\n".join(per_run)


def _config_name(r: dict) -> str:
    extra = " ".join(f"{k}={cell(v)}" for k, v in r["settings"].items())
    return f"{r['model']} W{r['w_bits']}A{r['a_bits']} {r['calib']}+{r['quantizer']}" + (f" {extra}" if extra else "")


def _num(v) -> str:
    return f"{v:.4g}" if isinstance(v, (int, float)) and not isinstance(v, bool) else "-"


def html_page(rows: list[dict], images: dict[str, bytes], n_runs: int, failures: list[dict] = (),
              out_dir: Path | str = ".") -> str:
    out_dir = Path(out_dir)
    failed = ""
    if failures:
        items = "\n".join(f"<li><code>{escape(f['dir'])}</code>: {escape(str(f.get('error', '')))}</li>"
                          for f in failures)
        failed = f"<h2>Failed runs ({len(failures)})</h2>\n<ul>\n{items}\n</ul>\n"
    plots = "\n".join(f"<h2>{escape(title)}</h2>\n{_img(png, title)}" for title, png in images.items())
    return (f"<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>genie-exp report</title>"
            f"<style>{STYLE}</style></head>\n<body>\n<h1>genie-exp report</h1>\n<p>{n_runs} runs, "
            f"{len(rows)} configurations (runs whose settings differ only in the seed are one row); top-1 on the "
            f"evaluated test images. Click a column header to sort.</p>\n{config_table(rows, out_dir)}\n{plots}\n"
            f"<h2>Reconstruction loss per unit</h2>\n{unit_tables(rows, out_dir)}\n{failed}"
            f"<script>{SORT_JS}</script></body></html>\n")


def html_table(rows: list[dict]) -> str:
    return config_table(rows, Path("."))
