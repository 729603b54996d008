#!/usr/bin/env bash
# sweep.sh QUEUE: every line "NAME SEED overrides..." of QUEUE through run.sh, two at a time; then the
# new run dirs (runs/, not in git) into results.jsonl.
set -uo pipefail
cd "$(dirname "$0")"
grep -v '^\s*#' "$1" | grep -v '^\s*$' | xargs -P 2 -L 1 ./run.sh
../../.venv/bin/python ../results.py .
