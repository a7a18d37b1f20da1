// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "client.h"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "connection.h"
#include "keel/base/status.h"
#include "keel/base/strings.h"

namespace keel::examples {

namespace asio = boost::asio;

struct Client::Impl {
  void ReadNext() {
    connection->Read([this](absl::StatusOr<wire::Frame> frame) { OnFrame(std::move(frame)); });
  }

  void OnFrame(absl::StatusOr<wire::Frame> frame) {
    if (!frame.ok()) {
      Lose(OwnerLost(base::Cat("the connection to the owner ended: ", frame.status().message())));
      connection->Close();
      return;
    }
    if (auto* acked = std::get_if<wire::LineAcked>(&*frame)) {
      Line()(acked->seq, acked->ack);
    } else if (auto* failed = std::get_if<wire::LineFailed>(&*frame)) {
      Line()(failed->seq, failed->status);
    } else if (std::holds_alternative<wire::Handover>(*frame)) {
      Lose(OwnerLost("the owner is leaving and handed this session over"));
      connection->Close();
      return;
    } else if (std::holds_alternative<wire::Welcome>(*frame) ||
               std::holds_alternative<wire::Done>(*frame) ||
               std::holds_alternative<wire::Messages>(*frame)) {
      std::lock_guard lock(mu);
      answers.push_back(std::move(*frame));
      answer_cv.notify_all();
    } else {
      Lose(OwnerLost(base::Cat("the owner sent a ", wire::FrameName(*frame),
                               " frame, which only clients send")));
      connection->Close();
      return;
    }
    ReadNext();
  }

  LineCallback Line() {
    std::lock_guard lock(mu);
    if (on_line) return on_line;
    return [](uint64_t, const absl::StatusOr<LineAck>&) {};
  }

  void Lose(const absl::Status& why) {
    std::lock_guard lock(mu);
    if (lost.ok()) lost = why;
    answer_cv.notify_all();
  }

  // Declared first, so destroyed last: the socket must go before its io_context.
  asio::io_context io;
  asio::executor_work_guard<asio::io_context::executor_type> work_guard{io.get_executor()};
  std::shared_ptr<FrameConnection> connection;
  std::thread io_thread;

