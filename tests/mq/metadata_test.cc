// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// The metadata store is internal to keel/mq (no public header), so this includes it from src/.
#include "../../src/mq/metadata.h"

#include <doctest/doctest.h>

#include <fstream>
#include <map>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "keel/base/coding.h"
#include "keel/base/random.h"
#include "keel/wal/atomic_file.h"
#include "testing/testing.h"

namespace keel::mq::internal {
namespace {

struct Fixture {
  testing::TempDir dir;
  base::ManualClock clock{1'000};
  ClusterOptions options;
  std::unique_ptr<Context> ctx;

  explicit Fixture(uint32_t brokers = 3) {
    options.brokers = brokers;
    Reset();
  }
  void Reset() {
    ctx = std::make_unique<Context>(dir.path(), options, wal::FileSystem::Posix(), clock);
  }
  absl::StatusOr<std::unique_ptr<MetadataStore>> Open() { return MetadataStore::Open(*ctx); }
};

TEST_CASE("Metadata round-trips topics and partition records and checks the broker count") {
  Fixture f;
  {
    auto store = *f.Open();
    TopicMetadata t;
    t.config = {.partitions = 2,
                .replication_factor = 3,
                .retention_bytes = 99,
                .retention_ns = 7,
                .min_insync_replicas = 2};
    t.placement = {{0, 1, 2}, {1, 2, 0}};
    REQUIRE(store->AddTopic("orders", t).ok());
    CHECK(!store->LoadPartition("orders", 0)->has_value());
    const PartitionRecord record{2, 7, {0, 2}};
    REQUIRE(store->SavePartition("orders", 1, record).ok());
    REQUIRE(store->SavePartition("orders", 0, {std::nullopt, 3, {1}}).ok());
    CHECK(**store->LoadPartition("orders", 1) == record);
  }
  auto store = *f.Open();
  REQUIRE(store->topics().size() == 1);
  const TopicMetadata& t = store->topics().at("orders");
  CHECK(t.config.min_insync_replicas == 2);
  CHECK(t.config.retention_bytes == 99);
  CHECK(t.placement[1] == std::vector<uint32_t>{1, 2, 0});
  CHECK(**store->LoadPartition("orders", 1) == PartitionRecord{2, 7, {0, 2}});
  CHECK(**store->LoadPartition("orders", 0) == PartitionRecord{std::nullopt, 3, {1}});
  store.reset();
  f.options.brokers = 4;
  f.Reset();
  CHECK(f.Open().status().code() == absl::StatusCode::kInvalidArgument);
}

TEST_CASE("Producer ids and epochs follow InitProducerId's rules and survive reopening") {
  const uint64_t seed = keel::testing::TestSeed(321);
  CAPTURE(seed);
  base::Random rng(seed);
  Fixture f;
  auto store = *f.Open();
  // The model: the next id, and each name's id, epoch and the epoch before it.
  uint64_t next_id = 1;
  struct Named {
    uint64_t id = 0;
    uint32_t epoch = 0;
    std::optional<uint32_t> last;
  };
  std::map<std::string, Named> names;
  std::vector<ProducerIdAndEpoch> anonymous;
  for (int step = 0; step < 500; ++step) {
    CAPTURE(step);
    const uint64_t dice = rng.Uniform(100);
    if (dice < 20) {
      const ProducerIdAndEpoch got = *store->InitProducerId("", std::nullopt);
      CHECK(got == ProducerIdAndEpoch{next_id++, 0});
      anonymous.push_back(got);
    } else if (dice < 30 && !anonymous.empty()) {
      ProducerIdAndEpoch& a = anonymous[rng.Uniform(anonymous.size())];
      const ProducerIdAndEpoch got = *store->InitProducerId("", a);
      CHECK(got == ProducerIdAndEpoch{a.id, a.epoch + 1});
      a = got;
    } else if (dice < 60) {
      const std::string name = absl::StrCat("p", rng.Uniform(5));
      const ProducerIdAndEpoch got = *store->InitProducerId(name, std::nullopt);
      auto it = names.find(name);
      if (it == names.end()) {
        CHECK(got == ProducerIdAndEpoch{next_id++, 0});
        names[name] = {got.id, 0, std::nullopt};
      } else {
        CHECK(got == ProducerIdAndEpoch{it->second.id, it->second.epoch + 1});
        it->second.last = it->second.epoch;
        ++it->second.epoch;
      }
      CHECK(store->NamedProducerEpoch(got.id) == got.epoch);
    } else if (dice < 90 && !names.empty()) {
      // A bump with some epoch the producer believes is its own.
      auto it = std::next(names.begin(), static_cast<ptrdiff_t>(rng.Uniform(names.size())));
      Named& n = it->second;
      const uint32_t claimed = static_cast<uint32_t>(
          rng.Uniform(3) == 0 ? rng.Uniform(n.epoch + 2)
                              : (n.last && rng.Uniform(2) ? *n.last : n.epoch));
      const absl::StatusOr<ProducerIdAndEpoch> got =
          store->InitProducerId(it->first, ProducerIdAndEpoch{n.id, claimed});
      if (claimed == n.epoch) {
        CHECK(*got == ProducerIdAndEpoch{n.id, n.epoch + 1});
        n.last = n.epoch;
        ++n.epoch;
      } else if (n.last == claimed) {
        CHECK(*got == ProducerIdAndEpoch{n.id, n.epoch});  // a retried bump
      } else {
        CHECK(ErrorOf(got.status()) == Error::kProducerFenced);
      }
    } else {
      store.reset();
      store = *f.Open();
    }
  }
  CHECK(!store->NamedProducerEpoch(next_id + 5).has_value());
  CHECK(store->InitProducerId(std::string(kMaxProducerNameBytes + 1, 'x'), std::nullopt)
            .status()
            .code() == absl::StatusCode::kInvalidArgument);
}

TEST_CASE("Metadata refuses damaged files and a directory an earlier keel wrote") {
  Fixture f;
  { REQUIRE(f.Open().ok()); }
  // A damaged partition record is data loss, naming its file.
  {
    auto store = *f.Open();
    REQUIRE(store->SavePartition("t", 0, {1, 2, {1}}).ok());
    const std::string path = absl::StrCat(f.dir.path(), "/partitions/t-0");
    std::fstream file(path, std::ios::in | std::ios::out | std::ios::binary);
    file.seekp(14);
    file.put('\x7f');
    file.close();
    const absl::Status damaged = store->LoadPartition("t", 0).status();
    CHECK(damaged.code() == absl::StatusCode::kDataLoss);
    CHECK(absl::StrContains(damaged.message(), "partitions/t-0"));
  }
  // A topics file of another version.
  std::string topics;
  base::PutVarint32(topics, 9);
  REQUIRE(wal::WriteFileAtomically(wal::FileSystem::Posix(), f.dir.path(), "topics", topics).ok());
  const absl::Status version = f.Open().status();
  CHECK(version.code() == absl::StatusCode::kDataLoss);
  CHECK(absl::StrContains(version.message(), "format version 9"));
  // The cluster file of keel before versions: the broker count, then the next producer id.
  std::string old;
  base::PutVarint32(old, 3);
  base::PutVarint64(old, 1);
  REQUIRE(wal::WriteFileAtomically(wal::FileSystem::Posix(), f.dir.path(), "cluster", old).ok());
  const absl::Status earlier = f.Open().status();
  CHECK(earlier.code() == absl::StatusCode::kFailedPrecondition);
  CHECK(absl::StrContains(earlier.message(), "earlier keel"));
}

}  // namespace
}  // namespace keel::mq::internal
