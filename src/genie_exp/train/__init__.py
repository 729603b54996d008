"""`python -m genie_exp.train`: the teacher-training command (__main__.py); the training itself is
teachers/training.py."""
