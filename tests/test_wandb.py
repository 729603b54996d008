"""logger=wandb: offline with no account, read back through wandb's own reader; bad WANDB_MODE, no
credentials or a failed online start all still finish offline. Nothing here reaches a server."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import compose_cfg, run_cli
from genie_exp.pipeline import run
from genie_exp.tracking import resolve_mode, run_name, sweep_group
from genie_exp.tracking import wandb_run

TINY = ("distill.samples=16", "distill.batch_size=8", "distill.iters=2", "recon.iters=2", "recon.batch_size=8",
        "quant.calib_samples=16", "data.eval_samples=16", "progress=false")


@pytest.fixture(autouse=True)
def no_credentials(tmp_path, monkeypatch):
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    monkeypatch.setenv("NETRC", str(tmp_path / "no-netrc"))
    monkeypatch.setenv("WANDB_ERROR_REPORTING", "false")


def inspect_summary(run_dir: Path) -> dict:
    """State, config and summary of an offline run, from its .wandb log by `wandb leet inspect`."""
    out = subprocess.run([sys.executable, "-m", "wandb", "leet", "inspect", "--summary", "--json", str(run_dir)],
                         capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout)


def test_offline_run_holds_config_metrics_images_and_unit_losses(tmp_path, fmnist_root):
    out = tmp_path / "run"
    r = run_cli("logger=wandb", "quant.w=3", f"data.root={fmnist_root}", *TINY, f"hydra.run.dir={out}")
    assert r.returncode == 0, r.stderr[-3000:]
    m = json.loads((out / "metrics.json").read_text())
    wdir = Path(m["wandb_dir"])
    assert wdir.parent == out / "wandb" and wdir.name.startswith("offline-run-")
    assert (out / "logs" / "metrics.csv").is_file()  # CSV is always written
    assert f"wandb sync {wdir}" in r.stderr

    s = inspect_summary(wdir)
    assert s["state"] == "finished" and s["name"] == "resnet20-w3a4-genie-genie" == run_name(compose_cfg("quant.w=3"))
    assert {"resnet20", "w3a4"} <= set(s["tags"])
    summary = s["summary"]
    assert summary["eval/top1"] == pytest.approx(m["quant_top1"])
    assert summary["eval/fp32_top1"] == pytest.approx(m["fp32_top1"])
    assert summary["distill/samples"]["_type"] == "image-file"
    for u in m["units"]:
        assert summary[f"recon/{u['name']}/final_loss"] == pytest.approx(u["loss"])
    assert summary["metrics"]["w_bits"] == 3
    # flat keys for W&B's own runs table / parallel coordinates
    assert summary["eval/drop"] == pytest.approx(m["fp32_top1"] - m["quant_top1"])
    assert (summary["w_bits"], summary["a_bits"], summary["method"]) == (3, 4, "genie")
    assert summary["fingerprint"] == m["fingerprint"]
    assert s["config"]["quant"]["w"] == 3 and s["config"]["logger"]["name"] == "wandb"


def _tiny_noise_cfg(fmnist_root, *extra):
    return compose_cfg("logger=wandb", f"data.root={fmnist_root}", "distill=noise", "quantizer=rtn",
                       "distill.samples=8", "quant.calib_samples=8", "data.eval_samples=16", "progress=false", *extra)


@pytest.mark.parametrize("wandb_mode,needle", [("bogus", "WANDB_MODE='bogus'"), ("", "WANDB_MODE=''"),
                                               (None, "no W&B credentials")])
def test_bad_mode_or_no_credentials_still_finishes_offline(wandb_mode, needle, tmp_path, fmnist_root, monkeypatch,
                                                           capsys):
    if wandb_mode is None:
        monkeypatch.delenv("WANDB_MODE", raising=False)
    else:
        monkeypatch.setenv("WANDB_MODE", wandb_mode)
    m = run(_tiny_noise_cfg(fmnist_root, "logger.mode=online"), tmp_path / "run")
    assert Path(m["wandb_dir"]).name.startswith("offline-run-") and (tmp_path / "run" / "metrics.json").is_file()
    err = capsys.readouterr().err
    assert needle in err and "logging offline" in err and "wandb sync" in err


def test_failed_online_start_falls_back_offline(tmp_path, fmnist_root, monkeypatch, capsys):
    monkeypatch.setenv("WANDB_MODE", "online")
    monkeypatch.setenv("WANDB_API_KEY", "x" * 40)  # looks like credentials; the server is never asked
    real_init = wandb_run._init

    def init(cfg, out_dir, mode):
        if mode == "online":
            raise TimeoutError("server did not answer")
        return real_init(cfg, out_dir, mode)

    monkeypatch.setattr(wandb_run, "_init", init)
    m = run(_tiny_noise_cfg(fmnist_root), tmp_path / "run")
    assert Path(m["wandb_dir"]).name.startswith("offline-run-")
    assert "online start failed (TimeoutError: server did not answer); logging offline" in capsys.readouterr().err


def test_resolve_mode(tmp_path):
    assert resolve_mode("offline", {}) == ("offline", None)
    assert resolve_mode("online", {"WANDB_API_KEY": "k"}) == ("online", None)
    assert resolve_mode("online", {"NETRC": str(tmp_path / "none")})[0] == "offline"
    netrc = tmp_path / "netrc"
    netrc.write_text("machine api.wandb.ai\n  login user\n  password k\n")
    assert resolve_mode("online", {"NETRC": str(netrc)}) == ("online", None)
    assert resolve_mode("offline", {"WANDB_MODE": "online", "WANDB_API_KEY": "k"}) == ("online", None)
    assert resolve_mode("online", {"WANDB_MODE": "dryrun"}) == ("offline", None)
    assert resolve_mode("online", {"WANDB_MODE": "disabled"}) == ("disabled", None)
    mode, note = resolve_mode("online", {"WANDB_MODE": "0nline", "WANDB_API_KEY": "k"})
    assert mode == "offline" and "0nline" in note


def test_sweep_group_names():
    assert sweep_group("multirun/2025-01-02/03-04-05") == "2025-01-02_03-04-05"
    assert sweep_group("/data/sweeps/bits") == "bits"
    assert sweep_group(None) is None


def test_the_logger_names_checked_before_torch_loads_are_the_tracker_registry_s(tmp_path):
    from omegaconf import OmegaConf

    from genie_exp.choices import LOGGERS
    from genie_exp.core.errors import UserError
    from genie_exp.tracking import TRACKERS, start_tracker

    assert tuple(TRACKERS) == LOGGERS
    assert start_tracker(OmegaConf.create({"logger": {"name": "csv"}}), tmp_path) is None  # the CSV logs only
    with pytest.raises(UserError, match="unknown logger 'wandbb'.*did you mean 'wandb'"):
        start_tracker(OmegaConf.create({"logger": {"name": "wandbb"}}), tmp_path)
