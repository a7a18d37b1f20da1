// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// The crash model's state machine: resolving paths, feeding changes, making them durable. What a
// crash keeps of them is in crash_state.cc.
#include "keel/wal/internal/crash_model.h"

#include <algorithm>
#include <set>

#include "keel/base/status.h"
#include "keel/base/strings.h"

namespace keel::wal::internal {
namespace {

constexpr InodeId kAbsoluteRoot = 1;  // "/"
constexpr InodeId kRelativeRoot = 2;  // "."

// The root a path starts from, and its components (without empty ones and "."). Errors:
// kInvalidArgument for "..", which the model does not resolve.
absl::Status SplitPath(std::string_view path, InodeId* root, std::vector<std::string>* parts) {
  *root = !path.empty() && path[0] == '/' ? kAbsoluteRoot : kRelativeRoot;
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    const std::string_view part = path.substr(start, end - start);
    if (part == "..") {
      return absl::InvalidArgumentError(
          base::Cat("the crash model does not resolve \"..\" in ", base::Quoted(path, 256)));
    }
    if (!part.empty() && part != ".") parts->emplace_back(part);
    start = end + 1;
  }
  return absl::OkStatus();
}

absl::Status Unknown(std::string_view what, std::string_view path) {
  return absl::FailedPreconditionError(
      base::Cat("the crash model does not know ", what, " ", base::Quoted(path, 256),
                ": was it changed behind the fault-injecting file system's back?"));
}

// Applies one write, or one truncation, whole.
void ApplyWhole(std::string& content, bool truncate, uint64_t offset, std::string_view bytes) {
  if (truncate) {
    content.resize(static_cast<size_t>(offset));
    return;
  }
  if (content.size() < offset + bytes.size()) content.resize(offset + bytes.size());
  std::copy(bytes.begin(), bytes.end(), content.begin() + static_cast<ptrdiff_t>(offset));
}

}  // namespace

FsOp FsOp::OnEntry(Kind kind, std::string path, std::string to) {
  FsOp op;
  op.kind = kind;
  op.path = std::move(path);
  op.to = std::move(to);
  return op;
}

FsOp FsOp::OnData(Kind kind, std::string path, InodeId inode, uint64_t offset,
                  std::string_view bytes) {
  FsOp op;
  op.kind = kind;
  op.path = std::move(path);
  op.inode = inode;
  op.offset = offset;
  op.bytes = std::string(bytes);
  return op;
}

std::string FsOp::Describe() const {
  const std::string quoted = base::Quoted(path, 256);
  switch (kind) {
    case Kind::kCreateFile:
      return base::Cat("create ", quoted);
    case Kind::kCreateDir:
      return base::Cat("create directory ", quoted);
    case Kind::kRemove:
      return base::Cat("remove ", quoted);
    case Kind::kRename:
      return base::Cat("rename ", quoted, " to ", base::Quoted(to, 256));
    case Kind::kWrite:
      return base::Cat("write ", bytes.size(), " bytes at ", offset, " to ", quoted);
    case Kind::kTruncate:
      return base::Cat("truncate ", quoted, " to ", offset);
    case Kind::kSync:
      return base::Cat("sync ", quoted);
    case Kind::kSyncDir:
      return base::Cat("sync directory ", quoted);
  }
  return "?";
}

CrashModel::CrashModel() {
  inodes_[kAbsoluteRoot].is_dir = true;
  inodes_[kRelativeRoot].is_dir = true;
}

absl::StatusOr<CrashModel::Resolved> CrashModel::Resolve(std::string_view path) const {
  InodeId dir;
  std::vector<std::string> parts;
  KEEL_RETURN_IF_ERROR(SplitPath(path, &dir, &parts));
  if (parts.empty()) {
    return absl::InvalidArgumentError(
        base::Cat(base::Quoted(path, 256), " is a root, not an entry of a directory"));
  }
  for (size_t i = 0; i + 1 < parts.size(); ++i) {
    const Inode& inode = inodes_.at(dir);
    const auto it = inode.live_entries.find(parts[i]);
    if (it == inode.live_entries.end() || !inodes_.at(it->second).is_dir) {
      return Unknown("every directory on the way to", path);
    }
    dir = it->second;
  }
  return Resolved{dir, parts.back()};
}

