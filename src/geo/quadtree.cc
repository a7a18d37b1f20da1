// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "keel/geo/quadtree.h"

#include <algorithm>
#include <queue>

#include "absl/container/inlined_vector.h"
#include "keel/base/status.h"
#include "keel/base/strings.h"
#include "keel/geo/lat_lng_rect.h"
#include "search.h"

namespace keel::geo {
namespace {

// Leaves at or below this many points (a half-full leaf) are merged back into their parent when
// points are erased; the gap to leaf_capacity keeps a point moving back and forth across a
// quadrant boundary from splitting and merging every time.
uint32_t MergeThreshold(int leaf_capacity) { return static_cast<uint32_t>(leaf_capacity) / 2; }

}  // namespace

absl::StatusOr<std::unique_ptr<Quadtree>> Quadtree::Create(const Options& options) {
  if (options.leaf_capacity < 1 || options.leaf_capacity > (1 << 20)) {
    return absl::InvalidArgumentError(
        base::Cat("quadtree leaf_capacity ", options.leaf_capacity, " is outside [1, 1048576]"));
  }
  if (options.max_depth < 1 || options.max_depth > 40) {
    return absl::InvalidArgumentError(
        base::Cat("quadtree max_depth ", options.max_depth, " is outside [1, 40]"));
  }
  return std::unique_ptr<Quadtree>(new Quadtree(options));
}

Quadtree::Quadtree(const Options& options)
    : options_(options),
      nodes_(base::CountingAllocator<Node>(&memory_)),
      free_blocks_(base::CountingAllocator<int32_t>(&memory_)),
      locations_(0, base::Hasher(), std::equal_to<PointId>(),
                 base::CountingAllocator<std::pair<const PointId, LatLng>>(&memory_)) {
  KEEL_ASSERT(options.leaf_capacity >= 1 && options.max_depth >= 1 && options.max_depth <= 40);
  nodes_.emplace_back(&memory_);
}

bool Quadtree::is_leaf(int32_t node) const {
  return nodes_[static_cast<size_t>(node)].first_child < 0;
}

// Quadrants are numbered SW, SE, NW, NE; each is closed below and open above, like geohash cells.
int32_t Quadtree::ChildFor(int32_t node, LatLng location) const {
  const Node& n = nodes_[static_cast<size_t>(node)];
  const double mid_lat = (n.lat_lo + n.lat_hi) / 2;
  const double mid_lng = (n.lng_lo + n.lng_hi) / 2;
  const int quadrant =
      (location.lat_degrees() >= mid_lat ? 2 : 0) + (location.lng_degrees() >= mid_lng ? 1 : 0);
  return n.first_child + quadrant;
}

int32_t Quadtree::LeafFor(LatLng location) const {
  int32_t node = 0;
  while (!is_leaf(node)) node = ChildFor(node, location);
  return node;
}

int32_t Quadtree::NewChildren(int32_t parent) {
  int32_t first;
  if (!free_blocks_.empty()) {
    first = free_blocks_.back();
    free_blocks_.pop_back();
  } else {
    first = static_cast<int32_t>(nodes_.size());
    for (int k = 0; k < 4; ++k) nodes_.emplace_back(&memory_);
  }
  const Node& p = nodes_[static_cast<size_t>(parent)];
  const double mid_lat = (p.lat_lo + p.lat_hi) / 2;
  const double mid_lng = (p.lng_lo + p.lng_hi) / 2;
  const double lat_bounds[2][2] = {{p.lat_lo, mid_lat}, {mid_lat, p.lat_hi}};
  const double lng_bounds[2][2] = {{p.lng_lo, mid_lng}, {mid_lng, p.lng_hi}};
  const int32_t depth = p.depth + 1;
  for (int q = 0; q < 4; ++q) {
    Node& c = nodes_[static_cast<size_t>(first + q)];
    c.lat_lo = lat_bounds[q / 2][0];
    c.lat_hi = lat_bounds[q / 2][1];
    c.lng_lo = lng_bounds[q % 2][0];
    c.lng_hi = lng_bounds[q % 2][1];
    c.box = internal::Box3::Around(c.lat_lo, c.lat_hi, c.lng_lo, c.lng_hi);
    c.first_child = -1;
    c.depth = depth;
    c.count = 0;
    c.next_split_check = 0;
    c.points.clear();
  }
  nodes_[static_cast<size_t>(parent)].first_child = first;
  return first;
}

void Quadtree::SplitIfNeeded(int32_t node) {
  Node& n = nodes_[static_cast<size_t>(node)];
  if (n.points.size() <= static_cast<size_t>(options_.leaf_capacity) ||
      n.points.size() < n.next_split_check || n.depth >= options_.max_depth) {
    return;
  }
  // Points at one spot cannot be told apart by any split: leave them in one oversized leaf, and
  // look again only when it has doubled, so that inserting m identical points costs O(m).
  const LatLng first = locations_.at(n.points.front().id);
  const bool all_same = std::all_of(n.points.begin(), n.points.end(),
                                    [&](const Entry& e) { return locations_.at(e.id) == first; });
  if (all_same) {
    n.next_split_check = 2 * n.points.size();
    return;
  }
  Vector<Entry> entries{base::CountingAllocator<Entry>(&memory_)};
  entries.swap(n.points);
  const int32_t children = NewChildren(node);
  for (const Entry& e : entries) {
    const int32_t child = ChildFor(node, locations_.at(e.id));
    nodes_[static_cast<size_t>(child)].points.push_back(e);
    ++nodes_[static_cast<size_t>(child)].count;
  }
  for (int q = 0; q < 4; ++q) SplitIfNeeded(children + q);
}

void Quadtree::FreeChildren(int32_t node) {
  const int32_t first = nodes_[static_cast<size_t>(node)].first_child;
  if (first < 0) return;
  for (int q = 0; q < 4; ++q) {
    FreeChildren(first + q);
    Node& c = nodes_[static_cast<size_t>(first + q)];
    Vector<Entry>(base::CountingAllocator<Entry>(&memory_)).swap(c.points);  // release memory
    c.count = 0;
  }
  free_blocks_.push_back(first);
  nodes_[static_cast<size_t>(node)].first_child = -1;
}

void Quadtree::Collapse(int32_t node) {
  Vector<Entry> entries{base::CountingAllocator<Entry>(&memory_)};
  entries.reserve(nodes_[static_cast<size_t>(node)].count);
  std::vector<int32_t> stack = {node};
  while (!stack.empty()) {
    const int32_t at = stack.back();
    stack.pop_back();
    const Node& n = nodes_[static_cast<size_t>(at)];
    if (n.first_child < 0) {
      entries.insert(entries.end(), n.points.begin(), n.points.end());
    } else {
      for (int q = 0; q < 4; ++q) stack.push_back(n.first_child + q);
    }
  }
  FreeChildren(node);
  nodes_[static_cast<size_t>(node)].points.swap(entries);
  nodes_[static_cast<size_t>(node)].next_split_check = 0;
}

void Quadtree::AddToLeaf(int32_t leaf, PointId id, LatLng location) {
  nodes_[static_cast<size_t>(leaf)].points.push_back({location.ToPoint(), id});
}

absl::Status Quadtree::Insert(PointId id, LatLng location) {
  KEEL_RETURN_IF_ERROR(internal::CheckLocation(id, location));
  if (!locations_.emplace(id, location).second) return internal::DuplicateId(id);
  int32_t node = 0;
  for (;;) {
    ++nodes_[static_cast<size_t>(node)].count;
    if (is_leaf(node)) break;
    node = ChildFor(node, location);
  }
  AddToLeaf(node, id, location);
  SplitIfNeeded(node);
  return absl::OkStatus();
}

absl::Status Quadtree::Erase(PointId id) {
  const auto it = locations_.find(id);
  if (it == locations_.end()) return internal::UnknownId(id);
  const LatLng location = it->second;
  // Walk down, counting the point out of every node on the way, and remember the shallowest
  // inner node that is now small enough to become a leaf again.
  int32_t node = 0;
  int32_t merge_at = -1;
  for (;;) {
    Node& n = nodes_[static_cast<size_t>(node)];
    --n.count;
    if (n.first_child < 0) break;
    if (merge_at < 0 && n.count <= MergeThreshold(options_.leaf_capacity)) merge_at = node;
    node = ChildFor(node, location);
  }
  Vector<Entry>& points = nodes_[static_cast<size_t>(node)].points;
  const auto entry =
      std::find_if(points.begin(), points.end(), [id](const Entry& e) { return e.id == id; });
  KEEL_ASSERT(entry != points.end(), "point ", id, " is missing from the leaf for its location");
  *entry = points.back();
  points.pop_back();
  locations_.erase(it);
  if (merge_at >= 0) Collapse(merge_at);
  return absl::OkStatus();
}

absl::Status Quadtree::Move(PointId id, LatLng location) {
  KEEL_RETURN_IF_ERROR(internal::CheckLocation(id, location));
  const auto it = locations_.find(id);
  if (it == locations_.end()) return internal::UnknownId(id);
  const int32_t leaf = LeafFor(it->second);
  if (LeafFor(location) == leaf) {
    // The common case for a moving user: still in the same quadrant, nothing to restructure.
    for (Entry& e : nodes_[static_cast<size_t>(leaf)].points) {
      if (e.id == id) e.p = location.ToPoint();
    }
    it->second = location;
    return absl::OkStatus();
  }
  KEEL_RETURN_IF_ERROR(Erase(id));
  return Insert(id, location);
}

void Quadtree::BuildNode(int32_t node, std::vector<IndexedPoint>& points, size_t begin,
                         size_t end) {
  nodes_[static_cast<size_t>(node)].count = static_cast<uint32_t>(end - begin);
  const bool small = end - begin <= static_cast<size_t>(options_.leaf_capacity);
  const bool deep = nodes_[static_cast<size_t>(node)].depth >= options_.max_depth;
  const bool all_same =
      std::all_of(points.begin() + static_cast<std::ptrdiff_t>(begin),
                  points.begin() + static_cast<std::ptrdiff_t>(end),
                  [&](const IndexedPoint& p) { return p.location == points[begin].location; });
  if (small || deep || all_same) {
    Vector<Entry>& leaf = nodes_[static_cast<size_t>(node)].points;
    leaf.reserve(end - begin);
    for (size_t i = begin; i < end; ++i)
      leaf.push_back({points[i].location.ToPoint(), points[i].id});
    return;
  }
  const int32_t first = NewChildren(node);
  // Partition the range into the four quadrants, in quadrant order: south from north, then west
  // from east in each half.
  auto quadrant_of = [&](const IndexedPoint& p) { return ChildFor(node, p.location) - first; };
  const auto at = [&](size_t i) { return points.begin() + static_cast<std::ptrdiff_t>(i); };
  const auto index_of = [&](auto it) { return static_cast<size_t>(it - points.begin()); };
  size_t bounds[5] = {begin, 0, 0, 0, end};
  bounds[2] = index_of(std::partition(at(begin), at(end),
                                      [&](const IndexedPoint& p) { return quadrant_of(p) < 2; }));
  bounds[1] = index_of(std::partition(at(begin), at(bounds[2]),
                                      [&](const IndexedPoint& p) { return quadrant_of(p) < 1; }));
  bounds[3] = index_of(std::partition(at(bounds[2]), at(end),
                                      [&](const IndexedPoint& p) { return quadrant_of(p) < 3; }));
  for (int q = 0; q < 4; ++q) BuildNode(first + q, points, bounds[q], bounds[q + 1]);
}

absl::Status Quadtree::Build(std::span<const IndexedPoint> points) {
  decltype(locations_) locations(
      0, base::Hasher(), std::equal_to<PointId>(),
      base::CountingAllocator<std::pair<const PointId, LatLng>>(&memory_));
  locations.reserve(points.size());
  for (const IndexedPoint& point : points) {
    KEEL_RETURN_IF_ERROR(internal::CheckLocation(point.id, point.location));
    if (!locations.emplace(point.id, point.location).second) {
      return internal::DuplicateId(point.id);
    }
  }
  nodes_.clear();
  free_blocks_.clear();
  nodes_.emplace_back(&memory_);
  locations_.swap(locations);
  std::vector<IndexedPoint> work(points.begin(), points.end());
  BuildNode(0, work, 0, work.size());
  return absl::OkStatus();
}

absl::StatusOr<LatLng> Quadtree::Find(PointId id) const {
  const auto it = locations_.find(id);
  if (it == locations_.end()) return internal::UnknownId(id);
  return it->second;
}

size_t Quadtree::MemoryBytes() const { return static_cast<size_t>(memory_.bytes()); }

absl::Status Quadtree::SearchRadius(LatLng center, double radius_m, std::vector<Neighbor>* out,
                                    QueryStats* stats) const {
  KEEL_RETURN_IF_ERROR(internal::CheckRadiusQuery(center, radius_m));
  out->clear();
  const internal::RadiusFilter filter(center, radius_m);
  QueryStats s;
  // Level by level rather than depth first: every quadrant of the next level is prefetched while
  // the current level is tested, so that the cache misses of one level overlap instead of
  // following one another, and all leaves are prefetched before any is scanned.
  absl::InlinedVector<int32_t, 64> frontier = {0};
  absl::InlinedVector<int32_t, 64> next;
  absl::InlinedVector<int32_t, 64> leaves;
  while (!frontier.empty()) {
    next.clear();
    for (const int32_t index : frontier) {
      const Node& n = nodes_[static_cast<size_t>(index)];
      // Quadrants whose box is farther than the circle cannot hold an answer.
      if (n.count == 0 || n.box.MinChordDistance2(filter.center()) > filter.chord2_limit()) {
        continue;
      }
      ++s.cells_visited;
      if (n.first_child < 0) {
        __builtin_prefetch(n.points.data());
        leaves.push_back(index);
        continue;
      }
      for (int q = 0; q < 4; ++q) {
        __builtin_prefetch(&nodes_[static_cast<size_t>(n.first_child + q)]);
        next.push_back(n.first_child + q);
      }
    }
    frontier.swap(next);
  }
  // Fetch every line of every leaf at once; the scan below then finds them in cache.
  for (const int32_t index : leaves) {
    const Node& n = nodes_[static_cast<size_t>(index)];
    const char* data = reinterpret_cast<const char*>(n.points.data());
    const size_t bytes = n.points.size() * sizeof(Entry);
    for (size_t offset = 64; offset < bytes; offset += 64) __builtin_prefetch(data + offset);
  }
  for (const int32_t index : leaves) {
    const Node& n = nodes_[static_cast<size_t>(index)];
    filter.OfferAll(n.points.data(), n.points.size(), out);
    s.candidates += n.points.size();
  }
  internal::SortNeighbors(out);
  if (stats != nullptr) *stats = s;
  return absl::OkStatus();
}

absl::Status Quadtree::Nearest(LatLng center, size_t k, std::vector<Neighbor>* out,
                               QueryStats* stats) const {
  KEEL_RETURN_IF_ERROR(internal::CheckNearestQuery(center, k));
  out->clear();
  const Point3 c = center.ToPoint();
  // Quadrants by a lower bound of their squared chord to the centre.
  struct Pending {
    double min_chord2;
    int32_t node;
    bool operator>(const Pending& other) const { return min_chord2 > other.min_chord2; }
  };
  std::priority_queue<Pending, std::vector<Pending>, std::greater<>> pending;
  // The best k so far, worst on top, with their squared chords for the stopping test.
  struct Found {
    Neighbor neighbor;
    double chord2;
  };
  auto worse = [](const Found& a, const Found& b) {
    return a.neighbor.distance_m != b.neighbor.distance_m
               ? a.neighbor.distance_m < b.neighbor.distance_m
               : a.neighbor.id < b.neighbor.id;
  };
  std::priority_queue<Found, std::vector<Found>, decltype(worse)> best(worse);
  QueryStats s;
  pending.push({0, 0});
  while (!pending.empty()) {
    const Pending next = pending.top();
    // Stop when the nearest unexplored quadrant is surely farther than the k-th point: nothing
    // in it can be nearer, or tie with a smaller id. The margin covers rounding between the
    // squared chord and the distance computed from it.
    if (best.size() == k && next.min_chord2 > best.top().chord2 * (1 + 1e-12)) break;
    pending.pop();
    const Node& n = nodes_[static_cast<size_t>(next.node)];
    ++s.cells_visited;
    if (n.first_child < 0) {
      for (const Entry& e : n.points) {
        const double chord2 = ChordDistance2(c, e.p);
        if (best.size() == k && chord2 > best.top().chord2 * (1 + 1e-12)) continue;
        const Found found{{e.id, internal::ChordDistance2ToMeters(chord2, c, e.p)}, chord2};
        if (best.size() < k) {
          best.push(found);
        } else if (worse(found, best.top())) {
          best.pop();
          best.push(found);
        }
      }
      s.candidates += n.points.size();
      continue;
    }
    for (int q = 0; q < 4; ++q) {
      const Node& child = nodes_[static_cast<size_t>(n.first_child + q)];
      if (child.count == 0) continue;
      pending.push({child.box.MinChordDistance2(c), n.first_child + q});
    }
  }
  out->reserve(best.size());
  while (!best.empty()) {
    out->push_back(best.top().neighbor);
    best.pop();
  }
  std::reverse(out->begin(), out->end());
  if (stats != nullptr) *stats = s;
  return absl::OkStatus();
}

Quadtree::Shape Quadtree::shape() const {
  Shape shape;
  std::vector<int32_t> stack = {0};
  while (!stack.empty()) {
    const Node& n = nodes_[static_cast<size_t>(stack.back())];
    stack.pop_back();
    ++shape.nodes;
    shape.depth = std::max(shape.depth, static_cast<int>(n.depth));
    if (n.first_child < 0) {
      ++shape.leaves;
      shape.largest_leaf = std::max(shape.largest_leaf, n.points.size());
    } else {
      for (int q = 0; q < 4; ++q) stack.push_back(n.first_child + q);
    }
  }
  return shape;
}

}  // namespace keel::geo
