// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// The message_queue tool's wire codec (wire.h): every frame round-trips, every decoding is the
// only one of its bytes, and malformed input (truncated, oversized, random, out of range) gets
// an error naming the frame, never a crash.
#include "wire.h"

#include <doctest/doctest.h>

#include <string>

#include "keel/base/coding.h"
#include "keel/base/random.h"
#include "testing/testing.h"

namespace keel::examples::wire {
namespace {

std::string RandomBytes(base::Random& random, size_t max) {
  std::string out(random.Uniform(max + 1), '\0');
  for (char& c : out) c = static_cast<char>(random.Uniform(256));
  return out;
}

absl::Status RandomError(base::Random& random) {
  return absl::Status(static_cast<absl::StatusCode>(1 + random.Uniform(16)),
                      RandomBytes(random, 40));
}

uint64_t RandomInt(base::Random& random) {
  // Every varint length, not only the long ones a uniform draw gives.
  return random.Next() >> random.Uniform(64);
}

// A frame of the type at `index`, with random fields in their valid ranges.
Frame RandomFrame(base::Random& random, size_t index) {
  switch (index) {
    case 0:
      return Hello{static_cast<uint32_t>(RandomInt(random)), random.Next()};
    case 1:
      return Welcome{static_cast<uint32_t>(RandomInt(random)), RandomInt(random),
                     static_cast<uint32_t>(RandomInt(random))};
    case 2:
      return Done{random.Bernoulli(0.5) ? absl::OkStatus() : RandomError(random),
                  RandomInt(random)};
    case 3:
      return Handover{};
    case 4:
      return ProduceOpen{{.topic = RandomBytes(random, 30),
                          .partitions = static_cast<uint32_t>(RandomInt(random)),
                          .replication = static_cast<uint32_t>(RandomInt(random)),
                          .acks = static_cast<mq::Acks>(random.Uniform(3)),
                          .linger_ms = static_cast<int64_t>(random.Uniform(kMaxMillis + 1)),
                          .key_by_line = random.Bernoulli(0.5)}};
    case 5:
      return ProduceLine{RandomInt(random), RandomBytes(random, 100)};
    case 6:
      return LineAcked{
          RandomInt(random),
          {static_cast<uint32_t>(RandomInt(random)),
           random.Bernoulli(0.5) ? std::optional<uint64_t>(RandomInt(random)) : std::nullopt}};
    case 7:
      return LineFailed{RandomInt(random), RandomError(random)};
    case 8:
      return ProduceFlush{};
    case 9:
      return ConsumeOpen{{.topic = RandomBytes(random, 30),
                          .group = RandomBytes(random, 30),
                          .from_beginning = random.Bernoulli(0.5)}};
    case 10:
      return ConsumePoll{static_cast<uint32_t>(RandomInt(random))};
    case 11: {
      Messages m;
      m.more = random.Bernoulli(0.5);
      const size_t count = random.Uniform(5);
      for (size_t i = 0; i < count; ++i) {
        m.messages.push_back(
            {static_cast<uint32_t>(RandomInt(random)), RandomInt(random), RandomBytes(random, 50)});
      }
      return m;
    }
    case 12:
      return ConsumeCommit{};
    default:
      return ConsumeClose{};
  }
}

// Decodes a whole encoded frame, header and body.
absl::StatusOr<Frame> Decode(std::string_view bytes) {
  REQUIRE(bytes.size() >= kFrameHeaderBytes);
  absl::StatusOr<uint32_t> length = DecodeFrameLength(bytes.substr(0, kFrameHeaderBytes));
  if (!length.ok()) return length.status();
  REQUIRE(*length == bytes.size() - kFrameHeaderBytes);
  return DecodeFrame(bytes.substr(kFrameHeaderBytes));
}

std::string Message(const absl::Status& status) { return std::string(status.message()); }

// The body of a frame of type `type` whose fields are `fields`.
std::string Body(uint8_t type, std::string_view fields) {
  std::string body(1, static_cast<char>(type));
  body += fields;
  return body;
}

TEST_CASE("Every frame round-trips through its encoding") {
  const uint64_t seed = testing::TestSeed(20260511);
  CAPTURE(seed);
  base::Random random(seed);
  for (int round = 0; round < 2000; ++round) {
    const size_t index = round % std::variant_size_v<Frame>;
    const Frame frame = RandomFrame(random, index);
    CAPTURE(FrameName(frame));
    const std::string bytes = EncodeFrame(frame);
    CHECK(static_cast<uint8_t>(bytes[kFrameHeaderBytes]) == index + 1);
    const absl::StatusOr<Frame> decoded = Decode(bytes);
    REQUIRE(decoded.ok());
    CHECK(*decoded == frame);
  }
}

TEST_CASE("A frame cut short anywhere is refused naming the frame") {
  const uint64_t seed = testing::TestSeed(7);
  CAPTURE(seed);
  base::Random random(seed);
  for (size_t index = 0; index < std::variant_size_v<Frame>; ++index) {
    for (int round = 0; round < 20; ++round) {
      const std::string bytes = EncodeFrame(RandomFrame(random, index));
      const std::string_view body = std::string_view(bytes).substr(kFrameHeaderBytes);
      for (size_t cut = 0; cut < body.size(); ++cut) {
        CAPTURE(cut);
        const absl::StatusOr<Frame> decoded = DecodeFrame(body.substr(0, cut));
        REQUIRE_FALSE(decoded.ok());
        if (cut > 0) {
          CHECK(Message(decoded.status())
                    .starts_with("a " + FrameName(static_cast<uint8_t>(index + 1))));
        }
      }
    }
  }
}

TEST_CASE("Random bytes decode to an error or to the frame that encodes to them") {
  // Each frame has one encoding (strict varints, booleans 0 or 1, no message on an OK status),
  // so whatever decodes must encode back to the same bytes.
  const uint64_t seed = testing::TestSeed(99);
  CAPTURE(seed);
  base::Random random(seed);
  int decoded_ok = 0;
  for (int round = 0; round < 20000; ++round) {
    std::string body = RandomBytes(random, 40);
    if (!body.empty()) body[0] = static_cast<char>(1 + random.Uniform(std::variant_size_v<Frame>));
    const absl::StatusOr<Frame> frame = DecodeFrame(body);
    if (!frame.ok()) continue;
    ++decoded_ok;
    CHECK(EncodeFrame(*frame).substr(kFrameHeaderBytes) == body);
  }
  CHECK(decoded_ok > 0);  // the test reaches the frames with few or no fields
}

TEST_CASE("A frame length of zero or over the limit is refused before the body is read") {
  std::string header;
  base::PutFixed32(header, 0);
  CHECK(Message(DecodeFrameLength(header).status()) == "a frame of 0 bytes: want 1 to 4194304");
  header.clear();
  base::PutFixed32(header, kMaxFrameBytes + 1);
  CHECK(absl::IsInvalidArgument(DecodeFrameLength(header).status()));
  CHECK(Message(DecodeFrameLength(header).status()) ==
        "a frame of 4194305 bytes: want 1 to 4194304");
  header.clear();
  base::PutFixed32(header, 0xffffffff);
  CHECK(Message(DecodeFrameLength(header).status()).starts_with("a frame of 4294967295 bytes"));
  header.clear();
  base::PutFixed32(header, kMaxFrameBytes);
  CHECK(*DecodeFrameLength(header) == kMaxFrameBytes);
}

TEST_CASE("Unknown frame types are refused naming the type") {
  CHECK(Message(DecodeFrame("").status()) == "an empty frame");
  CHECK(Message(DecodeFrame(Body(0, "")).status()) == "frame type 0 is unknown");
  for (int type = std::variant_size_v<Frame> + 1; type < 256; ++type) {
    const absl::StatusOr<Frame> frame = DecodeFrame(Body(static_cast<uint8_t>(type), "xyz"));
    CHECK(absl::IsInvalidArgument(frame.status()));
    CHECK(Message(frame.status()) == "frame type " + std::to_string(type) + " is unknown");
  }
  CHECK(FrameName(99) == "type 99");
}

TEST_CASE("Fields out of range are refused naming the field") {
  // A boolean of 2.
  CHECK(Message(DecodeFrame(Body(12, std::string("\2\0", 2))).status()) ==
        "a Messages frame: more at offset 1 is 2: want 0 or 1");
  // acks level 3.
  std::string open;
  base::PutLengthPrefixed(open, "t");
  open += std::string("\0\3\3", 3);
  CHECK(Message(DecodeFrame(Body(5, open)).status()) ==
        "a ProduceOpen frame: acks level 3 at offset 5: want 0 to 2");
  // A linger over a year.
  open.back() = '\2';
  base::PutVarint64(open, static_cast<uint64_t>(kMaxMillis) + 1);
  open.push_back('\0');
  CHECK(
      Message(DecodeFrame(Body(5, open)).status()).starts_with("a ProduceOpen frame: a linger of"));
  // Status code 17, an OK status with a message, a LineFailed that is OK.
  CHECK(Message(DecodeFrame(Body(3, std::string("\x11\0\0", 3))).status()) ==
        "a Done frame: status code 17 at offset 1 is unknown");
  CHECK(Message(DecodeFrame(Body(3, std::string("\0\1x\0", 4))).status()) ==
        "a Done frame: an OK status at offset 1 with a message");
  CHECK(Message(DecodeFrame(Body(8, std::string("\5\0\0", 3))).status()) ==
        "a LineFailed frame: status at offset 2 is OK: want an error");
  // A Hello without the magic.
  CHECK(Message(DecodeFrame(Body(1, "keel-mq-clj\1\0\0\0\0\0\0\0\0")).status())
            .starts_with("a Hello frame: magic \"keel-mq-clj\""));
  // Bytes after the last field.
  CHECK(absl::IsDataLoss(DecodeFrame(Body(9, "x")).status()));
  CHECK(Message(DecodeFrame(Body(9, "x")).status()).starts_with("a ProduceFlush frame: "));
}

TEST_CASE("A message count the frame cannot hold is refused before anything is reserved") {
  std::string fields(1, '\0');
  base::PutVarint32(fields, 0xfffffff0);
  const absl::StatusOr<Frame> frame = DecodeFrame(Body(12, fields));
  CHECK(absl::IsOutOfRange(frame.status()));
  CHECK(Message(frame.status()) ==
        "a Messages frame: a count of 4294967280 messages at offset 2 with 0 bytes left");
}

TEST_CASE("The longest line fits in a frame") {
  const std::string bytes = EncodeFrame(ProduceLine{~uint64_t{0}, std::string(kMaxLineBytes, 'x')});
  CHECK(bytes.size() - kFrameHeaderBytes <= kMaxFrameBytes);
  CHECK(Decode(bytes).ok());
}

}  // namespace
}  // namespace keel::examples::wire
