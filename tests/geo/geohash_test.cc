// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "keel/geo/geohash.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <set>
#include <string>

#include "absl/strings/match.h"
#include "geo/geo_testing.h"
#include "keel/base/random.h"
#include "testing/testing.h"

namespace keel::geo::geohash {
namespace {

// The oracle: Niemeyer's bisection, one bit at a time, with the cells closed below.
std::string BisectionGeohash(LatLng p, int precision) {
  static constexpr char kAlphabet[] = "0123456789bcdefghjkmnpqrstuvwxyz";
  double lat_lo = -90, lat_hi = 90, lng_lo = -180, lng_hi = 180;
  std::string out;
  int value = 0;
  for (int bit = 0; bit < 5 * precision; ++bit) {
    const bool is_lng = bit % 2 == 0;
    double& lo = is_lng ? lng_lo : lat_lo;
    double& hi = is_lng ? lng_hi : lat_hi;
    const double v = is_lng ? p.lng_degrees() : p.lat_degrees();
    const double mid = (lo + hi) / 2;
    value <<= 1;
    if (v >= mid) {
      value |= 1;
      lo = mid;
    } else {
      hi = mid;
    }
    if (bit % 5 == 4) {
      out.push_back(kAlphabet[value]);
      value = 0;
    }
  }
  return out;
}

TEST_CASE("Geohash encodes the published examples") {
  CHECK(*Encode(LatLng::FromDegrees(42.6, -5.6), 5) == "ezs42");
  CHECK(*Encode(LatLng::FromDegrees(57.64911, 10.40744), 11) == "u4pruydqqvj");
  CHECK(*Encode(LatLng::FromDegrees(57.64911, 10.40744), 1) == "u");
  CHECK(*Encode(LatLng::FromDegrees(0, 0), 12) == "s00000000000");
  CHECK(*Encode(LatLng::FromDegrees(-90, -180), 4) == "0000");
  // Latitude 90 and longitude 180 belong to the topmost and easternmost cells.
  CHECK(*Encode(LatLng::FromDegrees(90, 180), 4) == "zzzz");
}

TEST_CASE("Geohash decodes a cell that contains the encoded point") {
  const LatLngRect cell = *Decode("ezs42");
  CHECK(cell.lat_lo() == doctest::Approx(42.5830078125));
  CHECK(cell.lat_hi() == doctest::Approx(42.626953125));
  CHECK(cell.lng_lo() == doctest::Approx(-5.625));
  CHECK(cell.lng_hi() == doctest::Approx(-5.5810546875));
  CHECK(cell.Contains(LatLng::FromDegrees(42.6, -5.6)));
  CHECK(*Decode("EZS42") == cell);
}

TEST_CASE("Geohash neighbours follow the published examples and wrap the antimeridian") {
  CHECK(*Neighbor("ezs42", kNorth) == "ezs48");
  CHECK(*Neighbor("ezs42", kSouth) == "ezs40");
  CHECK(*Neighbor("ezs42", kEast) == "ezs43");
  CHECK(*Neighbor("ezs42", kWest) == "ezefr");
  CHECK(*Neighbor("xbpbp", kEast) == "80000");
  CHECK(*Neighbor("80000", kWest) == "xbpbp");
  const std::vector<std::string> all = *Neighbors("ezs42");
  CHECK(all == std::vector<std::string>{"ezs48", "ezs49", "ezs43", "ezs41", "ezs40", "ezefp",
                                        "ezefr", "ezefx"});
}

TEST_CASE("Geohash cells touching a pole have no neighbour past it") {
  const std::string top = *Encode(LatLng::FromDegrees(90, 10), 3);
  const absl::StatusOr<std::string> north = Neighbor(top, kNorth);
  CHECK(north.status().code() == absl::StatusCode::kOutOfRange);
  CHECK(Neighbor(top, kNorthEast).status().code() == absl::StatusCode::kOutOfRange);
  CHECK(Neighbor(top, kEast).ok());
  CHECK(Neighbors(top)->size() == 5);
  const std::string bottom = *Encode(LatLng::FromDegrees(-90, 10), 3);
  CHECK(Neighbor(bottom, kSouth).status().code() == absl::StatusCode::kOutOfRange);
  CHECK(Neighbors(bottom)->size() == 5);
}

TEST_CASE("Geohash rejects bad precisions points and strings") {
  const LatLng p = LatLng::FromDegrees(1, 2);
  CHECK(Encode(p, 0).status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(Encode(p, 13).status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(Encode(LatLng::FromDegrees(95, 0), 5).status().code() ==
        absl::StatusCode::kInvalidArgument);
  for (const std::string_view bad :
       {std::string_view(""), std::string_view("ez$42"), std::string_view("abc"),
        std::string_view("ezs42ezs42ezs"), std::string_view("ez i"), std::string_view("ez\0", 3)}) {
    CAPTURE(std::string(bad));
    CHECK(Decode(bad).status().code() == absl::StatusCode::kInvalidArgument);
    CHECK(Neighbor(bad, kNorth).status().code() == absl::StatusCode::kInvalidArgument);
    CHECK(Neighbors(bad).status().code() == absl::StatusCode::kInvalidArgument);
  }
  const absl::Status status = Decode("ez$42").status();
  CHECK(absl::StrContains(status.message(), "\"$\" at position 2"));
  CHECK(EncodeBits(p, 61).status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(DecodeBits(0b100, 2).status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(BitsToString(1u << 10, 2).status().code() == absl::StatusCode::kInvalidArgument);
}

TEST_CASE("Geohash encoding agrees with exact bisection at random points and on cell edges") {
  const uint64_t seed = keel::testing::TestSeed(55);
  CAPTURE(seed);
  base::Random rng(seed);
  for (int i = 0; i < 20000; ++i) {
    LatLng p = testing::RandomPoint(rng);
    if (i % 2 == 0) {
      // Snap to a cell boundary of some precision: the cases where rounding could go wrong.
      const int n = static_cast<int>(rng.UniformInRange(1, 30));
      const double lng_step = 360.0 / static_cast<double>(uint64_t{1} << n);
      const double lat_step = 180.0 / static_cast<double>(uint64_t{1} << n);
      p = LatLng::FromDegrees(-90 + std::round((p.lat_degrees() + 90) / lat_step) * lat_step,
                              -180 + std::round((p.lng_degrees() + 180) / lng_step) * lng_step);
    }
    for (int precision = 1; precision <= kMaxPrecision; ++precision) {
      CAPTURE(p.ToString());
      CAPTURE(precision);
      const std::string hash = *Encode(p, precision);
      REQUIRE(hash == BisectionGeohash(p, precision));
      CHECK(Decode(hash)->Contains(p));
    }
  }
}

TEST_CASE("The integer form is the string's bits and allows any bit count") {
  base::Random rng(keel::testing::TestSeed(56));
  for (int i = 0; i < 2000; ++i) {
    const LatLng p = testing::RandomPoint(rng);
    for (int precision = 1; precision <= kMaxPrecision; ++precision) {
      CHECK(*StringToBits(*Encode(p, precision)) == *EncodeBits(p, 5 * precision));
    }
    // A prefix of the bits is the coarser cell.
    const uint64_t full = *EncodeBits(p, kMaxBits);
    for (int bits = 1; bits <= kMaxBits; ++bits) {
      CHECK(*EncodeBits(p, bits) == full >> (kMaxBits - bits));
      CHECK(DecodeBits(*EncodeBits(p, bits), bits)->Contains(p));
    }
  }
  // One bit: east or west of the prime meridian.
  CHECK(*EncodeBits(LatLng::FromDegrees(0, 10), 1) == 1);
  CHECK(*EncodeBits(LatLng::FromDegrees(0, -10), 1) == 0);
  CHECK(*EncodeBits(LatLng::FromDegrees(10, -10), 2) == 1);
}

TEST_CASE("Neighbours share an edge or a corner with their cell") {
  base::Random rng(keel::testing::TestSeed(57));
  for (int i = 0; i < 3000; ++i) {
    const int precision = static_cast<int>(rng.UniformInRange(1, kMaxPrecision));
    const std::string hash = *Encode(testing::RandomPoint(rng), precision);
    const LatLngRect cell = *Decode(hash);
    for (const Direction d : kAllDirections) {
      const absl::StatusOr<std::string> next = Neighbor(hash, d);
      if (!next.ok()) continue;
      const LatLngRect n = *Decode(*next);
      CHECK(n.lat_hi() - n.lat_lo() == cell.lat_hi() - cell.lat_lo());
      const double dlat = n.lat_lo() - cell.lat_lo();
      const double dlng = std::remainder(n.lng_lo() - cell.lng_lo(), 360.0);
      const double h = cell.lat_hi() - cell.lat_lo();
      const double w = cell.lng_hi() - cell.lng_lo();
      const double want_dlat = (d == kNorth || d == kNorthEast || d == kNorthWest)   ? h
                               : (d == kSouth || d == kSouthEast || d == kSouthWest) ? -h
                                                                                     : 0;
      const double want_dlng = (d == kEast || d == kNorthEast || d == kSouthEast)   ? w
                               : (d == kWest || d == kNorthWest || d == kSouthWest) ? -w
                                                                                    : 0;
      CAPTURE(hash);
      CAPTURE(*next);
      CHECK(dlat == doctest::Approx(want_dlat));
      const double off = std::abs(dlng - want_dlng);
      CHECK((off < 1e-9 || std::abs(off - 360) < 1e-9));
    }
  }
}

TEST_CASE("EncodeRedis gives the scores Redis GEOADD stores") {
  // Scores printed by redis-server 7.0.15 (Debian 12) for:
  //   GEOADD k 13.361389 38.115556 Palermo 15.087269 37.502669 Catania 180 85.05112878 corner
  //            -180 -85.05112878 sw 0 0 zero 179.99999999 0 e
  //   ZRANGE k 0 -1 WITHSCORES
  CHECK(*EncodeRedis(LatLng::FromDegrees(38.115556, 13.361389)) == 3479099956230698u);
  CHECK(*EncodeRedis(LatLng::FromDegrees(37.502669, 15.087269)) == 3479447370796909u);
  CHECK(*EncodeRedis(LatLng::FromDegrees(0, 0)) == 3377699720527872u);
  CHECK(*EncodeRedis(LatLng::FromDegrees(0, 179.99999999)) == 4128299658422954u);
  CHECK(*EncodeRedis(LatLng::FromDegrees(-85.05112878, -180)) == 0u);
  // The north-east corner scales to 2^26 in both coordinates and spills past 52 bits, in Redis too.
  CHECK(*EncodeRedis(LatLng::FromDegrees(85.05112878, 180)) == 13510798882111488u);
  // Redis answers "ERR invalid longitude,latitude pair 0.000000,85.060000".
  CHECK(EncodeRedis(LatLng::FromDegrees(85.06, 0)).status().code() ==
        absl::StatusCode::kInvalidArgument);
  const LatLngRect palermo = *DecodeRedis(3479099956230698u);
  CHECK(palermo.Contains(LatLng::FromDegrees(38.115556, 13.361389)));
  CHECK(palermo.lat_hi() - palermo.lat_lo() < 3e-6);
  CHECK(DecodeRedis(uint64_t{1} << 54).status().code() == absl::StatusCode::kInvalidArgument);
}

TEST_CASE("PrecisionForRadius picks the longest geohash whose cells hold the radius") {
  CHECK(*PrecisionForRadius(0) == 12);
  CHECK(*PrecisionForRadius(500) == 6);
  CHECK(*PrecisionForRadius(1000) == 5);
  CHECK(*PrecisionForRadius(2000) == 5);
  CHECK(*PrecisionForRadius(5000) == 4);
  CHECK(*PrecisionForRadius(20000) == 3);
  CHECK(*PrecisionForRadius(1e7) == 1);
  CHECK(PrecisionForRadius(-1).status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(PrecisionForRadius(std::nan("")).status().code() == absl::StatusCode::kInvalidArgument);
}

// True when `p` lies in one of `cells` (geohash strings, possibly of different lengths).
bool InSomeCell(const std::vector<std::string>& cells, LatLng p) {
  return std::any_of(cells.begin(), cells.end(), [&](const std::string& cell) {
    return *Encode(p, static_cast<int>(cell.size())) == cell;
  });
}

TEST_CASE("NeighborhoodCovering holds every point of the circle everywhere on Earth") {
  const uint64_t seed = keel::testing::TestSeed(58);
  CAPTURE(seed);
  base::Random rng(seed);
  std::vector<LatLng> centers = testing::AwkwardCenters();
  for (int i = 0; i < 400; ++i) centers.push_back(testing::RandomPoint(rng));
  for (const LatLng& center : centers) {
    for (const double radius : {0.0, 10.0, 500.0, 1000.0, 5000.0, 20000.0, 300'000.0, 3e6}) {
      const std::vector<std::string> cells = *NeighborhoodCovering(center, radius);
      CHECK(cells.size() <= 32);
      for (int j = 0; j < 100; ++j) {
        const LatLng p = testing::RandomPointNear(rng, center, radius);
        if (DistanceMeters(center, p) > radius) continue;
        if (!InSomeCell(cells, p)) {
          FAIL_CHECK("centre ", center.ToString(), " radius ", radius, ": ", p.ToString(),
                     " is in none of ", cells.size(), " cells");
        }
      }
    }
  }
  // Away from the poles the book's 3 x 3 block is what comes back.
  CHECK(NeighborhoodCovering(LatLng::FromDegrees(37.77, -122.42), 1000)->size() == 9);
  CHECK(NeighborhoodCovering(LatLng::FromDegrees(37.77, -122.42), 1000)->front().size() == 5);
}

TEST_CASE("CoverCircle is complete and each of its cells comes near the circle") {
  const uint64_t seed = keel::testing::TestSeed(59);
  CAPTURE(seed);
  base::Random rng(seed);
  std::vector<LatLng> centers = testing::AwkwardCenters();
  for (int i = 0; i < 50; ++i) centers.push_back(testing::RandomPoint(rng));
  for (const LatLng& center : centers) {
    for (const auto& [radius, precision] :
         {std::pair{0.0, 7}, std::pair{800.0, 6}, std::pair{5000.0, 5}, std::pair{60'000.0, 4},
          std::pair{900'000.0, 2}}) {
      const absl::StatusOr<std::vector<std::string>> covering =
          CoverCircle(center, radius, precision);
      if (!covering.ok()) {
        // Only a circle touching a pole needs every cell of a row: legitimately too many.
        CHECK(covering.status().code() == absl::StatusCode::kResourceExhausted);
        CHECK(LatLngRect::AroundCircle(center, radius)->is_full_lng());
        continue;
      }
      const std::vector<std::string>& cells = *covering;
      REQUIRE(!cells.empty());
      CHECK(std::is_sorted(cells.begin(), cells.end()));
      for (int j = 0; j < 300; ++j) {
        const LatLng p = testing::RandomPointNear(rng, center, radius);
        if (DistanceMeters(center, p) <= radius && !InSomeCell(cells, p)) {
          FAIL_CHECK("centre ", center.ToString(), " radius ", radius, ": ", p.ToString(),
                     " is in none of the cells");
        }
      }
      // Soundness, checked by sampling each cell: some sampled point is within the radius
      // plus the sampling resolution.
      for (const std::string& cell : cells) {
        const LatLngRect r = *Decode(cell);
        double best = std::numeric_limits<double>::infinity();
        constexpr int kSteps = 16;
        for (int a = 0; a <= kSteps; ++a) {
          for (int b = 0; b <= kSteps; ++b) {
            const LatLng q =
                LatLng::FromDegrees(r.lat_lo() + (r.lat_hi() - r.lat_lo()) * a / kSteps,
                                    r.lng_lo() + (r.lng_hi() - r.lng_lo()) * b / kSteps);
            best = std::min(best, DistanceMeters(center, q));
          }
        }
        const double resolution = std::max(r.lat_hi() - r.lat_lo(), r.lng_hi() - r.lng_lo()) /
                                  kSteps * testing::kPi / 180 * kEarthRadiusMeters;
        CAPTURE(cell);
        CHECK(best <= radius + resolution + 1e-3);
      }
    }
  }
}

TEST_CASE("CoverCircleBits covers every column when a wrapped box has both ends in one column") {
  // The box of this circle wraps a hair past longitude 0 to a hair short of -180 (rounding makes
  // it a little wider than half the longitudes), so both its ends fall in the western column,
  // while the circle itself lies in the eastern one: scanning the ends' column alone would miss
  // it completely.
  const LatLng center = LatLng::FromDegrees(0, 90);
  for (const int bits : {1, 2}) {
    const std::vector<uint64_t> cells = *CoverCircleBits(center, 10'007'557.17, bits);
    CHECK(cells.size() == (bits == 1 ? 1u : 2u));
    CHECK(std::find(cells.begin(), cells.end(), *EncodeBits(center, bits)) != cells.end());
  }
}

TEST_CASE("DecodeRedis refuses scores Redis cannot produce") {
  CHECK(DecodeRedis((uint64_t{1} << 52) | (uint64_t{1} << 50)).status().code() ==
        absl::StatusCode::kInvalidArgument);
  CHECK(DecodeRedis(13510798882111488u).ok());  // the north-east corner Redis does store
}

TEST_CASE("CoverCircle refuses coverings beyond its cell limit and bad arguments") {
  const LatLng center = LatLng::FromDegrees(10, 10);
  CHECK(CoverCircle(center, 100'000, 7).status().code() == absl::StatusCode::kResourceExhausted);
  CHECK(CoverCircle(center, 1000, 6, 2).status().code() == absl::StatusCode::kResourceExhausted);
  CHECK(CoverCircle(center, 1000, 0).status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(CoverCircle(center, -5, 6).status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(CoverCircle(LatLng::FromDegrees(100, 0), 5, 6).status().code() ==
        absl::StatusCode::kInvalidArgument);
  // The whole Earth at precision 1 is every one of the 32 cells.
  CHECK(CoverCircle(center, kMaxDistanceMeters, 1)->size() == 32);
}

}  // namespace
}  // namespace keel::geo::geohash
