"""recon.compile: the compiled kernels of quant/kernels.py compute what the eager code computes
(values and gradients, both layouts, with and without QDrop), a reconstruction with them ends in the
eager one's student, and `auto` compiles only where it can and where the run is long enough."""
from __future__ import annotations

import pytest
import torch

import genie_exp
from genie_exp.config import ReconConfig
from genie_exp.core.errors import UserError
from genie_exp.models import create_model
from genie_exp.quant import kernels
from genie_exp.quant.lsq import lsq_qdrop
from genie_exp.quant.weight import WeightQuantizer
from genie_exp.core import compiled
from genie_exp.core.compiled import use_kernels
from genie_exp.recon.stage import AUTO_MIN_STEPS

pytestmark = pytest.mark.skipif(not compiled.can_compile(torch.device("cpu")),
                                reason="no C++ compiler for torch.compile here")
LAYOUTS = [(4, torch.contiguous_format), (4, torch.channels_last), (2, torch.contiguous_format)]


def _tensor(rank: int, fmt, scale: float = 1.0, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    shape = (4, 6, 5, 7) if rank == 4 else (12, 9)
    t = torch.randn(shape, generator=g) * scale
    return t.contiguous(memory_format=fmt) if rank == 4 else t


@pytest.mark.parametrize("rank, fmt", LAYOUTS)
@pytest.mark.parametrize("with_mask, rounded", [(True, False), (False, False), (True, True)])
def test_fused_lsq_is_lsq_qdrop(rank, fmt, with_mask, rounded):
    x0, grad = _tensor(rank, fmt, 3.0), _tensor(rank, fmt, seed=1)
    mask = (_tensor(rank, fmt, seed=2) > 0).float() if with_mask else None
    results = []
    for fn in (lsq_qdrop, kernels.FusedLsq.apply):
        x, s = x0.clone().requires_grad_(True), torch.tensor(0.4, requires_grad=True)
        out = fn(x, s, -4, 3, mask, rounded)
        out.backward(grad)
        results.append((out.detach(), x.grad, s.grad))
        assert out.stride() == x0.stride()  # handed back in the input's layout
    (a, ga, sa), (b, gb, sb) = results
    assert torch.equal(a, b) and torch.equal(ga, gb)
    assert torch.allclose(sa, sb, rtol=1e-5, atol=1e-5)  # a sum in another order


@pytest.mark.parametrize("rank, fmt", [(4, torch.contiguous_format), (4, torch.channels_last), (2, torch.contiguous_format)])
@pytest.mark.parametrize("beta", [None, 7.5])
def test_fused_soft_weights_are_the_soft_weights_with_their_regulariser(rank, fmt, beta):
    w = _tensor(rank, fmt, 0.2)
    results = []
    for fused in (False, True):
        q = WeightQuantizer(w, 3)
        q.mode = "soft"
        if rank == 4:
            q.to(memory_format=fmt)
        if fused:
            q.regulariser = (torch.tensor(0.0 if beta is None else 0.7), torch.tensor(2.0 if beta is None else beta))
        out = q(w)
        loss = (out * _tensor(rank, fmt, seed=3)).sum()
        if beta is not None and not fused:
            loss = loss + 0.7 * q.round_loss(beta)
        loss.backward()
        value = None if beta is None else (kernels.round_loss(q.rounding, torch.tensor(beta)) if fused
                                           else q.round_loss(beta).detach())
        results.append((out.detach(), q.rounding.grad, q.scale.grad, value))
    (a, va, sa, ra), (b, vb, sb, rb) = results
    assert torch.allclose(a, b, atol=1e-7) and torch.allclose(va, vb, rtol=1e-5, atol=1e-7)
    assert torch.allclose(sa, sb, rtol=1e-5, atol=1e-6)
    assert (ra is None and rb is None) or torch.allclose(ra, rb, rtol=1e-6)


@pytest.mark.parametrize("rank, fmt", LAYOUTS)
def test_fused_mix_and_loss_are_the_eager_ones(rank, fmt):
    x_fp, x_q, target = (_tensor(rank, fmt, seed=s) for s in (4, 5, 6))
    idx = torch.tensor([3, 0, 0, 2])
    mask = (_tensor(rank, fmt, seed=7)[: len(idx)] > 0).float()
    assert torch.equal(kernels.mix(x_fp, x_q, idx, mask), torch.lerp(x_q[idx], x_fp[idx], mask))
    out0 = _tensor(rank, fmt, seed=8)[: len(idx)]
    grads = []
    for fused in (False, True):
        out = out0.clone().requires_grad_(True)
        loss = kernels.FusedLoss.apply(out, target, idx) if fused else (out - target[idx]).pow(2).sum(1).mean()
        loss.backward()
        grads.append((loss.detach(), out.grad))
    assert torch.allclose(grads[0][0], grads[1][0], rtol=1e-6) and torch.allclose(grads[0][1], grads[1][1], atol=1e-7)


def test_a_reconstruction_with_the_kernels_ends_in_the_eager_student():
    torch.manual_seed(0)
    model = create_model("resnet20", width=8).eval()
    with torch.no_grad():  # BN statistics of some data
        model.train()
        for _ in range(2):
            model(torch.randn(32, 3, 16, 16))
        model.eval()
    x = torch.randn(32, 3, 16, 16)
    students = [genie_exp.quantize(model, x, w_bits=2, a_bits=4, recon=ReconConfig(iters=4, batch_size=8, compile=c),
                                   progress=False, device="cpu") for c in ("false", "true")]
    a, b = (s.state_dict() for s in students)
    assert all(torch.allclose(a[k].float(), b[k].float(), atol=1e-5) for k in a)
    with torch.no_grad():
        assert torch.allclose(students[0](x), students[1](x), atol=1e-4)
    assert [u["name"] for u in students[0].genie_report.units] == [u["name"] for u in students[1].genie_report.units]


def test_auto_compiles_where_it_can_and_where_it_pays(monkeypatch):
    cpu = torch.device("cpu")
    def use(choice, steps):
        return use_kernels(choice, "recon.compile", cpu, steps, AUTO_MIN_STEPS)

    assert not use("auto", AUTO_MIN_STEPS - 1) and use("auto", AUTO_MIN_STEPS) and use("true", 10)
    assert not use("false", 10 ** 6) and use(True, 1)  # Hydra hands `true` over as a bool
    monkeypatch.setattr(compiled.shutil, "which", lambda _name: None)  # no C++ compiler
    assert not use("auto", 10 ** 6)
    with pytest.raises(UserError, match="recon.compile=true: torch.compile cannot build kernels"):
        use("true", 10)
    with pytest.raises(UserError, match="unknown recon.compile 'fast'"):
        use("fast", 10)
