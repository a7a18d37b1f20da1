// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// ClientGateway: the stock exchange's front door, between a client's order request and the
// sequencer.
//
// In the case study the client gateway is where an order first meets the exchange: it checks who
// sent it (authentication), throttles clients that send too much (rate limiting, the defence
// against a flood of orders), rejects what is malformed (validation), and rewrites what is left
// into the one form the matching engine expects (normalisation), so that everything behind it (the
// order manager's risk check, the sequencer, the engine) sees only well-formed commands and never
// has to guess. It is deliberately cheap and stateless about orders: it knows clients and their
// rate buckets, nothing about balances or books.
//
// What it does, in this order (the first failure is the one reported):
//
//   1. the client must be registered (AddClient), or kUnknownClient; an unknown client spends no
//      token and leaves no state behind;
//   2. each request takes a token from the client's bucket (keel::ratelimit::RateLimiter, GCRA,
//      timed by the injected clock), or kRateLimited with how long to wait; malformed requests
//      count too, so that a flood of garbage is throttled like any other flood;
//   3. validation: every enum in range, the symbol 1 to kMaxSymbolBytes of A-Z 0-9 . - _ (after
//      upper-casing), a quantity of 1 to kMaxQuantity and at most the configured per-order limit,
//      a limit price of 1 to kMaxPrice;
//   4. normalisation: the symbol upper-cased; a market sell's price set to 0 (the engine ignores
//      it); a market buy turned into a limit order at its protection price (the most the client
//      will pay; required, as the order manager cannot withhold cash for an unbounded buy),
//      immediate-or-cancel (fill-or-kill if it was), which trades exactly as a market order
//      would as long as the book's prices stay within the protection; a market post-only order
//      rejected; the client id stamped on every command, cancels and modifies included, so that
//      the order manager can check that a client only touches its own orders.
//
// Example:
//
//   keel::base::ManualClock clock;
//   KEEL_ASSIGN_OR_RETURN(auto gateway, keel::market::ClientGateway::Create({}, clock));
//   KEEL_RETURN_IF_ERROR(gateway.AddClient(7));
//   const keel::market::OrderRequest request{.client = 7, .order_id = 1, .symbol = "acme",
//                                            .side = keel::market::Side::kBuy, .price = 100,
//                                            .quantity = 5};
//   const keel::market::GatewayDecision d = gateway.Accept(request);
//   if (!d.ok()) return gateway.Explain(request, d);
//   // d.command: a kNew command for "ACME", ready for the order manager and the sequencer.
//
// Allocation: AddClient inserts into a hash set; the rate limiter keeps about 16 bytes per client
// whose bucket is not full (Purge() forgets the full ones). Accept allocates only when the rate
// limiter's table grows. Explain() builds a message (it allocates; call it on rejections only).
//
// Not thread-safe: one thread (the gateway's) calls it.
#ifndef KEEL_MARKET_GATEWAY_H_
#define KEEL_MARKET_GATEWAY_H_

#include <array>
#include <cstdint>
#include <string_view>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "keel/base/clock.h"
#include "keel/market/matching_engine.h"
#include "keel/ratelimit/token_bucket.h"

