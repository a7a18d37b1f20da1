// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// The leaderboard's storage and its two ways of sharding, as the chapter draws them.
//
// ShardStore is a row of sorted sets, one per shard, held either in this process
// (keel::zset::SortedSet) or on a Redis-compatible server reached over RESP (keel-server or
// redis-server: one key per shard). The designs talk to shards only through it, so the same code
// runs in process and against a server, and every cross-shard read is a scatter (one request
// per shard, pipelined) and a gather.
//
// A score packs the points and who got there first: points * 2^32 + (2^32 - 1 - t), t the
// milliseconds since the month began. More points rank higher; on equal points, the earlier
// player has the larger remainder and ranks higher. Both parts are integers below 2^53, so the
// double holds them exactly.
//
//   SingleBoard   one sorted set: the baseline the others must agree with.
//   RangeBoard    fixed partitions by points (shard i holds [bounds[i], bounds[i+1])): a win that
//                 crosses a bound moves the player between shards; the top 10 reads the highest
//                 shard (and the next, if it holds fewer than 10); a rank is the rank within the
//                 player's shard plus the sizes of the shards above.
//   HashBoard     Redis Cluster's hash slots (CRC16(player) mod 16384, slots split evenly over the
//                 shards): a win touches one shard; the top 10 asks every shard for its top 10
//                 and merges (scatter-gather); a rank asks every shard how many are above.
#ifndef KEEL_EXAMPLES_LEADERBOARD_BOARDS_H_
#define KEEL_EXAMPLES_LEADERBOARD_BOARDS_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "keel/net/resp_client.h"
#include "keel/zset/sorted_set.h"

namespace keel::examples::leaderboard {

// A player on a board.
struct Entry {
  std::string player;
  double score;
  friend bool operator==(const Entry&, const Entry&) = default;
};

// Packs points and the time a player reached them into one score.
[[nodiscard]] double PackScore(int64_t points, int64_t ms_into_month);
[[nodiscard]] int64_t PointsOf(double score);

// One sorted set per shard. Reads that span shards take one call per shard in a batch.
class ShardStore {
 public:
  virtual ~ShardStore() = default;
  [[nodiscard]] virtual size_t shards() const = 0;
  virtual absl::Status Add(size_t shard, std::string_view player, double score) = 0;
  virtual absl::Status Remove(size_t shard, std::string_view player) = 0;
  // The `count` best of each listed shard, best first (ZREVRANGE 0 count-1 WITHSCORES).
  virtual absl::StatusOr<std::vector<std::vector<Entry>>> Top(const std::vector<size_t>& shards,
                                                              size_t count) = 0;
  // Entries ranked [first, last] from the top of one shard (ZREVRANGE first last WITHSCORES).
  virtual absl::StatusOr<std::vector<Entry>> Range(size_t shard, int64_t first, int64_t last) = 0;
  virtual absl::StatusOr<std::optional<int64_t>> ReverseRank(size_t shard,
                                                             std::string_view player) = 0;
  // For each listed shard: how many players score above `score` (ZCOUNT (score +inf).
  virtual absl::StatusOr<std::vector<int64_t>> CountAbove(const std::vector<size_t>& shards,
                                                          double score) = 0;
  // For each listed shard: the `count` players just above (below) `score`, nearest first.
  virtual absl::StatusOr<std::vector<std::vector<Entry>>> Neighbours(
      const std::vector<size_t>& shards, double score, size_t count, bool above) = 0;
  virtual absl::StatusOr<std::vector<int64_t>> Sizes() = 0;
  // Requests sent (each shard a batch addresses counts once): the fan-out the designs pay.
  [[nodiscard]] uint64_t requests() const { return requests_; }

 protected:
  uint64_t requests_ = 0;
};

// In this process: one keel::zset::SortedSet per shard.
std::unique_ptr<ShardStore> NewLocalStore(size_t shards);
// On a Redis-compatible server: shard i is the key "<prefix>:<i>", deleted first.
absl::StatusOr<std::unique_ptr<ShardStore>> NewRemoteStore(std::string_view host_port,
                                                           std::string prefix, size_t shards);

// The three boards share this interface.
class Board {
 public:
  virtual ~Board() = default;
  [[nodiscard]] virtual std::string_view name() const = 0;
  // A player's score is now `score` (up from `old_score`, or new when that is nullopt).
  virtual absl::Status Update(std::string_view player, std::optional<double> old_score,
                              double score) = 0;
  virtual absl::StatusOr<std::vector<Entry>> Top(size_t count) = 0;
  // 0 for the best player.
  virtual absl::StatusOr<int64_t> Rank(std::string_view player, double score) = 0;
  // The `count` players ranked just above and just below, nearest first.
  virtual absl::Status Around(std::string_view player, double score, size_t count,
                              std::vector<Entry>& above, std::vector<Entry>& below) = 0;
  // Players on each shard, and the moves between shards so far.
  virtual absl::StatusOr<std::vector<int64_t>> Sizes() = 0;
  [[nodiscard]] virtual uint64_t moves() const { return 0; }
  [[nodiscard]] virtual uint64_t requests() const = 0;
};

std::unique_ptr<Board> NewSingleBoard(std::unique_ptr<ShardStore> store);
// `bounds` are the lowest points of each shard after the first, ascending.
std::unique_ptr<Board> NewRangeBoard(std::unique_ptr<ShardStore> store,
                                     std::vector<int64_t> bounds);
std::unique_ptr<Board> NewHashBoard(std::unique_ptr<ShardStore> store);

}  // namespace keel::examples::leaderboard

#endif  // KEEL_EXAMPLES_LEADERBOARD_BOARDS_H_
