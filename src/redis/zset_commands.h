// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// What the sorted set and geo command files share, private to src/redis.
#ifndef KEEL_SRC_REDIS_ZSET_COMMANDS_H_
#define KEEL_SRC_REDIS_ZSET_COMMANDS_H_

#include <cstdint>
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

// ZRANGE's and ZREMRANGEBYRANK's index arithmetic: negative indices count from the end, the
// start is clamped to 0 and the end to the last rank. The span is empty when nothing is left.
[[nodiscard]] zset::RankSpan ResolveRankRange(int64_t start, int64_t end, size_t size);

std::span<const CommandSpec> SortedSetReadCommands();
std::span<const CommandSpec> SortedSetWriteCommands();

}  // namespace keel::redis::internal

#endif  // KEEL_SRC_REDIS_ZSET_COMMANDS_H_
