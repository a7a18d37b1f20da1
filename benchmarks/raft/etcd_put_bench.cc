// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// etcd_put_bench: redis-benchmark's SET workload, sent to etcd as puts over etcd's own gRPC API
// (etcdserverpb.KV/Put). It is the etcd side of the raft benchmark (scripts/raft_bench.sh), which
// runs raft_kv under `redis-benchmark -t set` and etcd under this program with the same clients,
// pipelines, keys and values, and puts the two side by side.
//
//   etcd_put_bench --endpoint 127.0.0.1:2379 --clients 50 --pipeline 16 --requests 100000
//
// The load mirrors redis-benchmark's model, so that the two tables measure the same thing:
//
//   clients     N closed-loop clients. They share --conns gRPC connections round-robin (default
//               1: HTTP/2 multiplexes their calls as streams, as etcd's clientv3 and its own
//               `benchmark put` tool do by default). --conns 0 gives every client its own TCP
//               connection, as each redis-benchmark client has; on etcd that measured slower (50
//               clients, pipeline 1: 2,200 puts/s against 3,400 on one connection; the same at
//               pipeline 16), so the comparison gives etcd the shared connection.
//   pipeline    P: a client sends P puts at once and waits for all P replies before sending the
//               next P, as redis-benchmark -P does (--window instead keeps P in flight at all
//               times, sending a new put as each reply arrives).
//   requests    the total across all clients (redis-benchmark -n).
//   keys        "key:" and 12 decimal digits, uniformly random below --keyspace (redis-benchmark
//               -r 100000 writes key:000000012345); a fresh key for every put.
//   values      --value-bytes random capital letters chosen once per run (redis-benchmark -d 3
//               fills its value the same way).
//   latency     redis-benchmark's definition: from the moment a client starts sending a batch to
//               the first reply of that batch, recorded once for every request of the batch. With
//               pipeline 1 that is each put's round trip; with P > 1 the later replies of a batch
//               wait longer than recorded, so each put's own round trip is printed beside it.
//   throughput  puts acknowledged / wall time from the first send to the last reply.
//
// Percentiles are exact (nearest rank over every recorded time, not a histogram's buckets). After
// the run, the program checks what etcd acknowledged: the store's revision must have advanced by
// exactly the number of successful puts (each put is one revision; nothing else writes during a
// run), and the key of the highest-revision put must read back with that revision. An RPC error
// or a failed check exits 1; --csv prints redis-benchmark's CSV header and one "PUT" row.
#include <grpcpp/grpcpp.h>
#include <sys/resource.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "cli.h"
#include "etcd_kv.grpc.pb.h"
#include "keel/base/clock.h"
#include "keel/base/random.h"

namespace {

using etcdserverpb::KV;
using etcdserverpb::PutRequest;
using etcdserverpb::PutResponse;

// Limits on the flags: enough for any run this machine can drive, small enough that the arrays
// sized from them (one slot per in-flight put, one latency per request) stay modest.
constexpr int64_t kClientsMax = 10'000;
constexpr int64_t kPipelineMax = 1'000;
constexpr int64_t kRequestsMax = 100'000'000;
constexpr int64_t kValueBytesMax = 1 << 20;
constexpr int64_t kKeyspaceMax = 1'000'000'000'000;  // 12 decimal digits

struct Options {
  std::string endpoint;
  int clients = 0;
  int conns = 0;
  int pipeline = 0;
  int64_t requests = 0;
  int64_t keyspace = 0;
  int64_t value_bytes = 0;
  bool window = false;
  bool csv = false;
  int64_t timeout_ms = 0;
  uint64_t seed = 0;
};

// One put in flight. A grpc::ClientContext serves a single call, so it is rebuilt in place for
// each put; the request and response messages are reused.
struct Slot {
  std::optional<grpc::ClientContext> context;
  PutRequest request;
  PutResponse response;
  grpc::Status status;
  std::unique_ptr<grpc::ClientAsyncResponseReader<PutResponse>> reader;
  int64_t sent_ns = 0;
  int client = 0;
};

struct Client {
  KV::Stub* stub = nullptr;
  std::unique_ptr<Slot[]> slots;  // --pipeline of them (a Slot cannot move: its context pins it)
  int outstanding = 0;            // puts of the current batch not yet answered
  int batch_size = 0;
  int64_t batch_start_ns = 0;
  int64_t batch_first_reply_ns = -1;
};

struct Latencies {
  std::vector<double> batch_ms;  // redis-benchmark's definition (see the file comment)
  std::vector<double> own_ms;    // each put's own round trip
};

int64_t CpuNanos() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  const auto nanos = [](const timeval& tv) {
    return static_cast<int64_t>(tv.tv_sec) * 1'000'000'000 +
           static_cast<int64_t>(tv.tv_usec) * 1000;
  };
  return nanos(usage.ru_utime) + nanos(usage.ru_stime);
}

