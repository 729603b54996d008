"""Teacher training (the FP32 models of the zoo)."""
from .teacher import TeacherModule, train_teacher

__all__ = ["TeacherModule", "train_teacher"]
