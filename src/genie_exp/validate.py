"""Checks of a composed config that the schema cannot express; each failure is one UserError line."""
from __future__ import annotations

from omegaconf import DictConfig

from .errors import UserError

CALIB_SOURCES = ("genie", "zeroq", "noise", "real")
QUANTIZERS = ("genie", "adaround", "rtn")
LOGGERS = ("csv", "wandb")
PRECISIONS = ("32-true", "bf16-mixed", "16-mixed")
DDP_BACKENDS = ("nccl", "gloo")
LSQ_GRADS = ("paper", "rounded")
ACT_INITS = ("upfront", "per_unit")


def _bits(value, key: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 2 <= value <= 8:
        raise UserError(f"{key} must be an integer from 2 to 8, got {value!r}")
    return value


def _choice(value, key: str, choices) -> None:
    if value not in choices:
        raise UserError(f"unknown {key} '{value}' (choose from: {', '.join(choices)})")


def validate(cfg: DictConfig) -> None:
    from .data import DATASETS
    from .models import list_models

    _bits(cfg.quant.w, "quant.w")
    _bits(cfg.quant.a, "quant.a")
    _choice(cfg.model.name, "model", list_models() + ["custom"])
    _choice(cfg.data.name, "data", DATASETS)
    _choice(cfg.distill.name, "distill", CALIB_SOURCES)
    _choice(cfg.quantizer.name, "quantizer", QUANTIZERS)
    _choice(cfg.logger.name, "logger", LOGGERS)
    _choice(str(cfg.trainer.precision), "trainer.precision", PRECISIONS)
    _choice(str(cfg.recon.lsq_grad), "recon.lsq_grad", LSQ_GRADS)
    _choice(str(cfg.recon.act_init), "recon.act_init", ACT_INITS)
    if cfg.trainer.get("ddp_backend") is not None:
        _choice(str(cfg.trainer.ddp_backend), "trainer.ddp_backend", DDP_BACKENDS)
    d = cfg.distill
    if d.samples < 1 or d.batch_size < 1:
        raise UserError(f"distill.samples and distill.batch_size must be positive, got {d.samples} and {d.batch_size}")
    if d.name in ("genie", "zeroq") and d.samples < d.batch_size:
        raise UserError(f"distill.samples={d.samples} is smaller than distill.batch_size={d.batch_size}")
    if d.name in ("genie", "zeroq") and d.samples % d.batch_size:
        raise UserError(f"distill.samples={d.samples} is not a multiple of distill.batch_size={d.batch_size}")
    if cfg.quantizer.reconstruct and cfg.recon.batch_size > d.samples:
        raise UserError(f"recon.batch_size={cfg.recon.batch_size} is larger than the calibration set "
                        f"(distill.samples={d.samples})")
    if d.get("early_stop") is not None and (not isinstance(d.early_stop, int) or d.early_stop < 1):
        raise UserError(f"distill.early_stop must be a positive number of steps or null, got {d.early_stop!r}")
    if cfg.data.eval_samples is not None and cfg.data.eval_samples < 1:
        raise UserError(f"data.eval_samples must be positive or null, got {cfg.data.eval_samples}")
