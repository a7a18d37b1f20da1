// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "keel/base/random.h"
#include "keel/market/order_book.h"
#include "market/order_book_testing.h"
#include "testing/testing.h"

// GCC before 14 warns about designated initializers that leave members to their default member
// initializers, which is what they are for here: an event or order names only the fields it uses.
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

namespace keel::market::testing {
namespace {

// ---------------------------------------------------------------------------------------------
// Random commands.
// ---------------------------------------------------------------------------------------------

struct Command {
  enum class Kind : uint8_t { kSubmit, kCancel, kModify };
  Kind kind = Kind::kSubmit;
  NewOrder order;  // kSubmit
  OrderId id = 0;  // kCancel, kModify
  Price price = 0;
  Quantity quantity = 0;
};

// The events' Describe (market/events.h), which the one below would otherwise hide.
using testing::Describe;

// A command as C++, to paste into a test.
std::string Describe(const Command& c) {
  static constexpr const char* kTifs[] = {"kGoodTillCancel", "kImmediateOrCancel", "kFillOrKill",
                                          "kPostOnly"};
  static constexpr const char* kStps[] = {"kCancelNewest", "kCancelOldest", "kCancelBoth",
                                          "kDecrement"};
  switch (c.kind) {
    case Command::Kind::kSubmit:
      return absl::StrCat("Submit({.id = ", c.order.id, ", .client = ", c.order.client,
                          ", .side = ", c.order.side == kBuy ? "kBuy" : "kSell",
                          ", .type = ", c.order.type == kLimit ? "kLimit" : "kMarket",
                          ", .tif = ", kTifs[static_cast<int>(c.order.tif)],
                          ", .stp = ", kStps[static_cast<int>(c.order.stp)],
                          ", .price = ", c.order.price, ", .quantity = ", c.order.quantity, "})");
    case Command::Kind::kCancel:
      return absl::StrCat("Cancel(", c.id, ")");
    case Command::Kind::kModify:
      return absl::StrCat("Modify(", c.id, ", ", c.price, ", ", c.quantity, ")");
  }
  return "?";
}

template <typename Book>
void Apply(Book& book, const Command& c, Events& events) {
  switch (c.kind) {
    case Command::Kind::kSubmit:
      return book.Submit(c.order, events);
    case Command::Kind::kCancel:
      return book.Cancel(c.id, events);
    case Command::Kind::kModify:
      return book.Modify(c.id, c.price, c.quantity, events);
  }
}

// The shape of a random run.
struct Profile {
  const char* name;
  Price low, high;          // most limit prices fall in [low, high], so that orders cross often
  uint64_t clients;         // few, so that self-trades happen
  uint32_t max_orders;      // small, to reach kBookFull
  uint32_t initial_orders;  // small, so that the book's pools grow while it matches
  size_t target_orders;     // cancels grow more likely once this many orders rest
};

constexpr Profile kProfiles[] = {
    {"narrow band", 1000, 1020, 3, 1 << 16, 1, 200},
    {"two prices", 500, 501, 2, 1 << 16, 4, 60},
    {"bottom of the price range", 1, 10, 3, 1 << 16, 1 << 12, 100},
    {"top of the price range", kMaxPrice - 9, kMaxPrice, 3, 1 << 16, 16, 100},
    {"wider band many clients", 900, 1100, 6, 1 << 16, 64, 400},
    {"small full book", 1000, 1006, 2, 12, 12, 1000},
};

// Draws random commands, using the reference's resting orders to aim cancels and modifies at
// live ids as well as at gone and never used ones.
class CommandGenerator {
 public:
  CommandGenerator(const Profile& profile, uint64_t seed, uint64_t stream)
      : p_(profile), rng_(seed, stream) {}

