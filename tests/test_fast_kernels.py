"""The hand-written pieces that make the steps fast compute what the plain autograd versions compute:
LSQ + QDrop, the QDrop mask, the BN-statistics mean/variance, and NHWC vs NCHW stages."""
from __future__ import annotations

import pytest
import torch

from genie_exp.distillation.bn_stats import group_stats
from genie_exp.models import create_model
from genie_exp.quant.lsq import lsq_qdrop
from genie_exp.quant.qdrop import drop_mask, qdrop_mix

from conftest import cpu_ctx, distill_run


def _lsq_reference(x, s, lo, hi, mask, rounded=False):
    """Through autograd. The paper's LSQ: clamp, then round straight through. `rounded`: round
    straight through, then clamp (the clip test sees round(x/s); recon.lsq_grad=rounded, the
    project's first implementation, line for line)."""
    xs = x / s
    if rounded:
        q = torch.clamp(xs + (torch.round(xs) - xs).detach(), lo, hi) * s
    else:
        c = torch.clamp(xs, lo, hi)
        q = (c + (torch.round(c) - c).detach()) * s
    return q if mask is None else torch.where(mask.bool(), x, q)


@pytest.mark.parametrize("rounded", [False, True])
@pytest.mark.parametrize("signed", [False, True])
@pytest.mark.parametrize("with_mask", [False, True])
def test_lsq_qdrop_matches_the_autograd_reference(signed, with_mask, rounded):
    torch.manual_seed(0)
    lo, hi = (-8, 7) if signed else (0, 15)
    x = (torch.randn(4, 3, 5, 5) * 2 + (0.0 if signed else 1.0)).double().requires_grad_()
    s = torch.tensor(0.2, dtype=torch.double, requires_grad=True)
    mask = (torch.rand(4, 3, 5, 5) < 0.5).double() if with_mask else None
    w = torch.randn(4, 3, 5, 5).double()
    out = lsq_qdrop(x, s, lo, hi, mask, rounded)
    ref = _lsq_reference(x, s, lo, hi, mask, rounded)
    assert torch.equal(out, ref)
    got = torch.autograd.grad((out * w).sum(), [x, s])
    want = torch.autograd.grad((ref * w).sum(), [x, s])
    assert torch.allclose(got[0], want[0]) and torch.allclose(got[1], want[1])
    assert float(got[1]) != 0.0  # the step does get a gradient


def test_the_two_lsq_gradients_differ_within_half_a_step_of_the_bounds():
    lo, hi = 0, 15
    xs = torch.tensor([-0.7, -0.3, 0.0, 3.2, 15.0, 15.3, 15.7], dtype=torch.double)
    grads = []
    for rounded in (False, True):
        x = xs.clone().requires_grad_()
        s = torch.tensor(1.0, dtype=torch.double, requires_grad=True)
        grads.append(torch.autograd.grad(lsq_qdrop(x, s, lo, hi, None, rounded).sum(), [x, s]))
    (gx_paper, gs_paper), (gx_round, gs_round) = grads
    assert gx_paper.tolist() == [0, 0, 1, 1, 1, 0, 0]
    assert gx_round.tolist() == [0, 0, 0, 1, 0, 0, 0]  # everything that rounds to lo or hi counts as clipped
    # step gradient: round(x/s) - x/s inside, lo / hi outside
    assert float(gs_paper) == pytest.approx(0 + 0 + 0 - 0.2 + 0 + 15 + 15)
    assert float(gs_round) == pytest.approx(0 + 0 + 0 - 0.2 + 15 + 15 + 15)


@pytest.mark.parametrize("p", [0.1, 0.5, 0.9])
def test_drop_mask_keeps_the_requested_fraction(p):
    torch.manual_seed(1)
    m = drop_mask(torch.empty(1000, 1001), p)
    assert set(m.unique().tolist()) <= {0.0, 1.0}
    assert abs(float(m.mean()) - p) < 0.003  # 1M draws: the std of the mean is below 0.0005


