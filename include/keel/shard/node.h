// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// What the sharding schemes place keys on: nodes (servers, shards, data nodes, buckets), named by
// a number, and the failure domains (zones, racks) they sit in.
//
// Every scheme in keel/shard answers "which node owns this key?" for keys that are byte strings.
// A node is a NodeId the caller chooses (an index into its own table of servers, say), and the
// placement depends only on the ids and the key bytes, never on the order nodes were added in or
// on the process: two clients that know the same membership route every key the same way. A
// ZoneId groups nodes that fail together, so that replicas can be spread across zones.
//
// Example:
//
//   keel::shard::HashRing ring;
//   KEEL_RETURN_IF_ERROR(ring.AddNode({.id = 7, .zone = 1}));
#ifndef KEEL_SHARD_NODE_H_
#define KEEL_SHARD_NODE_H_

#include <cstdint>

namespace keel::shard {

// A node, as the caller numbers it.
using NodeId = uint32_t;

// A failure domain: a zone, a rack, a power feed. Nodes with the same ZoneId may fail together.
using ZoneId = uint32_t;

}  // namespace keel::shard

#endif  // KEEL_SHARD_NODE_H_
