// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// RaftLog against a model: a plain vector of the entries after a snapshot index, with each
// operation written the obvious way. A randomized driver plays a follower (and at times a leader)
// through a history of leaders: each new leader's log is a prefix, at least as long as the commit
// index, of some earlier leader's log, extended with entries of its own term, so that every log in
// the run obeys Raft's Log Matching property as real leaders' logs do. Appends arrive matching,
// mismatching, overlapping, duplicated and delayed; snapshots arrive and the application compacts;
// Readys are taken, written to a model disk, and acknowledged later, with other operations in
// between. After every step the log equals the model, the positions keep their order, and every
// entry the log calls stable is on the disk as the log has it.
#include "keel/raft/internal/raft_log.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "keel/base/random.h"
#include "testing/testing.h"

namespace keel::raft::internal {
namespace {

// The entry at (index, term). Every log that has an entry with this index and term has this one,
// so its data is a function of the two (and its size varies, for the byte limits).
Entry MakeEntry(uint64_t index, uint64_t term) {
  const uint64_t hash = base::SplitMix64(index * 1'000'003 + term).Next();
  Entry entry;
  entry.index = index;
  entry.term = term;
  entry.type = hash % 5 == 0 ? EntryType::kConfChange : EntryType::kNormal;
  entry.data.assign((hash >> 8) % 24, static_cast<char>('a' + term % 26));
  return entry;
}

std::vector<Entry> MakeEntries(uint64_t first, const std::vector<uint64_t>& terms) {
  std::vector<Entry> entries;
  for (size_t i = 0; i < terms.size(); ++i) entries.push_back(MakeEntry(first + i, terms[i]));
  return entries;
}

Snapshot MakeSnapshot(uint64_t index, uint64_t term) {
  Snapshot snapshot;
  snapshot.metadata.index = index;
  snapshot.metadata.term = term;
  snapshot.metadata.conf.voters = {1, 2, 3};
  snapshot.data = std::make_shared<const std::string>(std::to_string(index));
  return snapshot;
}

// The model: what the log holds, kept as simply as possible.
struct ModelLog {
  uint64_t snapshot_index = 0;
  uint64_t snapshot_term = 0;
  std::vector<Entry> entries;  // snapshot_index + 1 onwards
  uint64_t committed = 0;
  uint64_t applied = 0;
  uint64_t applying = 0;
  bool pending_snapshot = false;

  uint64_t last_index() const { return snapshot_index + entries.size(); }
  uint64_t last_term() const { return entries.empty() ? snapshot_term : entries.back().term; }
  const Entry& At(uint64_t index) const { return entries[index - snapshot_index - 1]; }

  std::optional<uint64_t> Term(uint64_t index) const {
    if (index == snapshot_index) return snapshot_term;
    if (index < snapshot_index || index > last_index()) return std::nullopt;
    return At(index).term;
  }

  // Figure 2's AppendEntries: find the first new entry the log lacks or has with another term;
  // cut the log there and append the rest.
  std::optional<uint64_t> MaybeAppend(uint64_t prev_index, uint64_t prev_term,
                                      const std::vector<Entry>& append) {
    if (Term(prev_index) != prev_term) return std::nullopt;
    const auto first_new = std::find_if(append.begin(), append.end(), [&](const Entry& entry) {
      return Term(entry.index) != entry.term;
    });
    if (first_new != append.end()) {
      entries.resize(first_new->index - snapshot_index - 1);
      entries.insert(entries.end(), first_new, append.end());
    }
    return prev_index + append.size();
  }

  // A forward scan: the last index up to `index` whose term is at most `term`.
  uint64_t FindConflictByTerm(uint64_t index, uint64_t term) const {
    uint64_t found = snapshot_index;
    for (uint64_t i = snapshot_index + 1; i <= std::min(index, last_index()); ++i) {
      if (At(i).term <= term) found = i;
    }
    return found;
  }

  // The longest run from `lo` whose data fits in max_bytes, but at least one entry.
  std::vector<Entry> Slice(uint64_t lo, uint64_t hi, uint64_t max_bytes) const {
    std::vector<Entry> slice;
    uint64_t bytes = 0;
    for (uint64_t i = lo; i < hi; ++i) {
      bytes += At(i).data.size();
      if (bytes <= max_bytes || slice.empty()) slice.push_back(At(i));
      if (bytes > max_bytes) break;
    }
    return slice;
  }

