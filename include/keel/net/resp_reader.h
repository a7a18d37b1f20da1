// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// RespReader: the client side of RESP, turning the bytes a server sends back into replies. It
// reads every type of RESP2 and RESP3
// (https://redis.io/docs/latest/develop/reference/protocol-spec/,
// https://github.com/redis/redis-specification/blob/master/protocol/RESP3.md):
//
//   +simple  -error  :integer  $bulk  $-1 (null bulk)  *array  *-1 (null array)     RESP2
//   _null  ,double  #boolean  !blob-error  =verbatim  (big-number  %map  ~set  >push
//   |attribute (attached to the value that follows it)                             RESP3
//
// Streamed strings and aggregates ("$?", "*?") are rejected: no Redis release sends them.
//
// Bytes are fed as they arrive, in any pieces; Next() hands out each complete reply both as the
// exact bytes it was sent in (`raw`, for byte-for-byte comparison with another server) and as a
// tree of values. Feeding is incremental: each byte is scanned once however the reply is split,
// so a large reply arriving in many reads costs no more than one arriving whole.
//
// Malformed input (an unknown type byte, a length that is not a number or is negative, a bulk
// string not followed by "\r\n", a line ending in a bare '\r', a verbatim string without its
// "xxx:" format, nesting deeper than max_depth, ...) is an InvalidArgument Status naming the
// offset and the bad bytes; the reader then stays failed.
//
// Example:
//
//   keel::net::RespReader reader;
//   reader.Feed(bytes);
//   absl::StatusOr<std::optional<keel::net::RespReply>> reply = reader.Next();
//   if (!reply.ok()) return reply.status();          // malformed
//   if (!reply->has_value()) { /* feed more */ }
//   const keel::net::RespValue& value = (*reply)->value;
//   if (value.type == keel::net::RespValue::Type::kDouble) use(value.number);
//
// Not thread-safe: one reader per connection.
#ifndef KEEL_NET_RESP_READER_H_
#define KEEL_NET_RESP_READER_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "keel/net/internal/byte_buffer.h"

namespace keel::net {

struct RespValue {
  enum class Type : uint8_t {
    kSimpleString,    // +
    kError,           // -
    kInteger,         // :
    kBulkString,      // $
    kNullBulkString,  // $-1 (RESP2's null)
    kArray,           // *
    kNullArray,       // *-1
    kNull,            // _ (RESP3)
    kDouble,          // ,
    kBoolean,         // #
    kBlobError,       // !
    kVerbatim,        // =
    kBigNumber,       // (
    kMap,             // %
    kSet,             // ~
    kPush,            // >
  };

  Type type = Type::kNull;
  // The bytes of a simple string, error, bulk string, blob error or verbatim string (without its
  // format), the digits of a big number, the text of a double as sent ("1.5", "inf").
  std::string text;
  std::string format;    // kVerbatim: "txt", "mkd"
  int64_t integer = 0;   // kInteger
  double number = 0;     // kDouble
  bool boolean = false;  // kBoolean
  // kArray, kSet, kPush: the elements; kMap: key, value, key, value, ...
  std::vector<RespValue> elements;
  // The attributes sent before this value ('|'), as key, value, key, value, ...
  std::vector<RespValue> attributes;

  // A readable rendering for test failures: "[\"a\", 1, (nil)]".
  [[nodiscard]] std::string DebugString() const;
};

// One complete reply.
struct RespReply {
  std::string raw;  // the bytes it arrived as
  RespValue value;
};

struct RespReaderOptions {
  int64_t max_bulk_bytes = int64_t{512} * 1024 * 1024;  // as the server's proto-max-bulk-len
  int64_t max_aggregate_length = int64_t{1} << 32;      // elements (pairs for a map)
  size_t max_line_bytes = 1024 * 1024;  // a simple string, error, number or header line
  size_t max_depth = 512;               // nested aggregates
};

class RespReader {
 public:
  explicit RespReader(const RespReaderOptions& options = {});

  RespReader(const RespReader&) = delete;
  RespReader& operator=(const RespReader&) = delete;

  void Feed(std::string_view bytes) { buffer_.Append(bytes); }
  // Zero-copy feeding (see RespParser::PrepareAppend).
  [[nodiscard]] std::span<char> PrepareAppend(size_t min_bytes) {
    return buffer_.PrepareAppend(min_bytes);
  }
  void CommitAppend(size_t n) { buffer_.CommitAppend(n); }

  // The next complete reply, nullopt if the bytes fed so far do not complete one, or why they
  // are not RESP.
  [[nodiscard]] absl::StatusOr<std::optional<RespReply>> Next();

  // Forgets everything fed and any failure.
  void Reset();

  // Bytes fed and not yet returned in a reply.
  [[nodiscard]] std::string_view buffered() const { return buffer_.readable(); }

 private:
  // Scans from pos_: true once a whole reply is in the buffer (its size is pos_).
  absl::StatusOr<bool> Scan();

  RespReaderOptions options_;
  internal::ByteBuffer buffer_;
  absl::Status failure_;
  size_t pos_ = 0;                // scanned so far, relative to the reply's first byte
  size_t line_scanned_ = 0;       // the line at pos_ has no "\r\n" before this offset
  std::vector<int64_t> pending_;  // elements still to come in each open aggregate, outermost first
};

}  // namespace keel::net

#endif  // KEEL_NET_RESP_READER_H_
