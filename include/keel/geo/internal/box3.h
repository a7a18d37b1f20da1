// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// Box3: an axis-aligned box in the unit vectors' (x, y, z) space, around a latitude/longitude
// rectangle. Used by the quadtree to bound distances without trigonometry. Not for users.
#ifndef KEEL_GEO_INTERNAL_BOX3_H_
#define KEEL_GEO_INTERNAL_BOX3_H_

#include "keel/geo/lat_lng.h"

namespace keel::geo::internal {

// An axis-aligned box in (x, y, z) holding every unit vector of a latitude/longitude rectangle:
// the squared distance from a point to the box is a lower bound on its squared chord to any point
// of the rectangle, at the cost of a few comparisons (no trigonometry per query).
struct Box3 {
  double lo[3];
  double hi[3];

  // REQUIRES: a rectangle that does not wrap across the antimeridian, in degrees.
  static Box3 Around(double lat_lo, double lat_hi, double lng_lo, double lng_hi);

  [[nodiscard]] double MinChordDistance2(const Point3& p) const {
    const double v[3] = {p.x, p.y, p.z};
    double sum = 0;
    for (int k = 0; k < 3; ++k) {
      const double d = v[k] < lo[k] ? lo[k] - v[k] : v[k] > hi[k] ? v[k] - hi[k] : 0;
      sum += d * d;
    }
    return sum;
  }
};

}  // namespace keel::geo::internal

#endif  // KEEL_GEO_INTERNAL_BOX3_H_
