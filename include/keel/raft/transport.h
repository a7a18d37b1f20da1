// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// Transport: the peer network of one Raft node, and the thread its Raft loop runs on. Raft asks
// little of its network (Ongaro's dissertation, section 3.3: messages may be lost, delayed,
// duplicated or reordered, and the algorithm stays safe), so the transport promises little and
// keeps its limits: frames to a peer leave over one TCP connection in the order they were sent,
// and when the peer is down or too slow they are dropped, counted and reported, never queued
// without bound and never waited for. The layout follows etcd's rafthttp: one outgoing
// connection per peer that this node dials, frames read from the connections peers dial, and
// ReportUnreachable when a frame for a peer is dropped, so that the leader stops pipelining to
// it and probes instead.
//
// Threads. A Transport owns one thread running an event loop (Boost.Asio, hidden in the
// source). Every callback runs there: Receive, Unreachable, tasks given to Post and ticks given
// to Every. A Raft node lives on that thread too: the application ticks it from Every, steps it
// from Receive, and proposes to it from Post, so the node needs no lock and a frame it sends
// from those callbacks is queued without a handoff. Every method may be called from any thread
// (those called elsewhere hand their work to the transport thread, in call order); Stop may not
// be called from the transport thread.
//
// What is lost when (docs/raft.md, "Transport", has the wire format):
//   - a frame for a peer with no address (SetPeer), or sent while its connection is down and
//     waiting to reconnect (reconnect_delay_ms, doubling up to max_reconnect_delay_ms), or that
//     would take the peer's queue past max_pending_bytes_per_peer: dropped at once;
//   - the frames queued for a peer, and those being written, when its connection fails: dropped
//     (some of the ones being written may have arrived).
// Each drop is counted in stats().frames_dropped and reported through Unreachable (once per
// burst of drops, after the call that dropped returns). On the receiving side a frame is handed
// to Receive whole or not at all. So the frames one node receives from another are some of those
// it sent, in the order it sent them: a connection delivers in order, a sender has one
// connection to a peer at a time, and a peer's new connection closes its old one (unread frames
// and all) the moment it identifies itself.
//
// Example (one node of a cluster; raft_kv does this with keel::raft::Node):
//
//   keel::raft::TransportOptions options{
//       .id = 0,
//       .listen_address = "127.0.0.1:7000",
//       .peers = {{1, "127.0.0.1:7001"}, {2, "127.0.0.1:7002"}}};
//   KEEL_ASSIGN_OR_RETURN(
//       std::unique_ptr<keel::raft::Transport> transport,
//       keel::raft::Transport::Start(
//           options,
//           [&](keel::raft::NodeId from, std::string_view frame) { Step(from, frame); },
//           [&](keel::raft::NodeId peer) { node->ReportUnreachable(peer); }));
//   KEEL_RETURN_IF_ERROR(transport->Every(100'000'000, [&] { node->Tick(); HandleReady(); }));
//   ...
//   KEEL_RETURN_IF_ERROR(transport->Send(1, keel::raft::EncodeMessage(message)));
//   ...
//   transport->Stop();
#ifndef KEEL_RAFT_TRANSPORT_H_
#define KEEL_RAFT_TRANSPORT_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "keel/raft/types.h"

