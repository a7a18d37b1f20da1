// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "access.h"

#include <unistd.h>

#include <chrono>
#include <random>
#include <thread>

#include "client.h"
#include "keel/base/coding.h"
#include "keel/base/status.h"
#include "keel/base/strings.h"
#include "keel/wal/atomic_file.h"

namespace keel::examples {
namespace {

constexpr std::string_view kOwnerMagic = "keel-mq-owner";
constexpr uint32_t kOwnerVersion = 1;
// How long an Acquire waits between its tries while the directory is locked.
constexpr auto kRetryInterval = std::chrono::milliseconds(20);

wal::FileSystem& FileSystemOf(const AccessOptions& options) {
  return options.cluster.file_system != nullptr ? *options.cluster.file_system
                                                : wal::FileSystem::Posix();
}

// A token tells this owner from any other that advertised the same port (a later owner, or an
// unrelated program that took the port after a killed owner). It must differ between processes
// and nothing replays it, so it comes from the system's entropy rather than a seeded generator.
uint64_t NewToken() {
  std::random_device entropy;
  uint64_t token = 0;
  while (token == 0) token = (uint64_t{entropy()} << 32) ^ entropy();
  return token;
}

class OwnedAccess final : public Access {
 public:
  OwnedAccess(const AccessOptions& options, std::unique_ptr<mq::Cluster> cluster,
              std::unique_ptr<Server> server)
      : options_(options), cluster_(std::move(cluster)), server_(std::move(server)) {}

  ~OwnedAccess() override { (void)Close(); }

  absl::StatusOr<std::unique_ptr<ProduceSession>> Produce(const ProduceRequest& request,
                                                          LineCallback callback) override {
    return ProduceOn(*cluster_, request, std::move(callback));
  }

  absl::StatusOr<std::unique_ptr<ConsumeSession>> Consume(const ConsumeRequest& request) override {
    return ConsumeOn(*cluster_, request);
  }

  bool owner() const override { return true; }
  uint16_t port() const override { return port_; }

  std::string description() const override {
    return base::Cat("opened ", options_.dir, "; serving others on 127.0.0.1:", port_);
  }

  absl::Status Close() override {
    if (cluster_ == nullptr) return absl::OkStatus();
    server_->Stop();  // every client handed over, every session on the cluster gone
    // Removed while the directory is still locked, so that it is this owner's OWNER.
    absl::Status status = FileSystemOf(options_).Remove(base::Cat(options_.dir, "/", kOwnerFile));
    if (absl::IsNotFound(status)) status = absl::OkStatus();
    status.Update(cluster_->Close());
    server_.reset();
    cluster_.reset();
    return status;
  }

  void set_port(uint16_t port) { port_ = port; }

 private:
  const AccessOptions options_;
  std::unique_ptr<mq::Cluster> cluster_;
  std::unique_ptr<Server> server_;
  uint16_t port_ = 0;
};

class RemoteAccess final : public Access {
 public:
  RemoteAccess(std::string description, std::shared_ptr<Client> client)
      : description_(std::move(description)), client_(std::move(client)) {}

  absl::StatusOr<std::unique_ptr<ProduceSession>> Produce(const ProduceRequest& request,
                                                          LineCallback callback) override {
    return ProduceVia(client_, request, std::move(callback));
  }

  absl::StatusOr<std::unique_ptr<ConsumeSession>> Consume(const ConsumeRequest& request) override {
    return ConsumeVia(client_, request);
  }

  bool owner() const override { return false; }
  uint16_t port() const override { return 0; }
  std::string description() const override { return description_; }

  absl::Status Close() override {
    client_.reset();
    return absl::OkStatus();
  }

