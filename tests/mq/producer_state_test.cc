// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// The producer state map is internal to keel/mq (no public header), so this includes it from
// src/.
#include "../../src/mq/producer_state.h"

#include <doctest/doctest.h>

#include <optional>
#include <string>
#include <vector>

#include "keel/base/random.h"
#include "keel/mq/errors.h"
#include "testing/testing.h"

namespace keel::mq::internal {
namespace {

struct LoggedMessage {
  uint64_t offset = 0;
  MessageHeader header;
};

// The oracle: what Check must answer, worked out from every message in the log.
absl::StatusOr<std::optional<uint64_t>> OracleCheck(const std::vector<LoggedMessage>& log,
                                                    const ProducerBatch& b) {
  std::vector<LoggedMessage> mine;
  for (const LoggedMessage& m : log) {
    if (m.header.producer_id == b.producer_id) mine.push_back(m);
  }
  if (mine.empty()) return std::nullopt;
  const MessageHeader& last = mine.back().header;
  if (b.producer_epoch < last.producer_epoch) {
    return MakeError(absl::StatusCode::kFailedPrecondition, Error::kProducerFenced, "");
  }
  if (b.producer_epoch > last.producer_epoch) {
    if (b.first_sequence == 0) return std::nullopt;
    return MakeError(absl::StatusCode::kFailedPrecondition, Error::kOutOfOrderSequence, "");
  }
  // The runs of the last epoch: messages next to each other in both offset and sequence.
  struct Run {
    uint64_t first_sequence, count, base_offset;
  };
  std::vector<Run> runs;
  for (const LoggedMessage& m : mine) {
    if (m.header.producer_epoch != last.producer_epoch) {
      runs.clear();
      continue;
    }
    if (!runs.empty() && runs.back().first_sequence + runs.back().count == m.header.sequence &&
        runs.back().base_offset + runs.back().count == m.offset) {
      ++runs.back().count;
    } else {
      runs.push_back({m.header.sequence, 1, m.offset});
    }
  }
  if (runs.size() > ProducerStateMap::kRecentRuns) {
    runs.erase(runs.begin(), runs.end() - ProducerStateMap::kRecentRuns);
  }
  for (const Run& run : runs) {
    if (run.first_sequence <= b.first_sequence &&
        b.first_sequence + b.count <= run.first_sequence + run.count) {
      return run.base_offset + (b.first_sequence - run.first_sequence);
    }
  }
  if (b.first_sequence == last.sequence + 1) return std::nullopt;
  if (b.first_sequence < last.sequence + 1) {
    return MakeError(absl::StatusCode::kAlreadyExists, Error::kDuplicateSequence, "");
  }
  return MakeError(absl::StatusCode::kFailedPrecondition, Error::kOutOfOrderSequence, "");
}

TEST_CASE("Producer state answers every batch as an oracle over the whole log does") {
  const uint64_t seed = keel::testing::TestSeed(311);
  CAPTURE(seed);
  base::Random rng(seed);
  for (int run = 0; run < 40; ++run) {
    CAPTURE(run);
    ProducerStateMap leader;
    ProducerStateMap follower;  // applies what the leader appended, one message at a time
    std::vector<LoggedMessage> log;
    // Each producer's own view: its epoch and next sequence.
    struct Sender {
      uint32_t epoch = 0;
      uint64_t next = 0;
    };
    std::vector<Sender> senders(1 + rng.Uniform(4));
    for (int step = 0; step < 400; ++step) {
      const size_t p = rng.Uniform(senders.size());
      Sender& sender = senders[p];
      ProducerBatch b;
      b.producer_id = p + 1;
      b.producer_epoch = sender.epoch;
      b.count = static_cast<uint32_t>(1 + rng.Uniform(4));
      const uint64_t dice = rng.Uniform(100);
      if (dice < 55) {
        b.first_sequence = sender.next;  // a new batch
      } else if (dice < 75) {
        b.first_sequence = sender.next - std::min<uint64_t>(sender.next, rng.Uniform(12));
      } else if (dice < 85) {
        b.first_sequence = sender.next + 1 + rng.Uniform(3);  // a gap
      } else if (dice < 93) {
        ++sender.epoch;  // a bump: numbering starts again (or, by mistake, does not)
        sender.next = rng.Uniform(4) == 0 ? 5 : 0;
        b.producer_epoch = sender.epoch;
        b.first_sequence = sender.next;
      } else {
        b.producer_epoch = sender.epoch > 0 ? sender.epoch - 1 : 0;  // a zombie
        b.first_sequence = sender.next;
      }
      CAPTURE(step);
      const auto got = leader.Check(b, "t-0");
      const auto want = OracleCheck(log, b);
      REQUIRE(got.ok() == want.ok());
      if (!got.ok()) {
        CHECK(got.status().code() == want.status().code());
        CHECK(ErrorOf(got.status()) == ErrorOf(want.status()));
        continue;
      }
      REQUIRE(*got == *want);
      if (got->has_value()) continue;  // a duplicate: nothing is appended
      for (uint32_t i = 0; i < b.count; ++i) {
        LoggedMessage m;
        m.offset = log.size();
        m.header = {1, 0, b.producer_id, b.producer_epoch, b.first_sequence + i};
        log.push_back(m);
        leader.Apply(m.header, m.offset, 100);
        follower.Apply(m.header, m.offset, 100);
      }
      sender.next = std::max(sender.next, b.first_sequence + b.count);
      // Messages of no producer sit between others' runs.
      if (rng.Uniform(4) == 0) {
        const LoggedMessage plain{log.size(), MessageHeader{}};
        log.push_back(plain);
        leader.Apply(plain.header, plain.offset, 100);
        follower.Apply(plain.header, plain.offset, 100);
      }
      if (step % 50 == 0) {
        ProducerStateMap back;
        CHECK(*back.Decode(leader.Encode(log.size())) == log.size());
        CHECK(back == leader);
      }
    }
    CHECK(follower == leader);
  }
}

TEST_CASE("Idle producers expire and are then accepted at any sequence") {
  ProducerStateMap map;
  map.Apply({1, 0, 7, 0, 0}, 0, 100);
  map.Apply({1, 0, 8, 0, 0}, 1, 500);
  CHECK(map.Check({7, 0, 9, 1}, "t-0").status().code() == absl::StatusCode::kFailedPrecondition);
  CHECK(map.Expire(200) == 1);
  CHECK(map.size() == 1);
  CHECK(map.Check({7, 0, 9, 1}, "t-0").ok());
  CHECK(map.Check({8, 0, 9, 1}, "t-0").status().code() == absl::StatusCode::kFailedPrecondition);
}

TEST_CASE("Damaged producer snapshots are refused and never crash the decoder") {
  const uint64_t seed = keel::testing::TestSeed(312);
  CAPTURE(seed);
  base::Random rng(seed);
  ProducerStateMap map;
  for (uint64_t o = 0; o < 40; ++o) {
    map.Apply({1, 0, 1 + rng.Uniform(5), static_cast<uint32_t>(rng.Uniform(2)), o}, o, 9);
  }
  const std::string bytes = map.Encode(40);
  for (size_t size = 0; size < bytes.size(); ++size) {
    ProducerStateMap back;
    CHECK(back.Decode(bytes.substr(0, size)).status().code() == absl::StatusCode::kDataLoss);
    CHECK(back.size() == 0);
  }
  ProducerStateMap back;
  CHECK(back.Decode(bytes + "x").status().code() == absl::StatusCode::kDataLoss);
  // A run past the snapshot's own offset cannot be.
  CHECK(back.Decode(map.Encode(10)).status().code() == absl::StatusCode::kDataLoss);
  for (int i = 0; i < 5000; ++i) {
    std::string random(rng.Uniform(64), '\0');
    for (char& c : random) c = static_cast<char>(rng.Uniform(256));
    (void)back.Decode(random);
  }
}

}  // namespace
}  // namespace keel::mq::internal
