// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "boards.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <limits>

#include "absl/strings/str_format.h"
#include "keel/base/status.h"
#include "keel/base/strings.h"
#include "keel/shard/hash_slot.h"

namespace keel::examples::leaderboard {
namespace {

constexpr double kTwo32 = 4294967296.0;
constexpr double kInf = std::numeric_limits<double>::infinity();

// Best first, as ZREVRANGE orders: higher score, then (on equal scores) the larger member.
bool Better(const Entry& a, const Entry& b) {
  if (a.score != b.score) return a.score > b.score;
  return a.player > b.player;
}

// ---------------------------------------------------------------------------------------------
// In process.
// ---------------------------------------------------------------------------------------------
class LocalStore final : public ShardStore {
 public:
  explicit LocalStore(size_t shards) : sets_(shards) {}

  size_t shards() const override { return sets_.size(); }

  absl::Status Add(size_t shard, std::string_view player, double score) override {
    ++requests_;
    return sets_[shard].Add(player, score).status();
  }

  absl::Status Remove(size_t shard, std::string_view player) override {
    ++requests_;
    sets_[shard].Remove(player);
    return absl::OkStatus();
  }

  absl::StatusOr<std::vector<std::vector<Entry>>> Top(const std::vector<size_t>& shards,
                                                      size_t count) override {
    std::vector<std::vector<Entry>> out;
    for (size_t s : shards) {
      ++requests_;
      out.push_back(Walk(sets_[s].ReverseCursorAt(0), count));
    }
    return out;
  }

  absl::StatusOr<std::vector<Entry>> Range(size_t shard, int64_t first, int64_t last) override {
    ++requests_;
    if (first > last) return std::vector<Entry>();
    return Walk(sets_[shard].ReverseCursorAt(static_cast<size_t>(first)),
                static_cast<size_t>(last - first + 1));
  }

  absl::StatusOr<std::optional<int64_t>> ReverseRank(size_t shard,
                                                     std::string_view player) override {
    ++requests_;
    std::optional<size_t> rank = sets_[shard].ReverseRank(player);
    if (!rank) return std::optional<int64_t>();
    return std::optional<int64_t>(static_cast<int64_t>(*rank));
  }

  absl::StatusOr<std::vector<int64_t>> CountAbove(const std::vector<size_t>& shards,
                                                  double score) override {
    std::vector<int64_t> out;
    for (size_t s : shards) {
      ++requests_;
      out.push_back(
          static_cast<int64_t>(sets_[s].RanksOf(zset::ScoreRange{{score, true}, {kInf}}).size()));
    }
    return out;
  }

  absl::StatusOr<std::vector<std::vector<Entry>>> Neighbours(const std::vector<size_t>& shards,
                                                             double score, size_t count,
                                                             bool above) override {
    std::vector<std::vector<Entry>> out;
    for (size_t s : shards) {
      ++requests_;
      const zset::SortedSet& set = sets_[s];
      if (above) {
        const zset::RankSpan span = set.RanksOf(zset::ScoreRange{{score, true}, {kInf}});
        out.push_back(Walk(set.CursorAt(span.begin), std::min(count, span.size())));
      } else {
        const zset::RankSpan span = set.RanksOf(zset::ScoreRange{{-kInf}, {score, true}});
        out.push_back(span.empty() ? std::vector<Entry>()
                                   : Walk(set.ReverseCursorAt(set.size() - span.end),
                                          std::min(count, span.size())));
      }
    }
    return out;
  }

  absl::StatusOr<std::vector<int64_t>> Sizes() override {
    std::vector<int64_t> out;
    for (const zset::SortedSet& set : sets_) out.push_back(static_cast<int64_t>(set.size()));
    return out;
  }

 private:
  static std::vector<Entry> Walk(zset::SortedSet::Cursor c, size_t count) {
    std::vector<Entry> out;
    for (; c.valid() && out.size() < count; c.Next())
      out.push_back({std::string(c.member()), c.score()});
    return out;
  }

