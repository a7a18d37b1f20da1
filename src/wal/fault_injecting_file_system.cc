// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "keel/wal/fault_injecting_file_system.h"

#include <algorithm>

#include "keel/base/status.h"
#include "keel/base/strings.h"

namespace keel::wal {
namespace {

std::string DirOf(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? "." : path.substr(0, slash);
}

absl::Status Injected(std::string_view what, const std::string& path) {
  return absl::UnavailableError(
      base::Cat("injected I/O error: ", what, " ", base::Quoted(path, 256)));
}

}  // namespace

class FaultInjectingFileSystem::FaultFile final : public File {
 public:
  FaultFile(FaultInjectingFileSystem& fs, std::string path, std::unique_ptr<File> file,
            uint64_t epoch)
      : fs_(fs), path_(std::move(path)), file_(std::move(file)), epoch_(epoch) {}

  absl::Status Append(std::string_view data) override {
    {
      std::lock_guard<std::mutex> lock(fs_.mu_);
      KEEL_RETURN_IF_ERROR(fs_.CheckEpoch(epoch_));
      if (fs_.appends_left_ == 0) return Injected("append to", path_);
      KEEL_RETURN_IF_ERROR(fs_.SpendMutation("append to", path_));
      if (fs_.appends_left_ > 0) --fs_.appends_left_;
    }
    KEEL_RETURN_IF_ERROR(file_->Append(data));
    std::lock_guard<std::mutex> lock(fs_.mu_);
    fs_.files_[path_].size = file_->size();
    return absl::OkStatus();
  }

  absl::Status WriteAt(uint64_t offset, std::string_view data) override {
    {
      std::lock_guard<std::mutex> lock(fs_.mu_);
      KEEL_RETURN_IF_ERROR(fs_.CheckEpoch(epoch_));
      KEEL_RETURN_IF_ERROR(fs_.SpendMutation("write to", path_));
    }
    // Remember what the durable bytes held, so that a power cut before the next Sync can put them
    // back; overwritten bytes past the synced size are lost in a cut anyway.
    uint64_t synced_size;
    {
      std::lock_guard<std::mutex> lock(fs_.mu_);
      synced_size = fs_.files_[path_].synced_size;
    }
    Overwrite overwrite{offset, {}};
    if (offset < synced_size) {
      overwrite.old_bytes.resize(
          static_cast<size_t>(std::min<uint64_t>(data.size(), synced_size - offset)));
      KEEL_ASSIGN_OR_RETURN(const size_t got, file_->ReadAt(offset, overwrite.old_bytes.data(),
                                                            overwrite.old_bytes.size()));
      overwrite.old_bytes.resize(got);
    }
    KEEL_RETURN_IF_ERROR(file_->WriteAt(offset, data));
    std::lock_guard<std::mutex> lock(fs_.mu_);
    if (!overwrite.old_bytes.empty()) {
      fs_.files_[path_].overwrites.push_back(std::move(overwrite));
    }
    return absl::OkStatus();
  }

  absl::Status Sync() override {
    {
      std::lock_guard<std::mutex> lock(fs_.mu_);
      KEEL_RETURN_IF_ERROR(fs_.CheckEpoch(epoch_));
      if (fs_.fail_syncs_) return Injected("sync", path_);
      KEEL_RETURN_IF_ERROR(fs_.SpendMutation("sync", path_));
    }
    KEEL_RETURN_IF_ERROR(file_->Sync());
    std::lock_guard<std::mutex> lock(fs_.mu_);
    FileState& state = fs_.files_[path_];
    state.size = file_->size();
    state.synced_size = state.size;
    state.overwrites.clear();
    return absl::OkStatus();
  }

  absl::Status Truncate(uint64_t size) override {
    {
      std::lock_guard<std::mutex> lock(fs_.mu_);
      KEEL_RETURN_IF_ERROR(fs_.CheckEpoch(epoch_));
      KEEL_RETURN_IF_ERROR(fs_.SpendMutation("truncate", path_));
    }
    KEEL_RETURN_IF_ERROR(file_->Truncate(size));
    // A truncation is taken to be durable at once: the bytes it removed stay removed, and so
    // nothing past it is put back by a power cut.
    std::lock_guard<std::mutex> lock(fs_.mu_);
    FileState& state = fs_.files_[path_];
    state.size = size;
    state.synced_size = std::min(state.synced_size, size);
    std::vector<Overwrite>& overwrites = state.overwrites;
    for (Overwrite& o : overwrites) {
      if (o.offset + o.old_bytes.size() > size) {
        o.old_bytes.resize(static_cast<size_t>(size - std::min(o.offset, size)));
      }
    }
    std::erase_if(overwrites, [](const Overwrite& o) { return o.old_bytes.empty(); });
    return absl::OkStatus();
  }

  absl::StatusOr<size_t> ReadAt(uint64_t offset, char* buf, size_t n) const override {
    {
      std::lock_guard<std::mutex> lock(fs_.mu_);
      KEEL_RETURN_IF_ERROR(fs_.CheckEpoch(epoch_));
    }
    return file_->ReadAt(offset, buf, n);
  }

  uint64_t size() const override { return file_->size(); }

