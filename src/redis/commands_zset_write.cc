// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// The sorted set commands that write (Redis's t_zset.c): ZADD, ZINCRBY, ZREM, ZREMRANGEBYRANK,
// ZREMRANGEBYSCORE, ZREMRANGEBYLEX, ZPOPMIN, ZPOPMAX, ZUNIONSTORE, ZINTERSTORE. As in Redis, a
// sorted set that loses its last member is deleted, and a command either applies in full or
// (on bad arguments, found before anything changes) not at all.
#include <algorithm>
#include <cmath>
#include <string>
#include <string_view>
#include <vector>

#include "arguments.h"
#include "command.h"
#include "keel/base/strings.h"
#include "keel/zset/set_operations.h"
#include "zset_commands.h"

namespace keel::redis::internal {
namespace {

using zset::AddOptions;
using zset::AddResult;
using zset::SortedSet;

// Before `member` may be added: a compact set that would pass the limits leaves the compact
// encoding for good, as Redis converts a listpack to a skip list.
void Admit(Value& value, std::string_view member) {
  if (!value.compact() || value.zset().Contains(member)) return;
  if (value.zset().size() + 1 > kCompactMaxMembers || member.size() > kCompactMaxMemberBytes) {
    value.set_compact(false);
  }
}

// ZADD key [NX | XX] [GT | LT] [CH] [INCR] score member [score member ...], and ZINCRBY, which
// is ZADD with INCR forced (so its increment may even be read as an option, as in Redis).
void ZAddGeneric(CommandContext& ctx, Args args, bool incr) {
  bool nx = false, xx = false, gt = false, lt = false, ch = false;
  size_t score_index = 2;
  for (; score_index < args.size(); ++score_index) {
    const std::string_view opt = args[score_index];
    if (IsOption(opt, "nx")) {
      nx = true;
    } else if (IsOption(opt, "xx")) {
      xx = true;
    } else if (IsOption(opt, "ch")) {
      ch = true;
    } else if (IsOption(opt, "incr")) {
      incr = true;
    } else if (IsOption(opt, "gt")) {
      gt = true;
    } else if (IsOption(opt, "lt")) {
      lt = true;
    } else {
      break;
    }
  }
  const size_t remaining = args.size() - score_index;
  if (remaining == 0 || remaining % 2 != 0) {
    ctx.Error(kSyntaxError);
    return;
  }
  const size_t pairs = remaining / 2;
  if (nx && xx) {
    ctx.Error("XX and NX options at the same time are not compatible");
    return;
  }
  if ((gt && nx) || (lt && nx) || (gt && lt)) {
    ctx.Error("GT, LT, and/or NX options at the same time are not compatible");
    return;
  }
  if (incr && pairs > 1) {
    ctx.Error("INCR option supports a single increment-element pair");
    return;
  }
  std::vector<double> scores(pairs);
  for (size_t j = 0; j < pairs; ++j) {
    const std::optional<double> score = ParseDouble(args[score_index + j * 2]);
    if (!score) {
      ctx.Error(kNotFloat);
      return;
    }
    scores[j] = *score;
  }
  bool wrong_type;
  Value* value = LookupTyped(ctx, args[1], ValueType::kZset, &wrong_type);
  if (wrong_type) return;
  const AddOptions options{.existence = nx   ? zset::Existence::kOnlyAbsent
                                        : xx ? zset::Existence::kOnlyPresent
                                             : zset::Existence::kAny,
                           .condition = gt   ? zset::ScoreCondition::kOnlyGreater
                                        : lt ? zset::ScoreCondition::kOnlyLess
                                             : zset::ScoreCondition::kAny,
                           .increment = incr};
  int64_t added = 0;
  int64_t updated = 0;
  bool processed = false;
  double last_score = 0;
  if (value == nullptr && !xx) {
    value = &ctx.db().Set(args[1], Value::Zset(SortedSet()));
    // Redis picks the encoding of a new set by the first member's length.
    value->set_compact(args[score_index + 1].size() <= kCompactMaxMemberBytes);
  }
  if (value != nullptr) {
    SortedSet& set = value->zset();
    for (size_t j = 0; j < pairs; ++j) {
      const std::string_view member = args[score_index + 1 + j * 2];
      if (!xx) Admit(*value, member);
      absl::StatusOr<AddResult> result = set.Add(member, scores[j], options);
      if (!result.ok()) {
        // Only an increment can make NaN; earlier pairs (there are none with INCR) stay added.
        ctx.Dirty(static_cast<uint64_t>(added + updated));
        ctx.Error("resulting score is not a number (NaN)");
        return;
      }
      if (result->outcome == AddResult::Outcome::kAdded) ++added;
      if (result->outcome == AddResult::Outcome::kUpdated) ++updated;
      if (result->outcome != AddResult::Outcome::kSkipped) {
        processed = true;
        last_score = *result->score;  // the reply shows it as computed, before storing
        if (value->compact()) set.ClearNegativeZero(member);
      }
    }
  }
  ctx.Dirty(static_cast<uint64_t>(added + updated));
  if (incr) {
    if (processed) {
      ctx.reply().Double(last_score);
    } else {
      ctx.reply().Null();
    }
  } else {
    ctx.reply().Integer(ch ? added + updated : added);
  }
}

void ZAdd(CommandContext& ctx, Args args) { ZAddGeneric(ctx, args, false); }
void ZIncrBy(CommandContext& ctx, Args args) { ZAddGeneric(ctx, args, true); }

// Deletes `key` if its sorted set is now empty.
void DeleteIfEmpty(CommandContext& ctx, std::string_view key, const SortedSet& set) {
  if (set.empty()) ctx.db().Delete(key);
}

void ZRem(CommandContext& ctx, Args args) {
  bool wrong_type;
  Value* value = LookupTyped(ctx, args[1], ValueType::kZset, &wrong_type);
  if (wrong_type) return;
  int64_t deleted = 0;
  if (value != nullptr) {
    SortedSet& set = value->zset();
    for (size_t j = 2; j < args.size() && !set.empty(); ++j) deleted += set.Remove(args[j]) ? 1 : 0;
    DeleteIfEmpty(ctx, args[1], set);
  }
  ctx.Dirty(static_cast<uint64_t>(deleted));
  ctx.reply().Integer(deleted);
}

void ZRemRangeGeneric(CommandContext& ctx, Args args, RangeKind kind) {
  const std::optional<RangeBounds> bounds = ParseRangeBounds(ctx, kind, args[2], args[3]);
  if (!bounds) return;
  bool wrong_type;
  Value* value = LookupTyped(ctx, args[1], ValueType::kZset, &wrong_type);
  if (wrong_type) return;
  if (value == nullptr) {
    ctx.reply().Integer(0);
    return;
  }
  SortedSet& set = value->zset();
  const size_t deleted = set.RemoveRanks(RanksOf(*bounds, set));
  DeleteIfEmpty(ctx, args[1], set);
  ctx.Dirty(deleted);
  ctx.reply().Integer(static_cast<int64_t>(deleted));
}

void ZRemRangeByRank(CommandContext& ctx, Args args) {
  ZRemRangeGeneric(ctx, args, RangeKind::kRank);
}
void ZRemRangeByScore(CommandContext& ctx, Args args) {
  ZRemRangeGeneric(ctx, args, RangeKind::kScore);
}
void ZRemRangeByLex(CommandContext& ctx, Args args) {
  ZRemRangeGeneric(ctx, args, RangeKind::kLex);
}

// ZPOPMIN / ZPOPMAX key [count]
void ZPop(CommandContext& ctx, Args args, bool max) {
  if (args.size() > 3) {
    ctx.Error(kSyntaxError);
    return;
  }
  int64_t count = -1;  // a plain single pop
  if (args.size() == 3) {
    // getPositiveLongFromObjectOrReply: one message for a non-number and a negative one.
    const std::optional<int64_t> parsed = ParseInteger(args[2]);
    if (!parsed || *parsed < 0) {
      ctx.Error("value is out of range, must be positive");
      return;
    }
    count = *parsed;
  }
  const bool nested = ctx.client().protocol == net::Protocol::kResp3 && count != -1;
  bool wrong_type;
  Value* value = LookupTyped(ctx, args[1], ValueType::kZset, &wrong_type);
  if (wrong_type) return;
  if (value == nullptr || count == 0) {
    ctx.reply().ArrayHeader(0);
    return;
  }
  SortedSet& set = value->zset();
  const std::vector<zset::Element> popped =
      max ? set.PopMax(count == -1 ? 1 : static_cast<size_t>(count))
          : set.PopMin(count == -1 ? 1 : static_cast<size_t>(count));
  net::RespWriter& r = ctx.reply();
  r.ArrayHeader(nested ? popped.size() : popped.size() * 2);
  for (const zset::Element& e : popped) {
    if (nested) r.ArrayHeader(2);
    r.BulkString(e.member);
    r.Double(e.score);
  }
  DeleteIfEmpty(ctx, args[1], set);
  ctx.Dirty(popped.size());
}

void ZPopMin(CommandContext& ctx, Args args) { ZPop(ctx, args, false); }
void ZPopMax(CommandContext& ctx, Args args) { ZPop(ctx, args, true); }

// ZUNIONSTORE / ZINTERSTORE destination numkeys key [key ...] [WEIGHTS w ...]
// [AGGREGATE SUM | MIN | MAX]
void ZStore(CommandContext& ctx, Args args, bool union_op) {
  const std::string_view name = union_op ? "zunionstore" : "zinterstore";
  const std::optional<int64_t> numkeys = ParseInteger(args[2]);
  if (!numkeys) {
    ctx.Error(kNotInteger);
    return;
  }
  if (*numkeys < 1) {
    ctx.Error(base::Cat("at least 1 input key is needed for '", name, "' command"));
    return;
  }
  if (*numkeys > static_cast<int64_t>(args.size()) - 3) {
    ctx.Error(kSyntaxError);
    return;
  }
  const auto n = static_cast<size_t>(*numkeys);
  std::vector<zset::WeightedInput> inputs(n);
  for (size_t i = 0; i < n; ++i) {
    bool wrong_type;
    const Value* value = LookupTyped(ctx, args[3 + i], ValueType::kZset, &wrong_type);
    if (wrong_type) return;
    inputs[i] = {value == nullptr ? nullptr : &value->zset(), 1};
  }
  zset::Aggregate aggregate = zset::Aggregate::kSum;
  for (size_t j = 3 + n; j < args.size();) {
    const size_t remaining = args.size() - j;
    if (remaining >= n + 1 && IsOption(args[j], "weights")) {
      ++j;
      for (size_t i = 0; i < n; ++i, ++j) {
        const std::optional<double> weight = ParseDouble(args[j]);
        if (!weight) {
          ctx.Error("weight value is not a float");
          return;
        }
        inputs[i].weight = *weight;
      }
    } else if (remaining >= 2 && IsOption(args[j], "aggregate")) {
      const std::string_view how = args[j + 1];
      if (IsOption(how, "sum")) {
        aggregate = zset::Aggregate::kSum;
      } else if (IsOption(how, "min")) {
        aggregate = zset::Aggregate::kMin;
      } else if (IsOption(how, "max")) {
        aggregate = zset::Aggregate::kMax;
      } else {
        ctx.Error(kSyntaxError);
        return;
      }
      j += 2;
    } else {
      ctx.Error(kSyntaxError);
      return;
    }
  }
  absl::StatusOr<SortedSet> result =
      union_op ? zset::Union(inputs, aggregate) : zset::Intersection(inputs, aggregate);
  KEEL_ASSERT(result.ok(), "weights were parsed as numbers: ", result.status().ToString());
  const size_t size = result->size();
  const bool existed = ctx.db().Find(args[1]) != nullptr;
  if (size > 0) {
    // Redis builds the result as a skip list and converts it to a listpack if it is small
    // enough, which turns any -0 into 0.
    size_t longest = 0;
    for (auto c = result->CursorAt(0); c.valid(); c.Next())
      longest = std::max(longest, c.member().size());
    const bool compact = size <= kCompactMaxMembers && longest <= kCompactMaxMemberBytes;
    if (compact) {
      std::vector<std::string> zeros;
      for (auto c = result->CursorAt(0); c.valid(); c.Next()) {
        if (c.score() == 0 && std::signbit(c.score())) zeros.emplace_back(c.member());
      }
      for (const std::string& member : zeros) result->ClearNegativeZero(member);
    }
    ctx.db().Set(args[1], Value::Zset(std::move(*result))).set_compact(compact);
    ctx.Dirty();
  } else if (existed) {
    ctx.db().Delete(args[1]);
    ctx.Dirty();
  }
  ctx.reply().Integer(static_cast<int64_t>(size));
}

void ZUnionStore(CommandContext& ctx, Args args) { ZStore(ctx, args, true); }
void ZInterStore(CommandContext& ctx, Args args) { ZStore(ctx, args, false); }

constexpr CommandSpec kCommands[] = {
    {"zadd", -4, kWrite | kFast, 1, 1, 1, ZAdd, "sorted-set",
     "Add one or more members to a sorted set, or update its score if it already exists", "1.2.0",
     "O(log(N)) for each item added, where N is the number of elements in the sorted set."},
    {"zincrby", 4, kWrite | kFast, 1, 1, 1, ZIncrBy, "sorted-set",
     "Increment the score of a member in a sorted set", "1.2.0",
     "O(log(N)) where N is the number of elements in the sorted set."},
    {"zrem", -3, kWrite | kFast, 1, 1, 1, ZRem, "sorted-set",
     "Remove one or more members from a sorted set", "1.2.0",
     "O(M*log(N)) with N being the number of elements in the sorted set and M the number of "
     "elements to be removed."},
    {"zremrangebyrank", 4, kWrite, 1, 1, 1, ZRemRangeByRank, "sorted-set",
     "Remove all members in a sorted set within the given indexes", "2.0.0", "O(log(N)+M)"},
    {"zremrangebyscore", 4, kWrite, 1, 1, 1, ZRemRangeByScore, "sorted-set",
     "Remove all members in a sorted set within the given scores", "1.2.0", "O(log(N)+M)"},
    {"zremrangebylex", 4, kWrite, 1, 1, 1, ZRemRangeByLex, "sorted-set",
     "Remove all members in a sorted set between the given lexicographical range", "2.8.9",
     "O(log(N)+M)"},
    {"zpopmin", -2, kWrite | kFast, 1, 1, 1, ZPopMin, "sorted-set",
     "Remove and return members with the lowest scores in a sorted set", "5.0.0", "O(log(N)*M)"},
    {"zpopmax", -2, kWrite | kFast, 1, 1, 1, ZPopMax, "sorted-set",
     "Remove and return members with the highest scores in a sorted set", "5.0.0", "O(log(N)*M)"},
    {"zunionstore", -4, kWrite, 1, 1, 1, ZUnionStore, "sorted-set",
     "Add multiple sorted sets and store the resulting sorted set in a new key", "2.0.0",
     "O(N)+O(M log(M))"},
    {"zinterstore", -4, kWrite, 1, 1, 1, ZInterStore, "sorted-set",
     "Intersect multiple sorted sets and store the resulting sorted set in a new key", "2.0.0",
     "O(N*K)+O(M*log(M))"},
};

}  // namespace

std::span<const CommandSpec> SortedSetWriteCommands() { return kCommands; }

}  // namespace keel::redis::internal
