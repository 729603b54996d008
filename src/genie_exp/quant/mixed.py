"""Mixed precision under a size budget (`quant.budget.weight_bits_avg`), from the calibration set alone.

Sensitivity: for each layer that the budget allocates and each candidate bit width, the FP model's
logits with only that layer's weights rounded to nearest (its searched per-channel step) against the FP
logits on the calibration images, as a mean squared error relative to the logits' power. Allocation:
the bits per layer that minimise the summed sensitivities with the weight-count-weighted average of
those layers' bits at most the budget, solved exactly (a multiple-choice knapsack over the layers'
weight counts). The layers that the first/last/gate rules or quant.layer_bits fix keep their bits and
are outside the average, so `weight_bits_avg=3` is the size of uniform W3 with the same rules."""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Optional, Sequence

import numpy as np
import torch
import torch.nn as nn

from ..core.errors import UserError
from .grid import fake_quant_asym, search_weight_range
from .layer_bits import matches

CANDIDATES = (2, 3, 4, 8)
# Images the damage is measured on: the layers' ranking settles well before the calibration set's 256, and
# each measurement is a forward pass of the whole model (51 layers x 4 widths on mobilenetv2)
SENSITIVITY_IMAGES = 64
MAX_UNITS = 1 << 21  # the knapsack's capacity; coarser weight units (rounded up: never over budget) beyond it


@dataclass
class Allocation:
    budget: float  # the asked size-weighted average of the allocated layers' weight bits
    bits: dict[str, int]  # allocated layer -> weight bits
    weights: dict[str, int]  # allocated layer -> number of weights
    sensitivity: dict[str, dict[int, float]] = field(default_factory=dict)
    seconds: float = 0.0  # measuring the damage and allocating

    @property
    def average(self) -> float:
        total = sum(self.weights.values())
        return sum(self.bits[n] * self.weights[n] for n in self.bits) / total

    def layer_bits(self) -> dict[str, dict]:
        """As quant.layer_bits entries (exact layer names, weights only)."""
        return {n: {"w": b} for n, b in self.bits.items()}

    def to_dict(self) -> dict:
        return {"weight_bits_avg": self.budget, "achieved": round(self.average, 6), "seconds": round(self.seconds, 3),
                "bits": dict(self.bits),
                "sensitivity": {n: {str(b): v for b, v in s.items()} for n, s in self.sensitivity.items()}}

    def summary(self) -> str:
        counts = {b: sum(1 for v in self.bits.values() if v == b) for b in sorted(set(self.bits.values()))}
        shown = ", ".join(f"{n} at W{b}" for b, n in counts.items())
        return (f"mixed precision (quant.budget.weight_bits_avg={self.budget:g}): {len(self.bits)} layers, "
                f"{shown}; average {self.average:.4f} bits")


def allocated_layers(order: Sequence[str], gate_layers: Sequence[str], first_layer_bits: Optional[int],
                     last_layer_bits: Optional[int], gate_bits: Optional[int], layer_bits: dict) -> list[str]:
    """The layers (in execution order) whose weights would get quant.w: not the first (its own bits),
    not the last where last_layer_bits is set, not a gate's where gate_bits is set, none quant.layer_bits
    gives weight bits (the user fixed those)."""
    first, last = order[0], order[-1]
    out = []
    for name in order:
        if name == first or (name == last and last_layer_bits) or (gate_bits and name in gate_layers):
            continue
        if matches(name, {k: v for k, v in layer_bits.items() if "w" in v}):
            continue
        out.append(name)
    return out


@torch.no_grad()
def sensitivities(model: nn.Module, images: torch.Tensor, layers: Sequence[str], candidates: Sequence[int] = CANDIDATES,
                  p: float = 2.4, batch_size: int = SENSITIVITY_IMAGES) -> dict[str, dict[int, float]]:
    """Per layer and bit width: the relative output error with only that layer's weights quantized."""
    was_training = model.training
    model.eval()
    x = images[:batch_size]
    try:
        ref = model(x).float()
        power = ref.pow(2).mean().clamp(min=1e-12)
        out: dict[str, dict[int, float]] = {}
        for name in layers:
            layer = model.get_submodule(name)
            original = layer.weight.data.clone()
            out[name] = {}
            try:
                for bits in candidates:
                    scale, zp = search_weight_range(original, bits, p)
                    q = fake_quant_asym(original.flatten(1).float(), scale[:, None], zp[:, None], bits)
                    layer.weight.data.copy_(q.view_as(original).to(original.dtype))
                    out[name][int(bits)] = float((model(x).float() - ref).pow(2).mean() / power)
            finally:
                layer.weight.data.copy_(original)
    finally:
        model.train(was_training)
    return out


def allocate(sensitivity: dict[str, dict[int, float]], weights: dict[str, int], budget: float) -> dict[str, int]:
    """The bits per layer minimising the summed sensitivity with sum(bits x weights) <= budget x sum(weights)."""
    names = list(sensitivity)
    if not names:
        raise UserError("quant.budget.weight_bits_avg: no layer is left to allocate (the first/last/gate rules "
                        "and quant.layer_bits fix every layer)")
    choices = {n: sorted(sensitivity[n]) for n in names}
    low = min(min(c) for c in choices.values())
    high = max(max(c) for c in choices.values())
    if not low <= budget <= high:
        raise UserError(f"quant.budget.weight_bits_avg={budget:g} is outside the candidate bits {low}..{high}")
    total = sum(weights[n] for n in names)
    slack = budget * total - sum(min(choices[n]) * weights[n] for n in names)  # bits above the lowest choice
    unit = math.gcd(*[weights[n] for n in names])
    if (slack + 1e-9) / unit > MAX_UNITS:
        unit = max(unit, math.ceil(total * (high - low) / MAX_UNITS))
    capacity = int(math.floor(slack / unit + 1e-9))
    best = np.zeros(capacity + 1)  # best[c]: lowest summed sensitivity of the layers so far using <= c units
    picks = []
    for n in names:
        units = -(-weights[n] // unit)  # rounded up: a coarser unit never goes over the budget
        nxt = np.full(capacity + 1, np.inf)
        pick = np.zeros(capacity + 1, dtype=np.int8)
        for k, bits in enumerate(choices[n]):
            cost = (bits - min(choices[n])) * units
            if cost > capacity:
                continue
            cand = np.full(capacity + 1, np.inf)
            cand[cost:] = best[:capacity + 1 - cost] + sensitivity[n][bits]
            better = cand < nxt
            nxt = np.where(better, cand, nxt)
            pick = np.where(better, k, pick)
        best = nxt
        picks.append((n, pick, units))
    c = capacity
    out: dict[str, int] = {}
    for n, pick, units in reversed(picks):
        bits = choices[n][int(pick[c])]
        out[n] = bits
        c -= (bits - min(choices[n])) * units
    return {n: out[n] for n in names}


def mixed_allocation(model: nn.Module, images: torch.Tensor, layers: Sequence[str], budget: float,
                     p: float = 2.4, batch_size: int = SENSITIVITY_IMAGES, candidates: Sequence[int] = CANDIDATES) -> Allocation:
    t0 = time.time()
    sens = sensitivities(model, images, layers, candidates, p, batch_size)
    weights = {n: int(model.get_submodule(n).weight.numel()) for n in layers}
    bits = allocate(sens, weights, float(budget))
    return Allocation(float(budget), bits, weights, sens, time.time() - t0)
