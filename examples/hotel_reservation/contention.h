// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// The hotel case study's contention workload: many clients booking the same hot room type at
// once, resolved by each of the chapter's concurrency approaches, measured side by side.
//
// One hotel, one room type, `dates` consecutive nights, each night's inventory row holding
// total_inventory and total_reserved. Each of `threads` clients makes `bookings_per_thread`
// bookings of 1..max_rooms rooms for 1..max_nights consecutive nights; a booking succeeds only if
// every night stays within floor(total_inventory * 1.1) (the chapter's 10% overbooking), else it
// is "sold out" and books nothing. Demand exceeds supply, so the last rooms are fought over. The
// bookings are drawn from the seed before the clock starts, so every approach sees the same
// requests. The approaches:
//
//   optimistic              keel::txn::RunOptimistic over a VersionedStore: read every night's
//                           row and its version, write them if the versions are unchanged,
//                           otherwise run the booking again.
//   pessimistic             keel::txn::LockManager: exclusive locks on the nights, in date
//                           order, then read, check and write the rows (which nothing else
//                           protects), then release everything (strict two-phase locking). One
//                           global lock order means no deadlock can form among bookings.
//   pessimistic-unordered   the same, locking the nights in a random order: deadlocks form, the
//                           lock manager finds them, and the victim rolls back and retries. This
//                           is the case study's objection to pessimistic locking, measured.
//   constraint              keel::txn::UpdateIf: one atomic "add the rooms to every night, unless
//                           a night would go over its limit" (a CHECK constraint); no retries.
//   sqlite                  the same statement in a real database: SQLite in WAL mode, a
//                           connection per client, BEGIN IMMEDIATE; UPDATE room_type_inventory SET
//                           total_reserved = total_reserved + ? WHERE ... AND total_reserved + ?
//                           <= total_inventory * 11 / 10; COMMIT if every night's row was
//                           updated, else ROLLBACK.
//   global-mutex            the baseline: one std::mutex around a std::map of rows.
//
// After each run the rows are checked: no night over its limit, and each night's total_reserved
// equal to the rooms of the successful bookings that include it. A failed check is an error
// (kInternal), never a line in a table.
//
// Example:
//
//   ContentionOptions options;
//   options.threads = 8;
//   KEEL_ASSIGN_OR_RETURN(std::vector<ApproachResult> results, RunContention(options));
//   std::fputs(FormatContentionTable(results).c_str(), stdout);
#ifndef KEEL_EXAMPLES_HOTEL_RESERVATION_CONTENTION_H_
#define KEEL_EXAMPLES_HOTEL_RESERVATION_CONTENTION_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "keel/base/clock.h"

namespace keel::examples::hotel {

enum class Approach : uint8_t {
  kOptimistic,
  kPessimistic,
  kPessimisticUnordered,
  kConstraint,
  kSqlite,
  kGlobalMutex,
};

// "optimistic", "pessimistic", ... as in the table.
[[nodiscard]] const char* ApproachName(Approach approach);
// The approach named `name`; kInvalidArgument listing the names otherwise.
[[nodiscard]] absl::StatusOr<Approach> ParseApproach(std::string_view name);

struct ContentionOptions {
  int threads = 8;                // concurrent clients, 1 to 256
  int bookings_per_thread = 200;  // 1 to 1,000,000
  int dates = 14;                 // nights on sale, from start_date; 1 to 365
  int64_t total_inventory = 100;  // rooms per night; 0 to 1,000,000
  int max_rooms = 3;              // a booking takes 1 to max_rooms rooms; 1 to 1,000
  int max_nights = 4;             // ... for 1 to max_nights nights; 1 to dates
  uint64_t seed = 1;              // the bookings drawn
  std::vector<Approach> approaches = {Approach::kOptimistic, Approach::kPessimistic,
                                      Approach::kConstraint, Approach::kSqlite};
  // Attempts per booking for the approaches that retry (optimistic conflicts, deadlock victims,
  // lock timeouts, SQLite busy); a booking that runs out "gave up". 1 to 1,000,000.
  int max_attempts = 10'000;
  int64_t lock_timeout_ns = base::kNanosPerSecond;  // pessimistic: one lock wait, > 0
  // SQLite: where its database file goes (empty: a fresh directory under $TMPDIR, removed after
  // the run), and PRAGMA synchronous: "OFF", "NORMAL" (in WAL mode: durable against a crash of
  // the process, not of the machine) or "FULL" (an fsync per commit).
  std::string sqlite_dir;
  std::string sqlite_synchronous = "NORMAL";
};

// Checks the ranges above; kInvalidArgument naming the bad value.
[[nodiscard]] absl::Status CheckContentionOptions(const ContentionOptions& options);

struct ApproachResult {
  Approach approach = Approach::kOptimistic;
  int64_t attempted = 0;     // bookings tried: threads * bookings_per_thread
  int64_t booked = 0;        // succeeded
  int64_t sold_out = 0;      // refused: some night would have gone over its limit
  int64_t gave_up = 0;       // ran out of attempts
  int64_t retries = 0;       // attempts thrown away: conflicts, deadlock victims, timeouts, busy
  int64_t deadlocks = 0;     // pessimistic: requests refused because they closed a cycle
  int64_t rooms_booked = 0;  // room-nights reserved in all
  int64_t elapsed_ns = 0;    // wall time of the run (set-up excluded)
  int64_t latency_ns_p50 = 0;
  int64_t latency_ns_p99 = 0;
  int64_t latency_ns_max = 0;

  [[nodiscard]] double bookings_per_second() const;
};

// Runs every approach in options.approaches, one after another, on the same bookings.
[[nodiscard]] absl::StatusOr<std::vector<ApproachResult>> RunContention(
    const ContentionOptions& options);

// Runs one approach (options.approaches is ignored).
[[nodiscard]] absl::StatusOr<ApproachResult> RunApproach(const ContentionOptions& options,
                                                         Approach approach);

// The results side by side: one row per approach, with throughput, outcomes, retries and
// latency percentiles.
[[nodiscard]] std::string FormatContentionTable(const std::vector<ApproachResult>& results);

}  // namespace keel::examples::hotel

#endif  // KEEL_EXAMPLES_HOTEL_RESERVATION_CONTENTION_H_
