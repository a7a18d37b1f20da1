// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "wire.h"

#include <array>

#include "keel/base/assert.h"
#include "keel/base/coding.h"
#include "keel/base/status.h"
#include "keel/base/strings.h"

namespace keel::examples::wire {
namespace {

constexpr std::array<const char*, std::variant_size_v<Frame>> kNames = {
    "Hello",       "Welcome",   "Done",          "Handover",     "ProduceOpen",
    "ProduceLine", "LineAcked", "LineFailed",    "ProduceFlush", "ConsumeOpen",
    "ConsumePoll", "Messages",  "ConsumeCommit", "ConsumeClose"};

// The largest absl::StatusCode (kUnauthenticated).
constexpr uint32_t kMaxStatusCode = 16;

// ---------------------------------------------------------------------------------------------
// Encoding: one Put per frame, appending its fields after the type byte.
// ---------------------------------------------------------------------------------------------

void PutBool(std::string& out, bool value) { out.push_back(value ? '\1' : '\0'); }

void PutStatus(std::string& out, const absl::Status& status) {
  base::PutVarint32(out, static_cast<uint32_t>(status.code()));
  const absl::string_view message = status.message();
  base::PutLengthPrefixed(out, std::string_view(message.data(), message.size()));
}

void Put(std::string& out, const Hello& f) {
  out += kMagic;
  base::PutVarint32(out, f.version);
  base::PutFixed64(out, f.token);
}
void Put(std::string& out, const Welcome& f) {
  base::PutVarint32(out, f.version);
  base::PutVarint64(out, f.pid);
  base::PutVarint32(out, f.brokers);
}
void Put(std::string& out, const Done& f) {
  PutStatus(out, f.status);
  base::PutVarint64(out, f.value);
}
void Put(std::string&, const Handover&) {}
void Put(std::string& out, const ProduceOpen& f) {
  const ProduceRequest& r = f.request;
  base::PutLengthPrefixed(out, r.topic);
  base::PutVarint32(out, r.partitions);
  base::PutVarint32(out, r.replication);
  out.push_back(static_cast<char>(r.acks));
  base::PutVarint64(out, static_cast<uint64_t>(r.linger_ms));
  PutBool(out, r.key_by_line);
}
void Put(std::string& out, const ProduceLine& f) {
  base::PutVarint64(out, f.seq);
  base::PutLengthPrefixed(out, f.line);
}
void Put(std::string& out, const LineAcked& f) {
  base::PutVarint64(out, f.seq);
  base::PutVarint32(out, f.ack.partition);
  PutBool(out, f.ack.offset.has_value());
  if (f.ack.offset) base::PutVarint64(out, *f.ack.offset);
}
void Put(std::string& out, const LineFailed& f) {
  KEEL_ASSERT(!f.status.ok(), "a LineFailed frame with an OK status");
  base::PutVarint64(out, f.seq);
  PutStatus(out, f.status);
}
void Put(std::string&, const ProduceFlush&) {}
void Put(std::string& out, const ConsumeOpen& f) {
  base::PutLengthPrefixed(out, f.request.topic);
  base::PutLengthPrefixed(out, f.request.group);
  PutBool(out, f.request.from_beginning);
}
void Put(std::string& out, const ConsumePoll& f) { base::PutVarint32(out, f.max_messages); }
void Put(std::string& out, const Messages& f) {
  PutBool(out, f.more);
  base::PutVarint32(out, static_cast<uint32_t>(f.messages.size()));
  for (const Delivered& m : f.messages) {
    base::PutVarint32(out, m.partition);
    base::PutVarint64(out, m.offset);
    base::PutLengthPrefixed(out, m.value);
  }
}
void Put(std::string&, const ConsumeCommit&) {}
void Put(std::string&, const ConsumeClose&) {}

// ---------------------------------------------------------------------------------------------
// Decoding: one Get per frame, reading its fields after the type byte.
// ---------------------------------------------------------------------------------------------

absl::StatusOr<bool> GetBool(base::Reader& in, const char* field) {
  const size_t at = in.offset();
  KEEL_ASSIGN_OR_RETURN(const uint8_t b, in.ReadByte());
  if (b > 1) {
    return absl::InvalidArgumentError(
        base::Cat(field, " at offset ", at, " is ", b, ": want 0 or 1"));
  }
  return b == 1;
}

absl::StatusOr<std::string> GetString(base::Reader& in) {
  KEEL_ASSIGN_OR_RETURN(const std::string_view s, in.ReadLengthPrefixed());
  return std::string(s);
}

// Reads a status into *status (a StatusOr<absl::Status> could not tell a decoding error from a
// decoded one).
absl::Status GetStatus(base::Reader& in, absl::Status* status) {
  const size_t at = in.offset();
  KEEL_ASSIGN_OR_RETURN(const uint32_t code, in.ReadVarint32());
  if (code > kMaxStatusCode) {
    return absl::InvalidArgumentError(
        base::Cat("status code ", code, " at offset ", at, " is unknown"));
  }
  KEEL_ASSIGN_OR_RETURN(const std::string_view message, in.ReadLengthPrefixed());
  if (code == 0 && !message.empty()) {
    // An OK status has no message: each status has one encoding.
    return absl::InvalidArgumentError(base::Cat("an OK status at offset ", at, " with a message"));
  }
  *status = absl::Status(static_cast<absl::StatusCode>(code),
                         absl::string_view(message.data(), message.size()));
  return absl::OkStatus();
}

absl::StatusOr<Frame> GetHello(base::Reader& in) {
  KEEL_ASSIGN_OR_RETURN(const std::string_view magic, in.ReadBytes(kMagic.size()));
  if (magic != kMagic) {
    return absl::InvalidArgumentError(
        base::Cat("magic ", base::Quoted(magic), ", not ", base::Quoted(kMagic)));
  }
  Hello f;
  KEEL_ASSIGN_OR_RETURN(f.version, in.ReadVarint32());
  KEEL_ASSIGN_OR_RETURN(f.token, in.ReadFixed64());
  return f;
}
absl::StatusOr<Frame> GetWelcome(base::Reader& in) {
  Welcome f;
  KEEL_ASSIGN_OR_RETURN(f.version, in.ReadVarint32());
  KEEL_ASSIGN_OR_RETURN(f.pid, in.ReadVarint64());
  KEEL_ASSIGN_OR_RETURN(f.brokers, in.ReadVarint32());
  return f;
}
absl::StatusOr<Frame> GetDone(base::Reader& in) {
  Done f;
  KEEL_RETURN_IF_ERROR(GetStatus(in, &f.status));
  KEEL_ASSIGN_OR_RETURN(f.value, in.ReadVarint64());
  return f;
}
absl::StatusOr<Frame> GetProduceOpen(base::Reader& in) {
  ProduceRequest r;
  KEEL_ASSIGN_OR_RETURN(r.topic, GetString(in));
  KEEL_ASSIGN_OR_RETURN(r.partitions, in.ReadVarint32());
  KEEL_ASSIGN_OR_RETURN(r.replication, in.ReadVarint32());
  const size_t at = in.offset();
  KEEL_ASSIGN_OR_RETURN(const uint8_t acks, in.ReadByte());
  if (acks > static_cast<uint8_t>(mq::Acks::kAll)) {
    return absl::InvalidArgumentError(
        base::Cat("acks level ", acks, " at offset ", at, ": want 0 to 2"));
  }
  r.acks = static_cast<mq::Acks>(acks);
  KEEL_ASSIGN_OR_RETURN(const uint64_t linger_ms, in.ReadVarint64());
  if (linger_ms > static_cast<uint64_t>(kMaxMillis)) {
    return absl::InvalidArgumentError(
        base::Cat("a linger of ", linger_ms, " ms: want at most ", kMaxMillis));
  }
  r.linger_ms = static_cast<int64_t>(linger_ms);
  KEEL_ASSIGN_OR_RETURN(r.key_by_line, GetBool(in, "key_by_line"));
  return ProduceOpen{std::move(r)};
}
absl::StatusOr<Frame> GetProduceLine(base::Reader& in) {
  ProduceLine f;
  KEEL_ASSIGN_OR_RETURN(f.seq, in.ReadVarint64());
  KEEL_ASSIGN_OR_RETURN(f.line, GetString(in));
  return f;
}
absl::StatusOr<Frame> GetLineAcked(base::Reader& in) {
  LineAcked f;
  KEEL_ASSIGN_OR_RETURN(f.seq, in.ReadVarint64());
  KEEL_ASSIGN_OR_RETURN(f.ack.partition, in.ReadVarint32());
  KEEL_ASSIGN_OR_RETURN(const bool has_offset, GetBool(in, "has_offset"));
  if (has_offset) {
    KEEL_ASSIGN_OR_RETURN(f.ack.offset, in.ReadVarint64());
  }
  return f;
}
absl::StatusOr<Frame> GetLineFailed(base::Reader& in) {
  LineFailed f;
  KEEL_ASSIGN_OR_RETURN(f.seq, in.ReadVarint64());
  const size_t at = in.offset();
  KEEL_RETURN_IF_ERROR(GetStatus(in, &f.status));
  if (f.status.ok()) {
    return absl::InvalidArgumentError(base::Cat("status at offset ", at, " is OK: want an error"));
  }
  return f;
}
absl::StatusOr<Frame> GetConsumeOpen(base::Reader& in) {
  ConsumeRequest r;
  KEEL_ASSIGN_OR_RETURN(r.topic, GetString(in));
  KEEL_ASSIGN_OR_RETURN(r.group, GetString(in));
  KEEL_ASSIGN_OR_RETURN(r.from_beginning, GetBool(in, "from_beginning"));
  return ConsumeOpen{std::move(r)};
}
absl::StatusOr<Frame> GetConsumePoll(base::Reader& in) {
  ConsumePoll f;
  KEEL_ASSIGN_OR_RETURN(f.max_messages, in.ReadVarint32());
  return f;
}
absl::StatusOr<Frame> GetMessages(base::Reader& in) {
  Messages f;
  KEEL_ASSIGN_OR_RETURN(f.more, GetBool(in, "more"));
  const size_t at = in.offset();
  KEEL_ASSIGN_OR_RETURN(const uint32_t count, in.ReadVarint32());
  // Each message takes at least three bytes, so a count the body cannot hold is refused before
  // anything is reserved for it.
  if (count > in.remaining() / 3) {
    return absl::OutOfRangeError(base::Cat("a count of ", count, " messages at offset ", at,
                                           " with ", in.remaining(), " bytes left"));
  }
  f.messages.reserve(count);
  for (uint32_t i = 0; i < count; ++i) {
    Delivered& m = f.messages.emplace_back();
    KEEL_ASSIGN_OR_RETURN(m.partition, in.ReadVarint32());
    KEEL_ASSIGN_OR_RETURN(m.offset, in.ReadVarint64());
    KEEL_ASSIGN_OR_RETURN(m.value, GetString(in));
  }
  return f;
}

absl::StatusOr<Frame> GetBody(uint8_t type, base::Reader& in) {
  switch (type) {
    case 1:
      return GetHello(in);
    case 2:
      return GetWelcome(in);
    case 3:
      return GetDone(in);
    case 4:
      return Handover{};
    case 5:
      return GetProduceOpen(in);
    case 6:
      return GetProduceLine(in);
    case 7:
      return GetLineAcked(in);
    case 8:
      return GetLineFailed(in);
    case 9:
      return ProduceFlush{};
    case 10:
      return GetConsumeOpen(in);
    case 11:
      return GetConsumePoll(in);
    case 12:
      return GetMessages(in);
    case 13:
      return ConsumeCommit{};
    case 14:
      return ConsumeClose{};
  }
  KEEL_ASSERT(false, "frame type ", type, " is not decoded");
  return absl::InternalError("unreachable");
}

}  // namespace

std::string FrameName(uint8_t type) {
  if (type >= 1 && type <= kNames.size()) return kNames[type - 1];
  return base::Cat("type ", type);
}

std::string FrameName(const Frame& frame) { return kNames[frame.index()]; }

std::string EncodeFrame(const Frame& frame) {
  std::string out(kFrameHeaderBytes, '\0');
  out.push_back(static_cast<char>(frame.index() + 1));
  std::visit([&out](const auto& f) { Put(out, f); }, frame);
  const size_t body = out.size() - kFrameHeaderBytes;
  KEEL_ASSERT(body <= kMaxFrameBytes, "a ", FrameName(frame), " frame of ", body, " bytes");
  base::EncodeFixed32(out.data(), static_cast<uint32_t>(body));
  return out;
}

absl::StatusOr<uint32_t> DecodeFrameLength(std::string_view header) {
  KEEL_ASSERT(header.size() == kFrameHeaderBytes);
  const uint32_t length = base::DecodeFixed32(header.data());
  if (length == 0 || length > kMaxFrameBytes) {
    return absl::InvalidArgumentError(
        base::Cat("a frame of ", length, " bytes: want 1 to ", kMaxFrameBytes));
  }
  return length;
}

absl::StatusOr<Frame> DecodeFrame(std::string_view body) {
  base::Reader in(body);
  absl::StatusOr<uint8_t> type = in.ReadByte();
  if (!type.ok()) return absl::OutOfRangeError("an empty frame");
  if (*type < 1 || *type > kNames.size()) {
    return absl::InvalidArgumentError(base::Cat("frame type ", *type, " is unknown"));
  }
  absl::StatusOr<Frame> frame = GetBody(*type, in);
  absl::Status status = frame.status();
  if (status.ok()) status = in.ExpectEnd();
  if (!status.ok()) {
    return absl::Status(status.code(),
                        base::Cat("a ", FrameName(*type), " frame: ", status.message()));
  }
  return frame;
}

}  // namespace keel::examples::wire
