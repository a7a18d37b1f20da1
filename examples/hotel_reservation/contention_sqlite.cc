// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// The contention workload in a real database: the chapter's room_type_inventory table in SQLite,
// one connection per client, and the "database constraint" booking as one conditional UPDATE.
//
// What SQLite does with it: in WAL mode readers never block the writer, but there is one writer
// at a time for the whole database (https://www.sqlite.org/wal.html, "Concurrency"), so SQLite
// serializes the bookings with a database-wide lock rather than row locks. BEGIN IMMEDIATE takes
// that write lock up front, so a transaction never fails half-way with SQLITE_BUSY after it has
// read (https://www.sqlite.org/lang_transaction.html). A client that finds the lock taken is
// handed back SQLITE_BUSY through the busy handler: the one here yields the processor and tries
// again (counted as a retry), instead of the stock busy_timeout handler, which sleeps 1 to 100 ms
// between tries and would measure its sleep schedule rather than the database.
#include <sqlite3.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "contention_internal.h"
#include "keel/base/assert.h"
#include "keel/base/status.h"
#include "keel/base/strings.h"

namespace keel::examples::hotel::internal {
namespace {

// Tries for the write lock before a booking's attempt gives up (each try yields the processor).
constexpr int kMaxBusyTries = 1'000'000;

absl::Status SqliteError(sqlite3* db, const std::string& what) {
  return absl::InternalError(base::Cat("sqlite: ", what, ": ", sqlite3_errmsg(db)));
}

absl::Status Exec(sqlite3* db, const std::string& sql) {
  char* error = nullptr;
  if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error) != SQLITE_OK) {
    std::string message = error != nullptr ? error : "unknown error";
    sqlite3_free(error);
    return absl::InternalError(base::Cat("sqlite: ", sql, ": ", message));
  }
  return absl::OkStatus();
}

// A connection and the booking statements prepared on it.
struct Connection {
  sqlite3* db = nullptr;
  sqlite3_stmt* begin = nullptr;
  sqlite3_stmt* update = nullptr;
  sqlite3_stmt* commit = nullptr;
  sqlite3_stmt* rollback = nullptr;
  int64_t busy = 0;  // busy-handler calls since the last look

  ~Connection() {
    for (sqlite3_stmt* s : {begin, update, commit, rollback}) sqlite3_finalize(s);
    sqlite3_close_v2(db);
  }
};

int YieldWhenBusy(void* arg, int tries) {
  ++static_cast<Connection*>(arg)->busy;
  if (tries >= kMaxBusyTries) return 0;  // give up: the statement returns SQLITE_BUSY
  std::this_thread::yield();
  return 1;
}

// Runs a statement that returns no rows; its result code.
int Step(sqlite3_stmt* statement) {
  const int rc = sqlite3_step(statement);
  sqlite3_reset(statement);
  return rc;
}

class SqliteInventory final : public Inventory {
 public:
  static absl::StatusOr<std::unique_ptr<Inventory>> Make(const ContentionOptions& options) {
    auto inventory = std::unique_ptr<SqliteInventory>(new SqliteInventory(options));
    KEEL_RETURN_IF_ERROR(inventory->Init());
    return std::unique_ptr<Inventory>(std::move(inventory));
  }

  ~SqliteInventory() override {
    connections_.clear();  // close before the files go
    if (!temp_dir_.empty()) {
      std::error_code ignored;
      std::filesystem::remove_all(temp_dir_, ignored);
    }
  }

  Outcome Book(int client, const Booking& booking, ClientCounters& counters) override {
    Connection& c = *connections_[static_cast<size_t>(client)];
    c.busy = 0;
    Outcome outcome = Outcome::kGaveUp;
    for (int attempt = 1; attempt <= max_attempts_; ++attempt) {
      if (Step(c.begin) != SQLITE_DONE) continue;  // busy past kMaxBusyTries: try again
      sqlite3_bind_int64(c.update, 1, booking.rooms);
      sqlite3_bind_text(c.update, 2, NightDate(booking.first_night).c_str(), -1, SQLITE_TRANSIENT);
      sqlite3_bind_text(c.update, 3, NightDate(booking.first_night + booking.nights).c_str(), -1,
                        SQLITE_TRANSIENT);
      const int rc = Step(c.update);
      KEEL_ASSERT(rc == SQLITE_DONE, "UPDATE: ", sqlite3_errmsg(c.db));
      // All nights or none: the row of a night over its limit was not updated.
      const bool all_nights = sqlite3_changes(c.db) == booking.nights;
      if (!all_nights) {
        KEEL_ASSERT(Step(c.rollback) == SQLITE_DONE, "ROLLBACK: ", sqlite3_errmsg(c.db));
        outcome = Outcome::kSoldOut;
        break;
      }
      if (Step(c.commit) == SQLITE_DONE) {
        outcome = Outcome::kBooked;
        break;
      }
      KEEL_ASSERT(Step(c.rollback) == SQLITE_DONE, "ROLLBACK: ", sqlite3_errmsg(c.db));
      ++counters.retries;
    }
    counters.retries += c.busy;
    return outcome;
  }

