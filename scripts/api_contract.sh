#!/usr/bin/env bash
# `make api-contract`: the HTTP API against its own OpenAPI document. Starts a private redis-server and
# `deleteq serve` (a random bearer token, one noop account) on free loopback ports, then runs schemathesis on
# /openapi.json: every response must be no 5xx, a documented status code and content type, and match its schema.
# Then a client generated from the same document by openapi-python-client submits a campaign, is refused a bad one
# and enqueues a job (scripts/generated_client_check.py). Both tools live in a venv under target/venv (made once). Everything started here is stopped on exit.
#
# Environment: DELETEQ_BIN (default target/debug/deleteq), API_CONTRACT_EXAMPLES (test cases per operation and
# phase, default 100), API_CONTRACT_SEED (replay a run; schemathesis prints the seed it used).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${DELETEQ_BIN:-$ROOT/target/debug/deleteq}
VENV=$ROOT/target/venv
SCHEMATHESIS_VERSION=4.32.5
GENERATOR_VERSION=0.29.1
EXAMPLES=${API_CONTRACT_EXAMPLES:-100}

[ -x "$BIN" ] || { echo "api-contract: $BIN is missing (cargo build -p deleteq-cli)" >&2; exit 1; }

if ! "$VENV/bin/schemathesis" --version 2>/dev/null | grep -q "$SCHEMATHESIS_VERSION"; then
  echo "api-contract: installing schemathesis $SCHEMATHESIS_VERSION into target/venv"
  if ! python3 -m venv "$VENV" >/dev/null 2>&1; then
    # Debian ships venv separately.
    [ "$(id -u)" = 0 ] || { echo "api-contract: python3 -m venv failed; install python3-venv" >&2; exit 1; }
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
    rm -rf "$VENV" && python3 -m venv "$VENV"
  fi
  "$VENV/bin/pip" install -q --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
fi
if ! "$VENV/bin/openapi-python-client" --version 2>/dev/null | grep -q "$GENERATOR_VERSION"; then
  echo "api-contract: installing openapi-python-client $GENERATOR_VERSION into target/venv"
  "$VENV/bin/pip" install -q --disable-pip-version-check "openapi-python-client==$GENERATOR_VERSION"
fi

work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
# Polls `$@` every 100 ms for up to 10 s.
wait_for() { for _ in $(seq 100); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done; return 1; }

redis_port=$(free_port)
redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no --dir "$work" --loglevel warning \
  >"$work/redis.log" 2>&1 &
pids+=($!)
wait_for redis-cli -p "$redis_port" ping || { echo "api-contract: redis-server did not start" >&2; exit 1; }

api_port=$(free_port)
token=$(python3 -c 'import secrets; print(secrets.token_hex(24))')
cat >"$work/deleteq.toml" <<EOF
[redis]
url = "redis://127.0.0.1:$redis_port"

[api]
addr = "127.0.0.1:$api_port"
tokens = ["\${DELETEQ_API_TOKEN}"]

[accounts.nop]
provider = "noop"
EOF
DELETEQ_API_TOKEN=$token RUST_LOG=warn "$BIN" --config "$work/deleteq.toml" serve >"$work/serve.log" 2>&1 &
pids+=($!)
if ! wait_for curl -sf "http://127.0.0.1:$api_port/readyz"; then
  echo "api-contract: deleteq serve did not become ready:" >&2; cat "$work/serve.log" >&2; exit 1
fi

seed=()
[ -n "${API_CONTRACT_SEED:-}" ] && seed=(--seed "$API_CONTRACT_SEED")
# From the scratch directory: hypothesis keeps its example database in ./.hypothesis.
cd "$work"
status=0
"$VENV/bin/schemathesis" run "http://127.0.0.1:$api_port/openapi.json" \
  --header "Authorization: Bearer $token" \
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance \
  --max-examples "$EXAMPLES" --workers 2 --request-timeout 40 --warnings off "${seed[@]}" || status=$?
if [ "$status" != 0 ]; then
  echo "api-contract: schemathesis failed (exit $status); the server's log:" >&2
  cat "$work/serve.log" >&2
  exit "$status"
fi

# A client generated from the document works: it submits a campaign (typed body), is refused a bad one, enqueues.
curl -sf "http://127.0.0.1:$api_port/openapi.json" -o "$work/openapi.json"
if ! "$VENV/bin/openapi-python-client" generate --path "$work/openapi.json" --output-path "$work/client" \
    --overwrite >"$work/generate.log" 2>&1; then
  echo "api-contract: openapi-python-client could not generate a client:" >&2; cat "$work/generate.log" >&2; exit 1
fi
"$VENV/bin/python" "$ROOT/scripts/generated_client_check.py" "$work/client" "http://127.0.0.1:$api_port" "$token" \
  || { echo "api-contract: the generated client failed; the server's log:" >&2; cat "$work/serve.log" >&2; exit 1; }
