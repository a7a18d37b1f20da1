// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// Geohash encoding, decoding, neighbours and coverings. See keel/geo/geohash.h.
#include "keel/geo/geohash.h"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <optional>

#include "keel/base/assert.h"
#include "keel/base/status.h"
#include "keel/base/strings.h"
#include "keel/geo/internal/interleave.h"

namespace keel::geo::geohash {
namespace {

constexpr std::string_view kAlphabet = "0123456789bcdefghjkmnpqrstuvwxyz";

// kCharValue[c] is the 5-bit value of base32 character c, or -1.
constexpr std::array<int8_t, 256> kCharValue = [] {
  std::array<int8_t, 256> values{};
  values.fill(-1);
  for (size_t i = 0; i < kAlphabet.size(); ++i) {
    const auto c = static_cast<unsigned char>(kAlphabet[i]);
    values[c] = static_cast<int8_t>(i);
    if (c >= 'a' && c <= 'z') values[c - 'a' + 'A'] = static_cast<int8_t>(i);
  }
  return values;
}();

using internal::Gather;
using internal::Spread;

// A cell as two indexes: which of the 2^lng_bits longitude slices and 2^lat_bits latitude
// slices. With `bits` bits in all, longitude gets the extra one when bits is odd.
struct CellIndex {
  uint64_t lng;
  uint64_t lat;
  int lng_bits;
  int lat_bits;
};

int LngBits(int bits) { return (bits + 1) / 2; }
int LatBits(int bits) { return bits / 2; }

// The first longitude bit is the hash's top bit, so longitude sits on the even positions when
// `bits` is odd and on the odd positions when it is even.
uint64_t Interleave(const CellIndex& c, int bits) {
  return (bits % 2 == 1) ? Spread(c.lng) | (Spread(c.lat) << 1)
                         : (Spread(c.lng) << 1) | Spread(c.lat);
}

CellIndex Deinterleave(uint64_t hash, int bits) {
  CellIndex c{0, 0, LngBits(bits), LatBits(bits)};
  if (bits % 2 == 1) {
    c.lng = Gather(hash);
    c.lat = Gather(hash >> 1);
  } else {
    c.lng = Gather(hash >> 1);
    c.lat = Gather(hash);
  }
  return c;
}

// The index of the slice of [lo, lo + span] holding v, of 2^n equal slices closed below and open
// above (the top slice also holds lo + span). Every slice boundary lo + i * span / 2^n is an exact
// double for span 180 or 360, so after a floating-point estimate, comparing against the exact
// boundaries gives the same index as exact bisection.
uint64_t SliceIndex(double v, double lo, double span, int n) {
  const uint64_t count = uint64_t{1} << n;
  const double step = span / static_cast<double>(count);
  const double estimate = std::floor((v - lo) / step);
  uint64_t i = estimate <= 0 ? 0 : std::min(static_cast<uint64_t>(estimate), count - 1);
  while (i > 0 && lo + static_cast<double>(i) * step > v) --i;
  while (i + 1 < count && lo + static_cast<double>(i + 1) * step <= v) ++i;
  return i;
}

CellIndex IndexOf(LatLng p, int bits) {
  CellIndex c{0, 0, LngBits(bits), LatBits(bits)};
  c.lng = SliceIndex(p.lng_degrees(), -180, 360, c.lng_bits);
  c.lat = c.lat_bits == 0 ? 0 : SliceIndex(p.lat_degrees(), -90, 180, c.lat_bits);
  return c;
}

LatLngRect BoundsOf(const CellIndex& c) {
  const double lng_step = 360.0 / static_cast<double>(uint64_t{1} << c.lng_bits);
  const double lat_step = 180.0 / static_cast<double>(uint64_t{1} << c.lat_bits);
  const double lng_lo = -180 + static_cast<double>(c.lng) * lng_step;
  const double lat_lo = -90 + static_cast<double>(c.lat) * lat_step;
  return LatLngRect(lat_lo, lat_lo + lat_step, lng_lo, lng_lo + lng_step);
}

absl::Status CheckPoint(LatLng p) {
  if (p.is_valid()) return absl::OkStatus();
  return absl::InvalidArgumentError(base::Cat("point ", p.ToString(), " is not a valid LatLng"));
}

absl::Status CheckBits(int bits) {
  if (bits >= 1 && bits <= kMaxBits) return absl::OkStatus();
  return absl::InvalidArgumentError(
      base::Cat("geohash bit count ", bits, " is outside [1, ", kMaxBits, "]"));
}

absl::Status CheckPrecision(int precision) {
  if (precision >= 1 && precision <= kMaxPrecision) return absl::OkStatus();
  return absl::InvalidArgumentError(
      base::Cat("geohash precision ", precision, " is outside [1, ", kMaxPrecision, "]"));
}

absl::Status CheckHashWidth(uint64_t hash, int bits) {
  if (bits >= 64 || (hash >> bits) == 0) return absl::OkStatus();
  return absl::InvalidArgumentError(
      base::Cat("geohash 0x", absl::Hex(hash), " has more than ", bits, " bits"));
}

// The neighbour of a cell, or nullopt past a pole.
std::optional<CellIndex> Step(CellIndex c, Direction d) {
  const uint64_t lng_count = uint64_t{1} << c.lng_bits;
  const uint64_t lat_count = uint64_t{1} << c.lat_bits;
  const bool north = d == kNorth || d == kNorthEast || d == kNorthWest;
  const bool south = d == kSouth || d == kSouthEast || d == kSouthWest;
  const bool east = d == kEast || d == kNorthEast || d == kSouthEast;
  const bool west = d == kWest || d == kNorthWest || d == kSouthWest;
  if (north) {
    if (c.lat + 1 == lat_count) return std::nullopt;
    ++c.lat;
  }
  if (south) {
    if (c.lat == 0) return std::nullopt;
    --c.lat;
  }
  if (east) c.lng = (c.lng + 1) % lng_count;  // wraps across the antimeridian
  if (west) c.lng = (c.lng + lng_count - 1) % lng_count;
  return c;
}

const char* DirectionName(Direction d) {
  constexpr const char* kNames[] = {"north", "north-east", "east", "south-east",
                                    "south", "south-west", "west", "north-west"};
  return kNames[d];
}

// Height and equatorial width of a cell of `bits` bits, in metres.
double CellHeightMeters(int bits) {
  return 180.0 / static_cast<double>(uint64_t{1} << LatBits(bits)) * std::numbers::pi / 180 *
         kEarthRadiusMeters;
}
double CellWidthMeters(int bits) {
  return 360.0 / static_cast<double>(uint64_t{1} << LngBits(bits)) * std::numbers::pi / 180 *
         kEarthRadiusMeters;
}

}  // namespace

absl::StatusOr<uint64_t> EncodeBits(LatLng p, int bits) {
  KEEL_RETURN_IF_ERROR(CheckPoint(p));
  KEEL_RETURN_IF_ERROR(CheckBits(bits));
  return Interleave(IndexOf(p, bits), bits);
}

absl::StatusOr<LatLngRect> DecodeBits(uint64_t hash, int bits) {
  KEEL_RETURN_IF_ERROR(CheckBits(bits));
  KEEL_RETURN_IF_ERROR(CheckHashWidth(hash, bits));
  return BoundsOf(Deinterleave(hash, bits));
}

absl::StatusOr<uint64_t> NeighborBits(uint64_t hash, int bits, Direction d) {
  KEEL_RETURN_IF_ERROR(CheckBits(bits));
  KEEL_RETURN_IF_ERROR(CheckHashWidth(hash, bits));
  const std::optional<CellIndex> next = Step(Deinterleave(hash, bits), d);
  if (!next) {
    return absl::OutOfRangeError(base::Cat("geohash 0x", absl::Hex(hash), " (", bits,
                                           " bits) touches a pole: it has no ", DirectionName(d),
                                           " neighbour"));
  }
  return Interleave(*next, bits);
}

absl::StatusOr<uint64_t> StringToBits(std::string_view hash) {
  if (hash.empty() || hash.size() > kMaxPrecision) {
    return absl::InvalidArgumentError(base::Cat("geohash ", base::Quoted(hash), " has ",
                                                hash.size(), " characters; it must have 1 to ",
                                                kMaxPrecision));
  }
  uint64_t bits = 0;
  for (size_t i = 0; i < hash.size(); ++i) {
    const int value = kCharValue[static_cast<unsigned char>(hash[i])];
    if (value < 0) {
      return absl::InvalidArgumentError(
          base::Cat("geohash ", base::Quoted(hash), " has ", base::Quoted(hash.substr(i, 1)),
                    " at position ", i, ", which is not in the base32 alphabet ", kAlphabet));
    }
    bits = (bits << 5) | static_cast<uint64_t>(value);
  }
  return bits;
}

absl::StatusOr<std::string> BitsToString(uint64_t hash, int precision) {
  KEEL_RETURN_IF_ERROR(CheckPrecision(precision));
  KEEL_RETURN_IF_ERROR(CheckHashWidth(hash, 5 * precision));
  std::string out(static_cast<size_t>(precision), '0');
  for (int i = precision - 1; i >= 0; --i, hash >>= 5) {
    out[static_cast<size_t>(i)] = kAlphabet[hash & 31];
  }
  return out;
}

absl::StatusOr<std::string> Encode(LatLng p, int precision) {
  KEEL_RETURN_IF_ERROR(CheckPrecision(precision));
  KEEL_ASSIGN_OR_RETURN(const uint64_t bits, EncodeBits(p, 5 * precision));
  return BitsToString(bits, precision);
}

absl::StatusOr<LatLngRect> Decode(std::string_view hash) {
  KEEL_ASSIGN_OR_RETURN(const uint64_t bits, StringToBits(hash));
  return DecodeBits(bits, 5 * static_cast<int>(hash.size()));
}

absl::StatusOr<std::string> Neighbor(std::string_view hash, Direction d) {
  KEEL_ASSIGN_OR_RETURN(const uint64_t bits, StringToBits(hash));
  const int precision = static_cast<int>(hash.size());
  absl::StatusOr<uint64_t> next = NeighborBits(bits, 5 * precision, d);
  if (!next.ok()) {
    return absl::OutOfRangeError(base::Cat("geohash ", base::Quoted(hash),
                                           " touches a pole: it has no ", DirectionName(d),
                                           " neighbour"));
  }
  return BitsToString(*next, precision);
}

absl::StatusOr<std::vector<std::string>> Neighbors(std::string_view hash) {
  KEEL_ASSIGN_OR_RETURN(const uint64_t bits, StringToBits(hash));
  const int precision = static_cast<int>(hash.size());
  const CellIndex cell = Deinterleave(bits, 5 * precision);
  std::vector<std::string> out;
  for (const Direction d : kAllDirections) {
    if (const std::optional<CellIndex> next = Step(cell, d)) {
      out.push_back(*BitsToString(Interleave(*next, 5 * precision), precision));
    }
  }
  return out;
}

absl::StatusOr<uint64_t> EncodeRedis(LatLng p) {
  KEEL_RETURN_IF_ERROR(CheckPoint(p));
  if (std::abs(p.lat_degrees()) > kRedisMaxLatitude) {
    return absl::InvalidArgumentError(base::Cat(
        "latitude ", p.lat_degrees(), " is beyond Redis's limit of +-", kRedisMaxLatitude));
  }
  // Redis's arithmetic, step for step, so that every score matches: scale each coordinate to
  // [0, 2^26] and truncate. A point exactly on the north or east edge scales to 2^26 itself,
  // which spills into bit 52 or 53; Redis stores such scores, so keel produces them too.
  const double lat_offset = (p.lat_degrees() + kRedisMaxLatitude) / (2 * kRedisMaxLatitude) *
                            static_cast<double>(uint64_t{1} << 26);
  const double lng_offset = (p.lng_degrees() + 180) / 360 * static_cast<double>(uint64_t{1} << 26);
  const auto lat = static_cast<uint32_t>(lat_offset);
  const auto lng = static_cast<uint32_t>(lng_offset);
  return Spread(lat) | (Spread(lng) << 1);
}

absl::StatusOr<LatLngRect> DecodeRedis(uint64_t score) {
  if (score >> 54 != 0) {
    return absl::InvalidArgumentError(
        base::Cat("Redis geo score ", score, " has more than the 54 bits EncodeRedis can give"));
  }
  const uint64_t lat = Gather(score);
  const uint64_t lng = Gather(score >> 1);
  // Each coordinate's index is 26 bits, or exactly 2^26 for a point on the north or east edge;
  // anything above is no score Redis (or EncodeRedis) produces.
  constexpr uint64_t kEdge = uint64_t{1} << 26;
  if (lat > kEdge || lng > kEdge) {
    return absl::InvalidArgumentError(
        base::Cat("Redis geo score ", score, " is not one Redis produces"));
  }
  const double lat_step = 2 * kRedisMaxLatitude / static_cast<double>(uint64_t{1} << 26);
  const double lng_step = 360.0 / static_cast<double>(uint64_t{1} << 26);
  // The spilled edge scores (index 2^26) stand for the edge itself.
  const double lat_lo =
      std::min(-kRedisMaxLatitude + static_cast<double>(lat) * lat_step, kRedisMaxLatitude);
  const double lng_lo = std::min(-180 + static_cast<double>(lng) * lng_step, 180.0);
  return LatLngRect(lat_lo, std::min(lat_lo + lat_step, kRedisMaxLatitude), lng_lo,
                    std::min(lng_lo + lng_step, 180.0));
}

absl::StatusOr<int> PrecisionForRadius(double radius_m) {
  KEEL_RETURN_IF_ERROR(CheckRadius(radius_m));
  for (int precision = kMaxPrecision; precision > 1; --precision) {
    const int bits = 5 * precision;
    if (CellHeightMeters(bits) >= radius_m && CellWidthMeters(bits) >= radius_m) return precision;
  }
  return 1;
}

absl::StatusOr<std::vector<uint64_t>> CoverCircleBits(LatLng center, double radius_m, int bits,
                                                      size_t max_cells) {
  KEEL_RETURN_IF_ERROR(CheckPoint(center));
  KEEL_RETURN_IF_ERROR(CheckBits(bits));
  KEEL_ASSIGN_OR_RETURN(const LatLngRect box, LatLngRect::AroundCircle(center, radius_m));
  // Walk the cells of the bounding box row by row, keeping those the circle reaches.
  const CellIndex lo = IndexOf(LatLng::FromDegrees(box.lat_lo(), box.lng_lo()), bits);
  const CellIndex hi = IndexOf(LatLng::FromDegrees(box.lat_hi(), box.lng_hi()), bits);
  const uint64_t lng_count = uint64_t{1} << lo.lng_bits;
  // Longitude columns from lo.lng eastward to hi.lng, wrapping when the box does.
  // A box that wraps with both ends in one column (a column can be 180 degrees wide) covers
  // every column.
  const bool all_columns = box.is_full_lng() || (box.crosses_antimeridian() && hi.lng >= lo.lng);
  const uint64_t columns = all_columns ? lng_count : (hi.lng + lng_count - lo.lng) % lng_count + 1;
  const uint64_t rows = hi.lat - lo.lat + 1;
  // Each cell of the box costs a distance test, so a box far larger than the answer may hold is
  // refused before walking it (a circle covers at least a sixteenth of its box's cells, except
  // for very thin slivers at the poles).
  if (rows * columns > 64 && (rows * columns - 64) / 16 > max_cells) {
    return absl::ResourceExhaustedError(
        base::Cat("covering a circle of ", radius_m, " m around ", center.ToString(), " with ",
                  bits, "-bit geohash cells means testing ", rows * columns,
                  " cells, more than 16 times the limit of ", max_cells, " cells"));
  }
  std::vector<uint64_t> cells;
  for (uint64_t row = 0; row < rows; ++row) {
    for (uint64_t col = 0; col < columns; ++col) {
      CellIndex c = lo;
      c.lat = lo.lat + row;
      c.lng = (lo.lng + col) % lng_count;
      if (!internal::MayHoldPointWithin(BoundsOf(c).MinDistanceMeters(center), radius_m)) {
        continue;
      }
      if (cells.size() == max_cells) {
        return absl::ResourceExhaustedError(base::Cat(
            "covering a circle of ", radius_m, " m around ", center.ToString(), " with ", bits,
            "-bit geohash cells needs more than the limit of ", max_cells, " cells"));
      }
      cells.push_back(Interleave(c, bits));
    }
  }
  std::sort(cells.begin(), cells.end());
  return cells;
}

absl::StatusOr<std::vector<std::string>> CoverCircle(LatLng center, double radius_m, int precision,
                                                     size_t max_cells) {
  KEEL_RETURN_IF_ERROR(CheckPrecision(precision));
  KEEL_ASSIGN_OR_RETURN(const std::vector<uint64_t> cells,
                        CoverCircleBits(center, radius_m, 5 * precision, max_cells));
  std::vector<std::string> out;
  out.reserve(cells.size());
  for (const uint64_t cell : cells) out.push_back(*BitsToString(cell, precision));
  return out;
}

absl::StatusOr<std::vector<std::string>> NeighborhoodCovering(LatLng center, double radius_m) {
  KEEL_RETURN_IF_ERROR(CheckPoint(center));
  KEEL_ASSIGN_OR_RETURN(const LatLngRect box, LatLngRect::AroundCircle(center, radius_m));
  KEEL_ASSIGN_OR_RETURN(int precision, PrecisionForRadius(radius_m));
  if (!box.is_full_lng()) {
    // The circle stays inside the cell and its neighbours when it is no taller than a cell and
    // no wider, in longitude degrees at its own latitude, than a cell.
    const double half_height =
        std::max(center.lat_degrees() - box.lat_lo(), box.lat_hi() - center.lat_degrees());
    const double half_width = box.lng_span() / 2;
    for (; precision >= 1; --precision) {
      const CellIndex c = IndexOf(center, 5 * precision);
      const LatLngRect cell = BoundsOf(c);
      if (cell.lat_hi() - cell.lat_lo() >= half_height &&
          cell.lng_hi() - cell.lng_lo() >= half_width) {
        std::vector<std::string> out = {*BitsToString(Interleave(c, 5 * precision), precision)};
        for (const Direction d : kAllDirections) {
          if (const std::optional<CellIndex> next = Step(c, d)) {
            out.push_back(*BitsToString(Interleave(*next, 5 * precision), precision));
          }
        }
        std::sort(out.begin(), out.end());
        out.erase(std::unique(out.begin(), out.end()), out.end());
        return out;
      }
    }
  }
  // The circle reaches a pole or is wider than any cell: no 3 x 3 block holds it.
  return CoverCircle(center, radius_m, 1);
}

}  // namespace keel::geo::geohash
