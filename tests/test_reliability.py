"""What the user sees when things go wrong outside the config: signals (SIGTERM, Ctrl-C) end a run as
interrupted and the same command resumes; run dirs never collide; a full or read-only disk ends in one
line and leaves nothing half-written; structurally wrong cache files are rebuilt; stale temp files go."""
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

from conftest import REPO, run_cli

TINY = ["distill.samples=32", "distill.batch_size=16", "distill.iters=40", "recon.iters=60", "recon.batch_size=8",
        "quant.calib_samples=32", "data.eval_samples=64", "progress=false", "model.pretrained=false"]


def _start(args: list[str], tmp: Path, cache: Path) -> subprocess.Popen:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "GENIE_CACHE_DIR": str(cache), "WANDB_MODE": "disabled"}
    return subprocess.Popen([sys.executable, "-m", "genie_exp", *args], cwd=REPO, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _wait_for(predicate, proc: subprocess.Popen, timeout: float = 240) -> None:
    deadline = time.time() + timeout
    while not predicate():
        assert proc.poll() is None, proc.communicate()[1][-2000:]
        assert time.time() < deadline, "the moment to interrupt never came"
        time.sleep(0.05)


@pytest.mark.parametrize("sig, code, stage", [(signal.SIGTERM, 143, "distillation, batch "),
                                               (signal.SIGINT, 130, "reconstruction, unit")])
def test_a_signal_is_an_interruption_and_the_same_command_resumes(sig, code, stage, tmp_path, fmnist_root):
    cache, run = tmp_path / "cache", tmp_path / "run"
    args = [*TINY, f"data.root={fmnist_root}", f"hydra.run.dir={run}"]
    proc = _start(args, tmp_path, cache)
    if sig == signal.SIGTERM:  # once the first distillation batch is stored
        _wait_for(lambda: any((cache / "calib" / "parts").glob("*.pt")), proc)
    else:  # once the first reconstruction unit is checkpointed
        _wait_for(lambda: any((cache / "recon").glob("*.pt")), proc)
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == code, err[-2000:]
    lines = [l for l in err.splitlines() if l.startswith("error:")]
    assert len(lines) == 1 and stage in lines[0] and "same command" in lines[0], err[-2000:]
    assert not (run / "metrics.json").exists()
    again = run_cli(*args, env={"OMP_NUM_THREADS": "1", "GENIE_CACHE_DIR": str(cache)})
    assert again.returncode == 0, again.stderr[-2000:]
    if sig == signal.SIGINT:
        assert "resuming reconstruction" in again.stdout
        assert any(u.get("resumed") for u in json.loads((run / "metrics.json").read_text())["units"])


def test_a_signal_stops_a_sweep_and_marks_the_job(tmp_path, fmnist_root):
    cache, sweep = tmp_path / "cache", tmp_path / "sweep"
    proc = _start(["-m", *TINY, f"data.root={fmnist_root}", "quant.w=2,4", f"hydra.sweep.dir={sweep}"], tmp_path, cache)
    _wait_for(lambda: any((cache / "recon").glob("*.pt")), proc)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 143, err[-2000:]
    record = json.loads((sweep / "0" / "failed.json").read_text())
    assert record["type"] == "Interrupted" and "SIGTERM" in record["error"]
    assert not (sweep / "1").exists()  # the sweep stopped there
    assert "the sweep stopped" in err


def test_runs_started_together_never_share_a_run_dir(tmp_path, fmnist_root):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "GENIE_CACHE_DIR": str(tmp_path / "cache"),
           "PYTHONPATH": str(REPO / "src")}
    quick = [*TINY, "distill=noise", "quantizer=rtn", f"data.root={fmnist_root}"]
    procs = [subprocess.Popen([sys.executable, "-m", "genie_exp", *quick, f"quant.w={w}"], cwd=tmp_path, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for w in (2, 4)]
    for p in procs:
        assert p.wait(timeout=300) == 0, p.stderr.read()[-2000:]
    metrics = sorted((tmp_path / "outputs").rglob("metrics.json"))
    assert len(metrics) == 2 and metrics[0].parent != metrics[1].parent
    assert sorted(json.loads(m.read_text())["w_bits"] for m in metrics) == [2, 4]
    # the same run dir for two live runs: the second stops before writing anything there
    run = tmp_path / "same"
    first = subprocess.Popen([sys.executable, "-m", "genie_exp", *TINY, f"data.root={fmnist_root}",
                              f"hydra.run.dir={run}"], cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    _wait_for(lambda: (run / ".genie-run.lock").exists(), first)
    second = run_cli(*quick, f"hydra.run.dir={run}", cwd=tmp_path)
    first.kill()
    first.wait()
    assert second.returncode == 2 and second.stderr.count("\n") == 1 and "is in use by another run" in second.stderr
    # the killed run's lock does not block the next one
    again = run_cli(*quick, f"hydra.run.dir={run}", cwd=tmp_path, env={"GENIE_CACHE_DIR": str(tmp_path / "cache")})
    assert again.returncode == 0, again.stderr[-2000:]


def _mount_tmpfs(where: Path, options: str) -> bool:
    where.mkdir(parents=True, exist_ok=True)
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(where)], capture_output=True)
    return r.returncode == 0


