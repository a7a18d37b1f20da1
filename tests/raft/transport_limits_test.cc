// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// keel::raft::Transport's limits and its answers to hostile input: a peer that never reads (the
// per-peer queue limit), frames past max_frame_bytes, malformed or missing handshakes,
// connections past max_inbound_connections, and options, addresses and frames that are refused
// with errors naming them.
#include <algorithm>
#include <cstdlib>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "doctest/doctest.h"
#include "keel/base/coding.h"
#include "keel/base/random.h"
#include "keel/raft/transport.h"
#include "raft/transport_testing.h"
#include "testing/testing.h"

namespace keel::raft {
namespace {

using namespace transport_testing;  // NOLINT: the shared helpers are the vocabulary of these tests
using keel::testing::Eventually;

// ---------------------------------------------------------------------------------------------
// Limits.
// ---------------------------------------------------------------------------------------------

TEST_CASE("A peer that never reads makes frames drop at the queue limit and memory stays bounded") {
  const uint64_t seed = keel::testing::TestSeed(7002);
  CAPTURE(seed);
  base::Random random(seed);
  RawListener listener(4096);
  TransportOptions options = LoopbackOptions(0);
  options.peers = {{1, "127.0.0.1:" + std::to_string(listener.port())}};
  options.max_pending_bytes_per_peer = 256 * 1024;
  Inbox inbox;
  UnreachableLog unreachable;
  std::unique_ptr<Transport> transport = StartTransport(options, inbox, &unreachable);

  // 24 MiB, several times what the sockets' buffers (up to 4 MiB for the sender's, by
  // net.ipv4.tcp_wmem, and 8 KiB for the receiver's) and the queue hold together, sent from the
  // transport thread in runs so that the queue fills between writes.
  constexpr uint64_t kFrames = 1536;
  std::vector<size_t> sizes;
  for (uint64_t i = 0; i < kFrames; ++i) sizes.push_back(8 + random.Uniform(32 * 1024));
  std::optional<RawSocket> connection;
  uint64_t max_pending = 0;
  for (uint64_t start = 0; start < kFrames; start += 64) {
    REQUIRE(transport->Post([&, start] {
      for (uint64_t i = start; i < start + 64; ++i) {
        if (!transport->Send(1, Numbered(i, sizes[i])).ok()) std::abort();
      }
    }));
    if (!connection) connection = listener.Accept();  // and never read, for now
    REQUIRE(connection.has_value());
    // One run at a time, so that writes go out between them.
    Drain(*transport);
    max_pending = std::max(max_pending, transport->stats().pending_bytes);
  }
  TransportStats stats = transport->stats();
  CHECK(max_pending <= options.max_pending_bytes_per_peer);
  CHECK(stats.pending_bytes <= options.max_pending_bytes_per_peer);
  CHECK(stats.pending_bytes > 0);
  CHECK(stats.frames_dropped > kFrames / 2);
  CHECK(unreachable.count(1) >= 1);
  const uint64_t dropped = stats.frames_dropped;

  // Now read: exactly the frames that were not dropped arrive, intact and in order.
  const std::optional<std::string> handshake = connection->Read(24);
  REQUIRE(handshake.has_value());
  CHECK(*handshake == Handshake(0, 1));
  uint64_t previous = 0;
  for (uint64_t n = 0; n < kFrames - dropped; ++n) {
    CAPTURE(n);
    const std::optional<std::string> prefix = connection->Read(4);
    REQUIRE(prefix.has_value());
    const std::optional<std::string> payload =
        connection->Read(base::DecodeFixed32(prefix->data()));
    REQUIRE(payload.has_value());
    const uint64_t index = IndexOf(*payload);
    REQUIRE(index < kFrames);
    REQUIRE((n == 0 || index > previous));
    REQUIRE(*payload == Numbered(index, sizes[index]));
    previous = index;
  }
  CHECK(Eventually([&] { return transport->stats().pending_bytes == 0; }));
  stats = transport->stats();
  CHECK(stats.frames_sent == kFrames - dropped);
  CHECK(stats.frames_dropped == dropped);
  CHECK(stats.disconnects == 0);
  transport->Stop();
}

TEST_CASE("Connections past max_inbound_connections are closed as they come") {
  TransportOptions options = LoopbackOptions(3);
  options.max_inbound_connections = 2;
  Inbox inbox;
  std::unique_ptr<Transport> transport = StartTransport(options, inbox);
  RawSocket first = RawSocket::Connect(transport->port());
  RawSocket second = RawSocket::Connect(transport->port());
  RawSocket third = RawSocket::Connect(transport->port());
  CHECK(third.ClosedByPeer());
  CHECK(transport->stats().rejected_connections == 1);
  // The two within the limit are heard.
  REQUIRE(first.Write(Handshake(4, 3) + Frame("first")));
  REQUIRE(second.Write(Handshake(5, 3) + Frame("second")));
  CHECK(Eventually([&] { return inbox.count() == 2; }));
}

TEST_CASE("An incoming frame past max_frame_bytes closes its connection and is counted") {
  TransportOptions options = LoopbackOptions(3);
  options.max_frame_bytes = 1000;
  Inbox inbox;
  std::unique_ptr<Transport> transport = StartTransport(options, inbox);

  SUBCASE("a length just past the limit") {
    RawSocket peer = RawSocket::Connect(transport->port());
    REQUIRE(peer.Write(Handshake(4, 3) + Frame(std::string(1000, 'a')) +
                       Frame(std::string(1001, 'b'))));
    CHECK(peer.ClosedByPeer());
  }
  SUBCASE("a huge length") {
    RawSocket peer = RawSocket::Connect(transport->port());
    std::string huge;
    base::PutFixed32(huge, 0xFFFF'FFFF);
    REQUIRE(peer.Write(Handshake(4, 3) + Frame(std::string(1000, 'a')) + huge + "the rest"));
    CHECK(peer.ClosedByPeer());
  }
  CHECK(transport->stats().oversized_frames == 1);
  // The frame before it arrived (a frame of exactly the limit is allowed).
  CHECK(inbox.From(4) == std::vector<std::string>{std::string(1000, 'a')});
  // And the transport goes on.
  RawSocket next = RawSocket::Connect(transport->port());
  REQUIRE(next.Write(Handshake(5, 3) + Frame("still here")));
  CHECK(Eventually([&] { return inbox.From(5).size() == 1; }));
}

// ---------------------------------------------------------------------------------------------
// Hostile handshakes and bad options.
// ---------------------------------------------------------------------------------------------

TEST_CASE("A malformed or missing handshake closes the connection unheard and is counted") {
  TransportOptions options = LoopbackOptions(3);
  options.handshake_timeout_ms = 50;
  Inbox inbox;
  std::unique_ptr<Transport> transport = StartTransport(options, inbox);
  std::string bytes;
  SUBCASE("bad magic") { bytes = Handshake(4, 3, "HTTP"); }
  SUBCASE("unknown version") { bytes = Handshake(4, 3, "KRFT", 2); }
  SUBCASE("addressed to another node") { bytes = Handshake(4, 8); }
  SUBCASE("from this node itself") { bytes = Handshake(3, 3); }
  SUBCASE("from no node") { bytes = Handshake(kNoNode, 3); }
  SUBCASE("too short, then silence") { bytes = Handshake(4, 3).substr(0, 23); }
  SUBCASE("silence") {}
  CAPTURE(bytes.size());
  RawSocket peer = RawSocket::Connect(transport->port());
  REQUIRE(peer.Write(bytes));
  // A frame after it is never delivered (the write may fail if the close came first).
  static_cast<void>(peer.Write(Frame("ignored")));
  CHECK(peer.ClosedByPeer());
  CHECK(transport->stats().handshake_failures == 1);
  CHECK(transport->stats().accepts == 0);
  Drain(*transport);
  CHECK(inbox.count() == 0);
}

TEST_CASE("Bad options addresses and frames are rejected with errors naming them") {
  const auto start_error = [](const TransportOptions& options) {
    absl::StatusOr<std::unique_ptr<Transport>> transport = Transport::Start(
        options, [](NodeId, std::string_view) {}, nullptr);
    REQUIRE_FALSE(transport.ok());
    return transport.status();
  };
  TransportOptions options = LoopbackOptions(0);
  SUBCASE("options") {
    options.id = kNoNode;
    CHECK(start_error(options).message() == "TransportOptions.id is kNoNode");
    options = LoopbackOptions(0);
    options.max_frame_bytes = 0;
    CHECK(start_error(options).message() ==
          "TransportOptions.max_frame_bytes is 0; it must be at least 1");
    options = LoopbackOptions(0);
    options.max_reconnect_delay_ms = 1;
    CHECK(start_error(options).message() ==
          "TransportOptions.max_reconnect_delay_ms is 1; it must be from 5 to 86400000");
    options = LoopbackOptions(0);
    options.connect_timeout_ms = std::numeric_limits<int64_t>::max();
    CHECK(start_error(options).message() ==
          "TransportOptions.connect_timeout_ms is 9223372036854775807; it must be from 1 to "
          "86400000");
    options = LoopbackOptions(0);
    options.handshake_timeout_ms = 0;
    CHECK(start_error(options).code() == absl::StatusCode::kInvalidArgument);
    options = LoopbackOptions(0);
    options.read_bytes = size_t{1} << 40;
    CHECK(start_error(options).message() ==
          "TransportOptions.read_bytes is 1099511627776; it must be from 1 to 67108864");
  }
  SUBCASE("listen addresses") {
    options.listen_address = "localhost:0";
    CHECK(start_error(options).message() ==
          "bad listen address \"localhost:0\": the host must be a numeric address");
    options.listen_address = "127.0.0.1";
    CHECK(start_error(options).message() == "bad address \"127.0.0.1\": no port (want host:port)");
    options.listen_address = "127.0.0.1:65536";
    CHECK(start_error(options).message() ==
          "bad address \"127.0.0.1:65536\": the port is not a number from 0 to 65535 (want "
          "host:port)");
    // 192.0.2.1 (TEST-NET-1) is not an address of this machine.
    options.listen_address = "192.0.2.1:0";
    CHECK(start_error(options).code() == absl::StatusCode::kUnavailable);
  }
  SUBCASE("peers") {
    options.peers = {{0, "127.0.0.1:1"}};
    CHECK(start_error(options).message() == "peer 0 is this node");
    options.peers = {{1, "127.0.0.1:0"}};
    CHECK(start_error(options).message() ==
          "peer 1: bad address \"127.0.0.1:0\": port 0 (want host:port)");
    options.peers = {{1, "::1:7000"}};
    CHECK(start_error(options).message() ==
          "peer 1: bad address \"::1:7000\": an IPv6 host must be in brackets (want host:port)");
    options.peers = {{1, ":7000"}};
    CHECK(start_error(options).code() == absl::StatusCode::kInvalidArgument);
  }
  SUBCASE("at runtime") {
    Inbox inbox;
    options.max_frame_bytes = 10;
    std::unique_ptr<Transport> transport = StartTransport(options, inbox);
    CHECK(transport->Send(1, std::string(11, 'x')).message() ==
          "a frame of 11 bytes for node 1 is larger than max_frame_bytes (10)");
    CHECK(transport->Send(0, "self").code() == absl::StatusCode::kInvalidArgument);
    CHECK(transport->Send(kNoNode, "nobody").code() == absl::StatusCode::kInvalidArgument);
    CHECK(transport->SetPeer(0, "127.0.0.1:1").message() == "peer 0 is this node");
    CHECK(transport->SetPeer(1, "127.0.0.1:x").code() == absl::StatusCode::kInvalidArgument);
    CHECK(transport->SetPeer(1, "[::1]:7000").ok());
    CHECK(transport->Every(0, [] {}).code() == absl::StatusCode::kInvalidArgument);
    CHECK(transport->Every(Transport::kMaxPeriodNs + 1, [] {}).message() ==
          "Every: period_ns is 86400000000001; it must be from 1 to 86400000000000");
    CHECK(transport->Every(1, nullptr).code() == absl::StatusCode::kInvalidArgument);
    Drain(*transport);
    CHECK(transport->stats().frames_dropped == 0);
  }
}

}  // namespace
}  // namespace keel::raft
