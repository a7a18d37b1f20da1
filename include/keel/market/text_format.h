// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// The stock exchange's text formats (docs/market.md has the full grammar): one command per line in,
// one sequenced event per line out. Scripts drive the exchange with them, so they are exact.
//
// Commands:
//   N,<order_id>,<client_id>,<symbol>,<B|S>,<L|M>,<GTC|IOC|FOK|PO>,<price>,<qty>   new order
//   C,<order_id>                                                                  cancel
//   R,<order_id>,<new_price>,<new_qty>                                            modify
// A market order's price field is not read. Numbers are decimal integers (prices and quantities
// may be negative or zero here: the engine rejects them with a reason).
//
// Events, `<seq>,<kind>,...`:
//   <seq>,A,<symbol>,<order_id>,<B|S>,<price>,<qty>                 accepted
//   <seq>,J,<line>,<order_id>,<reason>                              rejected
//   <seq>,J,<line>,,malformed: <what is wrong>                      not a command
//   <seq>,T,<symbol>,<maker_order_id>,<taker_order_id>,<price>,<qty> trade
//   <seq>,M,<symbol>,<order_id>,<price>,<qty>                       modified
//   <seq>,X,<symbol>,<order_id>,<remaining_qty>,<reason>            cancelled
//   <seq>,P,<symbol>,<order_id>,<reduced_by>,<reason>               reduced (partly cancelled)
//   <seq>,D,<symbol>,<order_id>                                     done (filled)
//   <seq>,B,<symbol>,<bid>,<bid_qty>,<ask>,<ask_qty>                best bid and offer (0,0: none)
//
// Example:
//
//   std::string detail;
//   keel::market::Command command = keel::market::ParseCommand("C,42", &detail);
//   // or, line by line from a file: LineReader (below)
//   engine.Apply(command, events);
//   for (const auto& e : events) keel::market::AppendEvent(e, engine, line, detail, out);
#ifndef KEEL_MARKET_TEXT_FORMAT_H_
#define KEEL_MARKET_TEXT_FORMAT_H_

#include <cstdint>
#include <istream>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "keel/market/matching_engine.h"

namespace keel::market {

// The longest line read as a command (its line break not counted, a trailing '\r' counted); a
// longer one is malformed.
inline constexpr size_t kMaxLineBytes = 4096;

// Reads the lines of a stream with bounded memory: a line longer than kMaxLineBytes is cut to its
// first kMaxLineBytes + 1 bytes (which ParseCommand rejects as too long), and the rest of it is
// skipped in buffer-sized reads, never held. So a file that is one endless line costs a buffer,
// not the file's size. Lines end at '\n'; the last one needs none; an empty input has no lines.
//
//   LineReader reader(in);
//   while (const std::optional<LineReader::Line> line = reader.Next()) {
//     const Command command = ParseCommand(line->text, &error);  // line->number counts from 1
//   }
//   if (in.bad()) ...  // a read error ended the lines early
class LineReader {
 public:
  struct Line {
    std::string_view text;  // without its '\n'; valid until the next call to Next
    uint64_t number = 0;    // from 1
    bool too_long = false;  // text holds only the first kMaxLineBytes + 1 bytes
  };

  // Reads `in` `read_bytes` at a time (at least kMaxLineBytes + 1; more is raised to that).
  // REQUIRES: `in` outlives the reader.
  explicit LineReader(std::istream& in, size_t read_bytes = 64 << 10);

  // The next line, or nullopt at the end of the input or on a read error (in.bad()).
  [[nodiscard]] std::optional<Line> Next();

 private:
  // Reads more bytes after the buffered ones; false at the end of the input.
  bool Fill();

  std::istream& in_;
  std::vector<char> buffer_;
  size_t begin_ = 0;  // the unread bytes are [begin_, end_)
  size_t end_ = 0;
  uint64_t number_ = 0;
  bool skipping_ = false;  // the last line returned was too long: skip to its end first
  bool eof_ = false;
};

// The command on `line` (without its line break; a trailing '\r' is ignored). A line that is not
// a command gives CommandKind::kInvalid, with what is wrong in `*error` (cleared otherwise). The
// command's symbol points into `line`.
[[nodiscard]] Command ParseCommand(std::string_view line, std::string* error);

// Appends one event's line (with '\n'). `line` is the input line of the command the event answers
// and `error` its parse error, both used by rejections only.
void AppendEvent(const EngineEvent& event, const MatchingEngine& engine, uint64_t line,
                 std::string_view error, std::string& out);

// A side as the formats write it: "B" or "S".
[[nodiscard]] std::string_view SideLetter(Side side);

}  // namespace keel::market

#endif  // KEEL_MARKET_TEXT_FORMAT_H_
