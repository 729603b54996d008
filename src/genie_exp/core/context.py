"""The run context: everything about HOW a run computes (device, processes, precision, layout,
progress, loggers, callbacks, cache, seed, resume), decided once and handed to every stage, so that
no stage reads the config to find its device."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional, Sequence

import torch

from .devices import parse_device, pick_device, trainer_devices
from .distributed import SINGLE, World
from .errors import UserError

PRECISIONS = ("32-true", "bf16-mixed", "16-mixed")


def check_precision(precision: Any, device: torch.device, key: str = "trainer.precision") -> str:
    """One of PRECISIONS that `device` runs as asked: on a CPU, Lightning would run 16-mixed as bf16
    while the run recorded 16-mixed."""
    value = str(precision)
    if value not in PRECISIONS:
        raise UserError(f"unknown {key} '{value}' (choose from: {', '.join(PRECISIONS)})")
    if value == "16-mixed" and device.type != "cuda":
        raise UserError(f"{key}=16-mixed needs a GPU (on the CPU autocast runs bfloat16): use {key}=bf16-mixed")
    return value


def default_cache_dir() -> Path:
    """The CLI's paths.cache_dir default (config.PathsConfig): $GENIE_CACHE_DIR, else ~/.cache/genie_exp;
    the Python API caches there too, so both front ends find each other's sets."""
    return Path(os.environ.get("GENIE_CACHE_DIR") or f"{os.environ.get('HOME', '.')}/.cache/genie_exp").absolute()


def resolve_cache_dir(path: Optional[str | os.PathLike]) -> Optional[Path]:
    """`~` expanded and made absolute once, so every stage (and a rerun from another directory)
    finds the same files."""
    return None if path is None else Path(os.path.expanduser(str(path))).absolute()


@dataclass
class RunContext:
    device: torch.device = field(default_factory=lambda: pick_device("auto"))
    world: World = field(default_factory=lambda: SINGLE)
    precision: str = "32-true"
    channels_last: bool = False
    progress: bool = True
    logger: Any = False  # Lightning logger(s) the stages write to, or False
    callbacks: Sequence = ()  # Lightning callbacks joined to every stage's Trainer
    cache_dir: Optional[Path] = None  # None: nothing is cached or resumed
    seed: int = 0
    resume: bool = True

    @classmethod
    def from_config(cls, cfg: Any, world: World = SINGLE, logger: Any = False, callbacks: Sequence = ()) -> "RunContext":
        t = cfg.trainer
        return cls(device=pick_device(str(t.accelerator)), world=world, precision=str(t.precision),
                   channels_last=bool(t.channels_last), progress=bool(cfg.progress), logger=logger,
                   callbacks=tuple(callbacks), cache_dir=resolve_cache_dir(cfg.paths.cache_dir),
                   seed=int(cfg.seed), resume=bool(cfg.resume))

    @classmethod
    def local(cls, device: Any = None, seed: int = 0, progress: bool = True, precision: str = "32-true",
              channels_last: bool = False, cache_dir: Any = None) -> "RunContext":
        """One process, for the Python API: the best device unless told, nothing logged."""
        dev = pick_device("auto") if device is None else parse_device(device)
        precision = check_precision(precision, dev, "precision")
        return cls(device=dev, precision=precision, progress=bool(progress), seed=int(seed),
                   channels_last=bool(channels_last), cache_dir=resolve_cache_dir(cache_dir))

    @property
    def is_main(self) -> bool:
        return self.world.is_main

    @property
    def show_progress(self) -> bool:
        """Progress bars on rank 0 only."""
        return self.progress and self.world.is_main

    @property
    def trainer_devices(self) -> dict:
        return trainer_devices(self.device)
