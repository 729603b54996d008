"""The whole job from a config: teacher -> calibration images -> quantize -> evaluate -> metrics.json.

It builds the run context once and chains the stages (distillation/, recon/stage.py, top1.py); the
Hydra CLI (__main__.py) and the bench call it, the Python API (api.py) calls the stages directly."""
from __future__ import annotations

import dataclasses
import io
import json
import logging
import time
from pathlib import Path
from typing import Sequence

import pytorch_lightning as pl
import torch.nn as nn
from omegaconf import DictConfig

from .config import Config, fingerprint, result_settings
from .run_record import ARTIFACT_METRICS, run_metrics
from .core import compiled
from .core.compiled import COMPILE_SECONDS
from .core.context import RunContext
from .core.distributed import start_world
from .core.io import atomic_write, ensure_writable, save_json
from .artifact import recipe, save_quantized
from .core.quiet import quiet_libraries
from .core.rundir import claim
from .core.clock import process_age_s
from .core.signals import set_stage
from .data import DataSpec, build_data
from .hydra_config import to_config
from .models.reference import config_reference, model_label
from .distillation import calibration_set, save_image_grid, source
from .top1 import evaluate
from .partition import LAYER_TYPES, check_user_blocks
from .quant.layer_bits import check_all_match, layer_bits_of
from .quant.methods import quant_method
from .recon.checkpoint import ReconCheckpoint
from .recon.stage import quantize_model
from .teachers import load_teacher, teacher_top1
from .tracking import WandbTracker, start_tracker
from .validate import validate

log = logging.getLogger(__name__)


def run(cfg: DictConfig, out_dir: str | Path, callbacks: Sequence = (), multirun: bool = False) -> dict | None:
    """Run the pipeline, write `metrics.json` into `out_dir` and return the metrics. `callbacks`
    (Lightning callbacks) join every distillation and reconstruction Trainer (the bench times steps so).
    `multirun`: this run is a job of a Hydra multirun.

    With trainer=ddp and several devices every rank runs this; rank 0 alone evaluates, writes files
    and logs, and returns the metrics (the other ranks return None)."""
    set_stage("preparing the run")  # imports done: from here a signal unwinds (core/signals.py)
    validate(cfg)
    config = to_config(cfg)  # below this line the settings are typed: no stage reads the config tree
    quiet_libraries()
    out_dir = Path(out_dir)
    if multirun and config.resume:
        done = finished_run(out_dir, config)
        if done is not None:  # a rerun of a killed sweep: this job had finished
            print(f"already done: {out_dir / 'metrics.json'} holds this job's result (fingerprint "
                  f"{done['fingerprint']}, seed {done['seed']}); skipped (resume=false runs it again)", flush=True)
            return done
    t0 = time.time()
    ctx = RunContext.from_config(config)  # how the run computes, decided once (the world joins it below)
    pl.seed_everything(ctx.seed, verbose=False)
    # A disk that cannot be written fails here, in one line, not after the expensive stages.
    ensure_writable(ctx.cache_dir, "paths.cache_dir")
    ensure_writable(out_dir, "run dir")
    data = build_data(config.data)
    data.test()  # a missing dataset fails here, in one line, before any expensive stage
    teacher, teacher_source = load_teacher(config.model, data, ctx, config.train, config.data)
    check_user_blocks(teacher, config.model.blocks)  # a wrong class name fails before any stage
    check_all_match(config.quant.layer_bits, [n for n, m in teacher.named_modules() if isinstance(m, LAYER_TYPES)])
    method = quant_method(config.quantizer.name)
    t = config.trainer
    # the DDP processes start here, after the checks that need no device
    world = start_world(t.strategy, ctx.trainer_devices["accelerator"], t.devices, t.num_nodes, t.ddp_backend,
                        multirun, ("recon.batch_size", config.recon.batch_size) if method.reconstruct else None)
    if world.is_main:
        claim(out_dir)  # one run per run dir (a second one stops here, in one line)
    tracker = start_tracker(cfg, out_dir) if world.is_main else None  # None for logger=csv
    logger: list | bool = False
    if world.is_main:
        _keep_previous_logs(out_dir)
        # CSV always; the stage Trainers write to every logger in the list.
        from pytorch_lightning.loggers import CSVLogger

        logger = [CSVLogger(str(out_dir), name="logs", version="")]
        if tracker is not None:
            logger.append(tracker.lightning_logger())
    ctx = dataclasses.replace(ctx, world=world, logger=logger, callbacks=tuple(callbacks))
    try:
        metrics = _stages(config, ctx, out_dir, data, teacher, teacher_source, tracker, t0, multirun)
    except BaseException:
        if tracker is not None:
            tracker.finish(failed=True)
        raise
    if tracker is not None:
        tracker.finish()
    world.close()
    return metrics


