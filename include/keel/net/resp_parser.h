// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// RespParser: the server side of the Redis serialization protocol (RESP), turning the bytes a
// client sends into commands, as Redis 7.0's networking.c does (processInputBuffer).
//
// A client sends each command as an array of bulk strings ("*2\r\n$3\r\nGET\r\n$3\r\nkey\r\n"),
// or, typed by hand into telnet, as an inline line of space-separated words ("GET key\r\n"). It
// may send many commands before reading any reply (pipelining), and TCP delivers them in pieces
// that split anywhere. The parser takes bytes as they arrive, in any pieces, and hands out each
// complete command as a vector of byte strings. A request is inline unless its first byte is '*'.
//
// Protocol (https://redis.io/docs/latest/develop/reference/protocol-spec/), as Redis 7.0.15
// parses it, quirks included (each checked against redis-server 7.0.15 in the tests):
//
//   multibulk  '*' count '\r' any-byte, then count times: '$' length '\r' any-byte, length bytes,
//              two more bytes. Redis looks for '\r' only, and skips the byte after it and the two
//              bytes after an argument without checking that they are "\n" and "\r\n". A count
//              <= 0 is an empty request, skipped. Numbers are strict decimals: no sign on a
//              length, no '+', no leading zero, at most 20 characters.
//   inline     a line up to '\n' (a '\r' before it is dropped), split as sdssplitargs splits:
//              words separated by spaces (leading spaces, tabs, \n, \r, \v, \f skipped; a word ends
//              at space, \t, \n or \r); "double quotes" with the escapes \n \r \t \b \a \xHH and a
//              backslash before any other byte meaning that byte; 'single quotes' with \' as the
//              only escape; a closing quote must be followed by a space or the end of the line; a
//              quote may open in the middle of a word (foo"bar baz" is one word). A line with no
//              word (empty, or blanks only) is skipped.
//   NUL        Redis searches for the end of a line with strchr, which stops at a NUL byte: a NUL
//              before the '\r' (multibulk) or '\n' (inline) leaves the request incomplete until
//              its length passes max_inline_bytes, then it is "too big". The parser does the same.
//
// Protocol errors (error() returns the text; the server replies "-ERR " + text and closes the
// connection once the reply and those before it are written; no later request is parsed):
//
//   "Protocol error: invalid multibulk length"     count not a number, or > max_multibulk_length
//   "Protocol error: invalid bulk length"          length not a number, < 0 or > max_bulk_bytes
//   "Protocol error: expected '$', got 'C'"        an argument does not start with '$'; C is the
//                                                  byte, or a space if it is '\r' or '\n'
//   "Protocol error: too big mbulk count string"   more than max_inline_bytes before the '\r'
//   "Protocol error: too big bulk count string"      of a count or a length
//   "Protocol error: too big inline request"       more than max_inline_bytes before the '\n'
//   "Protocol error: unbalanced quotes in request" an unclosed quote, or a closing quote followed
//                                                  by something other than a space
//
// The verdict never depends on how the input was split. Redis checks the "too big" limits only
// when a read leaves a line incomplete, so a long line that arrives whole in one read passes
// there while the same line arriving in pieces fails; the parser fails it either way (a line
// longer than max_inline_bytes is an error however it arrives), which is the verdict Redis gives
// for some split of the same bytes.
//
// Example:
//
//   keel::net::RespParser parser;
//   parser.Feed(bytes_from_socket);
//   for (;;) {
//     RespParser::Result result = parser.Next();
//     if (result == RespParser::Result::kNeedMore) break;
//     if (result == RespParser::Result::kError) { reply_error(parser.error()); close(); break; }
//     Execute(parser.args());  // std::span<const std::string_view>: {"SET", "key", "value"}
//   }
//
// Memory: the bytes of an incomplete request stay buffered (a 512 MiB bulk argument takes 512
// MiB, as in Redis); a complete command's arguments are views into that buffer (no copy), except
// inline arguments, which are unescaped into a scratch string. The buffer is reused; feeding the
// parser allocates only when a request is larger than any before it. Not thread-safe: one parser
// per connection.
#ifndef KEEL_NET_RESP_PARSER_H_
#define KEEL_NET_RESP_PARSER_H_

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "keel/net/internal/byte_buffer.h"

