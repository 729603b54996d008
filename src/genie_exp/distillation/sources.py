"""The calibration-set sources by name (`distill=genie | zeroq | noise | real`): a registry, so a new
source is one function and one entry here; every caller reads what a source is from its entry."""
from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from typing import Any, Callable, Optional

import torch
import torch.nn as nn

from ..config import SWITCHES_OFF, DistillConfig
from ..core.context import RunContext
from ..core.errors import UserError
from ..core.hashing import with_precision
from ..core.registry import Registry
from .baselines import noise_images, real_images
from .cache import BatchStore, cache_key, cache_path, load_cached, save_cached
from .driver import distill_images

log = logging.getLogger(__name__)
# distill settings that a set's cache key leaves out at their off value (config.SWITCHES_OFF's, and no
# early stop), so the key names only what changes the images
KEY_OFF = {"early_stop": None, **{k.split(".", 1)[1]: v for k, v in SWITCHES_OFF.items() if k.startswith("distill.")}}


@dataclass
class CalibSet:
    images: torch.Tensor  # (N, 3, S, S), normalised
    cache: str  # "hit" | "miss" | "off"
    loss: Optional[float] = None  # mean final distillation loss over the batches (after a fit)
    steps: Optional[list[int]] = None  # steps each of this rank's groups ran


@dataclass(frozen=True)
class Source:
    make: Callable[..., CalibSet]  # (spec, teacher, image_size, ctx, data, model_name) -> CalibSet
    synthetic: bool  # distilled from the teacher's BN statistics: cached, needs BN, has an image grid


def cache_spec(spec: DistillConfig, precision: str) -> dict:
    """The settings a distilled set is cached under: a switch left at its KEY_OFF value is left
    out, the precision is in (other numerics, other images)."""
    key_spec = dataclasses.asdict(spec)
    for k, off in KEY_OFF.items():
        if key_spec.get(k, off) == off:
            key_spec.pop(k, None)
    return with_precision(key_spec, precision)


def _noise(spec, teacher, image_size, ctx, data, model_name) -> CalibSet:
    return CalibSet(noise_images(int(spec.samples), image_size, ctx.seed), "off")


def _real(spec, teacher, image_size, ctx, data, model_name) -> CalibSet:
    if data is None:
        raise UserError("distill=real needs a dataset (its train split); from Python pass your own images")
    return CalibSet(real_images(data, int(spec.samples), ctx.seed), "off")


def _distilled(spec, teacher, image_size, ctx: RunContext, data, model_name) -> CalibSet:
    """Genie-D / ZeroQ, read from (or written to) the cache under ctx.cache_dir. In a DDP world the
    ranks share the batches and gather the set; rank 0 alone writes the cache."""
    n, batch = int(spec.samples), int(spec.batch_size)
    shape = (n, 3, image_size, image_size)
    key_spec = cache_spec(spec, ctx.precision)
    key = cache_key(teacher, key_spec, ctx.seed, image_size)
    use_cache = bool(spec.cache) and ctx.cache_dir is not None
    path = cache_path(ctx.cache_dir, model_name, spec.name, key) if ctx.cache_dir is not None else None
    if use_cache:
        images = load_cached(path, shape)
        if images is not None:
            log.info("calibration set from cache %s", path)
            return CalibSet(images, "hit")
    # Finished batches are kept as they come, so a killed run distils only what is missing.
    store = BatchStore(ctx.cache_dir, key, (batch, 3, image_size, image_size), ctx.resume) if ctx.cache_dir else None
    result = distill_images(teacher, spec, image_size, ctx, store)
    if ctx.is_main:
        if use_cache:  # cache=false neither reads nor replaces a cached set (make bench relies on it)
            save_cached(path, result.images, {"model": model_name, "distill": key_spec, "seed": ctx.seed})
        if store is not None:
            store.clear(n // batch)
    return CalibSet(result.images, "miss" if use_cache else "off", sum(result.losses) / max(len(result.losses), 1),
                    result.steps or None)


SOURCES: Registry[Source] = Registry("distill")
SOURCES.register("genie", Source(_distilled, synthetic=True))  # Genie-D: generator + latents per batch
SOURCES.register("zeroq", Source(_distilled, synthetic=True))  # ZeroQ: the pixels themselves
SOURCES.register("noise", Source(_noise, synthetic=False))
SOURCES.register("real", Source(_real, synthetic=False))  # train images: the few-shot reference


def source(name: str) -> Source:
    return SOURCES[name]


def calibration_set(spec: DistillConfig, teacher: nn.Module, image_size: int, ctx: RunContext, data: Any = None,
                    model_name: str = "model") -> CalibSet:
    """The calibration images of `spec`."""
    return source(str(spec.name)).make(spec, teacher, image_size, ctx, data, model_name)
