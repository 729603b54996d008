"""`convert(model, ...)`: every Conv/Linear becomes a QuantLayer, with the paper's bit rules:
first layer W8 with its input (the image) not quantized, the second layer's input 8-bit, the last
layer W8A8; and one activation quantizer shared by the layers that read a block's input, so that a
residual tensor feeding both a conv and the skip add is quantized once. The blocks are named by the
caller (the reconstruction plan, partition/plan.py)."""
from __future__ import annotations

import copy
from typing import Iterable, Optional

import torch
import torch.nn as nn

from ..partition import LAYER_TYPES, execution_order, plan_units
from .act import ActQuantizer
from .layer import QuantLayer
from .layer_bits import bits_for, check_all_match, check_layer_bits


def _set_module(root: nn.Module, name: str, new: nn.Module) -> None:
    parent_name, _, child = name.rpartition(".")
    setattr(root.get_submodule(parent_name) if parent_name else root, child, new)


def _block_input_pre_hook(block: nn.Module, args):
    return (block.input_quantizer(args[0]),) + tuple(args[1:])


@torch.no_grad()
def _readers_of_block_inputs(model: nn.Module, blocks: dict[str, nn.Module], example: torch.Tensor):
    """For each block, its own QuantLayers that receive the block's input tensor itself (a layer
    outside the block that reads the same tensor keeps its own quantizer)."""
    current: dict[str, torch.Tensor] = {}
    readers: dict[str, list[QuantLayer]] = {n: [] for n in blocks}
    hooks = []
    for n, b in blocks.items():
        hooks.append(b.register_forward_pre_hook(lambda _m, a, n=n: current.__setitem__(n, a[0])))
    inside = {n: {id(m) for m in b.modules()} for n, b in blocks.items()}
    for layer in model.modules():
        if isinstance(layer, QuantLayer):
            def seen(m, a):
                for n, t in current.items():
                    if a[0] is t and id(m) in inside[n] and m not in readers[n]:
                        readers[n].append(m)
            hooks.append(layer.register_forward_pre_hook(seen))
    try:
        model(example)
    finally:
        for h in hooks:
            h.remove()
    return readers


def convert(model: nn.Module, w_bits: int, a_bits: int, example: torch.Tensor, *,
            first_layer_bits: int = 8, quantize_image: bool = False,
            second_input_bits: Optional[int] = 8, last_layer_bits: Optional[int] = 8,
            blocks: Optional[Iterable[str]] = None, p: float = 2.4, inplace: bool = False,
            act_grid: str = "symmetric", gate_layers: Iterable[str] = (), gate_bits: Optional[int] = None,
            layer_bits: Optional[dict] = None) -> nn.Module:
    """A fake-quantized copy of `model` (weights quantized at init, activation steps not yet set).
    `blocks`: paths of the modules reconstructed as blocks, whose input is quantized once for all
    their layers that read it (and for the skip path); None: the blocks of the model's graph plan.
    `gate_layers` (the plan's) get `gate_bits` for their weights and input when it is set;
    `layer_bits` ({name or glob: {"w": bits, "a": bits}}, layer_bits.py) wins over every rule."""
    layer_bits = check_layer_bits(layer_bits or {})
    model = model if inplace else copy.deepcopy(model)
    model.eval()
    if blocks is None:
        blocks = plan_units(model, example).blocks
    layers = {n: m for n, m in model.named_modules() if isinstance(m, LAYER_TYPES)}
    if not layers:
        return model
    order = execution_order(model, example, layers)
    check_all_match(layer_bits, order)
    first, last = order[0], order[-1]
    second = order[1] if len(order) > 1 else None
    for name in order:
        w, a = w_bits, a_bits
        if name == first:
            w, a = first_layer_bits, (a_bits if quantize_image else None)
        elif name == last:
            w = last_layer_bits or w_bits
            a = last_layer_bits or a_bits
        elif name == second and second_input_bits:
            a = second_input_bits
        if gate_bits and name in gate_layers and name not in (first, last):
            w = a = gate_bits  # a gate's layers: weights and input (quant.gate_bits)
        w, a = bits_for(name, w, a, layer_bits)
        _set_module(model, name, QuantLayer(layers[name], w, a, p, act_grid))

    second_layer = model.get_submodule(second) if second else None
    block_modules = {name: model.get_submodule(name) for name in blocks}
    for name, readers in _readers_of_block_inputs(model, block_modules, example).items():
        readers = [r for r in readers if r.act_quantizer is not None]
        if not readers:
            continue
        # The second layer's 8-bit rule wins if it is among the readers; otherwise the first reader's bits.
        owner = second_layer if second_layer in readers else readers[0]
        shared: ActQuantizer = owner.act_quantizer
        block = block_modules[name]
        block.input_quantizer = shared
        block.register_forward_pre_hook(_block_input_pre_hook)
        for r in readers:
            r.act_quantizer = shared
            r.quantize_input = False
    return model


@torch.no_grad()
def calibrate_activations(model: nn.Module, images: torch.Tensor, batch_size: int = 256) -> None:
    """Set every activation step from one forward pass of (up to `batch_size`) calibration images,
    input to output, each layer seeing the already-quantized tensors of the layers before it."""
    quantizers = [m for m in model.modules() if isinstance(m, ActQuantizer)]
    for q in quantizers:
        q.calibrating = True
    was_training = model.training
    model.eval()
    try:
        model(images[:batch_size])
    finally:
        for q in quantizers:
            q.calibrating = False
        model.train(was_training)
