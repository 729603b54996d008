"""`python -m genie_exp.bench [overrides]` (or `make bench ARGS=...`): see bench/run.py."""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from omegaconf import DictConfig


def main(cfg: "DictConfig") -> dict:
    from .run import bench

    return bench(cfg)


def _start() -> None:
    from ..cli import hydra_entry

    hydra_entry(main)


if __name__ == "__main__":
    from ..core.signals import run_command

    run_command(_start)
