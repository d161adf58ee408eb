# The two quick-start targets: `make run` (the main job) and `make test` (the checks CI runs).
# Each creates the local virtual environment .venv on first use.
# The distribution's Python (Debian 12: 3.11, built with PGO and LTO) when there is one: the fleet
# benchmark runs about 18 % faster on it than on an unoptimised build such as pyenv's default.
# Otherwise the first python3 on PATH; `make PYTHON=...` chooses another.
PYTHON ?= $(shell test -x /usr/bin/python3 && echo /usr/bin/python3 || echo python3)
VENV   ?= .venv
BIN    := $(VENV)/bin

.PHONY: run test lint bench diagrams fuzz soak clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

run: $(BIN)/.installed
	$(BIN)/fksim run scenarios/library --model all --jobs 2

lint: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/mypy

test: lint
	$(BIN)/pytest

# The state diagrams in docs/diagrams, drawn from the machines' tables (needs Graphviz's `dot`).
diagrams: $(BIN)/.installed
	$(BIN)/python -m scenarios.diagrams

# The convergence property at 10,000 schedules, not derandomized: a fresh Hypothesis seed each run,
# printed first; `make soak SEED=n` replays a run. Takes about 10 minutes or more.
soak: $(BIN)/.installed
	@seed=$${SEED:-$$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}; \
	echo "soak: Hypothesis seed $$seed (replay: make soak SEED=$$seed)"; \
	FKSIM_CONVERGENCE_EXAMPLES=10000 FKSIM_CONVERGENCE_DERANDOMIZE=0 \
	$(BIN)/pytest tests/scenarios/test_convergence.py -q --hypothesis-seed=$$seed \
	  --hypothesis-show-statistics; \
	status=$$?; echo "soak: Hypothesis seed $$seed, exit status $$status"; exit $$status

bench: $(BIN)/.installed
	for b in benchmarks/*.py; do $(BIN)/python $$b || exit 1; done

# The long fuzz run over every parser of untrusted input (tests/fuzz/run.py): FUZZ_SECONDS in all,
# random seeds, the inputs tried and the seeds printed per target. The short run is part of `test`.
FUZZ_SECONDS ?= 600
fuzz: $(BIN)/.installed
	FUZZ_SECONDS=$(FUZZ_SECONDS) $(BIN)/python tests/fuzz/run.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache
