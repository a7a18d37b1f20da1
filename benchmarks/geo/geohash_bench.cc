// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// Geohash encoding and decoding, ns per operation. Baseline: the textbook bisection, one bit per
// step with a comparison against the interval's midpoint (what most geohash libraries do).
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "keel/base/random.h"
#include "keel/geo/geohash.h"

namespace keel::geo {
namespace {

std::vector<LatLng> RandomPoints() {
  base::Random rng(1);
  std::vector<LatLng> points(4096);
  for (LatLng& p : points) {
    p = LatLng::FromDegrees(rng.UniformDouble(-90, 90), rng.UniformDouble(-180, 180));
  }
  return points;
}

std::string BisectionEncode(LatLng p, int precision) {
  static constexpr char kAlphabet[] = "0123456789bcdefghjkmnpqrstuvwxyz";
  double lat_lo = -90, lat_hi = 90, lng_lo = -180, lng_hi = 180;
  std::string out;
  int value = 0;
  for (int bit = 0; bit < 5 * precision; ++bit) {
    double& lo = bit % 2 == 0 ? lng_lo : lat_lo;
    double& hi = bit % 2 == 0 ? lng_hi : lat_hi;
    const double v = bit % 2 == 0 ? p.lng_degrees() : p.lat_degrees();
    const double mid = (lo + hi) / 2;
    value = (value << 1) | (v >= mid ? 1 : 0);
    (v >= mid ? lo : hi) = mid;
    if (bit % 5 == 4) {
      out.push_back(kAlphabet[value]);
      value = 0;
    }
  }
  return out;
}

void BM_GeohashEncode(benchmark::State& state) {
  const std::vector<LatLng> points = RandomPoints();
  const int precision = static_cast<int>(state.range(0));
  size_t i = 0;
  for (auto _ : state) benchmark::DoNotOptimize(geohash::Encode(points[i++ & 4095], precision));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}

void BM_GeohashEncodeBits(benchmark::State& state) {
  const std::vector<LatLng> points = RandomPoints();
  size_t i = 0;
  for (auto _ : state) benchmark::DoNotOptimize(geohash::EncodeBits(points[i++ & 4095], 60));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}

void BM_BisectionEncodeBaseline(benchmark::State& state) {
  const std::vector<LatLng> points = RandomPoints();
  const int precision = static_cast<int>(state.range(0));
  size_t i = 0;
  for (auto _ : state) benchmark::DoNotOptimize(BisectionEncode(points[i++ & 4095], precision));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}

BENCHMARK(BM_GeohashEncode)->Arg(6)->Arg(12);
BENCHMARK(BM_BisectionEncodeBaseline)->Arg(6)->Arg(12);
BENCHMARK(BM_GeohashEncodeBits);

void BM_GeohashDecode(benchmark::State& state) {
  std::vector<std::string> hashes;
  for (const LatLng& p : RandomPoints()) hashes.push_back(*geohash::Encode(p, 12));
  size_t i = 0;
  for (auto _ : state) benchmark::DoNotOptimize(geohash::Decode(hashes[i++ & 4095]));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}

void BM_GeohashNeighbors(benchmark::State& state) {
  std::vector<std::string> hashes;
  for (const LatLng& p : RandomPoints()) hashes.push_back(*geohash::Encode(p, 6));
  size_t i = 0;
  for (auto _ : state) benchmark::DoNotOptimize(geohash::Neighbors(hashes[i++ & 4095]));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}

void BM_GeohashEncodeRedis(benchmark::State& state) {
  std::vector<LatLng> points = RandomPoints();
  for (LatLng& p : points) p = LatLng::FromDegrees(p.lat_degrees() * 0.9, p.lng_degrees());
  size_t i = 0;
  for (auto _ : state) benchmark::DoNotOptimize(geohash::EncodeRedis(points[i++ & 4095]));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}

BENCHMARK(BM_GeohashDecode);
BENCHMARK(BM_GeohashNeighbors);
BENCHMARK(BM_GeohashEncodeRedis);

}  // namespace
}  // namespace keel::geo
