// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// CellId: Google S2's hierarchical cells on the sphere, as 64-bit integers bit-identical to
// S2CellId.
//
// S2 (Eric Veach et al., https://s2geometry.io; the geometry is described on "S2 Cells" and "S2
// Cell Hierarchy") projects the sphere onto the six faces of a cube, warps each face with a
// quadratic transform so that cells come out nearly equal in area, and divides each face
// recursively into four, 30 times. The cells of each level are numbered along a Hilbert curve,
// so that cells close on the curve are close on the sphere, and a cell's descendants form one
// contiguous range of ids: "which points are in this cell" becomes a range scan over sorted ids.
// That is the proximity-service design's "S2" option.
//
// The 64-bit id of a cell at level L (0 = a whole face, 30 = a leaf about 1 cm across):
//
//   bits 63..61   face (0-5)
//   bits 60..1    the Hilbert position: 2 bits per level, levels 1..L, then a 1, then zeros
//   bit  0        (part of the position; the lowest set bit of the id marks the level)
//
//        face |  level 1  |  level 2  | ... |  level L  | 1 | 0 ... 0
//       3 bits|  2 bits   |  2 bits   |     |  2 bits   |   |  2(30-L) bits
//
// So a leaf's id is odd; a level-L id has its lowest set bit at position 2(30 - L); the cells
// inside a cell are exactly the ids between its range_min() and range_max().
//
// keel computes every id the way S2 does, operation for operation (the point's unit vector, the
// face, the (u, v) face coordinates, the quadratic (s, t) warp, rounding to the 2^30 x 2^30 leaf
// grid, the Hilbert-curve lookup tables), so ids, tokens and neighbours are equal to libs2's at
// every level, including points on face edges, cube corners, the poles and longitude +-180; the
// tests compare them against libs2 on millions of points.
//
// Example:
//
//   const auto cell = keel::geo::CellId::FromLatLng(keel::geo::LatLng::FromDegrees(40.7, -74.0));
//   cell.level();                        // 30
//   keel::geo::CellId block = cell.parent(13);  // about 1.2 km across
//   block.ToToken();                     // "89c25a4"
//   block.contains(cell);                // true: cell.id() is in [range_min, range_max]
//   auto back = keel::geo::CellId::FromToken("89c25a4");  // absl::StatusOr<CellId>
//
// Value type: 8 bytes, trivially copyable; every method is const and none allocates except the
// ones returning strings or filling vectors.
#ifndef KEEL_GEO_CELL_ID_H_
#define KEEL_GEO_CELL_ID_H_

#include <array>
#include <bit>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "keel/base/assert.h"
#include "keel/geo/lat_lng.h"
#include "keel/geo/lat_lng_rect.h"

namespace keel::geo {

class CellId {
 public:
  static constexpr int kNumFaces = 6;
  static constexpr int kMaxLevel = 30;
  static constexpr int kPosBits = 2 * kMaxLevel + 1;  // 61
  static constexpr int kMaxSize = 1 << kMaxLevel;     // leaf cells along a face edge

  // The invalid id 0 ("none").
  constexpr CellId() = default;
  explicit constexpr CellId(uint64_t id) : id_(id) {}

  [[nodiscard]] static constexpr CellId None() { return CellId(); }

  // The leaf cell (level 30) containing `p`. An invalid LatLng (is_valid() false) gives None().
  [[nodiscard]] static CellId FromLatLng(LatLng p);

  // The leaf cell containing the direction `p` (need not be unit length; must not be zero).
  [[nodiscard]] static CellId FromPoint(const Point3& p);

  // The cell of a whole cube face. REQUIRES: 0 <= face < 6.
  [[nodiscard]] static constexpr CellId FromFace(int face);

  // The leaf cell at (i, j) of the 2^30 x 2^30 grid of `face`.
  // REQUIRES: 0 <= face < 6; 0 <= i, j < kMaxSize.
  [[nodiscard]] static CellId FromFaceIJ(int face, int i, int j);

  // Parses S2's token form (see ToToken). Upper-case hex is accepted, as S2 accepts it. Errors
  // (kInvalidArgument): empty, longer than 16 characters, a character that is not hex, or a
  // token that names no valid cell ("X", S2's token for None(), included).
  [[nodiscard]] static absl::StatusOr<CellId> FromToken(std::string_view token);

