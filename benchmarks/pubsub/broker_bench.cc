// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// Broker fan-out against pushing into per-subscriber queues by hand, on the same messages in the
// same run. Each iteration publishes one 64-byte message to a channel with 1, 100 or 1,000
// subscribers; every 32 iterations each subscriber drains its queue. Items are deliveries
// (messages x subscribers), so items/s is messages delivered per second, taken out included.
//
//   BM_BrokerFanOut               Broker<std::string>: lock, channel lookup, queue limits,
//                                 shared_ptr copies into ring buffers, Poll.
//   BM_DequeFanOutBaseline        a std::vector<std::deque<std::shared_ptr<const std::string>>>,
//                                 no lock, no limits: the floor for sharing one message.
//   BM_DequeCopyFanOutBaseline    the same with std::deque<std::string>: every subscriber gets its
//                                 own copy of the payload, which is what sharing avoids.
//
// Single-threaded: this measures the cost of the fan-out itself, not contention.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstdlib>
#include <deque>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "keel/pubsub/broker.h"

namespace keel::pubsub {
namespace {

constexpr size_t kDrainEvery = 32;
constexpr size_t kMessageBytes = 64;

void BM_BrokerFanOut(benchmark::State& state) {
  const auto subscribers = static_cast<size_t>(state.range(0));
  auto broker = Broker<std::string>::Create();
  if (!broker.ok()) std::abort();
  std::vector<SubscriptionId> ids;
  for (size_t s = 0; s < subscribers; ++s) {
    auto id = (*broker)->Subscribe("user:42", {.max_queued_messages = 2 * kDrainEvery});
    if (!id.ok()) std::abort();
    ids.push_back(*id);
  }
  const std::string payload(kMessageBytes, 'x');
  std::vector<Broker<std::string>::MessagePtr> batch;
  batch.reserve(kDrainEvery);
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize((*broker)->Publish("user:42", payload));
    if (++i % kDrainEvery == 0) {
      for (const SubscriptionId id : ids) {
        batch.clear();
        if (!(*broker)->Poll(id, kDrainEvery, batch).ok()) std::abort();
        benchmark::DoNotOptimize(batch.data());
      }
    }
  }
  if ((*broker)->stats().dropped != 0) state.SkipWithError("messages were dropped");
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * subscribers));
}

template <typename Queued, typename MakeMessage>
void RunDequeFanOut(benchmark::State& state, MakeMessage make_message) {
  const auto subscribers = static_cast<size_t>(state.range(0));
  std::vector<std::deque<Queued>> queues(subscribers);
  const std::string payload(kMessageBytes, 'x');
  std::vector<Queued> batch;
  batch.reserve(kDrainEvery);
  size_t i = 0;
  for (auto _ : state) {
    const Queued message = make_message(payload);
    for (std::deque<Queued>& q : queues) q.push_back(message);
    if (++i % kDrainEvery == 0) {
      for (std::deque<Queued>& q : queues) {
        batch.clear();
        while (!q.empty()) {
          batch.push_back(std::move(q.front()));
          q.pop_front();
        }
        benchmark::DoNotOptimize(batch.data());
      }
    }
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * subscribers));
}

void BM_DequeFanOutBaseline(benchmark::State& state) {
  RunDequeFanOut<std::shared_ptr<const std::string>>(
      state, [](const std::string& p) { return std::make_shared<const std::string>(p); });
}

void BM_DequeCopyFanOutBaseline(benchmark::State& state) {
  RunDequeFanOut<std::string>(state, [](const std::string& p) { return p; });
}

BENCHMARK(BM_BrokerFanOut)->Arg(1)->Arg(100)->Arg(1'000);
BENCHMARK(BM_DequeFanOutBaseline)->Arg(1)->Arg(100)->Arg(1'000);
BENCHMARK(BM_DequeCopyFanOutBaseline)->Arg(1)->Arg(100)->Arg(1'000);

}  // namespace
}  // namespace keel::pubsub
