// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// Binary coding: how keel lays integers and byte strings out in files and messages.
//
// Every on-disk and on-wire format in keel (write-ahead log records, index entries, snapshots,
// replication messages) is built from four kinds of field:
//
//   fixed16/32/64      the integer in 2, 4 or 8 bytes, least significant byte first, whatever the
//                      host's byte order.
//   varint32/64        the integer in 1-5 (1-10) bytes, 7 bits per byte, least significant group
//                      first, the top bit of each byte set when another byte follows; small values
//                      take few bytes. The same encoding as Protocol Buffers and LevelDB.
//   zigzag             maps signed to unsigned integers so that small magnitudes of either sign
//                      stay small as varints: 0, -1, 1, -2, ... become 0, 1, 2, 3, ...
//   length-prefixed    a varint64 byte count, then the bytes.
//
// docs/base.md gives the grammar with worked examples.
//
// Writing appends to a std::string (Put*) or fills a buffer the caller sized (Encode*). Reading
// goes through Reader, a cursor over a std::string_view that checks every bound: input that is
// truncated, overlong or otherwise malformed gives an error naming the offset, never a read past
// the end. Two error codes tell the cases apart, because a log reader must treat them differently:
//
//   absl::StatusCode::kOutOfRange   the input ended inside a field (a torn tail, or "need more").
//   absl::StatusCode::kDataLoss     the bytes cannot be a valid encoding (a varint longer than its
//                                   maximum, one that overflows its type, or one with needless
//                                   trailing zero groups).
//
// Varints are decoded strictly: each value has exactly one accepted encoding, the shortest. So
// re-encoding a decoded record reproduces its bytes, which keeps checksums and state hashes
// meaningful, and a stray zero byte is caught as damage rather than silently absorbed.
//
// Example:
//
//   std::string record;
//   keel::base::PutVarint64(record, offset);
//   keel::base::PutLengthPrefixed(record, payload);
//   keel::base::PutFixed32(record, keel::base::MaskCrc32c(keel::base::Crc32c(record)));
//
//   keel::base::Reader in(record);
//   KEEL_ASSIGN_OR_RETURN(uint64_t offset, in.ReadVarint64());
//   KEEL_ASSIGN_OR_RETURN(std::string_view payload, in.ReadLengthPrefixed());
//   KEEL_ASSIGN_OR_RETURN(uint32_t masked_crc, in.ReadFixed32());
//   KEEL_RETURN_IF_ERROR(in.ExpectEnd());
//
// Nothing here allocates except the Put* functions, which grow their string.
#ifndef KEEL_BASE_CODING_H_
#define KEEL_BASE_CODING_H_

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace keel::base {

inline constexpr size_t kMaxVarint32Bytes = 5;
inline constexpr size_t kMaxVarint64Bytes = 10;

// ---------------------------------------------------------------------------------------------
// Fixed-width integers, little-endian.
// ---------------------------------------------------------------------------------------------

// Writes `value` to dst[0..N). REQUIRES: dst has room for N = sizeof(value) bytes.
inline void EncodeFixed16(char* dst, uint16_t value);
inline void EncodeFixed32(char* dst, uint32_t value);
inline void EncodeFixed64(char* dst, uint64_t value);

// Reads the value at src[0..N). REQUIRES: src has N readable bytes.
[[nodiscard]] inline uint16_t DecodeFixed16(const char* src);
[[nodiscard]] inline uint32_t DecodeFixed32(const char* src);
[[nodiscard]] inline uint64_t DecodeFixed64(const char* src);

// Appends `value` to `dst`.
inline void PutFixed16(std::string& dst, uint16_t value);
inline void PutFixed32(std::string& dst, uint32_t value);
inline void PutFixed64(std::string& dst, uint64_t value);

// ---------------------------------------------------------------------------------------------
// Varints and zigzag.
// ---------------------------------------------------------------------------------------------

// The number of bytes the varint encoding of `value` takes: 1 to kMaxVarint64Bytes.
[[nodiscard]] constexpr size_t VarintLength(uint64_t value);

// Writes the varint encoding of `value` at `dst` and returns the byte just past it.
// REQUIRES: dst has room for VarintLength(value) bytes.
inline char* EncodeVarint32(char* dst, uint32_t value);
inline char* EncodeVarint64(char* dst, uint64_t value);

// Appends the varint encoding of `value` to `dst`.
inline void PutVarint32(std::string& dst, uint32_t value);
inline void PutVarint64(std::string& dst, uint64_t value);

[[nodiscard]] constexpr uint32_t ZigZagEncode32(int32_t value);
[[nodiscard]] constexpr int32_t ZigZagDecode32(uint32_t value);
[[nodiscard]] constexpr uint64_t ZigZagEncode64(int64_t value);
[[nodiscard]] constexpr int64_t ZigZagDecode64(uint64_t value);

// ---------------------------------------------------------------------------------------------
// Length-prefixed byte strings.
// ---------------------------------------------------------------------------------------------

// Appends varint64(bytes.size()) followed by `bytes` to `dst`.
inline void PutLengthPrefixed(std::string& dst, std::string_view bytes);

// ---------------------------------------------------------------------------------------------
// Reader: bounds-checked decoding.
// ---------------------------------------------------------------------------------------------

// A cursor over encoded bytes. Each Read* decodes one field at the cursor and moves past it; on
// error it returns the error and leaves the cursor where it was. Error messages give the offset
// of the field from the start of the input.
//
// A Reader does not own its input: the bytes must outlive the Reader and every string_view it
// returns.
class Reader {
 public:
  explicit Reader(std::string_view input) : input_(input) {}

  // Bytes consumed so far, and bytes left.
  [[nodiscard]] size_t offset() const { return offset_; }
  [[nodiscard]] size_t remaining() const { return input_.size() - offset_; }
  [[nodiscard]] bool empty() const { return remaining() == 0; }

  // The bytes not read yet.
  [[nodiscard]] std::string_view rest() const { return input_.substr(offset_); }

  [[nodiscard]] absl::StatusOr<uint8_t> ReadByte();
  [[nodiscard]] absl::StatusOr<uint16_t> ReadFixed16();
  [[nodiscard]] absl::StatusOr<uint32_t> ReadFixed32();
  [[nodiscard]] absl::StatusOr<uint64_t> ReadFixed64();
  [[nodiscard]] absl::StatusOr<uint32_t> ReadVarint32();
  [[nodiscard]] absl::StatusOr<uint64_t> ReadVarint64();

  // A zigzag-encoded varint.
  [[nodiscard]] absl::StatusOr<int32_t> ReadZigZag32();
  [[nodiscard]] absl::StatusOr<int64_t> ReadZigZag64();

  // The next `n` bytes, as a view into the input.
  [[nodiscard]] absl::StatusOr<std::string_view> ReadBytes(size_t n);

  // A length-prefixed byte string, as a view into the input. A length larger than what is left
  // is kOutOfRange, however large.
  [[nodiscard]] absl::StatusOr<std::string_view> ReadLengthPrefixed();

  // Moves past `n` bytes.
  [[nodiscard]] absl::Status Skip(size_t n);

  // OK if every byte has been read; kDataLoss naming the trailing bytes otherwise. Call it after
  // decoding a record that must fill its buffer exactly.
  [[nodiscard]] absl::Status ExpectEnd() const;

 private:
  // Decodes a varint whose value fits in kBits bits.
  template <int kBits>
  absl::StatusOr<uint64_t> ReadVarint();

  // The error for the varint at the cursor, which ReadVarint<kBits> found invalid.
  absl::Status VarintError(int bits) const;
  absl::Status Truncated(const char* what, size_t needed) const;

  std::string_view input_;
  size_t offset_ = 0;
};

// ---------------------------------------------------------------------------------------------
// Implementation details.
// ---------------------------------------------------------------------------------------------
namespace internal {

// Converts between host and little-endian byte order (std::byteswap is C++23).
template <typename T>
inline T ToLittleEndian(T value) {
  if constexpr (std::endian::native == std::endian::little || sizeof(T) == 1) {
    return value;
  } else if constexpr (sizeof(T) == 2) {
    return __builtin_bswap16(value);
  } else if constexpr (sizeof(T) == 4) {
    return __builtin_bswap32(value);
  } else {
    return __builtin_bswap64(value);
  }
}

template <typename T>
inline void EncodeFixed(char* dst, T value) {
  value = ToLittleEndian(value);
  std::memcpy(dst, &value, sizeof(value));
}

template <typename T>
inline T DecodeFixed(const char* src) {
  T value;
  std::memcpy(&value, src, sizeof(value));
  return ToLittleEndian(value);
}

template <typename T>
inline void PutFixed(std::string& dst, T value) {
  char buf[sizeof(T)];
  EncodeFixed(buf, value);
  dst.append(buf, sizeof(buf));
}

}  // namespace internal

inline void EncodeFixed16(char* dst, uint16_t value) { internal::EncodeFixed(dst, value); }
inline void EncodeFixed32(char* dst, uint32_t value) { internal::EncodeFixed(dst, value); }
inline void EncodeFixed64(char* dst, uint64_t value) { internal::EncodeFixed(dst, value); }

inline uint16_t DecodeFixed16(const char* src) { return internal::DecodeFixed<uint16_t>(src); }
inline uint32_t DecodeFixed32(const char* src) { return internal::DecodeFixed<uint32_t>(src); }
inline uint64_t DecodeFixed64(const char* src) { return internal::DecodeFixed<uint64_t>(src); }

inline void PutFixed16(std::string& dst, uint16_t value) { internal::PutFixed(dst, value); }
inline void PutFixed32(std::string& dst, uint32_t value) { internal::PutFixed(dst, value); }
inline void PutFixed64(std::string& dst, uint64_t value) { internal::PutFixed(dst, value); }

constexpr size_t VarintLength(uint64_t value) {
  // Each byte carries 7 bits; zero still takes one byte.
  const auto bits = static_cast<size_t>(std::bit_width(value | 1));
  return (bits + 6) / 7;
}

inline char* EncodeVarint64(char* dst, uint64_t value) {
  while (value >= 0x80) {
    *dst++ = static_cast<char>(value | 0x80);
    value >>= 7;
  }
  *dst++ = static_cast<char>(value);
  return dst;
}

inline char* EncodeVarint32(char* dst, uint32_t value) { return EncodeVarint64(dst, value); }

inline void PutVarint64(std::string& dst, uint64_t value) {
  // Encoding in place beats encoding into a buffer and appending it: append's variable-length
  // copy costs more than the encoding itself.
  const size_t old_size = dst.size();
  dst.resize(old_size + kMaxVarint64Bytes);
  char* end = EncodeVarint64(dst.data() + old_size, value);
  dst.resize(static_cast<size_t>(end - dst.data()));
}

inline void PutVarint32(std::string& dst, uint32_t value) { PutVarint64(dst, value); }

constexpr uint32_t ZigZagEncode32(int32_t value) {
  return (static_cast<uint32_t>(value) << 1) ^ static_cast<uint32_t>(value >> 31);
}
constexpr int32_t ZigZagDecode32(uint32_t value) {
  return static_cast<int32_t>((value >> 1) ^ (0u - (value & 1)));
}
constexpr uint64_t ZigZagEncode64(int64_t value) {
  return (static_cast<uint64_t>(value) << 1) ^ static_cast<uint64_t>(value >> 63);
}
constexpr int64_t ZigZagDecode64(uint64_t value) {
  return static_cast<int64_t>((value >> 1) ^ (0ull - (value & 1)));
}

inline void PutLengthPrefixed(std::string& dst, std::string_view bytes) {
  PutVarint64(dst, bytes.size());
  dst.append(bytes);
}

// Reader's common cases are inline; building an error is not.

inline absl::StatusOr<uint8_t> Reader::ReadByte() {
  if (remaining() < 1) return Truncated("byte", 1);
  return static_cast<uint8_t>(input_[offset_++]);
}

inline absl::StatusOr<uint16_t> Reader::ReadFixed16() {
  if (remaining() < 2) return Truncated("fixed16", 2);
  const uint16_t value = DecodeFixed16(input_.data() + offset_);
  offset_ += 2;
  return value;
}

inline absl::StatusOr<uint32_t> Reader::ReadFixed32() {
  if (remaining() < 4) return Truncated("fixed32", 4);
  const uint32_t value = DecodeFixed32(input_.data() + offset_);
  offset_ += 4;
  return value;
}

inline absl::StatusOr<uint64_t> Reader::ReadFixed64() {
  if (remaining() < 8) return Truncated("fixed64", 8);
  const uint64_t value = DecodeFixed64(input_.data() + offset_);
  offset_ += 8;
  return value;
}

template <int kBits>
inline absl::StatusOr<uint64_t> Reader::ReadVarint() {
  constexpr size_t kMaxBytes = (kBits + 6) / 7;
  const auto* p = reinterpret_cast<const unsigned char*>(input_.data() + offset_);
  const size_t limit = remaining() < kMaxBytes ? remaining() : kMaxBytes;
  // One-byte values (lengths, tags, small counts) are the common case in every keel format.
  if (limit > 0 && p[0] < 0x80) {
    ++offset_;
    return p[0];
  }
  uint64_t value = 0;
  for (size_t i = 0; i < limit; ++i) {
    const uint64_t byte = p[i];
    value |= (byte & 0x7f) << (7 * i);
    if (byte < 0x80) {
      // Only the last byte can make a varint malformed: a zero after other bytes means a longer
      // form than needed, and in the last byte a type allows, bits beyond the type overflow it.
      const bool not_shortest = i > 0 && byte == 0;
      const bool overflows = i == kMaxBytes - 1 && (byte >> (kBits - 7 * i)) != 0;
      if (not_shortest || overflows) break;
      offset_ += i + 1;
      return value;
    }
  }
  return VarintError(kBits);
}

inline absl::StatusOr<uint32_t> Reader::ReadVarint32() {
  absl::StatusOr<uint64_t> value = ReadVarint<32>();
  if (!value.ok()) return std::move(value).status();
  return static_cast<uint32_t>(*value);
}

inline absl::StatusOr<uint64_t> Reader::ReadVarint64() { return ReadVarint<64>(); }

inline absl::StatusOr<std::string_view> Reader::ReadBytes(size_t n) {
  if (remaining() < n) return Truncated("byte string", n);
  const std::string_view bytes = input_.substr(offset_, n);
  offset_ += n;
  return bytes;
}

}  // namespace keel::base

#endif  // KEEL_BASE_CODING_H_
