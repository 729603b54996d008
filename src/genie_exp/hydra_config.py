"""The one crossing from Hydra's config tree to the settings dataclasses (config.py): the entry
points (pipeline.run, the bench, the teacher-training command) call `to_config` once; every stage
below them takes the typed sections and the RunContext, never the tree."""
from __future__ import annotations

from omegaconf import DictConfig, OmegaConf

from .config import Config


def to_config(cfg: DictConfig | Config) -> Config:
    """The composed (and validated) config as a Config, interpolations resolved; a Config is returned as is."""
    if isinstance(cfg, Config):
        return cfg
    config = OmegaConf.to_object(cfg)
    if not isinstance(config, Config):  # a tree composed without the schema (conf/config.yaml's base_config)
        raise TypeError(f"expected a config composed on the genie_exp schema, got {type(config).__name__}")
    return config
