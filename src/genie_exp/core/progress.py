"""Progress of a stage's fit (a distillation batch, a reconstruction unit): a bar on a terminal, and
plain lines every 10 % where the output goes to a file or a pipe (a bar redrawn with carriage
returns, each update printed twice, made a one-minute log 15 KB of noise)."""
from __future__ import annotations

import sys
from typing import NamedTuple, Optional

from pytorch_lightning.callbacks import ProgressBar, TQDMProgressBar


class Steps(NamedTuple):
    """A fit whose every Lightning step runs `per_batch` optimizer steps, `total` in all (a
    reconstruction's chunks): its progress counts optimizer steps, the number a user set."""
    total: int
    per_batch: int

    def done(self, batch_idx: int) -> int:
        return min(self.total, (batch_idx + 1) * self.per_batch)


class StageProgressBar(TQDMProgressBar):
    """One bar per fit, described by what is fitted instead of 'Epoch 0'."""

    def __init__(self, description: str, refresh_rate: int = 1, steps: Optional[Steps] = None):
        super().__init__(refresh_rate=refresh_rate, leave=False)
        self.description, self.steps = description, steps

    @property
    def train_description(self) -> str:
        return self.description

    def init_train_tqdm(self):
        bar = super().init_train_tqdm()
        if self.steps is not None:
            bar.unit = "step"
            bar.bar_format = self.BAR_FORMAT.replace("{total_fmt}", "{total_fmt} steps")
        return bar

    def on_train_epoch_start(self, trainer, *args) -> None:
        bar = self.train_progress_bar
        bar.reset(total=self.total_train_batches if self.steps is None else self.steps.total)
        bar.initial = 0
        bar.set_description(self.description)

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        if self.steps is None:
            return super().on_train_batch_end(trainer, pl_module, outputs, batch, batch_idx)
        bar = self.train_progress_bar
        if bar is not None and not bar.disable and self._should_update(batch_idx + 1, self.total_train_batches):
            bar.n = self.steps.done(batch_idx)
            bar.refresh()
            bar.set_postfix(self.get_metrics(trainer, pl_module))


class PlainProgress(ProgressBar):
    """`<description>: 40% (20/50)` on its own line at every tenth of the fit, and nothing else;
    `(80/200 steps)` where the fit counts optimizer `steps`."""

    def __init__(self, description: str, every: int = 10, steps: Optional[Steps] = None):
        super().__init__()
        self.description, self.every, self.steps = description, every, steps
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
        done, unit = batch_idx + 1, ""
        if self.steps is not None:
            done, total, unit = self.steps.done(batch_idx), self.steps.total, " steps"
        pct = 100 * done // total
        if pct // self.every > self._shown or done == total:
            if pct // self.every == self._shown:  # the last batch of a fit whose tenth was already shown
                return
            self._shown = pct // self.every
            print(f"{self.description}: {pct}% ({done}/{total}{unit})", file=sys.stderr, flush=True)


def stage_progress(description: str, steps: Optional[Steps] = None) -> ProgressBar:
    if sys.stderr.isatty():
        return StageProgressBar(description, steps=steps)
    return PlainProgress(description, steps=steps)


def trainer_kwargs(progress: bool, description: str, accelerator: str = "cpu", devices=1,
                   precision: str = "32-true", steps: Optional[Steps] = None) -> dict:
    """Settings shared by the per-batch / per-unit Trainers: no checkpoints, no summary, one epoch.
    `steps`: the fit's Lightning steps each run several optimizer steps, which the progress counts."""
    return dict(max_epochs=1, enable_checkpointing=False, enable_model_summary=False, precision=precision,
                enable_progress_bar=progress, callbacks=[stage_progress(description, steps)] if progress else [],
                accelerator=accelerator, devices=devices, num_sanity_val_steps=0)
