"""One run per run directory: a run claims its dir with an exclusive lock file naming it (core/locks.py),
so a second run pointed at the same dir stops in one line instead of mixing its logs and metrics into
the first one's. A lock whose process is gone (a killed run) is taken over: the same command resumes."""
from __future__ import annotations

import atexit
import os
from pathlib import Path

from .errors import UserError
from .locks import release, try_lock

LOCK = ".genie-run.lock"


def claim(run_dir: str | Path) -> Path:
    """Hold `run_dir` for this process until it exits (a no-op if it already does)."""
    run_dir = Path(run_dir)
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
        path = run_dir / LOCK
        holder = try_lock(path)
    except OSError as e:
        raise UserError(f"run dir: cannot write to {run_dir} ({e.strerror or e})") from None
    if holder == -1:
        raise UserError(f"run dir {run_dir}: could not take its lock {path}")
    if holder is not None:
        raise UserError(f"run dir {run_dir} is in use by another run (pid {holder}); give this one another "
                        f"hydra.run.dir, or wait for that run to end")
    atexit.register(release, path)
    return path


def is_secondary_rank() -> bool:
    """A DDP process other than rank 0 (its run dir is rank 0's)."""
    return any(int(os.environ.get(k, "0") or 0) > 0 for k in ("LOCAL_RANK", "NODE_RANK", "RANK"))
