// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "keel/wal/atomic_file.h"

#include "keel/base/coding.h"
#include "keel/base/crc32c.h"
#include "keel/base/status.h"
#include "keel/base/strings.h"

namespace keel::wal {
namespace {

// "KEELFILE" as a little-endian fixed64.
constexpr uint64_t kMagic = 0x454c49464c45454bu;
constexpr size_t kFramingBytes = 8 + 4 + 4;

}  // namespace

absl::Status WriteFileAtomically(FileSystem& fs, const std::string& dir, const std::string& name,
                                 std::string_view contents) {
  if (contents.size() > kMaxAtomicFileBytes) {
    return absl::InvalidArgumentError(base::Cat("cannot write ", contents.size(), " bytes to ",
                                                name, ": the limit is ", kMaxAtomicFileBytes));
  }
  std::string bytes;
  bytes.reserve(kFramingBytes + contents.size());
  base::PutFixed64(bytes, kMagic);
  base::PutFixed32(bytes, static_cast<uint32_t>(contents.size()));
  bytes.append(contents);
  base::PutFixed32(bytes, base::MaskCrc32c(base::Crc32c(std::string_view(bytes).substr(8))));

  const std::string path = base::Cat(dir, "/", name);
  const std::string temp = path + ".tmp";
  const absl::Status removed = fs.Remove(temp);
  if (!removed.ok() && removed.code() != absl::StatusCode::kNotFound) return removed;
  KEEL_ASSIGN_OR_RETURN(std::unique_ptr<File> file, fs.Open(temp, OpenMode::kCreate));
  KEEL_RETURN_IF_ERROR(file->Append(bytes));
  KEEL_RETURN_IF_ERROR(file->Sync());
  KEEL_RETURN_IF_ERROR(fs.Rename(temp, path));
  return fs.SyncDir(dir);
}

absl::StatusOr<std::string> ReadFileChecked(FileSystem& fs, const std::string& path) {
  KEEL_ASSIGN_OR_RETURN(std::unique_ptr<File> file, fs.Open(path, OpenMode::kExisting));
  const uint64_t size = file->size();
  if (size < kFramingBytes || size > kFramingBytes + kMaxAtomicFileBytes) {
    return absl::DataLossError(base::Cat(base::Quoted(path, 256), " has a bad size ", size));
  }
  std::string bytes(size, '\0');
  KEEL_ASSIGN_OR_RETURN(const size_t got, file->ReadAt(0, bytes.data(), bytes.size()));
  if (got != size) return absl::DataLossError(base::Cat(base::Quoted(path, 256), " is cut short"));
  const uint32_t length = base::DecodeFixed32(bytes.data() + 8);
  if (base::DecodeFixed64(bytes.data()) != kMagic || length != size - kFramingBytes) {
    return absl::DataLossError(base::Cat(base::Quoted(path, 256), " is not a keel file"));
  }
  const std::string_view covered = std::string_view(bytes).substr(8, 4 + length);
  if (base::UnmaskCrc32c(base::DecodeFixed32(bytes.data() + size - 4)) != base::Crc32c(covered)) {
    return absl::DataLossError(base::Cat(base::Quoted(path, 256), " is damaged (bad checksum)"));
  }
  return bytes.substr(12, length);
}

}  // namespace keel::wal