  uint64_t DataBytes(uint64_t lo, uint64_t hi) const {
    uint64_t bytes = 0;
    for (const Entry& entry : entries) {
      if (entry.index >= lo && entry.index < hi) bytes += entry.data.size();
    }
    return bytes;
  }
};

// One leader's log: terms[i - 1] is the term of the entry at index i.
struct LeaderLog {
  uint64_t term = 0;
  std::vector<uint64_t> terms;
  uint64_t commit = 0;

  uint64_t last() const { return terms.size(); }
  uint64_t TermAt(uint64_t index) const { return index == 0 ? 0 : terms[index - 1]; }
  std::vector<Entry> Entries(uint64_t lo, uint64_t hi) const {  // [lo, hi)
    std::vector<Entry> entries;
    for (uint64_t i = lo; i < hi; ++i) entries.push_back(MakeEntry(i, TermAt(i)));
    return entries;
  }
};

// A Ready's log parts, handed out and not yet acknowledged.
struct TakenReady {
  std::optional<Snapshot> snapshot;
  std::vector<Entry> entries;
  std::vector<Entry> committed;
  bool log_changed_since = false;
};

class Harness {
 public:
  explicit Harness(uint64_t seed) : rng_(seed), log_(Snapshot(), {}, 0) {
    // A few terms of history, then a log that starts somewhere in it.
    leaders_.push_back(LeaderLog{});
    for (int i = 0; i < 3; ++i) {
      NewLeader(/*us=*/false);
      LeaderAppends();
    }
    const LeaderLog& leader = leaders_.back();
    const uint64_t snapshot = rng_.Uniform(leader.commit + 1);
    const uint64_t last = snapshot + rng_.Uniform(leader.last() - snapshot + 1);
    const uint64_t commit = rng_.Uniform(std::min(last, leader.commit) + 1);
    log_ = RaftLog(MakeSnapshot(snapshot, leader.TermAt(snapshot)),
                   leader.Entries(snapshot + 1, last + 1), commit);
    model_.snapshot_index = snapshot;
    model_.snapshot_term = leader.TermAt(snapshot);
    model_.entries = leader.Entries(snapshot + 1, last + 1);
    model_.committed = std::max(commit, snapshot);
    model_.applied = model_.applying = snapshot;
    for (const Entry& entry : model_.entries) disk_[entry.index] = entry;
    Check();
  }

  void Step() {
    switch (rng_.Uniform(13)) {
      case 0:
      case 1:
      case 2:
        if (!we_lead_) FollowerAppend();
        break;
      case 3:
        if (!we_lead_) RedeliverAppend();
        break;
      case 4:
      case 5:
        LeaderAppends();
        break;
      case 6:
        if (rng_.Bernoulli(0.5)) NewLeader(/*us=*/rng_.Bernoulli(0.3));
        break;
      case 7:
        if (!we_lead_) Heartbeat();
        break;
      case 8:
        if (!we_lead_ && rng_.Bernoulli(0.2)) InstallSnapshot();
        break;
      case 9:
      case 10:
        if (taken_) {
          Advance();
        } else {
          TakeReady();
        }
        break;
      case 11:
        Compact();
        break;
      case 12:
        Queries();
        break;
    }
    Check();
  }

 private:
  LeaderLog& leader() { return leaders_.back(); }

  // The commit index of the cluster: every later leader's log has the entries up to it.
  uint64_t cluster_commit() const { return leaders_.back().commit; }

  void NoteLogChange() {
    if (taken_) taken_->log_changed_since = true;
  }