  // The first and one-past-the-last cell of `level` in Hilbert order over all faces, for loops
  // like `for (CellId c = CellId::Begin(L); c != CellId::End(L); c = c.next())`.
  // REQUIRES: 0 <= level <= 30.
  [[nodiscard]] static constexpr CellId Begin(int level);
  [[nodiscard]] static constexpr CellId End(int level);

  [[nodiscard]] constexpr uint64_t id() const { return id_; }

  // True for the ids of real cells: face < 6 and the lowest set bit at an even position.
  [[nodiscard]] constexpr bool is_valid() const {
    return face() < kNumFaces && (lsb() & 0x1555555555555555u) != 0;
  }

  // The following REQUIRE is_valid().
  [[nodiscard]] constexpr int face() const { return static_cast<int>(id_ >> kPosBits); }
  [[nodiscard]] constexpr uint64_t pos() const { return id_ & (~uint64_t{0} >> 3); }
  [[nodiscard]] constexpr int level() const { return kMaxLevel - (std::countr_zero(id_) >> 1); }
  [[nodiscard]] constexpr bool is_leaf() const { return (id_ & 1) != 0; }
  [[nodiscard]] constexpr bool is_face() const { return (id_ & (LsbForLevel(0) - 1)) == 0; }

  // The lowest set bit: what distinguishes a cell's level.
  [[nodiscard]] constexpr uint64_t lsb() const { return id_ & (~id_ + 1); }
  [[nodiscard]] static constexpr uint64_t LsbForLevel(int level) {
    return uint64_t{1} << (2 * (kMaxLevel - level));
  }

  // The edge length of this cell in leaf cells (2^(30 - level)).
  [[nodiscard]] static constexpr int SizeIJ(int level) { return 1 << (kMaxLevel - level); }

  // The ancestor at `level`. REQUIRES: 0 <= level <= this->level().
  [[nodiscard]] constexpr CellId parent(int level) const;
  // The immediate parent. REQUIRES: !is_face().
  [[nodiscard]] constexpr CellId parent() const;
  // The child in Hilbert position k (0-3). REQUIRES: !is_leaf(), 0 <= k < 4.
  [[nodiscard]] constexpr CellId child(int k) const;
  // The first and one-past-the-last child, at the next level or at `level`.
  [[nodiscard]] constexpr CellId child_begin() const;
  [[nodiscard]] constexpr CellId child_end() const;
  [[nodiscard]] constexpr CellId child_begin(int level) const;  // REQUIRES: level >= this->level()
  [[nodiscard]] constexpr CellId child_end(int level) const;    // REQUIRES: level >= this->level()

  // The smallest and largest leaf ids inside this cell.
  [[nodiscard]] constexpr CellId range_min() const { return CellId(id_ - (lsb() - 1)); }
  [[nodiscard]] constexpr CellId range_max() const { return CellId(id_ + (lsb() - 1)); }

  // True when `other` lies inside this cell (or is it).
  [[nodiscard]] constexpr bool contains(CellId other) const {
    return other.id_ >= range_min().id_ && other.id_ <= range_max().id_;
  }
  // True when the two cells share any leaf (one contains the other).
  [[nodiscard]] constexpr bool intersects(CellId other) const {
    return other.range_min().id_ <= range_max().id_ && other.range_max().id_ >= range_min().id_;
  }

  // The next and previous cell of the same level in Hilbert order. Past the last cell of face 5
  // (or before the first of face 0) the result is not a valid cell; End(level) compares equal.
  [[nodiscard]] constexpr CellId next() const { return CellId(id_ + (lsb() << 1)); }
  [[nodiscard]] constexpr CellId prev() const { return CellId(id_ - (lsb() << 1)); }

  // S2's token: the id in lower-case hex without its trailing zeros ("89c25a4"), "X" for None().
  [[nodiscard]] std::string ToToken() const;

  // S2's debug form: the face and the Hilbert digits, "4/0123".
  [[nodiscard]] std::string ToString() const;

  // The four cells of the same level sharing an edge with this one, in the order down, right,
  // up, left of the face's (i, j) grid, as S2CellId::GetEdgeNeighbors.
  [[nodiscard]] std::array<CellId, 4> EdgeNeighbors() const;

