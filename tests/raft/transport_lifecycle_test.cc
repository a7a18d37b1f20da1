// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// keel::raft::Transport's thread and lifetime: Post and Every run on the transport's thread
// until Stop, Stop is clean with traffic in flight, and a peer's new connection replaces its old
// one.
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "doctest/doctest.h"
#include "keel/base/random.h"
#include "keel/raft/transport.h"
#include "raft/transport_testing.h"
#include "testing/testing.h"

namespace keel::raft {
namespace {

using namespace transport_testing;  // NOLINT: the shared helpers are the vocabulary of these tests
using keel::testing::Eventually;
using std::chrono::milliseconds;

TEST_CASE("Post and Every run on the transport thread until Stop") {
  Inbox inbox;
  std::unique_ptr<Transport> transport = StartTransport(LoopbackOptions(0), inbox);
  const std::thread::id thread = ThreadOf(*transport);
  CHECK(thread != std::this_thread::get_id());

  std::mutex mutex;
  std::set<std::thread::id> tick_threads;
  std::atomic<int> ticks{0};
  REQUIRE(transport
              ->Every(1'000'000,
                      [&] {
                        std::lock_guard lock(mutex);
                        tick_threads.insert(std::this_thread::get_id());
                        ticks.fetch_add(1);
                      })
              .ok());
  CHECK(Eventually([&] { return ticks.load() >= 5; }));

  // Tasks accepted while Stop runs all run first; none is accepted after.
  std::atomic<uint64_t> accepted{0};
  std::atomic<uint64_t> ran{0};
  std::thread poster([&] {
    while (transport->Post([&] { ran.fetch_add(1); })) accepted.fetch_add(1);
  });
  std::this_thread::sleep_for(milliseconds(5));
  transport->Stop();
  poster.join();
  CHECK(ran.load() == accepted.load());
  const int ticks_at_stop = ticks.load();
  std::this_thread::sleep_for(milliseconds(10));
  CHECK(ticks.load() == ticks_at_stop);
  {
    std::lock_guard lock(mutex);
    CHECK(tick_threads == std::set<std::thread::id>{thread});
  }

  CHECK_FALSE(transport->Post([] {}));
  CHECK(transport->Send(1, "late").code() == absl::StatusCode::kFailedPrecondition);
  CHECK(transport->SetPeer(1, "127.0.0.1:1").code() == absl::StatusCode::kFailedPrecondition);
  CHECK(transport->Every(1, [] {}).code() == absl::StatusCode::kFailedPrecondition);
  transport->RemovePeer(1);
  transport->Stop();  // again: nothing happens
}

TEST_CASE("Stop is clean with traffic in flight in both directions") {
  const uint64_t seed = keel::testing::TestSeed(7004);
  CAPTURE(seed);
  Inbox inbox_a;
  Inbox inbox_b;
  std::unique_ptr<Transport> a = StartTransport(LoopbackOptions(0), inbox_a);
  std::unique_ptr<Transport> b = StartTransport(LoopbackOptions(1), inbox_b);
  REQUIRE(a->SetPeer(1, Address(*b)).ok());
  REQUIRE(b->SetPeer(0, Address(*a)).ok());
  for (Transport* from : {a.get(), b.get()}) {
    const NodeId to = from == a.get() ? 1 : 0;
    auto random = std::make_shared<base::Random>(seed + to);
    REQUIRE(from->Every(1'000'000,
                        [from, to, random] {
                          for (int i = 0; i < 20; ++i) {
                            std::string payload(random->Uniform(2'000), 'z');
                            // Stop may have begun: that is the only error expected.
                            const absl::Status status = from->Send(to, std::move(payload));
                            if (!status.ok() && !absl::IsFailedPrecondition(status)) std::abort();
                          }
                        })
                .ok());
  }
  // And a thread of its own sending to a as well, until Send says it has stopped.
  std::thread sender([&] {
    while (b->Send(0, "from another thread").ok()) std::this_thread::yield();
  });
  CHECK(Eventually([&] { return inbox_a.count() > 200 && inbox_b.count() > 200; }));
  a->Stop();
  std::this_thread::sleep_for(milliseconds(20));
  b->Stop();
  sender.join();
  b.reset();
  a.reset();
}

TEST_CASE("A peer's new connection replaces its old one") {
  Inbox inbox;
  std::unique_ptr<Transport> transport = StartTransport(LoopbackOptions(3), inbox);

  RawSocket old_connection = RawSocket::Connect(transport->port());
  REQUIRE(old_connection.Write(Handshake(4, 3) + Frame("old")));
  CHECK(Eventually([&] { return inbox.count() == 1; }));
  RawSocket new_connection = RawSocket::Connect(transport->port());
  REQUIRE(new_connection.Write(Handshake(4, 3) + Frame("new")));
  CHECK(old_connection.ClosedByPeer());
  CHECK(Eventually([&] { return inbox.count() == 2; }));
  CHECK(inbox.From(4) == std::vector<std::string>{"old", "new"});

  // A connection accepted earlier that names the same sender only now is the stale one: it is
  // closed, unheard, and the newer one stays.
  RawSocket late = RawSocket::Connect(transport->port());
  RawSocket newest = RawSocket::Connect(transport->port());
  REQUIRE(newest.Write(Handshake(6, 3) + Frame("newest")));
  CHECK(Eventually([&] { return inbox.From(6).size() == 1; }));
  REQUIRE(late.Write(Handshake(6, 3) + Frame("late")));
  CHECK(late.ClosedByPeer());
  REQUIRE(newest.Write(Frame("newest again")));
  CHECK(Eventually([&] { return inbox.From(6).size() == 2; }));
  CHECK(inbox.From(6) == std::vector<std::string>{"newest", "newest again"});
  CHECK(transport->stats().accepts == 4);  // late named itself before it was closed
}

}  // namespace
}  // namespace keel::raft
