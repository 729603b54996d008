"""How a run is named, grouped and tagged on W&B."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Optional

from omegaconf import DictConfig

from ..models.reference import model_label


def run_name(cfg: DictConfig) -> str:
    """`<model>-w<W>a<A>-<calib>-<quantizer>`, e.g. resnet20-w4a4-genie-genie (a custom model: its class)."""
    return f"{model_label(cfg.model)}-w{cfg.quant.w}a{cfg.quant.a}-{cfg.distill.name}-{cfg.quantizer.name}"


def run_tags(cfg: DictConfig) -> list[str]:
    return [model_label(cfg.model), f"w{cfg.quant.w}a{cfg.quant.a}", f"w{cfg.quant.w}", f"a{cfg.quant.a}"]


def sweep_group(sweep_dir: Optional[str]) -> Optional[str]:
    """The sweep dir's name; with Hydra's default `multirun/<date>/<time>` layout the date is kept too,
    since a time alone repeats from day to day."""
    if not sweep_dir:
        return None
    p = Path(sweep_dir)
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", p.parent.name):
        return f"{p.parent.name}_{p.name}"
    return p.name


def current_sweep_group() -> Optional[str]:
    """The group of this job when it is part of a Hydra multirun, else None."""
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    if not HydraConfig.initialized() or HydraConfig.get().mode != RunMode.MULTIRUN:
        return None
    return sweep_group(str(HydraConfig.get().sweep.dir))
