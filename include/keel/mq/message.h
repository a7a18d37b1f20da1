// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// A message queue's message, and how a partition's write-ahead log stores it.
//
// A producer sends a key (which chooses the partition, so that messages with one key stay in
// order), a value, and optionally a tag that consumers filter on at the broker and a delivery
// time before which nobody sees it. The broker adds the rest: the producer's id and sequence
// number (for dropping duplicates), how many times consumers failed to process it (for the retry
// and dead-letter topics), and where it came from.
//
// Each message is one record of its partition's log, so the log's offset is the message's offset
// and the log's CRC covers it. Inside the record:
//
//   message := version (1 byte, 1)
//              timestamp_ns (fixed64) deliver_at_ns (fixed64)
//              producer_id (varint64) sequence (varint64) attempts (varint32)
//              key tag origin_topic value          each varint64 length + bytes
//              origin_partition (varint32)
//
// Example:
//
//   keel::mq::Message m;
//   m.key = "user-42";
//   m.value = R"({"clicked": "ad-7"})";
//   m.tag = "click";
//   std::string record = keel::mq::EncodeMessage(m);
//   KEEL_ASSIGN_OR_RETURN(keel::mq::Message back, keel::mq::DecodeMessage(record));
#ifndef KEEL_MQ_MESSAGE_H_
#define KEEL_MQ_MESSAGE_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace keel::mq {

// Limits: a tag is a short label; a key is small next to the value.
inline constexpr size_t kMaxTagBytes = 255;
inline constexpr size_t kMaxKeyBytes = 64 << 10;
inline constexpr size_t kMaxTopicNameBytes = 200;

struct Message {
  std::string key;    // chooses the partition; empty: round-robin
  std::string value;  // the payload
  std::string tag;    // consumers may ask the broker for only some tags; empty: untagged
  // Set by the producer when it sends the message.
  int64_t timestamp_ns = 0;
  // Delayed messages: not delivered before this time (by the cluster's clock); 0: at once.
  int64_t deliver_at_ns = 0;
  // The idempotent producer's id and this message's sequence number in its partition; 0 and 0
  // when the producer is not idempotent.
  uint64_t producer_id = 0;
  uint64_t sequence = 0;
  // How many times consumers have failed to process it (0 on first delivery).
  uint32_t attempts = 0;
  // For messages on a retry or dead-letter topic, the topic and partition they first came from;
  // for a delayed message waiting in the cluster, the topic and partition it is for.
  std::string origin_topic;
  uint32_t origin_partition = 0;

  friend bool operator==(const Message&, const Message&) = default;
};

// The bytes of one message's log record.
[[nodiscard]] std::string EncodeMessage(const Message& message);
void AppendEncodedMessage(const Message& message, std::string& out);

// The message in a log record. Errors: kDataLoss naming what is wrong for bytes that are not an
// encoded message (truncated, trailing bytes, an unknown version, an oversized field).
[[nodiscard]] absl::StatusOr<Message> DecodeMessage(std::string_view record);

// OK for a name topics may have: 1 to kMaxTopicNameBytes of [A-Za-z0-9._-], not "." or "..".
// Names starting "__" are the cluster's own. Errors: kInvalidArgument naming the bad name.
[[nodiscard]] absl::Status CheckTopicName(std::string_view name);

}  // namespace keel::mq

#endif  // KEEL_MQ_MESSAGE_H_
