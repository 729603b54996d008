"""Find runs (metrics.json files, results.jsonl lines) and group the runs that are repeats of one setting.

Two runs are repeats when every setting that can change a result is equal (their fingerprint,
config.result_settings): only the seed differs. A run's settings come from its metrics.json
(`settings`), else from the resolved config Hydra kept beside it (`.hydra/config.yaml`), else only the
few keys every metrics.json has.

A results.jsonl (experiments/results.py) holds one run per line: `name` (its run dir, relative to the
file's folder), `metrics` (the run's metrics.json), `config` (its `.hydra/config.yaml`, for a
metrics.json without settings) and `distill_curve` (the [step, distill/loss] points of its
logs/metrics.csv). A line counts as the run dir it was made from would."""
from __future__ import annotations

import csv
import json
import math
import os
import statistics
from pathlib import Path
from typing import Any, Callable, Optional

from ..config import USER_MODEL, fingerprint, result_settings

RESULTS = "results.jsonl"  # a study's runs, one line each (experiments/results.py)

# What every metrics.json has: the settings of a run whose config could not be found
BASIC = {"model": "model.name", "dataset": "data.name", "w_bits": "quant.w", "a_bits": "quant.a",
         "calib": "distill.name", "quantizer": "quantizer.name", "n_samples": "distill.samples"}
SHOWN = set(BASIC.values())  # always their own columns; the other settings only where rows differ


def _valid(m: Any) -> bool:
    return isinstance(m, dict) and all(k in m for k in ("model", "w_bits", "a_bits", "quant_top1", "fp32_top1")) \
        and all(isinstance(m[k], (int, float)) and not isinstance(m[k], bool) and math.isfinite(m[k])
                for k in ("quant_top1", "fp32_top1", "w_bits", "a_bits"))


def _hydra_config(run_dir: Path) -> Optional[dict]:
    hydra_cfg = run_dir / ".hydra" / "config.yaml"
    if not hydra_cfg.is_file():
        return None
    from omegaconf import OmegaConf

    return OmegaConf.to_container(OmegaConf.load(hydra_cfg), resolve=False)


def _settings(m: dict, config: Callable[[], Optional[dict]]) -> dict:
    if isinstance(m.get("settings"), dict):
        return dict(m["settings"])
    try:
        cfg = config()
        if cfg is not None:
            return result_settings(cfg)
    except Exception:  # noqa: BLE001 - an unreadable config: fall back to the basic keys
        pass
    return {BASIC[k]: m.get(k) for k in BASIC}


def distill_loss_points(run_dir: str | Path) -> list[tuple[int, float]]:
    """The (step, distill/loss) rows of a run's logs/metrics.csv; none if it cannot be read."""
    points = []
    try:
        with open(Path(run_dir) / "logs" / "metrics.csv", newline="") as f:
            for row in csv.DictReader(f):
                value, step = row.get("distill/loss"), row.get("step")
                if value and step:
                    points.append((int(float(step)), float(value)))
    except (OSError, ValueError, csv.Error):
        return []
    return points


def _row(m: dict, path: str, config: Callable[[], Optional[dict]]) -> dict:
    m.setdefault("calib", m.get("distill", "?"))
    m.setdefault("dataset", "?")
    m.setdefault("n_samples", 0)
    m.setdefault("seed", 0)
    m["_path"] = path
    m["_settings"] = _settings(m, config)
    target = m["_settings"].get("model.target")
    if m["model"] == USER_MODEL and isinstance(target, str) and target:
        m["model"] = target.rsplit(".", 1)[-1]  # runs recorded before custom models had their class name
    return m


def _results_rows(path: Path) -> list[dict]:
    """The runs of one results.jsonl, each as its metrics.json would be read from its run dir."""
    rows = []
    try:
        text = path.read_text()
    except OSError:
        return rows
    for raw in text.splitlines():
        try:
            line = json.loads(raw)
        except ValueError:
            continue
        if not isinstance(line, dict) or not isinstance(line.get("name"), str) or not _valid(line.get("metrics")):
            continue
        config = line.get("config") if isinstance(line.get("config"), dict) else None
        row = _row(line["metrics"], str(path.parent / line["name"]), lambda c=config: c)
        if isinstance(line.get("distill_curve"), list):
            row["_distill_curve"] = [tuple(p) for p in line["distill_curve"]]
        rows.append(row)
    return rows


