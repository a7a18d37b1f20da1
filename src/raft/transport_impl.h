// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// The machinery behind keel::raft::Transport, on one Boost.Asio io_context run by one thread.
// The sources split it by concern:
//
//   transport.cc           options, the public methods, listening and accepting, Stop
//   transport_inbound.cc   a connection a peer dialled: its handshake, then frames to Receive
//   transport_outgoing.cc  the connection this node dials to a peer: the queue of frames, gathered
//                          writes, reconnecting with backoff
//
// Everything below is touched only on the transport thread, except what is marked otherwise
// (the counters, and the fields Post and Stop share). Connections are held by shared_ptr: the
// handler of each pending operation holds one, so a connection closed while an operation is in
// flight lives until that operation's handler has run. Each outgoing connection attempt has a
// generation number, so that a handler of an attempt that has since been abandoned does nothing.
#ifndef KEEL_SRC_RAFT_TRANSPORT_IMPL_H_
#define KEEL_SRC_RAFT_TRANSPORT_IMPL_H_

// Boost 1.74's awaitable.hpp uses std::exchange without including <utility>.
#include <utility>
// (the line above must come first)
#include <array>
#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "keel/raft/transport.h"

namespace keel::raft::internal {

namespace asio = boost::asio;
using asio::ip::tcp;

// ---------------------------------------------------------------------------------------------
// The wire format (docs/raft.md, "Transport"):
//
//   connection := handshake frame*
//   handshake  := "KRFT" version:fixed32 from:fixed64 to:fixed64
//   frame      := length:fixed32 bytes[length]
// ---------------------------------------------------------------------------------------------
inline constexpr std::string_view kHandshakeMagic = "KRFT";
inline constexpr uint32_t kWireVersion = 1;
inline constexpr size_t kHandshakeBytes = 4 + 4 + 8 + 8;
inline constexpr size_t kFramePrefixBytes = 4;

[[nodiscard]] std::string EncodeHandshake(NodeId from, NodeId to);

// "host:port"; `host` without the brackets of "[::1]:7000".
struct HostPort {
  std::string host;
  uint16_t port = 0;
};

// Errors: kInvalidArgument naming `address`; port 0 only when `allow_port_zero`.
[[nodiscard]] absl::StatusOr<HostPort> ParseHostPort(std::string_view address,
                                                     bool allow_port_zero);

// TransportStats, as counters any thread may read.
struct Counters {
  std::atomic<uint64_t> frames_sent{0};
  std::atomic<uint64_t> bytes_sent{0};
  std::atomic<uint64_t> frames_received{0};
  std::atomic<uint64_t> bytes_received{0};
  std::atomic<uint64_t> frames_dropped{0};
  std::atomic<uint64_t> connects{0};
  std::atomic<uint64_t> connect_failures{0};
  std::atomic<uint64_t> disconnects{0};
  std::atomic<uint64_t> accepts{0};
  std::atomic<uint64_t> handshake_failures{0};
  std::atomic<uint64_t> oversized_frames{0};
  std::atomic<uint64_t> rejected_connections{0};
  std::atomic<uint64_t> pending_bytes{0};
};

inline void Add(std::atomic<uint64_t>& counter, uint64_t n) {
  counter.fetch_add(n, std::memory_order_relaxed);
}
inline void Subtract(std::atomic<uint64_t>& counter, uint64_t n) {
  counter.fetch_sub(n, std::memory_order_relaxed);
}

// Frames waiting for a connection's next write, laid out so that one gathered write sends them
// all with few buffers: frames below kCopyBelowBytes are copied, with their length prefixes,
// into a shared buffer; a larger frame's prefix ends the buffer before it and its bytes go out
// from the string Send was given, uncopied. (Asio hands the kernel at most 64 buffers per
// writev, so a buffer per small frame would cost a system call per 32 frames.)
class FrameQueue {
 public:
  static constexpr size_t kCopyBelowBytes = 8 * 1024;

  void Push(std::string frame);
  // Moves the queued pieces to the end of `pieces` and empties the queue.
  void MoveTo(std::vector<std::string>& pieces);
  // Gives back a piece a write has finished with, so its memory serves the next small frames.
  void Recycle(std::string piece);

  [[nodiscard]] bool empty() const { return frames_ == 0; }
  [[nodiscard]] size_t frames() const { return frames_; }
  [[nodiscard]] size_t bytes() const { return bytes_; }

 private:
  std::vector<std::string> pieces_;
  bool tail_open_ = false;  // whether pieces_.back() takes more small frames
  size_t frames_ = 0;
  size_t bytes_ = 0;   // with prefixes
  std::string spare_;  // a recycled piece
};

class OutgoingPeer;
class InboundConnection;

}  // namespace keel::raft::internal

namespace keel::raft {

struct Transport::Impl {
  Impl(const TransportOptions& transport_options, Receive receive_frame,
       Unreachable report_unreachable);

  absl::Status Listen();
  void Accept();
  void Accepted(internal::tcp::socket socket);

  // Runs `f` now when called on the transport thread, else posts it there. False after Stop.
  template <typename F>
  bool Run(F&& f);

  void SendNow(NodeId to, std::string frame);
  void SetPeerNow(NodeId id, internal::HostPort address);
  void RemovePeerNow(NodeId id);
  void StartTicker(int64_t period_ns, std::function<void()> tick);
  void Shutdown();

  // Counts `frames` dropped for `peer` and, when `report`, calls Unreachable(peer) once, from
  // a handler of its own.
  void Dropped(NodeId peer, uint64_t frames, bool report);
  // An inbound connection named its sender: it replaces the sender's older connection, or is
  // itself closed if a newer one has already named the same sender.
  void Identified(internal::InboundConnection& connection);
  void InboundClosed(const internal::InboundConnection& connection);

