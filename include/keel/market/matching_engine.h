// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// MatchingEngine: the order books of every symbol behind one deterministic entry point, stamping
// each event with a gap-free sequence number.
//
// In the case study the matching engine sits behind the sequencer: commands arrive in one order,
// the engine applies them one at a time, and everything it says (acceptances, trades,
// cancellations, best bid and offer) comes out in one numbered stream. Given the same commands it
// produces the same events with the same numbers and reaches the same StateHash(), which is what
// makes the sequenced command log the source of truth (keel/market/sequencer.h replays it) and lets
// a warm standby that applies the same commands take over with an identical state.
//
// The engine routes a new order to its symbol's book (creating the book on first use) and a cancel
// or modify to the book of the order it names, and it enforces what no single book can see: an
// order id is used once in the whole run, across symbols, even after its order is gone.
//
// Example:
//
//   keel::market::MatchingEngine engine({});
//   std::vector<keel::market::EngineEvent> events;
//   keel::market::Command buy{.kind = keel::market::CommandKind::kNew, .symbol = "ACME"};
//   buy.order = {.id = 1, .client = 7, .side = keel::market::Side::kBuy, .price = 100,
//                .quantity = 5};
//   engine.Apply(buy, events);  // events[0]: sequence 1, accepted
//
// Memory and allocation. The engine remembers every id it accepted, exactly, as runs of
// consecutive ids (internal/used_ids.h): ids handed out counting up, as gateways and sessions do,
// cost nothing per order, only an entry (about 23 bytes) per gap between runs, where an id was
// never accepted; random ids cost an entry each, as in a hash set. Beside it, a map from each
// resting order's id to its symbol routes cancels and modifies (an entry per resting order, gone
// when the order goes). A symbol's first order creates its book. So after warm-up the engine
// allocates only for new gaps between used ids and when the books or the map of resting orders
// outgrow their largest size.
//
// Not thread-safe: one thread applies commands, in sequence.
#ifndef KEEL_MARKET_MATCHING_ENGINE_H_
#define KEEL_MARKET_MATCHING_ENGINE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "keel/base/assert.h"
#include "keel/base/coding.h"
#include "keel/market/internal/used_ids.h"
#include "keel/market/order_book.h"

namespace keel::market {

// A symbol: 1 to kMaxSymbolBytes of A-Z, 0-9, '.', '-' and '_'.
inline constexpr size_t kMaxSymbolBytes = 16;
[[nodiscard]] bool IsValidSymbol(std::string_view symbol);

// kInvalid stands for input that could not be read as a command: it is sequenced and logged like
// any other (and rejected as kMalformed), so that replaying the log numbers every event the same.
enum class CommandKind : uint8_t { kNew, kCancel, kModify, kInvalid };

struct Command {
  CommandKind kind = CommandKind::kNew;
  std::string_view symbol = {};  // kNew only; not owned
  // kNew: the whole order. kCancel: order.id. kModify: order.id, order.price (the new price) and
  // order.quantity (the new open quantity).
  NewOrder order = {};
};

// A command's bytes in the command log, and back. Decoding checks everything (kDataLoss naming
// what is wrong); the decoded symbol points into `bytes`. A symbol longer than kMaxSymbolBytes is
// encoded cut to kMaxSymbolBytes + 1 bytes (still invalid, so still rejected the same way).
[[nodiscard]] std::string EncodeCommand(const Command& command);
void AppendEncodedCommand(const Command& command, std::string& out);
[[nodiscard]] absl::StatusOr<Command> DecodeCommand(std::string_view bytes);

// The symbol index of events that belong to no symbol (a rejected command's).
inline constexpr uint32_t kNoSymbol = UINT32_MAX;

struct EngineEvent {
  uint64_t sequence = 0;  // 1, 2, 3, ... with no gaps
  uint32_t symbol = kNoSymbol;
  Event event;

  friend bool operator==(const EngineEvent&, const EngineEvent&) = default;
};

struct EngineOptions {
  BookOptions book = {};        // every symbol's book
  uint32_t max_symbols = 1024;  // books at most; a new order for one more is rejected
};

class MatchingEngine {
 public:
  explicit MatchingEngine(const EngineOptions& options);

  MatchingEngine(const MatchingEngine&) = delete;
  MatchingEngine& operator=(const MatchingEngine&) = delete;

  // Applies one command, appending its events (stamped with the next sequence numbers) to
  // `events`. Bad input is a rejected event, never an error.
  void Apply(const Command& command, std::vector<EngineEvent>& events);

  // Commands applied so far, and the sequence number the next event will get.
  [[nodiscard]] uint64_t commands() const { return commands_; }
  [[nodiscard]] uint64_t next_sequence() const { return next_sequence_; }

  // The symbols seen so far, by index (EngineEvent::symbol), and their books.
  [[nodiscard]] size_t symbol_count() const { return names_.size(); }
  // REQUIRES: symbol < symbol_count() (checked).
  [[nodiscard]] const std::string& symbol_name(uint32_t symbol) const {
    KEEL_ASSERT(symbol < names_.size(), "no such symbol index");
    return names_[symbol];
  }
  [[nodiscard]] const OrderBook& book(uint32_t symbol) const {
    KEEL_ASSERT(symbol < books_.size(), "no such symbol index");
    return *books_[symbol];
  }
  // The index of a symbol, or kNoSymbol.
  [[nodiscard]] uint32_t FindSymbol(std::string_view symbol) const;

  // Every book's StateHash, the symbols, the counters and the set of used ids, combined: engines
  // that applied the same commands have the same hash.
  [[nodiscard]] uint64_t StateHash() const;

  // The engine's whole state as bytes: the counters, every symbol with its book's resting orders
  // in priority order, and the used ids as runs (docs/market.md has the grammar). An engine
  // rebuilt from them with FromState has the same StateHash and answers every later command
  // with the same events; keel/market/snapshot.h keeps them in files. Appends to `out`.
  void AppendState(std::string& out) const;
  // Errors: kDataLoss, naming what is wrong, for bytes AppendState did not write (they are checked
  // whole: counts, enums, prices, the books' order and that no book is crossed, the ids);
  // kFailedPrecondition for a state `options` cannot hold (more symbols than max_symbols, a book
  // with more orders than max_orders).
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<MatchingEngine>> FromState(
      std::string_view state, const EngineOptions& options);

 private:
  void Reject(const Command& command, RejectReason reason, std::vector<EngineEvent>& events);
  // FromState's parts: a symbol's book, and the used ids.
  absl::Status ReadBook(base::Reader& in);
  absl::Status ReadUsedIds(base::Reader& in);

  EngineOptions options_;
  std::vector<std::string> names_;
  std::vector<std::unique_ptr<OrderBook>> books_;
  absl::flat_hash_map<std::string, uint32_t> symbols_;
  internal::UsedIds used_ids_;                      // every id ever accepted
  uint64_t used_ids_hash_ = 0;                      // the XOR of the used ids' hashes
  absl::flat_hash_map<OrderId, uint32_t> resting_;  // a resting order's id -> its symbol
  std::vector<Event> scratch_;  // one book's events for the command being applied
  uint64_t commands_ = 0;
  uint64_t next_sequence_ = 1;
};

}  // namespace keel::market

#endif  // KEEL_MARKET_MATCHING_ENGINE_H_
