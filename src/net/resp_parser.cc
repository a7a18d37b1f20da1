// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// The request parser's state machine. Each step mirrors a branch of Redis 7.0.15's
// processMultibulkBuffer / processInlineBuffer (networking.c); the comments say which Redis
// behaviour a check reproduces. See resp_parser.h for the grammar and the error texts.
#include "keel/net/resp_parser.h"

#include <algorithm>
#include <cstring>
#include <optional>
#include <utility>

#include "resp_numbers.h"
#include "resp_split_args.h"

namespace keel::net {

RespParser::RespParser(const RespParserOptions& options) : options_(options) {}

size_t RespParser::buffered_bytes() const { return buffer_.size() - (holding_command_ ? pos_ : 0); }

void RespParser::Reset() {
  buffer_.Consume(buffer_.size());
  StartRequest();
  failed_ = false;
  error_.clear();
}

void RespParser::ShrinkIfIdle(size_t keep_bytes) {
  if (holding_command_ && pos_ == buffer_.size()) {
    buffer_.Consume(pos_);
    StartRequest();
  }
  buffer_.ShrinkIfEmpty(keep_bytes);
}

void RespParser::StartRequest() {
  kind_ = Kind::kUnknown;
  holding_command_ = false;
  pos_ = 0;
  scanned_to_ = 0;
  nul_blocked_ = false;
  args_left_ = 0;
  bulk_bytes_ = -1;
  spans_.clear();
  args_.clear();
}

RespParser::Result RespParser::Fail(std::string message) {
  failed_ = true;
  error_ = std::move(message);
  args_.clear();
  return Result::kError;
}

RespParser::Result RespParser::Next() {
  if (failed_) return Result::kError;
  if (holding_command_) {
    buffer_.Consume(pos_);
    StartRequest();
  }
  for (;;) {
    const std::string_view data = buffer_.readable();
    if (data.empty()) return Result::kNeedMore;
    if (kind_ == Kind::kUnknown) kind_ = data[0] == '*' ? Kind::kMultibulk : Kind::kInline;
    const Result result = kind_ == Kind::kInline ? ParseInline(data) : ParseMultibulk(data);
    if (result != Result::kCommand) return result;
    if (spans_.empty()) {
      // An empty request (a blank inline line, or a count <= 0): Redis resets the client and
      // goes on with the next request.
      buffer_.Consume(pos_);
      StartRequest();
      continue;
    }
    const char* base = kind_ == Kind::kInline ? inline_bytes_.data() : buffer_.readable().data();
    args_.reserve(spans_.size());
    for (const auto& [offset, length] : spans_) args_.emplace_back(base + offset, length);
    holding_command_ = true;
    return Result::kCommand;
  }
}

size_t RespParser::FindLineEnd(std::string_view data, size_t line_start, char target) {
  if (nul_blocked_) return std::string_view::npos;
  const size_t from = std::max(scanned_to_, line_start);
  const void* hit = std::memchr(data.data() + from, target, data.size() - from);
  if (hit == nullptr) {
    scanned_to_ = data.size();
    return std::string_view::npos;
  }
  return static_cast<size_t>(static_cast<const char*>(hit) - data.data());
}

bool RespParser::BlockedByNul(std::string_view data, size_t line_start, size_t line_end) {
  // Redis finds line ends with strchr on its query buffer, which stops at a NUL byte: a line
  // with a NUL before its end never ends.
  if (std::memchr(data.data() + line_start, '\0', line_end - line_start) == nullptr) return false;
  nul_blocked_ = true;
  return true;
}

RespParser::Result RespParser::ParseInline(std::string_view data) {
  size_t newline = FindLineEnd(data, 0, '\n');
  if (newline != std::string_view::npos && BlockedByNul(data, 0, newline)) {
    newline = std::string_view::npos;
  }
  // Redis fails a request when a read leaves more than PROTO_INLINE_MAX_SIZE bytes without a
  // '\n'. Failing whenever the line is that long makes the verdict independent of the reads.
  const size_t line_bytes = newline == std::string_view::npos ? data.size() : newline;
  if (line_bytes > options_.max_inline_bytes) {
    return Fail("Protocol error: too big inline request");
  }
  if (newline == std::string_view::npos) return Result::kNeedMore;
  size_t line_end = newline;
  if (line_end > 0 && data[line_end - 1] == '\r') --line_end;
  inline_bytes_.clear();
  if (!internal::SplitArgs(data.substr(0, line_end), inline_bytes_, spans_)) {
    return Fail("Protocol error: unbalanced quotes in request");
  }
  pos_ = newline + 1;
  return Result::kCommand;
}

RespParser::Result RespParser::ReadNumberLineSlow(std::string_view data, const char* too_big,
                                                  int64_t& value) {
  const bool count = args_left_ == 0;
  size_t cr = FindLineEnd(data, pos_, '\r');
  if (cr != std::string_view::npos && cr - pos_ <= options_.max_inline_bytes &&
      data.size() - cr >= 2 && data[pos_] == (count ? '*' : '$')) {
    const std::optional<int64_t> parsed =
        internal::ParseStrictInt64(std::string_view(data.data() + pos_ + 1, cr - pos_ - 1));
    if (parsed.has_value() && (count ? *parsed <= options_.max_multibulk_length
                                     : *parsed >= 0 && *parsed <= options_.max_bulk_bytes)) {
      value = *parsed;
      pos_ = cr + 2;
      scanned_to_ = pos_;
      return Result::kCommand;
    }
  }
  if (cr != std::string_view::npos && BlockedByNul(data, pos_, cr)) cr = std::string_view::npos;
  const size_t line_bytes = (cr == std::string_view::npos ? data.size() : cr) - pos_;
  if (line_bytes > options_.max_inline_bytes) return Fail(too_big);
  // Redis needs the '\r' and one byte after it, which it skips without looking at it.
  if (cr == std::string_view::npos || data.size() - cr < 2) return Result::kNeedMore;
  if (!count && data[pos_] != '$') {
    // Redis formats the byte with %c and then turns '\r' and '\n' into spaces. (A count line
    // starts with '*': that is what made the request multibulk.)
    const char first = data[pos_];
    const char shown = first == '\r' || first == '\n' ? ' ' : first;
    return Fail(std::string("Protocol error: expected '$', got '") + shown + "'");
  }
  return Fail(count ? "Protocol error: invalid multibulk length"
                    : "Protocol error: invalid bulk length");
}

// Inline, with the general case out of line: most lines take only this path, and it needs few
// registers.
inline RespParser::Result RespParser::ReadNumberLine(std::string_view data, const char* too_big,
                                                     int64_t& value) {
  const bool count = args_left_ == 0;
  // The common case first, without searching: '*' or '$', up to 18 digits (no leading zero),
  // '\r' and one more byte. Anything else takes the general path below.
  constexpr ptrdiff_t kFastDigits = 18;
  const char* const digits = data.data() + pos_ + 1;
  const char* const end = data.data() + data.size();
  if (data[pos_] == (count ? '*' : '$') && digits < end && *digits != '0') {
    const char* p = digits;
    uint64_t number = 0;
    for (; p < end && p - digits < kFastDigits; ++p) {
      const unsigned digit = static_cast<unsigned>(*p) - '0';
      if (digit > 9) break;
      number = number * 10 + digit;
    }
    if (p > digits && end - p >= 2 && *p == '\r' &&
        number <= static_cast<uint64_t>(count ? options_.max_multibulk_length
                                              : options_.max_bulk_bytes)) {
      value = static_cast<int64_t>(number);
      pos_ = static_cast<size_t>(p - data.data()) + 2;
      scanned_to_ = pos_;
      return Result::kCommand;
    }
  }
  return ReadNumberLineSlow(data, too_big, value);
}

RespParser::Result RespParser::ParseMultibulk(std::string_view data) {
  if (args_left_ == 0) {
    int64_t count = 0;
    const Result result = ReadNumberLine(data, "Protocol error: too big mbulk count string", count);
    if (result != Result::kCommand) return result;
    if (count <= 0) return Result::kCommand;  // empty: spans_ stays empty
    args_left_ = count;
    // Grows with the arguments that arrive, not with the count a client claims (Redis does the
    // same with its argv: at most 1024 up front).
    spans_.reserve(static_cast<size_t>(std::min<int64_t>(count, 1024)));
  }
  while (args_left_ > 0) {
    if (bulk_bytes_ < 0) {
      const Result result =
          ReadNumberLine(data, "Protocol error: too big bulk count string", bulk_bytes_);
      if (result != Result::kCommand) {
        bulk_bytes_ = -1;
        return result;
      }
    }
    // The argument and two more bytes, which Redis skips without checking that they are "\r\n".
    const size_t needed = static_cast<size_t>(bulk_bytes_) + 2;
    if (data.size() - pos_ < needed) return Result::kNeedMore;
    spans_.emplace_back(pos_, static_cast<size_t>(bulk_bytes_));
    pos_ += needed;
    scanned_to_ = pos_;
    bulk_bytes_ = -1;
    --args_left_;
  }
  return Result::kCommand;
}

}  // namespace keel::net