 private:
  FaultInjectingFileSystem& fs_;
  std::string path_;
  std::unique_ptr<File> file_;
  uint64_t epoch_;
};

absl::Status FaultInjectingFileSystem::CheckEpoch(uint64_t epoch) const {
  if (epoch == epoch_) return absl::OkStatus();
  return absl::FailedPreconditionError("the file was open when the power was cut");
}

absl::Status FaultInjectingFileSystem::SpendMutation(std::string_view what,
                                                     const std::string& path) {
  if (mutations_left_ == 0) return Injected(what, path);
  if (mutations_left_ > 0) --mutations_left_;
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<File>> FaultInjectingFileSystem::Open(const std::string& path,
                                                                     OpenMode mode) {
  if (mode == OpenMode::kCreate) {
    std::lock_guard<std::mutex> lock(mu_);
    KEEL_RETURN_IF_ERROR(SpendMutation("create", path));
  }
  KEEL_ASSIGN_OR_RETURN(std::unique_ptr<File> file, base_.Open(path, mode));
  std::lock_guard<std::mutex> lock(mu_);
  auto [it, inserted] = files_.try_emplace(path);
  if (inserted || mode == OpenMode::kCreate) {
    // A file we have not seen was durable before we started watching, unless we create it now.
    it->second.creation_durable = mode != OpenMode::kCreate;
    it->second.synced_size = mode == OpenMode::kCreate ? 0 : file->size();
    it->second.overwrites.clear();
  }
  it->second.size = file->size();
  return std::unique_ptr<File>(new FaultFile(*this, path, std::move(file), epoch_));
}

absl::Status FaultInjectingFileSystem::Remove(const std::string& path) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    KEEL_RETURN_IF_ERROR(SpendMutation("remove", path));
  }
  KEEL_RETURN_IF_ERROR(base_.Remove(path));
  std::lock_guard<std::mutex> lock(mu_);
  files_.erase(path);
  return absl::OkStatus();
}

absl::Status FaultInjectingFileSystem::Rename(const std::string& from, const std::string& to) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    KEEL_RETURN_IF_ERROR(SpendMutation("rename", from));
  }
  KEEL_RETURN_IF_ERROR(base_.Rename(from, to));
  std::lock_guard<std::mutex> lock(mu_);
  auto it = files_.find(from);
  if (it != files_.end()) {
    FileState state = it->second;
    files_.erase(it);
    files_[to] = state;
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::string>> FaultInjectingFileSystem::List(const std::string& dir) {
  return base_.List(dir);
}

absl::Status FaultInjectingFileSystem::CreateDir(const std::string& dir) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    KEEL_RETURN_IF_ERROR(SpendMutation("create directory", dir));
  }
  return base_.CreateDir(dir);
}

// Locks are not data: a power cut releases them with the process, which the caller models by
// destroying what held them.
absl::StatusOr<std::unique_ptr<FileLock>> FaultInjectingFileSystem::Lock(const std::string& path) {
  return base_.Lock(path);
}

absl::Status FaultInjectingFileSystem::SyncDir(const std::string& dir) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (fail_syncs_) return Injected("sync directory", dir);
    KEEL_RETURN_IF_ERROR(SpendMutation("sync directory", dir));
  }
  KEEL_RETURN_IF_ERROR(base_.SyncDir(dir));
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& [path, state] : files_) {
    if (DirOf(path) == dir) state.creation_durable = true;
  }
  return absl::OkStatus();
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
  uint64_t total = 0;
  for (const auto& [path, state] : files_) {
    total += state.size - state.synced_size;
    for (const Overwrite& o : state.overwrites) total += o.old_bytes.size();
  }
  return total;
}

absl::Status FaultInjectingFileSystem::PowerCut(base::Random* torn) {
  std::lock_guard<std::mutex> lock(mu_);
  ++epoch_;
  for (auto it = files_.begin(); it != files_.end();) {
    const std::string& path = it->first;
    FileState& state = it->second;
    if (!state.creation_durable) {
      KEEL_RETURN_IF_ERROR(base_.Remove(path));
      it = files_.erase(it);
      continue;
    }
    uint64_t keep = state.synced_size;
    if (torn != nullptr && state.size > state.synced_size) {
      keep += torn->Uniform(state.size - state.synced_size + 1);
    }
    if (keep < state.size || !state.overwrites.empty()) {
      KEEL_ASSIGN_OR_RETURN(std::unique_ptr<File> file, base_.Open(path, OpenMode::kExisting));
      if (keep < state.size) KEEL_RETURN_IF_ERROR(file->Truncate(keep));
      // Newest first, so that overlapping overwrites unwind to the durable bytes. A torn
      // overwrite keeps a prefix of its new bytes.
      for (auto o = state.overwrites.rbegin(); o != state.overwrites.rend(); ++o) {
        const size_t kept_new =
            torn != nullptr ? static_cast<size_t>(torn->Uniform(o->old_bytes.size() + 1)) : 0;
        const std::string_view old_bytes = std::string_view(o->old_bytes).substr(kept_new);
        if (!old_bytes.empty())
          KEEL_RETURN_IF_ERROR(file->WriteAt(o->offset + kept_new, old_bytes));
      }
      KEEL_RETURN_IF_ERROR(file->Sync());
    }
    state.size = keep;
    state.synced_size = keep;
    state.overwrites.clear();
    ++it;
  }
  fail_syncs_ = false;
  appends_left_ = -1;
  mutations_left_ = -1;
  return absl::OkStatus();
}

}  // namespace keel::wal
