#!/usr/bin/env bash
# The `digital_wallet ledger` tool's command-line contract (scripts rely on it): the exact output
# of the documented example (docs/digital_wallet.md), CRLF and a missing final newline, exit
# codes, --dir runs that continue each other's state and clock, a realistic file (200,000 lines
# by default; WALLET_CLI_LINES sets it) in memory and durable with its throughput, and runs killed
# with SIGKILL whose printed lines are a prefix of an uninterrupted run's.
# Usage: cli_test.sh <path to digital_wallet>
set -euo pipefail
tool="$1"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

# expect <name> <expected file> <actual file>
expect() {
  if ! diff -u "$2" "$3"; then fail "$1: output differs"; fi
}

now_ns() { date +%s%N; }

# The example of docs/digital_wallet.md, "The ledger tool".
cat >"$work/example.txt" <<'IN'
A,1,840,1,debits_must_not_exceed_credits
A,2,840,1,0
A,3,840,1,0
T,100,2,1,5000,0,0,840,10,0
T,101,1,3,2000,0,60,840,20,pending
T,102,1,3,4000,0,0,840,20,0
B
T,103,1,3,500,0,0,840,20,linked
T,104,1,9,500,0,0,840,20,0
C,59
T,105,0,0,1500,101,0,840,20,post_pending_transfer
T,106,1,3,100,0,30,840,20,pending
C,30
T,107,0,0,0,106,0,840,20,void_pending_transfer
T,108,1,3,1,0,0,840,20,linked
T,109,1,3,1,0,0,840,20,pendng
IN
cat >"$work/example.want" <<'OUT'
1,1,ok
2,2,ok
3,3,ok
4,100,ok
5,101,ok
6,102,exceeds_credits
8,103,linked_event_failed
9,104,credit_account_not_found
11,105,ok
12,106,ok
14,107,pending_transfer_expired
15,108,linked_event_chain_open
16,-,malformed
#balances
1,0,1500,0,5000
2,0,5000,0,0
3,0,0,0,1500
OUT
"$tool" ledger --in "$work/example.txt" --balances >"$work/example.got"
expect "example" "$work/example.want" "$work/example.got"
# Flags in any order, --name=value.
"$tool" ledger --balances --in="$work/example.txt" >"$work/example.got"
expect "example, flags reordered" "$work/example.want" "$work/example.got"
# Without --balances: the event lines only.
"$tool" ledger --in "$work/example.txt" >"$work/example.got"
head -n 13 "$work/example.want" >"$work/example.lines"
expect "example without balances" "$work/example.lines" "$work/example.got"
# CRLF, and no newline after the last line.
sed 's/$/\r/' "$work/example.txt" | head -c -2 >"$work/example.crlf"
"$tool" ledger --in "$work/example.crlf" --balances >"$work/example.got"
expect "example, CRLF" "$work/example.want" "$work/example.got"

# Boundaries of the format, and ids past 2^64 in --balances, in id order.
cat >"$work/edges.txt" <<'IN'
A,340282366920938463463374607431768211454,4294967295,65535,history
A,340282366920938463463374607431768211456,1,1,0
A,18446744073709551616,4294967295,1,0
A,0018446744073709551617,4294967296,1,0
A,7,4294967295,65536,0
A,7,4294967295,1,linked|linked|history

b
B,
C,-1
T,1,340282366920938463463374607431768211454,18446744073709551616,340282366920938463463374607431768211455,0,4294967295,4294967295,65535,pending|balancing_debit
T,2,7,18446744073709551616,10,0,4294967296,4294967295,65535,pending
T,3,7,18446744073709551616,10,0,0,4294967295,65535,closing_debit
T,4,7,18446744073709551616,10,0,0,4294967295,65535,0|pending
IN
cat >"$work/edges.want" <<'OUT'
1,340282366920938463463374607431768211454,ok
2,-,malformed
3,18446744073709551616,ok
4,-,malformed
5,-,malformed
6,7,linked_event_chain_open
7,-,malformed
8,-,malformed
9,-,malformed
10,-,malformed
11,1,ok
12,-,malformed
13,3,reserved_flag
14,-,malformed
#balances
18446744073709551616,0,0,0,0
340282366920938463463374607431768211454,0,0,0,0
OUT
"$tool" ledger --in "$work/edges.txt" --balances >"$work/edges.got"
expect "edges" "$work/edges.want" "$work/edges.got"

