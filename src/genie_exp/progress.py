"""A Lightning progress bar whose line names the stage item being fitted (a batch, a unit)."""
from __future__ import annotations

from pytorch_lightning.callbacks import TQDMProgressBar


class StageProgressBar(TQDMProgressBar):
    def __init__(self, description: str):
        super().__init__(leave=False)
        self.description = description

    def on_train_epoch_start(self, trainer, *args) -> None:
        super().on_train_epoch_start(trainer, *args)
        self.train_progress_bar.set_description(self.description)


def trainer_kwargs(progress: bool, description: str, accelerator: str = "cpu", devices=1) -> dict:
    """Settings shared by the per-batch / per-unit Trainers: no checkpoints, no summary, one epoch."""
    return dict(max_epochs=1, enable_checkpointing=False, enable_model_summary=False,
                enable_progress_bar=progress, callbacks=[StageProgressBar(description)] if progress else [],
                accelerator=accelerator, devices=devices, num_sanity_val_steps=0)
