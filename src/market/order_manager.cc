// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "keel/market/order_manager.h"

#include <algorithm>

#include "keel/base/assert.h"
#include "keel/base/strings.h"

namespace keel::market {
namespace {

absl::string_view ToAbsl(std::string_view s) { return absl::string_view(s.data(), s.size()); }

bool ValidPrice(Price price) { return price >= 1 && price <= kMaxPrice; }
bool ValidQuantity(Quantity quantity) { return quantity >= 1 && quantity <= kMaxQuantity; }

// price * quantity, or -1 when it would be over kMaxTotalCash. REQUIRES: both valid (so positive).
int64_t Notional(Price price, Quantity quantity) {
  if (quantity > kMaxTotalCash / price) return -1;
  return price * quantity;
}

}  // namespace

std::string_view RiskRejectName(RiskReject reject) {
  switch (reject) {
    case RiskReject::kNone:
      return "none";
    case RiskReject::kUnknownClient:
      return "unknown_client";
    case RiskReject::kBadCommand:
      return "bad_command";
    case RiskReject::kBadSymbol:
      return "bad_symbol";
    case RiskReject::kBadPrice:
      return "bad_price";
    case RiskReject::kBadQuantity:
      return "bad_quantity";
    case RiskReject::kMarketBuy:
      return "market_buy";
    case RiskReject::kNotionalTooLarge:
      return "notional_too_large";
    case RiskReject::kDuplicateOrderId:
      return "duplicate_order_id";
    case RiskReject::kUnknownOrder:
      return "unknown_order";
    case RiskReject::kNotOwner:
      return "not_owner";
    case RiskReject::kInsufficientCash:
      return "insufficient_cash";
    case RiskReject::kInsufficientPosition:
      return "insufficient_position";
    case RiskReject::kCommandInFlight:
      return "command_in_flight";
    case RiskReject::kTooManySymbols:
      return "too_many_symbols";
  }
  return "unknown";
}

OrderManager::OrderManager(const OrderManagerOptions& options) : options_(options) {
  KEEL_ASSERT(options.max_short >= 0 && options.max_short <= kMaxQuantity,
              "OrderManagerOptions::max_short ", options.max_short, " is not in 0 to ",
              kMaxQuantity);
  KEEL_ASSERT(options.max_symbols >= 1, "OrderManagerOptions::max_symbols is 0");
  KEEL_ASSERT(options.max_clients >= 1 && options.max_clients <= kMaxClients,
              "OrderManagerOptions::max_clients ", options.max_clients, " is not in 1 to ",
              kMaxClients);
}

// ---------------------------------------------------------------------------------------------
// Accounts.
// ---------------------------------------------------------------------------------------------

absl::Status OrderManager::OpenAccount(ClientId client) {
  if (accounts_.contains(client)) {
    return absl::AlreadyExistsError(base::Cat("client ", client, " already has an account"));
  }
  if (accounts_.size() >= options_.max_clients) {
    return absl::ResourceExhaustedError(base::Cat("cannot open an account for client ", client,
                                                  ": ", options_.max_clients,
                                                  " accounts exist (max_clients)"));
  }
  accounts_.emplace(client, Account{});
  return absl::OkStatus();
}

absl::Status OrderManager::Deposit(ClientId client, int64_t amount) {
  const auto it = accounts_.find(client);
  if (it == accounts_.end()) {
    return absl::NotFoundError(base::Cat("deposit to client ", client, ": no account"));
  }
  if (amount < 1 || amount > kMaxTotalCash - total_cash_) {
    return absl::InvalidArgumentError(base::Cat(
        "deposit of ", amount, " to client ", client, ": want 1 to ", kMaxTotalCash - total_cash_,
        " (all cash together is at most ", kMaxTotalCash, ")"));
  }
  it->second.balance += amount;
  total_cash_ += amount;
  return absl::OkStatus();
}

absl::Status OrderManager::Withdraw(ClientId client, int64_t amount) {
  const auto it = accounts_.find(client);
  if (it == accounts_.end()) {
    return absl::NotFoundError(base::Cat("withdrawal from client ", client, ": no account"));
  }
  Account& a = it->second;
  if (amount < 1 || amount > a.balance - a.held) {
    return absl::InvalidArgumentError(base::Cat("withdrawal of ", amount, " from client ", client,
                                                ": want 1 to the available ", a.balance - a.held));
  }
  a.balance -= amount;
  total_cash_ -= amount;
  return absl::OkStatus();
}

uint32_t OrderManager::FindSymbol(std::string_view symbol) const {
  const auto it = symbols_.find(ToAbsl(symbol));
  return it == symbols_.end() ? kNoSymbol : it->second;
}

absl::StatusOr<uint32_t> OrderManager::AddSymbol(std::string_view symbol) {
  if (const uint32_t found = FindSymbol(symbol); found != kNoSymbol) return found;
  if (names_.size() >= options_.max_symbols) {
    return absl::ResourceExhaustedError(base::Cat("symbol ", base::Quoted(symbol), ": ",
                                                  options_.max_symbols,
                                                  " symbols exist (max_symbols)"));
  }
  const auto index = static_cast<uint32_t>(names_.size());
  names_.emplace_back(symbol);
  total_shares_.push_back(0);
  symbols_.emplace(names_.back(), index);
  return index;
}

absl::Status OrderManager::DepositShares(ClientId client, std::string_view symbol,
                                         Quantity quantity) {
  if (!accounts_.contains(client)) {
    return absl::NotFoundError(base::Cat("share deposit to client ", client, ": no account"));
  }
  if (!IsValidSymbol(symbol)) {
    return absl::InvalidArgumentError(
        base::Cat("share deposit to client ", client, ": bad symbol ", base::Quoted(symbol)));
  }
  const uint32_t known = FindSymbol(symbol);
  const Quantity total = known == kNoSymbol ? 0 : total_shares_[known];
  if (quantity < 1 || quantity > kMaxTotalShares - total) {
    return absl::InvalidArgumentError(base::Cat("deposit of ", quantity, " ", symbol, " to client ",
                                                client, ": want 1 to ", kMaxTotalShares - total,
                                                " (a symbol's shares together are at most ",
                                                kMaxTotalShares, ")"));
  }
  absl::StatusOr<uint32_t> index = AddSymbol(symbol);
  if (!index.ok()) return index.status();
  holdings_[{client, *index}].shares += quantity;
  total_shares_[*index] += quantity;
  return absl::OkStatus();
}

absl::Status OrderManager::WithdrawShares(ClientId client, std::string_view symbol,
                                          Quantity quantity) {
  if (!accounts_.contains(client)) {
    return absl::NotFoundError(base::Cat("share withdrawal from client ", client, ": no account"));
  }
  const uint32_t index = FindSymbol(symbol);
  const auto it = index == kNoSymbol ? holdings_.end() : holdings_.find(HoldingKey{client, index});
  // Only shares the client owns and has not withheld for its sell orders (never into a short).
  const Quantity available =
      it == holdings_.end() ? 0 : std::max<Quantity>(it->second.available(), 0);
  if (quantity < 1 || quantity > available) {
    return absl::InvalidArgumentError(base::Cat("withdrawal of ", quantity, " ",
                                                base::Quoted(symbol), " from client ", client,
                                                ": want 1 to the available ", available));
  }
  it->second.shares -= quantity;
  total_shares_[index] -= quantity;
  return absl::OkStatus();
}

Cash OrderManager::cash(ClientId client) const {
  const auto it = accounts_.find(client);
  if (it == accounts_.end()) return {};
  return {it->second.balance, it->second.held};
}

Holding OrderManager::holding(ClientId client, std::string_view symbol) const {
  const uint32_t index = FindSymbol(symbol);
  if (index == kNoSymbol) return {};
  const auto it = holdings_.find(HoldingKey{client, index});
  return it == holdings_.end() ? Holding{} : it->second;
}

Quantity OrderManager::total_shares(std::string_view symbol) const {
  const uint32_t index = FindSymbol(symbol);
  return index == kNoSymbol ? 0 : total_shares_[index];
}

std::optional<OrderHold> OrderManager::FindOrder(OrderId id) const {
  const auto it = orders_.find(id);
  if (it == orders_.end()) return std::nullopt;
  const OpenOrder& o = it->second;
  return OrderHold{o.client, o.side, o.price, o.open, o.hold};
}

int64_t OrderManager::AvailableShares(ClientId client, uint32_t symbol) const {
  if (symbol == kNoSymbol) return options_.max_short;
  const auto it = holdings_.find(HoldingKey{client, symbol});
  const Quantity available = it == holdings_.end() ? 0 : it->second.available();
  return available + options_.max_short;
}

// ---------------------------------------------------------------------------------------------
// The risk check.
// ---------------------------------------------------------------------------------------------

RiskDecision OrderManager::Check(const Command& command) {
  if (in_flight_.active) return {RiskReject::kCommandInFlight};
  const auto account = accounts_.find(command.order.client);
  if (account == accounts_.end()) return {RiskReject::kUnknownClient};
  switch (command.kind) {
    case CommandKind::kNew:
      return CheckNew(command, account->second);
    case CommandKind::kModify:
      return CheckModify(command, account->second);
    case CommandKind::kCancel: {
      const auto it = orders_.find(command.order.id);
      if (it == orders_.end()) return {RiskReject::kUnknownOrder};
      if (it->second.client != command.order.client) return {RiskReject::kNotOwner};
      in_flight_ = {.active = true, .kind = CommandKind::kCancel, .id = command.order.id};
      return {};
    }
    case CommandKind::kInvalid:
      break;
  }
  return {RiskReject::kBadCommand};
}

RiskDecision OrderManager::CheckNew(const Command& c, Account& account) {
  const NewOrder& o = c.order;
  if (!IsValidSymbol(c.symbol)) return {RiskReject::kBadSymbol};
  if (static_cast<uint8_t>(o.side) > static_cast<uint8_t>(Side::kSell) ||
      static_cast<uint8_t>(o.type) > static_cast<uint8_t>(OrderType::kMarket) ||
      static_cast<uint8_t>(o.tif) > static_cast<uint8_t>(TimeInForce::kPostOnly) ||
      static_cast<uint8_t>(o.stp) > static_cast<uint8_t>(SelfTradePrevention::kDecrement)) {
    return {RiskReject::kBadCommand};
  }
  if (!ValidQuantity(o.quantity)) return {RiskReject::kBadQuantity};
  const bool market = o.type == OrderType::kMarket;
  if (market && o.side == Side::kBuy) return {RiskReject::kMarketBuy};
  if (!market && !ValidPrice(o.price)) return {RiskReject::kBadPrice};
  if (orders_.contains(o.id)) return {RiskReject::kDuplicateOrderId};

  uint32_t symbol = FindSymbol(c.symbol);
  int64_t hold = 0;
  if (o.side == Side::kBuy) {
    hold = Notional(o.price, o.quantity);
    if (hold < 0) return {RiskReject::kNotionalTooLarge};
    const int64_t available = account.balance - account.held;
    if (hold > available) return {RiskReject::kInsufficientCash, hold, available};
  } else {
    hold = o.quantity;
    const int64_t available = AvailableShares(o.client, symbol);
    if (hold > available) return {RiskReject::kInsufficientPosition, hold, available};
  }
  if (symbol == kNoSymbol) {
    const absl::StatusOr<uint32_t> added = AddSymbol(c.symbol);
    if (!added.ok()) return {RiskReject::kTooManySymbols};
    symbol = *added;
  }
  OpenOrder& order = orders_[o.id];
  order = {.client = o.client,
           .symbol = symbol,
           .side = o.side,
           .price = market ? 0 : o.price,
           .open = o.quantity,
           .hold = hold};
  AddHeld(order, hold);
  in_flight_ = {.active = true, .kind = CommandKind::kNew, .id = o.id};
  return {};
}

RiskDecision OrderManager::CheckModify(const Command& c, Account& account) {
  const auto it = orders_.find(c.order.id);
  if (it == orders_.end()) return {RiskReject::kUnknownOrder};
  OpenOrder& order = it->second;
  if (order.client != c.order.client) return {RiskReject::kNotOwner};
  if (!ValidQuantity(c.order.quantity)) return {RiskReject::kBadQuantity};
  if (!ValidPrice(c.order.price)) return {RiskReject::kBadPrice};
  int64_t hold = c.order.quantity;
  int64_t available = 0;
  if (order.side == Side::kBuy) {
    hold = Notional(c.order.price, c.order.quantity);
    if (hold < 0) return {RiskReject::kNotionalTooLarge};
    available = account.balance - account.held;
  } else {
    available = AvailableShares(order.client, order.symbol);
  }
  // Only the increase needs covering; a decrease is released when the engine confirms it.
  const int64_t extra = std::max<int64_t>(hold - order.hold, 0);
  if (extra > available) {
    return {order.side == Side::kBuy ? RiskReject::kInsufficientCash
                                     : RiskReject::kInsufficientPosition,
            extra, available};
  }
  AddHeld(order, extra);
  in_flight_ = {.active = true, .kind = CommandKind::kModify, .id = c.order.id, .reserved = extra};
  return {};
}

void OrderManager::Abort() {
  KEEL_ASSERT(in_flight_.active, "OrderManager::Abort with no command in flight");
  Undo();
  in_flight_ = {};
}

// ---------------------------------------------------------------------------------------------
// The engine's events.
// ---------------------------------------------------------------------------------------------

OrderManager::OpenOrder& OrderManager::Order(OrderId id) {
  const auto it = orders_.find(id);
  KEEL_ASSERT(it != orders_.end(), "OrderManager: the engine names order ", id,
              ", which never passed the risk check");
  return it->second;
}

void OrderManager::AddHeld(const OpenOrder& order, int64_t delta) {
  if (order.side == Side::kBuy) {
    Account& a = accounts_.find(order.client)->second;
    a.held += delta;
    KEEL_ASSERT(a.held >= 0 && a.held <= a.balance, "client ", order.client, " holds ", a.held,
                " of a balance of ", a.balance);
  } else {
    Holding& h = holdings_[HoldingKey{order.client, order.symbol}];
    h.held += delta;
    KEEL_ASSERT(h.held >= 0 && h.held <= h.shares + options_.max_short, "client ", order.client,
                " holds ", h.held, " of ", h.shares, " shares");
  }
}

void OrderManager::Release(OpenOrder& order, int64_t amount) {
  KEEL_ASSERT(amount >= 0 && amount <= order.hold, "releasing ", amount, " of a hold of ",
              order.hold);
  order.hold -= amount;
  AddHeld(order, -amount);
}

void OrderManager::Erase(OrderId id) {
  const auto it = orders_.find(id);
  KEEL_ASSERT(it->second.hold == 0 && it->second.open == 0, "order ", id, " ends holding ",
              it->second.hold, " for ", it->second.open, " open");
  orders_.erase(it);
}

void OrderManager::Undo() {
  const auto it = orders_.find(in_flight_.id);
  switch (in_flight_.kind) {
    case CommandKind::kNew:
      KEEL_ASSERT(it != orders_.end() && !it->second.accepted, "new order ", in_flight_.id,
                  " undone after it was accepted");
      Release(it->second, it->second.hold);
      it->second.open = 0;
      orders_.erase(it);
      break;
    case CommandKind::kModify:
      AddHeld(it->second, -in_flight_.reserved);
      break;
    case CommandKind::kCancel:
    case CommandKind::kInvalid:
      break;
  }
}

void OrderManager::OnModified(const Event& e) {
  KEEL_ASSERT(in_flight_.kind == CommandKind::kModify && in_flight_.id == e.order_id, "order ",
              e.order_id, " modified by no modify in flight");
  OpenOrder& order = Order(e.order_id);
  AddHeld(order, -in_flight_.reserved);
  in_flight_.reserved = 0;
  const int64_t hold = order.side == Side::kBuy ? e.price * e.quantity : e.quantity;
  const int64_t delta = hold - order.hold;
  order.hold = hold;
  order.price = e.price;
  order.open = e.quantity;
  AddHeld(order, delta);
}

void OrderManager::OnTrade(const Event& e) {
  OpenOrder& taker = Order(e.order_id);
  OpenOrder& maker = Order(e.maker_id);
  KEEL_ASSERT(taker.side != maker.side, "orders ", e.maker_id, " and ", e.order_id,
              " traded on the same side");
  OpenOrder& buyer = taker.side == Side::kBuy ? taker : maker;
  OpenOrder& seller = taker.side == Side::kBuy ? maker : taker;
  const Quantity q = e.quantity;
  KEEL_ASSERT(q >= 1 && q <= buyer.open && q <= seller.open && e.price <= buyer.price, "trade of ",
              q, " at ", e.price, " does not fit its orders");
  // The buyer's hold was taken at its limit; it pays the trade price, and the difference (price
  // improvement) is released with the rest of this quantity's hold.
  const int64_t cost = e.price * q;
  Release(buyer, buyer.price * q);
  buyer.open -= q;
  Account& paying = accounts_.find(buyer.client)->second;
  paying.balance -= cost;
  accounts_.find(seller.client)->second.balance += cost;
  Release(seller, q);
  seller.open -= q;
  holdings_[HoldingKey{seller.client, seller.symbol}].shares -= q;
  holdings_[HoldingKey{buyer.client, buyer.symbol}].shares += q;
}

void OrderManager::OnEvents(std::span<const EngineEvent> events) {
  KEEL_ASSERT(in_flight_.active, "OrderManager::OnEvents with no command in flight");
  for (const EngineEvent& engine_event : events) {
    const Event& e = engine_event.event;
    switch (e.kind) {
      case EventKind::kAccepted: {
        KEEL_ASSERT(in_flight_.kind == CommandKind::kNew && in_flight_.id == e.order_id, "order ",
                    e.order_id, " accepted by no new order in flight");
        Order(e.order_id).accepted = true;
        in_flight_.settled = true;
        break;
      }
      case EventKind::kRejected:
        KEEL_ASSERT(in_flight_.id == e.order_id, "order ", e.order_id, " rejected, but order ",
                    in_flight_.id, "'s command is in flight");
        Undo();
        in_flight_.settled = true;
        break;
      case EventKind::kModified:
        OnModified(e);
        in_flight_.settled = true;
        break;
      case EventKind::kTrade:
        OnTrade(e);
        break;
      case EventKind::kReduced: {
        OpenOrder& order = Order(e.order_id);
        KEEL_ASSERT(e.quantity >= 1 && e.quantity < order.open, "order ", e.order_id,
                    " reduced by ", e.quantity, " of ", order.open);
        Release(order, order.side == Side::kBuy ? order.price * e.quantity : e.quantity);
        order.open -= e.quantity;
        break;
      }
      case EventKind::kCancelled: {
        OpenOrder& order = Order(e.order_id);
        KEEL_ASSERT(e.quantity == order.open, "order ", e.order_id, " cancelled with ", e.quantity,
                    " left, but ", order.open, " was open");
        Release(order, order.hold);
        order.open = 0;
        Erase(e.order_id);
        if (in_flight_.kind == CommandKind::kCancel && in_flight_.id == e.order_id) {
          in_flight_.settled = true;
        }
        break;
      }
      case EventKind::kDone:
        Erase(e.order_id);
        break;
      case EventKind::kBestBidOffer:
        break;
    }
  }
  KEEL_ASSERT(in_flight_.settled, "OrderManager::OnEvents: no event answered order ", in_flight_.id,
              "'s command");
  in_flight_ = {};
}

// ---------------------------------------------------------------------------------------------
// Explaining a rejection.
// ---------------------------------------------------------------------------------------------

absl::Status OrderManager::Explain(const Command& c, const RiskDecision& d) const {
  const std::string who = base::Cat("client ", c.order.client, " order ", c.order.id, ": ");
  switch (d.reject) {
    case RiskReject::kNone:
      return absl::OkStatus();
    case RiskReject::kUnknownClient:
      return absl::PermissionDeniedError(base::Cat(who, "no account"));
    case RiskReject::kBadCommand:
      return absl::InvalidArgumentError(
          base::Cat(who, "not a valid command (kind ", static_cast<int>(c.kind), ")"));
    case RiskReject::kBadSymbol:
      return absl::InvalidArgumentError(base::Cat(who, "bad symbol ", base::Quoted(c.symbol)));
    case RiskReject::kBadPrice:
      return absl::InvalidArgumentError(
          base::Cat(who, "bad price ", c.order.price, ": want 1 to ", kMaxPrice));
    case RiskReject::kBadQuantity:
      return absl::InvalidArgumentError(
          base::Cat(who, "bad quantity ", c.order.quantity, ": want 1 to ", kMaxQuantity));
    case RiskReject::kMarketBuy:
      return absl::InvalidArgumentError(
          base::Cat(who,
                    "a market buy has no bound on what it may pay: send a limit IOC order at a "
                    "protection price"));
    case RiskReject::kNotionalTooLarge:
      return absl::InvalidArgumentError(base::Cat(who, "price ", c.order.price, " x quantity ",
                                                  c.order.quantity, " is over ", kMaxTotalCash));
    case RiskReject::kDuplicateOrderId:
      return absl::AlreadyExistsError(base::Cat(who, "an order with this id is open"));
    case RiskReject::kUnknownOrder:
      return absl::NotFoundError(base::Cat(who, "no such open order"));
    case RiskReject::kNotOwner:
      return absl::PermissionDeniedError(base::Cat(who, "the order is another client's"));
    case RiskReject::kInsufficientCash:
      return absl::FailedPreconditionError(base::Cat(who, "insufficient cash: needs ", d.needed,
                                                     " withheld, ", d.available, " available"));
    case RiskReject::kInsufficientPosition:
      return absl::FailedPreconditionError(base::Cat(who, "insufficient shares: needs ", d.needed,
                                                     " withheld, ", d.available, " available"));
    case RiskReject::kTooManySymbols:
      return absl::ResourceExhaustedError(base::Cat(who, "symbol ", base::Quoted(c.symbol),
                                                    " would be one more than max_symbols ",
                                                    options_.max_symbols));
    case RiskReject::kCommandInFlight:
      return absl::FailedPreconditionError(
          base::Cat(who, "order ", in_flight_.id,
                    "'s command is still in flight: settle it with OnEvents or Abort first"));
  }
  return absl::InternalError(base::Cat(who, "unknown risk rejection"));
}

}  // namespace keel::market
