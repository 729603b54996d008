"""Genie-M / AdaRound block-wise reconstruction: hard-rounded integer weights, rounding converging to
0/1, the unit loss falling, learned vs fixed weight steps, unknown architectures and user blocks."""
from __future__ import annotations

import math
from dataclasses import replace

import pytest
import torch
import torch.nn as nn

from genie_exp.config import ReconConfig
from genie_exp.core.errors import UserError
from genie_exp.models import create_model
from genie_exp.quant import QuantLayer, calibrate_activations, convert, quant_layers
from genie_exp.partition import plan_units
from genie_exp.recon.recon_module import ReconModule, fit
from genie_exp.recon.runner import _capture, reconstruct

from conftest import cpu_ctx

CPU = torch.device("cpu")
TINY = ReconConfig(iters=12, batch_size=8)


def _student(model: nn.Module, x: torch.Tensor, w: int = 2, a: int = 4, blocks=None) -> nn.Module:
    s = convert(model, w, a, x[:2], blocks=blocks)
    calibrate_activations(s, x)
    return s


def _tiny_resnet(seed: int = 0) -> tuple[nn.Module, torch.Tensor]:
    torch.manual_seed(seed)
    return create_model("resnet20", width=4).eval(), torch.randn(32, 3, 16, 16)


def test_genie_hard_rounding_gives_integer_codes_times_learned_step():
    teacher, x = _tiny_resnet()
    student = _student(teacher, x)
    res = reconstruct(student, teacher, x, TINY, learn_weight_step=True, ctx=cpu_ctx())
    assert [r["kind"] for r in res][:2] == ["layer", "block"] and res[-1]["name"] == "fc"
    assert all(r["seconds"] > 0 and r["loss"] == r["loss"] for r in res)
    assert not student.training
    for layer in quant_layers(student):
        q = layer.weight_quantizer
        assert q.mode == "hard" and q.frozen is not None
        codes = layer.quantized_weight() / q.scale.detach() + q.zero_point
        assert torch.allclose(codes, codes.round(), atol=1e-4)
        assert codes.min() > -1e-4 and codes.max() < 2 ** q.bits - 1 + 1e-4
    with torch.no_grad():
        assert torch.isfinite(student(x)).all()


def test_block_input_is_captured_before_the_block_quantizer():
    teacher, x = _tiny_resnet()
    student = _student(teacher, x)
    block = student.layer1[1]
    seen = {}
    h = student.layer1[0].register_forward_hook(lambda m, a, out: seen.__setitem__("y", out.clone()))
    with torch.no_grad():
        student(x)
    h.remove()
    x_q, _ = _capture(student, block, x, CPU, want_output=False)
    assert torch.equal(x_q, seen["y"])  # unquantized: ReconModule's unit(x) quantizes it itself
    s = float(block.input_quantizer.scale)
    assert not torch.allclose(x_q / s, (x_q / s).round(), atol=1e-3)


def test_soft_rounding_converges_to_zero_or_one():
    torch.manual_seed(0)
    teacher, x = _tiny_resnet()
    student = _student(teacher, x)
    fc = student.fc
    xf, yf = _capture(teacher, teacher.fc, x, CPU, want_output=True)
    xq, _ = _capture(student, fc, x, CPU, want_output=False)
    cfg = replace(TINY, lr_rounding=0.05, iters=150)
    q = fc.weight_quantizer

    def undecided() -> float:
        h = q.soft_rounding().detach()
        return float(((h > 0.01) & (h < 0.99)).float().mean())

    before = undecided()
    module = ReconModule(fc, "fc", xf, xq, yf, cfg, learn_weight_step=True)
    seen = {}
    finish = module.finish
    module.finish = lambda: (seen.update(after=undecided(), soft=q.integer_codes(fc.module.weight).detach()),
                             finish())  # the soft state, just before fit() hardens it
    fit(module)
    after, soft = seen["after"], seen["soft"]
    assert before > 0.5 and after < 0.25 * before
    hard = fc.quantized_weight() / q.scale.detach() + q.zero_point
    assert (hard - soft).abs().lt(0.01).float().mean() > 0.75  # decided values round to themselves
    assert not hard.requires_grad and q.mode == "hard"


def test_unit_reconstruction_loss_falls():
    torch.manual_seed(1)
    teacher = create_model("resnet20").eval()
    x = torch.randn(64, 3, 16, 16)
    student = _student(teacher, x, w=2, a=4)
    name = "layer1.1"
    xf, yf = _capture(teacher, teacher.get_submodule(name), x, CPU, want_output=True)
    xq, _ = _capture(student, student.get_submodule(name), x, CPU, want_output=False)
    torch.manual_seed(2)
    module = ReconModule(student.get_submodule(name), name, xf, xq, yf, ReconConfig(iters=200), True)
    fit(module)
    losses = module.losses
    assert torch.isfinite(losses).all()
    first, last = float(losses[:20].mean()), float(losses[-20:].mean())
    assert last < 0.75 * first, (first, last)
    assert module.loss_summary()[1] < module.loss_summary()[0]


