// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// keel::raft::Transport on loopback: transports exchanging randomized frames (compared with what
// was sent), peers that are down, slow, removed or moved, and raw sockets that speak the wire
// format of docs/raft.md ("Transport") by hand, correctly and not.
#include "keel/raft/transport.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "doctest/doctest.h"
#include "keel/base/coding.h"
#include "keel/base/random.h"
#include "testing/testing.h"

namespace keel::raft {
namespace {

using keel::testing::Eventually;
using std::chrono::milliseconds;

// ---------------------------------------------------------------------------------------------
// The wire format, written from the grammar in docs/raft.md (not from the transport's code).
// ---------------------------------------------------------------------------------------------

std::string Handshake(NodeId from, NodeId to, std::string_view magic = "KRFT",
                      uint32_t version = 1) {
  std::string bytes(magic);
  base::PutFixed32(bytes, version);
  base::PutFixed64(bytes, from);
  base::PutFixed64(bytes, to);
  return bytes;
}

std::string Frame(std::string_view payload) {
  std::string bytes;
  base::PutFixed32(bytes, static_cast<uint32_t>(payload.size()));
  bytes.append(payload);
  return bytes;
}

// ---------------------------------------------------------------------------------------------
// Raw sockets on 127.0.0.1.
// ---------------------------------------------------------------------------------------------

sockaddr_in Loopback(uint16_t port) {
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return address;
}

// Waits up to `timeout` for `fd` to be readable (or closed).
bool WaitReadable(int fd, milliseconds timeout) {
  pollfd entry{.fd = fd, .events = POLLIN, .revents = 0};
  return ::poll(&entry, 1, static_cast<int>(timeout.count())) == 1;
}

class RawSocket {
 public:
  explicit RawSocket(int fd) : fd_(fd) {}
  RawSocket(RawSocket&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  RawSocket& operator=(RawSocket&& other) noexcept {
    if (this != &other) {
      Close();
      fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
  }
  ~RawSocket() { Close(); }

  static RawSocket Connect(uint16_t port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(fd >= 0);
    const sockaddr_in address = Loopback(port);
    REQUIRE(::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof(address)) == 0);
    return RawSocket(fd);
  }

  // The whole of `bytes`, or false once the peer has closed.
  bool Write(std::string_view bytes) {
    while (!bytes.empty()) {
      const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      bytes.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }

  // Exactly n bytes, or nothing if they do not come within `timeout`.
  std::optional<std::string> Read(size_t n, milliseconds timeout = milliseconds(10'000)) {
    std::string bytes(n, '\0');
    size_t got = 0;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (got < n) {
      const auto left =
          std::chrono::duration_cast<milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0 || !WaitReadable(fd_, left)) return std::nullopt;
      const ssize_t r = ::recv(fd_, bytes.data() + got, n - got, 0);
      if (r <= 0) return std::nullopt;
      got += static_cast<size_t>(r);
    }
    return bytes;
  }

  // Whether the peer closes the connection within `timeout` (what it sent before is skipped).
  bool ClosedByPeer(milliseconds timeout = milliseconds(10'000)) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    char scratch[4096];
    while (std::chrono::steady_clock::now() < deadline) {
      if (!WaitReadable(fd_, milliseconds(10))) continue;
      const ssize_t r = ::recv(fd_, scratch, sizeof(scratch), 0);
      if (r == 0 || (r < 0 && errno != EINTR && errno != EAGAIN)) return true;
    }
    return false;
  }

  void Close() {
    if (fd_ >= 0) ::close(std::exchange(fd_, -1));
  }

 private:
  int fd_;
};

// A listening socket the test accepts from by hand: a peer that does not read.
class RawListener {
 public:
  explicit RawListener(int receive_buffer_bytes) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(fd_ >= 0);
    // Set before listen, so that accepted sockets inherit it (and their window stays small).
    REQUIRE(::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &receive_buffer_bytes,
                         sizeof(receive_buffer_bytes)) == 0);
    sockaddr_in address = Loopback(0);
    REQUIRE(::bind(fd_, reinterpret_cast<const sockaddr*>(&address), sizeof(address)) == 0);
    REQUIRE(::listen(fd_, 4) == 0);
    socklen_t length = sizeof(address);
    REQUIRE(::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length) == 0);
    port_ = ntohs(address.sin_port);
  }
  RawListener(const RawListener&) = delete;
  RawListener& operator=(const RawListener&) = delete;
  ~RawListener() { ::close(fd_); }

  [[nodiscard]] uint16_t port() const { return port_; }

