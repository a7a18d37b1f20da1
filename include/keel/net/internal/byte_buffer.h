// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// ByteBuffer: the growable byte queue under keel::net's parsers. Bytes are appended at the back
// (a socket reads straight into the free tail: PrepareAppend, then CommitAppend) and consumed from
// the front. Consumed space is reclaimed by moving what is left to the start when the tail runs
// out, so a long-lived connection does not grow its buffer without bound while a request is
// never bigger than the buffer already is.
//
// Not part of the public API: RespParser and RespReader use it.
#ifndef KEEL_NET_INTERNAL_BYTE_BUFFER_H_
#define KEEL_NET_INTERNAL_BYTE_BUFFER_H_

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <memory>
#include <span>
#include <string_view>

#include "keel/base/assert.h"

namespace keel::net::internal {

class ByteBuffer {
 public:
  ByteBuffer() = default;
  ByteBuffer(const ByteBuffer&) = delete;
  ByteBuffer& operator=(const ByteBuffer&) = delete;
  ByteBuffer(ByteBuffer&&) noexcept = default;
  ByteBuffer& operator=(ByteBuffer&&) noexcept = default;

  // The bytes appended and not yet consumed.
  [[nodiscard]] std::string_view readable() const { return {data_.get() + begin_, end_ - begin_}; }
  [[nodiscard]] size_t size() const { return end_ - begin_; }
  [[nodiscard]] bool empty() const { return begin_ == end_; }
  [[nodiscard]] size_t capacity() const { return capacity_; }

  // Drops the first `n` readable bytes.
  void Consume(size_t n) {
    KEEL_ASSERT(n <= size());
    begin_ += n;
    if (begin_ == end_) begin_ = end_ = 0;
  }

  // Returns at least `min_bytes` of writable space after the readable bytes, moving or
  // reallocating them (which invalidates every view of readable()). Fill a prefix of the span,
  // then CommitAppend how much was written.
  [[nodiscard]] std::span<char> PrepareAppend(size_t min_bytes) {
    if (capacity_ - end_ < min_bytes) Make(min_bytes);
    return {data_.get() + end_, capacity_ - end_};
  }
  void CommitAppend(size_t n) {
    KEEL_ASSERT(n <= capacity_ - end_);
    end_ += n;
  }
  void Append(std::string_view bytes) {
    if (bytes.empty()) return;
    std::span<char> tail = PrepareAppend(bytes.size());
    std::memcpy(tail.data(), bytes.data(), bytes.size());
    CommitAppend(bytes.size());
  }

  // Frees the allocation when nothing is buffered and it is larger than `keep_bytes`: a
  // connection that once received a large request does not hold that much memory while idle.
  void ShrinkIfEmpty(size_t keep_bytes) {
    if (empty() && capacity_ > keep_bytes) {
      data_.reset();
      capacity_ = 0;
    }
  }

 private:
  void Make(size_t min_bytes) {
    const size_t used = size();
    if (capacity_ - used >= min_bytes && used <= capacity_ / 2) {
      // Enough room once the consumed prefix is reclaimed, and at least half the buffer is free
      // afterwards, so the bytes moved are paid for by as many appended before the next move.
      std::memmove(data_.get(), data_.get() + begin_, used);
    } else {
      const size_t capacity = std::max({capacity_ * 2, used + min_bytes, kMinCapacity});
      // new char[] leaves the bytes uninitialised: they are written before they are read.
      std::unique_ptr<char[]> data(new char[capacity]);
      if (used > 0) std::memcpy(data.get(), data_.get() + begin_, used);
      data_ = std::move(data);
      capacity_ = capacity;
    }
    begin_ = 0;
    end_ = used;
  }

  static constexpr size_t kMinCapacity = 4096;

  std::unique_ptr<char[]> data_;
  size_t capacity_ = 0;
  size_t begin_ = 0;
  size_t end_ = 0;
};

}  // namespace keel::net::internal

#endif  // KEEL_NET_INTERNAL_BYTE_BUFFER_H_
