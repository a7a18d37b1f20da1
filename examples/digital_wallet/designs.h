// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// The digital wallet chapter's progression of designs, each implemented, run on the same
// transfer workload with failures injected, measured and checked: the entry point.
//
// The chapter needs a million transfers a second between wallets, no money ever created or lost.
// It walks from a store that is fast but wrong across shards to ones that keep a transfer atomic
// across shards, each at a price:
//
//   single node        one hash map of balances: every transfer atomic, but one machine is the
//                      limit (the baseline).
//   sharded            balances sharded in memory over K nodes by Redis Cluster's hash slots
//                      (designs_sharded.h): fast, but a cross-shard transfer is two independent
//                      updates, and a failure between them loses or creates money.
//   2pc                two-phase commit, the wallet service as coordinator with a decision log
//                      (designs_2pc.h): atomic, but a coordinator that dies between the phases
//                      leaves its participants' wallets locked until it comes back.
//   tcc                Try-Confirm/Cancel (designs_tcc.h): each phase its own local transaction,
//                      no locks; the deducted money is invisible in between, and every phase must
//                      be idempotent and safe out of order.
//   saga               a saga run by keel's orchestrator (designs_saga.h): steps commit one by one
//                      and a failed one is compensated in reverse.
//
// Event sourcing and the Raft-replicated event log, the chapter's last steps, are the ledger's
// (keel/ledger) and live elsewhere in examples/digital_wallet.
//
// Example (what the narrated demo does):
//
//   KEEL_ASSIGN_OR_RETURN(Workload workload, MakeWorkload({.wallets = 10'000,
//                                                          .transfers = 200'000}));
//   KEEL_ASSIGN_OR_RETURN(std::vector<Report> reports,
//                         RunAll(workload, {.rate = 0.01, .seed = 7}));
//   std::fputs(FormatReports(reports).c_str(), stdout);
//   for (const Report& r : reports) if (!r.ok()) return 1;  // a design broke a promise
#ifndef KEEL_EXAMPLES_DIGITAL_WALLET_DESIGNS_H_
#define KEEL_EXAMPLES_DIGITAL_WALLET_DESIGNS_H_

#include <cstdint>
#include <iterator>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "digital_wallet/designs_interface.h"
#include "digital_wallet/designs_report.h"
#include "digital_wallet/designs_workload.h"

namespace keel::examples::wallet::designs {

enum class DesignKind : uint8_t { kSingleNode, kSharded, kTwoPhaseCommit, kTcc, kSaga };

inline constexpr DesignKind kAllDesigns[] = {DesignKind::kSingleNode, DesignKind::kSharded,
                                             DesignKind::kTwoPhaseCommit, DesignKind::kTcc,
                                             DesignKind::kSaga};

// The short names a command line uses: "single-node", "sharded", "2pc", "tcc", "saga".
[[nodiscard]] std::string_view DesignKindName(DesignKind kind);
// kInvalidArgument naming the bad name and listing the good ones.
[[nodiscard]] absl::StatusOr<DesignKind> ParseDesignKind(std::string_view name);
// The fault points of a design, by name, in its order.
[[nodiscard]] std::span<const std::string_view> FaultPointsOf(DesignKind kind);

// Every field has a default, so designated initializers may leave any out.
struct RunOptions {
  std::vector<DesignKind> designs{std::begin(kAllDesigns), std::end(kAllDesigns)};
  // Where 2PC's coordinators keep their decision logs, on disk with an fsync per decision;
  // empty: on a keel::wal::MemoryFileSystem. Must exist; a subdirectory "2pc" is made in it.
  std::string log_dir{};
};

// A fresh design of `kind` over `workload` (which must outlive it).
[[nodiscard]] absl::StatusOr<std::unique_ptr<Design>> MakeDesign(DesignKind kind,
                                                                 const Workload& workload,
                                                                 const RunOptions& options = {});

// Runs every design in options.designs on `workload` with `faults`, one after the other, and
// returns their reports in that order. Errors: kInvalidArgument for bad faults, or a fault point
// no design has; the designs' machinery's errors. Broken invariants are in the reports.
[[nodiscard]] absl::StatusOr<std::vector<Report>> RunAll(const Workload& workload,
                                                         const Faults& faults,
                                                         const RunOptions& options = {});

}  // namespace keel::examples::wallet::designs

#endif  // KEEL_EXAMPLES_DIGITAL_WALLET_DESIGNS_H_