  std::optional<RawSocket> Accept(milliseconds timeout = milliseconds(10'000)) {
    if (!WaitReadable(fd_, timeout)) return std::nullopt;
    const int fd = ::accept(fd_, nullptr, nullptr);
    if (fd < 0) return std::nullopt;
    return RawSocket(fd);
  }

 private:
  int fd_ = -1;
  uint16_t port_ = 0;
};

// ---------------------------------------------------------------------------------------------
// Recording what the callbacks see.
// ---------------------------------------------------------------------------------------------

// The frames one transport received, by sender, and the threads Receive ran on.
class Inbox {
 public:
  void Receive(NodeId from, std::string_view frame) {
    std::lock_guard lock(mutex_);
    frames_[from].emplace_back(frame);
    threads_.insert(std::this_thread::get_id());
    count_.fetch_add(1);
  }

  [[nodiscard]] size_t count() const { return count_.load(); }

  [[nodiscard]] std::vector<std::string> From(NodeId from) const {
    std::lock_guard lock(mutex_);
    const auto it = frames_.find(from);
    return it == frames_.end() ? std::vector<std::string>() : it->second;
  }

  [[nodiscard]] std::set<std::thread::id> threads() const {
    std::lock_guard lock(mutex_);
    return threads_;
  }

 private:
  mutable std::mutex mutex_;
  std::map<NodeId, std::vector<std::string>> frames_;
  std::set<std::thread::id> threads_;
  std::atomic<size_t> count_{0};
};

class UnreachableLog {
 public:
  void Report(NodeId peer) {
    std::lock_guard lock(mutex_);
    ++counts_[peer];
    threads_.insert(std::this_thread::get_id());
  }

  [[nodiscard]] uint64_t count(NodeId peer) const {
    std::lock_guard lock(mutex_);
    const auto it = counts_.find(peer);
    return it == counts_.end() ? 0 : it->second;
  }

  [[nodiscard]] std::set<std::thread::id> threads() const {
    std::lock_guard lock(mutex_);
    return threads_;
  }

 private:
  mutable std::mutex mutex_;
  std::map<NodeId, uint64_t> counts_;
  std::set<std::thread::id> threads_;
};

TransportOptions Options(NodeId id) {
  TransportOptions options;
  options.id = id;
  options.listen_address = "127.0.0.1:0";
  options.reconnect_delay_ms = 5;
  options.max_reconnect_delay_ms = 20;
  options.handshake_timeout_ms = 2000;
  return options;
}

std::unique_ptr<Transport> StartTransport(const TransportOptions& options, Inbox& inbox,
                                          UnreachableLog* unreachable = nullptr) {
  absl::StatusOr<std::unique_ptr<Transport>> transport = Transport::Start(
      options, [&inbox](NodeId from, std::string_view frame) { inbox.Receive(from, frame); },
      [unreachable](NodeId peer) {
        if (unreachable != nullptr) unreachable->Report(peer);
      });
  REQUIRE_MESSAGE(transport.ok(), transport.status().ToString());
  return *std::move(transport);
}

std::string Address(const Transport& transport) {
  return "127.0.0.1:" + std::to_string(transport.port());
}

// The transport thread's id, as a task posted to it sees it.
std::thread::id ThreadOf(Transport& transport) {
  std::mutex mutex;
  std::optional<std::thread::id> id;
  REQUIRE(transport.Post([&] {
    std::lock_guard lock(mutex);
    id = std::this_thread::get_id();
  }));
  REQUIRE(Eventually([&] {
    std::lock_guard lock(mutex);
    return id.has_value();
  }));
  std::lock_guard lock(mutex);
  return *id;
}

// Waits until every task posted to `transport` before this call has run.
void Drain(Transport& transport) {
  std::atomic<bool> done{false};
  REQUIRE(transport.Post([&] { done.store(true); }));
  REQUIRE(Eventually([&] { return done.load(); }));
}

// `size` random bytes, eight from each draw.
std::string RandomBytes(base::Random& random, size_t size) {
  std::string bytes(size, '\0');
  for (size_t at = 0; at < size; at += 8) {
    const uint64_t word = random.Next();
    std::memcpy(bytes.data() + at, &word, std::min<size_t>(8, size - at));
  }
  return bytes;
}

// A payload of `size` bytes (at least 8) that starts with `index` and whose other bytes follow
// from it.
std::string Numbered(uint64_t index, size_t size) {
  base::Random fill(index);
  std::string payload = RandomBytes(fill, std::max<size_t>(size, 8));
  base::EncodeFixed64(payload.data(), index);
  return payload;
}

uint64_t IndexOf(std::string_view payload) { return base::DecodeFixed64(payload.data()); }

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
    transports.push_back(StartTransport(Options(id), inboxes[id]));
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
  const uint16_t port = StartTransport(Options(1), scratch)->port();
  const std::string address = "127.0.0.1:" + std::to_string(port);

