// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// A message queue's message, and how a partition's write-ahead log stores it.
//
// A producer sends a key (which chooses the partition, so that messages with one key stay in
// order), a value, and optionally a tag that consumers filter on at the broker and a delivery
// time before which nobody sees it. An idempotent producer numbers it (its producer id and epoch
// and a sequence number, for dropping duplicates and fencing zombies). The broker adds the rest:
// the leader epoch it was appended in (which decides, after a change of leader, where a replica's
// log stops agreeing with the new leader's), how many times consumers failed to process it (for
// the retry and dead-letter topics), and where it came from.
//
// Each message is one record of its partition's log, so the log's offset is the message's offset
// and the log's CRC covers it. Inside the record:
//
//   message := version (1 byte, 2)
//              leader_epoch (varint64)
//              timestamp_ns (fixed64) deliver_at_ns (fixed64)
//              producer_id (varint64) producer_epoch (varint32) sequence (varint64)
//              attempts (varint32)
//              key tag origin_topic value          each varint64 length + bytes
//              origin_partition (varint32)
//
// The fields up to the sequence number are the header, which replication and recovery read
// without decoding the rest (DecodeMessageHeader). Version 1 (before leader and producer epochs)
// is not read: a data directory is refused before its logs are (see docs/mq.md).
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
  // The idempotent producer's id and epoch, and this message's sequence number in its partition
  // (counted from 0 in each epoch); all 0 when the producer is not idempotent.
  uint64_t producer_id = 0;
  uint32_t producer_epoch = 0;
  uint64_t sequence = 0;
  // Set by the broker: the leader epoch of the partition when its leader appended the message.
  uint64_t leader_epoch = 0;
  // How many times consumers have failed to process it (0 on first delivery).
  uint32_t attempts = 0;
  // For messages on a retry or dead-letter topic, the topic and partition they first came from;
  // for a delayed message waiting in the cluster, the topic and partition it is for.
  std::string origin_topic;
  uint32_t origin_partition = 0;

  friend bool operator==(const Message&, const Message&) = default;
};

// The bytes of one message's log record. The second form stores `leader_epoch` in place of the
// message's own (a leader stamps its epoch on what it appends).
[[nodiscard]] std::string EncodeMessage(const Message& message);
void AppendEncodedMessage(const Message& message, uint64_t leader_epoch, std::string& out);

// The most bytes the message's record takes: its encoding with the longest leader epoch, producer
// id, producer epoch and sequence number, so that numbering it changes nothing. The cluster holds
// this to max_message_bytes, and producers cut batches by it.
[[nodiscard]] size_t EncodedMessageBytes(const Message& message);
// The same for a delayed message for `topic`, which waits in the cluster's delay queue wrapped in
// a message of its own (keyed by the topic, its value the message's encoding).
[[nodiscard]] size_t DelayedMessageBytes(std::string_view topic, const Message& message);

// The message in a log record. Errors: kDataLoss naming what is wrong for bytes that are not an
// encoded message (truncated, trailing bytes, an unknown version, an oversized field).
[[nodiscard]] absl::StatusOr<Message> DecodeMessage(std::string_view record);

// The fields replication and recovery need, read from the front of a record.
struct MessageHeader {
  uint64_t leader_epoch = 0;
  int64_t timestamp_ns = 0;
  uint64_t producer_id = 0;
  uint32_t producer_epoch = 0;
  uint64_t sequence = 0;

  friend bool operator==(const MessageHeader&, const MessageHeader&) = default;
};

// The header of a log record, without reading the rest (whose damage DecodeMessage finds).
// Errors: kDataLoss for a record too short for a header or of an unknown version.
[[nodiscard]] absl::StatusOr<MessageHeader> DecodeMessageHeader(std::string_view record);

// OK for a name topics may have: 1 to kMaxTopicNameBytes of [A-Za-z0-9._-], not "." or "..".
// Names starting "__" are the cluster's own. Errors: kInvalidArgument naming the bad name.
[[nodiscard]] absl::Status CheckTopicName(std::string_view name);

}  // namespace keel::mq

#endif  // KEEL_MQ_MESSAGE_H_
