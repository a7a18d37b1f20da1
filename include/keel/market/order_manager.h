// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// OrderManager: the stock exchange's accounts and pre-trade risk check, kept in step with the
// matching engine's events.
//
// In the case study an order passes the order manager's risk check before it reaches the matching
// engine, and "the order need to be withheld to prevent overspending": a buy order withholds the
// cash it may spend (its limit price times its quantity), a sell order withholds the shares it may
// deliver, so that however the book fills them, no client ever pays money or delivers shares it
// does not have. The holds then follow the engine's events (the order manager is event sourced: it
// changes only as the engine's numbered events say):
//
//   accepted             the order is live (its hold was taken by Check);
//   rejected             the checked command changed nothing: a new order's hold, or a modify's
//                        extra hold, is given back;
//   trade                shares and cash move between buyer and seller at the trade (maker's)
//                        price; the buyer's hold is released at its limit price, so a taker buy
//                        that traded below its limit gets the difference back (price improvement);
//   modified             the hold becomes the new price times the new quantity: a modify down
//                        releases the difference, a modify up was checked (and its extra withheld)
//                        before it went to the engine;
//   reduced              (self-trade prevention's decrement) the hold shrinks with the order;
//   cancelled            (a cancel, an IOC or market remainder, a killed fill-or-kill order, a
//                        self-trade cancel) what is left of the hold is released;
//   done                 the order is gone, its hold exhausted.
//
// Market orders: a market sell withholds its quantity of shares like any sell. A market buy is
// rejected (kMarketBuy): nothing bounds what it may pay, so no hold could cover it. Send it as a
// limit immediate-or-cancel order at a protection price instead, which is what ClientGateway does
// (keel/market/gateway.h). Short selling is off unless OrderManagerOptions::max_short allows a
// client to sell up to that many shares of a symbol beyond its position.
//
// Invariants (checked by the tests after every command, and by assertions here):
//   - per client: 0 <= held <= balance (available cash never negative), and per symbol
//     held shares <= shares + max_short;
//   - a client's held cash is the sum over its resting buy orders of price * open quantity, its
//     held shares of a symbol the sum of its resting sell orders' open quantities: when every
//     order is done or cancelled, nothing is held;
//   - trades conserve money and shares: the sum of all balances changes only by deposits and
//     withdrawals, and so does each symbol's sum of positions.
//
// Limits, so that no sum can overflow an int64_t: all cash together is at most kMaxTotalCash, each
// symbol's shares together at most kMaxTotalShares (deposits beyond are refused), an order's
// notional (price * quantity, up to 2^88 for the engine's largest values) above kMaxTotalCash is
// rejected (kNotionalTooLarge) before it is multiplied, max_short is at most kMaxQuantity and
// accounts at most max_clients (2^20 at most): every balance and position stays below 2^63.
//
// One command in flight: the pipeline is Check, then (if it passed) the engine applies the
// command, then OnEvents with exactly that command's events, in order; or Abort if the command
// never reached the engine (a sequencer that failed to log it). Check with a command still in
// flight is refused (kCommandInFlight) and changes nothing. Every command the engine applies must
// have passed this Check, so that every order the events name is known here.
//
// Example:
//
//   keel::market::OrderManager risk({});
//   KEEL_RETURN_IF_ERROR(risk.OpenAccount(7));
//   KEEL_RETURN_IF_ERROR(risk.Deposit(7, 10'000));
//   const keel::market::RiskDecision d = risk.Check(command);  // a buy of 5 at 100
//   if (!d.ok()) return risk.Explain(command, d);              // 500 of 10,000 now withheld
//   engine.Apply(command, events);
//   risk.OnEvents(events);
//
// Allocation: accounts, positions, symbols and open orders live in hash maps that grow with them;
// once they have reached their largest size a check and its events allocate nothing. Explain()
// builds a message (call it on rejections only).
//
// Not thread-safe: one thread (the engine's, in front of it) drives it.
#ifndef KEEL_MARKET_ORDER_MANAGER_H_
#define KEEL_MARKET_ORDER_MANAGER_H_

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "keel/market/matching_engine.h"

