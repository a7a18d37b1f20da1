// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "keel/mq/message.h"

#include <doctest/doctest.h>

#include <string>

#include "absl/strings/match.h"
#include "keel/base/random.h"
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
  m.sequence = rng.Next() >> rng.Uniform(64);
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
    const absl::StatusOr<Message> back = DecodeMessage(EncodeMessage(m));
    REQUIRE(back.ok());
    CHECK(*back == m);
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
    std::string future = bytes;
    future[0] = 2;
    const absl::Status status = DecodeMessage(future).status();
    CHECK(status.code() == absl::StatusCode::kDataLoss);
    CHECK(absl::StrContains(status.message(), "version 2"));
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
