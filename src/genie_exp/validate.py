"""Checks of a composed config that the schema cannot express; each failure is one UserError line,
raised before any work starts. The valid names come from the registries that define them."""
from __future__ import annotations

from typing import Any

from .config import NUMBERS, OPTIONAL_NUMBERS, check_bits as _bits, check_number, select
from .core.compiled import CHOICES as COMPILE_CHOICES
from .core.context import check_precision
from .core.devices import check_accelerator, pick_device
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
    from .models.registry import check_model_kwargs
    from .quant.grid import ACT_GRIDS
    from .quant.methods import METHODS

    _bits(cfg.quant.w, "quant.w")
    _bits(cfg.quant.a, "quant.a")
    _choice(cfg.model.name, "model", list_models() + ["custom"])
    if cfg.model.name != "custom":
        check_model_kwargs(cfg.model.name, dict(cfg.model.kwargs or {}))
    _choice(cfg.data.name, "data", DATASETS)
    _choice(cfg.distill.name, "distill", list(SOURCES))
    _choice(cfg.quantizer.name, "quantizer", list(METHODS))
    _choice(cfg.logger.name, "logger", LOGGERS)
    check_accelerator(cfg.trainer.accelerator)
    check_precision(cfg.trainer.precision, pick_device(str(cfg.trainer.accelerator)))
    _check_devices(cfg.trainer)
    _choice(str(cfg.recon.lsq_grad), "recon.lsq_grad", LSQ_GRADS)
    _choice(str(cfg.recon.act_init), "recon.act_init", ACT_INITS)
    _choice(str(cfg.recon.compile).lower(), "recon.compile", COMPILE_CHOICES)
    _choice(str(cfg.distill.input_prior), "distill.input_prior", INPUT_PRIORS)
    _choice(str(cfg.quant.act_ranges), "quant.act_ranges", ["calib"] + list(SOURCES))
    _choice(str(cfg.quant.act_grid), "quant.act_grid", list(ACT_GRIDS))
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


def _check_devices(trainer: Any) -> None:
    """trainer.devices: `auto`, a count or a list of GPU indices; more than one only with trainer=ddp
    (one process computes on one device, so the rest would be silently idle)."""
    devices = trainer.devices
    listed = not isinstance(devices, (str, int)) and hasattr(devices, "__len__")
    ok = (devices == "auto" or (isinstance(devices, int) and not isinstance(devices, bool) and devices >= 1)
          or (listed and len(devices) > 0 and all(isinstance(d, int) and not isinstance(d, bool) and d >= 0
                                                   for d in devices)))
    if not ok:
        raise UserError(f"trainer.devices must be auto, a number of devices >= 1 or a list of GPU indices, got "
                        f"{devices!r}")
    if not str(trainer.strategy).startswith("ddp") and devices != 1:
        raise UserError(f"trainer.devices={devices} needs trainer=ddp (without it one process uses one device)")