namespace keel::market {

enum class RequestKind : uint8_t { kNew, kCancel, kModify };

// A client's request as it arrives (from a FIX session, say): nothing in it is trusted yet, the
// enums included (a request decoded from bytes may carry any value).
struct OrderRequest {
  RequestKind kind = RequestKind::kNew;
  ClientId client = 0;           // who sent it (the authenticated session's client)
  OrderId order_id = 0;          // kNew: the new order's id; kCancel, kModify: the order named
  std::string_view symbol = {};  // kNew only: any ASCII case; not owned
  Side side = Side::kBuy;
  OrderType type = OrderType::kLimit;
  TimeInForce tif = TimeInForce::kGoodTillCancel;
  SelfTradePrevention stp = SelfTradePrevention::kCancelNewest;
  // kNew: a limit order's limit; a market buy's protection price (required); ignored for a market
  // sell. kModify: the new price.
  Price price = 0;
  Quantity quantity = 0;  // kNew: the quantity; kModify: the new open quantity
};

enum class GatewayReject : uint8_t {
  kNone,
  kUnknownClient,      // the client is not registered
  kRateLimited,        // the client's bucket is empty (retry_after_ns says for how long)
  kBadKind,            // not new, cancel or modify
  kBadSymbol,          // not 1 to kMaxSymbolBytes of A-Z 0-9 . - _ once upper-cased
  kBadSide,            // not buy or sell
  kBadOrderType,       // not limit or market, or a market post-only order
  kBadTimeInForce,     // not GTC, IOC, FOK or post-only
  kBadSelfTradeMode,   // not one of the four self-trade prevention modes
  kBadPrice,           // a limit (or protection, or modify) price not in 1 to kMaxPrice
  kBadQuantity,        // not in 1 to kMaxQuantity
  kQuantityOverLimit,  // above GatewayOptions::max_quantity (a fat-finger limit)
  kNoProtectionPrice,  // a market buy without a protection price (price 0)
};

// "unknown_client", "rate_limited", ...
[[nodiscard]] std::string_view GatewayRejectName(GatewayReject reject);

struct GatewayDecision {
  GatewayReject reject = GatewayReject::kNone;
  int64_t retry_after_ns = 0;  // kRateLimited: how long until the same request would be allowed
  // When accepted: the normalised command. Its symbol points into the gateway and stays valid
  // until the next call to Accept (copy it, or hand the command on, before then).
  Command command = {};

  [[nodiscard]] bool ok() const { return reject == GatewayReject::kNone; }
};

struct GatewayOptions {
  // Every client's bucket: by default 20 requests at once, then one per millisecond.
  ratelimit::Rate rate = {.interval_ns = base::kNanosPerMilli, .burst = 20};
  // Tokens a cancel costs: 1 by default, 0 to let cancels through however busy the client is (a
  // client that is being throttled may still want to pull its orders). At most rate.burst.
  int64_t cancel_tokens = 1;
  // The largest quantity one order (or modify) may carry: 1 to kMaxQuantity.
  Quantity max_quantity = kMaxQuantity;
};

class ClientGateway {
 public:
  // Errors: kInvalidArgument naming the bad option (a bad rate, cancel_tokens not in 0 to
  // rate.burst, max_quantity not in 1 to kMaxQuantity). REQUIRES: `clock` outlives the gateway.
  [[nodiscard]] static absl::StatusOr<ClientGateway> Create(const GatewayOptions& options,
                                                            const base::Clock& clock);

  // Registers a client (kAlreadyExists if it is), or forgets one (kNotFound if it is not).
  absl::Status AddClient(ClientId client);
  absl::Status RemoveClient(ClientId client);
  [[nodiscard]] bool HasClient(ClientId client) const { return clients_.contains(client); }

  // Validates, rate-limits and normalises one request (see the file comment).
  [[nodiscard]] GatewayDecision Accept(const OrderRequest& request);

  // The decision as a status: OK when accepted; otherwise a message naming the client, the order
  // and the bad field and value. kPermissionDenied (unknown client), kResourceExhausted (rate
  // limited, with the retry-after), kInvalidArgument (everything else).
  [[nodiscard]] absl::Status Explain(const OrderRequest& request,
                                     const GatewayDecision& decision) const;

  // Forgets the rate-limiter state of clients whose bucket is full again; returns how many.
  size_t Purge() { return limiter_.Purge(); }

  [[nodiscard]] size_t clients() const { return clients_.size(); }
  [[nodiscard]] const GatewayOptions& options() const { return options_; }

 private:
  ClientGateway(const GatewayOptions& options, ratelimit::RateLimiter limiter)
      : options_(options), limiter_(std::move(limiter)) {}

  GatewayReject ValidateNew(const OrderRequest& request, Command& command);
  GatewayReject ValidateModify(const OrderRequest& request, Command& command) const;
  [[nodiscard]] GatewayReject CheckQuantity(Quantity quantity) const;

  GatewayOptions options_;
  ratelimit::RateLimiter limiter_;
  absl::flat_hash_set<ClientId> clients_;
  std::array<char, kMaxSymbolBytes> symbol_ = {};  // the last accepted order's symbol, upper-cased
};

}  // namespace keel::market

#endif  // KEEL_MARKET_GATEWAY_H_
