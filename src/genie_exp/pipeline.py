"""The whole job as one function: teacher -> calibration images -> quantize -> evaluate -> metrics."""
from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Sequence

import pytorch_lightning as pl
from pytorch_lightning.loggers import CSVLogger
import torch
import torch.nn as nn
from omegaconf import DictConfig

from .calib import make_calibration, save_image_grid
from .data import DataSpec, build_data
from .devices import stage_device
from .distributed import SINGLE, World, start_world
from .evaluate import evaluate
from .teacher_eval import teacher_top1
from .io_utils import ensure_writable, save_json
from .models.zoo import load_teacher
from .quant import calibrate_activations, convert
from .quant.fold import fold_batchnorm
from .partition import Plan, check_user_blocks, plan_units
from .recon.checkpoint import ReconCheckpoint
from .recon.runner import reconstruct
from .quiet import quiet_libraries
from .tracking import WandbTracker, start_wandb
from .validate import validate

log = logging.getLogger(__name__)


def make_plan(cfg: DictConfig, reference: nn.Module, calib: torch.Tensor, announce: bool = True) -> Plan:
    """The reconstruction units of `reference`, printed as one line (warnings on lines of their own)."""
    plan = plan_units(reference, calib[:2], list(cfg.model.blocks), depthwise=bool(cfg.recon.group_depthwise))
    if announce:
        print(f"reconstruction plan: {plan.summary()}", flush=True)
        for w in plan.warnings:
            log.warning(w)
            print(f"warning: {w}", flush=True)
    return plan


def quantize(cfg: DictConfig, teacher: nn.Module, calib: torch.Tensor, units: list | None = None,
             logger=None, checkpoint: ReconCheckpoint | None = None, callbacks: Sequence = (),
             world: World = SINGLE, info: dict | None = None) -> nn.Module:
    """Fake-quantized student: converted, activation steps initialised on the calibration images,
    then (genie / adaround) reconstructed unit by unit; `units` receives one dict per unit and `info`
    the plan. `checkpoint` makes the reconstruction resumable (see recon/checkpoint.py); `callbacks`
    are added to every reconstruction Trainer."""
    q = cfg.quant
    # With fold_bn the folded FP model (the same function) is both what is quantized and the target.
    reference = fold_batchnorm(teacher, calib[:2]) if q.fold_bn else teacher
    plan = make_plan(cfg, reference, calib, announce=bool(cfg.quantizer.reconstruct) and world.is_main)
    if info is not None and cfg.quantizer.reconstruct:
        info["plan"] = plan.to_dict()
    student = convert(reference, int(q.w), int(q.a), calib[:2], first_layer_bits=q.first_layer_bits,
                      quantize_image=q.quantize_image, second_input_bits=q.second_input_bits,
                      last_layer_bits=q.last_layer_bits, blocks=plan.blocks, p=q.lp)
    if not (cfg.quantizer.reconstruct and cfg.recon.act_init == "per_unit"):  # else: unit by unit
        calibrate_activations(student, calib, int(q.calib_samples))
    if cfg.quantizer.reconstruct:
        done = reconstruct(student, reference, calib, cfg.recon, bool(cfg.quantizer.learn_weight_step),
                           plan=plan, progress=bool(cfg.progress),
                           device=stage_device(cfg), logger=logger, seed=int(cfg.seed), checkpoint=checkpoint,
                           callbacks=callbacks, channels_last=bool(cfg.trainer.get("channels_last", False)),
                           act_init_samples=int(q.calib_samples) if cfg.recon.act_init == "per_unit" else 0,
                           world=world, precision=str(cfg.trainer.precision))
        if units is not None:
            units.extend({"name": u["name"], "kind": u["kind"], "seconds": round(u["seconds"], 3),
                          "loss": u["loss"], **({"resumed": True} if u.get("resumed") else {})} for u in done)
    return student



def run(cfg: DictConfig, out_dir: str | Path, callbacks: Sequence = ()) -> dict | None:
    """Run the pipeline, write `metrics.json` into `out_dir` and return the metrics. `callbacks`
    (Lightning callbacks) join every distillation and reconstruction Trainer (the bench times steps so).

    With trainer=ddp and several devices every rank runs this; rank 0 alone evaluates, writes files
    and logs, and returns the metrics (the other ranks return None)."""
    validate(cfg)
    quiet_libraries()
    t0 = time.time()
    pl.seed_everything(int(cfg.seed), verbose=False)
    out_dir = Path(out_dir)
    # A disk that cannot be written fails here, in one line, not after the expensive stages.
    ensure_writable(cfg.paths.cache_dir, "paths.cache_dir")
    ensure_writable(out_dir, "run dir")
    data = build_data(cfg.data)
    data.test()  # a missing dataset fails here, in one line, before any expensive stage
    teacher, teacher_source = load_teacher(cfg, data)
    check_user_blocks(teacher, list(cfg.model.blocks))  # a wrong class name fails before any stage
    world = start_world(cfg)  # the DDP processes start here, after the checks that need no device
    tracker = start_wandb(cfg, out_dir) if world.is_main else None  # None unless logger=wandb
    try:
        metrics = _stages(cfg, out_dir, data, teacher, teacher_source, tracker, t0, callbacks, world)
    except BaseException:
        if tracker is not None:
            tracker.finish(failed=True)
        raise
    if tracker is not None:
        tracker.finish()
    world.close()
    return metrics


