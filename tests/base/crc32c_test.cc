// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "keel/base/crc32c.h"

#include <doctest/doctest.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "keel/base/internal/crc32c_internal.h"
#include "keel/base/random.h"
#include "testing/testing.h"

namespace keel::base {
namespace {

// The definition, one bit at a time: the oracle every faster implementation is checked against.
uint32_t BitwiseCrc32c(std::string_view data) {
  uint32_t crc = 0xFFFFFFFFu;
  for (const char c : data) {
    crc ^= static_cast<unsigned char>(c);
    for (int bit = 0; bit < 8; ++bit) crc = (crc & 1) ? (crc >> 1) ^ 0x82F63B78u : crc >> 1;
  }
  return ~crc;
}

using ExtendFn = uint32_t (*)(uint32_t, std::string_view);

// Every implementation this machine can run, with a name for failure messages.
struct Implementation {
  const char* name;
  ExtendFn extend;
};

std::vector<Implementation> Implementations() {
  std::vector<Implementation> all = {{"dispatch", &ExtendCrc32c},
                                     {"portable", &internal::ExtendCrc32cPortable}};
  if (internal::HasHardwareCrc32c()) all.push_back({"hardware", &internal::ExtendCrc32cHardware});
  return all;
}

std::string RandomBytes(Random& rng, size_t n) {
  std::string bytes(n, '\0');
  for (char& c : bytes) c = static_cast<char>(rng.Next());
  return bytes;
}

TEST_CASE("Crc32c matches the RFC 3720 and check-value test vectors") {
  std::string ascending(32, '\0');
  std::string descending(32, '\0');
  for (int i = 0; i < 32; ++i) {
    ascending[static_cast<size_t>(i)] = static_cast<char>(i);
    descending[static_cast<size_t>(i)] = static_cast<char>(31 - i);
  }
  // RFC 3720 appendix B.4: an iSCSI SCSI Read (10) command PDU.
  const unsigned char pdu_bytes[48] = {0x01, 0xc0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
                                       0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00,
                                       0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00, 0x14, 0x00, 0x00,
                                       0x00, 0x18, 0x28, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
                                       0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00};
  const std::string pdu(reinterpret_cast<const char*>(pdu_bytes), sizeof(pdu_bytes));

  struct Vector {
    std::string input;
    uint32_t crc;
  };
  const std::vector<Vector> vectors = {
      {"", 0x00000000u},
      {"123456789", 0xE3069283u},
      {std::string(32, '\0'), 0x8A9136AAu},
      {std::string(32, '\xff'), 0x62A8AB43u},
      {ascending, 0x46DD794Eu},
      {descending, 0x113FDB5Cu},
      {pdu, 0xD9963A56u},
  };
  for (const Implementation& impl : Implementations()) {
    for (const Vector& v : vectors) {
      CAPTURE(impl.name);
      CAPTURE(v.input.size());
      CHECK(impl.extend(0, v.input) == v.crc);
      CHECK(BitwiseCrc32c(v.input) == v.crc);
    }
  }
  CHECK(Crc32c("123456789") == 0xE3069283u);
}

TEST_CASE(
    "Every Crc32c implementation agrees with the bitwise definition at every length and "
    "alignment") {
  const uint64_t seed = testing::TestSeed(20261127);
  CAPTURE(seed);
  Random rng(seed);
  // Offsets 0-7 inside a larger buffer give every alignment of the start.
  const std::string buffer = RandomBytes(rng, 2048 + 8);
  const std::vector<Implementation> implementations = Implementations();
  for (size_t align = 0; align < 8; ++align) {
    for (size_t length = 0; length <= 2048; ++length) {
      const std::string_view data(buffer.data() + align, length);
      const uint32_t expected = BitwiseCrc32c(data);
      for (const Implementation& impl : implementations) {
        if (impl.extend(0, data) != expected) {
          FAIL_CHECK(impl.name, " differs at align ", align, " length ", length);
        }
      }
    }
  }
}

TEST_CASE(
    "Every Crc32c implementation agrees with the bitwise definition around block boundaries") {
  // The hardware path switches strategy at 3 x 256 and 3 x 8192 bytes; probe either side.
  const uint64_t seed = testing::TestSeed(7);
  CAPTURE(seed);
  Random rng(seed);
  const std::string buffer = RandomBytes(rng, 4 * 24576 + 64);
  std::vector<size_t> lengths;
  for (const size_t edge : {768u, 1536u, 24576u, 49152u, 73728u, 98304u}) {
    for (size_t d = 0; d < 17; ++d) lengths.push_back(edge + d - 8);
  }
  for (int i = 0; i < 50; ++i) lengths.push_back(static_cast<size_t>(rng.Uniform(4 * 24576)));
  for (const Implementation& impl : Implementations()) {
    CAPTURE(impl.name);
    for (const size_t length : lengths) {
      const size_t align = static_cast<size_t>(rng.Uniform(8));
      CAPTURE(length);
      CAPTURE(align);
      const std::string_view data(buffer.data() + align, length);
      CHECK(impl.extend(0, data) == BitwiseCrc32c(data));
    }
  }
}

TEST_CASE("ExtendCrc32c over pieces equals Crc32c over the whole") {
  const uint64_t seed = testing::TestSeed(99);
  CAPTURE(seed);
  Random rng(seed);
  for (int trial = 0; trial < 500; ++trial) {
    const std::string whole = RandomBytes(rng, static_cast<size_t>(rng.Uniform(3000)));
    const size_t cut = static_cast<size_t>(rng.Uniform(whole.size() + 1));
    const std::string_view view(whole);
    for (const Implementation& impl : Implementations()) {
      CAPTURE(impl.name);
      CAPTURE(whole.size());
      CAPTURE(cut);
      const uint32_t head = impl.extend(0, view.substr(0, cut));
      CHECK(impl.extend(head, view.substr(cut)) == Crc32c(whole));
    }
  }
}

TEST_CASE("CombineCrc32c joins the CRCs of two pieces without their bytes") {
  const uint64_t seed = testing::TestSeed(12345);
  CAPTURE(seed);
  Random rng(seed);
  for (int trial = 0; trial < 500; ++trial) {
    const std::string a = RandomBytes(rng, static_cast<size_t>(rng.Uniform(2000)));
    const std::string b = RandomBytes(rng, static_cast<size_t>(rng.Uniform(2000)));
    CAPTURE(a.size());
    CAPTURE(b.size());
    CHECK(CombineCrc32c(Crc32c(a), Crc32c(b), b.size()) == Crc32c(a + b));
  }
  // The empty string is the identity on either side.
  CHECK(CombineCrc32c(Crc32c("abc"), Crc32c(""), 0) == Crc32c("abc"));
  CHECK(CombineCrc32c(Crc32c(""), Crc32c("abc"), 3) == Crc32c("abc"));
}

TEST_CASE("CombineCrc32c is associative for lengths far beyond memory") {
  // crc(A+B+C) computed as (A+B)+C and A+(B+C), with B and C terabytes long: exercises the
  // high powers of x without materialising the bytes.
  Random rng(testing::TestSeed(3));
  for (int trial = 0; trial < 200; ++trial) {
    const uint32_t a = static_cast<uint32_t>(rng.Next());
    const uint32_t b = static_cast<uint32_t>(rng.Next());
    const uint32_t c = static_cast<uint32_t>(rng.Next());
    const uint64_t len_b = rng.Next() >> 20;
    const uint64_t len_c = rng.Next() >> 20;
    CAPTURE(len_b);
    CAPTURE(len_c);
    CHECK(CombineCrc32c(CombineCrc32c(a, b, len_b), c, len_c) ==
          CombineCrc32c(a, CombineCrc32c(b, c, len_c), len_b + len_c));
  }
}

TEST_CASE("CombineCrc32c of zero-filled pieces matches computing over the zeros") {
  const std::string zeros(100000, '\0');
  const uint32_t head = Crc32c("head");
  CHECK(CombineCrc32c(head, Crc32c(zeros), zeros.size()) == Crc32c("head" + zeros));
}

TEST_CASE("MaskCrc32c round-trips and changes the value") {
  Random rng(testing::TestSeed(5));
  for (int i = 0; i < 10000; ++i) {
    const uint32_t crc = static_cast<uint32_t>(rng.Next());
    CHECK(UnmaskCrc32c(MaskCrc32c(crc)) == crc);
  }
  const uint32_t crc = Crc32c("foo");
  CHECK(MaskCrc32c(crc) != crc);
  CHECK(MaskCrc32c(MaskCrc32c(crc)) != crc);
  CHECK(MaskCrc32c(MaskCrc32c(crc)) != MaskCrc32c(crc));
  static_assert(UnmaskCrc32c(MaskCrc32c(0xDEADBEEFu)) == 0xDEADBEEFu);
}

TEST_CASE("Crc32cUsesHardware reports the path the dispatcher chose") {
  CHECK(Crc32cUsesHardware() == internal::HasHardwareCrc32c());
  MESSAGE("hardware CRC32C on this machine: ", Crc32cUsesHardware());
}

}  // namespace
}  // namespace keel::base