  mutable std::mutex mu;
  std::condition_variable answer_cv;
  std::deque<wire::Frame> answers;
  absl::Status lost;  // OK while the owner is there
  LineCallback on_line;
};

Client::Client(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Client::~Client() {
  impl_->connection->Close();  // the pending read ends, and with it the io thread's work
  impl_->work_guard.reset();
  impl_->io_thread.join();
}

absl::StatusOr<std::shared_ptr<Client>> Client::Connect(uint16_t port, uint64_t token,
                                                        int64_t timeout_ms) {
  const std::string where = base::Cat("127.0.0.1:", port);
  auto impl = std::make_unique<Impl>();
  asio::ip::tcp::socket socket(impl->io);
  boost::system::error_code error;
  socket.connect(asio::ip::tcp::endpoint(asio::ip::address_v4::loopback(), port), error);
  if (error) {
    return OwnerLost(base::Cat("nothing answers on ", where, ": ", error.message()));
  }
  impl->connection = std::make_shared<FrameConnection>(std::move(socket));
  Impl* raw = impl.get();
  impl->connection->OnClosed([raw] { raw->Lose(OwnerLost("the connection to the owner closed")); });
  asio::post(impl->io, [raw] { raw->ReadNext(); });
  impl->io_thread = std::thread([raw] { raw->io.run(); });
  std::shared_ptr<Client> client(new Client(std::move(impl)));

  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  // An owner that refuses at once (too many sessions) may have answered and closed before the
  // Hello goes out: its answer is still queued, so wait for it whether or not the Hello went.
  (void)client->Post(wire::Hello{wire::kVersion, token});
  absl::StatusOr<wire::Frame> answer = client->Await(deadline);
  if (!answer.ok()) {
    return OwnerLost(base::Cat(where, " did not answer as the owner: ", answer.status().message()));
  }
  if (auto* done = std::get_if<wire::Done>(&*answer)) {
    return OwnerLost(base::Cat("the owner on ", where, " refused: ", done->status.message()));
  }
  auto* welcome = std::get_if<wire::Welcome>(&*answer);
  if (welcome == nullptr || welcome->version != wire::kVersion) {
    return OwnerLost(
        base::Cat(where, " answered Hello with a ", wire::FrameName(*answer), " frame"));
  }
  client->welcome_ = *welcome;
  return client;
}

void Client::OnLine(LineCallback callback) {
  std::lock_guard lock(impl_->mu);
  impl_->on_line = std::move(callback);
}

absl::Status Client::Post(const wire::Frame& frame) {
  KEEL_RETURN_IF_ERROR(Health());
  impl_->connection->Write(frame);
  return absl::OkStatus();
}

absl::StatusOr<wire::Frame> Client::Await(
    std::optional<std::chrono::steady_clock::time_point> deadline) {
  std::unique_lock lock(impl_->mu);
  auto ready = [this] { return !impl_->answers.empty() || !impl_->lost.ok(); };
  if (deadline) {
    if (!impl_->answer_cv.wait_until(lock, *deadline, ready)) {
      return absl::DeadlineExceededError("no answer in time");
    }
  } else {
    impl_->answer_cv.wait(lock, ready);
  }
  if (!impl_->answers.empty()) {
    wire::Frame answer = std::move(impl_->answers.front());
    impl_->answers.pop_front();
    return answer;
  }
  return impl_->lost;
}

absl::StatusOr<wire::Frame> Client::Call(const wire::Frame& request) {
  KEEL_RETURN_IF_ERROR(Post(request));
  return Await();
}

absl::Status Client::Health() const {
  std::lock_guard lock(impl_->mu);
  return impl_->lost;
}

namespace {

// The Done that answers `request`; an answer of another kind means the peer does not follow the
// protocol, and is taken as the owner gone.
absl::StatusOr<wire::Done> ExpectDone(const absl::StatusOr<wire::Frame>& answer,
                                      const char* request) {
  KEEL_RETURN_IF_ERROR(answer.status());
  if (const auto* done = std::get_if<wire::Done>(&*answer)) return *done;
  return OwnerLost(
      base::Cat("the owner answered ", request, " with a ", wire::FrameName(*answer), " frame"));
}

class RemoteProduceSession final : public ProduceSession {
 public:
  RemoteProduceSession(std::shared_ptr<Client> client, uint32_t partitions)
      : client_(std::move(client)), partitions_(partitions) {}

  uint32_t partitions() const override { return partitions_; }

  absl::Status Send(uint64_t seq, std::string line) override {
    if (line.size() > wire::kMaxLineBytes) {
      return absl::InvalidArgumentError(
          base::Cat("a line of ", line.size(), " bytes: at most ", wire::kMaxLineBytes));
    }
    return client_->Post(wire::ProduceLine{seq, std::move(line)});
  }

  absl::Status Flush() override {
    KEEL_ASSIGN_OR_RETURN(const wire::Done done,
                          ExpectDone(client_->Call(wire::ProduceFlush{}), "ProduceFlush"));
    return done.status;
  }

  absl::Status Health() const override { return client_->Health(); }

 private:
  const std::shared_ptr<Client> client_;
  const uint32_t partitions_;
};

class RemoteConsumeSession final : public ConsumeSession {
 public:
  explicit RemoteConsumeSession(std::shared_ptr<Client> client) : client_(std::move(client)) {}

  absl::StatusOr<std::vector<Delivered>> Poll(uint32_t max_messages) override {
    std::vector<Delivered> out;
    absl::StatusOr<wire::Frame> answer = client_->Call(wire::ConsumePoll{max_messages});
    for (;;) {
      KEEL_RETURN_IF_ERROR(answer.status());
      if (const auto* done = std::get_if<wire::Done>(&*answer)) {
        if (!done->status.ok()) return done->status;
        return OwnerLost("the owner answered ConsumePoll with an OK Done frame");
      }
      auto* part = std::get_if<wire::Messages>(&*answer);
      if (part == nullptr) {
        return OwnerLost(base::Cat("the owner answered ConsumePoll with a ",
                                   wire::FrameName(*answer), " frame"));
      }
      for (Delivered& m : part->messages) out.push_back(std::move(m));
      if (!part->more) return out;
      answer = client_->Await();
    }
  }

  absl::Status Commit() override {
    KEEL_ASSIGN_OR_RETURN(const wire::Done done,
                          ExpectDone(client_->Call(wire::ConsumeCommit{}), "ConsumeCommit"));
    return done.status;
  }

  absl::Status Close() override {
    KEEL_ASSIGN_OR_RETURN(const wire::Done done,
                          ExpectDone(client_->Call(wire::ConsumeClose{}), "ConsumeClose"));
    return done.status;
  }

 private:
  const std::shared_ptr<Client> client_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<ProduceSession>> ProduceVia(std::shared_ptr<Client> client,
                                                           const ProduceRequest& request,
                                                           LineCallback callback) {
  client->OnLine(std::move(callback));
  KEEL_ASSIGN_OR_RETURN(const wire::Done done,
                        ExpectDone(client->Call(wire::ProduceOpen{request}), "ProduceOpen"));
  KEEL_RETURN_IF_ERROR(done.status);
  if (done.value < 1 || done.value > mq::kMaxPartitions) {
    return OwnerLost(base::Cat("the owner's topic has ", done.value, " partitions"));
  }
  return std::make_unique<RemoteProduceSession>(std::move(client),
                                                static_cast<uint32_t>(done.value));
}

absl::StatusOr<std::unique_ptr<ConsumeSession>> ConsumeVia(std::shared_ptr<Client> client,
                                                           const ConsumeRequest& request) {
  KEEL_ASSIGN_OR_RETURN(const wire::Done done,
                        ExpectDone(client->Call(wire::ConsumeOpen{request}), "ConsumeOpen"));
  KEEL_RETURN_IF_ERROR(done.status);
  return std::make_unique<RemoteConsumeSession>(std::move(client));
}

}  // namespace keel::examples
