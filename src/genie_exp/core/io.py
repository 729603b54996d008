"""Atomic writes (temp file + rename) and safe checkpoint reads: nothing half-written is read back."""
from __future__ import annotations

import json
import math
import os
import pickle
import re
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

from .errors import UserError
from .locks import holder_alive, token


def atomic_write(path: Path, write) -> None:
    """`write(f)` into a temp file beside `path`, then rename: `path` is whole or absent."""
    _atomic(path, write)


STALE_TMP_SECONDS = 3600  # a temp file this old beside its target was left by a killed writer


def _writer_gone(temp: Path, target: Path) -> bool:
    """A temp file's name holds its writer (`.<name>.<pid>-<start>.<random>.tmp`): is that process gone?"""
    middle = temp.name[len(target.name) + 2:-len(".tmp")].split(".")
    pid, _, start = middle[0].partition("-")
    return len(middle) == 2 and pid.isdigit() and not holder_alive(int(pid), start or None)


def _clear_stale_temps(path: Path) -> None:
    now = time.time()
    for old in path.parent.glob(f".{path.name}.*.tmp"):
        try:
            if _writer_gone(old, path) or now - old.stat().st_mtime > STALE_TMP_SECONDS:
                old.unlink()
        except OSError:
            pass  # another process's, or already gone


def _write_failure(path: Path, e: BaseException) -> UserError:
    """One line for a failed write; torch.save reports a full disk as a RuntimeError of its zip writer."""
    if isinstance(e, OSError):
        why = e.strerror or str(e)
    else:
        why = f"the write failed, is the disk full? ({(str(e).splitlines() or [''])[0][:120]})"
    return UserError(f"cannot write {path}: {why}; nothing was left half-written")


def _atomic(path: Path, write) -> None:
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        _clear_stale_temps(path)
        writer = token().replace(" ", "-")
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.{writer}.", suffix=".tmp")
    except OSError as e:
        raise UserError(f"cannot write to {path.parent}: {e.strerror or e}") from None
    try:
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; results and checkpoints are meant to be shared
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except (OSError, RuntimeError) as e:
        Path(tmp).unlink(missing_ok=True)
        raise _write_failure(path, e) from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_torch(obj: Any, path: Path) -> None:
    import torch  # here, not at the top: the CLI checks a config (and writes JSON) before torch loads

    _atomic(path, lambda f: torch.save(obj, f))


def finite_json(obj: Any) -> Any:
    """`obj` with every NaN/inf float as None: strict JSON readers refuse NaN."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: finite_json(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [finite_json(v) for v in obj]
    return obj


def save_json(obj: Any, path: Path) -> None:
    text = json.dumps(finite_json(obj), indent=2, sort_keys=False, allow_nan=False) + "\n"
    _atomic(path, lambda f: f.write(text.encode()))


def ensure_writable(directory: str | Path, what: str) -> Path:
    """Fail early, in one line, if `directory` cannot hold files (before any expensive stage)."""
    directory = Path(os.path.expanduser(str(directory)))
    try:
        directory.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=directory):
            pass
    except OSError as e:
        raise UserError(f"{what}: cannot write to {directory} ({e.strerror or e})") from None
    return directory


def _is_raw_pickle(path: Path) -> bool:
    """A plain pickle.dump file (PROTO opcode + protocol 2..5), not torch.save's zip archive."""
    with open(path, "rb") as f:
        head = f.read(2)
    return len(head) == 2 and head[0] == 0x80 and 2 <= head[1] <= 5


def load_torch(path: Path, what: str) -> Any:
    """torch.load with weights_only=True: tensors and plain containers only, never arbitrary code."""
    import torch

    path = Path(os.path.expanduser(str(path)))
    if not path.is_file():
        raise UserError(f"{what}: file not found: {path}")
    try:
        with warnings.catch_warnings():  # torch warns about a raw pickle's protocol before refusing it
            warnings.filterwarnings("ignore", message=".*pickle protocol.*")
            return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        found = re.search(r"GLOBAL ([\w.]+)", str(e))
        if found or _is_raw_pickle(path):
            what_it_is = f"holds Python objects ({found.group(1)})" if found else "is a plain pickle, not torch.save's format"
            raise UserError(f"{what}: {path} {what_it_is}; refused to unpickle it (that could run code). "
                            f"Save a plain state dict with torch.save(model.state_dict(), ...)") from None
        raise UserError(f"{what}: {path} is not a readable torch checkpoint (damaged or another format)") from None
    except Exception as e:
        detail = str(e).splitlines()[0][:120] if str(e) else ""
        raise UserError(f"{what}: {path} is not a readable torch checkpoint (damaged or another format; "
                        f"{type(e).__name__}{': ' + detail if detail else ''})") from None
