// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// The geo search's scan and its two sorts (see geo_search.h).
#include "geo_search.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "keel/base/assert.h"

namespace keel::redis::internal {
namespace {

// Redis's comparator: it returns 0 only for equal distances, and -1 whenever a distance is NaN.
int CompareAscending(const GeoPoint& a, const GeoPoint& b) {
  if (a.distance_m > b.distance_m) return 1;
  if (a.distance_m == b.distance_m) return 0;
  return -1;
}

struct Comparator {
  bool descending;
  int operator()(const GeoPoint& a, const GeoPoint& b) const {
    const int c = CompareAscending(a, b);
    return descending ? -c : c;
  }
};

// Appends the members of one cell's score range [min, max) that are within the shape.
void ScanCell(const zset::SortedSet& set, const GeoShape& shape, GeoCell cell, size_t limit,
              std::vector<GeoPoint>& out) {
  const GeoScoreRange scores = GeoCellScores(cell);
  // Redis passes the integer bounds as doubles.
  const zset::ScoreRange range{{static_cast<double>(scores.min), false},
                               {static_cast<double>(scores.max), true}};
  const zset::RankSpan span = set.RanksOf(range);
  auto c = set.CursorAt(span.begin);
  for (size_t i = 0; i < span.size(); ++i, c.Next()) {
    GeoPoint p;
    if (GeoWithinShape(shape, c.score(), &p.position, &p.distance_m)) {
      p.score = c.score();
      p.member = c.member();
      out.push_back(p);
    }
    if (limit > 0 && out.size() >= limit) return;
  }
}

// glibc's qsort (a top-down merge sort that halves the array, keeping the left element on ties).
void MergeSort(std::vector<GeoPoint>& v, size_t begin, size_t n, Comparator cmp,
               std::vector<GeoPoint>& scratch) {
  if (n <= 1) return;
  const size_t n1 = n / 2;
  MergeSort(v, begin, n1, cmp, scratch);
  MergeSort(v, begin + n1, n - n1, cmp, scratch);
  scratch.clear();
  size_t i = begin, j = begin + n1;
  const size_t i_end = begin + n1, j_end = begin + n;
  while (i < i_end && j < j_end) scratch.push_back(cmp(v[i], v[j]) <= 0 ? v[i++] : v[j++]);
  while (i < i_end) scratch.push_back(v[i++]);
  std::copy(scratch.begin(), scratch.end(), v.begin() + static_cast<ptrdiff_t>(begin));
}

// Redis's pqsort: Bentley and McIlroy's quicksort (median of three, or of three medians of
// three above 40 elements; a three-way partition that gathers equal elements at both ends and
// swaps them to the middle), which leaves alone the parts that hold none of ranks [lo, hi].
// Parts are disjoint, so sorting them in any order gives the same result: an explicit stack
// replaces the recursion.
class PartialQuicksort {
 public:
  PartialQuicksort(std::vector<GeoPoint>& v, Comparator cmp, size_t lo, size_t hi)
      : v_(v), cmp_(cmp), lo_(lo), hi_(hi) {}

  void Run() {
    std::vector<std::pair<size_t, size_t>> parts = {{0, v_.size()}};
    while (!parts.empty()) {
      const auto [begin, n] = parts.back();
      parts.pop_back();
      Partition(begin, n, parts);
    }
  }

 private:
  int Cmp(size_t a, size_t b) const { return cmp_(v_[a], v_[b]); }
  void Swap(size_t a, size_t b) { std::swap(v_[a], v_[b]); }
  void SwapRuns(size_t a, size_t b, size_t n) {
    for (size_t i = 0; i < n; ++i) Swap(a + i, b + i);
  }
  size_t Median3(size_t a, size_t b, size_t c) const {
    if (Cmp(a, b) < 0) return Cmp(b, c) < 0 ? b : (Cmp(a, c) < 0 ? c : a);
    return Cmp(b, c) > 0 ? b : (Cmp(a, c) < 0 ? a : c);
  }
  // Whether [begin, begin + n) holds any of the wanted ranks.
  bool Wanted(size_t begin, size_t n) const { return !(hi_ < begin || lo_ > begin + n - 1); }

  // Partitions [begin, begin + n) and pushes the parts that still need sorting.
  void Partition(size_t begin, size_t n, std::vector<std::pair<size_t, size_t>>& parts) {
    if (n < 7) {  // insertion sort
      for (size_t m = begin + 1; m < begin + n; ++m) {
        for (size_t l = m; l > begin && Cmp(l - 1, l) > 0; --l) Swap(l, l - 1);
      }
      return;
    }
    size_t pm = begin + n / 2;
    if (n > 7) {
      size_t pl = begin;
      size_t pn = begin + n - 1;
      if (n > 40) {
        const size_t d = n / 8;
        pl = Median3(pl, pl + d, pl + 2 * d);
        pm = Median3(pm - d, pm, pm + d);
        pn = Median3(pn - 2 * d, pn - d, pn);
      }
      pm = Median3(pl, pm, pn);
    }
    Swap(begin, pm);  // the pivot waits at the front
    size_t pa = begin + 1, pb = begin + 1;
    size_t pc = begin + n - 1, pd = begin + n - 1;
    for (;;) {
      int c;
      while (pb <= pc && (c = Cmp(pb, begin)) <= 0) {
        if (c == 0) Swap(pa++, pb);
        ++pb;
      }
      while (pb <= pc && (c = Cmp(pc, begin)) >= 0) {
        if (c == 0) Swap(pc, pd--);
        --pc;
      }
      if (pb > pc) break;
      Swap(pb++, pc--);
    }
    const size_t end = begin + n;
    size_t r = std::min(pa - begin, pb - pa);
    SwapRuns(begin, pb - r, r);
    r = std::min(pd - pc, end - pd - 1);
    SwapRuns(pb, end - r, r);
    if ((r = pb - pa) > 1 && Wanted(begin, r)) parts.emplace_back(begin, r);
    if ((r = pd - pc) > 1 && Wanted(end - r, r)) parts.emplace_back(end - r, r);
  }

  std::vector<GeoPoint>& v_;
  Comparator cmp_;
  size_t lo_, hi_;
};

}  // namespace

std::vector<GeoPoint> GeoCollect(const zset::SortedSet& set, const GeoShape& shape, size_t limit) {
  const std::array<GeoCell, 9> cells = GeoSearchCells(shape);
  std::vector<GeoPoint> points;
  // A huge radius makes neighbours coincide; Redis skips a cell equal to the last one it
  // scanned, though "last" never means the centre (index 0 doubles as "none yet").
  size_t last = 0;
  for (size_t i = 0; i < cells.size(); ++i) {
    if (cells[i].none()) continue;
    if (last != 0 && cells[i] == cells[last]) continue;
    if (limit > 0 && points.size() >= limit) break;
    ScanCell(set, shape, cells[i], limit, points);
    last = i;
  }
  return points;
}

void GeoSort(std::vector<GeoPoint>& points, GeoOrder order, size_t keep) {
  if (order == GeoOrder::kNone || points.empty()) return;
  KEEL_ASSERT(keep >= 1 && keep <= points.size(), "keeping ", keep, " of ", points.size());
  const Comparator cmp{order == GeoOrder::kDescending};
  if (keep == points.size()) {
    std::vector<GeoPoint> scratch;
    scratch.reserve(points.size());
    MergeSort(points, 0, points.size(), cmp, scratch);
  } else {
    PartialQuicksort(points, cmp, 0, keep - 1).Run();
  }
}

}  // namespace keel::redis::internal
