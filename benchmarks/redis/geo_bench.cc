// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// keel-server's GEO commands through the engine (keel::redis::Engine::Execute, reply encoding
// included, no network), against baselines on the same data in the same run.
//
// The data: 100,000 places scattered uniformly over a 10 x 10 degree square around Paris
// (about 1,100 x 730 km, some 125 places per 100 km^2), named "place:000000" to "place:099999".
//
//   GeoAdd/n           GEOADD of one new place into a set of n places (the set is rebuilt, untimed,
//                      when it has grown by 100,000).
//   ZAddBaseline/n     ZADD of the same place with its score computed beforehand: what GEOADD
//                      costs beyond the sorted set (parsing two coordinates, encoding them).
//   GeoSearch/r        GEOSEARCH key FROMLONLAT lng lat BYRADIUS r km, centres drawn at random in
//                      the square's middle: the 9-cell scan over the sorted set, the exact
//                      distance filter, and the reply.
//   ScanBaseline/r     the same searches by brute force: the haversine distance to all 100,000
//                      places, keeping those within the radius (no index, no reply).
//
// Items are commands (or searches); "found" is the mean number of places a search returns.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <numbers>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "keel/base/assert.h"
#include "keel/base/random.h"
#include "keel/geo/geohash.h"
#include "keel/net/resp_writer.h"
#include "keel/redis/engine.h"

namespace keel::redis {
namespace {

constexpr size_t kPlaces = 100'000;
constexpr double kLng0 = 2.35, kLat0 = 48.85;  // Paris
constexpr double kHalfSide = 5;                // degrees

struct Place {
  std::string name;
  std::string lng, lat;  // as a client sends them
  double lng_value, lat_value;
  std::string score;  // the 52-bit score, for the ZADD baseline
};

const std::vector<Place>& Places() {
  static const std::vector<Place> places = [] {
    base::Random rng(7);
    std::vector<Place> v(kPlaces * 2);  // the second half for GEOADDs of new places
    for (size_t i = 0; i < v.size(); ++i) {
      Place& p = v[i];
      char text[32];
      std::snprintf(text, sizeof text, "place:%06zu", i);
      p.name = text;
      p.lng_value = rng.UniformDouble(kLng0 - kHalfSide, kLng0 + kHalfSide);
      p.lat_value = rng.UniformDouble(kLat0 - kHalfSide, kLat0 + kHalfSide);
      std::snprintf(text, sizeof text, "%.6f", p.lng_value);
      p.lng = text;
      std::snprintf(text, sizeof text, "%.6f", p.lat_value);
      p.lat = text;
      const absl::StatusOr<uint64_t> score =
          geo::geohash::EncodeRedis(geo::LatLng::FromDegrees(p.lat_value, p.lng_value));
      KEEL_ASSERT(score.ok(), score.status().ToString());
      p.score = std::to_string(*score);
    }
    return v;
  }();
  return places;
}

class Server {
 public:
  Server() : engine_(*Engine::Open({})), client_(engine_->NewClient()) {}

  // Runs a command and returns the reply's size in bytes.
  size_t Run(std::span<const std::string_view> args) {
    out_.clear();
    net::RespWriter writer(out_);
    engine_->Execute(client_, writer, args);
    return out_.size();
  }
  size_t Run(std::initializer_list<std::string_view> args) {
    return Run(std::span<const std::string_view>(args.begin(), args.size()));
  }
  [[nodiscard]] const std::string& reply() const { return out_; }

  // Fills "places" with the first n places, 500 per GEOADD.
  void Load(size_t n) {
    Run({"DEL", "places"});
    const std::vector<Place>& places = Places();
    std::vector<std::string_view> args;
    for (size_t i = 0; i < n; i += 500) {
      args = {"GEOADD", "places"};
      for (size_t j = i; j < std::min(n, i + 500); ++j) {
        args.insert(args.end(), {places[j].lng, places[j].lat, places[j].name});
      }
      Run(args);
    }
  }