  Inbox inbox;
  UnreachableLog unreachable;
  TransportOptions options = Options(0);
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
  TransportOptions restarted = Options(1);
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
  const uint16_t port = StartTransport(Options(1), scratch)->port();
  TransportOptions options = Options(0);
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
  std::unique_ptr<Transport> transport = StartTransport(Options(0), inbox, &unreachable);
  Inbox first_inbox;
  std::unique_ptr<Transport> first = StartTransport(Options(1), first_inbox);
  Inbox second_inbox;
  std::unique_ptr<Transport> second = StartTransport(Options(1), second_inbox);

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

TEST_CASE("A peer that never reads makes frames drop at the queue limit and memory stays bounded") {
  const uint64_t seed = keel::testing::TestSeed(7002);
  CAPTURE(seed);
  base::Random random(seed);
  RawListener listener(4096);
  TransportOptions options = Options(0);
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

// ---------------------------------------------------------------------------------------------
// Raw peers: the receiving side.
// ---------------------------------------------------------------------------------------------

TEST_CASE("A raw peer that speaks the documented format is heard") {
  Inbox inbox;
  std::unique_ptr<Transport> transport = StartTransport(Options(3), inbox);
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
  TransportOptions options = Options(2);
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
  TransportOptions options = Options(3);
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

TEST_CASE("An incoming frame past max_frame_bytes closes its connection and is counted") {
  TransportOptions options = Options(3);
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

TEST_CASE("A malformed or missing handshake closes the connection unheard and is counted") {
  TransportOptions options = Options(3);
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

TEST_CASE("A peer's new connection replaces its old one") {
  Inbox inbox;
  std::unique_ptr<Transport> transport = StartTransport(Options(3), inbox);

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

TEST_CASE("Connections past max_inbound_connections are closed as they come") {
  TransportOptions options = Options(3);
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

// ---------------------------------------------------------------------------------------------
// Threads, errors, Stop.
// ---------------------------------------------------------------------------------------------

TEST_CASE("Post and Every run on the transport thread until Stop") {
  Inbox inbox;
  std::unique_ptr<Transport> transport = StartTransport(Options(0), inbox);
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
  std::unique_ptr<Transport> a = StartTransport(Options(0), inbox_a);
  std::unique_ptr<Transport> b = StartTransport(Options(1), inbox_b);
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

TEST_CASE("Bad options addresses and frames are rejected with errors naming them") {
  const auto start_error = [](const TransportOptions& options) {
    absl::StatusOr<std::unique_ptr<Transport>> transport = Transport::Start(
        options, [](NodeId, std::string_view) {}, nullptr);
    REQUIRE_FALSE(transport.ok());
    return transport.status();
  };
  TransportOptions options = Options(0);
  SUBCASE("options") {
    options.id = kNoNode;
    CHECK(start_error(options).message() == "TransportOptions.id is kNoNode");
    options = Options(0);
    options.max_frame_bytes = 0;
    CHECK(start_error(options).message() ==
          "TransportOptions.max_frame_bytes is 0; it must be at least 1");
    options = Options(0);
    options.max_reconnect_delay_ms = 1;
    CHECK(start_error(options).message() ==
          "TransportOptions.max_reconnect_delay_ms is 1; it must be from 5 to 86400000");
    options = Options(0);
    options.connect_timeout_ms = std::numeric_limits<int64_t>::max();
    CHECK(start_error(options).message() ==
          "TransportOptions.connect_timeout_ms is 9223372036854775807; it must be from 1 to "
          "86400000");
    options = Options(0);
    options.handshake_timeout_ms = 0;
    CHECK(start_error(options).code() == absl::StatusCode::kInvalidArgument);
    options = Options(0);
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

TEST_CASE("A peer named by host name is resolved and reached") {
  Inbox inbox;
  std::unique_ptr<Transport> receiver = StartTransport(Options(1), inbox);
  TransportOptions options = Options(0);
  options.peers = {{1, "localhost:" + std::to_string(receiver->port())}};
  Inbox unused;
  std::unique_ptr<Transport> sender = StartTransport(options, unused);
  // localhost may resolve to ::1 first, where nothing listens: the next address is tried.
  REQUIRE(sender->Send(1, "by name").ok());
  CHECK(Eventually([&] { return inbox.count() == 1; }));
  CHECK(inbox.From(0) == std::vector<std::string>{"by name"});
}

}  // namespace
}  // namespace keel::raft