  std::vector<zset::SortedSet> sets_;
};

// ---------------------------------------------------------------------------------------------
// On a Redis-compatible server.
// ---------------------------------------------------------------------------------------------
std::string ScoreText(double score) { return absl::StrFormat("%.17g", score); }

absl::StatusOr<double> ParseScore(const net::RespValue& v) {
  char* end = nullptr;
  const double score = std::strtod(v.text.c_str(), &end);
  if (end == v.text.c_str()) return absl::DataLossError(base::Cat("not a score: ", v.text));
  return score;
}

absl::StatusOr<std::vector<Entry>> EntriesOf(const net::RespReply& reply) {
  if (reply.value.type == net::RespValue::Type::kError) {
    return absl::FailedPreconditionError(reply.value.text);
  }
  std::vector<Entry> out;
  const std::vector<net::RespValue>& e = reply.value.elements;
  for (size_t i = 0; i + 1 < e.size(); i += 2) {
    KEEL_ASSIGN_OR_RETURN(double score, ParseScore(e[i + 1]));
    out.push_back({e[i].text, score});
  }
  return out;
}

class RemoteStore final : public ShardStore {
 public:
  RemoteStore(std::unique_ptr<net::RespClient> client, std::string prefix, size_t shards)
      : client_(std::move(client)) {
    for (size_t i = 0; i < shards; ++i) keys_.push_back(base::Cat(prefix, ":", i));
  }

  absl::Status Clear() {
    for (const std::string& key : keys_) KEEL_RETURN_IF_ERROR(Expect(Call({"DEL", key})));
    return absl::OkStatus();
  }

  size_t shards() const override { return keys_.size(); }

  absl::Status Add(size_t shard, std::string_view player, double score) override {
    return Expect(Call({"ZADD", keys_[shard], ScoreText(score), std::string(player)}));
  }

  absl::Status Remove(size_t shard, std::string_view player) override {
    return Expect(Call({"ZREM", keys_[shard], std::string(player)}));
  }

  absl::StatusOr<std::vector<std::vector<Entry>>> Top(const std::vector<size_t>& shards,
                                                      size_t count) override {
    std::vector<std::vector<std::string>> commands;
    for (size_t s : shards) {
      commands.push_back({"ZREVRANGE", keys_[s], "0", base::Cat(count - 1), "WITHSCORES"});
    }
    return EntryLists(commands);
  }

  absl::StatusOr<std::vector<Entry>> Range(size_t shard, int64_t first, int64_t last) override {
    KEEL_ASSIGN_OR_RETURN(net::RespReply reply, Call({"ZREVRANGE", keys_[shard], base::Cat(first),
                                                      base::Cat(last), "WITHSCORES"}));
    return EntriesOf(reply);
  }

  absl::StatusOr<std::optional<int64_t>> ReverseRank(size_t shard,
                                                     std::string_view player) override {
    KEEL_ASSIGN_OR_RETURN(net::RespReply reply,
                          Call({"ZREVRANK", keys_[shard], std::string(player)}));
    if (reply.value.type != net::RespValue::Type::kInteger) return std::optional<int64_t>();
    return std::optional<int64_t>(reply.value.integer);
  }

  absl::StatusOr<std::vector<int64_t>> CountAbove(const std::vector<size_t>& shards,
                                                  double score) override {
    std::vector<std::vector<std::string>> commands;
    for (size_t s : shards) {
      commands.push_back({"ZCOUNT", keys_[s], base::Cat("(", ScoreText(score)), "+inf"});
    }
    KEEL_ASSIGN_OR_RETURN(std::vector<net::RespReply> replies, Pipeline(commands));
    std::vector<int64_t> out;
    for (const net::RespReply& r : replies) out.push_back(r.value.integer);
    return out;
  }

