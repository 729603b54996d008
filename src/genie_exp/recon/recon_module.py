"""`ReconModule`: Genie-M reconstruction of ONE unit (a block or a single QuantLayer) of the fake-quant
student, from tensors cached on the device: the teacher's input and output of the unit and the
partially quantized student's input. It learns the AdaRound rounding variables V, the weight steps
(Genie-M; frozen for AdaRound) and the unit's activation steps (LSQ, with QDrop).

Speed: one Lightning `training_step` runs `chunk` optimizer steps in a plain loop (manual
optimization), so Lightning's per-step machinery, the progress bar and logging are paid once per chunk;
the per-step constants (the regulariser's beta, the cosine-annealed activation-step learning rate) are
computed once up front; a chunk's batch indices are drawn in one call; losses are kept on the device
and read once per chunk. The maths per step is the paper's: one Adam step on one batch."""
from __future__ import annotations

import math
import time
from typing import Any, Optional

import pytorch_lightning as pl
import torch
import torch.nn as nn

from ..config import ReconConfig
from ..core.context import RunContext
from ..core.distributed import SINGLE, World
from ..core.errors import UserError
from ..core.progress import Steps, trainer_kwargs
from ..quant.act import ActQuantizer
from ..quant.layer import QuantLayer, act_quantizers, quant_layers
from ..core import compiled
from ..quant import kernels
from ..quant.qdrop import drop_mask, qdrop_mix
from .fused_adam import fused_adam_step
from ..quant.weight import WeightQuantizer

# How many chunks (Lightning steps) a unit's reconstruction is cut into: the progress bar moves and the
# losses are checked for NaN/inf and logged once per chunk.
CHUNKS = 50
ESTIMATE_FROM_S = 600.0  # a reconstruction projected to take longer says so after its first chunk


def default_chunk(iters: int) -> int:
    return max(1, math.ceil(iters / CHUNKS))


