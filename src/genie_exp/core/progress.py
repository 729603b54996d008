"""A Lightning progress bar whose line names the stage item being fitted (a batch, a unit)."""
from __future__ import annotations

from pytorch_lightning.callbacks import TQDMProgressBar


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


def trainer_kwargs(progress: bool, description: str, accelerator: str = "cpu", devices=1,
                   precision: str = "32-true") -> dict:
    """Settings shared by the per-batch / per-unit Trainers: no checkpoints, no summary, one epoch."""
    return dict(max_epochs=1, enable_checkpointing=False, enable_model_summary=False, precision=precision,
                enable_progress_bar=progress, callbacks=[StageProgressBar(description)] if progress else [],
                accelerator=accelerator, devices=devices, num_sanity_val_steps=0)
