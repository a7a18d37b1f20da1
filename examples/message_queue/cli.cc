// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// message_queue produce, consume and serve: scriptable commands over a data directory.
//
// One process at a time owns the directory (its LOCK file), as one broker owns its logs. The run
// that opens it keeps the cluster open until it ends and serves the others on a loopback port
// (access.h); a run that finds the directory owned has its produce or consume carried out by the
// owner. When the owner ends (or is killed), its clients carry on with the next owner, or open
// the directory themselves: a produce sends again every line not yet acknowledged, and a consume
// skips what it already printed, so that nothing acknowledged is lost and nothing is printed
// twice.
#include "common/cli.h"

#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "access.h"
#include "keel/base/status.h"
#include "keel/base/strings.h"
#include "tool.h"
#include "wire.h"

namespace keel::examples {
namespace {

std::atomic<bool> stop_requested{false};

void RequestStop(int) { stop_requested.store(true); }

void Fail(const char* command, const absl::Status& status) {
  std::fprintf(stderr, "message_queue %s: %s\n", command, std::string(status.message()).c_str());
}

// Flags every command shares.
void AddCommon(Flags& flags) {
  flags.Add("dir", "", "the data directory (created if missing)");
  flags.Add("brokers", "3", "brokers of a new data directory (fixed once created)");
  flags.Add("wait-ms", "30000",
            "how long to keep trying while another process has the directory open and does not "
            "serve it");
  flags.AddBool("verbose",
                "say on standard error how the directory was reached (opened, or through the "
                "process that has it open), each hand-over, and at the end how many times this "
                "run opened the cluster");
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

// The value of the millisecond flag `name`, which must be from `min` to kMaxMillis; otherwise
// prints why and returns nullopt.
std::optional<int64_t> GetMillis(const Flags& flags, const char* command, const char* name,
                                 int64_t min) {
  const int64_t ms = flags.GetInt(name);
  if (ms < min || ms > kMaxMillis) {
    std::fprintf(stderr, "message_queue %s: --%s %lld is out of range: want %lld to %lld ms\n",
                 command, name, static_cast<long long>(ms), static_cast<long long>(min),
                 static_cast<long long>(kMaxMillis));
    return std::nullopt;
  }
  return ms;
}

// Checked before the directory is reached, so that consume --follow does not wait for a topic
// that cannot exist.
bool CheckTopic(const char* command, const std::string& topic) {
  const absl::Status status = CheckUserTopic(topic);
  if (!status.ok()) {
    Fail(command, status);
    return false;
  }
  return true;
}

bool CheckBrokers(const Flags& flags, const char* command) {
  const int64_t brokers = flags.GetInt("brokers");
  if (brokers < 1 || brokers > mq::kMaxBrokers) {
    std::fprintf(stderr, "message_queue %s: --brokers %lld: want 1 to %u\n", command,
                 static_cast<long long>(brokers), mq::kMaxBrokers);
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

// How a run reached the cluster, for --verbose.
class Reach {
 public:
  Reach(const Flags& flags, const char* command, int64_t wait_ms)
      : command_(command), verbose_(flags.GetBool("verbose")) {
    options_.dir = flags.Get("dir");
    options_.cluster.brokers = static_cast<uint32_t>(flags.GetInt("brokers"));
    options_.cluster.background = true;  // the owner replicates and delivers for its clients too
    options_.wait_ms = wait_ms;
  }

  // Reaches the cluster: opens it, or connects to its owner.
  absl::StatusOr<std::unique_ptr<Access>> Acquire() {
    KEEL_ASSIGN_OR_RETURN(std::unique_ptr<Access> access, Access::Acquire(options_));
    ++(access->owner() ? opens_ : connects_);
    Note(access->description());
    return access;
  }

  // The owner went away: `why` says how.
  void HandedOver(const absl::Status& why) {
    ++handovers_;
    Note(base::Cat("the owner went away (", why.message(), "); reaching the directory again"));
  }

  void Note(const std::string& text) const {
    if (verbose_) std::fprintf(stderr, "message_queue %s: %s\n", command_, text.c_str());
  }

  // The run's summary line.
  void Summary(const std::string& extra) const {
    Note(base::Cat(opens_, " cluster open", opens_ == 1 ? "" : "s", ", ", connects_, " connection",
                   connects_ == 1 ? "" : "s", " to an owner, ", handovers_, " hand-over",
                   handovers_ == 1 ? "" : "s", extra));
  }

 private:
  const char* command_;
  const bool verbose_;
  AccessOptions options_;
  int opens_ = 0;
  int connects_ = 0;
  int handovers_ = 0;
};

// ---------------------------------------------------------------------------------------------
// produce
// ---------------------------------------------------------------------------------------------

// A produce run's lines that were sent and not yet answered, by line number: what a new owner is
// sent again. Answers come on other threads (the producer's, or the connection's).
class Unanswered {
 public:
  // At most this many lines, or bytes of them, wait for answers; reading stops until fewer do.
  static constexpr size_t kMaxLines = 1 << 14;
  static constexpr size_t kMaxBytes = 64 << 20;

  void Add(uint64_t seq, const std::string& line) {
    std::lock_guard lock(mu_);
    bytes_ += line.size();
    lines_.emplace(seq, line);
  }

  // Prints the answer to line `seq` and forgets it.
  void Answer(uint64_t seq, const absl::StatusOr<LineAck>& result) {
    std::lock_guard lock(mu_);
    auto it = lines_.find(seq);
    if (it == lines_.end()) return;  // answered before (an owner that breaks the protocol)
    if (!result.ok()) {
      ++failures_;
      std::fprintf(stderr, "message_queue produce: line %llu not acknowledged: %s\n",
                   static_cast<unsigned long long>(seq),
                   std::string(result.status().message()).c_str());
    } else if (result->offset) {
      std::printf("acked %u %llu ", result->partition,
                  static_cast<unsigned long long>(*result->offset));
      std::fwrite(it->second.data(), 1, it->second.size(), stdout);
      std::fputc('\n', stdout);
    }
    bytes_ -= it->second.size();
    lines_.erase(it);
    // Acknowledgements go out as soon as nothing more is awaited (a script may be waiting for
    // them before it writes more), and in blocks while lines stream.
    if (lines_.empty()) std::fflush(stdout);
    room_cv_.notify_all();
  }

  // Waits up to `ms` for room for another line; whether there is.
  bool WaitForRoom(int64_t ms) {
    std::unique_lock lock(mu_);
    return room_cv_.wait_for(lock, std::chrono::milliseconds(ms),
                             [this] { return lines_.size() < kMaxLines && bytes_ < kMaxBytes; });
  }

  std::vector<std::pair<uint64_t, std::string>> All() const {
    std::lock_guard lock(mu_);
    return {lines_.begin(), lines_.end()};
  }

  [[nodiscard]] int failures() const {
    std::lock_guard lock(mu_);
    return failures_;
  }

 private:
  mutable std::mutex mu_;
  std::condition_variable room_cv_;
  std::map<uint64_t, std::string> lines_;
  size_t bytes_ = 0;
  int failures_ = 0;
};

// Sends lines to whichever owner there is, sending the unanswered ones again after a hand-over.
class LineSender {
 public:
  LineSender(Reach& reach, const ProduceRequest& request, Unanswered& unanswered)
      : reach_(reach), request_(request), unanswered_(unanswered) {}

  // Reaches the cluster, opens the session (creating the topic), and sends every line not yet
  // answered; again while the owner goes away meanwhile.
  absl::Status Connect() {
    for (;;) {
      session_.reset();  // no callback of the old session runs after this
      if (access_ != nullptr) (void)access_->Close();
      access_.reset();
      KEEL_ASSIGN_OR_RETURN(access_, reach_.Acquire());
      absl::StatusOr<std::unique_ptr<ProduceSession>> opened = access_->Produce(
          request_,
          [this](uint64_t seq, const absl::StatusOr<LineAck>& r) { unanswered_.Answer(seq, r); });
      absl::Status status = opened.status();
      if (opened.ok()) {
        session_ = std::move(*opened);
        for (auto& [seq, line] : unanswered_.All()) {
          status = session_->Send(seq, std::move(line));
          if (IsOwnerLost(status)) break;
          if (!status.ok()) unanswered_.Answer(seq, status);
          status = absl::OkStatus();
        }
      }
      if (!IsOwnerLost(status)) return status;
      reach_.HandedOver(status);
    }
  }

  absl::Status Send(uint64_t seq, std::string line) {
    unanswered_.Add(seq, line);
    const absl::Status sent = session_->Send(seq, std::move(line));
    if (IsOwnerLost(sent)) {
      reach_.HandedOver(sent);
      return Connect();  // sends it again, with the others
    }
    if (!sent.ok()) unanswered_.Answer(seq, sent);
    return absl::OkStatus();
  }

  // Reaches the cluster again if the owner went away.
  absl::Status CheckOwner() {
    const absl::Status health = session_->Health();
    if (!IsOwnerLost(health)) return health;
    reach_.HandedOver(health);
    return Connect();
  }

  // Returns once every line sent has its answer.
  absl::Status Flush() {
    for (;;) {
      const absl::Status flushed = session_->Flush();
      if (!IsOwnerLost(flushed)) return flushed;
      reach_.HandedOver(flushed);
      KEEL_RETURN_IF_ERROR(Connect());
    }
  }

  // Lets go of the session, then of the cluster (an owner hands its clients over).
  absl::Status Close() {
    session_.reset();
    absl::Status status;
    if (access_ != nullptr) status = access_->Close();
    access_.reset();
    return status;
  }

 private:
  Reach& reach_;
  const ProduceRequest request_;
  Unanswered& unanswered_;
  std::unique_ptr<Access> access_;
  std::unique_ptr<ProduceSession> session_;
};

// Cuts standard input into lines, refusing (and skipping) one longer than a frame carries.
class LineReader {
 public:
  // Appends what was read; calls emit(number, line) for each complete line.
  template <typename Emit>
  absl::Status Take(std::string_view bytes, Emit emit) {
    while (!bytes.empty()) {
      const size_t newline = bytes.find('\n');
      const std::string_view part = bytes.substr(0, newline);
      if (!skipping_) pending_.append(part);
      if (pending_.size() > wire::kMaxLineBytes) {
        std::fprintf(stderr, "message_queue produce: line %llu is longer than %zu bytes\n",
                     static_cast<unsigned long long>(number_ + 1), wire::kMaxLineBytes);
        ++too_long_;
        pending_.clear();
        skipping_ = true;
      }
      if (newline == std::string_view::npos) break;
      ++number_;
      if (!skipping_) KEEL_RETURN_IF_ERROR(emit(number_, std::move(pending_)));
      pending_.clear();
      skipping_ = false;
      bytes.remove_prefix(newline + 1);
    }
    return absl::OkStatus();
  }

  // The last line, if the input did not end with a newline.
  template <typename Emit>
  absl::Status Finish(Emit emit) {
    if (pending_.empty() || skipping_) return absl::OkStatus();
    return emit(++number_, std::move(pending_));
  }

  [[nodiscard]] int too_long() const { return too_long_; }

 private:
  std::string pending_;
  uint64_t number_ = 0;
  bool skipping_ = false;
  int too_long_ = 0;
};

int ProduceFailed(LineSender& sender, const absl::Status& status) {
  Fail("produce", status);
  (void)sender.Close();
  return 1;
}

}  // namespace

int Produce(int argc, char** argv) {
  Flags flags("message_queue produce",
              "sends one message per line of standard input to a topic and prints\n"
              "\"acked <partition> <offset> <payload>\" for every acknowledged message");
  AddCommon(flags);
  flags.Add("topic", "", "the topic");
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
  ProduceRequest request;
  request.topic = flags.Get("topic");
  request.partitions = explicit_partitions ? static_cast<uint32_t>(partitions) : 0;
  request.replication = static_cast<uint32_t>(replication);
  request.acks = *acks;
  request.linger_ms = *linger_ms;
  request.key_by_line = flags.GetBool("key-by-line");

  Reach reach(flags, "produce", *wait_ms);
  Unanswered unanswered;
  LineSender sender(reach, request, unanswered);
  // Even without input, so that the topic exists for consumers to subscribe to.
  if (absl::Status connected = sender.Connect(); !connected.ok()) {
    return ProduceFailed(sender, connected);
  }
  LineReader reader;
  auto emit = [&](uint64_t number, std::string line) {
    return sender.Send(number, std::move(line));
  };
  char buffer[1 << 16];
  for (;;) {
    // While the input is quiet, or too many lines wait for answers, keep an eye on the owner:
    // if it goes away, the next one is sent the unanswered lines at once.
    if (!unanswered.WaitForRoom(100)) {
      if (absl::Status checked = sender.CheckOwner(); !checked.ok()) {
        return ProduceFailed(sender, checked);
      }
      continue;
    }
    pollfd in{STDIN_FILENO, POLLIN, 0};
    const int ready = ::poll(&in, 1, 100);
    if (ready == 0 || (ready < 0 && errno == EINTR)) {
      if (absl::Status checked = sender.CheckOwner(); !checked.ok()) {
        return ProduceFailed(sender, checked);
      }
      continue;
    }
    const ssize_t n = ::read(STDIN_FILENO, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      return ProduceFailed(sender, absl::UnavailableError(base::Cat("cannot read standard input: ",
                                                                    std::strerror(errno))));
    }
    if (n == 0) break;
    if (absl::Status taken = reader.Take(std::string_view(buffer, static_cast<size_t>(n)), emit);
        !taken.ok()) {
      return ProduceFailed(sender, taken);
    }
  }
  absl::Status status = reader.Finish(emit);
  if (status.ok()) status = sender.Flush();
  status.Update(sender.Close());
  if (!status.ok()) {
    Fail("produce", status);
    return 1;
  }
  reach.Summary("");
  // The acknowledgements are the contract: if some were not written out, a script reading them
  // would take those messages for lost, so fail rather than exit 0 with them missing.
  if (!OutputWritten("produce")) return 1;
  return unanswered.failures() == 0 && reader.too_long() == 0 ? 0 : 1;
}

// ---------------------------------------------------------------------------------------------
// consume
// ---------------------------------------------------------------------------------------------

namespace {

// Waits `ms`, or less if a stop is requested; whether to go on.
bool Pause(int64_t ms) {
  for (int64_t waited = 0; waited < ms && !stop_requested.load(); waited += 10) {
    std::this_thread::sleep_for(std::chrono::milliseconds(std::min<int64_t>(10, ms - waited)));
  }
  return !stop_requested.load();
}

// A consume run's member of its group, through whichever owner there is.
class Member {
 public:
  Member(Reach& reach, const ConsumeRequest& request) : reach_(reach), request_(request) {}

  // Joins the group, reaching the cluster first if needed. kNotFound while the topic does not
  // exist (the cluster stays reached).
  absl::Status Join() {
    for (;;) {
      session_.reset();
      if (access_ == nullptr) {
        KEEL_ASSIGN_OR_RETURN(access_, reach_.Acquire());
      }
      absl::StatusOr<std::unique_ptr<ConsumeSession>> opened = access_->Consume(request_);
      if (!IsOwnerLost(opened.status())) {
        KEEL_RETURN_IF_ERROR(opened.status());
        session_ = std::move(*opened);
        return absl::OkStatus();
      }
      Lost(opened.status());
    }
  }

  // The owner went away: the session and the access go (the next Join reaches it again).
  void Lost(const absl::Status& why) {
    reach_.HandedOver(why);
    session_.reset();
    if (access_ != nullptr) (void)access_->Close();
    access_.reset();
  }

  // Leaves (committing if `commit`), then lets go of the cluster.
  absl::Status Close(bool commit) {
    absl::Status status;
    if (session_ != nullptr && commit) {
      status = session_->Close();
      if (IsOwnerLost(status)) status = absl::OkStatus();  // each batch was committed already
    }
    session_.reset();
    if (access_ != nullptr) status.Update(access_->Close());
    access_.reset();
    return status;
  }

  [[nodiscard]] bool joined() const { return session_ != nullptr; }
  ConsumeSession& session() { return *session_; }
  ConsumeRequest& request() { return request_; }

 private:
  Reach& reach_;
  ConsumeRequest request_;
  std::unique_ptr<Access> access_;
  std::unique_ptr<ConsumeSession> session_;
};

}  // namespace

int Consume(int argc, char** argv) {
  Flags flags("message_queue consume",
              "prints \"<partition> <offset> <payload>\" for every message of a topic up to the\n"
              "current end of the log, as a member of a consumer group, and commits the group's\n"
              "offsets, so that the next run continues where this one stopped");
  AddCommon(flags);
  flags.Add("topic", "", "the topic");
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
  if (max < 0 || !CheckBrokers(flags, "consume")) {
    if (max < 0) std::fprintf(stderr, "message_queue consume: want --max >= 0\n");
    return 2;
  }
  if (flags.Get("group").size() > kMaxGroupBytes) {
    std::fprintf(stderr, "message_queue consume: --group is %zu bytes: want at most %zu\n",
                 flags.Get("group").size(), kMaxGroupBytes);
    return 2;
  }
  const bool follow = flags.GetBool("follow");
  if (follow) {
    ::signal(SIGINT, RequestStop);
    ::signal(SIGTERM, RequestStop);
  }
  Reach reach(flags, "consume", *wait_ms);
  Member member(reach, {.topic = flags.Get("topic"),
                        .group = flags.Get("group"),
                        .from_beginning = flags.GetBool("from-beginning")});
  auto failed = [&](const absl::Status& status) {
    Fail("consume", status);
    (void)member.Close(/*commit=*/false);
    return 1;
  };

  // Per partition, the offset after the last message this run printed: what a new owner (or a
  // rebalance) delivers again from the group's committed offset is skipped, not printed twice.
  std::map<uint32_t, uint64_t> printed_to;
  int64_t printed = 0;
  uint64_t polls = 0;
  bool waiting_for_topic = false;
  while (!stop_requested.load()) {
    if (!member.joined()) {
      const absl::Status joined = member.Join();
      if (follow && absl::IsNotFound(joined)) {
        // The topic does not exist yet: wait for it. Whatever it will hold is produced after
        // this run began, and a producer may create it and write to it between two polls, so
        // once it appears read it from its first message, with or without --from-beginning.
        if (!waiting_for_topic) {
          reach.Note(base::Cat("topic ", flags.Get("topic"),
                               " does not exist yet: waiting for it, to read it from its start"));
          waiting_for_topic = true;
        }
        member.request().from_beginning = true;
        if (!Pause(*poll_ms)) break;
        continue;
      }
      if (!joined.ok()) return failed(joined);
    }
    const uint32_t budget = static_cast<uint32_t>(
        std::min<int64_t>(kMaxPollMessages, max > 0 ? max - printed : kMaxPollMessages));
    absl::StatusOr<std::vector<Delivered>> got = member.session().Poll(budget);
    ++polls;
    if (IsOwnerLost(got.status())) {
      member.Lost(got.status());
      continue;
    }
    if (!got.ok()) return failed(got.status());
    for (const Delivered& m : *got) {
      uint64_t& next = printed_to[m.partition];
      if (m.offset < next) continue;
      std::printf("%u %llu ", m.partition, static_cast<unsigned long long>(m.offset));
      std::fwrite(m.value.data(), 1, m.value.size(), stdout);
      std::fputc('\n', stdout);
      next = m.offset + 1;
      ++printed;
    }
    // Printed, so processed: commit (at least once: a crash before this prints them again).
    // Output that did not reach standard output was not processed: leave the group without
    // committing, so that the next run prints it again.
    if (!OutputWritten("consume")) {
      (void)member.Close(/*commit=*/false);
      return 1;
    }
    const absl::Status committed = member.session().Commit();
    if (IsOwnerLost(committed)) {
      member.Lost(committed);
      continue;
    }
    if (absl::IsFailedPrecondition(committed)) {
      // The group rebalanced (another run of it joined or left): these partitions may be
      // another member's now, which then delivers from the last commit.
      reach.Note(base::Cat("not committed: ", committed.message()));
    } else if (!committed.ok()) {
      return failed(committed);
    }
    if (max > 0 && printed >= max) break;
    if (got->empty()) {
      if (!follow || !Pause(*poll_ms)) break;
    }
  }
  const absl::Status closed = member.Close(/*commit=*/true);
  if (!closed.ok()) {
    Fail("consume", closed);
    return 1;
  }
  reach.Summary(base::Cat(", ", polls, " poll", polls == 1 ? "" : "s"));
  return 0;
}

// ---------------------------------------------------------------------------------------------
// serve
// ---------------------------------------------------------------------------------------------

int Serve(int argc, char** argv) {
  Flags flags("message_queue serve",
              "opens the data directory and serves the produce and consume runs started on it\n"
              "until interrupted (SIGINT or SIGTERM), then hands them over; prints\n"
              "\"serving <dir> on 127.0.0.1:<port> (pid <pid>)\" once it serves");
  AddCommon(flags);
  int exit_code = 0;
  if (!flags.Parse(argc, argv, &exit_code)) return exit_code;
  if (!RequireFlags(flags, "serve", {"dir"})) return 2;
  const std::optional<int64_t> wait_ms = GetMillis(flags, "serve", "wait-ms", 0);
  if (!wait_ms || !CheckBrokers(flags, "serve")) return 2;
  // Blocked before any thread starts, so that every thread inherits the mask and the signals
  // wait for sigwait below. Their default action first: a shell starts background commands with
  // SIGINT ignored, and an ignored signal is dropped even while blocked.
  ::signal(SIGINT, SIG_DFL);
  ::signal(SIGTERM, SIG_DFL);
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  Reach reach(flags, "serve", *wait_ms);
  absl::StatusOr<std::unique_ptr<Access>> access = reach.Acquire();
  if (!access.ok()) {
    Fail("serve", access.status());
    return 1;
  }
  if (!(*access)->owner()) {
    Fail("serve", absl::FailedPreconditionError(
                      base::Cat("the directory is served already: ", (*access)->description())));
    return 1;
  }
  std::printf("serving %s on 127.0.0.1:%u (pid %d)\n", flags.Get("dir").c_str(), (*access)->port(),
              static_cast<int>(::getpid()));
  std::fflush(stdout);
  int signal = 0;
  sigwait(&signals, &signal);
  reach.Note(base::Cat("stopping on signal ", signal, ": handing the clients over"));
  const absl::Status closed = (*access)->Close();
  if (!closed.ok()) {
    Fail("serve", closed);
    return 1;
  }
  return 0;
}

}  // namespace keel::examples