  void NewLeader(bool us) {
    LeaderLog next;
    next.term = leaders_.back().term + 1;
    const LeaderLog& current = leaders_.back();
    const uint64_t commit = current.commit;
    if (us && !we_lead_ && log_.last_index() >= commit && MatchLength(current) >= commit) {
      // This node wins: its own log is the new leader's, unchanged (leaders never truncate).
      for (uint64_t i = 1; i <= log_.last_index(); ++i) {
        next.terms.push_back(i <= log_.snapshot_index() ? current.TermAt(i) : *log_.Term(i));
      }
      we_lead_ = true;
    } else {
      // Any earlier leader whose log holds every committed entry may win, with any prefix of its
      // log that keeps them.
      std::vector<const LeaderLog*> eligible;
      for (const LeaderLog& log : leaders_) {
        if (log.last() >= commit &&
            std::equal(log.terms.begin(), log.terms.begin() + static_cast<ptrdiff_t>(commit),
                       current.terms.begin())) {
          eligible.push_back(&log);
        }
      }
      const LeaderLog& base = *eligible[rng_.Uniform(eligible.size())];
      const uint64_t keep = commit + rng_.Uniform(base.last() - commit + 1);
      next.terms.assign(base.terms.begin(), base.terms.begin() + static_cast<ptrdiff_t>(keep));
      we_lead_ = false;
    }
    next.commit = commit;
    leaders_.push_back(std::move(next));
    recent_appends_.clear();
  }

  // The leader appends new entries (to this node's log too, when it is the leader) and may
  // learn that more is committed.
  void LeaderAppends() {
    LeaderLog& current = leader();
    const uint64_t count = rng_.Uniform(5);
    std::vector<uint64_t> terms(count, current.term);
    std::vector<Entry> appended = MakeEntries(current.last() + 1, terms);
    current.terms.insert(current.terms.end(), terms.begin(), terms.end());
    if (we_lead_ && count > 0) {
      log_.Append(appended);
      model_.entries.insert(model_.entries.end(), appended.begin(), appended.end());
      NoteLogChange();
    }
    if (current.term > 0 && current.last() > current.commit && rng_.Bernoulli(0.5)) {
      current.commit += rng_.Uniform(current.last() - current.commit + 1);
    }
    if (we_lead_ && current.commit > log_.committed()) {
      log_.CommitTo(current.commit);
      model_.committed = current.commit;
    }
  }

  // How far this node's log agrees with `leader` (everything up to its snapshot is committed, so
  // it agrees there).
  uint64_t MatchLength(const LeaderLog& log) const {
    uint64_t match = std::min(log_.snapshot_index(), log.last());
    while (match < std::min(log_.last_index(), log.last()) &&
           *log_.Term(match + 1) == log.TermAt(match + 1)) {
      ++match;
    }
    return match;
  }

  void Deliver(uint64_t prev_index, uint64_t prev_term, const std::vector<Entry>& entries,
               uint64_t commit) {
    CAPTURE(prev_index);
    CAPTURE(prev_term);
    CAPTURE(entries.size());
    const ModelLog before = model_;
    const std::optional<uint64_t> expected = model_.MaybeAppend(prev_index, prev_term, entries);
    const std::optional<uint64_t> actual = log_.MaybeAppend(prev_index, prev_term, entries);
    REQUIRE(actual == expected);
    if (!actual) return;
    const bool all_present = std::all_of(entries.begin(), entries.end(), [&](const Entry& entry) {
      return before.Term(entry.index) == entry.term;
    });
    if (all_present) {
      // A duplicated or delayed append: nothing it carries is new, so nothing may be cut.
      CHECK(log_.last_index() == before.last_index());
    } else {
      NoteLogChange();
    }
    // The follower commits what the leader has committed, as far as it now matches the leader.
    const uint64_t commit_to = std::min(commit, *actual);
    log_.CommitTo(commit_to);
    model_.committed = std::max(model_.committed, commit_to);
  }

  void FollowerAppend() {
    const LeaderLog& current = leader();
    // Mostly near where this log stops matching the leader (as a leader's probes are), and
    // sometimes anywhere in its log.
    uint64_t prev = rng_.Uniform(current.last() + 1);
    if (rng_.Bernoulli(0.7)) {
      const uint64_t match = MatchLength(current);
      prev = std::min(current.last(), match - std::min(match, rng_.Uniform(4)) + rng_.Uniform(2));
    }
    const uint64_t hi = std::min(current.last(), prev + rng_.Uniform(6)) + 1;
    const std::vector<Entry> entries = current.Entries(prev + 1, hi);
    uint64_t prev_term = current.TermAt(prev);
    if (rng_.Bernoulli(0.15)) {
      // A previous entry this log does not have. (No leader sends one whose term this log has at
      // that index unless its log matches there: that is Log Matching.)
      do {
        prev_term = rng_.Uniform(current.term + 2);
      } while (prev_term == current.TermAt(prev) || log_.MatchTerm(prev, prev_term));
    }
    recent_appends_.push_back({prev, prev_term, entries, current.commit});
    if (recent_appends_.size() > 8) recent_appends_.erase(recent_appends_.begin());
    Deliver(prev, prev_term, entries, current.commit);
  }

