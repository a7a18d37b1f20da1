// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// CoverCap: S2RegionCoverer's algorithm for a spherical cap. See keel/geo/cell_covering.h.
#include "keel/geo/cell_covering.h"

#include <algorithm>
#include <bit>
#include <cfloat>
#include <cmath>
#include <cstdint>
#include <numbers>
#include <queue>

#include "cube_face.h"
#include "keel/base/status.h"
#include "keel/base/strings.h"

namespace keel::geo {
namespace {

double Dot(const Point3& a, const Point3& b) { return a.x * b.x + a.y * b.y + a.z * b.z; }

Point3 Cross(const Point3& a, const Point3& b) {
  return {a.y * b.z - a.z * b.y, a.z * b.x - a.x * b.z, a.x * b.y - a.y * b.x};
}

Point3 Negated(const Point3& p) { return {-p.x, -p.y, -p.z}; }

// As S2's Vector3::Normalize: multiply by the reciprocal of the norm.
Point3 Normalized(const Point3& p) {
  const double norm = std::sqrt(p.x * p.x + p.y * p.y + p.z * p.z);
  if (norm == 0) return p;
  const double scale = 1.0 / norm;
  return {p.x * scale, p.y * scale, p.z * scale};
}

// A spherical cap: the points whose squared chord to `center` is at most `chord2`. A negative
// chord2 is the empty cap, 4 the whole sphere (as S2Cap with an S1ChordAngle radius).
struct Cap {
  Point3 center;
  double chord2;

  bool Contains(const Point3& p) const {
    return std::min(4.0, ChordDistance2(center, p)) <= chord2;
  }

  // S2's S1ChordAngle subtraction, for the complement's radius (pi minus this radius).
  Cap Complement() const {
    double radius2;
    if (chord2 >= 4) {
      radius2 = -1;  // the complement of the full cap is empty
    } else {
      const double a2 = 4;
      const double b2 = chord2;
      if (b2 <= 0) {
        radius2 = b2 == 0 ? a2 : 4;  // the complement of a point (or of nothing) is everything
      } else {
        const double x = a2 * (1 - 0.25 * b2);
        const double y = b2 * (1 - 0.25 * a2);
        radius2 = std::max(0.0, x + y - 2 * std::sqrt(x * y));
      }
    }
    return {Negated(center), radius2};
  }
};

// What the intersection tests need of a cell: its face, (u, v) bounds and vertices.
struct CellGeometry {
  CellId id;
  int face;
  int level;
  double u_lo, u_hi, v_lo, v_hi;
  Point3 vertex[4];

  explicit CellGeometry(CellId cell) : id(cell), face(0), level(cell.level()) {
    const CellId::FaceIJ f = cell.ToFaceIJ();
    face = f.face;
    const int size = CellId::SizeIJ(level);
    u_lo = internal::STToUV(internal::IJToSTMin(f.i));
    u_hi = internal::STToUV(internal::IJToSTMin(f.i + size));
    v_lo = internal::STToUV(internal::IJToSTMin(f.j));
    v_hi = internal::STToUV(internal::IJToSTMin(f.j + size));
    // Counter-clockwise from (u_lo, v_lo), unit length: CellId::Vertex without decoding the id
    // four more times.
    vertex[0] = Normalized(internal::FaceUVToXYZ(face, u_lo, v_lo));
    vertex[1] = Normalized(internal::FaceUVToXYZ(face, u_hi, v_lo));
    vertex[2] = Normalized(internal::FaceUVToXYZ(face, u_hi, v_hi));
    vertex[3] = Normalized(internal::FaceUVToXYZ(face, u_lo, v_hi));
  }

  // The inward normal of edge k (bottom, right, top, left), as S2Cell::GetEdgeRaw.
  Point3 Edge(int k) const {
    switch (k) {
      case 0:
        return internal::VNormal(face, v_lo);
      case 1:
        return internal::UNormal(face, u_hi);
      case 2:
        return Negated(internal::VNormal(face, v_hi));
      default:
        return Negated(internal::UNormal(face, u_lo));
    }
  }

