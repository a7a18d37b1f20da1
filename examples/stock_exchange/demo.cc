// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// The stock exchange demo: a short trading session narrated step by step, in the terms of the case
// study (order book, price-time priority, the sequencer's numbered events, a warm standby).
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "keel/base/random.h"
#include "keel/base/strings.h"
#include "keel/market/matching_engine.h"
#include "keel/market/sequencer.h"
#include "keel/market/text_format.h"

namespace {

using keel::market::Command;
using keel::market::EngineEvent;
using keel::market::MatchingEngine;
using keel::market::Side;

// The session's engine, with a log of every command it applied (the sequenced input a standby or
// a replay starts from), printing each command and its events.
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

  const MatchingEngine& engine() const { return engine_; }
  const std::vector<std::string>& lines() const { return lines_; }

 private:
  MatchingEngine engine_;
  std::vector<std::string> lines_;
  std::vector<EngineEvent> events_;
};

void Section(const char* title) { std::printf("\n== %s ==\n", title); }

}  // namespace

int Demo(int argc, char** argv) {
  bool short_run = false;
  for (int i = 2; i < argc; ++i) {
    if (std::strcmp(argv[i], "--short") == 0) {
      short_run = true;
    } else if (std::strcmp(argv[i], "--help") == 0) {
      std::printf(
          "stock_exchange demo [--short]: a narrated trading session, then a sequenced burst of\n"
          "200,000 random commands with a warm standby taking over (--short: 2,000)\n");
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

  Section("The sequencer's log, a warm standby, and a fail-over");
  // The session so far becomes the input of a sequenced exchange: every command is written to a
  // keel write-ahead log before the engine applies it, and a standby follows that log.
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / keel::base::Cat("keel_exchange_demo_", ::getpid());
  std::filesystem::remove_all(dir);
  keel::market::SequencerOptions options;
  options.sync = keel::wal::SyncPolicy::kNone;  // the demo's speed; the default syncs each command
  auto primary = keel::market::Sequencer::Open(dir.string(), options);
  if (!primary.ok()) {
    std::fprintf(stderr, "cannot open the command log: %s\n",
                 std::string(primary.status().message()).c_str());
    return 1;
  }
  auto standby = *keel::market::Standby::Follow((*primary)->log(), {});
  // A burst of random orders and cancels follows the session's commands.
  std::vector<std::string> lines = s.lines();
  keel::base::Random rng(7);
  const int burst = short_run ? 2'000 : 200'000;
  for (int i = 0; i < burst; ++i) {
    const uint64_t id = 1000 + static_cast<uint64_t>(i);
    const bool buy = rng.Uniform(2) == 0;
    const int64_t price = 10000 + static_cast<int64_t>(rng.Uniform(200)) - (buy ? 150 : 50);
    if (rng.Uniform(10) < 7) {
      lines.push_back(keel::base::Cat("N,", id, ",", rng.Uniform(50), ",ACME,", buy ? "B" : "S",
                                      ",L,GTC,", price, ",", 1 + rng.Uniform(100)));
    } else {
      lines.push_back(keel::base::Cat("C,", 1000 + rng.Uniform(static_cast<uint64_t>(i) + 1)));
    }
  }
  std::vector<EngineEvent> events;
  std::string error;
  const size_t crash_at = lines.size() - 5;
  for (size_t i = 0; i < crash_at; ++i) {
    events.clear();
    if (!(*primary)->Submit(keel::market::ParseCommand(lines[i], &error), events).ok()) return 1;
    if (i % 1000 == 0 && !standby->CatchUp().ok()) return 1;
  }
  if (!standby->CatchUp().ok()) return 1;
  const uint64_t primary_hash = (*primary)->engine().StateHash();
  std::printf(
      "\n    primary: %zu commands logged and applied, %llu events, state hash %016llx\n"
      "    standby, following the log: state hash %016llx%s\n",
      crash_at, static_cast<unsigned long long>((*primary)->engine().next_sequence() - 1),
      static_cast<unsigned long long>(primary_hash),
      static_cast<unsigned long long>(standby->engine().StateHash()),
      standby->engine().StateHash() == primary_hash ? " (identical)" : " (DIFFERENT)");
  // The primary logs five more commands and dies before the standby reads them.
  for (size_t i = crash_at; i < lines.size(); ++i) {
    events.clear();
    if (!(*primary)->Submit(keel::market::ParseCommand(lines[i], &error), events).ok()) return 1;
  }
  const uint64_t final_hash = (*primary)->engine().StateHash();
  primary->reset();
  std::printf("    the primary logs 5 more commands, then dies\n");
  std::vector<EngineEvent> tail;
  auto successor = keel::market::Standby::TakeOver(standby, dir.string(), options, tail);
  if (!successor.ok()) return 1;
  const uint64_t successor_hash = (*successor)->engine().StateHash();
  std::printf(
      "    the standby takes over: it applies the %llu commands it had not read (%zu events) and\n"
      "    sequences from %llu on; state hash %016llx%s\n",
      static_cast<unsigned long long>(lines.size() - crash_at), tail.size(),
      static_cast<unsigned long long>((*successor)->engine().commands() + 1),
      static_cast<unsigned long long>(successor_hash),
      successor_hash == final_hash ? " (the primary's)" : " (DIFFERENT)");
  const uint32_t acme = (*successor)->engine().FindSymbol("ACME");
  std::vector<keel::market::LevelView> bids, asks;
  (*successor)->engine().book(acme).Depth(Side::kBuy, 3, bids);
  (*successor)->engine().book(acme).Depth(Side::kSell, 3, asks);
  std::printf("    ACME after the burst: best bid %lld x %lld, best ask %lld x %lld\n",
              static_cast<long long>(bids.empty() ? 0 : bids[0].price),
              static_cast<long long>(bids.empty() ? 0 : bids[0].quantity),
              static_cast<long long>(asks.empty() ? 0 : asks[0].price),
              static_cast<long long>(asks.empty() ? 0 : asks[0].quantity));
  successor->reset();
  std::filesystem::remove_all(dir);
  return successor_hash == final_hash ? 0 : 1;
}