class PutBench {
 public:
  explicit PutBench(const Options& options)
      : options_(options), rng_(options.seed), value_(RandomValue(options, rng_)) {}

  // Connects every channel; false (after printing why) when etcd does not answer.
  bool Connect() {
    for (int i = 0; i < options_.conns; ++i) {
      grpc::ChannelArguments args;
      // Channels with equal arguments share one connection through gRPC's global subchannel
      // pool; a private pool per channel gives each its own, as each redis-benchmark client has.
      args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
      channels_.push_back(
          grpc::CreateCustomChannel(options_.endpoint, grpc::InsecureChannelCredentials(), args));
      if (!channels_.back()->WaitForConnected(Deadline(options_.timeout_ms))) {
        std::fprintf(stderr, "etcd_put_bench: no connection to %s within %lld ms\n",
                     options_.endpoint.c_str(), static_cast<long long>(options_.timeout_ms));
        return false;
      }
      stubs_.push_back(KV::NewStub(channels_.back()));
    }
    clients_.resize(static_cast<size_t>(options_.clients));
    for (int c = 0; c < options_.clients; ++c) {
      Client& client = clients_[static_cast<size_t>(c)];
      client.stub = stubs_[static_cast<size_t>(c % options_.conns)].get();
      client.slots = std::make_unique<Slot[]>(static_cast<size_t>(options_.pipeline));
      for (int i = 0; i < options_.pipeline; ++i) {
        client.slots[static_cast<size_t>(i)].client = c;
        client.slots[static_cast<size_t>(i)].request.set_value(value_);
      }
    }
    return true;
  }

  // Sends --requests puts and waits for every reply. Returns the wall time in nanoseconds.
  int64_t Run() {
    latencies_.batch_ms.reserve(static_cast<size_t>(options_.requests));
    latencies_.own_ms.reserve(static_cast<size_t>(options_.requests));
    const int64_t cpu_start = CpuNanos();
    const int64_t start_ns = Now();
    for (Client& client : clients_) StartBatch(client);
    int64_t answered = 0;
    while (answered < issued_) {
      void* tag = nullptr;
      bool ok = false;
      // Every call has a deadline, so each one completes and Next cannot wait forever.
      KEEL_ASSERT(queue_.Next(&tag, &ok));
      KEEL_ASSERT(ok);  // Finish always completes with ok; the outcome is in the status
      ++answered;
      OnReply(*static_cast<Slot*>(tag), Now());
    }
    const int64_t elapsed_ns = Now() - start_ns;
    cpu_ns_ = CpuNanos() - cpu_start;
    return elapsed_ns;
  }

  // The store's revision now, by a linearizable read of a single key (any key: the header carries
  // the store's revision). nullopt (after printing why) when the read fails.
  std::optional<int64_t> Revision(std::string_view key, etcdserverpb::RangeResponse* out) {
    grpc::ClientContext context;
    context.set_deadline(Deadline(options_.timeout_ms));
    etcdserverpb::RangeRequest request;
    request.set_key(std::string(key));
    const grpc::Status status = stubs_.front()->Range(&context, request, out);
    if (!status.ok()) {
      std::fprintf(stderr, "etcd_put_bench: Range %s failed: %s\n", std::string(key).c_str(),
                   status.error_message().c_str());
      return std::nullopt;
    }
    return out->header().revision();
  }

  [[nodiscard]] int64_t succeeded() const { return succeeded_; }
  [[nodiscard]] int64_t failed() const { return failed_; }
  [[nodiscard]] int64_t cpu_ns() const { return cpu_ns_; }
  [[nodiscard]] int64_t last_revision() const { return last_revision_; }
  [[nodiscard]] const std::string& last_key() const { return last_key_; }
  [[nodiscard]] const std::string& value() const { return value_; }
  [[nodiscard]] Latencies& latencies() { return latencies_; }

