// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// stock_exchange: the "stock exchange" case study's matching engine as a command-line tool.
//
//   stock_exchange replay --in FILE
//       Applies one command per line (new order, cancel, modify; docs/market.md) in order and
//       prints every event, one per line, "<seq>,<kind>,...", in sequence order. A malformed line
//       is rejected with an event naming its line number, and the engine carries on.
//   stock_exchange book --in FILE
//       Applies the same file and prints the final depth of every symbol, one line per price
//       level: "<symbol>,B,<price>,<total_qty>,<order_count>" for bids best first, then the asks.
//       Each malformed line is reported on standard error as replay reports it.
//   stock_exchange demo [--short]
//       A narrated session: orders resting and trading, the book's depth, a cancel and a modify,
//       and a second engine fed the same sequenced commands reaching the same state.
//
// The books, matching and sequencing live in keel::market (keel/market/*.h); this program reads
// lines and prints them.
#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <optional>
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

void Usage(FILE* out) {
  std::fprintf(out,
               "stock_exchange: an exchange's matching engine (keel::market)\n\n"
               "Commands:\n"
               "  replay --in FILE   apply one command per line; print every event\n"
               "                     \"<seq>,<kind>,...\" in sequence order\n"
               "  book --in FILE     apply the file; print each symbol's final depth:\n"
               "                     \"<symbol>,B|S,<price>,<total_qty>,<order_count>\"\n"
               "                     (malformed lines go to standard error, as replay\n"
               "                     prints them)\n"
               "  demo [--short]     a narrated session\n\n"
               "Commands in FILE (docs/market.md has the full format):\n"
               "  N,<order_id>,<client_id>,<symbol>,<B|S>,<L|M>,<GTC|IOC|FOK|PO>,<price>,<qty>\n"
               "  C,<order_id>\n"
               "  R,<order_id>,<new_price>,<new_qty>\n");
}

// The engine a replay uses: room for a million resting orders per symbol, allocated as needed.
keel::market::EngineOptions ReplayOptions() {
  keel::market::EngineOptions o;
  o.book.initial_orders = 1024;
  return o;
}

// Applies every line of `in`, handing each command's events to `sink` with its line number and
// parse error. Lines are read with bounded memory (a line too long is rejected without being
// held). Returns false if the output could not be written.
template <typename Sink>
bool ApplyLines(std::istream& in, MatchingEngine& engine, Sink&& sink) {
  keel::market::LineReader reader(in);
  std::string error;
  std::vector<EngineEvent> events;
  while (const std::optional<keel::market::LineReader::Line> line = reader.Next()) {
    const Command command = keel::market::ParseCommand(line->text, &error);
    events.clear();
    engine.Apply(command, events);
    if (!sink(events, line->number, error)) return false;
  }
  return true;
}

// Writes `out` to `file` and empties it; false if it could not be written.
bool Flush(std::string& out, FILE* file) {
  const bool ok = std::fwrite(out.data(), 1, out.size(), file) == out.size();
  out.clear();
  return ok;
}

int Replay(std::istream& in) {
  MatchingEngine engine(ReplayOptions());
  std::string out;
  const bool written = ApplyLines(
      in, engine,
      [&](const std::vector<EngineEvent>& events, uint64_t number, const std::string& error) {
        for (const EngineEvent& e : events)
          keel::market::AppendEvent(e, engine, number, error, out);
        return out.size() < (1 << 16) || Flush(out, stdout);
      });
  if (!written || !Flush(out, stdout) || std::fflush(stdout) != 0) {
    std::fprintf(stderr, "stock_exchange: cannot write to standard output: %s\n",
                 std::strerror(errno));
    return 1;
  }
  return 0;
}

int Book(std::istream& in) {
  MatchingEngine engine(ReplayOptions());
  // A malformed line is reported on standard error in replay's words (its rejection event); the
  // depth alone would not show that a line was skipped.
  std::string malformed;
  ApplyLines(
      in, engine,
      [&](const std::vector<EngineEvent>& events, uint64_t number, const std::string& error) {
        for (const EngineEvent& e : events) {
          if (e.event.reject != keel::market::RejectReason::kMalformed) continue;
          keel::market::AppendEvent(e, engine, number, error, malformed);
        }
        // Standard error is for a person or a log: a failed write there is not fatal.
        if (malformed.size() >= (1 << 16)) Flush(malformed, stderr);
        return true;
      });
  Flush(malformed, stderr);
  // Symbols in name order, so that the output does not depend on which came first.
  std::vector<uint32_t> symbols(engine.symbol_count());
  for (uint32_t s = 0; s < symbols.size(); ++s) symbols[s] = s;
  std::sort(symbols.begin(), symbols.end(),
            [&](uint32_t a, uint32_t b) { return engine.symbol_name(a) < engine.symbol_name(b); });
  std::vector<keel::market::LevelView> levels;
  std::string out;
  for (const uint32_t s : symbols) {
    for (const keel::market::Side side : {keel::market::Side::kBuy, keel::market::Side::kSell}) {
      engine.book(s).Depth(side, SIZE_MAX, levels);
      for (const keel::market::LevelView& l : levels) {
        out += keel::base::Cat(engine.symbol_name(s), ",", keel::market::SideLetter(side), ",",
                               l.price, ",", l.quantity, ",", l.orders, "\n");
      }
    }
  }
  if (!Flush(out, stdout) || std::fflush(stdout) != 0) {
    std::fprintf(stderr, "stock_exchange: cannot write to standard output: %s\n",
                 std::strerror(errno));
    return 1;
  }
  return 0;
}

// `replay` and `book` take exactly "--in FILE".
int WithInput(int argc, char** argv, int (*run)(std::istream&)) {
  if (argc == 3 && std::strcmp(argv[2], "--help") == 0) {
    Usage(stdout);
    return 0;
  }
  if (argc != 4 || std::strcmp(argv[2], "--in") != 0) {
    std::fprintf(stderr, "stock_exchange %s: want --in FILE\n", argv[1]);
    return 2;
  }
  std::ifstream in(argv[3], std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "stock_exchange %s: cannot open %s: %s\n", argv[1], argv[3],
                 std::strerror(errno));
    return 2;
  }
  const int status = run(in);
  if (in.bad()) {
    std::fprintf(stderr, "stock_exchange %s: cannot read %s\n", argv[1], argv[3]);
    return 1;
  }
  return status;
}

}  // namespace

int Demo(int argc, char** argv);

int main(int argc, char** argv) {
  if (argc < 2) {
    Usage(stderr);
    return 2;
  }
  const std::string_view command = argv[1];
  if (command == "--help" || command == "-h" || command == "help") {
    Usage(stdout);
    return 0;
  }
  if (command == "replay") return WithInput(argc, argv, Replay);
  if (command == "book") return WithInput(argc, argv, Book);
  if (command == "demo") return Demo(argc, argv);
  std::fprintf(stderr, "stock_exchange: unknown command \"%s\"\n\n", argv[1]);
  Usage(stderr);
  return 2;
}
