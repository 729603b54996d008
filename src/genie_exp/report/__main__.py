"""`python -m genie_exp.report DIR [DIR ...] [--only PREFIX] [--out DIR] [--wandb ENTITY/PROJECT]`: every run
found (a metrics.json under a DIR, a line of a results.jsonl given as DIR or found under one), as report.md
(markdown table), report.png (top-1 vs weight bits), report_size.png where runs differ in weight size, and
report.html (all, self-contained)."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..core.errors import UserError, print_error
from . import collect_failures, collect_metrics, group_rows, html_page, markdown_table, plot_top1
from .curves import plot_distill_curves
from .size import plot_top1_vs_size


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m genie_exp.report", description=__doc__)
    p.add_argument("dirs", nargs="*", help="run or sweep directories to search for metrics.json and "
                   "results.jsonl, or results.jsonl files")
    p.add_argument("--only", metavar="PREFIX", help="only the runs whose path under DIR (a results.jsonl line: "
                   "its name) starts with PREFIX, e.g. runs/quant/")
    p.add_argument("--out", help="where to write the report (default: the first DIR, else the current dir)")
    p.add_argument("--wandb", metavar="ENTITY/PROJECT", help="also read the finished runs of a W&B project (online)")
    args = p.parse_args(argv)
    if not args.dirs and not args.wandb:
        p.error("give at least one DIR or --wandb ENTITY/PROJECT")
    rows = collect_metrics(args.dirs, only=args.only)
    try:
        if args.wandb:
            rows += _wandb_rows(args.wandb)
    except UserError as e:
        print_error(str(e))
        return 2
    where = ", ".join(args.dirs + ([f"W&B {args.wandb}"] if args.wandb else []))
    if not rows:
        print_error(f"no metrics.json or results.jsonl run under {where}")
        return 2
    failures = collect_failures(args.dirs)
    grouped = group_rows(rows)
    first = Path(args.dirs[0]) if args.dirs else Path(".")
    out = Path(args.out) if args.out else (first.parent if first.is_file() else first)
    out.mkdir(parents=True, exist_ok=True)
    table = markdown_table(grouped)
    if failures:
        table += f"\n{len(failures)} failed run(s): " + ", ".join(f["dir"] for f in failures) + "\n"
    (out / "report.md").write_text(table)
    images = {"Top-1 and drop from FP32 against weight bits": plot_top1(grouped, out / "report.png").read_bytes()}
    size = plot_top1_vs_size(grouped, out / "report_size.png")
    if size is not None:
        images["Top-1 against weight size (MB)"] = size.read_bytes()
    curves = plot_distill_curves(grouped, out / "report_distill.png")
    if curves is not None:
        images["Distillation loss"] = curves.read_bytes()
    (out / "report.html").write_text(html_page(grouped, images, len(rows), failures, out))
    print(table, end="")
    print(f"{len(rows)} runs -> {out / 'report.md'}, {out / 'report.png'}, {out / 'report.html'}")
    return 0


def _wandb_rows(project_path: str) -> list[dict]:
    from .wandb_source import runs_from_wandb  # wandb is imported only when asked for

    return runs_from_wandb(project_path)


if __name__ == "__main__":
    sys.exit(main())
