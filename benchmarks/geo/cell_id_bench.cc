// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// keel's CellId against Google S2 itself (Debian's libs2) on the same points: point to cell,
// cell to token, neighbours, and a cap covering.
#include <benchmark/benchmark.h>
#include <s2/s1chord_angle.h>
#include <s2/s2cap.h>
#include <s2/s2cell_id.h>
#include <s2/s2latlng.h>
#include <s2/s2region_coverer.h>

#include <vector>

#include "keel/base/random.h"
#include "keel/geo/cell_covering.h"
#include "keel/geo/cell_id.h"

namespace keel::geo {
namespace {

std::vector<LatLng> RandomPoints() {
  base::Random rng(2);
  std::vector<LatLng> points(4096);
  for (LatLng& p : points) {
    p = LatLng::FromDegrees(rng.UniformDouble(-90, 90), rng.UniformDouble(-180, 180));
  }
  return points;
}

void BM_CellIdFromLatLng(benchmark::State& state) {
  const std::vector<LatLng> points = RandomPoints();
  size_t i = 0;
  for (auto _ : state) benchmark::DoNotOptimize(CellId::FromLatLng(points[i++ & 4095]));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}

void BM_S2CellIdFromLatLngPeer(benchmark::State& state) {
  std::vector<S2LatLng> points;
  for (const LatLng& p : RandomPoints()) {
    points.push_back(S2LatLng::FromDegrees(p.lat_degrees(), p.lng_degrees()));
  }
  size_t i = 0;
  for (auto _ : state) benchmark::DoNotOptimize(S2CellId(points[i++ & 4095]));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}

BENCHMARK(BM_CellIdFromLatLng);
BENCHMARK(BM_S2CellIdFromLatLngPeer);

void BM_CellIdToToken(benchmark::State& state) {
  std::vector<CellId> cells;
  for (const LatLng& p : RandomPoints()) cells.push_back(CellId::FromLatLng(p).parent(14));
  size_t i = 0;
  for (auto _ : state) benchmark::DoNotOptimize(cells[i++ & 4095].ToToken());
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}

void BM_S2CellIdToTokenPeer(benchmark::State& state) {
  std::vector<S2CellId> cells;
  for (const LatLng& p : RandomPoints())
    cells.push_back(S2CellId(CellId::FromLatLng(p).parent(14).id()));
  size_t i = 0;
  for (auto _ : state) benchmark::DoNotOptimize(cells[i++ & 4095].ToToken());
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}

BENCHMARK(BM_CellIdToToken);
BENCHMARK(BM_S2CellIdToTokenPeer);

void BM_CellIdAllNeighbors(benchmark::State& state) {
  std::vector<CellId> cells;
  for (const LatLng& p : RandomPoints()) cells.push_back(CellId::FromLatLng(p).parent(14));
  std::vector<CellId> out;
  size_t i = 0;
  for (auto _ : state) {
    out.clear();
    cells[i++ & 4095].AppendAllNeighbors(14, &out);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}

void BM_S2CellIdAllNeighborsPeer(benchmark::State& state) {
  std::vector<S2CellId> cells;
  for (const LatLng& p : RandomPoints())
    cells.push_back(S2CellId(CellId::FromLatLng(p).parent(14).id()));
  std::vector<S2CellId> out;
  size_t i = 0;
  for (auto _ : state) {
    out.clear();
    cells[i++ & 4095].AppendAllNeighbors(14, &out);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}

BENCHMARK(BM_CellIdAllNeighbors);
BENCHMARK(BM_S2CellIdAllNeighborsPeer);

// A 1 km cap covered with at most 8 cells.
void BM_CoverCap(benchmark::State& state) {
  const std::vector<LatLng> points = RandomPoints();
  const double chord2 = MetersToChordDistance2(1000);
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(CoverCapChord(points[i++ & 4095].ToPoint(), chord2, {.max_cells = 8}));
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}

void BM_S2RegionCovererPeer(benchmark::State& state) {
  std::vector<S2Point> points;
  for (const LatLng& p : RandomPoints()) {
    const Point3 v = p.ToPoint();
    points.emplace_back(v.x, v.y, v.z);
  }
  S2RegionCoverer::Options options;
  options.set_max_cells(8);
  S2RegionCoverer coverer(options);
  const S1ChordAngle radius = S1ChordAngle::FromLength2(MetersToChordDistance2(1000));
  std::vector<S2CellId> out;
  size_t i = 0;
  for (auto _ : state) {
    coverer.GetCovering(S2Cap(points[i++ & 4095], radius), &out);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}

BENCHMARK(BM_CoverCap);
BENCHMARK(BM_S2RegionCovererPeer);

}  // namespace
}  // namespace keel::geo
