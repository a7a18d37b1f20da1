// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "keel/idempotency/durable_key_store.h"

#include <doctest/doctest.h>
#include <unistd.h>

#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_split.h"
#include "keel/base/random.h"
#include "keel/base/status.h"
#include "keel/base/strings.h"
#include "keel/wal/crash_explorer.h"
#include "keel/wal/memory_file_system.h"
#include "testing/testing.h"

namespace keel::idempotency {
namespace {

// The application: payments by key. Each effect is "<key>=<amount>"; the state is every payment
// applied, which must hold each stored key with a non-empty effect exactly once.
struct Payments {
  std::map<std::string, int64_t> paid;
  uint64_t applied = 0;

  DurableKeyStore::Application App() {
    return {.restore = [this](std::string_view state) -> absl::Status {
              paid.clear();
              for (absl::string_view line : absl::StrSplit(
                       absl::string_view(state.data(), state.size()), '\n', absl::SkipEmpty())) {
                const size_t eq = line.find('=');
                if (eq == absl::string_view::npos) return absl::DataLossError("bad state");
                paid[std::string(line.substr(0, eq))] =
                    std::stoll(std::string(line.substr(eq + 1)));
              }
              return absl::OkStatus();
            },
            .apply = [this](std::string_view effects) { return Apply(effects); }};
  }
  absl::Status Apply(std::string_view effects) {
    const size_t eq = effects.find('=');
    if (eq == std::string_view::npos) return absl::DataLossError("bad effects");
    const std::string key(effects.substr(0, eq));
    if (paid.contains(key)) return absl::DataLossError(base::Cat("paid twice: ", key));
    paid[key] = std::stoll(std::string(effects.substr(eq + 1)));
    ++applied;
    return absl::OkStatus();
  }
  std::string State() const {
    std::string out;
    for (const auto& [key, amount] : paid) out += base::Cat(key, "=", amount, "\n");
    return out;
  }
};

// Executes a payment request: a new key pays (effects) or is declined (no effects).
absl::StatusOr<std::string> Pay(DurableKeyStore& store, Payments& payments, const std::string& key,
                                int64_t amount) {
  KEEL_ASSIGN_OR_RETURN(Claim claim, store.Begin("shop", key, base::Cat(amount)));
  if (claim.verdict != Verdict::kExecute) return std::string(VerdictName(claim.verdict));
  const bool declined = amount % 7 == 0;
  const std::string effects = declined ? "" : base::Cat(key, "=", amount);
  if (!declined) KEEL_RETURN_IF_ERROR(payments.Apply(effects));
  const std::string outcome = declined ? "declined" : base::Cat("paid ", amount);
  KEEL_RETURN_IF_ERROR(store.Complete(claim.ticket, outcome, effects).status());
  return outcome;
}

// Every stored key with a payment outcome was paid exactly its amount, and every payment has its
// key stored: the outcome and the effects were durable together or not at all.
absl::Status CheckAtomic(const DurableKeyStore& store, const Payments& payments) {
  std::set<std::string> stored_paid;
  absl::Status status;
  store.keys().ForEachCompleted([&](const StoredEntry& e) {
    if (e.outcome == "declined") return;
    const std::string key(e.key);
    auto it = payments.paid.find(key);
    if (it == payments.paid.end() || base::Cat("paid ", it->second) != e.outcome) {
      status = absl::InternalError(base::Cat("key ", key, " stored without its payment"));
    }
    stored_paid.insert(key);
  });
  KEEL_RETURN_IF_ERROR(status);
  for (const auto& [key, amount] : payments.paid) {
    if (!stored_paid.contains(key)) {
      return absl::InternalError(base::Cat("payment ", key, " without its key"));
    }
  }
  return absl::OkStatus();
}

DurableKeyStoreOptions Options(wal::FileSystem* fs, uint64_t checkpoint_bytes) {
  DurableKeyStoreOptions o;
  o.keys.retention_ns = kRetainForever;
  o.log.sync = wal::SyncPolicy::kNone;
  o.log.file_system = fs;
  o.log.max_segment_bytes = 4096;
  o.log.max_record_bytes = 2048;
  o.log.salt = 7;
  o.checkpoint_log_bytes = checkpoint_bytes;
  return o;
}

TEST_CASE("Outcomes and effects survive a reopen with and without checkpoints") {
  wal::MemoryFileSystem fs;
  for (uint64_t checkpoint_bytes : {uint64_t{1} << 30, uint64_t{512}}) {
    CAPTURE(checkpoint_bytes);
    const std::string dir = base::Cat("/store", checkpoint_bytes);
    std::map<std::string, std::string> told;
    {
      Payments payments;
      auto store = DurableKeyStore::Open(dir, Options(&fs, checkpoint_bytes), payments.App());
      REQUIRE(store.ok());
      for (int i = 0; i < 300; ++i) {
        const std::string key = base::Cat("order-", i);
        auto outcome = Pay(**store, payments, key, i);
        REQUIRE(outcome.ok());
        told[key] = *outcome;
        REQUIRE((*store)->Sync().ok());
        if ((*store)->ShouldCheckpoint()) REQUIRE((*store)->Checkpoint(payments.State()).ok());
      }
    }
    Payments payments;
    DurableRecovery recovery;
    auto store =
        DurableKeyStore::Open(dir, Options(&fs, checkpoint_bytes), payments.App(), &recovery);
    REQUIRE(store.ok());
    CHECK(recovery.checkpoint == (checkpoint_bytes < 1000));
    CHECK(CheckAtomic(**store, payments).ok());
    for (const auto& [key, outcome] : told) {
      auto claim = (*store)->Begin("shop", key, key.substr(6));
      REQUIRE(claim.ok());
      CHECK(claim->verdict == Verdict::kReplay);
      CHECK(claim->outcome == outcome);
    }
    if (checkpoint_bytes < 1000) CHECK((*store)->log().first_offset() > 0);  // log was cut
  }
}

TEST_CASE("An outcome is shown to retries only once it is durable") {
  wal::MemoryFileSystem fs;
  Payments payments;
  auto store = DurableKeyStore::Open("/s", Options(&fs, 1 << 30), payments.App());
  REQUIRE(store.ok());
  REQUIRE(Pay(**store, payments, "a", 5).ok());
  CHECK((*store)->Begin("shop", "a", "5")->verdict == Verdict::kInUse);
  REQUIRE((*store)->Sync().ok());
  CHECK((*store)->Begin("shop", "a", "5")->verdict == Verdict::kReplay);
}

TEST_CASE("Bad options and damaged checkpoints get errors, never a crash") {
  wal::MemoryFileSystem fs;
  Payments payments;
  DurableKeyStoreOptions bad = Options(&fs, 1 << 30);
  bad.keys.max_keys = 0;
  CHECK(DurableKeyStore::Open("/s", bad, payments.App()).status().code() ==
        absl::StatusCode::kInvalidArgument);
  CHECK(DurableKeyStore::Open("/s", Options(&fs, 1 << 30), {}).status().code() ==
        absl::StatusCode::kInvalidArgument);
  {
    auto store = DurableKeyStore::Open("/s", Options(&fs, 1 << 30), payments.App());
    REQUIRE(store.ok());
    for (int i = 0; i < 20; ++i) REQUIRE(Pay(**store, payments, base::Cat("k", i), i).ok());
    REQUIRE((*store)->Checkpoint(payments.State()).ok());
  }
  auto file = fs.Open("/s/checkpoint", wal::OpenMode::kExisting);
  REQUIRE(file.ok());
  std::string good((*file)->size(), '\0');
  REQUIRE((*file)->ReadAt(0, good.data(), good.size()).ok());
  file->reset();
  auto write_checkpoint = [&](std::string_view bytes) {
    REQUIRE(fs.Remove("/s/checkpoint").ok());
    auto f = fs.Open("/s/checkpoint", wal::OpenMode::kCreate);
    REQUIRE(f.ok());
    REQUIRE((*f)->Append(bytes).ok());
  };
  // Every truncation and every bit flip of the checkpoint is found.
  for (size_t size = 0; size < good.size(); ++size) {
    write_checkpoint(std::string_view(good).substr(0, size));
    Payments p;
    CHECK(DurableKeyStore::Open("/s", Options(&fs, 1 << 30), p.App()).status().code() ==
          absl::StatusCode::kDataLoss);
  }
  for (size_t bit = 0; bit < good.size() * 8; bit += 3) {
    std::string flipped = good;
    flipped[bit / 8] = static_cast<char>(flipped[bit / 8] ^ (1 << (bit % 8)));
    write_checkpoint(flipped);
    Payments p;
    CHECK(DurableKeyStore::Open("/s", Options(&fs, 1 << 30), p.App()).status().code() ==
          absl::StatusCode::kDataLoss);
  }
  write_checkpoint(good);
  Payments p;
  auto store = DurableKeyStore::Open("/s", Options(&fs, 1 << 30), p.App());
  REQUIRE(store.ok());
  CHECK(CheckAtomic(**store, p).ok());
  CHECK(p.paid.size() == 17);  // 0, 7 and 14 are declined
}

TEST_CASE("Truncating the log at every byte keeps outcomes and effects together") {
  wal::MemoryFileSystem fs;
  {
    Payments payments;
    auto store = DurableKeyStore::Open("/s", Options(&fs, 1 << 30), payments.App());
    REQUIRE(store.ok());
    for (int i = 0; i < 40; ++i) REQUIRE(Pay(**store, payments, base::Cat("k", i), i).ok());
    REQUIRE((*store)->Sync().ok());
  }
  auto names = fs.List("/s/log");
  REQUIRE(names.ok());
  std::string segment;
  for (const std::string& name : *names) {
    if (name.ends_with(".wal")) segment = "/s/log/" + name;
  }
  auto file = fs.Open(segment, wal::OpenMode::kExisting);
  REQUIRE(file.ok());
  std::string bytes((*file)->size(), '\0');
  REQUIRE((*file)->ReadAt(0, bytes.data(), bytes.size()).ok());
  file->reset();
  size_t last_keys = 0;
  for (size_t size = bytes.size(); size-- > 0;) {
    wal::MemoryFileSystem copy;
    REQUIRE(copy.CreateDir("/s").ok());
    REQUIRE(copy.CreateDir("/s/log").ok());
    auto f = copy.Open(segment, wal::OpenMode::kCreate);
    REQUIRE(f.ok());
    REQUIRE((*f)->Append(std::string_view(bytes).substr(0, size)).ok());
    f->reset();
    Payments p;
    auto store = DurableKeyStore::Open("/s", Options(&copy, 1 << 30), p.App());
    CAPTURE(size);
    if (!store.ok()) {
      // Only a cut inside the segment's header leaves no log to recover.
      CHECK(store.status().code() == absl::StatusCode::kDataLoss);
      continue;
    }
    CHECK(CheckAtomic(**store, p).ok());
    const size_t keys = (*store)->keys().stats().keys;
    if (size + 1 < bytes.size()) CHECK(keys <= last_keys);  // shorter logs keep fewer
    last_keys = keys;
  }
}

TEST_CASE("Every crash state keeps each outcome told to a client with its effects") {
  const uint64_t seed = testing::TestSeed(1411);
  CAPTURE(seed);
  base::Random rng(seed);
  wal::CrashExplorer explorer;
  std::vector<std::pair<uint64_t, std::map<std::string, std::string>>> promised;
  {
    Payments payments;
    auto store = DurableKeyStore::Open("/s", Options(&explorer.file_system(), 700), payments.App());
    REQUIRE(store.ok());
    std::map<std::string, std::string> told;
    std::map<std::string, std::string> batch;
    for (int i = 0; i < 120; ++i) {
      const std::string key = base::Cat("k", rng.Uniform(80));
      const int64_t amount = static_cast<int64_t>(key.size() * 3 + 1);
      auto outcome = Pay(**store, payments, key, amount);
      REQUIRE(outcome.ok());
      if (*outcome != "in use") batch[key] = *outcome;
      if (rng.Uniform(5) == 0) {
        REQUIRE((*store)->Sync().ok());
        for (const auto& [k, o] : batch) {
          if (o != "replay") told[k] = o;
        }
        batch.clear();
        promised.emplace_back(explorer.mutations(), told);
        if ((*store)->ShouldCheckpoint()) REQUIRE((*store)->Checkpoint(payments.State()).ok());
      }
    }
  }
  auto result = explorer.Explore(
      [&](wal::FileSystem& crashed, const wal::CrashPoint& point) -> absl::Status {
        Payments p;
        KEEL_ASSIGN_OR_RETURN(auto store,
                              DurableKeyStore::Open("/s", Options(&crashed, 700), p.App()));
        KEEL_RETURN_IF_ERROR(CheckAtomic(*store, p));
        const std::map<std::string, std::string>* told = nullptr;
        for (const auto& [mutations, t] : promised) {
          if (mutations <= point.mutations) told = &t;
        }
        if (told == nullptr) return absl::OkStatus();
        for (const auto& [key, outcome] : *told) {
          KEEL_ASSIGN_OR_RETURN(Claim claim,
                                store->Begin("shop", key, base::Cat(key.size() * 3 + 1)));
          if (claim.verdict != Verdict::kReplay || claim.outcome != outcome) {
            return absl::InternalError(base::Cat("key ", key, " lost its outcome ", outcome));
          }
        }
        return absl::OkStatus();
      },
      {.seed = seed});
  REQUIRE(result.ok());
  INFO(result->Summary());
  CHECK(result->failures.empty());
}

TEST_CASE("A killed writer process loses no acknowledged outcome") {
  const uint64_t seed = testing::TestSeed(1412);
  CAPTURE(seed);
  base::Random rng(seed);
  const uint64_t rounds = testing::TestRounds("KEEL_IDEMPOTENCY_KILL_ROUNDS", 8);
  size_t total_acked = 0;
  for (uint64_t round = 0; round < rounds; ++round) {
    CAPTURE(round);
    testing::TempDir dir;
    DurableKeyStoreOptions o = Options(nullptr, 1 + rng.Uniform(1 << 14));
    o.log.sync = wal::SyncPolicy::kEveryAppend;
    o.log.max_segment_bytes = 1 << 16;
    o.log.max_record_bytes = 1 << 12;
    const testing::KilledChild child = testing::KillChildAfter(
        [&](int report_fd) {
          Payments payments;
          auto store = DurableKeyStore::Open(dir.path(), o, payments.App());
          if (!store.ok()) _exit(2);
          std::mutex mu;  // applies and logs in one order, as the header asks
          std::vector<std::thread> threads;
          for (int t = 0; t < 3; ++t) {
            threads.emplace_back([&, t] {
              for (int i = 0;; ++i) {
                const std::string key = base::Cat("t", t, "-", i);
                absl::StatusOr<std::string> outcome;
                {
                  std::lock_guard lock(mu);
                  outcome = Pay(**store, payments, key, i + 1);
                  if (outcome.ok() && (*store)->ShouldCheckpoint()) {
                    if (!(*store)->Checkpoint(payments.State()).ok()) _exit(3);
                  }
                }
                if (!outcome.ok()) _exit(4);
                const std::string ack = base::Cat(key, " ", *outcome, "\n");
                if (write(report_fd, ack.data(), ack.size()) < 0) _exit(5);
              }
            });
          }
          for (std::thread& t : threads) t.join();
        },
        static_cast<int64_t>(rng.UniformInRange(20'000, 150'000)));
    REQUIRE(child.killed);
    Payments payments;
    auto store = DurableKeyStore::Open(dir.path(), o, payments.App());
    REQUIRE(store.ok());
    REQUIRE(CheckAtomic(**store, payments).ok());
    size_t acked = 0;
    for (absl::string_view line : absl::StrSplit(child.reports, '\n', absl::SkipEmpty())) {
      const size_t space = line.find(' ');
      const std::string key(line.substr(0, space));
      const std::string amount(key.substr(key.find('-') + 1));
      auto claim = (*store)->Begin("shop", key, base::Cat(std::stoll(amount) + 1));
      REQUIRE(claim.ok());
      CAPTURE(key);
      REQUIRE(claim->verdict == Verdict::kReplay);
      REQUIRE(claim->outcome == std::string(line.substr(space + 1)));
      ++acked;
    }
    total_acked += acked;
  }
  CHECK(total_acked > 0);  // the kills did not all come before the first acknowledgement
}

}  // namespace
}  // namespace keel::idempotency