namespace keel::market {

inline constexpr int64_t kMaxTotalCash = int64_t{1} << 62;      // minor units, all clients
inline constexpr Quantity kMaxTotalShares = Quantity{1} << 61;  // per symbol, all clients
inline constexpr uint32_t kMaxClients = uint32_t{1} << 20;

enum class RiskReject : uint8_t {
  kNone,
  kUnknownClient,         // the command's client has no account
  kBadCommand,            // an invalid command, or an enum out of range
  kBadSymbol,             // not a valid symbol (IsValidSymbol)
  kBadPrice,              // a limit or modify price not in 1 to kMaxPrice
  kBadQuantity,           // not in 1 to kMaxQuantity
  kMarketBuy,             // a market buy: nothing bounds what it may pay
  kNotionalTooLarge,      // price * quantity over kMaxTotalCash
  kDuplicateOrderId,      // a new order's id is open already
  kUnknownOrder,          // a cancel or modify of an order that is not open
  kNotOwner,              // a cancel or modify of another client's order
  kInsufficientCash,      // a buy (or a modify up) needs more than the available cash
  kInsufficientPosition,  // a sell (or a modify up) needs more shares than are available
  kTooManySymbols,        // a symbol beyond OrderManagerOptions::max_symbols
  kCommandInFlight,       // Check before the last checked command was settled (OnEvents, Abort)
};

// "unknown_client", "insufficient_cash", ...
[[nodiscard]] std::string_view RiskRejectName(RiskReject reject);

struct RiskDecision {
  RiskReject reject = RiskReject::kNone;
  // kInsufficientCash, kInsufficientPosition: what the command needed withheld (in cash or
  // shares) and what was available.
  int64_t needed = 0;
  int64_t available = 0;

  [[nodiscard]] bool ok() const { return reject == RiskReject::kNone; }
};

// A client's cash, in minor units.
struct Cash {
  int64_t balance = 0;
  int64_t held = 0;  // withheld for open buy orders
  [[nodiscard]] int64_t available() const { return balance - held; }

  friend bool operator==(const Cash&, const Cash&) = default;
};

// A client's position in one symbol.
struct Holding {
  Quantity shares = 0;  // negative only when short selling is allowed
  Quantity held = 0;    // withheld for open sell orders
  [[nodiscard]] Quantity available() const { return shares - held; }

  friend bool operator==(const Holding&, const Holding&) = default;
};

// An open order as the order manager sees it.
struct OrderHold {
  ClientId client = 0;
  Side side = Side::kBuy;
  Price price = 0;    // the limit (0 for a market sell)
  Quantity open = 0;  // open quantity
  int64_t hold = 0;   // a buy: price * open, in cash; a sell: open, in shares
};

struct OrderManagerOptions {
  // Shares of a symbol a client may sell beyond its position (0: no short selling). At most
  // kMaxQuantity.
  Quantity max_short = 0;
  uint32_t max_symbols = 1024;         // symbols at most (at least 1)
  uint32_t max_clients = kMaxClients;  // accounts at most: 1 to kMaxClients
};

class OrderManager {
 public:
  // REQUIRES: 0 <= options.max_short <= kMaxQuantity, max_symbols >= 1, 1 <= max_clients <=
  // kMaxClients (checked: a bad value stops the program, as it is configuration, not input).
  explicit OrderManager(const OrderManagerOptions& options);

  OrderManager(const OrderManager&) = delete;
  OrderManager& operator=(const OrderManager&) = delete;

  // Accounts. Errors name the client and the amount: kAlreadyExists, kNotFound (no account),
  // kResourceExhausted (max_clients accounts, or max_symbols symbols), kInvalidArgument (an
  // amount not positive, a bad symbol, a deposit that would take the total past its limit, a
  // withdrawal of more than is available).
  absl::Status OpenAccount(ClientId client);
  absl::Status Deposit(ClientId client, int64_t amount);
  absl::Status Withdraw(ClientId client, int64_t amount);
  absl::Status DepositShares(ClientId client, std::string_view symbol, Quantity quantity);
  absl::Status WithdrawShares(ClientId client, std::string_view symbol, Quantity quantity);

