// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// FileSystem in memory: a tree of nodes under one mutex. Errors are built from the errno values
// the POSIX calls would set, so that codes and messages match Posix()'s (see
// posix_file_system.cc).
#include "keel/wal/memory_file_system.h"

#include <errno.h>

#include <cstring>
#include <map>
#include <mutex>

#include "keel/base/assert.h"
#include "keel/base/strings.h"

namespace keel::wal {
namespace {

struct Node {
  explicit Node(bool dir) : is_dir(dir) {}

  const bool is_dir;
  std::string data;                                      // a file's bytes
  std::map<std::string, std::shared_ptr<Node>> entries;  // a directory's, by name
  bool locked = false;                                   // a FileLock holds it
};

absl::Status Errno(int error, std::string_view what, const std::string& path) {
  return absl::Status(absl::ErrnoToStatusCode(error),
                      base::Cat(what, " ", base::Quoted(path, 256), ": ", std::strerror(error)));
}

// The components of `path`, without empty ones and ".". Errors: ENOENT for an empty path,
// EINVAL (kInvalidArgument) for "..", which this file system does not resolve.
int Split(const std::string& path, std::vector<std::string>* parts) {
  if (path.empty()) return ENOENT;
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string::npos) end = path.size();
    const std::string_view part = std::string_view(path).substr(start, end - start);
    if (part == "..") return EINVAL;
    if (!part.empty() && part != ".") parts->emplace_back(part);
    start = end + 1;
  }
  return 0;
}

// Where a path leads: the directory that holds its last component, that component and the node
// it names (null when there is none). The root has no parent and no name.
struct Place {
  std::vector<std::string> parts;
  Node* parent = nullptr;
  std::string name;
  std::shared_ptr<Node> node;
};

// Walks `path` from `root`. Errors (as errno): the path's own (see Split), ENOENT for a missing
// directory on the way, ENOTDIR for a file on the way.
int Walk(const std::shared_ptr<Node>& root, const std::string& path, Place* place) {
  if (const int error = Split(path, &place->parts)) return error;
  if (place->parts.empty()) {
    place->node = root;
    return 0;
  }
  Node* dir = root.get();
  for (size_t i = 0; i + 1 < place->parts.size(); ++i) {
    const auto it = dir->entries.find(place->parts[i]);
    if (it == dir->entries.end()) return ENOENT;
    if (!it->second->is_dir) return ENOTDIR;
    dir = it->second.get();
  }
  place->parent = dir;
  place->name = place->parts.back();
  const auto it = dir->entries.find(place->name);
  if (it != dir->entries.end()) place->node = it->second;
  return 0;
}

// As Walk, for a path that must name a directory: ENOENT when it names nothing, ENOTDIR when it
// names a file.
int WalkToDir(const std::shared_ptr<Node>& root, const std::string& path, Place* place) {
  int error = Walk(root, path, place);
  if (error == 0 && place->node == nullptr) error = ENOENT;
  if (error == 0 && !place->node->is_dir) error = ENOTDIR;
  return error;
}

}  // namespace

struct MemoryFileSystem::Tree {
  mutable std::mutex mu;
  std::shared_ptr<Node> root = std::make_shared<Node>(/*dir=*/true);
};

namespace {

class MemoryFile final : public File {
 public:
  MemoryFile(std::shared_ptr<const void> tree, std::shared_ptr<Node> node, std::string path,
             std::mutex& mu)
      : tree_(std::move(tree)), node_(std::move(node)), path_(std::move(path)), mu_(mu) {}

  absl::Status Append(std::string_view data) override {
    std::lock_guard<std::mutex> lock(mu_);
    node_->data.append(data);
    return absl::OkStatus();
  }