  // An append of this leader's delivered again, late.
  void RedeliverAppend() {
    if (recent_appends_.empty()) return;
    const SentAppend& sent = recent_appends_[rng_.Uniform(recent_appends_.size())];
    Deliver(sent.prev_index, sent.prev_term, sent.entries, sent.commit);
  }

  void Heartbeat() {
    // The leader sends min(match, commit): never past what the follower is known to have.
    const uint64_t commit = std::min(leader().commit, MatchLength(leader()));
    log_.CommitTo(commit);
    model_.committed = std::max(model_.committed, commit);
  }

  void InstallSnapshot() {
    const LeaderLog& current = leader();
    if (current.commit <= log_.committed()) return;
    const uint64_t index = log_.committed() + 1 + rng_.Uniform(current.commit - log_.committed());
    log_.Restore(MakeSnapshot(index, current.TermAt(index)));
    model_.snapshot_index = index;
    model_.snapshot_term = current.TermAt(index);
    model_.entries.clear();
    model_.committed = model_.applied = model_.applying = index;
    model_.pending_snapshot = true;
    NoteLogChange();
  }

  // GetReady's part: the snapshot and entries to persist (written to the disk at once) and the
  // committed entries to apply.
  void TakeReady() {
    TakenReady ready;
    REQUIRE(log_.HasPendingSnapshot() == model_.pending_snapshot);
    if (log_.HasPendingSnapshot()) {
      ready.snapshot = log_.TakePendingSnapshot();
      CHECK(ready.snapshot->metadata.index == model_.snapshot_index);
      CHECK(ready.snapshot->metadata.term == model_.snapshot_term);
      model_.pending_snapshot = false;
      disk_.clear();
    }
    // The entries to persist start where the disk first differs from the log, and run to its end.
    uint64_t differs = model_.snapshot_index + 1;
    while (differs <= model_.last_index() && disk_.contains(differs) &&
           disk_.at(differs) == model_.At(differs)) {
      ++differs;
    }
    ready.entries = log_.TakeUnstable();
    CHECK(log_.HasUnstable() == false);
    if (differs > model_.last_index()) {
      CHECK(ready.entries.empty());
    } else {
      REQUIRE(!ready.entries.empty());
      CHECK(ready.entries.front().index == differs);
      CHECK(ready.entries.back().index == model_.last_index());
      disk_.erase(disk_.lower_bound(ready.entries.front().index), disk_.end());
      for (const Entry& entry : ready.entries) disk_[entry.index] = entry;
    }
    for (const auto& [index, entry] : disk_) {
      if (index > model_.snapshot_index) {
        REQUIRE(index <= model_.last_index());
        CHECK(entry == model_.At(index));
      }
    }

    const uint64_t max_bytes = rng_.Uniform(60);
    CHECK(log_.HasCommittedToApply() == (model_.applying < model_.committed));
    ready.committed = log_.TakeCommitted(max_bytes);
    if (model_.applying < model_.committed) {
      const std::vector<Entry> expected =
          model_.Slice(std::max(model_.applying + 1, model_.snapshot_index + 1),
                       model_.committed + 1, max_bytes);
      CHECK(ready.committed == expected);
      model_.applying = expected.back().index;
    } else {
      CHECK(ready.committed.empty());
    }
    taken_ = std::move(ready);
  }

