// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// The stock exchange demo, first half: the matching rules narrated order by order, in the terms of
// the case study (order book, price-time priority, the numbered events). The second half, a whole
// trading session through gateway, order manager, sequencer, market data, reporter and a warm
// standby, is in session.cc.
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "keel/base/strings.h"
#include "keel/market/matching_engine.h"
#include "keel/market/text_format.h"

namespace {

using keel::market::Command;
using keel::market::EngineEvent;
using keel::market::MatchingEngine;
using keel::market::Side;

// The narrated part's engine, printing each command and its events.
class Session {
 public:
  Session() : engine_({}) {}

  void Send(std::string_view line, std::string_view why) {
    std::printf("\n> %.*s    (%.*s)\n", static_cast<int>(line.size()), line.data(),
                static_cast<int>(why.size()), why.data());
    Apply(line, /*print=*/true);
  }

  void Apply(std::string_view line, bool print) {
    lines_.emplace_back(line);
    std::string error;
    const Command command = keel::market::ParseCommand(lines_.back(), &error);
    events_.clear();
    engine_.Apply(command, events_);
    if (!print) return;
    std::string out;
    for (const EngineEvent& e : events_) {
      keel::market::AppendEvent(e, engine_, lines_.size(), error, out);
    }
    for (std::string_view rest = out; !rest.empty();) {
      const size_t end = rest.find('\n');
      std::printf("    %.*s\n", static_cast<int>(end), rest.data());
      rest.remove_prefix(end + 1);
    }
  }

  void ShowBook(std::string_view symbol) const {
    const uint32_t s = engine_.FindSymbol(symbol);
    if (s == keel::market::kNoSymbol) return;
    std::vector<keel::market::LevelView> bids, asks;
    engine_.book(s).Depth(Side::kBuy, 5, bids);
    engine_.book(s).Depth(Side::kSell, 5, asks);
    std::printf("\n    %.*s depth (L2)        bids           asks\n",
                static_cast<int>(symbol.size()), symbol.data());
    for (size_t i = 0; i < std::max(bids.size(), asks.size()); ++i) {
      std::string bid = i < bids.size() ? keel::base::Cat(bids[i].quantity, " @ ", bids[i].price,
                                                          " (", bids[i].orders, ")")
                                        : "";
      std::string ask = i < asks.size() ? keel::base::Cat(asks[i].quantity, " @ ", asks[i].price,
                                                          " (", asks[i].orders, ")")
                                        : "";
      std::printf("    %-22s %-14s %s\n", "", bid.c_str(), ask.c_str());
    }
  }

 private:
  MatchingEngine engine_;
  std::vector<std::string> lines_;
  std::vector<EngineEvent> events_;
};

void Section(const char* title) { std::printf("\n== %s ==\n", title); }

}  // namespace

namespace keel::examples {
int TradingSession(bool short_run);  // session.cc
}  // namespace keel::examples

int Demo(int argc, char** argv) {
  bool short_run = false;
  for (int i = 2; i < argc; ++i) {
    if (std::strcmp(argv[i], "--short") == 0) {
      short_run = true;
    } else if (std::strcmp(argv[i], "--help") == 0) {
      std::printf(
          "stock_exchange demo [--short]: the matching rules narrated order by order, then a\n"
          "generated 30-minute trading session through the whole exchange, ending with a\n"
          "crash and fail-over to the warm standby and a restart from the newest snapshot\n"
          "(--short: 10 minutes)\n");
      return 0;
    } else {
      std::fprintf(stderr, "stock_exchange demo: unknown flag %s\n", argv[i]);
      return 2;
    }
  }
  std::printf(
      "A stock exchange's matching engine (keel::market). Every command gets the next sequence\n"
      "numbers for its events; prices are integer ticks, quantities integer lots.\n"
      "Events: A accepted, J rejected, T trade (maker, taker, price, qty), M modified,\n"
      "X cancelled (remaining, why), D done (filled), B best bid and offer.\n");

  Session s;
  Section("Orders rest in price-time priority");
  s.Send("N,1,100,ACME,S,L,GTC,10100,50", "client 100 offers 50 at 101.00");
  s.Send("N,2,101,ACME,S,L,GTC,10100,30", "same price, later: behind order 1");
  s.Send("N,3,102,ACME,S,L,GTC,10200,40", "a worse offer");
  s.Send("N,4,200,ACME,B,L,GTC,9900,60", "a bid below the offers: no trade");
  s.ShowBook("ACME");

  Section("An incoming order crosses and trades at the resting orders' prices");
  s.Send("N,5,300,ACME,B,L,GTC,10200,70", "buys through two levels; order 1 fills first");
  s.ShowBook("ACME");

  Section("Time in force and order types");
  s.Send("N,6,301,ACME,B,L,FOK,10200,500", "fill-or-kill for more than the book has: killed");
  s.Send("N,7,302,ACME,B,M,IOC,0,5", "a market order takes what there is");
  s.Send("N,8,303,ACME,S,L,PO,9900,10", "post-only at the bid would cross: rejected");
  s.Send("N,9,303,ACME,S,L,PO,10050,10", "post-only that rests");

  Section("Cancel in O(1) by id; modify keeps or loses priority");
  s.Send("R,4,9900,20", "less at the same price: keeps its place");
  s.Send("R,4,10050,20", "a new price: to the back, and it crosses order 9");
  s.Send("C,3", "cancel by id");
  s.Send("C,3", "again: it is gone");

  Section("Self-trade prevention");
  s.Send("N,10,400,ACME,S,L,GTC,10300,10", "client 400 offers");
  s.Send("N,11,400,ACME,B,L,GTC,10300,10",
         "its bid takes order 2's last 5, then meets its own offer: the newest is cancelled");

  Section("Bad input is an event, not a crash");
  s.Send("N,12,500,ACME,B,L,GTC,0,10", "price 0");
  s.Send("N,13,500,acme!,B,L,GTC,100,10", "not a symbol");
  s.Send("N,1,500,ACME,B,L,GTC,100,10", "order id 1 was used already");
  s.Send("X,what", "not a command");

  return keel::examples::TradingSession(short_run);
}
