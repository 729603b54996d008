"""Round-to-nearest: the grid, its levels, its error, and the paper's first/second/last-layer rules."""
import pytest
import torch
import torch.nn as nn

from genie_exp.models import create_model
from genie_exp.quant import QuantLayer, WeightQuantizer, act_quantizers, calibrate_activations, convert
from genie_exp.quant.grid import search_act_scale


@pytest.mark.parametrize("bits", [2, 3, 4])
def test_exactly_2_pow_b_levels_per_channel(bits):
    torch.manual_seed(0)
    w = torch.randn(8, 4096)
    q = WeightQuantizer(w, bits)
    wq = q(w)
    for c in range(8):
        assert wq[c].unique().numel() == 2 ** bits
    codes = q.integer_codes(w)
    assert codes.min() >= 0 and codes.max() <= 2 ** bits - 1
    assert torch.allclose(wq, (codes - q.zero_point) * q.scale, atol=1e-6)


def test_error_shrinks_as_bits_grow():
    torch.manual_seed(0)
    w = torch.randn(16, 64, 3, 3)
    errs = [float((WeightQuantizer(w, b)(w) - w).pow(2).mean()) for b in range(2, 9)]
    assert all(a > b for a, b in zip(errs, errs[1:]))
    x = torch.randn(4096).relu()
    aerrs = []
    for b in range(2, 9):
        s = search_act_scale(x, b, signed=False)
        aerrs.append(float((torch.clamp(torch.round(x / s), 0, 2 ** b - 1) * s - x).pow(2).mean()))
    assert all(a > b for a, b in zip(aerrs, aerrs[1:]))


def test_grid_search_beats_plain_min_max():
    torch.manual_seed(0)
    w = torch.randn(4, 2048)
    w[:, 0] = 12.0  # one outlier per channel: clipping it must pay off at 3 bits
    q = WeightQuantizer(w, 3)
    minmax_scale = (w.max(1).values - w.min(1).values.clamp(max=0)) / 7
    assert (q.scale.view(-1) < minmax_scale).all()


def test_first_second_last_layer_rules():
    model = create_model("resnet20").eval()
    q = convert(model, 2, 3, torch.randn(2, 3, 32, 32))
    first, last = q.conv1, q.fc
    assert isinstance(first, QuantLayer) and first.weight_quantizer.bits == 8 and first.act_quantizer is None
    assert last.weight_quantizer.bits == 8 and last.act_quantizer.bits == 8
    second = q.layer1[0].conv1  # reads the first layer's output
    assert second.act_quantizer.bits == 8 and second.weight_quantizer.bits == 2
    assert q.layer2[0].conv2.act_quantizer.bits == 3 and q.layer2[0].conv2.weight_quantizer.bits == 2


def test_rules_are_switches():
    model = create_model("resnet20").eval()
    q = convert(model, 2, 3, torch.randn(2, 3, 32, 32), first_layer_bits=2, quantize_image=True,
                second_input_bits=None, last_layer_bits=None)
    assert q.conv1.weight_quantizer.bits == 2 and q.conv1.act_quantizer.bits == 3
    assert q.layer1[0].conv1.act_quantizer.bits == 3
    assert q.fc.weight_quantizer.bits == 2 and q.fc.act_quantizer.bits == 3


def test_block_input_quantizer_is_shared_and_applied_once():
    model = create_model("resnet20").eval()
    q = convert(model, 4, 4, torch.randn(2, 3, 32, 32))
    block = q.layer2[0]  # stride-2 block: conv1 and the downsample conv read the block input
    assert block.conv1.act_quantizer is block.input_quantizer is block.downsample[0].act_quantizer
    assert not block.conv1.quantize_input and block.conv2.quantize_input
    assert len({id(a) for a in act_quantizers(q)}) == len(act_quantizers(q))
    calibrate_activations(q, torch.randn(16, 3, 32, 32))
    # the identity skip of an unstrided block sees the quantized input too
    seen = {}
    b = q.layer1[1]
    h = b.conv1.register_forward_pre_hook(lambda m, a: seen.__setitem__("x", a[0]))
    q(torch.randn(4, 3, 32, 32))
    h.remove()
    s = float(b.input_quantizer.scale)
    assert torch.allclose(seen["x"] / s, torch.round(seen["x"] / s), atol=1e-4)


def test_rtn_student_close_to_teacher_at_8_bits():
    torch.manual_seed(0)
    model = create_model("resnet20").eval()
    x = torch.randn(64, 3, 32, 32)
    q8 = convert(model, 8, 8, x[:2])
    calibrate_activations(q8, x)
    q2 = convert(model, 2, 2, x[:2])
    calibrate_activations(q2, x)
    with torch.no_grad():
        ref = model(x)
        e8, e2 = (q8(x) - ref).pow(2).mean(), (q2(x) - ref).pow(2).mean()
    assert e8 < 0.05 * e2


def test_unknown_architecture_converts_every_layer():
    model = nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU(), nn.Flatten(), nn.Linear(8 * 30 * 30, 5))
    q = convert(model, 4, 4, torch.randn(2, 3, 32, 32))
    assert isinstance(q[0], QuantLayer) and isinstance(q[3], QuantLayer)
