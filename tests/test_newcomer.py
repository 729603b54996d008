"""The first mistakes and paths of a new user: a model key without +model=custom, misspellings, a
quick answer to a config mistake, custom models named by their class, and API runs that share the
CLI's cache, leave a run record and export like CLI runs."""
import json
import subprocess
import sys

import pytest
import torch
import torch.nn as nn

from conftest import REPO, Umkehr, run_cli, with_bn_statistics

TINY_NET = (
    "import torch.nn as nn\n"
    "class SmallNet(nn.Module):\n"
    "    def __init__(self):\n"
    "        super().__init__()\n"
    "        self.body = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(),\n"
    "                                  nn.AdaptiveAvgPool2d(1), nn.Flatten())\n"
    "        self.head = nn.Linear(8, 10)\n"
    "    def forward(self, x):\n"
    "        return self.head(self.body(x))\n")


def _user_module(tmp_path, monkeypatch):
    """newcomer_nets.SmallNet, importable from tmp_path (a name no other test's module has)."""
    import importlib

    (tmp_path / "newcomer_nets.py").write_text(TINY_NET)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "newcomer_nets", raising=False)
    return importlib.import_module("newcomer_nets")


@pytest.mark.parametrize("args,needles", [
    (["model.target=newcomer_nets.SmallNet"], ["model.target is for a model of your own", "+model=custom"]),
    (["model.factory=true"], ["model.factory", "+model=custom"]),
    (["quant.wx=3"], ["unknown key 'quant.wx'", "did you mean 'quant.w'"]),
    (["+model=mobilenet"], ["unknown model 'mobilenet'", "did you mean 'mobilenetv2' or 'mobilenetv3'"]),
    (["logger=wandbb"], ["did you mean 'wandb'"]),
    (["distill.input_prior=gray"], ["did you mean 'grey'"]),
])
def test_first_mistakes_get_the_right_answer(args, needles):
    from genie_exp.cli import preflight

    reason = preflight(args, "config")
    assert reason is not None and "\n" not in reason
    for n in needles:
        assert n in reason, reason


