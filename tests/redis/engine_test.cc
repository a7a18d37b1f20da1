// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// The engine's behaviour that a comparison with redis-server cannot pin down: time (expiry on a
// manual clock), statistics, and the connection commands whose replies carry ids.
#include "keel/redis/engine.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <cstdio>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "keel/base/clock.h"
#include "keel/base/strings.h"

namespace keel::redis {
namespace {

class Harness {
 public:
  explicit Harness(const base::Clock* clock = nullptr)
      : engine_(*Engine::Open({.clock = clock})), client_(engine_->NewClient()) {}

  std::string Run(std::vector<std::string_view> args) {
    std::string out;
    net::RespWriter writer(out);
    engine_->Execute(client_, writer, args);
    return out;
  }

  Engine& engine() { return *engine_; }
  ClientState& client() { return client_; }

 private:
  std::unique_ptr<Engine> engine_;
  ClientState client_;
};

TEST_CASE("A key expires when its time comes, for lookups and for the active cycle") {
  base::ManualClock clock(1'000'000'000'000'000);  // in nanoseconds: 1,000,000 s after the epoch
  Harness h(&clock);
  CHECK(h.Run({"SET", "a", "1", "PX", "1500"}) == "+OK\r\n");
  CHECK(h.Run({"SET", "b", "2", "EX", "10"}) == "+OK\r\n");
  CHECK(h.Run({"ZADD", "z", "1", "m"}) == ":1\r\n");
  CHECK(h.Run({"EXPIRE", "z", "5"}) == ":1\r\n");
  CHECK(h.Run({"PTTL", "a"}) == ":1500\r\n");
  CHECK(h.Run({"TTL", "b"}) == ":10\r\n");
  clock.Advance(1'499'000'000);
  CHECK(h.Run({"GET", "a"}) == "$1\r\n1\r\n");
  clock.Advance(1'000'000);
  CHECK(h.Run({"GET", "a"}) == "$-1\r\n");  // its time has come: gone
  CHECK(h.Run({"EXISTS", "a"}) == ":0\r\n");
  CHECK(h.Run({"DBSIZE"}) == ":2\r\n");
  clock.Advance(10'000'000'000);
  CHECK(h.engine().ExpireCycle() == 2);  // b and z, without a lookup
  CHECK(h.Run({"DBSIZE"}) == ":0\r\n");
}

TEST_CASE("PERSIST and SET without KEEPTTL clear an expiry; KEEPTTL keeps it") {
  base::ManualClock clock(1'000'000'000'000'000);
  Harness h(&clock);
  CHECK(h.Run({"SET", "k", "v", "EX", "100"}) == "+OK\r\n");
  CHECK(h.Run({"SET", "k", "w", "KEEPTTL"}) == "+OK\r\n");
  CHECK(h.Run({"TTL", "k"}) == ":100\r\n");
  CHECK(h.Run({"SET", "k", "x"}) == "+OK\r\n");
  CHECK(h.Run({"TTL", "k"}) == ":-1\r\n");
  CHECK(h.Run({"EXPIRE", "k", "100"}) == ":1\r\n");
  CHECK(h.Run({"PERSIST", "k"}) == ":1\r\n");
  CHECK(h.Run({"PERSIST", "k"}) == ":0\r\n");
  clock.Advance(200'000'000'000);
  CHECK(h.Run({"GET", "k"}) == "$1\r\nx\r\n");
}

TEST_CASE("EXPIRE into the past deletes the key at once") {
  Harness h;
  CHECK(h.Run({"SET", "k", "v"}) == "+OK\r\n");
  CHECK(h.Run({"PEXPIRE", "k", "-1"}) == ":1\r\n");
  CHECK(h.Run({"EXISTS", "k"}) == ":0\r\n");
}

TEST_CASE("INFO commandstats counts calls, rejections and failures per command") {
  Harness h;
  h.Run({"ZADD", "z", "1", "a"});
  h.Run({"ZADD", "z", "x", "a"});  // fails: not a float
  h.Run({"ZADD", "z"});            // rejected: arity
  h.Run({"client", "SETNAME", "me"});
  const CommandStats zadd = h.engine().stats("ZADD");
  CHECK(zadd.calls == 2);
  CHECK(zadd.failed_calls == 1);
  CHECK(zadd.rejected_calls == 1);
  CHECK(h.engine().stats("client|setname").calls == 1);
  const std::string info = h.Run({"INFO", "commandstats"});
  CHECK(info.find("cmdstat_zadd:calls=2,") != std::string::npos);
  CHECK(info.find("rejected_calls=1,failed_calls=1") != std::string::npos);
  CHECK(info.find("cmdstat_client|setname:calls=1") != std::string::npos);
}

// INFO memory's used_memory, from an INFO reply.
int64_t UsedMemory(const std::string& info) {
  const size_t at = info.find("used_memory:");
  REQUIRE(at != std::string::npos);
  return std::stoll(info.substr(at + 12, info.find('\r', at) - at - 12));
}

TEST_CASE("INFO used_memory counts a large sorted set, huge-page chunks included") {
  Harness h;
  const int64_t before = UsedMemory(h.Run({"INFO", "memory"}));
  // 200k members of 14 bytes: the arena is past its 2 MiB chunks, which it maps itself, so
  // malloc's statistics alone would miss most of the set.
  constexpr int kMembers = 200'000;
  for (int i = 0; i < kMembers; ++i) {
    char name[32];
    std::snprintf(name, sizeof name, "player:%07d", i);
    h.Run({"ZADD", "board", base::Cat(i), name});
  }
  const int64_t grown = UsedMemory(h.Run({"INFO", "memory"})) - before;
  // At least the member and score bytes (22 per member), and not absurdly more.
  CHECK(grown > int64_t{22} * kMembers);
  CHECK(grown < int64_t{200} * kMembers);
  h.Run({"DEL", "board"});
  CHECK(UsedMemory(h.Run({"INFO", "memory"})) - before < int64_t{22} * kMembers);
}

TEST_CASE("Connection commands: HELLO switches protocol, CLIENT names, QUIT closes") {
  Harness h;
  const std::string id = std::to_string(h.client().id);
  CHECK(h.Run({"CLIENT", "ID"}) == ":" + id + "\r\n");
  CHECK(h.Run({"CLIENT", "GETNAME"}) == "$-1\r\n");
  CHECK(h.Run({"CLIENT", "SETNAME", "bad name"}) ==
        "-ERR Client names cannot contain spaces, newlines or special characters.\r\n");
  CHECK(h.Run({"CLIENT", "SETNAME", "board-7"}) == "+OK\r\n");
  CHECK(h.Run({"CLIENT", "GETNAME"}) == "$7\r\nboard-7\r\n");
  CHECK(h.Run({"CLIENT", "NOPE"}) == "-ERR unknown subcommand 'NOPE'. Try CLIENT HELP.\r\n");
  CHECK(h.Run({"CLIENT"}) == "-ERR wrong number of arguments for 'client' command\r\n");
  CHECK(h.Run({"client|setname", "x"}).rfind("-ERR unknown command 'client|setname'", 0) == 0);
  const std::string hello = h.Run({"HELLO", "3"});
  CHECK(hello.rfind("%7\r\n$6\r\nserver\r\n$5\r\nredis\r\n", 0) == 0);
  CHECK(h.client().protocol == net::Protocol::kResp3);
  CHECK(h.Run({"ZSCORE", "nothing", "m"}) == "_\r\n");
  CHECK(h.Run({"HELLO", "4"}) == "-NOPROTO unsupported protocol version\r\n");
  CHECK_FALSE(h.client().close_after_reply);
  CHECK(h.Run({"QUIT"}) == "+OK\r\n");
  CHECK(h.client().close_after_reply);
}

TEST_CASE("COMMAND describes every command, with counts and docs redis-cli can read") {
  Harness h;
  const std::string count = h.Run({"COMMAND", "COUNT"});
  REQUIRE(count.size() > 3);
  CHECK(count[0] == ':');
  const std::string info = h.Run({"COMMAND", "INFO", "zadd", "nosuch"});
  CHECK(info.rfind("*2\r\n*10\r\n$4\r\nzadd\r\n:-4\r\n", 0) == 0);
  CHECK(info.find("*-1\r\n") != std::string::npos);
  const std::string docs = h.Run({"COMMAND", "DOCS", "zrank"});
  CHECK(docs.find("$7\r\nsummary\r\n") != std::string::npos);
  CHECK(docs.find("$10\r\nsorted-set\r\n") != std::string::npos);
}

// Runs SCAN to the end and returns every key it gave, in order.
std::vector<std::string> ScanAll(
    Harness& h, std::vector<std::string_view> options,
    const std::function<void()>& between = [] {}) {
  std::vector<std::string> keys;
  std::string cursor = "0";
  do {
    std::vector<std::string_view> args = {"SCAN", cursor};
    args.insert(args.end(), options.begin(), options.end());
    std::string out;
    net::RespWriter writer(out);
    h.engine().Execute(h.client(), writer, args);
    // *2\r\n$<n>\r\n<cursor>\r\n*<k>\r\n($<len>\r\n<key>\r\n)*
    size_t p = out.find('$');
    const size_t len_end = out.find("\r\n", p);
    const size_t len = std::stoul(out.substr(p + 1, len_end - p - 1));
    cursor = out.substr(len_end + 2, len);
    p = out.find('*', len_end + 2 + len);
    size_t q = out.find("\r\n", p) + 2;
    while (q < out.size()) {
      const size_t e = out.find("\r\n", q);
      const size_t n = std::stoul(out.substr(q + 1, e - q - 1));
      keys.push_back(out.substr(e + 2, n));
      q = e + 2 + n + 2;
    }
    between();
  } while (cursor != "0");
  return keys;
}

TEST_CASE("SCAN visits every key that stays, exactly once, while others come and go") {
  Harness h;
  for (int i = 0; i < 1000; ++i) h.Run({"SET", "stay:" + std::to_string(i), "v"});
  int churn = 0;
  const std::vector<std::string> seen = ScanAll(h, {"COUNT", "7"}, [&] {
    // Between calls, add and delete other keys: the walk must neither skip nor repeat a key
    // that stays.
    const std::string key = "churn:" + std::to_string(churn++);
    h.Run({"SET", key, "v"});
    if (churn % 2 == 0) h.Run({"DEL", "churn:" + std::to_string(churn / 2)});
  });
  std::map<std::string, int> counts;
  for (const std::string& key : seen) ++counts[key];
  for (int i = 0; i < 1000; ++i) CHECK(counts["stay:" + std::to_string(i)] == 1);
  for (const auto& [key, n] : counts) CHECK(n == 1);
}

TEST_CASE("SCAN filters by MATCH and TYPE, and a COUNT of 1 still ends") {
  Harness h;
  h.Run({"SET", "user:1", "a"});
  h.Run({"SET", "user:2", "b"});
  h.Run({"ZADD", "user:board", "1", "m"});
  h.Run({"ZADD", "other", "1", "m"});
  std::vector<std::string> users = ScanAll(h, {"MATCH", "user:*", "COUNT", "1"});
  std::sort(users.begin(), users.end());
  CHECK(users == std::vector<std::string>{"user:1", "user:2", "user:board"});
  std::vector<std::string> zsets = ScanAll(h, {"TYPE", "ZSET"});
  std::sort(zsets.begin(), zsets.end());
  CHECK(zsets == std::vector<std::string>{"other", "user:board"});
  CHECK(ScanAll(h, {"TYPE", "hash"}).empty());
}

TEST_CASE("Commands run one at a time from many threads") {
  Harness h;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&h] {
      ClientState client = h.engine().NewClient();
      for (int i = 0; i < 2000; ++i) {
        std::string out;
        net::RespWriter writer(out);
        std::vector<std::string_view> args = {"ZINCRBY", "board", "1", "player"};
        h.engine().Execute(client, writer, args);
      }
    });
  }
  for (std::thread& t : threads) t.join();
  CHECK(h.Run({"ZSCORE", "board", "player"}) == "$4\r\n8000\r\n");
}

}  // namespace
}  // namespace keel::redis
