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
    from ..teachers import build_model, zoo_name
    from ..teachers.training import train_teacher
    from ..core.context import RunContext
    from ..core.quiet import quiet_libraries
    from ..hydra_config import to_config
    from ..models.reference import model_label

    set_stage("teacher training")
    quiet_libraries()  # as the main CLI: our bar and summary, not Lightning's banners
    config = to_config(cfg)
    ctx = RunContext.from_config(config)
    pl.seed_everything(ctx.seed, verbose=False)
    data = build_data(config.data)
    # the teacher cache, where the runs look after the shipped zoo (never a shipped file unless train.out names it)
    out = Path(config.train.out) if config.train.out else ctx.cache_dir / "teachers" / zoo_name(config.model.name, data.name)
    label = model_label(config.model)
    top1 = train_teacher(build_model(config.model, data), data, out, config.train, config.data, ctx, label)
    print(f"teacher {label} on {data.name}: fp32_top1={top1:.4f} -> {out}")


def _start() -> None:
    from ..cli import hydra_entry

    hydra_entry(main)


if __name__ == "__main__":
    from ..core.signals import run_command

    run_command(_start)
