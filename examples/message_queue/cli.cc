// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// message_queue produce and consume: scriptable commands over a data directory.
//
// One process at a time owns the directory (its LOCK file), as one broker owns its logs. So that
// a `consume --follow` and a long-running `produce` can take turns, produce lets go of the
// directory whenever its input goes quiet, and consume --follow opens it only to poll.
#include "common/cli.h"

#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "keel/base/status.h"
#include "keel/base/strings.h"
#include "keel/mq/consumer.h"
#include "keel/mq/producer.h"
#include "tool.h"

namespace keel::examples {
namespace {

std::atomic<bool> stop_requested{false};

void RequestStop(int) { stop_requested.store(true); }

void Fail(const char* command, const absl::Status& status) {
  std::fprintf(stderr, "message_queue %s: %s\n", command, std::string(status.message()).c_str());
}

// Flags both commands share.
void AddCommon(Flags& flags) {
  flags.Add("dir", "", "the data directory (created if missing)");
  flags.Add("topic", "", "the topic");
  flags.Add("brokers", "3", "brokers of a new data directory (fixed once created)");
  flags.Add("wait-ms", "30000",
            "how long to wait for the directory while another process has it open");
}

bool RequireFlags(const Flags& flags, const char* command,
                  std::initializer_list<const char*> names) {
  for (const char* name : names) {
    if (flags.Get(name).empty()) {
      std::fprintf(stderr, "message_queue %s: --%s is required (see --help)\n", command, name);
      return false;
    }
  }
  return true;
}

// The longest time a flag may give: a year, far from overflowing int64_t once in nanoseconds and
// added to a clock reading.
constexpr int64_t kMaxFlagMs = int64_t{365} * 24 * 60 * 60 * 1000;

// The value of the millisecond flag `name`, which must be from `min` to kMaxFlagMs; otherwise
// prints why and returns nullopt.
std::optional<int64_t> GetMillis(const Flags& flags, const char* command, const char* name,
                                 int64_t min) {
  const int64_t ms = flags.GetInt(name);
  if (ms < min || ms > kMaxFlagMs) {
    std::fprintf(stderr, "message_queue %s: --%s %lld is out of range: want %lld to %lld ms\n",
                 command, name, static_cast<long long>(ms), static_cast<long long>(min),
                 static_cast<long long>(kMaxFlagMs));
    return std::nullopt;
  }
  return ms;
}

// A topic name a user may give: one the cluster accepts for a topic of its own, so not one of
// the cluster's internal "__" topics (whose records are not a user's messages). Checked before
// the directory is opened, so that consume --follow does not wait for a topic that cannot exist.
bool CheckTopic(const char* command, const std::string& topic) {
  absl::Status status = mq::CheckTopicName(topic);
  if (status.ok() && topic.starts_with("__")) {
    status = absl::InvalidArgumentError(
        base::Cat("topic ", base::Quoted(topic),
                  " is internal: names starting \"__\" are the cluster's own"));
  }
  if (!status.ok()) {
    Fail(command, status);
    return false;
  }
  return true;
}

// Whether everything printed so far reached standard output; prints why not.
bool OutputWritten(const char* command) {
  if (std::fflush(stdout) == 0 && !std::ferror(stdout)) return true;
  const int error = errno;
  std::fprintf(stderr, "message_queue %s: cannot write to standard output: %s\n", command,
               std::strerror(error));
  return false;
}

mq::ClusterOptions Options(const Flags& flags, bool background) {
  mq::ClusterOptions o;
  o.brokers = static_cast<uint32_t>(flags.GetInt("brokers"));
  o.background = background;
  return o;
}

// ---------------------------------------------------------------------------------------------
// produce
// ---------------------------------------------------------------------------------------------

struct ProduceSession {
  std::unique_ptr<mq::Cluster> cluster;
  std::unique_ptr<mq::Producer> producer;

