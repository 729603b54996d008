"""One multirun job that fails on its own: recorded as `failed.json` in its dir, the sweep goes on.

Why not let the exception escape: Hydra's sweeper re-raises the first failure after the batch (a
multi-line report, exit 1), and `sys.exit` inside a job would end the sweep itself.
"""
from __future__ import annotations

import os
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

from omegaconf import DictConfig

from ..core.errors import UserError, print_error
from ..core.signals import Interrupted
from ..core.io import save_json

FAILED_NAME = "failed.json"
SWEEP_ID_ENV = "GENIE_SWEEP_ID"  # set by the parent; tells this sweep's failures from stale ones


@dataclass
class JobInfo:
    out_dir: Path
    num: int = 0
    overrides: list[str] = field(default_factory=list)
    launcher: str = ""  # the launcher's _target_


def is_multirun() -> bool:
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    return HydraConfig.initialized() and HydraConfig.get().mode == RunMode.MULTIRUN


def current_job() -> JobInfo:
    from hydra.core.hydra_config import HydraConfig

    hc = HydraConfig.get()
    return JobInfo(out_dir=Path(hc.runtime.output_dir), num=int(hc.job.num),
                   overrides=list(hc.overrides.task), launcher=str(hc.launcher.get("_target_", "")))


def _first_line(e: BaseException) -> str:
    text = str(e).strip()
    return text.splitlines()[0] if text else "(no message)"


def record_failure(job: JobInfo, error: str, kind: str, tb: Optional[str] = None) -> Path:
    """Write `failed.json` and print the one `error:` line for this job."""
    record = {"error": error, "type": kind, "job_num": job.num, "overrides": job.overrides,
              "sweep_id": os.environ.get(SWEEP_ID_ENV)}
    if tb:
        record["traceback"] = tb
    path = job.out_dir / FAILED_NAME
    save_json(record, path)
    where = f" (traceback in {path})" if tb else ""
    print_error(f"job #{job.num} in {job.out_dir}: {error}{where}")
    return path


def run_guarded(task: Callable[[DictConfig], object], cfg: DictConfig, job: JobInfo) -> object:
    """`task(cfg)`, or None after recording the failure (UserError: its line; else type + traceback)."""
    (job.out_dir / FAILED_NAME).unlink(missing_ok=True)  # a rerun into the same dir: old failure is history
    try:
        return task(cfg)
    except Interrupted as e:  # recorded as not done, then the sweep stops (hydra_entry)
        record_failure(job, e.line(), "Interrupted")
        raise
    except UserError as e:
        record_failure(job, _first_line(e), "UserError")
    except Exception as e:  # noqa: BLE001 - one job's bug must not end the others
        record_failure(job, f"{type(e).__name__}: {_first_line(e)}", type(e).__name__, traceback.format_exc())
    return None