  absl::StatusOr<std::vector<int64_t>> Reserved() override {
    sqlite3* db = connections_.front()->db;
    sqlite3_stmt* select = nullptr;
    if (sqlite3_prepare_v2(db,
                           "SELECT total_reserved FROM room_type_inventory WHERE hotel_id = ?1 "
                           "AND room_type_id = ?2 ORDER BY date",
                           -1, &select, nullptr) != SQLITE_OK) {
      return SqliteError(db, "prepare SELECT");
    }
    sqlite3_bind_int64(select, 1, kHotelId);
    sqlite3_bind_int64(select, 2, kRoomTypeId);
    std::vector<int64_t> out;
    int rc;
    while ((rc = sqlite3_step(select)) == SQLITE_ROW)
      out.push_back(sqlite3_column_int64(select, 0));
    sqlite3_finalize(select);
    if (rc != SQLITE_DONE) return SqliteError(db, "SELECT");
    return out;
  }

 private:
  explicit SqliteInventory(const ContentionOptions& options) : options_(options) {
    max_attempts_ = options.max_attempts;
  }

  absl::Status Init() {
    std::string dir = options_.sqlite_dir;
    if (dir.empty()) {
      const char* tmp = getenv("TMPDIR");
      std::string pattern =
          base::Cat(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp", "/keel-hotel-sqlite-XXXXXX");
      if (mkdtemp(pattern.data()) == nullptr) {
        return absl::InternalError(base::Cat("cannot create a directory like ", pattern));
      }
      dir = temp_dir_ = pattern;
    }
    const std::string path = dir + "/inventory.db";
    std::error_code ignored;
    for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path + suffix, ignored);

    for (int t = 0; t < options_.threads; ++t) {
      auto c = std::make_unique<Connection>();
      if (sqlite3_open_v2(path.c_str(), &c->db,
                          SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                          nullptr) != SQLITE_OK) {
        return SqliteError(c->db, base::Cat("open ", path));
      }
      sqlite3_busy_handler(c->db, YieldWhenBusy, c.get());
      if (t == 0) KEEL_RETURN_IF_ERROR(CreateTable(c->db));
      KEEL_RETURN_IF_ERROR(Exec(c->db, "PRAGMA synchronous=" + options_.sqlite_synchronous));
      KEEL_RETURN_IF_ERROR(Prepare(*c));
      connections_.push_back(std::move(c));
    }
    return absl::OkStatus();
  }

  absl::Status CreateTable(sqlite3* db) {
    KEEL_RETURN_IF_ERROR(Exec(db, "PRAGMA journal_mode=WAL"));
    KEEL_RETURN_IF_ERROR(Exec(db,
                              "CREATE TABLE room_type_inventory ("
                              "  hotel_id INTEGER NOT NULL,"
                              "  room_type_id INTEGER NOT NULL,"
                              "  date TEXT NOT NULL,"
                              "  total_inventory INTEGER NOT NULL,"
                              "  total_reserved INTEGER NOT NULL,"
                              "  PRIMARY KEY (hotel_id, room_type_id, date))"));
    KEEL_RETURN_IF_ERROR(Exec(db, "BEGIN"));
    for (int n = 0; n < options_.dates; ++n) {
      KEEL_RETURN_IF_ERROR(Exec(
          db, base::Cat("INSERT INTO room_type_inventory VALUES (", kHotelId, ", ", kRoomTypeId,
                        ", '", NightDate(n), "', ", options_.total_inventory, ", 0)")));
    }
    return Exec(db, "COMMIT");
  }

  absl::Status Prepare(Connection& c) {
    const std::string update = base::Cat(
        "UPDATE room_type_inventory SET total_reserved = total_reserved + ?1 "
        "WHERE hotel_id = ",
        kHotelId, " AND room_type_id = ", kRoomTypeId,
        " AND date >= ?2 AND date < ?3 "
        "AND total_reserved + ?1 <= total_inventory * 11 / 10");  // floor(inventory * 1.1)
    const std::pair<sqlite3_stmt**, std::string> statements[] = {{&c.begin, "BEGIN IMMEDIATE"},
                                                                 {&c.update, update},
                                                                 {&c.commit, "COMMIT"},
                                                                 {&c.rollback, "ROLLBACK"}};
    for (const auto& [statement, sql] : statements) {
      if (sqlite3_prepare_v2(c.db, sql.c_str(), -1, statement, nullptr) != SQLITE_OK) {
        return SqliteError(c.db, base::Cat("prepare ", sql));
      }
    }
    return absl::OkStatus();
  }

  ContentionOptions options_;
  int max_attempts_;
  std::string temp_dir_;                                  // removed at the end when the run made it
  std::vector<std::unique_ptr<Connection>> connections_;  // one per client
};

}  // namespace

absl::StatusOr<std::unique_ptr<Inventory>> MakeSqliteInventory(const ContentionOptions& options) {
  return SqliteInventory::Make(options);
}

}  // namespace keel::examples::hotel::internal
