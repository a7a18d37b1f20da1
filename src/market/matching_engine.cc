// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "keel/market/matching_engine.h"

#include "keel/base/coding.h"
#include "keel/base/hash.h"
#include "keel/base/status.h"
#include "keel/base/strings.h"

namespace keel::market {
namespace {

constexpr uint8_t kCommandVersion = 1;

absl::string_view ToAbsl(std::string_view s) { return absl::string_view(s.data(), s.size()); }

}  // namespace

bool IsValidSymbol(std::string_view symbol) {
  if (symbol.empty() || symbol.size() > kMaxSymbolBytes) return false;
  for (const char c : symbol) {
    const bool ok =
        (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_';
    if (!ok) return false;
  }
  return true;
}

// ---------------------------------------------------------------------------------------------
// The command log's record: version, kind, then the fields the kind uses.
// ---------------------------------------------------------------------------------------------

void AppendEncodedCommand(const Command& c, std::string& out) {
  out.push_back(static_cast<char>(kCommandVersion));
  out.push_back(static_cast<char>(c.kind));
  base::PutVarint64(out, c.order.id);
  switch (c.kind) {
    case CommandKind::kNew:
      // A symbol too long to be valid is stored cut to one byte over the limit: the engine rejects
      // it all the same (bad_symbol), and a flood of bytes cannot make the record too big to log.
      base::PutLengthPrefixed(out, c.symbol.substr(0, kMaxSymbolBytes + 1));
      base::PutVarint64(out, c.order.client);
      out.push_back(static_cast<char>(c.order.side));
      out.push_back(static_cast<char>(c.order.type));
      out.push_back(static_cast<char>(c.order.tif));
      out.push_back(static_cast<char>(c.order.stp));
      base::PutVarint64(out, base::ZigZagEncode64(c.order.price));
      base::PutVarint64(out, base::ZigZagEncode64(c.order.quantity));
      break;
    case CommandKind::kCancel:
    case CommandKind::kInvalid:
      break;
    case CommandKind::kModify:
      base::PutVarint64(out, base::ZigZagEncode64(c.order.price));
      base::PutVarint64(out, base::ZigZagEncode64(c.order.quantity));
      break;
  }
}

std::string EncodeCommand(const Command& command) {
  std::string out;
  AppendEncodedCommand(command, out);
  return out;
}

namespace {

// An enum stored as a byte: in range, or damage.
template <typename Enum>
absl::StatusOr<Enum> ReadEnum(base::Reader& in, Enum last, const char* what) {
  KEEL_ASSIGN_OR_RETURN(const uint8_t byte, in.ReadByte());
  if (byte > static_cast<uint8_t>(last)) {
    return absl::DataLossError(base::Cat("command: bad ", what, " ", int{byte}));
  }
  return static_cast<Enum>(byte);
}

absl::StatusOr<Command> DecodeFields(std::string_view bytes) {
  base::Reader in(bytes);
  KEEL_ASSIGN_OR_RETURN(const uint8_t version, in.ReadByte());
  if (version != kCommandVersion) {
    return absl::DataLossError(base::Cat("command: unknown version ", int{version}));
  }
  Command c;
  KEEL_ASSIGN_OR_RETURN(c.kind, ReadEnum(in, CommandKind::kInvalid, "kind"));
  KEEL_ASSIGN_OR_RETURN(c.order.id, in.ReadVarint64());
  if (c.kind == CommandKind::kNew) {
    KEEL_ASSIGN_OR_RETURN(c.symbol, in.ReadLengthPrefixed());
    KEEL_ASSIGN_OR_RETURN(c.order.client, in.ReadVarint64());
    KEEL_ASSIGN_OR_RETURN(c.order.side, ReadEnum(in, Side::kSell, "side"));
    KEEL_ASSIGN_OR_RETURN(c.order.type, ReadEnum(in, OrderType::kMarket, "order type"));
    KEEL_ASSIGN_OR_RETURN(c.order.tif, ReadEnum(in, TimeInForce::kPostOnly, "time in force"));
    KEEL_ASSIGN_OR_RETURN(c.order.stp,
                          ReadEnum(in, SelfTradePrevention::kDecrement, "self-trade mode"));
  }
  if (c.kind == CommandKind::kNew || c.kind == CommandKind::kModify) {
    KEEL_ASSIGN_OR_RETURN(const uint64_t price, in.ReadVarint64());
    KEEL_ASSIGN_OR_RETURN(const uint64_t quantity, in.ReadVarint64());
    c.order.price = base::ZigZagDecode64(price);
    c.order.quantity = base::ZigZagDecode64(quantity);
  }
  KEEL_RETURN_IF_ERROR(in.ExpectEnd());
  return c;
}

}  // namespace

absl::StatusOr<Command> DecodeCommand(std::string_view bytes) {
  absl::StatusOr<Command> c = DecodeFields(bytes);
  // A short field is kOutOfRange to the reader; in a stored command it is damage.
  if (!c.ok() && !absl::IsDataLoss(c.status())) {
    return absl::DataLossError(base::Cat("damaged command: ", c.status().message()));
  }
  return c;
}

// ---------------------------------------------------------------------------------------------
// The engine.
// ---------------------------------------------------------------------------------------------

MatchingEngine::MatchingEngine(const EngineOptions& options) : options_(options) {
  scratch_.reserve(256);
}

uint32_t MatchingEngine::FindSymbol(std::string_view symbol) const {
  const auto it = symbols_.find(ToAbsl(symbol));
  return it == symbols_.end() ? kNoSymbol : it->second;
}

void MatchingEngine::Reject(const Command& command, RejectReason reason,
                            std::vector<EngineEvent>& events) {
  Event e;
  e.kind = EventKind::kRejected;
  e.side = command.kind == CommandKind::kNew ? command.order.side : Side::kBuy;
  e.reject = reason;
  e.order_id = command.order.id;
  events.push_back({next_sequence_++, kNoSymbol, e});
}

void MatchingEngine::Apply(const Command& command, std::vector<EngineEvent>& events) {
  ++commands_;
  scratch_.clear();
  const OrderId id = command.order.id;
  uint32_t symbol = kNoSymbol;
  if (command.kind == CommandKind::kInvalid)
    return Reject(command, RejectReason::kMalformed, events);
  if (command.kind == CommandKind::kNew) {
    if (!IsValidSymbol(command.symbol)) return Reject(command, RejectReason::kBadSymbol, events);
    // What the order alone gets wrong is rejected before its symbol gets a book: a rejected order
    // never existed, and must not use up one of the max_symbols.
    if (const RejectReason bad = OrderBook::CheckNewOrder(command.order);
        bad != RejectReason::kNone) {
      return Reject(command, bad, events);
    }
    // A book knows the ids it holds; only the engine remembers every id of the run.
    if (used_ids_.Contains(id)) return Reject(command, RejectReason::kDuplicateOrderId, events);
    symbol = FindSymbol(command.symbol);
    if (symbol == kNoSymbol) {
      if (names_.size() >= options_.max_symbols) {
        return Reject(command, RejectReason::kTooManySymbols, events);
      }
      symbol = static_cast<uint32_t>(names_.size());
      names_.emplace_back(command.symbol);
      books_.push_back(std::make_unique<OrderBook>(options_.book));
      symbols_.emplace(names_.back(), symbol);
    }
    books_[symbol]->Submit(command.order, scratch_);
  } else {
    const auto it = resting_.find(id);
    if (it == resting_.end()) return Reject(command, RejectReason::kUnknownOrder, events);
    symbol = it->second;
    if (command.kind == CommandKind::kCancel) {
      books_[symbol]->Cancel(id, scratch_);
    } else {
      books_[symbol]->Modify(id, command.order.price, command.order.quantity, scratch_);
    }
  }
  for (const Event& e : scratch_) {
    if (e.kind == EventKind::kAccepted) {
      const bool fresh = used_ids_.Insert(e.order_id);
      KEEL_ASSERT(fresh, "the engine accepted a used order id");
      used_ids_hash_ ^= base::HashInt(e.order_id);
      resting_[e.order_id] = symbol;  // until done or cancelled (an IOC order, in this command)
    } else if (e.kind == EventKind::kDone || e.kind == EventKind::kCancelled) {
      resting_.erase(e.order_id);
    }
    events.push_back({next_sequence_++, e.kind == EventKind::kRejected ? kNoSymbol : symbol, e});
  }
}

uint64_t MatchingEngine::StateHash() const {
  uint64_t h = base::HashInt(commands_, base::HashInt(next_sequence_));
  for (size_t s = 0; s < names_.size(); ++s) {
    h = base::Hash64(names_[s], h);
    h = base::HashInt(books_[s]->StateHash(), h);
  }
  // The used ids, whatever their order (resting ones are in the books' hashes already).
  return base::HashInt(used_ids_hash_, base::HashInt(used_ids_.size(), h));
}

// ---------------------------------------------------------------------------------------------
// The state, for snapshots. Every count and value read is checked before it is used: bytes that
// pass a snapshot file's checksum but were not written by AppendState (a bug, another version)
// are an error, never a crash or an engine that differs from the one saved.
// ---------------------------------------------------------------------------------------------

void MatchingEngine::AppendState(std::string& out) const {
  base::PutVarint64(out, commands_);
  base::PutVarint64(out, next_sequence_);
  base::PutFixed64(out, used_ids_hash_);
  base::PutVarint64(out, names_.size());
  for (size_t s = 0; s < names_.size(); ++s) {
    base::PutLengthPrefixed(out, names_[s]);
    for (const Side side : {Side::kBuy, Side::kSell}) {
      const std::vector<RestingOrder> orders = books_[s]->Orders(side);
      base::PutVarint64(out, orders.size());
      for (const RestingOrder& o : orders) {
        base::PutVarint64(out, o.id);
        base::PutVarint64(out, o.client);
        base::PutVarint64(out, static_cast<uint64_t>(o.price));
        base::PutVarint64(out, static_cast<uint64_t>(o.quantity));
        out.push_back(static_cast<char>(o.tif));
        out.push_back(static_cast<char>(o.stp));
      }
    }
  }
  // The used ids as runs: each run's distance from the last one (its first id less the previous
  // run's last id plus 2, as runs never touch; the first run's first id itself) and its length
  // less one. Ids counted up make one run of a few bytes, whatever their number.
  base::PutVarint64(out, used_ids_.size());
  size_t runs = 0;
  used_ids_.ForEachRun([&](uint64_t, uint64_t) { ++runs; });
  base::PutVarint64(out, runs);
  bool first_run = true;
  uint64_t previous_last = 0;
  used_ids_.ForEachRun([&](uint64_t first, uint64_t last) {
    base::PutVarint64(out, first_run ? first : first - previous_last - 2);
    base::PutVarint64(out, last - first);
    first_run = false;
    previous_last = last;
  });
}

namespace {

absl::Status Damaged(std::string_view what) {
  return absl::DataLossError(base::Cat("engine state: ", what));
}

}  // namespace

absl::StatusOr<std::unique_ptr<MatchingEngine>> MatchingEngine::FromState(
    std::string_view state, const EngineOptions& options) {
  auto engine = std::make_unique<MatchingEngine>(options);
  base::Reader in(state);
  const absl::Status read = [&]() -> absl::Status {
    KEEL_ASSIGN_OR_RETURN(engine->commands_, in.ReadVarint64());
    KEEL_ASSIGN_OR_RETURN(engine->next_sequence_, in.ReadVarint64());
    if (engine->next_sequence_ == 0) return Damaged("next sequence 0");
    KEEL_ASSIGN_OR_RETURN(engine->used_ids_hash_, in.ReadFixed64());
    KEEL_ASSIGN_OR_RETURN(const uint64_t symbols, in.ReadVarint64());
    if (symbols > options.max_symbols) {
      return absl::FailedPreconditionError(base::Cat(
          "engine state: ", symbols, " symbols, more than max_symbols ", options.max_symbols));
    }
    // The used ids first in the bytes' order would let the books check against them; they come
    // last, so the books' ids are checked once both are read.
    for (uint64_t s = 0; s < symbols; ++s) KEEL_RETURN_IF_ERROR(engine->ReadBook(in));
    KEEL_RETURN_IF_ERROR(engine->ReadUsedIds(in));
    for (const auto& [id, symbol] : engine->resting_) {
      if (!engine->used_ids_.Contains(id)) {
        return Damaged(base::Cat("resting order ", id, " is not among the used ids"));
      }
    }
    return in.ExpectEnd();
  }();
  if (!read.ok()) {
    if (absl::IsDataLoss(read) || absl::IsFailedPrecondition(read)) return read;
    return Damaged(std::string(read.message()));  // a short field, to the reader
  }
  return engine;
}

absl::Status MatchingEngine::ReadBook(base::Reader& in) {
  KEEL_ASSIGN_OR_RETURN(const std::string_view name, in.ReadLengthPrefixed());
  if (!IsValidSymbol(name)) return Damaged(base::Cat("bad symbol ", base::Quoted(name, 40)));
  if (FindSymbol(name) != kNoSymbol) return Damaged(base::Cat("symbol ", name, " twice"));
  const auto symbol = static_cast<uint32_t>(names_.size());
  names_.emplace_back(name);
  books_.push_back(std::make_unique<OrderBook>(options_.book));
  symbols_.emplace(names_.back(), symbol);
  OrderBook& book = *books_.back();
  for (const Side side : {Side::kBuy, Side::kSell}) {
    KEEL_ASSIGN_OR_RETURN(const uint64_t count, in.ReadVarint64());
    Price previous = side == Side::kBuy ? kMaxPrice : 1;
    for (uint64_t i = 0; i < count; ++i) {
      RestingOrder o;
      o.side = side;
      KEEL_ASSIGN_OR_RETURN(o.id, in.ReadVarint64());
      KEEL_ASSIGN_OR_RETURN(o.client, in.ReadVarint64());
      KEEL_ASSIGN_OR_RETURN(const uint64_t price, in.ReadVarint64());
      KEEL_ASSIGN_OR_RETURN(const uint64_t quantity, in.ReadVarint64());
      KEEL_ASSIGN_OR_RETURN(const uint8_t tif, in.ReadByte());
      KEEL_ASSIGN_OR_RETURN(const uint8_t stp, in.ReadByte());
      if (price > static_cast<uint64_t>(kMaxPrice) ||
          quantity > static_cast<uint64_t>(kMaxQuantity) ||
          tif > static_cast<uint8_t>(TimeInForce::kPostOnly) ||
          stp > static_cast<uint8_t>(SelfTradePrevention::kDecrement)) {
        return Damaged(base::Cat("order ", o.id, " of ", name, " has a field out of range"));
      }
      o.price = static_cast<Price>(price);
      o.quantity = static_cast<Quantity>(quantity);
      o.tif = static_cast<TimeInForce>(tif);
      o.stp = static_cast<SelfTradePrevention>(stp);
      // Priority order: the best price first, so bids never rise and asks never fall.
      if (side == Side::kBuy ? o.price > previous : o.price < previous) {
        return Damaged(base::Cat("the orders of ", name, " are out of priority order at ", o.id));
      }
      previous = o.price;
      if (book.order_count() >= options_.book.max_orders) {
        return absl::FailedPreconditionError(base::Cat("engine state: the book of ", name,
                                                       " holds more than max_orders ",
                                                       options_.book.max_orders, " orders"));
      }
      if (!resting_.emplace(o.id, symbol).second || !book.RestoreOrder(o)) {
        return Damaged(base::Cat("order ", o.id, " of ", name, " cannot rest"));
      }
    }
  }
  return absl::OkStatus();
}

absl::Status MatchingEngine::ReadUsedIds(base::Reader& in) {
  KEEL_ASSIGN_OR_RETURN(const uint64_t count, in.ReadVarint64());
  KEEL_ASSIGN_OR_RETURN(const uint64_t runs, in.ReadVarint64());
  uint64_t total = 0;
  uint64_t previous_last = 0;
  for (uint64_t r = 0; r < runs; ++r) {
    KEEL_ASSIGN_OR_RETURN(const uint64_t gap, in.ReadVarint64());
    KEEL_ASSIGN_OR_RETURN(const uint64_t length, in.ReadVarint64());
    // first = previous_last + 2 + gap and last = first + length, neither past the largest id;
    // and the ids counted must not pass the count (which also keeps `total` from wrapping).
    if (r > 0 && previous_last > UINT64_MAX - 2) {
      return Damaged(base::Cat("used id run ", r, " after the largest id"));
    }
    const uint64_t floor = r == 0 ? 0 : previous_last + 2;
    if (gap > UINT64_MAX - floor || length > UINT64_MAX - (floor + gap) ||
        length >= count - total) {
      return Damaged(base::Cat("used id run ", r, " out of range"));
    }
    const uint64_t first = floor + gap;
    used_ids_.AppendRun(first, first + length);
    total += length + 1;
    previous_last = first + length;
  }
  if (total != count) return Damaged(base::Cat(total, " used ids where ", count, " were counted"));
  return absl::OkStatus();
}

}  // namespace keel::market
