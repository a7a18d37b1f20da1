// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// The proximity-service trade-off, measured: the five keel indexes and Boost.Geometry's packed
// R*-tree (the peer) on the same points and the same queries.
//
//   radius/<data>/<index>/<r>m   radius searches per second (items/s), with the points found and
//                                the candidates tested per query as counters; two baselines:
//                                brute_force (keel's vectorised scan) and haversine_scan_baseline
//                                (the textbook formula for every point)
//   nearest/<data>/<index>/k10   10-nearest searches per second
//   build/<data>/<index>         bulk-build time, with the bytes per point the index holds
//
// Data: "synthetic" is 1,000,000 seeded clustered points
// (tests/support/keel_support/geo_datasets.h); "geonames" is the 171,075 places of
// scripts/fetch-data.sh when it has been run (skipped otherwise). Queries are 10,000 centres within
// 2 km of random data points (people search where places are), generated before timing starts.
// Every index returns exactly the same answers (tests/geo prove it; the Boost peer is checked
// against keel's brute force here before it is timed).
#include <benchmark/benchmark.h>

#include <boost/geometry.hpp>
#include <boost/geometry/index/rtree.hpp>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "keel/base/counting_allocator.h"
#include "keel/base/random.h"
#include "keel/base/strings.h"
#include "keel/geo/lat_lng_rect.h"
#include "keel/geo/spatial_index.h"
#include "keel_support/geo_datasets.h"

namespace keel::geo {
namespace {

namespace bg = boost::geometry;
namespace bgi = boost::geometry::index;

struct Dataset {
  std::string name;
  std::vector<IndexedPoint> points;
  std::vector<LatLng> queries;
};

std::vector<LatLng> QueriesNear(const std::vector<IndexedPoint>& points) {
  base::Random rng(99);
  std::vector<LatLng> queries;
  for (int i = 0; i < 10'000; ++i) {
    const LatLng p = points[rng.Uniform(points.size())].location;
    // A small random offset: up to about 2 km.
    const double lat = std::clamp(p.lat_degrees() + rng.UniformDouble(-0.018, 0.018), -90.0, 90.0);
    double lng = std::remainder(p.lng_degrees() + rng.UniformDouble(-0.018, 0.018), 360.0);
    if (lng == 180) lng = -180;
    queries.push_back(LatLng::FromDegrees(lat, lng));
  }
  return queries;
}

const Dataset* GetDataset(const std::string& name) {
  static std::map<std::string, std::unique_ptr<Dataset>> cache;
  auto& slot = cache[name];
  if (!slot) {
    auto data = std::make_unique<Dataset>();
    data->name = name;
    if (name == "synthetic") {
      data->points = support::ClusteredPoints({.points = 1'000'000, .seed = 42});
    } else {
      absl::StatusOr<std::vector<support::Place>> places =
          support::LoadPlaces(support::DefaultDataDir() + "/cities.tsv");
      if (!places.ok()) return nullptr;
      for (size_t i = 0; i < places->size(); ++i)
        data->points.push_back({i, (*places)[i].location});
    }
    data->queries = QueriesNear(data->points);
    slot = std::move(data);
  }
  return slot.get();
}

// Boost.Geometry's R*-tree, bulk-loaded (packed), over points in Boost's spherical-equatorial
// coordinate system (longitude, latitude in degrees). A radius search queries the circle's exact
// bounding box (two boxes across the antimeridian) and filters the candidates with the same exact
// test keel uses; a k-nearest search is Boost's own best-first `nearest` query (great-circle
// distances on the sphere), with keel's distances then computed for the k points found.
class BoostRTree {
 public:
  using BPoint = bg::model::point<double, 2, bg::cs::spherical_equatorial<bg::degree>>;
  using Box = bg::model::box<BPoint>;
  using Value = std::pair<BPoint, uint32_t>;
  using Tree = bgi::rtree<Value, bgi::rstar<16>, bgi::indexable<Value>, bgi::equal_to<Value>,
                          base::CountingAllocator<Value>>;

  explicit BoostRTree(const std::vector<IndexedPoint>& points) {
    std::vector<Value> values;
    values.reserve(points.size());
    for (uint32_t i = 0; i < points.size(); ++i) {
      values.emplace_back(
          BPoint(points[i].location.lng_degrees(), points[i].location.lat_degrees()), i);
      unit_.push_back(points[i].location.ToPoint());
      ids_.push_back(points[i].id);
    }
    tree_ =
        std::make_unique<Tree>(values, bgi::rstar<16>(), bgi::indexable<Value>(),
                               bgi::equal_to<Value>(), base::CountingAllocator<Value>(&memory_));
  }

  size_t MemoryBytes() const {
    return static_cast<size_t>(memory_.bytes()) + unit_.capacity() * sizeof(Point3) +
           ids_.capacity() * sizeof(PointId);
  }

