// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// The connection this node dials to a peer. Its life:
//
//   kIdle --Send--> kConnecting --connected--> kConnected --write or read fails--> kBackoff
//                        |                                                           ^  |
//                        +---------- fails, or connect_timeout_ms passes ------------+  |
//   kIdle <------------------------- the backoff delay passes --------------------------+
//
// Frames queue while connecting and connected (up to max_pending_bytes_per_peer) and are
// dropped while backing off; a failure drops the queue. Close (RemovePeer, a new address, Stop)
// ends in kClosed from any state.
#include <algorithm>
#include <boost/asio/connect.hpp>
#include <boost/asio/write.hpp>

#include "keel/base/assert.h"
#include "keel/base/coding.h"
#include "transport_impl.h"

namespace keel::raft::internal {

// ---------------------------------------------------------------------------------------------
// FrameQueue.
// ---------------------------------------------------------------------------------------------

void FrameQueue::Push(std::string frame) {
  if (!tail_open_) {
    pieces_.push_back(std::move(spare_));
    spare_ = std::string();
    pieces_.back().clear();
    tail_open_ = true;
  }
  char prefix[kFramePrefixBytes];
  base::EncodeFixed32(prefix, static_cast<uint32_t>(frame.size()));
  std::string& tail = pieces_.back();
  tail.append(prefix, sizeof(prefix));
  ++frames_;
  bytes_ += kFramePrefixBytes + frame.size();
  if (frame.size() < kCopyBelowBytes) {
    tail.append(frame);
  } else {
    pieces_.push_back(std::move(frame));
    tail_open_ = false;
  }
}

void FrameQueue::MoveTo(std::vector<std::string>& pieces) {
  for (std::string& piece : pieces_) pieces.push_back(std::move(piece));
  pieces_.clear();
  tail_open_ = false;
  frames_ = 0;
  bytes_ = 0;
}

void FrameQueue::Recycle(std::string piece) {
  // Kept only if it is worth keeping and not so big that an idle peer holds much memory.
  constexpr size_t kMaxSpareBytes = 1 << 20;
  if (piece.capacity() > spare_.capacity() && piece.capacity() <= kMaxSpareBytes) {
    spare_ = std::move(piece);
  }
}

// ---------------------------------------------------------------------------------------------
// OutgoingPeer.
// ---------------------------------------------------------------------------------------------

OutgoingPeer::OutgoingPeer(Transport::Impl& transport, NodeId id, HostPort address)
    : transport_(transport),
      id_(id),
      address_(std::move(address)),
      handshake_(EncodeHandshake(transport.options.id, id)),
      socket_(transport.io),
      resolver_(transport.io),
      timer_(transport.io) {}

void OutgoingPeer::Send(std::string frame) {
  if (state_ == State::kBackoff || state_ == State::kClosed) {
    return transport_.Dropped(id_, 1, state_ == State::kBackoff);
  }
  const size_t bytes = kFramePrefixBytes + frame.size();
  if (queue_.bytes() + sending_bytes_ + bytes > transport_.options.max_pending_bytes_per_peer) {
    return transport_.Dropped(id_, 1, true);
  }
  queue_.Push(std::move(frame));
  Add(transport_.counters.pending_bytes, bytes);
  if (state_ == State::kIdle) return Connect();
  if (state_ == State::kConnected) ScheduleFlush();
}

void OutgoingPeer::Close() {
  if (state_ == State::kClosed) return;
  state_ = State::kClosed;
  Abandon();
  DropAll(false);
}

void OutgoingPeer::Abandon() {
  ++generation_;
  boost::system::error_code ignored;
  socket_.close(ignored);
  resolver_.cancel();
  timer_.cancel();
}

void OutgoingPeer::Connect() {
  state_ = State::kConnecting;
  handshake_sent_ = false;
  const uint64_t generation = ++generation_;
  timer_.expires_after(std::chrono::milliseconds(transport_.options.connect_timeout_ms));
  timer_.async_wait(
      [self = shared_from_this(), generation](const boost::system::error_code& error) {
        if (error || generation != self->generation_) return;
        self->Fail();
      });
  boost::system::error_code not_numeric;
  const asio::ip::address address = asio::ip::make_address(address_.host, not_numeric);
  if (!not_numeric) return ConnectTo(tcp::endpoint(address, address_.port));
  // A host name: resolved on Asio's resolver thread, whose answer comes back here.
  resolver_.async_resolve(
      address_.host, std::to_string(address_.port),
      [self = shared_from_this(), generation](const boost::system::error_code& resolve_error,
                                              const tcp::resolver::results_type& results) {
        if (generation != self->generation_) return;
        if (resolve_error) return self->Fail();
        // Each address in turn ("localhost" may give ::1 first, where nothing listens).
        asio::async_connect(
            self->socket_, results,
            [self, generation](const boost::system::error_code& error, const tcp::endpoint&) {
              self->OnConnected(generation, error);
            });
      });
}

void OutgoingPeer::ConnectTo(const tcp::endpoint& endpoint) {
  socket_.async_connect(endpoint, [self = shared_from_this(), generation = generation_](
                                      const boost::system::error_code& error) {
    self->OnConnected(generation, error);
  });
}

void OutgoingPeer::OnConnected(uint64_t generation, const boost::system::error_code& error) {
  if (generation != generation_) return;
  if (error) return Fail();
  timer_.cancel();
  state_ = State::kConnected;
  failures_ = 0;
  Add(transport_.counters.connects, 1);
  boost::system::error_code ignored;
  socket_.set_option(tcp::no_delay(true), ignored);
  WatchForClose();
  Flush();
}

// The peer never writes on this connection: a read completes only when the connection ends (or
// the peer breaks the protocol), which tells of a dead peer even while there is nothing to send.
void OutgoingPeer::WatchForClose() {
  socket_.async_read_some(asio::buffer(watch_buffer_),
                          [self = shared_from_this(), generation = generation_](
                              const boost::system::error_code&, size_t) {
                            if (generation == self->generation_) self->Fail();
                          });
}

// Flushes after the handler that queued the frame returns, so that the frames a Raft loop sends
// in one go (a Ready's messages) leave in one write.
void OutgoingPeer::ScheduleFlush() {
  if (flush_scheduled_ || writing_) return;
  flush_scheduled_ = true;
  asio::post(transport_.io, [self = shared_from_this()] {
    self->flush_scheduled_ = false;
    self->Flush();
  });
}

void OutgoingPeer::Flush() {
  if (state_ != State::kConnected || writing_) return;
  if (queue_.empty() && handshake_sent_) return;
  KEEL_ASSERT(sending_.empty());
  buffers_.clear();
  if (!handshake_sent_) {
    handshake_sent_ = true;
    buffers_.push_back(asio::buffer(handshake_));
  }
  sending_frames_ = queue_.frames();
  sending_bytes_ = queue_.bytes();
  queue_.MoveTo(sending_);
  for (const std::string& piece : sending_) buffers_.push_back(asio::buffer(piece));
  writing_ = true;
  asio::async_write(socket_, buffers_,
                    [self = shared_from_this(), generation = generation_](
                        const boost::system::error_code& error, size_t n) {
                      self->OnWritten(generation, error, n);
                    });
}

void OutgoingPeer::OnWritten(uint64_t generation, const boost::system::error_code& error,
                             size_t n) {
  writing_ = false;
  Add(transport_.counters.bytes_sent, n);
  // A write of an abandoned connection was counted as dropped when it was abandoned.
  if (generation == generation_ && !error) {
    Add(transport_.counters.frames_sent, sending_frames_);
    Subtract(transport_.counters.pending_bytes, sending_bytes_);
    sending_frames_ = 0;
    sending_bytes_ = 0;
  }
  for (std::string& piece : sending_) queue_.Recycle(std::move(piece));
  sending_.clear();
  if (generation != generation_) {
    // A connection made since may be waiting for this write to finish.
    return Flush();
  }
  if (error) return Fail();
  Flush();
}

void OutgoingPeer::Fail() {
  const bool was_connected = state_ == State::kConnected;
  Add(was_connected ? transport_.counters.disconnects : transport_.counters.connect_failures, 1);
  Abandon();
  DropAll(true);
  // The first attempt after a connection that worked waits the shortest delay; each attempt
  // that fails in a row doubles it.
  failures_ = was_connected ? 1 : failures_ + 1;
  const int64_t base = transport_.options.reconnect_delay_ms;
  const int64_t cap = transport_.options.max_reconnect_delay_ms;
  int64_t delay = base;
  for (int i = 1; i < failures_ && delay < cap; ++i) delay *= 2;
  delay = std::min(delay, cap);
  state_ = State::kBackoff;
  timer_.expires_after(std::chrono::milliseconds(delay));
  timer_.async_wait([self = shared_from_this(),
                     generation = generation_](const boost::system::error_code& error) {
    if (error || generation != self->generation_) return;
    self->state_ = State::kIdle;
  });
}

void OutgoingPeer::DropAll(bool report) {
  const uint64_t frames = queue_.frames() + sending_frames_;
  Subtract(transport_.counters.pending_bytes, queue_.bytes() + sending_bytes_);
  std::vector<std::string> dropped;
  queue_.MoveTo(dropped);
  // The pieces of a write in flight stay in sending_ until its handler runs.
  sending_frames_ = 0;
  sending_bytes_ = 0;
  transport_.Dropped(id_, frames, report);
}

}  // namespace keel::raft::internal
