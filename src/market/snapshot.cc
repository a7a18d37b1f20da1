// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "keel/market/snapshot.h"

#include <algorithm>
#include <charconv>

#include "keel/base/coding.h"
#include "keel/base/crc32c.h"
#include "keel/base/status.h"
#include "keel/base/strings.h"

namespace keel::market {
namespace {

// "KEELSNAP" as a little-endian fixed64.
constexpr uint64_t kMagic = 0x50414e534c45454bu;
constexpr uint32_t kVersion = 1;
constexpr size_t kHeaderBytes = 8 + 4 + 8 + 8;  // magic, version, commands, length
constexpr size_t kTrailerBytes = 4;             // crc
constexpr std::string_view kPrefix = "snapshot-";
constexpr size_t kDigits = 20;  // UINT64_MAX has 20
constexpr std::string_view kTempSuffix = ".tmp";

// The CRC covers everything after the magic number.
uint32_t Checksum(std::string_view file_without_crc) {
  return base::MaskCrc32c(base::Crc32c(file_without_crc.substr(8)));
}

}  // namespace

std::string SnapshotFileName(uint64_t commands) {
  std::string digits = base::Cat(commands);
  return base::Cat(kPrefix, std::string(kDigits - digits.size(), '0'), digits);
}

std::optional<uint64_t> ParseSnapshotFileName(std::string_view name) {
  if (name.size() != kPrefix.size() + kDigits || name.substr(0, kPrefix.size()) != kPrefix) {
    return std::nullopt;
  }
  const std::string_view digits = name.substr(kPrefix.size());
  uint64_t commands = 0;
  const auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), commands);
  if (error != std::errc() || end != digits.data() + digits.size()) return std::nullopt;
  return commands;
}

absl::StatusOr<uint64_t> WriteSnapshot(wal::FileSystem& fs, const std::string& dir,
                                       const MatchingEngine& engine) {
  std::string bytes;
  base::PutFixed64(bytes, kMagic);
  base::PutFixed32(bytes, kVersion);
  base::PutFixed64(bytes, engine.commands());
  base::PutFixed64(bytes, 0);  // the length, once known
  engine.AppendState(bytes);
  const uint64_t length = bytes.size() - kHeaderBytes;
  if (length > kMaxSnapshotBytes) {
    return absl::ResourceExhaustedError(base::Cat("the engine's state is ", length,
                                                  " bytes, over the snapshot limit of ",
                                                  kMaxSnapshotBytes));
  }
  base::EncodeFixed64(bytes.data() + 20, length);
  base::PutFixed32(bytes, Checksum(bytes));

  const std::string path = base::Cat(dir, "/", SnapshotFileName(engine.commands()));
  const std::string temp = base::Cat(path, kTempSuffix);
  const absl::Status removed = fs.Remove(temp);
  if (!removed.ok() && !absl::IsNotFound(removed)) return removed;
  KEEL_ASSIGN_OR_RETURN(std::unique_ptr<wal::File> file, fs.Open(temp, wal::OpenMode::kCreate));
  KEEL_RETURN_IF_ERROR(file->Append(bytes));
  KEEL_RETURN_IF_ERROR(file->Sync());
  file.reset();
  KEEL_RETURN_IF_ERROR(fs.Rename(temp, path));
  KEEL_RETURN_IF_ERROR(fs.SyncDir(dir));
  return bytes.size();
}

absl::StatusOr<std::unique_ptr<MatchingEngine>> ReadSnapshot(wal::FileSystem& fs,
                                                             const std::string& path,
                                                             const EngineOptions& options) {
  const std::string name = path.substr(path.find_last_of('/') + 1);
  const std::optional<uint64_t> named = ParseSnapshotFileName(name);
  const auto damaged = [&](std::string_view what) {
    return absl::DataLossError(base::Cat("snapshot ", base::Quoted(path, 256), " ", what));
  };
  if (!named) return damaged("is not named as a snapshot");
  KEEL_ASSIGN_OR_RETURN(std::unique_ptr<wal::File> file, fs.Open(path, wal::OpenMode::kExisting));
  const uint64_t size = file->size();
  if (size < kHeaderBytes + kTrailerBytes ||
      size > kHeaderBytes + kMaxSnapshotBytes + kTrailerBytes) {
    return damaged(base::Cat("has a bad size ", size));
  }
  std::string bytes(size, '\0');
  KEEL_ASSIGN_OR_RETURN(const size_t got, file->ReadAt(0, bytes.data(), bytes.size()));
  if (got != size) return damaged("is cut short");
  if (base::DecodeFixed64(bytes.data()) != kMagic) return damaged("is not a snapshot");
  // The checksum first: nothing unchecked is believed, not even the version or the length.
  const std::string_view covered = std::string_view(bytes).substr(0, size - kTrailerBytes);
  if (base::DecodeFixed32(bytes.data() + size - kTrailerBytes) != Checksum(covered)) {
    return damaged("is damaged (bad checksum)");
  }
  const uint32_t version = base::DecodeFixed32(bytes.data() + 8);
  if (version != kVersion) return damaged(base::Cat("has unknown version ", version));
  const uint64_t commands = base::DecodeFixed64(bytes.data() + 12);
  const uint64_t length = base::DecodeFixed64(bytes.data() + 20);
  if (length != size - kHeaderBytes - kTrailerBytes) {
    return damaged(base::Cat("says it holds ", length, " bytes of state in a file of ", size));
  }
  if (commands != *named) {
    return damaged(base::Cat("holds ", commands, " commands but is named for ", *named));
  }
  absl::StatusOr<std::unique_ptr<MatchingEngine>> engine =
      MatchingEngine::FromState(covered.substr(kHeaderBytes), options);
  if (!engine.ok()) {
    return absl::Status(engine.status().code(), base::Cat("snapshot ", base::Quoted(path, 256),
                                                          ": ", engine.status().message()));
  }
  if ((*engine)->commands() != commands) {
    return damaged(base::Cat("holds an engine after ", (*engine)->commands(),
                             " commands in a header that says ", commands));
  }
  return engine;
}

absl::StatusOr<SnapshotListing> ListSnapshots(wal::FileSystem& fs, const std::string& dir) {
  KEEL_ASSIGN_OR_RETURN(const std::vector<std::string> names, fs.List(dir));
  SnapshotListing listing;
  for (const std::string& name : names) {
    if (const std::optional<uint64_t> commands = ParseSnapshotFileName(name)) {
      listing.snapshots.push_back(*commands);
    } else if (name.size() > kTempSuffix.size() &&
               name.substr(name.size() - kTempSuffix.size()) == kTempSuffix &&
               ParseSnapshotFileName(name.substr(0, name.size() - kTempSuffix.size()))) {
      listing.leftovers.push_back(name);
    } else {
      return absl::FailedPreconditionError(base::Cat("directory ", base::Quoted(dir, 256),
                                                     " is not a snapshot directory: it holds ",
                                                     base::Quoted(name, 256)));
    }
  }
  std::sort(listing.snapshots.begin(), listing.snapshots.end());
  return listing;
}

}  // namespace keel::market
