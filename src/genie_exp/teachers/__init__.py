"""Teachers: the FP32 model a run quantizes. Where its weights come from (source.py), training one for
the embedded data (training.py) and its FP32 top-1, evaluated once per teacher and test set (fp32_top1.py)."""
from .fp32_top1 import teacher_top1
from .source import ZOO_DIR, build_model, load_teacher, teacher_path, zoo_name

__all__ = ["ZOO_DIR", "build_model", "load_teacher", "teacher_path", "teacher_top1", "zoo_name"]
