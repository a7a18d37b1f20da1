// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// The small functions of keel/raft/types.h: names, which messages answer others, which may leave
// before a Ready is persisted, and the helpers on ConfState and Snapshot.
#include "keel/raft/types.h"

#include <memory>
#include <set>
#include <string>

#include "doctest/doctest.h"

namespace keel::raft {
namespace {

TEST_CASE("every message type has its own name and unknown values say so") {
  std::set<std::string_view> names;
  for (int type = 0; type < kMessageTypeCount; ++type) {
    const std::string_view name = MessageTypeName(static_cast<MessageType>(type));
    CHECK(name != "Unknown");
    names.insert(name);
  }
  CHECK(names.size() == static_cast<size_t>(kMessageTypeCount));
  CHECK(MessageTypeName(static_cast<MessageType>(kMessageTypeCount)) == "Unknown");
  CHECK(RoleName(Role::kFollower) == "follower");
  CHECK(RoleName(Role::kPreCandidate) == "pre-candidate");
  CHECK(RoleName(Role::kCandidate) == "candidate");
  CHECK(RoleName(Role::kLeader) == "leader");
}

TEST_CASE("responses are exactly the types whose names end in Response") {
  for (int value = 0; value < kMessageTypeCount; ++value) {
    const auto type = static_cast<MessageType>(value);
    const std::string_view name = MessageTypeName(type);
    const bool named_response = name.size() > 8 && name.substr(name.size() - 8) == "Response";
    CAPTURE(name);
    CHECK(IsResponse(type) == named_response);
  }
}

TEST_CASE("only a leader's appends heartbeats and snapshot chunks may leave before the write") {
  for (int value = 0; value < kMessageTypeCount; ++value) {
    const auto type = static_cast<MessageType>(value);
    CAPTURE(MessageTypeName(type));
    CHECK(MaySendBeforePersist(type) ==
          (type == MessageType::kAppend || type == MessageType::kHeartbeat ||
           type == MessageType::kSnapshot));
  }
}

TEST_CASE("a configuration is joint while it has outgoing voters") {
  ConfState conf;
  conf.voters = {0, 1, 2};
  CHECK_FALSE(conf.joint());
  conf.voters_outgoing = {0, 1};
  CHECK(conf.joint());
  ConfChange leave;
  CHECK(leave.leaves_joint());
  leave.changes.push_back({ConfChangeType::kAddVoter, 3});
  CHECK_FALSE(leave.leaves_joint());
}

TEST_CASE("a snapshot without data has empty bytes and one with data shares it") {
  Snapshot empty;
  CHECK(empty.bytes().empty());
  Snapshot full;
  full.data = std::make_shared<const std::string>("state");
  const Snapshot copy = full;
  CHECK(copy.bytes() == "state");
  CHECK(copy.bytes().data() == full.bytes().data());
}

}  // namespace
}  // namespace keel::raft
