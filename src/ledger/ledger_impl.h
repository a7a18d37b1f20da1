// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// The ledger's state and its undo log, shared by the files of src/ledger: ledger.cc (batches,
// chains, expiry, queries) and create.cc (the checks and effects of one account or transfer).
//
// Storage: accounts and transfers are rows in chunked arrays, in the order they were created,
// found through hash indexes from id to row. A transfer batch touches rows at random (a million
// accounts do not fit in the caches), so the batch loop asks for the index entries of the events
// a few places ahead, then for their rows, and each event finds what it needs in the cache
// (Ledger's figures are in docs/benchmarks.md). Rows never move, so a reference to one stays
// valid while other rows are added; new transfers are appended, which costs no search for room.
//
// Linked chains are all or nothing. Rather than copying the state at a chain's start, the ledger
// keeps an undo log while a chain is open: every change records how to reverse it (an account's
// previous value, a row to drop, a pending status or expiry entry to restore), and a chain that
// fails is unwound from the end. Rows added in a chain are the newest, so dropping them is popping
// them. Events outside chains record nothing: one that fails fails before it changes anything.
#ifndef KEEL_SRC_LEDGER_LEDGER_IMPL_H_
#define KEEL_SRC_LEDGER_LEDGER_IMPL_H_

#include <sys/mman.h>

#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <new>
#include <set>
#include <span>
#include <string>
#include <tuple>
#include <type_traits>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "event.h"
#include "id_index.h"
#include "keel/base/assert.h"
#include "keel/base/internal/arena.h"
#include "keel/ledger/ledger.h"
#include "record_bytes.h"

namespace keel::ledger::internal {

inline constexpr uint64_t kNanosPerSecond = 1'000'000'000;

// An array that grows by chunks of 2^14 rows: rows never move, and growing copies nothing. With
// 128-byte rows a chunk is 2 MiB; chunks after the first are mapped as huge pages, so that rows
// read at random do not each cost a TLB miss. The first is mapped as ordinary pages, of which
// only those a small ledger uses are ever backed: an empty ledger costs no memory.
template <typename T>
class ChunkedRows {
  static_assert(std::is_trivially_destructible_v<T>);

 public:
  static constexpr size_t kChunkRows = size_t{1} << 14;
  static constexpr size_t kChunkBytes = kChunkRows * sizeof(T);
  // Rows start on a cache line, so that a 128-byte row is exactly two lines.
  static constexpr size_t kAlignment = alignof(T) > 64 ? alignof(T) : 64;

  ChunkedRows() = default;
  ChunkedRows(const ChunkedRows&) = delete;
  ChunkedRows& operator=(const ChunkedRows&) = delete;
  ~ChunkedRows() {
    for (size_t i = 0; i < chunks_.size(); ++i) {
      switch (kinds_[i]) {
        case Kind::kHugePages:
          base::internal::UnmapHugePages(chunks_[i], kChunkBytes);
          break;
        case Kind::kPages:
          ::munmap(static_cast<void*>(chunks_[i]), kChunkBytes);
          break;
        case Kind::kHeap:
          ::operator delete (static_cast<void*>(chunks_[i]), std::align_val_t{kAlignment});
          break;
      }
    }
  }

  size_t size() const { return size_; }
  T& operator[](size_t i) { return chunks_[i / kChunkRows][i % kChunkRows]; }
  const T& operator[](size_t i) const { return chunks_[i / kChunkRows][i % kChunkRows]; }
  T& back() { return (*this)[size_ - 1]; }

  // Allocates and touches chunks for `rows` rows in all, so that adding them later finds its
  // memory ready (the first touch of fresh memory is the dearest part of growing).
  void Reserve(size_t rows) {
    while (chunks_.size() * kChunkRows < rows) {
      AddChunk();
      std::memset(static_cast<void*>(chunks_.back()), 0, kChunkBytes);
    }
  }

  T& push_back(const T& row) {
    if (size_ == chunks_.size() * kChunkRows) AddChunk();
    T* slot = &(*this)[size_++];
    return *new (slot) T(row);
  }
  void pop_back() {
    KEEL_DCHECK(size_ > 0);
    --size_;
  }

 private:
  enum class Kind : uint8_t { kHeap, kPages, kHugePages };

