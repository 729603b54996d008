"""Fake quantization: weight / activation quantizers, QuantLayer and model conversion."""
from .act import ActQuantizer
from .convert import calibrate_activations, convert
from .layer import QuantLayer, act_quantizers, quant_layers, set_quant_state
from .weight import WeightQuantizer

__all__ = ["ActQuantizer", "QuantLayer", "WeightQuantizer", "act_quantizers", "calibrate_activations",
           "convert", "quant_layers", "set_quant_state"]
