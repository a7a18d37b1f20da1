// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// `hotel_reservation demo`: the case study narrated. The chapter's data model and an availability
// search; reservations made idempotent by their reservation id (a retry, a double click, a reused
// id); double booking prevented under heavy contention and the chapter's three concurrency
// approaches (and SQLite) side by side; the booking saga with a payment failure compensated and a
// crash mid-saga recovered; and the replay tool killed mid-run and rerun to the same output.
#include "hotel_reservation/demo.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "common/cli.h"
#include "hotel_reservation/service.h"
#include "keel/base/random.h"
#include "keel/base/strings.h"

extern char** environ;

namespace keel::examples::hotel {
namespace {

constexpr int64_t kHotel = 1;
struct RoomType {
  int64_t id;
  const char* name;
  int64_t rooms;
};
constexpr RoomType kRoomTypes[] = {{1, "standard", 100}, {2, "king", 20}, {3, "queen", 8}};

Command Reserve(std::string_view id, int64_t room_type, Day start, Day end, int64_t rooms) {
  return ReserveCommand(id, kHotel, room_type, start, end, rooms);
}

// Runs a command and commits it, as a request handler answering its client would.
std::string Call(HotelService& service, const Command& command) {
  absl::StatusOr<std::string> result = service.Execute(command);
  if (!result.ok()) Die(result.status().ToString());
  if (absl::Status s = service.Commit(); !s.ok()) Die(s.ToString());
  return *result;
}

void DataModel(HotelService& service, Day first_night, int nights) {
  Heading("1. The data model: inventory per room type per date");
  std::printf(
      "A daily job pre-populates one row per (hotel, room type, date) with total_inventory and\n"
      "total_reserved. Reservations may take up to floor(total_inventory * 1.1) rooms a night\n"
      "(10%% overbooking), checked on every night of a stay at once.\n\n");
  for (const RoomType& type : kRoomTypes) {
    for (Day d = first_night; d < first_night + nights; ++d) {
      Call(service, SetInventoryCommand(kHotel, type.id, d, type.rooms));
    }
  }
  const Day start = first_night + 2;
  const Day end = first_night + 5;
  std::printf("Availability search, %s to %s (3 nights):\n\n", FormatDay(start).c_str(),
              FormatDay(end).c_str());
  std::printf("    %-10s %16s %26s\n", "room type", "total_inventory", "reservable (with 10%)");
  for (const RoomType& type : kRoomTypes) {
    const std::optional<int64_t> free = service.Available(kHotel, type.id, start, end);
    std::printf("    %-10s %16lld %26lld\n", type.name, static_cast<long long>(type.rooms),
                static_cast<long long>(free.value_or(-1)));
  }
}

void Idempotency(HotelService& service, Day first_night) {
  Heading("2. The reservation id is the idempotency key");
  std::printf(
      "The client generates the reservation id when the guest opens the booking page, and sends\n"
      "it with every attempt. The service stores each id with its fields and outcome in the same\n"
      "log record as the rooms it took (keel::idempotency::DurableKeyStore).\n\n");
  const Day start = first_night;
  const Day end = first_night + 2;
  auto show = [&](std::string_view what, const Command& c) {
    const std::string result = Call(service, c);
    const std::optional<InventoryRow> row = service.Row({kHotel, c.room_type_id, start});
    std::printf("    %-44s -> %-11s king rooms reserved on %s: %lld\n", std::string(what).c_str(),
                result.c_str(), FormatDay(start).c_str(),
                static_cast<long long>(row ? row->total_reserved : -1));
    return result;
  };
  bool ok = true;
  ok &= show("reserve res-7f3a, 2 king rooms, 2 nights", Reserve("res-7f3a", 2, start, end, 2)) ==
        "OK";
  ok &= show("the same request again (a timeout's retry)", Reserve("res-7f3a", 2, start, end, 2)) ==
        "OK";
  ok &= show("the same again (a double click)", Reserve("res-7f3a", 2, start, end, 2)) == "OK";
  ok &= show("res-7f3a with 3 rooms (a client bug)", Reserve("res-7f3a", 2, start, end, 3)) ==
        "KEY_REUSED";
  const std::optional<InventoryRow> row = service.Row({kHotel, 2, start});
  ok &= row && row->total_reserved == 2;
  std::printf(
      "\n    one reservation, two rooms taken: %s. KEY_REUSED is HTTP 422; a retry while the\n"
      "    first attempt still runs would get 409 (keel::idempotency::KeyStore::Begin).\n",
      ok ? "yes" : "NO");
  if (!ok) Die("idempotency failed");
}

// Runs `hotel_reservation replay` as a child process on `in`, killing it after `kill_after` (or
// never), and returns what it printed.
std::string RunReplay(const std::string& self, const std::string& dir, const std::string& in,
                      std::chrono::milliseconds kill_after) {
  const std::string out_path = dir + ".out";
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, out_path.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  std::vector<std::string> args = {self, "replay", "--dir", dir, "--in", in};
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  if (posix_spawn(&pid, self.c_str(), &actions, nullptr, argv.data(), environ) != 0) {
    Die("cannot start the replay tool");
  }
  posix_spawn_file_actions_destroy(&actions);
  if (kill_after.count() > 0) {
    std::this_thread::sleep_for(kill_after);
    kill(pid, SIGKILL);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  std::ifstream file(out_path);
  std::stringstream text;
  text << file.rdbuf();
  return text.str();
}

void ReplayCrash(const std::string& self, const std::string& work, bool short_run) {
  Heading("5. The replay tool, killed mid-run and run again");
  // A file of reservations, cancellations and their retries over a busy month.
  keel::base::Random rng(1405);
  std::string file;
  for (int d = 1; d <= 28; ++d) file += base::Cat("I,1,1,2027-02-", d < 10 ? "0" : "", d, ",40\n");
  const int lines = short_run ? 60'000 : 400'000;
  for (int i = 0; i < lines; ++i) {
    const uint64_t id = rng.Uniform(static_cast<uint64_t>(lines / 2));
    if (rng.Uniform(5) == 0) {
      file +=
          base::Cat("X,cancel-", id, ",res-", rng.Uniform(static_cast<uint64_t>(lines / 2)), "\n");
    } else {
      const uint64_t start = 1 + rng.Uniform(25);
      const uint64_t end = start + 1 + rng.Uniform(3);
      file += base::Cat("R,res-", id, ",1,1,2027-02-", start < 10 ? "0" : "", start, ",2027-02-",
                        end < 10 ? "0" : "", end, ",", 1 + rng.Uniform(2), "\n");
    }
  }
  const std::string in = work + "/commands.txt";
  std::ofstream(in) << file;
  const std::string whole = RunReplay(self, work + "/uninterrupted", in, {});
  std::string last;
  for (const int ms : {30, 60, 90}) {
    last = RunReplay(self, work + "/killed", in, std::chrono::milliseconds(ms));
    const bool prefix = whole.compare(0, last.size(), last) == 0;
    std::printf(
        "    SIGKILL after %3d ms: %7zu of %zu output lines printed, a prefix of the "
        "uninterrupted run: %s\n",
        ms, static_cast<size_t>(std::count(last.begin(), last.end(), '\n')),
        static_cast<size_t>(std::count(whole.begin(), whole.end(), '\n')), prefix ? "yes" : "NO");
    if (!prefix) Die("a killed replay printed something an uninterrupted run does not");
  }
  last = RunReplay(self, work + "/killed", in, {});
  std::printf("    run again to the end: output identical to one uninterrupted run: %s\n",
              last == whole ? "yes" : "NO");
  if (last != whole) Die("the replay after kills differs from an uninterrupted run");
}

}  // namespace

void Heading(std::string_view title) {
  std::printf("\n== %.*s\n\n", static_cast<int>(title.size()), title.data());
}

[[noreturn]] void Die(std::string_view why) {
  std::fprintf(stderr, "hotel_reservation demo: FAILED: %.*s\n", static_cast<int>(why.size()),
               why.data());
  std::exit(1);
}

}  // namespace keel::examples::hotel

int Demo(int argc, char** argv) {
  using namespace keel::examples::hotel;
  keel::examples::Flags flags("hotel_reservation demo",
                              "The hotel reservation case study, narrated.");
  flags.AddBool("short", "a shorter run (the smoke test's)");
  int exit_code = 0;
  if (!flags.Parse(argc - 1, argv + 1, &exit_code)) return exit_code;
  const bool short_run = flags.GetBool("short");
  const std::string work =
      (std::filesystem::temp_directory_path() / keel::base::Cat("keel_hotel_demo.", getpid()))
          .string();
  std::filesystem::remove_all(work);
  std::filesystem::create_directories(work);
  const Day first_night = DaysFromCivil(2026, 12, 20);
  {
    absl::StatusOr<std::unique_ptr<HotelService>> service = HotelService::Open(work + "/hotel");
    if (!service.ok()) Die(service.status().ToString());
    DataModel(**service, first_night, 14);
    Idempotency(**service, first_night);
  }
  Contention(short_run);
  BookingSagas(work, short_run);
  ReplayCrash(std::filesystem::read_symlink("/proc/self/exe").string(), work, short_run);
  std::filesystem::remove_all(work);
  std::printf("\nAll checks passed.\n");
  return 0;
}
