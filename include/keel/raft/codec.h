// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// Binary encodings of Raft's values: messages on the network, entries and hard state in the
// write-ahead log, membership changes inside entries, snapshot metadata in snapshot files. Each
// is a sequence of varints and length-prefixed byte strings after a one-byte version, so that a
// later format can be told apart; docs/raft.md gives the grammar. Decoding checks everything and
// reports damage as kDataLoss naming the field, never trusting a length it has not checked.
//
// Example:
//
//   std::string wire = keel::raft::EncodeMessage(message);
//   KEEL_ASSIGN_OR_RETURN(keel::raft::Message received, keel::raft::DecodeMessage(wire));
#ifndef KEEL_RAFT_CODEC_H_
#define KEEL_RAFT_CODEC_H_

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "keel/raft/types.h"

namespace keel::raft {

[[nodiscard]] std::string EncodeMessage(const Message& message);
[[nodiscard]] absl::StatusOr<Message> DecodeMessage(std::string_view bytes);
// The size EncodeMessage would produce, without building it.
[[nodiscard]] size_t EncodedMessageSize(const Message& message);

[[nodiscard]] std::string EncodeEntry(const Entry& entry);
[[nodiscard]] absl::StatusOr<Entry> DecodeEntry(std::string_view bytes);

[[nodiscard]] std::string EncodeHardState(const HardState& state);
[[nodiscard]] absl::StatusOr<HardState> DecodeHardState(std::string_view bytes);

[[nodiscard]] std::string EncodeConfChange(const ConfChange& change);
[[nodiscard]] absl::StatusOr<ConfChange> DecodeConfChange(std::string_view bytes);

[[nodiscard]] std::string EncodeSnapshotMetadata(const SnapshotMetadata& metadata);
[[nodiscard]] absl::StatusOr<SnapshotMetadata> DecodeSnapshotMetadata(std::string_view bytes);

}  // namespace keel::raft

#endif  // KEEL_RAFT_CODEC_H_
