// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// proximity_service: the "design a proximity service" case study (find businesses near you),
// composed from keel::geo.
//
//   1. Loads businesses: real places (GeoNames, after scripts/fetch-data.sh) or keel's seeded
//      clustered synthetic points.
//   2. Walks through the service's API: search nearby with pagination, business details, and
//      add / update / delete with the spatial index following each write.
//   3. Runs a read-heavy workload (searches and a few writes) and reports its rate.
//   4. Compares the five geospatial index options of the chapter on the same data and queries:
//      build time, memory, query latency, candidates examined, and whether each returns exactly
//      what brute force does.
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "business_service.h"
#include "common/cli.h"
#include "keel/base/clock.h"
#include "keel/base/random.h"
#include "keel/geo/spatial_index.h"
#include "keel_support/geo_datasets.h"

namespace keel::examples {
namespace {

constexpr const char* kCategories[] = {"restaurant", "cafe",     "hotel",  "pharmacy",
                                       "gym",        "bookshop", "bakery", "museum"};

struct Options {
  int64_t points;
  int64_t queries;
  int64_t workload_ops;
  std::string index;
  std::string data;
  uint64_t seed;
};

std::vector<Business> MakeBusinesses(const Options& o, std::string* source) {
  base::Random rng(o.seed);
  std::vector<Business> businesses;
  if (o.data != "synthetic") {
    const std::string path = support::DefaultDataDir() + "/cities.tsv";
    absl::StatusOr<std::vector<support::Place>> places = support::LoadPlaces(path);
    if (places.ok() && !places->empty()) {
      *source = absl::StrFormat("GeoNames places from %s", path);
      // An even sample across the file (which is sorted by country), so a small run still
      // spans the world.
      const size_t n = std::min(places->size(), static_cast<size_t>(o.points));
      for (size_t i = 0; i < n; ++i) {
        const support::Place& place = (*places)[i * places->size() / n];
        const char* category = kCategories[rng.Uniform(std::size(kCategories))];
        businesses.push_back({i, absl::StrFormat("%s %s", place.name, category), category,
                              static_cast<double>(rng.UniformInRange(10, 50)) / 10,
                              place.location});
      }
      return businesses;
    }
    if (o.data == "geonames") {
      std::fprintf(stderr, "no GeoNames data at %s: run scripts/fetch-data.sh\n", path.c_str());
      std::exit(1);
    }
  }
  *source = "keel's seeded clustered synthetic points (run scripts/fetch-data.sh for real places)";
  for (const geo::IndexedPoint& p :
       support::ClusteredPoints({.points = static_cast<size_t>(o.points), .seed = o.seed})) {
    const char* category = kCategories[rng.Uniform(std::size(kCategories))];
    businesses.push_back({p.id, absl::StrFormat("%s #%d", category, p.id), category,
                          static_cast<double>(rng.UniformInRange(10, 50)) / 10, p.location});
  }
  return businesses;
}

// Where users search: near businesses (within about 2 km), as in real traffic.
std::vector<geo::LatLng> UserLocations(const std::vector<Business>& businesses, size_t n,
                                       uint64_t seed) {
  base::Random rng(seed);
  std::vector<geo::LatLng> out;
  for (size_t i = 0; i < n; ++i) {
    const geo::LatLng p = businesses[rng.Uniform(businesses.size())].location;
    out.push_back(geo::LatLng::FromDegrees(
        std::clamp(p.lat_degrees() + rng.UniformDouble(-0.018, 0.018), -90.0, 90.0),
        p.lng_degrees()));
  }
  return out;
}

double Micros(int64_t ns) { return static_cast<double>(ns) / 1e3; }

bool Fail(const absl::Status& status, const char* what) {
  std::fprintf(stderr, "FAILED: %s: %s\n", what, status.ToString().c_str());
  return false;
}

void PrintPage(const Page& page) {
  for (const SearchResult& r : page.results) {
    std::printf("      %8.0f m  #%-8llu %s\n", r.distance_m, static_cast<unsigned long long>(r.id),
                r.name.c_str());
  }
}

// Part 2: the API, narrated.
bool Walkthrough(BusinessService& service, geo::LatLng user) {
  std::printf("\n== The API ==\n");
  std::printf("  GET /v1/search/nearby?lat=%.4f&lng=%.4f&radius=5000&page_size=5\n",
              user.lat_degrees(), user.lng_degrees());
  absl::StatusOr<Page> first = service.SearchNearby(user, 5000, 5, "");
  if (!first.ok()) return Fail(first.status(), "search nearby");
  PrintPage(*first);
  if (!first->next_cursor.empty()) {
    std::printf("  ... next page with cursor=%s\n", first->next_cursor.c_str());
    absl::StatusOr<Page> second = service.SearchNearby(user, 5000, 5, first->next_cursor);
    if (!second.ok()) return Fail(second.status(), "search nearby, page 2");
    PrintPage(*second);
  }
  // Self-check: walking every page yields the whole answer once, in order.
  std::vector<geo::Neighbor> all;
  if (absl::Status s = service.index().SearchRadius(user, 5000, &all); !s.ok()) {
    return Fail(s, "radius search");
  }
  std::vector<geo::PointId> paged;
  std::string cursor;
  do {
    absl::StatusOr<Page> page = service.SearchNearby(user, 5000, 7, cursor);
    if (!page.ok()) return Fail(page.status(), "paging");
    for (const SearchResult& r : page->results) paged.push_back(r.id);
    cursor = page->next_cursor;
  } while (!cursor.empty());
  bool pages_ok = paged.size() == all.size();
  for (size_t i = 0; pages_ok && i < all.size(); ++i) pages_ok = paged[i] == all[i].id;
  std::printf("  paging through all %zu results, 7 at a time: %s\n", all.size(),
              pages_ok ? "every result once, in order" : "MISMATCH");
  if (!pages_ok) return false;

  if (!first->results.empty()) {
    absl::StatusOr<Business> b = service.Get(first->results[0].id);
    if (!b.ok()) return Fail(b.status(), "business details");
    std::printf("  GET /v1/businesses/%llu -> \"%s\", %s, %.1f stars, at %s\n",
                static_cast<unsigned long long>(b->id), b->name.c_str(), b->category.c_str(),
                b->rating, b->location.ToString().c_str());
  }
  constexpr geo::PointId kNewId = 900'000'000;
  const Business cafe{kNewId, "Keel Cafe", "cafe", 4.8, user};
  if (absl::Status s = service.Add(cafe); !s.ok()) return Fail(s, "add");
  absl::StatusOr<Page> after_add = service.SearchNearby(user, 5000, 1, "");
  std::printf(
      "  POST /v1/businesses \"Keel Cafe\" at the user's location -> nearest is now: %s\n",
      after_add.ok() && !after_add->results.empty() ? after_add->results[0].name.c_str() : "?");
  Business moved = cafe;
  moved.location = geo::LatLng::FromDegrees(std::min(90.0, user.lat_degrees() + 0.027),
                                            user.lng_degrees());  // about 3 km north
  if (absl::Status s = service.Update(moved); !s.ok()) return Fail(s, "update");
  std::vector<geo::Neighbor> near;
  (void)service.index().SearchRadius(user, 5000, &near);
  for (const geo::Neighbor& n : near) {
    if (n.id == kNewId) {
      std::printf("  PUT /v1/businesses/%llu moving it 3 km north -> found %.0f m away\n",
                  static_cast<unsigned long long>(kNewId), n.distance_m);
    }
  }
  if (absl::Status s = service.Delete(kNewId); !s.ok()) return Fail(s, "delete");
  const bool gone = !service.Get(kNewId).ok() && !service.index().Find(kNewId).ok();
  std::printf("  DELETE /v1/businesses/%llu -> gone from the table and the index: %s\n",
              static_cast<unsigned long long>(kNewId), gone ? "yes" : "NO");
  // Bad input is refused, not crashed on.
  const absl::StatusOr<Page> bad =
      service.SearchNearby(geo::LatLng::FromDegrees(91, 0), 100, 5, "");
  std::printf("  GET /v1/search/nearby?lat=91... -> %s\n", bad.status().ToString().c_str());
  return gone && !bad.ok();
}

// Part 3: a read-heavy mix on the chosen index.
bool Workload(BusinessService& service, const std::vector<geo::LatLng>& users, int64_t ops,
              uint64_t seed) {
  std::printf("\n== A read-heavy workload on the %s index: %lld operations ==\n",
              std::string(service.index().kind()).c_str(), static_cast<long long>(ops));
  base::Random rng(seed);
  const base::MonotonicClock& clock = base::MonotonicClock::Default();
  std::vector<double> search_us;
  int64_t writes = 0;
  geo::PointId next_id = 800'000'000;
  std::vector<geo::PointId> added;
  const int64_t start = clock.NowNanos();
  for (int64_t i = 0; i < ops; ++i) {
    const geo::LatLng where = users[static_cast<size_t>(i) % users.size()];
    if (rng.Bernoulli(0.95)) {
      const int64_t t0 = clock.NowNanos();
      absl::StatusOr<Page> page =
          service.SearchNearby(where, rng.Bernoulli(0.5) ? 1000 : 5000, 20, "");
      search_us.push_back(Micros(clock.NowNanos() - t0));
      if (!page.ok()) return Fail(page.status(), "workload search");
      continue;
    }
    ++writes;
    // Writes: businesses open, move, close.
    absl::Status s;
    if (added.empty() || rng.Bernoulli(0.5)) {
      s = service.Add({next_id, "new business", "shop", 3.0, where});
      added.push_back(next_id++);
    } else if (rng.Bernoulli(0.5)) {
      Business b = *service.Get(added.back());
      b.location = where;
      s = service.Update(b);
    } else {
      s = service.Delete(added.back());
      added.pop_back();
    }
    if (!s.ok()) return Fail(s, "workload write");
  }
  const double seconds = static_cast<double>(clock.NowNanos() - start) / 1e9;
  const size_t searches = search_us.size();
  std::printf("  %s operations/s (%zu searches, %lld writes); search p50 %.1f us, p99 %.1f us\n",
              Human(static_cast<double>(ops) / seconds).c_str(), searches,
              static_cast<long long>(writes), Percentile(search_us, 50), Percentile(search_us, 99));
  return true;
}

// Part 4: the chapter's five options side by side.
bool Compare(const std::vector<Business>& businesses, const std::vector<geo::LatLng>& users) {
  std::printf("\n== The five options on %zu businesses and %zu searches ==\n", businesses.size(),
              users.size());
  std::vector<geo::IndexedPoint> points;
  for (const Business& b : businesses) points.push_back({b.id, b.location});
  const base::MonotonicClock& clock = base::MonotonicClock::Default();
  std::printf("  %-12s %9s %10s %9s | %10s %10s %11s | %9s %9s | %s\n", "index", "build ms",
              "memory MB", "B/point", "1km p50 us", "1km p99 us", "candidates", "10nn p50",
              "10nn p99", "same as brute force");
  std::vector<std::vector<geo::Neighbor>> truth_radius;
  std::vector<std::vector<geo::Neighbor>> truth_nearest;
  bool all_same = true;
  for (const std::string_view kind : geo::SpatialIndexKinds()) {
    std::unique_ptr<geo::SpatialIndex> index = std::move(*geo::NewSpatialIndex(kind));
    const int64_t t0 = clock.NowNanos();
    if (absl::Status s = index->Build(points); !s.ok()) return Fail(s, "build");
    const double build_ms = static_cast<double>(clock.NowNanos() - t0) / 1e6;
    std::vector<double> radius_us;
    std::vector<double> nearest_us;
    double candidates = 0;
    bool same = true;
    std::vector<geo::Neighbor> out;
    for (size_t q = 0; q < users.size(); ++q) {
      geo::QueryStats stats;
      int64_t t = clock.NowNanos();
      (void)index->SearchRadius(users[q], 1000, &out, &stats);
      radius_us.push_back(Micros(clock.NowNanos() - t));
      candidates += static_cast<double>(stats.candidates);
      if (kind == "brute_force") {
        truth_radius.push_back(out);
      } else {
        same = same && out == truth_radius[q];
      }
      t = clock.NowNanos();
      (void)index->Nearest(users[q], 10, &out);
      nearest_us.push_back(Micros(clock.NowNanos() - t));
      if (kind == "brute_force") {
        truth_nearest.push_back(out);
      } else {
        same = same && out == truth_nearest[q];
      }
    }
    all_same = all_same && same;
    const double memory = static_cast<double>(index->MemoryBytes());
    std::printf("  %-12s %9.1f %10.1f %9.1f | %10.1f %10.1f %11.1f | %9.1f %9.1f | %s\n",
                std::string(kind).c_str(), build_ms, memory / 1e6,
                memory / static_cast<double>(points.size()), Percentile(radius_us, 50),
                Percentile(radius_us, 99), candidates / static_cast<double>(users.size()),
                Percentile(nearest_us, 50), Percentile(nearest_us, 99),
                kind == "brute_force" ? "(the reference)"
                : same                ? "yes"
                                      : "NO");
  }
  std::printf(
      "  (candidates: points whose distance was tested per 1 km search; brute force tests all of\n"
      "   them. Latencies are per search on this machine, cold and warm caches mixed.)\n");
  return all_same;
}

}  // namespace
}  // namespace keel::examples

