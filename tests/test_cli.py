"""The CLI as a subprocess: a tiny end-to-end run, and one clear line for each user mistake."""
import json

import pytest
import torch

from conftest import run_cli


def test_cli_tiny_run_writes_metrics(tmp_path, fmnist_root):
    out = tmp_path / "run"
    r = run_cli("+model=mobilenetv2", "quant.w=2", "quant.a=4", "seed=3", f"data.root={fmnist_root}",
                "distill.samples=16", "distill.batch_size=8", "distill.iters=3", "recon.iters=4",
                "recon.batch_size=8", "quant.calib_samples=16", "data.eval_samples=32", f"hydra.run.dir={out}")
    assert r.returncode == 0, r.stderr[-2000:]
    m = json.loads((out / "metrics.json").read_text())
    for key in ("model", "dataset", "w_bits", "a_bits", "distill", "quantizer", "n_samples", "seed",
                "fp32_top1", "quant_top1", "seconds"):
        assert key in m
    assert (m["model"], m["w_bits"], m["a_bits"], m["distill"], m["quantizer"], m["seed"], m["n_samples"]) == \
        ("mobilenetv2", 2, 4, "genie", "genie", 3, 16)
    assert m["units"] and all(u["kind"] in ("block", "layer") for u in m["units"])
    assert sum(u["kind"] == "block" for u in m["units"]) == 17  # every inverted residual block
    assert (out / "distill_samples.png").is_file() and (out / "logs" / "metrics.csv").is_file()
    assert set(m["seconds"]) >= {"startup", "distill", "recon", "eval", "total", "outputs"}
    assert m["seconds"]["startup"] > 0.5  # at least the imports of torch and Lightning
    assert 0.0 <= m["quant_top1"] <= 1.0
    summary = [line for line in r.stdout.splitlines() if "quant top-1" in line]
    assert len(summary) == 1 and "mobilenetv2" in summary[0]


BAD = [
    (["+model=resnet21"], ["unknown model 'resnet21'", "resnet20", "mobilenetv2"]),
    (["data=mnist"], ["unknown data 'mnist'", "fashion_mnist", "cifar10", "imagenet"]),
    (["quant.w=9"], ["quant.w", "2 to 8", "9"]),
    (["quant.a=1"], ["quant.a", "2 to 8"]),
    (["quant.w=abc"], ["quant.w", "2 to 8", "abc"]),
    (["quant.w=2.5"], ["quant.w", "2 to 8"]),
    (["quant.ww=3"], ["unknown key 'quant.ww'", "w", "a"]),
    (["-m", "quant.w=2,9"], ["quant.w", "9"]),
    (["distill=foo"], ["unknown distill 'foo'", "noise", "real"]),
    (["seed=-5"], ["seed must be an integer from 0 to 4294967295", "-5"]),
]

# Caught while the command line is composed (cli.preflight), before Hydra or any stage runs; the CLI
# prints the line as `error: ...` and exits 2 (the cases above run the whole command).
PREFLIGHT = [
    (["seed=100000000000000000000"], ["seed must be an integer from 0 to"]),
    (["trainer.accelerator=tpu"], ["unknown trainer.accelerator 'tpu'", "cpu", "gpu"]),
    (["trainer.devices=lots"], ["trainer.devices must be auto", "'lots'"]),
    (["trainer.devices=2"], ["trainer.devices=2 needs trainer=ddp"]),
    (["recon.iters=0"], ["recon.iters must be an integer from 1 to 1000000"]),
    (["recon.iters=1000000000000"], ["recon.iters must be an integer from 1 to 1000000"]),
    (["distill.iters=1000000000000"], ["distill.iters must be an integer from 1 to 1000000"]),
    (["+model.kwargs.foo=1"], ["model.kwargs.foo: resnet20 takes no such keyword", "width"]),
    (["+model=mobilenetv2", "+model.kwargs.depth=3"], ["model.kwargs.depth", "width_mult"]),
    (["model=custom"], ["write +model=custom"]),
]
if not torch.cuda.is_available():
    PREFLIGHT += [(["trainer.accelerator=gpu"], ["trainer.accelerator=gpu: no GPU is visible"]),
                  (["trainer.precision=16-mixed"], ["trainer.precision=16-mixed needs a GPU", "bf16-mixed"])]


@pytest.mark.parametrize("args,needles", PREFLIGHT, ids=[" ".join(a) for a, _ in PREFLIGHT])
def test_mistakes_are_found_before_the_run(args, needles):
    from genie_exp.cli import preflight

    reason = preflight(args, "config")
    assert reason is not None and "\n" not in reason
    for n in needles:
        assert n in reason, reason


