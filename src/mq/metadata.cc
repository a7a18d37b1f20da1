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
constexpr char kLockFile[] = "LOCK";

}  // namespace

absl::StatusOr<std::unique_ptr<MetadataStore>> MetadataStore::Open(Context& ctx) {
  std::unique_ptr<MetadataStore> store(new MetadataStore(ctx));
  KEEL_RETURN_IF_ERROR(store->Load());
  return store;
}

absl::Status MetadataStore::SaveClusterFile(uint64_t next_producer_id) const {
  std::string out;
  base::PutVarint32(out, ctx_.options().brokers);
  base::PutVarint64(out, next_producer_id);
  return wal::WriteFileAtomically(ctx_.fs(), ctx_.dir(), kClusterFile, out);
}

absl::Status MetadataStore::Load() {
  const std::string& dir = ctx_.dir();
  wal::FileSystem& fs = ctx_.fs();
  absl::StatusOr<std::string> meta = wal::ReadFileChecked(fs, base::Cat(dir, "/", kClusterFile));
  if (absl::IsNotFound(meta.status())) {
    KEEL_ASSIGN_OR_RETURN(const std::vector<std::string> names, fs.List(dir));
    for (const std::string& name : names) {
      if (name != kLockFile) {
        return absl::FailedPreconditionError(
            base::Cat(base::Quoted(dir, 256), " is not a keel message queue directory: it holds ",
                      base::Quoted(name, 256), " but no ", kClusterFile, " file"));
      }
    }
    KEEL_RETURN_IF_ERROR(SaveClusterFile(next_producer_id_));
  } else {
    KEEL_RETURN_IF_ERROR(meta.status());
    base::Reader in(*meta);
    KEEL_ASSIGN_OR_RETURN(const uint32_t brokers, in.ReadVarint32());
    KEEL_ASSIGN_OR_RETURN(next_producer_id_, in.ReadVarint64());
    if (brokers != ctx_.options().brokers) {
      return absl::InvalidArgumentError(base::Cat("the cluster in ", base::Quoted(dir, 256),
                                                  " has ", brokers, " brokers, not ",
                                                  ctx_.options().brokers));
    }
  }

  absl::StatusOr<std::string> topics = wal::ReadFileChecked(fs, base::Cat(dir, "/", kTopicsFile));
  if (absl::IsNotFound(topics.status())) return absl::OkStatus();
  KEEL_RETURN_IF_ERROR(topics.status());
  base::Reader in(*topics);
  KEEL_ASSIGN_OR_RETURN(const uint32_t count, in.ReadVarint32());
  for (uint32_t t = 0; t < count; ++t) {
    KEEL_ASSIGN_OR_RETURN(const std::string_view name, in.ReadLengthPrefixed());
    TopicMetadata topic;
    KEEL_ASSIGN_OR_RETURN(topic.config.partitions, in.ReadVarint32());
    KEEL_ASSIGN_OR_RETURN(topic.config.replication_factor, in.ReadVarint32());
    KEEL_ASSIGN_OR_RETURN(topic.config.retention_bytes, in.ReadVarint64());
    KEEL_ASSIGN_OR_RETURN(topic.config.retention_ns, in.ReadZigZag64());
    for (uint32_t p = 0; p < topic.config.partitions; ++p) {
      std::vector<uint32_t> brokers(topic.config.replication_factor);
      for (uint32_t& b : brokers) {
        KEEL_ASSIGN_OR_RETURN(b, in.ReadVarint32());
        if (b >= ctx_.options().brokers) return absl::DataLossError("topics file: bad broker");
      }
      topic.placement.push_back(std::move(brokers));
    }
    topics_[std::string(name)] = std::move(topic);
  }
  return in.ExpectEnd();
}

absl::Status MetadataStore::SaveTopics(const std::map<std::string, TopicMetadata>& topics) const {
  std::string out;
  base::PutVarint32(out, static_cast<uint32_t>(topics.size()));
  for (const auto& [name, topic] : topics) {
    base::PutLengthPrefixed(out, name);
    base::PutVarint32(out, topic.config.partitions);
    base::PutVarint32(out, topic.config.replication_factor);
    base::PutVarint64(out, topic.config.retention_bytes);
    base::PutVarint64(out, base::ZigZagEncode64(topic.config.retention_ns));
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

absl::StatusOr<uint64_t> MetadataStore::NewProducerId() {
  std::lock_guard lock(producer_ids_mu_);
  KEEL_RETURN_IF_ERROR(SaveClusterFile(next_producer_id_ + 1));
  return next_producer_id_++;
}

}  // namespace keel::mq::internal
