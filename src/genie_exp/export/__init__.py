"""Exports of a quantized model: ONNX in QCDQ form, and the encodings (JSON + safetensors)."""
from .encodings import export_encodings
from .onnx_export import export_onnx

__all__ = ["export_encodings", "export_onnx"]
