"""Checks of a composed config that the schema cannot express; each failure is one UserError line,
raised before any work starts. The valid names come from the registries that define them.

`validate_settings` needs no torch (choices.py, quant/methods.py), so the CLI runs it before the heavy
imports; `validate` adds what needs the registries with code behind them (models, sources, devices)."""
from __future__ import annotations

from typing import Any

from .choices import (ACCELERATORS, ACT_GRIDS, ACT_INITS, AUGMENTS, COMPILE_CHOICES, DATASETS, DDP_BACKENDS,
                      INPUT_PRIORS, LOGGERS, LSQ_GRADS)
from .config import NUMBERS, OPTIONAL_NUMBERS, check_bits as _bits, check_bn_stats, check_number, select
from .core.errors import UserError, did_you_mean


def _choice(value, key: str, choices) -> None:
    if value not in choices:
        raise UserError(f"unknown {key} '{value}'{did_you_mean(value, choices)} (choose from: {', '.join(choices)})")


def validate_settings(cfg: Any) -> None:
    """The checks that need no torch: bits, numbers, names from choices.py, the model keys."""
    _bits(cfg.quant.w, "quant.w")
    _bits(cfg.quant.a, "quant.a")
    m = cfg.model
    if str(m.name) != "custom" and (m.target is not None or bool(m.factory)):
        key = "model.target" if m.target is not None else "model.factory"
        raise UserError(f"{key} is for a model of your own: add +model=custom (e.g. python -m genie_exp +model=custom "
                        f"model.target=my_pkg.my_mod.MyNet); without it the run would quantize {m.name}")
    _choice(cfg.data.name, "data", DATASETS)
    _choice(cfg.logger.name, "logger", LOGGERS)
    _choice(str(cfg.trainer.accelerator), "trainer.accelerator", ACCELERATORS)
    _choice(str(cfg.recon.lsq_grad), "recon.lsq_grad", LSQ_GRADS)
    _choice(str(cfg.recon.act_init), "recon.act_init", ACT_INITS)
    _choice(str(cfg.recon.augment), "recon.augment", AUGMENTS)
    _choice(str(cfg.recon.compile).lower(), "recon.compile", COMPILE_CHOICES)
    _choice(str(cfg.distill.input_prior), "distill.input_prior", INPUT_PRIORS)
    _choice(str(cfg.quant.act_grid), "quant.act_grid", ACT_GRIDS)
    if cfg.trainer.get("ddp_backend") is not None:
        _choice(str(cfg.trainer.ddp_backend), "trainer.ddp_backend", DDP_BACKENDS)
    for key, (lo, hi, integer) in NUMBERS.items():
        check_number(select(cfg, key), key, lo, hi, integer)
    for key, (lo, hi, integer) in OPTIONAL_NUMBERS.items():
        value = select(cfg, key)
        if value is not None:
            check_number(value, key, lo, hi, integer)
    check_bn_stats(str(cfg.distill.stats), int(cfg.distill.parallel_batches))


def validate(cfg: Any) -> None:
    from .core.context import check_precision
    from .core.devices import check_accelerator, pick_device
    from .distillation.sources import SOURCES
    from .models import list_models
    from .models.registry import check_model_kwargs
    from .quant.methods import METHODS

    validate_settings(cfg)
    _choice(cfg.model.name, "model", list_models() + ["custom"])
    if cfg.model.name != "custom":
        check_model_kwargs(cfg.model.name, dict(cfg.model.kwargs or {}))
    _choice(cfg.distill.name, "distill", list(SOURCES))
    _choice(cfg.quantizer.name, "quantizer", list(METHODS))
    check_accelerator(cfg.trainer.accelerator)
    check_precision(cfg.trainer.precision, pick_device(str(cfg.trainer.accelerator)))
    _check_devices(cfg.trainer)
    _choice(str(cfg.quant.act_ranges), "quant.act_ranges", ["calib"] + list(SOURCES))
    if str(cfg.quant.act_ranges) != "calib" and str(cfg.recon.act_init) == "per_unit":
        raise UserError("quant.act_ranges sets the ranges up front; it does not go with recon.act_init=per_unit")
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
