"""A study's results as one file: every run dir under STUDY_DIR/runs/ as one line of STUDY_DIR/results.jsonl.

    python experiments/results.py STUDY_DIR [STUDY_DIR ...] [--from FOLDER ...]

A line: `name` (the run dir relative to STUDY_DIR, e.g. runs/NAME/s0), `seed`, `overrides` (its
.hydra/overrides.yaml), `metrics` (its whole metrics.json), `config` (its .hydra/config.yaml, only where
metrics.json has no `settings`: the report reads the settings from there) and `distill_curve` (the
[step, distill/loss] rows of its logs/metrics.csv, what the report's distillation plot reads). The lines
already in the file stay, a run dir of the same name replaces its line; lines sorted by name. The run
dirs themselves are not in git (experiments/*/runs/ is ignored). The study's scripts read the file
with read_results(STUDY_DIR); `python -m genie_exp.report STUDY_DIR/results.jsonl` reads it as the run
dirs it was made from.

`--from FOLDER` (repeatable): also the run dirs under STUDY_DIR/FOLDER/ (a folder of run dirs committed
outside runs/, e.g. `sweep`: lines named sweep/...); there a file NAME-metrics.json (a run copied back
without its run dir) counts as the run dir FOLDER/.../NAME."""
from __future__ import annotations

import json
import sys
from pathlib import Path, PurePosixPath
from typing import Iterable

FILE = "results.jsonl"


def read_results(study_dir: str | Path) -> list[dict]:
    """The lines of STUDY_DIR/results.jsonl (none if it does not exist), in the file's order (by name)."""
    path = Path(study_dir) / FILE
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()] if path.is_file() else []


def run_line(study_dir: Path, run_dir: Path, metrics_file: Path | None = None) -> dict:
    from omegaconf import OmegaConf

    from genie_exp.report.collect import distill_loss_points

    metrics = json.loads((metrics_file or run_dir / "metrics.json").read_text())
    hydra = run_dir / ".hydra"
    line = {"name": run_dir.relative_to(study_dir).as_posix(), "seed": metrics.get("seed"), "overrides": []}
    if (hydra / "overrides.yaml").is_file():
        line["overrides"] = OmegaConf.to_container(OmegaConf.load(hydra / "overrides.yaml"))
    line["metrics"] = metrics
    if not isinstance(metrics.get("settings"), dict) and (hydra / "config.yaml").is_file():
        line["config"] = OmegaConf.to_container(OmegaConf.load(hydra / "config.yaml"), resolve=False)
    curve = distill_loss_points(run_dir)
    if curve:
        line["distill_curve"] = [list(p) for p in curve]
    return line


def convert(study_dir: str | Path, folders: Iterable[str] = ()) -> Path:
    """STUDY_DIR/runs/**/metrics.json (and those under STUDY_DIR/FOLDER/ for each of `folders`, with their
    NAME-metrics.json files) merged into STUDY_DIR/results.jsonl; returns the file's path."""
    study_dir = Path(study_dir)
    lines = {line["name"]: line for line in read_results(study_dir)}
    found = [(path, path.parent) for path in sorted((study_dir / "runs").rglob("metrics.json"))]
    for folder in folders:
        found += [(path, path.parent) for path in sorted((study_dir / folder).rglob("metrics.json"))]
        found += [(path, path.with_name(path.name[:-len("-metrics.json")]))
                  for path in sorted((study_dir / folder).rglob("?*-metrics.json"))]
    for path, run_dir in found:
        try:
            line = run_line(study_dir, run_dir, path)
        except ValueError as e:  # a metrics.json cut short: not a result
            print(f"skipped {path}: {e}", file=sys.stderr)
            continue
        lines[line["name"]] = line
    out = study_dir / FILE
    tmp = out.with_suffix(".jsonl.tmp")
    tmp.write_text("".join(json.dumps(lines[n]) + "\n" for n in sorted(lines, key=PurePosixPath)))
    tmp.replace(out)
    return out


def main(argv: list[str]) -> int:
    study_dirs, folders = [], []
    while argv:
        arg, argv = argv[0], argv[1:]
        if arg == "--from" and argv:
            folders.append(argv[0])
            argv = argv[1:]
        elif arg.startswith("-"):
            study_dirs = []
            break
        else:
            study_dirs.append(arg)
    if not study_dirs:
        print(__doc__, file=sys.stderr)
        return 2
    for study_dir in study_dirs:
        out = convert(study_dir, folders)
        print(f"{len(read_results(study_dir))} runs in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
