"""trainer=ddp with 2 CPU processes (gloo), through the CLI as users run it.

Tolerance on top-1: the DDP run sees the same distilled images (checked below) and, per step, the
gradient of the same global batch (recon.batch_size split over the ranks, gradients averaged over
them); it differs from the single-process run only in the reconstruction's random draws (which images
form a batch, the QDrop masks), i.e. it is another seed. On this tiny W2A4 budget three seeds of the
single-process run gave 72.9 / 63.9 / 67.8 % (distillation included), a 9-point spread, and RTN gives
22.7 %: 10 points is within what a seed moves and far from anything broken."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import torch

TINY = ["distill.samples=48", "distill.batch_size=16", "distill.iters=10", "recon.iters=40",
        "recon.batch_size=8", "data.eval_samples=1000", "progress=false", "quant.w=2", "quant.a=4"]
DDP = ["trainer=ddp", "trainer.devices=2", "trainer.accelerator=cpu"]


def _run(args: list[str], tmp: Path, name: str) -> dict:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "WANDB_MODE": "disabled"}
    proc = subprocess.run([sys.executable, "-m", "genie_exp", *TINY, *args, f"paths.cache_dir={tmp / name / 'cache'}",
                           f"hydra.run.dir={tmp / name / 'run'}"], env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return {"stdout": proc.stdout, "metrics": sorted((tmp / name).rglob("metrics.json")),
            "caches": sorted((tmp / name / "cache" / "calib").glob("*.pt"))}


def test_two_cpu_processes_match_one(tmp_path):
    ddp = _run(DDP, tmp_path, "ddp")
    single = _run([], tmp_path, "single")

    assert len(ddp["metrics"]) == 1 and len(ddp["caches"]) == 1  # rank 0 alone writes
    assert ddp["stdout"].count("quant top-1") == 1  # and prints the summary
    assert not list((tmp_path / "ddp" / "cache" / "calib" / "parts").glob("*"))  # parts cleared
    m_ddp = json.loads(ddp["metrics"][0].read_text())
    m_one = json.loads(single["metrics"][0].read_text())
    assert m_ddp["world_size"] == 2 and m_one["world_size"] == 1
    assert m_ddp["ddp_ranks_agree"] is True  # every rank ended with the same student

    # 3 batches: rank 0 distilled batches 0 and 2, rank 1 batch 1; gathered, they are the single-process set
    images_ddp = torch.load(ddp["caches"][0], weights_only=True)["images"]
    images_one = torch.load(single["caches"][0], weights_only=True)["images"]
    assert torch.allclose(images_ddp, images_one, atol=1e-5)

    assert abs(m_ddp["quant_top1"] - m_one["quant_top1"]) <= 0.10
    assert m_ddp["quant_top1"] > 0.5  # reconstruction worked (RTN: 0.23 at this setting)
