// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// The replay tool against a model written from the issue's rules alone (regular expressions and
// std::chrono for the format, std::map for the state, strings for the stored fields), on random
// command files: uninterrupted, reopened between batches, with a writer process killed at random
// moments, and under every crash state keel::wal::CrashExplorer builds.
#include "hotel_reservation/replay.h"

#include <doctest/doctest.h>
#include <unistd.h>

#include <chrono>
#include <map>
// GCC 12 warns of maybe-uninitialized std::function members inside <regex> when optimizing with
// the sanitizers on; the warning is in the library's code, not this file's.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <regex>
#include <string>
#include <tuple>
#include <vector>

#include "absl/strings/str_split.h"
#include "keel/base/random.h"
#include "keel/base/status.h"
#include "keel/base/strings.h"
#include "keel/wal/crash_explorer.h"
#include "testing/testing.h"

namespace keel::examples::hotel {
namespace {

// ---- The model ------------------------------------------------------------------------------

class Model {
 public:
  std::string Judge(uint64_t number, const std::string& line) {
    const std::string result = Result(line);
    return base::Cat(number, ",", key_, ",", result);
  }

  // "<hotel>,<room type>,<date>,<total>,<reserved>" lines, sorted.
  std::string Inventory() const {
    std::string out;
    for (const auto& [night, row] : inventory_) {
      out += base::Cat(std::get<0>(night), ",", std::get<1>(night), ",", std::get<2>(night), ",",
                       row.first, ",", row.second, "\n");
    }
    return out;
  }

 private:
  struct Reservation {
    std::string hotel, room_type;
    std::vector<std::string> nights;
    int64_t rooms;
    bool cancelled = false;
  };
  using Night = std::tuple<int64_t, int64_t, std::string>;

  static bool Matches(const std::string& s, const std::regex& pattern) {
    return std::regex_match(s, pattern);
  }
  // A decimal string's value if it is at most 2^63 - 1, else -1.
  static int64_t Value(const std::string& digits) {
    const std::string v = digits.substr(std::min(digits.find_first_not_of('0'), digits.size()));
    const std::string max = "9223372036854775807";
    if (v.size() > max.size() || (v.size() == max.size() && v > max)) return -1;
    return v.empty() ? 0 : std::stoll(v);
  }
  static std::optional<std::chrono::sys_days> Date(const std::string& s) {
    const std::chrono::year_month_day ymd{std::chrono::year{std::stoi(s.substr(0, 4))},
                                          std::chrono::month{unsigned(std::stoi(s.substr(5, 2)))},
                                          std::chrono::day{unsigned(std::stoi(s.substr(8, 2)))}};
    if (!ymd.ok() || int(ymd.year()) < 1) return std::nullopt;
    return std::chrono::sys_days{ymd};
  }
  static std::string Canonical(const std::chrono::sys_days& d) {
    const std::chrono::year_month_day ymd{d};
    char text[16];
    std::snprintf(text, sizeof text, "%04d-%02u-%02u", int(ymd.year()), unsigned(ymd.month()),
                  unsigned(ymd.day()));
    return text;
  }

