#!/usr/bin/env bash
# The hotel_reservation tool's command-line contract (scripts rely on it): the exact output of
# replay and inventory for a small file, CRLF and a missing final newline, exit codes, and repeats
# of a large file after the real program is killed with SIGKILL at random moments.
# Usage: cli_test.sh <path to hotel_reservation>
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

cat >"$work/in.txt" <<'IN'
I,1,1,2026-12-24,10
I,1,1,2026-12-25,10
R,a,1,1,2026-12-24,2026-12-26,5
R,a,1,1,2026-12-24,2026-12-26,5
R,a,1,1,2026-12-24,2026-12-26,6
R,b,1,1,2026-12-24,2026-12-26,6
R,c,1,1,2026-12-24,2026-12-26,7
R,d,1,1,2026-12-24,2026-12-27,1
R,d2,1,1,2026-12-25,2026-12-27,11
X,x1,a
X,x1,a
X,x2,a
X,x3,zz
X,x4,d
R,e,01,0001,2026-12-24,2026-12-25,1
R,e,1,1,2026-12-24,2026-12-25,1
R,f,0,1,2026-12-24,2026-12-25,1
R,g,1,1,2026-02-30,2026-12-25,1
R,h,1,1,2026-12-24,2026-12-24,1
r,h,1,1,2026-12-24,2026-12-25,1
R,h!,1,1,2026-12-24,2026-12-25,1
R,i,1,1,2026-1-24,2026-12-25,1

X,a,b
I,1,1,2026-12-24,3
R,j,1,1,2026-12-24,2026-12-25,1
X,x5,b
R,j,1,1,2026-12-24,2026-12-25,1
IN
printf 'R,k,1,1,2026-12-25,2026-12-26,1\r\nR,k,1,1,2026-12-25,2026-12-26,2' >>"$work/in.txt"

cat >"$work/replay.want" <<'OUT'
1,-,OK
2,-,OK
3,a,OK
4,a,OK
5,a,KEY_REUSED
6,b,OK
7,c,SOLD_OUT
8,d,NO_INVENTORY
9,d2,NO_INVENTORY
10,x1,OK
11,x1,OK
12,x2,ALREADY_CANCELLED
13,x3,UNKNOWN_RESERVATION
14,x4,UNKNOWN_RESERVATION
15,e,OK
16,e,OK
17,f,INVALID
18,g,INVALID
19,h,INVALID
20,-,MALFORMED
21,-,MALFORMED
22,-,MALFORMED
23,-,MALFORMED
24,a,KEY_REUSED
25,-,OK
26,j,SOLD_OUT
27,x5,OK
28,j,SOLD_OUT
29,k,OK
30,k,KEY_REUSED
OUT

cat >"$work/inventory.want" <<'OUT'
1,1,2026-12-24,3,1
1,1,2026-12-25,10,1
OUT

"$tool" replay --dir "$work/state" --in "$work/in.txt" >"$work/replay.got"
expect "replay" "$work/replay.want" "$work/replay.got"
"$tool" inventory --dir "$work/state" >"$work/inventory.got"
expect "inventory" "$work/inventory.want" "$work/inventory.got"
# A repeat of the whole file prints every stored outcome again; the I lines set what they set.
"$tool" replay --dir "$work/state" --in "$work/in.txt" >"$work/replay.again"
expect "replay again" "$work/replay.want" "$work/replay.again"
"$tool" inventory --dir "$work/state" >"$work/inventory.got"
expect "inventory again" "$work/inventory.want" "$work/inventory.got"

# Exit codes: usage errors 2, a file that cannot be read 1, --help 0.
set +e
"$tool" replay --dir "$work/state" >/dev/null 2>&1
[[ $? == 2 ]] || fail "replay without --in should exit 2"
"$tool" replay --dir "$work/state" --in "$work/missing.txt" >/dev/null 2>&1
[[ $? == 1 ]] || fail "replay of a missing file should exit 1"
"$tool" frobnicate >/dev/null 2>&1
[[ $? == 2 ]] || fail "an unknown command should exit 2"
set -e
"$tool" --help | grep -q "replay --dir DIR --in FILE" || fail "--help"

# A large file, its run killed with SIGKILL at random moments, then replayed whole: the output
# and the inventory are those of one uninterrupted run.
python3 - "$work/big.txt" <<'PY'
import random, sys
rng = random.Random(1404)
lines = []
for h in (1, 2):
    for d in range(1, 29):
        lines.append(f"I,{h},1,2027-02-{d:02d},{rng.randrange(0, 40)}")
for i in range(60000):
    if lines and rng.randrange(8) == 0:
        lines.append(rng.choice(lines))
    elif rng.randrange(5) == 0:
        lines.append(f"X,x{rng.randrange(20000)},r{rng.randrange(20000)}")
    else:
        start = rng.randrange(1, 27)
        end = start + rng.randrange(1, 4)
        lines.append(f"R,r{rng.randrange(20000)},{rng.randrange(1, 3)},1,2027-02-{start:02d},"
                     f"2027-02-{end:02d},{rng.randrange(1, 4)}")
open(sys.argv[1], "w").write("\n".join(lines) + "\n")
PY
"$tool" replay --dir "$work/whole" --in "$work/big.txt" >"$work/big.want"
"$tool" inventory --dir "$work/whole" >"$work/big_inventory.want"
for delay in 0.05 0.2 0.1 0.3 0.02; do
  timeout -s KILL "$delay" "$tool" replay --dir "$work/killed" --in "$work/big.txt" \
    >"$work/partial" || true
  # Whatever was printed before the kill is a prefix of the uninterrupted output.
  lines=$(wc -l <"$work/partial")
  head -n "$lines" "$work/big.want" | cmp -s - "$work/partial" ||
    fail "output before a SIGKILL after ${delay}s is not a prefix of the uninterrupted run's"
done
"$tool" replay --dir "$work/killed" --in "$work/big.txt" >"$work/big.got"
expect "replay after kills" "$work/big.want" "$work/big.got"
"$tool" inventory --dir "$work/killed" >"$work/big_inventory.got"
expect "inventory after kills" "$work/big_inventory.want" "$work/big_inventory.got"
echo "hotel_reservation cli: all checks passed"