def test_run_dir_under_home(tmp_path, fmnist_root):
    work = tmp_path / "work"
    work.mkdir()
    r = run_cli("hydra.run.dir='~/runs/x'", "model.pretrained=false", "distill=noise", "quantizer=rtn",
                "distill.samples=8", "quant.calib_samples=8", "data.eval_samples=16", "progress=false",
                f"data.root={fmnist_root}", cwd=work, env={"HOME": str(tmp_path)})
    assert r.returncode == 0, r.stderr[-2000:]
    assert (tmp_path / "runs" / "x" / "metrics.json").is_file() and not (work / "~").exists()


@pytest.mark.parametrize("args,needles", BAD, ids=[" ".join(a) for a, _ in BAD])
def test_bad_input_is_one_clear_line(args, needles, tmp_path):
    r = run_cli(*args, f"hydra.run.dir={tmp_path}")
    assert r.returncode != 0
    err = r.stderr.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: "), r.stderr
    for n in needles:
        assert n in err[0]
    assert "Traceback" not in r.stderr


def test_missing_dataset_is_one_line(tmp_path):
    r = run_cli(f"data.root={tmp_path / 'none'}", f"hydra.run.dir={tmp_path / 'run'}")
    assert r.returncode != 0
    lines = r.stderr.strip().splitlines()
    assert lines[-1].startswith("error: ") and str(tmp_path / "none") in lines[-1]
    assert "Traceback" not in r.stderr
    assert not (tmp_path / "run" / "metrics.json").exists()


def _write_user_model(tmp_path):
    (tmp_path / "my_nets.py").write_text(
        "import torch.nn as nn\n"
        "class TinyNet(nn.Module):\n"
        "    def __init__(self, width=8):\n"
        "        super().__init__()\n"
        "        self.body = nn.Sequential(nn.Conv2d(3, width, 3, padding=1), nn.BatchNorm2d(width), nn.ReLU(),\n"
        "                                  nn.AdaptiveAvgPool2d(1), nn.Flatten())\n"
        "        self.head = nn.Linear(width, 10)\n"
        "    def forward(self, x):\n"
        "        return self.head(self.body(x))\n")


def test_custom_model_and_mismatched_checkpoint(tmp_path, fmnist_root):
    import sys
    _write_user_model(tmp_path)
    sys.path.insert(0, str(tmp_path))
    try:
        from my_nets import TinyNet
    finally:
        sys.path.remove(str(tmp_path))
    torch.save(TinyNet(width=8).state_dict(), tmp_path / "tiny.pt")
    common = ["+model=custom", "model.target=my_nets.TinyNet", f"data.root={fmnist_root}", "distill=noise",
              "quantizer=rtn", "distill.samples=8",
              "quant.calib_samples=8", "data.eval_samples=16", "progress=false"]
    ok = run_cli(*common, "model.weights=tiny.pt", "+model.kwargs.width=8", f"hydra.run.dir={tmp_path / 'ok'}",
                 cwd=tmp_path)
    assert ok.returncode == 0, ok.stderr[-2000:]
    assert json.loads((tmp_path / "ok" / "metrics.json").read_text())["model"] == "TinyNet"
    bad = run_cli(*common, "model.weights=tiny.pt", "+model.kwargs.width=4", f"hydra.run.dir={tmp_path / 'bad'}",
                  cwd=tmp_path)
    assert bad.returncode != 0
    line = bad.stderr.strip().splitlines()[-1]
    assert line.startswith("error: ") and "does not match" in line and "Traceback" not in bad.stderr
    missing = run_cli(*common, "model.weights=nope.pt", f"hydra.run.dir={tmp_path / 'm'}", cwd=tmp_path)
    assert missing.returncode != 0 and "file not found" in missing.stderr.strip().splitlines()[-1]


def test_teacher_training_cli_saves_a_teacher_and_keeps_lightning_quiet(tmp_path, fmnist_root):
    out = tmp_path / "teacher.pt"
    r = run_cli("+model=resnet20", "data=fashion_mnist", f"data.root={fmnist_root}", "train.epochs=1",
                "train.max_batches=2", "data.eval_samples=64", f"train.out={out}", "progress=false",
                f"hydra.run.dir={tmp_path / 'run'}", module="genie_exp.train", env={"OMP_NUM_THREADS": "1"})
    assert r.returncode == 0, r.stderr[-2000:]
    assert f"-> {out}" in r.stdout
    for banner in ("GPU available", "TPU available", "Tip:"):  # Lightning's start-up lines
        assert banner not in r.stdout + r.stderr
    meta = torch.load(out, weights_only=True)["meta"]
    assert meta["model"] == "resnet20" and meta["epochs"] == 1 and 0.0 <= meta["fp32_top1"] <= 1.0
