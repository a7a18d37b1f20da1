// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// The search behind GEOSEARCH, GEOSEARCHSTORE, GEORADIUS and GEORADIUSBYMEMBER, private to
// src/redis, as Redis 7.0's geo.c runs it: collect the members of the 9 cells around the centre
// (geo_cells.h) that lie within the shape, in the order the scan meets them, then sort them by
// distance if asked.
//
// The order matters, because a reply without ASC or DESC is in scan order, and members at equal
// distances (the same position, added under different names) keep whatever order the sort
// leaves them in. Redis sorts with the C library's qsort when it returns every member (glibc's
// qsort is a merge sort, so ties keep their scan order) and with its own partial quicksort
// (Bentley and McIlroy, "Engineering a Sort Function", Software: Practice and Experience 23(11),
// 1993, which Redis's pqsort.c narrows to the ranks it returns) when COUNT cuts the list, which
// reorders ties. keel runs both algorithms as those implementations do, so that its replies
// order ties the same way.
#ifndef KEEL_SRC_REDIS_GEO_SEARCH_H_
#define KEEL_SRC_REDIS_GEO_SEARCH_H_

#include <cstddef>
#include <string_view>
#include <vector>

#include "geo_cells.h"
#include "keel/zset/sorted_set.h"

namespace keel::redis::internal {

// A member the search found.
struct GeoPoint {
  LngLat position;
  double distance_m;  // from the centre
  double score;
  std::string_view member;  // a view into the searched set: valid while it does not change
};

// The members of `set` within `shape`, in scan order. With limit > 0 (COUNT n ANY), stops once
// `limit` are found.
[[nodiscard]] std::vector<GeoPoint> GeoCollect(const zset::SortedSet& set, const GeoShape& shape,
                                               size_t limit);

enum class GeoOrder { kNone, kAscending, kDescending };

// Sorts the points by distance as Redis does: all of them (merge sort) when keep == size(), or
// just enough that the first `keep` are the nearest (farthest) in order (partial quicksort).
// REQUIRES: 1 <= keep <= points.size(), or points empty.
void GeoSort(std::vector<GeoPoint>& points, GeoOrder order, size_t keep);

}  // namespace keel::redis::internal

#endif  // KEEL_SRC_REDIS_GEO_SEARCH_H_
