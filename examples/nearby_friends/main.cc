// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// nearby_friends: the "design nearby friends" case study, simulated in one process.
//
// Users with friend lists move around. Every few seconds an active user's app reports its
// location; the WebSocket server that holds the user's connection
//   1. writes it to the location cache with a TTL (keel::cache::TtlCache: an inactive user's entry
//      expires by itself), and
//   2. publishes it on the user's own channel (keel::pubsub::Broker).
// Each active user's server subscribes to the channels of all the user's friends; on every update
// it computes the distance between the user and that friend and keeps the friend in the user's
// "nearby" list only within the search radius. A user who comes online first reads the friends'
// last locations from the cache, then subscribes. A friend who goes offline stays on the list until
// the cache entry expires.
//
// Time is simulated with keel::base::ManualClock, so an hour of activity takes about a second;
// the fan-out rate is measured on the real clock. At the end every user's list is checked against
// the ground truth.
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_format.h"
#include "common/cli.h"
#include "keel/base/clock.h"
#include "keel/base/random.h"
#include "keel/cache/ttl_cache.h"
#include "keel/geo/lat_lng.h"
#include "keel/pubsub/broker.h"

namespace keel::examples {
namespace {

using base::kNanosPerSecond;

struct LocationUpdate {
  uint32_t user;
  geo::LatLng location;
  int64_t time_ns;
};

struct User {
  std::string name;
  geo::LatLng position;
  std::vector<uint32_t> friends;
  int64_t online_from_ns = 0;
  int64_t online_until_ns = INT64_MAX;
  bool online = false;
  std::vector<pubsub::SubscriptionId> subscriptions;
  absl::flat_hash_map<uint32_t, double> nearby;  // friend -> distance in metres
};

struct Settings {
  int64_t users;
  int64_t friends;
  int64_t minutes;
  int64_t interval_s;
  double radius_m;
  int64_t ttl_s;
  uint64_t seed;
};

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

class Simulation {
 public:
  Simulation(const Settings& s, base::ManualClock& clock,
             cache::TtlCache<uint32_t, LocationUpdate>& cache,
             pubsub::Broker<LocationUpdate>& broker)
      : s_(s), clock_(clock), cache_(cache), broker_(broker), rng_(s.seed) {}

