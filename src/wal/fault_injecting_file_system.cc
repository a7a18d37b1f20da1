// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// FaultInjectingFileSystem: every change goes to the base and then to the crash model
// (keel/wal/internal/crash_model.h); a power cut asks the model for a crash state and rewrites
// the base to match it.
#include "keel/wal/fault_injecting_file_system.h"

#include <set>

#include "keel/base/status.h"
#include "keel/base/strings.h"
#include "keel/wal/internal/crash_model.h"

namespace keel::wal {
namespace {

using internal::FsOp;

absl::Status Injected(std::string_view what, const std::string& path) {
  return absl::UnavailableError(
      base::Cat("injected I/O error: ", what, " ", base::Quoted(path, 256)));
}

// The directory holding `path`'s last component: "/" for "/x", "." for "x".
std::string DirOf(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

// `path` without trailing slashes (but "/" stays).
std::string Trimmed(std::string path) {
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  return path;
}

absl::StatusOr<std::string> ReadAll(const File& file) {
  std::string bytes(file.size(), '\0');
  KEEL_ASSIGN_OR_RETURN(const size_t got, file.ReadAt(0, bytes.data(), bytes.size()));
  bytes.resize(got);
  return bytes;
}

}  // namespace

class FaultInjectingFileSystem::FaultFile final : public File {
 public:
  FaultFile(FaultInjectingFileSystem& fs, std::string path, internal::InodeId inode,
            std::unique_ptr<File> file, uint64_t epoch)
      : fs_(fs), path_(std::move(path)), inode_(inode), file_(std::move(file)), epoch_(epoch) {}

  absl::Status Append(std::string_view data) override {
    std::lock_guard<std::mutex> lock(fs_.mu_);
    KEEL_RETURN_IF_ERROR(fs_.CheckEpoch(epoch_));
    if (fs_.appends_left_ == 0) return Injected("append to", path_);
    KEEL_RETURN_IF_ERROR(fs_.SpendMutation("append to", path_));
    if (fs_.appends_left_ > 0) --fs_.appends_left_;
    KEEL_RETURN_IF_ERROR(LearnContent());
    const uint64_t offset = file_->size();
    KEEL_RETURN_IF_ERROR(file_->Append(data));
    return fs_.model_->Apply(FsOp::OnData(FsOp::Kind::kWrite, path_, inode_, offset, data));
  }

  absl::Status WriteAt(uint64_t offset, std::string_view data) override {
    std::lock_guard<std::mutex> lock(fs_.mu_);
    KEEL_RETURN_IF_ERROR(fs_.CheckEpoch(epoch_));
    KEEL_RETURN_IF_ERROR(fs_.SpendMutation("write to", path_));
    KEEL_RETURN_IF_ERROR(LearnContent());
    KEEL_RETURN_IF_ERROR(file_->WriteAt(offset, data));
    return fs_.model_->Apply(FsOp::OnData(FsOp::Kind::kWrite, path_, inode_, offset, data));
  }

  absl::Status Sync() override {
    std::lock_guard<std::mutex> lock(fs_.mu_);
    KEEL_RETURN_IF_ERROR(fs_.CheckEpoch(epoch_));
    if (fs_.fail_syncs_) return Injected("sync", path_);
    KEEL_RETURN_IF_ERROR(fs_.SpendMutation("sync", path_));
    KEEL_RETURN_IF_ERROR(file_->Sync());
    // A file that existed before and was never changed has nothing to sync: the model need not
    // learn its bytes for that.
    if (fs_.model_->NeedsContent(inode_)) return absl::OkStatus();
    return fs_.model_->Apply(FsOp::OnData(FsOp::Kind::kSync, path_, inode_));
  }

  absl::Status Truncate(uint64_t size) override {
    std::lock_guard<std::mutex> lock(fs_.mu_);
    KEEL_RETURN_IF_ERROR(fs_.CheckEpoch(epoch_));
    KEEL_RETURN_IF_ERROR(fs_.SpendMutation("truncate", path_));
    KEEL_RETURN_IF_ERROR(LearnContent());
    KEEL_RETURN_IF_ERROR(file_->Truncate(size));
    return fs_.model_->Apply(FsOp::OnData(FsOp::Kind::kTruncate, path_, inode_, size));
  }

