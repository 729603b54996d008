"""One run per run directory: a run claims its dir with an exclusive lock file holding its pid, so a
second run pointed at the same dir stops in one line instead of mixing its logs and metrics into the
first one's. A lock whose process is gone (a killed run) is taken over: the same command resumes."""
from __future__ import annotations

import atexit
import os
from pathlib import Path

from .errors import UserError

LOCK = ".genie-run.lock"


def _pid_in(path: Path) -> int:
    try:
        return int(path.read_text().strip() or 0)
    except (OSError, ValueError):
        return 0


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    return True


def claim(run_dir: str | Path) -> Path:
    """Hold `run_dir` for this process until it exits (a no-op if it already does)."""
    run_dir = Path(run_dir)
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise UserError(f"run dir: cannot create {run_dir} ({e.strerror or e})") from None
    path = run_dir / LOCK
    for _ in range(3):
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            pid = _pid_in(path)
            if pid == os.getpid():
                return path
            if pid and _alive(pid):
                raise UserError(f"run dir {run_dir} is in use by another run (pid {pid}); give this one another "
                                f"hydra.run.dir, or wait for that run to end") from None
            path.unlink(missing_ok=True)  # a killed run's lock
            continue
        except OSError as e:
            raise UserError(f"run dir: cannot write to {run_dir} ({e.strerror or e})") from None
        with os.fdopen(fd, "w") as f:
            f.write(str(os.getpid()))
        atexit.register(release, path)
        return path
    raise UserError(f"run dir {run_dir}: could not take its lock {path}")


def release(path: Path) -> None:
    if _pid_in(path) == os.getpid():
        path.unlink(missing_ok=True)


def is_secondary_rank() -> bool:
    """A DDP process other than rank 0 (its run dir is rank 0's)."""
    return any(int(os.environ.get(k, "0") or 0) > 0 for k in ("LOCAL_RANK", "NODE_RANK", "RANK"))
