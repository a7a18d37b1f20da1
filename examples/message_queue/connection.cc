// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "connection.h"

#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <chrono>

#include "keel/base/strings.h"

namespace keel::examples {

namespace asio = boost::asio;

FrameConnection::FrameConnection(asio::ip::tcp::socket socket)
    : socket_(std::move(socket)), linger_timer_(socket_.get_executor()) {}

absl::Status FrameConnection::ReadError(const boost::system::error_code& error, size_t got,
                                        size_t want, const char* part) const {
  if (error == asio::error::eof && got == 0 && part == std::string_view("header")) {
    return absl::UnavailableError("the connection closed");
  }
  if (error == asio::error::eof) {
    return absl::OutOfRangeError(base::Cat("the connection ended inside a frame's ", part, ": ",
                                           got, " of ", want, " bytes"));
  }
  if (error == asio::error::operation_aborted || closed_) {
    return absl::UnavailableError("the connection closed");
  }
  return absl::UnavailableError(base::Cat("the connection failed: ", error.message()));
}

void FrameConnection::Read(ReadHandler done) {
  if (closed_) {
    done(absl::UnavailableError("the connection closed"));
    return;
  }
  auto self = shared_from_this();
  asio::async_read(socket_, asio::buffer(header_),
                   [this, self, done = std::move(done)](const boost::system::error_code& error,
                                                        size_t got) mutable {
                     if (error) {
                       done(ReadError(error, got, header_.size(), "header"));
                       return;
                     }
                     const absl::StatusOr<uint32_t> length =
                         wire::DecodeFrameLength(std::string_view(header_.data(), header_.size()));
                     if (!length.ok()) {
                       done(length.status());
                       return;
                     }
                     body_.resize(*length);
                     asio::async_read(
                         socket_, asio::buffer(body_),
                         [this, self, done = std::move(done)](
                             const boost::system::error_code& body_error, size_t body_got) {
                           if (body_error) {
                             done(ReadError(body_error, body_got, body_.size(), "body"));
                             return;
                           }
                           done(wire::DecodeFrame(body_));
                         });
                   });
}

void FrameConnection::Write(const wire::Frame& frame, WrittenHandler written) {
  WriteEncoded(wire::EncodeFrame(frame), std::move(written));
}

void FrameConnection::WriteEncoded(std::string bytes, WrittenHandler written) {
  asio::post(socket_.get_executor(), [this, self = shared_from_this(), bytes = std::move(bytes),
                                      written = std::move(written)]() mutable {
    if (closing_ || closed_) return;
    queue_.push_back({std::move(bytes), std::move(written)});
    if (queue_.size() > max_queued_.load(std::memory_order_relaxed)) {
      max_queued_.store(queue_.size(), std::memory_order_relaxed);
    }
    if (!writing_) WriteNext();
  });
}

void FrameConnection::WriteNext() {
  if (closed_) return;
  if (queue_.empty()) {
    writing_ = false;
    if (closing_) Linger();
    return;
  }
  writing_ = true;
  asio::async_write(
      socket_, asio::buffer(queue_.front().bytes),
      [this, self = shared_from_this()](const boost::system::error_code& error, size_t) {
        if (error || closed_) {
          CloseNow();  // the peer is gone: the rest cannot reach it either
          return;
        }
        WrittenHandler written = std::move(queue_.front().written);
        queue_.pop_front();
        if (written) written();
        WriteNext();
      });
}

void FrameConnection::CloseAfterWrites() {
  asio::post(socket_.get_executor(), [this, self = shared_from_this()] {
    if (closing_ || closed_) return;
    closing_ = true;
    if (!writing_) Linger();
  });
}

void FrameConnection::Close() {
  asio::post(socket_.get_executor(), [this, self = shared_from_this()] { CloseNow(); });
}

// Everything is written: send the end of the stream, and read (discarding) until the peer ends
// its own, so that bytes it sent meanwhile do not make this side reset the connection.
void FrameConnection::Linger() {
  if (closed_) return;
  boost::system::error_code ignored;
  socket_.cancel(ignored);  // a pending frame Read ends; what it would read is discarded here
  socket_.shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
  linger_timer_.expires_after(std::chrono::milliseconds(kLingerMs));
  linger_timer_.async_wait(
      [this, self = shared_from_this()](const boost::system::error_code&) { CloseNow(); });
  Discard();
}

void FrameConnection::Discard() {
  socket_.async_read_some(
      asio::buffer(discard_),
      [this, self = shared_from_this()](const boost::system::error_code& error, size_t) {
        if (error || closed_) {
          CloseNow();
          return;
        }
        Discard();
      });
}

void FrameConnection::CloseNow() {
  if (closed_) return;
  closed_ = true;
  closing_ = true;
  boost::system::error_code ignored;
  linger_timer_.cancel();
  socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
  socket_.close(ignored);
  // What was queued is dropped with the handlers it holds (often the owner of this connection),
  // except the bytes a write in progress still points at until its handler runs.
  if (writing_) {
    queue_.erase(queue_.begin() + 1, queue_.end());
    queue_.front().written = nullptr;
  } else {
    queue_.clear();
  }
  if (on_closed_) {
    // Run it once, and let go of what it holds (often the owner of this connection).
    std::function<void()> closed = std::move(on_closed_);
    on_closed_ = nullptr;
    closed();
  }
}

}  // namespace keel::examples
