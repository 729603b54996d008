"""Genie-D / ZeroQ driver: batches of synthetic images, a group of batches per Lightning fit."""
from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterator, Optional

import pytorch_lightning as pl
import torch
import torch.nn as nn

from ..config import DistillConfig
from ..core.context import RunContext
from ..core.distributed import World
from ..core.layout import channels_last as nhwc, use_nhwc
from ..core.progress import trainer_kwargs
from ..core.quiet import quiet_lightning
from ..core.rng import derived_seed, seeded
from ..core.signals import set_stage, stage
from .cache import BatchStore
from .input_prior import choose_prior
from .module import DistillModule
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


@dataclass
class Distilled:
    images: torch.Tensor  # (N, 3, S, S) on the CPU
    losses: list[float]  # each batch's final loss, in batch order
    steps: list[int]  # the steps each group this rank fitted ran (fewer than iters after an early stop)


def distill_images(teacher: nn.Module, spec: DistillConfig, image_size: int, ctx: RunContext,
                   store: Optional[BatchStore] = None) -> Distilled:
    """`spec.samples` images (N, 3, S, S) fitted to the teacher's BN statistics, `spec.parallel_batches`
    batches at a time (spec: a DistillConfig, method `spec.name`).

    With a `store`, each finished batch is saved at once and a group whose batches are all stored
    is taken from there instead of being fitted again (resume after a crash). In a DDP world each
    rank fits every size-th group on its own device and all ranks then gather the whole set; batches
    are seeded by their index (ctx.seed, batch), so the images do not depend on the world size."""
    method, batch_size, iters = str(spec.name), int(spec.batch_size), int(spec.iters)
    n_batches = int(spec.samples) // batch_size
    parallel, world = int(spec.parallel_batches), ctx.world
    groups = [list(range(start, min(n_batches, start + parallel))) for start in range(0, n_batches, parallel)]
    done: dict[int, tuple[torch.Tensor, float]] = {}
    steps: list[int] = []
    cl = use_nhwc(ctx.channels_last, teacher)
    grey = False
    if method == "genie":  # the generator's prior; zeroq fits the pixels, which have none
        prior = choose_prior(str(spec.input_prior), teacher)
        grey = prior.grey
        if ctx.is_main:
            print(prior.line + (f"\nnote: {prior.note}" if prior.note else ""), flush=True)
    # stage(): back to the caller's once every group is done; set_stage names each group for its whole
    # turn, so a signal right after a group is stored still names it
    with frozen(teacher), swing_convolution(teacher, bool(spec.swing)), quiet_lightning(), \
            nhwc(teacher, enabled=cl), stage("distillation"):
        for ids in groups[world.rank::world.size]:
            stored = [store.load(b) for b in ids] if store is not None else [None]
            if all(s is not None for s in stored):
                done.update(zip(ids, stored))
                continue
            # The group's own seed: swing offsets (and zeroq) do not depend on earlier groups, so a
            # restarted run fits the missing groups exactly as an uninterrupted run did.
            set_stage(f"distillation, batch {ids[0] + 1}/{n_batches}")
            with seeded(derived_seed(ctx.seed, "distill", ids[0])):
                module = DistillModule(teacher, spec, ids, image_size, ctx.seed, channels_last=cl, grey=grey)
                label = f"distill {method} batch {ids[0] + 1}" + (f"-{ids[-1] + 1}" if len(ids) > 1 else "") + f"/{n_batches}"
                kwargs = trainer_kwargs(ctx.show_progress, label, precision=ctx.precision, **ctx.trainer_devices)
                kwargs["callbacks"] += list(ctx.callbacks)
                trainer = pl.Trainer(limit_train_batches=iters, logger=ctx.logger, log_every_n_steps=10, **kwargs)
                with module.stats:  # the BN hooks come off the teacher also when the fit fails
                    trainer.fit(module, train_dataloaders=[0] * iters)
            images = module.final_images().cpu().contiguous()
            steps.append(module.steps_run)
            for b, part, loss in zip(ids, images.split(batch_size), module.last_loss.cpu().tolist()):
                done[b] = (part, loss)
                if store is not None:
                    store.save(b, part, loss)
    if world.size > 1:
        slots = max(sum(len(g) for g in groups[r::world.size]) for r in range(world.size))
        done = _gather_batches(done, world, (batch_size, 3, image_size, image_size), n_batches, slots)
    return Distilled(torch.cat([done[b][0] for b in range(n_batches)]), [done[b][1] for b in range(n_batches)], steps)


def _gather_batches(mine: dict[int, tuple[torch.Tensor, float]], world: World, batch_shape: tuple,
                    n_batches: int, slots: int) -> dict[int, tuple[torch.Tensor, float]]:
    """Every rank's finished batches on every rank: `slots` per rank, the largest share (index
    -1 marks an empty slot), since all_gather needs equal shapes."""
    images = torch.zeros((slots, *batch_shape))
    index = torch.full((slots,), -1.0)
    loss = torch.zeros(slots)
    for k, (b, (img, l)) in enumerate(sorted(mine.items())):
        images[k], index[k], loss[k] = img, float(b), l
    all_images, all_index, all_loss = (world.all_gather(t) for t in (images, index, loss))
    done = {}
    for r in range(world.size):
        for k in range(slots):
            b = int(all_index[r, k])
            if b >= 0:
                done[b] = (all_images[r, k], float(all_loss[r, k]))
    missing = [b for b in range(n_batches) if b not in done]
    if missing:
        raise RuntimeError(f"distillation batches {missing} came back from no rank")
    return done
