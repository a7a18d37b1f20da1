// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// LinkProxy: the network between a raft_kv cluster's replicas, as loopback TCP proxies that can
// be cut, so that the demo and the tests can partition a replica that keeps running (a frozen
// process is a different fault: it does not campaign, so it cannot show what pre-vote is for).
//
// keel's Raft transport (keel/raft/transport.h) sends a peer's frames over a connection it dials
// itself; the peer never writes back on it, and answers over the connection it dials in turn.
// So what node i says to node j travels on connections i dials, and the proxy has a listener per
// directed link i -> j: node i's --cluster flag names that listener as j's address, and each
// connection it accepts is forwarded to j's real peer port. Cutting a node cuts every link into
// and out of it, which silences both halves of each of its conversations.
//
// A cut link behaves as a network that lost its route. The connections it carried are closed
// (their senders see them fail, and dial again after a backoff); the connections made while it
// is cut are accepted and black-holed: bytes go in, nothing comes out and no error is reported,
// as on a partitioned network before TCP gives up. Healing closes the black-holed connections,
// so that their senders dial again through the mended link and start a fresh stream.
//
// One thread, on Boost.Asio, runs every link. Methods may be called from any thread but that
// one.
//
// Example:
//
//   auto proxy = LinkProxy::Start({{.from = 0, .to = 1, .target_port = 7101},
//                                  {.from = 1, .to = 0, .target_port = 7100}});
//   uint16_t port = (*proxy)->port(0, 1);  // node 0 dials it to reach node 1
//   (*proxy)->Isolate(0);                  // node 0 and node 1 no longer hear each other
//   (*proxy)->Heal();
#ifndef KEEL_EXAMPLES_RAFT_KV_LINK_PROXY_H_
#define KEEL_EXAMPLES_RAFT_KV_LINK_PROXY_H_

#include <cstdint>
#include <memory>
#include <vector>

#include "absl/status/statusor.h"

namespace keel::examples::raft_kv {

// The link from node `from` to node `to`, whose peer port is `target_port` on 127.0.0.1.
struct LinkSpec {
  int from = 0;
  int to = 0;
  uint16_t target_port = 0;
};

class LinkProxy {
 public:
  // Listens for every link (on a loopback port the system picks) and starts the thread. Errors:
  // kInvalidArgument for a link given twice or from a node to itself, kUnavailable when a port
  // cannot be listened on.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<LinkProxy>> Start(
      const std::vector<LinkSpec>& links);
  ~LinkProxy();  // Stop()
  LinkProxy(const LinkProxy&) = delete;
  LinkProxy& operator=(const LinkProxy&) = delete;

  // The port node `from` dials to reach node `to`; 0 when there is no such link.
  [[nodiscard]] uint16_t port(int from, int to) const;

  // Cuts every link from or to `node` (see above); the cut is made when this returns.
  void Isolate(int node);
  // Mends every link.
  void Heal();

  // Bytes that went into black-holed connections, since Start.
  [[nodiscard]] uint64_t blackholed_bytes() const;

  // Closes every connection and listener and joins the thread. Idempotent.
  void Stop();

  struct Impl;

 private:
  explicit LinkProxy(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace keel::examples::raft_kv

#endif  // KEEL_EXAMPLES_RAFT_KV_LINK_PROXY_H_
