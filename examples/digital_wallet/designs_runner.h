// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// The runner: drives one design through a workload with faults injected, times it, and checks
// the invariants, after every recovery and at the end.
//
// For each transfer in order: Advance (recover the coordinators that are due), then Execute with
// the fault Faults picks for it. After the last: Finish (recover everything, deliver everything).
// The clock covers exactly that loop, minus the invariant checks made inside it.
//
// The checks:
//
//   after each fault      the balances plus the money in flight equal the starting total (less
//   and each recovery     what broken transfers lost, plus what they created), and no balance is
//                         negative.
//   at the end            every transfer finished (none pending or stuck); nothing in flight;
//                         money conserved; no negative balance; every wallet's balance equal to
//                         the oracle's, which applies exactly the committed transfers to the
//                         starting balances (all or nothing; for the plain sharded store, the
//                         oracle adds the broken transfers' known effects, so that what they
//                         lost and created is accounted for to the cent); and idempotency: every
//                         finished cross-shard transfer's phase messages delivered again
//                         (Design::Redeliver) change no balance.
//
// Example:
//
//   ShardedDesign design(workload);
//   KEEL_ASSIGN_OR_RETURN(Report report, RunDesign(design, workload, {.rate = 0.01}));
//   if (!report.ok()) ...
#ifndef KEEL_EXAMPLES_DIGITAL_WALLET_DESIGNS_RUNNER_H_
#define KEEL_EXAMPLES_DIGITAL_WALLET_DESIGNS_RUNNER_H_

#include <vector>

#include "absl/status/statusor.h"
#include "digital_wallet/designs_interface.h"
#include "digital_wallet/designs_report.h"
#include "digital_wallet/designs_workload.h"

namespace keel::examples::wallet::designs {

struct RunnerOptions {
  // Check the balances after every fault and every recovery (true), or only at the end. Each
  // check walks every wallet, and the caches it leaves cold slow the transfers after it, so the
  // benchmark of the designs under faults turns them off; tests and the demo keep them.
  bool check_during_run = true;
};

// Runs `workload` through `design`, which must be fresh (built from the same workload), and with
// `outcomes` set, stores each transfer's final outcome there (by transfer id). Errors:
// kInvalidArgument for bad faults; the design's machinery's errors. A broken invariant is not an
// error: the report says it.
[[nodiscard]] absl::StatusOr<Report> RunDesign(Design& design, const Workload& workload,
                                               const Faults& faults,
                                               const RunnerOptions& options = {},
                                               std::vector<Outcome>* outcomes = nullptr);

// The fault `faults` gives transfer `t` of `design` (kNoFault for none): a cross-shard transfer
// gets one with probability faults.rate, the same transfers for every design.
[[nodiscard]] int PickFault(const Faults& faults, const Transfer& t, bool cross_shard,
                            const std::vector<int>& enabled_points);

}  // namespace keel::examples::wallet::designs

#endif  // KEEL_EXAMPLES_DIGITAL_WALLET_DESIGNS_RUNNER_H_
