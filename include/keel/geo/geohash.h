// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// Geohash: a point's cell as a short string (Gustavo Niemeyer, geohash.org, 2008).
//
// The longitude range [-180, 180] and the latitude range [-90, 90] are halved again and again,
// alternately, starting with longitude; each halving contributes one bit, 1 for the upper half.
// Every 5 bits become one character of the base32 alphabet "0123456789bcdefghjkmnpqrstuvwxyz"
// (no a, i, l, o). A geohash of n characters names a cell, and every longer geohash that starts
// with it names a cell inside it, so points that share a long prefix are close (the converse
// fails at cell edges, which is why searches look at neighbouring cells too).
//
//   precision   cell at the equator (lng x lat)   precision   cell at the equator (lng x lat)
//       1        5,009 km x 4,997 km                  7        153 m x 153 m
//       2        1,252 km x   625 km                  8         38 m x  19 m
//       3          157 km x   156 km                  9        4.8 m x 4.8 m
//       4           39 km x    20 km                 10        1.2 m x 0.6 m
//       5          4.9 km x   4.9 km                 11        15 cm x 15 cm
//       6          1.2 km x   0.6 km                 12        3.7 cm x 1.9 cm
//
// Cells are closed below and open above ([lo, hi)), so a point on a boundary belongs to the cell
// above or to its east; latitude 90 and longitude 180 belong to the topmost and easternmost cells.
// Encoding is exact: it finds the same cell as bisecting with exact arithmetic.
//
// Besides strings, a geohash is an integer of up to 60 interleaved bits (EncodeBits); keel's
// geohash index keys points by their 60-bit value, so each cell of any precision is one range of
// keys. Redis stores GEOADD positions the same way, as a 52-bit integer (26 bits each, latitude
// limited to +-85.05112878, the range of Web Mercator); EncodeRedis gives exactly the sorted-set
// score Redis would store (its geohash.c, "geohashEncode", is the reference).
//
// Searching: the proximity-service design looks up the cell of the search centre and its eight
// neighbours at a precision chosen for the radius (NeighborhoodCovering). CoverCircle gives the
// exact alternative: every cell of a chosen precision that the circle touches.
//
// Example:
//
//   const auto p = keel::geo::LatLng::FromDegrees(42.6, -5.6);
//   std::string hash = *keel::geo::geohash::Encode(p, 5);            // "ezs42"
//   keel::geo::LatLngRect cell = *keel::geo::geohash::Decode("ezs42");
//   std::string north = *keel::geo::geohash::Neighbor("ezs42", keel::geo::geohash::kNorth);
//   // "ezs48"
#ifndef KEEL_GEO_GEOHASH_H_
#define KEEL_GEO_GEOHASH_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "keel/geo/lat_lng.h"
#include "keel/geo/lat_lng_rect.h"

