// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// The coordinate systems under S2-compatible cells, and the Hilbert-curve tables. Not installed:
// used by src/geo/cell_*.cc.
//
// A unit vector (x, y, z) becomes, in turn:
//   face      the cube face it projects onto: the axis of its largest component, +3 if negative;
//   (u, v)    its position on that face, each in [-1, 1] (a gnomonic projection);
//   (s, t)    (u, v) warped into [0, 1] by S2's quadratic transform, which evens out cell areas;
//   (i, j)    the leaf cell, each in [0, 2^30): s scaled by 2^30 and rounded down.
// Each step repeats S2's arithmetic exactly (same operations in the same order, the same
// rounding), because a single ulp of difference moves a point across a leaf-cell boundary.
#ifndef KEEL_SRC_GEO_CUBE_FACE_H_
#define KEEL_SRC_GEO_CUBE_FACE_H_

#include <array>
#include <cmath>
#include <cstdint>

#include "keel/geo/cell_id.h"
#include "keel/geo/lat_lng.h"

#if defined(__x86_64__)
#include <emmintrin.h>
#endif

namespace keel::geo::internal {

// (si, ti): twice the leaf grid, so that cell centres and edges are both integers.
inline constexpr uint32_t kMaxSiTi = 1u << (CellId::kMaxLevel + 1);

// The face a direction projects onto. Ties between equal components go to the later axis when
// the earlier is not strictly larger, as S2's LargestAbsComponent decides them.
inline int FaceOf(const Point3& p) {
  const double ax = std::abs(p.x);
  const double ay = std::abs(p.y);
  const double az = std::abs(p.z);
  int face;
  double value;
  if (ax > ay) {
    face = ax > az ? 0 : 2;
  } else {
    face = ay > az ? 1 : 2;
  }
  value = face == 0 ? p.x : face == 1 ? p.y : p.z;
  return value < 0 ? face + 3 : face;
}

// (u, v) of `p` on `face`. REQUIRES: p projects onto face (its component along the face's axis
// has the face's sign).
inline void FaceXYZToUV(int face, const Point3& p, double* u, double* v) {
  switch (face) {
    case 0:
      *u = p.y / p.x;
      *v = p.z / p.x;
      break;
    case 1:
      *u = -p.x / p.y;
      *v = p.z / p.y;
      break;
    case 2:
      *u = -p.x / p.z;
      *v = -p.y / p.z;
      break;
    case 3:
      *u = p.z / p.x;
      *v = p.y / p.x;
      break;
    case 4:
      *u = p.z / p.y;
      *v = -p.x / p.y;
      break;
    default:
      *u = -p.y / p.z;
      *v = -p.x / p.z;
      break;
  }
}

// The (not normalised) direction of (u, v) on `face`.
inline Point3 FaceUVToXYZ(int face, double u, double v) {
  switch (face) {
    case 0:
      return {1, u, v};
    case 1:
      return {-u, 1, v};
    case 2:
      return {-u, -v, 1};
    case 3:
      return {-1, -v, -u};
    case 4:
      return {v, -1, -u};
    default:
      return {v, u, -1};
  }
}

// The normals of the planes u = const and v = const on `face` (not unit length), pointing toward
// increasing u and v. A cell's edges lie on these planes.
inline Point3 UNormal(int face, double u) {
  switch (face) {
    case 0:
      return {u, -1, 0};
    case 1:
      return {1, u, 0};
    case 2:
      return {1, 0, u};
    case 3:
      return {-u, 0, 1};
    case 4:
      return {0, -u, 1};
    default:
      return {0, -1, -u};
  }
}

inline Point3 VNormal(int face, double v) {
  switch (face) {
    case 0:
      return {-v, 0, 1};
    case 1:
      return {0, -v, 1};
    case 2:
      return {0, -1, -v};
    case 3:
      return {v, -1, 0};
    case 4:
      return {1, v, 0};
    default:
      return {1, 0, v};
  }
}

// The quadratic warp and its inverse.
inline double UVToST(double u) {
  if (u >= 0) return 0.5 * std::sqrt(1 + 3 * u);
  return 1 - 0.5 * std::sqrt(1 - 3 * u);
}

inline double STToUV(double s) {
  if (s >= 0.5) return (1 / 3.) * (4 * s * s - 1);
  return (1 / 3.) * (1 - 4 * (1 - s) * (1 - s));
}

// Rounds to the nearest integer, ties to even, as the CPU's default mode does (S2 uses the
// cvtsd2si instruction for this; std::lrint is the portable equivalent).
inline int RoundToInt(double x) {
#if defined(__x86_64__)
  return _mm_cvtsd_si32(_mm_set_sd(x));
#else
  return static_cast<int>(std::lrint(x));
#endif
}

// The leaf row or column holding s.
inline int STToIJ(double s) {
  const int ij = RoundToInt(CellId::kMaxSize * s - 0.5);
  return ij < 0 ? 0 : ij > CellId::kMaxSize - 1 ? CellId::kMaxSize - 1 : ij;
}

inline double IJToSTMin(int i) { return (1.0 / CellId::kMaxSize) * i; }
inline double SiTiToST(uint32_t si) { return (1.0 / kMaxSiTi) * si; }

// ---------------------------------------------------------------------------------------------
// The Hilbert curve.
//
// Each level splits a cell into four children, visited in an order that depends on the cell's
// orientation: bit 0 (swap) exchanges the roles of i and j, bit 1 (invert) mirrors both. With
// orientation 0 the children (i, j) are visited (0,0), (0,1), (1,1), (1,0); a child's orientation
// is its parent's XORed with a value that depends only on its position in that order.
// ---------------------------------------------------------------------------------------------
inline constexpr int kSwapMask = 1;
inline constexpr int kInvertMask = 2;

// kPosToIJ[orientation][pos] = (i << 1) | j of the child visited pos-th.
inline constexpr int kPosToIJ[4][4] = {
    {0, 1, 3, 2},  // orientation 0: (0,0) (0,1) (1,1) (1,0)
    {0, 2, 3, 1},  // swapped
    {3, 2, 0, 1},  // inverted
    {3, 1, 0, 2},  // swapped and inverted
};
inline constexpr int kPosToOrientation[4] = {kSwapMask, 0, 0, kInvertMask | kSwapMask};

// Four levels are translated per table lookup.
inline constexpr int kLookupBits = 4;

// kLookupPos[(i4 << 6) | (j4 << 2) | orientation] = (pos8 << 2) | orientation after: the 8 bits
// of Hilbert position of the 4 x 4 levels (i4, j4) under a starting orientation. kLookupIJ is the
// inverse: kLookupIJ[(pos8 << 2) | orientation] = (i4 << 6) | (j4 << 2) | orientation after.
struct HilbertTables {
  std::array<uint16_t, 1 << (2 * kLookupBits + 2)> pos;
  std::array<uint16_t, 1 << (2 * kLookupBits + 2)> ij;
};

inline constexpr HilbertTables kHilbert = [] {
  HilbertTables t{};
  for (int start = 0; start < 4; ++start) {
    for (int pos = 0; pos < (1 << (2 * kLookupBits)); ++pos) {
      int orientation = start;
      int i = 0;
      int j = 0;
      // Walk down four levels, the most significant pair of position bits first.
      for (int level = kLookupBits - 1; level >= 0; --level) {
        const int digit = (pos >> (2 * level)) & 3;
        const int ij = kPosToIJ[orientation][digit];
        i = (i << 1) | (ij >> 1);
        j = (j << 1) | (ij & 1);
        orientation ^= kPosToOrientation[digit];
      }
      const int ij_key = (i << kLookupBits) | j;
      t.pos[static_cast<size_t>((ij_key << 2) | start)] =
          static_cast<uint16_t>((pos << 2) | orientation);
      t.ij[static_cast<size_t>((pos << 2) | start)] =
          static_cast<uint16_t>((ij_key << 2) | orientation);
    }
  }
  return t;
}();

}  // namespace keel::geo::internal

#endif  // KEEL_SRC_GEO_CUBE_FACE_H_
