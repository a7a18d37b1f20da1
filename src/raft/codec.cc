// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "keel/raft/codec.h"

#include <utility>

#include "keel/base/coding.h"
#include "keel/base/status.h"
#include "keel/base/strings.h"

namespace keel::raft {

namespace {

constexpr uint8_t kVersion = 1;
// The most elements a decoder accepts in a list, before looking at the bytes: a bound on what a
// damaged count can make it reserve.
constexpr uint64_t kMaxListLength = 1 << 24;

// Writes to a string, or only counts, so that sizes come from the same code as the bytes.
class StringSink {
 public:
  void Byte(uint8_t value) { out_.push_back(static_cast<char>(value)); }
  void Varint(uint64_t value) { base::PutVarint64(out_, value); }
  void Bytes(std::string_view bytes) { base::PutLengthPrefixed(out_, bytes); }
  std::string Take() { return std::move(out_); }

 private:
  std::string out_;
};

class CountingSink {
 public:
  void Byte(uint8_t) { ++size_; }
  void Varint(uint64_t value) { size_ += base::VarintLength(value); }
  void Bytes(std::string_view bytes) { size_ += base::VarintLength(bytes.size()) + bytes.size(); }
  size_t size() const { return size_; }

 private:
  size_t size_ = 0;
};

template <typename Sink>
void PutIds(Sink& sink, const std::vector<NodeId>& ids) {
  sink.Varint(ids.size());
  for (NodeId id : ids) sink.Varint(id);
}

template <typename Sink>
void PutConfState(Sink& sink, const ConfState& conf) {
  PutIds(sink, conf.voters);
  PutIds(sink, conf.voters_outgoing);
  PutIds(sink, conf.learners);
  PutIds(sink, conf.learners_next);
  sink.Byte(conf.auto_leave ? 1 : 0);
}

template <typename Sink>
void PutMetadata(Sink& sink, const SnapshotMetadata& metadata) {
  sink.Varint(metadata.index);
  sink.Varint(metadata.term);
  PutConfState(sink, metadata.conf);
}

template <typename Sink>
void PutEntryBody(Sink& sink, const Entry& entry) {
  sink.Varint(entry.term);
  sink.Byte(static_cast<uint8_t>(entry.type));
  sink.Bytes(entry.data);
}

template <typename Sink>
void PutMessage(Sink& sink, const Message& message) {
  sink.Byte(kVersion);
  sink.Byte(static_cast<uint8_t>(message.type));
  sink.Varint(message.from);
  sink.Varint(message.to);
  sink.Varint(message.term);
  sink.Varint(message.log_term);
  sink.Varint(message.index);
  sink.Varint(message.commit);
  sink.Byte(static_cast<uint8_t>((message.reject ? 1 : 0) | (message.snapshot_done ? 2 : 0)));
  sink.Varint(message.reject_hint);
  // Entries follow message.index, so their indexes are implied.
  sink.Varint(message.entries.size());
  for (const Entry& entry : message.entries) PutEntryBody(sink, entry);
  PutMetadata(sink, message.snapshot);
  sink.Varint(message.snapshot_offset);
  sink.Bytes(message.snapshot_chunk);
  sink.Bytes(message.context);
}

absl::Status Damaged(std::string_view what, const absl::Status& cause) {
  return absl::DataLossError(base::Cat("bad ", what, ": ", cause.message()));
}

absl::Status ReadVersion(base::Reader& reader, std::string_view what) {
  KEEL_ASSIGN_OR_RETURN(const uint8_t version, reader.ReadByte());
  if (version != kVersion) {
    return absl::DataLossError(base::Cat(what, " has unknown version ", version));
  }
  return absl::OkStatus();
}

absl::StatusOr<uint64_t> ReadCount(base::Reader& reader, std::string_view what) {
  KEEL_ASSIGN_OR_RETURN(const uint64_t count, reader.ReadVarint64());
  // Every element takes at least one byte.
  if (count > kMaxListLength || count > reader.remaining()) {
    return absl::DataLossError(
        base::Cat(what, " count ", count, " exceeds the ", reader.remaining(), " bytes left"));
  }
  return count;
}

absl::StatusOr<std::vector<NodeId>> ReadIds(base::Reader& reader) {
  KEEL_ASSIGN_OR_RETURN(const uint64_t count, ReadCount(reader, "node id"));
  std::vector<NodeId> ids;
  ids.reserve(count);
  for (uint64_t i = 0; i < count; ++i) {
    KEEL_ASSIGN_OR_RETURN(const uint64_t id, reader.ReadVarint64());
    ids.push_back(id);
  }
  return ids;
}

absl::StatusOr<bool> ReadBool(base::Reader& reader) {
  KEEL_ASSIGN_OR_RETURN(const uint8_t value, reader.ReadByte());
  if (value > 1) return absl::DataLossError(base::Cat("flag byte ", value, " is not 0 or 1"));
  return value == 1;
}

absl::StatusOr<ConfState> ReadConfState(base::Reader& reader) {
  ConfState conf;
  KEEL_ASSIGN_OR_RETURN(conf.voters, ReadIds(reader));
  KEEL_ASSIGN_OR_RETURN(conf.voters_outgoing, ReadIds(reader));
  KEEL_ASSIGN_OR_RETURN(conf.learners, ReadIds(reader));
  KEEL_ASSIGN_OR_RETURN(conf.learners_next, ReadIds(reader));
  KEEL_ASSIGN_OR_RETURN(conf.auto_leave, ReadBool(reader));
  return conf;
}

absl::StatusOr<SnapshotMetadata> ReadMetadata(base::Reader& reader) {
  SnapshotMetadata metadata;
  KEEL_ASSIGN_OR_RETURN(metadata.index, reader.ReadVarint64());
  KEEL_ASSIGN_OR_RETURN(metadata.term, reader.ReadVarint64());
  KEEL_ASSIGN_OR_RETURN(metadata.conf, ReadConfState(reader));
  return metadata;
}

absl::StatusOr<EntryType> ReadEntryType(base::Reader& reader) {
  KEEL_ASSIGN_OR_RETURN(const uint8_t type, reader.ReadByte());
  if (type > static_cast<uint8_t>(EntryType::kConfChange)) {
    return absl::DataLossError(base::Cat("unknown entry type ", type));
  }
  return static_cast<EntryType>(type);
}

absl::Status ReadEntryBody(base::Reader& reader, Entry& entry) {
  KEEL_ASSIGN_OR_RETURN(entry.term, reader.ReadVarint64());
  KEEL_ASSIGN_OR_RETURN(entry.type, ReadEntryType(reader));
  KEEL_ASSIGN_OR_RETURN(const std::string_view data, reader.ReadLengthPrefixed());
  entry.data = std::string(data);
  return absl::OkStatus();
}

absl::StatusOr<Message> ReadMessage(base::Reader& reader) {
  KEEL_RETURN_IF_ERROR(ReadVersion(reader, "message"));
  Message message;
  KEEL_ASSIGN_OR_RETURN(const uint8_t type, reader.ReadByte());
  if (type >= kMessageTypeCount)
    return absl::DataLossError(base::Cat("unknown message type ", type));
  message.type = static_cast<MessageType>(type);
  KEEL_ASSIGN_OR_RETURN(message.from, reader.ReadVarint64());
  KEEL_ASSIGN_OR_RETURN(message.to, reader.ReadVarint64());
  KEEL_ASSIGN_OR_RETURN(message.term, reader.ReadVarint64());
  KEEL_ASSIGN_OR_RETURN(message.log_term, reader.ReadVarint64());
  KEEL_ASSIGN_OR_RETURN(message.index, reader.ReadVarint64());
  KEEL_ASSIGN_OR_RETURN(message.commit, reader.ReadVarint64());
  KEEL_ASSIGN_OR_RETURN(const uint8_t flags, reader.ReadByte());
  if (flags > 3) return absl::DataLossError(base::Cat("unknown message flags ", flags));
  message.reject = (flags & 1) != 0;
  message.snapshot_done = (flags & 2) != 0;
  KEEL_ASSIGN_OR_RETURN(message.reject_hint, reader.ReadVarint64());
  KEEL_ASSIGN_OR_RETURN(const uint64_t count, ReadCount(reader, "entry"));
  if (count > 0 && message.index > UINT64_MAX - count) {
    return absl::DataLossError(base::Cat("entries after index ", message.index, " overflow"));
  }
  message.entries.resize(count);
  for (uint64_t i = 0; i < count; ++i) {
    message.entries[i].index = message.index + 1 + i;
    KEEL_RETURN_IF_ERROR(ReadEntryBody(reader, message.entries[i]));
  }
  KEEL_ASSIGN_OR_RETURN(message.snapshot, ReadMetadata(reader));
  KEEL_ASSIGN_OR_RETURN(message.snapshot_offset, reader.ReadVarint64());
  KEEL_ASSIGN_OR_RETURN(const std::string_view chunk, reader.ReadLengthPrefixed());
  message.snapshot_chunk = std::string(chunk);
  KEEL_ASSIGN_OR_RETURN(const std::string_view context, reader.ReadLengthPrefixed());
  message.context = std::string(context);
  KEEL_RETURN_IF_ERROR(reader.ExpectEnd());
  return message;
}

// Runs a decoder over the whole of `bytes` and names what was being decoded in any error.
template <typename Decode>
auto DecodeAll(std::string_view bytes, std::string_view what, Decode decode)
    -> decltype(decode(std::declval<base::Reader&>())) {
  base::Reader reader(bytes);
  auto result = decode(reader);
  if (!result.ok()) return Damaged(what, result.status());
  if (absl::Status end = reader.ExpectEnd(); !end.ok()) return Damaged(what, end);
  return result;
}

}  // namespace

std::string EncodeMessage(const Message& message) {
  StringSink sink;
  PutMessage(sink, message);
  return sink.Take();
}

size_t EncodedMessageSize(const Message& message) {
  CountingSink sink;
  PutMessage(sink, message);
  return sink.size();
}

absl::StatusOr<Message> DecodeMessage(std::string_view bytes) {
  return DecodeAll(bytes, "message", ReadMessage);
}

std::string EncodeEntry(const Entry& entry) {
  StringSink sink;
  sink.Byte(kVersion);
  sink.Varint(entry.index);
  PutEntryBody(sink, entry);
  return sink.Take();
}

absl::StatusOr<Entry> DecodeEntry(std::string_view bytes) {
  return DecodeAll(bytes, "entry", [](base::Reader& reader) -> absl::StatusOr<Entry> {
    KEEL_RETURN_IF_ERROR(ReadVersion(reader, "entry"));
    Entry entry;
    KEEL_ASSIGN_OR_RETURN(entry.index, reader.ReadVarint64());
    KEEL_RETURN_IF_ERROR(ReadEntryBody(reader, entry));
    return entry;
  });
}

std::string EncodeHardState(const HardState& state) {
  StringSink sink;
  sink.Byte(kVersion);
  sink.Varint(state.term);
  sink.Varint(state.vote);
  sink.Varint(state.commit);
  return sink.Take();
}

absl::StatusOr<HardState> DecodeHardState(std::string_view bytes) {
  return DecodeAll(bytes, "hard state", [](base::Reader& reader) -> absl::StatusOr<HardState> {
    KEEL_RETURN_IF_ERROR(ReadVersion(reader, "hard state"));
    HardState state;
    KEEL_ASSIGN_OR_RETURN(state.term, reader.ReadVarint64());
    KEEL_ASSIGN_OR_RETURN(state.vote, reader.ReadVarint64());
    KEEL_ASSIGN_OR_RETURN(state.commit, reader.ReadVarint64());
    return state;
  });
}

std::string EncodeConfChange(const ConfChange& change) {
  StringSink sink;
  sink.Byte(kVersion);
  sink.Byte(static_cast<uint8_t>(change.transition));
  sink.Varint(change.changes.size());
  for (const ConfChangeSingle& single : change.changes) {
    sink.Byte(static_cast<uint8_t>(single.type));
    sink.Varint(single.node);
  }
  sink.Bytes(change.context);
  return sink.Take();
}

absl::StatusOr<ConfChange> DecodeConfChange(std::string_view bytes) {
  return DecodeAll(
      bytes, "membership change", [](base::Reader& reader) -> absl::StatusOr<ConfChange> {
        KEEL_RETURN_IF_ERROR(ReadVersion(reader, "membership change"));
        ConfChange change;
        KEEL_ASSIGN_OR_RETURN(const uint8_t transition, reader.ReadByte());
        if (transition > static_cast<uint8_t>(ConfChangeTransition::kJointExplicit)) {
          return absl::DataLossError(base::Cat("unknown transition ", transition));
        }
        change.transition = static_cast<ConfChangeTransition>(transition);
        KEEL_ASSIGN_OR_RETURN(const uint64_t count, ReadCount(reader, "change"));
        change.changes.resize(count);
        for (ConfChangeSingle& single : change.changes) {
          KEEL_ASSIGN_OR_RETURN(const uint8_t type, reader.ReadByte());
          if (type > static_cast<uint8_t>(ConfChangeType::kAddLearner)) {
            return absl::DataLossError(base::Cat("unknown change type ", type));
          }
          single.type = static_cast<ConfChangeType>(type);
          KEEL_ASSIGN_OR_RETURN(single.node, reader.ReadVarint64());
        }
        KEEL_ASSIGN_OR_RETURN(const std::string_view context, reader.ReadLengthPrefixed());
        change.context = std::string(context);
        return change;
      });
}

std::string EncodeSnapshotMetadata(const SnapshotMetadata& metadata) {
  StringSink sink;
  sink.Byte(kVersion);
  PutMetadata(sink, metadata);
  return sink.Take();
}

absl::StatusOr<SnapshotMetadata> DecodeSnapshotMetadata(std::string_view bytes) {
  return DecodeAll(bytes, "snapshot metadata",
                   [](base::Reader& reader) -> absl::StatusOr<SnapshotMetadata> {
                     KEEL_RETURN_IF_ERROR(ReadVersion(reader, "snapshot metadata"));
                     return ReadMetadata(reader);
                   });
}

}  // namespace keel::raft