  Command Next(const ReferenceBook& ref) {
    const auto& live = ref.entries();
    const bool crowded = live.size() > p_.target_orders;
    const uint64_t r = rng_.Uniform(100);
    Command c;
    if (r < (crowded ? 35u : 55u)) {
      c.kind = Command::Kind::kSubmit;
      c.order = RandomOrder(live);
      used_.push_back(c.order.id);
    } else if (r < (crowded ? 75u : 65u)) {
      c.kind = Command::Kind::kCancel;
      c.id = PickId(live);
    } else {
      c.kind = Command::Kind::kModify;
      c.id = PickId(live);
      const ReferenceBook::Entry* e = nullptr;
      for (const auto& x : live) {
        if (x.id == c.id) e = &x;
      }
      const uint64_t m = rng_.Uniform(100);
      if (e != nullptr && m < 30) {  // the same price, no larger (keeps priority)
        c.price = e->price;
        c.quantity = 1 + static_cast<Quantity>(rng_.Uniform(static_cast<uint64_t>(e->quantity)));
      } else if (e != nullptr && m < 45) {  // the same price, larger
        c.price = e->price;
        c.quantity = e->quantity + 1 + static_cast<Quantity>(rng_.Uniform(5));
      } else {
        c.price = RandomPrice(e != nullptr ? e->side : kBuy);
        c.quantity = RandomQuantity();
      }
      if (rng_.Uniform(100) < 3) c.quantity = BadQuantity();
      if (rng_.Uniform(100) < 3) c.price = BadPrice();
    }
    return c;
  }

 private:
  NewOrder RandomOrder(const std::vector<ReferenceBook::Entry>& live) {
    NewOrder o;
    const uint64_t r = rng_.Uniform(100);
    if (r < 3 && !live.empty()) {
      o.id = live[rng_.Uniform(live.size())].id;  // a duplicate
    } else if (r < 6 && !used_.empty()) {
      o.id = used_[rng_.Uniform(used_.size())];  // gone (or still resting)
    } else {
      o.id = next_id_++;
    }
    o.client = 1 + rng_.Uniform(p_.clients);
    o.side = rng_.Uniform(2) == 0 ? kBuy : kSell;
    o.type = rng_.Uniform(100) < 6 ? kMarket : kLimit;
    const uint64_t t = rng_.Uniform(100);
    o.tif = t < 45   ? kGoodTillCancel
            : t < 65 ? kImmediateOrCancel
            : t < 80 ? kFillOrKill
                     : kPostOnly;
    o.stp = static_cast<SelfTradePrevention>(rng_.Uniform(4));
    o.price = rng_.Uniform(100) < 3 ? BadPrice() : RandomPrice(o.side);
    o.quantity = rng_.Uniform(100) < 3 ? BadQuantity() : RandomQuantity();
    return o;
  }

  OrderId PickId(const std::vector<ReferenceBook::Entry>& live) {
    const uint64_t r = rng_.Uniform(100);
    if (r < 75 && !live.empty()) return live[rng_.Uniform(live.size())].id;
    if (r < 92 && !used_.empty()) return used_[rng_.Uniform(used_.size())];
    return next_id_ + rng_.Uniform(1000);  // never used (yet)
  }

  // Mostly on the order's own side of the band's middle (so that the book has depth), and a fifth
  // of the time on the other side (so that it trades).
  Price RandomPrice(Side side) {
    const uint64_t r = rng_.Uniform(100);
    if (r < 95) {
      // Bids in [low, mid], asks in [mid + 1, high].
      const Price mid = p_.low + (p_.high - p_.low - 1) / 2;
      const Price offset = rng_.UniformInRange(0, std::max<Price>(1, (p_.high - p_.low) / 2));
      const bool aggressive = rng_.Uniform(5) == 0;
      const Price price = (side == kBuy) == aggressive ? mid + 1 + offset : mid - offset;
      return std::clamp(price, p_.low, p_.high);
    }
    if (r < 98) {  // near the band
      return std::clamp<Price>(rng_.UniformInRange(p_.low - 20, p_.high + 20), 1, kMaxPrice);
    }
    return rng_.UniformInRange(1, kMaxPrice);  // anywhere
  }

  Quantity RandomQuantity() {
    const uint64_t r = rng_.Uniform(100);
    if (r < 85) return rng_.UniformInRange(1, 10);
    if (r < 98) return rng_.UniformInRange(1, 100);
    return kMaxQuantity - rng_.UniformInRange(0, 2);
  }

