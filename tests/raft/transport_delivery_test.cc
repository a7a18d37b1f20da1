// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// keel::raft::Transport on loopback, delivering: transports exchanging randomized frames
// (compared with what was sent, per sender and in order), peers that are down, backing off,
// set, removed, moved or named by host name, and raw sockets that speak the wire format of
// docs/raft.md ("Transport") by hand, whole or split at random points.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "doctest/doctest.h"
#include "keel/base/random.h"
#include "keel/raft/transport.h"
#include "raft/transport_testing.h"
#include "testing/testing.h"

namespace keel::raft {
namespace {

using namespace transport_testing;  // NOLINT: the shared helpers are the vocabulary of these tests
using keel::testing::Eventually;

// ---------------------------------------------------------------------------------------------
// Traffic between transports.
// ---------------------------------------------------------------------------------------------

TEST_CASE("Three transports exchange randomized frames and each sender's arrive intact in order") {
  const uint64_t seed = keel::testing::TestSeed(7001);
  CAPTURE(seed);
  const uint64_t frames = keel::testing::TestRounds("KEEL_RAFT_TRANSPORT_FRAMES", 3000);
  base::Random random(seed);

  constexpr int kNodes = 3;
  std::vector<Inbox> inboxes(kNodes);
  std::vector<std::unique_ptr<Transport>> transports;
  for (NodeId id = 0; id < kNodes; ++id) {
    transports.push_back(StartTransport(LoopbackOptions(id), inboxes[id]));
  }
  for (NodeId id = 0; id < kNodes; ++id) {
    for (NodeId peer = 0; peer < kNodes; ++peer) {
      if (peer != id) REQUIRE(transports[id]->SetPeer(peer, Address(*transports[peer])).ok());
    }
  }

  // Frame sizes from empty to 256 KiB, mostly small as Raft's heartbeats and acknowledgements
  // are, some past the size the queue copies (8 KiB). Half are sent from the test's thread, half
  // from tasks on the sender's own thread (as a Raft loop does), in runs of random length.
  std::map<std::pair<NodeId, NodeId>, std::vector<std::string>> sent;
  uint64_t sent_count = 0;
  while (sent_count < frames) {
    const NodeId from = random.Uniform(kNodes);
    const uint64_t run = std::min<uint64_t>(1 + random.Uniform(20), frames - sent_count);
    std::vector<std::pair<NodeId, std::string>> batch;
    for (uint64_t i = 0; i < run; ++i) {
      const NodeId to = (from + 1 + random.Uniform(kNodes - 1)) % kNodes;
      const uint64_t kind = random.Uniform(100);
      const size_t size = kind < 70   ? random.Uniform(200)
                          : kind < 95 ? 200 + random.Uniform(16 * 1024)
                                      : 16 * 1024 + random.Uniform(240 * 1024);
      std::string payload = RandomBytes(random, size);
      sent[{from, to}].push_back(payload);
      batch.emplace_back(to, std::move(payload));
    }
    sent_count += run;
    if (random.Bernoulli(0.5)) {
      for (auto& [to, payload] : batch) REQUIRE(transports[from]->Send(to, payload).ok());
    } else {
      Transport* transport = transports[from].get();
      REQUIRE(transport->Post([transport, batch = std::move(batch)] {
        for (const auto& [to, payload] : batch) {
          if (!transport->Send(to, payload).ok()) std::abort();
        }
      }));
    }
  }

  const bool all_arrived = Eventually([&] {
    size_t received = 0;
    for (const Inbox& inbox : inboxes) received += inbox.count();
    return received == frames;
  });
  CHECK(all_arrived);
  for (const auto& [route, payloads] : sent) {
    CAPTURE(route.first);
    CAPTURE(route.second);
    const std::vector<std::string> received = inboxes[route.second].From(route.first);
    REQUIRE(received.size() == payloads.size());
    for (size_t i = 0; i < payloads.size(); ++i) {
      CAPTURE(i);
      REQUIRE(received[i] == payloads[i]);
    }
  }
  uint64_t frames_sent = 0;
  uint64_t frames_received = 0;
  uint64_t bytes_sent = 0;
  uint64_t bytes_received = 0;
  for (NodeId id = 0; id < kNodes; ++id) {
    const TransportStats stats = transports[id]->stats();
    CHECK(stats.frames_dropped == 0);
    CHECK(stats.connects == kNodes - 1);
    CHECK(stats.accepts == kNodes - 1);
    CHECK(stats.pending_bytes == 0);
    frames_sent += stats.frames_sent;
    frames_received += stats.frames_received;
    bytes_sent += stats.bytes_sent;
    bytes_received += stats.bytes_received;
    // Receive ran on the transport's own thread, and only there.
    CHECK(inboxes[id].threads() == std::set<std::thread::id>{ThreadOf(*transports[id])});
  }
  CHECK(frames_sent == frames);
  CHECK(frames_received == frames);
  CHECK(bytes_sent == bytes_received);
  for (auto& transport : transports) transport->Stop();
}

TEST_CASE("Frames for a peer that is down are dropped and reported until it returns on its port") {
  // A port nobody listens on: one a transport had, then gave up.
  Inbox scratch;
  const uint16_t port = StartTransport(LoopbackOptions(1), scratch)->port();
  const std::string address = "127.0.0.1:" + std::to_string(port);

  Inbox inbox;
  UnreachableLog unreachable;
  TransportOptions options = LoopbackOptions(0);
  options.peers = {{1, address}};
  std::unique_ptr<Transport> sender = StartTransport(options, inbox, &unreachable);
  // The Raft tick of a leader: a numbered heartbeat every 2 ms, from the transport thread.
  std::atomic<uint64_t> next{0};
  REQUIRE(sender
              ->Every(2'000'000,
                      [&] {
                        if (!sender->Send(1, Numbered(next.fetch_add(1), 16)).ok()) std::abort();
                      })
              .ok());
  CHECK(Eventually([&] {
    const TransportStats stats = sender->stats();
    return unreachable.count(1) >= 2 && stats.connect_failures >= 2 && stats.frames_dropped >= 2;
  }));
  CHECK(sender->stats().connects == 0);
  CHECK(unreachable.threads() == std::set<std::thread::id>{ThreadOf(*sender)});

  // The peer comes back on the same port: the sender reconnects, and the frames that arrive
  // are a gapless run of the later ones, in order.
  TransportOptions restarted = LoopbackOptions(1);
  restarted.listen_address = address;
  Inbox peer_inbox;
  std::unique_ptr<Transport> peer = StartTransport(restarted, peer_inbox);
  CHECK(Eventually([&] { return peer_inbox.count() >= 20; }));
  const std::vector<std::string> received = peer_inbox.From(0);
  REQUIRE(!received.empty());
  for (size_t i = 1; i < received.size(); ++i) {
    CHECK(IndexOf(received[i]) == IndexOf(received[i - 1]) + 1);
  }
  CHECK(sender->stats().connects == 1);

  // Down again: the sender sees the connection end, and drops and reports again.
  const uint64_t reported = unreachable.count(1);
  peer->Stop();
  CHECK(Eventually(
      [&] { return sender->stats().disconnects == 1 && unreachable.count(1) > reported; }));
  sender->Stop();
}

TEST_CASE(
    "While a connection backs off after a failure frames are dropped at once and not dialled") {
  Inbox scratch;
  const uint16_t port = StartTransport(LoopbackOptions(1), scratch)->port();
  TransportOptions options = LoopbackOptions(0);
  options.peers = {{1, "127.0.0.1:" + std::to_string(port)}};
  options.reconnect_delay_ms = 60'000;  // longer than the test
  options.max_reconnect_delay_ms = 60'000;
  Inbox inbox;
  UnreachableLog unreachable;
  std::unique_ptr<Transport> transport = StartTransport(options, inbox, &unreachable);

  REQUIRE(transport->Send(1, "queued while connecting").ok());
  CHECK(Eventually([&] { return transport->stats().connect_failures == 1; }));
  for (int i = 0; i < 10; ++i) REQUIRE(transport->Send(1, "dropped at once").ok());
  Drain(*transport);
  const TransportStats stats = transport->stats();
  CHECK(stats.frames_dropped == 11);
  CHECK(stats.pending_bytes == 0);
  CHECK(stats.connect_failures == 1);
  CHECK(Eventually([&] { return unreachable.count(1) >= 1; }));
}

TEST_CASE("Peers set removed and moved at runtime take effect for the next frames") {
  Inbox inbox;
  UnreachableLog unreachable;
  std::unique_ptr<Transport> transport = StartTransport(LoopbackOptions(0), inbox, &unreachable);
  Inbox first_inbox;
  std::unique_ptr<Transport> first = StartTransport(LoopbackOptions(1), first_inbox);
  Inbox second_inbox;
  std::unique_ptr<Transport> second = StartTransport(LoopbackOptions(1), second_inbox);

  // Unknown: dropped and reported.
  REQUIRE(transport->Send(1, "to nobody").ok());
  CHECK(Eventually([&] { return unreachable.count(1) == 1; }));
  CHECK(transport->stats().frames_dropped == 1);

  REQUIRE(transport->SetPeer(1, Address(*first)).ok());
  REQUIRE(transport->Send(1, "one").ok());
  CHECK(Eventually([&] { return first_inbox.count() == 1; }));
  // The same address again changes nothing.
  REQUIRE(transport->SetPeer(1, Address(*first)).ok());
  REQUIRE(transport->Send(1, "two").ok());
  CHECK(Eventually([&] { return first_inbox.count() == 2; }));
  CHECK(first_inbox.From(0) == std::vector<std::string>{"one", "two"});
  CHECK(transport->stats().connects == 1);

  // Moved: the next frames go to the new address over a new connection.
  REQUIRE(transport->SetPeer(1, Address(*second)).ok());
  REQUIRE(transport->Send(1, "three").ok());
  CHECK(Eventually([&] { return second_inbox.count() == 1; }));
  CHECK(second_inbox.From(0) == std::vector<std::string>{"three"});
  CHECK(transport->stats().connects == 2);

  // Removed: unknown again.
  transport->RemovePeer(1);
  transport->RemovePeer(42);  // never known: nothing happens
  REQUIRE(transport->Send(1, "four").ok());
  CHECK(Eventually([&] { return unreachable.count(1) == 2; }));
  Drain(*transport);
  CHECK(transport->stats().frames_dropped == 2);
  CHECK(second_inbox.count() == 1);
  CHECK(first_inbox.count() == 2);
}

TEST_CASE("A peer named by host name is resolved and reached") {
  Inbox inbox;
  std::unique_ptr<Transport> receiver = StartTransport(LoopbackOptions(1), inbox);
  TransportOptions options = LoopbackOptions(0);
  options.peers = {{1, "localhost:" + std::to_string(receiver->port())}};
  Inbox unused;
  std::unique_ptr<Transport> sender = StartTransport(options, unused);
  // localhost may resolve to ::1 first, where nothing listens: the next address is tried.
  REQUIRE(sender->Send(1, "by name").ok());
  CHECK(Eventually([&] { return inbox.count() == 1; }));
  CHECK(inbox.From(0) == std::vector<std::string>{"by name"});
}

// ---------------------------------------------------------------------------------------------
// Raw peers that speak the documented format.
// ---------------------------------------------------------------------------------------------

TEST_CASE("A raw peer that speaks the documented format is heard") {
  Inbox inbox;
  std::unique_ptr<Transport> transport = StartTransport(LoopbackOptions(3), inbox);
  RawSocket peer = RawSocket::Connect(transport->port());
  REQUIRE(
      peer.Write(Handshake(9, 3) + Frame("") + Frame("hello") + Frame(std::string(100'000, 'x'))));
  CHECK(Eventually([&] { return inbox.count() == 3; }));
  CHECK(inbox.From(9) == std::vector<std::string>{"", "hello", std::string(100'000, 'x')});
  const TransportStats stats = transport->stats();
  CHECK(stats.accepts == 1);
  CHECK(stats.bytes_received == 24 + 4 + 9 + 100'004);
}

TEST_CASE("A transport sends the bytes of the worked example in docs/raft.md") {
  RawListener listener(64 * 1024);
  TransportOptions options = LoopbackOptions(2);
  options.peers = {{0, "127.0.0.1:" + std::to_string(listener.port())}};
  Inbox inbox;
  std::unique_ptr<Transport> transport = StartTransport(options, inbox);
  REQUIRE(transport->Send(0, "hi").ok());
  REQUIRE(transport->Send(0, "").ok());
  std::optional<RawSocket> connection = listener.Accept();
  REQUIRE(connection.has_value());
  const std::optional<std::string> bytes = connection->Read(24 + 6 + 4);
  REQUIRE(bytes.has_value());
  const unsigned char expected[] = {0x4b, 0x52, 0x46, 0x54, 0x01, 0x00, 0x00, 0x00,
                                    0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
                                    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  // handshake
                                    0x02, 0x00, 0x00, 0x00, 0x68, 0x69,              // "hi"
                                    0x00, 0x00, 0x00, 0x00};                         // ""
  CHECK(*bytes == std::string(reinterpret_cast<const char*>(expected), sizeof(expected)));
}

TEST_CASE("Frames split across reads at random points arrive whole and a torn last one never") {
  const uint64_t seed = keel::testing::TestSeed(7003);
  CAPTURE(seed);
  base::Random random(seed);
  TransportOptions options = LoopbackOptions(3);
  options.read_bytes = 7;  // reads end inside prefixes, inside frames, inside the handshake
  Inbox inbox;
  std::unique_ptr<Transport> transport = StartTransport(options, inbox);

  std::vector<std::string> payloads;
  std::string stream = Handshake(4, 3);
  for (int i = 0; i < 200; ++i) {
    std::string payload =
        RandomBytes(random, random.Bernoulli(0.1) ? random.Uniform(70'000) : random.Uniform(100));
    stream += Frame(payload);
    payloads.push_back(std::move(payload));
  }
  // And a frame cut short: its prefix announces more than follows before the close.
  stream += Frame(std::string(100, 'y')).substr(0, 4 + 50);

  RawSocket peer = RawSocket::Connect(transport->port());
  for (size_t at = 0; at < stream.size();) {
    const size_t n = std::min<size_t>(stream.size() - at, 1 + random.Uniform(3000));
    REQUIRE(peer.Write(std::string_view(stream).substr(at, n)));
    at += n;
    if (random.Bernoulli(0.05)) std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  peer.Close();
  CHECK(Eventually([&] { return transport->stats().bytes_received == stream.size(); }));
  Drain(*transport);
  CHECK(inbox.From(4) == payloads);
}

}  // namespace
}  // namespace keel::raft
