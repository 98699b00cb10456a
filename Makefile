# make run  — serve the provider on http://127.0.0.1:5000 (SQLite, in-process limits, mails
#             to instance/outbox) and the demo account portal on http://127.0.0.1:5001
# make test — install what the tests need (a second step, not needed by `make run`) and run
#             the whole suite
# make bench — the speed benchmark of issues 6 and 15, beside node-oidc-provider 9 (about 9
#              minutes; BENCH_ARGS="--quick" for a smoke run, BENCH_ARGS="--help" for every
#              option); results in bench/results/
# The venv's interpreter: the system's CPython when it is 3.11+ and can make a venv (a
# distribution's build: optimised with profiles and at link time, libpython inside the
# executable), else the first python3 on PATH. Issue 15: a default pyenv build (no
# --enable-optimizations, a shared libpython) ran the provider's pages ~35 % slower here.
PYTHON ?= $(or $(shell for p in /usr/bin/python3 python3; do \
  $$p -c 'import sys, ensurepip, venv; sys.exit(sys.version_info < (3, 11))' 2>/dev/null \
  && { echo $$p; break; }; done),python3)
VENV   := .venv
BIN    := $(VENV)/bin
# Issue 13.9: `make run` installs the runtime only (STAMP); the tests' tools (pytest,
# Playwright, ruff, ...) come with TEST_STAMP, for the targets that need them.
STAMP  := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test
# The demo secrets of the shipped clients.yaml are in demo.env, which the provider and the
# demo portal read themselves on a development (http) issuer: see README "Getting started".

.PHONY: run test install browser axe lint clean bench bench-peer wrk screenshots translations

$(STAMP): setup.cfg pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	@# setuptools warns on every editable install of a flat layout; the rest stays visible
	PYTHONWARNINGS="ignore:Editable installation" $(BIN)/python -m pip install --quiet -e .
	touch $(STAMP)

$(TEST_STAMP): $(STAMP)
	PYTHONWARNINGS="ignore:Editable installation" $(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(TEST_STAMP)

install: $(TEST_STAMP)

run: $(STAMP)
	$(BIN)/flask --app wsgi idp init-db
	$(BIN)/flask --app wsgi idp demo
	$(BIN)/python -m idp.demo.portal & \
	trap 'kill $$!' EXIT INT TERM; \
	$(BIN)/flask --app wsgi run --host 127.0.0.1 --port 5000

# Debian's chromium drives the browser tests (Playwright with executable_path); tests that
# need it skip with a reason when it cannot be installed.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  (apt-get update -qq && apt-get install -y -qq chromium) >/dev/null 2>&1 \
	  || echo "chromium could not be installed: browser tests will be skipped"; }

# axe-core (issue 13.6) for the accessibility test, from npm into node_modules; without npm
# that test skips with a reason.
AXE_VERSION ?= 4.14.1
axe:
	@test -f node_modules/axe-core/axe.min.js || { command -v npm >/dev/null 2>&1 \
	  && npm install --no-save --no-audit --no-fund --no-package-lock --silent axe-core@$(AXE_VERSION) \
	  || echo "axe-core could not be installed: the axe test will be skipped"; }

# The house's plan first (import-linter contracts in setup.cfg), then the suite.
test: $(TEST_STAMP) browser axe
	$(BIN)/lint-imports --no-cache
	$(BIN)/python -m pytest -n 2 --dist loadfile

# wrk drives the steady endpoints; without it (not installable here) bench/ uses its Python
# load generator instead and says so in its report.
wrk:
	@command -v wrk >/dev/null 2>&1 || { \
	  (apt-get update -qq && apt-get install -y -qq wrk) >/dev/null 2>&1 \
	  || echo "wrk could not be installed: the Python load generator stands in"; }

# The peer of issue 15 (node-oidc-provider 9, bench/peer.mjs): its npm packages go to
# bench/node_modules from the committed lock file; without node/npm bench/ skips the peer and
# says why. granian (the other WSGI server bench/ can run the provider under) goes to the venv.
bench-peer:
	@if command -v npm >/dev/null 2>&1; then \
	  test bench/node_modules/.package-lock.json -nt bench/package-lock.json \
	  || npm ci --prefix bench --no-audit --no-fund --loglevel=error \
	  || echo "npm ci failed in bench/: the peer will be skipped"; \
	else echo "node/npm not found: the peer (node-oidc-provider) will be skipped"; fi

$(VENV)/.granian: $(TEST_STAMP)
	$(BIN)/python -m pip install --quiet 'granian>=2.5,<3' && touch $@ \
	  || echo "granian could not be installed: --servers granian will be skipped"

BENCH_ARGS ?=
bench: $(TEST_STAMP) wrk bench-peer $(VENV)/.granian
	$(BIN)/python -m bench.run $(BENCH_ARGS)

# Issue 13.10: each journey's screens at 360 and 1280 px, into docs/screens/ (tools/screenshots.py).
screenshots: $(TEST_STAMP) browser
	$(BIN)/python -m tools.screenshots

# Issue 13.7: the catalogue of the English pages from idp/messages.py (tools/translations.py):
# extract the .pot, update each .po (new sentences untranslated, changed ones fuzzy), compile
# the .mo. Fill the .po's empty msgstr, run it again, commit .po and .mo.
translations: $(STAMP)
	$(BIN)/python -m tools.translations

lint: $(TEST_STAMP)
	$(BIN)/ruff check .
	$(BIN)/lint-imports --no-cache

clean:
	rm -rf $(VENV) instance .pytest_cache node_modules
