// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// MetadataStore: the cluster's own small files, what Kafka keeps in its controller's metadata
// (ZooKeeper or the KRaft log): the broker count, the topics with their configs and replica
// placement, and the allocation of producer ids. Each is one checksummed file replaced atomically
// (keel/wal/atomic_file.h), so that a crash leaves the old contents or the new.
//
// Internal to keel/mq; ClusterImpl owns one and calls it under its own locks.
#ifndef KEEL_SRC_MQ_METADATA_H_
#define KEEL_SRC_MQ_METADATA_H_

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "context.h"
#include "keel/mq/cluster.h"

namespace keel::mq::internal {

// A topic as the topics file stores it.
struct TopicMetadata {
  TopicConfig config;
  std::vector<std::vector<uint32_t>> placement;  // each partition's brokers, preferred leader first
};

class MetadataStore {
 public:
  // Reads the metadata in ctx.dir(), or creates it in an empty directory. Errors:
  // kFailedPrecondition for a directory holding other files; kInvalidArgument for a broker count
  // that differs from the options'; kDataLoss for a damaged file (naming it); I/O errors.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<MetadataStore>> Open(Context& ctx);

  // The topics as loaded or last saved.
  [[nodiscard]] const std::map<std::string, TopicMetadata>& topics() const { return topics_; }

  // Stores a new topic durably (all topics are rewritten). REQUIRES: the caller serialises calls.
  [[nodiscard]] absl::Status AddTopic(const std::string& name, const TopicMetadata& topic);

  // A new producer id, stored durably before it is returned.
  [[nodiscard]] absl::StatusOr<uint64_t> NewProducerId();

 private:
  explicit MetadataStore(Context& ctx) : ctx_(ctx) {}
  absl::Status Load();
  absl::Status SaveClusterFile(uint64_t next_producer_id) const;
  absl::Status SaveTopics(const std::map<std::string, TopicMetadata>& topics) const;

  Context& ctx_;
  std::map<std::string, TopicMetadata> topics_;
  std::mutex producer_ids_mu_;
  uint64_t next_producer_id_ = 1;
};

}  // namespace keel::mq::internal

#endif  // KEEL_SRC_MQ_METADATA_H_
