// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// What one run of `message_queue produce` or `consume` asks of the cluster, wherever the cluster
// is: a ProduceSession sends numbered lines and reports each one's acknowledgement; a
// ConsumeSession is one member of a consumer group that polls and commits.
//
// One process at a time owns a data directory (the cluster's LOCK), so a run either has the
// cluster open itself (ProduceOn, ConsumeOn below: a keel::mq Producer or Consumer on it) or has
// the owner run its session for it over a loopback connection (client.h; the owner's side is
// server.h, which runs ProduceOn and ConsumeOn for each client). The command-line front end
// (cli.cc) sees the same interface either way, and when a remote session reports IsOwnerLost it
// reaches the cluster again (access.h) and carries on.
//
// Example:
//
//   ProduceRequest request;
//   request.topic = "orders";
//   KEEL_ASSIGN_OR_RETURN(auto session, ProduceOn(*cluster, request,
//       [](uint64_t seq, const absl::StatusOr<LineAck>& ack) { /* print it */ }));
//   KEEL_RETURN_IF_ERROR(session->Send(1, "order 42"));
//   KEEL_RETURN_IF_ERROR(session->Flush());  // every line's callback has run
#ifndef KEEL_EXAMPLES_MESSAGE_QUEUE_SESSIONS_H_
#define KEEL_EXAMPLES_MESSAGE_QUEUE_SESSIONS_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "keel/mq/cluster.h"

namespace keel::examples {

// The longest time a flag or a request may give: a year, far from overflowing int64_t once in
// nanoseconds and added to a clock reading.
inline constexpr int64_t kMaxMillis = int64_t{365} * 24 * 60 * 60 * 1000;

struct ProduceRequest {
  std::string topic;
  uint32_t partitions = 0;   // a new topic gets this many (0: 1); an existing one must have them
  uint32_t replication = 3;  // replicas of a new topic
  mq::Acks acks = mq::Acks::kAll;
  int64_t linger_ms = 5;
  bool key_by_line = false;  // the line is its message's key (else round-robin over partitions)

  friend bool operator==(const ProduceRequest&, const ProduceRequest&) = default;
};

struct ConsumeRequest {
  std::string topic;
  std::string group;
  // Where a partition the group never committed starts: its oldest message, or its end.
  bool from_beginning = false;

  friend bool operator==(const ConsumeRequest&, const ConsumeRequest&) = default;
};

// A line's acknowledgement: its partition, and its offset there (none with acks=0, or for a
// retry the cluster had appended too long ago to find).
struct LineAck {
  uint32_t partition = 0;
  std::optional<uint64_t> offset;

  friend bool operator==(const LineAck&, const LineAck&) = default;
};

// A consumed message: where it is, and its payload.
struct Delivered {
  uint32_t partition = 0;
  uint64_t offset = 0;
  std::string value;

  friend bool operator==(const Delivered&, const Delivered&) = default;
};

// Runs once per line a session took: with its acknowledgement, or with why it failed. It may run
// on any thread, and for different lines on different threads at once.
using LineCallback = std::function<void(uint64_t seq, const absl::StatusOr<LineAck>& result)>;

class ProduceSession {
 public:
  virtual ~ProduceSession() = default;

  // The topic's partition count.
  [[nodiscard]] virtual uint32_t partitions() const = 0;

  // Sends line `seq`. On success its callback runs once, later (unless the session is lost
  // first); on an error it never runs, and the line was not sent.
  [[nodiscard]] virtual absl::Status Send(uint64_t seq, std::string line) = 0;

  // Returns once every line sent so far has had its callback.
  [[nodiscard]] virtual absl::Status Flush() = 0;

  // OK while the session can go on; an IsOwnerLost error once it cannot (a remote session whose
  // owner went away: the lines without a callback may or may not have been appended).
  [[nodiscard]] virtual absl::Status Health() const = 0;
};

class ConsumeSession {
 public:
  // Leaves the group without committing.
  virtual ~ConsumeSession() = default;

  // Up to `max_messages` committed messages (1 to kMaxPollMessages), as mq::Consumer::Poll.
  [[nodiscard]] virtual absl::StatusOr<std::vector<Delivered>> Poll(uint32_t max_messages) = 0;

  // Commits the positions after everything Poll returned (kFailedPrecondition after a
  // rebalance: another member holds those partitions now).
  [[nodiscard]] virtual absl::Status Commit() = 0;

  // Commits and leaves the group.
  [[nodiscard]] virtual absl::Status Close() = 0;
};

inline constexpr uint32_t kMaxPollMessages = 500;
inline constexpr size_t kMaxGroupBytes = 4096;

// A topic name a user may give: one the cluster accepts for a topic of its own, so not one of
// the cluster's internal "__" topics (whose records are not a user's messages).
[[nodiscard]] absl::Status CheckUserTopic(std::string_view topic);

// Sessions on a cluster this process has open. ProduceOn creates the topic if it does not exist
// (kFailedPrecondition if it exists with other than request.partitions partitions); ConsumeOn
// joins the group as a new member (kNotFound if the topic does not exist). Both check the
// request first (kInvalidArgument). `cluster` must outlive the session.
[[nodiscard]] absl::StatusOr<std::unique_ptr<ProduceSession>> ProduceOn(
    mq::Cluster& cluster, const ProduceRequest& request, LineCallback callback);
[[nodiscard]] absl::StatusOr<std::unique_ptr<ConsumeSession>> ConsumeOn(
    mq::Cluster& cluster, const ConsumeRequest& request);

// The error a remote session returns once its owner has gone (closed the connection, or handed
// it over while leaving): kUnavailable, marked so that IsOwnerLost tells it from the cluster's
// own kUnavailable errors.
[[nodiscard]] absl::Status OwnerLost(std::string_view why);
[[nodiscard]] bool IsOwnerLost(const absl::Status& status);

}  // namespace keel::examples

#endif  // KEEL_EXAMPLES_MESSAGE_QUEUE_SESSIONS_H_