std::optional<CrashModel::Entry> CrashModel::Lookup(std::string_view path) const {
  InodeId root;
  std::vector<std::string> parts;
  if (!SplitPath(path, &root, &parts).ok()) return std::nullopt;
  if (parts.empty()) return Entry{root, true};
  const absl::StatusOr<Resolved> where = Resolve(path);
  if (!where.ok()) return std::nullopt;
  const Inode& dir = inodes_.at(where->dir);
  const auto it = dir.live_entries.find(where->name);
  if (it == dir.live_entries.end()) return std::nullopt;
  return Entry{it->second, inodes_.at(it->second).is_dir};
}

absl::Status CrashModel::AddExistingDirs(std::string_view dir) {
  InodeId at;
  std::vector<std::string> parts;
  KEEL_RETURN_IF_ERROR(SplitPath(dir, &at, &parts));
  for (const std::string& part : parts) {
    Inode& parent = inodes_.at(at);
    const auto it = parent.live_entries.find(part);
    if (it != parent.live_entries.end()) {
      if (!inodes_.at(it->second).is_dir) return Unknown("the directory", dir);
      at = it->second;
      continue;
    }
    if (trace_ != nullptr) return Unknown("the directory", dir);
    const InodeId id = next_inode_++;
    inodes_[id].is_dir = true;
    parent.live_entries[part] = id;
    parent.durable_entries[part] = id;
    at = id;
  }
  return absl::OkStatus();
}

absl::StatusOr<InodeId> CrashModel::AddExistingFile(std::string_view path) {
  if (trace_ != nullptr) return Unknown("the file", path);
  const size_t slash = path.find_last_of('/');
  if (slash != std::string_view::npos) {
    KEEL_RETURN_IF_ERROR(AddExistingDirs(path.substr(0, slash == 0 ? 1 : slash)));
  }
  KEEL_ASSIGN_OR_RETURN(const Resolved where, Resolve(path));
  Inode& parent = inodes_.at(where.dir);
  if (parent.live_entries.contains(where.name)) {
    return absl::AlreadyExistsError(
        base::Cat("the crash model already knows ", base::Quoted(path, 256)));
  }
  const InodeId id = next_inode_++;
  inodes_[id].content_known = false;
  parent.live_entries[where.name] = id;
  parent.durable_entries[where.name] = id;
  return id;
}

bool CrashModel::NeedsContent(InodeId inode) const {
  const auto it = inodes_.find(inode);
  return it != inodes_.end() && !it->second.is_dir && !it->second.content_known;
}

void CrashModel::SetContent(InodeId inode, std::string bytes) {
  Inode& file = inodes_.at(inode);
  KEEL_ASSERT(!file.is_dir && !file.content_known && file.pending.empty());
  file.live_size = bytes.size();
  file.durable = std::move(bytes);
  file.content_known = true;
}

uint64_t CrashModel::LiveSize(InodeId inode) const { return inodes_.at(inode).live_size; }

bool CrashModel::HasPendingData(InodeId inode) const {
  const auto it = inodes_.find(inode);
  return it != inodes_.end() && !it->second.pending.empty();
}

uint64_t CrashModel::UnsyncedBytes() const {
  uint64_t total = 0;
  for (const auto& [id, inode] : inodes_) {
    for (const DataOp& op : inode.pending) total += op.bytes.size();
  }
  return total;
}

