"""The bottom layer: plumbing every stage uses (errors, files, hashing, random streams, devices and
processes, memory layout, progress, quiet libraries, the run context). It imports no stage."""
