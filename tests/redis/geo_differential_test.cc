// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// keel's geo commands against a real redis-server (Debian's 7.0.15), byte for byte: random
// streams of GEOADD, GEOPOS, GEODIST, GEOHASH, GEOSEARCH, GEOSEARCHSTORE, GEORADIUS and
// GEORADIUSBYMEMBER (and their _RO variants), mixed with sorted set commands on the same keys.
//
// Points are scattered in clusters, so that searches find many members and the order of the
// 9-cell scan shows in every reply without ASC or DESC: around cities, on both sides of the
// antimeridian, at Redis's latitude limits (+-85.05112878), on the equator, and at the antipodes
// of another cluster (where the haversine can come out NaN). Many members share a position, so
// that sorts meet ties. Radii and boxes run from centimetres to the whole earth, in every unit;
// arguments are sometimes wrong in every way Redis checks (bad numbers, out-of-range
// coordinates, unknown units, missing or conflicting options, wrong types, wrong arity). The key
// "z" gets arbitrary scores from ZADD (negative, fractional, infinite, beyond 52 bits), which the
// geo commands decode as Redis does.
//
// Left out: STOREDIST over shapes wide enough to reach antipodal points, because a NaN distance
// makes Redis abort (zslInsert asserts the score is a number).
//
// KEEL_REDIS_GEO_ROUNDS sets how many streams run (each with its own printed seed).
#include <doctest/doctest.h>

#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "keel/base/random.h"
#include "keel/base/strings.h"
#include "net/redis_server.h"
#include "redis/command_generator.h"
#include "redis/differential.h"
#include "testing/testing.h"

namespace keel::redis {
namespace {

struct Cluster {
  double lng;
  double lat;
  double spread_degrees;
};

// Around Palermo, its antipode, London, both sides of the antimeridian, the poles' limits, and
// the origin (a few with tiny spreads, so that positions repeat).
constexpr Cluster kClusters[] = {
    {13.361389, 38.115556, 0.5},
    {-166.638611, -38.115556, 0.5},
    {-0.1278, 51.5074, 0.05},
    {179.9, 0.5, 0.3},
    {-179.9, -0.5, 0.3},
    {10, 85.0, 0.06},
    {-120, -85.0, 0.06},
    {0, 0, 0.001},
    {100, 30, 20},
    {-60, -20, 3},
};

class GeoCommandGenerator : public testing::RandomCommands {
 public:
  explicit GeoCommandGenerator(uint64_t seed) : RandomCommands(seed) {}

  std::vector<std::string> Next() {
    // Each stream starts by filling the sets, so that searches find many members.
    if (commands_++ < 40) return GeoAdd(/*fill=*/true);
    switch (rng_.Uniform(30)) {
      case 0:
      case 1:
      case 2:
      case 3:
      case 4:
      case 5:
        return GeoAdd();
      case 6:
        return Many({"GEOPOS", AnyKey()}, 1 + rng_.Uniform(3), [&] { return Member(); });
      case 7:
        return Many({"GEOHASH", AnyKey()}, rng_.Uniform(4), [&] { return Member(); });
      case 8:
      case 9:
        return GeoDist();
      case 10:
      case 11:
      case 12:
      case 13:
        return GeoSearch(false);
      case 14:
      case 15:
        return GeoSearch(true);
      case 16:
      case 17:
        return GeoRadius();
      case 18:
      case 19:
        return GeoRadiusByMember();
      case 20:
        return ZAddOddScore();
      case 21:
        return {"ZRANGE", Pick({"dst", "dst2", "g1", "g2", "z"}), "0", "-1", "WITHSCORES"};
      case 22:
        return {"ZSCORE", Pick({"dst", "dst2", "g2", "z"}), Member()};
      case 23:
        return Many({"ZREM", GeoKey()}, 1 + rng_.Uniform(3), [&] { return Member(); });
      case 24:
        return {Pick({"ZCARD", "TYPE", "EXISTS"}), Pick({"dst", "dst2", "g1", "g2", "z", "s"})};
      case 25:
        return {"SET", Pick({"s", "dst"}), "x"};
      case 26:
        return {"DEL", Pick({"dst", "dst2", "dst", "g2", "z"})};
      case 27:
        return Mistake();
      default:
        return GeoSearch(rng_.Bernoulli(0.3));
    }
  }

