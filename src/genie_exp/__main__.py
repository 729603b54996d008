"""`python -m genie_exp [overrides]`: the whole pipeline under Hydra (see conf/config.yaml)."""
from __future__ import annotations

from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig

from .cli import hydra_entry


def main(cfg: DictConfig) -> dict | None:
    from .pipeline import run, summary_line

    metrics = run(cfg, HydraConfig.get().runtime.output_dir)
    if metrics is not None:  # None on the DDP ranks other than 0
        print(summary_line(metrics), flush=True)
    return metrics


if __name__ == "__main__":
    hydra_entry(main)
