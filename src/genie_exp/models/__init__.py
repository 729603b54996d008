"""Model registry, small-image architectures and the teacher zoo."""
from . import small  # noqa: F401  (registers the built-in architectures)
from .registry import create_model, list_models, register_model

__all__ = ["create_model", "list_models", "register_model"]
