// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "raft/transport_testing.h"

#include <arpa/inet.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

#include "doctest/doctest.h"
#include "keel/base/coding.h"
#include "testing/testing.h"

namespace keel::raft::transport_testing {

using keel::testing::Eventually;
using std::chrono::milliseconds;

std::string Handshake(NodeId from, NodeId to, std::string_view magic, uint32_t version) {
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

sockaddr_in Loopback(uint16_t port) {
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return address;
}

bool WaitReadable(int fd, milliseconds timeout) {
  pollfd entry{.fd = fd, .events = POLLIN, .revents = 0};
  return ::poll(&entry, 1, static_cast<int>(timeout.count())) == 1;
}

RawSocket::RawSocket(RawSocket&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}

RawSocket& RawSocket::operator=(RawSocket&& other) noexcept {
  if (this != &other) {
    Close();
    fd_ = std::exchange(other.fd_, -1);
  }
  return *this;
}

RawSocket RawSocket::Connect(uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  const sockaddr_in address = Loopback(port);
  REQUIRE(::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof(address)) == 0);
  return RawSocket(fd);
}

bool RawSocket::Write(std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

std::optional<std::string> RawSocket::Read(size_t n, milliseconds timeout) {
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

bool RawSocket::ClosedByPeer(milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  char scratch[4096];
  while (std::chrono::steady_clock::now() < deadline) {
    if (!WaitReadable(fd_, milliseconds(10))) continue;
    const ssize_t r = ::recv(fd_, scratch, sizeof(scratch), 0);
    if (r == 0 || (r < 0 && errno != EINTR && errno != EAGAIN)) return true;
  }
  return false;
}

void RawSocket::Close() {
  if (fd_ >= 0) ::close(std::exchange(fd_, -1));
}

RawListener::RawListener(int receive_buffer_bytes) {
  fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd_ >= 0);
  REQUIRE(::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &receive_buffer_bytes,
                       sizeof(receive_buffer_bytes)) == 0);
  sockaddr_in address = Loopback(0);
  REQUIRE(::bind(fd_, reinterpret_cast<const sockaddr*>(&address), sizeof(address)) == 0);
  REQUIRE(::listen(fd_, 4) == 0);
  socklen_t length = sizeof(address);
  REQUIRE(::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length) == 0);
  port_ = ntohs(address.sin_port);
}

RawListener::~RawListener() { ::close(fd_); }

std::optional<RawSocket> RawListener::Accept(milliseconds timeout) {
  if (!WaitReadable(fd_, timeout)) return std::nullopt;
  const int fd = ::accept(fd_, nullptr, nullptr);
  if (fd < 0) return std::nullopt;
  return RawSocket(fd);
}

void Inbox::Receive(NodeId from, std::string_view frame) {
  std::lock_guard lock(mutex_);
  frames_[from].emplace_back(frame);
  threads_.insert(std::this_thread::get_id());
  count_.fetch_add(1);
}

std::vector<std::string> Inbox::From(NodeId from) const {
  std::lock_guard lock(mutex_);
  const auto it = frames_.find(from);
  return it == frames_.end() ? std::vector<std::string>() : it->second;
}

std::set<std::thread::id> Inbox::threads() const {
  std::lock_guard lock(mutex_);
  return threads_;
}

void UnreachableLog::Report(NodeId peer) {
  std::lock_guard lock(mutex_);
  ++counts_[peer];
  threads_.insert(std::this_thread::get_id());
}

uint64_t UnreachableLog::count(NodeId peer) const {
  std::lock_guard lock(mutex_);
  const auto it = counts_.find(peer);
  return it == counts_.end() ? 0 : it->second;
}

std::set<std::thread::id> UnreachableLog::threads() const {
  std::lock_guard lock(mutex_);
  return threads_;
}

TransportOptions LoopbackOptions(NodeId id) {
  TransportOptions options;
  options.id = id;
  options.listen_address = "127.0.0.1:0";
  options.reconnect_delay_ms = 5;
  options.max_reconnect_delay_ms = 20;
  options.handshake_timeout_ms = 2000;
  return options;
}

std::unique_ptr<Transport> StartTransport(const TransportOptions& options, Inbox& inbox,
                                          UnreachableLog* unreachable) {
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

void Drain(Transport& transport) {
  std::atomic<bool> done{false};
  REQUIRE(transport.Post([&] { done.store(true); }));
  REQUIRE(Eventually([&] { return done.load(); }));
}

std::string RandomBytes(base::Random& random, size_t size) {
  std::string bytes(size, '\0');
  for (size_t at = 0; at < size; at += 8) {
    const uint64_t word = random.Next();
    std::memcpy(bytes.data() + at, &word, std::min<size_t>(8, size - at));
  }
  return bytes;
}

std::string Numbered(uint64_t index, size_t size) {
  base::Random fill(index);
  std::string payload = RandomBytes(fill, std::max<size_t>(size, 8));
  base::EncodeFixed64(payload.data(), index);
  return payload;
}

uint64_t IndexOf(std::string_view payload) { return base::DecodeFixed64(payload.data()); }

}  // namespace keel::raft::transport_testing