def test_a_config_mistake_is_answered_before_torch_loads():
    code = ("import sys; from genie_exp.cli import preflight, register_configs; register_configs(); r = preflight(['quant.w=9'], 'config'); "
            "print(r); print('torch' in sys.modules, 'torchvision' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=300)
    lines = out.stdout.strip().splitlines()
    assert "quant.w must be an integer from 2 to 8" in lines[0], out.stderr[-1500:]
    assert lines[1] == "False False"


def test_misspelt_class_and_keyword_are_named(tmp_path, monkeypatch):
    from genie_exp.core.errors import UserError
    from genie_exp.models.reference import resolve_target

    _user_module(tmp_path, monkeypatch)
    with pytest.raises(UserError, match="has no 'SmalNet' \\(did you mean 'SmallNet'\\?\\)"):
        resolve_target("newcomer_nets.SmalNet")
    import genie_exp

    with pytest.raises(TypeError, match="unknown keyword 'wbits' \\(did you mean 'w_bits'\\?\\)"):
        genie_exp.quantize(nn.Linear(2, 2), torch.zeros(4, 3, 8, 8), wbits=4)
    with pytest.raises(TypeError, match="did you mean 'samples'"):
        genie_exp.distill(nn.Linear(2, 2), sample=64)


def test_custom_models_are_named_by_their_class():
    from omegaconf import OmegaConf

    from genie_exp.models.reference import model_label
    from genie_exp.tracking.naming import run_name

    cfg = OmegaConf.create({"model": {"name": "custom", "target": "pkg.nets.HardSENet"},
                            "quant": {"w": 2, "a": 4}, "distill": {"name": "genie"}, "quantizer": {"name": "genie"}})
    assert model_label(cfg.model) == "HardSENet"
    assert run_name(cfg) == "HardSENet-w2a4-genie-genie"
    assert model_label(OmegaConf.create({"name": "resnet20", "target": None})) == "resnet20"


def _metrics(path, target, fp32, quant, seed=0):
    path.mkdir(parents=True)
    settings = {"model.name": "custom", "model.target": target, "quant.w": 4, "quant.a": 4}
    (path / "metrics.json").write_text(json.dumps({
        "model": "custom", "dataset": "fashion_mnist", "w_bits": 4, "a_bits": 4, "distill": "genie",
        "quantizer": "genie", "n_samples": 256, "seed": seed, "fp32_top1": fp32, "quant_top1": quant,
        "settings": settings}))


def test_the_report_keeps_two_custom_models_apart(tmp_path):
    """Runs recorded as `custom` (before custom models had their class name) are split by class: one
    group, panel and FP32 line each, and their targets are no legend setting."""
    from genie_exp.report.collect import collect_metrics, group_rows, varying_keys

    _metrics(tmp_path / "a", "user_nets.GateNet", 0.92, 0.90)
    _metrics(tmp_path / "b", "user_nets.ShuffleNetish", 0.89, 0.88)
    groups = group_rows(collect_metrics([tmp_path]))
    assert sorted(g["model"] for g in groups) == ["GateNet", "ShuffleNetish"]
    assert {g["model"]: g["fp32_top1"] for g in groups} == {"GateNet": 0.92, "ShuffleNetish": 0.89}
    assert "model.target" not in varying_keys(groups)
    from genie_exp.report.table import markdown_table

    assert "| data |" not in markdown_table(groups)
    _metrics(tmp_path / "c", "user_nets.GateNet", 0.92, 0.90)
    m = json.loads((tmp_path / "c" / "metrics.json").read_text())
    m["settings"]["quant.calib_samples"] = 64  # an API run: settings of its own
    (tmp_path / "c" / "metrics.json").write_text(json.dumps({**m, "dataset": "given"}))
    table = markdown_table(group_rows(collect_metrics([tmp_path])))
    assert "| model | data |" in table and "| GateNet | given |" in table


class Kiste(nn.Module):
    """A small gated net under a name the project does not know."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8), nn.ReLU())
        self.block = Umkehr(8, 8)
        self.fc = nn.Linear(8, 10)

    def forward(self, x):
        return self.fc(self.block(self.stem(x)).mean((2, 3)))


def _teacher(seed=0):
    torch.manual_seed(seed)
    return with_bn_statistics(Kiste(), (32, 3, 16, 16))


def test_api_and_cli_share_one_cached_set(tmp_path, fmnist_root, monkeypatch):
    """A set the CLI distilled for a custom model is what genie_exp.distill returns for the same
    model and settings: read from the cache, nothing distilled again."""
    SmallNet = _user_module(tmp_path, monkeypatch).SmallNet

    teacher = with_bn_statistics(SmallNet(), (32, 3, 32, 32))
    torch.save(teacher.state_dict(), tmp_path / "small.pt")
    r = run_cli("+model=custom", "model.target=newcomer_nets.SmallNet", "model.weights=small.pt", f"data.root={fmnist_root}",
                "distill.samples=16", "distill.batch_size=8", "distill.iters=2", "quantizer=rtn",
                "quant.calib_samples=16", "data.eval_samples=16", "progress=false", f"hydra.run.dir={tmp_path / 'run'}",
                cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-2000:]
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["model"] == "SmallNet" and metrics["distill_cache"] == "miss"
    assert "SmallNet-w4a4" in r.stdout.strip().splitlines()[-1] or r.stdout.strip().splitlines()[-1].startswith("SmallNet")

    import genie_exp
    from genie_exp.distillation import driver

    def no_distillation(*a, **k):
        raise AssertionError("distilled again instead of reading the CLI's set")

    monkeypatch.setattr(driver, "distill_images", no_distillation)
    monkeypatch.setattr("genie_exp.distillation.sources.distill_images", no_distillation)
    loaded = SmallNet()
    loaded.load_state_dict(torch.load(tmp_path / "small.pt"))
    images = genie_exp.distill(loaded, samples=16, batch_size=8, iters=2, progress=False, device="cpu")
    assert images.shape == (16, 3, 32, 32)
    assert images.genie_distill["name"] == "genie" and images.genie_distill["iters"] == 2


def test_an_api_run_leaves_a_run_record_the_report_and_export_take(tmp_path, fmnist_root):
    import genie_exp
    from genie_exp.export.__main__ import main as export_main
    from genie_exp.report.collect import collect_metrics

    teacher = _teacher()
    calib = torch.randn(16, 3, 16, 16)
    x, y = torch.randn(32, 3, 16, 16), torch.randint(0, 10, (32,))
    with pytest.raises(genie_exp.UserError, match="run_dir= needs test=\\(images, labels\\)"):
        genie_exp.quantize(teacher, calib, method="rtn", run_dir=tmp_path / "x", progress=False)
    q = genie_exp.quantize(teacher, calib, w_bits=4, a_bits=8, method="rtn", run_dir=tmp_path / "api",
                           test=(x, y), progress=False, device="cpu")
    m = json.loads((tmp_path / "api" / "metrics.json").read_text())
    assert m["model"] == "Kiste" and m["front_end"] == "api" and m["distill"] == "given"
    assert m["quant_top1"] == genie_exp.evaluate(q, x, y) and m["fp32_top1"] == genie_exp.evaluate(teacher, x, y)
    assert m["settings"]["quant.a"] == 8 and len(m["fingerprint"]) == 12
    rows = collect_metrics([tmp_path])
    assert [r["model"] for r in rows] == ["Kiste"]
    assert torch.equal(genie_exp.load_quantized(tmp_path / "api")(x), q(x))

    # the CLI exporter: an API-saved model needs --data to verify, and says so in one line
    pytest.importorskip("onnxruntime")
    assert export_main([str(tmp_path / "api"), "--format", "onnx", "--verify"]) == 2
    paths = genie_exp.export_quantized(q, tmp_path / "q.onnx")
    assert paths == [tmp_path / "q.onnx"] and paths[0].stat().st_size > 0
    enc = genie_exp.export_quantized(tmp_path / "api", tmp_path / "enc", format="encodings")
    assert sorted(p.suffix for p in enc) == [".json", ".safetensors"]
    result = genie_exp.verify(q, x, y)
    assert result["images"] == 32 and result["top1_pytorch"] == m["quant_top1"]
    assert result["same_prediction"] >= 0.9 and "unoptimized" in result


def test_export_verify_names_the_missing_data_settings(tmp_path, capsys):
    pytest.importorskip("onnxruntime")
    import genie_exp
    from genie_exp.export.__main__ import main as export_main

    q = genie_exp.quantize(_teacher(), torch.randn(16, 3, 16, 16), method="rtn", progress=False, device="cpu")
    genie_exp.save_quantized(q, tmp_path / "quantized.pt")
    assert export_main([str(tmp_path), "--format", "onnx", "--verify"]) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith("error: --verify") and "--data" in err and "genie_exp.verify" in err
    assert export_main([str(tmp_path), "--format", "onnx", "--verify", "--data", "fashion_mnst"]) == 2
    assert "did you mean 'fashion_mnist'" in capsys.readouterr().err
