"""Fold each BatchNorm into the conv that feeds it (deployment-style numbers, `quant.fold_bn=true`).

In eval mode BN is an affine map per channel, so conv -> BN equals one conv with scaled weights and a
shifted bias; the folded model computes the same function and its weights are what gets quantized."""
from __future__ import annotations

import copy

import torch
import torch.nn as nn


@torch.no_grad()
def conv_bn_pairs(model: nn.Module, example: torch.Tensor) -> list[tuple[str, str]]:
    """(conv, bn) names where the BN reads exactly the conv's output tensor."""
    produced: dict[int, str] = {}
    pairs: list[tuple[str, str]] = []
    hooks = []
    for name, m in model.named_modules():
        if isinstance(m, nn.Conv2d):
            hooks.append(m.register_forward_hook(lambda _m, _a, out, n=name: produced.__setitem__(id(out), n)))
        elif isinstance(m, nn.BatchNorm2d):
            def pre(_m, args, n=name):
                conv = produced.get(id(args[0]))
                if conv is not None and (conv, n) not in pairs:
                    pairs.append((conv, n))
            hooks.append(m.register_forward_pre_hook(pre))
    try:
        model.eval()(example)
    finally:
        for h in hooks:
            h.remove()
    return pairs


@torch.no_grad()
def fold_batchnorm(model: nn.Module, example: torch.Tensor) -> nn.Module:
    """A copy of `model` with every conv -> BN pair folded into the conv (the BN becomes Identity)."""
    model = copy.deepcopy(model).eval()
    for conv_name, bn_name in conv_bn_pairs(model, example):
        conv, bn = model.get_submodule(conv_name), model.get_submodule(bn_name)
        factor = bn.weight / torch.sqrt(bn.running_var + bn.eps) if bn.affine else 1 / torch.sqrt(bn.running_var + bn.eps)
        shift = bn.bias if bn.affine else torch.zeros_like(bn.running_mean)
        bias = conv.bias if conv.bias is not None else torch.zeros_like(bn.running_mean)
        conv.weight.mul_(factor.view(-1, 1, 1, 1))
        conv.bias = nn.Parameter((bias - bn.running_mean) * factor + shift)
        parent, _, child = bn_name.rpartition(".")
        setattr(model.get_submodule(parent) if parent else model, child, nn.Identity())
    return model
