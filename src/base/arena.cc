// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// The arena of keel/base/internal/arena.h: size classes of 8-byte steps over
// geometrically growing chunks, the large ones 2 MiB huge pages.
#include "keel/base/internal/arena.h"

#include <sys/mman.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <new>
#include <utility>

#include "keel/base/assert.h"

#if defined(__SANITIZE_ADDRESS__)
#define KEEL_ARENA_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define KEEL_ARENA_ASAN 1
#endif
#endif
#ifdef KEEL_ARENA_ASAN
#include <sanitizer/asan_interface.h>
#endif

namespace keel::base::internal {
namespace {

// Marks memory the arena has not handed out (or has taken back) as off limits to the program.
void Poison(void* begin, size_t bytes) {
#ifdef KEEL_ARENA_ASAN
  ASAN_POISON_MEMORY_REGION(begin, bytes);
#else
  (void)begin;
  (void)bytes;
#endif
}

void Unpoison(void* begin, size_t bytes) {
#ifdef KEEL_ARENA_ASAN
  ASAN_UNPOISON_MEMORY_REGION(begin, bytes);
#else
  (void)begin;
  (void)bytes;
#endif
}

// The free-list link stored in a free slot's first 8 bytes (the rest of the slot stays poisoned).
void* NextFree(void* slot) {
  Unpoison(slot, sizeof(void*));
  void* next = *static_cast<void**>(slot);
  return next;
}

void SetNextFree(void* slot, void* next) {
  Unpoison(slot, sizeof(void*));
  *static_cast<void**>(slot) = next;
}

// Every arena's mapped bytes together (Arena::ProcessMappedBytes).
std::atomic<size_t> process_mapped_bytes{0};

}  // namespace

char* MapHugePages(size_t bytes) {
  constexpr size_t kHuge = Arena::kHugeChunkBytes;
  KEEL_DCHECK(bytes > 0 && bytes % kHuge == 0);
  // mmap aligns only to the base page: map one huge page more and unmap the unaligned ends.
  void* raw =
      ::mmap(nullptr, bytes + kHuge, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (raw == MAP_FAILED) return nullptr;
  const auto start = reinterpret_cast<uintptr_t>(raw);
  const uintptr_t aligned = (start + kHuge - 1) & ~(uintptr_t{kHuge} - 1);
  if (aligned > start) ::munmap(raw, aligned - start);
  const uintptr_t tail = aligned + bytes;
  if (start + bytes + kHuge > tail)
    ::munmap(reinterpret_cast<void*>(tail), start + bytes + kHuge - tail);
  // Advice, not a promise: without transparent huge pages the mapping is base pages, still
  // correct. Pages are touched (and backed) only as they are used.
  ::madvise(reinterpret_cast<void*>(aligned), bytes, MADV_HUGEPAGE);
  process_mapped_bytes.fetch_add(bytes, std::memory_order_relaxed);
  return reinterpret_cast<char*>(aligned);
}

void UnmapHugePages(void* pages, size_t bytes) {
  // Shadow memory outlives a mapping: leave none poisoned for whatever is mapped there next.
  Unpoison(pages, bytes);
  ::munmap(pages, bytes);
  process_mapped_bytes.fetch_sub(bytes, std::memory_order_relaxed);
}

size_t Arena::ProcessMappedBytes() { return process_mapped_bytes.load(std::memory_order_relaxed); }

Arena::~Arena() { ReleaseAll(); }

Arena::Arena(Arena&& other) noexcept
    : chunks_(std::move(other.chunks_)),
      free_heads_(std::move(other.free_heads_)),
      next_(std::exchange(other.next_, nullptr)),
      end_(std::exchange(other.end_, nullptr)),
      large_(std::exchange(other.large_, nullptr)),
      live_bytes_(std::exchange(other.live_bytes_, 0)),
      held_bytes_(std::exchange(other.held_bytes_, 0)),
      mapped_bytes_(std::exchange(other.mapped_bytes_, 0)) {
  other.chunks_.clear();
  other.free_heads_.clear();
}

Arena& Arena::operator=(Arena&& other) noexcept {
  if (this != &other) {
    ReleaseAll();
    chunks_ = std::move(other.chunks_);
    free_heads_ = std::move(other.free_heads_);
    next_ = std::exchange(other.next_, nullptr);
    end_ = std::exchange(other.end_, nullptr);
    large_ = std::exchange(other.large_, nullptr);
    live_bytes_ = std::exchange(other.live_bytes_, 0);
    held_bytes_ = std::exchange(other.held_bytes_, 0);
    mapped_bytes_ = std::exchange(other.mapped_bytes_, 0);
    other.chunks_.clear();
    other.free_heads_.clear();
  }
  return *this;
}

void* Arena::Allocate(size_t bytes) {
  KEEL_DCHECK(bytes > 0);
  if (bytes > kMaxSlotBytes) return AllocateLarge(bytes);
  const size_t slot_bytes = SlotBytes(bytes);
  const size_t size_class = slot_bytes / kGranule;
  live_bytes_ += slot_bytes;
  if (size_class < free_heads_.size() && free_heads_[size_class] != nullptr) {
    void* slot = free_heads_[size_class];
    free_heads_[size_class] = NextFree(slot);
    Unpoison(slot, slot_bytes);
    return slot;
  }
  if (static_cast<size_t>(end_ - next_) >= slot_bytes) {
    void* slot = std::exchange(next_, next_ + slot_bytes);
    Unpoison(slot, slot_bytes);
    return slot;
  }
  return AllocateSlow(slot_bytes);
}

void* Arena::AllocateSlow(size_t slot_bytes) {
  // The newest chunk's tail is too short: keep it for a smaller object, and start a chunk.
  if (next_ != end_) PushFree(next_, static_cast<size_t>(end_ - next_));
  NewChunk(slot_bytes);
  void* slot = std::exchange(next_, next_ + slot_bytes);
  Unpoison(slot, slot_bytes);
  return slot;
}

void Arena::NewChunk(size_t at_least) {
  const size_t previous = chunks_.empty() ? 0 : chunks_.back().bytes;
  size_t bytes = std::max(kFirstChunkBytes, std::min(2 * previous, kHugeChunkBytes));
  while (bytes < at_least) bytes *= 2;
  Chunk chunk{nullptr, bytes, false};
  if (bytes == kHugeChunkBytes) chunk.begin = MapHugePages(bytes);
  if (chunk.begin != nullptr) {
    chunk.mapped = true;
    mapped_bytes_ += bytes;
  } else {
    chunk.begin = static_cast<char*>(::operator new(bytes));
  }
  chunks_.push_back(chunk);
  held_bytes_ += bytes;
  next_ = chunk.begin;
  end_ = chunk.begin + bytes;
  Poison(next_, bytes);
}

void Arena::PushFree(char* begin, size_t bytes) {
  KEEL_DCHECK(bytes % kGranule == 0 && bytes <= kMaxSlotBytes);
  const size_t size_class = bytes / kGranule;
  if (size_class >= free_heads_.size()) free_heads_.resize(size_class + 1, nullptr);
  SetNextFree(begin, free_heads_[size_class]);
  free_heads_[size_class] = begin;
  Poison(begin + sizeof(void*), bytes - sizeof(void*));
}

void Arena::Free(void* object, size_t bytes) {
  if (bytes > kMaxSlotBytes) return FreeLarge(object, bytes);
  const size_t slot_bytes = SlotBytes(bytes);
  KEEL_DCHECK(live_bytes_ >= slot_bytes);
  live_bytes_ -= slot_bytes;
  PushFree(static_cast<char*>(object), slot_bytes);
}

void* Arena::AllocateLarge(size_t bytes) {
  auto* large = static_cast<Large*>(::operator new(sizeof(Large) + bytes));
  large->prev = nullptr;
  large->next = large_;
  large->bytes = bytes;
  if (large_ != nullptr) large_->prev = large;
  large_ = large;
  live_bytes_ += bytes;
  held_bytes_ += sizeof(Large) + bytes;
  return large + 1;
}

void Arena::FreeLarge(void* object, size_t bytes) {
  Large* large = static_cast<Large*>(object) - 1;
  if (large->prev != nullptr) {
    large->prev->next = large->next;
  } else {
    large_ = large->next;
  }
  if (large->next != nullptr) large->next->prev = large->prev;
  live_bytes_ -= bytes;
  held_bytes_ -= sizeof(Large) + bytes;
  ::operator delete(static_cast<void*>(large));
}

void Arena::ReleaseAll() {
  for (const Chunk& chunk : chunks_) {
    if (chunk.mapped) {
      UnmapHugePages(chunk.begin, chunk.bytes);
    } else {
      Unpoison(chunk.begin, chunk.bytes);
      ::operator delete(static_cast<void*>(chunk.begin));
    }
  }
  while (large_ != nullptr)
    ::operator delete(static_cast<void*>(std::exchange(large_, large_->next)));
  chunks_.clear();
  free_heads_.clear();
  next_ = end_ = nullptr;
  live_bytes_ = held_bytes_ = mapped_bytes_ = 0;
}

void Arena::Clear() { ReleaseAll(); }

void Arena::CheckInvariants() const {
  // Chunks by address, to find the one holding each free slot.
  std::vector<Chunk> sorted = chunks_;
  std::sort(sorted.begin(), sorted.end(),
            [](const Chunk& a, const Chunk& b) { return a.begin < b.begin; });
  size_t chunk_bytes = 0;
  for (size_t i = 0; i < sorted.size(); ++i) {
    chunk_bytes += sorted[i].bytes;
    if (i > 0) KEEL_ASSERT(sorted[i - 1].begin + sorted[i - 1].bytes <= sorted[i].begin);
  }
  KEEL_ASSERT(chunks_.empty() || (next_ >= chunks_.back().begin &&
                                  end_ == chunks_.back().begin + chunks_.back().bytes));
  const size_t carved = chunk_bytes - static_cast<size_t>(end_ - next_);
  size_t free_bytes = 0;
  std::vector<const char*> seen;
  for (size_t size_class = 0; size_class < free_heads_.size(); ++size_class) {
    const size_t slot_bytes = size_class * kGranule;
    for (void* slot = free_heads_[size_class]; slot != nullptr; slot = NextFree(slot)) {
      const char* p = static_cast<const char*>(slot);
      KEEL_ASSERT(slot_bytes > 0, "a slot on the free list of size 0");
      KEEL_ASSERT(reinterpret_cast<uintptr_t>(p) % kGranule == 0, "a free slot off its granule");
      auto after = std::upper_bound(sorted.begin(), sorted.end(), p,
                                    [](const char* q, const Chunk& c) { return q < c.begin; });
      KEEL_ASSERT(after != sorted.begin(), "a free slot outside every chunk");
      const Chunk& chunk = *(after - 1);
      const char* carved_end =
          chunk.begin == chunks_.back().begin ? next_ : chunk.begin + chunk.bytes;
      KEEL_ASSERT(p + slot_bytes <= carved_end, "a free slot past its chunk's carved part");
      seen.push_back(p);
      free_bytes += slot_bytes;
      KEEL_ASSERT(free_bytes <= carved, "free lists hold more than was carved (a cycle?)");
    }
  }
  std::sort(seen.begin(), seen.end());
  KEEL_ASSERT(std::adjacent_find(seen.begin(), seen.end()) == seen.end(),
              "a slot on the free lists twice");
  size_t large_bytes = 0;
  size_t large_count = 0;
  for (const Large* large = large_; large != nullptr; large = large->next, ++large_count) {
    KEEL_ASSERT(large->next == nullptr || large->next->prev == large, "broken large-object links");
    KEEL_ASSERT(large->bytes > kMaxSlotBytes, "a large object of ", large->bytes, " bytes");
    large_bytes += large->bytes;
  }
  KEEL_ASSERT(held_bytes_ == chunk_bytes + large_bytes + large_count * sizeof(Large), "held bytes ",
              held_bytes_, " but chunks and large objects hold more or less");
  KEEL_ASSERT(live_bytes_ >= large_bytes);
  KEEL_ASSERT(free_bytes + (live_bytes_ - large_bytes) == carved, "live ",
              live_bytes_ - large_bytes, " and free ", free_bytes,
              " slot bytes do not add up to the carved ", carved);
}

}  // namespace keel::base::internal
