"""`python -m genie_exp [overrides]` (also the `genie-exp` command): the whole pipeline under Hydra
(see conf/config.yaml), a thin shell over pipeline.run. Nothing heavy is imported before the signal
handlers are in place (core/signals.run_command)."""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from omegaconf import DictConfig


def main(cfg: "DictConfig") -> dict | None:
    from hydra.core.hydra_config import HydraConfig

    from .pipeline import run, summary_line
    from .sweep import is_multirun

    metrics = run(cfg, HydraConfig.get().runtime.output_dir, multirun=is_multirun())
    if metrics is not None:  # None on the DDP ranks other than 0
        print(summary_line(metrics), flush=True)
    return metrics


def _start() -> None:
    from .cli import hydra_entry

    hydra_entry(main)


def cli() -> None:
    from .core.signals import run_command

    run_command(_start)


if __name__ == "__main__":
    cli()
