// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "contention.h"

#include <algorithm>
#include <chrono>
#include <latch>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_format.h"
#include "absl/time/civil_time.h"
#include "contention_internal.h"
#include "keel/base/assert.h"
#include "keel/base/random.h"
#include "keel/base/status.h"
#include "keel/base/strings.h"
#include "keel/txn/conditional_update.h"
#include "keel/txn/lock_manager.h"
#include "keel/txn/optimistic_transaction.h"
#include "keel/txn/versioned_store.h"

namespace keel::examples::hotel {
namespace internal {

std::string NightDate(int night) {
  return absl::FormatCivilTime(absl::CivilDay(2026, 7, 1) + night);
}

namespace {

// The chapter's composite primary key of room_type_inventory.
struct InventoryKey {
  int64_t hotel_id = 0;
  int64_t room_type_id = 0;
  int64_t day = 0;  // days since 1970-01-01

  friend auto operator<=>(const InventoryKey&, const InventoryKey&) = default;
  template <typename H>
  friend H AbslHashValue(H h, const InventoryKey& key) {
    return H::combine(std::move(h), key.hotel_id, key.room_type_id, key.day);
  }
  friend std::string DebugString(const InventoryKey& key) {
    return base::Cat("(hotel ", key.hotel_id, ", room type ", key.room_type_id, ", ",
                     NightDate(static_cast<int>(key.day - kFirstDay)), ")");
  }
};

struct InventoryRow {
  int64_t total_inventory = 0;
  int64_t total_reserved = 0;
  // floor(total_inventory * 1.1), in integers: the chapter's 10% overbooking.
  [[nodiscard]] int64_t limit() const { return total_inventory * 11 / 10; }
};

InventoryKey NightKey(int night) { return {kHotelId, kRoomTypeId, kFirstDay + night}; }

std::vector<InventoryKey> NightKeys(const Booking& booking) {
  std::vector<InventoryKey> keys;
  keys.reserve(static_cast<size_t>(booking.nights));
  for (int n = booking.first_night; n < booking.first_night + booking.nights; ++n) {
    keys.push_back(NightKey(n));
  }
  return keys;
}

absl::Status SoldOut(const InventoryKey& key, const InventoryRow& row, int64_t rooms) {
  return absl::FailedPreconditionError(base::Cat("sold out on ", DebugString(key), ": ",
                                                 row.total_reserved, " + ", rooms, " rooms > ",
                                                 row.limit()));
}

using Store = txn::VersionedStore<InventoryKey, InventoryRow>;

std::unique_ptr<Store> MakeStore(const ContentionOptions& options) {
  auto store = std::make_unique<Store>();
  for (int n = 0; n < options.dates; ++n) {
    KEEL_ASSERT(store->Insert(NightKey(n), {options.total_inventory, 0}).ok());
  }
  return store;
}

std::vector<int64_t> StoreReserved(const Store& store) {
  std::vector<int64_t> out;
  for (const auto& [key, row] : store.Snapshot()) out.push_back(row.value.total_reserved);
  return out;
}

Outcome FromStatus(const absl::Status& status) {
  if (status.ok()) return Outcome::kBooked;
  if (status.code() == absl::StatusCode::kFailedPrecondition) return Outcome::kSoldOut;
  KEEL_ASSERT(status.code() == absl::StatusCode::kAborted, "unexpected ", status.ToString());
  return Outcome::kGaveUp;
}

class OptimisticInventory final : public Inventory {
 public:
  explicit OptimisticInventory(const ContentionOptions& options)
      : store_(MakeStore(options)), max_attempts_(options.max_attempts) {}

  Outcome Book(int, const Booking& booking, ClientCounters& counters) override {
    const std::vector<InventoryKey> keys = NightKeys(booking);
    txn::RetryStats stats;
    const absl::Status status = txn::RunOptimistic(
        *store_, {.max_attempts = max_attempts_},
        [&](txn::OptimisticTransaction<InventoryKey, InventoryRow>& txn) -> absl::Status {
          std::vector<InventoryRow> rows;
          rows.reserve(keys.size());
          for (const InventoryKey& key : keys) {
            KEEL_ASSIGN_OR_RETURN(InventoryRow row, txn.Read(key));
            if (row.total_reserved + booking.rooms > row.limit()) {
              return SoldOut(key, row, booking.rooms);
            }
            rows.push_back(row);
          }
          for (size_t i = 0; i < keys.size(); ++i) {
            rows[i].total_reserved += booking.rooms;
            KEEL_RETURN_IF_ERROR(txn.Write(keys[i], rows[i]));
          }
          return absl::OkStatus();
        },
        &stats);
    counters.retries += stats.attempts - 1;
    return FromStatus(status);
  }

