"""Model registry, small-image architectures, the paper's ImageNet models and the teacher zoo."""
from . import imagenet, small  # noqa: F401  (register the built-in architectures)
from .registry import create_model, list_models, register_model

__all__ = ["create_model", "list_models", "register_model"]