 private:
  // The number with 6 decimals, or with 17 significant digits (round trip), or 9.
  enum class Digits { kSix, kAll, kNine, kThree };
  static std::string Text(double v, Digits digits = Digits::kSix) {
    char buffer[64];
    switch (digits) {
      case Digits::kSix:
        std::snprintf(buffer, sizeof(buffer), "%.6f", v);
        break;
      case Digits::kAll:
        std::snprintf(buffer, sizeof(buffer), "%.17g", v);
        break;
      case Digits::kNine:
        std::snprintf(buffer, sizeof(buffer), "%.9g", v);
        break;
      case Digits::kThree:
        std::snprintf(buffer, sizeof(buffer), "%.3f", v);
        break;
    }
    return buffer;
  }

  // "g1" is the big clustered set, "g2" a small one (Redis's compact encoding), "z" gets odd
  // scores from ZADD, "s" is a string.
  std::string GeoKey() { return Pick({"g1", "g1", "g1", "g2", "z"}); }
  std::string AnyKey() {
    if (rng_.Bernoulli(0.06)) return Pick({"s", "missing", "dst"});
    return Pick({"g1", "g1", "g1", "g1", "g1", "g1", "g2", "z"});
  }
  std::string Member() {
    if (rng_.Bernoulli(0.8)) return base::Cat("p", rng_.Uniform(600));
    if (rng_.Bernoulli(0.05)) return std::string(70, 'L');  // past the compact encoding's 64
    return Pick({"a", "b", "c", "", "a b", "\xff", "zz", "far"});
  }

  // A point of a cluster, or one of the edges, as longitude and latitude texts.
  std::pair<std::string, std::string> Point() {
    if (rng_.Bernoulli(0.08)) {
      return {Pick({"180", "-180", "0", "179.999999", "-179.9999999", "13.361389"}),
              Pick({"85.05112878", "-85.05112878", "0", "85.0511287", "38.115556", "-0"})};
    }
    if (rng_.Bernoulli(0.05)) {  // the same few positions again and again: ties
      return {Pick({"13.361389", "13.361390", "-0.1278"}), Pick({"38.115556", "51.5074"})};
    }
    const Cluster& c = kClusters[rng_.Uniform(std::size(kClusters))];
    spread_m_ = c.spread_degrees * 111'000;
    double lng = c.lng + rng_.UniformDouble(-c.spread_degrees, c.spread_degrees);
    double lat = c.lat + rng_.UniformDouble(-c.spread_degrees, c.spread_degrees);
    if (lng > 180) lng -= 360;
    if (lng < -180) lng += 360;
    lat = std::clamp(lat, -85.05112878, 85.05112878);
    const Digits digits = rng_.Bernoulli(0.2) ? Digits::kAll : Digits::kSix;
    return {Text(lng, digits), Text(lat, digits)};
  }
  std::pair<std::string, std::string> MaybeBadPoint() {
    if (rng_.Bernoulli(0.98)) return Point();
    return {Pick({"181", "-180.0000001", "abc", "", "inf", "1e400", "nan", "0x10", "13"}),
            Pick({"85.05112879", "-86", "90", "x", "0", "1e3", "-inf", " 1"})};
  }

  std::string Unit() {
    if (rng_.Bernoulli(0.03)) return Pick({"meters", "", "kms", "MI2"});
    return Pick({"m", "km", "ft", "mi", "M", "Km", "FT", "mI"});
  }
  // A size in metres, mostly near the spread of the last cluster a point came from, sometimes
  // from centimetres to the whole earth, written in `unit`.
  std::string Size(const std::string& unit, double max_m = 3e7) {
    if (rng_.Bernoulli(0.02)) return Pick({"0", "-1", "abc", "inf", "1e400", "", "-0"});
    const double log_near = std::log10(spread_m_);
    double meters = rng_.Bernoulli(0.7)
                        ? std::pow(10.0, rng_.UniformDouble(log_near - 1.5, log_near + 0.5))
                        : std::pow(10.0, rng_.UniformDouble(-1, std::log10(3e7)));
    meters = std::min(meters, max_m);
    double per_unit = 1;
    if (unit == "km" || unit == "Km") per_unit = 1000;
    if (unit == "ft" || unit == "FT") per_unit = 0.3048;
    if (unit == "mi" || unit == "mI") per_unit = 1609.34;
    return Text(meters / per_unit, rng_.Bernoulli(0.5) ? Digits::kThree : Digits::kNine);
  }
  std::string Count() {
    if (rng_.Bernoulli(0.05)) return Pick({"0", "-1", "x", "1.5", "99999999999999999999"});
    return Pick({"1", "2", "3", "5", "10", "50", "1000"});
  }