  absl::Status WriteAt(uint64_t offset, std::string_view data) override {
    std::lock_guard<std::mutex> lock(mu_);
    KEEL_ASSERT(offset + data.size() <= node_->data.size(), "overwriting ", path_, " at ", offset,
                " for ", data.size(), " bytes would grow it");
    node_->data.replace(static_cast<size_t>(offset), data.size(), data);
    return absl::OkStatus();
  }

  absl::Status Sync() override { return absl::OkStatus(); }

  absl::Status Truncate(uint64_t size) override {
    std::lock_guard<std::mutex> lock(mu_);
    KEEL_ASSERT(size <= node_->data.size(), "truncating ", path_, " to ", size, " would grow it");
    node_->data.resize(static_cast<size_t>(size));
    return absl::OkStatus();
  }

  absl::StatusOr<size_t> ReadAt(uint64_t offset, char* buf, size_t n) const override {
    std::lock_guard<std::mutex> lock(mu_);
    const std::string& data = node_->data;
    if (offset >= data.size()) return size_t{0};
    const size_t got = std::min<size_t>(n, data.size() - static_cast<size_t>(offset));
    std::memcpy(buf, data.data() + offset, got);
    return got;
  }

  uint64_t size() const override {
    std::lock_guard<std::mutex> lock(mu_);
    return node_->data.size();
  }

 private:
  std::shared_ptr<const void> tree_;  // keeps mu_ alive
  std::shared_ptr<Node> node_;
  std::string path_;
  std::mutex& mu_;
};

class MemoryFileLock final : public FileLock {
 public:
  MemoryFileLock(std::shared_ptr<const void> tree, std::shared_ptr<Node> node, std::mutex& mu)
      : tree_(std::move(tree)), node_(std::move(node)), mu_(mu) {}
  ~MemoryFileLock() override {
    std::lock_guard<std::mutex> lock(mu_);
    node_->locked = false;
  }

 private:
  std::shared_ptr<const void> tree_;  // keeps mu_ alive
  std::shared_ptr<Node> node_;
  std::mutex& mu_;
};

uint64_t BytesUnder(const Node& node) {
  uint64_t total = node.data.size();
  for (const auto& [name, child] : node.entries) total += BytesUnder(*child);
  return total;
}

}  // namespace

MemoryFileSystem::MemoryFileSystem() : tree_(std::make_shared<Tree>()) {}
MemoryFileSystem::~MemoryFileSystem() = default;

absl::StatusOr<std::unique_ptr<File>> MemoryFileSystem::Open(const std::string& path,
                                                             OpenMode mode) {
  std::lock_guard<std::mutex> lock(tree_->mu);
  Place place;
  if (const int error = Walk(tree_->root, path, &place)) return Errno(error, "cannot open", path);
  if (mode == OpenMode::kCreate) {
    if (place.node != nullptr) return Errno(EEXIST, "cannot open", path);
    place.node = std::make_shared<Node>(/*dir=*/false);
    place.parent->entries[place.name] = place.node;
  } else {
    if (place.node == nullptr) return Errno(ENOENT, "cannot open", path);
    if (place.node->is_dir) return Errno(EISDIR, "cannot open", path);
  }
  return std::unique_ptr<File>(new MemoryFile(tree_, std::move(place.node), path, tree_->mu));
}

absl::Status MemoryFileSystem::Remove(const std::string& path) {
  std::lock_guard<std::mutex> lock(tree_->mu);
  Place place;
  int error = Walk(tree_->root, path, &place);
  if (error == 0 && place.node == nullptr) error = ENOENT;
  if (error == 0 && place.node->is_dir) error = EISDIR;
  if (error != 0) return Errno(error, "cannot remove", path);
  place.parent->entries.erase(place.name);
  return absl::OkStatus();
}

