// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// Data sets and the oracle for the spatial index tests. Not installed.
#ifndef KEEL_TESTS_GEO_INDEX_TESTING_H_
#define KEEL_TESTS_GEO_INDEX_TESTING_H_

#include <algorithm>
#include <cmath>
#include <map>
#include <vector>

#include "geo/geo_testing.h"
#include "keel/base/random.h"
#include "keel/geo/spatial_index.h"

namespace keel::geo::testing {

// The oracle: every point tested with DistanceMeters, results ordered by (distance, id).
class Oracle {
 public:
  void Insert(PointId id, LatLng p) { points_[id] = p; }
  void Erase(PointId id) { points_.erase(id); }
  [[nodiscard]] size_t size() const { return points_.size(); }
  [[nodiscard]] const std::map<PointId, LatLng>& points() const { return points_; }

  [[nodiscard]] std::vector<Neighbor> Radius(LatLng center, double radius_m) const {
    std::vector<Neighbor> out;
    for (const auto& [id, p] : points_) {
      const double d = DistanceMeters(center, p);
      if (d <= radius_m) out.push_back({id, d});
    }
    Sort(&out);
    return out;
  }

  [[nodiscard]] std::vector<Neighbor> Nearest(LatLng center, size_t k) const {
    std::vector<Neighbor> out;
    for (const auto& [id, p] : points_) out.push_back({id, DistanceMeters(center, p)});
    Sort(&out);
    if (out.size() > k) out.resize(k);
    return out;
  }

 private:
  static void Sort(std::vector<Neighbor>* out) {
    std::sort(out->begin(), out->end(), [](const Neighbor& a, const Neighbor& b) {
      return a.distance_m != b.distance_m ? a.distance_m < b.distance_m : a.id < b.id;
    });
  }

  std::map<PointId, LatLng> points_;
};

// Points uniformly over the sphere.
inline std::vector<IndexedPoint> UniformPoints(base::Random& rng, size_t n, PointId first_id = 0) {
  std::vector<IndexedPoint> points;
  for (size_t i = 0; i < n; ++i) points.push_back({first_id + i, RandomPoint(rng)});
  return points;
}

// Points in dense clusters (cities) of various spreads, some of them exactly on top of each
// other, with clusters near the poles and across the antimeridian as well as random ones.
inline std::vector<IndexedPoint> ClusteredPoints(base::Random& rng, size_t n,
                                                 PointId first_id = 0) {
  std::vector<LatLng> centers = AwkwardCenters();
  for (int i = 0; i < 20; ++i) centers.push_back(RandomPoint(rng));
  std::vector<IndexedPoint> points;
  for (size_t i = 0; i < n; ++i) {
    const LatLng c = centers[rng.Uniform(centers.size())];
    LatLng p;
    switch (rng.Uniform(4)) {
      case 0:
        p = c;
        break;  // exact duplicates of the centre
      case 1:
        p = RandomPointNear(rng, c, 50);
        break;
      case 2:
        p = RandomPointNear(rng, c, 3000);
        break;
      default:
        p = RandomPointNear(rng, c, 200'000);
        break;
    }
    points.push_back({first_id + i, p});
  }
  return points;
}

// Query centres: the awkward places, the data's own points, and random points.
inline std::vector<LatLng> QueryCenters(base::Random& rng, const std::vector<IndexedPoint>& data,
                                        size_t n) {
  std::vector<LatLng> centers = AwkwardCenters();
  for (size_t i = 0; i < n; ++i) {
    if (!data.empty() && rng.Bernoulli(0.5)) {
      centers.push_back(RandomPointNear(rng, data[rng.Uniform(data.size())].location, 500));
    } else {
      centers.push_back(RandomPoint(rng));
    }
  }
  return centers;
}

}  // namespace keel::geo::testing

#endif  // KEEL_TESTS_GEO_INDEX_TESTING_H_
