"""`python -m genie_exp.bench` (what `make bench` runs) on a tiny budget: the JSON it writes holds every
key the experiments compare, with timings that are positive and ratios that follow from them."""
from __future__ import annotations

import json
import os
import subprocess
import sys

REQUIRED = ("distill_step_s", "distill_floor_s", "recon_step_s", "recon_floor_s", "end_to_end_s",
            "quant_top1", "machine", "peak_memory_mb", "date", "command")


def test_bench_writes_its_measurements(tmp_path):
    out = tmp_path / "bench" / "latest.json"
    args = ["distill.samples=32", "distill.batch_size=16", "distill.iters=8", "recon.iters=8", "recon.batch_size=8",
            "data.eval_samples=200", "bench.reps=2", "bench.warmup=1", f"bench.out={out}",
            f"paths.cache_dir={tmp_path / 'cache'}", f"hydra.run.dir={tmp_path / 'hydra'}", "progress=false"]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "WANDB_MODE": "disabled"}
    proc = subprocess.run([sys.executable, "-m", "genie_exp.bench", *args], env=env, capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    r = json.loads(out.read_text())
    assert all(k in r for k in REQUIRED)
    assert all(r[k] > 0 for k in REQUIRED[:5])
    assert abs(r["distill_floor_s"] - r["distill_generator_s"] - r["distill_teacher_s"]) <= 2e-5  # rounding
    assert abs(r["distill_ratio"] - r["distill_step_s"] / r["distill_floor_s"]) < 0.01
    assert r["recon_units"] and all(u["step_s"] > 0 and u["floor_s"] > 0 for u in r["recon_units"])
    assert 0.0 <= r["quant_top1"] <= 1.0 and r["distill_steps"] == [8, 8]
    assert "x floor" in proc.stdout and str(out) in proc.stdout
