"""`ReconModule`: Genie-M reconstruction of ONE unit (a block or a single QuantLayer) of the fake-quant
student, from tensors cached on the device: the teacher's input and output of the unit and the
partially quantized student's input. It learns the AdaRound rounding variables V, the weight steps
(Genie-M; frozen for AdaRound) and the unit's activation steps (LSQ, with QDrop)."""
from __future__ import annotations

import math
from typing import Any, Optional

import pytorch_lightning as pl
import torch
import torch.nn as nn

from ..errors import UserError
from ..quant.act import ActQuantizer
from ..quant.layer import QuantLayer
from ..quant.qdrop import qdrop_mix
from ..quant.weight import WeightQuantizer

# How often (in steps) the per-step losses are checked for NaN/inf: checking every step would force a
# device sync per step on a GPU; the first bad step is still found exactly from the stored history.
CHECK_EVERY = 50


def _unique(modules: list[nn.Module]) -> list[nn.Module]:
    seen: dict[int, nn.Module] = {}
    for m in modules:
        seen.setdefault(id(m), m)
    return list(seen.values())


class ReconModule(pl.LightningModule):
    """One unit's reconstruction. `fit` it for `iters` steps, then call `finish()`.

    `cfg` is a ReconConfig (or a DictConfig with the same fields)."""

    def __init__(self, unit: nn.Module, name: str, x_fp: torch.Tensor, x_q: torch.Tensor, y_fp: torch.Tensor,
                 cfg: Any, learn_weight_step: bool, iters: Optional[int] = None, batch_size: Optional[int] = None):
        super().__init__()
        self.automatic_optimization = False  # one Adam with three param groups, stepped by hand
        self.unit = unit
        self.unit_name = name
        # Plain attributes, not buffers: they are already on the device and must not be copied or saved.
        self.x_fp, self.x_q, self.y_fp = x_fp, x_q, y_fp
        self.iters = int(iters if iters is not None else cfg.iters)
        self.batch_size = min(int(batch_size if batch_size is not None else cfg.batch_size), x_q.shape[0])
        self.qdrop_prob = float(cfg.qdrop_prob)
        self.rounded_grad = cfg.lsq_grad == "rounded"
        self.round_weight = float(cfg.round_weight)
        self.beta_start, self.beta_end = float(cfg.beta_start), float(cfg.beta_end)
        self.warmup_steps = int(float(cfg.warmup) * self.iters)
        self.lr = (float(cfg.lr_rounding), float(cfg.lr_weight_step), float(cfg.lr_act_step))
        self.learn_weight_step = bool(learn_weight_step)
        self.log_name = f"recon/{name}/loss"

        # Gathered once so a step loops over nothing but the unit's few weight quantizers.
        self.layers: list[QuantLayer] = [m for m in unit.modules() if isinstance(m, QuantLayer)]
        self.weight_qs: list[WeightQuantizer] = _unique([l.weight_quantizer for l in self.layers])
        self.act_qs: list[ActQuantizer] = [m for m in _unique(list(unit.modules()))
                                           if isinstance(m, ActQuantizer) and bool(m.initialized)]
        self._requires_grad = {id(p): p.requires_grad for p in unit.parameters()}
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
        for layer in self.layers:
            layer.weight_quantizer.mode = "hard"
            layer.weight_quantizer.freeze(layer.module.weight)
        for p in self.unit.parameters():
            p.requires_grad_(self._requires_grad.get(id(p), p.requires_grad))
        self.unit.eval()

    # ---- optimisation ----------------------------------------------------------------------------
    def configure_optimizers(self):
        lr_v, lr_w, lr_a = self.lr
        groups, lambdas = [{"params": [q.rounding for q in self.weight_qs], "lr": lr_v}], [lambda t: 1.0]
        if self.learn_weight_step:
            groups.append({"params": [q.scale for q in self.weight_qs], "lr": lr_w})
            lambdas.append(lambda t: 1.0)
        if self.act_qs:
            groups.append({"params": [q.scale for q in self.act_qs], "lr": lr_a})
            n = max(self.iters, 1)
            lambdas.append(lambda t: 0.5 * (1.0 + math.cos(math.pi * min(t, n) / n)))  # cosine to 0
        opt = torch.optim.Adam(groups)
        return {"optimizer": opt, "lr_scheduler": torch.optim.lr_scheduler.LambdaLR(opt, lambdas)}

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

    def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        step = int(batch_idx)
        idx = torch.randint(self.x_q.shape[0], (self.batch_size,), device=self.x_q.device)
        x_q, x_fp = self.x_q[idx], self.x_fp[idx]
        # QDrop at the unit input: each element from the FP teacher with prob qdrop_prob.
        x = qdrop_mix(x_fp, x_q, self.qdrop_prob)
        rec = self.reconstruction_loss(self.unit(x), self.y_fp[idx])
        beta = self.beta(step)
        loss = rec if beta is None else rec + self.round_loss(beta)

        opt = self.optimizers()
        opt.zero_grad(set_to_none=True)
        self.manual_backward(loss)
        opt.step()
        self.lr_schedulers().step()

        if step < self.iters:
            self.losses[step] = rec.detach()
            self._totals[step] = loss.detach()
        # self.log costs ~0.5 ms a call: call it only on the steps the Trainer writes to its loggers.
        every = max(1, int(self.trainer.log_every_n_steps))
        if (step + 1) % every == 0 or step + 1 == self.iters:
            self.log(self.log_name, rec.detach(), on_step=True, on_epoch=False)
        if (step + 1) % CHECK_EVERY == 0 or step + 1 >= self.iters:
            self.check_finite(step + 1)
        return loss.detach()  # under DDP the wrapped forward's output

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
