// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// Arena: the memory of one structure made of many small objects (a sorted set's entries and tree
// nodes, an idempotency store shard's key blocks), carved from a few large chunks instead of one
// malloc call each. Internal to keel.
//
// Why (measured on the sorted set, the first user): at a million members a sorted set is a million
// small objects (a 14-byte member makes a 23-byte entry) and some forty thousand tree nodes.
// Through malloc each carries an 8-byte chunk header and is rounded up to 16 bytes (a 23-byte entry
// costs 32), and the objects are scattered over 4 KiB pages, so that a rank query or an update,
// which touches a handful of objects, misses the TLB on most of them (measured: rank fell from ~980
// to ~650 ns when glibc's malloc was given huge pages). The arena rounds every object to 8 bytes
// with no header, and packs the set into chunks that, once the set is large, are 2 MiB aligned and
// advised as huge pages (madvise(MADV_HUGEPAGE)), so that the whole of a 1M-member set is covered
// by a few dozen TLB entries.
//
// Layout: chunks grow geometrically from kFirstChunkBytes (a small set stays small) up to
// kHugeChunkBytes, and every chunk after that is one 2 MiB huge page mapped on its own (mmap, not
// malloc: glibc would need twice the size to align it). Objects are bump-allocated from the
// newest chunk; a freed object goes onto a free list of its size class (one class per multiple of
// 8 bytes, the list threaded through the freed objects themselves) and is reused by the next
// allocation of that class. The tail of a chunk too short for the next object goes onto the free
// list of its own size. Objects larger than kMaxSlotBytes (members longer than about 2 KiB) are
// allocated one by one with operator new and linked into a list, so that Clear can free them.
// Clear and destruction free everything at once; nothing is returned to the system before then,
// as with malloc's arenas (a set that shrinks keeps its chunks, and reuses them as it grows).
//
// Under AddressSanitizer, memory not handed out (bump space, freed objects past their free-list
// link) is poisoned, so that a use after free inside the arena is reported as it would be with
// malloc.
//
// Thread safety: none; an arena belongs to one structure, behind that structure's own lock.
#ifndef KEEL_BASE_INTERNAL_ARENA_H_
#define KEEL_BASE_INTERNAL_ARENA_H_

#include <cstddef>
#include <cstdint>
#include <new>
#include <vector>

namespace keel::base::internal {

class Arena {
 public:
  // Every object's size is rounded up to a multiple of this, and every object is aligned to it.
  static constexpr size_t kGranule = 8;
  // Objects up to this size come from chunks; larger ones from operator new.
  static constexpr size_t kMaxSlotBytes = 2048;
  static constexpr size_t kFirstChunkBytes = 512;
  // The size and alignment of a transparent huge page on x86-64 and arm64 (4 KiB base pages).
  static constexpr size_t kHugeChunkBytes = size_t{2} << 20;

  Arena() = default;
  ~Arena();
  Arena(Arena&& other) noexcept;
  Arena& operator=(Arena&& other) noexcept;
  Arena(const Arena&) = delete;
  Arena& operator=(const Arena&) = delete;

  // A new object of `bytes` bytes (> 0), aligned to kGranule, uninitialized. Throws
  // std::bad_alloc when the system has no memory, as operator new does.
  [[nodiscard]] void* Allocate(size_t bytes);
  // REQUIRES: `object` came from Allocate(bytes) of this arena (the same `bytes`), not yet freed.
  void Free(void* object, size_t bytes);
  // Frees every object at once.
  void Clear();

  // The bytes an object of `bytes` bytes takes in the arena.
  [[nodiscard]] static size_t SlotBytes(size_t bytes) {
    return (bytes + kGranule - 1) & ~(kGranule - 1);
  }

  // What an object of `bytes` bytes adds to live_bytes(): its slot, or its own size if large.
  [[nodiscard]] static size_t ChargedBytes(size_t bytes) {
    return bytes > kMaxSlotBytes ? bytes : SlotBytes(bytes);
  }

