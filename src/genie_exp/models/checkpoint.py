"""Model checkpoints: plain state dicts in, state dicts (or {'state_dict', 'meta'} files) out, every read
with weights_only=True. No policy here: where teachers come from is teachers/source.py's business."""
from __future__ import annotations

from collections import OrderedDict
from pathlib import Path
from typing import Any

import torch
import torch.nn as nn

from ..core.errors import UserError


def state_dict_of(obj: Any, what: str) -> dict:
    """Accept a raw state dict or a {'state_dict': ...} checkpoint."""
    if isinstance(obj, dict) and isinstance(obj.get("state_dict"), dict):
        obj = obj["state_dict"]
    if not isinstance(obj, dict) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise UserError(f"{what}: not a state dict (expected a dict of tensors)")
    return obj


def load_weights(model: nn.Module, state: dict, what: str) -> None:
    own = model.state_dict()
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    wrong = [k for k in own if k in state and own[k].shape != state[k].shape]
    if missing or unexpected or wrong:
        parts = []
        for label, keys in (("missing", missing), ("unexpected", unexpected), ("wrong shape", wrong)):
            if keys:
                parts.append(f"{label}: {', '.join(keys[:3])}{' ...' if len(keys) > 3 else ''}")
        raise UserError(f"{what} does not match the model ({'; '.join(parts)})")
    fixed = OrderedDict((k, v.to(own[k].dtype)) for k, v in state.items())
    # the model's own module versions: keys and shapes already match it, and some modules
    # (torchvision's MNASNet) refuse a state dict without versions (a plain dict, a re-keyed one)
    fixed._metadata = own._metadata  # type: ignore[attr-defined]
    model.load_state_dict(fixed)
