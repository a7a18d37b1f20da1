// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// The string commands (Redis's t_string.c): GET, SET, MGET, MSET, INCR, INCRBY, DECR, DECRBY,
// APPEND, STRLEN.
#include <string>
#include <string_view>

#include "arguments.h"
#include "command.h"
#include "keel/base/strings.h"

namespace keel::redis::internal {
namespace {

// GET's reply for `key`; false (with WRONGTYPE written) if the key holds another type.
bool ReplyGet(CommandContext& ctx, std::string_view key) {
  bool wrong_type;
  const Value* value = LookupTyped(ctx, key, ValueType::kString, &wrong_type);
  if (wrong_type) return false;
  if (value == nullptr) {
    ctx.reply().Null();
  } else {
    ctx.reply().BulkString(value->string());
  }
  return true;
}

void Get(CommandContext& ctx, Args args) { ReplyGet(ctx, args[1]); }

// SET key value [NX | XX] [GET] [EX s | PX ms | EXAT s | PXAT ms | KEEPTTL]
void Set(CommandContext& ctx, Args args) {
  bool nx = false, xx = false, get = false, keep_ttl = false;
  enum class Unit { kNone, kEx, kPx, kExAt, kPxAt } unit = Unit::kNone;
  std::string_view expire;
  // Redis's rules: NX and XX exclude each other, KEEPTTL and the four times exclude each other,
  // but one option may repeat (the last time given wins).
  auto time_option = [](std::string_view opt) {
    return IsOption(opt, "ex")     ? Unit::kEx
           : IsOption(opt, "px")   ? Unit::kPx
           : IsOption(opt, "exat") ? Unit::kExAt
           : IsOption(opt, "pxat") ? Unit::kPxAt
                                   : Unit::kNone;
  };
  for (size_t j = 3; j < args.size(); ++j) {
    const std::string_view opt = args[j];
    const Unit given = time_option(opt);
    if (IsOption(opt, "nx") && !xx) {
      nx = true;
    } else if (IsOption(opt, "xx") && !nx) {
      xx = true;
    } else if (IsOption(opt, "get")) {
      get = true;
    } else if (IsOption(opt, "keepttl") && unit == Unit::kNone) {
      keep_ttl = true;
    } else if (given != Unit::kNone && !keep_ttl && (unit == Unit::kNone || unit == given) &&
               j + 1 < args.size()) {
      unit = given;
      expire = args[++j];
    } else {
      ctx.Error(kSyntaxError);
      return;
    }
  }
  int64_t expire_at = 0;
  if (unit != Unit::kNone) {
    const std::optional<int64_t> parsed = ParseInteger(expire);
    if (!parsed) {
      ctx.Error(kNotInteger);
      return;
    }
    int64_t ms = *parsed;
    const bool seconds = unit == Unit::kEx || unit == Unit::kExAt;
    if (ms <= 0 || (seconds && ms > INT64_MAX / 1000)) {
      ctx.Error("invalid expire time in 'set' command");
      return;
    }
    if (seconds) ms *= 1000;
    if (unit == Unit::kEx || unit == Unit::kPx) {
      // Redis adds without an overflow check and then tests the sign; so does keel, in
      // unsigned arithmetic to keep the wrap defined.
      ms = static_cast<int64_t>(static_cast<uint64_t>(ms) + static_cast<uint64_t>(ctx.now_ms()));
    }
    if (ms <= 0) {
      ctx.Error("invalid expire time in 'set' command");
      return;
    }
    expire_at = ms;
  }
  if (get && !ReplyGet(ctx, args[1])) return;
  const bool found = ctx.db().Find(args[1]) != nullptr;
  if ((nx && found) || (xx && !found)) {
    if (!get) ctx.reply().Null();
    return;
  }
  ctx.db().Set(args[1], Value::String(std::string(args[2])), keep_ttl);
  ctx.Dirty();
  if (unit != Unit::kNone) {
    ctx.db().SetExpiry(args[1], expire_at);
    ctx.Propagate(
        {"SET", std::string(args[1]), std::string(args[2]), "PXAT", IntegerText(expire_at)});
  } else if (get) {
    // Logged without GET, which changes nothing.
    std::vector<std::string> logged;
    for (size_t j = 0; j < args.size(); ++j) {
      if (j < 3 || !IsOption(args[j], "get")) logged.emplace_back(args[j]);
    }
    ctx.Propagate(std::move(logged));
  }
  if (!get) ctx.reply().SimpleString("OK");
}

void MGet(CommandContext& ctx, Args args) {
  ctx.reply().ArrayHeader(args.size() - 1);
  for (size_t i = 1; i < args.size(); ++i) {
    const Value* value = ctx.db().Find(args[i]);
    if (value == nullptr || value->type() != ValueType::kString) {
      ctx.reply().Null();
    } else {
      ctx.reply().BulkString(value->string());
    }
  }
}

void MSet(CommandContext& ctx, Args args) {
  if (args.size() % 2 == 0) {
    ReplyArity(ctx, "mset");
    return;
  }
  for (size_t j = 1; j < args.size(); j += 2) {
    ctx.db().Set(args[j], Value::String(std::string(args[j + 1])));
  }
  ctx.Dirty((args.size() - 1) / 2);
  ctx.reply().SimpleString("OK");
}

void IncrDecr(CommandContext& ctx, std::string_view key, int64_t increment) {
  bool wrong_type;
  Value* value = LookupTyped(ctx, key, ValueType::kString, &wrong_type);
  if (wrong_type) return;
  int64_t current = 0;
  if (value != nullptr) {
    const std::optional<int64_t> parsed = ParseInteger(value->string());
    if (!parsed) {
      ctx.Error(kNotInteger);
      return;
    }
    current = *parsed;
  }
  if ((increment < 0 && current < 0 && increment < INT64_MIN - current) ||
      (increment > 0 && current > 0 && increment > INT64_MAX - current)) {
    ctx.Error("increment or decrement would overflow");
    return;
  }
  const int64_t updated = current + increment;
  if (value != nullptr) {
    value->string() = IntegerText(updated);
  } else {
    ctx.db().Set(key, Value::String(IntegerText(updated)));
  }
  ctx.Dirty();
  ctx.reply().Integer(updated);
}

void Incr(CommandContext& ctx, Args args) { IncrDecr(ctx, args[1], 1); }
void Decr(CommandContext& ctx, Args args) { IncrDecr(ctx, args[1], -1); }

void IncrBy(CommandContext& ctx, Args args) {
  const std::optional<int64_t> increment = ParseInteger(args[2]);
  if (!increment) {
    ctx.Error(kNotInteger);
    return;
  }
  IncrDecr(ctx, args[1], *increment);
}

void DecrBy(CommandContext& ctx, Args args) {
  const std::optional<int64_t> decrement = ParseInteger(args[2]);
  if (!decrement) {
    ctx.Error(kNotInteger);
    return;
  }
  if (*decrement == INT64_MIN) {
    ctx.Error("decrement would overflow");
    return;
  }
  IncrDecr(ctx, args[1], -*decrement);
}

void Append(CommandContext& ctx, Args args) {
  bool wrong_type;
  Value* value = LookupTyped(ctx, args[1], ValueType::kString, &wrong_type);
  if (wrong_type) return;
  size_t length;
  if (value == nullptr) {
    ctx.db().Set(args[1], Value::String(std::string(args[2])));
    length = args[2].size();
  } else {
    if (value->string().size() + args[2].size() > ctx.engine().options.max_string_bytes) {
      ctx.Error("string exceeds maximum allowed size (proto-max-bulk-len)");
      return;
    }
    value->string().append(args[2]);
    length = value->string().size();
  }
  ctx.Dirty();
  ctx.reply().Integer(static_cast<int64_t>(length));
}

void StrLen(CommandContext& ctx, Args args) {
  bool wrong_type;
  const Value* value = LookupTyped(ctx, args[1], ValueType::kString, &wrong_type);
  if (wrong_type) return;
  ctx.reply().Integer(value == nullptr ? 0 : static_cast<int64_t>(value->string().size()));
}

constexpr CommandSpec kCommands[] = {
    {"get", 2, kReadOnly | kFast, 1, 1, 1, Get, "string", "Get the value of a key", "1.0.0",
     "O(1)"},
    {"set", -3, kWrite, 1, 1, 1, Set, "string", "Set the string value of a key", "1.0.0", "O(1)"},
    {"mget", -2, kReadOnly | kFast, 1, -1, 1, MGet, "string",
     "Get the values of all the given keys", "1.0.0",
     "O(N) where N is the number of keys to retrieve."},
    {"mset", -3, kWrite, 1, -1, 2, MSet, "string", "Set multiple keys to multiple values", "1.0.1",
     "O(N) where N is the number of keys to set."},
    {"incr", 2, kWrite | kFast, 1, 1, 1, Incr, "string",
     "Increment the integer value of a key by one", "1.0.0", "O(1)"},
    {"decr", 2, kWrite | kFast, 1, 1, 1, Decr, "string",
     "Decrement the integer value of a key by one", "1.0.0", "O(1)"},
    {"incrby", 3, kWrite | kFast, 1, 1, 1, IncrBy, "string",
     "Increment the integer value of a key by the given amount", "1.0.0", "O(1)"},
    {"decrby", 3, kWrite | kFast, 1, 1, 1, DecrBy, "string",
     "Decrement the integer value of a key by the given number", "1.0.0", "O(1)"},
    {"append", 3, kWrite | kFast, 1, 1, 1, Append, "string", "Append a value to a key", "2.0.0",
     "O(1). The amortized time complexity is O(1) assuming the appended value is small and the "
     "already present value is of any size, since the dynamic string library used by Redis "
     "will double the free space available on every reallocation."},
    {"strlen", 2, kReadOnly | kFast, 1, 1, 1, StrLen, "string",
     "Get the length of the value stored in a key", "2.2.0", "O(1)"},
};

}  // namespace

std::span<const CommandSpec> StringCommands() { return kCommands; }

}  // namespace keel::redis::internal
