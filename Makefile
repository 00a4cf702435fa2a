# deleteq: `make run` (the demo) and `make test` (everything CI runs). `make help` lists the rest.
SHELL := /bin/bash
CARGO ?= cargo
RELEASE_BIN := target/release/deleteq

.PHONY: help deps build release install test lint fmt run bench peers deny clean api-contract

help: ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

deps: ## install what is missing: redis-server, faketime, promtool, python3, curl, openssl, chromium, chromedriver (Debian packages; needs root)
	@command -v redis-server >/dev/null 2>&1 || { \
	  echo "installing redis-server"; \
	  if [ "$$(id -u)" != 0 ]; then echo "redis-server is missing; run make as root or install it" >&2; exit 1; fi; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null; }
	@command -v faketime >/dev/null 2>&1 || { \
	  echo "installing faketime (a worker with a shifted clock, in the lease tests)"; \
	  if [ "$$(id -u)" != 0 ]; then echo "faketime is missing; run make as root or install it" >&2; exit 1; fi; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq faketime >/dev/null; }
	@command -v promtool >/dev/null 2>&1 || { \
	  echo "installing promtool (Debian prometheus: lints the worker's /metrics in the tests)"; \
	  if [ "$$(id -u)" != 0 ]; then echo "promtool is missing; run make as root or install it" >&2; exit 1; fi; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null; }
	@for tool in python3 curl openssl; do command -v $$tool >/dev/null 2>&1 || { apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$tool >/dev/null; }; done
	@command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1 || { \
	  echo "installing chromium and chromium-driver (the dashboard's browser test)"; \
	  if [ "$$(id -u)" != 0 ]; then echo "chromium or chromedriver is missing; run make as root or install them" >&2; exit 1; fi; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; }

build: ## debug build of the deleteq binary
	$(CARGO) build -p deleteq-cli

release: ## release build of the deleteq binary
	$(CARGO) build --release -p deleteq-cli

PREFIX ?= /usr/local
install: release ## install the binary, shell completions and man pages under $(PREFIX) (honours DESTDIR)
	bash scripts/install.sh $(RELEASE_BIN) $(PREFIX)

lint: ## rustfmt check and clippy with warnings as errors
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

fmt: ## format the code
	$(CARGO) fmt --all

test: deps lint build ## everything CI runs: lint, unit tests, end-to-end tests against private redis-servers
	@mkdir -p target
	set -o pipefail; $(CARGO) test --workspace 2>&1 | tee target/test.log
	@$(MAKE) --no-print-directory api-contract
	@awk '/^test result:/ {p += $$4; f += $$6} END {printf "%d passed, %d failed\n", p, f}' target/test.log

api-contract: deps build ## schemathesis against `deleteq serve`'s OpenAPI document (private Redis; venv in target/venv)
	bash scripts/api_contract.sh

run: deps release ## the demo: private Redis, the emulator, a worker, a demo batch with live outcomes
	@bash scripts/demo.sh

bench: deps release ## enqueue and drain benchmarks with the raw Redis limit of the same run
	$(CARGO) build --release -p deleteq-queue --example raw_redis
	python3 bench/bench.py
	python3 bench/http_enqueue.py

peers: deps release ## deleteq beside BullMQ (Node and Rust) on one Redis (../shared/bench)
	python3 ../shared/bench/peers.py --bin $(RELEASE_BIN)

deny: ## cargo deny check (needs the advisory database online)
	@command -v cargo-deny >/dev/null 2>&1 || $(CARGO) install --locked cargo-deny
	$(CARGO) deny check

clean: ## remove build output and the demo's data
	$(CARGO) clean
	rm -rf .deleteq