@pytest.fixture
def small_disk(tmp_path):
    disk = tmp_path / "disk"
    if not _mount_tmpfs(disk, "size=400k"):
        pytest.skip("cannot mount a small tmpfs here (not root)")
    yield disk
    subprocess.run(["umount", "-l", str(disk)], capture_output=True)


def test_a_full_disk_is_one_line_and_the_next_run_resumes(small_disk, tmp_path, fmnist_root):
    cache = small_disk / "cache"
    args = [*TINY, f"data.root={fmnist_root}", f"paths.cache_dir={cache}", f"hydra.run.dir={tmp_path / 'run'}"]
    r = run_cli(*args, env={"OMP_NUM_THREADS": "1"})
    lines = r.stderr.strip().splitlines()
    assert r.returncode == 2 and len(lines) == 1 and lines[0].startswith("error: cannot write "), r.stderr[-2000:]
    assert str(cache) in lines[0] and "nothing was left half-written" in lines[0]
    assert not list(cache.rglob("*.tmp"))
    again = run_cli(*args[:-2], f"paths.cache_dir={tmp_path / 'roomy'}", f"hydra.run.dir={tmp_path / 'run'}",
                    env={"OMP_NUM_THREADS": "1"})
    assert again.returncode == 0, again.stderr[-2000:]


def test_a_read_only_run_dir_is_one_line(tmp_path, fmnist_root):
    ro = tmp_path / "ro"
    if not _mount_tmpfs(ro, "ro,size=64k"):
        pytest.skip("cannot mount a read-only tmpfs here (not root)")
    try:
        for target in (ro / "run", ro):  # a new dir under it, and the existing dir itself
            r = run_cli(*TINY, f"data.root={fmnist_root}", f"hydra.run.dir={target}")
            lines = r.stderr.strip().splitlines()
            assert r.returncode == 2 and len(lines) == 1 and "Read-only file system" in lines[0], r.stderr[-2000:]
    finally:
        subprocess.run(["umount", "-l", str(ro)], capture_output=True)


def test_a_tilde_cache_dir_is_the_home_one_everywhere(tmp_path, fmnist_root):
    home = tmp_path / "home"
    r = run_cli(*TINY, "distill.iters=2", "recon.iters=2", f"data.root={fmnist_root}", "paths.cache_dir='~/gcache'",
                f"hydra.run.dir={tmp_path / 'run'}", cwd=tmp_path, env={"HOME": str(home)})
    assert r.returncode == 0, r.stderr[-2000:]
    assert not (tmp_path / "~").exists()
    assert {p.name for p in (home / "gcache").iterdir()} >= {"calib", "eval"}


# ---- cache files that load but are wrong: reported and rebuilt -----------------------------------
def test_a_calibration_cache_holding_a_bare_tensor_is_rebuilt(tmp_path, capsys):
    from genie_exp.core.io import save_torch
    from genie_exp.distillation.cache import load_cached

    path = tmp_path / "set.pt"
    save_torch(torch.zeros(2, 3, 4, 4), path)
    assert load_cached(path, (2, 3, 4, 4)) is None
    assert "damaged" in capsys.readouterr().out


