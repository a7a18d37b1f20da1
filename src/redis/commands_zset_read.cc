// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// The sorted set commands that read (Redis's t_zset.c): ZCARD, ZSCORE, ZMSCORE, ZCOUNT,
// ZLEXCOUNT, ZRANK, ZREVRANK, the ZRANGE family and ZRANDMEMBER. Every range is resolved to a
// span of ranks (keel::zset::SortedSet::RanksOf) and walked with a cursor, which gives Redis's
// results: a range whose min is past its max is empty, a negative LIMIT offset is empty, a
// negative LIMIT count is unlimited.
#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "arguments.h"
#include "command.h"
#include "zset_commands.h"

namespace keel::redis::internal {
namespace {

using zset::RankSpan;
using zset::SortedSet;

void ZCard(CommandContext& ctx, Args args) {
  bool wrong_type;
  const Value* value = LookupTyped(ctx, args[1], ValueType::kZset, &wrong_type);
  if (wrong_type) return;
  ctx.reply().Integer(value == nullptr ? 0 : static_cast<int64_t>(value->zset().size()));
}

void ZScore(CommandContext& ctx, Args args) {
  bool wrong_type;
  const Value* value = LookupTyped(ctx, args[1], ValueType::kZset, &wrong_type);
  if (wrong_type) return;
  const std::optional<double> score =
      value == nullptr ? std::nullopt : value->zset().Score(args[2]);
  if (score) {
    ctx.reply().Double(*score);
  } else {
    ctx.reply().Null();
  }
}

void ZMScore(CommandContext& ctx, Args args) {
  bool wrong_type;
  const Value* value = LookupTyped(ctx, args[1], ValueType::kZset, &wrong_type);
  if (wrong_type) return;
  ctx.reply().ArrayHeader(args.size() - 2);
  for (size_t j = 2; j < args.size(); ++j) {
    const std::optional<double> score =
        value == nullptr ? std::nullopt : value->zset().Score(args[j]);
    if (score) {
      ctx.reply().Double(*score);
    } else {
      ctx.reply().Null();
    }
  }
}

// ZCOUNT and ZLEXCOUNT.
void CountInRange(CommandContext& ctx, Args args, RangeKind kind) {
  const std::optional<RangeBounds> bounds = ParseRangeBounds(ctx, kind, args[2], args[3]);
  if (!bounds) return;
  bool wrong_type;
  const Value* value = LookupTyped(ctx, args[1], ValueType::kZset, &wrong_type);
  if (wrong_type) return;
  const size_t count = value == nullptr ? 0 : RanksOf(*bounds, value->zset()).size();
  ctx.reply().Integer(static_cast<int64_t>(count));
}

void ZCount(CommandContext& ctx, Args args) { CountInRange(ctx, args, RangeKind::kScore); }
void ZLexCount(CommandContext& ctx, Args args) { CountInRange(ctx, args, RangeKind::kLex); }

void RankGeneric(CommandContext& ctx, Args args, bool reverse) {
  bool wrong_type;
  const Value* value = LookupTyped(ctx, args[1], ValueType::kZset, &wrong_type);
  if (wrong_type) return;
  std::optional<size_t> rank;
  if (value != nullptr) {
    rank = reverse ? value->zset().ReverseRank(args[2]) : value->zset().Rank(args[2]);
  }
  if (rank) {
    ctx.reply().Integer(static_cast<int64_t>(*rank));
  } else {
    ctx.reply().Null();
  }
}

void ZRank(CommandContext& ctx, Args args) { RankGeneric(ctx, args, false); }
void ZRevRank(CommandContext& ctx, Args args) { RankGeneric(ctx, args, true); }

// ---------------------------------------------------------------------------------------------
// The ZRANGE family (zrangeGenericCommand).
// ---------------------------------------------------------------------------------------------
enum class RangeType { kAuto, kRank, kScore, kLex };
enum class Direction { kAuto, kForward, kReverse };

void ReplyElements(CommandContext& ctx, const SortedSet& set, size_t first, size_t count,
                   bool reverse, bool with_scores) {
  net::RespWriter& r = ctx.reply();
  const bool resp3 = ctx.client().protocol == net::Protocol::kResp3;
  r.ArrayHeader(with_scores && !resp3 ? count * 2 : count);
  auto c = reverse ? set.ReverseCursorAt(set.size() - 1 - first) : set.CursorAt(first);
  for (size_t i = 0; i < count; ++i, c.Next()) {
    if (with_scores && resp3) r.ArrayHeader(2);
    r.BulkString(c.member());
    if (with_scores) r.Double(c.score());
  }
}

// Replies with the members of `span` after skipping `offset` of them and taking at most
// `limit` (-1 or any negative: all), from the low end or, reversed, from the high end.
void ReplySpan(CommandContext& ctx, const SortedSet& set, RankSpan span, int64_t offset,
               int64_t limit, bool reverse, bool with_scores) {
  if (offset < 0 || span.empty() || static_cast<uint64_t>(offset) >= span.size()) {
    ctx.reply().ArrayHeader(0);
    return;
  }
  size_t count = span.size() - static_cast<size_t>(offset);
  if (limit >= 0) count = std::min(count, static_cast<size_t>(limit));
  const size_t first = reverse ? span.end - 1 - static_cast<size_t>(offset)
                               : span.begin + static_cast<size_t>(offset);
  ReplyElements(ctx, set, first, count, reverse, with_scores);
}

// Parses and runs a range query on the key at args[key_index] (zrangeGenericCommand). Fixed
// commands (ZREVRANGE, ZRANGEBYSCORE, ...) pass their type and direction; ZRANGE passes kAuto
// and lets BYSCORE, BYLEX and REV choose.
void ZRangeGeneric(CommandContext& ctx, Args args, size_t key_index, RangeType type,
                   Direction direction);

void ZRange(CommandContext& ctx, Args args) {
  ZRangeGeneric(ctx, args, 1, RangeType::kAuto, Direction::kAuto);
}
void ZRevRange(CommandContext& ctx, Args args) {
  ZRangeGeneric(ctx, args, 1, RangeType::kRank, Direction::kReverse);
}
void ZRangeByScore(CommandContext& ctx, Args args) {
  ZRangeGeneric(ctx, args, 1, RangeType::kScore, Direction::kForward);
}
void ZRevRangeByScore(CommandContext& ctx, Args args) {
  ZRangeGeneric(ctx, args, 1, RangeType::kScore, Direction::kReverse);
}
void ZRangeByLex(CommandContext& ctx, Args args) {
  ZRangeGeneric(ctx, args, 1, RangeType::kLex, Direction::kForward);
}
void ZRevRangeByLex(CommandContext& ctx, Args args) {
  ZRangeGeneric(ctx, args, 1, RangeType::kLex, Direction::kReverse);
}

// ---------------------------------------------------------------------------------------------
// ZRANDMEMBER key [count [WITHSCORES]]
// ---------------------------------------------------------------------------------------------
void ZRandMember(CommandContext& ctx, Args args) {
  constexpr int64_t kLongMax = INT64_MAX;
  net::RespWriter& r = ctx.reply();
  const bool resp3 = ctx.client().protocol == net::Protocol::kResp3;
  if (args.size() >= 3) {
    const std::optional<int64_t> count = ParseInteger(args[2]);
    if (!count) {
      ctx.Error(kNotInteger);
      return;
    }
    if (*count < -kLongMax) {
      ctx.Error(
          "value is out of range, value must between -9223372036854775807 and "
          "9223372036854775807");
      return;
    }
    if (args.size() > 4 || (args.size() == 4 && !IsOption(args[3], "withscores"))) {
      ctx.Error(kSyntaxError);
      return;
    }
    const bool with_scores = args.size() == 4;
    if (with_scores && (*count < -kLongMax / 2 || *count > kLongMax / 2)) {
      ctx.Error("value is out of range");
      return;
    }
    bool wrong_type;
    const Value* value = LookupTyped(ctx, args[1], ValueType::kZset, &wrong_type);
    if (wrong_type) return;
    if (value == nullptr || *count == 0) {
      r.ArrayHeader(0);
      return;
    }
    const SortedSet& set = value->zset();
    auto emit = [&](size_t rank) {
      auto c = set.CursorAt(rank);
      if (with_scores && resp3) r.ArrayHeader(2);
      r.BulkString(c.member());
      if (with_scores) r.Double(c.score());
    };
    const bool unique = *count > 0;
    const auto wanted = static_cast<uint64_t>(unique ? *count : -*count);
    if (!unique || wanted == 1) {
      // Repetitions allowed: each pick is independent.
      r.ArrayHeader(with_scores && !resp3 ? wanted * 2 : wanted);
      for (uint64_t i = 0; i < wanted; ++i) emit(ctx.engine().rng.Uniform(set.size()));
      return;
    }
    const size_t n = std::min<uint64_t>(wanted, set.size());
    r.ArrayHeader(with_scores && !resp3 ? n * 2 : n);
    if (n == set.size()) {
      for (size_t rank = 0; rank < n; ++rank) emit(rank);
      return;
    }
    // Distinct picks (Floyd's algorithm: n draws, no retries).
    absl::flat_hash_set<uint64_t> chosen;
    std::vector<uint64_t> order;
    for (uint64_t j = set.size() - n; j < set.size(); ++j) {
      const uint64_t t = ctx.engine().rng.Uniform(j + 1);
      const uint64_t pick = chosen.insert(t).second ? t : j;
      if (pick == j) chosen.insert(j);
      order.push_back(pick);
    }
    for (uint64_t rank : order) emit(rank);
    return;
  }
  bool wrong_type;
  const Value* value = LookupTyped(ctx, args[1], ValueType::kZset, &wrong_type);
  if (wrong_type) return;
  if (value == nullptr) {
    r.Null();
    return;
  }
  r.BulkString(value->zset().CursorAt(ctx.engine().rng.Uniform(value->zset().size())).member());
}

constexpr CommandSpec kCommands[] = {
    {"zcard", 2, kReadOnly | kFast, 1, 1, 1, ZCard, "sorted-set",
     "Get the number of members in a sorted set", "1.2.0", "O(1)"},
    {"zscore", 3, kReadOnly | kFast, 1, 1, 1, ZScore, "sorted-set",
     "Get the score associated with the given member in a sorted set", "1.2.0", "O(1)"},
    {"zmscore", -3, kReadOnly | kFast, 1, 1, 1, ZMScore, "sorted-set",
     "Get the score associated with the given members in a sorted set", "6.2.0",
     "O(N) where N is the number of members being requested."},
    {"zcount", 4, kReadOnly | kFast, 1, 1, 1, ZCount, "sorted-set",
     "Count the members in a sorted set with scores within the given values", "2.0.0",
     "O(log(N)) with N being the number of elements in the sorted set."},
    {"zlexcount", 4, kReadOnly | kFast, 1, 1, 1, ZLexCount, "sorted-set",
     "Count the number of members in a sorted set between a given lexicographical range", "2.8.9",
     "O(log(N)) with N being the number of elements in the sorted set."},
    {"zrank", 3, kReadOnly | kFast, 1, 1, 1, ZRank, "sorted-set",
     "Determine the index of a member in a sorted set", "2.0.0", "O(log(N))"},
    {"zrevrank", 3, kReadOnly | kFast, 1, 1, 1, ZRevRank, "sorted-set",
     "Determine the index of a member in a sorted set, with scores ordered from high to low",
     "2.0.0", "O(log(N))"},
    {"zrange", -4, kReadOnly, 1, 1, 1, ZRange, "sorted-set",
     "Return a range of members in a sorted set", "1.2.0",
     "O(log(N)+M) with N being the number of elements in the sorted set and M the number of "
     "elements returned."},
    {"zrevrange", -4, kReadOnly, 1, 1, 1, ZRevRange, "sorted-set",
     "Return a range of members in a sorted set, by index, with scores ordered from high to low",
     "1.2.0", "O(log(N)+M)"},
    {"zrangebyscore", -4, kReadOnly, 1, 1, 1, ZRangeByScore, "sorted-set",
     "Return a range of members in a sorted set, by score", "1.0.5", "O(log(N)+M)"},
    {"zrevrangebyscore", -4, kReadOnly, 1, 1, 1, ZRevRangeByScore, "sorted-set",
     "Return a range of members in a sorted set, by score, with scores ordered from high to low",
     "2.2.0", "O(log(N)+M)"},
    {"zrangebylex", -4, kReadOnly, 1, 1, 1, ZRangeByLex, "sorted-set",
     "Return a range of members in a sorted set, by lexicographical range", "2.8.9", "O(log(N)+M)"},
    {"zrevrangebylex", -4, kReadOnly, 1, 1, 1, ZRevRangeByLex, "sorted-set",
     "Return a range of members in a sorted set, by lexicographical range, ordered from higher "
     "to lower strings.",
     "2.8.9", "O(log(N)+M)"},
    {"zrandmember", -2, kReadOnly, 1, 1, 1, ZRandMember, "sorted-set",
     "Get one or multiple random elements from a sorted set", "6.2.0",
     "O(N) where N is the number of elements returned"},
};

void ZRangeGeneric(CommandContext& ctx, Args args, size_t key_index, RangeType type,
                   Direction direction) {
  size_t min_index = key_index + 1;
  size_t max_index = key_index + 2;
  bool with_scores = false;
  int64_t offset = 0;
  int64_t limit = -1;
  for (size_t j = key_index + 3; j < args.size(); ++j) {
    const size_t left = args.size() - j - 1;
    if (IsOption(args[j], "withscores")) {
      with_scores = true;
    } else if (IsOption(args[j], "limit") && left >= 2) {
      const std::optional<int64_t> o = ParseInteger(args[j + 1]);
      const std::optional<int64_t> l = o ? ParseInteger(args[j + 2]) : std::nullopt;
      if (!o || !l) {
        ctx.Error(kNotInteger);
        return;
      }
      offset = *o;
      limit = *l;
      j += 2;
    } else if (direction == Direction::kAuto && IsOption(args[j], "rev")) {
      direction = Direction::kReverse;
    } else if (type == RangeType::kAuto && IsOption(args[j], "bylex")) {
      type = RangeType::kLex;
    } else if (type == RangeType::kAuto && IsOption(args[j], "byscore")) {
      type = RangeType::kScore;
    } else {
      ctx.Error(kSyntaxError);
      return;
    }
  }
  if (direction == Direction::kAuto) direction = Direction::kForward;
  if (type == RangeType::kAuto) type = RangeType::kRank;
  if (limit != -1 && type == RangeType::kRank) {
    ctx.Error("syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX");
    return;
  }
  if (with_scores && type == RangeType::kLex) {
    ctx.Error("syntax error, WITHSCORES not supported in combination with BYLEX");
    return;
  }
  const bool reverse = direction == Direction::kReverse;
  if (reverse && type != RangeType::kRank) std::swap(min_index, max_index);

  const RangeKind kind = type == RangeType::kScore ? RangeKind::kScore
                         : type == RangeType::kLex ? RangeKind::kLex
                                                   : RangeKind::kRank;
  const std::optional<RangeBounds> bounds =
      ParseRangeBounds(ctx, kind, args[min_index], args[max_index]);
  if (!bounds) return;

  bool wrong_type;
  const Value* value = LookupTyped(ctx, args[key_index], ValueType::kZset, &wrong_type);
  if (wrong_type) return;
  if (value == nullptr) {
    ctx.reply().ArrayHeader(0);
    return;
  }
  const SortedSet& set = value->zset();
  if (kind != RangeKind::kRank) {
    ReplySpan(ctx, set, RanksOf(*bounds, set), offset, limit, reverse, with_scores);
    return;
  }
  const RankSpan span = RanksOf(*bounds, set);
  if (span.empty()) {
    ctx.reply().ArrayHeader(0);
    return;
  }
  // Ranks count from the top when reversed: map them onto ascending ranks.
  const size_t first = reverse ? set.size() - 1 - span.begin : span.begin;
  ReplyElements(ctx, set, first, span.size(), reverse, with_scores);
}

}  // namespace

std::optional<RangeBounds> ParseRangeBounds(CommandContext& ctx, RangeKind kind,
                                            std::string_view min, std::string_view max) {
  RangeBounds bounds;
  bounds.kind = kind;
  switch (kind) {
    case RangeKind::kRank: {
      const std::optional<int64_t> start = ParseInteger(min);
      const std::optional<int64_t> end = start ? ParseInteger(max) : std::nullopt;
      if (!start || !end) {
        ctx.Error(kNotInteger);
        return std::nullopt;
      }
      bounds.start = *start;
      bounds.end = *end;
      return bounds;
    }
    case RangeKind::kScore: {
      const std::optional<zset::ScoreBound> low = ParseScoreBound(min);
      const std::optional<zset::ScoreBound> high = ParseScoreBound(max);
      if (!low || !high) {
        ctx.Error(kScoreRangeError);
        return std::nullopt;
      }
      bounds.scores = {*low, *high};
      return bounds;
    }
    case RangeKind::kLex: {
      std::optional<zset::LexBound> low = ParseLexBound(min);
      std::optional<zset::LexBound> high = ParseLexBound(max);
      if (!low || !high) {
        ctx.Error(kLexRangeError);
        return std::nullopt;
      }
      bounds.lex = {*std::move(low), *std::move(high)};
      return bounds;
    }
  }
  return std::nullopt;
}

zset::RankSpan RanksOf(const RangeBounds& bounds, const SortedSet& set) {
  switch (bounds.kind) {
    case RangeKind::kRank:
      return ResolveRankRange(bounds.start, bounds.end, set.size());
    case RangeKind::kScore:
      return set.RanksOf(bounds.scores);
    case RangeKind::kLex:
      return set.RanksOf(bounds.lex);
  }
  return {0, 0};
}

zset::RankSpan ResolveRankRange(int64_t start, int64_t end, size_t size) {
  const auto length = static_cast<int64_t>(size);
  if (start < 0) start += length;
  if (end < 0) end += length;
  if (start < 0) start = 0;
  if (start > end || start >= length) return {0, 0};
  if (end >= length) end = length - 1;
  return {static_cast<size_t>(start), static_cast<size_t>(end) + 1};
}

std::span<const CommandSpec> SortedSetReadCommands() { return kCommands; }

}  // namespace keel::redis::internal
