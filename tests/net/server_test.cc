// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "keel/net/server.h"

#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "keel/base/strings.h"
#include "keel/net/resp_client.h"
#include "redis_server.h"
#include "testing/testing.h"

namespace keel::net {
namespace {

using keel::testing::Eventually;
using testing::EchoSession;

std::unique_ptr<Server> MustStart(const ServerOptions& options, SessionFactory factory = nullptr) {
  if (factory == nullptr) {
    factory = [](Connection&) { return std::make_unique<EchoSession>(); };
  }
  absl::StatusOr<std::unique_ptr<Server>> server = Server::Start(options, std::move(factory));
  REQUIRE_MESSAGE(server.ok(), server.status().ToString());
  return *std::move(server);
}

std::unique_ptr<RespClient> MustConnect(uint16_t port) {
  absl::StatusOr<std::unique_ptr<RespClient>> client = RespClient::Connect("127.0.0.1", port);
  REQUIRE_MESSAGE(client.ok(), client.status().ToString());
  return *std::move(client);
}

TEST_CASE("Many clients on many threads are served at once") {
  std::unique_ptr<Server> server = MustStart({.threads = 3});
  constexpr int kThreads = 8, kClientsPerThread = 5, kCalls = 100;
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::vector<std::unique_ptr<RespClient>> clients;
      for (int c = 0; c < kClientsPerThread; ++c) {
        absl::StatusOr<std::unique_ptr<RespClient>> client =
            RespClient::Connect("127.0.0.1", server->port());
        if (!client.ok()) return wrong.fetch_add(1), void();
        clients.push_back(*std::move(client));
      }
      for (int i = 0; i < kCalls; ++i) {
        for (size_t c = 0; c < clients.size(); ++c) {
          const std::string value = base::Cat(t, ":", c, ":", i);
          absl::StatusOr<RespReply> reply = clients[c]->Call({"ECHO", value});
          if (!reply.ok() || reply->value.text != value) wrong.fetch_add(1);
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  CHECK(wrong.load() == 0);
  const ServerStats stats = server->stats();
  CHECK(stats.total_connections_received == kThreads * kClientsPerThread);
  CHECK(stats.total_commands_processed == kThreads * kClientsPerThread * kCalls);
  CHECK(stats.total_net_input_bytes > 0);
  CHECK(stats.total_net_output_bytes > 0);
  CHECK(Eventually([&] { return server->stats().connected_clients == 0; }));
}

TEST_CASE("Thousands of pipelined commands are answered in order") {
  std::unique_ptr<Server> server = MustStart({});
  std::unique_ptr<RespClient> client = MustConnect(server->port());
  constexpr int kCommands = 20'000;
  std::string pipeline;
  for (int i = 0; i < kCommands; ++i) {
    if (i % 3 == 0) {
      pipeline += base::Cat("ECHO ", i, "\r\n");
    } else {
      const std::string value = std::to_string(i);
      AppendCommand(pipeline, std::vector<std::string_view>{"ECHO", value});
    }
  }
  REQUIRE(client->SendRaw(pipeline).ok());
  for (int i = 0; i < kCommands; ++i) {
    absl::StatusOr<RespReply> reply = client->Read();
    REQUIRE(reply.ok());
    REQUIRE(reply->value.text == std::to_string(i));
  }
  CHECK(server->stats().total_commands_processed == kCommands);
}

TEST_CASE("The server answers byte streams as redis-server does") {
  const std::vector<std::string> streams = {
      "PING\r\nECHO \"a b\"\r\n*1\r\n$x\r\nPING\r\n",
      "ECHO a\r\nQUIT\r\nPING\r\n",
      "*2\r\n$4\r\nECHO\r\n$3\r\nabc\r\n*1\r\n$4\r\nPING",
      "PING a b\r\nNOSUCH 1 2\r\nECHO\r\n",
      "PING\r\n" + std::string(100'000, 'x'),
      "*1\r\n\r\n",
  };
  const std::vector<std::string> expected = {
      "+PONG\r\n$3\r\na b\r\n-ERR Protocol error: invalid bulk length\r\n",
      "$1\r\na\r\n+OK\r\n",
      "$3\r\nabc\r\n",
      "-ERR wrong number of arguments for 'ping' command\r\n"
      "-ERR unknown command 'NOSUCH', with args beginning with: '1' '2' \r\n"
      "-ERR wrong number of arguments for 'echo' command\r\n",
      "+PONG\r\n-ERR Protocol error: too big inline request\r\n",
      "-ERR Protocol error: expected '$', got ' '\r\n",
  };
  std::unique_ptr<Server> server = MustStart({.threads = 2});
  for (size_t i = 0; i < streams.size(); ++i) {
    CAPTURE(base::Quoted(streams[i]));
    absl::StatusOr<std::string> replies = testing::Exchange(server->port(), streams[i]);
    REQUIRE(replies.ok());
    CHECK(base::Quoted(*replies) == base::Quoted(expected[i]));
  }
  CHECK(server->stats().protocol_errors == 3);
  KEEL_NET_REQUIRE_REDIS(redis);
  for (size_t i = 0; i < streams.size(); ++i) {
    CAPTURE(base::Quoted(streams[i]));
    absl::StatusOr<std::string> replies = testing::Exchange(redis->port(), streams[i]);
    REQUIRE(replies.ok());
    CHECK(base::Quoted(*replies) == base::Quoted(expected[i]));
  }
}

TEST_CASE("A client that never reads is disconnected at its limit while others are served") {
  constexpr size_t kLimit = 1024 * 1024;
  std::unique_ptr<Server> server = MustStart({.threads = 1, .max_output_buffer_bytes = kLimit});
  std::unique_ptr<RespClient> slow = MustConnect(server->port());
  std::unique_ptr<RespClient> other = MustConnect(server->port());
  const std::string value(16 * 1024, 'v');
  std::string requests;
  for (int i = 0; i < 2'000; ++i) {
    AppendCommand(requests, std::vector<std::string_view>{"ECHO", value});
  }
  // 32 MiB of replies: more than the sockets' buffers and the limit together. The send may fail
  // once the server hangs up.
  std::thread sender([&] { static_cast<void>(slow->SendRaw(requests)); });
  int answered = 0;
  while (server->stats().output_buffer_disconnections == 0) {
    absl::StatusOr<RespReply> reply = other->Call({"PING"});
    REQUIRE(reply.ok());
    ++answered;
    REQUIRE(answered < 1'000'000);
  }
  sender.join();
  CHECK(other->Call({"ECHO", "still here"})->value.text == "still here");
  const ServerStats stats = server->stats();
  CHECK(stats.output_buffer_disconnections == 1);
  CHECK(Eventually([&] { return server->stats().connected_clients == 1; }));
  // The slow client finds the connection closed once it reads what reached it.
  absl::StatusOr<std::string> rest = slow->ReadUntilClosed();
  CHECK(rest.ok());
}

TEST_CASE("A request past the query buffer limit closes the connection") {
  std::unique_ptr<Server> server = MustStart({.max_query_buffer_bytes = 1000});
  absl::StatusOr<std::string> replies =
      testing::Exchange(server->port(), "PING\r\n*1\r\n$5000\r\n" + std::string(2000, 'x'));
  REQUIRE(replies.ok());
  CHECK(*replies == "");
  CHECK(server->stats().query_buffer_disconnections == 1);
}

TEST_CASE("Past max_clients a connection gets Redis's error and is closed") {
  std::unique_ptr<Server> server = MustStart({.max_clients = 1});
  std::unique_ptr<RespClient> first = MustConnect(server->port());
  REQUIRE(first->Call({"PING"}).ok());
  std::unique_ptr<RespClient> second = MustConnect(server->port());
  absl::StatusOr<std::string> refused = second->ReadUntilClosed();
  REQUIRE(refused.ok());
  CHECK(*refused == "-ERR max number of clients reached\r\n");
  CHECK(server->stats().rejected_connections == 1);
  CHECK(first->Call({"PING"}).ok());
}

class CountingSession : public EchoSession {
 public:
  explicit CountingSession(std::atomic<int>& closes) : closes_(closes) {}
  void OnClose(Connection&) override { closes_.fetch_add(1); }

 private:
  std::atomic<int>& closes_;
};

TEST_CASE("Stop closes every connected client and runs each OnClose") {
  std::atomic<int> closes{0};
  std::unique_ptr<Server> server = MustStart(
      {.threads = 2}, [&](Connection&) { return std::make_unique<CountingSession>(closes); });
  std::vector<std::unique_ptr<RespClient>> clients;
  for (int i = 0; i < 6; ++i) {
    clients.push_back(MustConnect(server->port()));
    REQUIRE(clients.back()->Call({"PING"}).ok());
  }
  // One more with a request half sent.
  clients.push_back(MustConnect(server->port()));
  REQUIRE(clients.back()->SendRaw("*2\r\n$4\r\nECHO\r\n").ok());
  CHECK(Eventually([&] { return server->stats().connected_clients == 7; }));
  server->Stop();
  CHECK(closes.load() == 7);
  CHECK(server->stats().connected_clients == 0);
  for (std::unique_ptr<RespClient>& client : clients) {
    absl::StatusOr<std::string> rest = client->ReadUntilClosed();
    CHECK(rest.ok());
  }
  server->Stop();  // idempotent
  CHECK(!RespClient::Connect("127.0.0.1", server->port(), {.timeout_ms = 500}).ok());
}

// SUBSCRIBE registers the connection; the test then publishes from its own thread.
class SubscriberSession : public EchoSession {
 public:
  SubscriberSession(std::mutex& mutex, std::vector<ConnectionRef>& subscribers)
      : mutex_(mutex), subscribers_(subscribers) {}
  void OnCommand(Connection& connection, std::span<const std::string_view> args) override {
    if (args[0] != "SUBSCRIBE") return EchoSession::OnCommand(connection, args);
    {
      std::lock_guard lock(mutex_);
      subscribers_.push_back(connection.ref());
    }
    connection.writer().SimpleString("OK");
  }

 private:
  std::mutex& mutex_;
  std::vector<ConnectionRef>& subscribers_;
};

TEST_CASE("Other threads push messages to a connection in its protocol") {
  std::mutex mutex;
  std::vector<ConnectionRef> subscribers;
  std::unique_ptr<Server> server = MustStart({.threads = 2}, [&](Connection&) {
    return std::make_unique<SubscriberSession>(mutex, subscribers);
  });
  std::unique_ptr<RespClient> resp3 = MustConnect(server->port());
  std::unique_ptr<RespClient> resp2 = MustConnect(server->port());
  REQUIRE(resp3->Call({"HELLO", "3"}).ok());
  REQUIRE(resp3->Call({"SUBSCRIBE"}).ok());
  REQUIRE(resp2->Call({"SUBSCRIBE"}).ok());
  std::vector<ConnectionRef> targets;
  {
    std::lock_guard lock(mutex);
    targets = subscribers;
  }
  REQUIRE(targets.size() == 2);
  constexpr int kMessages = 200;
  std::thread publisher([&] {
    for (int i = 0; i < kMessages; ++i) {
      for (const ConnectionRef& target : targets) {
        const bool posted = target.Post([i](Connection& connection) {
          RespWriter& writer = connection.writer();
          writer.PushHeader(3);
          writer.BulkString("message");
          writer.BulkString("news");
          writer.BulkString(std::to_string(i));
        });
        CHECK(posted);
      }
    }
  });
  for (int i = 0; i < kMessages; ++i) {
    const std::string n = std::to_string(i);
    const std::string tail =
        base::Cat("$7\r\nmessage\r\n$4\r\nnews\r\n$", n.size(), "\r\n", n, "\r\n");
    absl::StatusOr<RespReply> pushed = resp3->Read();
    REQUIRE(pushed.ok());
    CHECK(pushed->raw == ">3\r\n" + tail);
    absl::StatusOr<RespReply> array = resp2->Read();
    REQUIRE(array.ok());
    CHECK(array->raw == "*3\r\n" + tail);
  }
  publisher.join();
  // By id, through the server.
  CHECK(server->Post(targets[1].id(), [](Connection& c) { c.writer().SimpleString("by id"); }));
  CHECK(resp2->Read()->raw == "+by id\r\n");
  CHECK(!server->Post(123456, [](Connection&) {}));
  // A closed connection takes no more.
  resp2.reset();
  CHECK(Eventually([&] { return !targets[1].Post([](Connection&) {}); }));
}

// Holds the replies of every batch with an ECHO in it and hands the connection to the test,
// which releases them (or aborts the connection) from its own thread, as keel-server's
// durability waiter does for batches with writes.
class HoldingSession : public EchoSession {
 public:
  HoldingSession(std::mutex& mutex, std::vector<ConnectionRef>& held)
      : mutex_(mutex), held_(held) {}
  void OnCommand(Connection& connection, std::span<const std::string_view> args) override {
    hold_ = hold_ || args[0] == "ECHO";
    EchoSession::OnCommand(connection, args);
  }
  void OnBatchEnd(Connection& connection) override {
    if (!std::exchange(hold_, false)) return;
    connection.HoldOutput();
    std::lock_guard lock(mutex_);
    held_.push_back(connection.ref());
  }

 private:
  std::mutex& mutex_;
  std::vector<ConnectionRef>& held_;
  bool hold_ = false;
};

TEST_CASE("Held replies leave only when released, and an aborted connection sends none") {
  std::mutex mutex;
  std::vector<ConnectionRef> held;
  std::unique_ptr<Server> server = MustStart(
      {.threads = 2}, [&](Connection&) { return std::make_unique<HoldingSession>(mutex, held); });
  const auto take_held = [&] {
    std::vector<ConnectionRef> refs;
    CHECK(Eventually([&] {
      std::lock_guard lock(mutex);
      return !held.empty();
    }));
    std::lock_guard lock(mutex);
    refs.swap(held);
    return refs;
  };
  std::unique_ptr<RespClient> client = MustConnect(server->port());
  for (int round = 0; round < 20; ++round) {
    // A pipelined batch (one write, so one read): nothing is sent while it is held. Each earlier
    // round sent 21 bytes (two 7-byte echoes and a PONG); the counter may lag the client's reads.
    const uint64_t sent_before = 21 * static_cast<uint64_t>(round);
    REQUIRE(Eventually([&] { return server->stats().total_net_output_bytes == sent_before; }));
    REQUIRE(client->SendRaw("*2\r\n$4\r\nECHO\r\n$1\r\na\r\n*2\r\n$4\r\nECHO\r\n$1\r\nb\r\n").ok());
    std::vector<ConnectionRef> refs = take_held();
    REQUIRE(refs.size() == 1);
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
    CHECK(server->stats().total_net_output_bytes == sent_before);
    std::unique_ptr<RespClient> other = MustConnect(server->port());
    CHECK(other->Call({"PING"}).ok());  // the server goes on serving others meanwhile
    // Released from another thread, as by a durability waiter.
    std::thread releaser([&] {
      CHECK(refs[0].Post([](Connection& c) {
        CHECK(c.output_held());
        c.ReleaseOutput();
      }));
    });
    releaser.join();
    for (const char* expected : {"$1\r\na\r\n", "$1\r\nb\r\n"}) {
      absl::StatusOr<RespReply> reply = client->Read();
      REQUIRE(reply.ok());
      CHECK(reply->raw == expected);
    }
  }
  // Abort: the connection closes without the held reply, and the server goes on.
  REQUIRE(client->Send({"ECHO", "never"}).ok());
  for (const ConnectionRef& ref : take_held()) {
    CHECK(ref.Post([](Connection& c) { c.Abort(); }));
  }
  absl::StatusOr<std::string> rest = client->ReadUntilClosed();
  REQUIRE(rest.ok());
  CHECK(rest->empty());
  CHECK(Eventually([&] { return server->stats().connected_clients == 0; }));
  // Stop closes a connection whose output is held.
  std::unique_ptr<RespClient> last = MustConnect(server->port());
  REQUIRE(last->Send({"ECHO", "held"}).ok());
  CHECK(!take_held().empty());
  server->Stop();
  CHECK(server->stats().connected_clients == 0);
}

TEST_CASE("Start reports a taken port and a bad address") {
  std::unique_ptr<Server> first = MustStart({});
  absl::StatusOr<std::unique_ptr<Server>> second = Server::Start(
      {.port = first->port()}, [](Connection&) { return std::make_unique<EchoSession>(); });
  REQUIRE(!second.ok());
  CHECK(second.status().code() == absl::StatusCode::kUnavailable);
  CHECK(second.status().ToString().find(base::Cat("127.0.0.1:", first->port())) !=
        std::string_view::npos);
  absl::StatusOr<std::unique_ptr<Server>> bad =
      Server::Start({.bind_address = "not-an-address"},
                    [](Connection&) { return std::make_unique<EchoSession>(); });
  CHECK(bad.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(bad.status().ToString().find("not-an-address") != std::string_view::npos);
  CHECK(Server::Start({.threads = 0}, [](Connection&) { return std::make_unique<EchoSession>(); })
            .status()
            .code() == absl::StatusCode::kInvalidArgument);
}

TEST_CASE("Connection ids are unique and the peer address is known") {
  std::mutex mutex;
  std::vector<uint64_t> ids;
  std::vector<std::string> peers;
  std::unique_ptr<Server> server = MustStart({.threads = 2}, [&](Connection& connection) {
    std::lock_guard lock(mutex);
    ids.push_back(connection.id());
    peers.push_back(connection.peer_address());
    return std::make_unique<EchoSession>();
  });
  std::vector<std::unique_ptr<RespClient>> clients;
  for (int i = 0; i < 4; ++i) {
    clients.push_back(MustConnect(server->port()));
    REQUIRE(clients.back()->Call({"PING"}).ok());
  }
  std::lock_guard lock(mutex);
  CHECK(ids == std::vector<uint64_t>{1, 2, 3, 4});
  for (const std::string& peer : peers) CHECK(peer.rfind("127.0.0.1:", 0) == 0);
}

}  // namespace
}  // namespace keel::net
