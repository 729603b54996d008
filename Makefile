# genie-exp: `make run` runs the main job on the embedded default, `make test` passes the tests.
# Everything lives in .venv/ at the repo root; a second call installs nothing.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
FMNIST := /usr/share/datasets/fashion-mnist
ARGS ?=

.PHONY: help install data run test bench clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

install: $(STAMP) ## create .venv and install genie_exp (editable) with its extras and test tools

$(STAMP): setup.cfg pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev]'
	touch $(STAMP)

data: ## install the embedded benchmark data (Debian's dataset-fashion-mnist) when apt is usable
	@if [ -d $(FMNIST) ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		(apt-get install -y -qq dataset-fashion-mnist >/dev/null 2>&1 || \
		 (apt-get update -qq && apt-get install -y -qq dataset-fashion-mnist)) ; \
	else echo "note: $(FMNIST) missing and apt unusable; pass data.download=true data.root=DIR to fetch it"; fi

run: install data ## the whole pipeline on the embedded default (resnet20, Fashion-MNIST)
	$(PY) -m genie_exp $(ARGS)

test: install data ## the test suite
	$(PY) -m pytest tests --durations=15

bench: install data ## time each stage against its floor, end to end too (writes experiments/bench/latest.json)
	$(PY) -m genie_exp.bench $(ARGS)

clean: ## remove run outputs (keeps .venv and the caches)
	rm -rf outputs multirun lightning_logs