  // Bytes of the objects alive (their ChargedBytes), bytes held from the system (chunks and large
  // objects, whether in use or not), and the part of held_bytes() mapped directly with mmap (which
  // malloc's statistics do not see).
  [[nodiscard]] size_t live_bytes() const { return live_bytes_; }
  [[nodiscard]] size_t held_bytes() const { return held_bytes_; }
  [[nodiscard]] size_t mapped_bytes() const { return mapped_bytes_; }
  // mapped_bytes() summed over every arena in the process: what a server adds to malloc's
  // statistics to report its memory (INFO's used_memory). Thread-safe.
  [[nodiscard]] static size_t ProcessMappedBytes();

  // Checks that every free slot lies inside a chunk's carved part, on a granule and in no other
  // list, and that live and free slots add up to the carved bytes. O(free slots + chunks); tests.
  void CheckInvariants() const;

 private:
  struct Chunk {
    char* begin;
    size_t bytes;
    bool mapped;  // mmap'ed (a huge page) rather than from operator new
  };
  // A large object's header, linking it into the list Clear walks.
  struct Large {
    Large* prev;
    Large* next;
    size_t bytes;
  };

  void* AllocateSlow(size_t slot_bytes);
  void* AllocateLarge(size_t bytes);
  void FreeLarge(void* object, size_t bytes);
  void NewChunk(size_t at_least);
  // Puts [begin, begin + bytes) on its size class's free list.
  void PushFree(char* begin, size_t bytes);
  void ReleaseAll();

  std::vector<Chunk> chunks_;
  std::vector<void*> free_heads_;  // free_heads_[slot_bytes / kGranule]: a list, nullptr-ended
  char* next_ = nullptr;           // bump space of the newest chunk: [next_, end_)
  char* end_ = nullptr;
  Large* large_ = nullptr;
  size_t live_bytes_ = 0;
  size_t held_bytes_ = 0;
  size_t mapped_bytes_ = 0;
};

// Memory of `bytes` (a multiple of Arena::kHugeChunkBytes) mapped on its own, aligned to a huge
// page and advised as huge pages, zero-filled; nullptr if the system refuses. For a large array
// read at random (a hash table's slots), where 4 KiB pages would cost a TLB miss on most reads.
// Counted in Arena::ProcessMappedBytes until UnmapHugePages(pages, bytes) gives it back.
[[nodiscard]] char* MapHugePages(size_t bytes);
void UnmapHugePages(void* pages, size_t bytes);

// A standard allocator that maps allocations of 2 MiB or more as huge pages of their own
// (MapHugePages, rounded up to whole huge pages) and leaves smaller ones to operator new. For a
// hash table or array that grows large and is read at random, e.g.
// absl::flat_hash_map<K, V, Hash, Eq, HugePageAllocator<std::pair<const K, V>>>.
template <typename T>
struct HugePageAllocator {
  using value_type = T;

  HugePageAllocator() = default;
  template <typename U>
  HugePageAllocator(const HugePageAllocator<U>&) noexcept {}  // NOLINT: rebinding converts

  static size_t MappedBytes(size_t n) {
    const size_t bytes = n * sizeof(T);
    if (bytes < Arena::kHugeChunkBytes) return 0;
    return (bytes + Arena::kHugeChunkBytes - 1) & ~(Arena::kHugeChunkBytes - 1);
  }

  T* allocate(size_t n) {
    if (const size_t mapped = MappedBytes(n); mapped != 0) {
      if (char* pages = MapHugePages(mapped); pages != nullptr) return reinterpret_cast<T*>(pages);
      throw std::bad_alloc();
    }
    return static_cast<T*>(::operator new (n * sizeof(T), std::align_val_t{alignof(T)}));
  }
  void deallocate(T* p, size_t n) noexcept {
    if (const size_t mapped = MappedBytes(n); mapped != 0) {
      UnmapHugePages(p, mapped);
      return;
    }
    ::operator delete (p, std::align_val_t{alignof(T)});
  }

  template <typename U>
  bool operator==(const HugePageAllocator<U>&) const noexcept {
    return true;
  }
};

}  // namespace keel::base::internal

#endif  // KEEL_BASE_INTERNAL_ARENA_H_
