// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// message_queue demo: the case study's story, told by a running cluster.
//
// Three brokers in one process, real time and real files (a temporary directory). Each step
// prints what a reader of the chapter would look for: partition leaders and ISRs, what each acks
// level costs, a consumer group rebalancing as members come and go, a broker crash and its
// catch-up, a consumer resuming from its committed offsets, the retry and dead-letter topics,
// delayed messages, an idempotent producer's retry appended once and its zombie fenced. The
// cluster's own events (elections, ISR changes, rebalances, deliveries) are printed as they happen,
// with the time since the start. Every step checks its outcome; the program exits non-zero if one
// fails.
#include <stdlib.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_format.h"
#include "common/cli.h"
#include "keel/mq/consumer.h"
#include "keel/mq/producer.h"
#include "tool.h"

namespace keel::examples {
namespace {

using Clock = std::chrono::steady_clock;

class Story {
 public:
  Story(std::string dir, bool short_run) : dir_(std::move(dir)), short_(short_run) {}

  int Run();

 private:
  // Narration.
  void Step(const std::string& title) {
    Events();
    std::printf("\n== %s ==\n", title.c_str());
  }
  void Say(const std::string& line) {
    Events();
    std::printf("%s\n", line.c_str());
  }
  // The cluster's events since the last call, stamped with the time since the start.
  void Events() {
    if (cluster_ == nullptr) return;
    for (const mq::Cluster::Event& e : cluster_->TakeEvents()) {
      if (e.text.find("__delayed") != std::string::npos &&
          e.text.find("delivered") == std::string::npos) {
        continue;  // the delay queue's own partition: housekeeping
      }
      std::printf("  %7.0f ms  %s\n", static_cast<double>(e.time_ns - start_ns_) / 1e6,
                  e.text.c_str());
    }
    std::fflush(stdout);
  }
  double Elapsed() const {
    return static_cast<double>(base::SystemClock::Default().NowNanos() - start_ns_) / 1e6;
  }
  void Check(bool ok, const std::string& what) {
    if (!ok) {
      std::printf("  CHECK FAILED: %s\n", what.c_str());
      ++failures_;
    }
  }
  bool Must(const absl::Status& status, const std::string& what) {
    if (!status.ok()) {
      std::printf("  FAILED: %s: %s\n", what.c_str(), std::string(status.message()).c_str());
      ++failures_;
    }
    return status.ok();
  }
  // Waits (up to a few seconds) for `done`, ticking nothing: the cluster's threads do the work.
  template <typename F>
  bool WaitFor(F done) {
    for (int i = 0; i < 500; ++i) {
      if (done()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return done();
  }

  void PrintPartitions(const std::string& topic, uint32_t partitions);
  bool InSync(const std::string& topic, uint32_t partitions);
  void Acks();
  void Rebalancing();
  void BrokerCrash();
  void Restart();
  void RetryAndDeadLetter();
  void Delayed();
  void Idempotence();

  const std::string dir_;
  const bool short_;
  // The cluster stamps its events with the system clock; so does the narration.
  const int64_t start_ns_ = base::SystemClock::Default().NowNanos();
  std::unique_ptr<mq::Cluster> cluster_;
  int failures_ = 0;
  // What the billing group has processed, and its last member, for the restart step.
  std::map<std::string, int> processed_;
  std::unique_ptr<mq::Consumer> alice_;
};

int Story::Run() {
  mq::ClusterOptions o;
  o.brokers = 3;
  // Short timeouts, so that the story takes seconds.
  o.replica_lag_max_ns = 300 * base::kNanosPerMilli;
  o.session_timeout_ns = 400 * base::kNanosPerMilli;
  o.request_timeout_ns = 5 * base::kNanosPerSecond;
  o.segment_bytes = 4 << 20;
  std::printf("A Kafka-style message queue (keel::mq): 3 brokers in this process, data in %s\n",
              dir_.c_str());
  absl::StatusOr<std::unique_ptr<mq::Cluster>> cluster = mq::Cluster::Open(dir_, o);
  if (!Must(cluster.status(), "open the cluster")) return 1;
  cluster_ = std::move(*cluster);

  Step("1. Topics, partitions and replicas");
  Must(cluster_->CreateTopic("orders", {.partitions = 3, .replication_factor = 3}),
       "create orders");
  Say("Topic \"orders\": 3 partitions, each copied to 3 brokers. The leader takes the writes; the\n"
      "followers copy its log; the in-sync replicas (ISR) are those keeping up.");
  PrintPartitions("orders", 3);

  Acks();
  Rebalancing();
  BrokerCrash();
  Restart();
  RetryAndDeadLetter();
  Delayed();
  Idempotence();

  Step("Done");
  Must(cluster_->Close(), "close the cluster");
  Events();
  if (failures_ > 0) {
    std::printf("%d checks FAILED\n", failures_);
    return 1;
  }
  std::printf("Every step checked out.\n");
  return 0;
}

void Story::PrintPartitions(const std::string& topic, uint32_t partitions) {
  std::printf("  %-12s %-7s %-10s %-10s %s\n", "partition", "leader", "replicas", "ISR",
              "high watermark / log end");
  for (uint32_t p = 0; p < partitions; ++p) {
    const absl::StatusOr<mq::PartitionState> s = cluster_->DescribePartition(topic, p);
    if (!Must(s.status(), "describe a partition")) return;
    std::string replicas, isr;
    for (const mq::ReplicaState& r : s->replicas) {
      replicas += absl::StrFormat("%s%u%s", replicas.empty() ? "" : ",", r.broker, r.up ? "" : "!");
      if (r.in_sync) isr += absl::StrFormat("%s%u", isr.empty() ? "" : ",", r.broker);
    }
    std::printf("  %-12s %-7s %-10s %-10s %llu / %llu\n",
                absl::StrFormat("%s-%u", topic, p).c_str(),
                s->leader ? absl::StrFormat("%u", *s->leader).c_str() : "none", replicas.c_str(),
                isr.c_str(), static_cast<unsigned long long>(s->high_watermark),
                static_cast<unsigned long long>(s->log_end));
  }
  std::printf("  (a broker marked ! is down)\n");
}

bool Story::InSync(const std::string& topic, uint32_t partitions) {
  for (uint32_t p = 0; p < partitions; ++p) {
    const absl::StatusOr<mq::PartitionState> s = cluster_->DescribePartition(topic, p);
    if (!s.ok()) return false;
    for (const mq::ReplicaState& r : s->replicas) {
      if (!r.up || !r.in_sync || r.log_end != s->log_end) return false;
    }
  }
  return true;
}

// Each acks level, one message at a time, so that the latency is the level's own.
void Story::Acks() {
  Step("2. What each acks level costs");
  Say("One producer sends 100-byte messages one at a time (no batching) to orders-0:");
  const int n = short_ ? 100 : 1000;
  std::printf("  %-5s %9s %12s %12s   %s\n", "acks", "messages", "p50", "p99", "guarantee");
  const std::map<mq::Acks, const char*> meaning = {
      {mq::Acks::kNone, "none: fire and forget (at most once)"},
      {mq::Acks::kLeader, "the leader has it durably"},
      {mq::Acks::kAll, "every in-sync replica has it durably"}};
  for (const mq::Acks acks : {mq::Acks::kNone, mq::Acks::kLeader, mq::Acks::kAll}) {
    std::vector<double> latencies_us;
    mq::Message m;
    m.value = std::string(100, 'x');
    for (int i = 0; i < n; ++i) {
      const auto t0 = Clock::now();
      const absl::StatusOr<mq::ProduceResult> r = cluster_->Produce("orders", 0, {&m, 1}, acks);
      latencies_us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
      if (!Must(r.status(), "produce")) return;
    }
    const double p50 = Percentile(latencies_us, 50), p99 = Percentile(latencies_us, 99);
    std::printf("  %-5s %9d %9.0f us %9.0f us   %s\n", std::string(mq::AcksName(acks)).c_str(), n,
                p50, p99, meaning.at(acks));
  }
  Say("acks=0 does not wait for the disk at all; acks=1 waits for the leader's fsync; acks=all\n"
      "also for both followers to copy and fsync. Batching (keel::mq::Producer) shares each\n"
      "fsync among many messages:");
  mq::ProducerOptions po;
  po.acks = mq::Acks::kAll;
  po.linger_ns = 2 * base::kNanosPerMilli;
  const int batched = short_ ? 2000 : 20000;
  const auto t0 = Clock::now();
  {
    absl::StatusOr<std::unique_ptr<mq::Producer>> producer = mq::Producer::Create(*cluster_, po);
    if (!Must(producer.status(), "create a producer")) return;
    for (int i = 0; i < batched; ++i) {
      mq::Message m;
      m.key = absl::StrFormat("customer-%d", i % 100);
      m.value = std::string(100, 'y');
      if (!Must((*producer)->Send("orders", std::move(m)), "send")) return;
    }
    (*producer)->Flush();
  }
  const double seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  std::printf("  acks=all, batched: %d messages in %.2f s = %s messages/s\n", batched, seconds,
              Human(batched / seconds).c_str());
  Check(WaitFor([&] { return InSync("orders", 3); }), "the followers caught up");
  PrintPartitions("orders", 3);
}

void Story::Rebalancing() {
  Step("3. A consumer group shares the partitions and rebalances");
  Say("Group \"billing\" reads \"orders\"; each partition goes to one member (range assignment).");
  auto join = [&](const std::string& id) -> std::unique_ptr<mq::Consumer> {
    mq::ConsumerOptions co;
    co.group = "billing";
    co.member_id = id;
    co.topics = {"orders"};
    co.reset = mq::OffsetReset::kEarliest;
    co.max_poll_messages = 200;
    absl::StatusOr<std::unique_ptr<mq::Consumer>> c = mq::Consumer::Join(*cluster_, co);
    Must(c.status(), "join " + id);
    return c.ok() ? std::move(*c) : nullptr;
  };
  // Members poll, process (count) and commit, like a real consumer's loop.
  auto work = [&](std::vector<std::unique_ptr<mq::Consumer>*> members, int polls) {
    for (int i = 0; i < polls; ++i) {
      for (auto* member : members) {
        if (*member == nullptr) continue;
        const absl::StatusOr<std::vector<mq::ConsumedMessage>> got = (*member)->Poll();
        if (!Must(got.status(), "poll")) return;
        processed_[(*member)->member_id()] += static_cast<int>(got->size());
        Must((*member)->Commit(), "commit");
      }
    }
  };
  auto alice = join("alice");
  work({&alice}, 2);
  Events();
  auto bob = join("bob");
  work({&alice, &bob}, 2);
  Events();
  auto carol = join("carol");
  work({&alice, &bob, &carol}, 2);
  Say("carol leaves the group:");
  Must(carol->Close(), "carol leaves");
  carol.reset();
  work({&alice, &bob}, 2);
  Say("bob stops sending heartbeats (a stuck process); after the 400 ms session timeout:");
  const auto silent_since = Clock::now();
  Check(WaitFor([&] {
          work({&alice}, 1);  // alice keeps polling, and so heartbeating
          const absl::StatusOr<mq::GroupState> g = cluster_->DescribeGroup("billing");
          return g.ok() && g->members.size() == 1;
        }),
        "bob's session expired");
  Events();
  std::printf("  bob was removed after %.0f ms\n",
              std::chrono::duration<double, std::milli>(Clock::now() - silent_since).count());
  bob.reset();  // its destructor's leave finds it gone already
  work({&alice}, 200);
  std::printf("  processed: alice %d, bob %d, carol %d\n", processed_["alice"], processed_["bob"],
              processed_["carol"]);
  const int total = processed_["alice"] + processed_["bob"] + processed_["carol"];
  std::printf("  total %d of the %d messages in orders (each committed once)\n", total,
              static_cast<int>(cluster_->DescribePartition("orders", 0)->high_watermark +
                               cluster_->DescribePartition("orders", 1)->high_watermark +
                               cluster_->DescribePartition("orders", 2)->high_watermark));
  alice_ = std::move(alice);
}

void Story::BrokerCrash() {
  Step("4. A broker crashes, the cluster carries on, and the broker catches up");
  Say("Broker 2 stops. Partitions it led elect a new leader from their ISR; it leaves every ISR,\n"
      "so acks=all waits only for the replicas still up:");
  Must(cluster_->StopBroker(2), "stop broker 2");
  Events();
  PrintPartitions("orders", 3);
  const int n = short_ ? 300 : 3000;
  {
    mq::ProducerOptions po;
    po.acks = mq::Acks::kAll;
    absl::StatusOr<std::unique_ptr<mq::Producer>> producer = mq::Producer::Create(*cluster_, po);
    if (!Must(producer.status(), "create a producer")) return;
    int acked = 0;
    for (int i = 0; i < n; ++i) {
      mq::Message m;
      m.key = absl::StrFormat("customer-%d", i % 100);
      m.value = absl::StrFormat("order placed while broker 2 was down #%d", i);
      Must((*producer)->Send("orders", std::move(m),
                             [&acked](const absl::StatusOr<mq::Ack>& ack) { acked += ack.ok(); }),
           "send");
    }
    (*producer)->Flush();
    std::printf("  %d of %d messages acknowledged with acks=all while broker 2 was down\n", acked,
                n);
    Check(acked == n, "every message acknowledged");
  }
  Say("Broker 2 starts again. Each replica asks its leader where its last leader epoch ends\n"
      "and cuts its log back to where the two agree (nothing after that was ever committed),\n"
      "copies what it missed, and rejoins the ISR:");
  const auto t0 = Clock::now();
  Must(cluster_->StartBroker(2), "start broker 2");
  Check(WaitFor([&] { return InSync("orders", 3); }), "broker 2 caught up");
  const double caught_up_ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
  Events();
  std::printf("  broker 2 was back in every ISR %.0f ms after starting\n", caught_up_ms);
  PrintPartitions("orders", 3);
}

void Story::Restart() {
  Step("5. A consumer restarts from its group's committed offsets");
  std::map<mq::TopicPartition, uint64_t> committed;
  for (uint32_t p = 0; p < 3; ++p) {
    const absl::StatusOr<std::optional<uint64_t>> offset =
        cluster_->CommittedOffset("billing", {"orders", p});
    if (Must(offset.status(), "read a committed offset") && *offset)
      committed[{"orders", p}] = **offset;
  }
  std::printf("  billing's committed offsets:");
  for (const auto& [tp, offset] : committed) {
    std::printf(" orders-%u=%llu", tp.partition, static_cast<unsigned long long>(offset));
  }
  std::printf("\n");
  Say("alice's process is replaced: alice leaves, and a new process, alice-2, joins the group:");
  alice_.reset();
  mq::ConsumerOptions co;
  co.group = "billing";
  co.member_id = "alice-2";
  co.topics = {"orders"};
  absl::StatusOr<std::unique_ptr<mq::Consumer>> again = mq::Consumer::Join(*cluster_, co);
  if (!Must(again.status(), "join alice-2")) return;
  for (const auto& [tp, position] : (*again)->positions()) {
    std::printf("  alice-2 starts orders-%u at offset %llu\n", tp.partition,
                static_cast<unsigned long long>(position));
    Check(committed.contains(tp) && committed.at(tp) == position,
          "it starts exactly at the committed offset");
  }
  int total = 0;
  for (int i = 0; i < 100; ++i) {
    const absl::StatusOr<std::vector<mq::ConsumedMessage>> got = (*again)->Poll();
    if (!Must(got.status(), "poll")) return;
    total += static_cast<int>(got->size());
    Must((*again)->Commit(), "commit");
    if (got->empty()) break;
  }
  std::printf(
      "  alice-2 processed the %d messages produced while broker 2 was down, and no "
      "others\n",
      total);
  Check(total == (short_ ? 300 : 3000), "exactly the new messages");
  Must((*again)->Close(), "alice-2 leaves");
}

void Story::RetryAndDeadLetter() {
  Step("6. Failed messages: the retry topic, then the dead-letter topic");
  Must(cluster_->CreateTopic("payments", {.partitions = 2, .replication_factor = 3}),
       "create payments");
  mq::ConsumerOptions co;
  co.group = "payment-service";
  co.member_id = "worker";
  co.topics = {"payments"};
  co.reset = mq::OffsetReset::kEarliest;
  co.retry.max_attempts = 3;
  co.retry.backoff_ns = 100 * base::kNanosPerMilli;
  absl::StatusOr<std::unique_ptr<mq::Consumer>> worker = mq::Consumer::Join(*cluster_, co);
  if (!Must(worker.status(), "join the worker")) return;
  Say("A worker charges cards; \"card 4000-0002\" is always declined. With max_attempts 3 and a\n"
      "100 ms backoff (doubling), a failure goes to payments.retry, then to payments.dlq:");
  {
    absl::StatusOr<std::unique_ptr<mq::Producer>> producer = mq::Producer::Create(*cluster_, {});
    if (!Must(producer.status(), "create a producer")) return;
    for (const char* card : {"4000-0001", "4000-0002", "4000-0003"}) {
      mq::Message m;
      m.key = card;
      m.value = absl::StrFormat("charge card %s 25.00", card);
      Must((*producer)->Send("payments", std::move(m)), "send");
    }
  }
  int declined_attempts = 0;
  for (int i = 0; i < 300 && declined_attempts < 3; ++i) {
    const absl::StatusOr<std::vector<mq::ConsumedMessage>> got = (*worker)->Poll();
    if (!Must(got.status(), "poll")) return;
    Events();
    for (const mq::ConsumedMessage& m : *got) {
      const bool declined = m.message.key == "4000-0002";
      std::printf("  %7.0f ms  %-16s attempt %u: %s -> %s\n", Elapsed(),
                  absl::StrFormat("%s-%u@%llu", m.topic, m.partition,
                                  static_cast<unsigned long long>(m.offset))
                      .c_str(),
                  m.message.attempts + 1, m.message.value.c_str(),
                  declined ? "declined" : "charged");
      if (declined) {
        ++declined_attempts;
        Must((*worker)->Retry(m), "retry");
      }
    }
    Must((*worker)->Commit(), "commit");
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  Check(declined_attempts == 3, "three attempts");
  Events();
  int dead = 0;
  for (uint32_t p = 0; p < 2; ++p) {
    const absl::StatusOr<mq::FetchResult> f = cluster_->Fetch("payments.dlq", p, 0, {});
    if (!Must(f.status(), "read the dead-letter topic")) return;
    for (const mq::FetchedMessage& m : f->messages) {
      std::printf("  in payments.dlq: \"%s\" after %u attempts, from %s\n", m.message.value.c_str(),
                  m.message.attempts, m.message.origin_topic.c_str());
      ++dead;
    }
  }
  Check(dead == 1, "one message in the dead-letter topic");
  Must((*worker)->Close(), "the worker leaves");
}

void Story::Delayed() {
  Step("7. Delayed messages");
  Must(cluster_->CreateTopic("reminders", {.partitions = 1, .replication_factor = 3}),
       "create reminders");
  mq::ConsumerOptions co;
  co.group = "notifier";
  co.member_id = "n1";
  co.topics = {"reminders"};
  co.reset = mq::OffsetReset::kEarliest;
  absl::StatusOr<std::unique_ptr<mq::Consumer>> notifier = mq::Consumer::Join(*cluster_, co);
  if (!Must(notifier.status(), "join the notifier")) return;
  const int64_t now = cluster_->clock().NowNanos();
  const auto sent = Clock::now();
  for (const int delay_ms : {600, 300}) {
    mq::Message m;
    m.value = absl::StrFormat("reminder due in %d ms", delay_ms);
    m.deliver_at_ns = now + delay_ms * base::kNanosPerMilli;
    const absl::StatusOr<mq::ProduceResult> r =
        cluster_->Produce("reminders", 0, {&m, 1}, mq::Acks::kAll);
    if (Must(r.status(), "send a delayed message")) Check(r->delayed, "held by the cluster");
  }
  Say("Two reminders sent, due in 600 ms and 300 ms; the cluster holds them in its delay queue:");
  int got_count = 0;
  for (int i = 0; i < 200 && got_count < 2; ++i) {
    const absl::StatusOr<std::vector<mq::ConsumedMessage>> got = (*notifier)->Poll();
    if (!Must(got.status(), "poll")) return;
    Events();
    for (const mq::ConsumedMessage& m : *got) {
      const double after_ms =
          std::chrono::duration<double, std::milli>(Clock::now() - sent).count();
      std::printf("  %7.0f ms  received \"%s\" %.0f ms after sending it\n", Elapsed(),
                  m.message.value.c_str(), after_ms);
      const int due_ms = got_count == 0 ? 300 : 600;
      Check(after_ms >= due_ms, "not before its time");
      ++got_count;
    }
    Must((*notifier)->Commit(), "commit");
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  Check(got_count == 2, "both delivered");
  Must((*notifier)->Close(), "the notifier leaves");
}

void Story::Idempotence() {
  Step("8. Exactly-once appends: the idempotent producer");
  Say("A producer's request times out after the broker wrote the batch, and it sends the batch\n"
      "again. With a producer id and sequence numbers the broker recognises the retry:");
  const absl::StatusOr<uint64_t> id = cluster_->NewProducerId();
  if (!Must(id.status(), "get a producer id")) return;
  std::vector<mq::Message> batch(3);
  for (uint64_t i = 0; i < 3; ++i) {
    batch[i].value = absl::StrFormat("ledger entry %d", i);
    batch[i].producer_id = *id;
    batch[i].sequence = i;
  }
  const absl::StatusOr<mq::ProduceResult> first =
      cluster_->Produce("orders", 1, batch, mq::Acks::kAll);
  const absl::StatusOr<mq::ProduceResult> retry =
      cluster_->Produce("orders", 1, batch, mq::Acks::kAll);
  if (!Must(first.status(), "send") || !Must(retry.status(), "send again")) return;
  std::printf("  first send:  offsets %llu-%llu\n",
              static_cast<unsigned long long>(first->base_offset),
              static_cast<unsigned long long>(first->base_offset + 2));
  std::printf("  retry:       duplicate=%s, the original offsets %llu-%llu, nothing appended\n",
              retry->duplicate ? "yes" : "no", static_cast<unsigned long long>(retry->base_offset),
              static_cast<unsigned long long>(retry->base_offset + 2));
  Check(retry->duplicate && retry->base_offset == first->base_offset, "the retry is dropped");
  Check(cluster_->DescribePartition("orders", 1)->log_end == first->base_offset + 3,
        "the log holds the batch once");

  Say("A producer named \"ledger\" restarts while its old process, paused, still thinks it is\n"
      "alive (a zombie). The new instance gets the name's producer id with a higher epoch, and\n"
      "the brokers refuse the old epoch from then on:");
  mq::ProducerOptions po;
  po.idempotent = true;
  po.name = "ledger";
  absl::StatusOr<std::unique_ptr<mq::Producer>> zombie = mq::Producer::Create(*cluster_, po);
  absl::StatusOr<std::unique_ptr<mq::Producer>> fresh = mq::Producer::Create(*cluster_, po);
  if (!Must(zombie.status(), "create a producer") || !Must(fresh.status(), "create it again")) {
    return;
  }
  std::printf("  zombie: producer %llu epoch %u; new instance: producer %llu epoch %u\n",
              static_cast<unsigned long long>((*zombie)->identity().id),
              (*zombie)->identity().epoch, static_cast<unsigned long long>((*fresh)->identity().id),
              (*fresh)->identity().epoch);
  absl::Status zombie_sent = absl::UnknownError("no callback");
  mq::Message m;
  m.value = "ledger entry from the zombie";
  Must((*zombie)->SendTo("orders", 1, m,
                         [&](const absl::StatusOr<mq::Ack>& ack) { zombie_sent = ack.status(); }),
       "queue the zombie's message");
  (*zombie)->Flush();
  std::printf("  the zombie's send: %s\n", std::string(zombie_sent.message()).c_str());
  Check(mq::ErrorOf(zombie_sent) == mq::Error::kProducerFenced, "the zombie is fenced");
}

}  // namespace

int Demo(int argc, char** argv) {
  Flags flags("message_queue demo",
              "a narrated run of the distributed message queue case study on a 3-broker cluster");
  flags.AddBool("short", "fewer messages, for a quick check");
  flags.Add("dir", "", "the data directory (default: a temporary one, removed at the end)");
  int exit_code = 0;
  if (!flags.Parse(argc, argv, &exit_code)) return exit_code;
  std::string dir = flags.Get("dir");
  const bool temporary = dir.empty();
  if (temporary) {
    std::string pattern = (std::filesystem::temp_directory_path() / "keel_mq_demo_XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) {
      std::perror("message_queue demo: mkdtemp");
      return 1;
    }
    dir = pattern;
  }
  int rc;
  {
    Story story(dir, flags.GetBool("short"));
    rc = story.Run();
  }
  if (temporary) std::filesystem::remove_all(dir);
  return rc;
}

}  // namespace keel::examples
