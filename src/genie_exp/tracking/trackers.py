"""The loggers by name (`logger=csv | wandb`), in core/registry.py's shape: each entry starts the run's
tracker beside the CSV logs that every run writes (None: the CSV logs only)."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Optional

from ..core.registry import Registry
from .wandb_run import WandbTracker, start_wandb

TRACKERS: Registry[Callable[[Any, Path], Optional[WandbTracker]]] = Registry("logger")
TRACKERS.register("csv", lambda cfg, out_dir: None)
TRACKERS.register("wandb", start_wandb)


def start_tracker(cfg: Any, out_dir: Path) -> Optional[WandbTracker]:
    return TRACKERS[str(cfg.logger.name)](cfg, out_dir)
