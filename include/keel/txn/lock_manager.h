// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// A lock manager for pessimistic concurrency control: per-record shared and exclusive locks, with
// fair queues, deadlock detection and timeouts.
//
// The case study's first approach to double booking locks the inventory row as soon as a client
// starts to update it (`SELECT ... FOR UPDATE`); everyone else waits until the first client
// commits. The caller runs two-phase locking: it takes every lock it needs while it works
// (Lock), and releases them all at once when it commits or rolls back (End), so the transactions
// are serializable (Eswaran, Gray, Lorie and Traiger, "The Notions of Consistency and Predicate
// Locks in a Database System", CACM 19(11), 1976). The lock table follows Gray and Reuter,
// "Transaction Processing: Concepts and Techniques" (1993), chapter 8:
//
//   - modes: shared (readers share a record) and exclusive (one writer, no readers). A shared
//     holder may upgrade to exclusive; the upgrade waits at the head of the queue, ahead of every
//     request that came later, since those would otherwise wait on it forever.
//   - fairness: each record's waiting requests form a FIFO queue, and a request is granted only
//     when it is compatible with every holder AND every request ahead of it has been granted.
//     A later request never overtakes an earlier one it conflicts with (no starvation of writers
//     by a stream of readers), and a shared request queued behind an exclusive one waits for it.
//   - deadlocks: a waits-for graph (an edge from each waiting transaction to every holder, and
//     every request ahead of it in its queue, that it conflicts with). A new edge can only close
//     a cycle through the transaction that starts to wait, so the graph is searched (breadth
//     first, from that transaction) exactly then; if the search comes back to it, that
//     transaction is the victim: its request is withdrawn and Lock() returns kAborted naming the
//     cycle. The victim still holds its other locks: the caller rolls back and calls End().
//   - timeouts: every wait has a deadline on the injected clock, after which Lock() withdraws the
//     request and returns kDeadlineExceeded naming the holders it waited for. A timeout is the
//     bluntest deadlock breaker, and it also bounds the wait behind a holder that is merely slow.
//
// The case study's objection ("deadlocks may occur when multiple resources are locked... not
// stable") is real and measured in docs/txn.md: locks taken in no particular order deadlock under
// contention, and each deadlock costs a victim its work; locks taken in one global order (every
// booking locks its nights in date order) never deadlock.
//
// Example:
//
//   keel::txn::LockManager<InventoryKey> locks(keel::base::MonotonicClock::Default());
//   KEEL_ASSIGN_OR_RETURN(keel::txn::TxnId txn, locks.Begin());
//   for (const InventoryKey& night : nights) {   // in date order: no deadlock among bookings
//     absl::Status locked = locks.Lock(txn, night, keel::txn::LockMode::kExclusive,
//                                      /*timeout_ns=*/keel::base::kNanosPerSecond);
//     if (!locked.ok()) { (void)locks.End(txn); return locked; }  // kAborted or kDeadlineExceeded
//   }
//   ... read the rows, check, write them ...
//   KEEL_RETURN_IF_ERROR(locks.End(txn));        // releases every lock at once
//
// Time: deadlines are read from the injected clock; waiting threads sleep on condition variables
// and are woken by grants, and by NotifyClockAdvanced() when a test moves a ManualClock.
//
// Limits (Options): max_transactions live at once (Begin returns kResourceExhausted beyond) and
// max_locks_per_transaction (Lock returns kResourceExhausted beyond). A transaction waits for at
// most one lock at a time, so at most max_transactions requests wait, and the lock table holds at
// most max_transactions * max_locks_per_transaction entries.
//
// Thread safety: all methods may be called from any thread at once, but each transaction is
// driven by one thread at a time (Lock, Unlock and End of a transaction that is waiting in another
// thread return kFailedPrecondition). One mutex guards the whole table: deadlock detection needs a
// consistent view of every queue, and the critical sections are short. A sharded table with a
// separate detector thread scales further; docs/txn.md says where that would matter.
#ifndef KEEL_TXN_LOCK_MANAGER_H_
#define KEEL_TXN_LOCK_MANAGER_H_

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "keel/base/assert.h"
#include "keel/base/clock.h"
#include "keel/base/strings.h"
#include "keel/txn/record_key.h"

