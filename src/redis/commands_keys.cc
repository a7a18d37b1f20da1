// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// The keyspace commands (Redis's db.c and expire.c): DEL, EXISTS, TYPE, DBSIZE, FLUSHDB,
// FLUSHALL, SELECT, EXPIRE, PEXPIRE, EXPIREAT, PEXPIREAT, TTL, PTTL, PERSIST.
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "arguments.h"
#include "command.h"
#include "keel/base/strings.h"
#include "keel/pubsub/glob.h"

namespace keel::redis::internal {
namespace {

void Del(CommandContext& ctx, Args args) {
  int64_t deleted = 0;
  for (size_t i = 1; i < args.size(); ++i) {
    // A key whose time has come counts as absent (Find deletes it), as Redis's expireIfNeeded.
    if (ctx.db().Find(args[i]) != nullptr && ctx.db().Delete(args[i])) ++deleted;
  }
  ctx.Dirty(static_cast<uint64_t>(deleted));
  ctx.reply().Integer(deleted);
}

void Exists(CommandContext& ctx, Args args) {
  int64_t found = 0;
  for (size_t i = 1; i < args.size(); ++i) found += ctx.db().Find(args[i]) != nullptr ? 1 : 0;
  ctx.reply().Integer(found);
}

void Type(CommandContext& ctx, Args args) {
  const Value* value = ctx.db().Find(args[1]);
  ctx.reply().SimpleString(value == nullptr ? "none" : TypeName(value->type()));
}

void DbSize(CommandContext& ctx, Args) {
  ctx.reply().Integer(static_cast<int64_t>(ctx.db().size()));
}

// FLUSHDB and FLUSHALL [ASYNC | SYNC]: keel frees at once either way.
void Flush(CommandContext& ctx, Args args) {
  if (args.size() > 2 ||
      (args.size() == 2 && !IsOption(args[1], "sync") && !IsOption(args[1], "async"))) {
    ctx.Error(kSyntaxError);
    return;
  }
  ctx.Dirty(ctx.db().size() + 1);  // Redis counts the removed keys, and logs even an empty flush
  ctx.db().Clear();
  ctx.reply().SimpleString("OK");
}

void Select(CommandContext& ctx, Args args) {
  const std::optional<int64_t> index = ParseInteger(args[1]);
  if (!index || *index < INT32_MIN || *index > INT32_MAX) {
    ctx.Error(kNotInteger);
    return;
  }
  // keel-server has one database, as a Redis started with "databases 1".
  if (*index != 0) {
    ctx.Error("DB index is out of range");
    return;
  }
  ctx.reply().SimpleString("OK");
}

// EXPIRE / PEXPIRE / EXPIREAT / PEXPIREAT key time [NX | XX | GT | LT].
void ExpireGeneric(CommandContext& ctx, Args args, bool relative, bool seconds,
                   std::string_view name) {
  bool nx = false, xx = false, gt = false, lt = false;
  for (size_t j = 3; j < args.size(); ++j) {
    if (IsOption(args[j], "nx")) {
      nx = true;
    } else if (IsOption(args[j], "xx")) {
      xx = true;
    } else if (IsOption(args[j], "gt")) {
      gt = true;
    } else if (IsOption(args[j], "lt")) {
      lt = true;
    } else {
      const std::string_view opt = args[j].substr(0, std::min(args[j].find('\0'), args[j].size()));
      ctx.Error(base::Cat("Unsupported option ", opt));
      return;
    }
  }
  if ((nx && xx) || (nx && gt) || (nx && lt)) {
    ctx.Error("NX and XX, GT or LT options at the same time are not compatible");
    return;
  }
  if (gt && lt) {
    ctx.Error("GT and LT options at the same time are not compatible");
    return;
  }
  const std::optional<int64_t> parsed = ParseInteger(args[2]);
  if (!parsed) {
    ctx.Error(kNotInteger);
    return;
  }
  int64_t when = *parsed;
  const std::string invalid = base::Cat("invalid expire time in '", name, "' command");
  if (seconds) {
    if (when > INT64_MAX / 1000 || when < INT64_MIN / 1000) {
      ctx.Error(invalid);
      return;
    }
    when *= 1000;
  }
  const int64_t base = relative ? ctx.now_ms() : 0;
  if (when > INT64_MAX - base) {
    ctx.Error(invalid);
    return;
  }
  when += base;
  if (ctx.db().Find(args[1]) == nullptr) {
    ctx.reply().Integer(0);
    return;
  }
  const int64_t current = ctx.db().Expiry(args[1]);
  const bool has = current != Database::kNoExpiry;
  if ((nx && has) || (xx && !has) || (gt && (!has || when <= current)) ||
      (lt && has && when >= current)) {
    ctx.reply().Integer(0);
    return;
  }
  if (when <= ctx.now_ms()) {
    // Already past: the key goes now, and is logged as a DEL.
    ctx.db().Delete(args[1]);
    ctx.Dirty();
    ctx.Propagate({"DEL", std::string(args[1])});
    ctx.reply().Integer(1);
    return;
  }
  ctx.db().SetExpiry(args[1], when);
  ctx.Dirty();
  ctx.Propagate({"PEXPIREAT", std::string(args[1]), IntegerText(when)});
  ctx.reply().Integer(1);
}

void Expire(CommandContext& ctx, Args args) { ExpireGeneric(ctx, args, true, true, "expire"); }
void PExpire(CommandContext& ctx, Args args) { ExpireGeneric(ctx, args, true, false, "pexpire"); }
void ExpireAt(CommandContext& ctx, Args args) { ExpireGeneric(ctx, args, false, true, "expireat"); }
void PExpireAt(CommandContext& ctx, Args args) {
  ExpireGeneric(ctx, args, false, false, "pexpireat");
}

void TtlGeneric(CommandContext& ctx, Args args, bool milliseconds) {
  if (ctx.db().Find(args[1]) == nullptr) {
    ctx.reply().Integer(-2);
    return;
  }
  const int64_t expiry = ctx.db().Expiry(args[1]);
  if (expiry == Database::kNoExpiry) {
    ctx.reply().Integer(-1);
    return;
  }
  const int64_t ttl = std::max<int64_t>(expiry - ctx.now_ms(), 0);
  ctx.reply().Integer(milliseconds ? ttl : (ttl + 500) / 1000);
}

void Ttl(CommandContext& ctx, Args args) { TtlGeneric(ctx, args, false); }
void PTtl(CommandContext& ctx, Args args) { TtlGeneric(ctx, args, true); }

void Persist(CommandContext& ctx, Args args) {
  if (ctx.db().Find(args[1]) != nullptr && ctx.db().Persist(args[1])) {
    ctx.Dirty();
    ctx.reply().Integer(1);
    return;
  }
  ctx.reply().Integer(0);
}

// SCAN cursor [MATCH pattern] [COUNT count] [TYPE type]
void Scan(CommandContext& ctx, Args args) {
  // parseScanCursorOrReply: strtoul, so "-1" is a (huge) cursor and "" is 0.
  const std::string text(args[1]);
  errno = 0;
  char* end = nullptr;
  const unsigned long cursor = std::strtoul(text.c_str(), &end, 10);
  if (std::isspace(static_cast<unsigned char>(text.c_str()[0])) || *end != '\0' ||
      errno == ERANGE) {
    ctx.Error("invalid cursor");
    return;
  }
  int64_t count = 10;
  std::string_view pattern;
  bool use_pattern = false;
  std::optional<std::string_view> type;
  for (size_t i = 2; i < args.size();) {
    const size_t left = args.size() - i;
    if (IsOption(args[i], "count") && left >= 2) {
      const std::optional<int64_t> parsed = ParseInteger(args[i + 1]);
      if (!parsed) {
        ctx.Error(kNotInteger);
        return;
      }
      if (*parsed < 1) {
        ctx.Error(kSyntaxError);
        return;
      }
      count = *parsed;
      i += 2;
    } else if (IsOption(args[i], "match") && left >= 2) {
      pattern = args[i + 1];
      use_pattern = pattern != "*";  // Redis treats "*" as no pattern at all
      i += 2;
    } else if (IsOption(args[i], "type") && left >= 2) {
      type = args[i + 1];
      i += 2;
    } else {
      ctx.Error(kSyntaxError);
      return;
    }
  }
  std::vector<std::string> keys;
  const uint64_t next = ctx.db().Scan(cursor, static_cast<size_t>(count),
                                      [&](std::string_view key, const Value& value) {
                                        if (use_pattern && !pubsub::GlobMatch(pattern, key)) return;
                                        if (type && !IsOption(*type, TypeName(value.type())))
                                          return;
                                        keys.emplace_back(key);
                                      });
  ctx.reply().ArrayHeader(2);
  ctx.reply().BulkString(base::Cat(next));
  ctx.reply().ArrayHeader(keys.size());
  for (const std::string& key : keys) ctx.reply().BulkString(key);
}

constexpr CommandSpec kCommands[] = {
    {"scan", -2, kReadOnly, 0, 0, 0, Scan, "generic", "Incrementally iterate the keys space",
     "2.8.0",
     "O(1) for every call. O(N) for a complete iteration, including enough command calls for the "
     "cursor to return back to 0. N is the number of elements inside the collection."},
    {"del", -2, kWrite, 1, -1, 1, Del, "generic", "Delete a key", "1.0.0",
     "O(N) where N is the number of keys that will be removed."},
    {"exists", -2, kReadOnly | kFast, 1, -1, 1, Exists, "generic", "Determine if a key exists",
     "1.0.0", "O(N) where N is the number of keys to check."},
    {"type", 2, kReadOnly | kFast, 1, 1, 1, Type, "generic", "Determine the type stored at key",
     "1.0.0", "O(1)"},
    {"dbsize", 1, kReadOnly | kFast, 0, 0, 0, DbSize, "server",
     "Return the number of keys in the selected database", "1.0.0", "O(1)"},
    {"flushdb", -1, kWrite, 0, 0, 0, Flush, "server", "Remove all keys from the current database",
     "1.0.0", "O(N) where N is the number of keys in the selected database"},
    {"flushall", -1, kWrite, 0, 0, 0, Flush, "server", "Remove all keys from all databases",
     "1.0.0", "O(N) where N is the total number of keys in all databases"},
    {"select", 2, kLoading | kStale | kFast, 0, 0, 0, Select, "connection",
     "Change the selected database for the current connection", "1.0.0", "O(1)"},
    {"expire", -3, kWrite | kFast, 1, 1, 1, Expire, "generic",
     "Set a key's time to live in seconds", "1.0.0", "O(1)"},
    {"pexpire", -3, kWrite | kFast, 1, 1, 1, PExpire, "generic",
     "Set a key's time to live in milliseconds", "2.6.0", "O(1)"},
    {"expireat", -3, kWrite | kFast, 1, 1, 1, ExpireAt, "generic",
     "Set the expiration for a key as a UNIX timestamp", "1.2.0", "O(1)"},
    {"pexpireat", -3, kWrite | kFast, 1, 1, 1, PExpireAt, "generic",
     "Set the expiration for a key as a UNIX timestamp specified in milliseconds", "2.6.0", "O(1)"},
    {"ttl", 2, kReadOnly | kFast, 1, 1, 1, Ttl, "generic",
     "Get the time to live for a key in seconds", "1.0.0", "O(1)"},
    {"pttl", 2, kReadOnly | kFast, 1, 1, 1, PTtl, "generic",
     "Get the time to live for a key in milliseconds", "2.6.0", "O(1)"},
    {"persist", 2, kWrite | kFast, 1, 1, 1, Persist, "generic", "Remove the expiration from a key",
     "2.2.0", "O(1)"},
};

}  // namespace

std::span<const CommandSpec> KeyCommands() { return kCommands; }

}  // namespace keel::redis::internal