  std::string Result(std::string line) {
    key_ = "-";
    if (!line.empty() && line.back() == '\r') line.pop_back();
    std::vector<std::string> f;
    for (absl::string_view piece : absl::StrSplit(line, ',')) f.emplace_back(piece);
    static const std::regex kNumber("[0-9]+");
    static const std::regex kDate("[0-9]{4}-[0-9]{2}-[0-9]{2}");
    static const std::regex kKey("[A-Za-z0-9_-]{1,64}");
    if (f[0] == "I" && f.size() == 5 && Matches(f[1], kNumber) && Matches(f[2], kNumber) &&
        Matches(f[3], kDate) && Matches(f[4], kNumber)) {
      const int64_t hotel = Value(f[1]), room_type = Value(f[2]), total = Value(f[4]);
      const auto date = Date(f[3]);
      if (hotel < 1 || room_type < 1 || !date || total < 0 || total > 1'000'000) return "INVALID";
      auto& row = inventory_[{hotel, room_type, Canonical(*date)}];
      row.first = total;
      return "OK";
    }
    if (f[0] == "R" && f.size() == 7 && Matches(f[1], kKey) && Matches(f[2], kNumber) &&
        Matches(f[3], kNumber) && Matches(f[4], kDate) && Matches(f[5], kDate) &&
        Matches(f[6], kNumber)) {
      key_ = f[1];
      const int64_t hotel = Value(f[2]), room_type = Value(f[3]), rooms = Value(f[6]);
      const auto start = Date(f[4]), end = Date(f[5]);
      if (hotel < 1 || room_type < 1 || !start || !end || *end <= *start ||
          (*end - *start).count() > 365 || rooms < 1 || rooms > 1000) {
        return "INVALID";
      }
      const std::string fields = base::Cat("R|", hotel, "|", room_type, "|", Canonical(*start), "|",
                                           Canonical(*end), "|", rooms);
      if (auto stored = keys_.find(key_); stored != keys_.end()) {
        return stored->second.first == fields ? stored->second.second : "KEY_REUSED";
      }
      std::string result = "OK";
      std::vector<std::string> nights;
      for (auto d = *start; d < *end; d += std::chrono::days{1}) nights.push_back(Canonical(d));
      for (const std::string& night : nights) {
        if (!inventory_.contains({hotel, room_type, night})) result = "NO_INVENTORY";
      }
      if (result == "OK") {
        for (const std::string& night : nights) {
          const auto& row = inventory_[{hotel, room_type, night}];
          if (row.second + rooms > row.first * 11 / 10) result = "SOLD_OUT";
        }
      }
      if (result == "OK") {
        for (const std::string& night : nights)
          inventory_[{hotel, room_type, night}].second += rooms;
        reservations_[key_] = {f[2], f[3], nights, rooms};
        hotel_of_[key_] = {hotel, room_type};
      }
      keys_[key_] = {fields, result};
      return result;
    }
    if (f[0] == "X" && f.size() == 3 && Matches(f[1], kKey) && Matches(f[2], kKey)) {
      key_ = f[1];
      const std::string fields = "X|" + f[2];
      if (auto stored = keys_.find(key_); stored != keys_.end()) {
        return stored->second.first == fields ? stored->second.second : "KEY_REUSED";
      }
      std::string result;
      auto r = reservations_.find(f[2]);
      if (r == reservations_.end()) {
        result = "UNKNOWN_RESERVATION";
      } else if (r->second.cancelled) {
        result = "ALREADY_CANCELLED";
      } else {
        const auto [hotel, room_type] = hotel_of_[f[2]];
        for (const std::string& night : r->second.nights) {
          inventory_[{hotel, room_type, night}].second -= r->second.rooms;
        }
        r->second.cancelled = true;
        result = "OK";
      }
      keys_[key_] = {fields, result};
      return result;
    }
    return "MALFORMED";
  }