  absl::StatusOr<std::vector<std::vector<Entry>>> Neighbours(const std::vector<size_t>& shards,
                                                             double score, size_t count,
                                                             bool above) override {
    std::vector<std::vector<std::string>> commands;
    const std::string bound = base::Cat("(", ScoreText(score));
    for (size_t s : shards) {
      if (above) {
        commands.push_back({"ZRANGEBYSCORE", keys_[s], bound, "+inf", "WITHSCORES", "LIMIT", "0",
                            base::Cat(count)});
      } else {
        commands.push_back({"ZREVRANGEBYSCORE", keys_[s], bound, "-inf", "WITHSCORES", "LIMIT", "0",
                            base::Cat(count)});
      }
    }
    return EntryLists(commands);
  }

  absl::StatusOr<std::vector<int64_t>> Sizes() override {
    std::vector<std::vector<std::string>> commands;
    for (const std::string& key : keys_) commands.push_back({"ZCARD", key});
    KEEL_ASSIGN_OR_RETURN(std::vector<net::RespReply> replies, Pipeline(commands));
    std::vector<int64_t> out;
    for (const net::RespReply& r : replies) out.push_back(r.value.integer);
    return out;
  }

 private:
  absl::StatusOr<net::RespReply> Call(std::vector<std::string> command) {
    KEEL_ASSIGN_OR_RETURN(std::vector<net::RespReply> replies, Pipeline({std::move(command)}));
    return std::move(replies[0]);
  }

  // Sends every command, then reads every reply: one round trip for a whole scatter.
  absl::StatusOr<std::vector<net::RespReply>> Pipeline(
      const std::vector<std::vector<std::string>>& commands) {
    for (const std::vector<std::string>& command : commands) {
      ++requests_;
      std::vector<std::string_view> args(command.begin(), command.end());
      KEEL_RETURN_IF_ERROR(client_->Send(args));
    }
    std::vector<net::RespReply> replies;
    for (size_t i = 0; i < commands.size(); ++i) {
      KEEL_ASSIGN_OR_RETURN(net::RespReply reply, client_->Read());
      if (reply.value.type == net::RespValue::Type::kError) {
        return absl::FailedPreconditionError(
            base::Cat("the server refused ", commands[i][0], ": ", reply.value.text));
      }
      replies.push_back(std::move(reply));
    }
    return replies;
  }

  absl::StatusOr<std::vector<std::vector<Entry>>> EntryLists(
      const std::vector<std::vector<std::string>>& commands) {
    KEEL_ASSIGN_OR_RETURN(std::vector<net::RespReply> replies, Pipeline(commands));
    std::vector<std::vector<Entry>> out;
    for (const net::RespReply& r : replies) {
      KEEL_ASSIGN_OR_RETURN(std::vector<Entry> entries, EntriesOf(r));
      out.push_back(std::move(entries));
    }
    return out;
  }

  static absl::Status Expect(const absl::StatusOr<net::RespReply>& reply) { return reply.status(); }

  std::unique_ptr<net::RespClient> client_;
  std::vector<std::string> keys_;
};

// Merges per-shard lists (each best first, or nearest first) into the `count` best overall.
std::vector<Entry> Merge(const std::vector<std::vector<Entry>>& lists, size_t count,
                         bool best_first) {
  std::vector<Entry> all;
  for (const std::vector<Entry>& list : lists) all.insert(all.end(), list.begin(), list.end());
  auto order = [best_first](const Entry& a, const Entry& b) {
    return best_first ? Better(a, b) : Better(b, a);
  };
  std::sort(all.begin(), all.end(), order);
  if (all.size() > count) all.resize(count);
  return all;
}

std::vector<size_t> AllShards(const ShardStore& store) {
  std::vector<size_t> all(store.shards());
  for (size_t i = 0; i < all.size(); ++i) all[i] = i;
  return all;
}

// ---------------------------------------------------------------------------------------------
// The designs.
// ---------------------------------------------------------------------------------------------
class SingleBoard final : public Board {
 public:
  explicit SingleBoard(std::unique_ptr<ShardStore> store) : store_(std::move(store)) {}
  std::string_view name() const override { return "one sorted set"; }