  void AddChunk() {
    void* memory = nullptr;
    Kind kind = Kind::kHeap;
    if (chunks_.empty()) {
      memory =
          ::mmap(nullptr, kChunkBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      if (memory == MAP_FAILED) {
        memory = nullptr;
      } else {
        kind = Kind::kPages;
      }
    } else if (kChunkBytes % base::internal::Arena::kHugeChunkBytes == 0) {
      memory = base::internal::MapHugePages(kChunkBytes);
      if (memory != nullptr) kind = Kind::kHugePages;
    }
    if (memory == nullptr) memory = ::operator new (kChunkBytes, std::align_val_t{kAlignment});
    chunks_.push_back(static_cast<T*>(memory));
    kinds_.push_back(kind);
  }

  std::vector<T*> chunks_;
  std::vector<Kind> kinds_;
  size_t size_ = 0;
};

// An account's balances right after one of its transfers (accounts with kHistory only).
// One log holds every account's rows; each row links to its account's previous one.
struct HistoryRow {
  Uint128 debits_pending = 0;
  Uint128 debits_posted = 0;
  Uint128 credits_pending = 0;
  Uint128 credits_posted = 0;
  uint64_t timestamp = 0;
  uint64_t transfer_row = 0;
  uint64_t previous = ~uint64_t{0};  // the account's row before this one, or none
  uint64_t reserved = 0;             // fills the row to 96 bytes, so snapshots copy no padding
};

// A pending transfer with a timeout, in the order expiry takes them.
struct ExpiryKey {
  uint64_t expires_at = 0;
  uint64_t created = 0;  // the transfer's timestamp, unique
  uint64_t row = 0;
  bool operator<(const ExpiryKey& other) const {
    return std::tie(expires_at, created) < std::tie(other.expires_at, other.created);
  }
};

// How to reverse one change.
struct Undo {
  enum class Kind : uint8_t {
    kAccountInserted,   // drop the newest account row and its index entry
    kAccountChanged,    // restore row `row` to `account`
    kTransferInserted,  // drop the newest transfer row and its index entry
    kStatusChanged,     // restore `status` of transfer row `row`
    kExpiryInserted,    // erase `expiry`
    kExpiryErased,      // insert `expiry`
    kHistoryAppended,   // pop the newest history row, relinking its account
  };
  Kind kind = Kind::kAccountInserted;
  uint64_t row = 0;
  Account account{};
  PendingStatus status = PendingStatus::kNone;
  ExpiryKey expiry{};
};

inline constexpr uint64_t kNoRow = ~uint64_t{0};  // IdIndex's kNone

class LedgerImpl {
 public:
  explicit LedgerImpl(const LedgerOptions& options) : options_(options) {}

  // One event, at timestamp `ts`, after the batch frame's checks (create.cc).
  CreateAccountResult CreateAccount(const Account& a, uint64_t ts);
  CreateTransferResult CreateTransfer(const Transfer& t, uint64_t ts);

  // The batch frame: timestamps, linked chains, failed ids (ledger.cc).
  template <typename Event, typename Result, typename Create, typename Prefetch>
  void Execute(std::span<const Event> events, uint64_t timestamp, std::vector<Result>& results,
               Create create, Prefetch prefetch);
  // Expires pending transfers by `timestamp` (at most kExpiryBatchMax) and uses it up.
  uint32_t Expire(uint64_t timestamp);
  // Expires one pending transfer: out of the queue, its status, its amount released.
  void ExpireOne(const ExpiryKey& key);
  // Asks for what the transfer `t` will read: `stage` 0 its index entries, 1 its rows.
  void PrefetchTransfer(const Transfer& t, int stage) const;

  // Lookups: the row, or nullptr / kNoRow.
  Account* FindAccount(Uint128 id);
  const Account* FindAccount(Uint128 id) const;
  uint64_t FindTransferRow(Uint128 id) const;

  // Savepoints for linked chains.
  void BeginChain();
  void EndChain();
  void RollbackChain();

  // Changes, recorded in the undo log while a chain is open.
  Account& MutableAccount(uint64_t row);  // records its current value, returns it
  void InsertAccount(const Account& account);
  uint64_t InsertTransfer(const Transfer& transfer, PendingStatus status);
  void SetStatus(uint64_t row, PendingStatus status);
  void InsertExpiry(const ExpiryKey& key);
  void EraseExpiry(const ExpiryKey& key);
  void AppendHistory(uint64_t account_row, uint64_t transfer_row);

  // Appends a created account or transfer to the event being recorded, if one is.
  void RecordAccount(const Account& a) {
    if (event_ != nullptr) PutRow(*event_, a);
  }
  void RecordTransfer(const Transfer& t, uint64_t debit_row, uint64_t credit_row,
                      uint64_t pending_row) {
    if (event_ != nullptr) {
      PutRow(*event_, TransferFact{.transfer = t,
                                   .debit_row = debit_row,
                                   .credit_row = credit_row,
                                   .pending_row = pending_row});
    }
  }

  CreateTransferResult PostOrVoid(const Transfer& t, uint64_t ts);
  CreateTransferResult CompareWithExisting(const Transfer& t, uint64_t row) const;

  LedgerOptions options_;
  ChunkedRows<Account> accounts_;
  IdIndex<ChunkedRows<Account>> account_index_{accounts_};
  ChunkedRows<Transfer> transfers_;
  std::vector<PendingStatus> statuses_;  // by transfer row
  IdIndex<ChunkedRows<Transfer>> transfer_index_{transfers_};
  absl::flat_hash_set<Uint128> failed_ids_;
  std::set<ExpiryKey> expiry_;
  ChunkedRows<HistoryRow> history_;
  std::vector<uint64_t> history_head_;  // by account row: its newest history row, or kNoRow
  uint64_t last_timestamp_ = 0;
  uint64_t pending_ = 0;
  uint64_t expired_ = 0;

  bool in_chain_ = false;
  std::vector<Undo> undo_;

  // Event recording (event.h): while a batch runs with `event_` set, each account or transfer it
  // creates is appended to it, and each id it leaves failed to `event_failed_ids_`; a chain that
  // fails cuts the event back to where the chain began.
  std::string* event_ = nullptr;
  size_t chain_event_start_ = 0;
  std::vector<Uint128> event_failed_ids_;
};

// Gives the files of src/ledger (events, snapshots, the durable ledger) the state behind a Ledger.
class LedgerAccess {
 public:
  static LedgerImpl& Of(Ledger& ledger) { return *ledger.impl_; }
  static const LedgerImpl& Of(const Ledger& ledger) { return *ledger.impl_; }
};

}  // namespace keel::ledger::internal

#endif  // KEEL_SRC_LEDGER_LEDGER_IMPL_H_