  // A GEOADD of up to 12 points, sometimes with mistakes; or, to fill the sets, 60 valid ones.
  std::vector<std::string> GeoAdd(bool fill = false) {
    // Sometimes a key of another type: WRONGTYPE comes after the coordinates are read.
    const bool wrong = !fill && rng_.Bernoulli(0.03);
    std::vector<std::string> args = {"GEOADD", wrong ? Pick({"s", "dst"}) : GeoKey()};
    if (!fill && rng_.Bernoulli(0.3)) {
      const uint64_t options = 1 + rng_.Uniform(2);
      for (uint64_t i = 0; i < options; ++i) {
        args.push_back(rng_.Bernoulli(0.05) ? "GT" : Pick({"NX", "XX", "CH", "ch"}));
      }
    }
    const uint64_t points = fill ? 60 : 1 + rng_.Uniform(12);
    for (uint64_t i = 0; i < points; ++i) {
      auto [lng, lat] = fill ? Point() : MaybeBadPoint();
      args.insert(args.end(), {lng, lat, Member()});
    }
    if (!fill && rng_.Bernoulli(0.04)) args.pop_back();
    return args;
  }

  std::vector<std::string> GeoDist() {
    std::vector<std::string> args = {"GEODIST", AnyKey(), Member(), Member()};
    if (rng_.Bernoulli(0.6)) args.push_back(Unit());
    if (rng_.Bernoulli(0.03)) args.push_back("m");
    return args;
  }

  // The search options after the centre and shape, in random order.
  void Options(std::vector<std::string>& args, bool store) {
    const uint64_t options = rng_.Uniform(4);
    for (uint64_t i = 0; i < options; ++i) {
      switch (rng_.Uniform(store ? 3 : 6)) {
        case 0:
          args.push_back(Pick({"ASC", "DESC", "asc", "desc"}));
          break;
        case 1:
          args.insert(args.end(), {"COUNT", Count()});
          if (rng_.Bernoulli(0.4)) args.push_back("ANY");
          break;
        case 2:
          if (rng_.Bernoulli(0.1)) args.push_back(Pick({"ANY", "COUNT", "bogus", "STORE"}));
          break;
        default:
          args.push_back(Pick({"WITHDIST", "WITHHASH", "WITHCOORD", "withcoord", "withdist"}));
          break;
      }
    }
  }

  // Where the store goes: a fresh key, the source itself, a string, another geo set.
  std::string StoreKey() { return Pick({"dst", "dst", "dst2", "g2", "s", "z"}); }

