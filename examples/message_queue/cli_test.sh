#!/usr/bin/env bash
# The message_queue tool's command-line contract, as scripts use it:
#   produce prints exactly one "acked <partition> <offset> <payload>" line per acknowledged
#   message; consume prints "<partition> <offset> <payload>" up to the end and commits.
# Usage: cli_test.sh path/to/message_queue
set -euo pipefail
mq="$1"
dir="$(mktemp -d)"
# Servers and followers this script started in the background stop with it, even when a check
# fails part-way.
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$dir"' EXIT
fail() { echo "cli_test: FAIL: $*" >&2; exit 1; }

# wait_lines <file> <count> [<regex>]: waits (up to 60 s) until <file> has <count> lines matching.
wait_lines() {
  local file="$1" want="$2" pattern="${3:-}"
  for _ in $(seq 600); do
    [[ $(grep -c -- "$pattern" "$file" 2>/dev/null || true) -ge $want ]] && return 0
    sleep 0.1
  done
  fail "$file has $(grep -c -- "$pattern" "$file" || true) lines matching '$pattern', not $want"
}

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

# --follow sees messages produced while it runs, and exits 0 on SIGINT. It opened the directory
# first, so it owns it: it opens the cluster once for all its polls, and the producer has it
# produce for it instead of waiting for the directory.
"$mq" consume --dir "$dir/d" --topic t --group follower --follow --poll-ms 20 --verbose \
  >"$dir/followed" 2>"$dir/followed.err" &
follower=$!
wait_lines "$dir/followed.err" 1 "opened $dir/d; serving others"
printf 'live one\nlive two\n' | "$mq" produce --dir "$dir/d" --topic t --verbose >/dev/null 2>"$dir/live.err"
grep -q "0 cluster opens, 1 connection to an owner" "$dir/live.err" || fail "produce: $(cat "$dir/live.err")"
wait_lines "$dir/followed" 2 '^[0-2] [0-9]* live'
sleep 0.2  # a few more polls
kill -INT "$follower"
wait "$follower" || fail "consume --follow did not exit 0 on SIGINT"
[[ $(grep -c '^[0-2] [0-9]* live' "$dir/followed") -eq 2 ]] || fail "--follow missed: $(cat "$dir/followed")"
summary="$(grep 'cluster open' "$dir/followed.err")"
[[ "$summary" =~ ^"message_queue consume: 1 cluster open, 0 connections to an owner, 0 hand-overs, "([0-9]+)" polls"$ ]] ||
  fail "the follower's summary: $summary"
[[ ${BASH_REMATCH[1]} -ge 5 ]] || fail "too few polls to tell: $summary"
[[ ! -e "$dir/d/OWNER" ]] || fail "the owner left its OWNER file behind"

# --follow on a topic that does not exist yet waits for it, then reads it from its first message:
# the producer creates the topic and writes to it between two of the follower's polls.
# The follower says (--verbose) once it has found the topic missing; only then is it created.
"$mq" consume --dir "$dir/d" --topic fresh --group early --follow --poll-ms 20 --verbose \
  >"$dir/fresh" 2>"$dir/fresh.err" &
early=$!
wait_lines "$dir/fresh.err" 1 "topic fresh does not exist yet"
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

# serve_owner <dir> <out>: starts `serve` on <dir> and waits until it serves; sets owner_pid and
# owner_port.
serve_owner() {
  "$mq" serve --dir "$1" >"$2" &
  owner_pid=$!
  wait_lines "$2" 1 '^serving '
  owner_port="$(sed -n 's/^serving .* on 127\.0\.0\.1:\([0-9]*\) .*/\1/p' "$2")"
}

