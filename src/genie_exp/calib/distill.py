"""Genie-D / ZeroQ driver: batches of synthetic images, a group of batches per Lightning fit."""
from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator, Optional, Sequence

import pytorch_lightning as pl
import torch
import torch.nn as nn

from ..layout import channels_last as nhwc
from ..progress import trainer_kwargs
from ..quiet import quiet_lightning
from ..rng import derived_seed, seeded
from .cache import BatchStore
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
                   logger=False, losses: Optional[list] = None, store: Optional[BatchStore] = None,
                   callbacks: Sequence = (), channels_last: bool = False) -> torch.Tensor:
    """`samples` images (N, 3, S, S) fitted to the teacher's BN statistics, `parallel` batches at a time.

    With a `store`, each finished batch is saved at once and a group whose batches are all stored
    is taken from there instead of being fitted again (resume after a crash)."""
    n_batches = samples // batch_size
    out = []
    with frozen(teacher), swing_convolution(teacher, swing), quiet_lightning(), \
            nhwc(teacher, enabled=channels_last):
        for start in range(0, n_batches, parallel):
            ids = list(range(start, min(n_batches, start + parallel)))
            stored = [store.load(b) for b in ids] if store is not None else [None]
            if all(s is not None for s in stored):
                out.append(torch.cat([s[0] for s in stored]))
                if losses is not None:
                    losses.extend(s[1] for s in stored)
                continue
            # The group's own seed: swing offsets (and zeroq) do not depend on earlier groups, so a
            # restarted run fits the missing groups exactly as an uninterrupted run did.
            with seeded(derived_seed(seed, "distill", ids[0])):
                module = DistillModule(teacher, method, ids, batch_size, image_size, seed, latent_dim,
                                       lr_latent, lr_generator, lr_pixels, channels_last=channels_last)
                label = f"distill {method} batch {ids[0] + 1}" + (f"-{ids[-1] + 1}" if len(ids) > 1 else "") + f"/{n_batches}"
                kwargs = trainer_kwargs(progress, label, accelerator)
                kwargs["callbacks"] += list(callbacks)
                trainer = pl.Trainer(limit_train_batches=iters, logger=logger, log_every_n_steps=10, **kwargs)
                trainer.fit(module, train_dataloaders=[0] * iters)
            images = module.final_images().cpu().contiguous()
            group_losses = module.last_loss.cpu().tolist()
            out.append(images)
            if losses is not None:
                losses.extend(group_losses)
            if store is not None:
                for b, part, loss in zip(ids, images.split(batch_size), group_losses):
                    store.save(b, part, loss)
    return torch.cat(out)