  void SearchRadius(LatLng center, double radius_m, std::vector<Neighbor>* out,
                    QueryStats* stats) const {
    out->clear();
    hits_.clear();
    const LatLngRect box = *LatLngRect::AroundCircle(center, radius_m);
    if (box.crosses_antimeridian()) {
      Query(box.lat_lo(), box.lat_hi(), box.lng_lo(), 180);
      Query(box.lat_lo(), box.lat_hi(), -180, box.lng_hi());
    } else {
      Query(box.lat_lo(), box.lat_hi(), box.lng_lo(), box.lng_hi());
    }
    const Point3 c = center.ToPoint();
    const double limit = MetersToChordDistance2(radius_m * (1 + 1e-7) + 1e-3);
    for (const Value& v : hits_) {
      const Point3& p = unit_[v.second];
      if (ChordDistance2(c, p) > limit) continue;
      const double d = DistanceMeters(c, p);
      if (d <= radius_m) out->push_back({ids_[v.second], d});
    }
    std::sort(out->begin(), out->end(), [](const Neighbor& a, const Neighbor& b) {
      return a.distance_m != b.distance_m ? a.distance_m < b.distance_m : a.id < b.id;
    });
    if (stats != nullptr) stats->candidates = hits_.size();
  }

  void Nearest(LatLng center, size_t k, std::vector<Neighbor>* out, QueryStats* stats) const {
    out->clear();
    hits_.clear();
    tree_->query(
        bgi::nearest(BPoint(center.lng_degrees(), center.lat_degrees()), static_cast<unsigned>(k)),
        std::back_inserter(hits_));
    const Point3 c = center.ToPoint();
    for (const Value& v : hits_)
      out->push_back({ids_[v.second], DistanceMeters(c, unit_[v.second])});
    std::sort(out->begin(), out->end(), [](const Neighbor& a, const Neighbor& b) {
      return a.distance_m != b.distance_m ? a.distance_m < b.distance_m : a.id < b.id;
    });
    if (stats != nullptr) stats->candidates = hits_.size();
  }

 private:
  void Query(double lat_lo, double lat_hi, double lng_lo, double lng_hi) const {
    tree_->query(bgi::intersects(Box(BPoint(lng_lo, lat_lo), BPoint(lng_hi, lat_hi))),
                 std::back_inserter(hits_));
  }

