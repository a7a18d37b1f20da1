// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "keel_support/geo_datasets.h"

#include <doctest/doctest.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "absl/strings/match.h"
#include "testing/testing.h"

namespace keel::support {

using geo::IndexedPoint;
using geo::LatLng;
namespace {

TEST_CASE("ClusteredPoints is deterministic in its seed") {
  const std::vector<IndexedPoint> a = ClusteredPoints({.points = 5000, .seed = 3});
  const std::vector<IndexedPoint> b = ClusteredPoints({.points = 5000, .seed = 3});
  const std::vector<IndexedPoint> c = ClusteredPoints({.points = 5000, .seed = 4});
  REQUIRE(a.size() == 5000);
  bool same = true;
  bool differs = false;
  for (size_t i = 0; i < a.size(); ++i) {
    same = same && a[i].location == b[i].location && a[i].id == i;
    differs = differs || !(a[i].location == c[i].location);
    REQUIRE(a[i].location.is_valid());
  }
  CHECK(same);
  CHECK(differs);
}

TEST_CASE("ClusteredPoints clusters most points and spreads the background") {
  const std::vector<IndexedPoint> points =
      ClusteredPoints({.points = 20000, .seed = 5, .cities = 100, .background_fraction = 0.2});
  // Points in the clusters have many neighbours within 5 km; background points have none.
  size_t crowded = 0;
  for (size_t i = 0; i < 400; ++i) {
    const LatLng p = points[i * 50].location;
    size_t near = 0;
    for (const IndexedPoint& q : points) near += DistanceMeters(p, q.location) < 5000 ? 1 : 0;
    crowded += near > 5 ? 1 : 0;
  }
  CHECK(crowded > 400 * 0.6);
  CHECK(crowded < 400 * 0.9);
  const std::vector<IndexedPoint> uniform =
      ClusteredPoints({.points = 1000, .seed = 5, .background_fraction = 1.0});
  CHECK(uniform.size() == 1000);
}

TEST_CASE("LoadPlaces reads tab-separated places and names bad lines") {
  keel::testing::TempDir dir;
  const std::string path = dir.path() + "/places.tsv";
  {
    std::ofstream out(path);
    out << "42.53176\t1.56654\tAD\tVila\n\n-33.8688\t151.2093\tAU\tSydney, NSW\n";
  }
  const absl::StatusOr<std::vector<Place>> places = LoadPlaces(path);
  REQUIRE(places.ok());
  REQUIRE(places->size() == 2);
  CHECK((*places)[1].name == "Sydney, NSW");
  CHECK((*places)[1].country == "AU");
  CHECK((*places)[0].location == LatLng::FromDegrees(42.53176, 1.56654));
  {
    std::ofstream out(path);
    out << "42.5\t1.5\tAD\tVila\n95\t0\tXX\tNowhere\n";
  }
  absl::Status status = LoadPlaces(path).status();
  CHECK(status.code() == absl::StatusCode::kDataLoss);
  CHECK(absl::StrContains(status.message(), ":2: latitude 95"));
  {
    std::ofstream out(path);
    out << "not a number\t1\tAD\tVila\n";
  }
  status = LoadPlaces(path).status();
  CHECK(status.code() == absl::StatusCode::kDataLoss);
  CHECK(absl::StrContains(status.message(), ":1: expected"));
  CHECK(LoadPlaces("/nonexistent/keel/cities.tsv").status().code() == absl::StatusCode::kNotFound);
}

TEST_CASE("DefaultDataDir honours KEEL_DATA_DIR") {
  setenv("KEEL_DATA_DIR", "/srv/keel-data", 1);
  CHECK(DefaultDataDir() == "/srv/keel-data");
  unsetenv("KEEL_DATA_DIR");
  CHECK(absl::EndsWith(DefaultDataDir(), "/keel"));
}

}  // namespace
}  // namespace keel::support
