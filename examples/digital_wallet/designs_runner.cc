// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "digital_wallet/designs_runner.h"

#include <algorithm>
#include <chrono>
#include <string>
#include <utility>

#include "keel/base/random.h"
#include "keel/base/status.h"
#include "keel/base/strings.h"

namespace keel::examples::wallet::designs {
namespace {

using Clock = std::chrono::steady_clock;

constexpr size_t kMaxViolationsListed = 5;

// The money the broken transfers (plain sharded store) lost and created so far.
struct Broken {
  uint64_t count = 0;
  int64_t lost = 0;
  int64_t created = 0;

  void Add(const Transfer& t, Outcome outcome) {
    if (outcome == Outcome::kHalfApplied) {
      ++count;
      lost += t.amount;
    } else if (outcome == Outcome::kCreditedTwice) {
      ++count;
      created += t.amount;
    }
  }
};

class Checker {
 public:
  Checker(const Design& design, const Workload& workload, Report& report)
      : design_(design), workload_(workload), report_(report), initial_(workload.total_money()) {}

  // Money conserved (with the broken transfers' effects and the money in flight) and no
  // negative balance. Returns the balances.
  std::vector<int64_t> CheckBalances(const Broken& broken, std::string_view when) {
    ++report_.checks;
    std::vector<int64_t> balances(workload_.initial_balances.size());
    int64_t total = 0;
    for (WalletId w = 0; w < balances.size(); ++w) {
      balances[w] = design_.balance(w);
      total += balances[w];
      if (balances[w] < 0)
        Violation(base::Cat("wallet ", w, " is negative (", balances[w], ") ", when));
    }
    const int64_t expected = initial_ - broken.lost + broken.created;
    if (total + design_.in_flight() != expected) {
      Violation(base::Cat("money not conserved ", when, ": balances ", total, " + in flight ",
                          design_.in_flight(), " != ", expected));
    }
    return balances;
  }

  void Violation(std::string message) {
    ++violations_;
    if (report_.violations.size() < kMaxViolationsListed) {
      report_.violations.push_back(std::move(message));
    }
  }
  [[nodiscard]] uint64_t violations() const { return violations_; }

