// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "keel/base/coding.h"

#include "keel/base/assert.h"
#include "keel/base/status.h"
#include "keel/base/strings.h"

namespace keel::base {

absl::Status Reader::Truncated(const char* what, size_t needed) const {
  return absl::OutOfRangeError(Cat("truncated input: a ", what, " at offset ", offset_, " needs ",
                                   needed, " bytes but only ", remaining(), " remain"));
}

absl::Status Reader::VarintError(int bits) const {
  const char* type_name = bits == 32 ? "varint32" : "varint64";
  const size_t max_bytes = static_cast<size_t>((bits + 6) / 7);
  const auto* p = reinterpret_cast<const unsigned char*>(input_.data() + offset_);
  for (size_t i = 0; i < max_bytes; ++i) {
    if (i == remaining()) {
      return absl::OutOfRangeError(Cat("truncated input: the ", type_name, " at offset ", offset_,
                                       " ends after ", i, " bytes, inside the value"));
    }
    const int shift = static_cast<int>(7 * i);
    if (i == max_bytes - 1 && ((p[i] & 0x7f) >> (bits - shift)) != 0) {
      return absl::DataLossError(Cat("malformed input: the ", type_name, " at offset ", offset_,
                                     " overflows ", bits, " bits (byte ", i + 1, " is 0x",
                                     absl::Hex(p[i], absl::kZeroPad2), ")"));
    }
    if ((p[i] & 0x80) == 0) {
      KEEL_ASSERT(i > 0 && p[i] == 0, "the ", type_name, " at offset ", offset_, " is valid");
      return absl::DataLossError(Cat("malformed input: the ", type_name, " at offset ", offset_,
                                     " is not in its shortest form (", i + 1,
                                     " bytes ending in a zero byte)"));
    }
  }
  return absl::DataLossError(Cat("malformed input: the ", type_name, " at offset ", offset_,
                                 " is longer than its maximum of ", max_bytes, " bytes"));
}

absl::StatusOr<int32_t> Reader::ReadZigZag32() {
  KEEL_ASSIGN_OR_RETURN(const uint32_t raw, ReadVarint32());
  return ZigZagDecode32(raw);
}

absl::StatusOr<int64_t> Reader::ReadZigZag64() {
  KEEL_ASSIGN_OR_RETURN(const uint64_t raw, ReadVarint64());
  return ZigZagDecode64(raw);
}

absl::StatusOr<std::string_view> Reader::ReadLengthPrefixed() {
  const size_t start = offset_;
  KEEL_ASSIGN_OR_RETURN(const uint64_t length, ReadVarint64());
  if (length > remaining()) {
    absl::Status error = absl::OutOfRangeError(Cat("truncated input: the byte string at offset ",
                                                   start, " declares ", length, " bytes but only ",
                                                   remaining(), " remain after its length"));
    offset_ = start;  // leave the cursor where it was
    return error;
  }
  return ReadBytes(static_cast<size_t>(length));
}

absl::Status Reader::Skip(size_t n) {
  if (remaining() < n) return Truncated("skip", n);
  offset_ += n;
  return absl::OkStatus();
}

absl::Status Reader::ExpectEnd() const {
  if (empty()) return absl::OkStatus();
  return absl::DataLossError(Cat("malformed input: ", remaining(), " unexpected bytes at offset ",
                                 offset_, ", after the last field"));
}

}  // namespace keel::base
