# Sourced by the table scripts of this folder: the repo root as working dir, and run DIR OVERRIDES...
# A run whose directory exists or whose line is in results.jsonl is skipped (done, or running in another
# shell): delete it to rerun. The run dirs (runs/, not in git) go into results.jsonl at the end
# (experiments/results.py), the report is made from that file into reports/<table>/.
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
PY=${PY:-.venv/bin/python}
HERE=experiments/fashion_mnist
run() { local dir=$1; shift; [ -e "$dir" ] && return 0
  grep -qF "{\"name\": \"${dir#$HERE/}\", " $HERE/results.jsonl 2>/dev/null && return 0  # in results.jsonl
  mkdir -p "$dir"; $PY -m genie_exp "$@" progress=false hydra.run.dir="$dir"; }
