"""A Lightning callback that records the wall time of every training step of every fit it sees (per
optimizer step where one Lightning step runs several)."""
from __future__ import annotations

import statistics
import time
from collections import defaultdict

import pytorch_lightning as pl
import torch

from .timing import sync


class StepTimer(pl.Callback):
    """Per-step seconds, keyed by what was fitted: 'distill' for every distillation group, and the
    unit's name for every reconstruction unit. The first `skip` steps of each fit are warm-up."""

    def __init__(self, skip: int = 3):
        self.skip = skip
        self.steps: dict[str, list[float]] = defaultdict(list)
        self._t = 0.0

    @staticmethod
    def key(module: pl.LightningModule) -> str:
        return getattr(module, "unit_name", None) or "distill"

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        sync(torch.device(pl_module.device))
        self._t = time.perf_counter()

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        sync(torch.device(pl_module.device))
        if batch_idx >= self.skip:
            # a reconstruction call runs several optimizer steps: the time per step is what compares
            steps = pl_module.steps_in(batch_idx) if hasattr(pl_module, "steps_in") else 1
            self.steps[self.key(pl_module)].append((time.perf_counter() - self._t) / max(steps, 1))

    def median(self, key: str) -> float:
        values = self.steps.get(key)
        return statistics.median(values) if values else float("nan")