def _stages(cfg: Config, ctx: RunContext, out_dir: Path, data: DataSpec, teacher: nn.Module,
            teacher_source: str, tracker: WandbTracker | None, t0: float, multirun: bool) -> dict | None:
    seconds, info = {}, {}
    # before the first stage: interpreter, imports, config, teacher and data (in a sweep's later jobs
    # the process is older than the job: from the job's own start then)
    startup = time.time() - t0 if multirun else process_age_s()
    if startup is not None:
        seconds["startup"] = startup
    t = time.time()
    set_stage("distillation")
    calib = calibration_set(cfg.distill, teacher, data.image_size, ctx, data, cache_name(teacher))
    seconds["distill"] = time.time() - t
    info["distill_cache"] = calib.cache
    if calib.loss is not None:
        info["distill_loss"] = calib.loss
    if calib.steps:  # the steps each group ran (this rank's groups; fewer than distill.iters after an early stop)
        info["distill_steps"] = calib.steps
    if source(cfg.distill.name).synthetic and ctx.is_main:
        info["samples_png"] = save_image_grid(calib.images, data, out_dir / "distill_samples.png").name
        if tracker is not None:
            tracker.log_samples(out_dir / info["samples_png"])

    t = time.time()
    set_stage("quantization")
    method = quant_method(cfg.quantizer.name)
    checkpoint = (ReconCheckpoint.for_run(teacher, calib.images, cfg.quant, cfg.quantizer.name, cfg.recon,
                                          cfg.model.blocks, ctx) if method.reconstruct else None)
    act_images = None
    if cfg.quant.act_ranges not in ("calib", cfg.distill.name):  # a study: ranges from another set
        spec = dataclasses.replace(cfg.distill, name=cfg.quant.act_ranges)
        act_images = calibration_set(spec, teacher, data.image_size, ctx, data, cache_name(teacher)).images
    compile_s = COMPILE_SECONDS[0]
    result = quantize_model(teacher.to(ctx.device), calib.images, cfg.quant, cfg.quantizer.name, cfg.recon, ctx,
                            cfg.model.blocks, checkpoint, act_images)
    seconds["recon"] = time.time() - t
    if result.compiled:  # part of seconds.recon: the kernels' first calls, which compiled them
        seconds["recon_compile"] = COMPILE_SECONDS[0] - compile_s
        info["recon_compiled"] = True
    if method.reconstruct:
        info["plan"] = result.plan.to_dict()
    info["layer_bits"] = layer_bits_of(result.student)
    info["weight_mb"] = round(sum(v["w"] * v["weights"] for v in info["layer_bits"].values()) / 8e6, 6)
    if result.allocation is not None:
        info["mixed_precision"] = result.allocation.to_dict()
    if ctx.world.size > 1:
        info["ddp_ranks_agree"] = ctx.world.agree(result.student)
        if not info["ddp_ranks_agree"]:
            log.warning("DDP ranks ended with different students; rank 0's is evaluated")
    if not ctx.is_main:
        return None

    t = time.time()
    set_stage("evaluation")
    loader = data.test_loader(cfg.data.batch_size, cfg.data.eval_samples, cfg.data.workers)
    fp32_top1 = teacher_top1(teacher.to(ctx.device), loader, dataclasses.asdict(cfg.data), ctx.cache_dir,
                             model_label(cfg.model), ctx.channels_last)
    with compiled.fused(result.compiled):  # the fused LSQ kernel where the reconstruction compiled it
        quant_top1 = evaluate(result.student, loader, channels_last=ctx.channels_last)
    seconds["eval"] = time.time() - t
    seconds["total"] = time.time() - t0

    units = [{"name": u["name"], "kind": u["kind"], "seconds": round(u["seconds"], 3), "loss": u["loss"],
              "loss_start": u.get("loss_start"), **({"resumed": True} if u.get("resumed") else {})}
             for u in result.units]
    plain = dataclasses.asdict(cfg)
    settings = result_settings(plain)
    metrics = run_metrics(model_label(cfg.model), data.name, cfg.quant, cfg.distill.name, cfg.quantizer.name,
                          calib.images.shape[0], cfg.seed, (fp32_top1, quant_top1), len(loader.dataset), teacher_source,
                          settings, units, {k: round(v, 3) for k, v in seconds.items()}, ctx.world.size, **info)
    t = time.time()  # after the last evaluation: the artifact and the tracker (metrics.json itself comes last)
    rec = recipe(config_reference(cfg.model, data.num_classes, data.image_size), (3, data.image_size, data.image_size), result.quant,
                 result.plan.blocks, result.plan.to_dict())
    save_quantized(result.student, out_dir / "quantized.pt", rec, plain,
                   {k: metrics[k] for k in ARTIFACT_METRICS})
    metrics["quantized"] = "quantized.pt"
    if tracker is not None:
        metrics["wandb_dir"] = str(tracker.dir)
        tracker.log_final(metrics)
    metrics["seconds"]["outputs"] = round(time.time() - t, 3)
    merge_attempt_logs(out_dir / "logs")
    save_json(metrics, out_dir / "metrics.json")
    if checkpoint is not None:
        # The result is in metrics.json now; a kept checkpoint would make the same command skip the
        # whole reconstruction next time (and it is as large as the student).
        checkpoint.discard()
    return metrics