 private:
  const Design& design_;
  const Workload& workload_;
  Report& report_;
  const int64_t initial_;
  uint64_t violations_ = 0;
};

std::vector<int> EnabledPoints(const Design& design, const Faults& faults) {
  std::vector<int> enabled;
  const std::span<const std::string_view> points = design.fault_points();
  for (size_t i = 0; i < points.size(); ++i) {
    if (faults.points.empty() ||
        std::find(faults.points.begin(), faults.points.end(), points[i]) != faults.points.end()) {
      enabled.push_back(static_cast<int>(i));
    }
  }
  return enabled;
}

// The end-of-run checks, after Finish: see the header.
void CheckEnd(Design& design, const Workload& workload, const std::vector<Outcome>& outcomes,
              const Broken& broken, Checker& checker, Report& report) {
  uint64_t unfinished = 0;
  for (Outcome o : outcomes) unfinished += (o == Outcome::kPending || o == Outcome::kUnknown);
  if (unfinished > 0) checker.Violation(base::Cat(unfinished, " transfers never finished"));
  if (design.in_flight() != 0) {
    checker.Violation(base::Cat(design.in_flight(), " left in flight after every recovery"));
  }
  const uint64_t before = checker.violations();
  const std::vector<int64_t> balances = checker.CheckBalances(broken, "at the end");
  report.no_negative =
      std::all_of(balances.begin(), balances.end(), [](int64_t b) { return b >= 0; });

  // The oracle: the committed transfers, and the broken ones' known effects.
  std::vector<int64_t> oracle = workload.initial_balances;
  for (const Transfer& t : workload.transfers) {
    switch (outcomes[t.id]) {
      case Outcome::kCommitted:
        oracle[t.from] -= t.amount;
        oracle[t.to] += t.amount;
        break;
      case Outcome::kHalfApplied:
        oracle[t.from] -= t.amount;
        break;
      case Outcome::kCreditedTwice:
        oracle[t.from] -= t.amount;
        oracle[t.to] += 2 * t.amount;
        break;
      default:
        break;
    }
  }
  uint64_t mismatches = 0;
  for (WalletId w = 0; w < balances.size(); ++w) {
    if (balances[w] == oracle[w]) continue;
    if (mismatches++ == 0) {
      checker.Violation(base::Cat("wallet ", w, " holds ", balances[w],
                                  ", the committed transfers give it ", oracle[w]));
    }
  }
  if (mismatches > 1) checker.Violation(base::Cat(mismatches, " wallets differ from the oracle"));
  const bool accounted = checker.violations() == before && unfinished == 0;
  report.conserved = accounted && broken.lost == 0 && broken.created == 0;
  report.all_or_nothing = accounted && broken.count == 0;
  if (broken.count > 0 && design.atomic_across_shards()) {
    checker.Violation(base::Cat(broken.count,
                                " transfers broken by a design that promises "
                                "atomic transfers"));
  } else if (broken.count > 0) {
    report.anomalies.push_back(base::Cat(
        broken.count,
        " cross-shard transfers broken by failures between their two updates: ", broken.lost,
        " lost, ", broken.created, " created", accounted ? " (accounted for to the cent)" : ""));
  }

  // Idempotency: every phase message again.
  for (const Transfer& t : workload.transfers) {
    const Outcome o = outcomes[t.id];
    if (!workload.IsCrossShard(t) ||
        (o != Outcome::kCommitted && o != Outcome::kRefused && o != Outcome::kAborted)) {
      continue;
    }
    if (absl::Status s = design.Redeliver(t, o); !s.ok()) {
      checker.Violation(base::Cat("redelivering transfer ", t.id, ": ", s.ToString()));
      break;
    }
  }
  uint64_t changed = 0;
  for (WalletId w = 0; w < balances.size(); ++w) changed += design.balance(w) != balances[w];
  report.idempotent = changed == 0 && design.in_flight() == 0;
  if (!report.idempotent) {
    checker.Violation(base::Cat("duplicate phase messages changed ", changed, " balances"));
  }
}

}  // namespace

std::string_view OutcomeName(Outcome outcome) {
  switch (outcome) {
    case Outcome::kUnknown:
      return "unknown";
    case Outcome::kCommitted:
      return "committed";
    case Outcome::kRefused:
      return "refused";
    case Outcome::kAborted:
      return "aborted";
    case Outcome::kPending:
      return "pending";
    case Outcome::kHalfApplied:
      return "half-applied";
    case Outcome::kCreditedTwice:
      return "credited-twice";
  }
  return "invalid";
}

int PickFault(const Faults& faults, const Transfer& t, bool cross_shard,
              const std::vector<int>& enabled_points) {
  if (!cross_shard || enabled_points.empty() || faults.rate <= 0.0) return kNoFault;
  base::SplitMix64 mix(faults.seed ^ (t.id * 0x9E3779B97F4A7C15ULL));
  const uint64_t draw = mix.Next();
  if (static_cast<double>(draw >> 11) * 0x1.0p-53 >= faults.rate) return kNoFault;
  return enabled_points[mix.Next() % enabled_points.size()];
}

absl::StatusOr<Report> RunDesign(Design& design, const Workload& workload, const Faults& faults,
                                 const RunnerOptions& options, std::vector<Outcome>* outcomes_out) {
  KEEL_RETURN_IF_ERROR(ValidateFaults(faults));
  Report report;
  report.design = std::string(design.name());
  report.guarantee = std::string(design.guarantee());
  report.transfers = workload.transfers.size();
  report.cross_shard = workload.cross_shard;
  const std::vector<int> enabled = EnabledPoints(design, faults);
  std::vector<uint64_t> per_point(design.fault_points().size());
  design.set_recovery_delay(faults.recovery_delay_transfers);

  std::vector<Outcome> outcomes(workload.transfers.size(), Outcome::kUnknown);
  Broken broken;
  Checker checker(design, workload, report);
  auto apply_resolved = [&] {
    for (const auto& [txn, o] : design.TakeResolved()) {
      if (txn >= outcomes.size() || outcomes[txn] != Outcome::kPending) {
        checker.Violation(base::Cat("recovery decided transfer ", txn, ", which was not pending"));
        continue;
      }
      outcomes[txn] = o;
    }
  };

  Clock::duration checking{0};
  const Clock::time_point start = Clock::now();
  for (const Transfer& t : workload.transfers) {
    const uint64_t recoveries = design.recoveries();
    KEEL_RETURN_IF_ERROR(design.Advance(t.id));
    if (design.recoveries() != recoveries) {
      const Clock::time_point pause = Clock::now();
      apply_resolved();
      if (options.check_during_run) {
        (void)checker.CheckBalances(broken, base::Cat("after a recovery before transfer ", t.id));
      }
      checking += Clock::now() - pause;
    }
    const int fault = PickFault(faults, t, workload.IsCrossShard(t), enabled);
    if (fault != kNoFault) {
      ++report.faults_injected;
      ++per_point[static_cast<size_t>(fault)];
    }
    KEEL_ASSIGN_OR_RETURN(outcomes[t.id], design.Execute(t, fault));
    broken.Add(t, outcomes[t.id]);
    if (fault != kNoFault && options.check_during_run) {
      const Clock::time_point pause = Clock::now();
      (void)checker.CheckBalances(broken, base::Cat("after a fault in transfer ", t.id));
      checking += Clock::now() - pause;
    }
  }
  KEEL_RETURN_IF_ERROR(design.Advance(workload.transfers.size()));
  KEEL_RETURN_IF_ERROR(design.Finish());
  const Clock::time_point end = Clock::now();
  apply_resolved();

  report.seconds = std::chrono::duration<double>(end - start - checking).count();
  report.transfers_per_second =
      report.seconds > 0 ? static_cast<double>(report.transfers) / report.seconds : 0;
  for (size_t i = 0; i < per_point.size(); ++i) {
    report.faults_by_point.emplace_back(std::string(design.fault_points()[i]), per_point[i]);
  }
  for (Outcome o : outcomes) {
    report.committed += o == Outcome::kCommitted;
    report.refused += o == Outcome::kRefused;
    report.aborted += o == Outcome::kAborted;
  }
  report.broken = broken.count;
  report.money_lost = broken.lost;
  report.money_created = broken.created;
  report.recoveries = design.recoveries();
  report.has_phase_messages = design.has_phase_messages();
  design.Describe(report);

  CheckEnd(design, workload, outcomes, broken, checker, report);
  if (outcomes_out != nullptr) *outcomes_out = std::move(outcomes);
  return report;
}

}  // namespace keel::examples::wallet::designs
