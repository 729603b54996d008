"""The checks of a composed config beyond its fields' own rules (config.check_config): the names that
have code behind them (models, calibration sources, quantization methods), the devices, and the rules
that need those registries. Each failure is one UserError line, raised before any work starts.

`validate_settings` needs no torch (config.py's rules), so the CLI runs it before the heavy imports;
`validate` adds what needs the registries."""
from __future__ import annotations

from typing import Any

from .config import check_choice, check_config
from .core.errors import UserError


def validate_settings(cfg: Any) -> None:
    """Every field's range or choices and the rules across fields (config.py), on the typed settings."""
    from .hydra_config import to_config

    check_config(to_config(cfg))


def validate(cfg: Any) -> None:
    from .core.context import check_precision
    from .core.devices import check_accelerator, pick_device
    from .distillation.sources import SOURCES
    from .hydra_config import to_config
    from .models import MODELS, model_names
    from .quant.methods import METHODS

    config = to_config(cfg)
    check_config(config)
    model, d, trainer = config.model, config.distill, config.trainer
    check_choice(model.name, "model", model_names())
    MODELS[model.name].check(model.name, model)
    check_choice(d.name, "distill", list(SOURCES))
    check_choice(config.quantizer.name, "quantizer", list(METHODS))
    check_accelerator(trainer.accelerator)
    check_precision(trainer.precision, pick_device(str(trainer.accelerator)))
    _check_devices(trainer)
    check_choice(str(config.quant.act_ranges), "quant.act_ranges", ["calib"] + list(SOURCES))
    synthetic = SOURCES[d.name].synthetic
    if synthetic and d.samples < d.batch_size:
        raise UserError(f"distill.samples={d.samples} is smaller than distill.batch_size={d.batch_size}")
    if synthetic and d.samples % d.batch_size:
        raise UserError(f"distill.samples={d.samples} is not a multiple of distill.batch_size={d.batch_size}")
    if METHODS[config.quantizer.name].reconstruct and config.recon.batch_size > d.samples:
        raise UserError(f"recon.batch_size={config.recon.batch_size} is larger than the calibration set "
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
