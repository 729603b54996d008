"""The Python API on plain models: distill -> quantize -> evaluate with no Hydra and no config file;
keywords, defaults and errors; the same student as the CLI's stage for the same settings."""
from __future__ import annotations

import inspect

import pytest
import torch
import torch.nn as nn

import genie_exp
from genie_exp.config import DistillConfig, QuantConfig, ReconConfig


class Mine(nn.Module):
    """A user's model: a residual block genie-exp has never seen, a concat, odd names."""

    def __init__(self):
        super().__init__()
        self.anfang = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU())
        self.mitte = nn.Sequential(nn.Conv2d(8, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.Conv2d(8, 8, 1))
        self.ende = nn.Linear(16, 5)

    def forward(self, x):
        x = self.anfang(x)
        y = torch.cat([x, self.mitte(x)], 1)  # the concat sits in the model's own forward
        return self.ende(y.mean((2, 3)))


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    m = Mine()
    m.train()
    with torch.no_grad():  # BN statistics from data, so distillation has a target
        for _ in range(3):
            m(torch.randn(16, 3, 16, 16) * 1.5 + 0.3)
    return m.eval()


def test_distill_quantize_evaluate_on_a_plain_model(model):
    before = {k: v.clone() for k, v in model.state_dict().items()}
    images = genie_exp.distill(model, samples=16, batch_size=8, iters=3, image_size=16, progress=False, device="cpu")
    assert images.shape == (16, 3, 16, 16) and torch.isfinite(images).all()
    again = genie_exp.distill(model, samples=16, batch_size=8, iters=3, image_size=16, progress=False, device="cpu")
    assert torch.equal(images, again)  # seeded: the same images for the same call

    q = genie_exp.quantize(model, images, w_bits=4, a_bits=8, iters=4, batch_size=4, progress=False, device="cpu")
    report = q.genie_report
    assert report.method == "genie" and (report.w_bits, report.a_bits) == (4, 8)
    assert [u["name"] for u in report.units] == ["anfang.0", "mitte.0", "mitte.3", "ende"]
    assert report.plan.startswith("0 blocks, 4 layers") and report.seconds > 0
    assert type(q.anfang[0]).__name__ == "QuantLayer" and isinstance(model.anfang[0], nn.Conv2d)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())  # the input model is untouched

    labels = model(images).argmax(1)
    top1 = genie_exp.evaluate(q, images, labels)
    assert 0.0 <= top1 <= 1.0 and genie_exp.evaluate(model, images, labels) == 1.0


@pytest.mark.parametrize("method", ["adaround", "rtn"])
def test_other_quantizers(model, method):
    x = torch.randn(8, 3, 16, 16)
    q = genie_exp.quantize(model, x, w_bits=3, a_bits=4, method=method, iters=2, batch_size=4, progress=False,
                           device="cpu")
    assert q.genie_report.method == method and (len(q.genie_report.units) > 0) == (method == "adaround")
    with torch.no_grad():
        assert torch.isfinite(q(x)).all()


def test_any_config_field_is_a_keyword_and_mistakes_are_one_line(model):
    x = torch.randn(8, 3, 16, 16)
    q = genie_exp.quantize(model, x, iters=2, batch_size=4, progress=False, device="cpu", first_layer_bits=6,
                           qdrop_prob=0.25)
    assert q.anfang[0].weight_quantizer.bits == 6
    with pytest.raises(TypeError, match="unknown keyword 'qdrop'"):
        genie_exp.quantize(model, x, qdrop=0.5)
    with pytest.raises(genie_exp.UserError, match="recon.qdrop_prob must be a number from 0 to 1"):
        genie_exp.quantize(model, x, qdrop_prob=1.5, progress=False)
    with pytest.raises(genie_exp.UserError, match="w_bits must be an integer from 2 to 8"):
        genie_exp.quantize(model, x, w_bits=1)
    with pytest.raises(genie_exp.UserError, match="unknown quantizer 'brecq'"):
        genie_exp.quantize(model, x, method="brecq")
    with pytest.raises(genie_exp.UserError, match="real images are your own tensor"):
        genie_exp.distill(model, method="real")
    with pytest.raises(genie_exp.UserError, match="distill.iters must be an integer from 1 to"):
        genie_exp.distill(model, iters=0)


def test_keywords_not_given_are_the_config_defaults():
    from genie_exp.api import configs_for
    from genie_exp.distillation.entry import distill_config

    assert distill_config(None, {}) == DistillConfig()
    assert configs_for(None, None, {}) == (QuantConfig(), ReconConfig())
    assert (DistillConfig.samples, DistillConfig.batch_size, DistillConfig.iters) == (256, 128, 100)
    assert (QuantConfig.w, QuantConfig.a, ReconConfig.iters, ReconConfig.batch_size) == (4, 4, 1000, 32)
    d, q = inspect.signature(genie_exp.distill).parameters, inspect.signature(genie_exp.quantize).parameters
    assert d["seed"].default == 0 and q["method"].default == "genie"


def test_the_cli_composes_the_same_defaults():
    from conftest import compose_cfg

    cfg = compose_cfg()
    assert cfg.distill.name == "genie" and cfg.quantizer.name == "genie"
    assert dict(cfg.distill) == vars(DistillConfig()) and dict(cfg.recon) == vars(ReconConfig())
    assert dict(cfg.quant) == vars(QuantConfig())


def test_the_api_gives_the_cli_stages_student():
    from conftest import compose_cfg
    from genie_exp.core.context import RunContext
    from genie_exp.models import create_model
    from genie_exp.recon.stage import quantize_model

    torch.manual_seed(1)
    teacher, x = create_model("resnet20", width=4).eval(), torch.randn(16, 3, 16, 16)
    cfg = compose_cfg("recon.iters=3", "recon.batch_size=8", "quant.w=2", "progress=false")
    cli = quantize_model(teacher, x, cfg.quant, "genie", cfg.recon, RunContext.from_config(cfg)).student
    api = genie_exp.quantize(teacher, x, w_bits=2, iters=3, batch_size=8, progress=False)
    with torch.no_grad():
        assert torch.equal(cli(x), api(x))


def test_the_readme_example_runs(capsys):
    import re
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    section = readme[readme.index("## Python API"):]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    exec(compile(code, "README.md", "exec"), {})
    out = capsys.readouterr().out
    assert "8 blocks, 2 layers (conv1, fc)" in out and "'kind': 'layer'" in out