  // Advance's part: the entries are durable and the committed ones applied.
  void Advance() {
    const TakenReady ready = std::move(*taken_);
    taken_.reset();
    if (ready.snapshot) log_.StableSnapshotTo(ready.snapshot->metadata.index);
    if (!ready.entries.empty())
      log_.StableTo(ready.entries.back().index, ready.entries.back().term);
    if (!ready.committed.empty()) {
      log_.AppliedTo(ready.committed.back().index);
      model_.applied = std::max(model_.applied, ready.committed.back().index);
      model_.applying = std::max(model_.applying, model_.applied);
    }
    if (!ready.log_changed_since) CHECK(log_.stable() == log_.last_index());
  }

  void Compact() {
    if (model_.applied <= model_.snapshot_index) return;
    const uint64_t index =
        model_.snapshot_index + 1 + rng_.Uniform(model_.applied - model_.snapshot_index);
    const uint64_t term = model_.At(index).term;
    log_.Compact(MakeSnapshot(index, term));
    model_.entries.erase(
        model_.entries.begin(),
        model_.entries.begin() + static_cast<ptrdiff_t>(index - model_.snapshot_index));
    model_.snapshot_index = index;
    model_.snapshot_term = term;
  }

  void Queries() {
    const uint64_t last = model_.last_index();
    const uint64_t max_term = leader().term + 1;
    for (int i = 0; i < 8; ++i) {
      const uint64_t index = rng_.Uniform(last + 4);
      const uint64_t term = rng_.Uniform(max_term + 1);
      CAPTURE(index);
      CAPTURE(term);
      CHECK(log_.Term(index) == model_.Term(index));
      CHECK(log_.MatchTerm(index, term) == (model_.Term(index) == term));
      CHECK(log_.IsUpToDate(index, term) ==
            (term > model_.last_term() || (term == model_.last_term() && index >= last)));
      CHECK(log_.FindConflictByTerm(index, term) == model_.FindConflictByTerm(index, term));
      const uint64_t lo = rng_.Uniform(last + 4);
      CHECK(log_.DataBytes(lo, index) == model_.DataBytes(lo, index));
    }
    for (int i = 0; i < 4; ++i) {
      const uint64_t first = model_.snapshot_index + 1;
      const uint64_t lo = first + rng_.Uniform(last + 2 - first);
      const uint64_t hi = lo + rng_.Uniform(last + 2 - lo);
      const uint64_t max_bytes = rng_.Bernoulli(0.1) ? UINT64_MAX : rng_.Uniform(80);
      CAPTURE(lo);
      CAPTURE(hi);
      CAPTURE(max_bytes);
      CHECK(log_.Slice(lo, hi, max_bytes) == model_.Slice(lo, hi, max_bytes));
    }
  }

  void Check() {
    REQUIRE(log_.snapshot_index() == model_.snapshot_index);
    REQUIRE(log_.snapshot_term() == model_.snapshot_term);
    REQUIRE(log_.first_index() == model_.snapshot_index + 1);
    REQUIRE(log_.last_index() == model_.last_index());
    REQUIRE(log_.last_term() == model_.last_term());
    REQUIRE(log_.committed() == model_.committed);
    REQUIRE(log_.applied() == model_.applied);
    REQUIRE(log_.applying() == model_.applying);
    REQUIRE(log_.Slice(log_.first_index(), log_.last_index() + 1, UINT64_MAX) == model_.entries);
    // snapshot index <= applied <= committed <= last index; stable <= last index.
    CHECK(log_.snapshot_index() <= log_.applied());
    CHECK(log_.applied() <= log_.applying());
    CHECK(log_.applying() <= log_.committed());
    CHECK(log_.committed() <= log_.last_index());
    CHECK(log_.stable() <= log_.last_index());
    // Everything the log calls stable is on the disk as the log has it.
    for (uint64_t index = log_.first_index(); index <= log_.stable(); ++index) {
      CAPTURE(index);
      REQUIRE(disk_.contains(index));
      CHECK(disk_.at(index) == model_.At(index));
    }
    // Every committed entry is the cluster's.
    for (uint64_t index = log_.first_index(); index <= log_.committed(); ++index) {
      CHECK(model_.At(index).term == leader().TermAt(index));
    }
  }

  struct SentAppend {
    uint64_t prev_index;
    uint64_t prev_term;
    std::vector<Entry> entries;
    uint64_t commit;
  };

