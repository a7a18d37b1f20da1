// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// The message_queue tool's commands. Each takes the arguments after its name.
#ifndef KEEL_EXAMPLES_MESSAGE_QUEUE_TOOL_H_
#define KEEL_EXAMPLES_MESSAGE_QUEUE_TOOL_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "keel/mq/cluster.h"

namespace keel::examples {

int Produce(int argc, char** argv);
int Consume(int argc, char** argv);
int Demo(int argc, char** argv);

// Opens the cluster in `dir`, waiting up to `wait_ms` while another process has it open (one
// process at a time owns a data directory, as one broker owns its log directory).
absl::StatusOr<std::unique_ptr<mq::Cluster>> OpenWaiting(const std::string& dir,
                                                         const mq::ClusterOptions& options,
                                                         int64_t wait_ms);

}  // namespace keel::examples

#endif  // KEEL_EXAMPLES_MESSAGE_QUEUE_TOOL_H_
