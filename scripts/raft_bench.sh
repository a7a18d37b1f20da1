#!/usr/bin/env bash
# raft_kv against etcd 3.4 (issue 13): three processes of each on loopback, every write fsynced,
# SET throughput and latency (p50, p99) at 1 and 50 clients, pipeline 1 and 16.
#
#   scripts/raft_bench.sh                      etcd, and raft_kv when it is built
#   scripts/raft_bench.sh --raft-kv PATH       raft_kv from PATH (or RAFT_KV=PATH)
#   scripts/raft_bench.sh --reps 5             repetitions (default 3); medians are reported
#   scripts/raft_bench.sh --etcd-only          skip raft_kv even when it is found
#   scripts/raft_bench.sh --smoke              a few hundred requests per run, one repetition
#   scripts/raft_bench.sh --raw FILE           also keep every run's figures (CSV) in FILE
#
# raft_kv is driven by redis-benchmark -t set (-r 100000 -d 3 --csv) at its leader, found with
# `redis-cli INFO raft` (role:leader). etcd (Debian's etcd-server 3.4, default settings: its WAL
# fsyncs every batch of entries, snapshot count 100,000) is driven by benchmarks/raft's
# etcd_put_bench, which sends the same load as puts over etcd's gRPC API at the leader (found with
# `etcdctl endpoint status`): same clients, pipelines, keys and value size, the same definition of
# latency (see etcd_put_bench.cc). The two systems run in turns, each on a fresh cluster in a new
# data directory: etcd, raft_kv, etcd, raft_kv, ... -- the machine is shared and noisy, so each
# figure is the median of the repetitions. Requests per run (RAFT_BENCH_REQUESTS_<clients>_<pipeline>,
# e.g. RAFT_BENCH_REQUESTS_50_16=200000) default to a few seconds of etcd's throughput here.
#
# Everything listens on 127.0.0.1 at free ports; every process started here is stopped on exit.
# Not part of CI: a full run takes several minutes.
set -euo pipefail
cd "$(dirname "$0")/.."

reps=3
smoke=0
etcd_only=0
raw=""
raft_kv="${RAFT_KV:-}"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --reps) reps="$2"; shift 2 ;;
    --raft-kv) raft_kv="$2"; shift 2 ;;
    --etcd-only) etcd_only=1; shift ;;
    --smoke) smoke=1; reps=1; shift ;;
    --raw) raw="$2"; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "raft_bench: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
if ! [[ "$reps" =~ ^[1-9][0-9]*$ ]]; then
  echo "raft_bench: --reps '$reps' is not a positive number" >&2
  exit 2
fi

put_bench="${ETCD_PUT_BENCH:-build/release/benchmarks/etcd_put_bench}"
# gRPC connections etcd_put_bench's clients share (RAFT_BENCH_ETCD_CONNS, default 1 as in etcd's
# clientv3 and its benchmark tool; 0: one per client, as each redis-benchmark client has one).
# One connection is etcd's faster setting here (see etcd_put_bench.cc).
etcd_conns="${RAFT_BENCH_ETCD_CONNS:-1}"
if [[ -z "$raft_kv" && -x build/release/examples/bin/raft_kv ]]; then
  raft_kv=build/release/examples/bin/raft_kv
fi
if [[ $etcd_only -eq 1 ]]; then raft_kv=""; fi

need() {
  if ! command -v "$1" >/dev/null; then
    echo "raft_bench: $1 not found ($2)" >&2
    exit 1
  fi
}
need etcd "Debian: etcd-server"
need etcdctl "Debian: etcd-client"
need ss "Debian: iproute2"
if [[ ! -x "$put_bench" ]]; then
  echo "raft_bench: $put_bench not built (install libgrpc++-dev protobuf-compiler-grpc, then" \
    "cmake --build --preset release --target etcd_put_bench)" >&2
  exit 1
