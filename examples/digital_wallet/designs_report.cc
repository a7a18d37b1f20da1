// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "digital_wallet/designs_report.h"

#include <string>

#include "absl/strings/str_format.h"
#include "keel/base/strings.h"

namespace keel::examples::wallet::designs {
namespace {

std::string Rate(double per_second) {
  if (per_second >= 1e6) return absl::StrFormat("%.2fM", per_second / 1e6);
  if (per_second >= 1e3) return absl::StrFormat("%.1fk", per_second / 1e3);
  return absl::StrFormat("%.0f", per_second);
}

std::string InvariantsCell(const Report& r) {
  if (!r.violations.empty()) return "BROKEN";
  if (!r.anomalies.empty()) return "no (by design)";
  return "held";
}

}  // namespace

absl::Status ValidateFaults(const Faults& faults) {
  if (!(faults.rate >= 0.0 && faults.rate <= 1.0)) {
    return absl::InvalidArgumentError(base::Cat("fault rate is ", faults.rate, ", not in [0, 1]"));
  }
  if (faults.recovery_delay_transfers > kMaxRecoveryDelayTransfers) {
    return absl::InvalidArgumentError(
        base::Cat("recovery delay is ", faults.recovery_delay_transfers, " transfers, more than ",
                  kMaxRecoveryDelayTransfers));
  }
  return absl::OkStatus();
}

std::string FormatReports(const std::vector<Report>& reports) {
  std::string out = absl::StrFormat("%-18s %12s %10s %9s %9s %7s %7s %9s %8s %10s  %s\n", "design",
                                    "transfers/s", "committed", "refused", "aborted", "broken",
                                    "faults", "recovered", "blocked", "held-refused", "invariants");
  for (const Report& r : reports) {
    out += absl::StrFormat("%-18s %12s %10d %9d %9d %7d %7d %9d %8d %10d  %s\n", r.design,
                           Rate(r.transfers_per_second), r.committed, r.refused, r.aborted,
                           r.broken, r.faults_injected, r.recoveries, r.blocked,
                           r.refused_while_held, InvariantsCell(r));
  }
  for (const Report& r : reports) {
    out += base::Cat("\n", r.design, ": ", r.guarantee, ".\n");
    out += absl::StrFormat("  %d transfers (%d cross-shard) in %.2f ms, single thread\n",
                           r.transfers, r.cross_shard, r.seconds * 1e3);
    if (r.faults_injected > 0) {
      std::string faults;
      for (const auto& [point, n] : r.faults_by_point) {
        if (n > 0) faults += base::Cat(faults.empty() ? "" : ", ", point, " ", n);
      }
      out += base::Cat("  faults injected: ", faults, "\n");
    }
    for (const std::string& note : r.notes) out += base::Cat("  - ", note, "\n");
    for (const std::string& a : r.anomalies) out += base::Cat("  ! ", a, "\n");
    for (const std::string& v : r.violations) out += base::Cat("  VIOLATION: ", v, "\n");
    if (r.violations.empty()) {
      out +=
          base::Cat("  invariants (", r.checks, " checks): money ",
                    r.conserved ? "conserved" : "NOT conserved", ", ",
                    r.no_negative ? "no negative balance" : "a NEGATIVE balance", ", ",
                    r.all_or_nothing ? "every transfer all or nothing" : "NOT all or nothing", ", ",
                    !r.has_phase_messages ? "no phase messages to duplicate"
                    : r.idempotent        ? "duplicates change nothing"
                                          : "NOT idempotent",
                    "\n");
    }
  }
  return out;
}

}  // namespace keel::examples::wallet::designs
