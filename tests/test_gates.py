"""Squeeze-and-excitation gates and Hardswish (MobileNetV3, EfficientNet, RegNetY): the quantizers a
gate gets and their signs, the zero-point grid quant.act_grid=auto gives activations that reach only
a little below zero, and the quantized gate net saved, reloaded and exported as it computes."""
from __future__ import annotations

import pytest
import torch
import torch.nn as nn

import genie_exp
from genie_exp.quant import calibrate_activations, convert
from genie_exp.quant.grid import search_act_grid

from conftest import Umkehr, with_bn_statistics


class Torwerk(nn.Module):
    """Two gated inverted residuals (conftest.Umkehr) behind a Hardswish stem."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.Hardswish())
        self.s1, self.s2 = Umkehr(8, 8), Umkehr(8, 8)
        self.head = nn.Linear(8, 5)

    def forward(self, x):
        return self.head(self.s2(self.s1(self.stem(x))).mean((2, 3)))


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return with_bn_statistics(Torwerk(), (16, 3, 12, 12))


X = torch.randn(32, 3, 12, 12, generator=torch.Generator().manual_seed(2))


def _student(model, grid: str):
    s = convert(model, 4, 4, X[:2], act_grid=grid)
    calibrate_activations(s, X)
    return s


@pytest.mark.parametrize("grid", ["symmetric", "auto"])
def test_a_gate_has_its_quantizers_with_the_right_signs(model, grid):
    s = _student(model, grid)
    gate = s.s2.pforte
    reduce_q, expand_q = gate.eng.act_quantizer, gate.weit.act_quantizer
    assert reduce_q.is_initialized and expand_q.is_initialized and reduce_q is not expand_q
    assert not expand_q.is_signed and expand_q.levels() == (0, 15)  # it reads a ReLU
    assert reduce_q.is_signed  # it reads the pooled Hardswish, which goes below zero
    # what the gate multiplies is read, quantized, by the projection
    proj_q = s.s2.ab[0].act_quantizer
    assert proj_q.is_initialized and proj_q.is_signed


def test_auto_grid_puts_the_zero_where_a_hardswish_range_needs_it(model):
    sym, auto = _student(model, "symmetric"), _student(model, "auto")
    q_sym, q_auto = sym.s1.tief[0].act_quantizer, auto.s1.tief[0].act_quantizer  # reads Hardswish
    assert q_sym.levels() == (-8, 7)
    lo, hi = q_auto.levels()
    assert -8 < lo < 0 and hi - lo == 15
    x = torch.nn.functional.hardswish(4 * torch.randn(20000, generator=torch.Generator().manual_seed(0)))

    def error(grid):
        step, offset = search_act_grid(x, 4, grid)
        return (torch.clamp(torch.round(x / step), -offset, 15 - offset) * step - x).pow(2).mean()
    assert error("auto") < 0.5 * error("symmetric")
    # a symmetric input keeps the symmetric grid under auto
    y = torch.randn(20000, generator=torch.Generator().manual_seed(1))
    assert search_act_grid(y, 4, "auto")[1] == 8


def test_an_unknown_grid_is_one_line(model):
    with pytest.raises(genie_exp.UserError, match="quant.act_grid"):
        convert(model, 4, 4, X[:2], act_grid="asym")


def test_the_gate_net_with_zero_points_reloads_and_exports_as_it_computes(model, tmp_path):
    q = genie_exp.quantize(model, X, w_bits=4, a_bits=4, iters=4, batch_size=8, progress=False, device="cpu",
                           act_grid="auto")
    offsets = {m.low for m in q.modules() if isinstance(m, genie_exp.quant.act.ActQuantizer) and m.is_initialized}
    assert any(0 < o < 8 for o in offsets)  # some quantizer took a zero-point grid
    back = genie_exp.load_quantized(genie_exp.save_quantized(q, tmp_path / "q.pt"))
    with torch.no_grad():
        assert torch.equal(back(X), q(X))
    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnxscript")
    from genie_exp.export import export_onnx

    path = export_onnx(q, [3, 12, 12], tmp_path / "q.onnx")
    import onnx

    # a gate's convs carry a bias: it is an Add of its own, which onnxruntime does not re-quantize
    convs = [n for n in onnx.load(str(path)).graph.node if n.op_type == "Conv"]
    assert convs and all(len(n.input) == 2 for n in convs)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    plain = ort.SessionOptions()
    plain.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    unoptimized = ort.InferenceSession(str(path), plain, providers=["CPUExecutionProvider"])
    got = torch.from_numpy(session.run(None, {"images": X.numpy()})[0])
    as_written = torch.from_numpy(unoptimized.run(None, {"images": X.numpy()})[0])
    with torch.no_grad():
        ref = q(X)
    assert torch.allclose(got, ref, atol=1e-3) and torch.equal(got.argmax(1), ref.argmax(1))
    assert torch.allclose(got, as_written, atol=1e-5)


def test_a_state_saved_before_offsets_existed_loads_as_the_symmetric_grid(model):
    s = _student(model, "symmetric")
    old = {k: v for k, v in s.state_dict().items() if not k.endswith(".offset")}
    fresh = convert(model, 4, 4, X[:2])
    fresh.load_state_dict(old)
    assert fresh.s1.tief[0].act_quantizer.levels() == (-8, 7)
    with torch.no_grad():
        assert torch.equal(fresh.eval()(X), s.eval()(X))


def test_gate_bits_raise_only_the_gate_layers_and_survive_a_reload(model, tmp_path):
    from genie_exp.partition import plan_units

    plan = plan_units(model, X[:2])
    assert plan.gate_layers == ["s1.pforte.eng", "s1.pforte.weit", "s2.pforte.eng", "s2.pforte.weit"]
    q = genie_exp.quantize(model, X, w_bits=2, a_bits=4, iters=2, batch_size=8, progress=False, device="cpu",
                           gate_bits=8)
    assert q.s1.pforte.eng.weight_quantizer.bits == 8 and q.s1.pforte.eng.act_quantizer.bits == 8
    assert q.s1.auf[0].weight_quantizer.bits == 2 and q.s1.ab[0].act_quantizer.bits == 4
    back = genie_exp.load_quantized(genie_exp.save_quantized(q, tmp_path / "q.pt"))
    assert back.s2.pforte.weit.weight_quantizer.bits == 8
    with torch.no_grad():
        assert torch.equal(back(X), q(X))


def test_a_model_with_hardswish_is_told_about_the_zero_point_grid(model):
    from genie_exp.recon.stage import grid_hint

    hint = grid_hint(model, "symmetric")
    assert hint and "Hardswish" in hint and "quant.act_grid=auto" in hint
    assert grid_hint(model, "auto") is None
    assert grid_hint(nn.Sequential(nn.Conv2d(3, 4, 1), nn.ReLU()), "symmetric") is None