def _stages(cfg: DictConfig, out_dir: Path, data: DataSpec, teacher: nn.Module, teacher_source: str,
            tracker: WandbTracker | None, t0: float, callbacks: Sequence = (), world: World = SINGLE) -> dict | None:
    seconds, info = {}, {}
    logger: list | bool = False
    if world.is_main:
        _keep_previous_logs(out_dir)
        # CSV always; the stage Trainers write to every logger in the list.
        logger = [CSVLogger(str(out_dir), name="logs", version="")]
        if tracker is not None:
            logger.append(tracker.lightning_logger())
    t = time.time()
    calib = make_calibration(cfg, teacher, data, info, logger, callbacks, world)
    seconds["distill"] = time.time() - t
    if cfg.distill.name in ("genie", "zeroq") and world.is_main:
        info["samples_png"] = save_image_grid(calib, data, out_dir / "distill_samples.png").name
        if tracker is not None:
            tracker.log_samples(out_dir / info["samples_png"])

    t = time.time()
    units: list = []
    checkpoint = ReconCheckpoint.for_run(cfg, teacher, calib) if cfg.quantizer.reconstruct else None
    student = quantize(cfg, teacher, calib, units, logger, checkpoint, callbacks, world, info)
    seconds["recon"] = time.time() - t
    if world.size > 1:
        info["ddp_ranks_agree"] = world.agree(student)
        if not info["ddp_ranks_agree"]:
            log.warning("DDP ranks ended with different students; rank 0's is evaluated")
    if not world.is_main:
        return None

    t = time.time()
    loader = data.test_loader(int(cfg.data.batch_size), cfg.data.eval_samples, int(cfg.data.workers))
    device = stage_device(cfg)
    fp32_top1 = teacher_top1(teacher.to(device), loader, cfg)
    quant_top1 = evaluate(student.to(device), loader)
    seconds["eval"] = time.time() - t
    seconds["total"] = time.time() - t0

    metrics = {
        "model": cfg.model.name, "dataset": data.name, "w_bits": int(cfg.quant.w), "a_bits": int(cfg.quant.a),
        "calib": cfg.distill.name, "quantizer": cfg.quantizer.name, "n_samples": int(calib.shape[0]),
        "seed": int(cfg.seed), "fp32_top1": fp32_top1, "quant_top1": quant_top1, "top1_unit": "fraction",
        "eval_samples": len(loader.dataset), "teacher": teacher_source, "fold_bn": bool(cfg.quant.fold_bn),
        "world_size": world.size,
        **info, "units": units,
        "seconds": {k: round(v, 3) for k, v in seconds.items()},
    }
    if tracker is not None:
        metrics["wandb_dir"] = str(tracker.dir)
        tracker.log_final(metrics)
    save_json(metrics, out_dir / "metrics.json")
    if checkpoint is not None:
        # The result is in metrics.json now; a kept checkpoint would make the same command skip the
        # whole reconstruction next time (and it is as large as the student).
        checkpoint.discard()
    return metrics


def _keep_previous_logs(out_dir: Path) -> None:
    """A run restarted in the same run dir would have Lightning delete the killed attempt's
    logs/metrics.csv; move that attempt's logs to logs.1 (logs.2, ...) instead."""
    logs = out_dir / "logs"
    if logs.is_dir() and any(logs.iterdir()):
        k = 1
        while (out_dir / f"logs.{k}").exists():
            k += 1
        logs.rename(out_dir / f"logs.{k}")


def summary_line(m: dict) -> str:
    return (f"{m['model']} {m['dataset']} W{m['w_bits']}A{m['a_bits']} calib={m['calib']} "
            f"quantizer={m['quantizer']} n={m['n_samples']} seed={m['seed']}: "
            f"fp32 top-1 {100 * m['fp32_top1']:.2f}%  quant top-1 {100 * m['quant_top1']:.2f}%  "
            f"({m['seconds']['total']:.1f} s)")