@pytest.mark.parametrize("damage", ["results_not_dicts", "no_rng", "nan_step", "a_list"])
def test_a_wrong_recon_checkpoint_is_reported_and_ignored(damage, tmp_path, capsys):
    from genie_exp.core.io import load_torch, save_torch
    from genie_exp.quant import calibrate_activations, convert
    from genie_exp.models import create_model
    from genie_exp.recon.checkpoint import ReconCheckpoint

    torch.manual_seed(0)
    teacher, x = create_model("resnet20", width=4).eval(), torch.randn(8, 3, 16, 16)
    student = convert(teacher, 2, 4, x[:2])
    calibrate_activations(student, x)
    ckpt = ReconCheckpoint(tmp_path / "k.pt")
    ckpt.save(student, [{"name": "conv1", "kind": "layer", "seconds": 1.0, "loss": 0.1}])
    blob = load_torch(ckpt.path, "recon checkpoint")
    if damage == "results_not_dicts":
        blob["results"] = ["conv1"]
    elif damage == "no_rng":
        del blob["rng"]
    elif damage == "nan_step":
        blob["state"]["conv1.weight_quantizer.scale"][0] = float("nan")
    else:
        blob = [blob]
    save_torch(blob, ckpt.path)
    assert ckpt.restore(student) == {}
    assert "unusable" in capsys.readouterr().out


def test_stale_temp_files_of_a_killed_writer_are_removed(tmp_path):
    from genie_exp.core.io import STALE_TMP_SECONDS, save_json

    old, fresh = tmp_path / ".m.json.abc.tmp", tmp_path / ".m.json.def.tmp"
    for p in (old, fresh):
        p.write_text("half")
    past = time.time() - STALE_TMP_SECONDS - 60
    os.utime(old, (past, past))
    save_json({"a": 1}, tmp_path / "m.json")
    assert not old.exists() and fresh.exists()  # a recent one may belong to a live writer


def test_a_fresh_temp_file_of_a_dead_writer_is_removed(tmp_path):
    from genie_exp.core.io import save_json

    dead = subprocess.Popen(["true"])
    dead.wait()
    theirs = tmp_path / f".m.json.{dead.pid}-1.abc.tmp"  # named by its writer, which is gone
    live = tmp_path / f".m.json.{os.getpid()}.def.tmp"  # this process: a live writer
    for p in (theirs, live):
        p.write_text("half")
    save_json({"a": 1}, tmp_path / "m.json")
    assert not theirs.exists() and live.exists()


@pytest.fixture
def other_process():
    """A live process that is not a genie-exp run."""
    proc = subprocess.Popen(["sleep", "60"])
    yield proc
    proc.kill()
    proc.wait()


def test_a_lock_whose_pid_was_reused_is_taken_over(tmp_path, other_process):
    from genie_exp.core.locks import process_start, try_lock
    from genie_exp.core.rundir import LOCK, claim

    if process_start(other_process.pid) is None:
        pytest.skip("no /proc start times here")
    lock = tmp_path / LOCK
    lock.write_text(f"{other_process.pid} 1")  # the killed run's pid now belongs to another process
    assert claim(tmp_path) == lock and lock.read_text().split()[0] == str(os.getpid())
    held = tmp_path / "held.lock"
    held.write_text(f"{other_process.pid} {process_start(other_process.pid)}")  # its own, live lock
    assert try_lock(held) == other_process.pid


def test_a_live_runs_recon_checkpoint_is_not_taken_over(tmp_path, capsys, other_process):
    from genie_exp.core.locks import process_start
    from genie_exp.recon.checkpoint import ReconCheckpoint
    from test_resume import _models

    teacher, student, _ = _models()
    ckpt = ReconCheckpoint(tmp_path / "recon" / "k.pt")
    ckpt.lock.parent.mkdir(parents=True)
    ckpt.lock.write_text(f"{other_process.pid} {process_start(other_process.pid) or ''}".strip())
    ReconCheckpoint(ckpt.path).path.write_bytes(b"the other run's progress")
    assert ckpt.restore(student) == {} and "in use by another run" in capsys.readouterr().out
    ckpt.save(student, [{"name": "conv1"}])
    ckpt.discard()
    assert ckpt.path.read_bytes() == b"the other run's progress"  # neither read, replaced nor removed


