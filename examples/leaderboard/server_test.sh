#!/usr/bin/env bash
# The leaderboard example against real servers: keel-server (started on a port the system
# picks) and, when it is installed, redis-server, each on loopback only. The example's own
# checks (the three designs agree) must pass against both.
# Usage: server_test.sh path/to/leaderboard path/to/keel-server
set -euo pipefail
leaderboard="$1"
keel_server="$2"
dir="$(mktemp -d)"
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$dir"' EXIT
fail() { echo "server_test: FAIL: $*" >&2; exit 1; }

# keel-server on port 0 prints the port it got.
"$keel_server" --port 0 >"$dir/keel.out" 2>&1 &
for _ in $(seq 100); do grep -q 'ready on' "$dir/keel.out" && break; sleep 0.05; done
port=$(sed -n 's/.*ready on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$dir/keel.out")
[[ -n "$port" ]] || fail "keel-server did not start: $(cat "$dir/keel.out")"
"$leaderboard" --short --server "127.0.0.1:$port" >"$dir/keel.txt" || fail "against keel-server: $(cat "$dir/keel.txt")"
grep -q 'All three designs gave the same' "$dir/keel.txt" || fail "no agreement line"

if command -v redis-server >/dev/null; then
  # A free loopback port for redis-server (which cannot pick its own).
  rport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  redis-server --bind 127.0.0.1 --port "$rport" --save '' --appendonly no --dir "$dir" >"$dir/redis.out" 2>&1 &
  for _ in $(seq 100); do redis-cli -p "$rport" PING >/dev/null 2>&1 && break; sleep 0.05; done
  "$leaderboard" --short --server "127.0.0.1:$rport" >"$dir/redis.txt" || fail "against redis-server: $(cat "$dir/redis.txt")"
  # The same month gives the same standings on both servers.
  diff <(sed -n '/^Top 10/,/^$/p' "$dir/keel.txt") <(sed -n '/^Top 10/,/^$/p' "$dir/redis.txt") \
    || fail "keel-server and redis-server disagree on the top 10"
else
  echo "server_test: redis-server is not installed; checked keel-server only"
fi
echo "server_test: ok"
