"""The on-disk cache of synthetic calibration sets, keyed by teacher weights + distill config + seed.

File names are a sanitised model name and a hex digest, so no config value can escape the cache dir."""
from __future__ import annotations

import hashlib
import json
import logging
import re
from pathlib import Path
from typing import Optional

import torch
import torch.nn as nn

from ..errors import UserError
from ..io_utils import load_torch, save_torch

log = logging.getLogger(__name__)


def weights_digest(model: nn.Module) -> str:
    h = hashlib.sha256()
    for k, v in sorted(model.state_dict().items()):
        h.update(k.encode())
        h.update(v.detach().cpu().reshape(-1).contiguous().view(torch.uint8).numpy().tobytes())
    return h.hexdigest()


def cache_key(teacher: nn.Module, distill: dict, seed: int, image_size: int) -> str:
    spec = {k: v for k, v in distill.items() if k != "cache"}
    blob = json.dumps({"teacher": weights_digest(teacher), "distill": spec, "seed": seed,
                       "image_size": image_size}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()


def cache_path(cache_dir: str | Path, model_name: str, method: str, key: str) -> Path:
    safe = re.sub(r"[^A-Za-z0-9_-]+", "_", f"{model_name}-{method}")[:64]
    return Path(cache_dir) / "calib" / f"{safe}-{key[:24]}.pt"


def load_cached(path: Path, expected_shape: tuple) -> Optional[torch.Tensor]:
    """The cached images, or None (missing, damaged or of the wrong shape: reported, then rebuilt)."""
    if not path.is_file():
        return None
    try:
        obj = load_torch(path, "calibration cache")
        images = obj["images"]
        if not isinstance(images, torch.Tensor) or tuple(images.shape) != tuple(expected_shape) \
                or not torch.isfinite(images).all():
            raise UserError("unexpected content")
        return images
    except (UserError, KeyError, TypeError) as e:
        log.warning("calibration cache %s is damaged (%s): rebuilding it", path, e)
        print(f"warning: calibration cache {path} is damaged; rebuilding it", flush=True)
        return None


def save_cached(path: Path, images: torch.Tensor, meta: dict) -> None:
    save_torch({"images": images.contiguous(), "meta": meta}, path)