  Price BadPrice() {
    constexpr Price kBad[] = {0, -1, kMaxPrice + 1, std::numeric_limits<Price>::min(),
                              std::numeric_limits<Price>::max()};
    return kBad[rng_.Uniform(std::size(kBad))];
  }

  Quantity BadQuantity() {
    constexpr Quantity kBad[] = {0, -1, kMaxQuantity + 1, std::numeric_limits<Quantity>::min(),
                                 std::numeric_limits<Quantity>::max()};
    return kBad[rng_.Uniform(std::size(kBad))];
  }

  Profile p_;
  base::Random rng_;
  OrderId next_id_ = 1;
  std::vector<OrderId> used_;
};

// The first way `commands` make the book and the reference disagree, or "" if they never do.
// Events are compared after every command, state after every `state_every`-th and at the end.
std::string Disagreement(const std::vector<Command>& commands, const BookOptions& options,
                         size_t state_every) {
  OrderBook book(options);
  ReferenceBook ref(options.max_orders);
  Events actual, expected;
  for (size_t i = 0; i < commands.size(); ++i) {
    actual.clear();
    expected.clear();
    Apply(book, commands[i], actual);
    Apply(ref, commands[i], expected);
    if (actual != expected) {
      return absl::StrCat("command ", i, ": ", Describe(commands[i]), "\n book:\n",
                          Describe(actual), " reference:\n", Describe(expected));
    }
    if ((i + 1) % state_every == 0 || i + 1 == commands.size()) {
      const std::string diff = StateDifference(book, ref);
      if (!diff.empty()) return absl::StrCat("after command ", i, ": ", diff);
    }
  }
  return "";
}

// Shrinks a failing command list to a short one that still fails (delta debugging: drop ever
// smaller chunks while the failure persists), within a budget of replays.
std::vector<Command> Minimise(std::vector<Command> commands, const BookOptions& options) {
  int budget = 20'000;
  for (size_t chunk = commands.size() / 2; chunk >= 1 && budget > 0; chunk /= 2) {
    for (size_t start = 0; start < commands.size() && budget > 0; --budget) {
      std::vector<Command> candidate(commands.begin(),
                                     commands.begin() + static_cast<ptrdiff_t>(start));
      candidate.insert(
          candidate.end(),
          commands.begin() + static_cast<ptrdiff_t>(std::min(start + chunk, commands.size())),
          commands.end());
      // Checking the state after every command is slow on long lists, so only short ones do.
      const size_t state_every = candidate.size() > 2000 ? 16 : 1;
      if (!Disagreement(candidate, options, state_every).empty()) {
        commands = std::move(candidate);
      } else {
        start += chunk;
      }
    }
  }
  return commands;
}

std::string DescribeCase(const std::vector<Command>& commands, const BookOptions& options) {
  std::string out = absl::StrCat("OrderBook book({.max_orders = ", options.max_orders,
                                 ", .initial_orders = ", options.initial_orders, "});\n");
  for (const Command& c : commands) absl::StrAppend(&out, "book.", Describe(c), ";\n");
  return absl::StrCat(out, Disagreement(commands, options, 1));
}

// "trade", or "rejected:would_cross": an event's kind, and its reason if it has one.
std::string EventKey(const Event& e) {
  std::string key(EventKindName(e.kind));
  std::string_view reason;
  if (e.kind == EventKind::kRejected) reason = RejectReasonName(e.reject);
  if (e.kind == EventKind::kCancelled || e.kind == EventKind::kReduced) {
    reason = CancelReasonName(e.cancel);
  }
  if (!reason.empty()) key.append(":").append(reason);
  return key;
}

// The commands of the differential test, over all the profiles: 200,000 by default (about a
// second in Release), or KEEL_MARKET_DIFF_COMMANDS, e.g. 6000000 to run millions by hand.
size_t DifferentialCommands() {
  const char* env = std::getenv("KEEL_MARKET_DIFF_COMMANDS");
  size_t n = 0;
  if (env != nullptr && absl::SimpleAtoi(env, &n)) return n;
  return 200'000;
}

TEST_CASE("OrderBook emits the reference's events for random commands") {
  const uint64_t seed = keel::testing::TestSeed(505);
  CAPTURE(seed);
  const size_t total = DifferentialCommands();
  std::map<std::string, size_t> seen;  // events by kind and reason, over all the profiles
  for (size_t p = 0; p < std::size(kProfiles); ++p) {
    const Profile& profile = kProfiles[p];
    const std::string_view name = profile.name;
    CAPTURE(name);
    CommandGenerator gen(profile, seed, p);
    const BookOptions options{.max_orders = profile.max_orders,
                              .initial_orders = profile.initial_orders};
    OrderBook book(options);
    ReferenceBook ref(profile.max_orders);
    std::vector<Command> commands;
    Events actual, expected;
    std::string failure;
    const size_t n = total / std::size(kProfiles);
    size_t trades = 0, self_trades = 0, book_full = 0, resting = 0, most_resting = 0;
    for (size_t i = 0; i < n && failure.empty(); ++i) {
      commands.push_back(gen.Next(ref));
      actual.clear();
      expected.clear();
      Apply(book, commands.back(), actual);
      Apply(ref, commands.back(), expected);
      if (actual != expected) {
        failure = "events";
      } else if (i % 16 == 0 || ref.order_count() < 8) {
        failure = StateDifference(book, ref);
      }
      resting += ref.order_count();
      most_resting = std::max(most_resting, ref.order_count());
      for (const Event& e : expected) {
        ++seen[EventKey(e)];
        if (e.kind == EventKind::kTrade && commands.back().kind == Command::Kind::kModify) {
          ++seen["trade after modify"];
        }
        trades += e.kind == EventKind::kTrade;
        self_trades += e.cancel == CancelReason::kSelfTrade;
        book_full += e.reject == RejectReason::kBookFull;
      }
    }
    if (failure.empty()) failure = StateDifference(book, ref);
    if (!failure.empty()) {
      FAIL_CHECK("the book and the reference disagree; shortest case found:\n",
                 DescribeCase(Minimise(commands, options), options));
      continue;
    }
    // The run must have exercised what it is meant to.
    CHECK(trades > n / 20);
    CHECK(self_trades > n / 200);
    if (profile.max_orders < 100) CHECK(book_full > 0);
    MESSAGE(name, ": ", n, " commands, ", trades, " trades, ", self_trades, " self-trade cancels, ",
            book_full, " book-full rejects, ", resting / n, " orders resting on average and ",
            most_resting, " at most");
  }
  for (const char* key : {"accepted", "trade", "trade after modify", "modified", "done",
                          "best_bid_offer", "rejected:duplicate_order_id", "rejected:unknown_order",
                          "rejected:bad_quantity", "rejected:bad_price", "rejected:bad_order_type",
                          "rejected:would_cross", "rejected:book_full", "cancelled:requested",
                          "cancelled:unfilled", "cancelled:self_trade", "reduced:self_trade"}) {
    CAPTURE(key);
    CHECK(seen[key] > 0);
  }
}

// Commands for the tests below that check the book on its own.
template <typename Fn>
void RandomRun(uint64_t seed, size_t commands, Fn&& after_each) {
  const Profile& profile = kProfiles[0];
  CommandGenerator gen(profile, seed, 0);
  OrderBook book({.max_orders = profile.max_orders});
  ReferenceBook ref(profile.max_orders);  // only to aim the generator at live ids
  Events events, ignored;
  for (size_t i = 0; i < commands; ++i) {
    const Command c = gen.Next(ref);
    events.clear();
    Apply(book, c, events);
    Apply(ref, c, ignored);
    after_each(book, events);
  }
}

TEST_CASE("Depth equals the sum of Orders at every step of a random run") {
  const uint64_t seed = keel::testing::TestSeed(506);
  CAPTURE(seed);
  std::vector<LevelView> depth, top;
  size_t step = 0;
  RandomRun(seed, 5'000, [&](const OrderBook& book, const Events&) {
    CAPTURE(step++);
    size_t orders = 0;
    for (const Side side : {kBuy, kSell}) {
      const std::vector<RestingOrder> l3 = book.Orders(side);
      orders += l3.size();
      book.Depth(side, SIZE_MAX, depth);
      REQUIRE(depth == LevelsOf(l3));
      CHECK(book.level_count(side) == depth.size());
      book.Depth(side, 3, top);
      CHECK(top == std::vector<LevelView>(
                       depth.begin(),
                       depth.begin() + static_cast<ptrdiff_t>(std::min<size_t>(3, depth.size()))));
      const Quote best = side == kBuy ? book.best_bid() : book.best_ask();
      CHECK(best == (depth.empty() ? Quote{} : Quote{depth[0].price, depth[0].quantity}));
    }
    CHECK(book.order_count() == orders);
    // Never crossed.
    if (book.best_bid().quantity > 0 && book.best_ask().quantity > 0) {
      CHECK(book.best_bid().price < book.best_ask().price);
    }
  });
}

TEST_CASE("Best bid and offer events appear only when the best bid or offer changes") {
  const uint64_t seed = keel::testing::TestSeed(507);
  CAPTURE(seed);
  Quote bid, ask;  // as last reported
  size_t step = 0, reported = 0;
  RandomRun(seed, 20'000, [&](const OrderBook& book, const Events& events) {
    CAPTURE(step++);
    const bool changed = book.best_bid() != bid || book.best_ask() != ask;
    const auto count = std::count_if(events.begin(), events.end(), [](const Event& e) {
      return e.kind == EventKind::kBestBidOffer;
    });
    REQUIRE(count == (changed ? 1 : 0));
    if (changed) {
      REQUIRE(events.back().kind == EventKind::kBestBidOffer);
      CHECK(events.back().bid == book.best_bid());
      CHECK(events.back().ask == book.best_ask());
      bid = book.best_bid();
      ask = book.best_ask();
      ++reported;
    }
  });
  CHECK(reported > 1000);
  CHECK(reported < 20'000);
}

TEST_CASE("Books with the same resting orders have the same state hash") {
  const uint64_t seed = keel::testing::TestSeed(508);
  CAPTURE(seed);
  size_t step = 0;
  RandomRun(seed, 3'000, [&](const OrderBook& book, const Events&) {
    if (++step % 25 != 0) return;
    CAPTURE(step);
    // Rebuild the book from its L3 view, order by order in priority order: nothing crosses.
    OrderBook copy({.max_orders = 1 << 16});
    Events events;
    for (const Side side : {kBuy, kSell}) {
      for (const RestingOrder& o : book.Orders(side)) {
        copy.Submit({.id = o.id,
                     .client = o.client,
                     .side = o.side,
                     .tif = o.tif,
                     .stp = o.stp,
                     .price = o.price,
                     .quantity = o.quantity},
                    events);
      }
    }
    CHECK(copy.StateHash() == book.StateHash());
    CHECK(copy.Orders(kBuy) == book.Orders(kBuy));
    CHECK(copy.Orders(kSell) == book.Orders(kSell));
    // One lot fewer somewhere is another state.
    const std::vector<RestingOrder> bids = copy.Orders(kBuy);
    if (!bids.empty()) {
      const RestingOrder& o = bids[bids.size() / 2];
      if (o.quantity > 1) {
        copy.Modify(o.id, o.price, o.quantity - 1, events);
        CHECK(copy.StateHash() != book.StateHash());
      }
    }
  });
}

