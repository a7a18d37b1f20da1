// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "keel/mq/message.h"

#include <doctest/doctest.h>

#include <string>

#include "absl/strings/match.h"
#include "keel/base/coding.h"
#include "keel/base/random.h"
#include "keel/base/strings.h"
#include "testing/testing.h"

namespace keel::mq {
namespace {

std::string RandomBytes(base::Random& rng, size_t max) {
  std::string s(rng.Uniform(max + 1), '\0');
  for (char& c : s) c = static_cast<char>(rng.Uniform(256));
  return s;
}

Message RandomMessage(base::Random& rng) {
  Message m;
  m.key = RandomBytes(rng, 20);
  m.value = RandomBytes(rng, 300);
  m.tag = RandomBytes(rng, 10);
  m.timestamp_ns = static_cast<int64_t>(rng.Next());
  m.deliver_at_ns = rng.Bernoulli(0.5) ? 0 : static_cast<int64_t>(rng.Next());
  m.producer_id = rng.Bernoulli(0.5) ? 0 : rng.Next();
  m.producer_epoch = static_cast<uint32_t>(rng.Next() >> rng.Uniform(64));
  m.sequence = rng.Next() >> rng.Uniform(64);
  m.leader_epoch = rng.Next() >> rng.Uniform(64);
  m.attempts = static_cast<uint32_t>(rng.Uniform(10));
  m.origin_topic = rng.Bernoulli(0.5) ? "" : "orders.retry";
  m.origin_partition = static_cast<uint32_t>(rng.Uniform(1000));
  return m;
}

TEST_CASE("Messages survive encoding and decoding unchanged") {
  const uint64_t seed = keel::testing::TestSeed(201);
  CAPTURE(seed);
  base::Random rng(seed);
  for (int i = 0; i < 2000; ++i) {
    const Message m = RandomMessage(rng);
    const std::string bytes = EncodeMessage(m);
    CHECK(bytes.size() <= EncodedMessageBytes(m));
    const absl::StatusOr<Message> back = DecodeMessage(bytes);
    REQUIRE(back.ok());
    CHECK(*back == m);
    // The header alone reads the same fields, and a leader's stamp replaces the message's epoch.
    const absl::StatusOr<MessageHeader> header = DecodeMessageHeader(bytes);
    REQUIRE(header.ok());
    CHECK(*header == MessageHeader{m.leader_epoch, m.timestamp_ns, m.producer_id, m.producer_epoch,
                                   m.sequence});
    std::string stamped;
    AppendEncodedMessage(m, 77, stamped);
    CHECK(DecodeMessageHeader(stamped)->leader_epoch == 77);
    Message restamped = m;
    restamped.leader_epoch = 77;
    CHECK(*DecodeMessage(stamped) == restamped);
  }
  CHECK(*DecodeMessage(EncodeMessage(Message{})) == Message{});
}

TEST_CASE("Decoding rejects every truncation trailing bytes and unknown versions") {
  const uint64_t seed = keel::testing::TestSeed(202);
  CAPTURE(seed);
  base::Random rng(seed);
  for (int i = 0; i < 50; ++i) {
    const std::string bytes = EncodeMessage(RandomMessage(rng));
    for (size_t size = 0; size < bytes.size(); ++size) {
      CAPTURE(size);
      CHECK(DecodeMessage(bytes.substr(0, size)).status().code() == absl::StatusCode::kDataLoss);
    }
    CHECK(DecodeMessage(bytes + "x").status().code() == absl::StatusCode::kDataLoss);
    // Version 1 (before epochs) and versions from the future are refused, by both decoders.
    for (const int version : {1, 3}) {
      std::string other = bytes;
      other[0] = static_cast<char>(version);
      for (const absl::Status& status :
           {DecodeMessage(other).status(), DecodeMessageHeader(other).status()}) {
        CHECK(status.code() == absl::StatusCode::kDataLoss);
        CHECK(absl::StrContains(status.message(), base::Cat("version ", version)));
      }
    }
    // Every truncation of the header is refused by the header's decoder too.
    const Message m = *DecodeMessage(bytes);
    const size_t header_bytes =
        1 + base::VarintLength(m.leader_epoch) + 16 + base::VarintLength(m.producer_id) +
        base::VarintLength(m.producer_epoch) + base::VarintLength(m.sequence);
    CHECK(DecodeMessageHeader(bytes.substr(0, header_bytes)).ok());
    for (size_t size = 0; size < header_bytes; ++size) {
      CHECK(DecodeMessageHeader(bytes.substr(0, size)).status().code() ==
            absl::StatusCode::kDataLoss);
    }
  }
  // Random bytes never crash the decoder.
  for (int i = 0; i < 10000; ++i) (void)DecodeMessage(RandomBytes(rng, 64));
}

TEST_CASE("Topic names are checked and the bad name is named") {
  for (const char* good : {"orders", "a", "clicks.v2", "user_events-7", "A.B_C-D"}) {
    CAPTURE(good);
    CHECK(CheckTopicName(good).ok());
  }
  for (const std::string& bad :
       {std::string(""), std::string("."), std::string(".."), std::string("has space"),
        std::string("slash/y"), std::string(201, 'a'), std::string("nul\0x", 5)}) {
    CAPTURE(bad);
    const absl::Status status = CheckTopicName(bad);
    CHECK(status.code() == absl::StatusCode::kInvalidArgument);
  }
  CHECK(absl::StrContains(CheckTopicName("has space").message(), "\"has space\""));
}

}  // namespace
}  // namespace keel::mq