  absl::StatusOr<std::vector<int64_t>> Reserved() override { return StoreReserved(*store_); }

 private:
  std::unique_ptr<Store> store_;
  int max_attempts_;
};

class ConstraintInventory final : public Inventory {
 public:
  explicit ConstraintInventory(const ContentionOptions& options) : store_(MakeStore(options)) {}

  Outcome Book(int, const Booking& booking, ClientCounters&) override {
    const std::vector<InventoryKey> keys = NightKeys(booking);
    const int64_t rooms = booking.rooms;
    return FromStatus(txn::UpdateIf(
        *store_, std::span<const InventoryKey>(keys),
        [rooms](const InventoryKey&, InventoryRow& row) { row.total_reserved += rooms; },
        [rooms](const InventoryKey& key, const InventoryRow& row) -> absl::Status {
          if (row.total_reserved <= row.limit()) return absl::OkStatus();
          return SoldOut(key, {row.total_inventory, row.total_reserved - rooms}, rooms);
        }));
  }

  absl::StatusOr<std::vector<int64_t>> Reserved() override { return StoreReserved(*store_); }

 private:
  std::unique_ptr<Store> store_;
};

// Rows in a plain vector, one per night: the exclusive locks are all that protects them, as a
// database's row locks protect its rows.
class PessimisticInventory final : public Inventory {
 public:
  PessimisticInventory(const ContentionOptions& options, bool date_order)
      : locks_(base::MonotonicClock::Default(),
               {.max_transactions = static_cast<size_t>(options.threads),
                .max_locks_per_transaction = static_cast<size_t>(options.max_nights)}),
        rows_(static_cast<size_t>(options.dates), InventoryRow{options.total_inventory, 0}),
        date_order_(date_order),
        max_attempts_(options.max_attempts),
        lock_timeout_ns_(options.lock_timeout_ns) {
    for (int t = 0; t < options.threads; ++t) {
      shufflers_.emplace_back(options.seed, static_cast<uint64_t>(t) + 1000);
    }
  }

  Outcome Book(int client, const Booking& booking, ClientCounters& counters) override {
    std::vector<InventoryKey> keys = NightKeys(booking);
    for (int attempt = 1; attempt <= max_attempts_; ++attempt) {
      if (!date_order_) shufflers_[static_cast<size_t>(client)].Shuffle(keys);
      const txn::TxnId txn = *locks_.Begin();  // at most one per client: within the limit
      absl::Status locked;
      for (const InventoryKey& key : keys) {
        locked = locks_.Lock(txn, key, txn::LockMode::kExclusive, lock_timeout_ns_);
        if (!locked.ok()) break;
      }
      if (!locked.ok()) {
        KEEL_ASSERT(locked.code() == absl::StatusCode::kAborted ||
                        locked.code() == absl::StatusCode::kDeadlineExceeded,
                    locked.ToString());
        if (locked.code() == absl::StatusCode::kAborted) ++counters.deadlocks;
        ++counters.retries;
        KEEL_ASSERT(locks_.End(txn).ok());  // roll back: nothing was written yet
        continue;
      }
      const Outcome outcome = BookLocked(booking);
      KEEL_ASSERT(locks_.End(txn).ok());  // commit
      return outcome;
    }
    return Outcome::kGaveUp;
  }

  absl::StatusOr<std::vector<int64_t>> Reserved() override {
    std::vector<int64_t> out;
    for (const InventoryRow& row : rows_) out.push_back(row.total_reserved);
    return out;
  }

 private:
  // REQUIRES: every night of `booking` locked exclusively.
  Outcome BookLocked(const Booking& booking) {
    const auto first = rows_.begin() + booking.first_night;
    const auto last = first + booking.nights;
    if (std::any_of(first, last, [&](const InventoryRow& row) {
          return row.total_reserved + booking.rooms > row.limit();
        })) {
      return Outcome::kSoldOut;
    }
    for (auto it = first; it != last; ++it) it->total_reserved += booking.rooms;
    return Outcome::kBooked;
  }

