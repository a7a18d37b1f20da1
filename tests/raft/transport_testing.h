// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// What keel::raft::Transport's tests share: the wire format written by hand from the grammar in
// docs/raft.md ("Transport"), not from the transport's code; raw sockets on 127.0.0.1 that play a
// peer (correct, silent, slow or hostile); recorders of what the transport's callbacks see, and
// on which thread; and transports started on loopback with short reconnect delays. Not installed.
#ifndef KEEL_TESTS_RAFT_TRANSPORT_TESTING_H_
#define KEEL_TESTS_RAFT_TRANSPORT_TESTING_H_

#include <netinet/in.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "keel/base/random.h"
#include "keel/raft/transport.h"

namespace keel::raft::transport_testing {

// ---------------------------------------------------------------------------------------------
// The wire format.
// ---------------------------------------------------------------------------------------------

// The 24 bytes that open a connection from `from` to `to`.
[[nodiscard]] std::string Handshake(NodeId from, NodeId to, std::string_view magic = "KRFT",
                                    uint32_t version = 1);
// `payload` behind its length prefix.
[[nodiscard]] std::string Frame(std::string_view payload);

// ---------------------------------------------------------------------------------------------
// Raw sockets on 127.0.0.1.
// ---------------------------------------------------------------------------------------------

[[nodiscard]] sockaddr_in Loopback(uint16_t port);

// Waits up to `timeout` for `fd` to be readable (or closed).
[[nodiscard]] bool WaitReadable(int fd, std::chrono::milliseconds timeout);

// A connected TCP socket, closed when destroyed. REQUIREs (fails the test) where setting one up
// fails; reads and writes report failure instead.
class RawSocket {
 public:
  explicit RawSocket(int fd) : fd_(fd) {}
  RawSocket(RawSocket&& other) noexcept;
  RawSocket& operator=(RawSocket&& other) noexcept;
  ~RawSocket() { Close(); }

  static RawSocket Connect(uint16_t port);

  // The whole of `bytes`, or false once the peer has closed.
  bool Write(std::string_view bytes);
  // Exactly n bytes, or nothing if they do not come within `timeout`.
  std::optional<std::string> Read(size_t n,
                                  std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // Whether the peer closes the connection within `timeout` (what it sent before is skipped).
  bool ClosedByPeer(std::chrono::milliseconds timeout = std::chrono::seconds(10));
  void Close();

 private:
  int fd_;
};

// A listening socket the test accepts from by hand: a peer that does not read.
class RawListener {
 public:
  // `receive_buffer_bytes` is set before listen, so that accepted sockets inherit it (and their
  // window stays small).
  explicit RawListener(int receive_buffer_bytes);
  RawListener(const RawListener&) = delete;
  RawListener& operator=(const RawListener&) = delete;
  ~RawListener();

  [[nodiscard]] uint16_t port() const { return port_; }

  std::optional<RawSocket> Accept(std::chrono::milliseconds timeout = std::chrono::seconds(10));

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
  void Receive(NodeId from, std::string_view frame);

  [[nodiscard]] size_t count() const { return count_.load(); }
  [[nodiscard]] std::vector<std::string> From(NodeId from) const;
  [[nodiscard]] std::set<std::thread::id> threads() const;

 private:
  mutable std::mutex mutex_;
  std::map<NodeId, std::vector<std::string>> frames_;
  std::set<std::thread::id> threads_;
  std::atomic<size_t> count_{0};
};

// The Unreachable reports, by peer, and the threads they came from.
class UnreachableLog {
 public:
  void Report(NodeId peer);

  [[nodiscard]] uint64_t count(NodeId peer) const;
  [[nodiscard]] std::set<std::thread::id> threads() const;

 private:
  mutable std::mutex mutex_;
  std::map<NodeId, uint64_t> counts_;
  std::set<std::thread::id> threads_;
};

// ---------------------------------------------------------------------------------------------
// Transports on loopback.
// ---------------------------------------------------------------------------------------------

// Node `id` listening on an ephemeral port of 127.0.0.1, reconnecting after 5 to 20 ms.
[[nodiscard]] TransportOptions LoopbackOptions(NodeId id);

// A started transport whose frames go to `inbox` and reports to `unreachable` (if not null).
// Both must outlive it.
[[nodiscard]] std::unique_ptr<Transport> StartTransport(const TransportOptions& options,
                                                        Inbox& inbox,
                                                        UnreachableLog* unreachable = nullptr);

// "127.0.0.1:<the transport's port>".
[[nodiscard]] std::string Address(const Transport& transport);

// The transport thread's id, as a task posted to it sees it.
[[nodiscard]] std::thread::id ThreadOf(Transport& transport);

// Waits until every task posted to `transport` before this call has run.
void Drain(Transport& transport);

// ---------------------------------------------------------------------------------------------
// Payloads.
// ---------------------------------------------------------------------------------------------

// `size` random bytes, eight from each draw.
[[nodiscard]] std::string RandomBytes(base::Random& random, size_t size);

// A payload of `size` bytes (at least 8) that starts with `index` and whose other bytes follow
// from it.
[[nodiscard]] std::string Numbered(uint64_t index, size_t size);

// The index a Numbered payload starts with.
[[nodiscard]] uint64_t IndexOf(std::string_view payload);

}  // namespace keel::raft::transport_testing

#endif  // KEEL_TESTS_RAFT_TRANSPORT_TESTING_H_
