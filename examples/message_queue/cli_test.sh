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

# --follow on a topic that does not exist yet waits for it, then reads it from its first message:
# the producer creates the topic and writes to it between two of the follower's polls.
"$mq" consume --dir "$dir/d" --topic fresh --group early --follow --poll-ms 20 >"$dir/fresh" &
early=$!
sleep 0.3
printf 'born one\nborn two\n' | "$mq" produce --dir "$dir/d" --topic fresh >/dev/null
for _ in $(seq 100); do
  [[ $(grep -c '^0 [0-9]* born' "$dir/fresh" || true) -eq 2 ]] && break
  sleep 0.1
done
kill -INT "$early"
wait "$early" || fail "consume --follow of a new topic did not exit 0 on SIGINT"
[[ $(grep -c '^0 [0-9]* born' "$dir/fresh") -eq 2 ]] ||
  fail "--follow missed a new topic's first messages: $(cat "$dir/fresh")"

# Output that cannot be written is not committed: the group gets it again on the next run.
if [[ -w /dev/full ]]; then
  set +e
  "$mq" consume --dir "$dir/d" --topic t --group full --from-beginning >/dev/full 2>"$dir/full.err"
  code=$?
  set -e
  [[ $code -ne 0 ]] || fail "consume to a full disk exited 0"
  grep -q 'cannot write to standard output' "$dir/full.err" || fail "no error: $(cat "$dir/full.err")"
  "$mq" consume --dir "$dir/d" --topic t --group full --from-beginning >"$dir/full.out"
  "$mq" consume --dir "$dir/d" --topic t --group whole --from-beginning >"$dir/whole.out"
  [[ -s "$dir/whole.out" ]] || fail "topic t is empty"
  diff <(sort "$dir/whole.out") <(sort "$dir/full.out") || fail "the unwritten messages were committed"
fi

# refused <exit code> <text of the error> <command...>: the command fails with that code and says so.
refused() {
  local want="$1" text="$2"
  shift 2
  set +e
  timeout 20 "$@" </dev/null >/dev/null 2>"$dir/refused.err"
  local code=$?
  set -e
  [[ $code -eq $want ]] || fail "exit $code, not $want: $* ($(cat "$dir/refused.err"))"
  grep -qF -- "$text" "$dir/refused.err" || fail "no \"$text\" in: $(cat "$dir/refused.err")"
}

# Times in milliseconds are range-checked, so that none overflows in nanoseconds.
refused 2 "--linger-ms 9223372036854775 is out of range" \
  "$mq" produce --dir "$dir/d" --topic t --linger-ms 9223372036854775
refused 2 "--linger-ms -1 is out of range" "$mq" produce --dir "$dir/d" --topic t --linger-ms -1
refused 2 "--wait-ms 9223372036854775807 is out of range" \
  "$mq" produce --dir "$dir/d" --topic t --wait-ms 9223372036854775807
refused 2 "--wait-ms -5 is out of range" "$mq" consume --dir "$dir/d" --topic t --group g --wait-ms -5
refused 2 "--poll-ms 0 is out of range" "$mq" consume --dir "$dir/d" --topic t --group g --poll-ms 0
refused 2 "--poll-ms 99999999999999 is out of range" \
  "$mq" consume --dir "$dir/d" --topic t --group g --follow --poll-ms 99999999999999

# Topic names: empty, the cluster's own ("__"), and names the cluster would never create are
# refused at once (consume --follow would otherwise wait for them forever).
refused 2 "--topic is required" "$mq" produce --dir "$dir/d" --topic ''
refused 2 "--topic is required" "$mq" consume --dir "$dir/d" --topic '' --group g
for internal in __delayed __mine; do
  refused 2 "is internal" "$mq" produce --dir "$dir/d" --topic "$internal"
  refused 2 "is internal" "$mq" consume --dir "$dir/d" --topic "$internal" --group g --from-beginning
  refused 2 "is internal" "$mq" consume --dir "$dir/d" --topic "$internal" --group g --follow
done
long="$(printf 'x%.0s' $(seq 201))"
for bad in 'a/b' 'two words' '..' "$long"; do
  refused 2 "bad topic name" "$mq" produce --dir "$dir/d" --topic "$bad"
  refused 2 "bad topic name" "$mq" consume --dir "$dir/d" --topic "$bad" --group g --follow
done

echo "cli_test: the produce and consume contract holds"
