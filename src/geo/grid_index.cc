// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "keel/geo/grid_index.h"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "keel/base/assert.h"
#include "keel/base/strings.h"
#include "keel/geo/lat_lng_rect.h"

namespace keel::geo {

absl::StatusOr<std::unique_ptr<GridIndex>> GridIndex::Create(const Options& options) {
  const double size = options.cell_size_degrees;
  if (!std::isfinite(size) || size < kMinCellSizeDegrees || size > 180) {
    return absl::InvalidArgumentError(
        base::Cat("grid cell size ", size, " degrees is outside [", kMinCellSizeDegrees, ", 180]"));
  }
  return std::unique_ptr<GridIndex>(new GridIndex(options));
}

GridIndex::GridIndex(const Options& options)
    : options_(options),
      rows_(static_cast<uint64_t>(std::ceil(180 / options.cell_size_degrees))),
      columns_(static_cast<uint64_t>(std::ceil(360 / options.cell_size_degrees))) {
  KEEL_ASSERT(options.cell_size_degrees >= kMinCellSizeDegrees && options.cell_size_degrees <= 180);
}

uint64_t GridIndex::Row(double lat_degrees) const {
  const double row = std::floor((lat_degrees + 90) / options_.cell_size_degrees);
  return std::min(rows_ - 1, static_cast<uint64_t>(std::max(0.0, row)));
}

uint64_t GridIndex::Column(double lng_degrees) const {
  const double column = std::floor((lng_degrees + 180) / options_.cell_size_degrees);
  return std::min(columns_ - 1, static_cast<uint64_t>(std::max(0.0, column)));
}

double GridIndex::ProbeRadius(double /*known_radius*/) const {
  return options_.cell_size_degrees * std::numbers::pi / 180 * kEarthRadiusMeters;
}

uint64_t GridIndex::KeyOf(LatLng location) const {
  return Row(location.lat_degrees()) * columns_ + Column(location.lng_degrees());
}

void GridIndex::CoveringRanges(LatLng center, double radius_m,
                               std::vector<internal::KeyRange>* ranges) const {
  const LatLngRect box = *LatLngRect::AroundCircle(center, radius_m);
  const uint64_t row_lo = Row(box.lat_lo());
  const uint64_t row_hi = Row(box.lat_hi());
  if (box.is_full_lng()) {
    ranges->push_back({row_lo * columns_, row_hi * columns_ + columns_ - 1});
    return;
  }
  const uint64_t col_lo = Column(box.lng_lo());
  const uint64_t col_hi = Column(box.lng_hi());
  for (uint64_t row = row_lo; row <= row_hi; ++row) {
    const uint64_t base = row * columns_;
    if (box.crosses_antimeridian()) {
      ranges->push_back({base + col_lo, base + columns_ - 1});
      ranges->push_back({base, base + col_hi});
    } else {
      ranges->push_back({base + col_lo, base + col_hi});
    }
  }
}

}  // namespace keel::geo
