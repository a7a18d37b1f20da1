// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// The cluster with its background threads, under load and failures: idempotent producers with
// every acks level, a consumer group member, brokers stopping and starting, and power cuts (the
// fault-injecting file system) in the middle of a fail-over. Checked against a model of what was
// acknowledged and seen:
//
//   - every message acknowledged with acks=all (so with min_insync_replicas in sync) is in its
//     partition at its offset, after every power cut and reopen;
//   - no message is in a partition twice (the producers are idempotent and never resend);
//   - what the consumer saw at an offset is what the partition holds there, for good, and it saw
//     each partition's offsets without a hole.
//
// Rounds and seeds: KEEL_MQ_STRESS_ROUNDS (default 2) rounds, each with KEEL_TEST_SEED (or the
// default) plus its number as seed, printed on failure.
#include <doctest/doctest.h>

#include <atomic>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "keel/base/random.h"
#include "keel/mq/cluster.h"
#include "keel/mq/consumer.h"
#include "keel/mq/producer.h"
#include "keel/wal/fault_injecting_file_system.h"
#include "keel/wal/memory_file_system.h"
#include "mq/mq_testing.h"
#include "testing/testing.h"

namespace keel::mq {
namespace {

constexpr uint32_t kPartitions = 2;

// What the run acknowledged and saw, across its power cuts.
struct Model {
  std::mutex mu;
  std::map<std::pair<uint32_t, uint64_t>, std::string> acked_all;  // (partition, offset) -> value
  std::map<std::pair<uint32_t, uint64_t>, std::string> seen;       // by the consumer
  std::vector<std::string> problems;                               // found on other threads

  void Problem(std::string what) {
    std::lock_guard lock(mu);
    if (problems.size() < 20) problems.push_back(std::move(what));
  }
};

// One life of the cluster between two power cuts: producers, a consumer and the chaos run until
// `stop`, then everything is torn down.
class Life {
 public:
  Life(Cluster& cluster, Model& model, uint64_t seed, int life)
      : cluster_(cluster), model_(model), seed_(seed), life_(life) {}

  void Start() {
    for (int p = 0; p < 3; ++p) {
      ProducerOptions o;
      o.idempotent = true;
      o.acks = static_cast<Acks>(p);  // kNone, kLeader, kAll
      o.linger_ns = base::kNanosPerMilli;
      o.retries = 3;
      o.retry_backoff_ns = 2 * base::kNanosPerMilli;
      o.batch_bytes = 512;
      auto producer = Producer::Create(cluster_, o);
      if (!producer.ok()) {
        model_.Problem(absl::StrCat("producer: ", producer.status().message()));
        continue;
      }
      producers_.push_back(std::move(*producer));
    }
    for (size_t p = 0; p < producers_.size(); ++p) {
      threads_.emplace_back([this, p] { Produce(p); });
    }
    threads_.emplace_back([this] { Consume(); });
    threads_.emplace_back([this] { Chaos(); });
  }

  // Stops the threads and the producers (whose last callbacks run now).
  void Stop() {
    stop_.store(true);
    for (std::thread& t : threads_) t.join();
    threads_.clear();
    producers_.clear();
  }

  // Stops a broker, as the chaos thread does, to cut the power in the middle of its fail-over.
  void StopABroker(base::Random& rng) {
    (void)cluster_.StopBroker(static_cast<uint32_t>(rng.Uniform(3)));
  }

