# Two commands do everything on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test install bench screenshots clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[test]"
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	MALLOC_ARENA_MAX=2 $(BIN)/streamlit run app.py --server.port 8501

test: $(STAMP)
	bash scripts/ensure_system.sh
	$(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/python bench/bench_generate.py

clean:
	rm -rf $(VENV) .pytest_cache
