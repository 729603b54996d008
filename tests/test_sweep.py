"""Multirun: a bit sweep distils once, one failed job is recorded and does not stop the others,
launcher presets compose, joblib jobs get their own GPU."""
import json
from pathlib import Path

import pytest

from conftest import run_cli
from genie_exp.core.errors import UserError
from genie_exp.report.__main__ import main as report_main
from genie_exp.sweep import JobInfo, pin_gpu, run_guarded, sweep_failures
from genie_exp.sweep import launchers
from genie_exp.sweep.jobs import SWEEP_ID_ENV

TINY = ("distill.samples=16", "distill.batch_size=8", "distill.iters=2", "recon.iters=2", "recon.batch_size=8",
        "quant.calib_samples=16", "data.eval_samples=16", "progress=false")
QUIET_WANDB = {"WANDB_MODE": "offline", "WANDB_API_KEY": "", "WANDB_ERROR_REPORTING": "false"}


def _wandb_records(run_dir: Path) -> list[dict]:
    """The records of a run's .wandb log, read by wandb's own reader (`wandb leet inspect --json`)."""
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-m", "wandb", "leet", "inspect", "--json", str(run_dir)],
                         capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert out.returncode == 0, out.stderr[-2000:]
    return [json.loads(line) for line in out.stdout.splitlines() if line.strip()]


def test_bit_sweep_distils_once_logs_a_wandb_group_and_reports(tmp_path, fmnist_root, isolated_cache):
    sweep = tmp_path / "sweep"
    r = run_cli("-m", "quant.w=3,4", "logger=wandb", f"data.root={fmnist_root}", *TINY, f"hydra.sweep.dir={sweep}",
                env=QUIET_WANDB)
    assert r.returncode == 0, r.stderr[-3000:]
    metrics = sorted((json.loads(p.read_text()) for p in sweep.rglob("metrics.json")), key=lambda m: m["w_bits"])
    assert [m["w_bits"] for m in metrics] == [3, 4]
    assert [m["distill_cache"] for m in metrics] == ["miss", "hit"]
    assert len(list((isolated_cache / "calib").glob("*.pt"))) == 1  # the sweep distilled once
    assert not list(sweep.rglob("failed.json"))

    # One W&B run per job, named by model/bits/method, grouped by the sweep dir's name.
    for m in metrics:
        run = next(rec["run"] for rec in _wandb_records(Path(m["wandb_dir"])) if rec["type"] == "run")
        assert run["display_name"] == f"resnet20-w{m['w_bits']}a4-genie-genie"
        assert run["run_group"] == "sweep" and {"resnet20", f"w{m['w_bits']}a4"} <= set(run["tags"])

    # The same command again (a killed sweep restarted): finished jobs are skipped, and say so.
    stamps = {p: p.stat().st_mtime_ns for p in sweep.rglob("metrics.json")}
    again = run_cli("-m", "quant.w=3,4", f"data.root={fmnist_root}", *TINY, f"hydra.sweep.dir={sweep}")
    assert again.returncode == 0, again.stderr[-3000:]
    assert again.stdout.count("already done: ") == 2 and "skipped (resume=false runs it again)" in again.stdout
    assert {p: p.stat().st_mtime_ns for p in sweep.rglob("metrics.json")} == stamps
    redo = run_cli("-m", "quant.w=3", "resume=false", f"data.root={fmnist_root}", *TINY, f"hydra.sweep.dir={sweep}")
    assert redo.returncode == 0 and "already done" not in redo.stdout, redo.stderr[-3000:]
    assert (sweep / "0" / "metrics.json").stat().st_mtime_ns != stamps[sweep / "0" / "metrics.json"]

    assert report_main([str(sweep)]) == 0
    md = (sweep / "report.md").read_text()
    assert "W3A4" in md and "W4A4" in md
    assert (sweep / "report.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    html = (sweep / "report.html").read_text()
    assert "<table>" in html and "W3A4" in html and "data:image/png;base64," in html


def test_a_failed_job_is_recorded_and_the_sweep_goes_on(tmp_path, fmnist_root):
    sweep = tmp_path / "sweep"
    r = run_cli("-m", "model.weights=null,missing.pt", "distill=noise", "quantizer=rtn", f"data.root={fmnist_root}",
                *TINY, f"hydra.sweep.dir={sweep}", cwd=tmp_path)
    assert r.returncode == 2, r.stderr[-3000:]
    assert (sweep / "0" / "metrics.json").is_file() and not (sweep / "0" / "failed.json").exists()
    failed = json.loads((sweep / "1" / "failed.json").read_text())
    assert "file not found" in failed["error"] and failed["type"] == "UserError"
    assert "model.weights=missing.pt" in failed["overrides"] and failed["job_num"] == 1
    assert not (sweep / "1" / "metrics.json").exists()
    err = r.stderr.strip().splitlines()
    assert any(line.startswith("error: job #1") and "file not found" in line for line in err)
    assert err[-1].startswith("error: 1 sweep job(s) failed") and str(sweep / "1") in err[-1]
    assert "Traceback" not in r.stderr


def test_run_guarded_records_a_bug_with_its_traceback(tmp_path, capsys):
    job = JobInfo(out_dir=tmp_path, num=3, overrides=["quant.w=2"])

    def buggy(cfg):
        raise RuntimeError("boom\nsecond line")

    assert run_guarded(buggy, None, job) is None
    rec = json.loads((tmp_path / "failed.json").read_text())
    assert rec["error"] == "RuntimeError: boom" and rec["type"] == "RuntimeError"
    assert "Traceback" in rec["traceback"] and "buggy" in rec["traceback"]
    assert capsys.readouterr().err.startswith("error: job #3 in ")
    # A later success in the same dir clears the old record; a UserError is one line, no traceback.
    assert run_guarded(lambda cfg: {"ok": 1}, None, job) == {"ok": 1}
    assert not (tmp_path / "failed.json").exists()
    run_guarded(lambda cfg: (_ for _ in ()).throw(UserError("bad bits")), None, job)
    rec = json.loads((tmp_path / "failed.json").read_text())
    assert rec["error"] == "bad bits" and "traceback" not in rec


def test_sweep_failures_are_this_sweeps_only(tmp_path, monkeypatch):
    monkeypatch.setenv(SWEEP_ID_ENV, "old")
    run_guarded(lambda cfg: 1 / 0, None, JobInfo(out_dir=tmp_path / "0"))
    monkeypatch.setenv(SWEEP_ID_ENV, "new")
    run_guarded(lambda cfg: 1 / 0, None, JobInfo(out_dir=tmp_path / "1", num=1))
    assert [f["job_num"] for f in sweep_failures(tmp_path, "new")] == [1]
    assert len(sweep_failures(tmp_path, None)) == 2


def test_joblib_jobs_are_pinned_one_gpu_each():
    joblib = "hydra_plugins.hydra_joblib_launcher.joblib_launcher.JoblibLauncher"
    env = {"CUDA_VISIBLE_DEVICES": "4,5,6"}
    assert pin_gpu(JobInfo(Path("."), num=4, launcher=joblib), env) == "5"
    assert env["CUDA_VISIBLE_DEVICES"] == "5" and env["GENIE_ALL_GPUS"] == "4,5,6"
    assert pin_gpu(JobInfo(Path("."), num=6, launcher=joblib), env) == "4"  # a reused worker: the full list
    basic = "hydra._internal.core_plugins.basic_launcher.BasicLauncher"
    assert pin_gpu(JobInfo(Path("."), num=1, launcher=basic), {"CUDA_VISIBLE_DEVICES": "0,1"}) is None
    assert pin_gpu(JobInfo(Path("."), num=1, launcher=joblib), {"CUDA_VISIBLE_DEVICES": "0"}) is None


def test_missing_launcher_plugin_is_one_line(monkeypatch):
    from genie_exp.cli import preflight

    monkeypatch.setitem(launchers.PLUGINS, "joblib", ("hydra_plugins.no_such_plugin", "hydra-joblib-launcher"))
    for name in ("joblib", "joblib_gpus"):
        reason = preflight(["-m", f"hydra/launcher={name}", "quant.w=2,3"], "config")
        assert reason and "hydra-joblib-launcher" in reason and ".[sweeps]" in reason


@pytest.mark.parametrize("preset,plugin", [("joblib_gpus", "hydra_joblib_launcher"),
                                           ("slurm_gpu", "hydra_submitit_launcher")])
def test_launcher_presets_compose(preset, plugin, monkeypatch):
    pytest.importorskip(f"hydra_plugins.{plugin}")
    from hydra import compose, initialize_config_dir
    from omegaconf import OmegaConf

    from genie_exp.cli import CONF_DIR

    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0,1")
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose("config", overrides=[f"hydra/launcher={preset}"], return_hydra_config=True)
    launcher = OmegaConf.to_container(cfg.hydra.launcher, resolve=False)
    if preset == "joblib_gpus":
        assert "JoblibLauncher" in launcher["_target_"] and cfg.hydra.launcher.n_jobs == 2
    else:
        assert "SlurmLauncher" in launcher["_target_"] and launcher["gpus_per_node"] == 1