def test_genie_learns_weight_steps_adaround_keeps_them():
    teacher, x = _tiny_resnet()
    scales = {}
    for learn in (True, False):
        student = _student(teacher, x)
        init = {n: m.weight_quantizer.scale.detach().clone() for n, m in student.named_modules()
                if isinstance(m, QuantLayer)}
        torch.manual_seed(0)
        reconstruct(student, teacher, x, TINY, learn_weight_step=learn, ctx=cpu_ctx())
        scales[learn] = {n: (init[n], m.weight_quantizer.scale.detach()) for n, m in student.named_modules()
                         if isinstance(m, QuantLayer)}
        # requires_grad flags are restored afterwards
        assert all(m.weight_quantizer.scale.requires_grad for m in quant_layers(student))
    assert all(not torch.equal(a, b) for a, b in scales[True].values())
    assert all(torch.equal(a, b) for a, b in scales[False].values())


class TwinConv(nn.Module):
    """A residual block of a class no table knows."""

    def __init__(self, c: int):
        super().__init__()
        self.a, self.b, self.relu = nn.Conv2d(c, c, 3, padding=1), nn.Conv2d(c, c, 3, padding=1), nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu(x + self.b(self.relu(self.a(x))))


def _custom_model() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 6, 3, padding=1), nn.ReLU(), TwinConv(6), TwinConv(6), nn.Flatten(),
                         nn.Linear(6 * 8 * 8, 5)).eval()


@pytest.mark.parametrize("user_blocks", [(), ("TwinConv",)])
def test_unknown_residual_class_is_reconstructed_as_blocks(user_blocks):
    teacher = _custom_model()
    x = torch.randn(32, 3, 8, 8)
    plan = plan_units(teacher, x[:2], user_blocks)
    assert [u.source for u in plan.units if u.kind == "block"] == ["model.blocks" if user_blocks else "merge"] * 2
    student = _student(teacher, x, blocks=plan.blocks)
    res = reconstruct(student, teacher, x, TINY, learn_weight_step=True, plan=plan, ctx=cpu_ctx())
    assert [(r["name"], r["kind"]) for r in res] == [("0", "layer"), ("2", "block"), ("3", "block"), ("5", "layer")]
    assert student[2].input_quantizer is student[2].a.act_quantizer  # the skip and conv a share it
    assert all(m.weight_quantizer.frozen is not None for m in quant_layers(student))
    with torch.no_grad():
        assert torch.isfinite(student(x)).all()


def test_non_finite_loss_is_a_one_line_user_error():
    teacher, x = _tiny_resnet()
    student = _student(teacher, x)
    xf, yf = _capture(teacher, teacher.fc, x, CPU, want_output=True)
    xq, _ = _capture(student, student.fc, x, CPU, want_output=False)
    yf[:] = float("nan")
    module = ReconModule(student.fc, "fc", xf, xq, yf, TINY, learn_weight_step=True)
    with pytest.raises(UserError) as e:
        fit(module)
    msg = str(e.value)
    assert "\n" not in msg and msg.startswith("recon") and "'fc'" in msg and "step 0" in msg


def test_losses_reach_the_lightning_logger(tmp_path):
    from pytorch_lightning.loggers import CSVLogger

    teacher, x = _tiny_resnet()
    student = _student(teacher, x)
    logger = CSVLogger(str(tmp_path), name="recon")
    reconstruct(student, teacher, x, replace(TINY, iters=20), learn_weight_step=True, ctx=cpu_ctx(logger=logger))
    text = (tmp_path / "recon" / "version_0" / "metrics.csv").read_text()
    assert "recon/layer1.0/loss" in text and "recon/fc/loss" in text


def test_per_unit_activation_init_sets_only_the_units_own_steps():
    from genie_exp.quant import act_quantizers
    from genie_exp.recon.runner import _init_unit_activations

    teacher, x = _tiny_resnet()
    student = convert(teacher, 2, 4, x[:2])  # no upfront calibration
    _init_unit_activations(student, student.layer2[0], x, CPU)
    inside = {id(q) for q in act_quantizers(student.layer2[0])}
    for q in act_quantizers(student):
        assert bool(q.initialized) == (id(q) in inside)
    res = reconstruct(student, teacher, x, TINY, learn_weight_step=True, ctx=cpu_ctx(), act_init_samples=16)
    assert all(bool(q.initialized) for q in act_quantizers(student)) and len(res) == 11
    with torch.no_grad():
        assert torch.isfinite(student(x)).all()


@pytest.mark.parametrize("anneal", [False, True])
def test_weight_step_learning_rate_anneals_behind_a_switch(anneal):
    teacher, x = _tiny_resnet()
    student = _student(teacher, x)
    xf, yf = _capture(teacher, teacher.fc, x, CPU, want_output=True)
    xq, _ = _capture(student, student.fc, x, CPU, want_output=False)
    cfg = replace(TINY, iters=20, anneal_weight_step=anneal)
    module = ReconModule(student.fc, "fc", xf, xq, yf, cfg, learn_weight_step=True)
    fit(module)
    groups = module._opt.param_groups
    last = 0.5 * (1 + math.cos(math.pi * 19 / 20))  # the factor of the last step
    assert groups[1]["lr"] == pytest.approx(cfg.lr_weight_step * (last if anneal else 1.0))
    assert groups[2]["lr"] == pytest.approx(cfg.lr_act_step * last)  # activation steps: always annealed