  std::vector<std::string> GeoSearch(bool store) {
    std::vector<std::string> args;
    if (store) {
      args = {"GEOSEARCHSTORE", StoreKey(), AnyKey()};
    } else {
      args = {Pick({"GEOSEARCH", "GEOSEARCH", "geosearch"}), AnyKey()};
    }
    // STOREDIST must not reach antipodal points (see the file comment): at most 5,000 km.
    const bool store_dist = store && rng_.Bernoulli(0.4);
    const double max_m = store_dist ? 5e6 : 3e7;
    std::vector<std::vector<std::string>> parts;
    if (rng_.Bernoulli(0.4)) {
      spread_m_ = std::pow(10.0, rng_.UniformDouble(2, 6));
      parts.push_back({"FROMMEMBER", Member()});
    } else {
      auto [lng, lat] = MaybeBadPoint();
      parts.push_back({"FROMLONLAT", lng, lat});
    }
    const std::string unit = Unit();
    if (rng_.Bernoulli(0.5)) {
      parts.push_back({"BYRADIUS", Size(unit, max_m), unit});
    } else {
      parts.push_back({"BYBOX", Size(unit, max_m), Size(unit, max_m), unit});
    }
    if (rng_.Bernoulli(0.05)) parts.pop_back();  // a missing centre or shape
    if (rng_.Bernoulli(0.03) && !parts.empty()) parts.erase(parts.begin());
    if (rng_.Bernoulli(0.03)) parts.push_back({"BYRADIUS", "10", "km"});
    if (rng_.Bernoulli(0.03)) parts.push_back({"FROMLONLAT", "0", "0"});
    if (rng_.Bernoulli(0.02)) parts.push_back({"FROMMEMBER", Member()});
    if (rng_.Bernoulli(0.3) && !parts.empty()) std::swap(parts.front(), parts.back());
    for (const auto& part : parts) args.insert(args.end(), part.begin(), part.end());
    Options(args, store && !rng_.Bernoulli(0.05));
    if (store_dist) args.push_back(Pick({"STOREDIST", "storedist"}));
    if (rng_.Bernoulli(0.02)) args.pop_back();
    return args;
  }

  // STORE or STOREDIST with their key, for the GEORADIUS family (sometimes on a _RO variant).
  void RadiusStore(std::vector<std::string>& args, bool close) {
    const bool read_only = args[0].ends_with("_RO");
    if (!rng_.Bernoulli(read_only ? 0.05 : 0.3)) return;
    if (close) {
      args.insert(args.end(), {Pick({"STORE", "STOREDIST"}), StoreKey()});
    } else {
      args.insert(args.end(), {"STORE", StoreKey()});
    }
  }

  std::vector<std::string> GeoRadius() {
    const std::string name = Pick({"GEORADIUS", "GEORADIUS", "GEORADIUS_RO"});
    auto [lng, lat] = MaybeBadPoint();
    const std::string unit = Unit();
    const bool close = rng_.Bernoulli(0.5);
    std::vector<std::string> args = {name, AnyKey(), lng, lat, Size(unit, close ? 5e6 : 3e7), unit};
    Options(args, false);
    RadiusStore(args, close);
    return args;
  }

  std::vector<std::string> GeoRadiusByMember() {
    const std::string name = Pick({"GEORADIUSBYMEMBER", "GEORADIUSBYMEMBER_RO"});
    const std::string unit = Unit();
    const bool close = rng_.Bernoulli(0.5);
    spread_m_ = std::pow(10.0, rng_.UniformDouble(2, 6));
    std::vector<std::string> args = {name, AnyKey(), Member(), Size(unit, close ? 5e6 : 3e7), unit};
    Options(args, false);
    RadiusStore(args, close);
    return args;
  }

  // Scores no GEOADD makes: they decode to clamped or shifted positions.
  std::vector<std::string> ZAddOddScore() {
    return {"ZADD", Pick({"z", "z", "g1"}),
            Pick({"-1", "0", "-0", "1.5", "inf", "-inf", "4503599627370495", "4503599627370496",
                  "9007199254740993", "1e300", "-1e300", "9223372036854775808", "12345678.9",
                  "3471579339700058", "1e15"}),
            Member()};
  }

  std::vector<std::string> Mistake() {
    switch (rng_.Uniform(6)) {
      case 0:
        return {Pick({"GEOADD", "GEOPOS", "GEODIST", "GEOSEARCH", "GEORADIUS", "GEOHASH"})};
      case 1:
        return {"GEOADD", "g1", "1", "2"};
      case 2:
        return {"GEOSEARCH", "g1", "FROMLONLAT", "0", "0", "BYRADIUS", "1"};
      case 3:
        return {"GEOSEARCHSTORE",
                "dst",
                "g1",
                "FROMLONLAT",
                "0",
                "0",
                "BYRADIUS",
                "1",
                "km",
                Pick({"WITHDIST", "WITHHASH", "WITHCOORD"})};
      case 4:
        return {"GEORADIUS", "g1",  "0",
                "0",         "100", "km",
                "STORE",     "dst", Pick({"WITHDIST", "WITHHASH", "WITHCOORD"})};
      default:
        return {"GEODIST", "g1", "a", "b", "km", "extra"};
    }
  }

