// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// What every wallet design implements, so that one runner (designs_runner.h) can drive each on
// the same workload, inject the same failures, and check the same invariants.
//
// A design is the whole system of one step of the chapter: the stateless wallet service that
// routes by the shard map, the shards it talks to, and whatever coordinates a transfer between
// two shards (nothing, a 2PC coordinator, a TC/C coordinator, a saga orchestrator). The runner
// hands it the transfers one at a time, each with the fault to inject (an index into the design's
// fault_points(), or kNoFault). A fault that crashes a coordinator leaves its transfer kPending:
// the design carries on with a fresh coordinator instance and recovers the crashed one, from its
// log or tables, when Advance reaches the due transfer (Faults::recovery_delay_transfers later),
// reporting the outcomes recovery decides through Resolve().
//
// Also here, two helpers the designs share: RecoveryQueue (crashed coordinators waiting for their
// turn) and FundsInTransit (money a TC/C Try or a saga's debit has taken from a payer and not yet
// given on or back).
#ifndef KEEL_EXAMPLES_DIGITAL_WALLET_DESIGNS_INTERFACE_H_
#define KEEL_EXAMPLES_DIGITAL_WALLET_DESIGNS_INTERFACE_H_

#include <cstdint>
#include <deque>
#include <limits>
#include <optional>
#include <span>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "digital_wallet/designs_report.h"
#include "digital_wallet/designs_workload.h"
#include "keel/base/assert.h"

namespace keel::examples::wallet::designs {

enum class Outcome : uint8_t {
  kUnknown = 0,    // not run yet
  kCommitted,      // applied in full
  kRefused,        // not applied: the payer's balance did not cover it
  kAborted,        // not applied: a failure stopped it
  kPending,        // a coordinator crashed with it undecided; its recovery decides
  kHalfApplied,    // the plain sharded store only: debited, never credited (money lost)
  kCreditedTwice,  // the plain sharded store only: debited once, credited twice (money created)
};

// "committed", "refused", "aborted", "pending", "half-applied", ...
[[nodiscard]] std::string_view OutcomeName(Outcome outcome);

// Execute's `fault` when none is injected.
inline constexpr int kNoFault = -1;

class Design {
 public:
  Design() = default;
  Design(const Design&) = delete;
  Design& operator=(const Design&) = delete;
  virtual ~Design() = default;

  [[nodiscard]] virtual std::string_view name() const = 0;
  // What the design guarantees, in a sentence.
  [[nodiscard]] virtual std::string_view guarantee() const = 0;
  // Its fault points' names, in a fixed order.
  [[nodiscard]] virtual std::span<const std::string_view> fault_points() const { return {}; }
  // Whether it promises all-or-nothing transfers across shards (the plain sharded store does not).
  [[nodiscard]] virtual bool atomic_across_shards() const { return true; }
  // Whether a cross-shard transfer is a protocol of messages that Redeliver can repeat (2PC, TC/C,
  // saga); the single node and the plain sharded store have none.
  [[nodiscard]] virtual bool has_phase_messages() const { return true; }

  // Runs `t` with fault point `fault` injected (an index into fault_points(), or kNoFault).
  // Errors are the machinery's (a log that fails), never the transfer's.
  [[nodiscard]] virtual absl::StatusOr<Outcome> Execute(const Transfer& t, int fault) = 0;
  // Called before the transfer at `index`: recovers the crashed coordinators that are due and
  // delivers the delayed messages that are due.
  [[nodiscard]] absl::Status Advance(uint64_t index) {
    index_ = index;
    return RecoverDue(index);
  }
  // The end of a run, after Advance(number of transfers): recovers every crashed coordinator
  // and delivers every delayed message, so that no transfer stays pending.
  [[nodiscard]] absl::Status Finish() { return RecoverDue(std::numeric_limits<uint64_t>::max()); }
  // How many transfers a crashed coordinator stays down (Faults::recovery_delay_transfers).
  void set_recovery_delay(uint64_t transfers) { recovery_delay_ = transfers; }
  // Sends again every phase message of the finished transfer `t` (its outcome `outcome`), as a
  // network that duplicates messages would. Must change nothing.
  [[nodiscard]] virtual absl::Status Redeliver(const Transfer& t, Outcome outcome) {
    (void)t;
    (void)outcome;
    return absl::OkStatus();
  }

