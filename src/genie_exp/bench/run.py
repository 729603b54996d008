"""The benchmark: floors, then the real run end to end with every training step timed."""
from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import sys
import tempfile
import time
from pathlib import Path

import torch
from omegaconf import DictConfig, OmegaConf

from ..data import build_data
from ..core.context import RunContext
from ..core.signals import set_stage
from ..core.io import save_json
from ..hydra_config import to_config
from ..teachers import load_teacher
from ..pipeline import run
from ..recon.stage import make_plan
from ..core.quiet import quiet_libraries
from .floors import generator_floor, teacher_floor, unit_floors
from .machine import describe
from .step_timer import StepTimer
from .timing import peak_memory_mb

log = logging.getLogger(__name__)
PAPER_DISTILL_STEPS = 1024 // 128 * 4000  # conf/budget/paper.yaml (tests/test_config.py keeps them equal): 8 x 4,000
PAPER_RECON_ITERS = 20_000  # per unit


def _ratio(a: float, b: float) -> float:
    return round(a / b, 3) if b > 0 else float("nan")


def bench(cfg: DictConfig) -> dict:
    """Measure, print and write `cfg.bench.out` (JSON). The end-to-end run distils afresh
    (no calibration cache, no resume) into a temporary run dir."""
    set_stage("bench")
    quiet_libraries()
    config = to_config(cfg)
    b = config.bench
    reps, warmup = b.reps, b.warmup
    ctx = RunContext.from_config(config)
    device = ctx.device
    data = build_data(config.data)
    teacher, _ = load_teacher(config.model, data, ctx, config.train, config.data)
    size = data.image_size

    prec = ctx.precision  # mixed precision: the floors run under the same autocast
    dc, rc = config.distill, config.recon
    gen_s = generator_floor(dc.latent_dim, size, dc.batch_size, device, reps, warmup, prec)
    teach_s = teacher_floor(teacher, size, dc.batch_size, device, reps, warmup, prec)
    plan = make_plan(teacher, torch.randn(2, 3, size, size), config.model.blocks, rc.group_depthwise, announce=False)
    floors = unit_floors(teacher, size, rc.batch_size, device, plan, reps, warmup, prec)

    result = {
        "date": dt.datetime.now().isoformat(timespec="seconds"), "machine": describe(device),
        "device": device.type, "command": "python -m genie_exp.bench " + " ".join(sys.argv[1:]),
        "model": config.model.name, "dataset": data.name, "image_size": size, "w_bits": int(config.quant.w),
        "a_bits": int(config.quant.a), "distill": dataclasses.asdict(dc),
        "recon": {"iters": rc.iters, "batch_size": rc.batch_size, "compile": str(rc.compile)},
        "precision": prec, "channels_last": ctx.channels_last,
        "distill_generator_s": round(gen_s, 5), "distill_teacher_s": round(teach_s, 5),
        "distill_floor_s": round(gen_s + teach_s, 5),
    }
    if b.end_to_end:
        run_cfg = OmegaConf.merge(cfg, {"distill": {"cache": False}, "resume": False})
        timer = StepTimer(skip=warmup)
        with tempfile.TemporaryDirectory(prefix="genie-bench-") as tmp:
            t = time.perf_counter()
            metrics = run(run_cfg, tmp, callbacks=[timer])
            result["end_to_end_s"] = round(time.perf_counter() - t, 2)
        units = [{"name": n, "step_s": round(timer.median(n), 5), "floor_s": round(f, 5),
                  "ratio": _ratio(timer.median(n), f)} for n, f in floors.items() if n in timer.steps]
        step_sum, floor_sum = sum(u["step_s"] for u in units), sum(u["floor_s"] for u in units)
        result.update({
            # a distillation step fits `parallel_batches` batches: per batch is what compares to the floor
            "distill_step_s": round(timer.median("distill") / dc.parallel_batches, 5),
            "recon_step_s": round(step_sum / max(len(units), 1), 5),
            "recon_floor_s": round(floor_sum / max(len(units), 1), 5),
            "recon_units": units,
            "stage_s": metrics["seconds"], "quant_top1": metrics["quant_top1"], "fp32_top1": metrics["fp32_top1"],
            # the compiled kernels (recon.compile): their compile is in stage_s.recon, not in the step medians
            "recon_compiled": bool(metrics.get("recon_compiled", False)),
            "recon_compile_s": metrics["seconds"].get("recon_compile", 0.0),
            "distill_steps": metrics.get("distill_steps"),
        })
        result["distill_ratio"] = _ratio(result["distill_step_s"], result["distill_floor_s"])
        result["recon_ratio"] = _ratio(step_sum, floor_sum)
        # What the stages' steps alone would take at the paper's budgets, from the measured steps
        # (data loading, caching unit inputs and evaluation come on top).
        n_units = len(units)
        result["projected_paper_s"] = round(PAPER_DISTILL_STEPS * result["distill_step_s"]
                                            + PAPER_RECON_ITERS * step_sum, 1)
        result["projected_paper_note"] = (f"{PAPER_DISTILL_STEPS} distillation batch-steps (1,024 images / 128 x 4,000) "
                                          f"+ {PAPER_RECON_ITERS} steps x {n_units} units at the measured step times")
    else:
        result["recon_floor_s"] = round(sum(floors.values()) / max(len(floors), 1), 5)
    result["peak_memory_mb"] = round(peak_memory_mb(device), 1)
    out = Path(str(b.out))
    save_json(result, out)
    print(report(result), flush=True)
    print(f"written to {out}", flush=True)
    return result


def report(r: dict) -> str:
    """The human-readable summary of one bench result."""
    lines = [f"bench {r['model']} {r['dataset']} W{r['w_bits']}A{r['a_bits']} ({r['precision']}"
             f"{', NHWC' if r['channels_last'] else ''}) on {r['machine']}",
             f"  distill: generator {r['distill_generator_s']:.4f} s + teacher {r['distill_teacher_s']:.4f} s "
             f"= floor {r['distill_floor_s']:.4f} s at batch {r['distill']['batch_size']}"]
    if "distill_step_s" in r:
        lines.append(f"           step {r['distill_step_s']:.4f} s per batch  ({r['distill_ratio']:.2f}x floor)")
        lines.append(f"  recon:   step {r['recon_step_s']:.5f} s vs floor {r['recon_floor_s']:.5f} s per unit "
                     f"at batch {r['recon']['batch_size']}  ({r['recon_ratio']:.2f}x floor, {len(r['recon_units'])} units; "
                     + (f"compiled kernels, compile {r['recon_compile_s']:.1f} s)" if r.get("recon_compiled") else "eager)"))
        lines.append(f"  end to end {r['end_to_end_s']:.1f} s (distill {r['stage_s'].get('distill', 0):.1f}, "
                     f"recon {r['stage_s'].get('recon', 0):.1f}, eval {r['stage_s'].get('eval', 0):.1f}); "
                     f"quant top-1 {100 * r['quant_top1']:.2f}% (fp32 {100 * r['fp32_top1']:.2f}%)")
        lines.append(f"  at the paper's budgets these steps alone would take {r['projected_paper_s'] / 3600:.2f} h")
    lines.append(f"  peak memory {r['peak_memory_mb']:.0f} MB")
    return "\n".join(lines)
