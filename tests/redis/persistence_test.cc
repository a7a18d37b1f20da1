// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// The engine's persistence (Redis's append-only file on keel's write-ahead log): a restart gives
// back the keyspace the engine held, byte for byte as clients read it, across rewrites and with
// keys expiring on a manual clock; and the files survive what crashes do to them: a log cut at
// every byte gives a prefix of the commands, every flipped bit is reported or cut off as a torn
// tail, every crash state of a small workload keeps what was acknowledged, and a writer killed
// with SIGKILL loses nothing it acknowledged under FsyncPolicy::kAlways.
//
// KEEL_REDIS_PERSIST_ROUNDS sets how many random streams the restart test runs, and
// KEEL_REDIS_KILL_ROUNDS how many writers are killed; KEEL_TEST_SEED replays another seed.
#include <doctest/doctest.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "keel/base/clock.h"
#include "keel/base/random.h"
#include "keel/base/strings.h"
#include "keel/net/resp_writer.h"
#include "keel/redis/engine.h"
#include "keel/wal/crash_explorer.h"
#include "keel/wal/fault_injecting_file_system.h"
#include "keel/wal/log.h"
#include "keel/wal/memory_file_system.h"
#include "redis/command_generator.h"
#include "testing/testing.h"

namespace keel::redis {
namespace {

using Command = std::vector<std::string>;

constexpr int64_t kStartNs = int64_t{1'700'000'000} * base::kNanosPerSecond;

EngineOptions Options(wal::FileSystem* fs, const base::Clock* clock,
                      FsyncPolicy fsync = FsyncPolicy::kAlways) {
  EngineOptions options;
  options.dir = "/db";
  options.file_system = fs;
  options.clock = clock;
  options.fsync = fsync;
  options.rewrite_percentage = 0;  // rewrites only when a test asks
  return options;
}

std::unique_ptr<Engine> MustOpen(const EngineOptions& options) {
  absl::StatusOr<std::unique_ptr<Engine>> engine = Engine::Open(options);
  REQUIRE_MESSAGE(engine.ok(), engine.status().ToString());
  return std::move(*engine);
}

// Runs a command, waits for it as a session would, and returns the reply.
std::string Run(Engine& engine, ClientState& client, const Command& command) {
  std::vector<std::string_view> args(command.begin(), command.end());
  std::string reply;
  net::RespWriter writer(reply);
  const uint64_t token = engine.Execute(client, writer, args);
  const absl::Status durable = engine.WaitDurable(token);
  REQUIRE_MESSAGE(durable.ok(), durable.ToString());
  return reply;
}

// The whole keyspace as clients read it (RESP3): every key's type, PTTL and value. With
// `rewritten`, every score of -0 reads as 0: a rewrite writes a sorted set as ZADDs, and the
// members that land while the reloaded set is still compact lose the sign of their zero (a
// listpack stores -0 as 0), which is the one difference a rewrite makes.
std::string Dump(Engine& engine, bool rewritten, std::initializer_list<const char*> extra = {}) {
  ClientState client = engine.NewClient();
  client.protocol = net::Protocol::kResp3;
  std::vector<std::string> keys(std::begin(testing::kGeneratedKeys),
                                std::end(testing::kGeneratedKeys));
  keys.insert(keys.end(), extra.begin(), extra.end());
  std::string out;
  for (const std::string& key : keys) {
    const std::string type = Run(engine, client, {"TYPE", key});
    if (type == "+none\r\n") continue;
    out += base::Cat(key, " ", type, Run(engine, client, {"PTTL", key}));
    if (type == "+string\r\n") {
      out += Run(engine, client, {"GET", key});
      continue;
    }
    std::string members = Run(engine, client, {"ZRANGE", key, "0", "-1", "WITHSCORES"});
    if (rewritten) {
      for (size_t at = 0; (at = members.find(",-0\r\n", at)) != std::string::npos;) {
        members.replace(at, 5, ",0\r\n");
      }
    }
    out += members;
  }
  // Last: DBSIZE counts keys whose time has passed until something deletes them (as Redis's
  // does), and TYPE above has deleted those among the generator's keys.
  return base::Cat(out, "dbsize ", Run(engine, client, {"DBSIZE"}));
}

// ---------------------------------------------------------------------------------------------
// Restarts
// ---------------------------------------------------------------------------------------------

// A random stream's next command: mostly the generator's, and sometimes a flush, a short expiry,
// or time passing, so that keys expire between commands and across restarts.
Command NextCommand(base::Random& rng, testing::CommandGenerator& generator,
                    base::ManualClock& clock) {
  const uint64_t r = rng.Uniform(1000);
  if (r < 3) return {rng.Bernoulli(0.5) ? "FLUSHALL" : "FLUSHDB"};
  if (r < 40) {
    clock.Advance(static_cast<int64_t>(rng.Uniform(1500)) * base::kNanosPerMilli);
    return {"PING"};
  }
  if (r < 60) {
    const char* key = testing::kGeneratedKeys[rng.Uniform(std::size(testing::kGeneratedKeys))];
    return {"PEXPIRE", key, base::Cat(1 + rng.Uniform(2000))};
  }
  return generator.Next();
}

TEST_CASE("A restart restores every key as the live engine held it across random streams") {
  const uint64_t rounds = keel::testing::TestRounds("KEEL_REDIS_PERSIST_ROUNDS", 3);
  for (uint64_t round = 0; round < rounds; ++round) {
    const uint64_t seed = keel::testing::TestSeed(7000 + round);
    CAPTURE(seed);
    const FsyncPolicy policy =
        std::array{FsyncPolicy::kAlways, FsyncPolicy::kEverySec, FsyncPolicy::kNo}[round % 3];
    wal::MemoryFileSystem fs;
    base::ManualClock clock(kStartNs);
    EngineOptions options = Options(&fs, &clock, policy);
    options.log_segment_bytes = 64 << 10;  // several segments, so that rewrites drop some
    base::Random rng(seed);
    testing::CommandGenerator generator(seed);
    std::unique_ptr<Engine> engine = MustOpen(options);
    ClientState client = engine->NewClient();
    bool rewritten = false;
    int restarts = 0;
    for (int step = 1; step <= 3000; ++step) {
      Run(*engine, client, NextCommand(rng, generator, clock));
      if (rng.Bernoulli(0.003)) {
        REQUIRE(engine->Rewrite().ok());
        rewritten = true;
      }
      if (step % 500 == 0) {
        CAPTURE(step);
        const std::string live = Dump(*engine, rewritten);
        engine.reset();
        engine = MustOpen(options);
        ++restarts;
        REQUIRE(Dump(*engine, rewritten) == live);
        client = engine->NewClient();
      }
    }
    CHECK(restarts == 6);
    const PersistenceStats stats = engine->persistence_stats();
    MESSAGE("round ", round, ": ", stats.rewrites, " rewrites since the last restart, ",
            stats.loaded_commands, " commands replayed at it, ", Dump(*engine, false).size(),
            " bytes of keyspace");
    CHECK(stats.loaded_commands > 0);
  }
}

TEST_CASE("Expired keys stay expired across a restart and a replay does not expire anything") {
  wal::MemoryFileSystem fs;
  base::ManualClock clock(kStartNs);
  auto engine = MustOpen(Options(&fs, &clock));
  ClientState client = engine->NewClient();
  CHECK(Run(*engine, client, {"SET", "short", "v", "PX", "1000"}) == "+OK\r\n");
  CHECK(Run(*engine, client, {"SET", "long", "v", "EX", "100"}) == "+OK\r\n");
  CHECK(Run(*engine, client, {"ZADD", "z", "1", "m"}) == ":1\r\n");
  CHECK(Run(*engine, client, {"PEXPIRE", "z", "5000"}) == ":1\r\n");
  // A key that expires and is then written again: the log holds its DEL before the INCR, and
  // a replay at any later time must not expire the old key under the INCR.
  CHECK(Run(*engine, client, {"SET", "counter", "5", "PX", "100"}) == "+OK\r\n");
  clock.Advance(200 * base::kNanosPerMilli);
  CHECK(Run(*engine, client, {"INCR", "counter"}) == ":1\r\n");
  // A key written while it has a time, which passes while the server is down: a replay that
  // expired keys would run this INCR on a missing key and make a key with no time at all.
  CHECK(Run(*engine, client, {"SET", "ttl-counter", "5", "PX", "1000"}) == "+OK\r\n");
  CHECK(Run(*engine, client, {"INCR", "ttl-counter"}) == ":6\r\n");
  engine.reset();

  clock.Advance(2 * base::kNanosPerSecond);  // "short" is past its time while the server is down
  engine = MustOpen(Options(&fs, &clock));
  client = engine->NewClient();
  CHECK(Run(*engine, client, {"EXISTS", "short", "ttl-counter"}) == ":0\r\n");
  CHECK(Run(*engine, client, {"TTL", "long"}) == ":98\r\n");
  CHECK(Run(*engine, client, {"PTTL", "z"}) == ":2800\r\n");
  CHECK(Run(*engine, client, {"GET", "counter"}) == "$1\r\n1\r\n");
  CHECK(Run(*engine, client, {"TTL", "counter"}) == ":-1\r\n");
  CHECK(Run(*engine, client, {"DBSIZE"}) == ":3\r\n");
  engine.reset();

  // Open logged the deletion of "short" as a DEL: a clock set back before its time does not
  // bring it back.
  base::ManualClock earlier(kStartNs);
  engine = MustOpen(Options(&fs, &earlier));
  client = engine->NewClient();
  CHECK(Run(*engine, client, {"EXISTS", "short"}) == ":0\r\n");
  CHECK(Run(*engine, client, {"EXISTS", "long", "z", "counter"}) == ":3\r\n");
  engine.reset();

  // After a rewrite the TTLs are in the base, as PEXPIREAT.
  clock.Advance(4 * base::kNanosPerSecond);  // past "z"'s time
  engine = MustOpen(Options(&fs, &clock));
  REQUIRE(engine->Rewrite().ok());
  engine.reset();
  engine = MustOpen(Options(&fs, &clock));
  client = engine->NewClient();
  CHECK(Run(*engine, client, {"EXISTS", "z"}) == ":0\r\n");
  CHECK(Run(*engine, client, {"TTL", "long"}) == ":94\r\n");
  clock.Advance(100 * base::kNanosPerSecond);
  engine.reset();
  engine = MustOpen(Options(&fs, &clock));
  client = engine->NewClient();
  CHECK(Run(*engine, client, {"DBSIZE"}) == ":1\r\n");
  CHECK(Run(*engine, client, {"GET", "counter"}) == "$1\r\n1\r\n");
}

TEST_CASE("A rewrite replaces the log with a base and drops the segments it covers") {
  wal::MemoryFileSystem fs;
  base::ManualClock clock(kStartNs);
  EngineOptions options = Options(&fs, &clock, FsyncPolicy::kNo);
  options.log_segment_bytes = 64 << 10;
  auto engine = MustOpen(options);
  ClientState client = engine->NewClient();
  for (int i = 0; i < 3000; ++i) {
    Run(*engine, client, {"ZADD", "board", base::Cat(i % 100), base::Cat("player", i % 300)});
    Run(*engine, client, {"SET", base::Cat("s", i % 10), std::string(20, 'x'), "EX", "1000"});
  }
  Run(*engine, client, {"SET", "big", std::string(50'000, 'b')});  // rewritten as SET + APPENDs
  const PersistenceStats before = engine->persistence_stats();
  REQUIRE(engine->Rewrite().ok());
  const PersistenceStats after = engine->persistence_stats();
  CHECK(after.rewrites == 1);
  // What is left is the base and the segment of the log that holds the offset it covers.
  CHECK(after.current_size < before.current_size / 2);
  CHECK(after.base_size == after.current_size);
  CHECK(after.last_rewrite_pause_us >= 0);
  Run(*engine, client, {"ZADD", "board", "-0", "late"});
  REQUIRE(engine->Rewrite().ok());  // the second removes the first's base
  const std::string live = Dump(*engine, true, {"board", "big", "s0", "s9"});
  engine.reset();
  absl::StatusOr<std::vector<std::string>> names = fs.List("/db");
  REQUIRE(names.ok());
  std::sort(names->begin(), names->end());
  CHECK(*names == std::vector<std::string>{"LOCK", "MANIFEST", "base-2", "log"});
  engine = MustOpen(options);
  CHECK(Dump(*engine, true, {"board", "big", "s0", "s9"}) == live);
  CHECK(engine->persistence_stats().loaded_commands < 200);
}

TEST_CASE("The log is rewritten on its own when it doubles and on BGREWRITEAOF") {
  wal::MemoryFileSystem fs;
  base::ManualClock clock(kStartNs);
  EngineOptions options = Options(&fs, &clock, FsyncPolicy::kEverySec);
  options.rewrite_min_bytes = 32 << 10;
  options.rewrite_percentage = 100;
  options.log_segment_bytes = 64 << 10;
  options.background_interval_ms = 5;
  auto engine = MustOpen(options);
  ClientState client = engine->NewClient();
  for (int i = 0; engine->persistence_stats().rewrites == 0; ++i) {
    REQUIRE(i < 1'000'000);
    Run(*engine, client, {"SET", base::Cat("k", i % 50), base::Cat(i)});
  }
  std::string info = Run(*engine, client, {"INFO", "persistence"});
  CHECK(absl::StrContains(info, "aof_enabled:1\r\n"));
  CHECK(absl::StrContains(info, "aof_last_write_status:ok\r\n"));

  {
    auto memory = Engine::Open({});
    REQUIRE(memory.ok());
    ClientState other = (*memory)->NewClient();
    CHECK(absl::StartsWith(Run(**memory, other, {"BGREWRITEAOF"}), "-ERR"));
    CHECK(absl::StrContains(Run(**memory, other, {"INFO", "persistence"}), "aof_enabled:0\r\n"));
  }
  const uint64_t rewrites = engine->persistence_stats().rewrites;
  CHECK(Run(*engine, client, {"BGREWRITEAOF"}) ==
        "+Background append only file rewriting started\r\n");
  while (engine->persistence_stats().rewrites == rewrites) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  CHECK(absl::StrContains(Run(*engine, client, {"INFO", "persistence"}),
                          base::Cat("aof_rewrites:", rewrites + 1, "\r\n")));
  CHECK(Run(*engine, client, {"CONFIG", "GET", "appendfsync"}) ==
        "*2\r\n$11\r\nappendfsync\r\n$8\r\neverysec\r\n");
}

TEST_CASE("A reply that reads another client's unlogged write waits for that write") {
  for (const FsyncPolicy policy : {FsyncPolicy::kAlways, FsyncPolicy::kEverySec}) {
    CAPTURE(static_cast<int>(policy));
    wal::MemoryFileSystem fs;
    base::ManualClock clock(kStartNs);
    EngineOptions options = Options(&fs, &clock, policy);
    options.background_interval_ms = 3'600'000;  // nothing written behind the test's back
    auto engine = MustOpen(options);
    ClientState writer_client = engine->NewClient();
    ClientState reader_client = engine->NewClient();
    const auto execute = [&](ClientState& client, std::vector<std::string_view> args) {
      std::string reply;
      net::RespWriter writer(reply);
      return std::pair(engine->Execute(client, writer, args), reply);
    };
    // Nothing pending: a read needs no wait.
    CHECK(execute(reader_client, {"GET", "x"}).first == 0);
    const uint64_t set = execute(writer_client, {"SET", "x", "1"}).first;
    REQUIRE(set > 0);
    // The reader sees the value before the SET is logged, so its reply waits for the SET.
    const auto [get, reply] = execute(reader_client, {"GET", "x"});
    CHECK(reply == "$1\r\n1\r\n");
    CHECK(get >= set);
    // So does a write that changes nothing, and an error reply about the key's type.
    CHECK(execute(reader_client, {"SET", "x", "2", "NX"}).first >= set);
    CHECK(execute(reader_client, {"ZSCORE", "x", "m"}).first >= set);
    REQUIRE(engine->WaitDurable(get).ok());
    CHECK(execute(reader_client, {"GET", "x"}).first == 0);
  }
}

TEST_CASE("Concurrent clients share writes and every acknowledged one survives a restart") {
  for (const FsyncPolicy policy : {FsyncPolicy::kAlways, FsyncPolicy::kEverySec}) {
    wal::MemoryFileSystem fs;
    base::ManualClock clock(kStartNs);
    EngineOptions options = Options(&fs, &clock, policy);
    options.background_interval_ms = 1;  // the background thread's writes join in
    auto engine = MustOpen(options);
    constexpr int kThreads = 8;
    constexpr int kWrites = 300;
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        ClientState client = engine->NewClient();
        for (int i = 0; i < kWrites; ++i) {
          // A failed write aborts; the keyspace is checked once the threads have ended.
          const std::string key = base::Cat("k", t);
          const std::string value = base::Cat(i);
          const std::string_view args[] = {"APPEND", key, value};
          std::string reply;
          net::RespWriter writer(reply);
          if (!engine->WaitDurable(engine->Execute(client, writer, args)).ok()) std::abort();
        }
      });
    }
    for (std::thread& thread : threads) thread.join();
    const PersistenceStats stats = engine->persistence_stats();
    CHECK(stats.logged_records == kThreads * kWrites);
    const std::string live = Dump(*engine, false, {"k0", "k1", "k2", "k3", "k4", "k5", "k6", "k7"});
    engine.reset();
    engine = MustOpen(options);
    CHECK(Dump(*engine, false, {"k0", "k1", "k2", "k3", "k4", "k5", "k6", "k7"}) == live);
    ClientState client = engine->NewClient();
    std::string expected;
    for (int i = 0; i < kWrites; ++i) expected += base::Cat(i);
    CHECK(Run(*engine, client, {"GET", "k5"}) ==
          base::Cat("$", expected.size(), "\r\n", expected, "\r\n"));
  }
}

TEST_CASE("A failed sync refuses later writes with MISCONF and INFO reports it") {
  wal::MemoryFileSystem memory;
  wal::FaultInjectingFileSystem fs(memory);
  base::ManualClock clock(kStartNs);
  auto engine = MustOpen(Options(&fs, &clock));
  ClientState client = engine->NewClient();
  CHECK(Run(*engine, client, {"SET", "a", "1"}) == "+OK\r\n");
  fs.FailSyncs(true);
  std::vector<std::string_view> args = {"SET", "b", "2"};
  std::string reply;
  net::RespWriter writer(reply);
  const uint64_t token = engine->Execute(client, writer, args);
  CHECK_FALSE(engine->WaitDurable(token).ok());
  CHECK(absl::StartsWith(Run(*engine, client, {"SET", "c", "3"}),
                         "-MISCONF Errors writing to the AOF file: "));
  CHECK(Run(*engine, client, {"GET", "a"}) == "$1\r\n1\r\n");  // reads go on
  CHECK(absl::StrContains(Run(*engine, client, {"INFO", "persistence"}),
                          "aof_last_write_status:err\r\n"));
}

// A new data directory survives a crash only once its parent is synced, and "/db/"'s parent is
// "/": taking everything before the last slash as the parent synced "/db" itself instead and
// left the directory's entry in "/" to chance.
TEST_CASE("A data directory named with a trailing slash survives a power cut") {
  wal::MemoryFileSystem memory;
  wal::FaultInjectingFileSystem fs(memory);
  base::ManualClock clock(kStartNs);
  EngineOptions options = Options(&fs, &clock);
  options.dir = "/db/";
  {
    auto engine = MustOpen(options);
    ClientState client = engine->NewClient();
    CHECK(Run(*engine, client, {"SET", "a", "1"}) == "+OK\r\n");  // acknowledged once durable
  }
  REQUIRE(fs.PowerCut().ok());
  auto engine = MustOpen(options);
  ClientState client = engine->NewClient();
  CHECK(Run(*engine, client, {"GET", "a"}) == "$1\r\n1\r\n");
}

TEST_CASE("A log record that is not a command keel knows stops Open naming the file and offset") {
  for (const std::string_view payload :
       {std::string_view("*1\r\n$7\r\nNOSUCH1\r\n"), std::string_view("garbage"),
        std::string_view("*2\r\n$3\r\nSET\r\n$9\r\nshort\r\n")}) {
    CAPTURE(payload);
    wal::MemoryFileSystem fs;
    {
      auto engine = MustOpen(Options(&fs, nullptr));
      ClientState client = engine->NewClient();
      Run(*engine, client, {"SET", "a", "1"});
    }
    {
      wal::LogOptions log_options;
      log_options.file_system = &fs;
      auto log = wal::Log::Open("/db/log", log_options);
      REQUIRE(log.ok());
      REQUIRE((*log)->Append(payload).ok());
    }
    absl::StatusOr<std::unique_ptr<Engine>> engine = Engine::Open(Options(&fs, nullptr));
    REQUIRE_FALSE(engine.ok());
    CHECK(engine.status().code() == absl::StatusCode::kDataLoss);
    CHECK(absl::StrContains(engine.status().message(), "/db/log, record at offset 1"));
  }
}

TEST_CASE("A log that is missing after a rewrite stops Open instead of starting empty") {
  wal::MemoryFileSystem fs;
  {
    auto engine = MustOpen(Options(&fs, nullptr));
    ClientState client = engine->NewClient();
    Run(*engine, client, {"SET", "a", "1"});
    REQUIRE(engine->Rewrite().ok());
    Run(*engine, client, {"SET", "b", "2"});
  }
  absl::StatusOr<std::vector<std::string>> names = fs.List("/db/log");
  REQUIRE(names.ok());
  for (const std::string& name : *names) REQUIRE(fs.Remove(base::Cat("/db/log/", name)).ok());
  REQUIRE(fs.RemoveDir("/db/log").ok());
  absl::StatusOr<std::unique_ptr<Engine>> engine = Engine::Open(Options(&fs, nullptr));
  REQUIRE_FALSE(engine.ok());
  CHECK(engine.status().code() == absl::StatusCode::kDataLoss);
  CHECK(absl::StrContains(engine.status().message(), "/db/log is missing"));
}

// ---------------------------------------------------------------------------------------------
// Crashes
// ---------------------------------------------------------------------------------------------

// The files under `dir`, by path, and the directories.
struct Tree {
  std::map<std::string, std::string> files;
  std::vector<std::string> dirs;
};

Tree ReadTree(wal::FileSystem& fs, const std::string& dir) {
  Tree tree;
  std::vector<std::string> pending = {dir};
  while (!pending.empty()) {
    const std::string at = pending.back();
    pending.pop_back();
    tree.dirs.push_back(at);
    absl::StatusOr<std::vector<std::string>> names = fs.List(at);
    REQUIRE(names.ok());
    for (const std::string& name : *names) {
      const std::string path = base::Cat(at, "/", name);
      if (fs.List(path).ok()) {
        pending.push_back(path);
        continue;
      }
      absl::StatusOr<std::unique_ptr<wal::File>> file = fs.Open(path, wal::OpenMode::kExisting);
      REQUIRE(file.ok());
      std::string bytes((*file)->size(), '\0');
      REQUIRE((*file)->ReadAt(0, bytes.data(), bytes.size()).ok());
      tree.files[path] = bytes;
    }
  }
  return tree;
}

void WriteTree(wal::FileSystem& fs, const Tree& tree) {
  for (const std::string& dir : tree.dirs) REQUIRE(fs.CreateDir(dir).ok());
  for (const auto& [path, bytes] : tree.files) {
    absl::StatusOr<std::unique_ptr<wal::File>> file = fs.Open(path, wal::OpenMode::kCreate);
    REQUIRE(file.ok());
    REQUIRE((*file)->Append(bytes).ok());
  }
}

std::string OnlyFileIn(const Tree& tree, std::string_view dir, std::string_view suffix) {
  std::string found;
  for (const auto& [path, bytes] : tree.files) {
    if (path.starts_with(dir) && path.ends_with(suffix)) {
      REQUIRE(found.empty());
      found = path;
    }
  }
  REQUIRE(!found.empty());
  return found;
}

// A short workload, and the keyspace after each prefix of it on a memory-only engine: what any
// recovery must give back is one of these.
struct Workload {
  std::vector<Command> commands;
  std::vector<std::string> dumps;  // dumps[k]: after the first k commands
  size_t rewrite_after = 0;        // the durable run rewrites after this many commands (0: never)
};

Workload MakeWorkload(uint64_t seed, size_t size, size_t rewrite_after,
                      const base::ManualClock& clock) {
  Workload workload;
  workload.rewrite_after = rewrite_after;
  testing::CommandGenerator generator(seed);
  EngineOptions memory_options;
  memory_options.clock = &clock;
  auto memory = MustOpen(memory_options);
  ClientState client = memory->NewClient();
  workload.dumps.push_back(Dump(*memory, false));
  while (workload.commands.size() < size) {
    Command command = generator.Next();
    Run(*memory, client, command);
    workload.commands.push_back(std::move(command));
    workload.dumps.push_back(Dump(*memory, false));
  }
  return workload;
}

// Runs the workload on a durable engine in `fs` and returns its files.
Tree RunDurably(const Workload& workload, wal::FileSystem& fs, const base::ManualClock& clock) {
  auto engine = MustOpen(Options(&fs, &clock));
  ClientState client = engine->NewClient();
  for (size_t i = 0; i < workload.commands.size(); ++i) {
    if (i == workload.rewrite_after && i > 0) REQUIRE(engine->Rewrite().ok());
    Run(*engine, client, workload.commands[i]);
  }
  engine.reset();
  Tree tree = ReadTree(fs, "/db");
  // Under kAlways the log writes zeros ahead of its records (preallocation), which Open trims.
  for (auto& [path, bytes] : tree.files) {
    if (path.ends_with(".wal")) bytes.resize(bytes.find_last_not_of('\0') + 1);
  }
  return tree;
}

// Which prefix of the workload `dump` is, from `from` on; -1 for none.
int PrefixOf(const Workload& workload, const std::string& dump, size_t from) {
  for (size_t k = from; k < workload.dumps.size(); ++k) {
    if (workload.dumps[k] == dump) return static_cast<int>(k);
  }
  return -1;
}

TEST_CASE("The append-only log cut at every byte recovers a prefix of the commands") {
  for (const size_t rewrite_after : {size_t{0}, size_t{12}}) {
    CAPTURE(rewrite_after);
    const uint64_t seed = keel::testing::TestSeed(71);
    CAPTURE(seed);
    base::ManualClock clock(kStartNs);
    const Workload workload = MakeWorkload(seed, 24, rewrite_after, clock);
    wal::MemoryFileSystem original;
    const Tree tree = RunDurably(workload, original, clock);
    const std::string segment = OnlyFileIn(tree, "/db/log/", ".wal");
    const std::string& bytes = tree.files.at(segment);
    size_t previous = 0;
    for (size_t cut = 0; cut <= bytes.size(); ++cut) {
      CAPTURE(cut);
      Tree damaged = tree;
      damaged.files[segment].resize(cut);
      wal::MemoryFileSystem fs;
      WriteTree(fs, damaged);
      auto engine = MustOpen(Options(&fs, &clock));
      // After a rewrite the base holds the first commands whatever happens to the log. (A
      // command may change nothing, so a keyspace is that of the first of equal prefixes.)
      const int k = PrefixOf(workload, Dump(*engine, false), std::max(previous, rewrite_after));
      REQUIRE(k >= 0);
      previous = static_cast<size_t>(k);
    }
    CHECK(workload.dumps[previous] == workload.dumps.back());  // the whole log: the workload
  }
}

TEST_CASE(
    "The append-only log with a flipped bit is refused naming the file or cut as a torn "
    "tail") {
  const uint64_t seed = keel::testing::TestSeed(72);
  CAPTURE(seed);
  base::ManualClock clock(kStartNs);
  const Workload workload = MakeWorkload(seed, 12, 6, clock);
  wal::MemoryFileSystem original;
  const Tree tree = RunDurably(workload, original, clock);
  const std::string log_segment = OnlyFileIn(tree, "/db/log/", ".wal");
  const std::string base_segment = OnlyFileIn(tree, "/db/base-", ".wal");
  size_t refused = 0;
  size_t cut = 0;
  for (const std::string& file : {log_segment, base_segment, std::string("/db/MANIFEST")}) {
    const bool in_base = file != log_segment;
    for (size_t bit = 0; bit < tree.files.at(file).size() * 8; ++bit) {
      CAPTURE(file);
      CAPTURE(bit);
      Tree damaged = tree;
      damaged.files[file][bit / 8] =
          static_cast<char>(damaged.files[file][bit / 8] ^ (1 << (bit % 8)));
      wal::MemoryFileSystem fs;
      WriteTree(fs, damaged);
      absl::StatusOr<std::unique_ptr<Engine>> engine = Engine::Open(Options(&fs, &clock));
      if (!engine.ok()) {
        CHECK(engine.status().code() == absl::StatusCode::kDataLoss);
        CHECK_MESSAGE(absl::StrContains(engine.status().message(), "/db/"),
                      engine.status().ToString());
        ++refused;
        continue;
      }
      // Damage the log does not see is a torn tail at most; the base and the manifest are
      // checked whole, so what opens from them is the whole workload.
      const int k = PrefixOf(workload, Dump(**engine, false), workload.rewrite_after);
      REQUIRE(k >= 0);
      if (in_base) CHECK(workload.dumps[k] == workload.dumps.back());
      if (workload.dumps[k] != workload.dumps.back()) ++cut;
    }
  }
  MESSAGE("refused ", refused, ", cut as a torn tail ", cut);
  CHECK(refused > 0);
}

TEST_CASE("The append-only log keeps every acknowledged command in every crash state") {
  const uint64_t seed = keel::testing::TestSeed(73);
  CAPTURE(seed);
  base::ManualClock clock(kStartNs);
  const Workload workload = MakeWorkload(seed, 16, 8, clock);
  wal::CrashExplorer explorer;
  std::map<uint64_t, size_t> promised;  // mutations() when acknowledged -> commands acknowledged
  // Two pages of preallocated zeros: the explorer builds states from every page written.
  EngineOptions options = Options(&explorer.file_system(), &clock);
  options.log_preallocate_bytes = 8 << 10;
  {
    auto engine = MustOpen(options);
    ClientState client = engine->NewClient();
    for (size_t i = 0; i < workload.commands.size(); ++i) {
      if (i == workload.rewrite_after) REQUIRE(engine->Rewrite().ok());
      Run(*engine, client, workload.commands[i]);
      promised[explorer.mutations()] = i + 1;
    }
  }
  wal::CrashExplorerOptions explore;
  explore.seed = seed;
  absl::StatusOr<wal::CrashExploration> result = explorer.Explore(
      [&](wal::FileSystem& crashed, const wal::CrashPoint& point) -> absl::Status {
        size_t acknowledged = 0;
        for (const auto& [at, count] : promised) {
          if (at <= point.mutations) acknowledged = count;
        }
        EngineOptions reopen = options;
        reopen.file_system = &crashed;
        absl::StatusOr<std::unique_ptr<Engine>> engine = Engine::Open(reopen);
        if (!engine.ok()) return engine.status();
        // The keyspace must be that of a prefix at least as long as what was acknowledged.
        if (PrefixOf(workload, Dump(**engine, false), acknowledged) < 0) {
          return absl::DataLossError(base::Cat("the keyspace is that of no prefix of ",
                                               acknowledged, " or more commands"));
        }
        return absl::OkStatus();
      },
      explore);
  REQUIRE(result.ok());
  MESSAGE(result->Summary());
  CHECK(result->failures.empty());
  CHECK(result->states > 100);
}

TEST_CASE("A writer killed with SIGKILL loses no acknowledged write under always") {
  const uint64_t rounds = keel::testing::TestRounds("KEEL_REDIS_KILL_ROUNDS", 4);
  for (uint64_t round = 0; round < rounds; ++round) {
    const uint64_t seed = keel::testing::TestSeed(7400 + round);
    CAPTURE(seed);
    keel::testing::TempDir dir;
    EngineOptions options;
    options.dir = dir.path() + "/db";
    options.fsync = FsyncPolicy::kAlways;
    options.log_segment_bytes = 64 << 10;
    options.rewrite_percentage = 0;
    base::Random rng(seed);
    const keel::testing::KilledChild child = keel::testing::KillChildAfter(
        [&](int report_fd) {
          auto engine = Engine::Open(options);
          if (!engine.ok()) _exit(3);
          std::atomic<bool> stop = false;
          std::vector<std::thread> writers;
          for (int t = 0; t < 4; ++t) {
            writers.emplace_back([&, t] {
              ClientState client = (*engine)->NewClient();
              for (int i = 0; !stop; ++i) {
                for (const Command& command :
                     {Command{"SET", base::Cat("k", t, ":", i), base::Cat(i)},
                      Command{"ZADD", base::Cat("z", t), base::Cat(i), base::Cat("m", i)}}) {
                  std::vector<std::string_view> args(command.begin(), command.end());
                  std::string reply;
                  net::RespWriter writer(reply);
                  if (!(*engine)->WaitDurable((*engine)->Execute(client, writer, args)).ok()) {
                    _exit(4);
                  }
                }
                const std::string line = base::Cat(t, " ", i, "\n");
                if (write(report_fd, line.data(), line.size()) < 0) _exit(5);
              }
            });
          }
          // Rewrites all along, so that kills land in them too.
          while (true) {
            if (!(*engine)->Rewrite().ok()) _exit(6);
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
          }
        },
        static_cast<int64_t>(50'000 + rng.Uniform(200'000)));
    REQUIRE(child.killed);
    auto engine = MustOpen(options);
    ClientState client = engine->NewClient();
    size_t checked = 0;
    for (const absl::string_view line : absl::StrSplit(child.reports, '\n', absl::SkipEmpty())) {
      const std::vector<std::string> fields = absl::StrSplit(line, ' ');
      REQUIRE(fields.size() == 2);
      CAPTURE(line);
      REQUIRE(Run(*engine, client, {"GET", base::Cat("k", fields[0], ":", fields[1])}) ==
              base::Cat("$", fields[1].size(), "\r\n", fields[1], "\r\n"));
      REQUIRE(
          Run(*engine, client, {"ZSCORE", base::Cat("z", fields[0]), base::Cat("m", fields[1])}) ==
          base::Cat("$", fields[1].size(), "\r\n", fields[1], "\r\n"));
      ++checked;
    }
    MESSAGE("round ", round, ": ", checked, " acknowledged writes found after the kill");
  }
}

}  // namespace
}  // namespace keel::redis
