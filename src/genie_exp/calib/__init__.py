"""Calibration images for the quantization stage: genie | zeroq | noise | real, all (N, 3, S, S)."""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Optional, Sequence

import torch
import torch.nn as nn
from omegaconf import DictConfig, OmegaConf

from ..data import DataSpec
from ..devices import lightning_accelerator
from ..distributed import SINGLE, World, rank_devices
from .baselines import noise_images, real_images
from .cache import BatchStore, cache_key, cache_path, load_cached, save_cached
from .distill import distill_images

log = logging.getLogger(__name__)


def make_calibration(cfg: DictConfig, teacher: nn.Module, data: DataSpec, info: Optional[dict] = None,
                     logger=False, callbacks: Sequence = (), world: World = SINGLE) -> torch.Tensor:
    """The calibration set; for genie/zeroq read from (or written to) the cache. `info` gets
    `calib_cache` (hit | miss | off) and, after a fit, `distill_loss`. In a DDP `world` the ranks
    share the batches and gather the set; rank 0 alone writes the cache."""
    d = cfg.distill
    info = info if info is not None else {}
    n, size, seed = int(d.samples), data.image_size, int(cfg.seed)
    if d.name == "noise":
        info["calib_cache"] = "off"
        return noise_images(n, size, seed)
    if d.name == "real":
        info["calib_cache"] = "off"
        return real_images(data, n, seed)
    shape = (n, 3, size, size)
    spec = OmegaConf.to_container(d, resolve=True)
    if spec.get("early_stop") is None:  # off: the key of the sets made before the switch existed
        spec.pop("early_stop", None)
    if str(cfg.trainer.precision) != "32-true":  # other numerics, other images: a key of their own
        spec["precision"] = str(cfg.trainer.precision)
    key = cache_key(teacher, spec, seed, size)
    path = cache_path(cfg.paths.cache_dir, cfg.model.name, d.name, key)
    if d.cache:
        images = load_cached(path, shape)
        if images is not None:
            info["calib_cache"] = "hit"
            log.info("calibration set from cache %s", path)
            return images
    losses: list = []
    steps_run: list = []
    # Finished batches are kept as they come, so a killed run distils only what is missing.
    store = BatchStore(cfg.paths.cache_dir, key, (int(d.batch_size), 3, size, size), bool(cfg.get("resume", True)))
    images = distill_images(teacher, d.name, n, int(d.batch_size), int(d.iters), size, seed,
                            parallel=int(d.parallel_batches), swing=bool(d.swing), latent_dim=int(d.latent_dim),
                            lr_latent=float(d.lr_latent), lr_generator=float(d.lr_generator),
                            lr_pixels=float(d.lr_pixels), progress=bool(cfg.progress) and world.is_main,
                            accelerator=lightning_accelerator(cfg), logger=logger, losses=losses,
                            store=store, callbacks=callbacks,
                            channels_last=bool(cfg.trainer.get("channels_last", False)), world=world,
                            devices=rank_devices(cfg, world), precision=str(cfg.trainer.precision),
                            early_stop=d.get("early_stop"), steps_run=steps_run)
    info["distill_loss"] = sum(losses) / max(len(losses), 1)
    if steps_run:  # the steps each group ran (this rank's groups; fewer than distill.iters after an early stop)
        info["distill_steps"] = steps_run
    info["calib_cache"] = "miss" if d.cache else "off"
    if world.is_main:
        if d.cache:  # cache=false neither reads nor replaces a cached set (make bench relies on it)
            save_cached(path, images, {"model": cfg.model.name, "distill": spec, "seed": seed})
        store.clear(n // int(d.batch_size))
    return images



def save_image_grid(images: torch.Tensor, data: DataSpec, path: Path, n: int = 64) -> Path:
    """De-normalised synthetic samples as one PNG."""
    from torchvision.utils import save_image

    path.parent.mkdir(parents=True, exist_ok=True)
    save_image(data.denormalize(images[:n]), str(path), nrow=8)
    return path


__all__ = ["make_calibration", "save_image_grid", "distill_images", "noise_images", "real_images"]
