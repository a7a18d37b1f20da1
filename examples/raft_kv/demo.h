// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// raft_kv demo: clusters of real raft_kv processes on loopback, narrated with a timeline. A
// 3-node cluster elects a leader, takes writes through every node, loses its leader to SIGKILL
// again and again under client load, has its leader cut off from its peers by a partition
// (proxies between the replicas drop its links while it keeps running) and healed, installs a
// snapshot on a node that fell behind (frozen with SIGSTOP), adds a member and removes one; a
// 5-node cluster loses two nodes and keeps going, loses a third and stops, and recovers. At the end
// every acknowledged write is read back from every live node.
#ifndef KEEL_EXAMPLES_RAFT_KV_DEMO_H_
#define KEEL_EXAMPLES_RAFT_KV_DEMO_H_

namespace keel::examples::raft_kv {

// argv[0] is "demo"; `self` is the raft_kv binary, which the demo runs as its replicas.
int Demo(int argc, char** argv, const char* self);

}  // namespace keel::examples::raft_kv

#endif  // KEEL_EXAMPLES_RAFT_KV_DEMO_H_