  // S2Cell::Contains(S2Point): the bounds are widened by an ulp so that every point is in the
  // cell that FromPoint assigns it.
  bool Contains(const Point3& p) const {
    const double axis = face == 0 || face == 3 ? p.x : face == 1 || face == 4 ? p.y : p.z;
    if (face < 3 ? !(axis > 0) : !(axis < 0)) return false;
    double u;
    double v;
    internal::FaceXYZToUV(face, p, &u, &v);
    return u >= u_lo - DBL_EPSILON && u <= u_hi + DBL_EPSILON && v >= v_lo - DBL_EPSILON &&
           v <= v_hi + DBL_EPSILON;
  }
};

// Whether the cap holds a point of the cell other than its vertices (checked already).
bool IntersectsBeyondVertices(const Cap& cap, const CellGeometry& cell) {
  // For a cap of a hemisphere or more, the cell and the cap's complement are both convex, so
  // with no vertex inside the cap, no other point of the cell is either.
  if (cap.chord2 >= 2) return false;
  if (cap.chord2 < 0) return false;
  if (cell.Contains(cap.center)) return true;
  // Otherwise the cap can only reach into the cell across the interior of an edge.
  const double sin2_angle = cap.chord2 * (1 - 0.25 * cap.chord2);
  for (int k = 0; k < 4; ++k) {
    const Point3 edge = cell.Edge(k);
    const double dot = Dot(cap.center, edge);
    // The centre is on the inner side of this edge; if the cap crosses this edge it also
    // crosses the opposite one, which is checked instead.
    if (dot > 0) continue;
    // The whole cap is outside this edge's great circle.
    if (dot * dot > sin2_angle * Dot(edge, edge)) return false;
    // The great circle passes through the cap: does its closest approach to the centre fall
    // between the edge's two vertices?
    const Point3 dir = Cross(edge, cap.center);
    if (Dot(dir, cell.vertex[k]) < 0 && Dot(dir, cell.vertex[(k + 1) & 3]) > 0) return true;
  }
  return false;
}

bool MayIntersect(const Cap& cap, const CellGeometry& cell) {
  for (const Point3& v : cell.vertex) {
    if (cap.Contains(v)) return true;
  }
  return IntersectsBeyondVertices(cap, cell);
}

bool ContainsCell(const Cap& cap, const CellGeometry& cell) {
  for (const Point3& v : cell.vertex) {
    if (!cap.Contains(v)) return false;
  }
  return !IntersectsBeyondVertices(cap.Complement(), cell);
}

// The finest level at which two cells have a common ancestor, or -1 on different faces.
int CommonAncestorLevel(CellId a, CellId b) {
  uint64_t bits = a.id() ^ b.id();
  bits = std::max({bits, a.lsb(), b.lsb()});
  if (bits > (uint64_t{1} << CellId::kPosBits) - 1) return -1;
  return (60 - (63 - std::countl_zero(bits))) >> 1;
}

class Coverer {
 public:
  Coverer(const Cap& cap, const CoveringOptions& options) : cap_(cap), options_(options) {}

  std::vector<CellId> Cover() {
    InitialCandidates();
    while (!queue_.empty()) {
      const int index = queue_.top().candidate;
      queue_.pop();
      Candidate& c = candidates_[static_cast<size_t>(index)];
      const int first = c.first_child;
      const int children = c.num_children;
      if (c.level < options_.min_level || children == 1 ||
          result_.size() + queue_.size() + static_cast<size_t>(children) <=
              static_cast<size_t>(options_.max_cells)) {
        for (int kid = first; kid < first + children; ++kid) AddCandidate(kid);
      } else {
        c.is_terminal = true;
        AddCandidate(index);
      }
    }
    Normalize(&result_);
    return result_;
  }

 private:
  struct Candidate {
    CellId id;
    int level;
    bool is_terminal;
    // A candidate's children are created together, so they are the consecutive candidates
    // first_child .. first_child + num_children - 1.
    int first_child;
    int num_children;
  };

  struct Queued {
    int priority;
    int sequence;  // earlier candidates first among equal priorities, for determinism
    int candidate;
    bool operator<(const Queued& other) const {
      return priority != other.priority ? priority < other.priority : sequence > other.sequence;
    }
  };