  base::MemoryCounter memory_;
  std::unique_ptr<Tree> tree_;
  std::vector<Point3> unit_;
  std::vector<PointId> ids_;
  mutable std::vector<Value> hits_;
};

// The structures under test, built once per data set and shared by the query benchmarks.
struct Built {
  std::unique_ptr<SpatialIndex> index;  // null for the Boost peer
  std::unique_ptr<BoostRTree> rtree;
};

constexpr std::string_view kBoostPeer = "boost_rtree_peer";

Built* GetBuilt(const Dataset& data, std::string_view kind) {
  static std::map<std::string, Built> cache;
  Built& built = cache[base::Cat(data.name, "/", kind)];
  if (!built.index && !built.rtree) {
    if (kind == kBoostPeer) {
      built.rtree = std::make_unique<BoostRTree>(data.points);
    } else {
      built.index = std::move(*NewSpatialIndex(kind));
      if (!built.index->Build(data.points).ok()) return nullptr;
    }
  }
  return &built;
}

// Confirms that the peer answers like keel on a sample of queries, so the comparison is fair.
bool PeerAgrees(const Dataset& data, double radius_m) {
  Built* peer = GetBuilt(data, kBoostPeer);
  Built* keel = GetBuilt(data, "quadtree");
  std::vector<Neighbor> a;
  std::vector<Neighbor> b;
  for (size_t i = 0; i < 50; ++i) {
    peer->rtree->SearchRadius(data.queries[i], radius_m, &a, nullptr);
    if (!keel->index->SearchRadius(data.queries[i], radius_m, &b).ok() || a != b) return false;
  }
  return true;
}

void RunRadius(benchmark::State& state, const std::string& dataset, std::string_view kind,
               double radius_m) {
  const Dataset* data = GetDataset(dataset);
  if (data == nullptr) {
    state.SkipWithError("no data: run scripts/fetch-data.sh");
    return;
  }
  Built* built = GetBuilt(*data, kind);
  if (kind == kBoostPeer && !PeerAgrees(*data, radius_m)) {
    state.SkipWithError("the Boost peer disagrees with keel");
    return;
  }
  std::vector<Neighbor> out;
  size_t i = 0;
  size_t found = 0;
  size_t candidates = 0;
  for (auto _ : state) {
    const LatLng center = data->queries[i++ % data->queries.size()];
    QueryStats stats;
    if (built->rtree) {
      built->rtree->SearchRadius(center, radius_m, &out, &stats);
    } else {
      (void)built->index->SearchRadius(center, radius_m, &out, &stats);
    }
    found += out.size();
    candidates += stats.candidates;
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
  state.counters["found"] =
      benchmark::Counter(static_cast<double>(found), benchmark::Counter::kAvgIterations);
  state.counters["candidates"] =
      benchmark::Counter(static_cast<double>(candidates), benchmark::Counter::kAvgIterations);
}

// The textbook "two-dimensional search": the haversine formula, trigonometry and all, for every
// point (what a SQL query computing the distance of every row does). keel's BruteForceIndex is
// the stronger baseline (a squared-chord prefilter that vectorises); both are reported.
void RunHaversineScan(benchmark::State& state, const std::string& dataset, double radius_m) {
  const Dataset* data = GetDataset(dataset);
  if (data == nullptr) {
    state.SkipWithError("no data: run scripts/fetch-data.sh");
    return;
  }
  std::vector<std::pair<double, double>> radians;  // (lat, lng)
  for (const IndexedPoint& p : data->points) {
    radians.emplace_back(p.location.lat_radians(), p.location.lng_radians());
  }
  std::vector<Neighbor> out;
  size_t i = 0;
  for (auto _ : state) {
    const LatLng center = data->queries[i++ % data->queries.size()];
    const double lat1 = center.lat_radians();
    const double lng1 = center.lng_radians();
    const double cos_lat1 = std::cos(lat1);
    out.clear();
    for (size_t p = 0; p < radians.size(); ++p) {
      const double sin_dlat = std::sin((radians[p].first - lat1) / 2);
      const double sin_dlng = std::sin((radians[p].second - lng1) / 2);
      const double h =
          sin_dlat * sin_dlat + cos_lat1 * std::cos(radians[p].first) * sin_dlng * sin_dlng;
      const double d = 2 * kEarthRadiusMeters * std::asin(std::min(1.0, std::sqrt(h)));
      if (d <= radius_m) out.push_back({data->points[p].id, d});
    }
    std::sort(out.begin(), out.end(), [](const Neighbor& a, const Neighbor& b) {
      return a.distance_m != b.distance_m ? a.distance_m < b.distance_m : a.id < b.id;
    });
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}

void RunNearest(benchmark::State& state, const std::string& dataset, std::string_view kind,
                size_t k) {
  const Dataset* data = GetDataset(dataset);
  if (data == nullptr) {
    state.SkipWithError("no data: run scripts/fetch-data.sh");
    return;
  }
  Built* built = GetBuilt(*data, kind);
  std::vector<Neighbor> out;
  size_t i = 0;
  size_t candidates = 0;
  for (auto _ : state) {
    const LatLng center = data->queries[i++ % data->queries.size()];
    QueryStats stats;
    if (built->rtree) {
      built->rtree->Nearest(center, k, &out, &stats);
    } else {
      (void)built->index->Nearest(center, k, &out, &stats);
    }
    candidates += stats.candidates;
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
  state.counters["candidates"] =
      benchmark::Counter(static_cast<double>(candidates), benchmark::Counter::kAvgIterations);
}

void RunBuild(benchmark::State& state, const std::string& dataset, std::string_view kind) {
  const Dataset* data = GetDataset(dataset);
  if (data == nullptr) {
    state.SkipWithError("no data: run scripts/fetch-data.sh");
    return;
  }
  size_t bytes = 0;
  for (auto _ : state) {
    if (kind == kBoostPeer) {
      BoostRTree tree(data->points);
      bytes = tree.MemoryBytes();
      benchmark::DoNotOptimize(&tree);
    } else {
      std::unique_ptr<SpatialIndex> index = std::move(*NewSpatialIndex(kind));
      (void)index->Build(data->points);
      bytes = index->MemoryBytes();
    }
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * data->points.size()));
  state.counters["bytes_per_point"] =
      static_cast<double>(bytes) / static_cast<double>(data->points.size());
}

// Registered from a static initialiser so that the names can be built in a loop.
const bool registered = [] {
  std::vector<std::string_view> kinds(SpatialIndexKinds().begin(), SpatialIndexKinds().end());
  kinds.push_back(kBoostPeer);
  for (const std::string dataset : {"synthetic", "geonames"}) {
    benchmark::RegisterBenchmark(
        base::Cat("radius/", dataset, "/haversine_scan_baseline/1000m").c_str(),
        [=](benchmark::State& state) { RunHaversineScan(state, dataset, 1000); })
        ->Unit(benchmark::kMillisecond);
    for (const std::string_view kind : kinds) {
      for (const double radius : {1000.0, 5000.0}) {
        benchmark::RegisterBenchmark(
            base::Cat("radius/", dataset, "/", kind, "/", radius, "m").c_str(),
            [=](benchmark::State& state) { RunRadius(state, dataset, kind, radius); });
      }
      benchmark::RegisterBenchmark(
          base::Cat("nearest/", dataset, "/", kind, "/k10").c_str(),
          [=](benchmark::State& state) { RunNearest(state, dataset, kind, 10); });
      benchmark::RegisterBenchmark(base::Cat("build/", dataset, "/", kind).c_str(),
                                   [=](benchmark::State& state) { RunBuild(state, dataset, kind); })
          ->Iterations(1)
          ->Unit(benchmark::kMillisecond);
    }
  }
  return true;
}();

}  // namespace
}  // namespace keel::geo
