"""A Python API run's record: `quantize(..., run_dir=DIR, test=(images, labels))` leaves what a CLI run
leaves in its run dir, quantized.pt and a metrics.json of the same keys, so `python -m genie_exp.report`
and `python -m genie_exp.export DIR` take API runs and CLI runs alike."""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, Optional

import torch
import torch.nn as nn

from .artifact import save_quantized
from .config import USER_MODEL, result_settings
from .core.errors import UserError
from .core.inputs import check_images, check_labels
from .core.io import ensure_writable, save_json
from .run_record import ARTIFACT_METRICS, run_metrics


def check_test(run_dir: Any, test: Any) -> Optional[tuple[torch.Tensor, torch.Tensor]]:
    """The (images, labels) a run dir's metrics are measured on; both or neither."""
    if run_dir is None:
        if test is not None:
            raise UserError("quantize: test= is for run_dir= (metrics.json records the top-1 on it); "
                            "without a run dir use genie_exp.evaluate")
        return None
    if not (isinstance(test, (tuple, list)) and len(test) == 2):
        raise UserError("quantize: run_dir= needs test=(images, labels): metrics.json records the FP32 and the "
                        "quantized top-1 on them")
    images = check_images(test[0], "quantize: test images")
    labels = check_labels(test[1], len(images), "quantize: test labels")
    ensure_writable(run_dir, "quantize: run_dir")
    return images, labels


def distill_record(calib: Any) -> dict:
    """The distill settings of images that genie_exp.distill made, else `given` (the caller's own)."""
    from .distillation.entry import DISTILL_TAG

    tag = getattr(calib, DISTILL_TAG, None)
    return dict(tag) if isinstance(tag, dict) else {"name": "given"}


def write_run(run_dir: str | Path, teacher: nn.Module, student: nn.Module, calib_info: dict, n_calib: int,
              quant: Any, recon: Any, method: str, seed: int, tops: tuple[float, float], n_test: int,
              units: list[dict], seconds: dict) -> dict:
    """Write quantized.pt and metrics.json into `run_dir`; `tops`: the FP32 and quantized top-1 on the
    `n_test` test images."""
    from .models.reference import reference_of
    from .quant.layer_bits import layer_bits_of

    run_dir = Path(run_dir).expanduser()
    ref = reference_of(teacher)
    name = type(teacher).__name__
    config = {"model": {"name": USER_MODEL, "target": ref.get("target")}, "quant": dataclasses.asdict(quant),
              "quantizer": {"name": method}, "recon": dataclasses.asdict(recon), "distill": calib_info,
              "seed": int(seed)}
    settings = result_settings(config)
    metrics = run_metrics(name, "given", quant, calib_info["name"], method, n_calib, seed, tops, n_test, "given",
                          settings, units, seconds, front_end="api", plan=student.genie_recipe.get("plan", {}),
                          layer_bits=layer_bits_of(student))
    save_quantized(student, run_dir / "quantized.pt", config=config,
                   metrics={k: metrics[k] for k in ARTIFACT_METRICS})
    metrics["quantized"] = "quantized.pt"
    save_json(metrics, run_dir / "metrics.json")
    return metrics