def collect_metrics(dirs: list[str | Path], only: Optional[str] = None) -> list[dict]:
    """Every readable metrics.json (a dict with the top-1s) under `dirs`, and every run of a results.jsonl
    given or found under them (a run dir found both ways counts once); others are skipped. `only`: just
    the runs whose path under the given DIR (a results.jsonl line: its name) starts with it."""
    rows = []
    for d in dirs:
        d = Path(d)
        base = d.parent if d.is_file() else d
        found: list[dict] = []
        if d.is_file():
            found += _results_rows(d)
        for path in sorted(d.rglob("metrics.json")) if d.is_dir() else []:
            try:
                m = json.loads(path.read_text())
            except (OSError, ValueError):
                continue  # a run that died before writing is not a result
            if _valid(m):
                found.append(_row(m, str(path.parent), lambda run_dir=path.parent: _hydra_config(run_dir)))
        seen = {os.path.abspath(r["_path"]) for r in found}
        for results in sorted(d.rglob(RESULTS)) if d.is_dir() else []:
            found += [r for r in _results_rows(results) if os.path.abspath(r["_path"]) not in seen]
        if only:
            found = [r for r in found if Path(os.path.relpath(r["_path"], base)).as_posix().startswith(only)]
        rows += found
    return rows


def collect_failures(dirs: list[str | Path]) -> list[dict]:
    """The failed.json records of multirun jobs that died (error line, overrides, `dir`)."""
    out = []
    for d in dirs:
        for path in sorted(Path(d).rglob("failed.json")) if Path(d).is_dir() else []:
            try:
                record = json.loads(path.read_text())
            except (OSError, ValueError):
                continue
            if isinstance(record, dict):
                out.append({**record, "dir": str(path.parent)})
    return out


def _total_seconds(r: dict) -> float:
    s = r.get("seconds")
    return float(s.get("total", 0.0)) if isinstance(s, dict) else 0.0


def group_rows(rows: list[dict]) -> list[dict]:
    """One row per fingerprint: mean and std of top-1 over seeds, the seeds, the run dirs, and
    `varying`: the settings (beyond the basic columns) whose values differ between rows."""
    groups: dict[str, list[dict]] = {}
    for r in rows:
        groups.setdefault(fingerprint(r["_settings"]), []).append(r)
    varying = _distinguishing(rows)
    out = []
    for fp, runs in groups.items():
        q = [r["quant_top1"] for r in runs]
        f = [r["fp32_top1"] for r in runs]
        first = runs[0]
        out.append({**{k: first[k] for k in BASIC}, "fingerprint": fp, "seeds": sorted(r["seed"] for r in runs),
                    "fp32_top1": statistics.mean(f), "quant_top1": statistics.mean(q),
                    "quant_top1_std": statistics.stdev(q) if len(q) > 1 else 0.0,
                    "drop": statistics.mean(f) - statistics.mean(q),
                    "seconds": statistics.mean(_total_seconds(r) for r in runs),
                    "paths": [r["_path"] for r in sorted(runs, key=lambda r: r["seed"])],
                    "settings": {k: first["_settings"].get(k) for k in varying}, "runs": runs})
    return sorted(out, key=lambda r: (str(r["model"]), -r["w_bits"], -r["a_bits"], str(r["quantizer"]),
                                      str(r["calib"]), _order(r["settings"])))


def _distinguishing(rows: list[dict]) -> list[str]:
    """The settings that tell apart runs whose basic columns (model, bits, methods, samples) are equal:
    a setting that only follows from those (e.g. what `quantizer=rtn` implies) gets no column."""
    keys = sorted({k for r in rows for k in r["_settings"]} - SHOWN)
    out = []
    for k in keys:
        seen: dict[tuple, set] = {}
        for r in rows:
            basic = tuple(str(r.get(b)) for b in BASIC)
            seen.setdefault(basic, set()).add(json.dumps(r["_settings"].get(k), sort_keys=True, default=str))
        if any(len(v) > 1 for v in seen.values()):
            out.append(k)
    return out


def _order(settings: dict) -> tuple:
    """Numbers in numeric order (250 before 1000), then everything else as text."""
    return tuple((0, v, "") if isinstance(v, (int, float)) and not isinstance(v, bool) else (1, 0, str(v))
                 for _, v in sorted(settings.items()))


def varying_keys(grouped: list[dict]) -> list[str]:
    return sorted({k for g in grouped for k in g["settings"]})
