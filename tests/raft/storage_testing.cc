// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "raft/storage_testing.h"

#include <algorithm>
#include <utility>

#include "keel/base/assert.h"
#include "keel/base/status.h"
#include "keel/base/strings.h"

namespace keel::raft::storage_testing {

uint64_t Model::TermAt(uint64_t index) const {
  if (index == snapshot_index()) return snapshot.metadata.term;
  KEEL_ASSERT(index > snapshot_index() && index <= last_index(), "no entry ", index);
  return entries[index - snapshot_index() - 1].term;
}

Model Model::FromInitialState(const InitialState& initial) {
  Model model;
  model.hard_state = initial.hard_state;
  model.snapshot = initial.snapshot;
  model.entries = initial.entries;
  return model;
}

Model Bootstrapped(const std::vector<NodeId>& voters) {
  return Model::FromInitialState(voters.empty() ? InitialState{} : InitialState::Bootstrap(voters));
}

std::string Op::ToString() const {
  switch (kind) {
    case Kind::kReopen:
      return "reopen";
    case Kind::kSaveSnapshot:
      return base::Cat("SaveSnapshot(index ", snapshot.metadata.index, ", term ",
                       snapshot.metadata.term, ", ", snapshot.bytes().size(), " bytes)");
    case Kind::kSave:
      break;
  }
  std::string text = "Save(";
  if (ready.hard_state) {
    text += base::Cat("term ", ready.hard_state->term, " vote ",
                      static_cast<int64_t>(ready.hard_state->vote), " commit ",
                      ready.hard_state->commit, "; ");
  }
  if (ready.snapshot) {
    text += base::Cat("snapshot ", ready.snapshot->metadata.index, "@",
                      ready.snapshot->metadata.term, "; ");
  }
  if (!ready.entries.empty()) {
    text += base::Cat("entries ", ready.entries.front().index, "..", ready.entries.back().index,
                      "@", ready.entries.back().term, "; ");
  }
  return text + (ready.must_sync ? "sync)" : "no sync)");
}

void Model::Apply(const Op& op) {
  const uint64_t commit_before = std::max(hard_state.commit, snapshot_index());
  if (op.kind == Op::Kind::kSaveSnapshot) {
    const uint64_t index = op.snapshot.metadata.index;
    KEEL_ASSERT(index > snapshot_index() && index <= last_index(), "snapshot at ", index);
    entries.erase(entries.begin(),
                  entries.begin() + static_cast<ptrdiff_t>(index - snapshot_index()));
    snapshot = op.snapshot;
    return;
  }
  if (op.kind == Op::Kind::kReopen) return;
  const Ready& ready = op.ready;
  if (ready.hard_state) hard_state = *ready.hard_state;
  if (ready.snapshot) {
    snapshot = *ready.snapshot;
    entries.clear();
  }
  if (!ready.entries.empty()) {
    const uint64_t first = ready.entries.front().index;
    KEEL_ASSERT(first > snapshot_index() && first <= last_index() + 1, "gap at ", first);
    entries.resize(first - snapshot_index() - 1);
    entries.insert(entries.end(), ready.entries.begin(), ready.entries.end());
  }
  for (uint64_t index = std::max(commit_before, snapshot_index()) + 1;
       index <= hard_state.commit && index <= last_index(); ++index) {
    const Entry& entry = entries[index - snapshot_index() - 1];
    const auto [it, inserted] = committed.try_emplace(index, entry);
    KEEL_ASSERT(it->second == entry, "the workload changed committed entry ", index);
  }
}

std::vector<Entry> Entries(uint64_t first, uint64_t last, uint64_t term) {
  std::vector<Entry> entries;
  for (uint64_t index = first; index <= last; ++index) {
    entries.push_back(
        Entry{.term = term, .index = index, .data = base::Cat("entry ", index, " of ", term)});
  }
  return entries;
}

Snapshot MakeSnapshot(uint64_t index, uint64_t term, std::string data, std::vector<NodeId> voters) {
  Snapshot snapshot;
  snapshot.metadata.index = index;
  snapshot.metadata.term = term;
  snapshot.metadata.conf.voters = std::move(voters);
  snapshot.data = std::make_shared<const std::string>(std::move(data));
  return snapshot;
}

Op SaveOp(std::optional<HardState> hard, std::vector<Entry> entries,
          std::optional<Snapshot> snapshot) {
  Op op;
  op.ready.hard_state = hard;
  op.ready.entries = std::move(entries);
  op.ready.snapshot = std::move(snapshot);
  op.ready.must_sync = true;
  return op;
}

Op SnapshotOp(Snapshot snapshot) {
  Op op;
  op.kind = Op::Kind::kSaveSnapshot;
  op.snapshot = std::move(snapshot);
  return op;
}

Op ReopenOp() {
  Op op;
  op.kind = Op::Kind::kReopen;
  return op;
}

// --- Workload.

Workload::Workload(uint64_t seed, WorkloadOptions options)
    : options_(std::move(options)), rng_(seed), model_(Bootstrapped(options_.voters)) {}

std::string Workload::Bytes(size_t max_bytes) {
  // Mostly small, sometimes up to the limit: entries that span pages and segments.
  const uint64_t pick = rng_.Uniform(100);
  const size_t limit = pick < 80   ? std::min<size_t>(max_bytes, 60)
                       : pick < 95 ? std::min<size_t>(max_bytes, 600)
                                   : max_bytes;
  std::string bytes(rng_.Uniform(limit + 1), '\0');
  for (char& c : bytes) c = static_cast<char>(rng_.Next());
  return bytes;
}

NodeId Workload::Vote() { return rng_.Bernoulli(0.3) ? kNoNode : rng_.Uniform(5); }

ConfState Workload::MakeConf() {
  ConfState conf;
  for (NodeId id = 0; id < 5; ++id) {
    const uint64_t role = rng_.Uniform(3);
    if (role == 0) conf.voters.push_back(id);
    if (role == 1 && rng_.Bernoulli(0.3)) conf.learners.push_back(id);
  }
  if (conf.voters.empty()) conf.voters.push_back(0);
  return conf;
}

Entry Workload::MakeEntry(uint64_t index, uint64_t term) {
  Entry entry;
  entry.index = index;
  entry.term = term;
  entry.type = rng_.Bernoulli(0.1) ? EntryType::kConfChange : EntryType::kNormal;
  entry.data = Bytes(options_.max_entry_data);
  return entry;
}

void Workload::AppendEntries(uint64_t first, uint64_t term, size_t count, Ready& ready) {
  for (size_t i = 0; i < count; ++i) ready.entries.push_back(MakeEntry(first + i, term));
}

void Workload::InstallSnapshot(HardState& hard, Ready& ready) {
  // From a leader of a newer term, past the commit index (a node installs only those), where
  // the log disagrees or ends: the new term differs from every entry's.
  hard.term += 1;
  hard.vote = Vote();
  const uint64_t index = hard.commit + 1 + rng_.Uniform(model_.last_index() - hard.commit + 4);
  Snapshot snapshot;
  snapshot.metadata.index = index;
  snapshot.metadata.term =
      index > model_.last_index() && rng_.Bernoulli(0.5) ? hard.term - 1 : hard.term;
  snapshot.metadata.conf = MakeConf();
  snapshot.data = std::make_shared<const std::string>(Bytes(options_.max_snapshot_data));
  hard.commit = index;
  ready.snapshot = std::move(snapshot);
  // Entries that arrived after it, in the same Ready.
  AppendEntries(index + 1, hard.term, rng_.Uniform(4), ready);
}

Ready Workload::NextReady() {
  Ready ready;
  HardState hard = model_.hard_state;
  const uint64_t kind = rng_.Uniform(100);
  const uint64_t fixed = std::max(hard.commit, model_.snapshot_index());
  if (kind < 7) {
    InstallSnapshot(hard, ready);
  } else if (kind < 25 && model_.last_index() > fixed) {
    // A new leader's entries replace a suffix that was never committed.
    hard.term += 1;
    hard.vote = Vote();
    const uint64_t first = fixed + 1 + rng_.Uniform(model_.last_index() - fixed);
    AppendEntries(first, hard.term, 1 + rng_.Uniform(6), ready);
  } else if (kind < 80) {
    if (hard.term == 0 || rng_.Bernoulli(0.05)) {
      hard.term += 1;
      hard.vote = Vote();
    }
    AppendEntries(model_.last_index() + 1, hard.term, 1 + rng_.Uniform(8), ready);
  } else if (kind < 88) {
    // An election with no entries.
    hard.term += 1 + rng_.Uniform(2);
    hard.vote = Vote();
  } else if (kind < 93 && hard.vote == kNoNode) {
    hard.vote = rng_.Uniform(5);
  }
  // The commit index moves, over entries of this Ready too (a follower learns it with them).
  if (!ready.snapshot && rng_.Bernoulli(0.5)) {
    const uint64_t last = ready.entries.empty() ? model_.last_index() : ready.entries.back().index;
    hard.commit += rng_.Uniform(last - hard.commit + 1);
  }
  if (!(hard == model_.hard_state)) {
    ready.must_sync = hard.term != model_.hard_state.term || hard.vote != model_.hard_state.vote;
    ready.hard_state = hard;
    compactable_ = hard.commit;
  }
  ready.must_sync = ready.must_sync || ready.snapshot.has_value() || !ready.entries.empty();
  return ready;
}

Snapshot Workload::NextLocalSnapshot() {
  const uint64_t base = model_.snapshot_index();
  const uint64_t index = base + 1 + rng_.Uniform(compactable_ - base);
  Snapshot snapshot;
  snapshot.metadata.index = index;
  snapshot.metadata.term = model_.TermAt(index);
  snapshot.metadata.conf = MakeConf();
  snapshot.data = std::make_shared<const std::string>(Bytes(options_.max_snapshot_data));
  return snapshot;
}

Op Workload::Next() {
  Op op;
  const uint64_t pick = rng_.Uniform(100);
  if (pick < static_cast<uint64_t>(options_.reopen_percent)) {
    op.kind = Op::Kind::kReopen;
    compactable_ = model_.snapshot_index();
  } else if (pick < 12 && compactable_ > model_.snapshot_index()) {
    op.kind = Op::Kind::kSaveSnapshot;
    op.snapshot = NextLocalSnapshot();
  } else {
    op.ready = NextReady();
  }
  model_.Apply(op);
  return op;
}

// --- Checks.

namespace {

bool SameSnapshot(const Snapshot& a, const Snapshot& b) {
  return a.metadata == b.metadata && a.bytes() == b.bytes();
}

bool SameVote(const HardState& a, const HardState& b) {
  return a.term == b.term && a.vote == b.vote;
}

bool IsPrefix(const std::vector<Entry>& prefix, const std::vector<Entry>& of) {
  return prefix.size() <= of.size() && std::equal(prefix.begin(), prefix.end(), of.begin());
}

std::string Describe(const InitialState& state) {
  return base::Cat("term ", state.hard_state.term, " vote ",
                   static_cast<int64_t>(state.hard_state.vote), " commit ", state.hard_state.commit,
                   ", snapshot ", state.snapshot.metadata.index, "@", state.snapshot.metadata.term,
                   ", ", state.entries.size(), " entries to ",
                   state.snapshot.metadata.index + state.entries.size());
}

std::string Describe(const Model& model) {
  InitialState state;
  state.hard_state = model.hard_state;
  state.snapshot = model.snapshot;
  state.entries = model.entries;
  return Describe(state);
}

}  // namespace

absl::Status CheckCommit(const Committed& committed, const InitialState& got) {
  const uint64_t first = got.snapshot.metadata.index;
  const uint64_t commit = got.hard_state.commit;
  if (commit < first || commit > first + got.entries.size()) {
    return absl::DataLossError(base::Cat("commit index outside the log: ", Describe(got)));
  }
  for (uint64_t index = first + 1; index <= commit; ++index) {
    const auto it = committed.find(index);
    if (it == committed.end() || !(it->second == got.entries[index - first - 1])) {
      return absl::DataLossError(base::Cat("commit index ", commit, " covers entry ", index,
                                           ", which was never committed: ", Describe(got)));
    }
  }
  return absl::OkStatus();
}

absl::Status CheckExact(const Model& model, const InitialState& got) {
  if (!SameVote(got.hard_state, model.hard_state) || !SameSnapshot(got.snapshot, model.snapshot) ||
      got.entries != model.entries) {
    return absl::DataLossError(
        base::Cat("recovered ", Describe(got), "; the model has ", Describe(model)));
  }
  return CheckCommit(model.committed, got);
}

absl::Status CheckDamaged(const Model& model, const InitialState& got) {
  if (!SameVote(got.hard_state, model.hard_state) || !SameSnapshot(got.snapshot, model.snapshot) ||
      !IsPrefix(got.entries, model.entries)) {
    return absl::DataLossError(
        base::Cat("recovered ", Describe(got), " from damage; the model has ", Describe(model)));
  }
  return CheckCommit(model.committed, got);
}

absl::Status CheckCrashState(const Model& before, const Model& after, const Op* in_flight,
                             const InitialState& got) {
  if (in_flight == nullptr || in_flight->kind == Op::Kind::kReopen) return CheckExact(after, got);
  const auto mismatch = [&](std::string_view what) {
    return absl::DataLossError(base::Cat(what, " during ", in_flight->ToString(), ": recovered ",
                                         Describe(got), "; before ", Describe(before), "; after ",
                                         Describe(after)));
  };
  if (!SameVote(got.hard_state, before.hard_state) && !SameVote(got.hard_state, after.hard_state)) {
    return mismatch("a term and vote that are neither the old nor the new");
  }
  const bool old_snapshot = SameSnapshot(got.snapshot, before.snapshot);
  if (!old_snapshot && !SameSnapshot(got.snapshot, after.snapshot)) {
    return mismatch("a snapshot that is neither the old nor the new");
  }
  const Ready& ready = in_flight->ready;
  const bool saves_entries = in_flight->kind == Op::Kind::kSave && !ready.entries.empty();
  bool entries_ok = false;
  if (old_snapshot && saves_entries && !ready.snapshot) {
    // A Truncate cut back no further than the first replaced entry, then a prefix appended.
    const uint64_t keep = ready.entries.front().index - 1 - before.snapshot_index();
    entries_ok = got.entries.size() >= keep &&
                 (IsPrefix(got.entries, before.entries) || IsPrefix(got.entries, after.entries));
  } else if (old_snapshot) {
    // Nothing happens to the log before a new snapshot is durable.
    entries_ok = got.entries == before.entries;
  } else if (in_flight->kind == Op::Kind::kSave) {
    // A received snapshot: the log was reset, then refilled with a prefix of the new entries.
    entries_ok = IsPrefix(got.entries, after.entries);
  } else {
    // A local snapshot leaves the entries after it.
    entries_ok = got.entries == after.entries;
  }
  if (!entries_ok) return mismatch("entries that are neither the old nor the new");
  return CheckCommit(after.committed, got);
}

// --- Files.

absl::StatusOr<InitialState> Recover(const std::string& dir, const StorageOptions& options,
                                     const std::vector<NodeId>& voters) {
  KEEL_ASSIGN_OR_RETURN(std::unique_ptr<Storage> storage, Storage::Open(dir, options, voters));
  return storage->TakeInitialState();
}

StorageOptions TestOptions(wal::FileSystem* fs) {
  StorageOptions options;
  options.file_system = fs;
  options.max_segment_bytes = 4096;
  options.max_entry_bytes = 2048;
  options.preallocate_bytes = 0;
  options.salt = 0x5eed;
  return options;
}

std::string ReadWhole(wal::FileSystem& fs, const std::string& path) {
  absl::StatusOr<std::unique_ptr<wal::File>> file = fs.Open(path, wal::OpenMode::kExisting);
  KEEL_ASSERT(file.ok(), file.status().ToString());
  std::string bytes((*file)->size(), '\0');
  absl::StatusOr<size_t> got = (*file)->ReadAt(0, bytes.data(), bytes.size());
  KEEL_ASSERT(got.ok() && *got == bytes.size(), "cannot read ", path);
  return bytes;
}

void WriteWhole(wal::FileSystem& fs, const std::string& path, std::string_view contents) {
  absl::StatusOr<std::unique_ptr<wal::File>> file = fs.Open(path, wal::OpenMode::kExisting);
  KEEL_ASSERT(file.ok(), file.status().ToString());
  KEEL_ASSERT((*file)->Truncate(0).ok() && (*file)->Append(contents).ok(), "cannot write ", path);
}

absl::Status CopyTree(wal::FileSystem& from, wal::FileSystem& to, const std::string& path) {
  KEEL_ASSIGN_OR_RETURN(const std::vector<std::string> names, from.List(path));
  KEEL_RETURN_IF_ERROR(to.CreateDir(path));
  for (const std::string& name : names) {
    const std::string child = base::Cat(path, "/", name);
    if (from.List(child).ok()) {
      KEEL_RETURN_IF_ERROR(CopyTree(from, to, child));
      continue;
    }
    KEEL_ASSIGN_OR_RETURN(std::unique_ptr<wal::File> file, to.Open(child, wal::OpenMode::kCreate));
    KEEL_RETURN_IF_ERROR(file->Append(ReadWhole(from, child)));
  }
  return absl::OkStatus();
}

std::vector<std::string> ListFiles(wal::FileSystem& fs, const std::string& path) {
  std::vector<std::string> files;
  absl::StatusOr<std::vector<std::string>> names = fs.List(path);
  KEEL_ASSERT(names.ok(), names.status().ToString());
  for (const std::string& name : *names) {
    const std::string child = base::Cat(path, "/", name);
    if (fs.List(child).ok()) {
      for (std::string& file : ListFiles(fs, child)) files.push_back(std::move(file));
    } else {
      files.push_back(child);
    }
  }
  return files;
}

}  // namespace keel::raft::storage_testing