  [[nodiscard]] bool HasAccount(ClientId client) const { return accounts_.contains(client); }
  // Zero for an unknown client or symbol.
  [[nodiscard]] Cash cash(ClientId client) const;
  [[nodiscard]] Holding holding(ClientId client, std::string_view symbol) const;
  // Every client's balance together, and every client's shares of `symbol` together: changed only
  // by deposits and withdrawals.
  [[nodiscard]] int64_t total_cash() const { return total_cash_; }
  [[nodiscard]] Quantity total_shares(std::string_view symbol) const;

  // The risk check. On success the command is in flight: its hold (a new order's) or extra hold
  // (a modify up's) is withheld until OnEvents or Abort settles it.
  [[nodiscard]] RiskDecision Check(const Command& command);
  // The engine's events for the command in flight, in order (the other fields of EngineEvent are
  // not read). REQUIRES: a command in flight (checked), and events naming only orders that passed
  // Check (checked).
  void OnEvents(std::span<const EngineEvent> events);
  // The command in flight never reached the engine: its hold is given back.
  void Abort();
  [[nodiscard]] bool in_flight() const { return in_flight_.active; }

  // The decision as a status: OK, or a message naming the client, the order and the bad value.
  // kPermissionDenied (not the owner, no account), kFailedPrecondition (insufficient cash or
  // shares, with what was needed and available), kNotFound (unknown order), kAlreadyExists
  // (duplicate id), kResourceExhausted (too many symbols), kInvalidArgument (the rest).
  [[nodiscard]] absl::Status Explain(const Command& command, const RiskDecision& decision) const;

  [[nodiscard]] size_t open_orders() const { return orders_.size(); }
  [[nodiscard]] std::optional<OrderHold> FindOrder(OrderId id) const;
  [[nodiscard]] const OrderManagerOptions& options() const { return options_; }

 private:
  struct Account {
    int64_t balance = 0;
    int64_t held = 0;
  };
  struct OpenOrder {
    ClientId client = 0;
    uint32_t symbol = 0;
    Side side = Side::kBuy;
    bool accepted = false;  // the engine said accepted (false while the new order is in flight)
    Price price = 0;
    Quantity open = 0;
    int64_t hold = 0;
  };
  struct InFlight {
    bool active = false;
    bool settled = false;  // an event answered it (accepted, rejected, modified, cancelled)
    CommandKind kind = CommandKind::kNew;
    OrderId id = 0;
    int64_t reserved = 0;  // a modify up's extra hold
  };
  using HoldingKey = std::pair<ClientId, uint32_t>;

  RiskDecision CheckNew(const Command& command, Account& account);
  RiskDecision CheckModify(const Command& command, Account& account);
  uint32_t FindSymbol(std::string_view symbol) const;  // or kNoSymbol
  absl::StatusOr<uint32_t> AddSymbol(std::string_view symbol);
  // Sell-side availability: shares - held + max_short.
  int64_t AvailableShares(ClientId client, uint32_t symbol) const;

  OpenOrder& Order(OrderId id);
  // Adds `delta` to what the order's client holds for it (cash for a buy, shares of its symbol
  // for a sell), without touching the order's own hold.
  void AddHeld(const OpenOrder& order, int64_t delta);
  void Release(OpenOrder& order, int64_t amount);  // from the order's hold and the client's
  void Undo();                                     // the command in flight changed nothing
  void OnModified(const Event& e);
  void OnTrade(const Event& e);
  void Erase(OrderId id);

  OrderManagerOptions options_;
  absl::flat_hash_map<ClientId, Account> accounts_;
  absl::flat_hash_map<HoldingKey, Holding> holdings_;
  absl::flat_hash_map<OrderId, OpenOrder> orders_;
  absl::flat_hash_map<std::string, uint32_t> symbols_;
  std::vector<std::string> names_;
  std::vector<Quantity> total_shares_;  // per symbol index
  int64_t total_cash_ = 0;
  InFlight in_flight_;
};

}  // namespace keel::market

#endif  // KEEL_MARKET_ORDER_MANAGER_H_