  // Appends the cells of `level` that share a vertex with this cell's closest vertex, as
  // S2CellId::AppendVertexNeighbors: 4 cells, or 3 at a cube corner.
  // REQUIRES: level < this->level().
  void AppendVertexNeighbors(int level, std::vector<CellId>* out) const;

  // Appends every cell of `level` that touches this cell (shares an edge or a vertex), as
  // S2CellId::AppendAllNeighbors. A cell coarser than `level` has many; duplicates can occur at
  // cube corners, as in S2. REQUIRES: this->level() <= level <= 30.
  void AppendAllNeighbors(int level, std::vector<CellId>* out) const;

  // The cell's centre, as S2CellId::ToPointRaw (not normalised) and ToLatLng compute it.
  [[nodiscard]] Point3 CenterPoint() const;
  [[nodiscard]] LatLng CenterLatLng() const;

  // Vertex k (0-3) in counter-clockwise order, unit length, as S2Cell::GetVertex.
  [[nodiscard]] Point3 Vertex(int k) const;

  // A latitude/longitude rectangle containing the whole cell: its vertices, the bulge of its
  // edges (great-circle arcs reach further from the equator than their ends), and every
  // longitude when it holds a pole. Widened by about 1e-9 degrees so that rounding never leaves
  // a point of the cell outside; otherwise as tight as S2Cell::GetRectBound.
  [[nodiscard]] LatLngRect LatLngBound() const;

  // The face, and the (i, j) position on it of the cell's lower-left leaf.
  struct FaceIJ {
    int face;
    int i;
    int j;
  };
  [[nodiscard]] FaceIJ ToFaceIJ() const;

  friend constexpr bool operator==(CellId, CellId) = default;
  friend constexpr auto operator<=>(CellId a, CellId b) { return a.id_ <=> b.id_; }

 private:
  uint64_t id_ = 0;
};

// ---------------------------------------------------------------------------------------------
// Implementation details.
// ---------------------------------------------------------------------------------------------

constexpr CellId CellId::FromFace(int face) {
  return CellId((static_cast<uint64_t>(face) << kPosBits) + LsbForLevel(0));
}

constexpr CellId CellId::Begin(int level) { return FromFace(0).child_begin(level); }
constexpr CellId CellId::End(int level) { return FromFace(5).child_end(level); }

// Levels outside [0, 30] would shift by a negative amount, so they are checked in every build;
// the cheaper "is this cell fine enough" preconditions only in debug builds.
constexpr CellId CellId::parent(int level) const {
  KEEL_ASSERT(level >= 0 && level <= kMaxLevel, "parent(", level, ")");
  KEEL_DCHECK(level <= this->level(), "parent(", level, ") of a level ", this->level(), " cell");
  const uint64_t new_lsb = LsbForLevel(level);
  return CellId((id_ & (~new_lsb + 1)) | new_lsb);
}

constexpr CellId CellId::parent() const {
  const uint64_t new_lsb = lsb() << 2;
  return CellId((id_ & (~new_lsb + 1)) | new_lsb);
}

constexpr CellId CellId::child(int k) const {
  KEEL_DCHECK(!is_leaf() && k >= 0 && k < 4);
  const uint64_t new_lsb = lsb() >> 2;
  return CellId(id_ + (2 * static_cast<uint64_t>(k) + 1) * new_lsb - 4 * new_lsb);
}

constexpr CellId CellId::child_begin() const {
  const uint64_t old_lsb = lsb();
  return CellId(id_ - old_lsb + (old_lsb >> 2));
}

constexpr CellId CellId::child_end() const {
  const uint64_t old_lsb = lsb();
  return CellId(id_ + old_lsb + (old_lsb >> 2));
}

constexpr CellId CellId::child_begin(int level) const {
  KEEL_ASSERT(level >= 0 && level <= kMaxLevel, "child_begin(", level, ")");
  KEEL_DCHECK(level >= this->level());
  return CellId(id_ - lsb() + LsbForLevel(level));
}

constexpr CellId CellId::child_end(int level) const {
  KEEL_ASSERT(level >= 0 && level <= kMaxLevel, "child_end(", level, ")");
  KEEL_DCHECK(level >= this->level());
  return CellId(id_ + lsb() + LsbForLevel(level));
}

}  // namespace keel::geo

#endif  // KEEL_GEO_CELL_ID_H_
