"""Lock files that name their holder by process id AND the process's start time, so a killed holder's
lock is taken over even when its pid now belongs to some other live process (pids are reused)."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Optional


def _boot_time() -> Optional[float]:
    try:
        for line in Path("/proc/stat").read_text().splitlines():
            if line.startswith("btime "):
                return float(line.split()[1])
    except (OSError, ValueError):
        pass
    return None


def started_after(pid: int, when: float) -> bool:
    """Process `pid` started after the time `when` (seconds since the epoch), so it cannot have written
    a file as old as that; False where unknown."""
    start, boot = process_start(pid), _boot_time()
    if start is None or boot is None:
        return False
    return boot + int(start) / os.sysconf("SC_CLK_TCK") > when + 1.0


def process_start(pid: int) -> Optional[str]:
    """The start time of process `pid` in clock ticks since boot (Linux /proc); None where unknown."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[-1].split()  # after the command name, which may hold spaces
    return fields[19] if len(fields) > 19 else None


def token(pid: Optional[int] = None) -> str:
    """What this process writes into its lock files: `pid start`."""
    pid = os.getpid() if pid is None else pid
    start = process_start(pid)
    return f"{pid} {start}" if start else str(pid)


def read_holder(path: Path) -> tuple[int, Optional[str]]:
    """(pid, start) written in `path`; (0, None) when unreadable."""
    try:
        parts = path.read_text().split()
        return int(parts[0]), (parts[1] if len(parts) > 1 else None)
    except (OSError, ValueError, IndexError):
        return 0, None


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    return True


def holder_alive(pid: int, start: Optional[str], written: Optional[float] = None) -> bool:
    """The process that wrote (pid, start) still runs: same pid and, where both are known, the same
    start time. A lock without a start time (an older genie-exp's) also counts as dead when the
    process with its pid started after the lock was `written` (mtime)."""
    if pid <= 0 or not _pid_alive(pid):
        return False
    if start is None:
        return written is None or not started_after(pid, written)
    now = process_start(pid)
    return now is None or now == start


def try_lock(path: Path) -> Optional[int]:
    """Take the lock file `path` for this process: None when taken (or already ours), else the pid
    of the live process that holds it. A dead holder's lock is taken over."""
    path.parent.mkdir(parents=True, exist_ok=True)
    for _ in range(3):
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            pid, start = read_holder(path)
            if pid == os.getpid():
                return None
            try:
                written: Optional[float] = path.stat().st_mtime
            except OSError:
                written = None
            if holder_alive(pid, start, written):
                return pid
            path.unlink(missing_ok=True)  # a killed holder's lock
            continue
        with os.fdopen(fd, "w") as f:
            f.write(token())
        return None
    pid, _ = read_holder(path)
    return pid or -1


def release(path: Path) -> None:
    """Remove `path` if this process holds it."""
    if read_holder(path)[0] == os.getpid():
        path.unlink(missing_ok=True)
