# The two commands: `make run` (the whole product on http://127.0.0.1:5000) and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app wsgi
PORT ?= 5000
SIM_PORT ?= 5001
TRIPLETEX_SIM_PORT ?= 5002
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)

.PHONY: run test install browser bench lint clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	@rm -f $(VENV)/.installed-*
	@touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(FLASK) db upgrade
	$(FLASK) demo seed
	$(FLASK) serve --port $(PORT) --simulator-port $(SIM_PORT) \
	  --tripletex-simulator-port $(TRIPLETEX_SIM_PORT)

# Browser tests drive Debian's chromium (browser downloads are blocked here).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "Installing Debian's chromium for the browser tests…"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	  || echo "Could not install chromium: browser tests will be skipped."; }

# Import contracts first (pyproject's [tool.importlinter]; about a second), then the tests in
# parallel (each process builds the schema once): one process per core and one more, as many
# tests spend seconds waiting (a browser, a `flask worker`, a simulator's latency). The slow
# tests come first (tests/conftest.py) and `--dist load --maxschedchunk 1` hands out one test
# at a time to whichever process is free, so the run does not end waiting for a long test
# that started last. Compiled modules are cached (__pycache__, ignored by git) even where the
# environment asks Python not to: every test process and every `flask worker` a test starts
# would compile the app and rewrite the tests again. A single folder: $(BIN)/pytest tests/api
TEST_PROCESSES ?= $(shell echo $$(( $$(nproc) + 1 )))
test: $(STAMP) browser
	$(BIN)/lint-imports --no-cache
	PYTHONDONTWRITEBYTECODE= $(BIN)/pytest -n $(TEST_PROCESSES) --dist load --maxschedchunk 1

bench: $(STAMP)
	@for script in bench/*.py; do echo "== $$script"; $(BIN)/python $$script || exit 1; done

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/lint-imports --no-cache

clean:
	rm -rf $(VENV) instance/*.db test-artifacts