# An empty file, and --balances with no accounts.
: >"$work/empty.txt"
"$tool" ledger --in "$work/empty.txt" >"$work/empty.got"
[[ ! -s "$work/empty.got" ]] || fail "an empty file prints nothing"
"$tool" ledger --in "$work/empty.txt" --balances >"$work/empty.got"
printf '#balances\n' >"$work/empty.want"
expect "no accounts" "$work/empty.want" "$work/empty.got"

# Exit codes: every error 1 (with a message on stderr), --help 0.
set +e
for args in "" "ledger" "ledger --balances" "ledger --in" "ledger --in $work/missing.txt" \
  "ledger --in $work/example.txt --frobnicate" "ledger --in $work/example.txt extra" "frobnicate"; do
  # shellcheck disable=SC2086
  "$tool" $args >"$work/err.out" 2>"$work/err.txt"
  code=$?
  [[ $code == 1 ]] || fail "'$args' should exit 1, not $code"
  [[ -s "$work/err.txt" ]] || fail "'$args' should say why on stderr"
  [[ ! -s "$work/err.out" ]] || fail "'$args' should print nothing on stdout"
done
set -e
"$tool" --help | grep -q "ledger --in FILE \[--dir DIR\] \[--balances\]" || fail "--help"
"$tool" ledger --help | grep -q "C,<seconds>" || fail "ledger --help"

# --dir: a second run continues the state and the clock of the first.
cat >"$work/day1.txt" <<'IN'
A,1,840,1,0
A,2,840,1,0
T,10,1,2,700,0,3600,840,1,pending
T,11,1,2,300,0,7200,840,1,pending
C,3599
IN
cat >"$work/day2.txt" <<'IN'
A,2,840,1,0
C,1
T,12,0,0,700,10,0,840,1,post_pending_transfer
T,13,0,0,300,11,0,840,1,post_pending_transfer
IN
printf '1,1,ok\n2,2,ok\n3,10,ok\n4,11,ok\n#balances\n1,1000,0,0,0\n2,0,0,1000,0\n' \
  >"$work/day1.want"
printf '1,2,exists\n3,12,pending_transfer_expired\n4,13,ok\n#balances\n1,0,300,0,0\n2,0,0,0,300\n' \
  >"$work/day2.want"
"$tool" ledger --in "$work/day1.txt" --dir "$work/wallet" --balances >"$work/day1.got"
expect "--dir, first run" "$work/day1.want" "$work/day1.got"
"$tool" ledger --in "$work/day2.txt" --dir "$work/wallet" --balances >"$work/day2.got"
expect "--dir, second run" "$work/day2.want" "$work/day2.got"
# In memory, the second file alone knows neither the accounts nor the clock.
"$tool" ledger --in "$work/day2.txt" >"$work/day2.memory"
printf '1,2,ok\n3,12,pending_transfer_not_found\n4,13,pending_transfer_not_found\n' \
  >"$work/day2.memory.want"
expect "day 2 in memory" "$work/day2.memory.want" "$work/day2.memory"
# A directory that is not one.
set +e
"$tool" ledger --in "$work/day1.txt" --dir "$work/day1.txt" >/dev/null 2>&1
[[ $? == 1 ]] || fail "--dir on a file should exit 1"
set -e

# A realistic file: accounts, then transfers of every kind in batches, with the clock moving.
lines="${WALLET_CLI_LINES:-200000}"
python3 - "$work/big.txt" "$lines" <<'PY'
import random, sys
path, total = sys.argv[1], int(sys.argv[2])
rng = random.Random(15)
accounts = 10000
out = []
for i in range(1, accounts + 1):
    flags = "debits_must_not_exceed_credits" if i % 4 == 0 else "0"
    out.append(f"A,{i},840,1,{flags}")