namespace keel::txn {

enum class LockMode : uint8_t { kShared, kExclusive };

// "shared" or "exclusive".
[[nodiscard]] const char* LockModeName(LockMode mode);

// A transaction of a LockManager, numbered from 1 in the order Begin() hands them out.
using TxnId = uint64_t;

// A timeout that never expires.
inline constexpr int64_t kNoTimeout = std::numeric_limits<int64_t>::max();

struct LockManagerOptions {
  size_t max_transactions = 4096;           // live (begun, not ended) at once
  size_t max_locks_per_transaction = 1024;  // records one transaction holds locked at once
};

struct LockStats {
  uint64_t granted_at_once = 0;  // requests granted without waiting (re-entrant ones included)
  uint64_t waited = 0;           // requests that waited (granted, aborted or timed out later)
  uint64_t deadlocks = 0;        // requests refused because they closed a cycle
  uint64_t timeouts = 0;         // requests withdrawn at their deadline
};

template <RecordKey Key>
class LockManager {
 public:
  using Options = LockManagerOptions;

  // REQUIRES: both limits >= 1; `clock` outlives the manager.
  explicit LockManager(const base::Clock& clock, const Options& options = {});
  LockManager(const LockManager&) = delete;
  LockManager& operator=(const LockManager&) = delete;
  // REQUIRES: no thread is waiting in Lock().
  ~LockManager() = default;

  // Starts a transaction. kResourceExhausted at max_transactions.
  [[nodiscard]] absl::StatusOr<TxnId> Begin();

  // Locks `key` in `mode` for `txn`, waiting up to `timeout_ns` (0: do not wait; kNoTimeout:
  // forever) behind conflicting holders and earlier requests. Asking again for a lock already
  // held in the same or a stronger mode succeeds at once; asking for exclusive while holding
  // shared is an upgrade. Returns:
  //   OK                   the lock is held;
  //   kAborted             waiting would close a deadlock cycle, named in the message; the
  //                        request is withdrawn, other locks stay held;
  //   kDeadlineExceeded    not granted by the deadline; the request is withdrawn;
  //   kNotFound            `txn` is not a live transaction;
  //   kFailedPrecondition  `txn` is already waiting in another thread;
  //   kResourceExhausted   `txn` holds max_locks_per_transaction locks already;
  //   kInvalidArgument     timeout_ns < 0.
  [[nodiscard]] absl::Status Lock(TxnId txn, const Key& key, LockMode mode,
                                  int64_t timeout_ns = kNoTimeout);

  // Releases one lock before the end of the transaction (which gives up two-phase locking's
  // guarantee unless the caller knows why it is safe). kNotFound if `txn` is not live or holds no
  // lock on `key`; kFailedPrecondition if it is waiting in another thread.
  [[nodiscard]] absl::Status Unlock(TxnId txn, const Key& key);

  // Releases every lock of `txn` and forgets it: commit or rollback. kNotFound if `txn` is not
  // live (never begun, or already ended); kFailedPrecondition if it is waiting in another thread.
  [[nodiscard]] absl::Status End(TxnId txn);

  // Wakes every waiting thread to compare its deadline with the clock again. Call it after
  // advancing a ManualClock; a real clock needs no help.
  void NotifyClockAdvanced();

  // Introspection, for tests and reports.
  [[nodiscard]] std::optional<LockMode> HeldMode(TxnId txn, const Key& key) const;
  [[nodiscard]] size_t Waiting(const Key& key) const;  // requests queued (not granted) on `key`
  [[nodiscard]] size_t transactions() const;
  [[nodiscard]] LockStats stats() const;

 private:
  struct Request {
    TxnId txn;
    LockMode mode;
  };
  struct Queue {
    std::vector<Request> holders;  // granted; each transaction at most once
    // FIFO; upgrades at the front. A vector, not a deque: queues come and go with every lock
    // (a deque allocates even when empty), and they are short.
    std::vector<Request> waiting;
  };
  struct Txn {
    std::condition_variable wake;
    absl::flat_hash_map<Key, LockMode> held;
    std::optional<Key> waiting_on;  // set while a request of this transaction is queued
  };

  static bool Compatible(LockMode a, LockMode b) {
    return a == LockMode::kShared && b == LockMode::kShared;
  }
  absl::StatusOr<Txn*> FindTxn(TxnId txn) const;  // REQUIRES: mu_ held
  // Whether `request` conflicts with no holder other than its own transaction.
  static bool GrantableOverHolders(const Queue& queue, const Request& request);
  // Grants the queue's waiting requests from the front while they are grantable.
  void GrantWaiters(const Key& key, Queue& queue);
  // Releases `txn`'s lock on `key` (granted: REQUIRES held) or withdraws its queued request
  // (REQUIRES: queued), and grants whatever that unblocks.
  void Remove(TxnId txn, Txn& state, const Key& key, bool granted);
  // The transactions `txn` (waiting on `key`) waits for, with their order kept.
  std::vector<TxnId> WaitsFor(TxnId txn, const Key& key) const;
  // Searches the waits-for graph from `txn`; a description of a cycle back to it, if any.
  std::optional<std::string> FindCycle(TxnId txn) const;
  // Waits for the request to be granted or the deadline to pass.
  absl::Status AwaitGrant(std::unique_lock<std::mutex>& lock, TxnId txn, Txn& state, const Key& key,
                          LockMode mode, int64_t timeout_ns);