  int max_children_shift() const { return 2 * options_.level_mod; }

  // The level at which `level` is allowed, rounding down to min_level + k * level_mod.
  int AdjustLevel(int level) const {
    if (options_.level_mod > 1 && level > options_.min_level) {
      level -= (level - options_.min_level) % options_.level_mod;
    }
    return level;
  }

  // Returns the index of a new candidate for `cell`, or -1 if the cap misses it.
  int NewCandidate(CellId cell) {
    const CellGeometry geometry(cell);
    if (!MayIntersect(cap_, geometry)) return -1;
    bool is_terminal = false;
    if (geometry.level >= options_.min_level) {
      is_terminal =
          geometry.level + options_.level_mod > options_.max_level || ContainsCell(cap_, geometry);
    }
    candidates_.push_back({cell, geometry.level, is_terminal, 0, 0});
    return static_cast<int>(candidates_.size()) - 1;
  }

  // Gives candidate `index` its children `levels` levels down; returns how many are terminal.
  int ExpandChildren(int index, CellId cell, int levels) {
    --levels;
    int terminals = 0;
    for (CellId child = cell.child_begin(); child != cell.child_end(); child = child.next()) {
      if (levels > 0) {
        if (MayIntersect(cap_, CellGeometry(child))) {
          terminals += ExpandChildren(index, child, levels);
        }
        continue;
      }
      const int kid = NewCandidate(child);
      if (kid >= 0) {
        Candidate& parent = candidates_[static_cast<size_t>(index)];
        if (parent.num_children == 0) parent.first_child = kid;
        ++parent.num_children;
        if (candidates_[static_cast<size_t>(kid)].is_terminal) ++terminals;
      }
    }
    return terminals;
  }

  void AddCandidate(int index) {
    if (index < 0) return;
    if (candidates_[static_cast<size_t>(index)].is_terminal) {
      result_.push_back(candidates_[static_cast<size_t>(index)].id);
      return;
    }
    const CellId cell = candidates_[static_cast<size_t>(index)].id;
    const int level = candidates_[static_cast<size_t>(index)].level;
    // One level at a time below min_level, so that min_level is never skipped.
    const int levels = level < options_.min_level ? 1 : options_.level_mod;
    const int terminals = ExpandChildren(index, cell, levels);
    Candidate& c = candidates_[static_cast<size_t>(index)];
    const int children = c.num_children;
    if (children == 0) return;
    if (terminals == (1 << max_children_shift()) && level >= options_.min_level) {
      // Every child is terminal: the parent covers the same and counts as one cell.
      c.is_terminal = true;
      result_.push_back(c.id);
      return;
    }
    // Split the largest cells first; among equals, those with fewer children, then fewer
    // terminal children.
    const int priority =
        -((((level << max_children_shift()) + children) << max_children_shift()) + terminals);
    queue_.push({priority, sequence_++, index});
  }

  // S2RegionCoverer's start: S2Cap::GetCellUnionBound, the (usually 4) cells around the vertex
  // nearest the centre, at the finest level whose cells are all at least as wide as the cap's
  // radius (so that the cap holds at most one cell vertex), canonicalised for these options.
  void InitialCandidates() {
    CoveringOptions small = options_;
    small.min_level = 0;
    small.level_mod = 1;
    small.max_cells = std::min(4, options_.max_cells);
    std::vector<CellId> cells;
    const double angle = 2 * std::asin(std::min(1.0, 0.5 * std::sqrt(std::max(0.0, cap_.chord2))));
    // kMinWidth.GetLevelForMinValue(angle) - 1, with kMinWidth's derivative 2 sqrt(2) / 3 for the
    // quadratic projection.
    int level = CellId::kMaxLevel;
    if (angle > 0) {
      constexpr double kMinWidthDeriv = 2 * std::numbers::sqrt2 / 3;
      level = std::max(0, std::min(CellId::kMaxLevel, std::ilogb(kMinWidthDeriv / angle)));
    }
    --level;
    if (level < 0) {
      for (int face = 0; face < CellId::kNumFaces; ++face) cells.push_back(CellId::FromFace(face));
    } else {
      CellId::FromPoint(cap_.center).AppendVertexNeighbors(level, &cells);
    }
    Coverer(cap_, small).Normalize(&cells);
    AdjustCellLevels(&cells);
    for (const CellId cell : cells) AddCandidate(NewCandidate(cell));
  }

