// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// The keel-server program itself, started as a process on a free loopback port: its flags, a
// restart on the same --dir, and the promise of --appendfsync always: a write whose reply a
// client received survives the server being killed with SIGKILL at any moment.
#include <doctest/doctest.h>
#include <sys/wait.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include "keel/base/random.h"
#include "keel/base/strings.h"
#include "keel/net/resp_client.h"
#include "redis_process.h"
#include "testing/testing.h"

namespace keel::redis {
namespace {

using keel::testing::Eventually;
using keel::testing::RedisProcess;

std::unique_ptr<RedisProcess> StartKeelServer(const std::vector<std::string>& args) {
  auto server = RedisProcess::StartKeelServer(KEEL_SERVER_BINARY, args);
  REQUIRE_MESSAGE(server.ok(), server.status().ToString());
  return *std::move(server);
}

std::unique_ptr<net::RespClient> Connect(const RedisProcess& server) {
  auto client = net::RespClient::Connect("127.0.0.1", server.port());
  REQUIRE_MESSAGE(client.ok(), client.status().ToString());
  return *std::move(client);
}

std::string Call(net::RespClient& client, std::initializer_list<std::string_view> args) {
  auto reply = client.Call(args);
  REQUIRE_MESSAGE(reply.ok(), reply.status().ToString());
  return reply->raw;
}

// Runs keel-server with `args` to its end (a bad flag ends it at once) and returns its exit
// code and output.
std::pair<int, std::string> RunToExit(const std::string& args) {
  // Under `timeout`: a server that wrongly starts fails the test instead of hanging it.
  const std::string command = base::Cat("timeout 30 ", KEEL_SERVER_BINARY, " ", args, " 2>&1");
  FILE* pipe = popen(command.c_str(), "r");
  REQUIRE(pipe != nullptr);
  std::string out;
  char buffer[4096];
  size_t n;
  while ((n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) out.append(buffer, n);
  const int status = pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

TEST_CASE("keel-server refuses bad flags naming the value") {
  auto [code, out] = RunToExit("--appendfsync sometimes");
  CHECK(code == 2);
  CHECK(out.find("--appendfsync=sometimes is not always, everysec or no") != std::string::npos);
  std::tie(code, out) = RunToExit("--port 70000");
  CHECK(code == 2);
  CHECK(out.find("--port=70000") != std::string::npos);
  std::tie(code, out) = RunToExit("--threads 0");
  CHECK(code == 2);
  std::tie(code, out) = RunToExit("--help");
  CHECK(code == 0);
  CHECK(out.find("--appendfsync") != std::string::npos);
  CHECK(out.find("--dir") != std::string::npos);
}

TEST_CASE("keel-server with --dir restores the keyspace after a restart, expiries included") {
  keel::testing::TempDir dir;
  for (const char* fsync : {"always", "everysec", "no"}) {
    CAPTURE(fsync);
    const std::string db = base::Cat(dir.path(), "/", fsync);
    {
      std::unique_ptr<RedisProcess> server = StartKeelServer({"--dir", db, "--appendfsync", fsync});
      std::unique_ptr<net::RespClient> client = Connect(*server);
      CHECK(Call(*client, {"ZADD", "board", "10", "ann", "20", "bob"}) == ":2\r\n");
      CHECK(Call(*client, {"SET", "name", "keel"}) == "+OK\r\n");
      CHECK(Call(*client, {"SET", "gone", "x", "PX", "1"}) == "+OK\r\n");
      CHECK(Call(*client, {"INCRBY", "n", "41"}) == ":41\r\n");
      CHECK(Call(*client, {"INCR", "n"}) == ":42\r\n");
      // The process dies without a clean shutdown: what was acknowledged is in the log (under
      // every policy it was written to the operating system before the reply).
      server->Kill();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));  // "gone" is past its time
    std::unique_ptr<RedisProcess> server = StartKeelServer({"--dir", db, "--appendfsync", fsync});
    // The server answers before it prints its "ready" line.
    CHECK(Eventually(
        [&] { return server->Log().find(base::Cat("appendfsync ", fsync)) != std::string::npos; },
        std::chrono::seconds(30)));
    std::unique_ptr<net::RespClient> client = Connect(*server);
    CHECK(Call(*client, {"ZRANGE", "board", "0", "-1", "WITHSCORES"}) ==
          "*4\r\n$3\r\nann\r\n$2\r\n10\r\n$3\r\nbob\r\n$2\r\n20\r\n");
    CHECK(Call(*client, {"GET", "name"}) == "$4\r\nkeel\r\n");
    CHECK(Call(*client, {"GET", "n"}) == "$2\r\n42\r\n");
    CHECK(Call(*client, {"EXISTS", "gone"}) == ":0\r\n");
    CHECK(Call(*client, {"DBSIZE"}) == ":3\r\n");
  }
}

TEST_CASE("keel-server refuses a directory another keel-server has open") {
  keel::testing::TempDir dir;
  std::unique_ptr<RedisProcess> first = StartKeelServer({"--dir", dir.path()});
  auto [code, out] = RunToExit(base::Cat("--port 0 --dir ", dir.path()));
  CHECK(code == 1);
  CHECK(out.find(dir.path()) != std::string::npos);
}

TEST_CASE("keel-server under appendfsync always loses no acknowledged write to SIGKILL") {
  const uint64_t rounds = keel::testing::TestRounds("KEEL_REDIS_KILL_ROUNDS", 3);
  for (uint64_t round = 0; round < rounds; ++round) {
    const uint64_t seed = keel::testing::TestSeed(9100 + round);
    CAPTURE(seed);
    base::Random rng(seed);
    keel::testing::TempDir dir;
    std::unique_ptr<RedisProcess> server =
        StartKeelServer({"--dir", dir.path(), "--appendfsync", "always", "--threads", "2"});
    // Clients write until their connection breaks, each remembering the last write whose reply
    // it received; a pipelined client sends several at once, so that batches are held too.
    constexpr int kClients = 6;
    std::vector<std::atomic<int64_t>> acknowledged(kClients);
    std::vector<std::thread> clients;
    for (int c = 0; c < kClients; ++c) {
      acknowledged[c] = -1;
      clients.emplace_back([&, c] {
        auto client = net::RespClient::Connect("127.0.0.1", server->port());
        if (!client.ok()) return;
        const int pipeline = c % 2 == 0 ? 1 : 8;
        for (int64_t i = 0;; i += pipeline) {
          for (int64_t j = i; j < i + pipeline; ++j) {
            const std::string key = base::Cat("k", c, ":", j);
            const std::string value = base::Cat(j);
            if (!(*client)->Send({"SET", key, value}).ok()) return;
            if (!(*client)->Send({"ZADD", base::Cat("z", c), value, key}).ok()) return;
          }
          for (int64_t j = i; j < i + pipeline; ++j) {
            auto set = (*client)->Read();
            auto zadd = (*client)->Read();
            if (!set.ok() || !zadd.ok()) return;
            if (set->raw != "+OK\r\n" || zadd->raw != ":1\r\n") {
              FAIL_CHECK("unexpected replies ", set->raw, " and ", zadd->raw);
              return;
            }
            acknowledged[c] = j;
          }
        }
      });
    }
    // The kill comes at a random moment after the first acknowledgement (an fsync may be slow).
    CHECK(Eventually(
        [&] {
          for (const std::atomic<int64_t>& a : acknowledged) {
            if (a.load() >= 0) return true;
          }
          return false;
        },
        std::chrono::seconds(30)));
    std::this_thread::sleep_for(std::chrono::microseconds(rng.Uniform(300'000)));
    server->Kill();
    for (std::thread& t : clients) t.join();

    server = StartKeelServer({"--dir", dir.path(), "--appendfsync", "always"});
    std::unique_ptr<net::RespClient> client = Connect(*server);
    int64_t checked = 0;
    for (int c = 0; c < kClients; ++c) {
      const int64_t last = acknowledged[c].load();
      CAPTURE(c);
      CAPTURE(last);
      // Every acknowledged write is there (and its sorted set holds at least as many).
      const std::string zcard = Call(*client, {"ZCARD", base::Cat("z", c)});
      REQUIRE(std::stoll(zcard.substr(1)) >= last + 1);
      for (int64_t j = 0; j <= last; ++j) {
        const std::string value = base::Cat(j);
        REQUIRE(Call(*client, {"GET", base::Cat("k", c, ":", j)}) ==
                base::Cat("$", value.size(), "\r\n", value, "\r\n"));
      }
      checked += last + 1;
    }
    MESSAGE("round ", round, ": ", checked, " acknowledged writes found after SIGKILL");
    CHECK(checked > 0);
  }
}

}  // namespace
}  // namespace keel::redis
