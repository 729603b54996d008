"""Atomic writes (temp file + rename) and safe checkpoint reads: nothing half-written is read back."""
from __future__ import annotations

import json
import os
import pickle
import tempfile
from pathlib import Path
from typing import Any

import torch

from .errors import UserError


def _atomic(path: Path, write) -> None:
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix="." + path.name + ".", suffix=".tmp")
    except OSError as e:
        raise UserError(f"cannot write to {path.parent}: {e.strerror or e}") from None
    try:
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; results and checkpoints are meant to be shared
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as e:
        Path(tmp).unlink(missing_ok=True)
        raise UserError(f"cannot write {path}: {e.strerror or e}") from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_torch(obj: Any, path: Path) -> None:
    _atomic(path, lambda f: torch.save(obj, f))


def save_json(obj: Any, path: Path) -> None:
    _atomic(path, lambda f: f.write((json.dumps(obj, indent=2, sort_keys=False) + "\n").encode()))


def load_torch(path: Path, what: str) -> Any:
    """torch.load with weights_only=True: tensors and plain containers only, never arbitrary code."""
    path = Path(os.path.expanduser(str(path)))
    if not path.is_file():
        raise UserError(f"{what}: file not found: {path}")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        raise UserError(f"{what}: {path} holds more than tensors (refusing to unpickle arbitrary "
                        f"objects); save a plain state dict with torch.save(model.state_dict(), ...)") from None
    except Exception as e:
        raise UserError(f"{what}: cannot read {path} ({type(e).__name__}: {str(e).splitlines()[0][:120] if str(e) else 'damaged file'})") from None
