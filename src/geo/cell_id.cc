// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// CellId: conversions between points and cells, tokens, neighbours and cell geometry. The
// algorithms are S2's (see keel/geo/cell_id.h); the arithmetic follows S2's step for step so
// that results are bit-identical.
#include "keel/geo/cell_id.h"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <numbers>
#include <vector>

#include "absl/strings/str_cat.h"
#include "cube_face.h"
#include "keel/base/strings.h"

namespace keel::geo {

using internal::kHilbert;
using internal::kLookupBits;

namespace {

// FromFaceIJ for cells just outside the face: (i, j) may be -1 or kMaxSize in one coordinate,
// for a neighbour across an edge. The leaf is found by going through (x, y, z): (i, j) is mapped
// to (u, v) linearly, pushed just past the face's edge, and projected onto whichever face it now
// belongs to. The linear map is arbitrary (any map works) but must match S2's to give its cells.
CellId FromFaceIJWrap(int face, int i, int j) {
  i = std::max(-1, std::min(CellId::kMaxSize, i));
  j = std::max(-1, std::min(CellId::kMaxSize, j));
  constexpr double kScale = 1.0 / CellId::kMaxSize;
  // Barely outside [-1, 1], so that the reprojection (a division by the new face's coordinate)
  // cannot move the point back across a leaf boundary.
  constexpr double kLimit = 1.0 + DBL_EPSILON;
  double u = std::max(-kLimit, std::min(kLimit, kScale * (2 * (i - CellId::kMaxSize / 2) + 1)));
  double v = std::max(-kLimit, std::min(kLimit, kScale * (2 * (j - CellId::kMaxSize / 2) + 1)));
  const Point3 p = internal::FaceUVToXYZ(face, u, v);
  face = internal::FaceOf(p);
  internal::FaceXYZToUV(face, p, &u, &v);
  return CellId::FromFaceIJ(face, internal::STToIJ(0.5 * (u + 1)), internal::STToIJ(0.5 * (v + 1)));
}

CellId FromFaceIJSame(int face, int i, int j, bool same_face) {
  return same_face ? CellId::FromFaceIJ(face, i, j) : FromFaceIJWrap(face, i, j);
}

// The leaf (i, j) the Hilbert position of `id` decodes to. For a cell above leaf level this is a
// leaf near its centre (the trailing 1 bit decodes as a position half-way through the cell).
CellId::FaceIJ DecodeFaceIJ(uint64_t id) {
  const int face = static_cast<int>(id >> CellId::kPosBits);
  int i = 0;
  int j = 0;
  int bits = face & internal::kSwapMask;
  constexpr int kMask = (1 << kLookupBits) - 1;
  for (int k = 7; k >= 0; --k) {
    // The top chunk holds the 2 levels left over from 30 = 7 x 4 + 2.
    const int levels = k == 7 ? CellId::kMaxLevel - 7 * kLookupBits : kLookupBits;
    bits +=
        static_cast<int>((id >> (k * 2 * kLookupBits + 1)) & ((uint64_t{1} << (2 * levels)) - 1))
        << 2;
    bits = kHilbert.ij[static_cast<size_t>(bits)];
    i += (bits >> (kLookupBits + 2)) << (k * kLookupBits);
    j += ((bits >> 2) & kMask) << (k * kLookupBits);
    bits &= internal::kSwapMask | internal::kInvertMask;
  }
  return {face, i, j};
}

// The (u, v) of the cell's lower-left and upper-right corners.
struct UVBounds {
  double u_lo, u_hi, v_lo, v_hi;
};

UVBounds BoundsOf(const CellId::FaceIJ& f, int level) {
  const int size = CellId::SizeIJ(level);
  return {internal::STToUV(internal::IJToSTMin(f.i)),
          internal::STToUV(internal::IJToSTMin(f.i + size)),
          internal::STToUV(internal::IJToSTMin(f.j)),
          internal::STToUV(internal::IJToSTMin(f.j + size))};
}

Point3 Normalized(const Point3& p) {
  const double norm = std::sqrt(p.x * p.x + p.y * p.y + p.z * p.z);
  if (norm == 0) return p;
  const double scale = 1.0 / norm;
  return {p.x * scale, p.y * scale, p.z * scale};
}

}  // namespace

CellId CellId::FromFaceIJ(int face, int i, int j) {
  KEEL_DCHECK(face >= 0 && face < kNumFaces && i >= 0 && i < kMaxSize && j >= 0 && j < kMaxSize);
  // The face goes in the top bits; each lookup turns 4 levels of (i, j) into 8 bits of position
  // and the orientation the next 4 levels start from.
  uint64_t n = static_cast<uint64_t>(face) << (kPosBits - 1);
  int bits = face & internal::kSwapMask;
  constexpr int kMask = (1 << kLookupBits) - 1;
  for (int k = 7; k >= 0; --k) {
    bits += ((i >> (k * kLookupBits)) & kMask) << (kLookupBits + 2);
    bits += ((j >> (k * kLookupBits)) & kMask) << 2;
    bits = kHilbert.pos[static_cast<size_t>(bits)];
    n |= static_cast<uint64_t>(bits >> 2) << (k * 2 * kLookupBits);
    bits &= internal::kSwapMask | internal::kInvertMask;
  }
  return CellId(n * 2 + 1);
}

CellId CellId::FromPoint(const Point3& p) {
  const int face = internal::FaceOf(p);
  double u;
  double v;
  internal::FaceXYZToUV(face, p, &u, &v);
  return FromFaceIJ(face, internal::STToIJ(internal::UVToST(u)),
                    internal::STToIJ(internal::UVToST(v)));
}

CellId CellId::FromLatLng(LatLng p) {
  if (!p.is_valid()) return None();
  return FromPoint(p.ToPoint());
}

absl::StatusOr<CellId> CellId::FromToken(std::string_view token) {
  if (token.empty() || token.size() > 16) {
    return absl::InvalidArgumentError(base::Cat("cell token ", base::Quoted(token), " has ",
                                                token.size(),
                                                " characters; a token has 1 to 16 hex digits"));
  }
  uint64_t id = 0;
  int shift = 60;
  for (size_t k = 0; k < token.size(); ++k, shift -= 4) {
    const char c = token[k];
    uint64_t digit;
    if (c >= '0' && c <= '9') {
      digit = static_cast<uint64_t>(c - '0');
    } else if (c >= 'a' && c <= 'f') {
      digit = static_cast<uint64_t>(c - 'a' + 10);
    } else if (c >= 'A' && c <= 'F') {
      digit = static_cast<uint64_t>(c - 'A' + 10);
    } else {
      return absl::InvalidArgumentError(base::Cat("cell token ", base::Quoted(token), " has ",
                                                  base::Quoted(token.substr(k, 1)), " at position ",
                                                  k, ", which is not a hex digit"));
    }
    id |= digit << shift;
  }
  const CellId cell(id);
  if (!cell.is_valid()) {
    return absl::InvalidArgumentError(base::Cat("cell token ", base::Quoted(token), " is id 0x",
                                                absl::Hex(id, absl::kZeroPad16),
                                                ", which is not a valid cell"));
  }
  return cell;
}

std::string CellId::ToToken() const {
  if (id_ == 0) return "X";
  // Hex digits from the top, stopping where only zero digits remain.
  static constexpr char kHex[] = "0123456789abcdef";
  const int digits = 16 - std::countr_zero(id_) / 4;
  std::string token(static_cast<size_t>(digits), '0');
  for (int k = 0; k < digits; ++k) token[static_cast<size_t>(k)] = kHex[(id_ >> (60 - 4 * k)) & 15];
  return token;
}

std::string CellId::ToString() const {
  if (!is_valid()) return absl::StrCat("Invalid: ", absl::Hex(id_, absl::kZeroPad16));
  std::string out = absl::StrCat(face(), "/");
  for (int level = 1; level <= this->level(); ++level) {
    out += static_cast<char>('0' + ((id_ >> (2 * (kMaxLevel - level) + 1)) & 3));
  }
  return out;
}

CellId::FaceIJ CellId::ToFaceIJ() const {
  FaceIJ f = DecodeFaceIJ(id_);
  const int size = SizeIJ(level());
  f.i &= -size;
  f.j &= -size;
  return f;
}

std::array<CellId, 4> CellId::EdgeNeighbors() const {
  const int level = this->level();
  const int size = SizeIJ(level);
  // From a leaf inside the cell (not its corner), as S2 does: across a cube edge the leaf found
  // on the other face then lies in the same cell S2 finds.
  const FaceIJ f = DecodeFaceIJ(id_);
  return {FromFaceIJSame(f.face, f.i, f.j - size, f.j - size >= 0).parent(level),
          FromFaceIJSame(f.face, f.i + size, f.j, f.i + size < kMaxSize).parent(level),
          FromFaceIJSame(f.face, f.i, f.j + size, f.j + size < kMaxSize).parent(level),
          FromFaceIJSame(f.face, f.i - size, f.j, f.i - size >= 0).parent(level)};
}

void CellId::AppendVertexNeighbors(int level, std::vector<CellId>* out) const {
  KEEL_ASSERT(level >= 0 && level < this->level(), "AppendVertexNeighbors(", level, ") of a level ",
              this->level(), " cell");
  // Which quadrant of its level-`level` ancestor this cell lies in says which vertex is closest:
  // that is the next bit of i and of j below the ancestor's size.
  const FaceIJ f = DecodeFaceIJ(id_);
  const int half = SizeIJ(level + 1);
  const int size = half << 1;
  bool i_same, j_same;
  int i_offset, j_offset;
  if (f.i & half) {
    i_offset = size;
    i_same = f.i + size < kMaxSize;
  } else {
    i_offset = -size;
    i_same = f.i - size >= 0;
  }
  if (f.j & half) {
    j_offset = size;
    j_same = f.j + size < kMaxSize;
  } else {
    j_offset = -size;
    j_same = f.j - size >= 0;
  }
  out->push_back(parent(level));
  out->push_back(FromFaceIJSame(f.face, f.i + i_offset, f.j, i_same).parent(level));
  out->push_back(FromFaceIJSame(f.face, f.i, f.j + j_offset, j_same).parent(level));
  // With both the i and the j neighbour on other faces, the vertex is a cube corner, where only
  // three cells meet.
  if (i_same || j_same) {
    out->push_back(
        FromFaceIJSame(f.face, f.i + i_offset, f.j + j_offset, i_same && j_same).parent(level));
  }
}

void CellId::AppendAllNeighbors(int level, std::vector<CellId>* out) const {
  KEEL_ASSERT(level >= this->level() && level <= kMaxLevel, "AppendAllNeighbors(", level,
              ") of a level ", this->level(), " cell");
  const FaceIJ f = ToFaceIJ();
  const int size = SizeIJ(this->level());
  const int nbr_size = SizeIJ(level);
  // One pass along the cell's sides collects the bottom and top rows, then the left and right
  // columns including the four diagonal cells. The loop tests at the end so that k never
  // overflows.
  for (int k = -nbr_size;; k += nbr_size) {
    bool same_face;
    if (k < 0) {
      same_face = f.j + k >= 0;
    } else if (k >= size) {
      same_face = f.j + k < kMaxSize;
    } else {
      same_face = true;
      out->push_back(
          FromFaceIJSame(f.face, f.i + k, f.j - nbr_size, f.j - size >= 0).parent(level));
      out->push_back(
          FromFaceIJSame(f.face, f.i + k, f.j + size, f.j + size < kMaxSize).parent(level));
    }
    out->push_back(FromFaceIJSame(f.face, f.i - nbr_size, f.j + k, same_face && f.i - size >= 0)
                       .parent(level));
    out->push_back(FromFaceIJSame(f.face, f.i + size, f.j + k, same_face && f.i + size < kMaxSize)
                       .parent(level));
    if (k >= size) break;
  }
}

Point3 CellId::CenterPoint() const {
  // In (si, ti) units, twice the leaf grid, the centre of a cell of `size` leaves starting at
  // leaf i is 2i + size: exact, and the value S2's GetCenterSiTi computes.
  const FaceIJ f = ToFaceIJ();
  const uint32_t size = static_cast<uint32_t>(SizeIJ(level()));
  const uint32_t si = 2 * static_cast<uint32_t>(f.i) + size;
  const uint32_t ti = 2 * static_cast<uint32_t>(f.j) + size;
  return internal::FaceUVToXYZ(f.face, internal::STToUV(internal::SiTiToST(si)),
                               internal::STToUV(internal::SiTiToST(ti)));
}

LatLng CellId::CenterLatLng() const { return LatLng::FromPoint(CenterPoint()); }

Point3 CellId::Vertex(int k) const {
  KEEL_ASSERT(k >= 0 && k < 4, "Vertex(", k, ")");
  const FaceIJ f = ToFaceIJ();
  const UVBounds b = BoundsOf(f, level());
  // Counter-clockwise from the lower-left corner: (lo, lo), (hi, lo), (hi, hi), (lo, hi).
  const double u = (k == 1 || k == 2) ? b.u_hi : b.u_lo;
  const double v = (k >= 2) ? b.v_hi : b.v_lo;
  return Normalized(internal::FaceUVToXYZ(f.face, u, v));
}

LatLngRect CellId::LatLngBound() const {
  constexpr double kDegrees = 180 / std::numbers::pi;
  constexpr double kPad = 1e-9;  // degrees
  Point3 v[4];
  for (int k = 0; k < 4; ++k) v[k] = Vertex(k);
  double lat_lo = 90;
  double lat_hi = -90;
  for (const Point3& p : v) {
    const double lat = LatLng::FromPoint(p).lat_degrees();
    lat_lo = std::min(lat_lo, lat);
    lat_hi = std::max(lat_hi, lat);
  }
  // An edge is an arc of a great circle, whose highest point is where the circle's plane comes
  // closest to the north pole: the pole projected onto the plane. If that point (or its mirror,
  // the lowest) lies between the edge's ends, the edge reaches past them.
  for (int k = 0; k < 4; ++k) {
    const Point3& a = v[k];
    const Point3& b = v[(k + 1) & 3];
    const Point3 n = {a.y * b.z - a.z * b.y, a.z * b.x - a.x * b.z, a.x * b.y - a.y * b.x};
    const double n2 = n.x * n.x + n.y * n.y + n.z * n.z;
    if (n2 == 0) continue;
    const Point3 top = {-n.x * n.z / n2, -n.y * n.z / n2, 1 - n.z * n.z / n2};
    for (const double sign : {1.0, -1.0}) {
      const Point3 m = {sign * top.x, sign * top.y, sign * top.z};
      // m is between a and b on the arc when a x m and m x b both point along n.
      const double am = (a.y * m.z - a.z * m.y) * n.x + (a.z * m.x - a.x * m.z) * n.y +
                        (a.x * m.y - a.y * m.x) * n.z;
      const double mb = (m.y * b.z - m.z * b.y) * n.x + (m.z * b.x - m.x * b.z) * n.y +
                        (m.x * b.y - m.y * b.x) * n.z;
      if (am > 0 && mb > 0) {
        const double lat = LatLng::FromPoint(m).lat_degrees();
        lat_lo = std::min(lat_lo, lat);
        lat_hi = std::max(lat_hi, lat);
      }
    }
  }
  lat_lo = std::max(-90.0, lat_lo - kPad);
  lat_hi = std::min(90.0, lat_hi + kPad);
  // A cell holding a pole, inside or as a vertex, takes every longitude there: the pole is one
  // point with every longitude (S2's rectangles treat it the same way).
  if (lat_hi == 90 || lat_lo == -90) return LatLngRect(lat_lo, lat_hi, -180, 180);
  for (const double z : {1.0, -1.0}) {
    if (contains(FromPoint({0, 0, z}))) {
      return LatLngRect(z > 0 ? lat_lo : -90, z > 0 ? 90 : lat_hi, -180, 180);
    }
  }
  // Otherwise the cell spans less than half the longitudes, and the smallest arc holding the
  // vertices' longitudes is its range.
  std::vector<double> lngs;
  for (const Point3& p : v) lngs.push_back(std::atan2(p.y + 0.0, p.x + 0.0) * kDegrees);
  std::sort(lngs.begin(), lngs.end());
  // The largest gap between consecutive longitudes (going round) is what the cell leaves out.
  size_t after_gap = 0;
  double gap = lngs.front() + 360 - lngs.back();
  for (size_t i = 1; i < lngs.size(); ++i) {
    if (lngs[i] - lngs[i - 1] > gap) {
      gap = lngs[i] - lngs[i - 1];
      after_gap = i;
    }
  }
  double lng_lo = lngs[after_gap] - kPad;
  double lng_hi = lngs[(after_gap + lngs.size() - 1) % lngs.size()] + kPad;
  if (lng_lo < -180) lng_lo += 360;
  if (lng_hi > 180) lng_hi -= 360;
  return LatLngRect(lat_lo, lat_hi, lng_lo, lng_hi);
}

}  // namespace keel::geo