  [[nodiscard]] virtual int64_t balance(WalletId wallet) const = 0;
  // Money taken from payers by transactions not yet finished (TC/C, saga); 0 for the others.
  [[nodiscard]] virtual int64_t in_flight() const { return 0; }
  // Adds the design's own counters and lines to `report`.
  virtual void Describe(Report& report) const { (void)report; }

  // The outcomes recovery decided since the last call, for transfers Execute left kPending.
  [[nodiscard]] std::vector<std::pair<TxnId, Outcome>> TakeResolved() {
    return std::exchange(resolved_, {});
  }
  [[nodiscard]] uint64_t recoveries() const { return recoveries_; }

 protected:
  // Advance's and Finish's work: recovers what is due at `index` (everything at UINT64_MAX).
  [[nodiscard]] virtual absl::Status RecoverDue(uint64_t index) {
    (void)index;
    return absl::OkStatus();
  }
  // The transfer being run (the last Advance's index; at the end, the number of transfers).
  [[nodiscard]] uint64_t index() const { return index_; }
  // The index at which a coordinator that crashes now comes back.
  [[nodiscard]] uint64_t due_index() const { return index_ + 1 + recovery_delay_; }
  void Resolve(TxnId id, Outcome outcome) { resolved_.emplace_back(id, outcome); }
  void CountRecovery() { ++recoveries_; }

 private:
  std::vector<std::pair<TxnId, Outcome>> resolved_;
  uint64_t recoveries_ = 0;
  uint64_t index_ = 0;
  uint64_t recovery_delay_ = 0;
};

// Crashed coordinators (by generation) waiting to come back, in the order they crashed.
class RecoveryQueue {
 public:
  void Add(uint32_t generation, uint64_t due_index) { queue_.emplace_back(due_index, generation); }
  // The next generation due at `index` (all of them when `index` is UINT64_MAX), if any.
  [[nodiscard]] std::optional<uint32_t> PopDue(uint64_t index) {
    if (queue_.empty() || queue_.front().first > index) return std::nullopt;
    const uint32_t generation = queue_.front().second;
    queue_.pop_front();
    return generation;
  }
  [[nodiscard]] size_t size() const { return queue_.size(); }

 private:
  std::deque<std::pair<uint64_t, uint32_t>> queue_;  // (due index, generation)
};

// What the unfinished transactions of a TC/C or saga design have in hand, as an auditor outside
// the system would count it (the shards update it where their local transactions move money):
//
//   in_flight    taken from payers and not yet given to payees or back. Money is conserved when
//                the balances plus this equal the starting total.
//   held(w)      taken from wallet w by transactions that have not finished (their payee may
//                already have it): a transfer refused while w's money is held was refused for
//                want of money that is not really spent (Report::refused_while_held).
class FundsInTransit {
 public:
  // A payer's wallet debited by an unfinished transaction.
  void Take(WalletId wallet, int64_t amount) {
    held_[wallet] += amount;
    in_flight_ += amount;
  }
  // The money reached the payee (in_flight), or went back to the payer.
  void Deliver(int64_t amount) { in_flight_ -= amount; }
  void Return(int64_t amount) { in_flight_ -= amount; }
  // A payee's credit taken back (a saga compensating it): the money is in flight again.
  void TakeBack(int64_t amount) { in_flight_ += amount; }
  // The payer's transaction finished (confirmed or cancelled): its hold on the wallet ends.
  void Release(WalletId wallet, int64_t amount) {
    auto it = held_.find(wallet);
    KEEL_ASSERT(it != held_.end() && it->second >= amount, "released more than held");
    it->second -= amount;
    if (it->second == 0) held_.erase(it);
  }
  [[nodiscard]] int64_t held(WalletId wallet) const {
    auto it = held_.find(wallet);
    return it == held_.end() ? 0 : it->second;
  }
  [[nodiscard]] int64_t in_flight() const { return in_flight_; }

 private:
  absl::flat_hash_map<WalletId, int64_t> held_;
  int64_t in_flight_ = 0;
};

}  // namespace keel::examples::wallet::designs

#endif  // KEEL_EXAMPLES_DIGITAL_WALLET_DESIGNS_INTERFACE_H_
