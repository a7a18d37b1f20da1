// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// Access: how one run of the message_queue tool reaches the cluster in a data directory.
//
// One process at a time owns the directory (the cluster's LOCK file). The run that opens it
// keeps the cluster open for as long as it runs, and serves the others (server.h): it listens on
// a loopback port and advertises it in the file OWNER in the directory, beside LOCK. A run that
// finds the directory locked reads OWNER, connects, and has its session carried out by the owner
// (client.h) rather than waiting for the lock; so however many runs share a directory, it is
// opened (its replica logs recovered, its partitions' leader epochs bumped and their records
// rewritten) once per owner, not once per run or per poll.
//
// OWNER is a keel atomic file (keel/wal/atomic_file.h: written whole, checksummed, replaced by a
// rename), written after the cluster opened and removed before it closes. The cluster tolerates
// it: Cluster::Open only refuses entries it does not know in a directory that has no cluster
// file, and OWNER is only ever written once that file exists. An owner killed with SIGKILL
// leaves its OWNER behind, naming a port where nothing (or something else) now listens; that is
// why a client trusts the port only once the process there answers Hello with the token OWNER
// holds. A stale OWNER is overwritten by the next owner.
//
//   owner := "keel-mq-owner" version:varint32(1) port:varint32 pid:varint64 token:fixed64
//
// Example:
//
//   KEEL_ASSIGN_OR_RETURN(std::unique_ptr<Access> access, Access::Acquire(options));
//   KEEL_ASSIGN_OR_RETURN(auto session, access->Consume(request));
//   ... on an IsOwnerLost error: destroy the session and the access, and Acquire again.
//   KEEL_RETURN_IF_ERROR(access->Close());
#ifndef KEEL_EXAMPLES_MESSAGE_QUEUE_ACCESS_H_
#define KEEL_EXAMPLES_MESSAGE_QUEUE_ACCESS_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "keel/mq/cluster.h"
#include "server.h"
#include "sessions.h"

namespace keel::examples {

inline constexpr char kOwnerFile[] = "OWNER";

struct OwnerRecord {
  uint16_t port = 0;
  uint64_t pid = 0;
  uint64_t token = 0;
  friend bool operator==(const OwnerRecord&, const OwnerRecord&) = default;
};

[[nodiscard]] std::string EncodeOwnerRecord(const OwnerRecord& record);
// Errors: kDataLoss for anything but an owner record.
[[nodiscard]] absl::StatusOr<OwnerRecord> DecodeOwnerRecord(std::string_view bytes);
// The directory's OWNER file. Errors: kNotFound without one; kDataLoss for a damaged one.
[[nodiscard]] absl::StatusOr<OwnerRecord> ReadOwnerFile(const std::string& dir);

struct AccessOptions {
  std::string dir;
  mq::ClusterOptions cluster;  // for opening it; a client checks that the owner's brokers match
  // How long to keep trying while the directory is locked and its owner does not answer.
  int64_t wait_ms = 30'000;
  // How long an advertised owner has to answer Hello before it is taken for stale.
  int64_t hello_timeout_ms = 1'000;
  ServerOptions server;  // the token is chosen here
};

class Access {
 public:
  // Opens the cluster (and serves it), or connects to the process that has it open, trying
  // both until options.wait_ms has passed. Errors: kUnavailable when neither worked by then,
  // naming why the owner could not be reached; Cluster::Open's and Server::Start's errors;
  // kInvalidArgument when the owner's cluster has other than options.cluster.brokers brokers.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<Access>> Acquire(
      const AccessOptions& options);

  // An owner that was not closed closes here, ignoring errors.
  virtual ~Access() = default;

  // Opens a session (sessions.h): on the cluster, or through the owner.
  [[nodiscard]] virtual absl::StatusOr<std::unique_ptr<ProduceSession>> Produce(
      const ProduceRequest& request, LineCallback callback) = 0;
  [[nodiscard]] virtual absl::StatusOr<std::unique_ptr<ConsumeSession>> Consume(
      const ConsumeRequest& request) = 0;

  // Whether this process opened the cluster, and the loopback port it serves it on (0 if not).
  [[nodiscard]] virtual bool owner() const = 0;
  [[nodiscard]] virtual uint16_t port() const = 0;
  // "opened /d; serving others on 127.0.0.1:4242" or "the owner of /d serves it (pid 77,
  // 127.0.0.1:4242)", for --verbose.
  [[nodiscard]] virtual std::string description() const = 0;

  // The owner hands its clients over (Server::Stop), removes OWNER and closes the cluster; a
  // client closes its connection. REQUIRES: every session opened here has been destroyed.
  [[nodiscard]] virtual absl::Status Close() = 0;
};

}  // namespace keel::examples

#endif  // KEEL_EXAMPLES_MESSAGE_QUEUE_ACCESS_H_
