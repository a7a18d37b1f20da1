// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// What FileSystem offers on top of its virtual operations, for every implementation.
#include "keel/wal/file_system.h"

#include <string>
#include <string_view>

namespace keel::wal {
namespace {

// The directory that holds `path`: "." for a name without a slash, "/" for "/" and for a name
// right under it.
std::string ParentDir(std::string_view path) {
  while (path.size() > 1 && path.back() == '/') path.remove_suffix(1);
  const size_t slash = path.rfind('/');
  if (slash == std::string_view::npos) return ".";
  if (slash == 0) return "/";
  return std::string(path.substr(0, slash));
}

}  // namespace

absl::Status SyncParentDir(FileSystem& fs, std::string_view path) {
  return fs.SyncDir(ParentDir(path));
}

}  // namespace keel::wal
