// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "producer_state.h"

#include "keel/base/coding.h"
#include "keel/base/status.h"
#include "keel/base/strings.h"
#include "keel/mq/errors.h"

namespace keel::mq::internal {
namespace {

constexpr uint32_t kVersion = 1;

}  // namespace

absl::StatusOr<std::optional<uint64_t>> ProducerStateMap::Check(const ProducerBatch& b,
                                                                std::string_view partition) const {
  auto it = producers_.find(b.producer_id);
  // A producer this replica has not seen (or has forgotten) starts anywhere.
  if (it == producers_.end()) return std::nullopt;
  const Producer& p = it->second;
  if (b.producer_epoch < p.epoch) {
    return MakeError(
        absl::StatusCode::kFailedPrecondition, Error::kProducerFenced,
        base::Cat("producer ", b.producer_id, " epoch ", b.producer_epoch, " is fenced in ",
                  partition, ": a newer instance has epoch ", p.epoch));
  }
  if (b.producer_epoch > p.epoch) {
    if (b.first_sequence == 0) return std::nullopt;
    return MakeError(absl::StatusCode::kFailedPrecondition, Error::kOutOfOrderSequence,
                     base::Cat("producer ", b.producer_id, " starts epoch ", b.producer_epoch,
                               " in ", partition, " at sequence ", b.first_sequence, ", not 0"));
  }
  for (const Run& run : p.runs) {
    if (run.first_sequence <= b.first_sequence &&
        b.first_sequence + b.count <= run.first_sequence + run.count) {
      return run.base_offset + (b.first_sequence - run.first_sequence);
    }
  }
  if (b.first_sequence == p.next_sequence) return std::nullopt;
  if (b.first_sequence < p.next_sequence) {
    return MakeError(absl::StatusCode::kAlreadyExists, Error::kDuplicateSequence,
                     base::Cat("producer ", b.producer_id, " sequence ", b.first_sequence, " in ",
                               partition, " was appended too long ago to say where (only the last ",
                               kRecentRuns, " runs are remembered)"));
  }
  return MakeError(
      absl::StatusCode::kFailedPrecondition, Error::kOutOfOrderSequence,
      base::Cat("out-of-order sequence from producer ", b.producer_id, " in ", partition, ": got ",
                b.first_sequence, ", expected ", p.next_sequence));
}

void ProducerStateMap::Apply(const MessageHeader& m, uint64_t offset, int64_t now_ns) {
  if (m.producer_id == 0) return;
  auto [it, fresh] = producers_.try_emplace(m.producer_id);
  Producer& p = it->second;
  if (fresh || m.producer_epoch != p.epoch) {
    p.epoch = m.producer_epoch;
    p.runs.clear();
  }
  if (!p.runs.empty()) {
    Run& last = p.runs.back();
    if (last.first_sequence + last.count == m.sequence && last.base_offset + last.count == offset) {
      ++last.count;
      p.next_sequence = m.sequence + 1;
      p.last_append_ns = now_ns;
      return;
    }
  }
  p.runs.push_back({m.sequence, 1, offset});
  if (p.runs.size() > kRecentRuns) p.runs.pop_front();
  p.next_sequence = m.sequence + 1;
  p.last_append_ns = now_ns;
}

size_t ProducerStateMap::Expire(int64_t before_ns) {
  return absl::erase_if(producers_,
                        [&](const auto& entry) { return entry.second.last_append_ns < before_ns; });
}

std::string ProducerStateMap::Encode(uint64_t offset) const {
  std::string out;
  base::PutVarint32(out, kVersion);
  base::PutVarint64(out, offset);
  base::PutVarint32(out, static_cast<uint32_t>(producers_.size()));
  for (const auto& [id, p] : producers_) {
    base::PutVarint64(out, id);
    base::PutVarint32(out, p.epoch);
    base::PutVarint64(out, p.next_sequence);
    base::PutVarint64(out, base::ZigZagEncode64(p.last_append_ns));
    base::PutVarint32(out, static_cast<uint32_t>(p.runs.size()));
    for (const Run& run : p.runs) {
      base::PutVarint64(out, run.first_sequence);
      base::PutVarint32(out, run.count);
      base::PutVarint64(out, run.base_offset);
    }
  }
  return out;
}

absl::StatusOr<uint64_t> ProducerStateMap::Decode(std::string_view bytes) {
  producers_.clear();
  base::Reader in(bytes);
  auto read = [&]() -> absl::StatusOr<uint64_t> {
    KEEL_ASSIGN_OR_RETURN(const uint32_t version, in.ReadVarint32());
    if (version != kVersion) {
      return absl::DataLossError(
          base::Cat("format version ", version, "; this keel reads version ", kVersion));
    }
    KEEL_ASSIGN_OR_RETURN(const uint64_t offset, in.ReadVarint64());
    KEEL_ASSIGN_OR_RETURN(const uint32_t count, in.ReadVarint32());
    for (uint32_t i = 0; i < count; ++i) {
      KEEL_ASSIGN_OR_RETURN(const uint64_t id, in.ReadVarint64());
      Producer p;
      KEEL_ASSIGN_OR_RETURN(p.epoch, in.ReadVarint32());
      KEEL_ASSIGN_OR_RETURN(p.next_sequence, in.ReadVarint64());
      KEEL_ASSIGN_OR_RETURN(p.last_append_ns, in.ReadZigZag64());
      KEEL_ASSIGN_OR_RETURN(const uint32_t runs, in.ReadVarint32());
      if (id == 0 || runs > kRecentRuns) {
        return absl::DataLossError(base::Cat("producer ", id, " with ", runs, " runs"));
      }
      for (uint32_t r = 0; r < runs; ++r) {
        Run run;
        KEEL_ASSIGN_OR_RETURN(run.first_sequence, in.ReadVarint64());
        KEEL_ASSIGN_OR_RETURN(run.count, in.ReadVarint32());
        KEEL_ASSIGN_OR_RETURN(run.base_offset, in.ReadVarint64());
        if (run.count == 0 || run.base_offset + run.count > offset) {
          return absl::DataLossError(base::Cat("producer ", id, " has a run of ", run.count,
                                               " at offset ", run.base_offset,
                                               " past the snapshot's offset ", offset));
        }
        p.runs.push_back(run);
      }
      if (!producers_.try_emplace(id, std::move(p)).second) {
        return absl::DataLossError(base::Cat("producer ", id, " appears twice"));
      }
    }
    KEEL_RETURN_IF_ERROR(in.ExpectEnd());
    return offset;
  };
  absl::StatusOr<uint64_t> offset = read();
  if (!offset.ok()) {
    producers_.clear();
    if (!absl::IsDataLoss(offset.status())) {
      return absl::DataLossError(base::Cat("producer snapshot: ", offset.status().message()));
    }
  }
  return offset;
}

}  // namespace keel::mq::internal