  const base::Clock* clock_;
  Options options_;
  mutable std::mutex mu_;
  TxnId next_txn_ = 1;                                     // guarded by mu_
  absl::flat_hash_map<TxnId, std::unique_ptr<Txn>> txns_;  // guarded by mu_
  absl::flat_hash_map<Key, Queue> table_;                  // guarded by mu_; no empty queues
  LockStats stats_;                                        // guarded by mu_
};

// ---------------------------------------------------------------------------------------------
// Implementation details.
// ---------------------------------------------------------------------------------------------
inline const char* LockModeName(LockMode mode) {
  return mode == LockMode::kShared ? "shared" : "exclusive";
}

template <RecordKey Key>
LockManager<Key>::LockManager(const base::Clock& clock, const Options& options)
    : clock_(&clock), options_(options) {
  KEEL_ASSERT(options.max_transactions >= 1, "max_transactions is ", options.max_transactions);
  KEEL_ASSERT(options.max_locks_per_transaction >= 1, "max_locks_per_transaction is ",
              options.max_locks_per_transaction);
}

template <RecordKey Key>
absl::StatusOr<TxnId> LockManager<Key>::Begin() {
  std::lock_guard lock(mu_);
  if (txns_.size() >= options_.max_transactions) {
    return absl::ResourceExhaustedError(
        base::Cat("cannot begin a transaction: ", txns_.size(), " are live, the limit"));
  }
  const TxnId txn = next_txn_++;
  txns_.emplace(txn, std::make_unique<Txn>());
  return txn;
}

template <RecordKey Key>
absl::StatusOr<typename LockManager<Key>::Txn*> LockManager<Key>::FindTxn(TxnId txn) const {
  auto it = txns_.find(txn);
  if (it == txns_.end()) return absl::NotFoundError(base::Cat("no live transaction ", txn));
  if (it->second->waiting_on.has_value()) {
    return absl::FailedPreconditionError(
        base::Cat("transaction ", txn, " is waiting for a lock on record ",
                  KeyString(*it->second->waiting_on), " in another thread"));
  }
  return it->second.get();
}

template <RecordKey Key>
bool LockManager<Key>::GrantableOverHolders(const Queue& queue, const Request& request) {
  return std::all_of(queue.holders.begin(), queue.holders.end(), [&](const Request& holder) {
    return holder.txn == request.txn || Compatible(holder.mode, request.mode);
  });
}

template <RecordKey Key>
absl::Status LockManager<Key>::Lock(TxnId txn, const Key& key, LockMode mode, int64_t timeout_ns) {
  if (timeout_ns < 0) {
    return absl::InvalidArgumentError(base::Cat("timeout_ns is ", timeout_ns, "; it must be >= 0"));
  }
  std::unique_lock lock(mu_);
  absl::StatusOr<Txn*> found = FindTxn(txn);
  if (!found.ok()) return found.status();
  Txn& state = **found;
  auto held = state.held.find(key);
  const bool upgrade = held != state.held.end();
  if (upgrade && (held->second == LockMode::kExclusive || mode == LockMode::kShared)) {
    ++stats_.granted_at_once;  // already held in this mode or a stronger one
    return absl::OkStatus();
  }
  if (!upgrade && state.held.size() >= options_.max_locks_per_transaction) {
    return absl::ResourceExhaustedError(base::Cat("transaction ", txn, " cannot lock record ",
                                                  KeyString(key), ": it holds ", state.held.size(),
                                                  " locks, the limit"));
  }

  Queue& queue = table_[key];
  const Request request{txn, mode};
  // An upgrade goes ahead of every waiter, so it only has to be compatible with the holders.
  if ((upgrade || queue.waiting.empty()) && GrantableOverHolders(queue, request)) {
    if (upgrade) {
      for (Request& holder : queue.holders) {
        if (holder.txn == txn) holder.mode = mode;
      }
    } else {
      queue.holders.push_back(request);
    }
    state.held[key] = mode;
    ++stats_.granted_at_once;
    return absl::OkStatus();
  }
  if (timeout_ns == 0) {
    if (queue.holders.empty() && queue.waiting.empty()) table_.erase(key);
    ++stats_.timeouts;
    return absl::DeadlineExceededError(base::Cat("transaction ", txn, " could not lock record ",
                                                 KeyString(key), " ", LockModeName(mode),
                                                 " without waiting"));
  }

  if (upgrade) {
    // Behind earlier upgrades (each of which is a holder too), ahead of every other waiter.
    auto it = std::find_if(queue.waiting.begin(), queue.waiting.end(), [&](const Request& r) {
      return std::none_of(queue.holders.begin(), queue.holders.end(),
                          [&](const Request& h) { return h.txn == r.txn; });
    });
    queue.waiting.insert(it, request);
  } else {
    queue.waiting.push_back(request);
  }
  state.waiting_on = key;
  ++stats_.waited;
  if (std::optional<std::string> cycle = FindCycle(txn)) {
    Remove(txn, state, key, /*granted=*/false);
    ++stats_.deadlocks;
    return absl::AbortedError(base::Cat("deadlock: ", *cycle, "; transaction ", txn,
                                        ", whose request closed the cycle, is aborted"));
  }
  return AwaitGrant(lock, txn, state, key, mode, timeout_ns);
}

template <RecordKey Key>
absl::Status LockManager<Key>::AwaitGrant(std::unique_lock<std::mutex>& lock, TxnId txn, Txn& state,
                                          const Key& key, LockMode mode, int64_t timeout_ns) {
  const int64_t start_ns = clock_->NowNanos();
  const int64_t deadline_ns =
      timeout_ns > kNoTimeout - start_ns ? kNoTimeout : start_ns + timeout_ns;
  // Sleep in slices of at most a second, so that a deadline far away never overflows the
  // condition variable's own arithmetic.
  constexpr int64_t kMaxSliceNs = base::kNanosPerSecond;
  while (state.waiting_on.has_value()) {
    const int64_t now_ns = clock_->NowNanos();
    if (now_ns >= deadline_ns) {
      std::vector<TxnId> blockers = WaitsFor(txn, key);
      std::string names;
      for (TxnId blocker : blockers) names += base::Cat(names.empty() ? "" : ", ", blocker);
      Remove(txn, state, key, /*granted=*/false);
      ++stats_.timeouts;
      return absl::DeadlineExceededError(
          base::Cat("transaction ", txn, " waited ", now_ns - start_ns, " ns for a ",
                    LockModeName(mode), " lock on record ", KeyString(key),
                    " without getting it; it waited for transaction(s) ", names));
    }
    state.wake.wait_for(lock,
                        std::chrono::nanoseconds(std::min(deadline_ns - now_ns, kMaxSliceNs)));
  }
  KEEL_DCHECK(state.held.contains(key));
  return absl::OkStatus();
}

template <RecordKey Key>
void LockManager<Key>::GrantWaiters(const Key& key, Queue& queue) {
  while (!queue.waiting.empty() && GrantableOverHolders(queue, queue.waiting.front())) {
    const Request request = queue.waiting.front();
    queue.waiting.erase(queue.waiting.begin());
    auto holder = std::find_if(queue.holders.begin(), queue.holders.end(),
                               [&](const Request& h) { return h.txn == request.txn; });
    if (holder != queue.holders.end()) {
      holder->mode = request.mode;  // an upgrade
    } else {
      queue.holders.push_back(request);
    }
    Txn& waiter = *txns_.at(request.txn);
    KEEL_ASSERT(waiter.waiting_on.has_value() && *waiter.waiting_on == key, "granted transaction ",
                request.txn, " was not waiting on record ", KeyString(key));
    waiter.held[key] = request.mode;
    waiter.waiting_on.reset();
    waiter.wake.notify_one();
  }
}

template <RecordKey Key>
void LockManager<Key>::Remove(TxnId txn, Txn& state, const Key& key, bool granted) {
  auto queue_it = table_.find(key);
  KEEL_ASSERT(queue_it != table_.end(), "no queue on record ", KeyString(key));
  Queue& queue = queue_it->second;
  std::vector<Request>& requests = granted ? queue.holders : queue.waiting;
  auto it = std::find_if(requests.begin(), requests.end(),
                         [&](const Request& r) { return r.txn == txn; });
  KEEL_ASSERT(it != requests.end(), "transaction ", txn, granted ? " holds" : " waits for",
              " no lock on ", KeyString(key));
  requests.erase(it);
  if (granted) {
    state.held.erase(key);
  } else {
    state.waiting_on.reset();
  }
  GrantWaiters(key, queue);
  if (queue.holders.empty() && queue.waiting.empty()) table_.erase(queue_it);
}

template <RecordKey Key>
absl::Status LockManager<Key>::Unlock(TxnId txn, const Key& key) {
  std::lock_guard lock(mu_);
  absl::StatusOr<Txn*> found = FindTxn(txn);
  if (!found.ok()) return found.status();
  if (!(*found)->held.contains(key)) {
    return absl::NotFoundError(
        base::Cat("transaction ", txn, " holds no lock on record ", KeyString(key)));
  }
  Remove(txn, **found, key, /*granted=*/true);
  return absl::OkStatus();
}

template <RecordKey Key>
absl::Status LockManager<Key>::End(TxnId txn) {
  std::lock_guard lock(mu_);
  absl::StatusOr<Txn*> found = FindTxn(txn);
  if (!found.ok()) return found.status();
  Txn& state = **found;
  std::vector<Key> keys;
  keys.reserve(state.held.size());
  for (const auto& [key, mode] : state.held) keys.push_back(key);
  for (const Key& key : keys) Remove(txn, state, key, /*granted=*/true);
  txns_.erase(txn);
  return absl::OkStatus();
}

template <RecordKey Key>
std::vector<TxnId> LockManager<Key>::WaitsFor(TxnId txn, const Key& key) const {
  const Queue& queue = table_.at(key);
  std::vector<TxnId> out;
  LockMode mode = LockMode::kShared;
  for (const Request& r : queue.waiting) {
    if (r.txn == txn) {
      mode = r.mode;
      break;
    }
  }
  for (const Request& holder : queue.holders) {
    if (holder.txn != txn && !Compatible(holder.mode, mode)) out.push_back(holder.txn);
  }
  for (const Request& ahead : queue.waiting) {
    if (ahead.txn == txn) break;
    if (!Compatible(ahead.mode, mode)) out.push_back(ahead.txn);
  }
  return out;
}

template <RecordKey Key>
std::optional<std::string> LockManager<Key>::FindCycle(TxnId txn) const {
  // Breadth first, so the cycle reported is a shortest one through `txn`.
  absl::flat_hash_map<TxnId, TxnId> parent;  // reached transaction -> the one waiting for it
  std::deque<TxnId> frontier = {txn};
  while (!frontier.empty()) {
    const TxnId at = frontier.front();
    frontier.pop_front();
    const Txn& state = *txns_.at(at);
    if (!state.waiting_on.has_value()) continue;  // running: no edges out
    for (TxnId next : WaitsFor(at, *state.waiting_on)) {
      if (next == txn) {
        // at -> txn closes the cycle; walk back from `at` to `txn` to name it in order.
        std::vector<TxnId> path = {at};
        while (path.back() != txn) path.push_back(parent.at(path.back()));
        std::reverse(path.begin(), path.end());
        path.push_back(txn);
        std::string text;
        for (size_t i = 0; i + 1 < path.size(); ++i) {
          text += base::Cat(i == 0 ? "" : ", ", "transaction ", path[i], " waits on record ",
                            KeyString(*txns_.at(path[i])->waiting_on), " for transaction ",
                            path[i + 1]);
        }
        return text;
      }
      if (parent.contains(next)) continue;
      parent.emplace(next, at);
      frontier.push_back(next);
    }
  }
  return std::nullopt;
}

template <RecordKey Key>
void LockManager<Key>::NotifyClockAdvanced() {
  std::lock_guard lock(mu_);
  for (const auto& [id, state] : txns_) {
    if (state->waiting_on.has_value()) state->wake.notify_one();
  }
}

template <RecordKey Key>
std::optional<LockMode> LockManager<Key>::HeldMode(TxnId txn, const Key& key) const {
  std::lock_guard lock(mu_);
  auto it = txns_.find(txn);
  if (it == txns_.end()) return std::nullopt;
  auto held = it->second->held.find(key);
  if (held == it->second->held.end()) return std::nullopt;
  return held->second;
}

template <RecordKey Key>
size_t LockManager<Key>::Waiting(const Key& key) const {
  std::lock_guard lock(mu_);
  auto it = table_.find(key);
  return it == table_.end() ? 0 : it->second.waiting.size();
}

template <RecordKey Key>
size_t LockManager<Key>::transactions() const {
  std::lock_guard lock(mu_);
  return txns_.size();
}

template <RecordKey Key>
LockStats LockManager<Key>::stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

}  // namespace keel::txn

#endif  // KEEL_TXN_LOCK_MANAGER_H_
