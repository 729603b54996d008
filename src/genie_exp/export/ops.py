"""Two custom torch ops that the ONNX exporter turns into standard quantization nodes:

- `genie_exp::qcdq(x, scale, zero_point, lo, hi)`: fake quantization of an activation,
  (clamp(round(x / s) + zp, lo, hi) - zp) * s  ->  QuantizeLinear -> Clip(lo, hi) -> DequantizeLinear;
- `genie_exp::dequant(codes, scale, zero_point)`: integer weight codes (uint8, per output channel) back
  to floats, (codes - zp) * s  ->  DequantizeLinear(axis=0), with the codes as an initializer.

In PyTorch they compute exactly what the fake-quant model computes (quant/), so an exported graph can
be checked against the model it came from."""
from __future__ import annotations

import torch


@torch.library.custom_op("genie_exp::qcdq", mutates_args=())
def qcdq(x: torch.Tensor, scale: torch.Tensor, zero_point: torch.Tensor, lo: int, hi: int) -> torch.Tensor:
    zp = zero_point.to(x.dtype)
    return (torch.clamp(torch.round(x / scale) + zp, lo, hi) - zp) * scale


@qcdq.register_fake
def _qcdq_shape(x, scale, zero_point, lo, hi):
    return torch.empty_like(x)


@torch.library.custom_op("genie_exp::dequant", mutates_args=())
def dequant(codes: torch.Tensor, scale: torch.Tensor, zero_point: torch.Tensor) -> torch.Tensor:
    shape = (-1,) + (1,) * (codes.dim() - 1)
    return (codes.float() - zero_point.float().view(shape)) * scale.view(shape)


@dequant.register_fake
def _dequant_shape(codes, scale, zero_point):
    return torch.empty(codes.shape, dtype=torch.float32, device=codes.device)