 private:
  static int64_t Now() { return keel::base::MonotonicClock::Default().NowNanos(); }

  static std::chrono::system_clock::time_point Deadline(int64_t timeout_ms) {
    return std::chrono::system_clock::now() + std::chrono::milliseconds(timeout_ms);
  }

  static std::string RandomValue(const Options& options, keel::base::Random& rng) {
    std::string value(static_cast<size_t>(options.value_bytes), 'x');
    for (char& c : value) c = static_cast<char>('A' + rng.Uniform(26));
    return value;
  }

  // redis-benchmark's "key:__rand_int__" with -r: twelve digits, zero-padded.
  void SetRandomKey(PutRequest& request) {
    const auto n = static_cast<long long>(rng_.Uniform(static_cast<uint64_t>(options_.keyspace)));
    request.set_key(absl::StrFormat("key:%012d", n));
  }

  void Send(Client& client, Slot& slot) {
    SetRandomKey(slot.request);
    slot.context.emplace();
    slot.context->set_deadline(Deadline(options_.timeout_ms));
    slot.sent_ns = Now();
    slot.reader = client.stub->AsyncPut(&*slot.context, slot.request, &queue_);
    slot.reader->Finish(&slot.response, &slot.status, &slot);
    ++issued_;
  }

  // Sends the client's next batch (or, with --window, fills its window), if requests remain.
  void StartBatch(Client& client) {
    const int64_t remaining = options_.requests - issued_;
    if (remaining <= 0) return;
    client.batch_size = static_cast<int>(std::min<int64_t>(options_.pipeline, remaining));
    client.outstanding = client.batch_size;
    client.batch_first_reply_ns = -1;
    client.batch_start_ns = Now();
    for (int i = 0; i < client.batch_size; ++i) Send(client, client.slots[static_cast<size_t>(i)]);
  }

  void OnReply(Slot& slot, int64_t now_ns) {
    Client& client = clients_[static_cast<size_t>(slot.client)];
    if (slot.status.ok()) {
      ++succeeded_;
      latencies_.own_ms.push_back(static_cast<double>(now_ns - slot.sent_ns) / 1e6);
      const int64_t revision = slot.response.header().revision();
      if (revision > last_revision_) {
        last_revision_ = revision;
        last_key_ = slot.request.key();
      }
    } else {
      if (failed_ == 0) {
        std::fprintf(stderr, "etcd_put_bench: Put failed: %s (code %d)\n",
                     slot.status.error_message().c_str(),
                     static_cast<int>(slot.status.error_code()));
      }
      ++failed_;
    }
    if (options_.window) {
      // A sliding window: the slot goes straight back out while requests remain.
      if (slot.status.ok()) latencies_.batch_ms.push_back(latencies_.own_ms.back());
      if (issued_ < options_.requests) Send(client, slot);
      return;
    }
    if (client.batch_first_reply_ns < 0) client.batch_first_reply_ns = now_ns;
    if (--client.outstanding > 0) return;
    const double batch_ms =
        static_cast<double>(client.batch_first_reply_ns - client.batch_start_ns) / 1e6;
    latencies_.batch_ms.insert(latencies_.batch_ms.end(), static_cast<size_t>(client.batch_size),
                               batch_ms);
    StartBatch(client);
  }

  Options options_;
  keel::base::Random rng_;
  const std::string value_;
  std::vector<std::shared_ptr<grpc::Channel>> channels_;
  std::vector<std::unique_ptr<KV::Stub>> stubs_;
  std::vector<Client> clients_;
  grpc::CompletionQueue queue_;
  int64_t issued_ = 0;
  int64_t succeeded_ = 0;
  int64_t failed_ = 0;
  int64_t cpu_ns_ = 0;
  int64_t last_revision_ = 0;
  std::string last_key_;
  Latencies latencies_;
};

struct Summary {
  double avg = 0, min = 0, p50 = 0, p95 = 0, p99 = 0, p999 = 0, max = 0;
};

Summary Summarize(std::vector<double>& ms) {
  Summary s;
  if (ms.empty()) return s;
  std::sort(ms.begin(), ms.end());
  double total = 0;
  for (double v : ms) total += v;
  s.avg = total / static_cast<double>(ms.size());
  s.min = ms.front();
  s.max = ms.back();
  s.p50 = keel::examples::Percentile(ms, 50);
  s.p95 = keel::examples::Percentile(ms, 95);
  s.p99 = keel::examples::Percentile(ms, 99);
  s.p999 = keel::examples::Percentile(ms, 99.9);
  return s;
}

