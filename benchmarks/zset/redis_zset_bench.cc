// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// Redis's own figures for the leaderboard of sorted_set_bench.cc, to set beside keel's: the same
// 1M players and scores, the same picked players, new scores and increments, sent to a
// redis-server that the benchmark starts on a free loopback port (and skips, with a message, when
// redis-server is not installed).
//
// What is compared is Redis's server-side time per call, from INFO commandstats (usec_per_call:
// the time inside the command's implementation, without parsing, networking or the event loop),
// which is the figure closest to keel's in-process call. Redis reports it in whole-ish
// microseconds with two decimals, so each command runs kCalls times to average it. Memory: INFO's
// used_memory (jemalloc's allocated bytes) before and after loading the board, per member.
//
// Each figure is a counter of one benchmark run (Iterations(1)): *_ns are nanoseconds per call,
// bytes_per_member and overhead_per_member (beyond the 14-byte member and 8-byte score) as in
// BM_Memory_Keel.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <charconv>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "keel/base/assert.h"
#include "keel/net/resp_client.h"
#include "redis_process.h"
#include "zset/board.h"

namespace keel::zset {
namespace {

const size_t kCalls = kSmoke ? 1'000 : 100'000;  // of each command timed
constexpr size_t kBatch = 5'000;                 // commands per pipelined round trip

// A RESP array of bulk strings, as a client sends it.
void AppendCommand(std::string& out, std::initializer_list<std::string_view> args) {
  absl::StrAppend(&out, "*", args.size(), "\r\n");
  for (std::string_view arg : args) {
    absl::StrAppend(&out, "$", arg.size(), "\r\n", absl::string_view(arg.data(), arg.size()),
                    "\r\n");
  }
}

std::string Number(double value) {
  char text[32];
  const auto [end, ec] = std::to_chars(text, text + sizeof text, value);
  KEEL_ASSERT(ec == std::errc());
  return std::string(text, end);
}

// Sends commands[begin, end) in pipelined batches and reads every reply; an error reply stops
// the program (the workload is valid, so an error is a bug in the benchmark).
void Pipeline(net::RespClient& client, size_t count,
              const std::function<void(std::string&, size_t)>& command) {
  for (size_t begin = 0; begin < count; begin += kBatch) {
    const size_t end = std::min(count, begin + kBatch);
    std::string bytes;
    for (size_t i = begin; i < end; ++i) command(bytes, i);
    KEEL_ASSERT(client.SendRaw(bytes).ok());
    for (size_t i = begin; i < end; ++i) {
      absl::StatusOr<net::RespReply> reply = client.Read();
      KEEL_ASSERT(reply.ok(), reply.status().ToString());
      KEEL_ASSERT(reply->raw.empty() || reply->raw[0] != '-', reply->raw);
    }
  }
}

// "name:value" lines of an INFO section.
std::map<std::string, std::string> InfoFields(net::RespClient& client, std::string_view section) {
  absl::StatusOr<net::RespReply> reply = client.Call({"INFO", section});
  KEEL_ASSERT(reply.ok(), reply.status().ToString());
  std::map<std::string, std::string> fields;
  std::string_view text = reply->value.text;
  while (!text.empty()) {
    const size_t end = text.find("\r\n");
    const std::string_view line = text.substr(0, end);
    const size_t colon = line.find(':');
    if (colon != std::string_view::npos && line[0] != '#') {
      fields[std::string(line.substr(0, colon))] = std::string(line.substr(colon + 1));
    }
    if (end == std::string_view::npos) break;
    text.remove_prefix(end + 2);
  }
  return fields;
}

// usec_per_call of one command in INFO commandstats ("calls=..,usec=..,usec_per_call=1.23,...").
double UsecPerCall(const std::map<std::string, std::string>& stats, const std::string& command) {
  const auto it = stats.find("cmdstat_" + command);
  KEEL_ASSERT(it != stats.end(), "no commandstats for ", command);
  const std::string_view value = it->second;
  const size_t at = value.find("usec_per_call=");
  KEEL_ASSERT(at != std::string_view::npos);
  return std::stod(std::string(value.substr(at + 14)));
}

void BM_Redis_CommandStats(benchmark::State& state) {
  absl::StatusOr<std::unique_ptr<keel::testing::RedisProcess>> server =
      keel::testing::RedisProcess::Start();
  if (!server.ok()) {
    state.SkipWithError(absl::IsNotFound(server.status())
                            ? "redis-server is not on PATH: no comparison with Redis"
                            : server.status().ToString().c_str());
    for (auto _ : state) {
    }
    return;
  }
  absl::StatusOr<std::unique_ptr<net::RespClient>> connected =
      net::RespClient::Connect("127.0.0.1", (*server)->port(), {.timeout_ms = 60'000});
  KEEL_ASSERT(connected.ok(), connected.status().ToString());
  net::RespClient& client = **connected;
  const Board& b = Board::Get();
  for (auto _ : state) {
    const double memory_before = std::stod(InfoFields(client, "memory")["used_memory"]);
    Pipeline(client, kPlayers, [&](std::string& out, size_t i) {
      AppendCommand(out, {"ZADD", "board", Number(b.scores[i]), b.players[i]});
    });
    const double memory_after = std::stod(InfoFields(client, "memory")["used_memory"]);
    KEEL_ASSERT(client.Call({"CONFIG", "RESETSTAT"}).ok());
    Pipeline(client, kCalls, [&](std::string& out, size_t k) {
      AppendCommand(out, {"ZADD", "board", Number(b.new_scores[k]), b.picked[k]});
    });
    Pipeline(client, kCalls, [&](std::string& out, size_t k) {
      AppendCommand(out, {"ZINCRBY", "board", Number(b.increments[k]), b.picked[k]});
    });
    Pipeline(client, kCalls, [&](std::string& out, size_t k) {
      AppendCommand(out, {"ZREVRANK", "board", b.picked[k]});
    });
    Pipeline(client, kCalls, [&](std::string& out, size_t k) {
      AppendCommand(out, {"ZSCORE", "board", b.picked[k]});
    });
    Pipeline(client, kCalls, [&](std::string& out, size_t) {
      AppendCommand(out, {"ZREVRANGE", "board", "0", "9", "WITHSCORES"});
    });
    Pipeline(client, kCalls, [&](std::string& out, size_t k) {
      AppendCommand(
          out, {"ZRANGEBYSCORE", "board", Number(b.new_scores[k]), "+inf", "LIMIT", "0", "10"});
    });
    const std::map<std::string, std::string> stats = InfoFields(client, "commandstats");
    state.counters["zadd_update_ns"] = 1000 * UsecPerCall(stats, "zadd");
    state.counters["zincrby_ns"] = 1000 * UsecPerCall(stats, "zincrby");
    state.counters["zrevrank_ns"] = 1000 * UsecPerCall(stats, "zrevrank");
    state.counters["zscore_ns"] = 1000 * UsecPerCall(stats, "zscore");
    state.counters["top10_ns"] = 1000 * UsecPerCall(stats, "zrevrange");
    state.counters["range_by_score_ns"] = 1000 * UsecPerCall(stats, "zrangebyscore");
    const double per_member = (memory_after - memory_before) / static_cast<double>(kPlayers);
    state.counters["bytes_per_member"] = per_member;
    state.counters["overhead_per_member"] = per_member - kMemberBytes - sizeof(double);
    KEEL_ASSERT(client.Call({"DEL", "board"}).ok());
  }
}

BENCHMARK(BM_Redis_CommandStats)->Unit(benchmark::kMillisecond)->Iterations(1);

}  // namespace
}  // namespace keel::zset