TEST_CASE("A book restored from its L3 view answers every later command as the original") {
  const uint64_t seed = keel::testing::TestSeed(509);
  CAPTURE(seed);
  const Profile& profile = kProfiles[0];
  CommandGenerator gen(profile, seed, 0);
  OrderBook book({.max_orders = profile.max_orders});
  ReferenceBook ref(profile.max_orders);  // to aim the generator at live ids
  Events events, ignored, restored_events;
  std::vector<std::unique_ptr<OrderBook>> restored;  // copies made along the way, still running
  for (size_t i = 0; i < 4'000; ++i) {
    CAPTURE(i);
    if (i % 200 == 0) {
      auto copy = std::make_unique<OrderBook>(BookOptions{.max_orders = profile.max_orders});
      for (const Side side : {kBuy, kSell}) {
        for (const RestingOrder& o : book.Orders(side)) REQUIRE(copy->RestoreOrder(o));
      }
      CHECK(copy->StateHash() == book.StateHash());
      CHECK(copy->best_bid() == book.best_bid());
      CHECK(copy->best_ask() == book.best_ask());
      restored.push_back(std::move(copy));
    }
    const Command c = gen.Next(ref);
    events.clear();
    Apply(book, c, events);
    Apply(ref, c, ignored);
    for (const auto& copy : restored) {
      restored_events.clear();
      Apply(*copy, c, restored_events);
      REQUIRE(restored_events == events);
    }
  }
  CHECK(restored.size() == 20);
}

