// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "keel/mq/message.h"

#include "keel/base/coding.h"
#include "keel/base/status.h"
#include "keel/base/strings.h"

namespace keel::mq {
namespace {

constexpr uint8_t kVersion = 2;

absl::StatusOr<std::string_view> ReadField(base::Reader& in, const char* name, size_t max_bytes) {
  KEEL_ASSIGN_OR_RETURN(const std::string_view bytes, in.ReadLengthPrefixed());
  if (bytes.size() > max_bytes) {
    return absl::DataLossError(
        base::Cat("message ", name, " of ", bytes.size(), " bytes is over the limit ", max_bytes));
  }
  return bytes;
}

}  // namespace

void AppendEncodedMessage(const Message& m, uint64_t leader_epoch, std::string& out) {
  // The header's fields go through a buffer on the stack and into `out` in one append: growing
  // the string once per field cost more than the encoding (callgrind, mq_bench).
  char header[1 + 3 * base::kMaxVarint64Bytes + 16 + 2 * base::kMaxVarint32Bytes];
  char* p = header;
  *p++ = static_cast<char>(kVersion);
  p = base::EncodeVarint64(p, leader_epoch);
  base::EncodeFixed64(p, static_cast<uint64_t>(m.timestamp_ns));
  base::EncodeFixed64(p + 8, static_cast<uint64_t>(m.deliver_at_ns));
  p = base::EncodeVarint64(p + 16, m.producer_id);
  p = base::EncodeVarint32(p, m.producer_epoch);
  p = base::EncodeVarint64(p, m.sequence);
  p = base::EncodeVarint32(p, m.attempts);
  out.append(header, static_cast<size_t>(p - header));
  base::PutLengthPrefixed(out, m.key);
  base::PutLengthPrefixed(out, m.tag);
  base::PutLengthPrefixed(out, m.origin_topic);
  base::PutLengthPrefixed(out, m.value);
  base::PutVarint32(out, m.origin_partition);
}

size_t EncodedMessageBytes(const Message& m) {
  auto field = [](const std::string& bytes) {
    return base::VarintLength(bytes.size()) + bytes.size();
  };
  return 1 + base::kMaxVarint64Bytes + 8 + 8 + base::kMaxVarint64Bytes + base::kMaxVarint32Bytes +
         base::kMaxVarint64Bytes + base::VarintLength(m.attempts) + field(m.key) + field(m.tag) +
         field(m.origin_topic) + field(m.value) + base::VarintLength(m.origin_partition);
}

size_t DelayedMessageBytes(std::string_view topic, const Message& message) {
  Message wrapper;
  wrapper.key = topic;
  return EncodedMessageBytes(wrapper) + base::kMaxVarint64Bytes + EncodedMessageBytes(message);
}

std::string EncodeMessage(const Message& message) {
  std::string out;
  out.reserve(EncodedMessageBytes(message));
  AppendEncodedMessage(message, message.leader_epoch, out);
  return out;
}

namespace {

// Reads the header fields into `m` (and `deliver_at_ns`, which sits among them).
absl::Status DecodeHeader(base::Reader& in, MessageHeader& h, int64_t& deliver_at_ns) {
  KEEL_ASSIGN_OR_RETURN(const uint8_t version, in.ReadByte());
  if (version != kVersion) {
    return absl::DataLossError(base::Cat("unknown message version ", int{version}));
  }
  KEEL_ASSIGN_OR_RETURN(h.leader_epoch, in.ReadVarint64());
  KEEL_ASSIGN_OR_RETURN(const uint64_t timestamp, in.ReadFixed64());
  KEEL_ASSIGN_OR_RETURN(const uint64_t deliver_at, in.ReadFixed64());
  h.timestamp_ns = static_cast<int64_t>(timestamp);
  deliver_at_ns = static_cast<int64_t>(deliver_at);
  KEEL_ASSIGN_OR_RETURN(h.producer_id, in.ReadVarint64());
  KEEL_ASSIGN_OR_RETURN(h.producer_epoch, in.ReadVarint32());
  KEEL_ASSIGN_OR_RETURN(h.sequence, in.ReadVarint64());
  return absl::OkStatus();
}

// The reader calls a short field kOutOfRange; in a stored message it is damage, and callers (a
// consumer repositions on kOutOfRange) must not take it for an offset out of range.
absl::Status AsDamage(const absl::Status& status) {
  if (status.ok() || absl::IsDataLoss(status)) return status;
  return absl::DataLossError(base::Cat("damaged message: ", status.message()));
}

absl::StatusOr<Message> DecodeFields(std::string_view record) {
  base::Reader in(record);
  MessageHeader h;
  Message m;
  KEEL_RETURN_IF_ERROR(DecodeHeader(in, h, m.deliver_at_ns));
  m.leader_epoch = h.leader_epoch;
  m.timestamp_ns = h.timestamp_ns;
  m.producer_id = h.producer_id;
  m.producer_epoch = h.producer_epoch;
  m.sequence = h.sequence;
  KEEL_ASSIGN_OR_RETURN(m.attempts, in.ReadVarint32());
  KEEL_ASSIGN_OR_RETURN(const std::string_view key, ReadField(in, "key", kMaxKeyBytes));
  KEEL_ASSIGN_OR_RETURN(const std::string_view tag, ReadField(in, "tag", kMaxTagBytes));
  KEEL_ASSIGN_OR_RETURN(const std::string_view origin,
                        ReadField(in, "origin topic", kMaxTopicNameBytes));
  KEEL_ASSIGN_OR_RETURN(const std::string_view value, in.ReadLengthPrefixed());
  KEEL_ASSIGN_OR_RETURN(m.origin_partition, in.ReadVarint32());
  KEEL_RETURN_IF_ERROR(in.ExpectEnd());
  m.key = key;
  m.tag = tag;
  m.origin_topic = origin;
  m.value = value;
  return m;
}

}  // namespace

absl::StatusOr<Message> DecodeMessage(std::string_view record) {
  absl::StatusOr<Message> m = DecodeFields(record);
  if (!m.ok()) return AsDamage(m.status());
  return m;
}

absl::StatusOr<MessageHeader> DecodeMessageHeader(std::string_view record) {
  base::Reader in(record);
  MessageHeader h;
  int64_t deliver_at_ns = 0;
  KEEL_RETURN_IF_ERROR(AsDamage(DecodeHeader(in, h, deliver_at_ns)));
  return h;
}

absl::Status CheckTopicName(std::string_view name) {
  if (name.empty() || name.size() > kMaxTopicNameBytes || name == "." || name == "..") {
    return absl::InvalidArgumentError(
        base::Cat("bad topic name ", base::Quoted(name), ": want 1 to ", kMaxTopicNameBytes,
                  " characters of A-Z a-z 0-9 . _ -, and not \".\" or \"..\""));
  }
  for (const char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == '-';
    if (!ok) {
      return absl::InvalidArgumentError(
          base::Cat("bad topic name ", base::Quoted(name), ": only A-Z a-z 0-9 . _ - are allowed"));
    }
  }
  return absl::OkStatus();
}

}  // namespace keel::mq
