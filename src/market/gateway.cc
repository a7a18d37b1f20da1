// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "keel/market/gateway.h"

#include "keel/base/strings.h"

namespace keel::market {
namespace {

bool ValidPrice(Price price) { return price >= 1 && price <= kMaxPrice; }

}  // namespace

std::string_view GatewayRejectName(GatewayReject reject) {
  switch (reject) {
    case GatewayReject::kNone:
      return "none";
    case GatewayReject::kUnknownClient:
      return "unknown_client";
    case GatewayReject::kRateLimited:
      return "rate_limited";
    case GatewayReject::kBadKind:
      return "bad_kind";
    case GatewayReject::kBadSymbol:
      return "bad_symbol";
    case GatewayReject::kBadSide:
      return "bad_side";
    case GatewayReject::kBadOrderType:
      return "bad_order_type";
    case GatewayReject::kBadTimeInForce:
      return "bad_time_in_force";
    case GatewayReject::kBadSelfTradeMode:
      return "bad_self_trade_mode";
    case GatewayReject::kBadPrice:
      return "bad_price";
    case GatewayReject::kBadQuantity:
      return "bad_quantity";
    case GatewayReject::kQuantityOverLimit:
      return "quantity_over_limit";
    case GatewayReject::kNoProtectionPrice:
      return "no_protection_price";
  }
  return "unknown";
}

absl::StatusOr<ClientGateway> ClientGateway::Create(const GatewayOptions& options,
                                                    const base::Clock& clock) {
  absl::StatusOr<ratelimit::RateLimiter> limiter =
      ratelimit::RateLimiter::Create(options.rate, clock);
  if (!limiter.ok()) return limiter.status();
  if (options.cancel_tokens < 0 || options.cancel_tokens > options.rate.burst) {
    return absl::InvalidArgumentError(base::Cat("gateway cancel_tokens is ", options.cancel_tokens,
                                                ": want 0 to the rate's burst, ",
                                                options.rate.burst));
  }
  if (options.max_quantity < 1 || options.max_quantity > kMaxQuantity) {
    return absl::InvalidArgumentError(
        base::Cat("gateway max_quantity is ", options.max_quantity, ": want 1 to ", kMaxQuantity));
  }
  return ClientGateway(options, *std::move(limiter));
}

absl::Status ClientGateway::AddClient(ClientId client) {
  if (!clients_.insert(client).second) {
    return absl::AlreadyExistsError(base::Cat("client ", client, " is already registered"));
  }
  return absl::OkStatus();
}

absl::Status ClientGateway::RemoveClient(ClientId client) {
  if (clients_.erase(client) == 0) {
    return absl::NotFoundError(base::Cat("client ", client, " is not registered"));
  }
  return absl::OkStatus();
}

GatewayDecision ClientGateway::Accept(const OrderRequest& request) {
  GatewayDecision d;
  if (!clients_.contains(request.client)) {
    d.reject = GatewayReject::kUnknownClient;
    return d;
  }
  const int64_t tokens = request.kind == RequestKind::kCancel ? options_.cancel_tokens : 1;
  if (tokens > 0) {
    const ratelimit::Decision limit = limiter_.TryAcquire(request.client, tokens);
    if (!limit.allowed) {
      d.reject = GatewayReject::kRateLimited;
      d.retry_after_ns = limit.retry_after_ns;
      return d;
    }
  }
  d.command.order.id = request.order_id;
  d.command.order.client = request.client;
  switch (request.kind) {
    case RequestKind::kNew:
      d.command.kind = CommandKind::kNew;
      d.reject = ValidateNew(request, d.command);
      break;
    case RequestKind::kCancel:
      d.command.kind = CommandKind::kCancel;
      break;
    case RequestKind::kModify:
      d.command.kind = CommandKind::kModify;
      d.reject = ValidateModify(request, d.command);
      break;
    default:
      d.reject = GatewayReject::kBadKind;
      break;
  }
  if (!d.ok()) d.command = Command{};
  return d;
}

GatewayReject ClientGateway::CheckQuantity(Quantity quantity) const {
  if (quantity < 1 || quantity > kMaxQuantity) return GatewayReject::kBadQuantity;
  if (quantity > options_.max_quantity) return GatewayReject::kQuantityOverLimit;
  return GatewayReject::kNone;
}

GatewayReject ClientGateway::ValidateNew(const OrderRequest& r, Command& c) {
  // The symbol, upper-cased into the gateway's own buffer (the request's bytes are the caller's).
  if (r.symbol.empty() || r.symbol.size() > kMaxSymbolBytes) return GatewayReject::kBadSymbol;
  for (size_t i = 0; i < r.symbol.size(); ++i) {
    const char ch = r.symbol[i];
    symbol_[i] = ch >= 'a' && ch <= 'z' ? static_cast<char>(ch - 'a' + 'A') : ch;
  }
  const std::string_view symbol(symbol_.data(), r.symbol.size());
  if (!IsValidSymbol(symbol)) return GatewayReject::kBadSymbol;
  if (r.side != Side::kBuy && r.side != Side::kSell) return GatewayReject::kBadSide;
  if (r.type != OrderType::kLimit && r.type != OrderType::kMarket) {
    return GatewayReject::kBadOrderType;
  }
  if (static_cast<uint8_t>(r.tif) > static_cast<uint8_t>(TimeInForce::kPostOnly)) {
    return GatewayReject::kBadTimeInForce;
  }
  if (static_cast<uint8_t>(r.stp) > static_cast<uint8_t>(SelfTradePrevention::kDecrement)) {
    return GatewayReject::kBadSelfTradeMode;
  }
  if (const GatewayReject q = CheckQuantity(r.quantity); q != GatewayReject::kNone) return q;

  c.symbol = symbol;
  c.order.side = r.side;
  c.order.type = r.type;
  c.order.tif = r.tif;
  c.order.stp = r.stp;
  c.order.quantity = r.quantity;
  if (r.type == OrderType::kLimit) {
    if (!ValidPrice(r.price)) return GatewayReject::kBadPrice;
    c.order.price = r.price;
    return GatewayReject::kNone;
  }
  if (r.tif == TimeInForce::kPostOnly) return GatewayReject::kBadOrderType;
  if (r.side == Side::kSell) {
    c.order.price = 0;  // a market sell takes any price; the engine does not read it
    return GatewayReject::kNone;
  }
  // A market buy: a limit at the protection price that never rests.
  if (r.price == 0) return GatewayReject::kNoProtectionPrice;
  if (!ValidPrice(r.price)) return GatewayReject::kBadPrice;
  c.order.type = OrderType::kLimit;
  c.order.price = r.price;
  c.order.tif = r.tif == TimeInForce::kFillOrKill ? TimeInForce::kFillOrKill
                                                  : TimeInForce::kImmediateOrCancel;
  return GatewayReject::kNone;
}

GatewayReject ClientGateway::ValidateModify(const OrderRequest& r, Command& c) const {
  if (const GatewayReject q = CheckQuantity(r.quantity); q != GatewayReject::kNone) return q;
  if (!ValidPrice(r.price)) return GatewayReject::kBadPrice;
  c.order.price = r.price;
  c.order.quantity = r.quantity;
  return GatewayReject::kNone;
}

absl::Status ClientGateway::Explain(const OrderRequest& r, const GatewayDecision& d) const {
  const std::string who = base::Cat("client ", r.client, " order ", r.order_id, ": ");
  switch (d.reject) {
    case GatewayReject::kNone:
      return absl::OkStatus();
    case GatewayReject::kUnknownClient:
      return absl::PermissionDeniedError(base::Cat(who, "unknown client ", r.client));
    case GatewayReject::kRateLimited:
      return absl::ResourceExhaustedError(
          base::Cat(who, "rate limited: retry after ", d.retry_after_ns, " ns"));
    case GatewayReject::kBadKind:
      return absl::InvalidArgumentError(
          base::Cat(who, "bad request kind ", static_cast<int>(r.kind)));
    case GatewayReject::kBadSymbol:
      return absl::InvalidArgumentError(base::Cat(who, "bad symbol ", base::Quoted(r.symbol),
                                                  ": want 1 to ", kMaxSymbolBytes,
                                                  " of A-Z 0-9 . - _"));
    case GatewayReject::kBadSide:
      return absl::InvalidArgumentError(base::Cat(who, "bad side ", static_cast<int>(r.side)));
    case GatewayReject::kBadOrderType:
      return absl::InvalidArgumentError(
          r.type == OrderType::kMarket
              ? base::Cat(who, "a market order cannot be post-only")
              : base::Cat(who, "bad order type ", static_cast<int>(r.type)));
    case GatewayReject::kBadTimeInForce:
      return absl::InvalidArgumentError(
          base::Cat(who, "bad time in force ", static_cast<int>(r.tif)));
    case GatewayReject::kBadSelfTradeMode:
      return absl::InvalidArgumentError(
          base::Cat(who, "bad self-trade prevention mode ", static_cast<int>(r.stp)));
    case GatewayReject::kBadPrice:
      return absl::InvalidArgumentError(
          base::Cat(who, "bad price ", r.price, ": want 1 to ", kMaxPrice));
    case GatewayReject::kBadQuantity:
      return absl::InvalidArgumentError(
          base::Cat(who, "bad quantity ", r.quantity, ": want 1 to ", kMaxQuantity));
    case GatewayReject::kQuantityOverLimit:
      return absl::InvalidArgumentError(base::Cat(
          who, "quantity ", r.quantity, " is over the per-order limit of ", options_.max_quantity));
    case GatewayReject::kNoProtectionPrice:
      return absl::InvalidArgumentError(
          base::Cat(who, "a market buy needs a protection price (the most it may pay), got 0"));
  }
  return absl::InternalError(base::Cat(who, "unknown gateway rejection"));
}

}  // namespace keel::market