class ReconModule(pl.LightningModule):
    """One unit's reconstruction: fit it for `calls` Lightning steps (`iters` optimizer steps in all,
    `chunk` per call), then call `finish()`. `cfg` is a ReconConfig.

    In a DDP `world` every rank holds its own share of the cached tensors and draws `batch_size` of
    them per step; the gradients are averaged over the ranks (one all-reduce of a flat buffer per step)
    before each Adam step, which is what DDP does, without DDP's one-backward-per-forward rule."""

    def __init__(self, unit: nn.Module, name: str, x_fp: torch.Tensor, x_q: torch.Tensor, y_fp: torch.Tensor,
                 cfg: ReconConfig, learn_weight_step: bool, iters: Optional[int] = None, batch_size: Optional[int] = None,
                 chunk: Optional[int] = None, world: World = SINGLE, estimate_units: int = 0):
        super().__init__()
        self.automatic_optimization = False
        self.unit = unit
        self.unit_name = name
        # Plain attributes, not buffers: they are already on the device and must not be copied or saved.
        self.x_fp, self.x_q, self.y_fp = x_fp, x_q, y_fp
        self.iters = int(iters if iters is not None else cfg.iters)
        self.batch_size = min(int(batch_size if batch_size is not None else cfg.batch_size), x_q.shape[0])
        self.chunk = int(chunk or default_chunk(self.iters))
        self.calls = math.ceil(self.iters / self.chunk)
        self.world = world
        self.qdrop_prob = float(cfg.qdrop_prob)
        self.rounded_grad = cfg.lsq_grad == "rounded"
        self.round_weight = float(cfg.round_weight)
        self.beta_start, self.beta_end = float(cfg.beta_start), float(cfg.beta_end)
        self.warmup_steps = int(float(cfg.warmup) * self.iters)
        self.lr = (float(cfg.lr_rounding), float(cfg.lr_weight_step), float(cfg.lr_act_step))
        self.anneal_weight_step = bool(cfg.anneal_weight_step)
        self.learn_weight_step = bool(learn_weight_step)
        self.log_name = f"recon/{name}/loss"
        # > 0: after the first chunk, say how long that many units of this size would take, if long
        self.estimate_units = int(estimate_units)

        self.layers: list[QuantLayer] = quant_layers(unit)
        self.weight_qs: list[WeightQuantizer] = [layer.weight_quantizer for layer in self.layers]
        self.act_qs: list[ActQuantizer] = [q for q in act_quantizers(unit) if q.is_initialized]
        self._requires_grad = {id(p): p.requires_grad for p in unit.parameters()}
        # Per-step constants, computed once: the regulariser's exponent (None: off during the warm-up)
        # and the cosine factor of the step sizes' learning rates (from 1 to 0).
        self.betas = [self.beta(t) for t in range(self.iters)]
        n = max(self.iters, 1)
        self.cosine = [0.5 * (1.0 + math.cos(math.pi * min(t, n) / n)) for t in range(self.iters)]
        self.losses = torch.full((self.iters,), float("nan"), device=x_q.device)  # reconstruction term
        self._totals = torch.full((self.iters,), float("nan"), device=x_q.device)  # with the regulariser
        self._checked = 0
        self._prepare()

    # ---- set-up and tear-down of the unit's quantizers -------------------------------------------
    def _prepare(self) -> None:
        for p in self.unit.parameters():  # the FP weights, biases and BN params stay as they are
            p.requires_grad_(False)
        for q in self.weight_qs:
            q.unfreeze()
            q.mode = "soft"
            q.rounding.requires_grad_(True)
            q.scale.requires_grad_(self.learn_weight_step)  # AdaRound keeps the searched step
        for q in self.act_qs:
            q.scale.requires_grad_(True)
            q.drop_prob = self.qdrop_prob
            q.rounded_grad = self.rounded_grad
        self.train()

    def train(self, mode: bool = True) -> "ReconModule":
        # BN (and anything else mode-dependent) stays in eval; only the activation quantizers follow
        # `mode`, since QDrop acts in training mode only.
        super().train(False)
        for q in self.act_qs:
            q.train(mode)
        self.training = mode
        return self

    @torch.no_grad()
    def finish(self) -> None:
        """Hard rounding, frozen weights, QDrop off, requires_grad flags back, unit in eval mode."""
        for q in self.act_qs:
            q.drop_prob = 0.0
        for q in self.weight_qs:
            q.regulariser = None
        for layer in self.layers:
            layer.freeze()
        for p in self.unit.parameters():
            p.requires_grad_(self._requires_grad.get(id(p), p.requires_grad))
        self.unit.eval()

    # ---- optimisation ----------------------------------------------------------------------------
    def configure_optimizers(self):
        lr_v, lr_w, lr_a = self.lr
        groups = [{"params": [q.rounding for q in self.weight_qs], "lr": lr_v}]
        if self.learn_weight_step:
            groups.append({"params": [q.scale for q in self.weight_qs], "lr": lr_w, "base_lr": lr_w,
                           "annealed": self.anneal_weight_step})
        if self.act_qs:
            groups.append({"params": [q.scale for q in self.act_qs], "lr": lr_a, "base_lr": lr_a, "annealed": True})
        # fused: one multi-tensor update per group (the same Adam; the fused step's rounding differs
        # from the per-tensor loop's in the last bits, so eager runs keep the loop)
        return torch.optim.Adam(groups, fused=True) if self.fused else torch.optim.Adam(groups)

    @property
    def fused(self) -> bool:
        """This fit runs the compiled kernels (recon.compile; quant/kernels.py)."""
        return compiled.active()

    def on_train_start(self) -> None:
        opt = self.optimizers()
        self._opt = opt.optimizer  # stepped directly: Lightning's wrapper costs more than a small step
        self._annealed = [g for g in self._opt.param_groups if g.get("annealed")]
        self._params = [p for g in self._opt.param_groups for p in g["params"]]
        # 16-bit mixed precision needs Lightning's loss scaling; 32-bit and bf16 do not
        self._scaled = "16" in str(self.trainer.precision) and "bf16" not in str(self.trainer.precision)
        if self.fused:  # the regulariser's weight and exponent, refilled every step
            self._regulariser_args = (torch.zeros((), device=self.x_q.device), torch.zeros((), device=self.x_q.device))
            for q in self.weight_qs:
                q.regulariser = self._regulariser_args

    def beta(self, step: int) -> Optional[float]:
        """The regulariser's exponent at `step`; None during the warm-up (regulariser off)."""
        if step < self.warmup_steps:
            return None
        rel = (step - self.warmup_steps) / max(self.iters - self.warmup_steps, 1)
        return self.beta_end + (self.beta_start - self.beta_end) * max(0.0, 1.0 - rel)

    def round_loss(self, beta: float) -> torch.Tensor:
        return self.round_weight * sum(q.round_loss(beta) for q in self.weight_qs)

    def reconstruction_loss(self, out: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        # Squared error summed over channels (dim 1), mean over batch and positions; [B, C] included.
        return (out - target).pow(2).sum(1).mean()

    def steps_in(self, batch_idx: int) -> int:
        """Optimizer steps run by Lightning step `batch_idx`."""
        return max(0, min(self.iters, (batch_idx + 1) * self.chunk) - batch_idx * self.chunk)

    def training_step(self, batch: Any, batch_idx: int) -> None:
        start = int(batch_idx) * self.chunk
        stop = min(self.iters, start + self.chunk)
        if start >= stop:
            return None
        t0, compile_s = time.perf_counter(), compiled.COMPILE_SECONDS[0]
        indices = torch.randint(self.x_q.shape[0], (stop - start, self.batch_size), device=self.x_q.device)
        recs, totals = [], []
        for t, idx in zip(range(start, stop), indices):
            rec, total = self.step(t, idx)
            recs.append(rec)
            totals.append(total)
        self.losses[start:stop] = torch.stack(recs)
        self._totals[start:stop] = torch.stack(totals)
        self.check_finite(stop)
        self._log(start, stop)
        if batch_idx == 0 and self.estimate_units and self.world.is_main:
            # a first chunk that compiled the kernels is not the pace of the others
            self._announce((time.perf_counter() - t0 - (compiled.COMPILE_SECONDS[0] - compile_s)) / (stop - start))
        return None

    def _announce(self, step_seconds: float) -> None:
        total = step_seconds * self.iters * self.estimate_units
        if total > ESTIMATE_FROM_S:
            hours = total / 3600
            span = f"{hours:.1f} h" if hours >= 1 else f"{total / 60:.0f} min"
            print(f"reconstruction: about {span} for {self.estimate_units} unit(s) at {self.iters} steps each "
                  f"({1000 * step_seconds:.1f} ms per step on {self.x_q.device.type})", flush=True)

    def step(self, t: int, idx: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Optimizer step `t` on the cached images `idx`; returns its (reconstruction, total) loss."""
        if self.fused:
            rec, loss, total = self._fused_losses(t, idx)
        else:
            # QDrop at the unit input: each element from the FP teacher with prob qdrop_prob.
            x = qdrop_mix(self.x_fp[idx], self.x_q[idx], self.qdrop_prob)
            rec = self.reconstruction_loss(self.unit(x), self.y_fp[idx])
            beta = self.betas[t]
            loss = total = rec if beta is None else rec + self.round_loss(beta)
        opt = self._opt
        for g in self._annealed:
            g["lr"] = g["base_lr"] * self.cosine[t]
        opt.zero_grad(set_to_none=True)
        if self._scaled:
            self.manual_backward(loss)
        else:
            loss.backward()
        if self.world.size > 1:
            self._average_gradients()
        if self._scaled:
            self.optimizers().step()
        elif self.fused:
            fused_adam_step(opt)
        else:
            opt.step()
        return rec.detach(), total.detach()

    def _fused_losses(self, t: int, idx: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The step's (reconstruction loss, what to differentiate, total) with the compiled kernels: the
        regulariser's gradient comes through the soft weights' backward, its value is added for the
        record (quant/kernels.py)."""
        if self.qdrop_prob > 0:
            x = kernels.mix(self.x_fp, self.x_q, idx, drop_mask(self.x_q[:idx.shape[0]], self.qdrop_prob))
        else:
            x = self.x_q[idx]
        beta = self.betas[t]
        rw, exponent = self._regulariser_args
        rw.fill_(0.0 if beta is None else self.round_weight)
        exponent.fill_(self.beta_end if beta is None else beta)
        rec = kernels.FusedLoss.apply(self.unit(x), self.y_fp, idx)
        # the regulariser's value serves the record only: taken at a chunk's last step (the NaN check)
        if beta is None or ((t + 1) % self.chunk and t + 1 < self.iters):
            return rec, rec, rec
        reg = sum(kernels.round_loss(q.rounding, exponent) for q in self.weight_qs)
        return rec, rec, rec + self.round_weight * reg

    def _average_gradients(self) -> None:
        grads = [p.grad if p.grad is not None else torch.zeros_like(p) for p in self._params]
        flat = torch.cat([g.reshape(-1) for g in grads])
        self.world.all_reduce_mean(flat)
        offset = 0
        for p, g in zip(self._params, grads):
            p.grad = flat[offset:offset + g.numel()].view_as(p).clone()
            offset += g.numel()

    def _log(self, start: int, stop: int) -> None:
        # One value per chunk (its mean reconstruction loss) at the chunk's last optimizer step.
        loggers = self.loggers if self.trainer is not None else []
        if loggers:
            value = float(self.losses[start:stop].mean())
            for lg in loggers:
                lg.log_metrics({self.log_name: value}, step=stop - 1)

    def check_finite(self, upto: int) -> None:
        """Raise a one-line UserError naming the first step whose loss was NaN/inf."""
        upto = min(upto, self.iters)
        window = self._totals[self._checked:upto]
        bad = ~torch.isfinite(window)
        if bool(bad.any()):
            first = self._checked + int(bad.nonzero()[0, 0])
            raise UserError(f"recon: non-finite loss ({float(window[first - self._checked])}) in unit "
                            f"'{self.unit_name}' at step {first}/{self.iters}; try a lower learning rate "
                            f"or check the calibration images for NaN/inf")
        self._checked = upto

    def loss_summary(self, fraction: float = 0.05) -> tuple[float, float]:
        """Mean reconstruction loss over the first and the last `fraction` of the steps run."""
        done = self.losses[~torch.isnan(self.losses)]
        if done.numel() == 0:
            return float("nan"), float("nan")
        k = max(1, int(fraction * done.numel()))
        return float(done[:k].mean()), float(done[-k:].mean())


def fit(module: ReconModule, ctx: Optional[RunContext] = None) -> None:
    """Run `module`'s optimizer steps with a Lightning Trainer on ctx.device (one Lightning step per
    chunk), then `finish()` it: hard rounding, frozen weights."""
    ctx = ctx or RunContext(device=torch.device("cpu"), progress=False)
    # the progress counts optimizer steps (recon.iters), not the chunks Lightning sees
    kwargs = trainer_kwargs(ctx.show_progress, f"recon {module.unit_name}", precision=ctx.precision,
                            steps=Steps(module.iters, module.chunk), **ctx.trainer_devices)
    kwargs["callbacks"] += list(ctx.callbacks)
    trainer = pl.Trainer(limit_train_batches=module.calls, logger=ctx.logger if ctx.is_main else False, **kwargs)
    if module.calls > 0:
        try:
            # dummy batches, one per chunk of optimizer steps: the module draws its own
            trainer.fit(module, train_dataloaders=range(module.calls))
        finally:
            module.unit.to(ctx.device)  # Lightning's teardown moves the fitted module to the CPU
    module.finish()
