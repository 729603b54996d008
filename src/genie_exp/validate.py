"""Checks of a composed config that the schema cannot express; each failure is one UserError line,
raised before any work starts. The valid names come from the registries that define them."""
from __future__ import annotations

from typing import Any

from .config import NUMBERS, OPTIONAL_NUMBERS, check_bits as _bits, check_number, select
from .core.context import PRECISIONS
from .core.errors import UserError

LOGGERS = ("csv", "wandb")
DDP_BACKENDS = ("nccl", "gloo")
LSQ_GRADS = ("paper", "rounded")
ACT_INITS = ("upfront", "per_unit")


def _choice(value, key: str, choices) -> None:
    if value not in choices:
        raise UserError(f"unknown {key} '{value}' (choose from: {', '.join(choices)})")


def validate(cfg: Any) -> None:
    from .data import DATASETS
    from .distill.input_prior import INPUT_PRIORS
    from .distill.sources import SOURCES
    from .models import list_models
    from .quant.methods import METHODS

    _bits(cfg.quant.w, "quant.w")
    _bits(cfg.quant.a, "quant.a")
    _choice(cfg.model.name, "model", list_models() + ["custom"])
    _choice(cfg.data.name, "data", DATASETS)
    _choice(cfg.distill.name, "distill", list(SOURCES))
    _choice(cfg.quantizer.name, "quantizer", list(METHODS))
    _choice(cfg.logger.name, "logger", LOGGERS)
    _choice(str(cfg.trainer.precision), "trainer.precision", PRECISIONS)
    _choice(str(cfg.recon.lsq_grad), "recon.lsq_grad", LSQ_GRADS)
    _choice(str(cfg.recon.act_init), "recon.act_init", ACT_INITS)
    _choice(str(cfg.distill.input_prior), "distill.input_prior", INPUT_PRIORS)
    _choice(str(cfg.quant.act_ranges), "quant.act_ranges", ["calib"] + list(SOURCES))
    if str(cfg.quant.act_ranges) != "calib" and str(cfg.recon.act_init) == "per_unit":
        raise UserError("quant.act_ranges sets the ranges up front; it does not go with recon.act_init=per_unit")
    if cfg.trainer.get("ddp_backend") is not None:
        _choice(str(cfg.trainer.ddp_backend), "trainer.ddp_backend", DDP_BACKENDS)
    for key, (lo, hi, integer) in NUMBERS.items():
        check_number(select(cfg, key), key, lo, hi, integer)
    for key, (lo, hi, integer) in OPTIONAL_NUMBERS.items():
        value = select(cfg, key)
        if value is not None:
            check_number(value, key, lo, hi, integer)
    d = cfg.distill
    synthetic = SOURCES[d.name].synthetic
    if synthetic and d.samples < d.batch_size:
        raise UserError(f"distill.samples={d.samples} is smaller than distill.batch_size={d.batch_size}")
    if synthetic and d.samples % d.batch_size:
        raise UserError(f"distill.samples={d.samples} is not a multiple of distill.batch_size={d.batch_size}")
    if METHODS[cfg.quantizer.name].reconstruct and cfg.recon.batch_size > d.samples:
        raise UserError(f"recon.batch_size={cfg.recon.batch_size} is larger than the calibration set "
                        f"(distill.samples={d.samples})")
