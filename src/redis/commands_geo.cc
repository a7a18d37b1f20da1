// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// The geo commands (Redis's geo.c): GEOADD, GEOPOS, GEODIST, GEOHASH, GEOSEARCH,
// GEOSEARCHSTORE, GEORADIUS, GEORADIUSBYMEMBER and their read-only variants. A geo set is a
// sorted set whose scores are 52-bit cells (geo_cells.h), so the sorted set commands work on it
// and the geo commands work on any sorted set: a score that is no cell decodes to some position,
// exactly the one Redis decodes it to.
//
// GEOADD is ZADD with the coordinates turned into scores, as in Redis (which rewrites the command
// and calls ZADD): the same handler runs, so the reply, the encoding and the errors after the
// coordinates are ZADD's. The searches parse their arguments in Redis's order, which decides
// which error a command with several mistakes gets; see geo_search.h for the search itself.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "arguments.h"
#include "command.h"
#include "geo_cells.h"
#include "geo_search.h"
#include "keel/base/assert.h"
#include "keel/base/strings.h"
#include "zset_commands.h"

namespace keel::redis::internal {
namespace {

// printf's "%f", which Redis's error about a bad pair uses.
std::string FixedText(double value) {
  const int size = std::snprintf(nullptr, 0, "%f", value);
  std::string text(static_cast<size_t>(size) + 1, '\0');
  std::snprintf(text.data(), text.size(), "%f", value);
  text.pop_back();
  return text;
}

// Text as C's "%s" sees it: up to the first NUL.
std::string_view CText(std::string_view text) { return text.substr(0, text.find('\0')); }

// Reads a number the way getDoubleFromObjectOrReply does; on failure replies `error`.
bool ParseNumber(CommandContext& ctx, std::string_view arg, std::string_view error, double* out) {
  const std::optional<double> value = ParseDouble(arg);
  if (!value) {
    ctx.Error(error);
    return false;
  }
  *out = *value;
  return true;
}

// A longitude and a latitude within Redis's limits (extractLongLatOrReply).
bool ParseLngLat(CommandContext& ctx, std::string_view lng_arg, std::string_view lat_arg,
                 LngLat* out) {
  if (!ParseNumber(ctx, lng_arg, kNotFloat, &out->lng) ||
      !ParseNumber(ctx, lat_arg, kNotFloat, &out->lat)) {
    return false;
  }
  if (out->lng < kGeoLngMin || out->lng > kGeoLngMax || out->lat < kGeoLatMin ||
      out->lat > kGeoLatMax) {
    ctx.Error(base::Cat("invalid longitude,latitude pair ", FixedText(out->lng), ",",
                        FixedText(out->lat)));
    return false;
  }
  return true;
}

// Metres per unit, or nullopt after replying the error (extractUnitOrReply).
std::optional<double> ParseUnit(CommandContext& ctx, std::string_view unit) {
  if (IsOption(unit, "m")) return 1;
  if (IsOption(unit, "km")) return 1000;
  if (IsOption(unit, "ft")) return 0.3048;
  if (IsOption(unit, "mi")) return 1609.34;
  ctx.Error("unsupported unit provided. please use M, KM, FT, MI");
  return std::nullopt;
}

// "<radius> <unit>" (extractDistanceOrReply).
bool ParseRadius(CommandContext& ctx, Args args, size_t i, GeoShape* shape) {
  double radius;
  if (!ParseNumber(ctx, args[i], "need numeric radius", &radius)) return false;
  if (radius < 0) {
    ctx.Error("radius cannot be negative");
    return false;
  }
  const std::optional<double> conversion = ParseUnit(ctx, args[i + 1]);
  if (!conversion) return false;
  shape->kind = GeoShape::Kind::kRadius;
  shape->radius = radius;
  shape->conversion = *conversion;
  return true;
}

// "<width> <height> <unit>" (extractBoxOrReply).
bool ParseBox(CommandContext& ctx, Args args, size_t i, GeoShape* shape) {
  double width, height;
  if (!ParseNumber(ctx, args[i], "need numeric width", &width) ||
      !ParseNumber(ctx, args[i + 1], "need numeric height", &height)) {
    return false;
  }
  if (height < 0 || width < 0) {
    ctx.Error("height or width cannot be negative");
    return false;
  }
  const std::optional<double> conversion = ParseUnit(ctx, args[i + 2]);
  if (!conversion) return false;
  shape->kind = GeoShape::Kind::kBox;
  shape->width = width;
  shape->height = height;
  shape->conversion = *conversion;
  return true;
}

// The position of a member as a search centre, or the error Redis gives for a missing one.
bool MemberCenter(CommandContext& ctx, const zset::SortedSet& set, std::string_view member,
                  GeoShape* shape) {
  const std::optional<double> score = set.Score(member);
  if (!score) {
    ctx.Error("could not decode requested zset member");
    return false;
  }
  const LngLat p = GeoDecodeScore(*score);
  shape->lng = p.lng;
  shape->lat = p.lat;
  return true;
}

// ---------------------------------------------------------------------------------------------
// GEOADD key [NX | XX] [CH] longitude latitude member [longitude latitude member ...]
// ---------------------------------------------------------------------------------------------
void GeoAdd(CommandContext& ctx, Args args) {
  bool nx = false, xx = false;
  size_t first = 2;  // the first longitude
  for (; first < args.size(); ++first) {
    if (IsOption(args[first], "nx")) {
      nx = true;
    } else if (IsOption(args[first], "xx")) {
      xx = true;
    } else if (!IsOption(args[first], "ch")) {
      break;
    }
  }
  if ((args.size() - first) % 3 != 0 || (nx && xx)) {
    ctx.Error(kSyntaxError);
    return;
  }
  // ZADD key [options] score member ...: the options as given, the scores as integers.
  std::vector<std::string> zadd = {"zadd"};
  for (size_t i = 1; i < first; ++i) zadd.emplace_back(args[i]);
  for (size_t i = first; i < args.size(); i += 3) {
    LngLat p;
    if (!ParseLngLat(ctx, args[i], args[i + 1], &p)) return;
    zadd.push_back(IntegerText(static_cast<int64_t>(GeoScore(p.lng, p.lat))));
    zadd.emplace_back(args[i + 2]);
  }
  const std::vector<std::string_view> zadd_args(zadd.begin(), zadd.end());
  auto it = ctx.engine().commands.find("zadd");
  KEEL_ASSERT(it != ctx.engine().commands.end(), "ZADD is not registered");
  it->second->spec->handler(ctx, zadd_args);
  // Redis logs the rewritten command.
  if (ctx.dirty() > 0) ctx.Propagate(std::move(zadd));
}

// ---------------------------------------------------------------------------------------------
// GEOPOS, GEOHASH, GEODIST
// ---------------------------------------------------------------------------------------------

// The set at args[1] for a read, nullptr for a missing key; false after a WRONGTYPE reply.
bool ReadSet(CommandContext& ctx, std::string_view key, const zset::SortedSet** set) {
  bool wrong_type;
  const Value* value = LookupTyped(ctx, key, ValueType::kZset, &wrong_type);
  *set = value == nullptr ? nullptr : &value->zset();
  return !wrong_type;
}

void GeoPos(CommandContext& ctx, Args args) {
  const zset::SortedSet* set;
  if (!ReadSet(ctx, args[1], &set)) return;
  net::RespWriter& r = ctx.reply();
  r.ArrayHeader(args.size() - 2);
  for (size_t i = 2; i < args.size(); ++i) {
    const std::optional<double> score = set == nullptr ? std::nullopt : set->Score(args[i]);
    if (!score) {
      r.NullArray();
      continue;
    }
    const LngLat p = GeoDecodeScore(*score);
    r.ArrayHeader(2);
    r.HumanDouble(p.lng);
    r.HumanDouble(p.lat);
  }
}

void GeoHash(CommandContext& ctx, Args args) {
  const zset::SortedSet* set;
  if (!ReadSet(ctx, args[1], &set)) return;
  net::RespWriter& r = ctx.reply();
  r.ArrayHeader(args.size() - 2);
  for (size_t i = 2; i < args.size(); ++i) {
    const std::optional<double> score = set == nullptr ? std::nullopt : set->Score(args[i]);
    if (score) {
      r.BulkString(GeoHashText(*score));
    } else {
      r.Null();
    }
  }
}

// GEODIST key member1 member2 [M | KM | FT | MI]
void GeoDist(CommandContext& ctx, Args args) {
  double to_meters = 1;
  if (args.size() == 5) {
    const std::optional<double> conversion = ParseUnit(ctx, args[4]);
    if (!conversion) return;
    to_meters = *conversion;
  } else if (args.size() > 5) {
    ctx.Error(kSyntaxError);
    return;
  }
  const zset::SortedSet* set;
  if (!ReadSet(ctx, args[1], &set)) return;
  const std::optional<double> score1 = set == nullptr ? std::nullopt : set->Score(args[2]);
  const std::optional<double> score2 = score1 ? set->Score(args[3]) : std::nullopt;
  if (!score2) {
    ctx.reply().Null();
    return;
  }
  const LngLat a = GeoDecodeScore(*score1);
  const LngLat b = GeoDecodeScore(*score2);
  ctx.reply().BulkString(GeoDistanceText(GeoDistance(a.lng, a.lat, b.lng, b.lat) / to_meters));
}

// ---------------------------------------------------------------------------------------------
// GEOSEARCH, GEOSEARCHSTORE, GEORADIUS, GEORADIUSBYMEMBER (georadiusGeneric)
// ---------------------------------------------------------------------------------------------

enum SearchFlag : unsigned {
  kFromCoords = 1 << 0,  // GEORADIUS: key lng lat radius unit
  kFromMember = 1 << 1,  // GEORADIUSBYMEMBER: key member radius unit
  kNoStore = 1 << 2,     // the _RO variants: no STORE or STOREDIST
  kSearch = 1 << 3,      // GEOSEARCH's FROM... and BY... options
  kSearchStore = 1 << 4  // GEOSEARCHSTORE: the destination first, STOREDIST without a key
};

struct SearchOptions {
  GeoShape shape;
  bool with_dist = false, with_hash = false, with_coord = false;
  bool from_member = false, from_lnglat = false, by_radius = false, by_box = false;
  GeoOrder order = GeoOrder::kNone;
  bool any = false;
  int64_t count = 0;  // 0: unlimited
  std::optional<std::string_view> store_key;
  bool store_dist = false;
};

// Parses the options from args[first] on, in Redis's order; false after an error reply.
bool ParseSearchOptions(CommandContext& ctx, Args args, size_t first, unsigned flags,
                        const zset::SortedSet* set, SearchOptions& o) {
  const bool search = (flags & kSearch) != 0;
  const bool store_allowed = (flags & (kNoStore | kSearch)) == 0;
  for (size_t i = first; i < args.size(); ++i) {
    const std::string_view arg = args[i];
    const size_t following = args.size() - i - 1;  // arguments after this one
    if (IsOption(arg, "withdist")) {
      o.with_dist = true;
    } else if (IsOption(arg, "withhash")) {
      o.with_hash = true;
    } else if (IsOption(arg, "withcoord")) {
      o.with_coord = true;
    } else if (IsOption(arg, "any")) {
      o.any = true;
    } else if (IsOption(arg, "asc")) {
      o.order = GeoOrder::kAscending;
    } else if (IsOption(arg, "desc")) {
      o.order = GeoOrder::kDescending;
    } else if (IsOption(arg, "count") && following >= 1) {
      const std::optional<int64_t> count = ParseInteger(args[++i]);
      if (!count) {
        ctx.Error(kNotInteger);
        return false;
      }
      if (*count <= 0) {
        ctx.Error("COUNT must be > 0");
        return false;
      }
      o.count = *count;
    } else if ((IsOption(arg, "store") || IsOption(arg, "storedist")) && following >= 1 &&
               store_allowed) {
      o.store_dist = IsOption(arg, "storedist");
      o.store_key = args[++i];
    } else if (IsOption(arg, "storedist") && search && (flags & kSearchStore)) {
      o.store_dist = true;
    } else if (IsOption(arg, "frommember") && following >= 1 && search && !o.from_lnglat) {
      // Without a source key the parsing goes on, so that the reply depends on STORE.
      if (set != nullptr && !MemberCenter(ctx, *set, args[i + 1], &o.shape)) return false;
      o.from_member = true;
      ++i;
    } else if (IsOption(arg, "fromlonlat") && following >= 2 && search && !o.from_member) {
      LngLat p;
      if (!ParseLngLat(ctx, args[i + 1], args[i + 2], &p)) return false;
      o.shape.lng = p.lng;
      o.shape.lat = p.lat;
      o.from_lnglat = true;
      i += 2;
    } else if (IsOption(arg, "byradius") && following >= 2 && search && !o.by_box) {
      if (!ParseRadius(ctx, args, i + 1, &o.shape)) return false;
      o.by_radius = true;
      i += 2;
    } else if (IsOption(arg, "bybox") && following >= 3 && search && !o.by_radius) {
      if (!ParseBox(ctx, args, i + 1, &o.shape)) return false;
      o.by_box = true;
      i += 3;
    } else {
      ctx.Error(kSyntaxError);
      return false;
    }
  }
  const std::string_view name = CText(args[0]);
  if (o.store_key && (o.with_dist || o.with_hash || o.with_coord)) {
    ctx.Error(base::Cat((flags & kSearchStore) ? "GEOSEARCHSTORE" : "STORE option in GEORADIUS",
                        " is not compatible with WITHDIST, WITHHASH and WITHCOORD options"));
    return false;
  }
  if (search && !(o.from_member || o.from_lnglat)) {
    ctx.Error(base::Cat("exactly one of FROMMEMBER or FROMLONLAT can be specified for ", name));
    return false;
  }
  if (search && !(o.by_radius || o.by_box)) {
    ctx.Error(base::Cat("exactly one of BYRADIUS and BYBOX can be specified for ", name));
    return false;
  }
  if (o.any && o.count == 0) {
    ctx.Error("the ANY argument requires COUNT argument");
    return false;
  }
  return true;
}

void ReplyPoints(CommandContext& ctx, const SearchOptions& o, std::span<const GeoPoint> points) {
  net::RespWriter& r = ctx.reply();
  const size_t extras = (o.with_dist ? 1 : 0) + (o.with_hash ? 1 : 0) + (o.with_coord ? 1 : 0);
  r.ArrayHeader(points.size());
  for (const GeoPoint& p : points) {
    if (extras > 0) r.ArrayHeader(extras + 1);
    r.BulkString(p.member);
    if (o.with_dist) r.BulkString(GeoDistanceText(p.distance_m / o.shape.conversion));
    // Scores the scan found lie within a cell's range, below 2^54: exact as integers.
    if (o.with_hash) r.Integer(static_cast<int64_t>(p.score));
    if (o.with_coord) {
      r.ArrayHeader(2);
      r.HumanDouble(p.position.lng);
      r.HumanDouble(p.position.lat);
    }
  }
}

// Stores the points as a sorted set at the options' key (or deletes it when there are none).
void StorePoints(CommandContext& ctx, const SearchOptions& o, std::span<const GeoPoint> points) {
  const std::string_view key = *o.store_key;
  if (points.empty()) {
    if (ctx.db().Delete(key)) ctx.Dirty();
    ctx.reply().Integer(0);
    return;
  }
  size_t longest = 0;
  for (const GeoPoint& p : points) longest = std::max(longest, p.member.size());
  const bool compact = points.size() <= kCompactMaxMembers && longest <= kCompactMaxMemberBytes;
  zset::SortedSet result;
  for (const GeoPoint& p : points) {
    double score = o.store_dist ? p.distance_m / o.shape.conversion : p.score;
    if (compact && score == 0) score = 0;  // a listpack holds -0 as 0
    // A NaN distance (two nearly antipodal points) has no place in a sorted set; Redis aborts on
    // it (zslInsert asserts), keel leaves the member out.
    if (std::isnan(score)) continue;
    const absl::StatusOr<zset::AddResult> added = result.Add(p.member, score);
    KEEL_ASSERT(added.ok(), added.status().ToString());
  }
  // The set is built before the key is replaced: `points` may view the key's own members.
  const size_t stored = result.size();
  ctx.db().Set(key, Value::Zset(std::move(result))).set_compact(compact);
  ctx.Dirty(stored);
  ctx.reply().Integer(static_cast<int64_t>(stored));
}

void SearchGeneric(CommandContext& ctx, Args args, size_t source, unsigned flags) {
  const zset::SortedSet* set;
  if (!ReadSet(ctx, args[source], &set)) return;
  SearchOptions o;
  size_t first_option;
  if (flags & kFromCoords) {
    first_option = 6;
    LngLat p;
    if (!ParseLngLat(ctx, args[2], args[3], &p)) return;
    o.shape.lng = p.lng;
    o.shape.lat = p.lat;
    if (!ParseRadius(ctx, args, 4, &o.shape)) return;
  } else if (flags & kFromMember) {
    first_option = 5;
    // Without a source key neither the member nor the radius is read.
    if (set != nullptr &&
        (!MemberCenter(ctx, *set, args[2], &o.shape) || !ParseRadius(ctx, args, 3, &o.shape))) {
      return;
    }
  } else {
    first_option = source + 1;
    if (flags & kSearchStore) o.store_key = args[1];
  }
  if (!ParseSearchOptions(ctx, args, first_option, flags, set, o)) return;
  if (set == nullptr) {
    if (o.store_key) {
      if (ctx.db().Delete(*o.store_key)) ctx.Dirty();
      ctx.reply().Integer(0);
    } else {
      ctx.reply().ArrayHeader(0);
    }
    return;
  }
  // COUNT without an order returns the nearest, unless ANY asks for the first found.
  if (o.count != 0 && o.order == GeoOrder::kNone && !o.any) o.order = GeoOrder::kAscending;
  std::vector<GeoPoint> points =
      GeoCollect(*set, o.shape, o.any ? static_cast<size_t>(o.count) : 0);
  const size_t returned = o.count == 0 || points.size() < static_cast<uint64_t>(o.count)
                              ? points.size()
                              : static_cast<size_t>(o.count);
  GeoSort(points, o.order, returned);
  const std::span<const GeoPoint> kept(points.data(), returned);
  if (o.store_key) {
    StorePoints(ctx, o, kept);
  } else {
    ReplyPoints(ctx, o, kept);
  }
}

void GeoRadius(CommandContext& ctx, Args args) { SearchGeneric(ctx, args, 1, kFromCoords); }
void GeoRadiusRo(CommandContext& ctx, Args args) {
  SearchGeneric(ctx, args, 1, kFromCoords | kNoStore);
}
void GeoRadiusByMember(CommandContext& ctx, Args args) { SearchGeneric(ctx, args, 1, kFromMember); }
void GeoRadiusByMemberRo(CommandContext& ctx, Args args) {
  SearchGeneric(ctx, args, 1, kFromMember | kNoStore);
}
void GeoSearch(CommandContext& ctx, Args args) { SearchGeneric(ctx, args, 1, kSearch); }
void GeoSearchStore(CommandContext& ctx, Args args) {
  SearchGeneric(ctx, args, 2, kSearch | kSearchStore);
}

constexpr std::string_view kSearchComplexity =
    "O(N+log(M)) where N is the number of elements in the grid-aligned bounding box area around "
    "the shape provided as the filter and M is the number of items inside the shape";
constexpr std::string_view kRadiusComplexity =
    "O(N+log(M)) where N is the number of elements inside the bounding box of the circular area "
    "delimited by center and radius and M is the number of items inside the index.";

constexpr CommandSpec kCommands[] = {
    {"geoadd", -5, kWrite, 1, 1, 1, GeoAdd, "geo",
     "Add one or more geospatial items in the geospatial index represented using a sorted set",
     "3.2.0",
     "O(log(N)) for each item added, where N is the number of elements in the sorted set."},
    {"geodist", -4, kReadOnly, 1, 1, 1, GeoDist, "geo",
     "Returns the distance between two members of a geospatial index", "3.2.0", "O(log(N))"},
    {"geohash", -2, kReadOnly, 1, 1, 1, GeoHash, "geo",
     "Returns members of a geospatial index as standard geohash strings", "3.2.0",
     "O(log(N)) for each member requested, where N is the number of elements in the sorted set."},
    {"geopos", -2, kReadOnly, 1, 1, 1, GeoPos, "geo",
     "Returns longitude and latitude of members of a geospatial index", "3.2.0",
     "O(N) where N is the number of members requested."},
    {"georadius", -6, kWrite, 1, 1, 1, GeoRadius, "geo",
     "Query a sorted set representing a geospatial index to fetch members matching a given "
     "maximum distance from a point",
     "3.2.0", kRadiusComplexity},
    {"georadius_ro", -6, kReadOnly, 1, 1, 1, GeoRadiusRo, "geo",
     "A read-only variant for GEORADIUS", "3.2.10", kRadiusComplexity},
    {"georadiusbymember", -5, kWrite, 1, 1, 1, GeoRadiusByMember, "geo",
     "Query a sorted set representing a geospatial index to fetch members matching a given "
     "maximum distance from a member",
     "3.2.0", kRadiusComplexity},
    {"georadiusbymember_ro", -5, kReadOnly, 1, 1, 1, GeoRadiusByMemberRo, "geo",
     "A read-only variant for GEORADIUSBYMEMBER", "3.2.10", kRadiusComplexity},
    {"geosearch", -7, kReadOnly, 1, 1, 1, GeoSearch, "geo",
     "Query a sorted set representing a geospatial index to fetch members inside an area of a "
     "box or a circle.",
     "6.2.0", kSearchComplexity},
    {"geosearchstore", -8, kWrite, 1, 2, 1, GeoSearchStore, "geo",
     "Query a sorted set representing a geospatial index to fetch members inside an area of a "
     "box or a circle, and store the result in another key.",
     "6.2.0", kSearchComplexity},
};

}  // namespace

std::span<const CommandSpec> GeoCommands() { return kCommands; }

}  // namespace keel::redis::internal
