"""The API's contract with its caller: a config object is taken as it is (a keyword overrides only the
field it names), every input is checked at the door in one UserError line, and the caller's model
comes back as it was, on success and on failure."""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn as nn

import genie_exp
from genie_exp.config import DistillConfig, QuantConfig, ReconConfig
from genie_exp.distillation.module import DistillModule
from genie_exp.recon.recon_module import ReconModule


class Zwerg(nn.Module):
    """A user's tiny net: conv-BN-ReLU twice, a head."""

    def __init__(self, channels: int = 3):
        super().__init__()
        self.vorne = nn.Sequential(nn.Conv2d(channels, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU())
        self.hinten = nn.Sequential(nn.Conv2d(8, 8, 3, padding=1, stride=2), nn.BatchNorm2d(8), nn.ReLU())
        self.kopf = nn.Linear(8, 4)

    def forward(self, x):
        return self.kopf(self.hinten(self.vorne(x)).mean((2, 3)))


@pytest.fixture
def model():
    torch.manual_seed(0)
    m = Zwerg().train()
    with torch.no_grad():
        for _ in range(3):
            m(torch.randn(16, 3, 16, 16) * 1.3 + 0.2)
    return m.eval()


def _bn_hooks(m: nn.Module) -> int:
    return sum(len(b._forward_pre_hooks) + len(b._forward_hooks) for b in m.modules() if isinstance(b, nn.BatchNorm2d))


@pytest.fixture
def steps(monkeypatch):
    """Records every reconstruction step's batch size and every distillation step's batch count."""
    seen = {"recon": [], "distill": []}
    recon_step, distill_step = ReconModule.step, DistillModule.training_step

    def recon_spy(self, t, idx):
        seen["recon"].append(int(idx.numel()))
        return recon_step(self, t, idx)

    def distill_spy(self, batch, batch_idx):
        seen["distill"].append(len(self.batch_ids))
        return distill_step(self, batch, batch_idx)

    monkeypatch.setattr(ReconModule, "step", recon_spy)
    monkeypatch.setattr(DistillModule, "training_step", distill_spy)
    return seen


def test_a_recon_config_object_is_run_as_given(model, steps):
    x = torch.randn(16, 3, 16, 16)
    q = genie_exp.quantize(model, x, recon=ReconConfig(iters=2, batch_size=8), progress=False, device="cpu")
    units = len(q.genie_report.units)
    assert units == 3 and steps["recon"] == [8, 8] * units  # 2 steps of 8 images per unit, not the default 1,000 of 32
    steps["recon"].clear()
    genie_exp.quantize(model, x, recon=ReconConfig(iters=2, batch_size=8), iters=3, progress=False, device="cpu")
    assert steps["recon"] == [8, 8, 8] * units  # the keyword overrides the one field it names


def test_a_quant_config_object_is_run_as_given(model):
    x = torch.randn(16, 3, 16, 16)
    q = genie_exp.quantize(model, x, method="rtn", quant=QuantConfig(w=2, a=3, first_layer_bits=6), progress=False)
    assert (q.genie_report.w_bits, q.genie_report.a_bits) == (2, 3)
    assert q.vorne[0].weight_quantizer.bits == 6 and q.hinten[0].weight_quantizer.bits == 2
    q = genie_exp.quantize(model, x, method="rtn", quant=QuantConfig(w=2, a=3), w_bits=5, progress=False)
    assert (q.genie_report.w_bits, q.genie_report.a_bits) == (5, 3)
    with pytest.raises(genie_exp.UserError, match="quant= must be a genie_exp.config.QuantConfig"):
        genie_exp.quantize(model, x, quant={"w": 2})


def test_a_distill_config_object_is_run_as_given(model, steps):
    cfg = DistillConfig(name="zeroq", samples=64, batch_size=32, iters=2)
    images = genie_exp.distill(model, config=cfg, image_size=16, progress=False, device="cpu")
    assert images.shape == (64, 3, 16, 16) and steps["distill"] == [1, 1, 1, 1]  # 2 batches x 2 steps
    again = genie_exp.distill(model, method="zeroq", samples=64, batch_size=32, iters=2, image_size=16,
                              progress=False, device="cpu")
    assert torch.equal(images, again)  # zeroq, as the config says (not the keyword default genie)
    with pytest.raises(genie_exp.UserError, match="config= must be a genie_exp.config.DistillConfig"):
        genie_exp.distill(model, config=ReconConfig())


def test_a_failed_distill_leaves_the_model_as_it_was(model):
    model.train()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    for _ in range(3):
        with pytest.raises(genie_exp.UserError, match="distill: the loss became"):
            genie_exp.distill(model, samples=8, batch_size=8, iters=5, image_size=16, lr_generator=1e30,
                              progress=False, device="cpu")
    assert _bn_hooks(model) == 0 and model.training and all(m.training for m in model.modules())
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    genie_exp.distill(model, samples=8, batch_size=8, iters=2, image_size=16, progress=False, device="cpu")
    assert _bn_hooks(model) == 0 and model.training


def test_quantize_leaves_the_model_as_it_was(model):
    model.train()
    model.kopf.eval()  # mixed modes come back as they were, module by module
    before = {k: v.clone() for k, v in model.state_dict().items()}
    genie_exp.quantize(model, torch.randn(8, 3, 16, 16), iters=2, batch_size=4, progress=False, device="cpu")
    assert model.training and model.vorne.training and not model.kopf.training
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    with pytest.raises(genie_exp.UserError):
        genie_exp.quantize(model, torch.randn(8, 3, 16, 16), iters=2, batch_size=4, lr_rounding=1e30,
                           lr_weight_step=1e30, progress=False, device="cpu")
    assert model.training and not model.kopf.training


@pytest.mark.parametrize("call, words", [
    (lambda m: genie_exp.distill(m, image_size=0), "image_size must be an integer >= 1"),
    (lambda m: genie_exp.distill(m, image_size=-3), "image_size must be an integer >= 1"),
    (lambda m: genie_exp.distill(Zwerg(channels=1), samples=8, batch_size=8, iters=1, image_size=16),
     "cannot run on inputs of shape (3, 16, 16)"),
    (lambda m: genie_exp.quantize(m, torch.randn(32, 1, 16, 16)), "cannot run on inputs of shape (1, 16, 16)"),
    (lambda m: genie_exp.quantize(m, torch.randint(0, 255, (8, 3, 16, 16))), "floating-point images"),
    (lambda m: genie_exp.quantize(m, torch.randn(32, 16, 16)), "(N, C, H, W)"),
    (lambda m: genie_exp.quantize(m, torch.full((8, 3, 16, 16), float("nan")), method="rtn"), "NaN/inf"),
    (lambda m: genie_exp.quantize(m, torch.randn(32, 3, 16, 16), blocks="Zwerg"), "blocks=['Zwerg']"),
    (lambda m: genie_exp.quantize(m, torch.randn(32, 3, 16, 16), device="cuda:7"), "cuda:7"),
    (lambda m: genie_exp.quantize(m, torch.randn(32, 3, 16, 16), device="gpu7"), "not a device name"),
    (lambda m: genie_exp.quantize(m, torch.randn(32, 3, 16, 16), seed=-5), "seed must be an integer from 0"),
    (lambda m: genie_exp.quantize(m.to("meta"), torch.randn(32, 3, 16, 16)), "meta device"),
    (lambda m: genie_exp.quantize(m, torch.randn(32, 3, 16, 16), precision="16-mixed", device="cpu"), "needs a GPU"),
    (lambda m: genie_exp.evaluate(m, torch.randn(4, 3, 16, 16), torch.zeros(4, 1, dtype=torch.long)), "1-D"),
    (lambda m: genie_exp.evaluate(m, torch.randn(4, 3, 16, 16), torch.zeros(4)), "integer class indices"),
    (lambda m: genie_exp.evaluate(m, torch.randn(4, 3, 16, 16), [0, 1, 2, 3]), "must be a torch.Tensor"),
])
def test_bad_inputs_are_one_line_errors(model, call, words):
    if "cuda:7" in words and torch.cuda.device_count() > 7:
        pytest.skip("this machine has a cuda:7")
    with pytest.raises(genie_exp.UserError) as e:
        call(model)
    assert words in str(e.value) and "\n" not in str(e.value)


def test_evaluate_takes_numpy_and_refuses_nan_logits(model):
    x = torch.randn(8, 3, 16, 16)
    labels = model(x).argmax(1)
    assert genie_exp.evaluate(model, x.numpy(), labels.numpy()) == 1.0
    broken = nn.Sequential(model, nn.Dropout(0.0))
    with torch.no_grad():
        model.kopf.bias.fill_(float("nan"))
    with pytest.raises(genie_exp.UserError, match="NaN/inf for 8 of 8 images"):
        genie_exp.evaluate(broken, x, torch.zeros(8, dtype=torch.long))
    with pytest.raises(genie_exp.UserError, match="NaN/inf values"):
        genie_exp.evaluate(model, np.full((2, 3, 16, 16), np.nan, dtype=np.float32), np.zeros(2, dtype=np.int64))
