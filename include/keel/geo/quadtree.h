// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// Quadtree: the proximity-service design's option 4, an adaptive region quadtree over latitude
// and longitude (R. A. Finkel and J. L. Bentley, "Quad Trees: A Data Structure for Retrieval on
// Composite Keys", Acta Informatica 1974; H. Samet, "The Quadtree and Related Hierarchical Data
// Structures", ACM Computing Surveys 1984).
//
// The root is the whole latitude/longitude rectangle. A leaf holds at most `leaf_capacity` points
// (the book uses 100); when an insert takes it over, it splits into four quadrants at its centre,
// so the tree is deep where points are dense (a city) and shallow where they are sparse (an
// ocean): the grid's problem solved. Erasing points merges a subtree back into a leaf once it
// holds half a leaf's worth or less. Many points at one spot can never be separated by splitting,
// so a leaf whose points are all identical, or at `max_depth`, simply grows past the capacity.
//
// Each quadrant keeps a box in (x, y, z) around its unit vectors; the squared distance from the
// query point to that box bounds the squared chord to anything inside. A radius search descends,
// level by level, into the quadrants whose box comes within the circle. A k-nearest search is
// best-first (G. R. Hjaltason and H. Samet, "Distance Browsing in Spatial Databases", ACM TODS
// 1999): quadrants are visited in order of that lower bound, and the search stops when the next
// one is surely farther than the k-th point found.
//
// Example:
//
//   auto tree = keel::geo::Quadtree::Create({.leaf_capacity = 100});
//   (void)(*tree)->Insert(7, keel::geo::LatLng::FromDegrees(40.7484, -73.9857));
//   (void)(*tree)->Move(7, keel::geo::LatLng::FromDegrees(40.7580, -73.9855));
#ifndef KEEL_GEO_QUADTREE_H_
#define KEEL_GEO_QUADTREE_H_

#include <cstdint>
#include <memory>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "keel/base/counting_allocator.h"
#include "keel/base/hash.h"
#include "keel/geo/internal/box3.h"
#include "keel/geo/spatial_index.h"

namespace keel::geo {

class Quadtree final : public SpatialIndex {
 public:
  struct Options {
    // Points a leaf holds before it splits: 1 or more.
    int leaf_capacity = 100;
    // Leaves at this depth never split (depth 30 quadrants are about 2 cm tall): 1 to 40.
    int max_depth = 30;
  };

  // Errors (kInvalidArgument): options out of range.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<Quadtree>> Create(const Options& options);

  Quadtree() : Quadtree(Options{}) {}
  Quadtree(const Quadtree&) = delete;
  Quadtree& operator=(const Quadtree&) = delete;

  [[nodiscard]] std::string_view kind() const override { return "quadtree"; }
  [[nodiscard]] absl::Status Build(std::span<const IndexedPoint> points) override;
  [[nodiscard]] absl::Status Insert(PointId id, LatLng location) override;
  [[nodiscard]] absl::Status Erase(PointId id) override;
  // Moves within one leaf update the point in place; otherwise erase and insert.
  [[nodiscard]] absl::Status Move(PointId id, LatLng location) override;
  [[nodiscard]] absl::StatusOr<LatLng> Find(PointId id) const override;
  [[nodiscard]] size_t size() const override { return locations_.size(); }
  [[nodiscard]] size_t MemoryBytes() const override;
  [[nodiscard]] absl::Status SearchRadius(LatLng center, double radius_m,
                                          std::vector<Neighbor>* out,
                                          QueryStats* stats = nullptr) const override;
  [[nodiscard]] absl::Status Nearest(LatLng center, size_t k, std::vector<Neighbor>* out,
                                     QueryStats* stats = nullptr) const override;

  [[nodiscard]] const Options& options() const { return options_; }

  // The shape of the tree, for tests and for the proximity-service comparison.
  struct Shape {
    size_t nodes = 0;
    size_t leaves = 0;
    int depth = 0;            // of the deepest leaf
    size_t largest_leaf = 0;  // points in the fullest leaf
  };
  [[nodiscard]] Shape shape() const;

 private:
  explicit Quadtree(const Options& options);

  struct Entry {
    Point3 p;
    PointId id;
  };
  template <typename T>
  using Vector = std::vector<T, base::CountingAllocator<T>>;

  // What a search reads comes first, so that testing a node and, for a leaf, finding its points
  // touches one cache line: queries on a large tree are bound by cache misses, not arithmetic.
  struct alignas(64) Node {
    explicit Node(base::MemoryCounter* memory) : points(base::CountingAllocator<Entry>(memory)) {}
    internal::Box3 box = internal::Box3::Around(-90, 90, -180, 180);  // around the quadrant
    int32_t first_child = -1;  // the four children are first_child .. first_child + 3; -1: a leaf
    uint32_t count = 0;        // points in this subtree (for a leaf: points.size())
    Vector<Entry> points;      // a leaf's points
    double lat_lo = -90, lat_hi = 90, lng_lo = -180, lng_hi = 180;
    int32_t depth = 0;
    size_t next_split_check = 0;  // a leaf of identical points tries to split again at this size
  };

  [[nodiscard]] bool is_leaf(int32_t node) const;
  [[nodiscard]] int32_t ChildFor(int32_t node, LatLng location) const;
  [[nodiscard]] int32_t LeafFor(LatLng location) const;
  int32_t NewChildren(int32_t parent);
  void SplitIfNeeded(int32_t node);
  void Collapse(int32_t node);
  void FreeChildren(int32_t node);
  void BuildNode(int32_t node, std::vector<IndexedPoint>& points, size_t begin, size_t end);
  void AddToLeaf(int32_t leaf, PointId id, LatLng location);

  Options options_;
  base::MemoryCounter memory_;
  Vector<Node> nodes_;           // nodes_[0] is the root
  Vector<int32_t> free_blocks_;  // first indexes of unused blocks of four nodes
  absl::flat_hash_map<PointId, LatLng, base::Hasher, std::equal_to<PointId>,
                      base::CountingAllocator<std::pair<const PointId, LatLng>>>
      locations_;
};

}  // namespace keel::geo

#endif  // KEEL_GEO_QUADTREE_H_