// Reads a flag as an integer in [min, max], or prints why not and returns nullopt.
std::optional<int64_t> IntFlag(const keel::examples::Flags& flags, const std::string& name,
                               int64_t min, int64_t max) {
  const int64_t v = flags.GetInt(name);
  if (v < min || v > max) {
    std::fprintf(stderr, "etcd_put_bench: --%s=%lld must be from %lld to %lld\n", name.c_str(),
                 static_cast<long long>(v), static_cast<long long>(min),
                 static_cast<long long>(max));
    return std::nullopt;
  }
  return v;
}

std::optional<Options> ParseOptions(int argc, char** argv, int* exit_code) {
  keel::examples::Flags flags(
      "etcd_put_bench",
      "redis-benchmark's SET load (-t set -r -d) as puts to etcd over its gRPC API (KV/Put)");
  flags.Add("endpoint", "127.0.0.1:2379", "etcd client endpoint, host:port (use the leader's)");
  flags.Add("clients", "50", "concurrent clients (redis-benchmark -c)");
  flags.Add("conns", "1", "TCP connections the clients share round-robin; 0: one per client");
  flags.Add("pipeline", "1", "puts a client sends before waiting for replies (redis-benchmark -P)");
  flags.AddBool("window", "keep --pipeline puts in flight per client instead of batches");
  flags.Add("requests", "100000", "total puts across all clients (redis-benchmark -n)");
  flags.Add("keyspace", "100000", "keys are key:<12 digits> below this (redis-benchmark -r)");
  flags.Add("value-bytes", "3", "value size in bytes (redis-benchmark -d)");
  flags.Add("timeout-ms", "10000", "deadline of each RPC and of connecting");
  flags.Add("seed", "1", "seed of the keys and the value");
  flags.AddBool("csv", "print redis-benchmark's --csv header and one PUT row");
  flags.AddBool("smoke", "a quick check against a running etcd: 300 puts, 4 clients, pipeline 4");
  if (!flags.Parse(argc, argv, exit_code)) return std::nullopt;
  *exit_code = 2;

  Options o;
  o.endpoint = flags.Get("endpoint");
  o.window = flags.GetBool("window");
  o.csv = flags.GetBool("csv");
  const auto clients = IntFlag(flags, "clients", 1, kClientsMax);
  const auto conns = IntFlag(flags, "conns", 0, kClientsMax);
  const auto pipeline = IntFlag(flags, "pipeline", 1, kPipelineMax);
  const auto requests = IntFlag(flags, "requests", 1, kRequestsMax);
  const auto keyspace = IntFlag(flags, "keyspace", 1, kKeyspaceMax);
  const auto value_bytes = IntFlag(flags, "value-bytes", 0, kValueBytesMax);
  const auto timeout_ms = IntFlag(flags, "timeout-ms", 1, 3'600'000);
  if (!clients || !conns || !pipeline || !requests || !keyspace || !value_bytes || !timeout_ms) {
    return std::nullopt;
  }
  o.clients = static_cast<int>(*clients);
  o.conns = *conns == 0 ? o.clients : static_cast<int>(*conns);
  if (o.conns > o.clients) {
    std::fprintf(stderr, "etcd_put_bench: --conns=%d is more than --clients=%d\n", o.conns,
                 o.clients);
    return std::nullopt;
  }
  o.pipeline = static_cast<int>(*pipeline);
  o.requests = *requests;
  o.keyspace = *keyspace;
  o.value_bytes = *value_bytes;
  o.timeout_ms = *timeout_ms;
  o.seed = static_cast<uint64_t>(flags.GetInt("seed"));
  if (flags.GetBool("smoke")) {
    o.clients = 4;
    o.conns = 4;
    o.pipeline = 4;
    o.requests = 300;
  }
  *exit_code = 0;
  return o;
}

