// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "keel/redis/database.h"

#include "keel/base/assert.h"

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

void Database::Remove(Map::iterator it) {
  if (it->second.expiry_ms != kNoExpiry) deadlines_.erase({it->second.expiry_ms, it->first});
  entries_.erase(it);
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
    return entries_.try_emplace(std::string(key), std::move(value)).first->second.value;
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
  entries_.clear();
  deadlines_.clear();
}

}  // namespace keel::redis
