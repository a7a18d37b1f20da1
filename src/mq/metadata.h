// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// MetadataStore: what Kafka keeps in its controller's metadata (ZooKeeper, or the KRaft log), as
// small checksummed files replaced atomically (keel/wal/atomic_file.h), so that a crash leaves
// each with its old contents or its new:
//
//   cluster              the format version and the broker count
//   topics               each topic's config and replica placement
//   producer-ids         the next producer id, and each named producer's id and epoch
//   partitions/<t>-<p>   each partition's leader, leader epoch and in-sync replicas
//
// The partition files are the controller's decisions. A partition writes its new leader, epoch
// and ISR here before it acts on them (before a new leader takes a write, and before a high
// watermark counts on a smaller ISR), so that a cluster reopened after a crash elects from the
// last ISR written, whose every member holds every committed message. docs/mq.md gives the
// files' grammar.
//
// Internal to keel/mq. Thread safety: every method may be called from many threads at once; a
// partition's file is written by that partition only, under its own lock.
#ifndef KEEL_SRC_MQ_METADATA_H_
#define KEEL_SRC_MQ_METADATA_H_

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "context.h"
#include "keel/mq/cluster.h"

namespace keel::mq::internal {

// A topic as the topics file stores it.
struct TopicMetadata {
  TopicConfig config;
  std::vector<std::vector<uint32_t>> placement;  // each partition's brokers, preferred leader first
};

// A partition's leader, leader epoch and ISR, as the controller decided them (Kafka's
// LeaderAndIsr).
struct PartitionRecord {
  std::optional<uint32_t> leader;  // a broker; none while the partition is offline
  uint64_t leader_epoch = 0;       // 0: it never had a leader
  std::vector<uint32_t> isr;       // brokers, in placement order

  friend bool operator==(const PartitionRecord&, const PartitionRecord&) = default;
};

class MetadataStore {
 public:
  // Reads the metadata in ctx.dir() (which must exist), or creates it in an empty directory.
  // Errors: kFailedPrecondition for a directory holding other files, or a message queue an
  // earlier keel wrote; kInvalidArgument for a broker count that differs from the options';
  // kDataLoss for a damaged file (naming it); I/O errors.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<MetadataStore>> Open(Context& ctx);

  // The topics as loaded or last added. REQUIRES: no AddTopic at the same time.
  [[nodiscard]] const std::map<std::string, TopicMetadata>& topics() const { return topics_; }

  // Stores a new topic durably (all topics are rewritten). REQUIRES: one call at a time.
  [[nodiscard]] absl::Status AddTopic(const std::string& name, const TopicMetadata& topic);

  // Kafka's InitProducerId: an id and epoch for an idempotent producer, stored durably before
  // they are returned when later calls depend on them.
  //   - no name, no `current`: a new id, epoch 0;
  //   - no name, `current`: the same id with the next epoch (KIP-360's bump after a batch the
  //     producer had to give up; the id is this producer's alone, so nothing is stored);
  //   - a name seen before, no `current`: its id with the next epoch, which fences every older
  //     instance of the producer (Kafka's transactional.id); a new name gets a new id;
  //   - a name and `current`: the next epoch if `current` is the name's latest, the latest again
  //     if `current` is the one before it (a retried bump); otherwise kProducerFenced.
  // An epoch that would pass kMaxProducerEpoch takes a new id instead. Errors:
  // kFailedPrecondition with Error::kProducerFenced; kInvalidArgument for a name longer than
  // kMaxProducerNameBytes; I/O errors (nothing was handed out).
  [[nodiscard]] absl::StatusOr<ProducerIdAndEpoch> InitProducerId(
      std::string_view name, std::optional<ProducerIdAndEpoch> current);

  // The latest epoch of a named producer's id; nullopt for ids without a name.
  [[nodiscard]] std::optional<uint32_t> NamedProducerEpoch(uint64_t producer_id) const;

  // A partition's last written record; nullopt if it never had one.
  [[nodiscard]] absl::StatusOr<std::optional<PartitionRecord>> LoadPartition(
      std::string_view topic, uint32_t partition) const;
  // Replaces a partition's record durably.
  [[nodiscard]] absl::Status SavePartition(std::string_view topic, uint32_t partition,
                                           const PartitionRecord& record) const;

 private:
  struct NamedProducer {
    uint64_t id = 0;
    uint32_t epoch = 0;
    std::optional<uint32_t> last_epoch;  // the epoch before `epoch`, for a retried bump
  };

  explicit MetadataStore(Context& ctx) : ctx_(ctx) {}
  absl::Status Load();
  absl::Status LoadTopics();
  absl::Status LoadProducerIds();
  // REQUIRES: producers_mu_ held exclusively.
  absl::Status SaveProducerIds(uint64_t next_id,
                               const std::map<std::string, NamedProducer>& named) const;
  absl::Status SaveTopics(const std::map<std::string, TopicMetadata>& topics) const;
  std::string PartitionsDir() const;

  Context& ctx_;
  std::map<std::string, TopicMetadata> topics_;

  mutable std::shared_mutex producers_mu_;
  uint64_t next_producer_id_ = 1;
  std::map<std::string, NamedProducer> named_;
  absl::flat_hash_map<uint64_t, uint32_t> named_epochs_;  // id -> epoch, for named producers
};

}  // namespace keel::mq::internal

#endif  // KEEL_SRC_MQ_METADATA_H_
