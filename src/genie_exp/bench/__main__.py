"""`python -m genie_exp.bench [overrides]` (or `make bench ARGS=...`): see bench/run.py."""
from __future__ import annotations

from omegaconf import DictConfig

from ..cli import hydra_entry


def main(cfg: DictConfig) -> dict:
    from .run import bench

    return bench(cfg)


if __name__ == "__main__":
    hydra_entry(main)
