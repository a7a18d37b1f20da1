// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// What the sorted set and geo command files share, private to src/redis.
#ifndef KEEL_SRC_REDIS_ZSET_COMMANDS_H_
#define KEEL_SRC_REDIS_ZSET_COMMANDS_H_

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "command.h"
#include "keel/zset/sorted_set.h"

namespace keel::redis::internal {

// Redis's compact encoding of a sorted set (a listpack) holds at most this many members of at
// most this many bytes (zset-max-listpack-entries, zset-max-listpack-value). A listpack stores a
// score of -0 as 0; keel tracks which sets Redis would hold that way (Value::compact).
inline constexpr size_t kCompactMaxMembers = 128;
inline constexpr size_t kCompactMaxMemberBytes = 64;

inline constexpr std::string_view kScoreRangeError = "min or max is not a float";
inline constexpr std::string_view kLexRangeError = "min or max not valid string range item";

// What the two bounds of a ZRANGE-family range are: ranks (indices, negative from the end),
// scores ("1.5", "(1.5", "-inf") or lex items ("[a", "(b", "-", "+").
enum class RangeKind { kRank, kScore, kLex };

struct RangeBounds {
  RangeKind kind = RangeKind::kRank;
  int64_t start = 0;  // kRank
  int64_t end = 0;
  zset::ScoreRange scores{};  // kScore
  zset::LexRange lex{};       // kLex
};

// Parses `min` and `max` as `kind` says. On a bad bound, replies Redis's error for the kind
// (not an integer, not a float, not a valid string range item) and returns nullopt.
[[nodiscard]] std::optional<RangeBounds> ParseRangeBounds(CommandContext& ctx, RangeKind kind,
                                                          std::string_view min,
                                                          std::string_view max);

// The ascending ranks `bounds` select in `set` (ranks as ResolveRankRange below).
[[nodiscard]] zset::RankSpan RanksOf(const RangeBounds& bounds, const zset::SortedSet& set);

// ZRANGE's and ZREMRANGEBYRANK's index arithmetic: negative indices count from the end, the
// start is clamped to 0 and the end to the last rank. The span is empty when nothing is left.
[[nodiscard]] zset::RankSpan ResolveRankRange(int64_t start, int64_t end, size_t size);

std::span<const CommandSpec> SortedSetReadCommands();
std::span<const CommandSpec> SortedSetWriteCommands();

}  // namespace keel::redis::internal

#endif  // KEEL_SRC_REDIS_ZSET_COMMANDS_H_
