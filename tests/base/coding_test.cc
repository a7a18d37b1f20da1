// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "keel/base/coding.h"

#include <doctest/doctest.h>

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "keel/base/random.h"
#include "testing/testing.h"

namespace keel::base {
namespace {

std::string Varint(uint64_t value) {
  std::string out;
  PutVarint64(out, value);
  return out;
}

// The reference decoder: the definition of a strict varint, written for clarity, not speed.
// Returns nullopt when `bytes` does not start with a valid varint of at most `max_bytes` bytes
// whose value fits in `bits` bits; otherwise the value and the bytes it took.
struct Decoded {
  uint64_t value;
  size_t length;
};
std::optional<Decoded> ReferenceVarint(std::string_view bytes, size_t max_bytes, int bits) {
  // Collect the groups up to and including the first byte without the continuation bit.
  std::vector<uint8_t> groups;
  for (const char c : bytes) {
    const auto byte = static_cast<uint8_t>(c);
    groups.push_back(byte & 0x7f);
    if ((byte & 0x80) == 0) break;
    if (groups.size() == max_bytes) return std::nullopt;  // too long, or truncated
  }
  if (groups.empty() || groups.size() > max_bytes) return std::nullopt;
  if ((static_cast<uint8_t>(bytes[groups.size() - 1]) & 0x80) != 0) return std::nullopt;
  if (groups.size() > 1 && groups.back() == 0) return std::nullopt;  // not the shortest form
  // Sum the groups in arbitrary precision (a bit vector) and check the width.
  std::vector<bool> value_bits;
  for (const uint8_t group : groups) {
    for (int b = 0; b < 7; ++b) value_bits.push_back(((group >> b) & 1) != 0);
  }
  uint64_t value = 0;
  for (size_t b = 0; b < value_bits.size(); ++b) {
    if (!value_bits[b]) continue;
    if (static_cast<int>(b) >= bits) return std::nullopt;  // overflow
    value |= uint64_t{1} << b;
  }
  return Decoded{value, groups.size()};
}

TEST_CASE("Fixed-width integers are written least significant byte first") {
  std::string out;
  PutFixed16(out, 0x0201);
  PutFixed32(out, 0x06050403u);
  PutFixed64(out, 0x0e0d0c0b0a090807u);
  CHECK(out == "\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e");
  CHECK(DecodeFixed16(out.data()) == 0x0201);
  CHECK(DecodeFixed32(out.data() + 2) == 0x06050403u);
  CHECK(DecodeFixed64(out.data() + 6) == 0x0e0d0c0b0a090807u);

  char buf[8];
  EncodeFixed64(buf, std::numeric_limits<uint64_t>::max());
  CHECK(std::string_view(buf, 8) == std::string(8, '\xff'));
}

TEST_CASE("Varints take 7 bits per byte, low group first") {
  CHECK(Varint(0) == std::string(1, '\0'));
  CHECK(Varint(1) == "\x01");
  CHECK(Varint(127) == "\x7f");
  CHECK(Varint(128) == "\x80\x01");
  CHECK(Varint(300) == "\xac\x02");
  CHECK(Varint(16383) == "\xff\x7f");
  CHECK(Varint(16384) == "\x80\x80\x01");
  CHECK(Varint(std::numeric_limits<uint64_t>::max()) == "\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01");
  std::string v32;
  PutVarint32(v32, std::numeric_limits<uint32_t>::max());
  CHECK(v32 == "\xff\xff\xff\xff\x0f");
}

TEST_CASE("VarintLength equals the encoded size at every power-of-two boundary") {
  for (int bit = 0; bit < 64; ++bit) {
    const uint64_t p = uint64_t{1} << bit;
    for (const uint64_t v : {p - 1, p, p + 1}) {
      CAPTURE(v);
      CHECK(VarintLength(v) == Varint(v).size());
      char buf[kMaxVarint64Bytes];
      CHECK(static_cast<size_t>(EncodeVarint64(buf, v) - buf) == VarintLength(v));
    }
  }
  CHECK(VarintLength(std::numeric_limits<uint64_t>::max()) == kMaxVarint64Bytes);
  static_assert(VarintLength(0) == 1);
  static_assert(VarintLength(127) == 1 && VarintLength(128) == 2);
}

TEST_CASE("ZigZag maps small magnitudes of either sign to small unsigned values") {
  CHECK(ZigZagEncode32(0) == 0);
  CHECK(ZigZagEncode32(-1) == 1);
  CHECK(ZigZagEncode32(1) == 2);
  CHECK(ZigZagEncode32(-2) == 3);
  CHECK(ZigZagEncode32(std::numeric_limits<int32_t>::max()) == 0xfffffffeu);
  CHECK(ZigZagEncode32(std::numeric_limits<int32_t>::min()) == 0xffffffffu);
  CHECK(ZigZagEncode64(std::numeric_limits<int64_t>::min()) ==
        std::numeric_limits<uint64_t>::max());
  Random rng(testing::TestSeed(8));
  for (int i = 0; i < 10000; ++i) {
    const auto v64 = static_cast<int64_t>(rng.Next());
    const auto v32 = static_cast<int32_t>(rng.Next());
    CHECK(ZigZagDecode64(ZigZagEncode64(v64)) == v64);
    CHECK(ZigZagDecode32(ZigZagEncode32(v32)) == v32);
  }
}

TEST_CASE("Reader decodes what the Put functions wrote") {
  std::string buf;
  PutFixed16(buf, 0xbeef);
  PutFixed32(buf, 0xdeadbeefu);
  PutFixed64(buf, 0x0123456789abcdefu);
  PutVarint32(buf, 300);
  PutVarint64(buf, uint64_t{1} << 63);
  PutVarint64(buf, ZigZagEncode64(-5));
  PutVarint32(buf, ZigZagEncode32(-7));
  PutLengthPrefixed(buf, "hello");
  PutLengthPrefixed(buf, "");
  buf.push_back('\x2a');

  Reader in(buf);
  CHECK(*in.ReadFixed16() == 0xbeef);
  CHECK(*in.ReadFixed32() == 0xdeadbeefu);
  CHECK(*in.ReadFixed64() == 0x0123456789abcdefu);
  CHECK(*in.ReadVarint32() == 300);
  CHECK(*in.ReadVarint64() == uint64_t{1} << 63);
  CHECK(*in.ReadZigZag64() == -5);
  CHECK(*in.ReadZigZag32() == -7);
  CHECK(*in.ReadLengthPrefixed() == "hello");
  CHECK(*in.ReadLengthPrefixed() == "");
  CHECK(!in.ExpectEnd().ok());
  CHECK(*in.ReadByte() == 0x2a);
  CHECK(in.empty());
  CHECK(in.offset() == buf.size());
  CHECK(in.ExpectEnd().ok());
}

TEST_CASE("Every truncated field is OutOfRange and leaves the cursor in place") {
  std::string fields[] = {std::string(2, 'a'),
                          std::string(4, 'b'),
                          std::string(8, 'c'),
                          Varint(1u << 30),
                          Varint(std::numeric_limits<uint64_t>::max()),
                          "\x05hello"};
  using ReadFn = absl::Status (*)(Reader&);
  const ReadFn reads[] = {
      [](Reader& r) { return r.ReadFixed16().status(); },
      [](Reader& r) { return r.ReadFixed32().status(); },
      [](Reader& r) { return r.ReadFixed64().status(); },
      [](Reader& r) { return r.ReadVarint32().status(); },
      [](Reader& r) { return r.ReadVarint64().status(); },
      [](Reader& r) { return r.ReadLengthPrefixed().status(); },
  };
  for (size_t f = 0; f < std::size(reads); ++f) {
    const std::string whole = "xy" + fields[f];
    for (size_t cut = 2; cut < whole.size(); ++cut) {
      CAPTURE(f);
      CAPTURE(cut);
      Reader in(std::string_view(whole).substr(0, cut));
      REQUIRE(in.Skip(2).ok());
      const absl::Status status = reads[f](in);
      CHECK(status.code() == absl::StatusCode::kOutOfRange);
      CHECK(absl::StrContains(status.message(), "at offset 2"));
      CHECK(in.offset() == 2);
    }
    Reader whole_reader(whole);
    REQUIRE(whole_reader.Skip(2).ok());
    CHECK(reads[f](whole_reader).ok());
    CHECK(whole_reader.empty());
  }
}

TEST_CASE("ReadBytes Skip and ReadLengthPrefixed refuse to run past the end") {
  Reader in("abc");
  CHECK(in.ReadBytes(4).status().code() == absl::StatusCode::kOutOfRange);
  CHECK(in.Skip(4).code() == absl::StatusCode::kOutOfRange);
  CHECK(*in.ReadBytes(3) == "abc");
  CHECK(in.ReadByte().status().code() == absl::StatusCode::kOutOfRange);

  // A length prefix claiming far more than the input holds (here 2^63 bytes).
  std::string huge;
  PutVarint64(huge, uint64_t{1} << 63);
  huge += "tail";
  Reader big(huge);
  const absl::Status status = big.ReadLengthPrefixed().status();
  CHECK(status.code() == absl::StatusCode::kOutOfRange);
  CHECK(absl::StrContains(status.message(), "9223372036854775808"));
  CHECK(big.offset() == 0);
}

TEST_CASE("Malformed varints are DataLoss") {
  struct Case {
    std::string bytes;
    bool is_32;
    const char* why;
  };
  const Case cases[] = {
      {std::string(9, '\x80') + "\x81\x01", false, "longer than its maximum"},
      {std::string(10, '\xff') + "\x01", false, "overflows 64 bits"},
      {"\x80\x80\x80\x80\x80\x80\x80\x80\x80\x02", false, "overflows 64 bits"},
      {"\xff\xff\xff\xff\x10", true, "overflows 32 bits"},
      {"\xff\xff\xff\xff\x8f\x01", true, "longer than its maximum"},
      {std::string("\x80\x00", 2), false, "not in its shortest form"},
      {std::string("\xff\x80\x00", 3), true, "not in its shortest form"},
  };
  for (const Case& c : cases) {
    const std::string why = c.why;
    CAPTURE(why);
    Reader in(c.bytes);
    const absl::Status status = c.is_32 ? in.ReadVarint32().status() : in.ReadVarint64().status();
    CHECK(status.code() == absl::StatusCode::kDataLoss);
    CAPTURE(status);
    CHECK(absl::StrContains(status.message(), why));
    CHECK(in.offset() == 0);
  }
}

TEST_CASE("ExpectEnd names trailing bytes") {
  Reader in("abcd");
  REQUIRE(in.Skip(1).ok());
  const absl::Status status = in.ExpectEnd();
  CHECK(status.code() == absl::StatusCode::kDataLoss);
  CHECK(absl::StrContains(status.message(), "3 unexpected bytes at offset 1"));
}

TEST_CASE("Varint decoding agrees with the reference decoder on random bytes") {
  // Random byte strings biased toward continuation bits and zero groups, so that truncated,
  // overlong, overflowing and non-minimal encodings all occur often.
  const uint64_t seed = testing::TestSeed(424242);
  CAPTURE(seed);
  Random rng(seed);
  int accepted = 0;
  for (int trial = 0; trial < 200000; ++trial) {
    std::string bytes(static_cast<size_t>(rng.Uniform(13)), '\0');
    for (char& c : bytes) {
      const uint64_t kind = rng.Uniform(4);
      c = static_cast<char>(kind == 0 ? 0x80 : kind == 1 ? 0x00 : rng.Next());
    }
    for (const bool is_32 : {true, false}) {
      Reader in(bytes);
      absl::StatusOr<uint64_t> got = absl::UnknownError("unset");
      if (is_32) {
        absl::StatusOr<uint32_t> v = in.ReadVarint32();
        got = v.ok() ? absl::StatusOr<uint64_t>(*v) : v.status();
      } else {
        got = in.ReadVarint64();
      }
      const std::optional<Decoded> want =
          ReferenceVarint(bytes, is_32 ? kMaxVarint32Bytes : kMaxVarint64Bytes, is_32 ? 32 : 64);
      CAPTURE(absl::CHexEscape(bytes));
      CAPTURE(is_32);
      REQUIRE(got.ok() == want.has_value());
      if (want) {
        ++accepted;
        CHECK(*got == want->value);
        CHECK(in.offset() == want->length);
        // Strict decoding: the accepted bytes are exactly the canonical encoding.
        CHECK(Varint(*got) == bytes.substr(0, want->length));
      } else {
        CHECK(in.offset() == 0);
      }
    }
  }
  CHECK(accepted > 10000);
}

TEST_CASE("Random records survive an encode-decode round trip") {
  const uint64_t seed = testing::TestSeed(77);
  CAPTURE(seed);
  Random rng(seed);
  for (int trial = 0; trial < 2000; ++trial) {
    // A record of random fields; `fields` remembers what was written.
    std::vector<std::pair<int, uint64_t>> fields;
    std::vector<std::string> strings;
    std::string buf;
    const int n = static_cast<int>(rng.Uniform(20));
    for (int i = 0; i < n; ++i) {
      const int kind = static_cast<int>(rng.Uniform(5));
      const uint64_t v = rng.Next() >> rng.Uniform(64);
      switch (kind) {
        case 0:
          PutFixed32(buf, static_cast<uint32_t>(v));
          break;
        case 1:
          PutFixed64(buf, v);
          break;
        case 2:
          PutVarint32(buf, static_cast<uint32_t>(v));
          break;
        case 3:
          PutVarint64(buf, v);
          break;
        case 4: {
          strings.emplace_back(static_cast<size_t>(v % 300), static_cast<char>(v));
          PutLengthPrefixed(buf, strings.back());
          break;
        }
      }
      fields.emplace_back(kind, v);
    }
    Reader in(buf);
    size_t next_string = 0;
    for (const auto& [kind, v] : fields) {
      switch (kind) {
        case 0:
          CHECK(*in.ReadFixed32() == static_cast<uint32_t>(v));
          break;
        case 1:
          CHECK(*in.ReadFixed64() == v);
          break;
        case 2:
          CHECK(*in.ReadVarint32() == static_cast<uint32_t>(v));
          break;
        case 3:
          CHECK(*in.ReadVarint64() == v);
          break;
        case 4:
          CHECK(*in.ReadLengthPrefixed() == strings[next_string++]);
          break;
      }
    }
    CHECK(in.ExpectEnd().ok());
  }
}

}  // namespace
}  // namespace keel::base