  absl::Status Update(std::string_view player, std::optional<double>, double score) override {
    return store_->Add(0, player, score);
  }
  absl::StatusOr<std::vector<Entry>> Top(size_t count) override {
    KEEL_ASSIGN_OR_RETURN(auto lists, store_->Top({0}, count));
    return lists[0];
  }
  absl::StatusOr<int64_t> Rank(std::string_view player, double) override {
    KEEL_ASSIGN_OR_RETURN(std::optional<int64_t> rank, store_->ReverseRank(0, player));
    if (!rank) return absl::NotFoundError(base::Cat("no player ", player));
    return *rank;
  }
  absl::Status Around(std::string_view, double score, size_t count, std::vector<Entry>& above,
                      std::vector<Entry>& below) override {
    KEEL_ASSIGN_OR_RETURN(auto up, store_->Neighbours({0}, score, count, true));
    KEEL_ASSIGN_OR_RETURN(auto down, store_->Neighbours({0}, score, count, false));
    above = up[0];
    below = down[0];
    return absl::OkStatus();
  }
  absl::StatusOr<std::vector<int64_t>> Sizes() override { return store_->Sizes(); }
  uint64_t requests() const override { return store_->requests(); }

 private:
  std::unique_ptr<ShardStore> store_;
};

class RangeBoard final : public Board {
 public:
  RangeBoard(std::unique_ptr<ShardStore> store, std::vector<int64_t> bounds)
      : store_(std::move(store)), bounds_(std::move(bounds)) {}
  std::string_view name() const override { return "range partitions"; }

  absl::Status Update(std::string_view player, std::optional<double> old_score,
                      double score) override {
    const size_t to = ShardOf(score);
    if (old_score) {
      const size_t from = ShardOf(*old_score);
      if (from != to) {
        KEEL_RETURN_IF_ERROR(store_->Remove(from, player));
        ++moves_;
      }
    }
    return store_->Add(to, player, score);
  }

  absl::StatusOr<std::vector<Entry>> Top(size_t count) override {
    // From the highest band down, until `count` are found: usually the top shard alone.
    std::vector<Entry> top;
    for (size_t s = store_->shards(); s-- > 0 && top.size() < count;) {
      KEEL_ASSIGN_OR_RETURN(auto lists, store_->Top({s}, count - top.size()));
      top.insert(top.end(), lists[0].begin(), lists[0].end());
    }
    return top;
  }

  absl::StatusOr<int64_t> Rank(std::string_view player, double score) override {
    const size_t s = ShardOf(score);
    KEEL_ASSIGN_OR_RETURN(std::optional<int64_t> within, store_->ReverseRank(s, player));
    if (!within) return absl::NotFoundError(base::Cat("no player ", player));
    int64_t rank = *within;
    // Everyone in a higher band ranks above.
    std::vector<size_t> higher;
    for (size_t h = s + 1; h < store_->shards(); ++h) higher.push_back(h);
    if (!higher.empty()) {
      KEEL_ASSIGN_OR_RETURN(std::vector<int64_t> counts, store_->CountAbove(higher, score));
      for (int64_t c : counts) rank += c;
    }
    return rank;
  }

  absl::Status Around(std::string_view, double score, size_t count, std::vector<Entry>& above,
                      std::vector<Entry>& below) override {
    // The neighbours are in the player's band or the bands next to it, going outwards.
    const size_t s = ShardOf(score);
    std::vector<size_t> up, down;
    for (size_t h = s; h < store_->shards(); ++h) up.push_back(h);
    for (size_t h = 0; h <= s; ++h) down.push_back(h);
    KEEL_ASSIGN_OR_RETURN(auto ups, store_->Neighbours(up, score, count, true));
    KEEL_ASSIGN_OR_RETURN(auto downs, store_->Neighbours(down, score, count, false));
    above = Merge(ups, count, /*best_first=*/false);
    below = Merge(downs, count, /*best_first=*/true);
    return absl::OkStatus();
  }

  absl::StatusOr<std::vector<int64_t>> Sizes() override { return store_->Sizes(); }
  uint64_t moves() const override { return moves_; }
  uint64_t requests() const override { return store_->requests(); }

