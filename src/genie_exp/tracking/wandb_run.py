"""A W&B run beside the CSV logs: config, stage metrics (through Lightning's WandbLogger), the sample
grid, per-unit reconstruction losses and the final top-1s. Files go into the Hydra run dir."""
from __future__ import annotations

import os
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, Optional

from omegaconf import DictConfig, OmegaConf

from ..core.errors import UserError
from ..core.extras import require
from .mode import MODES, resolve_mode
from .naming import current_sweep_group, run_name, run_tags

SUMMARY_KEYS = ("model", "dataset", "w_bits", "a_bits", "distill", "quantizer", "n_samples", "seed",
                "fp32_top1", "quant_top1", "top1_unit", "eval_samples", "fold_bn", "teacher")


def _note(text: str) -> None:
    print(f"wandb: {text}", file=sys.stderr, flush=True)


@contextmanager
def _wandb_mode_env(mode: str) -> Iterator[None]:
    """wandb reads WANDB_MODE itself and rejects bad values: show it the mode we settled on."""
    old = os.environ.get("WANDB_MODE")
    os.environ["WANDB_MODE"] = mode
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("WANDB_MODE", None)
        else:
            os.environ["WANDB_MODE"] = old


class WandbTracker:
    """Owns one wandb run; `finish` must be called (the pipeline does, also on failure)."""

    def __init__(self, run: Any, mode: str) -> None:
        self.run, self.mode = run, mode
        # Each stage's Trainer restarts its step at 0: plot the stage curves against that step.
        run.define_metric("trainer/global_step")
        for prefix in ("distill/*", "recon/*"):
            run.define_metric(prefix, step_metric="trainer/global_step")

    @property
    def dir(self) -> Path:
        return Path(self.run.dir).parent  # <run dir>/wandb/offline-run-... (files/ is below it)

    def lightning_logger(self):
        from pytorch_lightning.loggers import WandbLogger

        return WandbLogger(experiment=self.run)

    def log_samples(self, png: Path) -> None:
        import wandb

        self.run.log({"distill/samples": wandb.Image(str(png))})

    def log_final(self, metrics: dict) -> None:
        import wandb

        units = metrics.get("units", [])
        if units:
            table = wandb.Table(columns=["name", "kind", "seconds", "loss_start", "loss"],
                                data=[[u["name"], u["kind"], u["seconds"], u.get("loss_start"), u["loss"]]
                                      for u in units])
            self.run.log({"recon/units": table})
        self.run.log({"eval/fp32_top1": metrics["fp32_top1"], "eval/top1": metrics["quant_top1"]})
        # Flat summary keys: W&B's runs table and parallel-coordinates panel compare runs on these
        # (the budget keys, recon.iters and the like, are in the run's config).
        self.run.summary.update({"eval/drop": metrics["fp32_top1"] - metrics["quant_top1"],
                                 "w_bits": metrics.get("w_bits"), "a_bits": metrics.get("a_bits"),
                                 "method": metrics.get("quantizer"), "calib": metrics.get("distill"),
                                 "fingerprint": metrics.get("fingerprint")})
        self.run.summary.update({f"recon/{u['name']}/final_loss": u["loss"] for u in units})
        # The whole result, so `python -m genie_exp.report --wandb` can rebuild the table.
        self.run.summary["metrics"] = {k: metrics[k] for k in SUMMARY_KEYS if k in metrics} | \
            {"seconds": metrics.get("seconds", {})}

    def finish(self, failed: bool = False) -> None:
        self.run.finish(exit_code=1 if failed else 0)
        if self.mode == "offline":
            _note(f"offline run saved; upload it later with: wandb sync {self.dir}")


def _init(cfg: DictConfig, out_dir: Path, mode: str):
    import wandb

    lc = cfg.logger
    settings = wandb.Settings(init_timeout=float(lc.init_timeout), console="off", silent=True,
                              disable_git=True, save_code=False)
    with _wandb_mode_env(mode):
        return wandb.init(project=str(lc.project), entity=lc.entity, dir=str(out_dir), mode=mode,
                          name=run_name(cfg), group=current_sweep_group(), tags=run_tags(cfg),
                          config=OmegaConf.to_container(cfg, resolve=True), settings=settings, reinit="finish_previous")


def start_wandb(cfg: DictConfig, out_dir: Path) -> Optional[WandbTracker]:
    """The tracker of `logger=wandb` (None where W&B is disabled). Never prompts and never fails the run
    for logging: no credentials or a bad WANDB_MODE mean offline, and a failed online start falls back to
    offline."""
    if cfg.logger.mode not in MODES:
        raise UserError(f"unknown logger.mode '{cfg.logger.mode}' (choose from: {', '.join(MODES)})")
    require("wandb", "logger=wandb")
    mode, note = resolve_mode(str(cfg.logger.mode))
    if note:
        _note(note)
    if mode == "disabled":
        _note("W&B disabled; CSV logs only")
        return None
    out_dir.mkdir(parents=True, exist_ok=True)
    if mode == "online":
        try:
            return WandbTracker(_init(cfg, out_dir, "online"), "online")
        except Exception as e:  # noqa: BLE001 - any failure to reach the server: keep the run going
            first = str(e).strip().splitlines()[0] if str(e).strip() else ""
            _note(f"online start failed ({type(e).__name__}: {first}); logging offline")
    return WandbTracker(_init(cfg, out_dir, "offline"), "offline")
