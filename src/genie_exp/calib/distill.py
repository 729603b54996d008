"""Genie-D / ZeroQ driver: batches of synthetic images, a group of batches per Lightning fit."""
from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator, Optional

import pytorch_lightning as pl
import torch
import torch.nn as nn

from ..progress import trainer_kwargs
from .distill_module import DistillModule
from .swing import swing_convolution


@contextmanager
def frozen(model: nn.Module) -> Iterator[nn.Module]:
    """No gradients into the teacher while distilling; its flags and mode are restored afterwards."""
    flags = [p.requires_grad for p in model.parameters()]
    was_training = model.training
    for p in model.parameters():
        p.requires_grad_(False)
    model.eval()
    try:
        yield model
    finally:
        for p, f in zip(model.parameters(), flags):
            p.requires_grad_(f)
        model.train(was_training)


def distill_images(teacher: nn.Module, method: str, samples: int, batch_size: int, iters: int,
                   image_size: int, seed: int, *, parallel: int = 1, swing: bool = True,
                   latent_dim: int = 256, lr_latent: float = 0.1, lr_generator: float = 0.01,
                   lr_pixels: float = 0.25, progress: bool = True, accelerator: str = "cpu",
                   logger=False, losses: Optional[list] = None) -> torch.Tensor:
    """`samples` images (N, 3, S, S) fitted to the teacher's BN statistics, `parallel` batches at a time."""
    n_batches = samples // batch_size
    out = []
    with frozen(teacher), swing_convolution(teacher, swing):
        for start in range(0, n_batches, parallel):
            ids = list(range(start, min(n_batches, start + parallel)))
            module = DistillModule(teacher, method, ids, batch_size, image_size, seed, latent_dim,
                                   lr_latent, lr_generator, lr_pixels)
            label = f"distill {method} batch {ids[0] + 1}" + (f"-{ids[-1] + 1}" if len(ids) > 1 else "") + f"/{n_batches}"
            trainer = pl.Trainer(limit_train_batches=iters, logger=logger, log_every_n_steps=10,
                                 **trainer_kwargs(progress, label, accelerator))
            trainer.fit(module, train_dataloaders=[0] * iters)
            out.append(module.final_images().cpu())
            if losses is not None:
                losses.extend(module.last_loss.cpu().tolist())
    return torch.cat(out)
