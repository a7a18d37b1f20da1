// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// keel's Redis server over TCP, driven by Redis's own tools: redis-cli (the interactive client,
// in RESP2 and RESP3) and redis-benchmark (50 clients, pipelined), which must work against it
// as they do against redis-server. The server runs in this process on a free loopback port.
#include "keel/redis/server.h"

#include <doctest/doctest.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "keel/base/strings.h"
#include "keel/net/resp_client.h"

namespace keel::redis {
namespace {

bool OnPath(const char* program) {
  return std::system(base::Cat("command -v ", program, " > /dev/null 2>&1").c_str()) == 0;
}

// Runs a shell command and returns what it printed on stdout.
std::string Output(const std::string& command) {
  std::string out;
  FILE* pipe = popen(command.c_str(), "r");
  REQUIRE(pipe != nullptr);
  char buffer[4096];
  size_t n;
  while ((n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) out.append(buffer, n);
  pclose(pipe);
  return out;
}

std::unique_ptr<Server> StartServer(size_t threads = 1) {
  ServerOptions options;
  options.network.port = 0;
  options.network.threads = threads;
  absl::StatusOr<std::unique_ptr<Server>> server = Server::Start(options);
  REQUIRE_MESSAGE(server.ok(), server.status().ToString());
  return *std::move(server);
}

TEST_CASE("redis-cli works against keel-server, in RESP2 and RESP3") {
  if (!OnPath("redis-cli")) {
    MESSAGE("redis-cli is not on PATH: skipped");
    return;
  }
  std::unique_ptr<Server> server = StartServer();
  const std::string cli = base::Cat("redis-cli -p ", server->port(), " ");
  CHECK(Output(cli + "PING") == "PONG\n");
  CHECK(Output(cli + "ZADD board 10 alice 25 bob 17 carol") == "3\n");
  CHECK(Output(cli + "ZREVRANGE board 0 -1 WITHSCORES") == "bob\n25\ncarol\n17\nalice\n10\n");
  CHECK(Output(cli + "ZREVRANK board alice") == "2\n");
  CHECK(Output(cli + "ZINCRBY board 0.5 alice") == "10.5\n");
  // --no-raw: the formatted output a terminal gets, which shows the reply types.
  CHECK(Output(cli + "--no-raw -3 ZSCORE board alice") == "(double) 10.5\n");
  CHECK(Output(cli + "--no-raw -3 ZRANGE board 0 0 WITHSCORES") ==
        "1) 1) \"alice\"\n   2) (double) 10.5\n");
  CHECK(Output(cli + "--no-raw GET board") ==
        "(error) WRONGTYPE Operation against a key holding the wrong kind of value\n");
  CHECK(Output(cli + "INFO keyspace").find("db0:keys=1,expires=0") != std::string::npos);
  // Interactive mode reads COMMAND DOCS for its hints; it must not fail on keel's reply.
  CHECK(Output("printf 'ZCARD board\\n' | " + cli).find("3") != std::string::npos);
  // The same pipe of commands as redis-cli --pipe sends.
  CHECK(Output("printf 'SET a 1\\r\\nINCR a\\r\\n' | " + cli + "--pipe 2>&1")
            .find("errors: 0, replies: 2") != std::string::npos);
  CHECK(Output(cli + "GET a") == "2\n");
}

TEST_CASE("redis-benchmark runs against keel-server with pipelining and many clients") {
  if (!OnPath("redis-benchmark")) {
    MESSAGE("redis-benchmark is not on PATH: skipped");
    return;
  }
  std::unique_ptr<Server> server = StartServer(/*threads=*/2);
  const std::string csv = Output(base::Cat("redis-benchmark -p ", server->port(),
                                           " -c 50 -n 20000 -P 16 -t set,get,incr,zadd --csv"));
  for (const char* test : {"\"SET\"", "\"GET\"", "\"INCR\"", "\"ZADD\""}) {
    CHECK_MESSAGE(csv.find(test) != std::string::npos, csv);
  }
  // Every request was answered: redis-benchmark's own count reached the server.
  auto client = net::RespClient::Connect("127.0.0.1", server->port());
  REQUIRE(client.ok());
  absl::StatusOr<net::RespReply> incr = (*client)->Call({"GET", "counter:__rand_int__"});
  REQUIRE(incr.ok());
  CHECK(incr->raw == "$5\r\n20000\r\n");
  CHECK(server->engine().stats("zadd").calls == 20000);
}

}  // namespace
}  // namespace keel::redis
