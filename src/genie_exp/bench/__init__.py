"""`python -m genie_exp.bench`: each stage's measured step against its floor, and the run end to end."""