absl::Status CrashModel::Apply(FsOp op) {
  switch (op.kind) {
    case FsOp::Kind::kCreateFile:
    case FsOp::Kind::kCreateDir:
    case FsOp::Kind::kRemove:
    case FsOp::Kind::kRename:
      KEEL_RETURN_IF_ERROR(ApplyEntryOp(op));
      break;
    case FsOp::Kind::kWrite:
    case FsOp::Kind::kTruncate:
    case FsOp::Kind::kSync:
      KEEL_RETURN_IF_ERROR(ApplyDataOp(op));
      break;
    case FsOp::Kind::kSyncDir: {
      const std::optional<Entry> dir = Lookup(op.path);
      if (!dir || !dir->is_dir) return Unknown("the directory", op.path);
      SyncDir(dir->inode);
      CollectGarbage();
      break;
    }
  }
  ++mutations_;
  if (trace_ != nullptr) trace_->push_back(std::move(op));
  return absl::OkStatus();
}

absl::Status CrashModel::ApplyEntryOp(const FsOp& op) {
  KEEL_ASSIGN_OR_RETURN(const Resolved where, Resolve(op.path));
  std::map<std::string, InodeId>& entries = inodes_.at(where.dir).live_entries;
  const auto it = entries.find(where.name);
  DirOp dir_op{mutations_ + 1,
               op.kind,
               where.dir,
               where.name,
               0,
               "",
               0,
               base::Cat("#", mutations_ + 1, " ", op.Describe())};
  if (op.kind == FsOp::Kind::kCreateFile || op.kind == FsOp::Kind::kCreateDir) {
    if (it != entries.end()) {
      return absl::FailedPreconditionError(
          base::Cat("the crash model already has ", base::Quoted(op.path, 256)));
    }
    dir_op.inode = next_inode_++;
    Inode& inode = inodes_[dir_op.inode];
    inode.is_dir = op.kind == FsOp::Kind::kCreateDir;
    entries[where.name] = dir_op.inode;
    dir_pending_.push_back(std::move(dir_op));
    return absl::OkStatus();
  }
  if (it == entries.end()) return Unknown("the entry", op.path);
  const InodeId id = it->second;
  const Inode& inode = inodes_.at(id);
  if (!inode.is_dir && !inode.content_known) return Unknown("the bytes of", op.path);
  dir_op.inode = id;
  if (op.kind == FsOp::Kind::kRemove) {
    if (inode.is_dir && !inode.live_entries.empty()) {
      return absl::FailedPreconditionError(
          base::Cat("the crash model has entries in ", base::Quoted(op.path, 256)));
    }
    entries.erase(it);
    dir_pending_.push_back(std::move(dir_op));
    return absl::OkStatus();
  }
  // kRename.
  if (inode.is_dir) {
    return absl::UnimplementedError(base::Cat("the crash model does not rename directories (",
                                              base::Quoted(op.path, 256), ")"));
  }
  KEEL_ASSIGN_OR_RETURN(const Resolved target, Resolve(op.to));
  if (target.dir == where.dir && target.name == where.name) return absl::OkStatus();
  std::map<std::string, InodeId>& to_entries = inodes_.at(target.dir).live_entries;
  const auto replaced = to_entries.find(target.name);
  if (replaced != to_entries.end()) {
    const Inode& old = inodes_.at(replaced->second);
    if (old.is_dir) return Unknown("the file", op.to);
    if (!old.content_known) return Unknown("the bytes of", op.to);
  }
  to_entries[target.name] = id;
  entries.erase(where.name);
  dir_op.to_dir = target.dir;
  dir_op.to_name = target.name;
  dir_pending_.push_back(std::move(dir_op));
  return absl::OkStatus();
}