  // Moves sorted cells up to levels on the level_mod grid, dropping any that become covered.
  void AdjustCellLevels(std::vector<CellId>* cells) const {
    if (options_.level_mod == 1) return;
    std::vector<CellId> out;
    for (CellId id : *cells) {
      const int adjusted = AdjustLevel(id.level());
      if (adjusted != id.level()) id = id.parent(adjusted);
      if (!out.empty() && out.back().contains(id)) continue;
      while (!out.empty() && id.contains(out.back())) out.pop_back();
      out.push_back(id);
    }
    *cells = std::move(out);
  }

  // Sorts, drops cells inside others, and merges four siblings into their parent, repeatedly.
  static void NormalizeUnion(std::vector<CellId>* cells) {
    std::sort(cells->begin(), cells->end());
    std::vector<CellId> out;
    out.reserve(cells->size());
    for (CellId id : *cells) {
      if (!out.empty() && out.back().contains(id)) continue;
      while (!out.empty() && id.contains(out.back())) out.pop_back();
      // While the last three cells and this one are the four children of a parent, take the
      // parent instead (S2CellUnion::Normalize's test, on the ids' bits).
      while (out.size() >= 3) {
        const size_t n = out.size();
        if ((out[n - 3].id() ^ out[n - 2].id() ^ out[n - 1].id()) != id.id()) break;
        const uint64_t mask = id.lsb() << 1;
        const uint64_t base = ~(mask + (mask << 1));
        const uint64_t id_masked = id.id() & base;
        if ((out[n - 3].id() & base) != id_masked || (out[n - 2].id() & base) != id_masked ||
            (out[n - 1].id() & base) != id_masked || id.is_face()) {
          break;
        }
        out.resize(n - 3);
        id = id.parent();
      }
      out.push_back(id);
    }
    *cells = std::move(out);
  }

  void Normalize(std::vector<CellId>* cells) const {
    if (options_.max_level < CellId::kMaxLevel || options_.level_mod > 1) {
      for (CellId& id : *cells) {
        const int level = id.level();
        const int adjusted = AdjustLevel(std::min(level, options_.max_level));
        if (adjusted != level) id = id.parent(adjusted);
      }
    }
    NormalizeUnion(cells);
    if (options_.min_level > 0 || options_.level_mod > 1) Denormalize(cells);
    // Too many cells: merge the two adjacent cells with the finest common ancestor, and so on.
    while (cells->size() > static_cast<size_t>(options_.max_cells)) {
      int best_index = -1;
      int best_level = -1;
      for (size_t i = 0; i + 1 < cells->size(); ++i) {
        const int level = AdjustLevel(CommonAncestorLevel((*cells)[i], (*cells)[i + 1]));
        if (level > best_level) {
          best_level = level;
          best_index = static_cast<int>(i);
        }
      }
      if (best_level < options_.min_level) break;
      CellId ancestor = (*cells)[static_cast<size_t>(best_index)].parent(best_level);
      ReplaceWithAncestor(cells, ancestor);
      // The merge may complete a parent's set of children: keep merging upward while it does.
      while (best_level > options_.min_level) {
        best_level -= options_.level_mod;
        ancestor = ancestor.parent(best_level);
        if (!ContainsAllChildren(*cells, ancestor)) break;
        ReplaceWithAncestor(cells, ancestor);
      }
    }
  }

  // Replaces each cell coarser than min_level or off the level_mod grid by its descendants.
  void Denormalize(std::vector<CellId>* cells) const {
    std::vector<CellId> out;
    for (const CellId id : *cells) {
      const int level = id.level();
      int new_level = std::max(options_.min_level, level);
      if (options_.level_mod > 1) {
        new_level += (CellId::kMaxLevel - (new_level - options_.min_level)) % options_.level_mod;
        new_level = std::min(CellId::kMaxLevel, new_level);
      }
      if (new_level == level) {
        out.push_back(id);
      } else {
        const CellId end = id.child_end(new_level);
        for (CellId c = id.child_begin(new_level); c != end; c = c.next()) out.push_back(c);
      }
    }
    *cells = std::move(out);
  }