out.append("B")
pending = []
next_id = 1
while len(out) < total:
    r = rng.random()
    if r < 0.001:
        out.append(f"C,{rng.randrange(0, 30)}")
        continue
    if r < 0.002:
        out.append("B")
        continue
    if r < 0.003:
        out.append("T,1,2,3,x,0,0,840,1,0")  # malformed
        continue
    tid = next_id
    next_id += 1
    dr, cr = rng.randrange(1, accounts + 1), rng.randrange(1, accounts + 1)
    amount = rng.randrange(1, 1000)
    link = "|linked" if rng.random() < 0.05 else ""
    k = rng.random()
    if k < 0.75:
        out.append(f"T,{tid},{dr},{cr},{amount},0,0,840,1,{'0' if not link else 'linked'}")
    elif k < 0.9:
        out.append(f"T,{tid},{dr},{cr},{amount},0,{rng.randrange(1, 60)},840,1,pending{link}")
        pending.append(tid)
    elif pending:
        p = pending.pop(rng.randrange(len(pending)))
        kind = "post_pending_transfer" if k < 0.97 else "void_pending_transfer"
        out.append(f"T,{tid},0,0,{2**128 - 1 if kind[0] == 'p' else 0},{p},0,840,1,{kind}{link}")
    else:
        out.append(f"T,{tid},{dr},{cr},{amount},0,0,840,1,0")
with open(path, "w") as f:
    f.write("\n".join(out) + "\n")
PY
start=$(now_ns)
"$tool" ledger --in "$work/big.txt" --balances >"$work/big.memory"
memory_ns=$(($(now_ns) - start))
start=$(now_ns)
"$tool" ledger --in "$work/big.txt" --dir "$work/big_dir" --balances >"$work/big.durable"
durable_ns=$(($(now_ns) - start))
expect "big file, durable against memory" "$work/big.memory" "$work/big.durable"
# One output line per A and T line (its malformed lines are T lines).
events=$(grep -c '^[AT],' "$work/big.txt")
[[ $(sed -n '/^#balances$/q;p' "$work/big.memory" | wc -l) == "$events" ]] ||
  fail "big file: one output line per A and T line"
[[ $(grep -c ',ok$' "$work/big.memory") -gt $((events / 2)) ]] || fail "big file: mostly ok"
echo "ledger tool: $lines lines in memory in $((memory_ns / 1000000)) ms" \
  "($((lines * 1000000000 / memory_ns)) lines/s); with --dir in $((durable_ns / 1000000)) ms" \
  "($((lines * 1000000000 / durable_ns)) lines/s)"
# The same file run again on its directory: every id exists now, and the state is unchanged
# except for the clock and the expiries it brings.
"$tool" ledger --in "$work/big.txt" --dir "$work/big_dir" >"$work/big.again"
[[ $(grep -c ',ok$' "$work/big.again" || true) == 0 ]] || fail "a rerun creates nothing"

# Runs killed with SIGKILL: what a run printed is a prefix of an uninterrupted run's output, and
# the directory opens again afterwards.
sed -n '/^#balances$/q;p' "$work/big.memory" >"$work/big.lines"
for round in 1 2 3 4 5; do
  rm -rf "$work/kill_dir"
  "$tool" ledger --in "$work/big.txt" --dir "$work/kill_dir" >"$work/kill.out" &
  pid=$!
  sleep "0.0$((RANDOM % 10))$((RANDOM % 10))"
  kill -9 "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  # Complete lines only: the kill may cut the last one short.
  bytes=$(($(wc -c <"$work/kill.out") - $(tail -c 1 "$work/kill.out" | tr -d '\n' | wc -c)))
  head -c "$bytes" "$work/kill.out" >"$work/kill.lines"
  cmp -s "$work/kill.lines" <(head -c "$bytes" "$work/big.lines") ||
    fail "round $round: a killed run printed lines an uninterrupted run does not"
  "$tool" ledger --in "$work/empty.txt" --dir "$work/kill_dir" --balances >/dev/null ||
    fail "round $round: the directory does not open after the kill"
done

echo "digital_wallet ledger: all checks passed"
