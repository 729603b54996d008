"""The on-disk cache of synthetic calibration sets, keyed by teacher weights + distill config + seed.

File names are a sanitised model name and a hex digest, so no config value can escape the cache dir."""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Optional

import torch
import torch.nn as nn

from ..core.errors import UserError, warn
from ..core.hashing import key_of, safe_name, weights_digest
from ..core.io import load_torch, save_torch

log = logging.getLogger(__name__)


def cache_key(teacher: nn.Module, distill: dict, seed: int, image_size: int) -> str:
    spec = {k: v for k, v in distill.items() if k != "cache"}
    return key_of({"teacher": weights_digest(teacher), "distill": spec, "seed": seed, "image_size": image_size})


def cache_path(cache_dir: str | Path, model_name: str, method: str, key: str) -> Path:
    return Path(cache_dir) / "calib" / f"{safe_name(f'{model_name}-{method}')}-{safe_name(key, 24)}.pt"


def part_path(cache_dir: str | Path, key: str, batch_index: int) -> Path:
    """One finished distillation batch of the set `key` (what a restarted run picks up)."""
    return Path(cache_dir) / "calib" / "parts" / f"{safe_name(key)}-b{int(batch_index):05d}.pt"


def load_cached(path: Path, expected_shape: tuple) -> Optional[torch.Tensor]:
    """The cached images, or None (missing, damaged or of the wrong shape: reported, then rebuilt)."""
    if not path.is_file():
        return None
    try:
        obj = load_torch(path, "calibration cache")
        images = obj.get("images") if isinstance(obj, dict) else None
        if not isinstance(images, torch.Tensor) or tuple(images.shape) != tuple(expected_shape) \
                or not torch.isfinite(images).all():
            raise UserError("not a dict with finite images of the expected shape")
        return images
    except (UserError, KeyError, TypeError, ValueError) as e:
        warn(f"calibration cache {path} is damaged ({e}); rebuilding it")
        return None


def save_cached(path: Path, images: torch.Tensor, meta: dict) -> None:
    save_torch({"images": images.contiguous(), "meta": meta}, path)


class BatchStore:
    """The finished batches of a distillation in progress, one atomic file each: a run killed
    half-way and started again distils only the batches that are missing. `resume=False` never
    reads them (but still writes, so that run can be resumed in turn)."""

    def __init__(self, cache_dir: str | Path, key: str, batch_shape: tuple, resume: bool = True):
        self.cache_dir, self.key, self.batch_shape, self.resume = cache_dir, key, tuple(batch_shape), resume

    def load(self, index: int) -> Optional[tuple[torch.Tensor, float]]:
        path = part_path(self.cache_dir, self.key, index)
        if not self.resume or not path.is_file():
            return None
        try:
            obj = load_torch(path, "distillation batch")
            if not isinstance(obj, dict):
                raise UserError("not a dict")
            images, loss = obj["images"], float(obj["loss"])
            if not isinstance(images, torch.Tensor) or tuple(images.shape) != self.batch_shape \
                    or not torch.isfinite(images).all():
                raise UserError("unexpected content")
            return images, loss
        except (UserError, KeyError, TypeError, ValueError) as e:
            log.warning("distillation batch %s is damaged (%s): distilling it again", path, e)
            return None

    def save(self, index: int, images: torch.Tensor, loss: float) -> None:
        save_torch({"images": images.contiguous(), "loss": float(loss)}, part_path(self.cache_dir, self.key, index))

    def clear(self, n_batches: int) -> None:
        """Once the whole set is cached its parts are redundant."""
        for b in range(n_batches):
            part_path(self.cache_dir, self.key, b).unlink(missing_ok=True)
