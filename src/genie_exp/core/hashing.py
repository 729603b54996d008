"""The one place that turns models, tensors and settings into cache keys and safe file names."""
from __future__ import annotations

import hashlib
import json
import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # torch only where a tensor is hashed: settings keys (the report) need no torch
    import torch
    import torch.nn as nn


def tensor_digest(x: torch.Tensor) -> str:
    """sha256 of a tensor's bytes (dtype and values; any device, any layout)."""
    import torch

    return hashlib.sha256(x.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy().tobytes()).hexdigest()


def weights_digest(model: nn.Module) -> str:
    """sha256 over a model's state dict, names included."""
    import torch

    h = hashlib.sha256()
    for k, v in sorted(model.state_dict().items()):
        h.update(k.encode())
        h.update(v.detach().cpu().reshape(-1).contiguous().view(torch.uint8).numpy().tobytes())
    return h.hexdigest()


def key_of(parts: dict[str, Any]) -> str:
    """sha256 of `parts` as canonical JSON (sorted keys; non-JSON values by their str)."""
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


def with_precision(parts: dict[str, Any], precision: str) -> dict[str, Any]:
    """Other numerics give other results: a non-default precision joins the key (32-true leaves the
    keys of results made before precision was a setting unchanged)."""
    return parts if str(precision) == "32-true" else {**parts, "precision": str(precision)}


def safe_name(text: str, limit: int = 64) -> str:
    """Letters, digits, '_' and '-' only: no separator or '..' survives, so a name stays one file."""
    return re.sub(r"[^A-Za-z0-9_-]+", "_", str(text))[:limit] or "_"
