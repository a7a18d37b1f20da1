// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "keel/redis/database.h"

#include <random>
#include <vector>

#include "keel/base/assert.h"
#include "keel/base/hash.h"

namespace keel::redis {

std::string_view TypeName(ValueType type) {
  switch (type) {
    case ValueType::kString:
      return "string";
    case ValueType::kZset:
      return "zset";
  }
  return "none";
}

Database::Database() : scan_seed_(std::random_device()() * uint64_t{0x9E3779B97F4A7C15}) {}

uint64_t Database::ScanHash(std::string_view key) const {
  const uint64_t h = base::Hash64(key, scan_seed_);
  return h == 0 ? 1 : h;  // 0 is the cursor that means "start" and "done"
}

void Database::Remove(Map::iterator it) {
  if (it->second.expiry_ms != kNoExpiry) deadlines_.erase({it->second.expiry_ms, it->first});
  scan_order_.erase({ScanHash(it->first), &it->first});
  entries_.erase(it);
}

uint64_t Database::Scan(
    uint64_t cursor, size_t count,
    const std::function<void(std::string_view key, const Value& value)>& visit) {
  static const std::string kLowest;  // orders before every key of the same hash
  auto it = scan_order_.lower_bound({cursor, &kLowest});
  std::vector<std::string> expired;
  for (size_t visited = 0; it != scan_order_.end() && visited < count; ++it, ++visited) {
    const std::string& key = *it->second;
    const Entry& entry = entries_.find(key)->second;
    if (entry.expiry_ms != kNoExpiry && entry.expiry_ms <= now_ms_) {
      expired.push_back(key);
      continue;
    }
    visit(key, entry.value);
  }
  // Keys sharing the next key's hash go in the next batch together: a cursor names a hash.
  if (it != scan_order_.end()) {
    const uint64_t next = it->first;
    for (auto back = it; back != scan_order_.begin();) {
      --back;
      if (back->first != next) break;
      // A key of that hash was visited in this batch: finish the group now, so the next batch
      // can start at the hash without repeating it.
      for (; it != scan_order_.end() && it->first == next; ++it) {
        const Entry& entry = entries_.find(*it->second)->second;
        if (entry.expiry_ms == kNoExpiry || entry.expiry_ms > now_ms_)
          visit(*it->second, entry.value);
      }
      break;
    }
  }
  const uint64_t next_cursor = it == scan_order_.end() ? 0 : it->first;
  for (const std::string& key : expired) (void)Find(key);  // deletes it, as a lookup would
  return next_cursor;
}

Value* Database::Find(std::string_view key) {
  auto it = entries_.find(key);
  if (it == entries_.end()) {
    ++misses_;
    return nullptr;
  }
  if (it->second.expiry_ms != kNoExpiry && it->second.expiry_ms <= now_ms_) {
    const std::string expired_key = it->first;
    Remove(it);
    ++expired_;
    ++misses_;
    if (on_expired_) on_expired_(expired_key);
    return nullptr;
  }
  ++hits_;
  return &it->second.value;
}

const Value* Database::Peek(std::string_view key) const {
  auto it = entries_.find(key);
  return it == entries_.end() ? nullptr : &it->second.value;
}

Value& Database::Set(std::string_view key, Value value, bool keep_expiry) {
  auto it = entries_.find(key);
  if (it == entries_.end()) {
    auto inserted = entries_.try_emplace(std::string(key), std::move(value)).first;
    scan_order_.insert({ScanHash(inserted->first), &inserted->first});
    return inserted->second.value;
  }
  it->second.value = std::move(value);
  if (!keep_expiry && it->second.expiry_ms != kNoExpiry) {
    deadlines_.erase({it->second.expiry_ms, it->first});
    it->second.expiry_ms = kNoExpiry;
  }
  return it->second.value;
}

bool Database::Delete(std::string_view key) {
  auto it = entries_.find(key);
  if (it == entries_.end()) return false;
  Remove(it);
  return true;
}

int64_t Database::Expiry(std::string_view key) const {
  auto it = entries_.find(key);
  return it == entries_.end() ? kNoExpiry : it->second.expiry_ms;
}

void Database::SetExpiry(std::string_view key, int64_t at_ms) {
  KEEL_ASSERT(at_ms != kNoExpiry);
  auto it = entries_.find(key);
  KEEL_ASSERT(it != entries_.end(), "setting the expiry of a missing key");
  if (it->second.expiry_ms != kNoExpiry) deadlines_.erase({it->second.expiry_ms, it->first});
  it->second.expiry_ms = at_ms;
  deadlines_.insert({at_ms, it->first});
}

bool Database::Persist(std::string_view key) {
  auto it = entries_.find(key);
  if (it == entries_.end() || it->second.expiry_ms == kNoExpiry) return false;
  deadlines_.erase({it->second.expiry_ms, it->first});
  it->second.expiry_ms = kNoExpiry;
  return true;
}

size_t Database::DeleteExpired(size_t limit) {
  size_t deleted = 0;
  while (deleted < limit && !deadlines_.empty() && deadlines_.begin()->first <= now_ms_) {
    const std::string key = deadlines_.begin()->second;
    auto it = entries_.find(key);
    KEEL_ASSERT(it != entries_.end(), "a deadline for a missing key");
    Remove(it);
    ++expired_;
    ++deleted;
    if (on_expired_) on_expired_(key);
  }
  return deleted;
}

void Database::Clear() {
  scan_order_.clear();
  entries_.clear();
  deadlines_.clear();
}

}  // namespace keel::redis
