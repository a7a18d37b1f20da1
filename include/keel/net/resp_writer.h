// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// RespWriter: encodes a server's replies in RESP2 or RESP3, byte for byte as Redis 7.0.15 does
// (networking.c, the addReply* family), appending them to an output buffer.
//
// A client speaks RESP2 until it sends HELLO 3; from then on the same reply is encoded in RESP3's
// richer types, and a RESP2 client gets the RESP2 fallback Redis sends:
//
//   call                 RESP2                          RESP3
//   SimpleString("OK")   +OK\r\n                        same
//   Error("bad")         -ERR bad\r\n                   same ("-CODE text" when it starts '-')
//   Integer(42)          :42\r\n                        same
//   BulkString("ab")     $2\r\nab\r\n                   same
//   Null()               $-1\r\n                        _\r\n
//   NullArray()          *-1\r\n                        _\r\n
//   ArrayHeader(2)       *2\r\n                         same
//   MapHeader(2)         *4\r\n (flat key, value list)  %2\r\n
//   SetHeader(2)         *2\r\n                         ~2\r\n
//   PushHeader(3)        *3\r\n (pub/sub messages)      >3\r\n
//   Double(1.5)          $3\r\n1.5\r\n                  ,1.5\r\n
//   HumanDouble(1.5L)    $3\r\n1.5\r\n                  ,1.5\r\n
//   Boolean(true)        :1\r\n                         #t\r\n
//   Verbatim("hi")       $2\r\nhi\r\n                   =6\r\ntxt:hi\r\n
//   BigNumber("123")     $3\r\n123\r\n                  (123\r\n
//
// Doubles (addReplyDouble, ZSCORE, ZINCRBY, WITHSCORES) are printed with printf's "%.17g", so 1.1
// is "1.1000000000000001" (Redis 7.2 switched to the shortest round-trip form; 7.0 did not), and
// the infinities are "inf" and "-inf". HumanDouble (addReplyHumanLongDouble: GEOPOS, GEODIST's
// siblings) prints a long double with "%.17Lf" and removes trailing zeros and a trailing '.', and
// turns "-0" into "0": 13.361389338970184 as a long double is "13.36138933897018433".
//
// An aggregate whose size is known only after its elements are produced (ZRANGEBYSCORE with
// LIMIT, GEOSEARCH) is written with a deferred length, as Redis's addReplyDeferredLen: Defer()
// marks the place, the elements follow, and EndArray/EndMap/EndSet inserts the header there.
// Deferred lengths nest, and must be ended innermost first.
//
// Error texts and simple strings must be one line: a '\r' or '\n' inside becomes a space and
// trailing ones are dropped, as Redis's addReplyErrorFormat does, so a reply can never break the
// protocol.
//
// Example:
//
//   std::string out;
//   keel::net::RespWriter writer(out, keel::net::Protocol::kResp3);
//   writer.ArrayHeader(2);
//   writer.BulkString("player:7");
//   writer.Double(1500);
//   // out == "*2\r\n$8\r\nplayer:7\r\n,1500\r\n"
//
// Cost: appends to a std::string, which allocates only when it grows; ending a deferred length
// moves the elements after it by the header's size.
#ifndef KEEL_NET_RESP_WRITER_H_
#define KEEL_NET_RESP_WRITER_H_

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace keel::net {

// The protocol a connection speaks: RESP2 until HELLO 3 switches it (HELLO 2 switches back).
enum class Protocol : uint8_t { kResp2 = 2, kResp3 = 3 };

class RespWriter {
 public:
  // Appends to `out`, which must outlive the writer.
  explicit RespWriter(std::string& out, Protocol protocol = Protocol::kResp2)
      : out_(&out), protocol_(protocol) {}

  [[nodiscard]] Protocol protocol() const { return protocol_; }
  void set_protocol(Protocol protocol) { protocol_ = protocol; }
  [[nodiscard]] std::string& output() { return *out_; }

  void SimpleString(std::string_view text);
  // "-ERR " + message, or "-" + message when the message starts with '-' (which then carries its
  // own code, as "-WRONGTYPE Operation ..."), like addReplyError.
  void Error(std::string_view message);
  void Integer(int64_t value);
  void BulkString(std::string_view bytes);
  void Null();
  void NullArray();
  void ArrayHeader(size_t elements);
  void MapHeader(size_t pairs);
  void SetHeader(size_t elements);
  void PushHeader(size_t elements);
  void Double(double value);
  void HumanDouble(long double value);
  void Boolean(bool value);
  // `format` is the three-byte type ("txt", "mkd"): longer is cut, shorter padded with spaces.
  void Verbatim(std::string_view text, std::string_view format = "txt");
  void BigNumber(std::string_view digits);

  // A place for an aggregate header written later.
  struct Deferred {
    size_t offset = 0;
    size_t depth = 0;  // how many were open before it
  };
  [[nodiscard]] Deferred Defer();
  void EndArray(Deferred deferred, size_t elements);
  void EndMap(Deferred deferred, size_t pairs);
  void EndSet(Deferred deferred, size_t elements);
  // Deferred lengths not yet ended (a server must not send the buffer while one is open).
  [[nodiscard]] size_t open_deferred() const { return open_.size(); }

 private:
  void Header(char prefix, int64_t value);
  void OneLine(char prefix, std::string_view text);
  void End(Deferred deferred, char prefix, size_t count);

  std::string* out_;
  Protocol protocol_;
  std::vector<size_t> open_;  // offsets of the deferred lengths not yet ended, innermost last
};

// Appends a request as a client sends it: an array of bulk strings.
void AppendCommand(std::string& out, std::span<const std::string_view> args);

// The text addReplyDouble puts in a RESP2 bulk string or after RESP3's ',': "%.17g", "inf",
// "-inf". For tests and for commands that print a score into a larger string.
[[nodiscard]] std::string FormatDouble(double value);
// The text addReplyHumanLongDouble sends (see above).
[[nodiscard]] std::string FormatHumanDouble(long double value);

}  // namespace keel::net

#endif  // KEEL_NET_RESP_WRITER_H_
