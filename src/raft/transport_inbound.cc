// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// A connection a peer dialled. It must identify itself within handshake_timeout_ms; then each
// complete frame in what has been read goes to Receive as a view into the read buffer, in order,
// and a frame is handed over only once all of its bytes are in (a connection that ends inside a
// frame loses that frame). A frame announced larger than max_frame_bytes closes the connection
// before its bytes are read, so a peer cannot make this node hold more than that per connection.
#include <algorithm>
#include <cstring>

#include "keel/base/coding.h"
#include "transport_impl.h"

namespace keel::raft::internal {

InboundConnection::InboundConnection(Transport::Impl& transport, tcp::socket socket, uint64_t id)
    : transport_(transport), socket_(std::move(socket)), handshake_timer_(transport.io), id_(id) {}

void InboundConnection::Start() {
  handshake_timer_.expires_after(
      std::chrono::milliseconds(transport_.options.handshake_timeout_ms));
  handshake_timer_.async_wait([self = shared_from_this()](const boost::system::error_code& error) {
    if (error || self->closed_ || self->from_ != kNoNode) return;
    Add(self->transport_.counters.handshake_failures, 1);
    self->Close();
  });
  Read();
}

void InboundConnection::Close() {
  if (closed_) return;
  closed_ = true;
  // Held until this returns: the transport's reference goes in InboundClosed.
  const std::shared_ptr<InboundConnection> self = shared_from_this();
  boost::system::error_code ignored;
  socket_.close(ignored);
  handshake_timer_.cancel();
  transport_.InboundClosed(*this);
  buffer_ = std::string();
}

void InboundConnection::Read() {
  const size_t read_bytes = transport_.options.read_bytes;
  // Room for the next read: read_bytes, or the rest of a frame whose prefix is in, if larger,
  // so that a large frame arrives in a few big reads.
  size_t want = read_bytes;
  if (from_ != kNoNode && buffered() >= kFramePrefixBytes) {
    const size_t frame_bytes = kFramePrefixBytes + base::DecodeFixed32(buffer_.data() + begin_);
    want = std::max(want, frame_bytes - buffered());
  }
  if (begin_ == end_) {
    begin_ = end_ = 0;
    // A buffer grown for a large frame is given back once that frame is handled.
    if (buffer_.size() > 4 * read_bytes) buffer_ = std::string();
  }
  if (buffer_.size() - end_ < want) {
    // Move the unhandled bytes to the front, then grow if that is not enough.
    std::memmove(buffer_.data(), buffer_.data() + begin_, buffered());
    end_ -= begin_;
    begin_ = 0;
    if (buffer_.size() - end_ < want) buffer_.resize(end_ + want);
  }
  socket_.async_read_some(asio::buffer(buffer_.data() + end_, buffer_.size() - end_),
                          [self = shared_from_this()](const boost::system::error_code& error,
                                                      size_t n) { self->OnRead(error, n); });
}

void InboundConnection::OnRead(const boost::system::error_code& error, size_t n) {
  if (closed_) return;
  // The end of the stream, a reset, or a cancel: a frame cut short is lost with it.
  if (error) return Close();
  Add(transport_.counters.bytes_received, n);
  end_ += n;
  if (Process()) Read();
}

bool InboundConnection::Process() {
  if (from_ == kNoNode) {
    if (buffered() < kHandshakeBytes) return true;
    if (!ParseHandshake()) return false;
  }
  while (buffered() >= kFramePrefixBytes) {
    const uint32_t length = base::DecodeFixed32(buffer_.data() + begin_);
    if (length > transport_.options.max_frame_bytes) {
      Add(transport_.counters.oversized_frames, 1);
      Close();
      return false;
    }
    if (buffered() < kFramePrefixBytes + length) break;
    const std::string_view frame(buffer_.data() + begin_ + kFramePrefixBytes, length);
    begin_ += kFramePrefixBytes + length;
    Add(transport_.counters.frames_received, 1);
    transport_.receive(from_, frame);
    if (closed_) return false;
  }
  return true;
}

bool InboundConnection::ParseHandshake() {
  const char* bytes = buffer_.data() + begin_;
  const NodeId self = transport_.options.id;
  const bool magic_ok = std::string_view(bytes, kHandshakeMagic.size()) == kHandshakeMagic;
  const uint32_t version = base::DecodeFixed32(bytes + 4);
  const NodeId from = base::DecodeFixed64(bytes + 8);
  const NodeId to = base::DecodeFixed64(bytes + 16);
  // A wrong `to` is a peer whose address for this node is stale (another node listens there
  // now): refusing it makes the peer count this node unreachable rather than talk to the wrong
  // one.
  if (!magic_ok || version != kWireVersion || to != self || from == self || from == kNoNode) {
    Add(transport_.counters.handshake_failures, 1);
    Close();
    return false;
  }
  begin_ += kHandshakeBytes;
  from_ = from;
  handshake_timer_.cancel();
  Add(transport_.counters.accepts, 1);
  transport_.Identified(*this);
  return !closed_;
}

}  // namespace keel::raft::internal
