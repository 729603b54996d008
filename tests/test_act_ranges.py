"""quant.act_ranges: the activation steps' initial ranges from another image set (a study switch)."""
import pytest
import torch
import torch.nn as nn

from genie_exp.config import QuantConfig, ReconConfig, result_settings
from genie_exp.core.context import RunContext
from genie_exp.core.errors import UserError
from genie_exp.quant.act import ActQuantizer
from genie_exp.recon.stage import quantize_model
from genie_exp.validate import validate

from conftest import compose_cfg


class Zickzack(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Conv2d(3, 8, 3, padding=1)
        self.b = nn.Conv2d(8, 8, 3, padding=1)
        self.c = nn.Linear(8, 4)

    def forward(self, x):
        return self.c(torch.relu(self.b(torch.relu(self.a(x)))).mean((2, 3)))


def _steps(act_images=None):
    torch.manual_seed(0)
    model = Zickzack().eval()
    calib = torch.randn(16, 3, 8, 8)
    q = QuantConfig(w=4, a=4, calib_samples=16)
    res = quantize_model(model, calib, q, "rtn", ReconConfig(), RunContext.local("cpu", progress=False),
                         act_images=act_images)
    return [float(m.scale) for m in res.student.modules() if isinstance(m, ActQuantizer) and m.is_initialized]


def test_ranges_come_from_the_other_images_when_given():
    plain, same = _steps(), _steps(None)
    wide = _steps(10 * torch.randn(16, 3, 8, 8))
    assert plain == same and plain
    assert all(w > 3 * p for w, p in zip(wide, plain))  # ten times wider inputs, far wider steps


def test_config_checks_and_fingerprint():
    cfg = compose_cfg("quant.act_ranges=real")
    validate(cfg)
    with pytest.raises(UserError, match="quant.act_ranges 'imagenet'"):
        validate(compose_cfg("quant.act_ranges=imagenet"))
    with pytest.raises(UserError, match="recon.act_init=per_unit"):
        validate(compose_cfg("quant.act_ranges=genie", "recon.act_init=per_unit"))
    # left at its default the key is not a setting, so runs recorded before it existed still match
    from omegaconf import OmegaConf

    plain = result_settings(OmegaConf.to_container(compose_cfg(), resolve=True))
    assert "quant.act_ranges" not in plain and "distill.input_prior" not in plain
    assert result_settings(OmegaConf.to_container(cfg, resolve=True))["quant.act_ranges"] == "real"