namespace keel::raft {

struct TransportOptions {
  NodeId id = kNoNode;  // this node
  // "host:port" to listen on, the host numeric ("127.0.0.1", "[::1]", "0.0.0.0"); port 0: the
  // system chooses (Transport::port()).
  std::string listen_address = "127.0.0.1:0";
  // "host:port" of each other node, the host a name or numeric; SetPeer and RemovePeer change
  // them later. Must not name this node.
  std::map<NodeId, std::string> peers;
  // Frame bytes (with their 4-byte length prefixes) queued for one peer, and being written to
  // it: a frame that would pass it is dropped. Bounds what a slow or stuck peer costs.
  size_t max_pending_bytes_per_peer = size_t{64} << 20;
  // The largest frame: Send refuses a larger one, and a peer announcing one is disconnected.
  uint32_t max_frame_bytes = uint32_t{64} << 20;
  // After a connection to a peer fails, frames for it are dropped for reconnect_delay_ms, then
  // it is dialled again on the next Send; each failure to connect in a row doubles the delay,
  // up to max_reconnect_delay_ms. Every duration here is from 1 ms to a day (kMaxPeriodNs).
  int64_t reconnect_delay_ms = 50;
  int64_t max_reconnect_delay_ms = 500;
  // A connection attempt that has not completed by then fails.
  int64_t connect_timeout_ms = 1000;
  // An accepted connection must identify itself (its handshake) within this time.
  int64_t handshake_timeout_ms = 1000;
  // Accepted connections open at once; more are closed as they come. One per peer suffices (a
  // peer's new connection replaces its old one), plus those still in their handshake.
  size_t max_inbound_connections = 256;
  // What one read asks the socket for; at most 64 MiB.
  size_t read_bytes = 64 * 1024;
};

// Counters since Start; a snapshot from stats(), any thread.
struct TransportStats {
  uint64_t frames_sent = 0;      // frames the socket took in full (not yet known to have arrived)
  uint64_t bytes_sent = 0;       // bytes the sockets took, with prefixes and handshakes
  uint64_t frames_received = 0;  // frames handed to Receive
  uint64_t bytes_received = 0;   // bytes read, with prefixes and handshakes
  uint64_t frames_dropped = 0;   // see "What is lost when" above
  uint64_t connects = 0;         // outgoing connections established
  uint64_t connect_failures = 0;
  uint64_t disconnects = 0;           // established outgoing connections that failed
  uint64_t accepts = 0;               // incoming connections that completed their handshake
  uint64_t handshake_failures = 0;    // incoming connections closed for a bad or late handshake
  uint64_t oversized_frames = 0;      // incoming connections closed past max_frame_bytes
  uint64_t rejected_connections = 0;  // incoming connections closed past the inbound limit
  uint64_t pending_bytes = 0;         // now: queued and being written, all peers together
};

class Transport {
 public:
  // A frame from `from`, which named itself in its connection's handshake. The view is valid
  // only during the call.
  using Receive = std::function<void(NodeId from, std::string_view frame)>;
  // Frames for `peer` were dropped (see above): Raft's Node::ReportUnreachable.
  using Unreachable = std::function<void(NodeId peer)>;

  // Listens and starts the thread. Errors: kInvalidArgument for bad options or addresses
  // (naming them), kUnavailable when listen_address cannot be bound.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<Transport>> Start(
      const TransportOptions& options, Receive receive, Unreachable unreachable);

  Transport(const Transport&) = delete;
  Transport& operator=(const Transport&) = delete;
  ~Transport();  // Stop()

  // The port listened on (the system's choice when listen_address had port 0).
  [[nodiscard]] uint16_t port() const;

  // Queues `frame` for `to`, dialling it if no connection is up; the frames queued while a
  // handler runs leave in one write after it returns. Never blocks; a frame that cannot be
  // queued is dropped (see above), which is not an error. Errors: kInvalidArgument for a frame
  // past max_frame_bytes or `to` this node or kNoNode; kFailedPrecondition after Stop.
  // Allocation: a frame below 8 KiB is copied into the peer's write buffer (reused from write
  // to write); a larger one is kept as given. Called off the transport thread, Send also
  // allocates the task that carries the frame there.
  [[nodiscard]] absl::Status Send(NodeId to, std::string frame);

  // Sets (or changes) a peer's address; a changed address closes the old connection, dropping
  // what was queued for it. Errors: kInvalidArgument for a malformed address or this node's
  // id; kFailedPrecondition after Stop.
  [[nodiscard]] absl::Status SetPeer(NodeId id, std::string address);
  // Forgets a peer: its connection is closed and what was queued for it dropped (without an
  // Unreachable call). Connections the peer dialled stay open until it closes them. Nothing
  // happens for an unknown id.
  void RemovePeer(NodeId id);

  // Runs `task` on the transport thread, after the tasks posted before it. True: it will run
  // before Stop returns; false: Stop has begun, and the task is destroyed unrun.
  bool Post(std::function<void()> task);

  // The longest period Every takes, and the longest duration in TransportOptions: a day.
  static constexpr int64_t kMaxPeriodNs = int64_t{86'400} * 1'000'000'000;

  // Calls `tick` on the transport thread every period_ns (first after one period), until Stop.
  // A tick that falls behind by more than a period skips the ticks it missed, instead of
  // catching up in a burst (a burst of Raft ticks would start elections). Errors:
  // kInvalidArgument for period_ns outside [1, kMaxPeriodNs] or an empty tick,
  // kFailedPrecondition after Stop.
  [[nodiscard]] absl::Status Every(int64_t period_ns, std::function<void()> tick);

  [[nodiscard]] TransportStats stats() const;

  // Closes every connection, drops whatever is queued, and joins the thread; the callbacks are
  // not called again. Idempotent. REQUIRES: not called on the transport thread.
  void Stop();

  struct Impl;

 private:
  explicit Transport(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace keel::raft

#endif  // KEEL_RAFT_TRANSPORT_H_
