// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// FrameConnection: a TCP connection carrying wire frames (wire.h), for both ends of the
// message_queue tool's loopback protocol. It lives on an io_context that one thread runs: that
// thread reads one frame at a time when asked, and writes the frames any thread queues, in the
// order they were queued. Closing after the queued frames shuts the sending side down first and
// reads until the peer closes (for at most kLingerMs), so that a peer still sending does not get
// a reset that could discard the last answer before it reads it.
//
// Example (on the io thread):
//
//   auto connection = std::make_shared<FrameConnection>(std::move(socket));
//   connection->Read([connection](absl::StatusOr<wire::Frame> frame) {
//     if (!frame.ok()) return connection->Close();
//     connection->Write(wire::Done{});
//   });
#ifndef KEEL_EXAMPLES_MESSAGE_QUEUE_CONNECTION_H_
#define KEEL_EXAMPLES_MESSAGE_QUEUE_CONNECTION_H_

// Boost 1.74's awaitable.hpp uses std::exchange without including <utility>.
#include <utility>
// (the line above must come first)
#include <array>
#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <deque>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "wire.h"

namespace keel::examples {

class FrameConnection : public std::enable_shared_from_this<FrameConnection> {
 public:
  // How long a close waits for the peer to close its side.
  static constexpr int64_t kLingerMs = 2000;

  using ReadHandler = std::function<void(absl::StatusOr<wire::Frame>)>;

  explicit FrameConnection(boost::asio::ip::tcp::socket socket);

  // Runs on the io thread when the connection closes, whatever closed it. Set it before the
  // first Read or Write.
  void OnClosed(std::function<void()> closed) { on_closed_ = std::move(closed); }

  // On the io thread, with no other Read pending: reads the next frame and passes it to `done`
  // (on the io thread), or why there is none: kUnavailable once the peer closed between frames,
  // the connection failed or was closed here; kOutOfRange when the peer closed inside a frame;
  // the header's or the body's decoding error otherwise (wire.h).
  void Read(ReadHandler done);

  // Runs on the io thread once a frame is written out (never if the connection closes first).
  using WrittenHandler = std::function<void()>;

  // Any thread: queues a frame (or its encoding) to be written after those queued before.
  // Dropped once the connection is closing. A reader that waits for `written` before taking
  // more from the peer bounds what is queued here: the queue only grows while the peer does
  // not read, so without that a peer that sends and never reads would grow it without limit.
  void Write(const wire::Frame& frame, WrittenHandler written = nullptr);
  void WriteEncoded(std::string bytes, WrittenHandler written = nullptr);

  // The most frames that were ever queued at once, not yet written (for tests).
  [[nodiscard]] size_t max_queued() const { return max_queued_.load(std::memory_order_relaxed); }

  // Any thread: closes once every frame queued before is written (a pending Read then ends with
  // kUnavailable).
  void CloseAfterWrites();
  // Any thread: closes now, dropping what is queued.
  void Close();

 private:
  void WriteNext();
  void Linger();
  void Discard();
  void CloseNow();
  absl::Status ReadError(const boost::system::error_code& error, size_t got, size_t want,
                         const char* part) const;

  // All of these belong to the io thread.
  boost::asio::ip::tcp::socket socket_;
  boost::asio::steady_timer linger_timer_;
  std::array<char, wire::kFrameHeaderBytes> header_{};
  std::string body_;
  std::array<char, 4096> discard_{};
  struct Queued {
    std::string bytes;
    WrittenHandler written;
  };
  std::deque<Queued> queue_;
  std::atomic<size_t> max_queued_{0};
  std::function<void()> on_closed_;
  bool writing_ = false;
  bool closing_ = false;  // no more writes are queued
  bool closed_ = false;
};

}  // namespace keel::examples

#endif  // KEEL_EXAMPLES_MESSAGE_QUEUE_CONNECTION_H_