 private:
  size_t ShardOf(double score) const {
    const int64_t points = PointsOf(score);
    return static_cast<size_t>(std::upper_bound(bounds_.begin(), bounds_.end(), points) -
                               bounds_.begin());
  }

  std::unique_ptr<ShardStore> store_;
  std::vector<int64_t> bounds_;
  uint64_t moves_ = 0;
};

class HashBoard final : public Board {
 public:
  explicit HashBoard(std::unique_ptr<ShardStore> store) : store_(std::move(store)) {}
  std::string_view name() const override { return "hash slots, scatter-gather"; }

  absl::Status Update(std::string_view player, std::optional<double>, double score) override {
    return store_->Add(ShardOf(player), player, score);
  }

  absl::StatusOr<std::vector<Entry>> Top(size_t count) override {
    KEEL_ASSIGN_OR_RETURN(auto lists, store_->Top(AllShards(*store_), count));
    return Merge(lists, count, /*best_first=*/true);
  }

  absl::StatusOr<int64_t> Rank(std::string_view, double score) override {
    // Scores are unique (see PackScore), so the rank is how many score higher, on all shards.
    KEEL_ASSIGN_OR_RETURN(std::vector<int64_t> counts,
                          store_->CountAbove(AllShards(*store_), score));
    int64_t rank = 0;
    for (int64_t c : counts) rank += c;
    return rank;
  }

  absl::Status Around(std::string_view, double score, size_t count, std::vector<Entry>& above,
                      std::vector<Entry>& below) override {
    KEEL_ASSIGN_OR_RETURN(auto ups, store_->Neighbours(AllShards(*store_), score, count, true));
    KEEL_ASSIGN_OR_RETURN(auto downs, store_->Neighbours(AllShards(*store_), score, count, false));
    above = Merge(ups, count, /*best_first=*/false);
    below = Merge(downs, count, /*best_first=*/true);
    return absl::OkStatus();
  }

  absl::StatusOr<std::vector<int64_t>> Sizes() override { return store_->Sizes(); }
  uint64_t requests() const override { return store_->requests(); }

 private:
  size_t ShardOf(std::string_view player) const {
    return static_cast<size_t>(shard::KeySlot(player)) * store_->shards() / shard::kSlotCount;
  }

  std::unique_ptr<ShardStore> store_;
};

}  // namespace

double PackScore(int64_t points, int64_t ms_into_month) {
  return static_cast<double>(points) * kTwo32 + (kTwo32 - 1 - static_cast<double>(ms_into_month));
}

int64_t PointsOf(double score) { return static_cast<int64_t>(std::floor(score / kTwo32)); }

std::unique_ptr<ShardStore> NewLocalStore(size_t shards) {
  return std::make_unique<LocalStore>(shards);
}

absl::StatusOr<std::unique_ptr<ShardStore>> NewRemoteStore(std::string_view host_port,
                                                           std::string prefix, size_t shards) {
  KEEL_ASSIGN_OR_RETURN(std::unique_ptr<net::RespClient> client,
                        net::RespClient::Connect(host_port));
  auto store = std::make_unique<RemoteStore>(std::move(client), std::move(prefix), shards);
  KEEL_RETURN_IF_ERROR(store->Clear());
  return std::unique_ptr<ShardStore>(std::move(store));
}

std::unique_ptr<Board> NewSingleBoard(std::unique_ptr<ShardStore> store) {
  return std::make_unique<SingleBoard>(std::move(store));
}
std::unique_ptr<Board> NewRangeBoard(std::unique_ptr<ShardStore> store,
                                     std::vector<int64_t> bounds) {
  return std::make_unique<RangeBoard>(std::move(store), std::move(bounds));
}
std::unique_ptr<Board> NewHashBoard(std::unique_ptr<ShardStore> store) {
  return std::make_unique<HashBoard>(std::move(store));
}

}  // namespace keel::examples::leaderboard