  base::Random rng_;
  RaftLog log_;
  ModelLog model_;
  std::vector<LeaderLog> leaders_;
  bool we_lead_ = false;
  std::vector<SentAppend> recent_appends_;
  std::map<uint64_t, Entry> disk_;
  std::optional<TakenReady> taken_;
};

TEST_CASE("RaftLog matches a model log through random appends snapshots and Readys") {
  const uint64_t seed = keel::testing::TestSeed(401);
  const uint64_t runs = keel::testing::TestRounds("KEEL_RAFT_LOG_RUNS", 120);
  for (uint64_t run = 0; run < runs; ++run) {
    const uint64_t run_seed = seed + run;
    CAPTURE(run_seed);
    Harness harness(run_seed);
    for (int step = 0; step < 300; ++step) {
      CAPTURE(step);
      harness.Step();
    }
  }
}

// A log with entries 1..5 of term 1 and 6..8 of term 2, all persisted.
RaftLog EightEntries() { return RaftLog(Snapshot(), MakeEntries(1, {1, 1, 1, 1, 1, 2, 2, 2}), 0); }

TEST_CASE("A delayed append never truncates entries a later append added") {
  RaftLog log = EightEntries();
  // The leader's append of 6..7, overtaken by its append of 6..8, arrives last.
  CHECK(log.MaybeAppend(5, 1, MakeEntries(6, {2, 2})) == 7);
  CHECK(log.last_index() == 8);
  CHECK(!log.HasUnstable());
  CHECK(log.MaybeAppend(5, 1, {}) == 5);
  CHECK(log.last_index() == 8);
}

TEST_CASE("A conflicting append replaces the suffix and is persisted from the conflict") {
  RaftLog log = EightEntries();
  CHECK(log.MaybeAppend(6, 2, MakeEntries(7, {3})) == 7);
  CHECK(log.last_index() == 7);
  CHECK(log.Term(7) == 3);
  CHECK(log.stable() == 6);
  const std::vector<Entry> unstable = log.TakeUnstable();
  REQUIRE(unstable.size() == 1);
  CHECK(unstable.front() == MakeEntry(7, 3));
  // A mismatching previous entry changes nothing.
  CHECK(log.MaybeAppend(7, 2, MakeEntries(8, {3})) == std::nullopt);
  CHECK(log.MaybeAppend(9, 3, {}) == std::nullopt);
  CHECK(log.last_index() == 7);
}

TEST_CASE("StableTo ignores a persisted entry that has been replaced since") {
  RaftLog log(Snapshot(), MakeEntries(1, {1, 1}), 0);
  CHECK(log.MaybeAppend(2, 1, MakeEntries(3, {1, 1})) == 4);
  const std::vector<Entry> first = log.TakeUnstable();
  REQUIRE(first.size() == 2);
  // Before the write is acknowledged, a new leader replaces entry 4.
  CHECK(log.MaybeAppend(3, 1, MakeEntries(4, {2})) == 4);
  log.StableTo(first.back().index, first.back().term);
  CHECK(log.stable() == 2);
  CHECK(log.HasUnstable());
  const std::vector<Entry> second = log.TakeUnstable();
  REQUIRE(second.size() == 1);
  CHECK(second.front() == MakeEntry(4, 2));
  log.StableTo(4, 2);
  CHECK(log.stable() == 4);
}

TEST_CASE("Slice returns one entry even when it alone passes the byte limit") {
  const RaftLog log = EightEntries();
  for (uint64_t lo = 1; lo <= 8; ++lo) {
    CHECK(log.Slice(lo, 9, 0).size() == 1);
    CHECK(log.Slice(lo, lo, 0).empty());
  }
}

TEST_CASE("FindConflictByTerm stops at the snapshot") {
  RaftLog log(MakeSnapshot(4, 2), MakeEntries(5, {3, 3, 5}), 4);
  CHECK(log.FindConflictByTerm(7, 5) == 7);
  CHECK(log.FindConflictByTerm(7, 4) == 6);
  CHECK(log.FindConflictByTerm(100, 4) == 6);
  CHECK(log.FindConflictByTerm(7, 2) == 4);
  CHECK(log.FindConflictByTerm(7, 0) == 4);
  CHECK(log.FindConflictByTerm(2, 9) == 4);
}

}  // namespace
}  // namespace keel::raft::internal
