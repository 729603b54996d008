"""One Adam step per parameter group through torch._fused_adam_ itself: the maths of
torch.optim.Adam(fused=True), which calls the same kernel, without its per-step Python bookkeeping,
which costs as much as the update on a reconstruction unit's few small tensors."""
from __future__ import annotations

import torch


def fused_adam_step(opt: torch.optim.Adam) -> None:
    """`opt.step()` for an Adam made with fused=True (no amsgrad, no grad scaling)."""
    for group in opt.param_groups:
        params = [p for p in group["params"] if p.grad is not None]
        if not params:
            continue
        states = [opt.state[p] for p in params]
        for p, state in zip(params, states):
            if not state:  # as torch.optim.Adam initialises a fused group's state
                state["step"] = torch.zeros((), dtype=torch.float32, device=p.device)
                state["exp_avg"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                state["exp_avg_sq"] = torch.zeros_like(p, memory_format=torch.preserve_format)
        steps = [s["step"] for s in states]
        torch._foreach_add_(steps, 1)
        beta1, beta2 = group["betas"]
        torch._fused_adam_(params, [p.grad for p in params], [s["exp_avg"] for s in states],
                           [s["exp_avg_sq"] for s in states], [], steps, amsgrad=False, lr=group["lr"], beta1=beta1,
                           beta2=beta2, weight_decay=group["weight_decay"], eps=group["eps"], maximize=False,
                           grad_scale=None, found_inf=None)