  txn::LockManager<InventoryKey> locks_;
  std::vector<InventoryRow> rows_;       // guarded by locks_' exclusive locks
  std::vector<base::Random> shufflers_;  // one per client: the unordered lock order
  bool date_order_;
  int max_attempts_;
  int64_t lock_timeout_ns_;
};

// The baseline: every booking serialized by one mutex.
class GlobalMutexInventory final : public Inventory {
 public:
  explicit GlobalMutexInventory(const ContentionOptions& options) {
    for (int n = 0; n < options.dates; ++n) rows_[n] = {options.total_inventory, 0};
  }

  Outcome Book(int, const Booking& booking, ClientCounters&) override {
    std::lock_guard lock(mu_);
    for (int n = booking.first_night; n < booking.first_night + booking.nights; ++n) {
      const InventoryRow& row = rows_.at(n);
      if (row.total_reserved + booking.rooms > row.limit()) return Outcome::kSoldOut;
    }
    for (int n = booking.first_night; n < booking.first_night + booking.nights; ++n) {
      rows_.at(n).total_reserved += booking.rooms;
    }
    return Outcome::kBooked;
  }

  absl::StatusOr<std::vector<int64_t>> Reserved() override {
    std::lock_guard lock(mu_);
    std::vector<int64_t> out;
    for (const auto& [night, row] : rows_) out.push_back(row.total_reserved);
    return out;
  }

