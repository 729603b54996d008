"""Progress of a stage's fit (a distillation batch, a reconstruction unit): a bar on a terminal, and
plain lines every 10 % where the output goes to a file or a pipe (a bar redrawn with carriage
returns, each update printed twice, made a one-minute log 15 KB of noise)."""
from __future__ import annotations

import sys

from pytorch_lightning.callbacks import ProgressBar, TQDMProgressBar


class StageProgressBar(TQDMProgressBar):
    """One bar per fit, described by what is fitted instead of 'Epoch 0'."""

    def __init__(self, description: str, refresh_rate: int = 1):
        super().__init__(refresh_rate=refresh_rate, leave=False)
        self.description = description

    @property
    def train_description(self) -> str:
        return self.description

    def on_train_epoch_start(self, trainer, *args) -> None:
        bar = self.train_progress_bar
        bar.reset(total=self.total_train_batches)
        bar.initial = 0
        bar.set_description(self.description)


class PlainProgress(ProgressBar):
    """`<description>: 40% (20/50)` on its own line at every tenth of the fit, and nothing else."""

    def __init__(self, description: str, every: int = 10):
        super().__init__()
        self.description, self.every = description, every
        self._enabled, self._shown = True, 0

    def disable(self) -> None:
        self._enabled = False

    def enable(self) -> None:
        self._enabled = True

    def on_train_start(self, trainer, pl_module) -> None:
        self._shown = 0

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        total = self.total_train_batches
        if not self._enabled or not isinstance(total, int) or total <= 0:
            return
        done = batch_idx + 1
        pct = 100 * done // total
        if pct // self.every > self._shown or done == total:
            if pct // self.every == self._shown:  # the last batch of a fit whose tenth was already shown
                return
            self._shown = pct // self.every
            print(f"{self.description}: {pct}% ({done}/{total})", file=sys.stderr, flush=True)


def stage_progress(description: str) -> ProgressBar:
    return StageProgressBar(description) if sys.stderr.isatty() else PlainProgress(description)


def trainer_kwargs(progress: bool, description: str, accelerator: str = "cpu", devices=1,
                   precision: str = "32-true") -> dict:
    """Settings shared by the per-batch / per-unit Trainers: no checkpoints, no summary, one epoch."""
    return dict(max_epochs=1, enable_checkpointing=False, enable_model_summary=False, precision=precision,
                enable_progress_bar=progress, callbacks=[stage_progress(description)] if progress else [],
                accelerator=accelerator, devices=devices, num_sanity_val_steps=0)