# handover <signal>: an owner (serve) with two followers of different groups and a producer as its
# clients, all at once; the owner ends on <signal> with lines in flight, and its clients carry on
# with the next owner (one of them). Checks what is guaranteed across the hand-over:
#   produce   every line is acknowledged exactly once, at the offset where the log has it;
#   consume   each follower prints every acknowledged message, none twice (it skips what a new
#             owner delivers again from its group's last commit), and leaves nothing uncommitted.
# With SIGINT the owner answers every line it took before it goes, so each line is stored once;
# with SIGKILL a line it took but did not answer is sent again (stored at least once).
handover() {
  local sig="$1" d="$dir/handover-$1"
  serve_owner "$d" "$d.serve"
  for group in a b; do
    "$mq" consume --dir "$d" --topic live --group "$group" --from-beginning --follow --poll-ms 20 \
      --verbose >"$d.$group" 2>"$d.$group.err" &
    eval "follower_$group=\$!"
  done
  mkfifo "$d.in"
  "$mq" produce --dir "$d" --topic live --partitions 2 --verbose <"$d.in" >"$d.acked" 2>"$d.produce.err" &
  local producer=$!
  exec 3>"$d.in"
  for i in $(seq 1 40); do echo "line-$i" >&3; done
  wait_lines "$d.acked" 20
  wait_lines "$d.a" 10
  for i in $(seq 41 60); do echo "line-$i" >&3; done  # in flight as the owner goes
  kill "-$sig" "$owner_pid"
  set +e
  wait "$owner_pid"
  local code=$?
  set -e
  if [[ $sig == INT ]]; then
    [[ $code -eq 0 ]] || fail "serve exited $code on SIGINT"
    [[ ! -e "$d/OWNER" ]] || fail "serve left its OWNER file behind"
  fi
  for i in $(seq 61 100); do echo "line-$i" >&3; done
  exec 3>&-
  wait "$producer" || fail "produce exited non-zero across the hand-over: $(cat "$d.produce.err")"
  grep -q "hand-over" "$d.produce.err" || fail "no hand-over: $(cat "$d.produce.err")"
  [[ $(wc -l <"$d.acked") -eq 100 ]] || fail "$(wc -l <"$d.acked") lines acknowledged, not 100"
  diff <(seq 1 100 | sed 's/^/line-/' | sort) <(cut -d' ' -f4 "$d.acked" | sort) ||
    fail "not every line acknowledged exactly once"
  for group in a b; do
    wait_lines "$d.$group" 100
    eval "kill -INT \$follower_$group; wait \$follower_$group" || fail "follower $group did not exit 0"
    [[ -z $(cut -d' ' -f1,2 "$d.$group" | sort | uniq -d) ]] ||
      fail "follower $group printed a message twice: $(cut -d' ' -f1,2 "$d.$group" | sort | uniq -d)"
    # Every acknowledged message, where it was acknowledged.
    [[ -z $(comm -23 <(sed 's/^acked //' "$d.acked" | sort) <(sort "$d.$group")) ]] ||
      fail "follower $group missed acknowledged messages"
    "$mq" consume --dir "$d" --topic live --group "$group" >"$d.$group.again"
    [[ ! -s "$d.$group.again" ]] || fail "group $group had uncommitted messages: $(cat "$d.$group.again")"
  done
  "$mq" consume --dir "$d" --topic live --group whole --from-beginning >"$d.log"
  diff <(sort "$d.a") <(sort "$d.log") || fail "follower a did not print exactly the log"
  if [[ $sig == INT ]]; then
    diff <(sed 's/^acked //' "$d.acked" | sort) <(sort "$d.log") || fail "the log is not exactly what was acknowledged"
  fi
}
handover INT
handover KILL
# A killed owner leaves its OWNER file behind, naming a port nobody answers on; the runs above
# went past it, and so does the next one.
"$mq" serve --dir "$dir/stale" >"$dir/stale.serve" &
stale=$!
wait_lines "$dir/stale.serve" 1 '^serving '
kill -KILL "$stale"
wait "$stale" || true
[[ -e "$dir/stale/OWNER" ]] || fail "no OWNER left to test"
printf 'after\n' | timeout 20 "$mq" produce --dir "$dir/stale" --topic t --verbose >"$dir/stale.acked" 2>"$dir/stale.err" ||
  fail "produce after a killed owner: $(cat "$dir/stale.err")"
grep -q "1 cluster open, 0 connections" "$dir/stale.err" || fail "$(cat "$dir/stale.err")"

# Bad input over the wire gets a clear error, and the owner serves on: a length over the limit,
# an unknown frame type.
serve_owner "$dir/wire" "$dir/wire.serve"
exec 4<>"/dev/tcp/127.0.0.1/$owner_port"
printf '\xff\xff\xff\xff' >&4
timeout 10 cat <&4 | grep -aq 'a frame of 4294967295 bytes: want 1 to 4194304' || fail "no error for an oversized frame"
exec 4<&-
exec 4<>"/dev/tcp/127.0.0.1/$owner_port"
printf '\x01\x00\x00\x00\x63' >&4
timeout 10 cat <&4 | grep -aq 'frame type 99 is unknown' || fail "no error for an unknown frame type"
exec 4<&-
printf 'still served\n' | "$mq" produce --dir "$dir/wire" --topic t --verbose >"$dir/wire.acked" 2>"$dir/wire.err"
grep -q '0 cluster opens, 1 connection to an owner' "$dir/wire.err" || fail "$(cat "$dir/wire.err")"
"$mq" consume --dir "$dir/wire" --topic t --group g --from-beginning --verbose >"$dir/wire.got" 2>"$dir/wire.err"
grep -q '0 cluster opens, 1 connection to an owner, 0 hand-overs, 2 polls' "$dir/wire.err" || fail "$(cat "$dir/wire.err")"
grep -qx '0 0 still served' "$dir/wire.got" || fail "consume through the owner: $(cat "$dir/wire.got")"
# A second serve does not take over a served directory.
set +e
"$mq" serve --dir "$dir/wire" >/dev/null 2>"$dir/wire.second"
code=$?
set -e
[[ $code -eq 1 ]] && grep -q 'served already' "$dir/wire.second" || fail "a second serve: $code $(cat "$dir/wire.second")"
kill -TERM "$owner_pid"
wait "$owner_pid" || fail "serve did not exit 0 on SIGTERM"
[[ ! -e "$dir/wire/OWNER" ]] || fail "serve left its OWNER file behind on SIGTERM"

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
