"""DistillModule: fits a group of synthetic batches to the teacher's BatchNorm statistics.

genie: one fresh generator + latent batch per batch (Adam on latents with a plateau schedule, Adam on
the generator with exponential decay every 100 steps). zeroq: the pixels themselves, same loss."""
from __future__ import annotations

import math
from typing import Optional, Sequence

import pytorch_lightning as pl
import torch
import torch.nn as nn

from ..config import DistillConfig
from ..core.errors import UserError
from .bn_stats import BNStatsLoss
from .class_loss import class_loss
from .generator import Generator
from .schedules import Plateau, StepDecay

EARLY_STOP_GAIN = 0.01  # a relative improvement smaller than 1% counts as none
PLATEAU_PATIENCE = 100  # steps without a better loss before the latents' (or pixels') learning rate is lowered


def batch_seed(seed: int, batch_index: int) -> int:
    """Each batch starts from its own seed, so results do not depend on how batches are grouped."""
    return seed * 100_003 + batch_index


class DistillModule(pl.LightningModule):
    """The batches `batch_ids` of one distillation group, fitted together as `spec` says (its name,
    batch size, learning rates, loss switches and early stop; `grey`: the generators' input prior as
    input_prior.py chose it for this teacher)."""

    def __init__(self, teacher: nn.Module, spec: DistillConfig, batch_ids: Sequence[int], image_size: int,
                 seed: int, channels_last: bool = False, grey: bool = False):
        super().__init__()
        self.automatic_optimization = False
        self.teacher = teacher
        method, batch_size, latent_dim = spec.name, int(spec.batch_size), int(spec.latent_dim)
        self.method, self.batch_ids, self.batch_size = method, list(batch_ids), batch_size
        self.lr_latent, self.lr_generator, self.lr_pixels = float(spec.lr_latent), float(spec.lr_generator), float(spec.lr_pixels)
        self.stats = BNStatsLoss(teacher, float(spec.first_bn_weight), spec.stats == "group")
        self.class_weight = float(spec.class_loss)  # distill.class_loss (0: the paper's loss)
        early_stop, output_affine = spec.early_stop, bool(spec.output_affine)
        gens, params = [], []
        for b in self.batch_ids:
            g = torch.Generator().manual_seed(batch_seed(seed, b))
            if method == "genie":
                torch.manual_seed(batch_seed(seed, b))  # the generator's own initialisation
                gens.append(Generator(latent_dim, image_size, grey=grey, affine=output_affine))
                params.append(nn.Parameter(torch.randn(batch_size, latent_dim, generator=g)))
            elif method == "zeroq":
                params.append(nn.Parameter(torch.randn(batch_size, 3, image_size, image_size, generator=g)))
            else:
                raise ValueError(f"unknown distillation method {method}")
        self.generators = nn.ModuleList(gens)
        if channels_last:  # the generator's convolutions are about 2x faster in NHWC on a CPU
            self.generators.to(memory_format=torch.channels_last)
        self.inputs = nn.ParameterList(params)  # latents (genie) or pixels (zeroq)
        self.last_loss = torch.full((len(self.batch_ids),), float("nan"))
        # early stop: the group ends once no batch's loss beat its best by EARLY_STOP_GAIN for
        # `early_stop` steps in a row (None: always the full distill.iters)
        self.early_stop, self.best, self.stale, self.steps_run = early_stop, None, 0, 0

    @property
    def groups(self) -> int:
        return len(self.batch_ids)

    def train(self, mode: bool = True) -> "DistillModule":
        super().train(mode)
        self.teacher.eval()  # the teacher's BN must keep using (and never update) its running stats
        return self

    def images(self) -> torch.Tensor:
        if self.method == "genie":
            return torch.cat([g(z) for g, z in zip(self.generators, self.inputs)])
        return torch.cat(list(self.inputs))

    def configure_optimizers(self):
        # One Adam with a parameter group per batch: Adam is element-wise, so this is exactly one
        # optimiser per batch, and the group-wise schedules below keep each batch's own lr.
        lr_in = self.lr_latent if self.method == "genie" else self.lr_pixels
        groups = [{"params": [p], "lr": lr_in} for p in self.inputs]
        groups += [{"params": list(g.parameters()), "lr": self.lr_generator} for g in self.generators]
        return torch.optim.Adam(groups)

    def on_train_start(self) -> None:
        groups = self.optimizers().optimizer.param_groups
        self.plateaus = [Plateau(g, PLATEAU_PATIENCE) for g in groups[: self.groups]]
        self.decays = [StepDecay(g) for g in groups[self.groups:]]

    def training_step(self, batch, batch_idx: int):
        opt = self.optimizers()
        bn, img, logits = self.stats.forward(self.teacher, self.images(), self.groups)
        per_batch = bn + img
        if self.class_weight:
            ce = class_loss(logits, self.batch_ids, self.batch_size)
            per_batch = per_batch + self.class_weight * ce
            self.log("distill/class_loss", ce.mean())
        total = per_batch.sum()
        if not torch.isfinite(total):
            bad = [self.batch_ids[i] for i, v in enumerate(per_batch.detach().tolist()) if not math.isfinite(v)]
            raise UserError(f"distill: the loss became {float(total.detach())} at batch {bad[0] if bad else '?'}, "
                            f"step {batch_idx}; lower distill.lr_latent / lr_generator")
        opt.zero_grad(set_to_none=True)
        self.manual_backward(total)
        opt.step()
        losses = per_batch.detach().tolist()
        for sched, loss in zip(self.plateaus, losses):
            sched.step(loss)
        for sched in self.decays:
            sched.step()
        self.last_loss = per_batch.detach()
        self.steps_run = batch_idx + 1
        if self.early_stop is not None:
            self._maybe_stop(self.last_loss)
        self.log_dict({"distill/loss": per_batch.mean(), "distill/bn_loss": bn.mean(),
                       "distill/img_loss": img.mean()}, prog_bar=True)
        return total

    def _maybe_stop(self, losses: torch.Tensor) -> None:
        if self.best is None:
            self.best = losses.clone()
            return
        better = losses < self.best * (1 - EARLY_STOP_GAIN)
        self.best = torch.where(better, losses, self.best)
        self.stale = 0 if bool(better.any()) else self.stale + 1
        if self.stale >= self.early_stop:
            self.trainer.should_stop = True

    @torch.no_grad()
    def final_images(self) -> torch.Tensor:
        """The calibration images: G(z) as optimised (generator BN on batch statistics), or the pixels."""
        return self.images().detach()
