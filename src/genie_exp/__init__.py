"""genie_exp: Genie zero-shot quantization (Genie-D distillation + Genie-M reconstruction)."""

__version__ = "0.1.0"