 private:
  void Produce(size_t p) {
    base::Random rng(seed_ * 31 + p);
    const bool all = p == 2;
    for (uint64_t i = 0; !stop_.load(); ++i) {
      Message m;
      m.value = absl::StrCat("life", life_, "-p", p, "-", i);
      const auto partition = static_cast<uint32_t>(rng.Uniform(kPartitions));
      const absl::Status sent = producers_[p]->SendTo(
          "t", partition, m, [this, all, value = m.value](const absl::StatusOr<Ack>& ack) {
            if (!all || !ack.ok() || !ack->offset) return;
            std::lock_guard lock(model_.mu);
            model_.acked_all[{ack->partition, *ack->offset}] = value;
          });
      if (!sent.ok() && !absl::IsResourceExhausted(sent)) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
      if (i % 16 == 0) std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
  }

  void Consume() {
    ConsumerOptions o;
    o.group = "checker";
    o.topics = {"t"};
    o.reset = OffsetReset::kEarliest;
    o.member_id = absl::StrCat("checker-", life_);
    absl::StatusOr<std::unique_ptr<Consumer>> consumer = absl::UnavailableError("not yet");
    std::map<uint32_t, uint64_t> next;  // the offset each partition's next message must have
    uint64_t generation = 0;
    while (!stop_.load()) {
      if (!consumer.ok()) {
        consumer = Consumer::Join(cluster_, o);
        if (!consumer.ok()) continue;
      }
      absl::StatusOr<std::vector<ConsumedMessage>> got = (*consumer)->Poll(100);
      if (!got.ok()) {
        consumer = absl::UnavailableError("rejoin");
        next.clear();
        continue;
      }
      // After a rebalance the consumer starts from the committed offsets (at least once).
      if ((*consumer)->generation() != generation) {
        generation = (*consumer)->generation();
        next.clear();
      }
      std::lock_guard lock(model_.mu);
      for (const ConsumedMessage& m : *got) {
        auto [it, fresh] = model_.seen.try_emplace({m.partition, m.offset}, m.message.value);
        if (it->second != m.message.value) {
          model_.Problem(absl::StrCat("offset ", m.offset, " of partition ", m.partition, " was ",
                                      it->second, ", now ", m.message.value));
        }
        auto [expected, first] = next.try_emplace(m.partition, m.offset);
        if (!first && m.offset != expected->second) {
          model_.Problem(absl::StrCat("the consumer skipped from ", expected->second, " to ",
                                      m.offset, " in partition ", m.partition));
        }
        expected->second = m.offset + 1;
      }
    }
  }

  void Chaos() {
    base::Random rng(seed_ * 7 + static_cast<uint64_t>(life_));
    while (!stop_.load()) {
      const auto broker = static_cast<uint32_t>(rng.Uniform(3));
      (void)cluster_.StopBroker(broker);
      std::this_thread::sleep_for(std::chrono::milliseconds(rng.UniformInRange(1, 15)));
      (void)cluster_.StartBroker(broker);
      std::this_thread::sleep_for(std::chrono::milliseconds(rng.UniformInRange(1, 15)));
    }
  }

  Cluster& cluster_;
  Model& model_;
  const uint64_t seed_;
  const int life_;
  std::atomic<bool> stop_{false};
  std::vector<std::unique_ptr<Producer>> producers_;
  std::vector<std::thread> threads_;
};

ClusterOptions StressOptions(wal::FileSystem& fs) {
  ClusterOptions o;
  o.file_system = &fs;
  o.segment_bytes = 32 << 10;
  o.max_message_bytes = 4 << 10;
  o.replica_lag_max_ns = 30 * base::kNanosPerMilli;
  o.request_timeout_ns = 300 * base::kNanosPerMilli;
  o.session_timeout_ns = 300 * base::kNanosPerMilli;
  o.tick_interval_ns = 2 * base::kNanosPerMilli;
  return o;
}

TEST_CASE("Acknowledged messages survive broker failures and power cuts under load") {
  const int rounds = test::StressRounds();
  for (int round = 0; round < rounds; ++round) {
    const uint64_t seed = keel::testing::TestSeed(331) + static_cast<uint64_t>(round);
    CAPTURE(seed);
    base::Random rng(seed);
    // In memory: the test is about the cluster's threads, not the disk, and a power cut puts back
    // a copy of every file the model holds.
    wal::MemoryFileSystem memory;
    wal::FaultInjectingFileSystem fs(memory);
    const std::string dir = "/mq";
    Model model;
    {
      auto cluster = Cluster::Open(dir, StressOptions(fs));
      REQUIRE(cluster.ok());
      REQUIRE((*cluster)
                  ->CreateTopic("t", {.partitions = kPartitions,
                                      .replication_factor = 3,
                                      .min_insync_replicas = 2})
                  .ok());
    }
    // Three lives, each ended by a power cut, and a last open to check the third.
    for (int life = 0; life <= 3; ++life) {
      CAPTURE(life);
      auto cluster = Cluster::Open(dir, StressOptions(fs));
      REQUIRE_MESSAGE(cluster.ok(), cluster.status());
      // Everything acknowledged is still there, once; what was seen is unchanged.
      std::map<std::string, int> copies;
      for (uint32_t p = 0; p < kPartitions; ++p) {
        for (int attempt = 0; attempt < 200; ++attempt) {
          const absl::StatusOr<PartitionState> state = (*cluster)->DescribePartition("t", p);
          if (state.ok() && state->leader && state->high_watermark == state->log_end) break;
          std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
        std::map<uint64_t, std::string> log = test::ReadAll(**cluster, "t", p);
        std::lock_guard lock(model.mu);
        for (const auto& [key, value] : model.acked_all) {
          if (key.first != p) continue;
          CAPTURE(key.second);
          CHECK(log[key.second] == value);
        }
        for (const auto& [key, value] : model.seen) {
          if (key.first != p) continue;
          CAPTURE(key.second);
          CHECK(log[key.second] == value);
        }
        for (const auto& [offset, value] : log) ++copies[value];
      }
      for (const auto& [value, count] : copies) {
        CAPTURE(value);
        CHECK(count == 1);
      }
      if (life == 3) break;
      Life run(**cluster, model, seed, life);
      run.Start();
      std::this_thread::sleep_for(std::chrono::milliseconds(rng.UniformInRange(80, 200)));
      // The power goes in the middle of a fail-over, with every thread still going: nothing they
      // do lands after the cut, until they are gone.
      run.StopABroker(rng);
      wal::PowerCutOptions cut_options;
      cut_options.stop_mutations = true;
      const absl::Status cut = fs.PowerCut(rng, cut_options);
      REQUIRE_MESSAGE(cut.ok(), cut);
      run.Stop();
      cluster->reset();
      fs.FailMutationsAfter(-1);
      std::lock_guard lock(model.mu);
      for (const std::string& problem : model.problems) CHECK_MESSAGE(false, problem);
      model.problems.clear();
    }
    CHECK(model.acked_all.size() > 0);
  }
}

}  // namespace
}  // namespace keel::mq