int main(int argc, char** argv) {
  using keel::examples::Flags;
  Flags flags("proximity_service",
              "find businesses near a location, and compare the chapter's five geospatial indexes");
  flags.Add("points", "200000", "how many businesses to load");
  flags.Add("queries", "2000", "searches per index in the comparison");
  flags.Add("workload_ops", "100000", "operations in the read-heavy workload (95% searches)");
  flags.Add("index", "quadtree",
            "index behind the service: brute_force, grid, geohash, quadtree or s2");
  flags.Add("data", "auto", "auto (GeoNames if fetched, else synthetic), geonames or synthetic");
  flags.Add("seed", "42", "seed for the synthetic data, the queries and the workload");
  flags.AddBool("short", "a quick run for tests: 20,000 businesses and fewer queries");
  int exit_code = 0;
  if (!flags.Parse(argc, argv, &exit_code)) return exit_code;

  keel::examples::Options o{
      flags.GetInt("points"), flags.GetInt("queries"), flags.GetInt("workload_ops"),
      flags.Get("index"),     flags.Get("data"),       static_cast<uint64_t>(flags.GetInt("seed"))};
  if (flags.GetBool("short")) {
    o.points = std::min<int64_t>(o.points, 20'000);
    o.queries = std::min<int64_t>(o.queries, 300);
    o.workload_ops = std::min<int64_t>(o.workload_ops, 5'000);
  }
  if (o.data != "auto" && o.data != "geonames" && o.data != "synthetic") {
    std::fprintf(stderr, "proximity_service: --data=%s is not auto, geonames or synthetic\n",
                 o.data.c_str());
    return 2;
  }
  if (o.points < 1 || o.queries < 1 || o.workload_ops < 0) {
    std::fprintf(stderr, "proximity_service: --points and --queries must be at least 1\n");
    return 2;
  }
  absl::StatusOr<std::unique_ptr<keel::geo::SpatialIndex>> index =
      keel::geo::NewSpatialIndex(o.index);
  if (!index.ok()) {
    std::fprintf(stderr, "proximity_service: %s\n", index.status().ToString().c_str());
    return 2;
  }

  std::string source;
  std::vector<keel::examples::Business> businesses = keel::examples::MakeBusinesses(o, &source);
  std::printf("Proximity service: %zu businesses (%s), served by the %s index.\n",
              businesses.size(), source.c_str(), o.index.c_str());
  const std::vector<keel::geo::LatLng> users =
      keel::examples::UserLocations(businesses, static_cast<size_t>(o.queries), o.seed + 1);

  keel::examples::BusinessService service(std::move(*index));
  if (absl::Status s = service.Load(businesses); !s.ok()) {
    std::fprintf(stderr, "proximity_service: %s\n", s.ToString().c_str());
    return 1;
  }
  bool ok = keel::examples::Walkthrough(service, users[0]);
  ok = keel::examples::Workload(service, users, o.workload_ops, o.seed + 2) && ok;
  ok = keel::examples::Compare(businesses, users) && ok;
  std::printf("\n%s\n", ok ? "All checks passed." : "SOME CHECKS FAILED.");
  return ok ? 0 : 1;
}