absl::Status CrashModel::ApplyDataOp(const FsOp& op) {
  const auto it = inodes_.find(op.inode);
  // A file whose removal is durable and that no crash can bring back may still be open: what is
  // done to it can never be seen.
  if (it == inodes_.end()) return absl::OkStatus();
  Inode& inode = it->second;
  if (inode.is_dir) return Unknown("the file", op.path);
  if (!inode.content_known) return Unknown("the bytes of", op.path);
  if (op.kind == FsOp::Kind::kSync) {
    for (const DataOp& data : inode.pending) {
      ApplyWhole(inode.durable, data.truncate, data.offset, data.bytes);
    }
    inode.pending.clear();
    return absl::OkStatus();
  }
  DataOp data{mutations_ + 1,  op.kind == FsOp::Kind::kTruncate,
              op.offset,       op.bytes,
              inode.live_size, op.path};
  inode.live_size =
      data.truncate ? op.offset : std::max(inode.live_size, op.offset + op.bytes.size());
  inode.pending.push_back(std::move(data));
  return absl::OkStatus();
}

// Makes the pending operations on `dir` durable, with every earlier one on the same names (and,
// through renames, on the names those touch). REQUIRES: `dir` is a directory.
void CrashModel::SyncDir(InodeId dir) {
  const std::vector<std::vector<size_t>> deps = DirDeps();
  std::vector<bool> durable(dir_pending_.size(), false);
  for (size_t i = dir_pending_.size(); i-- > 0;) {
    const DirOp& op = dir_pending_[i];
    if (op.dir == dir || (op.kind == FsOp::Kind::kRename && op.to_dir == dir)) durable[i] = true;
    if (durable[i]) {
      for (const size_t d : deps[i]) durable[d] = true;
    }
  }
  std::vector<DirOp> still_pending;
  for (size_t i = 0; i < dir_pending_.size(); ++i) {
    DirOp& op = dir_pending_[i];
    if (!durable[i]) {
      still_pending.push_back(std::move(op));
      continue;
    }
    std::map<std::string, InodeId>& entries = inodes_.at(op.dir).durable_entries;
    if (op.kind == FsOp::Kind::kRemove) {
      entries.erase(op.name);
    } else if (op.kind == FsOp::Kind::kRename) {
      entries.erase(op.name);
      inodes_.at(op.to_dir).durable_entries[op.to_name] = op.inode;
    } else {
      entries[op.name] = op.inode;
    }
  }
  dir_pending_ = std::move(still_pending);
}

// For each pending entry operation, the latest earlier one on each name it touches.
std::vector<std::vector<size_t>> CrashModel::DirDeps() const {
  std::vector<std::vector<size_t>> deps(dir_pending_.size());
  std::map<std::pair<InodeId, std::string>, size_t> last;
  for (size_t i = 0; i < dir_pending_.size(); ++i) {
    const DirOp& op = dir_pending_[i];
    std::pair<InodeId, std::string> keys[2] = {{op.dir, op.name}, {op.to_dir, op.to_name}};
    const size_t n = op.kind == FsOp::Kind::kRename ? 2 : 1;
    for (size_t k = 0; k < n; ++k) {
      const auto [it, inserted] = last.try_emplace(keys[k], i);
      if (!inserted) {
        deps[i].push_back(it->second);
        it->second = i;
      }
    }
  }
  return deps;
}

// Forgets inodes that no entry, durable or live, and no pending operation can reach.
void CrashModel::CollectGarbage() {
  std::set<InodeId> reached;
  std::vector<InodeId> work = {kAbsoluteRoot, kRelativeRoot};
  for (const DirOp& op : dir_pending_) {
    work.push_back(op.inode);
    work.push_back(op.dir);
    if (op.to_dir != 0) work.push_back(op.to_dir);
  }
  while (!work.empty()) {
    const InodeId id = work.back();
    work.pop_back();
    if (!reached.insert(id).second) continue;
    const Inode& inode = inodes_.at(id);
    for (const auto& [name, child] : inode.durable_entries) work.push_back(child);
    for (const auto& [name, child] : inode.live_entries) work.push_back(child);
  }
  std::erase_if(inodes_, [&](const auto& entry) { return !reached.contains(entry.first); });
}

}  // namespace keel::wal::internal
