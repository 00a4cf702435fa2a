#!/usr/bin/env bash
# `make run`: a private Redis (unless REDIS_URL is set), the provider emulator, one worker, the HTTP API with its
# dashboard, a demo batch of deletions, and the outcomes as they arrive. Then the stack stays up until Ctrl-C
# (DEMO_EXIT=1 ends it at once), with commands printed that work against it; everything it started is stopped on
# exit. Data lives in ./.deleteq/.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${DELETEQ_BIN:-target/release/deleteq}
DATA=.deleteq
mkdir -p "$DATA"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM

if [ -z "${REDIS_URL:-}" ]; then
  port=$(free_port)
  rm -rf "$DATA/redis" && mkdir -p "$DATA/redis"   # a fresh queue for every demo
  redis-server --port "$port" --bind 127.0.0.1 --dir "$DATA/redis" --appendonly yes --save '' \
    --logfile "$PWD/$DATA/redis.log" --daemonize no >/dev/null 2>&1 &
  pids+=($!)
  export REDIS_URL="redis://127.0.0.1:$port"
  for _ in $(seq 50); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.1; done
  echo "Private Redis on 127.0.0.1:$port (data in $DATA/redis)"
fi

emu_port=$(free_port)
"$BIN" emulator --addr "127.0.0.1:$emu_port" --accept-unknown --latency-ms 25 >"$DATA/emulator.log" 2>&1 &
pids+=($!)
EMU="http://127.0.0.1:$emu_port"
for _ in $(seq 50); do curl -sf "$EMU/_emulator/stats" >/dev/null 2>&1 && break; sleep 0.1; done
echo "Provider emulator on $EMU"

export DEMO_CC_KEY="demo-cometchat-key"
cat >"$DATA/deleteq.toml" <<TOML
[redis]
url = "redis://127.0.0.1:6379"   # REDIS_URL overrides this
prefix = "deleteq-demo"

[worker]
concurrency = 16
lease = "30s"
shutdown_grace = "10s"

[retry]
max_attempts = 5
initial_backoff = "200ms"
max_backoff = "5s"

[accounts.cc-eu]
provider = "cometchat"
base_url = "$EMU"
api_key = "\${DEMO_CC_KEY}"
rate_limit = "20000/min"

[accounts.im]
provider = "room_im"
base_url = "$EMU"
client_key = "demo-client-key"
token = "demo-token"
rate_limit = "100/s"

[accounts.qb]
provider = "quickblox"
base_url = "$EMU"
api_key = "demo-qb-key"
batch_size = 50
rate_limit = "100/s"

[accounts.wa]
provider = "twochat"
base_url = "$EMU"
api_key = "demo-2chat-key"
rate_limit = "100/s"

[accounts.of]
provider = "ofauth"
base_url = "$EMU"
api_key = "demo-ofauth-key"
connection_id = "conn_demo"
rate_limit = "100/s"

[accounts.nop]
provider = "noop"
TOML
export DELETEQ_CONFIG="$PWD/$DATA/deleteq.toml"
api_port=$(free_port)
DEMO_API_TOKEN="demo-$(python3 -c 'import secrets; print(secrets.token_hex(8))')"
export DEMO_API_TOKEN
printf '\n[api]\naddr = "127.0.0.1:%s"\ntokens = ["${DEMO_API_TOKEN}"]\n' "$api_port" >>"$DATA/deleteq.toml"

"$BIN" worker >"$DATA/worker.log" 2>&1 &
pids+=($!)
echo "Worker started (log: $DATA/worker.log)"
"$BIN" serve >"$DATA/serve.log" 2>&1 &
pids+=($!)
API="http://127.0.0.1:$api_port"
for _ in $(seq 50); do curl -sf "$API/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
echo "HTTP API and dashboard on $API (log: $DATA/serve.log)"