void PrintHuman(const Options& o, double rps, double seconds, const Summary& batch,
                const Summary& own, double cpu_us_per_put) {
  std::printf("etcd_put_bench: %s, %d clients on %d connection%s, pipeline %d%s, %lld puts\n",
              o.endpoint.c_str(), o.clients, o.conns, o.conns == 1 ? "" : "s", o.pipeline,
              o.pipeline == 1 ? "" : (o.window ? " (window)" : " (batches, as redis-benchmark -P)"),
              static_cast<long long>(o.requests));
  std::printf("  keys key:<12 digits> below %lld, values %lld bytes, seed %llu\n",
              static_cast<long long>(o.keyspace), static_cast<long long>(o.value_bytes),
              static_cast<unsigned long long>(o.seed));
  std::printf("  throughput  %.1f requests/s (%.2f s)\n", rps, seconds);
  const auto line = [](const char* what, const Summary& s) {
    std::printf(
        "  %-11s avg %.3f  min %.3f  p50 %.3f  p95 %.3f  p99 %.3f  p99.9 %.3f  max %.3f ms\n", what,
        s.avg, s.min, s.p50, s.p95, s.p99, s.p999, s.max);
  };
  line("latency", batch);
  if (o.pipeline > 1 && !o.window) line("per put", own);
  std::printf("  client CPU  %.1f us per put (user + system, all threads)\n", cpu_us_per_put);
}

}  // namespace

int main(int argc, char** argv) {
  int exit_code = 0;
  const std::optional<Options> options = ParseOptions(argc, argv, &exit_code);
  if (!options) return exit_code;

  PutBench bench(*options);
  if (!bench.Connect()) return 1;
  etcdserverpb::RangeResponse range;
  const std::optional<int64_t> revision_before = bench.Revision("key:", &range);
  if (!revision_before) return 1;

  const int64_t elapsed_ns = bench.Run();
  const double seconds = static_cast<double>(elapsed_ns) / 1e9;
  const double rps = static_cast<double>(bench.succeeded()) / seconds;
  const Summary batch = Summarize(bench.latencies().batch_ms);
  const Summary own = Summarize(bench.latencies().own_ms);
  const double cpu_us_per_put =
      static_cast<double>(bench.cpu_ns()) / 1e3 / static_cast<double>(options->requests);

  if (options->csv) {
    std::printf(
        "\"test\",\"rps\",\"avg_latency_ms\",\"min_latency_ms\",\"p50_latency_ms\","
        "\"p95_latency_ms\",\"p99_latency_ms\",\"max_latency_ms\",\"p999_latency_ms\","
        "\"client_cpu_us_per_request\",\"errors\"\n");
    std::printf(
        "\"PUT\",\"%.2f\",\"%.3f\",\"%.3f\",\"%.3f\",\"%.3f\",\"%.3f\",\"%.3f\",\"%.3f\","
        "\"%.1f\",\"%lld\"\n",
        rps, batch.avg, batch.min, batch.p50, batch.p95, batch.p99, batch.max, batch.p999,
        cpu_us_per_put, static_cast<long long>(bench.failed()));
  } else {
    PrintHuman(*options, rps, seconds, batch, own, cpu_us_per_put);
  }

  // What etcd acknowledged must be what it stored: one revision per successful put, and the
  // key of the last one (by revision) modified at that revision.
  if (bench.failed() > 0) {
    std::fprintf(stderr, "etcd_put_bench: %lld of %lld puts failed\n",
                 static_cast<long long>(bench.failed()), static_cast<long long>(options->requests));
    return 1;
  }
  const std::optional<int64_t> revision_after = bench.Revision(bench.last_key(), &range);
  if (!revision_after) return 1;
  const int64_t advanced = *revision_after - *revision_before;
  if (advanced != bench.succeeded()) {
    std::fprintf(stderr,
                 "etcd_put_bench: the revision advanced by %lld over %lld acknowledged puts "
                 "(another writer, or a put applied twice)\n",
                 static_cast<long long>(advanced), static_cast<long long>(bench.succeeded()));
    return 1;
  }
  if (range.kvs_size() != 1 || range.kvs(0).mod_revision() != bench.last_revision() ||
      range.kvs(0).value() != bench.value()) {
    std::fprintf(stderr, "etcd_put_bench: %s does not read back at revision %lld\n",
                 bench.last_key().c_str(), static_cast<long long>(bench.last_revision()));
    return 1;
  }
  if (!options->csv) {
    std::printf("  check       the revision advanced by %lld, one per put; %s reads back at %lld\n",
                static_cast<long long>(advanced), bench.last_key().c_str(),
                static_cast<long long>(bench.last_revision()));
  }
  return 0;
}