fi
if [[ -n "$raft_kv" ]]; then
  if [[ ! -x "$raft_kv" ]]; then
    echo "raft_bench: raft_kv binary '$raft_kv' is not an executable file" >&2
    exit 1
  fi
  need redis-benchmark "Debian: redis-tools"
  need redis-cli "Debian: redis-tools"
fi

# The grid of issue 13: clients x pipeline, and the requests each run sends.
configs=("1 1" "1 16" "50 1" "50 16")
requests_for() {
  local var="RAFT_BENCH_REQUESTS_$1_$2" default
  if [[ $smoke -eq 1 ]]; then echo 300; return; fi
  case "$1x$2" in
    1x1) default=1000 ;;
    1x16) default=10000 ;;
    50x1) default=30000 ;;
    *) default=100000 ;;
  esac
  echo "${!var:-$default}"
}

scratch=$(mktemp -d "${TMPDIR:-/tmp}/raft_bench.XXXXXX")
pids=()
stop_all() {
  local pid
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  pids=()
}
runner=""
cleanup() {
  if [[ -n "$runner" ]]; then  # a run in progress: its load generator, then the run itself
    pkill -TERM -P "$runner" 2>/dev/null || true
    kill -TERM "$runner" 2>/dev/null || true
  fi
  stop_all
  rm -rf "$scratch"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# free_port: sets $port to a loopback TCP port no socket uses and this script has not handed out
# yet (not printed: a $(...) subshell would forget what it handed out). The ports lie below
# Linux's ephemeral range (32768 and up), where no connection's source port can take one between
# the check and the server's bind (an etcd member once failed to start that way).
taken=" "
port=""
free_port() {
  while true; do
    port=$((20000 + RANDOM % 12000))
    if [[ "$taken" != *" $port "* && -z "$(ss -Htan "sport = :$port")" ]]; then
      taken+="$port "
      return
    fi
  done
}

# Waits (up to 30 s by the clock) until a command succeeds; the cluster's logs are printed if it
# never does. The command must give up quickly itself when the cluster does not answer.
wait_for() {
  local what="$1" deadline=$((SECONDS + 30))
  shift
  while ((SECONDS < deadline)); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.1
  done
  echo "raft_bench: $what not ready after 30 s; logs:" >&2
  tail -n 20 "$scratch"/*.log >&2 || true
  exit 1
}

# --- etcd --------------------------------------------------------------------------------------
etcd_endpoints=""
start_etcd() {
  local dir="$scratch/etcd" i cluster="" peer client
  local -a peer_ports client_ports
  for i in 0 1 2; do
    free_port; peer_ports[i]=$port
    free_port; client_ports[i]=$port
    cluster+="${cluster:+,}m$i=http://127.0.0.1:${peer_ports[i]}"
  done
  etcd_endpoints=""
  for i in 0 1 2; do
    peer="http://127.0.0.1:${peer_ports[i]}"
    client="http://127.0.0.1:${client_ports[i]}"
    etcd --name "m$i" --data-dir "$dir/m$i" \
      --listen-peer-urls "$peer" --initial-advertise-peer-urls "$peer" \
      --listen-client-urls "$client" --advertise-client-urls "$client" \
      --initial-cluster "$cluster" --initial-cluster-token "keel-bench-$$" \
      --initial-cluster-state new --logger zap --log-level warn \
      >"$scratch/etcd-m$i.log" 2>&1 &
    pids+=($!)
    etcd_endpoints+="${etcd_endpoints:+,}127.0.0.1:${client_ports[i]}"
  done
  wait_for "etcd" etcdctl --dial-timeout 1s --command-timeout 2s --endpoints "$etcd_endpoints" \
    endpoint health
}

# The leader's client endpoint, from `etcdctl endpoint status -w simple`: endpoint, id, version,
# db size, is leader, ...
etcd_leader() {
  etcdctl --endpoints "$etcd_endpoints" endpoint status -w simple | awk -F', ' '$5 == "true" {print $1}'
}

# Prints "rps p50 p99 cpu" for one etcd run (cpu: the load generator's, microseconds a request).
run_etcd() {
  local clients="$1" pipeline="$2" requests="$3" leader out conns
  leader=$(etcd_leader)
  if [[ -z "$leader" ]]; then
    echo "raft_bench: etcd has no leader" >&2
    exit 1
  fi
  conns=$((etcd_conns < clients ? etcd_conns : clients))
  out=$(timed "$put_bench" --endpoint "$leader" --clients "$clients" --conns "$conns" \
    --pipeline "$pipeline" --requests "$requests" --keyspace 100000 --value-bytes 3 --csv)
  echo "$(csv_fields "$out" PUT) $(cpu_per_request "$requests")"
}

# --- raft_kv -----------------------------------------------------------------------------------
raft_kv_ports=()
start_raft_kv() {
  local dir="$scratch/raft_kv" i cluster=""
  local -a peer_ports
  raft_kv_ports=()
  for i in 0 1 2; do
    free_port; peer_ports[i]=$port
    free_port; raft_kv_ports[i]=$port
    cluster+="${cluster:+,}127.0.0.1:${peer_ports[i]}"
  done
  for i in 0 1 2; do
    mkdir -p "$dir/n$i"
    "$raft_kv" serve --id "$i" --cluster "$cluster" --port "${raft_kv_ports[i]}" \
      --dir "$dir/n$i" >"$scratch/raft_kv-n$i.log" 2>&1 &
    pids+=($!)
  done
  wait_for "raft_kv's leader" raft_kv_leader
}

# The leader's client port: the node whose INFO raft says role:leader.
raft_kv_leader() {
  local port
  for port in "${raft_kv_ports[@]}"; do
    if redis-cli -p "$port" INFO raft 2>/dev/null | tr -d '\r' | grep -qx 'role:leader'; then
      echo "$port"
      return 0
    fi
  done
  return 1
}

run_raft_kv() {
  local clients="$1" pipeline="$2" requests="$3" leader out
  leader=$(raft_kv_leader) || { echo "raft_bench: raft_kv has no leader" >&2; exit 1; }
  out=$(timed redis-benchmark -h 127.0.0.1 -p "$leader" -t set -n "$requests" -c "$clients" \
    -P "$pipeline" -r 100000 -d 3 --csv)
  echo "$(csv_fields "$out" SET) $(cpu_per_request "$requests")"
}

# Runs a load generator with bash's `time`, its report in $scratch/time (user and system seconds):
# the generators share the two cores with the servers, so what each costs is printed too.
timed() {
  local TIMEFORMAT='%U %S'
  { time "$@" 2>&3; } 3>&2 2>"$scratch/time"
}
cpu_per_request() {
  awk -v n="$1" '{ printf "%.1f", ($1 + $2) * 1e6 / n }' "$scratch/time"
}

# "rps p50 p99" from redis-benchmark's --csv output (etcd_put_bench prints the same columns).
csv_fields() {
  printf '%s\n' "$1" | tr -d '\r' | awk -F'","' -v test="$2" '
    { gsub(/^"|"$/, "") }
    NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
    $1 == test { print $col["rps"], $col["p50_latency_ms"], $col["p99_latency_ms"]; found = 1 }
    END { if (!found) exit 1 }' || {
    echo "raft_bench: no $2 row in:" >&2
    printf '%s\n' "$1" >&2
    exit 1
  }
}

# --- the runs ----------------------------------------------------------------------------------
# CPU time (user + system, in clock ticks) the cluster's three processes have used so far, from
# /proc/<pid>/stat (utime and stime are fields 14 and 15; the command name before them may hold
# spaces, so the line is cut after its closing parenthesis).
cluster_cpu_ticks() {
  local pid total=0 ticks
  for pid in "${pids[@]}"; do
    ticks=$(sed 's/.*) //' "/proc/$pid/stat" | awk '{ print $12 + $13 }')
    total=$((total + ticks))
  done
  echo "$total"
}
clock_ticks=$(getconf CLK_TCK)

results="$scratch/results.csv"
echo "system,clients,pipeline,rep,rps,p50_ms,p99_ms,client_cpu_us_per_request,servers_cpu_us_per_request" \
  >"$results"
systems=(etcd)
if [[ -n "$raft_kv" ]]; then systems+=(raft_kv); fi

echo "raft_bench: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //');" \
  "$(etcd --version | head -1); systems: ${systems[*]}; $reps repetition(s); load average" \
  "$(cut -d' ' -f1-3 /proc/loadavg)"
for rep in $(seq "$reps"); do
  for system in "${systems[@]}"; do
    "start_$system"
    for config in "${configs[@]}"; do
      read -r clients pipeline <<<"$config"
      requests=$(requests_for "$clients" "$pipeline")
      ticks_before=$(cluster_cpu_ticks)
      # In the background, so that a signal stops the script at once (bash runs a trap only after
      # the foreground command ends); a failed run stops it too (set -e).
      "run_$system" "$clients" "$pipeline" "$requests" >"$scratch/fields" &
      runner=$!
      wait "$runner"
      runner=""
      servers_cpu=$(awk -v t=$(($(cluster_cpu_ticks) - ticks_before)) -v hz="$clock_ticks" \
        -v n="$requests" 'BEGIN { printf "%.1f", t * 1e6 / hz / n }')
      read -r rps p50 p99 client_cpu <"$scratch/fields"
      printf '  rep %d  %-8s %2d clients  pipeline %2d  %6d requests  %8.1f req/s  p50 %7.3f ms  p99 %7.3f ms  CPU us/req: servers %5.1f, client %5.1f\n' \
        "$rep" "$system" "$clients" "$pipeline" "$requests" "$rps" "$p50" "$p99" "$servers_cpu" \
        "$client_cpu"
      echo "$system,$clients,$pipeline,$rep,$rps,$p50,$p99,$client_cpu,$servers_cpu" >>"$results"
    done
    stop_all
    rm -rf "${scratch:?}/$system"
  done
done
if [[ -n "$raw" ]]; then cp "$results" "$raw"; fi

# Medians per system and configuration, side by side.
median() {  # the median of the numbers on stdin
  sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
field() {  # field <system> <clients> <pipeline> <column name>
  awk -F, -v s="$1" -v c="$2" -v p="$3" -v name="$4" '
    NR == 1 { for (i = 1; i <= NF; i++) if ($i == name) k = i; next }
    $1 == s && $2 == c && $3 == p { print $k }' "$results" | median
}
echo
echo "Medians of $reps run(s). Latency in ms; CPU: the three servers' CPU time per request, in us."
header="clients  pipeline |    etcd req/s     p50      p99    CPU"
if [[ -n "$raft_kv" ]]; then
  header+=" | raft_kv req/s     p50      p99    CPU | raft_kv/etcd req/s  etcd/raft_kv p99"
fi
echo "$header"
for config in "${configs[@]}"; do
  read -r clients pipeline <<<"$config"
  line=$(printf '%7d  %8d' "$clients" "$pipeline")
  for system in "${systems[@]}"; do
    line+=$(printf ' | %13.1f %7.3f %8.3f %6.1f' "$(field "$system" "$clients" "$pipeline" rps)" \
      "$(field "$system" "$clients" "$pipeline" p50_ms)" \
      "$(field "$system" "$clients" "$pipeline" p99_ms)" \
      "$(field "$system" "$clients" "$pipeline" servers_cpu_us_per_request)")
  done
  if [[ -n "$raft_kv" ]]; then
    line+=$(awk -v er="$(field etcd "$clients" "$pipeline" rps)" \
      -v rr="$(field raft_kv "$clients" "$pipeline" rps)" \
      -v ep="$(field etcd "$clients" "$pipeline" p99_ms)" \
      -v rp="$(field raft_kv "$clients" "$pipeline" p99_ms)" \
      'BEGIN { printf " | %18.2f  %16.2f", rr / er, (rp > 0 ? ep / rp : 0) }')
  fi
  echo "$line"
done
