#!/usr/bin/env bash
# Throughput of iam-sandbox (POST /iam/users, a new user each request) against a minimal axum
# server answering a constant, with wrk, in the same run. Prints requests/s and the ratio.
# Needs wrk (apt-get install wrk). Usage: scripts/bench-sandbox.sh [seconds] [connections]
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}
conns=${2:-32}
command -v wrk >/dev/null || { echo "wrk is not installed: apt-get install wrk" >&2; exit 2; }

cargo build --quiet --release -p iam-sandbox --bin iam-sandbox --example constant_server
pick_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
sandbox_port=$(pick_port)
constant_port=$(pick_port)
IAM_SANDBOX_TOKEN=bench-token target/release/iam-sandbox --port "$sandbox_port" >/dev/null &
sandbox_pid=$!
target/release/examples/constant_server "$constant_port" >/dev/null &
constant_pid=$!
trap 'kill $sandbox_pid $constant_pid 2>/dev/null' EXIT
sleep 1

run() { wrk -t1 -c"$conns" -d"${secs}s" -s scripts/wrk-unique-users.lua "$1" | tee /dev/stderr | awk '/Requests\/sec/ {print $2}'; }
echo "== constant axum handler (baseline)" >&2
base=$(run "http://127.0.0.1:$constant_port")
echo "== iam-sandbox POST /iam/users" >&2
sbx=$(run "http://127.0.0.1:$sandbox_port")
status=$(curl -s -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer bench-token' "http://127.0.0.1:$sandbox_port/_sandbox/users")
python3 - "$base" "$sbx" "$status" <<'PY'
import sys
base, sbx, status = float(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
print(f"baseline (constant axum): {base:,.0f} req/s")
print(f"iam-sandbox (/iam/users): {sbx:,.0f} req/s")
print(f"ratio sandbox/baseline:   {sbx/base:.2f}x   (control endpoint answered {status})")
PY
