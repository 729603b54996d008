"""A config or a quantized.pt names the model to build; it may name the user's own code, a
torchvision.models / timm model or a registered model, and nothing else: crafted references to
os.system, subprocess and friends are refused before anything is imported or called."""
from __future__ import annotations

import sys
import textwrap

import pytest
import torch
import torch.nn as nn

import genie_exp
from genie_exp.core.errors import UserError
from genie_exp.models.reference import build_from_reference, resolve_target

from conftest import run_cli


class Klein(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU())
        self.fc = nn.Linear(4, 3)

    def forward(self, x):
        return self.fc(self.conv(x).mean((2, 3)))


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("art") / "quantized.pt"
    q = genie_exp.quantize(Klein().eval(), torch.randn(8, 3, 8, 8), method="rtn", progress=False, device="cpu")
    genie_exp.save_quantized(q, path)
    return path


def _crafted(saved, tmp_path, **changes):
    blob = torch.load(saved, weights_only=True)
    for key, value in changes.items():
        if key == "w_bits":
            blob["convert"]["w_bits"] = value
        else:
            blob[key] = value
    path = tmp_path / "crafted.pt"
    torch.save(blob, path)
    return path


@pytest.mark.parametrize("target, kwargs", [
    ("os.system", {"command": "touch {marker}"}),
    ("subprocess.getoutput", {"cmd": "touch {marker}"}),
    ("subprocess.run", {"args": ["touch", "{marker}"]}),
    ("builtins.exec", {}),
    ("posix.system", {"command": "touch {marker}"}),
])
def test_a_crafted_file_runs_nothing(saved, tmp_path, target, kwargs):
    marker = tmp_path / "PWNED"
    kwargs = {k: ([a.format(marker=marker) for a in v] if isinstance(v, list) else v.format(marker=marker))
              for k, v in kwargs.items()}
    path = _crafted(saved, tmp_path, model={"kind": "target", "target": target, "kwargs": kwargs, "factory": True})
    with pytest.raises(UserError, match=f"model.target={target}: refused"):
        genie_exp.load_quantized(path)
    assert not marker.exists()


def test_nothing_is_imported_before_it_is_refused():
    assert "antigravity" not in sys.modules
    with pytest.raises(UserError, match="refused .antigravity is part of Python itself"):
        resolve_target("antigravity.fly", factory=True)
    assert "antigravity" not in sys.modules


def test_a_user_module_cannot_pass_on_what_it_imported(tmp_path, monkeypatch):
    (tmp_path / "nutzer.py").write_text(textwrap.dedent("""
        from os import system
        from subprocess import getoutput
        import torch.nn as nn
        class Netz(nn.Module):
            def __init__(self, width=2):
                super().__init__()
                self.fc = nn.Linear(width, 2)
        def baue(width=2):
            return Netz(width)
    """))
    monkeypatch.syspath_prepend(str(tmp_path))
    for name in ("nutzer.system", "nutzer.getoutput"):
        with pytest.raises(UserError, match="refused"):
            resolve_target(name, factory=True)
    assert isinstance(build_from_reference({"kind": "target", "target": "nutzer.baue", "kwargs": {"width": 3},
                                            "factory": True}), nn.Module)
    assert resolve_target("nutzer.Netz").__name__ == "Netz"


@pytest.mark.parametrize("target, factory, allowed", [
    ("torchvision.models.resnet18", True, True),
    ("torchvision.models.resnet.ResNet", False, True),
    ("genie_exp.models.small.resnet20", True, True),
    ("torchvision.io.read_file", True, False),
    ("torchvision.models._api.load_state_dict_from_url", True, False),
    ("timm.models.load_state_dict", True, False),  # a timm function that unpickles a path
    ("torch.hub.load", True, False),
    ("omegaconf.OmegaConf", False, False),
    ("genie_exp.cli.hydra_entry", True, False),
    ("genie_exp.models.checkpoint.load_weights", True, False),
])
def test_model_libraries_give_models_only(target, factory, allowed):
    if allowed:
        assert callable(resolve_target(target, factory))
    else:
        with pytest.raises(UserError, match="refused"):
            resolve_target(target, factory)


def test_export_of_a_crafted_file_is_one_line(saved, tmp_path):
    marker = tmp_path / "PWNED"
    crafted = _crafted(saved, tmp_path, model={"kind": "target", "target": "os.system",
                                               "kwargs": {"command": f"touch {marker}"}, "factory": True})
    r = run_cli(str(crafted), "--format", "onnx", module="genie_exp.export")
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "refused" in r.stderr, r.stderr[-2000:]
    assert not marker.exists()
    edited = _crafted(saved, tmp_path, w_bits=99)
    for fmt in ("onnx", "encodings"):
        r = run_cli(str(edited), "--format", fmt, module="genie_exp.export")
        assert r.returncode == 2 and "convert.w_bits=99 is not an integer from 2 to 8" in r.stderr, r.stderr[-2000:]