namespace keel::net {

// The limits on what a client may send, named after the Redis settings they mirror.
struct RespParserOptions {
  // proto-max-bulk-len: the longest bulk argument. Redis's default, 512 MiB.
  int64_t max_bulk_bytes = int64_t{512} * 1024 * 1024;
  // The most arguments in one multibulk request. Redis 7.0 accepts up to INT_MAX (2^31 - 1) from
  // an authenticated client; keel defaults to 1,048,576, which no Redis command needs to reach
  // (MSET of 500,000 pairs fits) and which bounds what one request can make the server hold. Set
  // it to 2147483647 for Redis's limit. A larger count is "invalid multibulk length", as Redis
  // says for one past INT_MAX.
  int64_t max_multibulk_length = int64_t{1} << 20;
  // PROTO_INLINE_MAX_SIZE: the longest inline request, and the longest count or length line of a
  // multibulk request (the bytes before its '\r'). 64 KiB in Redis.
  size_t max_inline_bytes = 64 * 1024;
};

class RespParser {
 public:
  enum class Result {
    kNeedMore,  // no complete command in what was fed: feed more bytes
    kCommand,   // args() holds the next command
    kError,     // a protocol error: error() says which; the parser stays in this state
  };

  explicit RespParser(const RespParserOptions& options = {});

  RespParser(const RespParser&) = delete;
  RespParser& operator=(const RespParser&) = delete;

  // Appends bytes received from the client.
  void Feed(std::string_view bytes) { buffer_.Append(bytes); }

  // Zero-copy feeding: a socket reads straight into the returned space (at least `min_bytes`),
  // then CommitAppend says how much it wrote.
  [[nodiscard]] std::span<char> PrepareAppend(size_t min_bytes) {
    return buffer_.PrepareAppend(min_bytes);
  }
  void CommitAppend(size_t n) { buffer_.CommitAppend(n); }

  // Parses the next command out of the bytes fed so far. Calling it again after kCommand moves
  // on to the following command; after kNeedMore, feed more first (calling it again returns
  // kNeedMore); after kError it keeps returning kError.
  [[nodiscard]] Result Next();

  // After kCommand: the command's arguments (never empty). Valid until the next call of Next,
  // Feed, PrepareAppend or Reset.
  [[nodiscard]] std::span<const std::string_view> args() const { return args_; }

  // After kError: the error text, without the "ERR " Redis puts before it.
  [[nodiscard]] const std::string& error() const { return error_; }

  // Bytes fed and not yet handed out as a command (Redis's query buffer length, which its
  // client-query-buffer-limit bounds).
  [[nodiscard]] size_t buffered_bytes() const;

  // Forgets everything fed and any error, keeping the allocations.
  void Reset();

  // Releases the buffer's memory if nothing is buffered and it is larger than `keep_bytes`.
  void ShrinkIfIdle(size_t keep_bytes);

  [[nodiscard]] const RespParserOptions& options() const { return options_; }

 private:
  enum class Kind : uint8_t { kUnknown, kInline, kMultibulk };

  // One request: kCommand once it is complete (spans_ empty for an empty request, which is
  // skipped), kNeedMore or kError otherwise.
  Result ParseInline(std::string_view data);
  Result ParseMultibulk(std::string_view data);
  // Where the current line (starting at `line_start`) ends: the index of `target`, or npos when
  // it has not arrived (or the line is blocked by a NUL).
  size_t FindLineEnd(std::string_view data, size_t line_start, char target);
  // Whether a NUL comes before the line's end, which then never ends (see NUL above).
  bool BlockedByNul(std::string_view data, size_t line_start, size_t line_end);
  // Reads the count or length line of a multibulk request at pos_: kCommand once read (into
  // `value`), kNeedMore or kError.
  Result ReadNumberLine(std::string_view data, const char* too_big, int64_t& value);
  [[gnu::noinline]] Result ReadNumberLineSlow(std::string_view data, const char* too_big,
                                              int64_t& value);
  Result Fail(std::string message);
  void StartRequest();

  RespParserOptions options_;
  internal::ByteBuffer buffer_;  // readable() starts at the current request's first byte
  Kind kind_ = Kind::kUnknown;
  bool failed_ = false;
  bool holding_command_ = false;  // args_ views the buffer's first pos_ bytes
  size_t pos_ = 0;                // parse position, relative to the request's first byte
  size_t scanned_to_ = 0;         // a line end was searched for, without success, up to here
  bool nul_blocked_ = false;      // a NUL came before the current line's end (see NUL above)
  int64_t args_left_ = 0;         // multibulk: arguments still to read
  int64_t bulk_bytes_ = -1;       // multibulk: the length of the argument being read, or -1
  // Arguments as (offset in the request, length), or in inline_bytes_ for inline requests.
  std::vector<std::pair<size_t, size_t>> spans_;
  std::string inline_bytes_;
  std::vector<std::string_view> args_;
  std::string error_;
};

}  // namespace keel::net

#endif  // KEEL_NET_RESP_PARSER_H_