  // Sends what is queued and lets go of the directory.
  absl::Status Close() {
    producer.reset();  // flushes
    absl::Status status;
    if (cluster != nullptr) status = cluster->Close();
    cluster.reset();
    std::fflush(stdout);
    return status;
  }
};

}  // namespace

int Produce(int argc, char** argv) {
  Flags flags("message_queue produce",
              "sends one message per line of standard input to a topic and prints\n"
              "\"acked <partition> <offset> <payload>\" for every acknowledged message");
  AddCommon(flags);
  flags.Add("partitions", "",
            "partitions of the topic: a new topic gets this many (default 1); an existing one "
            "must have this many");
  flags.Add("acks", "all",
            "0: fire and forget (nothing is acknowledged, nothing printed); 1: the leader has "
            "it durably; all: every in-sync replica has it durably");
  flags.AddBool("key-by-line",
                "make each line its message's key, so that equal lines go to one partition "
                "(default: round-robin over the partitions)");
  flags.Add("replication", "3", "replicas of a new topic (at most --brokers)");
  flags.Add("linger-ms", "5", "how long a partial batch waits for more lines");
  int exit_code = 0;
  if (!flags.Parse(argc, argv, &exit_code)) return exit_code;
  if (!RequireFlags(flags, "produce", {"dir", "topic"})) return 2;
  if (!CheckTopic("produce", flags.Get("topic"))) return 2;
  const std::optional<int64_t> wait_ms = GetMillis(flags, "produce", "wait-ms", 0);
  const std::optional<int64_t> linger_ms = GetMillis(flags, "produce", "linger-ms", 0);
  if (!wait_ms || !linger_ms) return 2;
  const absl::StatusOr<mq::Acks> acks = mq::ParseAcks(flags.Get("acks"));
  if (!acks.ok()) {
    Fail("produce", acks.status());
    return 2;
  }
  const bool explicit_partitions = !flags.Get("partitions").empty();
  const int64_t partitions = explicit_partitions ? flags.GetInt("partitions") : 1;
  const int64_t replication = flags.GetInt("replication");
  const int64_t brokers = flags.GetInt("brokers");
  if (partitions < 1 || partitions > mq::kMaxPartitions || brokers < 1 ||
      brokers > mq::kMaxBrokers || replication < 1 || replication > brokers) {
    std::fprintf(stderr,
                 "message_queue produce: --partitions %lld, --replication %lld, --brokers %lld: "
                 "want 1 to %u partitions and 1 to --brokers (at most %u) replicas\n",
                 static_cast<long long>(partitions), static_cast<long long>(replication),
                 static_cast<long long>(brokers), mq::kMaxPartitions, mq::kMaxBrokers);
    return 2;
  }
  const std::string dir = flags.Get("dir");
  const std::string topic = flags.Get("topic");
  const mq::ClusterOptions cluster_options = Options(flags, /*background=*/true);
  mq::ProducerOptions producer_options;
  producer_options.acks = *acks;
  producer_options.idempotent = *acks != mq::Acks::kNone;  // retries append once
  producer_options.linger_ns = *linger_ms * base::kNanosPerMilli;

  std::mutex out_mu;
  std::atomic<int> failures{0};
  ProduceSession session;
  uint32_t topic_partitions = 1;
  uint64_t next_partition = 0;
  // Opens the directory (creating or checking the topic) and a producer on it.
  auto open = [&]() -> absl::Status {
    KEEL_ASSIGN_OR_RETURN(session.cluster, OpenWaiting(dir, cluster_options, *wait_ms));
    const absl::StatusOr<mq::TopicConfig> existing = session.cluster->GetTopic(topic);
    if (absl::IsNotFound(existing.status())) {
      mq::TopicConfig config;
      config.partitions = static_cast<uint32_t>(partitions);
      config.replication_factor = static_cast<uint32_t>(replication);
      KEEL_RETURN_IF_ERROR(session.cluster->CreateTopic(topic, config));
    } else {
      KEEL_RETURN_IF_ERROR(existing.status());
      if (explicit_partitions && existing->partitions != partitions) {
        return absl::FailedPreconditionError(base::Cat(
            "topic ", topic, " has ", existing->partitions, " partitions, not ", partitions));
      }
    }
    KEEL_ASSIGN_OR_RETURN(const mq::TopicConfig config, session.cluster->GetTopic(topic));
    topic_partitions = config.partitions;
    KEEL_ASSIGN_OR_RETURN(session.producer,
                          mq::Producer::Create(*session.cluster, producer_options));
    return absl::OkStatus();
  };
  auto send = [&](std::string line, uint64_t line_number) {
    mq::Message m;
    if (flags.GetBool("key-by-line")) m.key = line;
    m.value = line;
    // Round-robin is kept here rather than in the producer, which is replaced whenever the
    // input pauses.
    const uint32_t partition = flags.GetBool("key-by-line")
                                   ? mq::Producer::PartitionForKey(m.key, topic_partitions)
                                   : static_cast<uint32_t>(next_partition++ % topic_partitions);
    const absl::Status sent = session.producer->SendTo(
        topic, partition, std::move(m),
        [&, line_number, payload = std::move(line)](const absl::StatusOr<mq::Ack>& ack) {
          std::lock_guard lock(out_mu);
          if (!ack.ok()) {
            ++failures;
            std::fprintf(stderr, "message_queue produce: line %llu not acknowledged: %s\n",
                         static_cast<unsigned long long>(line_number),
                         std::string(ack.status().message()).c_str());
          } else if (ack->offset) {
            std::printf("acked %u %llu ", ack->partition,
                        static_cast<unsigned long long>(*ack->offset));
            std::fwrite(payload.data(), 1, payload.size(), stdout);
            std::fputc('\n', stdout);
          }
        });
    if (!sent.ok()) {
      ++failures;
      std::fprintf(stderr, "message_queue produce: line %llu: %s\n",
                   static_cast<unsigned long long>(line_number),
                   std::string(sent.message()).c_str());
    }
  };

  // Read standard input in blocks, cutting lines; while the input is quiet, let go of the
  // directory so that other processes (a consume --follow) can use it.
  std::string pending;
  uint64_t line_number = 0;
  char buffer[1 << 16];
  for (;;) {
    if (session.cluster != nullptr) {
      pollfd in{STDIN_FILENO, POLLIN, 0};
      const int ready = ::poll(&in, 1, 100);
      if (ready == 0) {
        const absl::Status closed = session.Close();
        if (!closed.ok()) {
          Fail("produce", closed);
          return 1;
        }
        continue;
      }
    }
    const ssize_t n = ::read(STDIN_FILENO, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      std::fprintf(stderr, "message_queue produce: cannot read standard input: %s\n",
                   std::strerror(errno));
      (void)session.Close();
      return 1;
    }
    if (n == 0) break;
    if (session.cluster == nullptr) {
      const absl::Status opened = open();
      if (!opened.ok()) {
        Fail("produce", opened);
        return 1;
      }
    }
    pending.append(buffer, static_cast<size_t>(n));
    size_t start = 0;
    for (size_t newline; (newline = pending.find('\n', start)) != std::string::npos;
         start = newline + 1) {
      send(pending.substr(start, newline - start), ++line_number);
    }
    pending.erase(0, start);
  }
  if (!pending.empty()) {  // a last line without its newline
    if (session.cluster == nullptr) {
      const absl::Status opened = open();
      if (!opened.ok()) {
        Fail("produce", opened);
        return 1;
      }
    }
    send(std::move(pending), ++line_number);
  }
  if (session.cluster == nullptr && line_number == 0) {
    // No input at all: still create the topic, so that consumers can subscribe.
    const absl::Status opened = open();
    if (!opened.ok()) {
      Fail("produce", opened);
      return 1;
    }
  }
  const absl::Status closed = session.Close();
  if (!closed.ok()) {
    Fail("produce", closed);
    return 1;
  }
  // The acknowledgements are the contract: if some were not written out, a script reading them
  // would take those messages for lost, so fail rather than exit 0 with them missing.
  if (!OutputWritten("produce")) return 1;
  return failures.load() == 0 ? 0 : 1;
}

// ---------------------------------------------------------------------------------------------
// consume
// ---------------------------------------------------------------------------------------------

int Consume(int argc, char** argv) {
  Flags flags("message_queue consume",
              "prints \"<partition> <offset> <payload>\" for every message of a topic up to the\n"
              "current end of the log, as a member of a consumer group, and commits the group's\n"
              "offsets, so that the next run continues where this one stopped");
  AddCommon(flags);
  flags.Add("group", "", "the consumer group");
  flags.AddBool("from-beginning",
                "if the group has no committed offset in a partition, start at its oldest "
                "message (default: at its end, printing only what is produced from now on)");
  flags.Add("max", "0", "stop after this many messages (0: no limit)");
  flags.AddBool("follow", "keep waiting for new messages until interrupted");
  flags.Add("poll-ms", "200", "with --follow, how often to look for new messages");
  int exit_code = 0;
  if (!flags.Parse(argc, argv, &exit_code)) return exit_code;
  if (!RequireFlags(flags, "consume", {"dir", "topic", "group"})) return 2;
  if (!CheckTopic("consume", flags.Get("topic"))) return 2;
  const std::optional<int64_t> wait_ms = GetMillis(flags, "consume", "wait-ms", 0);
  const std::optional<int64_t> poll_ms = GetMillis(flags, "consume", "poll-ms", 1);
  if (!wait_ms || !poll_ms) return 2;
  const int64_t max = flags.GetInt("max");
  if (max < 0 || flags.GetInt("brokers") < 1 || flags.GetInt("brokers") > mq::kMaxBrokers) {
    std::fprintf(stderr, "message_queue consume: want --max >= 0 and 1 to %u brokers\n",
                 mq::kMaxBrokers);
    return 2;
  }
  const bool follow = flags.GetBool("follow");
  if (follow) {
    ::signal(SIGINT, RequestStop);
    ::signal(SIGTERM, RequestStop);
  }
  mq::ConsumerOptions consumer_options;
  consumer_options.group = flags.Get("group");
  consumer_options.topics = {flags.Get("topic")};
  consumer_options.member_id = "message_queue-consume";
  consumer_options.reset =
      flags.GetBool("from-beginning") ? mq::OffsetReset::kEarliest : mq::OffsetReset::kLatest;
  // Without background threads: opening catches every replica up, so the whole log is committed,
  // and one maintenance round delivers delayed messages that are due.
  const mq::ClusterOptions cluster_options = Options(flags, /*background=*/false);

  int64_t printed = 0;
  for (;;) {
    absl::StatusOr<std::unique_ptr<mq::Cluster>> cluster =
        OpenWaiting(flags.Get("dir"), cluster_options, *wait_ms);
    if (!cluster.ok()) {
      Fail("consume", cluster.status());
      return 1;
    }
    absl::Status status = (*cluster)->Tick();
    std::unique_ptr<mq::Consumer> consumer;
    absl::StatusOr<std::unique_ptr<mq::Consumer>> joined =
        mq::Consumer::Join(**cluster, consumer_options);
    if (joined.ok()) {
      consumer = std::move(*joined);
    } else if (!follow || !absl::IsNotFound(joined.status())) {
      Fail("consume", joined.status());
      return 1;
    } else {
      // The topic does not exist yet: wait for it. Whatever it will hold is produced after this
      // run began, and a producer may create it and write to it between two polls, so once it
      // appears read it from its first message, with or without --from-beginning.
      consumer_options.reset = mq::OffsetReset::kEarliest;
    }
    bool done = false;
    while (status.ok() && consumer != nullptr) {
      const uint32_t budget =
          max > 0 ? static_cast<uint32_t>(std::min<int64_t>(500, max - printed)) : 500;
      absl::StatusOr<std::vector<mq::ConsumedMessage>> got = consumer->Poll(budget);
      if (!got.ok()) {
        status = got.status();
        break;
      }
      for (const mq::ConsumedMessage& m : *got) {
        std::printf("%u %llu ", m.partition, static_cast<unsigned long long>(m.offset));
        std::fwrite(m.message.value.data(), 1, m.message.value.size(), stdout);
        std::fputc('\n', stdout);
      }
      printed += static_cast<int64_t>(got->size());
      // Printed, so processed: commit (at least once: a crash before this prints them again).
      // Output that did not reach standard output was not processed: leave the group without
      // committing (the consumer's destructor does), so that the next run prints it again.
      if (!OutputWritten("consume")) {
        consumer.reset();
        (void)(*cluster)->Close();
        return 1;
      }
      status = consumer->Commit();
      if (max > 0 && printed >= max) done = true;
      if (got->empty() || done) break;
    }
    if (consumer != nullptr) status.Update(consumer->Close());
    status.Update((*cluster)->Close());
    if (!status.ok()) {
      Fail("consume", status);
      return 1;
    }
    if (!follow || done) return 0;
    for (int64_t waited = 0; waited < *poll_ms && !stop_requested.load(); waited += 10) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    if (stop_requested.load()) return 0;
  }
}

}  // namespace keel::examples