  struct Ticker {
    Ticker(internal::asio::io_context& io, int64_t period, std::function<void()> fn)
        : timer(io), period_ns(period), tick(std::move(fn)) {}
    internal::asio::steady_timer timer;
    int64_t period_ns;
    std::function<void()> tick;
    std::chrono::steady_clock::time_point next;
  };
  void ScheduleTick(Ticker& ticker);

  const TransportOptions options;
  const Receive receive;
  const Unreachable unreachable;
  // Declared first among the Asio objects, so destroyed after every object that uses it.
  internal::asio::io_context io{1};
  std::optional<internal::asio::executor_work_guard<internal::asio::io_context::executor_type>>
      guard{internal::asio::make_work_guard(io)};
  internal::tcp::acceptor acceptor{io};
  internal::asio::steady_timer accept_retry{io};
  uint16_t port = 0;  // set before the thread starts
  internal::Counters counters;
  std::thread thread;

  // The transport thread's.
  bool closed = false;  // Shutdown has run
  absl::flat_hash_map<NodeId, std::shared_ptr<internal::OutgoingPeer>> peers;
  absl::flat_hash_map<uint64_t, std::shared_ptr<internal::InboundConnection>> inbound;
  absl::flat_hash_map<NodeId, uint64_t> inbound_by_peer;  // a named sender's connection
  absl::flat_hash_set<NodeId> unreachable_pending;        // an Unreachable call is posted
  std::vector<std::unique_ptr<Ticker>> tickers;
  uint64_t next_inbound_id = 1;  // in accept order

  // Shared by the threads that Post and Stop.
  std::mutex post_mutex;
  std::atomic<bool> stopping{false};  // written under post_mutex
  std::mutex stop_mutex;
  bool stopped = false;  // guarded by stop_mutex
};

template <typename F>
bool Transport::Impl::Run(F&& f) {
  if (io.get_executor().running_in_this_thread()) {
    if (stopping.load()) return false;
    std::forward<F>(f)();
    return true;
  }
  // Under the mutex, so that every task accepted is queued before Stop queues Shutdown.
  std::lock_guard lock(post_mutex);
  if (stopping.load()) return false;
  internal::asio::post(io, std::forward<F>(f));
  return true;
}

}  // namespace keel::raft

namespace keel::raft::internal {

// The connection this node dials to one peer, and the frames queued for it.
class OutgoingPeer : public std::enable_shared_from_this<OutgoingPeer> {
 public:
  OutgoingPeer(Transport::Impl& transport, NodeId id, HostPort address);

  [[nodiscard]] const HostPort& address() const { return address_; }

  // Queues the frame, dialling if no connection is up or being made; or drops it (see
  // transport.h).
  void Send(std::string frame);
  // Closes the connection for good and drops everything queued, without reporting the peer
  // unreachable (it was removed, or the transport is stopping).
  void Close();

 private:
  enum class State : uint8_t { kIdle, kConnecting, kConnected, kBackoff, kClosed };

  void Connect();
  void ConnectTo(const tcp::endpoint& endpoint);
  void OnConnected(uint64_t generation, const boost::system::error_code& error);
  void WatchForClose();
  void ScheduleFlush();
  void Flush();
  void OnWritten(uint64_t generation, const boost::system::error_code& error, size_t n);
  // The connection, or the attempt to make one, failed: drop what is queued and back off.
  void Fail();
  // Drops the queue and the write in flight; the socket and timers are the caller's.
  void DropAll(bool report);
  void Abandon();  // closes the socket and stops the timers, for a new generation

  Transport::Impl& transport_;
  const NodeId id_;
  const HostPort address_;
  const std::string handshake_;
  tcp::socket socket_;
  tcp::resolver resolver_;
  asio::steady_timer timer_;  // connect timeout, then backoff
  State state_ = State::kIdle;
  uint64_t generation_ = 0;
  int failures_ = 0;  // connection attempts failed in a row
  bool handshake_sent_ = false;
  bool flush_scheduled_ = false;

  FrameQueue queue_;
  // The write in flight: its pieces stay alive until its handler runs, even when the connection
  // has failed meanwhile (writing_ stays true until then, so no other write starts).
  bool writing_ = false;
  std::vector<std::string> sending_;
  std::vector<asio::const_buffer> buffers_;
  size_t sending_frames_ = 0;
  size_t sending_bytes_ = 0;  // of frames, with prefixes (not the handshake)
  std::array<char, 64> watch_buffer_{};
};

// A connection a peer dialled: its handshake, then its frames, each handed to Receive whole.
class InboundConnection : public std::enable_shared_from_this<InboundConnection> {
 public:
  InboundConnection(Transport::Impl& transport, tcp::socket socket, uint64_t id);

  [[nodiscard]] uint64_t id() const { return id_; }
  [[nodiscard]] NodeId from() const { return from_; }  // kNoNode until the handshake

  void Start();
  void Close();  // idempotent

 private:
  void Read();
  void OnRead(const boost::system::error_code& error, size_t n);
  // Handles what has been read; false when the connection was closed.
  bool Process();
  bool ParseHandshake();
  [[nodiscard]] size_t buffered() const { return end_ - begin_; }

  Transport::Impl& transport_;
  tcp::socket socket_;
  asio::steady_timer handshake_timer_;
  const uint64_t id_;
  NodeId from_ = kNoNode;
  bool closed_ = false;
  // Bytes read and not yet handled are buffer_[begin_, end_).
  std::string buffer_;
  size_t begin_ = 0;
  size_t end_ = 0;
};

}  // namespace keel::raft::internal

#endif  // KEEL_SRC_RAFT_TRANSPORT_IMPL_H_
