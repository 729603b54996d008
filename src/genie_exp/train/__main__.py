"""`python -m genie_exp.train +model=resnet20 data=fashion_mnist [train.epochs=8]`: train an FP32 teacher.

Saves to the teacher cache (or `train.out=PATH`); the shipped checkpoints were made this way.
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from omegaconf import DictConfig


def main(cfg: "DictConfig") -> None:
    import pytorch_lightning as pl

    from ..core.signals import set_stage
    from ..data import build_data
    from .teacher import train_teacher
    from ..teachers import build_model, teacher_path
    from ..core.context import resolve_cache_dir
    from ..core.quiet import quiet_libraries
    from ..models.reference import model_label

    set_stage("teacher training")
    quiet_libraries()  # as the main CLI: our bar and summary, not Lightning's banners
    pl.seed_everything(int(cfg.seed), verbose=False)
    data = build_data(cfg.data)
    out = Path(cfg.train.out) if cfg.train.get("out") else teacher_path(cfg, data)
    if out.parent.name == "zoo" and cfg.train.get("out") is None:
        out = resolve_cache_dir(cfg.paths.cache_dir) / "teachers" / out.name  # never overwrite a shipped teacher implicitly
    top1 = train_teacher(cfg, data, build_model(cfg, data), out)
    print(f"teacher {model_label(cfg.model)} on {data.name}: fp32_top1={top1:.4f} -> {out}")


def _start() -> None:
    from ..cli import hydra_entry

    hydra_entry(main)


if __name__ == "__main__":
    from ..core.signals import run_command

    run_command(_start)
