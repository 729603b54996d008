"""The keys of a run's metrics.json, for both front ends (pipeline.py for the CLI, api_run.py for
`quantize(..., run_dir=...)`), so the report and the export read one schema (docs/outputs.md)."""
from __future__ import annotations

from typing import Any

from .config import QuantConfig, fingerprint

# what quantized.pt keeps of the metrics (artifact.save_quantized)
ARTIFACT_METRICS = ("model", "dataset", "w_bits", "a_bits", "distill", "quantizer", "seed", "fp32_top1", "quant_top1",
                    "eval_samples")


def run_metrics(model: str, dataset: str, quant: QuantConfig, distill: str, quantizer: str, n_samples: int,
                seed: int, tops: tuple[float, float], eval_samples: int, teacher: str, settings: dict,
                units: list[dict], seconds: dict, world_size: int = 1, **extra: Any) -> dict:
    """metrics.json of one run: `tops` the FP32 and the quantized top-1 (fractions) on `eval_samples`
    test images, `settings` the result-deciding settings (their hash is the fingerprint); `extra` keys
    (a front end's own: the plan, the cache, W&B) come before the units and the seconds."""
    fp32_top1, quant_top1 = tops
    return {"model": model, "dataset": dataset, "w_bits": int(quant.w), "a_bits": int(quant.a), "distill": distill,
            "quantizer": quantizer, "n_samples": int(n_samples), "seed": int(seed), "fp32_top1": fp32_top1,
            "quant_top1": quant_top1, "top1_unit": "fraction", "eval_samples": int(eval_samples), "teacher": teacher,
            "fold_bn": bool(quant.fold_bn), "world_size": int(world_size), "fingerprint": fingerprint(settings),
            "settings": settings, **extra, "units": units, "seconds": seconds}
