// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "keel/market/text_format.h"

#include <algorithm>
#include <charconv>
#include <cstring>
#include <vector>

#include "keel/base/assert.h"
#include "keel/base/strings.h"

namespace keel::market {
namespace {

// Splits on commas, keeping empty fields, into at most kMaxFields (the last holds the rest): no
// command has more than 9, so a line of a million commas costs no more than a short one.
constexpr size_t kMaxFields = 10;
std::vector<std::string_view> Fields(std::string_view line) {
  std::vector<std::string_view> out;
  size_t start = 0;
  for (;;) {
    const size_t comma =
        out.size() + 1 == kMaxFields ? std::string_view::npos : line.find(',', start);
    out.push_back(line.substr(start, comma == std::string_view::npos ? comma : comma - start));
    if (comma == std::string_view::npos) return out;
    start = comma + 1;
  }
}

// A whole field as a decimal integer: no sign for unsigned, no spaces, no trailing bytes.
template <typename Int>
bool ParseInt(std::string_view field, Int& out) {
  if (field.empty()) return false;
  const auto [end, error] = std::from_chars(field.data(), field.data() + field.size(), out);
  return error == std::errc() && end == field.data() + field.size();
}

Command Invalid(std::string* error, std::string message) {
  *error = std::move(message);
  Command c;
  c.kind = CommandKind::kInvalid;
  return c;
}

std::string Bad(std::string_view what, std::string_view field) {
  return base::Cat("bad ", what, " ", base::Quoted(field, 40));
}

}  // namespace

std::string_view SideLetter(Side side) { return side == Side::kBuy ? "B" : "S"; }

Command ParseCommand(std::string_view line, std::string* error) {
  error->clear();
  if (line.size() > kMaxLineBytes) {
    // Not the line's length: a LineReader stops reading a line at kMaxLineBytes + 1 bytes.
    return Invalid(error, base::Cat("a line longer than ", kMaxLineBytes, " bytes (the limit)"));
  }
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  const std::vector<std::string_view> f = Fields(line);
  Command c;
  const std::string_view kind = f[0];
  size_t want;
  if (kind == "N") {
    c.kind = CommandKind::kNew;
    want = 9;
  } else if (kind == "C") {
    c.kind = CommandKind::kCancel;
    want = 2;
  } else if (kind == "R") {
    c.kind = CommandKind::kModify;
    want = 4;
  } else {
    return Invalid(error,
                   base::Cat("unknown command ", base::Quoted(kind, 40), " (want N, C or R)"));
  }
  if (f.size() != want) {
    const std::string count = f.size() == kMaxFields ? "too many" : base::Cat(f.size());
    return Invalid(error, base::Cat(kind, " has ", count, " fields; want ", want));
  }
  if (!ParseInt(f[1], c.order.id)) return Invalid(error, Bad("order id", f[1]));
  if (c.kind == CommandKind::kCancel) return c;
  if (c.kind == CommandKind::kModify) {
    if (!ParseInt(f[2], c.order.price)) return Invalid(error, Bad("price", f[2]));
    if (!ParseInt(f[3], c.order.quantity)) return Invalid(error, Bad("quantity", f[3]));
    return c;
  }
  if (!ParseInt(f[2], c.order.client)) return Invalid(error, Bad("client id", f[2]));
  c.symbol = f[3];
  if (f[4] == "B") {
    c.order.side = Side::kBuy;
  } else if (f[4] == "S") {
    c.order.side = Side::kSell;
  } else {
    return Invalid(error, Bad("side (want B or S)", f[4]));
  }
  if (f[5] == "L") {
    c.order.type = OrderType::kLimit;
  } else if (f[5] == "M") {
    c.order.type = OrderType::kMarket;
  } else {
    return Invalid(error, Bad("order type (want L or M)", f[5]));
  }
  if (f[6] == "GTC") {
    c.order.tif = TimeInForce::kGoodTillCancel;
  } else if (f[6] == "IOC") {
    c.order.tif = TimeInForce::kImmediateOrCancel;
  } else if (f[6] == "FOK") {
    c.order.tif = TimeInForce::kFillOrKill;
  } else if (f[6] == "PO") {
    c.order.tif = TimeInForce::kPostOnly;
  } else {
    return Invalid(error, Bad("time in force (want GTC, IOC, FOK or PO)", f[6]));
  }
  if (c.order.type == OrderType::kLimit && !ParseInt(f[7], c.order.price)) {
    return Invalid(error, Bad("price", f[7]));
  }
  if (!ParseInt(f[8], c.order.quantity)) return Invalid(error, Bad("quantity", f[8]));
  return c;
}

// ---------------------------------------------------------------------------------------------
// LineReader.
// ---------------------------------------------------------------------------------------------

LineReader::LineReader(std::istream& in, size_t read_bytes)
    : in_(in), buffer_(std::max(read_bytes, kMaxLineBytes + 1)) {}

bool LineReader::Fill() {
  if (eof_) return false;
  // Room is never short: what stays buffered is at most kMaxLineBytes bytes of a line.
  KEEL_ASSERT(end_ < buffer_.size(), "LineReader: no room to read");
  in_.read(buffer_.data() + end_, static_cast<std::streamsize>(buffer_.size() - end_));
  const auto got = static_cast<size_t>(in_.gcount());
  end_ += got;
  if (!in_) eof_ = true;  // the end, or an error (in.bad() tells which)
  return got > 0;
}

std::optional<LineReader::Line> LineReader::Next() {
  // The rest of a line too long to return, read and dropped a buffer at a time.
  while (skipping_) {
    const char* data = buffer_.data();
    const void* newline = std::memchr(data + begin_, '\n', end_ - begin_);
    if (newline != nullptr) {
      begin_ = static_cast<size_t>(static_cast<const char*>(newline) - data) + 1;
      skipping_ = false;
    } else {
      begin_ = end_ = 0;
      if (!Fill()) return std::nullopt;
    }
  }
  size_t scanned = begin_;  // no '\n' in [begin_, scanned)
  for (;;) {
    const char* data = buffer_.data();
    const void* found = std::memchr(data + scanned, '\n', end_ - scanned);
    Line line;
    line.number = number_ + 1;
    if (found != nullptr) {
      const auto newline = static_cast<size_t>(static_cast<const char*>(found) - data);
      line.too_long = newline - begin_ > kMaxLineBytes;
      line.text =
          std::string_view(data + begin_, line.too_long ? kMaxLineBytes + 1 : newline - begin_);
      begin_ = newline + 1;
    } else if (end_ - begin_ > kMaxLineBytes) {
      // Too long already, with more to come: return its start, skip the rest on the next call.
      line.too_long = true;
      line.text = std::string_view(data + begin_, kMaxLineBytes + 1);
      begin_ = end_;
      skipping_ = true;
    } else if (eof_) {
      if (begin_ == end_) return std::nullopt;
      line.text = std::string_view(data + begin_, end_ - begin_);  // the last, without '\n'
      begin_ = end_;
    } else {
      // Part of a line: move it to the front and read more after it.
      std::memmove(buffer_.data(), data + begin_, end_ - begin_);
      end_ -= begin_;
      begin_ = 0;
      scanned = end_;
      Fill();
      continue;
    }
    ++number_;
    return line;
  }
}

void AppendEvent(const EngineEvent& ev, const MatchingEngine& engine, uint64_t line,
                 std::string_view error, std::string& out) {
  const Event& e = ev.event;
  const std::string_view symbol =
      ev.symbol == kNoSymbol ? std::string_view() : std::string_view(engine.symbol_name(ev.symbol));
  switch (e.kind) {
    case EventKind::kAccepted:
      out += base::Cat(ev.sequence, ",A,", symbol, ",", e.order_id, ",", SideLetter(e.side), ",",
                       e.price, ",", e.quantity, "\n");
      return;
    case EventKind::kRejected:
      if (e.reject == RejectReason::kMalformed) {
        out += base::Cat(ev.sequence, ",J,", line, ",,", RejectReasonName(e.reject), ": ", error,
                         "\n");
      } else {
        out += base::Cat(ev.sequence, ",J,", line, ",", e.order_id, ",", RejectReasonName(e.reject),
                         "\n");
      }
      return;
    case EventKind::kTrade:
      out += base::Cat(ev.sequence, ",T,", symbol, ",", e.maker_id, ",", e.order_id, ",", e.price,
                       ",", e.quantity, "\n");
      return;
    case EventKind::kModified:
      out += base::Cat(ev.sequence, ",M,", symbol, ",", e.order_id, ",", e.price, ",", e.quantity,
                       "\n");
      return;
    case EventKind::kCancelled:
      out += base::Cat(ev.sequence, ",X,", symbol, ",", e.order_id, ",", e.quantity, ",",
                       CancelReasonName(e.cancel), "\n");
      return;
    case EventKind::kDone:
      out += base::Cat(ev.sequence, ",D,", symbol, ",", e.order_id, "\n");
      return;
    case EventKind::kBestBidOffer:
      out += base::Cat(ev.sequence, ",B,", symbol, ",", e.bid.price, ",", e.bid.quantity, ",",
                       e.ask.price, ",", e.ask.quantity, "\n");
      return;
    case EventKind::kReduced:
      out += base::Cat(ev.sequence, ",P,", symbol, ",", e.order_id, ",", e.quantity, ",",
                       CancelReasonName(e.cancel), "\n");
      return;
  }
}

}  // namespace keel::market