 private:
  std::unique_ptr<Engine> engine_;
  ClientState client_;
  std::string out_;
};

void AddBenchmark(benchmark::State& state, bool geo) {
  const auto n = static_cast<size_t>(state.range(0));
  const std::vector<Place>& places = Places();
  Server server;
  server.Load(n);
  size_t next = kPlaces;
  for (auto _ : state) {
    if (next == places.size()) {
      state.PauseTiming();
      server.Load(n);
      next = kPlaces;
      state.ResumeTiming();
    }
    const Place& p = places[next++];
    if (geo) {
      benchmark::DoNotOptimize(server.Run({"GEOADD", "places", p.lng, p.lat, p.name}));
    } else {
      benchmark::DoNotOptimize(server.Run({"ZADD", "places", p.score, p.name}));
    }
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_GeoAdd(benchmark::State& state) { AddBenchmark(state, true); }
void BM_ZAddBaseline(benchmark::State& state) { AddBenchmark(state, false); }
BENCHMARK(BM_GeoAdd)->Arg(1'000)->Arg(100'000);
BENCHMARK(BM_ZAddBaseline)->Arg(1'000)->Arg(100'000);

// Search centres in the middle of the square, as texts and values.
struct Center {
  std::string lng, lat;
  double lng_value, lat_value;
};

std::vector<Center> Centers() {
  base::Random rng(11);
  std::vector<Center> centers(1024);
  for (Center& c : centers) {
    c.lng_value = rng.UniformDouble(kLng0 - kHalfSide / 2, kLng0 + kHalfSide / 2);
    c.lat_value = rng.UniformDouble(kLat0 - kHalfSide / 2, kLat0 + kHalfSide / 2);
    char text[32];
    std::snprintf(text, sizeof text, "%.6f", c.lng_value);
    c.lng = text;
    std::snprintf(text, sizeof text, "%.6f", c.lat_value);
    c.lat = text;
  }
  return centers;
}

void BM_GeoSearch(benchmark::State& state) {
  const std::string radius_km = std::to_string(state.range(0));
  const std::vector<Center> centers = Centers();
  Server server;
  server.Load(kPlaces);
  size_t i = 0, found = 0;
  for (auto _ : state) {
    const Center& c = centers[i++ % centers.size()];
    server.Run({"GEOSEARCH", "places", "FROMLONLAT", c.lng, c.lat, "BYRADIUS", radius_km, "km"});
    // The reply's array header: "*<count>\r\n".
    found += std::strtoull(server.reply().c_str() + 1, nullptr, 10);
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["found"] = static_cast<double>(found) / static_cast<double>(state.iterations());
}

// The haversine distance Redis uses (its earth radius), in metres.
double Haversine(double lng1, double lat1, double lng2, double lat2) {
  constexpr double kEarthRadiusM = 6372797.560856;
  constexpr double kRadians = std::numbers::pi / 180;
  const double u = std::sin((lat2 - lat1) * kRadians / 2);
  const double v = std::sin((lng2 - lng1) * kRadians / 2);
  const double a = u * u + std::cos(lat1 * kRadians) * std::cos(lat2 * kRadians) * v * v;
  return 2 * kEarthRadiusM * std::asin(std::sqrt(a));
}

void BM_ScanBaseline(benchmark::State& state) {
  const double radius_m = static_cast<double>(state.range(0)) * 1000;
  const std::vector<Center> centers = Centers();
  const std::vector<Place>& places = Places();
  std::vector<std::string_view> hits;
  size_t i = 0, found = 0;
  for (auto _ : state) {
    const Center& c = centers[i++ % centers.size()];
    hits.clear();
    for (size_t j = 0; j < kPlaces; ++j) {
      const Place& p = places[j];
      if (Haversine(c.lng_value, c.lat_value, p.lng_value, p.lat_value) <= radius_m) {
        hits.push_back(p.name);
      }
    }
    found += hits.size();
    benchmark::DoNotOptimize(hits.data());
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["found"] = static_cast<double>(found) / static_cast<double>(state.iterations());
}

BENCHMARK(BM_GeoSearch)->Arg(1)->Arg(10)->Arg(100);
BENCHMARK(BM_ScanBaseline)->Arg(1)->Arg(10)->Arg(100);

}  // namespace
}  // namespace keel::redis
