// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// The message queue end to end: a Producer sends 100-byte messages (batched) to a
// topic of 3 partitions on a 3-broker Cluster running its background replication, while a
// Consumer in a group polls and records each message's latency from Send to Poll (a consumer sees
// a message once it is committed: on every in-sync replica). Reported: messages/s and bytes/s
// through the whole path, and the p50 and p99 latency. Two shapes: a burst (throughput; the
// latency then includes queueing behind the burst) and a steady open-loop pace (latency).
//
// Configurations: replication 3 with acks=all and acks=1, and replication 1 with acks=1 (no
// followers to wait for). Baseline, on the same messages in the same run: a mutex-and-condition-
// variable queue in memory between the same two threads, the cost of handing messages over with
// no durability, replication or batching at all.
#include <benchmark/benchmark.h>
#include <stdlib.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "keel/base/clock.h"
#include "keel/mq/consumer.h"
#include "keel/mq/producer.h"

namespace keel::mq {
namespace {

constexpr size_t kValueBytes = 100;

// A scratch directory on the same file system as the other benchmarks' files.
class ScratchDir {
 public:
  ScratchDir() {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "keel_mq_bench_XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) std::abort();
    path_ = pattern;
  }
  ~ScratchDir() { std::filesystem::remove_all(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

double Percentile(std::vector<int64_t>& v, double p) {
  if (v.empty()) return 0;
  const size_t k =
      std::min(v.size() - 1, static_cast<size_t>(p / 100 * static_cast<double>(v.size())));
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
  return static_cast<double>(v[k]);
}

void ReportLatency(benchmark::State& state, std::vector<int64_t>& latencies_ns, int64_t messages) {
  state.SetItemsProcessed(messages);
  state.SetBytesProcessed(messages * static_cast<int64_t>(kValueBytes));
  state.counters["p50_us"] = Percentile(latencies_ns, 50) / 1e3;
  state.counters["p99_us"] = Percentile(latencies_ns, 99) / 1e3;
}

// Message i of a run that started at `start_ns`, stamped when it leaves. With a `rate`
// (messages/s) it leaves at its scheduled time, whatever the queue is doing (an open loop);
// without, at once.
Message NextMessage(const base::Clock& clock, int64_t start_ns, int64_t i, int64_t rate,
                    const std::string& value) {
  if (rate > 0) {
    const int64_t due_ns = start_ns + i * base::kNanosPerSecond / rate;
    while (clock.NowNanos() < due_ns) std::this_thread::yield();
  }
  Message m;
  m.key = std::to_string(i % 1000);
  m.value = value;
  m.timestamp_ns = clock.NowNanos();
  return m;
}

// Args: acks (0 none, 1 leader, 2 all), replication factor, messages per iteration, and the
// producer's pace in messages per second (0: as fast as it can, a burst).
void BM_EndToEnd(benchmark::State& state) {
  const auto acks = static_cast<Acks>(state.range(0));
  const auto replication = static_cast<uint32_t>(state.range(1));
  const int64_t messages = state.range(2);
  const int64_t rate = state.range(3);
  const int64_t linger_us = state.range(4);
  ScratchDir dir;
  ClusterOptions o;
  o.brokers = 3;
  o.clock = &base::MonotonicClock::Default();
  auto cluster = *Cluster::Open(dir.path(), o);
  if (!cluster->CreateTopic("bench", {.partitions = 3, .replication_factor = replication}).ok()) {
    state.SkipWithError("cannot create the topic");
    return;
  }
  ProducerOptions po;
  po.acks = acks;
  po.linger_ns = linger_us * 1000;
  auto producer = *Producer::Create(*cluster, po);
  ConsumerOptions co;
  co.group = "bench";
  co.topics = {"bench"};
  co.reset = OffsetReset::kLatest;
  co.max_poll_messages = 2000;
  auto consumer = *Consumer::Join(*cluster, co);
  const base::Clock& clock = base::MonotonicClock::Default();
  std::vector<int64_t> latencies_ns;
  latencies_ns.reserve(static_cast<size_t>(messages * 4));
  const std::string value(kValueBytes, 'v');
  int64_t total = 0;
  for (auto _ : state) {
    std::atomic<bool> failed{false};
    std::thread send([&] {
      const int64_t start_ns = clock.NowNanos();
      for (int64_t i = 0; i < messages; ++i) {
        if (!producer->Send("bench", NextMessage(clock, start_ns, i, rate, value)).ok()) {
          failed = true;
        }
      }
      producer->Flush();
    });
    int64_t received = 0;
    while (received < messages && !failed.load()) {
      absl::StatusOr<std::vector<ConsumedMessage>> got = consumer->Poll();
      if (!got.ok()) {
        failed = true;
        break;
      }
      const int64_t now = clock.NowNanos();
      for (const ConsumedMessage& m : *got) latencies_ns.push_back(now - m.message.timestamp_ns);
      received += static_cast<int64_t>(got->size());
      if (got->empty()) std::this_thread::sleep_for(std::chrono::microseconds(50));
      (void)consumer->Commit();
    }
    send.join();
    if (failed.load()) {
      state.SkipWithError("produce or consume failed");
      return;
    }
    total += received;
  }
  ReportLatency(state, latencies_ns, total);
}
BENCHMARK(BM_EndToEnd)
    ->ArgNames({"acks", "replicas", "messages", "rate", "linger_us"})
    // Throughput: a burst of 20,000 messages (latency then includes waiting in the producer).
    ->Args({1, 1, 20000, 0, 1000})
    ->Args({1, 3, 20000, 0, 1000})
    ->Args({2, 3, 20000, 0, 1000})
    // Latency: 2,000 messages at a steady 2,000 per second, batching for 1 ms or not at all.
    ->Args({1, 3, 2000, 2000, 1000})
    ->Args({2, 3, 2000, 2000, 1000})
    ->Args({1, 3, 2000, 2000, 0})
    ->Args({2, 3, 2000, 2000, 0})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

// The baseline: the same hand-over between two threads through memory.
void BM_EndToEnd_InMemoryQueue(benchmark::State& state) {
  const int64_t messages = state.range(0);
  const int64_t rate = state.range(1);
  const base::Clock& clock = base::MonotonicClock::Default();
  std::mutex mu;
  std::condition_variable cv;
  std::deque<Message> queue;
  std::vector<int64_t> latencies_ns;
  latencies_ns.reserve(static_cast<size_t>(messages * 4));
  const std::string value(kValueBytes, 'v');
  int64_t total = 0;
  for (auto _ : state) {
    std::thread send([&] {
      const int64_t start_ns = clock.NowNanos();
      for (int64_t i = 0; i < messages; ++i) {
        Message m = NextMessage(clock, start_ns, i, rate, value);
        {
          std::lock_guard lock(mu);
          queue.push_back(std::move(m));
        }
        cv.notify_one();
      }
    });
    int64_t received = 0;
    while (received < messages) {
      std::deque<Message> got;
      {
        std::unique_lock lock(mu);
        cv.wait(lock, [&] { return !queue.empty(); });
        got.swap(queue);
      }
      const int64_t now = clock.NowNanos();
      for (const Message& m : got) latencies_ns.push_back(now - m.timestamp_ns);
      received += static_cast<int64_t>(got.size());
    }
    send.join();
    total += received;
  }
  ReportLatency(state, latencies_ns, total);
}
BENCHMARK(BM_EndToEnd_InMemoryQueue)
    ->ArgNames({"messages", "rate"})
    ->Args({20000, 0})
    ->Args({2000, 2000})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace
}  // namespace keel::mq