  double spread_m_ = 100'000;
  int commands_ = 0;
};

TEST_CASE("Random geo command streams get the same replies from keel and redis-server") {
  KEEL_NET_REQUIRE_REDIS(redis_server);
  testing::Differential diff(redis_server->port());
  diff.RunRounds<GeoCommandGenerator>(7000, keel::testing::TestRounds("KEEL_REDIS_GEO_ROUNDS", 8),
                                      2000);
}

TEST_CASE("The same geo streams in RESP3 get the same replies") {
  KEEL_NET_REQUIRE_REDIS(redis_server);
  testing::Differential diff(redis_server->port());
  diff.Resp3();
  diff.RunRounds<GeoCommandGenerator>(
      1'008'000, keel::testing::TestRounds("KEEL_REDIS_GEO_ROUNDS", 8) / 2 + 1, 2000);
}

TEST_CASE("Documented examples and edge cases get the same replies") {
  KEEL_NET_REQUIRE_REDIS(redis_server);
  testing::Differential diff(redis_server->port());
  for (const bool resp3 : {false, true}) {
    CAPTURE(resp3);
    if (resp3) diff.Resp3();
    diff.FlushAll();
    diff.CheckAll({
        // The examples of Redis's documentation.
        {"GEOADD", "Sicily", "13.361389", "38.115556", "Palermo", "15.087269", "37.502669",
         "Catania"},
        {"GEODIST", "Sicily", "Palermo", "Catania"},
        {"GEODIST", "Sicily", "Palermo", "Catania", "km"},
        {"GEODIST", "Sicily", "Palermo", "Catania", "MI"},
        {"GEODIST", "Sicily", "Foo", "Bar"},
        {"GEOHASH", "Sicily", "Palermo", "Catania", "NonExisting"},
        {"GEOPOS", "Sicily", "Palermo", "Catania", "NonExisting"},
        {"GEORADIUS", "Sicily", "15", "37", "200", "km", "WITHDIST"},
        {"GEORADIUS", "Sicily", "15", "37", "200", "km", "WITHCOORD"},
        {"GEORADIUS", "Sicily", "15", "37", "200", "km", "WITHDIST", "WITHCOORD", "WITHHASH"},
        {"GEOADD", "Sicily", "13.583333", "37.316667", "Agrigento"},
        {"GEORADIUSBYMEMBER", "Sicily", "Agrigento", "100", "km"},
        {"GEOADD", "Sicily", "12.758489", "38.788135", "edge1", "17.241510", "38.788135", "edge2"},
        {"GEOSEARCH", "Sicily", "FROMLONLAT", "15", "37", "BYRADIUS", "200", "km", "ASC"},
        {"GEOSEARCH", "Sicily", "FROMLONLAT", "15", "37", "BYBOX", "400", "400", "km", "ASC",
         "WITHCOORD", "WITHDIST"},
        {"GEOSEARCHSTORE", "key1", "Sicily", "FROMLONLAT", "15", "37", "BYBOX", "400", "400", "km",
         "ASC", "COUNT", "3"},
        {"GEOSEARCH", "key1", "FROMLONLAT", "15", "37", "BYBOX", "400", "400", "km", "ASC",
         "WITHCOORD", "WITHDIST", "WITHHASH"},
        {"GEOSEARCHSTORE", "key2", "Sicily", "FROMLONLAT", "15", "37", "BYBOX", "400", "400", "km",
         "ASC", "COUNT", "3", "STOREDIST"},
        {"ZRANGE", "key2", "0", "-1", "WITHSCORES"},
        // The edges of the grid: the spilled scores of the north and east edges.
        {"GEOADD", "edges", "180", "85.05112878", "ne", "-180", "-85.05112878", "sw", "180",
         "-85.05112878", "se", "-180", "85.05112878", "nw", "0", "0", "origin"},
        {"ZRANGE", "edges", "0", "-1", "WITHSCORES"},
        {"GEOPOS", "edges", "ne", "sw", "se", "nw", "origin"},
        {"GEOHASH", "edges", "ne", "sw", "se", "nw", "origin"},
        {"GEODIST", "edges", "ne", "sw"},
        {"GEODIST", "edges", "ne", "nw", "ft"},
        {"GEOSEARCH", "edges", "FROMMEMBER", "ne", "BYRADIUS", "0", "m", "WITHHASH"},
        {"GEOSEARCH", "edges", "FROMMEMBER", "ne", "BYRADIUS", "100", "km", "WITHCOORD"},
        {"GEOSEARCH", "edges", "FROMLONLAT", "180", "85.05112878", "BYBOX", "1", "1", "m"},
        {"GEOSEARCH", "edges", "FROMLONLAT", "0", "0", "BYRADIUS", "20000", "km", "WITHDIST"},
        {"GEOSEARCH", "edges", "FROMLONLAT", "0", "0", "BYRADIUS", "inf", "km", "WITHDIST"},
        {"GEOSEARCH", "edges", "FROMLONLAT", "0", "0", "BYBOX", "inf", "inf", "km"},
        // Scores ZADD gave: decoded as Redis decodes them.
        {"ZADD", "odd", "-1", "minus", "inf", "inf", "-inf", "-inf", "1.5", "frac",
         "9223372036854775808", "big", "4503599627370496", "spill"},
        {"GEOPOS", "odd", "minus", "inf", "-inf", "frac", "big", "spill"},
        {"GEOHASH", "odd", "minus", "inf", "-inf", "frac", "big", "spill"},
        {"GEODIST", "odd", "minus", "inf"},
        {"GEOSEARCH", "odd", "FROMMEMBER", "frac", "BYRADIUS", "1", "km", "WITHHASH", "WITHCOORD"},
        // Errors, in Redis's order of checks.
        {"GEOADD", "Sicily", "181", "0", "x"},
        {"GEOADD", "Sicily", "1", "85.05112879", "x"},
        {"GEOADD", "Sicily", "NX", "XX", "1", "2", "x"},
        {"GEOADD", "Sicily", "CH", "CH", "CH"},
        {"GEOADD", "Sicily", "1", "2", "x", "1"},
        {"GEODIST", "Sicily", "Palermo", "Catania", "yards"},
        {"GEOSEARCH", "Sicily", "FROMLONLAT", "15", "37"},
        {"GEOSEARCH", "Sicily", "BYRADIUS", "1", "km", "ANY"},
        {"GEOSEARCH", "Sicily", "FROMLONLAT", "15", "37", "BYRADIUS", "1", "km", "ANY"},
        {"GEOSEARCH", "Sicily", "FROMLONLAT", "15", "37", "BYRADIUS", "-1", "km"},
        {"GEOSEARCH", "Sicily", "FROMLONLAT", "15", "37", "BYBOX", "1", "-1", "km"},
        {"GEOSEARCH", "Sicily", "FROMLONLAT", "15", "37", "BYBOX", "x", "1", "km"},
        {"GEOSEARCH", "Sicily", "FROMLONLAT", "15", "37", "BYBOX", "1", "x", "km"},
        {"GEOSEARCH", "Sicily", "FROMLONLAT", "15", "37", "BYRADIUS", "1", "km", "BYBOX", "1", "1",
         "km"},
        {"GEOSEARCH", "Sicily", "FROMMEMBER", "nobody", "BYRADIUS", "1", "km"},
        {"GEOSEARCH", "nokey", "FROMMEMBER", "nobody", "BYRADIUS", "1", "km"},
        {"GEOSEARCHSTORE", "key1", "nokey", "FROMMEMBER", "nobody", "BYRADIUS", "1", "km"},
        {"EXISTS", "key1"},
        {"GEORADIUSBYMEMBER", "nokey", "nobody", "x", "y"},
        {"GEORADIUSBYMEMBER", "Sicily", "nobody", "x", "y"},
        {"GEORADIUS", "Sicily", "15", "37", "200", "km", "COUNT", "0"},
        {"GEORADIUS", "Sicily", "15", "37", "200", "km", "COUNT"},
        {"GEORADIUS_RO", "Sicily", "15", "37", "200", "km", "STORE", "x"},
        {"geosearch", "Sicily", "BYRADIUS", "1", "km"},
        {"GEOSEARCH", "Sicily", "FROMLONLAT", "15", "37", "STORE", "x"},
    });
  }
}

}  // namespace
}  // namespace keel::redis