def cache_name(teacher: nn.Module) -> str:
    """The model's part of a cached calibration set's file name: its class, which the Python API sees
    too, so both front ends find one set (the key itself is the weights and the settings)."""
    return type(teacher).__name__


def finished_run(out_dir: Path, cfg: Config) -> dict | None:
    """The metrics in `out_dir` when they are a finished run of exactly this setting and seed."""
    try:
        metrics = json.loads((out_dir / "metrics.json").read_text())
    except (OSError, ValueError):
        return None
    settings = result_settings(dataclasses.asdict(cfg))
    if not isinstance(metrics, dict) or not isinstance(metrics.get("quant_top1"), (int, float)):
        return None
    if metrics.get("fingerprint") != fingerprint(settings) or metrics.get("seed") != int(cfg.seed):
        return None
    return metrics


def _keep_previous_logs(out_dir: Path) -> None:
    """A run restarted in the same run dir would have Lightning delete the killed attempt's
    logs/metrics.csv: keep it as logs/attempt-K.csv until merge_attempt_logs folds it back in."""
    current = out_dir / "logs" / "metrics.csv"
    if current.is_file():
        k = 1
        while (current.parent / f"attempt-{k}.csv").exists():
            k += 1
        current.rename(current.parent / f"attempt-{k}.csv")


def merge_attempt_logs(logs: Path) -> None:
    """logs/metrics.csv: the rows of every earlier attempt of this run (oldest first), then this one's
    (a resumed run that had nothing left to fit still has its curves there)."""
    import csv

    attempts = sorted(logs.glob("attempt-*.csv"), key=lambda p: int(p.stem.split("-")[1]))
    if not attempts:
        return
    rows, header = [], []
    for path in [*attempts, logs / "metrics.csv"]:
        if path.is_file():
            with open(path, newline="") as f:
                reader = csv.DictReader(f)
                header += [k for k in reader.fieldnames or [] if k not in header]
                rows += list(reader)

    def write(f) -> None:
        text = io.StringIO()
        writer = csv.DictWriter(text, fieldnames=header)
        writer.writeheader()
        writer.writerows(rows)
        f.write(text.getvalue().encode())

    atomic_write(logs / "metrics.csv", write)
    for path in attempts:
        path.unlink()


def summary_line(m: dict) -> str:
    return (f"{m['model']} {m['dataset']} W{m['w_bits']}A{m['a_bits']} distill={m['distill']} "
            f"quantizer={m['quantizer']} n={m['n_samples']} seed={m['seed']}: "
            f"fp32 top-1 {100 * m['fp32_top1']:.2f}%  quant top-1 {100 * m['quant_top1']:.2f}%  "
            f"({m['seconds']['total']:.1f} s)")