 private:
  const std::string description_;
  std::shared_ptr<Client> client_;
};

// This process opened the cluster: serve it, and say where.
absl::StatusOr<std::unique_ptr<Access>> Own(const AccessOptions& options,
                                            std::unique_ptr<mq::Cluster> cluster) {
  ServerOptions server_options = options.server;
  server_options.token = NewToken();
  absl::StatusOr<std::unique_ptr<Server>> server = Server::Start(*cluster, server_options);
  if (!server.ok()) {
    (void)cluster->Close();
    return server.status();
  }
  const OwnerRecord record{(*server)->port(), static_cast<uint64_t>(::getpid()),
                           server_options.token};
  const uint16_t port = (*server)->port();
  auto owned = std::make_unique<OwnedAccess>(options, std::move(cluster), std::move(*server));
  owned->set_port(port);
  const absl::Status advertised = wal::WriteFileAtomically(FileSystemOf(options), options.dir,
                                                           kOwnerFile, EncodeOwnerRecord(record));
  if (!advertised.ok()) {
    (void)owned->Close();
    return advertised;
  }
  return owned;
}

}  // namespace

std::string EncodeOwnerRecord(const OwnerRecord& record) {
  std::string out(kOwnerMagic);
  base::PutVarint32(out, kOwnerVersion);
  base::PutVarint32(out, record.port);
  base::PutVarint64(out, record.pid);
  base::PutFixed64(out, record.token);
  return out;
}

absl::StatusOr<OwnerRecord> DecodeOwnerRecord(std::string_view bytes) {
  base::Reader in(bytes);
  auto decode = [&]() -> absl::StatusOr<OwnerRecord> {
    KEEL_ASSIGN_OR_RETURN(const std::string_view magic, in.ReadBytes(kOwnerMagic.size()));
    if (magic != kOwnerMagic) return absl::DataLossError("no owner magic");
    KEEL_ASSIGN_OR_RETURN(const uint32_t version, in.ReadVarint32());
    if (version != kOwnerVersion) {
      return absl::DataLossError(
          base::Cat("version ", version, "; this tool reads version ", kOwnerVersion));
    }
    OwnerRecord record;
    KEEL_ASSIGN_OR_RETURN(const uint32_t port, in.ReadVarint32());
    if (port < 1 || port > 65535) return absl::DataLossError(base::Cat("port ", port));
    record.port = static_cast<uint16_t>(port);
    KEEL_ASSIGN_OR_RETURN(record.pid, in.ReadVarint64());
    KEEL_ASSIGN_OR_RETURN(record.token, in.ReadFixed64());
    KEEL_RETURN_IF_ERROR(in.ExpectEnd());
    return record;
  };
  absl::StatusOr<OwnerRecord> record = decode();
  if (!record.ok()) {
    return absl::DataLossError(base::Cat("not an owner record: ", record.status().message()));
  }
  return record;
}

absl::StatusOr<OwnerRecord> ReadOwnerFile(const std::string& dir) {
  KEEL_ASSIGN_OR_RETURN(
      const std::string bytes,
      wal::ReadFileChecked(wal::FileSystem::Posix(), base::Cat(dir, "/", kOwnerFile)));
  return DecodeOwnerRecord(bytes);
}

absl::StatusOr<std::unique_ptr<Access>> Access::Acquire(const AccessOptions& options) {
  if (options.wait_ms < 0 || options.wait_ms > kMaxMillis || options.hello_timeout_ms < 1 ||
      options.hello_timeout_ms > kMaxMillis) {
    return absl::InvalidArgumentError(
        base::Cat("a wait of ", options.wait_ms, " ms and a Hello timeout of ",
                  options.hello_timeout_ms, " ms: want 0 (1) to ", kMaxMillis));
  }
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(options.wait_ms);
  for (;;) {
    absl::StatusOr<std::unique_ptr<mq::Cluster>> cluster =
        mq::Cluster::Open(options.dir, options.cluster);
    if (cluster.ok()) return Own(options, std::move(*cluster));
    if (!absl::IsUnavailable(cluster.status())) return cluster.status();
    // Locked: by an owner that serves it, one that has not advertised yet, or one that does not
    // serve at all (a program using keel::mq directly).
    absl::Status why = cluster.status();
    const absl::StatusOr<OwnerRecord> record = ReadOwnerFile(options.dir);
    if (record.ok()) {
      absl::StatusOr<std::shared_ptr<Client>> client =
          Client::Connect(record->port, record->token, options.hello_timeout_ms);
      if (client.ok()) {
        const wire::Welcome& welcome = (*client)->welcome();
        if (welcome.brokers != options.cluster.brokers) {
          return absl::InvalidArgumentError(
              base::Cat("the cluster in ", base::Quoted(options.dir, 256), " has ", welcome.brokers,
                        " brokers, not ", options.cluster.brokers));
        }
        return std::make_unique<RemoteAccess>(
            base::Cat("the owner of ", options.dir, " serves it (pid ", welcome.pid,
                      ", 127.0.0.1:", record->port, ")"),
            std::move(*client));
      }
      why = client.status();  // a stale advertisement, or an owner on its way out
    } else if (!absl::IsNotFound(record.status())) {
      why = record.status();
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      return absl::UnavailableError(base::Cat(base::Quoted(options.dir, 256),
                                              " is locked by another process, which serves no "
                                              "one (",
                                              why.message(), ")"));
    }
    std::this_thread::sleep_for(kRetryInterval);
  }
}

}  // namespace keel::examples