  static void ReplaceWithAncestor(std::vector<CellId>* cells, CellId ancestor) {
    const auto begin = std::lower_bound(cells->begin(), cells->end(), ancestor.range_min());
    const auto end = std::upper_bound(cells->begin(), cells->end(), ancestor.range_max());
    *cells->erase(begin, end - 1) = ancestor;
  }

  bool ContainsAllChildren(const std::vector<CellId>& cells, CellId ancestor) const {
    auto it = std::lower_bound(cells.begin(), cells.end(), ancestor.range_min());
    const int level = ancestor.level() + options_.level_mod;
    for (CellId child = ancestor.child_begin(level); child != ancestor.child_end(level);
         child = child.next(), ++it) {
      if (it == cells.end() || *it != child) return false;
    }
    return true;
  }

  Cap cap_;
  CoveringOptions options_;
  std::vector<Candidate> candidates_;
  std::priority_queue<Queued> queue_;
  int sequence_ = 0;
  std::vector<CellId> result_;
};

absl::Status CheckOptions(const CoveringOptions& o) {
  if (o.min_level < 0 || o.max_level > CellId::kMaxLevel || o.min_level > o.max_level) {
    return absl::InvalidArgumentError(base::Cat("covering levels [", o.min_level, ", ", o.max_level,
                                                "] are not within [0, 30] in order"));
  }
  if (o.max_cells < 1) {
    return absl::InvalidArgumentError(base::Cat("max_cells ", o.max_cells, " must be at least 1"));
  }
  if (o.level_mod < 1 || o.level_mod > 3) {
    return absl::InvalidArgumentError(base::Cat("level_mod ", o.level_mod, " is not 1, 2 or 3"));
  }
  return absl::OkStatus();
}

}  // namespace

bool CapMayIntersectCell(const Point3& center, double chord2, CellId cell) {
  return MayIntersect(Cap{center, chord2}, CellGeometry(cell));
}

absl::StatusOr<std::vector<CellId>> CoverCapChord(const Point3& center, double chord2,
                                                  const CoveringOptions& options) {
  KEEL_RETURN_IF_ERROR(CheckOptions(options));
  if (!(chord2 >= 0 && chord2 <= 4)) {
    return absl::InvalidArgumentError(base::Cat("squared chord ", chord2, " is outside [0, 4]"));
  }
  const double norm2 = Dot(center, center);
  if (!(std::abs(norm2 - 1) < 1e-12)) {
    return absl::InvalidArgumentError(base::Cat("cap centre (", center.x, ", ", center.y, ", ",
                                                center.z, ") is not a unit vector"));
  }
  // min_level wins over max_cells, so a large cap at a fine min_level could ask for billions of
  // cells. The cap covers chord2 / 4 of the sphere, which has 6 * 4^level cells at a level; the
  // cells crossing its edge at most double that.
  const double estimate = 2 * 6 * std::ldexp(1.0, 2 * options.min_level) * (chord2 / 4) + 64;
  if (estimate > kMaxCoveringCells) {
    return absl::ResourceExhaustedError(
        base::Cat("covering a cap of squared chord ", chord2, " at min_level ", options.min_level,
                  " needs about ", estimate, " cells, more than the limit of ", kMaxCoveringCells));
  }
  return Coverer(Cap{center, chord2}, options).Cover();
}

absl::StatusOr<std::vector<CellId>> CoverCap(LatLng center, double radius_m,
                                             const CoveringOptions& options) {
  if (!center.is_valid()) {
    return absl::InvalidArgumentError(
        base::Cat("cap centre ", center.ToString(), " is not a valid point"));
  }
  KEEL_RETURN_IF_ERROR(CheckRadius(radius_m));
  return CoverCapChord(center.ToPoint(), MetersToChordDistance2(radius_m), options);
}

}  // namespace keel::geo