 private:
  std::mutex mu_;
  std::map<int, InventoryRow> rows_;  // guarded by mu_
};

absl::StatusOr<std::unique_ptr<Inventory>> MakeInventory(const ContentionOptions& options,
                                                         Approach approach) {
  switch (approach) {
    case Approach::kOptimistic:
      return std::make_unique<OptimisticInventory>(options);
    case Approach::kPessimistic:
      return std::make_unique<PessimisticInventory>(options, /*date_order=*/true);
    case Approach::kPessimisticUnordered:
      return std::make_unique<PessimisticInventory>(options, /*date_order=*/false);
    case Approach::kConstraint:
      return std::make_unique<ConstraintInventory>(options);
    case Approach::kSqlite:
      return MakeSqliteInventory(options);
    case Approach::kGlobalMutex:
      return std::make_unique<GlobalMutexInventory>(options);
  }
  return absl::InvalidArgumentError(base::Cat("unknown approach ", static_cast<int>(approach)));
}

// Each client's bookings, drawn from the seed: the same for every approach.
std::vector<std::vector<Booking>> DrawBookings(const ContentionOptions& options) {
  std::vector<std::vector<Booking>> out(static_cast<size_t>(options.threads));
  for (int t = 0; t < options.threads; ++t) {
    base::Random rng(options.seed, static_cast<uint64_t>(t));
    for (int i = 0; i < options.bookings_per_thread; ++i) {
      Booking b;
      b.nights = 1 + static_cast<int>(rng.Uniform(static_cast<uint64_t>(options.max_nights)));
      b.first_night =
          static_cast<int>(rng.Uniform(static_cast<uint64_t>(options.dates - b.nights + 1)));
      b.rooms = 1 + static_cast<int64_t>(rng.Uniform(static_cast<uint64_t>(options.max_rooms)));
      out[static_cast<size_t>(t)].push_back(b);
    }
  }
  return out;
}

struct ClientLog {
  ClientCounters counters;
  std::vector<Outcome> outcomes;    // per booking, in order
  std::vector<int64_t> latency_ns;  // per booking
};

// The checks every approach must pass: no night over its limit, and every night's total_reserved
// equal to the rooms of the successful bookings that include it.
absl::Status CheckInvariants(const ContentionOptions& options, Approach approach,
                             const std::vector<std::vector<Booking>>& bookings,
                             const std::vector<ClientLog>& logs,
                             const std::vector<int64_t>& reserved) {
  if (reserved.size() != static_cast<size_t>(options.dates)) {
    return absl::InternalError(base::Cat(ApproachName(approach), ": ", reserved.size(),
                                         " inventory rows, expected ", options.dates));
  }
  std::vector<int64_t> expected(static_cast<size_t>(options.dates), 0);
  for (size_t t = 0; t < bookings.size(); ++t) {
    for (size_t i = 0; i < bookings[t].size(); ++i) {
      if (logs[t].outcomes[i] != Outcome::kBooked) continue;
      const Booking& b = bookings[t][i];
      for (int n = b.first_night; n < b.first_night + b.nights; ++n) {
        expected[static_cast<size_t>(n)] += b.rooms;
      }
    }
  }
  const int64_t limit = options.total_inventory * 11 / 10;
  for (int n = 0; n < options.dates; ++n) {
    const int64_t got = reserved[static_cast<size_t>(n)];
    if (got > limit) {
      return absl::InternalError(
          base::Cat(ApproachName(approach), ": DOUBLE BOOKING: ", NightDate(n),
                    " has total_reserved ", got, ", over its limit of ", limit));
    }
    if (got != expected[static_cast<size_t>(n)]) {
      return absl::InternalError(
          base::Cat(ApproachName(approach), ": ", NightDate(n), " has total_reserved ", got,
                    " but the successful bookings add up to ", expected[static_cast<size_t>(n)]));
    }
  }
  return absl::OkStatus();
}

int64_t NearestRank(const std::vector<int64_t>& sorted, double p) {
  if (sorted.empty()) return 0;
  const auto rank = static_cast<size_t>(p / 100 * static_cast<double>(sorted.size()));
  return sorted[std::min(sorted.size() - 1, rank)];
}

ApproachResult Summarize(Approach approach, const std::vector<std::vector<Booking>>& bookings,
                         std::vector<ClientLog>& logs, int64_t elapsed_ns) {
  ApproachResult r;
  r.approach = approach;
  r.elapsed_ns = elapsed_ns;
  std::vector<int64_t> latencies;
  for (size_t t = 0; t < logs.size(); ++t) {
    r.retries += logs[t].counters.retries;
    r.deadlocks += logs[t].counters.deadlocks;
    latencies.insert(latencies.end(), logs[t].latency_ns.begin(), logs[t].latency_ns.end());
    for (size_t i = 0; i < logs[t].outcomes.size(); ++i) {
      ++r.attempted;
      switch (logs[t].outcomes[i]) {
        case Outcome::kBooked:
          ++r.booked;
          r.rooms_booked += bookings[t][i].rooms * bookings[t][i].nights;
          break;
        case Outcome::kSoldOut:
          ++r.sold_out;
          break;
        case Outcome::kGaveUp:
          ++r.gave_up;
          break;
      }
    }
  }
  std::sort(latencies.begin(), latencies.end());
  r.latency_ns_p50 = NearestRank(latencies, 50);
  r.latency_ns_p99 = NearestRank(latencies, 99);
  r.latency_ns_max = latencies.empty() ? 0 : latencies.back();
  return r;
}

}  // namespace
}  // namespace internal

namespace {
constexpr Approach kAllApproaches[] = {
    Approach::kOptimistic, Approach::kPessimistic, Approach::kPessimisticUnordered,
    Approach::kConstraint, Approach::kSqlite,      Approach::kGlobalMutex};

absl::Status CheckRange(const char* name, int64_t value, int64_t min, int64_t max) {
  if (value >= min && value <= max) return absl::OkStatus();
  return absl::InvalidArgumentError(
      base::Cat(name, " is ", value, "; it must be ", min, " to ", max));
}
}  // namespace

const char* ApproachName(Approach approach) {
  switch (approach) {
    case Approach::kOptimistic:
      return "optimistic";
    case Approach::kPessimistic:
      return "pessimistic";
    case Approach::kPessimisticUnordered:
      return "pessimistic-unordered";
    case Approach::kConstraint:
      return "constraint";
    case Approach::kSqlite:
      return "sqlite";
    case Approach::kGlobalMutex:
      return "global-mutex";
  }
  return "unknown";
}

absl::StatusOr<Approach> ParseApproach(std::string_view name) {
  std::string names;
  for (Approach a : kAllApproaches) {
    if (name == ApproachName(a)) return a;
    names += base::Cat(names.empty() ? "" : ", ", ApproachName(a));
  }
  return absl::InvalidArgumentError(
      base::Cat("unknown approach ", base::Quoted(name), "; the approaches are ", names));
}

absl::Status CheckContentionOptions(const ContentionOptions& o) {
  KEEL_RETURN_IF_ERROR(CheckRange("threads", o.threads, 1, 256));
  KEEL_RETURN_IF_ERROR(CheckRange("bookings_per_thread", o.bookings_per_thread, 1, 1'000'000));
  KEEL_RETURN_IF_ERROR(CheckRange("dates", o.dates, 1, 365));
  KEEL_RETURN_IF_ERROR(CheckRange("total_inventory", o.total_inventory, 0, 1'000'000));
  KEEL_RETURN_IF_ERROR(CheckRange("max_rooms", o.max_rooms, 1, 1'000));
  KEEL_RETURN_IF_ERROR(CheckRange("max_nights", o.max_nights, 1, o.dates));
  KEEL_RETURN_IF_ERROR(CheckRange("max_attempts", o.max_attempts, 1, txn::kMaxRetryAttempts));
  KEEL_RETURN_IF_ERROR(CheckRange("lock_timeout_ns", o.lock_timeout_ns, 1, txn::kNoTimeout));
  if (o.sqlite_synchronous != "OFF" && o.sqlite_synchronous != "NORMAL" &&
      o.sqlite_synchronous != "FULL") {
    return absl::InvalidArgumentError(base::Cat("sqlite_synchronous is ",
                                                base::Quoted(o.sqlite_synchronous),
                                                "; it must be OFF, NORMAL or FULL"));
  }
  return absl::OkStatus();
}

double ApproachResult::bookings_per_second() const {
  if (elapsed_ns <= 0) return 0;
  return static_cast<double>(attempted) * 1e9 / static_cast<double>(elapsed_ns);
}

absl::StatusOr<ApproachResult> RunApproach(const ContentionOptions& options, Approach approach) {
  using internal::ClientLog;
  KEEL_RETURN_IF_ERROR(CheckContentionOptions(options));
  const std::vector<std::vector<internal::Booking>> bookings = internal::DrawBookings(options);
  KEEL_ASSIGN_OR_RETURN(std::unique_ptr<internal::Inventory> inventory,
                        internal::MakeInventory(options, approach));
  std::vector<ClientLog> logs(static_cast<size_t>(options.threads));
  for (ClientLog& log : logs) {
    log.outcomes.reserve(static_cast<size_t>(options.bookings_per_thread));
    log.latency_ns.reserve(static_cast<size_t>(options.bookings_per_thread));
  }
  // Every client starts at once, after the set-up.
  std::latch start(options.threads + 1);
  std::vector<std::thread> clients;
  for (int t = 0; t < options.threads; ++t) {
    clients.emplace_back([&, t] {
      ClientLog& log = logs[static_cast<size_t>(t)];
      start.arrive_and_wait();
      for (const internal::Booking& booking : bookings[static_cast<size_t>(t)]) {
        const auto begin = std::chrono::steady_clock::now();
        log.outcomes.push_back(inventory->Book(t, booking, log.counters));
        log.latency_ns.push_back(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                     std::chrono::steady_clock::now() - begin)
                                     .count());
      }
    });
  }
  const auto begin = std::chrono::steady_clock::now();
  start.arrive_and_wait();
  for (std::thread& client : clients) client.join();
  const int64_t elapsed_ns =
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - begin)
          .count();
  KEEL_ASSIGN_OR_RETURN(std::vector<int64_t> reserved, inventory->Reserved());
  KEEL_RETURN_IF_ERROR(internal::CheckInvariants(options, approach, bookings, logs, reserved));
  return internal::Summarize(approach, bookings, logs, elapsed_ns);
}

absl::StatusOr<std::vector<ApproachResult>> RunContention(const ContentionOptions& options) {
  std::vector<ApproachResult> results;
  for (Approach approach : options.approaches) {
    KEEL_ASSIGN_OR_RETURN(ApproachResult result, RunApproach(options, approach));
    results.push_back(result);
  }
  return results;
}

std::string FormatContentionTable(const std::vector<ApproachResult>& results) {
  std::string out =
      absl::StrFormat("%-22s %12s %8s %8s %7s %9s %9s %10s %10s\n", "approach", "bookings/s",
                      "booked", "sold out", "gave up", "retries", "deadlocks", "p50 us", "p99 us");
  for (const ApproachResult& r : results) {
    absl::StrAppendFormat(
        &out, "%-22s %12.0f %8d %8d %7d %9d %9d %10.1f %10.1f\n", ApproachName(r.approach),
        r.bookings_per_second(), r.booked, r.sold_out, r.gave_up, r.retries, r.deadlocks,
        static_cast<double>(r.latency_ns_p50) / 1e3, static_cast<double>(r.latency_ns_p99) / 1e3);
  }
  return out;
}

}  // namespace keel::examples::hotel