def test_qdrop_mix_returns_exactly_one_of_the_two_tensors():
    torch.manual_seed(2)
    fp, q = torch.randn(64, 8, 4, 4), torch.randn(64, 8, 4, 4)
    out = qdrop_mix(fp, q, 0.5)
    assert torch.all((out == fp) | (out == q))
    assert 0.4 < float((out == fp).float().mean()) < 0.6
    assert qdrop_mix(fp, q, 0.0) is q


@pytest.mark.parametrize("fmt", [torch.contiguous_format, torch.channels_last])
def test_group_stats_match_var_mean_with_gradients(fmt):
    torch.manual_seed(3)
    x = (torch.randn(8, 5, 6, 7) * 2 + 1).contiguous(memory_format=fmt).double().requires_grad_()
    mean, std = group_stats(x, 2)
    var_ref, mean_ref = torch.var_mean(x.reshape(2, 4, 5, -1), dim=(1, 3), correction=0)
    assert torch.allclose(mean, mean_ref) and torch.allclose(std, torch.sqrt(var_ref + 1e-6))
    assert torch.autograd.gradcheck(lambda t: group_stats(t, 2), (x,))


def test_nhwc_distillation_gives_the_nchw_images():
    torch.manual_seed(5)  # a fixed teacher: a random one can make 3 steps at lr 0.1 chaotic
    teacher = create_model("resnet20", width=4).eval()
    a = distill_run(teacher, "genie", 8, 8, 3, 16, channels_last=False).images
    b = distill_run(teacher, "genie", 8, 8, 3, 16, channels_last=True).images
    assert b.is_contiguous()  # handed on in the default layout
    assert torch.allclose(a, b, atol=1e-4)  # same maths; only the summation order differs
    assert next(teacher.parameters()).is_contiguous()  # the teacher is NCHW again


def test_nhwc_reconstruction_gives_the_nchw_student():
    from genie_exp.config import ReconConfig
    from genie_exp.quant import calibrate_activations, convert
    from genie_exp.recon.runner import reconstruct

    torch.manual_seed(4)
    # width 8: a narrower net has strided 1x1 convs that nhwc_safe keeps in NCHW
    teacher, x = create_model("resnet20", width=8).eval(), torch.randn(16, 3, 16, 16)
    outs = []
    # One thread: with several, how the convolutions split their sums depends on the machine, and a
    # weight whose rounding sits on the fence can flip between the layouts (the layouts, not the
    # threads, are what this test compares).
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        for nhwc in (False, True):
            student = convert(teacher, 3, 4, x[:2])
            calibrate_activations(student, x)
            reconstruct(student, teacher, x, ReconConfig(iters=6, batch_size=8), learn_weight_step=True,
                        ctx=cpu_ctx(channels_last=nhwc))
            assert all(p.is_contiguous() for p in student.parameters())
            with torch.no_grad():
                outs.append(student(x))
    finally:
        torch.set_num_threads(threads)
    assert torch.allclose(outs[0], outs[1], atol=1e-3)


def test_nhwc_is_refused_where_onednn_would_corrupt_memory():
    from genie_exp.core.layout import nhwc_safe, use_nhwc

    assert not nhwc_safe(create_model("resnet20", width=4))  # a 1x1 stride-2 shortcut reads 4 channels
    assert nhwc_safe(create_model("resnet20", width=8))
    assert use_nhwc(True, create_model("resnet20", width=8)) and not use_nhwc(False, create_model("resnet20"))


def test_nhwc_evaluation_gives_the_nchw_top1():
    from torch.utils.data import DataLoader, TensorDataset

    from genie_exp.top1 import evaluate

    torch.manual_seed(5)
    model = create_model("resnet20", width=8).eval()
    x = torch.randn(48, 3, 16, 16)
    labels = model(x).argmax(1)
    labels[::3] = (labels[::3] + 1) % 10  # a third wrong, so that a layout slip would show
    loader = DataLoader(TensorDataset(x, labels), batch_size=16)
    assert evaluate(model, loader, channels_last=True) == evaluate(model, loader) == 32 / 48
    assert all(p.is_contiguous() for p in model.parameters())  # the model's layout is given back
