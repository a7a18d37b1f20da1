// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// Pub/sub through keel's Redis server over TCP, against a real redis-server: the same
// subscriptions and publishes on both, and every confirmation, push and reply compared byte
// for byte. Pushes that one PUBLISH sends to one connection through several subscriptions (a
// channel and patterns) are compared as a set, since Redis's own order among them follows its
// hash table.
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "keel/base/random.h"
#include "keel/base/strings.h"
#include "keel/net/resp_client.h"
#include "keel/redis/server.h"
#include "net/redis_server.h"
#include "testing/testing.h"

namespace keel::redis {
namespace {

using net::RespClient;

std::unique_ptr<RespClient> Connect(uint16_t port) {
  auto client = RespClient::Connect("127.0.0.1", port, {.timeout_ms = 5000});
  REQUIRE_MESSAGE(client.ok(), client.status().ToString());
  return *std::move(client);
}

std::unique_ptr<Server> StartKeel(ServerOptions options = {}) {
  options.network.port = 0;
  auto server = Server::Start(options);
  REQUIRE_MESSAGE(server.ok(), server.status().ToString());
  return *std::move(server);
}

// One side of the comparison: a publisher and some subscriber connections to one server.
struct Side {
  std::unique_ptr<RespClient> publisher;
  std::vector<std::unique_ptr<RespClient>> subscribers;
};

std::string Read(RespClient& client) {
  absl::StatusOr<net::RespReply> reply = client.Read();
  REQUIRE_MESSAGE(reply.ok(), reply.status().ToString());
  return reply->raw;
}

std::string Call(RespClient& client, std::vector<std::string> command) {
  std::vector<std::string_view> args(command.begin(), command.end());
  REQUIRE(client.Send(args).ok());
  return Read(client);
}

TEST_CASE("Subscriptions, publishes and pushes match redis-server's, in RESP2 and RESP3") {
  KEEL_NET_REQUIRE_REDIS(redis_server);
  std::unique_ptr<Server> keel = StartKeel();
  const uint64_t seed = keel::testing::TestSeed(71);
  CAPTURE(seed);
  base::Random rng(seed);
  constexpr int kSubscribers = 4;
  Side sides[2];
  const uint16_t ports[2] = {redis_server->port(), keel->port()};
  for (int s = 0; s < 2; ++s) {
    sides[s].publisher = Connect(ports[s]);
    for (int i = 0; i < kSubscribers; ++i) {
      sides[s].subscribers.push_back(Connect(ports[s]));
      // Half the subscribers speak RESP3, where confirmations and messages are pushes.
      if (i % 2 == 1) {
        std::string hello = Call(*sides[s].subscribers.back(), {"HELLO", "3"});
        REQUIRE(hello.rfind("%7", 0) == 0);
      }
    }
  }
  const std::vector<std::string> channels = {"news", "news.tech", "user:1", "user:2", ""};
  const std::vector<std::string> patterns = {"news*", "user:?", "*", "[nu]*", "user:[^1]"};
  // What each subscriber holds, to know how many confirmations an UNSUBSCRIBE-all sends.
  std::set<std::string> held_channels[kSubscribers];
  std::set<std::string> held_patterns[kSubscribers];
  for (int step = 0; step < 600; ++step) {
    CAPTURE(step);
    const uint64_t action = rng.Uniform(10);
    if (action < 4) {
      const size_t who = rng.Uniform(kSubscribers);
      std::vector<std::string> command;
      const bool pattern = rng.Bernoulli(0.4);
      const bool subscribe = rng.Bernoulli(0.6);
      command.push_back(pattern ? (subscribe ? "PSUBSCRIBE" : "PUNSUBSCRIBE")
                                : (subscribe ? "SUBSCRIBE" : "UNSUBSCRIBE"));
      const uint64_t n = subscribe ? 1 + rng.Uniform(2) : rng.Uniform(3);
      for (uint64_t k = 0; k < n; ++k) {
        command.push_back(pattern ? patterns[rng.Uniform(patterns.size())]
                                  : channels[rng.Uniform(channels.size())]);
      }
      CAPTURE(base::Cat(command[0], " ", command.size() - 1, " names, subscriber ", who));
      std::vector<std::string_view> args(command.begin(), command.end());
      // One confirmation per name. Unsubscribing from everything (no names) confirms each
      // subscription held, in Redis's hash table order, or once with a nil name when there is
      // none: compare those as a set of names and the sequence of remaining counts.
      for (int s = 0; s < 2; ++s) REQUIRE(sides[s].subscribers[who]->Send(args).ok());
      std::set<std::string>& held = pattern ? held_patterns[who] : held_channels[who];
      const size_t confirmations =
          command.size() > 1 ? command.size() - 1 : std::max<size_t>(1, held.size());
      for (size_t k = 1; k < command.size(); ++k) {
        if (subscribe) {
          held.insert(command[k]);
        } else {
          held.erase(command[k]);
        }
      }
      if (command.size() == 1) held.clear();
      if (command.size() > 1) {
        for (size_t k = 1; k < command.size(); ++k) {
          const std::string a = Read(*sides[0].subscribers[who]);
          REQUIRE(Read(*sides[1].subscribers[who]) == a);
        }
        continue;
      }
      std::vector<std::string> names[2];
      std::vector<int64_t> counts[2];
      for (int s = 0; s < 2; ++s) {
        for (size_t k = 0; k < confirmations; ++k) {
          absl::StatusOr<net::RespReply> reply = sides[s].subscribers[who]->Read();
          REQUIRE(reply.ok());
          REQUIRE(reply->value.elements.size() == 3);
          names[s].push_back(reply->value.elements[1].text);
          counts[s].push_back(reply->value.elements[2].integer);
        }
        std::sort(names[s].begin(), names[s].end());
      }
      REQUIRE(names[1] == names[0]);
      REQUIRE(counts[1] == counts[0]);
    } else {
      const std::string& channel = channels[rng.Uniform(channels.size())];
      const std::string message = base::Cat("m", step);
      const std::string count = Call(*sides[0].publisher, {"PUBLISH", channel, message});
      REQUIRE(Call(*sides[1].publisher, {"PUBLISH", channel, message}) == count);
      // Every receiving subscription gets one push; read each subscriber's share.
      const int64_t receivers = std::stoll(count.substr(1));
      int64_t read = 0;
      for (int i = 0; i < kSubscribers && read < receivers; ++i) {
        // How many pushes subscriber i gets is not known up front: ask its peers by reading
        // with a short deadline is racy, so instead compare per subscriber through PING, which
        // Redis answers after any pushes already queued for it.
        std::vector<std::string> got[2];
        for (int s = 0; s < 2; ++s) {
          RespClient& sub = *sides[s].subscribers[i];
          REQUIRE(sub.Send({"PING", "fence"}).ok());
          for (;;) {
            const std::string reply = Read(sub);
            if (reply.find("fence") != std::string::npos) break;
            got[s].push_back(reply);
          }
          std::sort(got[s].begin(), got[s].end());
        }
        REQUIRE(got[1] == got[0]);
        read += static_cast<int64_t>(got[0].size());
      }
      REQUIRE(read == receivers);
    }
  }
}

TEST_CASE("A RESP2 subscriber may only (un)subscribe, PING and QUIT; RESP3 may do anything") {
  KEEL_NET_REQUIRE_REDIS(redis_server);
  std::unique_ptr<Server> keel = StartKeel();
  for (uint16_t port : {redis_server->port(), keel->port()}) {
    CAPTURE(port);
    std::unique_ptr<RespClient> c = Connect(port);
    CHECK(Call(*c, {"SUBSCRIBE", "a"}) == "*3\r\n$9\r\nsubscribe\r\n$1\r\na\r\n:1\r\n");
    CHECK(Call(*c, {"GET", "x"}) ==
          "-ERR Can't execute 'get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / "
          "RESET are allowed in this context\r\n");
    CHECK(Call(*c, {"PING"}) == "*2\r\n$4\r\npong\r\n$0\r\n\r\n");
    CHECK(Call(*c, {"UNSUBSCRIBE"}) == "*3\r\n$11\r\nunsubscribe\r\n$1\r\na\r\n:0\r\n");
    CHECK(Call(*c, {"UNSUBSCRIBE"}) == "*3\r\n$11\r\nunsubscribe\r\n$-1\r\n:0\r\n");
    CHECK(Call(*c, {"GET", "x"}) == "$-1\r\n");
    std::unique_ptr<RespClient> r3 = Connect(port);
    CHECK(Call(*r3, {"HELLO", "3"}).rfind("%7", 0) == 0);
    CHECK(Call(*r3, {"SUBSCRIBE", "b"}) == ">3\r\n$9\r\nsubscribe\r\n$1\r\nb\r\n:1\r\n");
    CHECK(Call(*r3, {"GET", "x"}) == "_\r\n");
    // Publishing to itself: the push comes before the reply.
    CHECK(Call(*r3, {"PUBLISH", "b", "hi"}) == ">3\r\n$7\r\nmessage\r\n$1\r\nb\r\n$2\r\nhi\r\n");
    CHECK(Read(*r3) == ":1\r\n");
    CHECK(Call(*r3, {"PUBSUB", "NUMSUB", "b", "zz"}) ==
          "*4\r\n$1\r\nb\r\n:1\r\n$2\r\nzz\r\n:0\r\n");
    CHECK(Call(*r3, {"PUBSUB", "NUMPAT"}) == ":0\r\n");
    CHECK(Call(*r3, {"PUBSUB", "CHANNELS", "[ab]"}) == "*1\r\n$1\r\nb\r\n");
  }
}

TEST_CASE("A subscriber that stops reading is disconnected and nobody else waits") {
  ServerOptions options;
  options.network.max_output_buffer_bytes = 256 * 1024;
  options.engine.max_pending_messages = 1024;
  std::unique_ptr<Server> keel = StartKeel(options);
  std::unique_ptr<RespClient> slow = Connect(keel->port());
  std::unique_ptr<RespClient> fast = Connect(keel->port());
  std::unique_ptr<RespClient> publisher = Connect(keel->port());
  REQUIRE(Call(*slow, {"SUBSCRIBE", "firehose"}).find("subscribe") != std::string::npos);
  REQUIRE(Call(*fast, {"SUBSCRIBE", "firehose"}).find("subscribe") != std::string::npos);
  // Far more than the kernel's socket buffers take, so the server's output buffer must grow.
  const std::string payload(1000, 'x');
  int delivered_to_fast = 0;
  for (int i = 0; i < 20000; ++i) {
    Call(*publisher, {"PUBLISH", "firehose", payload});
    // The fast subscriber keeps up.
    const std::string push = Read(*fast);
    REQUIRE(push.find(payload) != std::string::npos);
    ++delivered_to_fast;
  }
  CHECK(delivered_to_fast == 20000);
  // The slow one was cut off once its pending output passed the limit: the server closed it.
  CHECK(keel->network_stats().output_buffer_disconnections == 1);
  CHECK(slow->ReadUntilClosed().ok());
  // Its subscription went with it (once the server has processed the close).
  std::string numsub;
  for (int i = 0; i < 500; ++i) {
    numsub = Call(*publisher, {"PUBSUB", "NUMSUB", "firehose"});
    if (numsub == "*2\r\n$8\r\nfirehose\r\n:1\r\n") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  CHECK(numsub == "*2\r\n$8\r\nfirehose\r\n:1\r\n");
}

}  // namespace
}  // namespace keel::redis
