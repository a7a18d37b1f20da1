// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// The Raft codecs against their own inverse: every value encoded and decoded comes back equal,
// and every byte string the decoders accept is exactly the encoding of what they return (keel's
// varints have one accepted encoding each, flags and enums are checked, so decoding is
// injective). Damage of every kind (each truncation, each flipped bit, random bytes, a count or a
// length that promises more than there is) gives kDataLoss and no crash or large allocation.
#include "keel/raft/codec.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <functional>
#include <limits>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "keel/base/coding.h"
#include "keel/base/random.h"
#include "keel/base/strings.h"
#include "testing/testing.h"

namespace keel::raft {
namespace {

constexpr uint64_t kMax64 = std::numeric_limits<uint64_t>::max();

Entry TermAt(uint64_t term, uint64_t index) {
  Entry entry;
  entry.term = term;
  entry.index = index;
  return entry;
}

// A value from every length class of a varint: zero, one byte, a few bytes, all ten.
uint64_t RandomVarint(base::Random& rng) {
  switch (rng.Uniform(4)) {
    case 0:
      return 0;
    case 1:
      return rng.Uniform(128);
    case 2:
      return rng.Next() >> rng.Uniform(64);
    default:
      return rng.Next() | (uint64_t{1} << 63);
  }
}

std::string RandomBytes(base::Random& rng, size_t max) {
  std::string bytes(rng.Uniform(max + 1), '\0');
  for (char& c : bytes) c = static_cast<char>(rng.Uniform(256));
  return bytes;
}

std::vector<NodeId> RandomIds(base::Random& rng) {
  std::vector<NodeId> ids(rng.Uniform(6));
  for (NodeId& id : ids) id = rng.Bernoulli(0.1) ? kNoNode : RandomVarint(rng);
  return ids;
}

ConfState RandomConfState(base::Random& rng) {
  return ConfState{.voters = RandomIds(rng),
                   .voters_outgoing = RandomIds(rng),
                   .learners = RandomIds(rng),
                   .learners_next = RandomIds(rng),
                   .auto_leave = rng.Bernoulli(0.5)};
}

SnapshotMetadata RandomMetadata(base::Random& rng) {
  return SnapshotMetadata{
      .index = RandomVarint(rng), .term = RandomVarint(rng), .conf = RandomConfState(rng)};
}

Entry RandomEntry(base::Random& rng, uint64_t index) {
  return Entry{.term = RandomVarint(rng),
               .index = index,
               .type = rng.Bernoulli(0.5) ? EntryType::kNormal : EntryType::kConfChange,
               .data = RandomBytes(rng, 40)};
}

// A message of any type with every field set. Entries follow `index` (the format implies their
// indexes), sometimes up to the largest index there is.
Message RandomMessage(base::Random& rng) {
  Message message;
  message.type = static_cast<MessageType>(rng.Uniform(kMessageTypeCount));
  message.from = RandomVarint(rng);
  message.to = RandomVarint(rng);
  message.term = RandomVarint(rng);
  message.log_term = RandomVarint(rng);
  message.index = RandomVarint(rng);
  message.entries.resize(rng.Uniform(5));
  if (message.index > kMax64 - message.entries.size() || rng.Bernoulli(0.05)) {
    message.index = kMax64 - message.entries.size();
  }
  for (size_t i = 0; i < message.entries.size(); ++i) {
    message.entries[i] = RandomEntry(rng, message.index + 1 + i);
  }
  message.commit = RandomVarint(rng);
  message.reject = rng.Bernoulli(0.5);
  message.reject_hint = RandomVarint(rng);
  message.snapshot = RandomMetadata(rng);
  message.snapshot_offset = RandomVarint(rng);
  message.snapshot_done = rng.Bernoulli(0.5);
  message.snapshot_chunk = RandomBytes(rng, 100);
  message.context = RandomBytes(rng, 20);
  return message;
}

HardState RandomHardState(base::Random& rng) {
  return HardState{.term = RandomVarint(rng),
                   .vote = rng.Bernoulli(0.3) ? kNoNode : RandomVarint(rng),
                   .commit = RandomVarint(rng)};
}

ConfChange RandomConfChange(base::Random& rng) {
  ConfChange change;
  change.transition = static_cast<ConfChangeTransition>(rng.Uniform(3));
  change.changes.resize(rng.Uniform(5));
  for (ConfChangeSingle& single : change.changes) {
    single.type = static_cast<ConfChangeType>(rng.Uniform(3));
    single.node = rng.Bernoulli(0.1) ? kNoNode : RandomVarint(rng);
  }
  change.context = RandomBytes(rng, 30);
  return change;
}

// Message has no operator== (a Snapshot's shared data makes equality a choice); this spells out
// every field, so that a mismatch shows which.
std::string Describe(const Message& m) {
  std::string out =
      base::Cat(MessageTypeName(m.type), " from=", m.from, " to=", m.to, " term=", m.term,
                " log_term=", m.log_term, " index=", m.index, " commit=", m.commit,
                " reject=", m.reject, " reject_hint=", m.reject_hint, " entries=[");
  for (const Entry& e : m.entries) {
    out += base::Cat("(", e.index, " ", e.term, " ", static_cast<int>(e.type), " ",
                     base::Quoted(e.data), ")");
  }
  out += base::Cat("] snapshot=", m.snapshot.index, "/", m.snapshot.term, " conf=");
  for (const auto* ids : {&m.snapshot.conf.voters, &m.snapshot.conf.voters_outgoing,
                          &m.snapshot.conf.learners, &m.snapshot.conf.learners_next}) {
    out += "[";
    for (NodeId id : *ids) out += base::Cat(id, " ");
    out += "]";
  }
  out += base::Cat(" auto_leave=", m.snapshot.conf.auto_leave, " offset=", m.snapshot_offset,
                   " done=", m.snapshot_done, " chunk=", base::Quoted(m.snapshot_chunk),
                   " context=", base::Quoted(m.context));
  return out;
}

// One encoding, seen from outside: a random value's bytes, and a decode that re-encodes what it
// accepted (so that a test can compare bytes without knowing the type).
struct Format {
  std::string_view name;  // as the decoder's errors call it
  std::function<std::string(base::Random&)> random_encoding;
  std::function<absl::StatusOr<std::string>(std::string_view)> reencode;
};

template <typename Decode, typename Encode>
std::function<absl::StatusOr<std::string>(std::string_view)> Reencoder(Decode decode,
                                                                       Encode encode) {
  return [decode, encode](std::string_view bytes) -> absl::StatusOr<std::string> {
    auto value = decode(bytes);
    if (!value.ok()) return value.status();
    return encode(*value);
  };
}

std::vector<Format> Formats() {
  return {
      {"message", [](base::Random& rng) { return EncodeMessage(RandomMessage(rng)); },
       Reencoder(DecodeMessage, EncodeMessage)},
      {"entry", [](base::Random& rng) { return EncodeEntry(RandomEntry(rng, RandomVarint(rng))); },
       Reencoder(DecodeEntry, EncodeEntry)},
      {"hard state", [](base::Random& rng) { return EncodeHardState(RandomHardState(rng)); },
       Reencoder(DecodeHardState, EncodeHardState)},
      {"membership change",
       [](base::Random& rng) { return EncodeConfChange(RandomConfChange(rng)); },
       Reencoder(DecodeConfChange, EncodeConfChange)},
      {"snapshot metadata",
       [](base::Random& rng) { return EncodeSnapshotMetadata(RandomMetadata(rng)); },
       Reencoder(DecodeSnapshotMetadata, EncodeSnapshotMetadata)},
  };
}

// Decodes `bytes` as the format called `name` and re-encodes what it accepted.
absl::StatusOr<std::string> Reencode(std::string_view name, std::string_view bytes) {
  for (const Format& format : Formats()) {
    if (format.name == name) return format.reencode(bytes);
  }
  FAIL("no format ", name);
  return absl::InternalError("unreachable");
}

// Decoding `bytes` either fails with kDataLoss naming the format, or accepts exactly the encoding
// of the value it returns.
void CheckDamaged(const Format& format, std::string_view bytes) {
  const absl::StatusOr<std::string> back = format.reencode(bytes);
  if (back.ok()) {
    CHECK(*back == bytes);
  } else {
    CHECK(back.status().code() == absl::StatusCode::kDataLoss);
    CHECK(absl::StrContains(back.status().message(), base::Cat("bad ", format.name, ": ")));
  }
}

TEST_CASE("Messages of every type with every field set survive encoding and decoding") {
  const uint64_t seed = keel::testing::TestSeed(301);
  CAPTURE(seed);
  base::Random rng(seed);
  for (int i = 0; i < 1500; ++i) {
    const Message message = RandomMessage(rng);
    const std::string bytes = EncodeMessage(message);
    CHECK(EncodedMessageSize(message) == bytes.size());
    const absl::StatusOr<Message> back = DecodeMessage(bytes);
    REQUIRE(back.ok());
    CHECK(Describe(*back) == Describe(message));
  }
  const Message empty;
  CHECK(EncodedMessageSize(empty) == EncodeMessage(empty).size());
  CHECK(Describe(*DecodeMessage(EncodeMessage(empty))) == Describe(empty));
}

TEST_CASE("EncodedMessageSize counts large entries chunks and contexts exactly") {
  Message message;
  message.type = MessageType::kSnapshot;
  message.index = 7;
  for (const size_t size : {0, 127, 128, 16383, 16384, 1 << 21}) {
    CAPTURE(size);
    Entry entry = TermAt(1, 8 + message.entries.size());
    entry.data.assign(size, 'e');
    message.entries.push_back(std::move(entry));
    message.snapshot_chunk.assign(size, 's');
    message.context.assign(size / 2, 'c');
    CHECK(EncodedMessageSize(message) == EncodeMessage(message).size());
  }
}

TEST_CASE("Entries hard states membership changes and snapshot metadata survive encoding") {
  const uint64_t seed = keel::testing::TestSeed(302);
  CAPTURE(seed);
  base::Random rng(seed);
  for (int i = 0; i < 2000; ++i) {
    const Entry entry = RandomEntry(rng, RandomVarint(rng));
    CHECK(*DecodeEntry(EncodeEntry(entry)) == entry);
    const HardState state = RandomHardState(rng);
    CHECK(*DecodeHardState(EncodeHardState(state)) == state);
    const ConfChange change = RandomConfChange(rng);
    CHECK(*DecodeConfChange(EncodeConfChange(change)) == change);
    const SnapshotMetadata metadata = RandomMetadata(rng);
    CHECK(*DecodeSnapshotMetadata(EncodeSnapshotMetadata(metadata)) == metadata);
  }
  CHECK(*DecodeEntry(EncodeEntry(Entry{})) == Entry{});
  CHECK(*DecodeHardState(EncodeHardState(HardState{})) == HardState{});
  CHECK(*DecodeConfChange(EncodeConfChange(ConfChange{})) == ConfChange{});
  CHECK(*DecodeSnapshotMetadata(EncodeSnapshotMetadata(SnapshotMetadata{})) == SnapshotMetadata{});
}

TEST_CASE("Every truncation and every trailing byte is data loss in every format") {
  const uint64_t seed = keel::testing::TestSeed(303);
  CAPTURE(seed);
  base::Random rng(seed);
  for (const Format& format : Formats()) {
    CAPTURE(format.name);
    for (int i = 0; i < 40; ++i) {
      const std::string bytes = format.random_encoding(rng);
      REQUIRE(format.reencode(bytes).ok());
      for (size_t size = 0; size < bytes.size(); ++size) {
        CAPTURE(size);
        const absl::Status status = format.reencode(bytes.substr(0, size)).status();
        CHECK(status.code() == absl::StatusCode::kDataLoss);
      }
      for (const char extra : {'\0', 'x', '\xff'}) {
        CHECK(format.reencode(bytes + extra).status().code() == absl::StatusCode::kDataLoss);
      }
    }
  }
}

TEST_CASE("A flipped bit is data loss or the exact encoding of another value") {
  const uint64_t seed = keel::testing::TestSeed(304);
  CAPTURE(seed);
  base::Random rng(seed);
  for (const Format& format : Formats()) {
    CAPTURE(format.name);
    for (int i = 0; i < 20; ++i) {
      const std::string bytes = format.random_encoding(rng);
      // Every bit of short encodings; a sample of the bits of long ones.
      const size_t bits = bytes.size() * 8;
      const size_t flips = std::min<size_t>(bits, 400);
      for (size_t f = 0; f < flips; ++f) {
        const size_t bit = flips == bits ? f : rng.Uniform(bits);
        CAPTURE(bit);
        std::string flipped = bytes;
        flipped[bit / 8] = static_cast<char>(flipped[bit / 8] ^ (1 << (bit % 8)));
        CheckDamaged(format, flipped);
      }
    }
  }
}

TEST_CASE("Random bytes are data loss or the exact encoding of a value") {
  const uint64_t seed = keel::testing::TestSeed(305);
  CAPTURE(seed);
  base::Random rng(seed);
  for (const Format& format : Formats()) {
    CAPTURE(format.name);
    for (int i = 0; i < 3000; ++i) {
      std::string bytes = RandomBytes(rng, 80);
      // Most random strings stop at the version byte; a valid one gets the decoder further in.
      if (!bytes.empty() && rng.Bernoulli(0.8)) bytes[0] = 1;
      if (format.name == "message" && bytes.size() > 1 && rng.Bernoulli(0.8)) {
        bytes[1] = static_cast<char>(rng.Uniform(kMessageTypeCount));
      }
      CheckDamaged(format, bytes);
    }
  }
}

// A message whose fixed fields all take one byte, so that the layout is known: version 0, type
// 1, from 2, to 3, term 4, log_term 5, index 6, commit 7, flags 8, reject_hint 9, entry count 10.
Message SmallMessage() {
  Message message;
  message.type = MessageType::kAppend;
  message.from = 1;
  message.to = 2;
  message.term = 3;
  message.log_term = 2;
  message.index = 4;
  message.commit = 3;
  message.reject = true;
  message.snapshot_done = true;
  return message;
}

TEST_CASE("Unknown versions types and flags are refused with the value in the message") {
  const auto refused = [](const absl::Status& status, const std::string& what) {
    CAPTURE(status);
    CHECK(status.code() == absl::StatusCode::kDataLoss);
    CHECK(absl::StrContains(status.message(), what));
  };
  const std::string message = EncodeMessage(SmallMessage());
  REQUIRE(message[8] == 3);  // both flags
  const std::vector<std::pair<std::string_view, std::string>> encodings = {
      {"message", message},
      {"entry", EncodeEntry(TermAt(1, 1))},
      {"hard state", EncodeHardState(HardState{})},
      {"membership change", EncodeConfChange(ConfChange{})},
      {"snapshot metadata", EncodeSnapshotMetadata(SnapshotMetadata{})}};
  for (const auto& [name, bytes] : encodings) {
    for (const int version : {0, 2, 255}) {
      std::string other = bytes;
      other[0] = static_cast<char>(version);
      refused(Reencode(name, other).status(), base::Cat(name, " has unknown version ", version));
    }
  }

  for (const int type : {kMessageTypeCount, 100, 255}) {
    std::string other = message;
    other[1] = static_cast<char>(type);
    refused(DecodeMessage(other).status(), base::Cat("unknown message type ", type));
  }
  for (const int flags : {4, 7, 128}) {
    std::string other = message;
    other[8] = static_cast<char>(flags);
    refused(DecodeMessage(other).status(), base::Cat("unknown message flags ", flags));
  }
  // An entry's type: version, index 1, term 1, then the type byte.
  for (const int type : {2, 9, 255}) {
    std::string entry = EncodeEntry(TermAt(1, 1));
    entry[3] = static_cast<char>(type);
    refused(DecodeEntry(entry).status(), base::Cat("unknown entry type ", type));
    Message with_entry = SmallMessage();
    with_entry.entries.push_back(TermAt(3, 5));
    std::string wire = EncodeMessage(with_entry);
    REQUIRE(wire[10] == 1);  // one entry; its term at 11, its type at 12
    wire[12] = static_cast<char>(type);
    refused(DecodeMessage(wire).status(), base::Cat("unknown entry type ", type));
  }
  // A membership change: version, transition, count, then each change's type and node.
  for (const int transition : {3, 255}) {
    std::string change = EncodeConfChange(ConfChange{});
    change[1] = static_cast<char>(transition);
    refused(DecodeConfChange(change).status(), base::Cat("unknown transition ", transition));
  }
  for (const int type : {3, 255}) {
    std::string change =
        EncodeConfChange(ConfChange{.changes = {{ConfChangeType::kAddVoter, 1}}, .context = ""});
    change[3] = static_cast<char>(type);
    refused(DecodeConfChange(change).status(), base::Cat("unknown change type ", type));
  }
  // Snapshot metadata: version, index, term, four empty id lists, then auto_leave.
  for (const int flag : {2, 255}) {
    std::string metadata = EncodeSnapshotMetadata(SnapshotMetadata{});
    REQUIRE(metadata.size() == 8);
    metadata[7] = static_cast<char>(flag);
    refused(DecodeSnapshotMetadata(metadata).status(),
            base::Cat("flag byte ", flag, " is not 0 or 1"));
  }
}

TEST_CASE("A count or length larger than the bytes left is refused before anything is reserved") {
  // Each of these would ask for gigabytes (or more than exists) if the decoder trusted it; the
  // decoders compare it with the bytes left first. ASan would report an allocation this size.
  for (const uint64_t count : {uint64_t{1} << 24, uint64_t{1} << 40, kMax64}) {
    CAPTURE(count);
    // Each format's first count or length, after the bytes that come before it, and the words
    // that name it in the refusal.
    const std::vector<std::tuple<std::string_view, std::string, std::string>> places = {
        // The fixed fields of SmallMessage, then the entries' count.
        {"message", EncodeMessage(SmallMessage()).substr(0, 10), "entry count "},
        // Version, index, term, then the voters' count.
        {"snapshot metadata", std::string("\x01\x05\x02", 3), "node id count "},
        // Version, transition, then the changes' count.
        {"membership change", std::string("\x01\x00", 2), "change count "},
        // Version, index, term, type, then the data's length.
        {"entry", std::string("\x01\x01\x01\x00", 4), ""},
    };
    for (const auto& [name, prefix, words] : places) {
      CAPTURE(name);
      std::string bytes = prefix;
      base::PutVarint64(bytes, count);
      bytes += std::string(64, '\0');
      const absl::Status status = Reencode(name, bytes).status();
      CHECK(status.code() == absl::StatusCode::kDataLoss);
      if (!words.empty()) CHECK(absl::StrContains(status.message(), base::Cat(words, count)));
    }
  }
  // Entries whose implied indexes pass the largest index.
  Message last = SmallMessage();
  last.index = kMax64 - 1;
  last.entries.push_back(TermAt(3, kMax64));
  REQUIRE(DecodeMessage(EncodeMessage(last)).ok());
  last.index = kMax64;
  const absl::Status status = DecodeMessage(EncodeMessage(last)).status();
  CHECK(status.code() == absl::StatusCode::kDataLoss);
  CHECK(absl::StrContains(status.message(), base::Cat("after index ", kMax64)));
}

}  // namespace
}  // namespace keel::raft