  absl::StatusOr<size_t> ReadAt(uint64_t offset, char* buf, size_t n) const override {
    KEEL_RETURN_IF_ERROR(fs_.CheckEpoch(epoch_));
    return file_->ReadAt(offset, buf, n);
  }

  uint64_t size() const override { return file_->size(); }

 private:
  // The first change to a file that existed before: the model learns what it held, which was
  // durable. REQUIRES: fs_.mu_ held.
  absl::Status LearnContent() {
    if (!fs_.model_->NeedsContent(inode_)) return absl::OkStatus();
    KEEL_ASSIGN_OR_RETURN(std::string bytes, ReadAll(*file_));
    fs_.model_->SetContent(inode_, std::move(bytes));
    return absl::OkStatus();
  }

  FaultInjectingFileSystem& fs_;
  std::string path_;
  internal::InodeId inode_;
  std::unique_ptr<File> file_;
  uint64_t epoch_;
};

FaultInjectingFileSystem::FaultInjectingFileSystem(FileSystem& base)
    : base_(base), model_(std::make_unique<internal::CrashModel>()) {}

FaultInjectingFileSystem::~FaultInjectingFileSystem() = default;

absl::Status FaultInjectingFileSystem::CheckEpoch(uint64_t epoch) const {
  if (epoch == epoch_.load(std::memory_order_acquire)) return absl::OkStatus();
  return absl::FailedPreconditionError("the file was open when the power was cut");
}

absl::Status FaultInjectingFileSystem::SpendMutation(std::string_view what,
                                                     const std::string& path) {
  if (mutations_left_ == 0) return Injected(what, path);
  if (mutations_left_ > 0) --mutations_left_;
  return absl::OkStatus();
}

bool FaultInjectingFileSystem::Exists(const std::string& path) {
  if (model_->Lookup(path)) return true;
  return base_.List(path).ok() || base_.Open(path, OpenMode::kExisting).ok();
}

absl::Status FaultInjectingFileSystem::LearnFile(const std::string& path) {
  std::optional<internal::CrashModel::Entry> entry = model_->Lookup(path);
  if (entry && (entry->is_dir || !model_->NeedsContent(entry->inode))) return absl::OkStatus();
  absl::StatusOr<std::unique_ptr<File>> file = base_.Open(path, OpenMode::kExisting);
  // Nothing there (or a directory): the operation will fail on the base, or has no bytes to lose.
  if (!file.ok()) return absl::OkStatus();
  KEEL_ASSIGN_OR_RETURN(std::string bytes, ReadAll(**file));
  if (!entry) {
    KEEL_ASSIGN_OR_RETURN(const internal::InodeId id, model_->AddExistingFile(path));
    entry = internal::CrashModel::Entry{id, false};
  }
  model_->SetContent(entry->inode, std::move(bytes));
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<File>> FaultInjectingFileSystem::Open(const std::string& name,
                                                                     OpenMode mode) {
  const std::string path = Trimmed(name);
  std::lock_guard<std::mutex> lock(mu_);
  if (mode == OpenMode::kCreate) KEEL_RETURN_IF_ERROR(SpendMutation("create", path));
  KEEL_ASSIGN_OR_RETURN(std::unique_ptr<File> file, base_.Open(path, mode));
  internal::InodeId inode;
  if (mode == OpenMode::kCreate) {
    KEEL_RETURN_IF_ERROR(model_->AddExistingDirs(DirOf(path)));
    KEEL_RETURN_IF_ERROR(model_->Apply(FsOp::OnEntry(FsOp::Kind::kCreateFile, path)));
    inode = model_->Lookup(path)->inode;
  } else if (const auto entry = model_->Lookup(path)) {
    inode = entry->inode;
  } else {
    // Existed before we watched: durable as it is now, its bytes read when first needed.
    KEEL_ASSIGN_OR_RETURN(inode, model_->AddExistingFile(path));
  }
  return std::unique_ptr<File>(
      new FaultFile(*this, path, inode, std::move(file), epoch_.load(std::memory_order_acquire)));
}

absl::Status FaultInjectingFileSystem::Remove(const std::string& name) {
  const std::string path = Trimmed(name);
  std::lock_guard<std::mutex> lock(mu_);
  KEEL_RETURN_IF_ERROR(SpendMutation("remove", path));
  KEEL_RETURN_IF_ERROR(LearnFile(path));
  KEEL_RETURN_IF_ERROR(base_.Remove(path));
  return model_->Apply(FsOp::OnEntry(FsOp::Kind::kRemove, path));
}

absl::Status FaultInjectingFileSystem::Rename(const std::string& from_name,
                                              const std::string& to_name) {
  const std::string from = Trimmed(from_name);
  const std::string to = Trimmed(to_name);
  std::lock_guard<std::mutex> lock(mu_);
  KEEL_RETURN_IF_ERROR(SpendMutation("rename", from));
  const auto entry = model_->Lookup(from);
  if ((entry && entry->is_dir) || (!entry && base_.List(from).ok())) {
    return absl::UnimplementedError(base::Cat(
        "FaultInjectingFileSystem does not rename directories (", base::Quoted(from, 256), ")"));
  }
  KEEL_RETURN_IF_ERROR(LearnFile(from));
  KEEL_RETURN_IF_ERROR(LearnFile(to));
  KEEL_RETURN_IF_ERROR(base_.Rename(from, to));
  KEEL_RETURN_IF_ERROR(model_->AddExistingDirs(DirOf(to)));
  return model_->Apply(FsOp::OnEntry(FsOp::Kind::kRename, from, to));
}

absl::StatusOr<std::vector<std::string>> FaultInjectingFileSystem::List(const std::string& dir) {
  return base_.List(dir);
}

absl::Status FaultInjectingFileSystem::CreateDir(const std::string& name) {
  const std::string dir = Trimmed(name);
  std::lock_guard<std::mutex> lock(mu_);
  KEEL_RETURN_IF_ERROR(SpendMutation("create directory", dir));
  const bool existed = Exists(dir);
  KEEL_RETURN_IF_ERROR(base_.CreateDir(dir));
  if (existed) return absl::OkStatus();  // nothing changed
  KEEL_RETURN_IF_ERROR(model_->AddExistingDirs(DirOf(dir)));
  return model_->Apply(FsOp::OnEntry(FsOp::Kind::kCreateDir, dir));
}

absl::Status FaultInjectingFileSystem::RemoveDir(const std::string& name) {
  const std::string dir = Trimmed(name);
  std::lock_guard<std::mutex> lock(mu_);
  KEEL_RETURN_IF_ERROR(SpendMutation("remove directory", dir));
  KEEL_RETURN_IF_ERROR(base_.RemoveDir(dir));
  // It was there, and empty: if the model did not know it, it was there before we watched.
  KEEL_RETURN_IF_ERROR(model_->AddExistingDirs(dir));
  return model_->Apply(FsOp::OnEntry(FsOp::Kind::kRemove, dir));
}

absl::Status FaultInjectingFileSystem::SyncDir(const std::string& name) {
  const std::string dir = Trimmed(name);
  std::lock_guard<std::mutex> lock(mu_);
  if (fail_syncs_) return Injected("sync directory", dir);
  KEEL_RETURN_IF_ERROR(SpendMutation("sync directory", dir));
  KEEL_RETURN_IF_ERROR(base_.SyncDir(dir));
  KEEL_RETURN_IF_ERROR(model_->AddExistingDirs(dir));
  return model_->Apply(FsOp::OnEntry(FsOp::Kind::kSyncDir, dir));
}

// A lock is not data, and a power cut releases it with the process (the caller models that by
// destroying what held it); but taking one creates its file if there is none, an entry like any
// other.
absl::StatusOr<std::unique_ptr<FileLock>> FaultInjectingFileSystem::Lock(const std::string& name) {
  const std::string path = Trimmed(name);
  std::lock_guard<std::mutex> lock(mu_);
  const bool existed = Exists(path);
  KEEL_ASSIGN_OR_RETURN(std::unique_ptr<FileLock> file_lock, base_.Lock(path));
  if (!existed) {
    KEEL_RETURN_IF_ERROR(model_->AddExistingDirs(DirOf(path)));
    KEEL_RETURN_IF_ERROR(model_->Apply(FsOp::OnEntry(FsOp::Kind::kCreateFile, path)));
  }
  return file_lock;
}

void FaultInjectingFileSystem::FailSyncs(bool fail) {
  std::lock_guard<std::mutex> lock(mu_);
  fail_syncs_ = fail;
}

void FaultInjectingFileSystem::FailAppendsAfter(int64_t n) {
  std::lock_guard<std::mutex> lock(mu_);
  appends_left_ = n < 0 ? -1 : n;
}

void FaultInjectingFileSystem::FailMutationsAfter(int64_t n) {
  std::lock_guard<std::mutex> lock(mu_);
  mutations_left_ = n < 0 ? -1 : n;
}

uint64_t FaultInjectingFileSystem::UnsyncedBytes() const {
  std::lock_guard<std::mutex> lock(mu_);
  return model_->UnsyncedBytes();
}

absl::Status FaultInjectingFileSystem::PowerCut(base::Random* random) {
  return CutPower(random, PowerCutOptions{});
}

absl::Status FaultInjectingFileSystem::PowerCut(base::Random& random,
                                                const PowerCutOptions& options) {
  return CutPower(&random, options);
}

absl::Status FaultInjectingFileSystem::CutPower(base::Random* random,
                                                const PowerCutOptions& options) {
  std::lock_guard<std::mutex> lock(mu_);
  if (tracing_) {
    return absl::FailedPreconditionError(
        "a CrashExplorer is recording through this file system: it crashes the recording itself");
  }
  epoch_.fetch_add(1, std::memory_order_acq_rel);
  fail_syncs_ = false;
  appends_left_ = -1;
  mutations_left_ = -1;
  const std::vector<internal::CrashPiece> pieces = model_->Pieces();
  const internal::CrashChoice choice =
      random == nullptr
          ? internal::NothingPersisted(pieces)
          : internal::RandomChoice(
                pieces, *random,
                {options.reorder_pages, options.lose_directory_entries, options.tear_sectors});
  const internal::CrashImage live = model_->LiveImage();
  const internal::CrashImage crash = model_->Image(pieces, choice);

  // What goes: every live entry the crash does not keep as it is (another inode, or none), and
  // everything under a directory that goes. Children before parents.
  std::set<std::string> gone;
  for (const auto& [path, node] : live.nodes) {
    const auto kept = crash.nodes.find(path);
    if (gone.contains(DirOf(path)) || kept == crash.nodes.end() ||
        kept->second.inode != node.inode) {
      gone.insert(path);
    }
  }
  for (auto it = live.nodes.rbegin(); it != live.nodes.rend(); ++it) {
    if (!gone.contains(it->first)) continue;
    KEEL_RETURN_IF_ERROR(it->second.is_dir ? base_.RemoveDir(it->first) : base_.Remove(it->first));
  }
  // What comes back or changes. Parents before children.
  for (const auto& [path, node] : crash.nodes) {
    const auto was = live.nodes.find(path);
    const bool there = was != live.nodes.end() && !gone.contains(path);
    if (node.is_dir) {
      if (!there) KEEL_RETURN_IF_ERROR(base_.CreateDir(path));
      continue;
    }
    if (!node.content_known) {
      // Never changed while watched, so it can only be where it always was.
      if (there) continue;
      return absl::InternalError(
          base::Cat("the crash model lost track of ", base::Quoted(path, 256)));
    }
    if (there && was->second.content == node.content) continue;
    KEEL_ASSIGN_OR_RETURN(std::unique_ptr<File> file,
                          base_.Open(path, there ? OpenMode::kExisting : OpenMode::kCreate));
    if (there) KEEL_RETURN_IF_ERROR(file->Truncate(0));
    KEEL_RETURN_IF_ERROR(file->Append(node.content));
  }
  model_->Crash(pieces, choice);
  return absl::OkStatus();
}

}  // namespace keel::wal
