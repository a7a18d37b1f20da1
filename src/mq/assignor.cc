// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "keel/mq/assignor.h"

#include <algorithm>
#include <set>

namespace keel::mq {

std::string_view StrategyName(AssignmentStrategy strategy) {
  return strategy == AssignmentStrategy::kRange ? "range" : "round-robin";
}

std::map<std::string, std::vector<TopicPartition>> AssignPartitions(
    AssignmentStrategy strategy, const std::vector<GroupMember>& members,
    const std::map<std::string, uint32_t>& partition_counts) {
  std::map<std::string, std::vector<TopicPartition>> out;
  // Members by id, each with its subscriptions as a set.
  std::map<std::string, std::set<std::string>> subscriptions;
  for (const GroupMember& m : members) {
    out[m.id];
    subscriptions[m.id].insert(m.topics.begin(), m.topics.end());
  }
  std::set<std::string> topics;
  for (const auto& [id, subscribed] : subscriptions)
    topics.insert(subscribed.begin(), subscribed.end());

  if (strategy == AssignmentStrategy::kRange) {
    for (const std::string& topic : topics) {
      const auto count = partition_counts.find(topic);
      if (count == partition_counts.end()) continue;
      std::vector<const std::string*> takers;
      for (const auto& [id, subscribed] : subscriptions) {
        if (subscribed.contains(topic)) takers.push_back(&id);
      }
      const uint32_t n = count->second;
      const auto m = static_cast<uint32_t>(takers.size());
      uint32_t next = 0;
      for (uint32_t i = 0; i < m; ++i) {
        const uint32_t share = n / m + (i < n % m ? 1 : 0);
        for (uint32_t k = 0; k < share; ++k) out[*takers[i]].push_back({topic, next++});
      }
    }
  } else {
    // Deal partitions in (topic, partition) order to members in id order; a member not subscribed
    // to the topic is passed over, and the deal resumes after whoever took the last one.
    std::vector<const std::string*> ring;
    for (const auto& [id, subscribed] : subscriptions) ring.push_back(&id);
    size_t turn = 0;
    for (const std::string& topic : topics) {
      const auto count = partition_counts.find(topic);
      if (count == partition_counts.end()) continue;
      for (uint32_t p = 0; p < count->second; ++p) {
        while (!subscriptions[*ring[turn % ring.size()]].contains(topic)) ++turn;
        out[*ring[turn % ring.size()]].push_back({topic, p});
        ++turn;
      }
    }
  }
  for (auto& [id, assigned] : out) std::sort(assigned.begin(), assigned.end());
  return out;
}

}  // namespace keel::mq
