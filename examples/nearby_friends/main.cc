// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// nearby_friends: the "design nearby friends" case study, simulated in one process.
//
// Users with friend lists move around. Every few seconds an active user's app reports its
// location; the WebSocket server that holds the user's connection
//   1. writes it to the location cache with a TTL (keel::cache::TtlCache: an inactive user's entry
//      expires by itself), and
//   2. publishes it on the user's own channel, on the pub/sub server that owns the channel.
// Each active user's server subscribes to the channels of all the user's friends; on every update
// it computes the distance between the user and that friend and keeps the friend in the user's
// "nearby" list only within the search radius. A user who comes online first reads the friends'
// last locations from the cache, then subscribes. A friend who goes offline stays on the list until
// the cache entry expires.
//
// The channels are spread over N pub/sub servers (keel::pubsub::Broker each) by a consistent hash
// ring on the channel's name (sharded_pubsub.h). Part-way through, one more server joins: about
// 1/(N+1) of the channels move to it, and their readers and writers are handed over in two steps
// without losing an update (the run prints how many moved against that ideal).
//
// Time is simulated with keel::base::ManualClock, so an hour of activity takes seconds; the
// fan-out rate is measured on the real clock. At the end every user's list is checked against the
// ground truth, and every (reader, friend) pair's received updates against those the friend
// published while both were online.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/cli.h"
#include "keel/base/clock.h"
#include "keel/base/random.h"
#include "keel/base/strings.h"
#include "keel/cache/ttl_cache.h"
#include "keel/geo/lat_lng.h"
#include "keel/pubsub/broker.h"
#include "keel/shard/hash_ring.h"
#include "keel/shard/node.h"
#include "nearby_friends/sharded_pubsub.h"

