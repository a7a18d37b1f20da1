// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "keel/net/resp_client.h"

#include <doctest/doctest.h>

#include <chrono>
#include <memory>
#include <string>

#include "keel/net/server.h"
#include "redis_server.h"

namespace keel::net {
namespace {

// Answers nothing at all.
class SilentSession : public Session {
 public:
  void OnCommand(Connection&, std::span<const std::string_view>) override {}
};

std::unique_ptr<Server> MustStart(SessionFactory factory) {
  absl::StatusOr<std::unique_ptr<Server>> server = Server::Start({}, std::move(factory));
  REQUIRE_MESSAGE(server.ok(), server.status().ToString());
  return *std::move(server);
}

TEST_CASE("The client calls and pipelines against a server") {
  std::unique_ptr<Server> server =
      MustStart([](Connection&) { return std::make_unique<testing::EchoSession>(); });
  absl::StatusOr<std::unique_ptr<RespClient>> client =
      RespClient::Connect("127.0.0.1:" + std::to_string(server->port()));
  REQUIRE(client.ok());
  absl::StatusOr<RespReply> pong = (*client)->Call({"PING"});
  REQUIRE(pong.ok());
  CHECK(pong->raw == "+PONG\r\n");
  REQUIRE((*client)->Send({"ECHO", "a"}).ok());
  REQUIRE((*client)->SendRaw("ECHO b\r\n").ok());
  CHECK((*client)->Read()->raw == "$1\r\na\r\n");
  CHECK((*client)->Read()->raw == "$1\r\nb\r\n");
}

TEST_CASE("The client reports a refused connection a bad address and a silent server") {
  const uint16_t unused = testing::FreePort();
  absl::StatusOr<std::unique_ptr<RespClient>> refused = RespClient::Connect("127.0.0.1", unused);
  CHECK(refused.status().code() == absl::StatusCode::kUnavailable);
  CHECK(refused.status().ToString().find(std::to_string(unused)) != std::string_view::npos);
  for (std::string_view bad : {"127.0.0.1:", "127.0.0.1:0", "host:65536", "x:12y", ""}) {
    CAPTURE(bad);
    CHECK(RespClient::Connect(bad).status().code() == absl::StatusCode::kInvalidArgument);
  }
  std::unique_ptr<Server> server =
      MustStart([](Connection&) { return std::make_unique<SilentSession>(); });
  absl::StatusOr<std::unique_ptr<RespClient>> client =
      RespClient::Connect("127.0.0.1", server->port(), {.timeout_ms = 100});
  REQUIRE(client.ok());
  CHECK((*client)->Call({"PING"}).status().code() == absl::StatusCode::kDeadlineExceeded);
  CHECK((*client)->ReadUntilClosed().status().code() == absl::StatusCode::kDeadlineExceeded);
}

TEST_CASE("The client reports a server that closes inside a reply") {
  class HalfSession : public Session {
   public:
    void OnCommand(Connection& connection, std::span<const std::string_view>) override {
      connection.writer().output() += "$10\r\nabc";
      connection.CloseAfterReply();
    }
  };
  std::unique_ptr<Server> server =
      MustStart([](Connection&) { return std::make_unique<HalfSession>(); });
  absl::StatusOr<std::unique_ptr<RespClient>> client =
      RespClient::Connect("127.0.0.1", server->port());
  REQUIRE(client.ok());
  absl::StatusOr<RespReply> reply = (*client)->Call({"GET", "x"});
  CHECK(reply.status().code() == absl::StatusCode::kUnavailable);
  CHECK(reply.status().ToString().find("inside a reply") != std::string_view::npos);
}

TEST_CASE("After the server closes, every further read fails at once, not at its deadline") {
  std::unique_ptr<Server> server =
      MustStart([](Connection&) { return std::make_unique<testing::EchoSession>(); });
  absl::StatusOr<std::unique_ptr<RespClient>> client =
      RespClient::Connect("127.0.0.1", server->port(), {.timeout_ms = 5000});
  REQUIRE(client.ok());
  // Two commands pipelined; QUIT closes the connection after its reply.
  REQUIRE((*client)->Send({"QUIT"}).ok());
  REQUIRE((*client)->Send({"PING"}).ok());
  absl::StatusOr<RespReply> quit = (*client)->Read();
  REQUIRE(quit.ok());
  CHECK(quit->raw == "+OK\r\n");
  // The end of input is seen once by the socket; the reads after it must not wait for more.
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 3; ++i) {
    absl::StatusOr<RespReply> after = (*client)->Read();
    CHECK(after.status().code() == absl::StatusCode::kUnavailable);
  }
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(2));
}

}  // namespace
}  // namespace keel::net
