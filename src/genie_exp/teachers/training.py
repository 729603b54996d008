"""FP32 teacher training for the embedded data (the teacher zoo); the command line is train/__main__.py."""
from __future__ import annotations

import logging
import sys
import time
from pathlib import Path

import pytorch_lightning as pl
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader

from ..config import DataConfig, TrainConfig
from ..core.context import RunContext
from ..data import DataSpec
from ..top1 import evaluate
from ..core.io import save_torch

log = logging.getLogger(__name__)


class TeacherModule(pl.LightningModule):
    """Cross-entropy, SGD with Nesterov momentum and a one-cycle schedule."""

    def __init__(self, model: nn.Module, lr: float, momentum: float, weight_decay: float, total_steps: int):
        super().__init__()
        self.model = model
        self.lr, self.momentum, self.weight_decay, self.total_steps = lr, momentum, weight_decay, total_steps

    def training_step(self, batch, _):
        x, y = batch
        logits = self.model(x)
        loss = F.cross_entropy(logits, y)
        self.log("train/loss", loss, prog_bar=True)
        self.log("train/acc", (logits.argmax(1) == y).float().mean(), prog_bar=True)
        return loss

    def configure_optimizers(self):
        opt = torch.optim.SGD(self.model.parameters(), lr=self.lr, momentum=self.momentum,
                              weight_decay=self.weight_decay, nesterov=True)
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=self.lr, total_steps=self.total_steps)
        return [opt], [{"scheduler": sched, "interval": "step"}]


def save_teacher(model: nn.Module, path: Path, meta: dict) -> None:
    """fp16 storage keeps shipped teachers small; BN running stats and counters keep their dtype."""
    state = {k: (v.half() if v.is_floating_point() else v) for k, v in model.state_dict().items()}
    save_torch({"state_dict": state, "meta": meta}, path)


def train_teacher(model: nn.Module, data: DataSpec, out: Path, tc: TrainConfig, data_cfg: DataConfig,
                  ctx: RunContext, label: str) -> float:
    """Train `model` on the train split on ctx's device, save it to `out` (its metadata names it
    `label`), return its test top-1 (fraction)."""
    t0 = time.time()
    loader = DataLoader(data.train(True), batch_size=tc.batch_size, shuffle=True, drop_last=True,
                        num_workers=int(data_cfg.workers))
    per_epoch = len(loader) if tc.max_batches is None else min(len(loader), int(tc.max_batches))
    module = TeacherModule(model, tc.lr, tc.momentum, tc.weight_decay, per_epoch * tc.epochs)
    trainer = pl.Trainer(max_epochs=tc.epochs, limit_train_batches=per_epoch, logger=False,
                         enable_checkpointing=False, enable_progress_bar=ctx.show_progress,
                         enable_model_summary=False, **ctx.trainer_devices)
    trainer.fit(module, train_dataloaders=loader)
    model = module.model.cpu().eval()
    top1 = evaluate(model, data.test_loader(int(data_cfg.batch_size), data_cfg.eval_samples))
    meta = {"model": label, "dataset": data.name, "fp32_top1": top1, "epochs": int(tc.epochs),
            "seed": ctx.seed, "train_seconds": round(time.time() - t0, 1),
            "command": "python -m genie_exp.train " + " ".join(sys.argv[1:])}
    save_teacher(model, out, meta)
    log.info("teacher %s on %s: test top-1 %.4f, saved to %s", label, data.name, top1, out)
    return top1
