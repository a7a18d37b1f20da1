// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// The wire protocol between a message_queue process that owns a data directory and the ones that
// have their produce or consume run by it (sessions.h), over a loopback TCP connection.
//
// Every message is a frame: a fixed32 length, then that many bytes of body, whose first byte is
// the frame's type. The client opens with Hello (carrying the token the owner advertised, so that
// it knows it reached that owner and not whatever now listens on a stale port); the owner answers
// Welcome, or Done with an error. Then one session per connection:
//
//   produce   ProduceOpen -> Done (value: the topic's partitions); then any number of
//             ProduceLine, each answered later by LineAcked or LineFailed, in any order;
//             ProduceFlush -> Done once every line before it has had its answer.
//   consume   ConsumeOpen -> Done (kNotFound while the topic does not exist: open again later);
//             ConsumePoll -> Messages... (the last with more = false) or Done with the error;
//             ConsumeCommit -> Done; ConsumeClose -> Done (committed and left; the session ends).
//
// Requests are answered in order, one at a time (ProduceLine aside). An owner that leaves sends
// Handover after its last answer and closes: a produce session's lines before it were all
// answered first, later ones were ignored. A malformed frame, or one that does not fit the
// session's state, is answered by Done with an error naming it, and the connection closes.
// docs/mq.md gives the grammar of each frame.
//
// Example:
//
//   std::string bytes = keel::examples::wire::EncodeFrame(wire::ConsumePoll{100});
//   KEEL_ASSIGN_OR_RETURN(uint32_t length, wire::DecodeFrameLength(bytes.substr(0, 4)));
//   KEEL_ASSIGN_OR_RETURN(wire::Frame frame, wire::DecodeFrame(bytes.substr(4, length)));
#ifndef KEEL_EXAMPLES_MESSAGE_QUEUE_WIRE_H_
#define KEEL_EXAMPLES_MESSAGE_QUEUE_WIRE_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "absl/status/statusor.h"
#include "sessions.h"

namespace keel::examples::wire {

inline constexpr std::string_view kMagic = "keel-mq-cli";
inline constexpr uint32_t kVersion = 1;
inline constexpr size_t kFrameHeaderBytes = 4;
// The largest body a frame may have; a peer that announces more is refused before it is read.
inline constexpr uint32_t kMaxFrameBytes = 4 << 20;
// The longest line a ProduceLine frame carries: the frame limit less its other fields.
inline constexpr size_t kMaxLineBytes = kMaxFrameBytes - 32;
// A Messages frame is filled up to this many bytes of payloads (at least one message each).
inline constexpr size_t kMessagesFrameBytes = 1 << 20;

struct Hello {
  uint32_t version = kVersion;
  uint64_t token = 0;  // the owner's, from its advertisement (access.h)
  friend bool operator==(const Hello&, const Hello&) = default;
};
struct Welcome {
  uint32_t version = kVersion;
  uint64_t pid = 0;
  uint32_t brokers = 0;  // the owner's cluster's
  friend bool operator==(const Welcome&, const Welcome&) = default;
};
// The answer to a request: its status, and a value (ProduceOpen: the topic's partitions).
struct Done {
  absl::Status status;
  uint64_t value = 0;
  friend bool operator==(const Done&, const Done&) = default;
};
struct Handover {
  friend bool operator==(const Handover&, const Handover&) = default;
};
struct ProduceOpen {
  ProduceRequest request;
  friend bool operator==(const ProduceOpen&, const ProduceOpen&) = default;
};
struct ProduceLine {
  uint64_t seq = 0;
  std::string line;
  friend bool operator==(const ProduceLine&, const ProduceLine&) = default;
};
struct LineAcked {
  uint64_t seq = 0;
  LineAck ack;
  friend bool operator==(const LineAcked&, const LineAcked&) = default;
};
struct LineFailed {
  uint64_t seq = 0;
  absl::Status status;  // never OK
  friend bool operator==(const LineFailed&, const LineFailed&) = default;
};
struct ProduceFlush {
  friend bool operator==(const ProduceFlush&, const ProduceFlush&) = default;
};
struct ConsumeOpen {
  ConsumeRequest request;
  friend bool operator==(const ConsumeOpen&, const ConsumeOpen&) = default;
};
struct ConsumePoll {
  uint32_t max_messages = 0;
  friend bool operator==(const ConsumePoll&, const ConsumePoll&) = default;
};
struct Messages {
  bool more = false;  // another Messages frame of the same poll follows
  std::vector<Delivered> messages;
  friend bool operator==(const Messages&, const Messages&) = default;
};
struct ConsumeCommit {
  friend bool operator==(const ConsumeCommit&, const ConsumeCommit&) = default;
};
struct ConsumeClose {
  friend bool operator==(const ConsumeClose&, const ConsumeClose&) = default;
};

// A frame's type byte is its alternative's position here plus one: new frames go at the end.
using Frame =
    std::variant<Hello, Welcome, Done, Handover, ProduceOpen, ProduceLine, LineAcked, LineFailed,
                 ProduceFlush, ConsumeOpen, ConsumePoll, Messages, ConsumeCommit, ConsumeClose>;

// "Hello", "ProduceLine", ...; "type 99" for a type byte that names no frame.
[[nodiscard]] std::string FrameName(uint8_t type);
[[nodiscard]] std::string FrameName(const Frame& frame);

// The frame's bytes: header and body. REQUIRES: the body fits in kMaxFrameBytes (lines no longer
// than kMaxLineBytes, Messages filled as kMessagesFrameBytes says, error messages of bounded
// length).
[[nodiscard]] std::string EncodeFrame(const Frame& frame);

// The body length a header announces. Errors: kInvalidArgument for 0 or more than
// kMaxFrameBytes. REQUIRES: header.size() == kFrameHeaderBytes.
[[nodiscard]] absl::StatusOr<uint32_t> DecodeFrameLength(std::string_view header);

// Decodes a body. Errors name the frame: kInvalidArgument for an unknown type or a field out of
// range (a boolean not 0 or 1, an unknown acks level or status code); kOutOfRange for a body that
// ends inside a field; kDataLoss for a malformed varint or bytes past the last field.
[[nodiscard]] absl::StatusOr<Frame> DecodeFrame(std::string_view body);

}  // namespace keel::examples::wire

#endif  // KEEL_EXAMPLES_MESSAGE_QUEUE_WIRE_H_