  std::string key_;
  std::map<Night, std::pair<int64_t, int64_t>> inventory_;
  std::map<std::string, std::pair<std::string, std::string>> keys_;  // fields, result
  std::map<std::string, Reservation> reservations_;
  std::map<std::string, std::pair<int64_t, int64_t>> hotel_of_;
};

// ---- Random command files --------------------------------------------------------------------

std::string RandomDate(base::Random& rng) {
  // Ten days around a month end, sometimes a date that does not exist or a broken form.
  const int day = 25 + static_cast<int>(rng.Uniform(10));
  if (rng.Uniform(40) == 0) return "2026-02-30";
  if (rng.Uniform(60) == 0) return "2026-2-01";
  return day <= 31 ? base::Cat("2026-01-", day) : base::Cat("2026-02-0", day - 31);
}

std::string RandomNumber(base::Random& rng, int64_t max) {
  std::string zeros(rng.Uniform(8) == 0 ? rng.Uniform(3) + 1 : 0, '0');
  if (rng.Uniform(80) == 0) return "x1";
  if (rng.Uniform(80) == 0) return "0";
  return zeros + std::to_string(1 + static_cast<int64_t>(rng.Uniform(static_cast<uint64_t>(max))));
}

std::string RandomKey(base::Random& rng) {
  if (rng.Uniform(100) == 0) return "bad key";
  return base::Cat("k", rng.Uniform(30));
}

std::vector<std::string> RandomFile(base::Random& rng, size_t lines) {
  std::vector<std::string> file;
  for (size_t i = 0; i < lines; ++i) {
    if (!file.empty() && rng.Uniform(6) == 0) {
      file.push_back(file[rng.Uniform(file.size())]);  // a retry of an earlier line
      continue;
    }
    switch (rng.Uniform(10)) {
      case 0:
      case 1:
        file.push_back(base::Cat("I,", RandomNumber(rng, 2), ",", RandomNumber(rng, 2), ",",
                                 RandomDate(rng), ",", rng.Uniform(8)));
        break;
      case 2:
      case 3:
        file.push_back(base::Cat("X,", RandomKey(rng), ",", RandomKey(rng)));
        break;
      case 4:
        file.push_back(rng.Uniform(2) == 0 ? "" : "R,k1,1,1");
        break;
      default:
        file.push_back(base::Cat("R,", RandomKey(rng), ",", RandomNumber(rng, 2), ",",
                                 RandomNumber(rng, 2), ",", RandomDate(rng), ",", RandomDate(rng),
                                 ",", RandomNumber(rng, 4)));
    }
  }
  return file;
}

struct ModelRun {
  std::vector<std::string> output;  // one line per input line
  std::string inventory;
};

ModelRun RunModel(const std::vector<std::string>& file) {
  Model model;
  ModelRun run;
  for (size_t i = 0; i < file.size(); ++i) run.output.push_back(model.Judge(i + 1, file[i]));
  run.inventory = model.Inventory();
  return run;
}

std::string InventoryOf(const Replayer& replayer) {
  std::string out;
  replayer.service().ForEachRow([&](const RoomNight& night, const InventoryRow& row) {
    out += base::Cat(night.hotel_id, ",", night.room_type_id, ",", FormatDay(night.day), ",",
                     row.total_inventory, ",", row.total_reserved, "\n");
  });
  return out;
}

// Replays lines [from, to) of `file` (numbered from 1 as the tool does when given that part),
// committing every `batch` lines; returns the output lines.
absl::StatusOr<std::vector<std::string>> ReplayPart(Replayer& replayer,
                                                    const std::vector<std::string>& file,
                                                    size_t from, size_t to, size_t batch) {
  std::vector<std::string> lines;
  std::string out;
  for (size_t i = from; i < to; ++i) {
    KEEL_RETURN_IF_ERROR(replayer.Process(i - from + 1, file[i], out));
    if ((i - from + 1) % batch == 0 || i + 1 == to) {
      KEEL_RETURN_IF_ERROR(replayer.Commit());
      for (absl::string_view l : absl::StrSplit(out, '\n', absl::SkipEmpty())) {
        lines.emplace_back(l);
      }
      out.clear();
    }
  }
  return lines;
}

// The output line with its line number taken off: a part of a file numbers its lines from 1.
std::string Unnumbered(const std::string& line) { return line.substr(line.find(',')); }

// ---- Tests ------------------------------------------------------------------------------------

TEST_CASE("Replay matches the model on random command files reopened between batches") {
  const uint64_t seed = testing::TestSeed(1401);
  CAPTURE(seed);
  base::Random rng(seed);
  const uint64_t rounds = testing::TestRounds("KEEL_HOTEL_ROUNDS", 6);
  for (uint64_t round = 0; round < rounds; ++round) {
    CAPTURE(round);
    const std::vector<std::string> file = RandomFile(rng, 1500);
    const ModelRun want = RunModel(file);
    testing::TempDir dir;
    ServiceOptions options;
    options.checkpoint_log_bytes = 1 + rng.Uniform(8192);  // checkpoints often
    std::vector<std::string> got;
    for (size_t at = 0; at < file.size();) {
      // Each piece is a separate open of the directory, as separate runs of the tool are.
      const size_t to = std::min(file.size(), at + 1 + rng.Uniform(400));
      auto replayer = Replayer::Open(dir.path(), options);
      REQUIRE(replayer.ok());
      auto part = ReplayPart(**replayer, file, at, to, 1 + rng.Uniform(50));
      REQUIRE(part.ok());
      for (size_t i = 0; i < part->size(); ++i) {
        CAPTURE(file[at + i]);
        REQUIRE(Unnumbered((*part)[i]) == Unnumbered(want.output[at + i]));
      }
      at = to;
    }
    auto replayer = Replayer::Open(dir.path(), options);
    REQUIRE(replayer.ok());
    CHECK(InventoryOf(**replayer) == want.inventory);
    // The whole file again: every key's stored outcome, the same output, the same inventory.
    auto again = ReplayPart(**replayer, file, 0, file.size(), 100);
    REQUIRE(again.ok());
    CHECK(*again == want.output);
    CHECK(InventoryOf(**replayer) == want.inventory);
  }
}

TEST_CASE("Replay after a killed writer gives the output of one uninterrupted run") {
  const uint64_t seed = testing::TestSeed(1402);
  CAPTURE(seed);
  base::Random rng(seed);
  const uint64_t rounds = testing::TestRounds("KEEL_HOTEL_KILL_ROUNDS", 12);
  for (uint64_t round = 0; round < rounds; ++round) {
    CAPTURE(round);
    const std::vector<std::string> file = RandomFile(rng, 6000);
    const ModelRun want = RunModel(file);
    testing::TempDir dir;
    ServiceOptions options;
    options.checkpoint_log_bytes = 1 + rng.Uniform(1 << 16);
    const size_t batch = 1 + rng.Uniform(20);
    // The child reports each output line once its batch is durable, as the tool writes it.
    const testing::KilledChild child = testing::KillChildAfter(
        [&](int report_fd) {
          auto replayer = Replayer::Open(dir.path(), options);
          if (!replayer.ok()) _exit(2);
          std::string out;
          for (size_t i = 0; i < file.size(); ++i) {
            if (!(*replayer)->Process(i + 1, file[i], out).ok()) _exit(3);
            if ((i + 1) % batch == 0) {
              if (!(*replayer)->Commit().ok()) _exit(4);
              if (write(report_fd, out.data(), out.size()) < 0) _exit(5);
              out.clear();
            }
          }
          _exit(0);
        },
        static_cast<int64_t>(rng.UniformInRange(2'000, 80'000)));
    std::vector<std::string> reported;
    for (absl::string_view l : absl::StrSplit(child.reports, '\n', absl::SkipEmpty())) {
      reported.emplace_back(l);
    }
    CAPTURE(reported.size());
    // What the child printed is what one uninterrupted run prints.
    for (size_t i = 0; i < reported.size(); ++i) REQUIRE(reported[i] == want.output[i]);
    // Replay a part that starts at or before the first line it did not print (a script that
    // knows where its output stopped), or the whole file.
    const size_t from = rng.Uniform(2) == 0 ? 0 : rng.Uniform(reported.size() + 1);
    auto replayer = Replayer::Open(dir.path(), options);
    REQUIRE(replayer.ok());
    auto rest = ReplayPart(**replayer, file, from, file.size(), 1 + rng.Uniform(64));
    REQUIRE(rest.ok());
    for (size_t i = 0; i < rest->size(); ++i) {
      CAPTURE(file[from + i]);
      REQUIRE(Unnumbered((*rest)[i]) == Unnumbered(want.output[from + i]));
    }
    CHECK(InventoryOf(**replayer) == want.inventory);
  }
}

TEST_CASE("Replay survives every crash state of its file system") {
  // A short file, replayed in batches on a recorded file system with a checkpoint every few
  // hundred bytes of log; then, for every crash point, the states a power cut may leave. From
  // each, the part of the file after the last line whose output was written before the crash is
  // replayed: it must give the uninterrupted run's output for those lines and its final
  // inventory, which holds only if every line printed before the crash was durable.
  const uint64_t seed = testing::TestSeed(1403);
  CAPTURE(seed);
  base::Random rng(seed);
  const std::vector<std::string> file = RandomFile(rng, 300);
  const ModelRun want = RunModel(file);
  wal::CrashExplorer explorer;
  ServiceOptions options;
  options.file_system = &explorer.file_system();
  options.checkpoint_log_bytes = 600;
  std::vector<std::pair<uint64_t, size_t>> printed;  // (mutations, lines printed by then)
  {
    auto replayer = Replayer::Open("/hotel", options);
    REQUIRE(replayer.ok());
    std::string out;
    for (size_t i = 0; i < file.size(); ++i) {
      REQUIRE((*replayer)->Process(i + 1, file[i], out).ok());
      if ((i + 1) % 7 == 0 || i + 1 == file.size()) {
        REQUIRE((*replayer)->Commit().ok());
        printed.emplace_back(explorer.mutations(), i + 1);
      }
    }
  }
  auto result = explorer.Explore(
      [&](wal::FileSystem& crashed, const wal::CrashPoint& point) -> absl::Status {
        size_t from = 0;
        for (const auto& [mutations, lines] : printed) {
          if (mutations <= point.mutations) from = lines;
        }
        ServiceOptions reopened = options;
        reopened.file_system = &crashed;
        KEEL_ASSIGN_OR_RETURN(auto replayer, Replayer::Open("/hotel", reopened));
        KEEL_ASSIGN_OR_RETURN(auto output, ReplayPart(*replayer, file, from, file.size(), 13));
        for (size_t i = 0; i < output.size(); ++i) {
          if (Unnumbered(output[i]) != Unnumbered(want.output[from + i])) {
            return absl::InternalError(base::Cat("replayed from line ", from + 1, ", line ",
                                                 from + i + 1, " gave ", output[i]));
          }
        }
        if (InventoryOf(*replayer) != want.inventory) {
          return absl::InternalError(
              base::Cat("replayed from line ", from + 1, ", the inventory differs"));
        }
        return absl::OkStatus();
      },
      {.seed = seed});
  REQUIRE(result.ok());
  INFO(result->Summary());
  CHECK(result->failures.empty());
  CHECK(result->crash_points > 10);
}

}  // namespace
}  // namespace keel::examples::hotel
