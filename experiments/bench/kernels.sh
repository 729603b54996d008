#!/usr/bin/env bash
# The embedded default's bench with the compiled reconstruction kernels from an empty compile cache (what
# a first run pays; latest.json) and with eager kernels, one after the other on
# an otherwise idle machine.
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${PY:-.venv/bin/python}
OUT=experiments/bench
cold=$(mktemp -d)
TORCHINDUCTOR_CACHE_DIR=$cold $PY -m genie_exp.bench progress=false recon.compile=true bench.out=$OUT/latest.json
rm -rf "$cold"
$PY -m genie_exp.bench progress=false recon.compile=false bench.out=$OUT/eager.json
