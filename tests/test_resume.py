"""Resume after a crash: a SIGKILLed run started again with the same command continues where it
stopped and ends with exactly the uninterrupted run's metrics; distillation keeps its finished
batches; damaged checkpoints are rebuilt; resume=false starts over; state stays inside the cache dir."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

import genie_exp.distillation.driver as distill_mod
import genie_exp.recon.runner as runner_mod
from genie_exp.distillation.cache import cache_path, part_path
from genie_exp.config import ReconConfig
from genie_exp.data import build_data
from genie_exp.core.io import load_torch
from genie_exp.models import create_model
from genie_exp.quant import calibrate_activations, convert
from genie_exp.recon.checkpoint import ReconCheckpoint, checkpoint_path
from genie_exp.recon.runner import reconstruct

from conftest import REPO, calib_set, compose_cfg, cpu_ctx, run_cli
from test_distill import tiny_teacher

ARGS = ["model.pretrained=false", "distill=noise", "distill.samples=32", "recon.iters=60", "recon.batch_size=8",
        "data.eval_samples=64", "quant.calib_samples=32", "progress=false"]


def _done_units(cache: Path) -> int:
    for path in (cache / "recon").glob("*.pt"):
        try:
            return len(load_torch(path, "recon checkpoint")["results"])
        except Exception:  # replaced while we read it: look again
            return 0
    return 0


def test_killed_run_resumes_where_it_stopped(tmp_path, fmnist_root, isolated_cache):
    args = [*ARGS, f"data.root={fmnist_root}", f"hydra.run.dir={tmp_path / 'run'}"]
    ref = run_cli(*ARGS, f"data.root={fmnist_root}", f"hydra.run.dir={tmp_path / 'ref'}",
                  env={"GENIE_CACHE_DIR": str(tmp_path / "ref_cache"), "OMP_NUM_THREADS": "1"})
    assert ref.returncode == 0, ref.stderr[-2000:]

    env = dict(os.environ, OMP_NUM_THREADS="1")
    with open(tmp_path / "killed.log", "w") as log:
        proc = subprocess.Popen([sys.executable, "-m", "genie_exp", *args], cwd=REPO, env=env, stdout=log, stderr=log)
        deadline = time.time() + 180
        while _done_units(isolated_cache) < 2:
            assert proc.poll() is None, "the run ended before it could be killed"
            assert time.time() < deadline, "no recon checkpoint with 2 units"
            time.sleep(0.1)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    done = _done_units(isolated_cache)  # read after the kill: a unit may have finished meanwhile
    assert done >= 2 and not (tmp_path / "run" / "metrics.json").exists()

    again = run_cli(*args, env={"OMP_NUM_THREADS": "1"})  # the same command
    assert again.returncode == 0, again.stderr[-2000:]
    assert f"resuming reconstruction: {done} unit(s) already done" in again.stdout
    m = json.loads((tmp_path / "run" / "metrics.json").read_text())
    r = json.loads((tmp_path / "ref" / "metrics.json").read_text())
    assert [bool(u.get("resumed")) for u in m["units"]] == [i < done for i in range(len(r["units"]))]
    assert m["quant_top1"] == r["quant_top1"]
    assert [(u["name"], u["loss"]) for u in m["units"]] == [(u["name"], u["loss"]) for u in r["units"]]
    assert not list((isolated_cache / "recon").glob("*.pt"))  # finished: the checkpoint is gone
    curves = (tmp_path / "run" / "logs" / "metrics.csv").read_text().splitlines()
    first_unit = f"recon/{r['units'][0]['name']}/loss"
    assert first_unit in curves[0].split(",")  # the killed attempt's curves are kept (that unit ran then)
    assert not list((tmp_path / "run" / "logs").glob("attempt-*.csv"))


# ---- reconstruction checkpoints in-process -------------------------------------------------------
TINY = ReconConfig(iters=8, batch_size=8)


class Killed(BaseException):
    """Stands for a kill: nothing after the raise runs, no handler catches it."""


def _models():
    torch.manual_seed(0)
    teacher, x = create_model("resnet20", width=4).eval(), torch.randn(16, 3, 16, 16)
    student = convert(teacher, 2, 4, x[:2])
    calibrate_activations(student, x)
    return teacher, student, x


def _recon(ckpt: ReconCheckpoint | None, crash_after: int | None = None, monkeypatch=None):
    teacher, student, x = _models()
    if crash_after is not None:
        fit, calls = runner_mod._fit_unit, []

        def crashing(*a, **k):
            if len(calls) == crash_after:
                raise Killed
            calls.append(1)
            return fit(*a, **k)
        monkeypatch.setattr(runner_mod, "_fit_unit", crashing)
        try:
            return reconstruct(student, teacher, x, TINY, True, cpu_ctx(seed=3), checkpoint=ckpt), student
        finally:
            monkeypatch.setattr(runner_mod, "_fit_unit", fit)
    return reconstruct(student, teacher, x, TINY, True, cpu_ctx(seed=3), checkpoint=ckpt), student


def test_recon_resume_equals_uninterrupted_and_resume_false_starts_over(tmp_path, monkeypatch):
    ref, ref_student = _recon(None)
    ckpt = ReconCheckpoint(tmp_path / "recon" / "k.pt")
    with pytest.raises(Killed):
        _recon(ckpt, crash_after=3, monkeypatch=monkeypatch)
    assert len(load_torch(ckpt.path, "recon checkpoint")["results"]) == 3
    res, student = _recon(ckpt)
    assert [bool(r.get("resumed")) for r in res] == [i < 3 for i in range(len(ref))]
    assert [r["loss"] for r in res] == [r["loss"] for r in ref]
    x = torch.randn(4, 3, 16, 16)
    with torch.no_grad():
        assert torch.equal(student(x), ref_student(x))
    fresh, _ = _recon(ReconCheckpoint(ckpt.path, resume=False))
    assert not any(r.get("resumed") for r in fresh)


def test_truncated_recon_checkpoint_is_rebuilt(tmp_path, monkeypatch, capsys):
    ref, _ = _recon(None)
    ckpt = ReconCheckpoint(tmp_path / "recon" / "k.pt")
    with pytest.raises(Killed):
        _recon(ckpt, crash_after=2, monkeypatch=monkeypatch)
    ckpt.path.write_bytes(ckpt.path.read_bytes()[:200])
    res, _ = _recon(ckpt)
    assert "unusable" in capsys.readouterr().out
    assert not any(r.get("resumed") for r in res) and [r["loss"] for r in res] == [r["loss"] for r in ref]
    assert len(load_torch(ckpt.path, "recon checkpoint")["results"]) == len(ref)  # rewritten whole


# ---- distillation batches -------------------------------------------------------------------------
def test_distillation_keeps_finished_batches(fmnist_root, tmp_path, monkeypatch):
    def cfg(cache: Path, *extra):
        return compose_cfg(f"data.root={fmnist_root}", "distill=genie", "distill.samples=16", "distill.batch_size=8",
                           "distill.iters=3", "progress=false", f"paths.cache_dir={cache}", *extra)

    teacher = tiny_teacher()
    data = build_data(cfg(tmp_path).data)
    ref = calib_set(cfg(tmp_path / "ref"), teacher, data)

    real, fitted = distill_mod.DistillModule, []

    def counting(crash: bool):
        def make(teacher, method, ids, *a, **k):
            if crash and ids[0] == 1:
                raise Killed
            fitted.extend(ids)
            return real(teacher, method, ids, *a, **k)
        return make

    cache = tmp_path / "c"
    monkeypatch.setattr(distill_mod, "DistillModule", counting(crash=True))
    with pytest.raises(Killed):
        calib_set(cfg(cache), teacher, data)
    assert fitted == [0] and len(list((cache / "calib" / "parts").glob("*.pt"))) == 1
    fitted.clear()
    monkeypatch.setattr(distill_mod, "DistillModule", counting(crash=False))
    again = calib_set(cfg(cache), teacher, data)
    assert fitted == [1]  # batch 0 was not distilled again
    assert torch.equal(again.images, ref.images) and again.loss == ref.loss
    assert not list((cache / "calib" / "parts").glob("*.pt"))  # the full set replaces its parts

    # resume=false ignores stored batches
    (next((cache / "calib").glob("*.pt"))).unlink()
    monkeypatch.setattr(distill_mod, "DistillModule", counting(crash=True))
    fitted.clear()
    with pytest.raises(Killed):
        calib_set(cfg(cache), teacher, data)
    monkeypatch.setattr(distill_mod, "DistillModule", counting(crash=False))
    fitted.clear()
    calib_set(cfg(cache, "resume=false"), teacher, data)
    assert fitted == [0, 1]


# ---- nothing escapes the cache dir ----------------------------------------------------------------
@pytest.mark.parametrize("name", ["../../evil", "/etc/passwd", "a/../../b", "..", "x\\..\\y"])
def test_cache_file_names_stay_inside_the_cache_dir(name, tmp_path):
    root = (tmp_path / "cache").resolve()
    for path in (cache_path(root, name, name, name), part_path(root, name, 3), checkpoint_path(root, name)):
        parts = path.resolve().relative_to(root).parts  # raises if it left the cache dir
        assert ".." not in path.relative_to(root).parts and parts[0] in ("calib", "recon") and len(parts) <= 3
