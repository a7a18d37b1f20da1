// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "keel_support/geo_datasets.h"

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <numbers>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "keel/base/assert.h"
#include "keel/base/random.h"
#include "keel/base/strings.h"

namespace keel::support {

using geo::IndexedPoint;
using geo::kEarthRadiusMeters;
using geo::LatLng;

namespace {

constexpr double kPi = std::numbers::pi;

LatLng UniformOnSphere(base::Random& rng) {
  const double z = rng.UniformDouble(-1, 1);
  return LatLng::FromDegrees(std::asin(z) * 180 / kPi, rng.UniformDouble(-180, 180));
}

// A point about `sigma_m` from `center` (a 2-D normal in the tangent plane, by Box-Muller),
// normalised back onto valid coordinates.
LatLng Scatter(base::Random& rng, LatLng center, double sigma_m) {
  const double u1 = 1 - rng.UniformDouble();  // (0, 1]
  const double u2 = rng.UniformDouble();
  const double r = sigma_m * std::sqrt(-2 * std::log(u1));
  const double bearing = 2 * kPi * u2;
  const double delta = r / kEarthRadiusMeters;
  const double phi1 = center.lat_radians();
  const double sin_phi2 =
      std::sin(phi1) * std::cos(delta) + std::cos(phi1) * std::sin(delta) * std::cos(bearing);
  const double phi2 = std::asin(std::fmax(-1.0, std::fmin(1.0, sin_phi2)));
  const double lambda2 =
      center.lng_radians() + std::atan2(std::sin(bearing) * std::sin(delta) * std::cos(phi1),
                                        std::cos(delta) - std::sin(phi1) * sin_phi2);
  double lng = std::remainder(lambda2 * 180 / kPi, 360.0);
  if (lng == 180) lng = -180;
  return LatLng::FromDegrees(std::fmax(-90.0, std::fmin(90.0, phi2 * 180 / kPi)), lng);
}

}  // namespace

std::vector<IndexedPoint> ClusteredPoints(const ClusteredPointsOptions& options) {
  KEEL_ASSERT(options.cities >= 1, "ClusteredPoints needs at least one city");
  KEEL_ASSERT(options.background_fraction >= 0 && options.background_fraction <= 1);
  base::Random rng(options.seed);
  // City centres away from the poles, as people live, and Zipf weights 1/k.
  std::vector<LatLng> centers;
  std::vector<double> cumulative;
  double total = 0;
  for (size_t k = 1; k <= options.cities; ++k) {
    LatLng c;
    do {
      c = UniformOnSphere(rng);
    } while (std::abs(c.lat_degrees()) > 70);
    centers.push_back(c);
    total += 1.0 / static_cast<double>(k);
    cumulative.push_back(total);
  }
  std::vector<IndexedPoint> points;
  points.reserve(options.points);
  for (size_t i = 0; i < options.points; ++i) {
    LatLng p;
    if (rng.Bernoulli(options.background_fraction)) {
      p = UniformOnSphere(rng);
    } else {
      const double pick = rng.UniformDouble(0, total);
      const size_t k = static_cast<size_t>(
          std::lower_bound(cumulative.begin(), cumulative.end(), pick) - cumulative.begin());
      const size_t city = std::min(k, options.cities - 1);
      // The largest city spreads over about 20 km, the thousandth over about 2 km.
      const double sigma_m = 20'000 / std::sqrt(static_cast<double>(city + 1));
      p = Scatter(rng, centers[city], std::max(sigma_m, 300.0));
    }
    points.push_back({i, p});
  }
  return points;
}

absl::StatusOr<std::vector<Place>> LoadPlaces(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(base::Cat("cannot open places file ", base::Quoted(path)));
  std::vector<Place> places;
  std::string line;
  for (size_t line_number = 1; std::getline(in, line); ++line_number) {
    if (line.empty()) continue;
    const std::vector<absl::string_view> fields = absl::StrSplit(line, '\t');
    double lat = 0;
    double lng = 0;
    if (fields.size() != 4 || !absl::SimpleAtod(fields[0], &lat) ||
        !absl::SimpleAtod(fields[1], &lng)) {
      return absl::DataLossError(base::Cat(path, ":", line_number,
                                           ": expected latitude, "
                                           "longitude, country and name separated by tabs, got ",
                                           base::Quoted(line)));
    }
    absl::StatusOr<LatLng> location = LatLng::Create(lat, lng);
    if (!location.ok()) {
      return absl::DataLossError(
          base::Cat(path, ":", line_number, ": ", location.status().message()));
    }
    places.push_back({*location, std::string(fields[2]), std::string(fields[3])});
  }
  if (in.bad()) return absl::DataLossError(base::Cat("error reading ", base::Quoted(path)));
  return places;
}

std::string DefaultDataDir() {
  if (const char* dir = std::getenv("KEEL_DATA_DIR"); dir != nullptr && *dir != '\0') return dir;
  if (const char* cache = std::getenv("XDG_CACHE_HOME"); cache != nullptr && *cache != '\0') {
    return std::string(cache) + "/keel";
  }
  const char* home = std::getenv("HOME");
  return std::string(home != nullptr ? home : ".") + "/.cache/keel";
}

}  // namespace keel::support
