// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// keel-server against redis-server in the same run, with Redis's own load generator:
// redis-benchmark, 50 clients, pipelines of 1 and 16, on SET, GET, INCR, ZADD, ZINCRBY,
// ZREVRANK, ZRANGE 0 9 WITHSCORES, GEOADD and GEOSEARCH; and the memory each server uses for a
// sorted set of 1M members (INFO memory's used_memory before and after loading it).
//
// keel's server runs in this process (keel::redis::Server, one I/O thread as Redis runs one
// thread, or KEEL_SERVER_BENCH_THREADS); redis-server is Debian's 7.0.15, started on a free
// loopback port with no persistence. Each benchmark is one redis-benchmark run; its requests per
// second become the benchmark's rate (manual time: requests / rps), so Google Benchmark's table
// reads as throughput. Sorted-set reads run against a board of 100k members loaded first; the
// member names are redis-benchmark's "__rand_int__" placeholders over 100k values (-r 100000).
//
// KEEL_SERVER_BENCH_REQUESTS sets the requests per run (default 20,000, enough for the smoke
// test; the figures in docs/benchmarks.md used 1,000,000). Everything is skipped with a message
// when redis-server or redis-benchmark is not installed.
#include <benchmark/benchmark.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "keel/base/strings.h"
#include "keel/net/resp_client.h"
#include "keel/redis/server.h"
#include "redis_process.h"

namespace keel::redis {
namespace {

// keel-server's I/O threads: KEEL_SERVER_BENCH_THREADS, default 1.
size_t Threads() {
  const char* env = std::getenv("KEEL_SERVER_BENCH_THREADS");
  size_t n = 1;
  if (env == nullptr || !absl::SimpleAtoi(env, &n) || n == 0) n = 1;
  return n;
}

struct Servers {
  std::unique_ptr<Server> keel;
  std::unique_ptr<testing::RedisProcess> redis;
  bool available = false;
  std::string why;

  static Servers& Get() {
    static Servers* servers = [] {
      auto* s = new Servers;
      if (testing::FindOnPath("redis-benchmark").empty()) {
        s->why = "redis-benchmark is not installed";
        return s;
      }
      auto redis = testing::RedisProcess::Start();
      if (!redis.ok()) {
        s->why = redis.status().ToString();
        return s;
      }
      s->redis = *std::move(redis);
      ServerOptions options;
      options.network.port = 0;
      options.network.threads = Threads();
      auto keel = Server::Start(options);
      if (!keel.ok()) {
        s->why = keel.status().ToString();
        return s;
      }
      s->keel = *std::move(keel);
      s->available = true;
      return s;
    }();
    return *servers;
  }