python3 - "$DATA/jobs.jsonl" <<'PY'
import json, sys, random
random.seed(7)
with open(sys.argv[1], "w") as f:
    for i in range(2000):
        job = {"account": "cc-eu", "message": f"demo-{i}", "permanent": True, "reason": "demo cleanup", "requested_by": "make run"}
        f.write(json.dumps(job) + "\n")
    for i in range(400):
        f.write(json.dumps({"account": "nop", "message": f"noop-{i}"}) + "\n")
    # QuickBlox: one bulk job of 500 ids, deleted in comma-joined batches of 50.
    f.write(json.dumps({"account": "qb", "messages": [f"5d76b949a0eb4721f8{i:06d}" for i in range(500)], "permanent": True}) + "\n")
    # IMKIT: single messages, and a purge of a whole test room.
    for i in range(100):
        f.write(json.dumps({"account": "im", "conversation": "support-room", "message": f"im-{i}"}) + "\n")
    f.write(json.dumps({"account": "im", "conversation": "test-room-123", "purge": True, "reason": "nightly reset"}) + "\n")
    # 2Chat: recent messages, and one past WhatsApp's 60-hour window (expired, no call made).
    for i in range(100):
        f.write(json.dumps({"account": "wa", "conversation": "WW-demo-5215511112222@c.us", "message": f"MSG-{i}"}) + "\n")
    f.write(json.dumps({"account": "wa", "conversation": "WW-demo-5215511112222@c.us", "message": "MSG-old", "sent_at": "2020-01-01T00:00:00Z"}) + "\n")
    # OFAuth: chat messages with one fan.
    for i in range(100):
        f.write(json.dumps({"account": "of", "conversation": "12345", "message": f"{67890 + i}"}) + "\n")
    # Already gone at the provider: recorded as already_deleted, not as an error.
    for i in range(50):
        f.write(json.dumps({"account": "cc-eu", "message": f"demo-{i}"}) + "\n")
PY
# Some provider trouble: two transient errors then success, a rate limit with Retry-After, and a message the
# caller may not delete (a permanent failure, dead-lettered for replay).
fault() { curl -sf -X POST "$EMU/_emulator/faults" -H 'content-type: application/json' -d "$1" >/dev/null; }
fault '{"provider":"cometchat","message":"demo-100","statuses":[503,502]}'
fault '{"provider":"cometchat","message":"demo-200","statuses":[429],"retry_after":"1"}'
fault '{"provider":"cometchat","message":"demo-300","statuses":[403],"code":"ERR_MESSAGE_NOT_A_SENDER"}'
curl -sf -X POST "$EMU/_emulator/seed" -H 'content-type: application/json' \
  -d '{"provider":"room_im","conversation":"test-room-123","ids":["t1","t2","t3","t4","t5","t6","t7"]}' >/dev/null
# Every message (and the purge) ends in one terminal record; the campaign counts them exactly.
campaign=$("$BIN" campaign submit "$DATA/jobs.jsonl" --name "make run demo")
total=$("$BIN" campaign status "$campaign" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["total"])')
echo "Submitted campaign $campaign: $(wc -l <"$DATA/jobs.jsonl") jobs ($total messages) across CometChat, IMKIT, QuickBlox, 2Chat and OFAuth (emulated) and a noop account. Outcomes:"

start=$(date +%s.%N)
while true; do
  counts=$("$BIN" campaign status "$campaign" --json | python3 -c '
import json, sys
s = json.load(sys.stdin)
outcomes = ["deleted", "already_deleted", "purged", "expired", "cancelled", "failed", "dead"]
print(" ".join(f"{o}={s[o]}" for o in outcomes if s[o]) or "waiting", s["total"] - s["pending"])')
  done_n=${counts##* }
  printf '\r  %-70s %5s/%s' "${counts% *}" "$done_n" "$total"
  [ "$done_n" -ge "$total" ] && break
  sleep 0.3
done
elapsed=$(python3 -c "import time; print(f'{time.time() - $start:.1f}')")
echo
echo "All $total messages accounted for in ${elapsed}s: one terminal audit record each."
echo "Dead letters (replayable):"
"$BIN" dlq list
echo "Queue:"
"$BIN" status
BIN_ABS=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")
echo
echo "In another terminal (the stack stays up until Ctrl-C here):"
echo "  export REDIS_URL=$REDIS_URL DELETEQ_CONFIG=$DELETEQ_CONFIG DEMO_API_TOKEN=$DEMO_API_TOKEN"
echo "  $BIN_ABS campaign status $campaign"
echo "  $BIN_ABS audit tail --follow"
echo "  $BIN_ABS enqueue '{\"account\":\"cc-eu\",\"message\":\"demo-extra\",\"priority\":\"high\"}'"
echo "  $BIN_ABS status"
echo "  curl -s -H \"Authorization: Bearer \$DEMO_API_TOKEN\" $API/v1/status"
echo "Dashboard: $API/ (token: $DEMO_API_TOKEN)"
[ "${DEMO_EXIT:-0}" = 1 ] && exit 0
# Until Ctrl-C (the trap stops everything); a part that dies ends the demo, naming the logs.
while true; do
  for pid in "${pids[@]}"; do
    if ! kill -0 "$pid" 2>/dev/null; then echo "a demo process ($pid) exited; see $DATA/*.log" >&2; exit 1; fi
  done
  sleep 1
done