TEST_CASE("RestoreOrder refuses what no book could hold at rest and changes nothing") {
  OrderBook book({.max_orders = 3});
  const RestingOrder bid{.id = 1, .client = 1, .side = kBuy, .price = 100, .quantity = 5};
  REQUIRE(book.RestoreOrder(bid));
  REQUIRE(book.RestoreOrder({.id = 2, .client = 1, .side = kSell, .price = 101, .quantity = 5}));
  const uint64_t hash = book.StateHash();
  std::vector<RestingOrder> bad;
  bad.push_back(bid);                                                    // its id rests already
  bad.push_back({.id = 3, .side = kSell, .price = 100, .quantity = 1});  // crosses the bid
  bad.push_back({.id = 3, .side = kBuy, .price = 101, .quantity = 1});   // crosses the ask
  bad.push_back({.id = 3, .side = kBuy, .price = 0, .quantity = 1});
  bad.push_back({.id = 3, .side = kBuy, .price = kMaxPrice + 1, .quantity = 1});
  bad.push_back({.id = 3, .side = kBuy, .price = 99, .quantity = 0});
  bad.push_back({.id = 3, .side = kBuy, .price = 99, .quantity = kMaxQuantity + 1});
  bad.push_back({.id = 3, .side = kBuy, .tif = kImmediateOrCancel, .price = 99, .quantity = 1});
  bad.push_back({.id = 3, .side = kBuy, .tif = kFillOrKill, .price = 99, .quantity = 1});
  bad.push_back({.id = 3, .side = static_cast<Side>(2), .price = 99, .quantity = 1});
  bad.push_back({.id = 3,
                 .side = kBuy,
                 .price = 99,
                 .quantity = 1,
                 .stp = static_cast<SelfTradePrevention>(4)});
  for (const RestingOrder& o : bad) {
    CAPTURE(o.id);
    CHECK(!book.RestoreOrder(o));
    CHECK(book.StateHash() == hash);
    CHECK(book.order_count() == 2);
  }
  CHECK(book.RestoreOrder({.id = 3, .side = kBuy, .tif = kPostOnly, .price = 99, .quantity = 1}));
  CHECK(!book.RestoreOrder({.id = 4, .side = kBuy, .price = 98, .quantity = 1}));  // full
}

TEST_CASE("A moved book carries on where it was") {
  OrderBook book({.max_orders = 16});
  Events events;
  book.Submit({.id = 1, .client = 1, .side = kSell, .price = 100, .quantity = 5}, events);
  OrderBook moved(std::move(book));
  events.clear();
  moved.Submit({.id = 2, .client = 2, .side = kBuy, .price = 100, .quantity = 2}, events);
  CHECK(events == Events{Accepted(2, kBuy, 100, 2), Trade(2, kBuy, 1, 100, 2), Done(2, kBuy),
                         Bbo(kEmpty, {100, 3})});
  CHECK(moved.Find(1) == RestingOrder{1, 1, kSell, kGoodTillCancel, 100, 3});
}

}  // namespace
}  // namespace keel::market::testing
