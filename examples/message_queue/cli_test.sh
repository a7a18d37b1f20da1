#!/usr/bin/env bash
# The message_queue tool's command-line contract, as scripts use it:
#   produce prints exactly one "acked <partition> <offset> <payload>" line per acknowledged
#   message; consume prints "<partition> <offset> <payload>" up to the end and commits.
# Usage: cli_test.sh path/to/message_queue
set -euo pipefail
mq="$1"
dir="$(mktemp -d)"
trap 'rm -rf "$dir"' EXIT
fail() { echo "cli_test: FAIL: $*" >&2; exit 1; }

# Three lines, one with spaces and one empty: three acknowledgements, payloads intact.
printf 'first message\n\nthird  spaced\n' | "$mq" produce --dir "$dir/d" --topic t --partitions 3 >"$dir/acked"
[[ $(wc -l <"$dir/acked") -eq 3 ]] || fail "3 acked lines expected: $(cat "$dir/acked")"
grep -qx 'acked [0-2] [0-9]* first message' "$dir/acked" || fail "first message not acked"
grep -qx 'acked [0-2] [0-9]* ' "$dir/acked" || fail "the empty line not acked"
grep -qx 'acked [0-2] [0-9]* third  spaced' "$dir/acked" || fail "spaces not kept"
[[ $(cut -d' ' -f2,3 "$dir/acked" | sort -u | wc -l) -eq 3 ]] || fail "(partition, offset) repeated"

# The group reads all of them from the beginning, exactly as acknowledged...
"$mq" consume --dir "$dir/d" --topic t --group g --from-beginning >"$dir/got"
diff <(sed 's/^acked //' "$dir/acked" | sort) <(sort "$dir/got") || fail "consume != acked"
# ...and, having committed, nothing the second time.
"$mq" consume --dir "$dir/d" --topic t --group g --from-beginning >"$dir/again"
[[ ! -s "$dir/again" ]] || fail "a second consume printed $(cat "$dir/again")"

# acks 0 acknowledges nothing, but the message is stored.
printf 'unacked\n' | "$mq" produce --dir "$dir/d" --topic t --acks 0 >"$dir/acked0"
[[ ! -s "$dir/acked0" ]] || fail "acks 0 printed $(cat "$dir/acked0")"
"$mq" consume --dir "$dir/d" --topic t --group g >"$dir/got0"
grep -qx '[0-2] [0-9]* unacked' "$dir/got0" || fail "the acks=0 message was not consumed"

# acks 1 and all both acknowledge; --key-by-line sends equal lines to one partition.
printf 'k1\nk2\nk1\nk3\nk1\n' | "$mq" produce --dir "$dir/d" --topic t --acks 1 --key-by-line >"$dir/keyed"
[[ $(wc -l <"$dir/keyed") -eq 5 ]] || fail "5 acked lines expected"
[[ $(grep ' k1$' "$dir/keyed" | cut -d' ' -f2 | sort -u | wc -l) -eq 1 ]] || fail "k1 split over partitions"

# --max takes a prefix; the next run continues after it.
"$mq" consume --dir "$dir/d" --topic t --group g --max 2 >"$dir/first2"
[[ $(wc -l <"$dir/first2") -eq 2 ]] || fail "--max 2 printed $(wc -l <"$dir/first2") lines"
"$mq" consume --dir "$dir/d" --topic t --group g >"$dir/rest"
[[ $(wc -l <"$dir/rest") -eq 3 ]] || fail "the rest should be 3 lines"
diff <(sed 's/^acked //' "$dir/keyed" | sort) <(cat "$dir/first2" "$dir/rest" | sort) || fail "max + rest != acked"

# A new group without --from-beginning starts at the end.
"$mq" consume --dir "$dir/d" --topic t --group newcomer >"$dir/new"
[[ ! -s "$dir/new" ]] || fail "a new group printed old messages"

# Errors: a partition count that differs, an unknown topic, bad flags.
if printf 'x\n' | "$mq" produce --dir "$dir/d" --topic t --partitions 4 >/dev/null 2>&1; then
  fail "a partition mismatch was accepted"
fi
if "$mq" consume --dir "$dir/d" --topic missing --group g >/dev/null 2>&1; then
  fail "an unknown topic was accepted"
fi
set +e
"$mq" produce --dir "$dir/d" --topic t --acks 2 </dev/null >/dev/null 2>&1; [[ $? -eq 2 ]] || fail "--acks 2 not refused"
"$mq" consume --dir "$dir/d" --topic t >/dev/null 2>&1; [[ $? -eq 2 ]] || fail "missing --group not refused"
"$mq" bogus >/dev/null 2>&1; [[ $? -eq 2 ]] || fail "an unknown command not refused"
set -e

# --follow sees messages produced while it runs, and exits 0 on SIGINT.
"$mq" consume --dir "$dir/d" --topic t --group follower --follow --poll-ms 20 >"$dir/followed" &
follower=$!
sleep 0.3
printf 'live one\nlive two\n' | "$mq" produce --dir "$dir/d" --topic t >/dev/null
for _ in $(seq 100); do
  [[ $(grep -c '^[0-2] [0-9]* live' "$dir/followed" || true) -eq 2 ]] && break
  sleep 0.1
done
kill -INT "$follower"
wait "$follower" || fail "consume --follow did not exit 0 on SIGINT"
[[ $(grep -c '^[0-2] [0-9]* live' "$dir/followed") -eq 2 ]] || fail "--follow missed: $(cat "$dir/followed")"

echo "cli_test: the produce and consume contract holds"