namespace keel::examples {
namespace {

using base::kNanosPerSecond;

struct LocationUpdate {
  uint32_t user;
  geo::LatLng location;
  int64_t time_ns;
  uint64_t seq;  // the user's channel's sequence number, from 1
};

using PubSub = ShardedPubSub<LocationUpdate>;

struct User {
  std::string name;
  std::string channel;  // "location:<id>"
  geo::LatLng position;
  std::vector<uint32_t> friends;
  int64_t online_from_ns = 0;
  int64_t online_until_ns = INT64_MAX;
  bool online = false;
  absl::flat_hash_map<uint32_t, double> nearby;  // friend -> distance in metres
  // The user's own channel: its last sequence number, and which ring the user's WebSocket server
  // routes by while a shard joins (and when it takes the next step).
  uint64_t seq = 0;
  RingStage stage = RingStage::kCurrentRing;
  int64_t next_step_ns = 0;
  // One entry per friend, in the order of `friends`: the subscription to the friend's channel
  // (while online), the friend's updates owed (published while both were online) and received,
  // and where this user sits in the friend's own list.
  std::vector<PubSub::Subscription> subscriptions;
  std::vector<uint64_t> owed;
  std::vector<uint64_t> received;
  std::vector<uint32_t> index_in_friend;
};

enum class Handover : uint8_t { kSafe, kNaive };

struct Settings {
  int64_t users;
  int64_t friends;
  int64_t minutes;
  int64_t interval_s;
  double radius_m;
  int64_t ttl_s;
  uint64_t seed;
  uint32_t shards;
  uint32_t vnodes;
  int64_t add_shard_at_minute;  // 0: never
  int64_t handover_s;
  Handover handover;
};

// 1234567 as "1,234,567": exact counts that a person can read.
std::string Grouped(uint64_t n) {
  const std::string digits = absl::StrCat(n);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out.push_back(',');
    out.push_back(digits[i]);
  }
  return out;
}

std::string Clock(int64_t t_ns) {
  const int64_t s = t_ns / kNanosPerSecond;
  return absl::StrFormat("%02d:%02d", s / 60, s % 60);
}

geo::LatLng Step(base::Random& rng, geo::LatLng p, double meters) {
  // A random step of up to `meters` (an east-west degree shrinks with latitude).
  const double dlat = rng.UniformDouble(-1, 1) * meters / 111'195;
  const double dlng = rng.UniformDouble(-1, 1) * meters / (111'195 * std::cos(p.lat_radians()));
  return geo::LatLng::FromDegrees(std::clamp(p.lat_degrees() + dlat, -89.0, 89.0),
                                  std::remainder(p.lng_degrees() + dlng, 360.0));
}

// Exits with the error: the simulation cannot go on without the subscription it asked for.
[[noreturn]] void Die(const absl::Status& status) {
  std::fprintf(stderr, "nearby_friends: %s\n", status.ToString().c_str());
  std::exit(1);
}

constexpr int64_t kMinuteNs = 60 * kNanosPerSecond;
constexpr size_t kPollBatch = 64;  // messages taken from one subscription at a time

// Where the shard hand-over is.
enum class Phase : uint8_t {
  kBefore,       // one ring
  kJoining,      // servers move to both rings (safe) or straight to the new one (naive)
  kCuttingOver,  // safe only: every server is on both rings; they move to the new one alone
  kDone,
};

class Simulation {
 public:
  Simulation(const Settings& s, base::ManualClock& clock,
             cache::TtlCache<uint32_t, LocationUpdate>& cache, PubSub& pubsub)
      : s_(s),
        clock_(clock),
        cache_(cache),
        pubsub_(pubsub),
        rng_(s.seed),
        handover_rng_(s.seed + 1) {}

  void CreateUsers() {
    // Three cities; people live within about 15 km of one of them.
    const geo::LatLng cities[] = {geo::LatLng::FromDegrees(37.7749, -122.4194),
                                  geo::LatLng::FromDegrees(37.3382, -121.8863),
                                  geo::LatLng::FromDegrees(37.8044, -122.2712)};
    const char* first[] = {"Alice", "Bob", "Carol", "Dave", "Erin", "Frank", "Grace", "Heidi"};
    for (int64_t i = 0; i < s_.users; ++i) {
      User u;
      u.name = absl::StrFormat("%s-%d", first[i % 8], i);
      u.channel = absl::StrFormat("location:%d", i);
      u.position = Step(rng_, cities[rng_.Uniform(3)], 15'000);
      // Most are online from the start; some join later, some leave and never come back.
      if (rng_.Bernoulli(0.15))
        u.online_from_ns =
            static_cast<int64_t>(rng_.Uniform(static_cast<uint64_t>(s_.minutes / 2 + 1))) *
            kMinuteNs;
      if (rng_.Bernoulli(0.2))
        u.online_until_ns =
            u.online_from_ns +
            (5 + static_cast<int64_t>(rng_.Uniform(static_cast<uint64_t>(s_.minutes / 2 + 1)))) *
                kMinuteNs;
      users_.push_back(std::move(u));
    }
    // Friendships: symmetric, about `friends` each, more likely within a city.
    for (uint32_t a = 0; a < users_.size(); ++a) {
      for (int64_t k = 0; k < s_.friends / 2; ++k) {
        const auto b = static_cast<uint32_t>(rng_.Uniform(users_.size()));
        if (b == a || IsFriend(a, b)) continue;
        users_[a].friends.push_back(b);
        users_[b].friends.push_back(a);
      }
    }
    // User 0 is the one the timeline follows; give them friends nearby.
    for (uint32_t k = 1; k <= 3 && k < users_.size(); ++k) {
      users_[k].position = Step(rng_, users_[0].position, 4000);
      if (!IsFriend(0, k)) {
        users_[0].friends.push_back(k);
        users_[k].friends.push_back(0);
      }
    }
    users_[0].online_from_ns = 0;
    users_[0].online_until_ns = INT64_MAX;
    users_[2].online_from_ns = 0;
    users_[2].online_until_ns = 12 * kMinuteNs;  // goes offline at 12:00
    for (User& user : users_) {
      const size_t n = user.friends.size();
      user.subscriptions.resize(n);
      user.owed.assign(n, 0);
      user.received.assign(n, 0);
      for (const uint32_t f : user.friends) {
        const std::vector<uint32_t>& theirs = users_[f].friends;
        const auto me = static_cast<uint32_t>(&user - users_.data());
        user.index_in_friend.push_back(
            static_cast<uint32_t>(std::find(theirs.begin(), theirs.end(), me) - theirs.begin()));
      }
    }
  }

  bool Run() {
    size_t friendships = 0;
    for (const User& u : users_) friendships += u.friends.size();
    std::printf(
        "%zu users, %zu friendships, location updates every %lld s, search radius %.0f m,\n"
        "cache TTL %lld s (an inactive user's location expires), %lld simulated minutes.\n"
        "Each user's channel lives on one of %zu pub/sub shards, picked by a hash ring\n"
        "(%u points per shard)",
        users_.size(), friendships / 2, static_cast<long long>(s_.interval_s), s_.radius_m,
        static_cast<long long>(s_.ttl_s), static_cast<long long>(s_.minutes), pubsub_.shard_count(),
        s_.vnodes);
    if (s_.add_shard_at_minute > 0) {
      std::printf("; one more joins at %s (%s hand-over).\n",
                  Clock(s_.add_shard_at_minute * kMinuteNs).c_str(),
                  s_.handover == Handover::kSafe ? "safe" : "naive");
    } else {
      std::printf(".\n");
    }
    std::printf("The timeline follows %s.\n\n", users_[0].name.c_str());
    const int64_t end_ns = s_.minutes * kMinuteNs;
    const int64_t step_ns = s_.interval_s * kNanosPerSecond;
    const int64_t report_every_ns = 5 * kMinuteNs;
    int64_t next_report = report_every_ns;
    const base::MonotonicClock& wall = base::MonotonicClock::Default();
    int64_t busy_ns = 0;
    for (int64_t now = 0; now <= end_ns; now += step_ns) {
      clock_.Set(now);
      const int64_t t0 = wall.NowNanos();
      StepHandover(now);
      Connect(now);
      PublishLocations(now);
      Deliver();
      // Once a minute of simulated time (whenever a minute boundary is crossed).
      if (now == 0 || now / kMinuteNs != (now - step_ns) / kMinuteNs) ExpireInactive(now);
      busy_ns += wall.NowNanos() - t0;
      if (now >= next_report || now + step_ns > end_ns) {
        Report(now, busy_ns);
        next_report += report_every_ns;
      }
    }
    ExpireInactive(end_ns);  // the lists are checked against the cache as it is now
    if (phase_ == Phase::kJoining || phase_ == Phase::kCuttingOver) {
      std::printf("  The run ended during step %d of the hand-over.\n",
                  phase_ == Phase::kJoining ? 1 : 2);
    }
    PrintFanOut(busy_ns);
    const bool updates_ok = CheckUpdates();
    const bool lists_ok = CheckLists();
    return updates_ok && lists_ok && handover_ok_;
  }

 private:
  bool IsFriend(uint32_t a, uint32_t b) const {
    const std::vector<uint32_t>& f = users_[a].friends;
    return std::find(f.begin(), f.end(), b) != f.end();
  }

  void Event(uint32_t user, int64_t now, const std::string& what) {
    if (user == 0) std::printf("  %s  %s\n", Clock(now).c_str(), what.c_str());
  }

  // ----- The shard hand-over -----------------------------------------------------------------

  // Each tick: starts the hand-over at its minute; moves the users' servers whose watch has fired
  // to the step service discovery announces; announces the next step once all have taken this one.
  void StepHandover(int64_t now) {
    if (phase_ == Phase::kDone) return;
    if (phase_ == Phase::kBefore) {
      if (s_.add_shard_at_minute == 0 || now < s_.add_shard_at_minute * kMinuteNs) return;
      BeginHandover(now);
    }
    const RingStage target = phase_ == Phase::kJoining && s_.handover == Handover::kSafe
                                 ? RingStage::kBothRings
                                 : RingStage::kNextRing;
    size_t behind = 0;
    for (uint32_t u = 0; u < users_.size(); ++u) {
      User& user = users_[u];
      if (user.stage == target) continue;
      if (user.next_step_ns > now) {
        ++behind;
        continue;
      }
      TakeStep(u, target, now);
    }
    if (behind > 0) return;
    if (target == RingStage::kBothRings) {
      phase_ = Phase::kCuttingOver;
      ScheduleSteps(now);
      std::printf(
          "  %s  Every server has taken step 1. Step 2, within %lld s on each: publish to shard %u "
          "only,\n         drain the readers' old subscriptions and drop them.\n",
          Clock(now).c_str(), static_cast<long long>(s_.handover_s), new_shard_);
      return;
    }
    FinishHandover(now);
  }

  // A shard joins the ring; prints which channels it takes from whom.
  void BeginHandover(int64_t now) {
    const size_t n = pubsub_.shard_count();
    absl::StatusOr<shard::NodeId> added = pubsub_.BeginAddShard();
    if (!added.ok()) Die(added.status());
    new_shard_ = *added;
    std::vector<size_t> before(n + 1), after(n + 1), moved_out(n + 1);
    size_t moved = 0;
    size_t elsewhere = 0;  // moved between old shards: consistent hashing never does this
    channel_moved_.assign(users_.size(), false);
    for (uint32_t u = 0; u < users_.size(); ++u) {
      const shard::NodeId from = pubsub_.CurrentOwner(users_[u].channel);
      const shard::NodeId to = pubsub_.NextOwner(users_[u].channel);
      ++before[from];
      ++after[to];
      if (from == to) continue;
      channel_moved_[u] = true;
      ++moved;
      ++moved_out[from];
      elsewhere += to == new_shard_ ? 0 : 1;
    }
    std::printf(
        "  %s  Shard %u joins: service discovery (etcd or ZooKeeper, holding the ring) lists %zu "
        "shards.\n",
        Clock(now).c_str(), new_shard_, n + 1);
    std::printf("         shard   channels before   after   moved\n");
    for (size_t i = 0; i <= n; ++i) {
      const bool is_new = i == new_shard_;
      std::printf("         %5zu   %15s   %5zu   %s%zu\n", i,
                  is_new ? "-" : absl::StrFormat("%zu", before[i]).c_str(), after[i],
                  is_new ? "+" : "-", is_new ? moved : moved_out[i]);
    }
    std::printf("         peak/mean %15.2f   %5.2f\n", PeakOverMean({before.data(), n}),
                PeakOverMean(after));
    const double ideal = static_cast<double>(users_.size()) / static_cast<double>(n + 1);
    std::printf(
        "         %zu of %zu channels move (%.1f%%); the ideal, 1/%zu of them, is %.0f: %.2fx. "
        "%s\n",
        moved, users_.size(),
        100.0 * static_cast<double>(moved) / static_cast<double>(users_.size()), n + 1, ideal,
        static_cast<double>(moved) / ideal,
        elsewhere == 0 ? absl::StrFormat("All go to shard %u.", new_shard_).c_str()
                       : absl::StrFormat("%zu between old shards!", elsewhere).c_str());
    handover_ok_ = elsewhere == 0;
    if (s_.handover == Handover::kSafe) {
      std::printf(
          "         Step 1, within %lld s on each WebSocket server: subscribe the readers of moved "
          "channels\n         on shard %u too, and publish moved channels to both shards.\n",
          static_cast<long long>(s_.handover_s), new_shard_);
    } else {
      std::printf(
          "         Naive hand-over, within %lld s on each WebSocket server: subscribe on shard "
          "%u, "
          "drop the\n         old subscription and publish to shard %u only, all at once.\n",
          static_cast<long long>(s_.handover_s), new_shard_, new_shard_);
    }
    phase_ = Phase::kJoining;
    begun_ns_ = now;
    ScheduleSteps(now);
  }

  static double PeakOverMean(std::span<const size_t> counts) {
    size_t total = 0;
    size_t peak = 0;
    for (const size_t c : counts) {
      total += c;
      peak = std::max(peak, c);
    }
    return static_cast<double>(peak) * static_cast<double>(counts.size()) /
           static_cast<double>(std::max<size_t>(total, 1));
  }

  // Each user's server will hear of the next step at its own moment within the hand-over window
  // (one server per user: harsher than the design's thousands of users per server).
  void ScheduleSteps(int64_t now) {
    const auto window_ns = static_cast<uint64_t>(s_.handover_s * kNanosPerSecond);
    for (User& user : users_)
      user.next_step_ns = now + 1 + static_cast<int64_t>(handover_rng_.Uniform(window_ns));
  }

  void TakeStep(uint32_t u, RingStage stage, int64_t now) {
    User& user = users_[u];
    user.stage = stage;
    if (!user.online) return;
    for (size_t k = 0; k < user.friends.size(); ++k) {
      messages_.clear();
      if (absl::Status moved = pubsub_.Move(user.subscriptions[k], stage, messages_); !moved.ok())
        Die(moved);
      Receive(u, k, now);
    }
  }

  void FinishHandover(int64_t now) {
    phase_ = Phase::kDone;
    if (absl::Status finished = pubsub_.FinishAddShard(); !finished.ok()) {
      std::printf("  %s  The hand-over cannot finish: %s\n", Clock(now).c_str(),
                  finished.ToString().c_str());
      handover_ok_ = false;
      return;
    }
    for (User& user : users_) user.stage = RingStage::kCurrentRing;
    std::printf(
        "  %s  Hand-over done in %s: no shard has a reader of a channel it lost. Published "
        "meanwhile:\n         %s updates, %s on moved channels (%s to both shards); %s "
        "duplicate\n         deliveries dropped by sequence number.\n",
        Clock(now).c_str(), Clock(now - begun_ns_).c_str(), Grouped(handover_published_).c_str(),
        Grouped(handover_published_moved_).c_str(), Grouped(pubsub_.dual_writes()).c_str(),
        Grouped(pubsub_.duplicates_dropped()).c_str());
  }

  // ----- Users --------------------------------------------------------------------------------

  // Users whose session starts now read their friends' cached locations, then subscribe; users
  // whose session ends close their connection (their cache entry stays until it expires).
  void Connect(int64_t now) {
    for (uint32_t u = 0; u < users_.size(); ++u) {
      User& user = users_[u];
      const bool should = now >= user.online_from_ns && now < user.online_until_ns;
      if (should && !user.online) {
        user.online = true;
        for (size_t k = 0; k < user.friends.size(); ++k) {
          const User& f = users_[user.friends[k]];
          if (const LocationUpdate* cached = cache_.Find(user.friends[k]))
            Consider(u, *cached, now);
          if (absl::Status subscribed =
                  pubsub_.Subscribe(f.channel, user.stage, user.subscriptions[k]);
              !subscribed.ok())
            Die(subscribed);
        }
        if (now > 0)
          Event(u, now,
                absl::StrFormat("%s came online; %zu friends nearby from the cache", user.name,
                                user.nearby.size()));
      } else if (!should && user.online) {
        user.online = false;
        for (PubSub::Subscription& sub : user.subscriptions) pubsub_.Unsubscribe(sub);
        user.nearby.clear();
        if (IsFriend(u, 0))
          Event(0, now,
                absl::StrFormat("%s went offline (their location stays cached for %lld s)",
                                user.name, static_cast<long long>(s_.ttl_s)));
      }
    }
  }

  // Every online user reports a new location: to the cache, and on their channel, to the shard(s)
  // their server's ring stage names. Every online friend is owed the update.
  void PublishLocations(int64_t now) {
    const bool handing_over = phase_ == Phase::kJoining || phase_ == Phase::kCuttingOver;
    for (uint32_t u = 0; u < users_.size(); ++u) {
      User& user = users_[u];
      if (!user.online) continue;
      user.position = Step(rng_, user.position, 400);  // walking or driving for one interval
      const LocationUpdate update{u, user.position, now, ++user.seq};
      (void)cache_.Put(u, update);
      pubsub_.Publish(user.channel, user.stage, update);
      ++published_;
      if (handing_over) {
        ++handover_published_;
        handover_published_moved_ += channel_moved_[u] ? 1 : 0;
      }
      for (size_t k = 0; k < user.friends.size(); ++k) {
        User& f = users_[user.friends[k]];
        if (f.online) ++f.owed[user.index_in_friend[k]];
      }
    }
  }

  void Deliver() {
    for (uint32_t u = 0; u < users_.size(); ++u) {
      User& user = users_[u];
      if (!user.online) continue;
      for (size_t k = 0; k < user.subscriptions.size(); ++k) {
        messages_.clear();
        if (absl::StatusOr<size_t> n = pubsub_.Poll(user.subscriptions[k], kPollBatch, messages_);
            !n.ok())
          Die(n.status());
        Receive(u, k, clock_.NowNanos());
      }
    }
  }

  // messages_ arrived for user u from friend k.
  void Receive(uint32_t u, size_t k, int64_t now) {
    for (const auto& m : messages_) Consider(u, *m, now);
    users_[u].received[k] += messages_.size();
    delivered_ += messages_.size();
  }
  void PrintFanOut(int64_t busy_ns) {
    pubsub::BrokerStats total;
    std::string per_shard;
    for (shard::NodeId i = 0; i < pubsub_.shard_count(); ++i) {
      const pubsub::BrokerStats stats = pubsub_.broker(i).stats();
      total.dropped += stats.dropped;
      per_shard += absl::StrFormat("%s%u: %s", i == 0 ? "" : ", ", i,
                                   Human(static_cast<double>(stats.delivered)));
    }
    std::printf(
        "\nFan-out: %s updates published, %s deliveries to friends' subscriptions, %s dropped;\n"
        "%s deliveries per second of real time (publish, fan-out and the distance checks).\n"
        "Deliveries by shard (before duplicates are dropped): %s.\n",
        Human(static_cast<double>(published_)).c_str(),
        Human(static_cast<double>(delivered_)).c_str(),
        Human(static_cast<double>(total.dropped)).c_str(),
        Human(static_cast<double>(delivered_) / (static_cast<double>(busy_ns) / 1e9)).c_str(),
        per_shard.c_str());
  }

  // Every reader must have received each update a friend published while both were online,
  // once: the counts owed and received must match for every (reader, friend) pair. (Poll returns
  // increasing sequence numbers, so a match means none was missed and none was returned twice.)
  bool CheckUpdates() const {
    uint64_t owed = 0;
    uint64_t received = 0;
    uint64_t lost = 0;
    uint64_t extra = 0;
    for (const User& user : users_) {
      for (size_t k = 0; k < user.friends.size(); ++k) {
        owed += user.owed[k];
        received += user.received[k];
        lost += user.owed[k] > user.received[k] ? user.owed[k] - user.received[k] : 0;
        extra += user.received[k] > user.owed[k] ? user.received[k] - user.owed[k] : 0;
      }
    }
    std::string verdict = "no update lost";
    if (lost > 0 || extra > 0) {
      verdict = absl::StrFormat("%s LOST, %s unexpected", Grouped(lost), Grouped(extra));
    }
    std::printf("Updates: %s published; %s owed to friends online at the time, %s received: %s.\n",
                Grouped(published_).c_str(), Grouped(owed).c_str(), Grouped(received).c_str(),
                verdict.c_str());
    return lost == 0 && extra == 0;
  }

  // The friend's new location against the user's own: keep the friend only within the radius.
  void Consider(uint32_t u, const LocationUpdate& update, int64_t now) {
    User& user = users_[u];
    const double d = geo::DistanceMeters(user.position, update.location);
    const bool was = user.nearby.contains(update.user);
    if (d <= s_.radius_m) {
      user.nearby[update.user] = d;
      if (!was)
        Event(u, now, absl::StrFormat("%s is nearby: %.1f km", users_[update.user].name, d / 1000));
    } else if (was) {
      user.nearby.erase(update.user);
      Event(u, now,
            absl::StrFormat("%s moved out of range (%.1f km)", users_[update.user].name, d / 1000));
    }
  }

  // Once a minute: the cache's active expiry, then every list drops friends whose location
  // expired (they have been silent for a whole TTL).
  void ExpireInactive(int64_t now) {
    expired_ += cache_.PurgeExpired(SIZE_MAX);
    for (uint32_t u = 0; u < users_.size(); ++u) {
      User& user = users_[u];
      for (auto it = user.nearby.begin(); it != user.nearby.end();) {
        const uint32_t f = it->first;
        if (cache_.Contains(f)) {
          ++it;
          continue;
        }
        Event(
            u, now,
            absl::StrFormat("%s's location expired: removed from the nearby list", users_[f].name));
        user.nearby.erase(it++);
      }
    }
  }

  void Report(int64_t now, int64_t busy_ns) {
    size_t online = 0;
    size_t pairs = 0;
    for (const User& u : users_) {
      online += u.online ? 1 : 0;
      pairs += u.nearby.size();
    }
    std::printf(
        "%s  online %zu, cached locations %zu (expired so far %zu), nearby pairs %zu, "
        "deliveries so far %s (%s/s real)\n",
        Clock(now).c_str(), online, cache_.size(), expired_, pairs,
        Human(static_cast<double>(delivered_)).c_str(),
        Human(static_cast<double>(delivered_) / (static_cast<double>(busy_ns) / 1e9 + 1e-9))
            .c_str());
  }

  // Every online user's list must hold exactly the friends whose latest location, still cached,
  // was within the radius of where the user was when it arrived. At the end of a tick everyone
  // online has just reported, so for online friends that is a plain distance check.
  bool CheckLists() const {
    size_t checked = 0;
    size_t wrong = 0;
    for (uint32_t u = 0; u < users_.size(); ++u) {
      const User& user = users_[u];
      if (!user.online) continue;
      for (const uint32_t f : user.friends) {
        if (!users_[f].online) continue;
        const bool expect = geo::DistanceMeters(user.position, users_[f].position) <= s_.radius_m;
        wrong += expect != user.nearby.contains(f) ? 1 : 0;
        ++checked;
      }
      for (const auto& [f, d] : user.nearby) wrong += cache_.Contains(f) ? 0 : 1;
    }
    std::printf(
        "Checked %zu (user, online friend) pairs against the true distances: %s.\n", checked,
        wrong == 0 ? "every nearby list is right" : absl::StrFormat("%zu WRONG", wrong).c_str());
    return wrong == 0;
  }

  Settings s_;
  base::ManualClock& clock_;
  cache::TtlCache<uint32_t, LocationUpdate>& cache_;
  PubSub& pubsub_;
  base::Random rng_;
  base::Random handover_rng_;  // its own stream: the hand-over does not change anyone's moves
  std::vector<User> users_;
  std::vector<PubSub::MessagePtr> messages_;  // scratch for one subscription's batch
  size_t published_ = 0;
  size_t delivered_ = 0;
  size_t expired_ = 0;
  // The hand-over.
  Phase phase_ = Phase::kBefore;
  shard::NodeId new_shard_ = 0;
  int64_t begun_ns_ = 0;
  std::vector<bool> channel_moved_;  // by user
  uint64_t handover_published_ = 0;
  uint64_t handover_published_moved_ = 0;
  bool handover_ok_ = true;
};

}  // namespace
}  // namespace keel::examples

int main(int argc, char** argv) {
  using namespace keel;
  examples::Flags flags("nearby_friends",
                        "simulate nearby friends: a TTL location cache and pub/sub fan-out over "
                        "hash-ring shards, one "
                        "added mid-run");
  flags.Add("users", "2000", "number of users");
  flags.Add("friends", "20", "average friends per user");
  flags.Add("minutes", "60", "simulated minutes");
  flags.Add("interval_s", "30", "seconds between a user's location updates");
  flags.Add("radius_m", "8000", "search radius: friends within it are nearby (the book's 5 miles)");
  flags.Add("ttl_s", "600", "seconds before a silent user's cached location expires");
  flags.Add("shards", "4",
            "pub/sub servers at the start; a channel lives on the one the ring picks");
  flags.Add("vnodes", "160", "points per shard on the hash ring (more points: a more even share)");
  flags.Add("add_shard_minute", "auto",
            "simulated minute at which one more shard joins (0: never; auto: a third of the way)");
  flags.Add("handover_s", "120",
            "each WebSocket server hears of a hand-over step within this many seconds");
  flags.Add("handover", "safe",
            "safe (subscribe and publish on both shards, then on the new one) or naive (switch at "
            "once: loses updates, fails)");
  flags.Add("seed", "7", "seed for places, friendships, movement and the hand-over's timing");
  flags.AddBool("short", "a quick run for tests: 500 users for 30 minutes");
  int exit_code = 0;
  if (!flags.Parse(argc, argv, &exit_code)) return exit_code;
  const int64_t shards = flags.GetInt("shards");
  const int64_t vnodes = flags.GetInt("vnodes");
  const std::string handover = flags.Get("handover");
  examples::Settings s{
      flags.GetInt("users"),
      flags.GetInt("friends"),
      flags.GetInt("minutes"),
      flags.GetInt("interval_s"),
      flags.GetDouble("radius_m"),
      flags.GetInt("ttl_s"),
      static_cast<uint64_t>(flags.GetInt("seed")),
      static_cast<uint32_t>(std::clamp<int64_t>(shards, 0, 1 << 20)),
      static_cast<uint32_t>(std::clamp<int64_t>(vnodes, 0, 1 << 20)),
      0,  // below, once --short has set the minutes
      flags.GetInt("handover_s"),
      handover == "naive" ? examples::Handover::kNaive : examples::Handover::kSafe};
  if (flags.GetBool("short")) {
    s.users = std::min<int64_t>(s.users, 500);
    s.minutes = std::min<int64_t>(s.minutes, 30);
  }
  s.add_shard_at_minute =
      flags.Get("add_shard_minute") == "auto" ? s.minutes / 3 : flags.GetInt("add_shard_minute");
  // Limits keep every nanosecond count within int64 and the subscriptions within the broker's.
  if (s.users < 4 || s.users > 1'000'000 || s.friends < 0 || s.friends > 1000 || s.minutes < 1 ||
      s.minutes > 100'000 || s.interval_s < 1 || s.interval_s > 86'400 || !(s.radius_m > 0) ||
      s.ttl_s < 1 || s.ttl_s > 86'400 * 365) {
    std::fprintf(stderr,
                 "nearby_friends: need 4 <= --users <= 1000000, 0 <= --friends <= 1000, "
                 "1 <= --minutes <= 100000, 1 <= --interval_s <= 86400, 1 <= --ttl_s <= "
                 "31536000 and --radius_m > 0 (see --help)\n");
    return 2;
  }
  if (shards < 1 || shards > 1024 || vnodes < 1 || vnodes > shard::kMaxVnodesPerNode ||
      s.add_shard_at_minute < 0 || s.add_shard_at_minute >= s.minutes || s.handover_s < 1 ||
      s.handover_s > 86'400 || (handover != "safe" && handover != "naive")) {
    std::fprintf(stderr,
                 "nearby_friends: need 1 <= --shards <= 1024, 1 <= --vnodes <= %u, "
                 "0 <= --add_shard_minute < --minutes (%lld), 1 <= --handover_s <= 86400 and "
                 "--handover safe or naive; got --shards %lld --vnodes %lld "
                 "--add_shard_minute %lld --handover_s %lld --handover %s (see --help)\n",
                 shard::kMaxVnodesPerNode, static_cast<long long>(s.minutes),
                 static_cast<long long>(shards), static_cast<long long>(vnodes),
                 static_cast<long long>(s.add_shard_at_minute),
                 static_cast<long long>(s.handover_s), base::Quoted(handover).c_str());
    return 2;
  }
  base::ManualClock clock(0);
  auto cache = cache::TtlCache<uint32_t, examples::LocationUpdate>::Create(
      clock, {.default_ttl_ns = s.ttl_s * base::kNanosPerSecond,
              .max_entries = static_cast<size_t>(s.users)});
  if (!cache.ok()) examples::Die(cache.status());
  // Queues of 8: a reader polls every tick, and a channel gets one update a tick (two copies on
  // two shards during a move, one on each), so nothing is dropped unless something is wrong.
  auto pubsub = examples::PubSub::Create(
      {.shards = s.shards,
       .vnodes = s.vnodes,
       .broker = {},
       .subscription = {.max_queued_messages = 8, .drop_policy = pubsub::DropPolicy::kDropOldest}});
  if (!pubsub.ok()) examples::Die(pubsub.status());
  examples::Simulation sim(s, clock, *cache, *pubsub);
  sim.CreateUsers();
  return sim.Run() ? 0 : 1;
}