absl::Status MemoryFileSystem::Rename(const std::string& from, const std::string& to) {
  std::lock_guard<std::mutex> lock(tree_->mu);
  Place source;
  Place target;
  int error = Walk(tree_->root, from, &source);
  if (error == 0 && source.node == nullptr) error = ENOENT;
  if (error == 0) error = Walk(tree_->root, to, &target);
  if (error == 0 && (source.parent == nullptr || target.parent == nullptr)) error = EBUSY;
  if (error == 0 && source.node == target.node) return absl::OkStatus();  // rename(2) does nothing
  if (error == 0 && source.node->is_dir) {
    // A directory may replace only an empty directory, and may not move into itself.
    if (target.node != nullptr && !target.node->is_dir) error = ENOTDIR;
    if (target.node != nullptr && target.node->is_dir && !target.node->entries.empty()) {
      error = ENOTEMPTY;
    }
    if (target.parts.size() > source.parts.size() &&
        std::equal(source.parts.begin(), source.parts.end(), target.parts.begin())) {
      error = EINVAL;
    }
  } else if (error == 0 && target.node != nullptr && target.node->is_dir) {
    error = EISDIR;
  }
  if (error != 0) return Errno(error, "cannot rename", from);
  std::shared_ptr<Node> node = source.node;
  source.parent->entries.erase(source.name);
  target.parent->entries[target.name] = std::move(node);
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::string>> MemoryFileSystem::List(const std::string& dir) {
  std::lock_guard<std::mutex> lock(tree_->mu);
  Place place;
  if (const int error = WalkToDir(tree_->root, dir, &place)) {
    return Errno(error, "cannot list", dir);
  }
  std::vector<std::string> names;
  names.reserve(place.node->entries.size());
  for (const auto& [name, node] : place.node->entries) names.push_back(name);
  return names;
}

absl::Status MemoryFileSystem::CreateDir(const std::string& dir) {
  std::lock_guard<std::mutex> lock(tree_->mu);
  Place place;
  if (const int error = Walk(tree_->root, dir, &place)) {
    return Errno(error, "cannot create directory", dir);
  }
  if (place.node != nullptr) return absl::OkStatus();  // EEXIST, which Posix() takes for success
  place.parent->entries[place.name] = std::make_shared<Node>(/*dir=*/true);
  return absl::OkStatus();
}

absl::Status MemoryFileSystem::SyncDir(const std::string& dir) {
  std::lock_guard<std::mutex> lock(tree_->mu);
  Place place;
  if (const int error = WalkToDir(tree_->root, dir, &place)) {
    return Errno(error, "cannot open directory", dir);
  }
  return absl::OkStatus();
}

absl::Status MemoryFileSystem::RemoveDir(const std::string& dir) {
  std::lock_guard<std::mutex> lock(tree_->mu);
  Place place;
  int error = WalkToDir(tree_->root, dir, &place);
  if (error == 0 && place.parent == nullptr) error = EBUSY;
  if (error == 0 && !place.node->entries.empty()) error = ENOTEMPTY;
  if (error != 0) return Errno(error, "cannot remove directory", dir);
  place.parent->entries.erase(place.name);
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<FileLock>> MemoryFileSystem::Lock(const std::string& path) {
  std::lock_guard<std::mutex> lock(tree_->mu);
  Place place;
  int error = Walk(tree_->root, path, &place);
  if (error == 0 && place.node != nullptr && place.node->is_dir) error = EISDIR;
  if (error != 0) return Errno(error, "cannot open lock file", path);
  if (place.node == nullptr) {
    place.node = std::make_shared<Node>(/*dir=*/false);
    place.parent->entries[place.name] = place.node;
  }
  if (place.node->locked) {
    return absl::UnavailableError(
        base::Cat(base::Quoted(path, 256), " is locked: another process or object owns it"));
  }
  place.node->locked = true;
  return std::unique_ptr<FileLock>(new MemoryFileLock(tree_, std::move(place.node), tree_->mu));
}

uint64_t MemoryFileSystem::TotalBytes() const {
  std::lock_guard<std::mutex> lock(tree_->mu);
  return BytesUnder(*tree_->root);
}

}  // namespace keel::wal