namespace keel::geo::geohash {

inline constexpr int kMaxPrecision = 12;  // characters
inline constexpr int kMaxBits = 60;       // 5 per character
inline constexpr int kRedisBits = 52;     // 26 steps of each coordinate
inline constexpr double kRedisMaxLatitude = 85.05112878;

// The eight directions to a neighbouring cell.
enum Direction { kNorth, kNorthEast, kEast, kSouthEast, kSouth, kSouthWest, kWest, kNorthWest };
inline constexpr std::array<Direction, 8> kAllDirections = {kNorth, kNorthEast, kEast, kSouthEast,
                                                            kSouth, kSouthWest, kWest, kNorthWest};

// ---------------------------------------------------------------------------------------------
// Strings.
// ---------------------------------------------------------------------------------------------

// The geohash of `p` with `precision` characters. Errors (kInvalidArgument): an invalid point, or
// a precision outside [1, kMaxPrecision].
[[nodiscard]] absl::StatusOr<std::string> Encode(LatLng p, int precision);

// The cell a geohash names. Errors (kInvalidArgument): empty, longer than kMaxPrecision, or a
// character outside the alphabet (upper case is accepted, as other implementations do).
[[nodiscard]] absl::StatusOr<LatLngRect> Decode(std::string_view hash);

// The cell next to `hash` in direction `d`, of the same precision. East and west wrap across the
// antimeridian. Errors: kInvalidArgument for a bad geohash; kOutOfRange for a cell past a pole
// (north of a cell touching the north pole, and likewise south).
[[nodiscard]] absl::StatusOr<std::string> Neighbor(std::string_view hash, Direction d);

// The neighbours that exist, in the order of kAllDirections (north first, clockwise): 8, or 5 for
// a cell touching a pole. Errors: kInvalidArgument for a bad geohash.
[[nodiscard]] absl::StatusOr<std::vector<std::string>> Neighbors(std::string_view hash);

// ---------------------------------------------------------------------------------------------
// Integers: the same cells as right-aligned integers of `bits` bits, longitude bit first.
// ---------------------------------------------------------------------------------------------

// Errors (kInvalidArgument): an invalid point, or bits outside [1, kMaxBits].
[[nodiscard]] absl::StatusOr<uint64_t> EncodeBits(LatLng p, int bits);

// Errors (kInvalidArgument): bits outside [1, kMaxBits], or a hash wider than `bits`.
[[nodiscard]] absl::StatusOr<LatLngRect> DecodeBits(uint64_t hash, int bits);

// The neighbouring cell, or kOutOfRange past a pole. Errors as DecodeBits.
[[nodiscard]] absl::StatusOr<uint64_t> NeighborBits(uint64_t hash, int bits, Direction d);

// Converts between the string and the integer form (5 bits per character).
[[nodiscard]] absl::StatusOr<uint64_t> StringToBits(std::string_view hash);
[[nodiscard]] absl::StatusOr<std::string> BitsToString(uint64_t hash, int precision);

// ---------------------------------------------------------------------------------------------
// Redis's 52-bit scores.
// ---------------------------------------------------------------------------------------------

// The score Redis's GEOADD stores for `p`. Errors (kInvalidArgument): an invalid point, or a
// latitude beyond +-kRedisMaxLatitude (which Redis refuses too).
[[nodiscard]] absl::StatusOr<uint64_t> EncodeRedis(LatLng p);

// The cell a Redis score stands for (a point on the north or east edge decodes to that edge).
// Errors (kInvalidArgument): a score Redis cannot produce: more than 54 bits, or a coordinate
// index above 2^26.
[[nodiscard]] absl::StatusOr<LatLngRect> DecodeRedis(uint64_t score);

// ---------------------------------------------------------------------------------------------
// Searching.
// ---------------------------------------------------------------------------------------------

// The precision the proximity-service design uses for a search radius: the longest geohash whose
// cells, at the equator, are at least `radius_m` tall and wide, so that a circle around any point
// of a cell stays inside the cell and its 8 neighbours (away from the poles; see
// NeighborhoodCovering). 1 when even precision-1 cells are too small. Errors (kInvalidArgument):
// a negative, NaN or infinite radius.
//
// The book's table says 4 for 20 km; this gives 3, because a precision-4 cell is only 19.5 km
// tall and its 3 x 3 block could miss a point 19.6 km north.
[[nodiscard]] absl::StatusOr<int> PrecisionForRadius(double radius_m);

// The book's covering: the cell containing `center` and its 8 neighbours, at PrecisionForRadius,
// lowered where longitude cells narrow toward the poles until the 3 x 3 block still contains the
// whole circle. Where no precision can (a circle reaching a pole, or wider than precision-1
// cells), it returns CoverCircle at precision 1 instead. The union of the returned cells always
// contains every point within `radius_m` of `center`. Sorted, without duplicates.
// Errors (kInvalidArgument): an invalid centre; a negative, NaN or infinite radius.
[[nodiscard]] absl::StatusOr<std::vector<std::string>> NeighborhoodCovering(LatLng center,
                                                                            double radius_m);

// Every cell of `precision` characters that holds a point within `radius_m` of `center`: the
// exact covering (cells merely grazing the circle within a millimetre may be included). Sorted.
// Errors: kInvalidArgument for a bad centre, radius or precision; kResourceExhausted when more than
// `max_cells` cells would be needed, or when the circle's bounding box spans more than
// 16 x max_cells + 64 cells (which it does only for a circle far too large for the precision).
[[nodiscard]] absl::StatusOr<std::vector<std::string>> CoverCircle(LatLng center, double radius_m,
                                                                   int precision,
                                                                   size_t max_cells = 10'000);

// CoverCircle with integer cells of `bits` bits (1 to kMaxBits), sorted.
[[nodiscard]] absl::StatusOr<std::vector<uint64_t>> CoverCircleBits(LatLng center, double radius_m,
                                                                    int bits,
                                                                    size_t max_cells = 10'000);

}  // namespace keel::geo::geohash

#endif  // KEEL_GEO_GEOHASH_H_