@pytest.mark.parametrize("sig, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_during_the_imports_is_one_line(sig, code, tmp_path):
    proc = _start(["progress=false", f"hydra.run.dir={tmp_path / 'run'}"], tmp_path, tmp_path / "cache")
    time.sleep(1.0)  # torch and Lightning take several seconds to import
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == code, err[-2000:]
    assert err.count("\n") == 1 and err.startswith("error: interrupted by ") and "Traceback" not in err


def test_a_damaged_cached_teacher_is_trained_again(tmp_path, fmnist_root, capsys):
    from conftest import compose_cfg, teacher_of
    from genie_exp.data import build_data
    from genie_exp.teachers import teacher_path

    cfg = compose_cfg("+model=resnet18", f"data.root={fmnist_root}", f"paths.cache_dir={tmp_path}",
                      "train.epochs=1", "train.max_batches=1", "data.eval_samples=16", "progress=false")
    data = build_data(cfg.data)
    path = teacher_path("resnet18", data, tmp_path)
    path.parent.mkdir(parents=True)
    path.write_bytes(b"half a teacher")
    teacher, where = teacher_of(cfg, data)
    assert where == str(path) and "unusable" in capsys.readouterr().out
    assert torch.load(path, weights_only=True)["meta"]["model"] == "resnet18"


def test_a_resumed_run_keeps_every_attempts_curves(tmp_path):
    from genie_exp.pipeline import _keep_previous_logs, merge_attempt_logs

    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "metrics.csv").write_text("step,recon/conv1/loss\n0,1.5\n")  # the killed attempt
    _keep_previous_logs(tmp_path)
    assert not (logs / "metrics.csv").exists()  # Lightning would have deleted it
    merge_attempt_logs(logs)  # the resumed attempt had nothing left to fit: it logged nothing
    assert (logs / "metrics.csv").read_text().splitlines() == ["step,recon/conv1/loss", "0,1.5"]
    _keep_previous_logs(tmp_path)
    (logs / "metrics.csv").write_text("step,recon/fc/loss\n3,0.5\n")
    merge_attempt_logs(logs)
    assert (logs / "metrics.csv").read_text().splitlines() == ["step,recon/conv1/loss,recon/fc/loss", "0,1.5,",
                                                               "3,,0.5"]
    assert not list(logs.glob("attempt-*.csv"))


def test_an_older_lock_without_a_start_time_is_judged_by_its_age(tmp_path, other_process):
    from genie_exp.core.locks import process_start, try_lock

    if process_start(other_process.pid) is None:
        pytest.skip("no /proc start times here")
    lock = tmp_path / "old.lock"
    lock.write_text(str(other_process.pid))  # pid only, as an older genie-exp wrote it
    past = time.time() - 3600  # written an hour before that process started: the pid was reused
    os.utime(lock, (past, past))
    assert try_lock(lock) is None and lock.read_text().split()[0] == str(os.getpid())
    lock.write_text(str(other_process.pid))  # written now, by a process that may well be that one
    assert try_lock(lock) == other_process.pid


def test_a_long_reconstruction_says_how_long_after_its_first_steps(monkeypatch, capsys):
    import genie_exp
    import genie_exp.recon.recon_module as rm
    from genie_exp.models import create_model

    torch.manual_seed(0)
    model, x = create_model("resnet20", width=4).eval(), torch.randn(8, 3, 16, 16)
    monkeypatch.setattr(rm, "ESTIMATE_FROM_S", 0.0)  # every reconstruction counts as long
    genie_exp.quantize(model, x, iters=4, batch_size=4, progress=False, device="cpu")
    lines = [l for l in capsys.readouterr().out.splitlines() if l.startswith("reconstruction: about")]
    assert len(lines) == 1 and "for 11 unit(s) at 4 steps each" in lines[0] and "ms per step" in lines[0]
    monkeypatch.setattr(rm, "ESTIMATE_FROM_S", 3600.0)
    genie_exp.quantize(model, x, iters=4, batch_size=4, progress=False, device="cpu")
    assert "reconstruction: about" not in capsys.readouterr().out
