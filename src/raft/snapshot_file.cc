// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "snapshot_file.h"

#include <memory>
#include <string_view>
#include <utility>

#include "keel/base/coding.h"
#include "keel/base/crc32c.h"
#include "keel/base/status.h"
#include "keel/base/strings.h"
#include "keel/raft/codec.h"

namespace keel::raft::internal {
namespace {

// "KEELSNP1" as a little-endian fixed64.
constexpr uint64_t kMagic = 0x31504e534c45454bu;
// magic, metadata_length, data_length; the crc at the end.
constexpr size_t kHeaderBytes = 8 + 4 + 8;
constexpr size_t kCrcBytes = 4;

std::string Named(const std::string& path) { return base::Quoted(path, 256); }

}  // namespace

absl::Status WriteSnapshotFile(wal::FileSystem& fs, const std::string& dir, const std::string& name,
                               const Snapshot& snapshot) {
  const std::string metadata = EncodeSnapshotMetadata(snapshot.metadata);
  if (metadata.size() > kMaxSnapshotMetadataBytes) {
    return absl::InvalidArgumentError(base::Cat("snapshot metadata of ", metadata.size(),
                                                " bytes is over the limit of ",
                                                kMaxSnapshotMetadataBytes));
  }
  const std::string_view data = snapshot.bytes();
  std::string head;
  head.reserve(kHeaderBytes + metadata.size());
  base::PutFixed64(head, kMagic);
  base::PutFixed32(head, static_cast<uint32_t>(metadata.size()));
  base::PutFixed64(head, data.size());
  head.append(metadata);
  const uint32_t crc = base::ExtendCrc32c(base::Crc32c(std::string_view(head).substr(8)), data);
  std::string tail;
  base::PutFixed32(tail, base::MaskCrc32c(crc));

  const std::string path = base::Cat(dir, "/", name);
  const std::string temp = path + ".tmp";
  const absl::Status removed = fs.Remove(temp);
  if (!removed.ok() && removed.code() != absl::StatusCode::kNotFound) return removed;
  KEEL_ASSIGN_OR_RETURN(std::unique_ptr<wal::File> file, fs.Open(temp, wal::OpenMode::kCreate));
  KEEL_RETURN_IF_ERROR(file->Append(head));
  if (!data.empty()) KEEL_RETURN_IF_ERROR(file->Append(data));
  KEEL_RETURN_IF_ERROR(file->Append(tail));
  KEEL_RETURN_IF_ERROR(file->Sync());
  KEEL_RETURN_IF_ERROR(fs.Rename(temp, path));
  return fs.SyncDir(dir);
}

absl::StatusOr<Snapshot> ReadSnapshotFile(wal::FileSystem& fs, const std::string& path) {
  KEEL_ASSIGN_OR_RETURN(std::unique_ptr<wal::File> file, fs.Open(path, wal::OpenMode::kExisting));
  const uint64_t size = file->size();
  if (size < kHeaderBytes + kCrcBytes) {
    return absl::DataLossError(
        base::Cat(Named(path), " has ", size, " bytes, fewer than a snapshot file's framing"));
  }
  // Reads exactly `n` bytes at `offset`: the file's size says they are there.
  auto read = [&](uint64_t offset, char* out, size_t n) -> absl::Status {
    KEEL_ASSIGN_OR_RETURN(const size_t got, file->ReadAt(offset, out, n));
    if (got != n) return absl::DataLossError(base::Cat(Named(path), " is cut short"));
    return absl::OkStatus();
  };
  char head[kHeaderBytes];
  KEEL_RETURN_IF_ERROR(read(0, head, kHeaderBytes));
  if (base::DecodeFixed64(head) != kMagic) {
    return absl::DataLossError(base::Cat(Named(path), " is not a snapshot file (bad magic)"));
  }
  const uint32_t metadata_length = base::DecodeFixed32(head + 8);
  const uint64_t data_length = base::DecodeFixed64(head + 12);
  const uint64_t room = size - kHeaderBytes - kCrcBytes;
  if (metadata_length > kMaxSnapshotMetadataBytes || metadata_length > room ||
      data_length != room - metadata_length) {
    return absl::DataLossError(base::Cat(Named(path), " claims ", metadata_length,
                                         " bytes of metadata and ", data_length,
                                         " bytes of data, but holds ", room));
  }
  std::string metadata(metadata_length, '\0');
  KEEL_RETURN_IF_ERROR(read(kHeaderBytes, metadata.data(), metadata.size()));
  auto data = std::make_shared<std::string>(data_length, '\0');
  KEEL_RETURN_IF_ERROR(read(kHeaderBytes + metadata_length, data->data(), data->size()));
  char crc_bytes[kCrcBytes];
  KEEL_RETURN_IF_ERROR(read(size - kCrcBytes, crc_bytes, kCrcBytes));
  uint32_t crc = base::Crc32c(std::string_view(head + 8, kHeaderBytes - 8));
  crc = base::ExtendCrc32c(crc, metadata);
  crc = base::ExtendCrc32c(crc, *data);
  if (base::UnmaskCrc32c(base::DecodeFixed32(crc_bytes)) != crc) {
    return absl::DataLossError(base::Cat(Named(path), " is damaged (bad checksum)"));
  }
  Snapshot snapshot;
  absl::StatusOr<SnapshotMetadata> decoded = DecodeSnapshotMetadata(metadata);
  if (!decoded.ok()) {
    // The checksum matched, so a writer put these bytes there: a bug or a newer format.
    return absl::DataLossError(base::Cat(Named(path), ": ", decoded.status().message()));
  }
  snapshot.metadata = *std::move(decoded);
  snapshot.data = std::move(data);
  return snapshot;
}

}  // namespace keel::raft::internal
