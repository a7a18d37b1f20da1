// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "metadata.h"

#include "keel/base/coding.h"
#include "keel/base/status.h"
#include "keel/base/strings.h"
#include "keel/wal/atomic_file.h"

namespace keel::mq::internal {
namespace {

constexpr char kClusterFile[] = "cluster";
constexpr char kTopicsFile[] = "topics";
constexpr char kProducerIdsFile[] = "producer-ids";
constexpr char kPartitionsDir[] = "partitions";
constexpr char kLockFile[] = "LOCK";

// The cluster file starts with this, then the format version. A file without it was written by
// keel before the format had a version (its first byte is the broker count, at most 64).
constexpr std::string_view kClusterMagic = "keel-mq";
constexpr uint32_t kFormatVersion = 1;
// The other files' own versions, each a varint at their start.
constexpr uint32_t kTopicsVersion = 1;
constexpr uint32_t kProducerIdsVersion = 1;
constexpr uint32_t kPartitionVersion = 1;

absl::Status ExpectVersion(base::Reader& in, uint32_t want) {
  KEEL_ASSIGN_OR_RETURN(const uint32_t version, in.ReadVarint32());
  if (version != want) {
    return absl::DataLossError(
        base::Cat("format version ", version, "; this keel reads version ", want));
  }
  return absl::OkStatus();
}

// Prefixes a decoding error with the file it came from.
absl::Status InFile(const absl::Status& status, const std::string& path) {
  if (status.ok()) return status;
  return absl::DataLossError(base::Cat(base::Quoted(path, 256), ": ", status.message()));
}

}  // namespace

absl::StatusOr<std::unique_ptr<MetadataStore>> MetadataStore::Open(Context& ctx) {
  std::unique_ptr<MetadataStore> store(new MetadataStore(ctx));
  KEEL_RETURN_IF_ERROR(store->Load());
  return store;
}

std::string MetadataStore::PartitionsDir() const {
  return base::Cat(ctx_.dir(), "/", kPartitionsDir);
}

absl::Status MetadataStore::Load() {
  const std::string& dir = ctx_.dir();
  wal::FileSystem& fs = ctx_.fs();
  const std::string path = base::Cat(dir, "/", kClusterFile);
  absl::StatusOr<std::string> meta = wal::ReadFileChecked(fs, path);
  if (absl::IsNotFound(meta.status())) {
    // Empty, or holding what a creation that a crash interrupted leaves before the cluster file,
    // which is written last.
    KEEL_ASSIGN_OR_RETURN(const std::vector<std::string> names, fs.List(dir));
    for (const std::string& name : names) {
      const bool ours = name == kLockFile || name == kPartitionsDir || name == kProducerIdsFile ||
                        name == base::Cat(kProducerIdsFile, ".tmp") ||
                        name == base::Cat(kClusterFile, ".tmp");
      if (!ours) {
        return absl::FailedPreconditionError(
            base::Cat(base::Quoted(dir, 256), " is not a keel message queue directory: it holds ",
                      base::Quoted(name, 256), " but no ", kClusterFile, " file"));
      }
    }
    // The partitions directory first: the cluster file says the directory is a cluster's, and
    // everything a cluster relies on must be durable by then.
    KEEL_RETURN_IF_ERROR(fs.CreateDir(PartitionsDir()));
    KEEL_RETURN_IF_ERROR(fs.SyncDir(dir));
    KEEL_RETURN_IF_ERROR(SaveProducerIds(next_producer_id_, named_));
    std::string fresh(kClusterMagic);
    base::PutVarint32(fresh, kFormatVersion);
    base::PutVarint32(fresh, ctx_.options().brokers);
    return wal::WriteFileAtomically(fs, dir, kClusterFile, fresh);
  }
  KEEL_RETURN_IF_ERROR(meta.status());
  if (!std::string_view(*meta).starts_with(kClusterMagic)) {
    return absl::FailedPreconditionError(
        base::Cat(base::Quoted(dir, 256),
                  " holds a message queue written by an earlier keel, before the format had a "
                  "version (no leader epochs in its logs); this keel cannot read it"));
  }
  base::Reader in(std::string_view(*meta).substr(kClusterMagic.size()));
  KEEL_RETURN_IF_ERROR(InFile(ExpectVersion(in, kFormatVersion), path));
  absl::StatusOr<uint32_t> brokers = in.ReadVarint32();
  KEEL_RETURN_IF_ERROR(InFile(brokers.status(), path));
  KEEL_RETURN_IF_ERROR(InFile(in.ExpectEnd(), path));
  if (*brokers != ctx_.options().brokers) {
    return absl::InvalidArgumentError(base::Cat("the cluster in ", base::Quoted(dir, 256), " has ",
                                                *brokers, " brokers, not ",
                                                ctx_.options().brokers));
  }
  KEEL_RETURN_IF_ERROR(fs.CreateDir(PartitionsDir()));
  KEEL_RETURN_IF_ERROR(LoadProducerIds());
  return LoadTopics();
}

// ---------------------------------------------------------------------------------------------
// Topics.
// ---------------------------------------------------------------------------------------------

absl::Status MetadataStore::LoadTopics() {
  const std::string path = base::Cat(ctx_.dir(), "/", kTopicsFile);
  absl::StatusOr<std::string> topics = wal::ReadFileChecked(ctx_.fs(), path);
  if (absl::IsNotFound(topics.status())) return absl::OkStatus();
  KEEL_RETURN_IF_ERROR(topics.status());
  base::Reader in(*topics);
  auto read = [&]() -> absl::Status {
    KEEL_RETURN_IF_ERROR(ExpectVersion(in, kTopicsVersion));
    KEEL_ASSIGN_OR_RETURN(const uint32_t count, in.ReadVarint32());
    for (uint32_t t = 0; t < count; ++t) {
      KEEL_ASSIGN_OR_RETURN(const std::string_view name, in.ReadLengthPrefixed());
      TopicMetadata topic;
      TopicConfig& c = topic.config;
      KEEL_ASSIGN_OR_RETURN(c.partitions, in.ReadVarint32());
      KEEL_ASSIGN_OR_RETURN(c.replication_factor, in.ReadVarint32());
      KEEL_ASSIGN_OR_RETURN(c.min_insync_replicas, in.ReadVarint32());
      KEEL_ASSIGN_OR_RETURN(c.retention_bytes, in.ReadVarint64());
      KEEL_ASSIGN_OR_RETURN(c.retention_ns, in.ReadZigZag64());
      if (c.partitions < 1 || c.partitions > kMaxPartitions || c.replication_factor < 1 ||
          c.replication_factor > ctx_.options().brokers || c.min_insync_replicas < 1 ||
          c.min_insync_replicas > c.replication_factor) {
        return absl::DataLossError(base::Cat("topic ", base::Quoted(name), " has ", c.partitions,
                                             " partitions, replication ", c.replication_factor,
                                             " and min in-sync replicas ", c.min_insync_replicas));
      }
      for (uint32_t p = 0; p < c.partitions; ++p) {
        std::vector<uint32_t> brokers(c.replication_factor);
        for (uint32_t& b : brokers) {
          KEEL_ASSIGN_OR_RETURN(b, in.ReadVarint32());
          if (b >= ctx_.options().brokers) {
            return absl::DataLossError(base::Cat("topic ", base::Quoted(name), " partition ", p,
                                                 " is placed on broker ", b, " of ",
                                                 ctx_.options().brokers));
          }
        }
        topic.placement.push_back(std::move(brokers));
      }
      topics_[std::string(name)] = std::move(topic);
    }
    return in.ExpectEnd();
  };
  return InFile(read(), path);
}

absl::Status MetadataStore::SaveTopics(const std::map<std::string, TopicMetadata>& topics) const {
  std::string out;
  base::PutVarint32(out, kTopicsVersion);
  base::PutVarint32(out, static_cast<uint32_t>(topics.size()));
  for (const auto& [name, topic] : topics) {
    base::PutLengthPrefixed(out, name);
    const TopicConfig& c = topic.config;
    base::PutVarint32(out, c.partitions);
    base::PutVarint32(out, c.replication_factor);
    base::PutVarint32(out, c.min_insync_replicas);
    base::PutVarint64(out, c.retention_bytes);
    base::PutVarint64(out, base::ZigZagEncode64(c.retention_ns));
    for (const std::vector<uint32_t>& brokers : topic.placement) {
      for (const uint32_t b : brokers) base::PutVarint32(out, b);
    }
  }
  return wal::WriteFileAtomically(ctx_.fs(), ctx_.dir(), kTopicsFile, out);
}

absl::Status MetadataStore::AddTopic(const std::string& name, const TopicMetadata& topic) {
  std::map<std::string, TopicMetadata> next = topics_;
  next[name] = topic;
  KEEL_RETURN_IF_ERROR(SaveTopics(next));
  topics_ = std::move(next);
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------------------------
// Producer ids.
// ---------------------------------------------------------------------------------------------

absl::Status MetadataStore::LoadProducerIds() {
  const std::string path = base::Cat(ctx_.dir(), "/", kProducerIdsFile);
  KEEL_ASSIGN_OR_RETURN(const std::string contents, wal::ReadFileChecked(ctx_.fs(), path));
  base::Reader in(contents);
  auto read = [&]() -> absl::Status {
    KEEL_RETURN_IF_ERROR(ExpectVersion(in, kProducerIdsVersion));
    KEEL_ASSIGN_OR_RETURN(next_producer_id_, in.ReadVarint64());
    KEEL_ASSIGN_OR_RETURN(const uint32_t count, in.ReadVarint32());
    for (uint32_t i = 0; i < count; ++i) {
      KEEL_ASSIGN_OR_RETURN(const std::string_view name, in.ReadLengthPrefixed());
      NamedProducer p;
      KEEL_ASSIGN_OR_RETURN(p.id, in.ReadVarint64());
      KEEL_ASSIGN_OR_RETURN(p.epoch, in.ReadVarint32());
      KEEL_ASSIGN_OR_RETURN(const uint32_t last, in.ReadVarint32());  // 0: none, else epoch + 1
      if (last > 0) p.last_epoch = last - 1;
      if (p.id == 0 || p.id >= next_producer_id_) {
        return absl::DataLossError(base::Cat("producer ", base::Quoted(name), " has id ", p.id,
                                             ", not below the next id ", next_producer_id_));
      }
      named_epochs_[p.id] = p.epoch;
      named_[std::string(name)] = p;
    }
    return in.ExpectEnd();
  };
  return InFile(read(), path);
}

absl::Status MetadataStore::SaveProducerIds(
    uint64_t next_id, const std::map<std::string, NamedProducer>& named) const {
  std::string out;
  base::PutVarint32(out, kProducerIdsVersion);
  base::PutVarint64(out, next_id);
  base::PutVarint32(out, static_cast<uint32_t>(named.size()));
  for (const auto& [name, p] : named) {
    base::PutLengthPrefixed(out, name);
    base::PutVarint64(out, p.id);
    base::PutVarint32(out, p.epoch);
    base::PutVarint32(out, p.last_epoch ? *p.last_epoch + 1 : 0);
  }
  return wal::WriteFileAtomically(ctx_.fs(), ctx_.dir(), kProducerIdsFile, out);
}

absl::StatusOr<ProducerIdAndEpoch> MetadataStore::InitProducerId(
    std::string_view name, std::optional<ProducerIdAndEpoch> current) {
  if (name.size() > kMaxProducerNameBytes) {
    return absl::InvalidArgumentError(base::Cat("producer name ", base::Quoted(name), " of ",
                                                name.size(), " bytes is over the limit ",
                                                kMaxProducerNameBytes));
  }
  std::unique_lock lock(producers_mu_);
  if (name.empty() && current && current->epoch < kMaxProducerEpoch) {
    // The id is this producer's alone: a bump needs no coordination and nothing stored.
    return ProducerIdAndEpoch{current->id, current->epoch + 1};
  }
  std::map<std::string, NamedProducer> named = named_;
  uint64_t next_id = next_producer_id_;
  ProducerIdAndEpoch out;
  if (name.empty()) {
    out.id = next_id++;
  } else {
    auto it = named.find(std::string(name));
    NamedProducer& p = named[std::string(name)];
    if (it == named.end()) {
      p.id = next_id++;
    } else if (current && (current->id != p.id ||
                           (current->epoch != p.epoch && current->epoch != p.last_epoch))) {
      return MakeError(
          absl::StatusCode::kFailedPrecondition, Error::kProducerFenced,
          base::Cat("producer ", base::Quoted(name), " id ", current->id, " epoch ", current->epoch,
                    " is fenced: the name is at id ", p.id, " epoch ", p.epoch));
    } else if (current && current->epoch == p.last_epoch) {
      return ProducerIdAndEpoch{p.id, p.epoch};  // the bump was done; its answer was lost
    } else if (p.epoch < kMaxProducerEpoch) {
      p.last_epoch = p.epoch;
      ++p.epoch;
    } else {
      p = NamedProducer{next_id++, 0, std::nullopt};
    }
    out = {p.id, p.epoch};
  }
  KEEL_RETURN_IF_ERROR(SaveProducerIds(next_id, named));
  next_producer_id_ = next_id;
  named_ = std::move(named);
  if (!name.empty()) named_epochs_[out.id] = out.epoch;
  return out;
}

std::optional<uint32_t> MetadataStore::NamedProducerEpoch(uint64_t producer_id) const {
  std::shared_lock lock(producers_mu_);
  auto it = named_epochs_.find(producer_id);
  if (it == named_epochs_.end()) return std::nullopt;
  return it->second;
}

// ---------------------------------------------------------------------------------------------
// Partition records.
// ---------------------------------------------------------------------------------------------

absl::StatusOr<std::optional<PartitionRecord>> MetadataStore::LoadPartition(
    std::string_view topic, uint32_t partition) const {
  const std::string path = base::Cat(PartitionsDir(), "/", topic, "-", partition);
  absl::StatusOr<std::string> contents = wal::ReadFileChecked(ctx_.fs(), path);
  if (absl::IsNotFound(contents.status())) return std::nullopt;
  KEEL_RETURN_IF_ERROR(contents.status());
  base::Reader in(*contents);
  PartitionRecord record;
  auto read = [&]() -> absl::Status {
    KEEL_RETURN_IF_ERROR(ExpectVersion(in, kPartitionVersion));
    KEEL_ASSIGN_OR_RETURN(const uint32_t leader, in.ReadVarint32());  // 0: none, else broker + 1
    if (leader > 0) record.leader = leader - 1;
    KEEL_ASSIGN_OR_RETURN(record.leader_epoch, in.ReadVarint64());
    KEEL_ASSIGN_OR_RETURN(const uint32_t count, in.ReadVarint32());
    if (count > ctx_.options().brokers) {
      return absl::DataLossError(base::Cat("an ISR of ", count, " brokers"));
    }
    for (uint32_t i = 0; i < count; ++i) {
      KEEL_ASSIGN_OR_RETURN(const uint32_t b, in.ReadVarint32());
      if (b >= ctx_.options().brokers) return absl::DataLossError(base::Cat("ISR broker ", b));
      record.isr.push_back(b);
    }
    return in.ExpectEnd();
  };
  KEEL_RETURN_IF_ERROR(InFile(read(), path));
  return record;
}

absl::Status MetadataStore::SavePartition(std::string_view topic, uint32_t partition,
                                          const PartitionRecord& record) const {
  std::string out;
  base::PutVarint32(out, kPartitionVersion);
  base::PutVarint32(out, record.leader ? *record.leader + 1 : 0);
  base::PutVarint64(out, record.leader_epoch);
  base::PutVarint32(out, static_cast<uint32_t>(record.isr.size()));
  for (const uint32_t b : record.isr) base::PutVarint32(out, b);
  return wal::WriteFileAtomically(ctx_.fs(), PartitionsDir(), base::Cat(topic, "-", partition),
                                  out);
}

}  // namespace keel::mq::internal
