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

}  // namespace keel::market
