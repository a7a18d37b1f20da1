// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "keel/raft/kv_store.h"

#include <algorithm>
#include <cctype>
#include <limits>
#include <optional>

#include "../redis/arguments.h"
#include "keel/base/coding.h"
#include "keel/base/status.h"
#include "keel/base/strings.h"

namespace keel::raft {

namespace {

constexpr std::string_view kNotInteger = "value is not an integer or out of range";

bool NameIs(std::string_view name, std::string_view command) {
  return name.size() == command.size() &&
         std::equal(name.begin(), name.end(), command.begin(), [](char a, char b) {
           return std::tolower(static_cast<unsigned char>(a)) == b;
         });
}

// Redis's arity rule: a positive arity is exact, a negative one a minimum.
bool ArityOk(size_t args, int arity) {
  return arity >= 0 ? args == static_cast<size_t>(arity) : args >= static_cast<size_t>(-arity);
}

int ArityOf(std::string_view name) {
  if (NameIs(name, "get")) return 2;
  if (NameIs(name, "set")) return -3;
  if (NameIs(name, "del")) return -2;
  if (NameIs(name, "incr")) return 2;
  if (NameIs(name, "incrby")) return 3;
  return 0;
}

std::string LowerCase(std::string_view text) {
  std::string lower(text);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return lower;
}

}  // namespace

KvCommandKind ClassifyKvCommand(std::string_view name) {
  if (NameIs(name, "get")) return KvCommandKind::kRead;
  if (NameIs(name, "set") || NameIs(name, "del") || NameIs(name, "incr") ||
      NameIs(name, "incrby")) {
    return KvCommandKind::kWrite;
  }
  return KvCommandKind::kUnknown;
}

std::string EncodeCommand(std::span<const std::string_view> args) {
  std::string bytes;
  base::PutVarint64(bytes, args.size());
  for (std::string_view arg : args) base::PutLengthPrefixed(bytes, arg);
  return bytes;
}

absl::StatusOr<std::vector<std::string>> DecodeCommand(std::string_view bytes) {
  base::Reader reader(bytes);
  KEEL_ASSIGN_OR_RETURN(const uint64_t count, reader.ReadVarint64());
  if (count > reader.remaining()) {
    return absl::DataLossError(
        base::Cat("command claims ", count, " arguments in ", reader.remaining(), " bytes"));
  }
  std::vector<std::string> args;
  args.reserve(count);
  for (uint64_t i = 0; i < count; ++i) {
    KEEL_ASSIGN_OR_RETURN(const std::string_view arg, reader.ReadLengthPrefixed());
    args.emplace_back(arg);
  }
  KEEL_RETURN_IF_ERROR(reader.ExpectEnd());
  return args;
}

void KvStore::ReplyUnknown(std::span<const std::string_view> args, net::RespWriter& reply) {
  if (args.empty()) {
    reply.Error("unknown command ''");
    return;
  }
  // Redis lists the arguments after the name, each quoted, in its unknown-command error.
  std::string listed;
  for (size_t i = 1; i < args.size(); ++i) listed += base::Cat("'", args[i], "' ");
  reply.Error(base::Cat("unknown command '", args[0], "', with args beginning with: ", listed));
}

void KvStore::Read(std::span<const std::string_view> args, net::RespWriter& reply) const {
  if (!ArityOk(args.size(), ArityOf(args[0]))) {
    reply.Error(base::Cat("wrong number of arguments for '", LowerCase(args[0]), "' command"));
    return;
  }
  const std::string* value = Find(args[1]);
  if (value == nullptr) {
    reply.Null();
  } else {
    reply.BulkString(*value);
  }
}

void KvStore::Apply(std::span<const std::string_view> args, net::RespWriter& reply) {
  const std::string_view name = args[0];
  if (!ArityOk(args.size(), ArityOf(name))) {
    reply.Error(base::Cat("wrong number of arguments for '", LowerCase(name), "' command"));
    return;
  }
  if (NameIs(name, "set")) {
    if (args.size() != 3) {
      reply.Error("syntax error");  // options (EX, NX, ...) are not supported
      return;
    }
    map_.insert_or_assign(std::string(args[1]), std::string(args[2]));
    reply.SimpleString("OK");
  } else if (NameIs(name, "del")) {
    int64_t removed = 0;
    for (size_t i = 1; i < args.size(); ++i) {
      const auto it = map_.find(args[i]);
      if (it != map_.end()) {
        map_.erase(it);
        ++removed;
      }
    }
    reply.Integer(removed);
  } else if (NameIs(name, "incr")) {
    IncrBy(args[1], 1, reply);
  } else if (NameIs(name, "incrby")) {
    const std::optional<int64_t> delta = redis::internal::ParseInteger(args[2]);
    if (!delta) {
      reply.Error(kNotInteger);
      return;
    }
    IncrBy(args[1], *delta, reply);
  }
}

void KvStore::IncrBy(std::string_view key, int64_t delta, net::RespWriter& reply) {
  int64_t current = 0;
  const auto it = map_.find(key);
  if (it != map_.end()) {
    const std::optional<int64_t> parsed = redis::internal::ParseInteger(it->second);
    if (!parsed) {
      reply.Error(kNotInteger);
      return;
    }
    current = *parsed;
  }
  if ((delta < 0 && current < 0 && delta < std::numeric_limits<int64_t>::min() - current) ||
      (delta > 0 && current > 0 && delta > std::numeric_limits<int64_t>::max() - current)) {
    reply.Error("increment or decrement would overflow");
    return;
  }
  const int64_t updated = current + delta;
  map_.insert_or_assign(std::string(key), redis::internal::IntegerText(updated));
  reply.Integer(updated);
}

const std::string* KvStore::Find(std::string_view key) const {
  const auto it = map_.find(key);
  return it == map_.end() ? nullptr : &it->second;
}

std::string KvStore::Snapshot() const {
  std::string bytes;
  base::PutVarint64(bytes, map_.size());
  for (const auto& [key, value] : map_) {
    base::PutLengthPrefixed(bytes, key);
    base::PutLengthPrefixed(bytes, value);
  }
  return bytes;
}

absl::Status KvStore::Restore(std::string_view snapshot) {
  if (snapshot.empty()) {  // the initial state
    map_.clear();
    return absl::OkStatus();
  }
  base::Reader reader(snapshot);
  KEEL_ASSIGN_OR_RETURN(const uint64_t count, reader.ReadVarint64());
  if (count > reader.remaining()) {
    return absl::DataLossError(
        base::Cat("snapshot claims ", count, " keys in ", reader.remaining(), " bytes"));
  }
  std::map<std::string, std::string, std::less<>> map;
  for (uint64_t i = 0; i < count; ++i) {
    KEEL_ASSIGN_OR_RETURN(const std::string_view key, reader.ReadLengthPrefixed());
    KEEL_ASSIGN_OR_RETURN(const std::string_view value, reader.ReadLengthPrefixed());
    map.emplace_hint(map.end(), key, value);
  }
  KEEL_RETURN_IF_ERROR(reader.ExpectEnd());
  map_ = std::move(map);
  return absl::OkStatus();
}

}  // namespace keel::raft