  uint16_t port(bool keel_side) const { return keel_side ? keel->port() : redis->port(); }
};

int64_t Requests() {
  const char* env = std::getenv("KEEL_SERVER_BENCH_REQUESTS");
  int64_t n = 20'000;
  if (env != nullptr && !absl::SimpleAtoi(env, &n)) n = 20'000;
  return n;
}

// CPU time (user + system) the server has used so far: keel's is this process's (the harness
// itself only waits for redis-benchmark meanwhile), redis-server's is read from /proc.
double ServerCpuSeconds(const Servers& s, bool keel_side) {
  if (keel_side) {
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    const auto seconds = [](const timeval& t) {
      return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) * 1e-6;
    };
    return seconds(usage.ru_utime) + seconds(usage.ru_stime);
  }
  std::ifstream in(base::Cat("/proc/", s.redis->pid(), "/stat"));
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  // Fields after the command name (which is in parentheses and may hold spaces): utime and
  // stime are the 12th and 13th.
  const size_t close = stat.rfind(')');
  if (close == std::string::npos) return 0;
  std::vector<std::string> fields = absl::StrSplit(stat.substr(close + 2), ' ');
  if (fields.size() < 13) return 0;
  double utime = 0, stime = 0;
  if (!absl::SimpleAtod(fields[11], &utime) || !absl::SimpleAtod(fields[12], &stime)) return 0;
  return (utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

// Runs a command line and returns its standard output.
std::string Run(const std::string& command) {
  std::string out;
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return out;
  char buffer[4096];
  size_t n;
  while ((n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) out.append(buffer, n);
  pclose(pipe);
  return out;
}

// Sends the commands pipelined (in batches); false if any failed or got an error reply.
bool Load(uint16_t port, const std::vector<std::vector<std::string>>& commands) {
  auto client = net::RespClient::Connect("127.0.0.1", port);
  if (!client.ok()) return false;
  bool all_ok = true;
  constexpr size_t kBatch = 1000;
  for (size_t i = 0; i < commands.size(); i += kBatch) {
    const size_t end = std::min(commands.size(), i + kBatch);
    for (size_t j = i; j < end; ++j) {
      std::vector<std::string_view> args(commands[j].begin(), commands[j].end());
      if (!(*client)->Send(args).ok()) return false;
    }
    for (size_t j = i; j < end; ++j) {
      auto reply = (*client)->Read();
      if (!reply.ok()) return false;
      all_ok &= reply->value.type != net::RespValue::Type::kError;
    }
  }
  return all_ok;
}

// Whether the server answers `command` (one run of it) without an error.
bool Supports(uint16_t port, const char* command) {
  std::vector<std::string> args;
  std::string_view rest = command;
  while (!rest.empty()) {
    const size_t space = rest.find(' ');
    args.emplace_back(rest.substr(0, space));
    rest = space == std::string_view::npos ? std::string_view() : rest.substr(space + 1);
  }
  return Load(port, {args});
}

// Fills "board" with 100k members and "geo" with 100k points on both servers, once.
void Prepare(Servers& s) {
  static bool done = false;
  if (done) return;
  done = true;
  std::vector<std::vector<std::string>> load = {{"DEL", "board", "geo"}};
  for (int i = 0; i < 100'000; ++i) {
    load.push_back({"ZADD", "board", base::Cat(i % 977), base::Cat("player:", i)});
    // A grid of points around Berlin, 100 m apart.
    load.push_back({"GEOADD", "geo", base::Cat(13.30 + (i % 316) * 0.00147),
                    base::Cat(52.45 + (i / 316) * 0.0009), base::Cat("place:", i)});
  }
  Load(s.port(false), load);
  Load(s.port(true), load);
}

struct Workload {
  const char* name;
  const char* args;  // redis-benchmark's -t test, or a command after "--"
};

constexpr Workload kWorkloads[] = {
    {"SET", "-t set"},
    {"GET", "-t get"},
    {"INCR", "-t incr"},
    {"ZADD", "-t zadd"},
    {"ZINCRBY", "ZINCRBY board 1 player:__rand_int__"},
    {"ZREVRANK", "ZREVRANK board player:__rand_int__"},
    {"ZRANGE_0_9_WITHSCORES", "ZRANGE board 0 9 WITHSCORES"},
    // Into a key of its own: points piled on one spot would swell the search's results.
    {"GEOADD", "GEOADD geo-adds 13.4 52.5 place:__rand_int__"},
    {"GEOSEARCH", "GEOSEARCH geo FROMLONLAT 13.4 52.5 BYRADIUS 500 m ASC COUNT 10"},
};

void BM_Server(benchmark::State& state, bool keel_side, int workload, int pipeline) {
  Servers& s = Servers::Get();
  if (!s.available) {
    state.SkipWithError(s.why.c_str());
    return;
  }
  Prepare(s);
  const Workload& w = kWorkloads[workload];
  if (w.args[0] != '-' && !Supports(s.port(keel_side), w.args)) {
    state.SkipWithError(base::Cat(w.name, " is not supported by this server").c_str());
    return;
  }
  const int64_t requests = Requests();
  double rps = 0;
  const double cpu_before = ServerCpuSeconds(s, keel_side);
  for (auto _ : state) {
    const std::string csv =
        Run(base::Cat("redis-benchmark -h 127.0.0.1 -p ", s.port(keel_side), " -c 50 -n ", requests,
                      " -P ", pipeline, " -r 100000 --csv ", w.args, " 2>/dev/null"));
    // The CSV's second line: "name","rps",...; take the second field.
    const size_t line = csv.find('\n');
    const size_t first = csv.find(",\"", line);
    if (line == std::string::npos || first == std::string::npos ||
        !absl::SimpleAtod(csv.substr(first + 2, csv.find('"', first + 2) - first - 2), &rps) ||
        rps <= 0) {
      state.SkipWithError(("redis-benchmark failed: " + csv).c_str());
      return;
    }
    state.SetIterationTime(static_cast<double>(requests) / rps);
  }
  // The server's CPU time per request: on a shared machine a steadier measure of its cost than
  // throughput, which at pipeline 1 is mostly redis-benchmark's own limit.
  state.counters["server_cpu_us_per_request"] =
      (ServerCpuSeconds(s, keel_side) - cpu_before) * 1e6 / static_cast<double>(requests);
  state.counters["requests_per_second"] = rps;
  state.SetItemsProcessed(state.iterations() * requests);
}

// Memory for 1M members: used_memory before and after ZADD of 1M members (14-byte names).
int64_t UsedMemory(uint16_t port) {
  auto client = net::RespClient::Connect("127.0.0.1", port);
  if (!client.ok()) return -1;
  auto reply = (*client)->Call({"INFO", "memory"});
  if (!reply.ok()) return -1;
  const std::string& text = reply->value.text;
  const size_t at = text.find("used_memory:");
  int64_t bytes = -1;
  if (at != std::string::npos) {
    (void)absl::SimpleAtoi(text.substr(at + 12, text.find('\r', at) - at - 12), &bytes);
  }
  return bytes;
}

void BM_MemoryFor1MMembers(benchmark::State& state, bool keel_side) {
  Servers& s = Servers::Get();
  if (!s.available) {
    state.SkipWithError(s.why.c_str());
    return;
  }
  const uint16_t port = s.port(keel_side);
  const int64_t members = Requests() >= 1'000'000 ? 1'000'000 : 100'000;
  // Built before the first reading: keel's server shares this process's heap.
  std::vector<std::vector<std::string>> load;
  char name[32];
  for (int64_t i = 0; i < members; ++i) {
    std::snprintf(name, sizeof name, "player:%07lld", static_cast<long long>(i));
    load.push_back({"ZADD", "million", base::Cat(i * 7 % 1'000'003), name});
  }
  for (auto _ : state) {
    Load(port, {{"DEL", "million"}});
    const int64_t before = UsedMemory(port);
    if (!Load(port, load)) {
      state.SkipWithError("loading failed");
      return;
    }
    const int64_t after = UsedMemory(port);
    state.counters["members"] = static_cast<double>(members);
    state.counters["bytes_per_member"] =
        static_cast<double>(after - before) / static_cast<double>(members);
    Load(port, {{"DEL", "million"}});
  }
}

void RegisterAll() {
  for (int w = 0; w < static_cast<int>(std::size(kWorkloads)); ++w) {
    for (int pipeline : {1, 16}) {
      for (bool keel_side : {true, false}) {
        benchmark::RegisterBenchmark(
            base::Cat("BM_Server/", kWorkloads[w].name, "/P", pipeline, "/",
                      keel_side ? "keel" : "redis")
                .c_str(),
            [=](benchmark::State& state) { BM_Server(state, keel_side, w, pipeline); })
            ->UseManualTime()
            ->Iterations(1)
            ->Unit(benchmark::kMillisecond);
      }
    }
  }
  for (bool keel_side : {true, false}) {
    benchmark::RegisterBenchmark(
        base::Cat("BM_MemoryFor1MMembers/", keel_side ? "keel" : "redis").c_str(),
        [=](benchmark::State& state) { BM_MemoryFor1MMembers(state, keel_side); })
        ->Iterations(1)
        ->Unit(benchmark::kMillisecond);
  }
}

const bool registered = (RegisterAll(), true);

}  // namespace
}  // namespace keel::redis