  void CreateUsers() {
    // Three cities; people live within about 15 km of one of them.
    const geo::LatLng cities[] = {geo::LatLng::FromDegrees(37.7749, -122.4194),
                                  geo::LatLng::FromDegrees(37.3382, -121.8863),
                                  geo::LatLng::FromDegrees(37.8044, -122.2712)};
    const char* first[] = {"Alice", "Bob", "Carol", "Dave", "Erin", "Frank", "Grace", "Heidi"};
    for (int64_t i = 0; i < s_.users; ++i) {
      User u;
      u.name = absl::StrFormat("%s-%d", first[i % 8], i);
      u.position = Step(rng_, cities[rng_.Uniform(3)], 15'000);
      // Most are online from the start; some join later, some leave and never come back.
      const int64_t minute = 60 * kNanosPerSecond;
      if (rng_.Bernoulli(0.15))
        u.online_from_ns =
            static_cast<int64_t>(rng_.Uniform(static_cast<uint64_t>(s_.minutes / 2 + 1))) * minute;
      if (rng_.Bernoulli(0.2))
        u.online_until_ns =
            u.online_from_ns +
            (5 + static_cast<int64_t>(rng_.Uniform(static_cast<uint64_t>(s_.minutes / 2 + 1)))) *
                minute;
      users_.push_back(std::move(u));
    }
    // Friendships: symmetric, about `friends` each, more likely within a city.
    for (uint32_t a = 0; a < users_.size(); ++a) {
      for (int64_t k = 0; k < s_.friends / 2; ++k) {
        const auto b = static_cast<uint32_t>(rng_.Uniform(users_.size()));
        if (b == a || std::find(users_[a].friends.begin(), users_[a].friends.end(), b) !=
                          users_[a].friends.end())
          continue;
        users_[a].friends.push_back(b);
        users_[b].friends.push_back(a);
      }
    }
    // User 0 is the one the timeline follows; give them friends nearby.
    for (uint32_t k = 1; k <= 3 && k < users_.size(); ++k) {
      users_[k].position = Step(rng_, users_[0].position, 4000);
      if (std::find(users_[0].friends.begin(), users_[0].friends.end(), k) ==
          users_[0].friends.end()) {
        users_[0].friends.push_back(k);
        users_[k].friends.push_back(0);
      }
    }
    users_[0].online_from_ns = 0;
    users_[0].online_until_ns = INT64_MAX;
    users_[2].online_from_ns = 0;
    users_[2].online_until_ns = 12 * 60 * kNanosPerSecond;  // goes offline at 12:00
  }

  bool Run() {
    size_t friendships = 0;
    for (const User& u : users_) friendships += u.friends.size();
    std::printf(
        "%zu users, %zu friendships, location updates every %lld s, search radius %.0f m,\n"
        "cache TTL %lld s (an inactive user's location expires), %lld simulated minutes.\n"
        "The timeline follows %s.\n\n",
        users_.size(), friendships / 2, static_cast<long long>(s_.interval_s), s_.radius_m,
        static_cast<long long>(s_.ttl_s), static_cast<long long>(s_.minutes),
        users_[0].name.c_str());
    const int64_t end_ns = s_.minutes * 60 * kNanosPerSecond;
    const int64_t step_ns = s_.interval_s * kNanosPerSecond;
    const int64_t report_every_ns = 5 * 60 * kNanosPerSecond;
    int64_t next_report = report_every_ns;
    const base::MonotonicClock& wall = base::MonotonicClock::Default();
    int64_t busy_ns = 0;
    for (int64_t now = 0; now <= end_ns; now += step_ns) {
      clock_.Set(now);
      const int64_t t0 = wall.NowNanos();
      Connect(now);
      PublishLocations(now);
      Deliver();
      // Once a minute of simulated time (whenever a minute boundary is crossed).
      const int64_t minute = 60 * kNanosPerSecond;
      if (now == 0 || now / minute != (now - step_ns) / minute) ExpireInactive(now);
      busy_ns += wall.NowNanos() - t0;
      if (now >= next_report || now + step_ns > end_ns) {
        Report(now, busy_ns);
        next_report += report_every_ns;
      }
    }
    ExpireInactive(end_ns);  // the lists are checked against the cache as it is now
    const pubsub::BrokerStats stats = broker_.stats();
    std::printf(
        "\nFan-out: %s updates published, %s deliveries to friends' subscriptions, %s dropped;\n"
        "%s deliveries per second of real time (publish, fan-out and the distance checks).\n",
        Human(static_cast<double>(published_)).c_str(),
        Human(static_cast<double>(delivered_)).c_str(),
        Human(static_cast<double>(stats.dropped)).c_str(),
        Human(static_cast<double>(delivered_) / (static_cast<double>(busy_ns) / 1e9)).c_str());
    return Check();
  }

 private:
  void Event(uint32_t user, int64_t now, const std::string& what) {
    if (user == 0) std::printf("  %s  %s\n", Clock(now).c_str(), what.c_str());
  }

  // Users whose session starts now read their friends' cached locations, then subscribe; users
  // whose session ends close their connection (their cache entry stays until it expires).
  void Connect(int64_t now) {
    for (uint32_t u = 0; u < users_.size(); ++u) {
      User& user = users_[u];
      const bool should = now >= user.online_from_ns && now < user.online_until_ns;
      if (should && !user.online) {
        user.online = true;
        for (const uint32_t f : user.friends) {
          if (const LocationUpdate* cached = cache_.Find(f)) Consider(u, *cached, now);
          absl::StatusOr<pubsub::SubscriptionId> id = broker_.Subscribe(
              Channel(f),
              {.max_queued_messages = 8, .drop_policy = pubsub::DropPolicy::kDropOldest});
          if (!id.ok()) {
            std::fprintf(stderr, "nearby_friends: %s\n", id.status().ToString().c_str());
            std::exit(1);
          }
          user.subscriptions.push_back(*id);
        }
        if (now > 0)
          Event(u, now,
                absl::StrFormat("%s came online; %zu friends nearby from the cache", user.name,
                                user.nearby.size()));
      } else if (!should && user.online) {
        user.online = false;
        for (const pubsub::SubscriptionId id : user.subscriptions) broker_.Unsubscribe(id);
        user.subscriptions.clear();
        user.nearby.clear();
        for (const uint32_t f : user.friends) {
          if (f == 0)
            Event(0, now,
                  absl::StrFormat("%s went offline (their location stays cached for %lld s)",
                                  user.name, static_cast<long long>(s_.ttl_s)));
        }
      }
    }
  }

  static std::string Channel(uint32_t user) { return absl::StrFormat("location:%u", user); }

  void PublishLocations(int64_t now) {
    for (uint32_t u = 0; u < users_.size(); ++u) {
      User& user = users_[u];
      if (!user.online) continue;
      user.position = Step(rng_, user.position, 400);  // walking or driving for one interval
      const LocationUpdate update{u, user.position, now};
      (void)cache_.Put(u, update);
      broker_.Publish(Channel(u), update);
      ++published_;
    }
  }

  void Deliver() {
    std::vector<pubsub::Broker<LocationUpdate>::MessagePtr> messages;
    for (uint32_t u = 0; u < users_.size(); ++u) {
      User& user = users_[u];
      if (!user.online) continue;
      for (const pubsub::SubscriptionId id : user.subscriptions) {
        messages.clear();
        if (!broker_.Poll(id, 64, messages).ok()) continue;
        for (const auto& m : messages) Consider(u, *m, clock_.NowNanos());
        delivered_ += messages.size();
      }
    }
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
  bool Check() {
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
  pubsub::Broker<LocationUpdate>& broker_;
  base::Random rng_;
  std::vector<User> users_;
  size_t published_ = 0;
  size_t delivered_ = 0;
  size_t expired_ = 0;
};

}  // namespace
}  // namespace keel::examples

int main(int argc, char** argv) {
  using namespace keel;
  examples::Flags flags(
      "nearby_friends",
      "simulate the nearby-friends service: a TTL location cache and pub/sub fan-out");
  flags.Add("users", "5000", "number of users");
  flags.Add("friends", "20", "average friends per user");
  flags.Add("minutes", "60", "simulated minutes");
  flags.Add("interval_s", "30", "seconds between a user's location updates");
  flags.Add("radius_m", "8000", "search radius: friends within it are nearby (the book's 5 miles)");
  flags.Add("ttl_s", "600", "seconds before a silent user's cached location expires");
  flags.Add("seed", "7", "seed for places, friendships and movement");
  flags.AddBool("short", "a quick run for tests: 500 users for 30 minutes");
  int exit_code = 0;
  if (!flags.Parse(argc, argv, &exit_code)) return exit_code;
  examples::Settings s{flags.GetInt("users"),
                       flags.GetInt("friends"),
                       flags.GetInt("minutes"),
                       flags.GetInt("interval_s"),
                       flags.GetDouble("radius_m"),
                       flags.GetInt("ttl_s"),
                       static_cast<uint64_t>(flags.GetInt("seed"))};
  if (flags.GetBool("short")) {
    s.users = std::min<int64_t>(s.users, 500);
    s.minutes = std::min<int64_t>(s.minutes, 30);
  }
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
  base::ManualClock clock(0);
  auto cache = cache::TtlCache<uint32_t, examples::LocationUpdate>::Create(
      clock, {.default_ttl_ns = s.ttl_s * base::kNanosPerSecond,
              .max_entries = static_cast<size_t>(s.users)});
  auto broker = pubsub::Broker<examples::LocationUpdate>::Create();
  if (!cache.ok() || !broker.ok()) {
    std::fprintf(stderr, "nearby_friends: %s %s\n", cache.status().ToString().c_str(),
                 broker.status().ToString().c_str());
    return 1;
  }
  examples::Simulation sim(s, clock, *cache, **broker);
  sim.CreateUsers();
  return sim.Run() ? 0 : 1;
}
