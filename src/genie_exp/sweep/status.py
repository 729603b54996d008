"""The end-of-sweep verdict in the parent process, whatever the launcher (local, joblib, SLURM).

Jobs may run in other processes or on other nodes, so their return values never reach `hydra_entry`;
what does is the sweep directory. A Hydra callback learns it at `on_multirun_start` and, at
`on_multirun_end`, collects the `failed.json` files that carry this sweep's id.
"""
from __future__ import annotations

import json
import os
import uuid
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig

from .jobs import FAILED_NAME, SWEEP_ID_ENV

_failures: list[dict] = []  # filled by SweepStatus.on_multirun_end in this (the parent) process


def sweep_failures(sweep_dir: str | Path, sweep_id: str | None) -> list[dict]:
    """Failure records under `sweep_dir` (with `dir` added); only this sweep's when `sweep_id` is given."""
    found = []
    for path in sorted(Path(sweep_dir).rglob(FAILED_NAME)):
        try:
            record = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError):
            continue
        if sweep_id is None or record.get("sweep_id") in (sweep_id, None):
            found.append({**record, "dir": str(path.parent)})
    return found


class SweepStatus(Callback):
    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        self.sweep_dir = str(config.hydra.sweep.dir)

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        _failures.extend(sweep_failures(self.sweep_dir, os.environ.get(SWEEP_ID_ENV)))


def sweep_callback_override() -> str:
    """The command-line override that installs SweepStatus; also sets this sweep's id for the jobs
    (child processes and sbatch jobs inherit the environment)."""
    os.environ[SWEEP_ID_ENV] = uuid.uuid4().hex
    return f"+hydra.callbacks.genie_sweep_status._target_={SweepStatus.__module__}.{SweepStatus.__name__}"


def take_failures() -> list[dict]:
    out = list(_failures)
    _failures.clear()
    return out
