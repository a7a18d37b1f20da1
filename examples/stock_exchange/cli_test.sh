#!/usr/bin/env bash
# The stock_exchange tool's command-line contract (scripts rely on it): exact output of replay and
# book for a small session, malformed lines, CRLF input and the exit codes.
# Usage: cli_test.sh <path to stock_exchange>
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
N,1,1,AAA,S,L,GTC,105,10
N,2,2,AAA,S,L,GTC,104,5
N,3,3,AAA,B,L,GTC,100,7
N,4,4,AAA,B,L,IOC,104,8
N,5,5,BBB,B,L,GTC,50,3
R,3,101,7
C,2
C,99
N,6,6,AAA,B,M,GTC,,4
garbage
N,7,7,AAA,S,L,FOK,100,100
N,8,8,AAA,S,L,GTC,106,abc
N,1,9,AAA,S,L,GTC,106,1
R,3,101,0
IN

cat >"$work/replay.want" <<'OUT'
1,A,AAA,1,S,105,10
2,B,AAA,0,0,105,10
3,A,AAA,2,S,104,5
4,B,AAA,0,0,104,5
5,A,AAA,3,B,100,7
6,B,AAA,100,7,104,5
7,A,AAA,4,B,104,8
8,T,AAA,2,4,104,5
9,D,AAA,2
10,X,AAA,4,3,unfilled
11,B,AAA,100,7,105,10
12,A,BBB,5,B,50,3
13,B,BBB,50,3,0,0
14,M,AAA,3,101,7
15,B,AAA,101,7,105,10
16,J,7,2,unknown_order
17,J,8,99,unknown_order
18,A,AAA,6,B,0,4
19,T,AAA,1,6,105,4
20,D,AAA,6
21,B,AAA,101,7,105,6
22,J,10,,malformed: unknown command "garbage" (want N, C or R)
23,A,AAA,7,S,100,100
24,X,AAA,7,100,unfilled
25,J,12,,malformed: bad quantity "abc"
26,J,13,1,duplicate_order_id
27,J,14,3,bad_quantity
OUT

cat >"$work/book.want" <<'OUT'
AAA,B,101,7,1
AAA,S,105,6,1
BBB,B,50,3,1
OUT

"$tool" replay --in "$work/in.txt" >"$work/replay.got"
expect replay "$work/replay.want" "$work/replay.got"
"$tool" book --in "$work/in.txt" >"$work/book.got" 2>"$work/book.err"
expect book "$work/book.want" "$work/book.got"
# book reports the malformed lines on standard error, as replay writes them.
grep ',malformed: ' "$work/replay.want" >"$work/book.err.want"
expect "book's malformed lines" "$work/book.err.want" "$work/book.err"

# A line over 4,096 bytes is malformed, and the lines after it are read as usual, by both.
{
  echo "N,1,1,AAA,S,L,GTC,105,10"
  printf 'C,%04097d\n' 1
  echo "N,2,2,AAA,S,L,GTC,106,1"
} >"$work/long.txt"
cat >"$work/long.want" <<'OUT'
1,A,AAA,1,S,105,10
2,B,AAA,0,0,105,10
3,J,2,,malformed: a line longer than 4096 bytes (the limit)
4,A,AAA,2,S,106,1
OUT
"$tool" replay --in "$work/long.txt" >"$work/long.got"
expect "replay of a long line" "$work/long.want" "$work/long.got"
"$tool" book --in "$work/long.txt" >"$work/long_book.got" 2>"$work/long_book.err"
printf 'AAA,S,105,10,1\nAAA,S,106,1,1\n' >"$work/long_book.want"
expect "book of a long line" "$work/long_book.want" "$work/long_book.got"
echo "3,J,2,,malformed: a line longer than 4096 bytes (the limit)" >"$work/long_book.err.want"
expect "book's report of a long line" "$work/long_book.err.want" "$work/long_book.err"

# A 256 MiB line (from a pipe, never on disk) is rejected without being held in memory: the
# tools' peak memory stays far below the line's size (checked where GNU time can measure it).
huge_line() { head -c $((256 << 20)) /dev/zero | tr '\0' 'x'; echo; echo "C,1"; }
huge_line | "$tool" replay --in /dev/stdin >"$work/huge.got"
printf '1,J,1,,malformed: a line longer than 4096 bytes (the limit)\n2,J,2,1,unknown_order\n' \
  >"$work/huge.want"
expect "replay of a 256 MiB line" "$work/huge.want" "$work/huge.got"
if /usr/bin/time -f %M true >/dev/null 2>&1; then
  for command in replay book; do
    huge_line | /usr/bin/time -o "$work/rss" -f %M "$tool" "$command" --in /dev/stdin \
      >/dev/null 2>&1
    kib="$(tail -n 1 "$work/rss")"
    ((kib < 128 * 1024)) || fail "$command of a 256 MiB line peaked at $kib KiB"
  done
fi

# Windows line endings read the same.
sed 's/$/\r/' "$work/in.txt" >"$work/crlf.txt"
"$tool" replay --in "$work/crlf.txt" >"$work/crlf.got"
expect "replay of CRLF input" "$work/replay.want" "$work/crlf.got"

# An empty file: no events, no depth.
: >"$work/empty.txt"
[[ -z "$("$tool" replay --in "$work/empty.txt")" ]] || fail "replay of an empty file printed"
[[ -z "$("$tool" book --in "$work/empty.txt")" ]] || fail "book of an empty file printed"

# Exit codes: 2 for bad usage or a missing file.
set +e
"$tool" replay --in "$work/missing.txt" 2>/dev/null
[[ $? -eq 2 ]] || fail "a missing input file should exit 2"
"$tool" replay 2>/dev/null
[[ $? -eq 2 ]] || fail "replay without --in should exit 2"
"$tool" frobnicate 2>/dev/null
[[ $? -eq 2 ]] || fail "an unknown command should exit 2"
if [[ -w /dev/full ]]; then
  "$tool" replay --in "$work/in.txt" >/dev/full 2>/dev/null
  [[ $? -eq 1 ]] || fail "a failed write to standard output should exit 1"
fi
set -e
echo "stock_exchange command-line contract: OK"
