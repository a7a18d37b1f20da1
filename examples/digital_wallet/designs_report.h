// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// What a run of one wallet design reports, and the failures it is asked to survive.
//
// Every design (designs.h) runs the same workload (designs_workload.h). Faults says how often a
// failure is injected and where: each design names its own fault points ("crash-after-prepare",
// "try-delayed", ...), and a cross-shard transfer gets one of them with probability `rate`.
// Whether a transfer gets a fault depends only on the seed and the transfer's id, so every design
// sees failures on the same transfers. Same-shard transfers are one local transaction in every
// design and get none.
//
// A Report says how fast the design went, what became of the transfers, which failures it met,
// what it guarantees, and whether the invariants held: money conserved, no negative balance,
// every transfer applied in full or not at all (checked against an oracle that applies exactly
// the committed transfers), and idempotency (every phase message of every finished transfer
// delivered again changes nothing). The plain sharded store breaks the first and third by design
// when a failure hits between its two updates; those breaks are `anomalies`, accounted for to the
// cent, and only a break that its own accounting does not explain is a `violation`.
#ifndef KEEL_EXAMPLES_DIGITAL_WALLET_DESIGNS_REPORT_H_
#define KEEL_EXAMPLES_DIGITAL_WALLET_DESIGNS_REPORT_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"

namespace keel::examples::wallet::designs {

// The most transfers a crashed coordinator may stay down.
inline constexpr uint64_t kMaxRecoveryDelayTransfers = 1'000'000'000;

// Every field has a default, so designated initializers may leave any out.
struct Faults {
  // The probability that a cross-shard transfer gets a fault, in [0, 1].
  double rate = 0.0;
  uint64_t seed = 1;
  // A coordinator that crashes comes back (and recovers from its log or tables) after this many
  // more transfers; meanwhile the service goes on with a fresh instance, and what the crashed one
  // left unfinished (locks, held funds) stays as it was. 0: it recovers before the next transfer.
  uint64_t recovery_delay_transfers = 100;
  // Only these fault points, by name; empty: every point of every design. Each design injects
  // the ones that are its own.
  std::vector<std::string> points{};
};

// OK, or kInvalidArgument naming the bad field: a rate outside [0, 1] or a delay over
// kMaxRecoveryDelayTransfers. (Point names are checked by RunAll, which knows every design.)
[[nodiscard]] absl::Status ValidateFaults(const Faults& faults);

struct Report {
  std::string design;
  std::string guarantee;  // one sentence

  uint64_t transfers = 0;
  uint64_t cross_shard = 0;

  // What became of the transfers.
  uint64_t committed = 0;
  uint64_t refused = 0;  // the payer's balance did not cover it: nothing applied
  uint64_t aborted = 0;  // a failure stopped it (a no vote, a lock, a failed step): nothing applied
  uint64_t broken = 0;   // the plain sharded store: half applied or credited twice
  int64_t money_lost = 0;     // by broken transfers
  int64_t money_created = 0;  // by broken transfers

  // The failures met.
  uint64_t faults_injected = 0;
  std::vector<std::pair<std::string, uint64_t>> faults_by_point;  // in the design's order
  uint64_t recoveries = 0;  // coordinators recovered after a crash
  // Two-phase commit: transfers that found a wallet locked by an in-doubt transaction and were
  // aborted (a lock wait timeout; the client may retry).
  uint64_t blocked = 0;
  // TC/C and saga: transfers refused while an unfinished transaction held part of the payer's
  // money (taken by a Try or a saga's debit, neither given on nor returned yet).
  uint64_t refused_while_held = 0;

  // Speed: single thread, the time spent running the transfers (Execute, and the recoveries and
  // late deliveries between them), not building the design or checking invariants.
  double seconds = 0;
  double transfers_per_second = 0;

  // The invariants.
  uint64_t checks = 0;  // invariant checks made: after every fault, every recovery, and at the end
  bool conserved = false;
  bool no_negative = false;
  bool all_or_nothing = false;
  bool idempotent = false;              // meaningful only with phase messages:
  bool has_phase_messages = false;      // 2PC, TC/C and saga (Design::has_phase_messages)
  std::vector<std::string> anomalies;   // breaks the design allows (see the file comment)
  std::vector<std::string> violations;  // breaks it promised to prevent: bugs
  std::vector<std::string> notes;       // the design's own lines (blocking, recovery, ...)

  [[nodiscard]] bool invariants_held() const { return anomalies.empty() && violations.empty(); }
  // No design broke a promise (the plain sharded store may still have anomalies).
  [[nodiscard]] bool ok() const { return violations.empty(); }
};

// The reports as a table (design, transfers/s, outcomes, faults, recoveries, invariants) and, per
// design, what it guarantees and what happened to it.
[[nodiscard]] std::string FormatReports(const std::vector<Report>& reports);

}  // namespace keel::examples::wallet::designs

#endif  // KEEL_EXAMPLES_DIGITAL_WALLET_DESIGNS_REPORT_H_
