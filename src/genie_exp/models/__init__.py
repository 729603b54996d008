"""Model registry, small-image architectures, the paper's ImageNet models and the teacher zoo."""
from . import imagenet, reference, small  # noqa: F401  (register the built-in architectures and `custom`)
from .registry import MODELS, create_model, list_models, model_names, register_model

__all__ = ["MODELS", "create_model", "list_models", "model_names", "register_model"]
