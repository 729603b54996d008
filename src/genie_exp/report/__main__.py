"""`python -m genie_exp.report DIR [DIR ...] [--out DIR]`: a markdown table of every run found."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import collect_metrics, group_rows, markdown_table


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m genie_exp.report", description=__doc__)
    p.add_argument("dirs", nargs="+", help="run or sweep directories to search for metrics.json")
    p.add_argument("--out", help="where to write report.md (default: the first DIR)")
    args = p.parse_args(argv)
    rows = collect_metrics(args.dirs)
    if not rows:
        print(f"error: no metrics.json under {', '.join(args.dirs)}", file=sys.stderr)
        return 2
    table = markdown_table(group_rows(rows))
    out = Path(args.out or args.dirs[0])
    out.mkdir(parents=True, exist_ok=True)
    (out / "report.md").write_text(table)
    print(table, end="")
    print(f"{len(rows)} runs -> {out / 'report.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
