// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// The crash model behind FaultInjectingFileSystem and CrashExplorer: what POSIX lets a file
// system keep of the changes made since they were last made durable, and nothing more. Not for
// users: they reach it through those two (keel/wal/fault_injecting_file_system.h,
// keel/wal/crash_explorer.h), whose comments state the model in prose.
//
// The model is a state machine fed the changes a program made (FsOp, in the order it made them)
// and holding, apart from the live state, what is durable:
//
//   - Files are inodes: a rename moves the inode, its data and its unsynced writes with it. Each
//     has its durable bytes (as of its last Sync, which is fdatasync: data and size) and its
//     pending writes and truncations since, in order.
//   - Each directory has its durable entries (name -> inode) and there is one list of pending
//     entry operations (create, remove, rename) in the order they were made. SyncDir(d) makes
//     every pending operation on d durable, with every earlier one it depends on (below). A file's
//     Sync does not make its directory entry durable.
//
// A crash keeps the durable state plus any subset of the pending changes, cut into pieces:
//
//   kDirectory   one entry operation. It persists only with the earlier pending operations on
//                each name it touches (so per name, a prefix of that name's operations: a remove
//                then a create of one name cannot come out reversed). A rename is one piece:
//                atomic, both names or neither.
//   kPage        the bytes of one pending write that fall in one 4096-byte page of the file. Any
//                subset, in any order. One beyond the file's end extends it, and the gap before
//                it reads as zeros. Within a persisted page, CrashChoice::torn may tear sectors
//                (512 bytes, aligned in the file): each keeps all, none or a prefix of its new
//                bytes.
//   kSize        the new size of a write that extended the file, persisted without its data: the
//                file grows, with zeros.
//   kTruncate    one truncation, whole. The truncations of a file persist in order (a prefix of
//                them); pages and sizes are replayed in order with them.
//
// Directories can be created and removed; renaming a directory is not modeled (Apply refuses
// it). Paths are taken literally: "/a" and "a" are different trees (the second under ".").
//
// References: T. S. Pillai et al., "All File Systems Are Not Created Equal: On the Complexity of
// Crafting Crash-Consistent Applications", OSDI 2014 (the ALICE tool: persistence properties,
// pieces and their ordering); POSIX.1-2017 on fsync() and rename().
#ifndef KEEL_WAL_INTERNAL_CRASH_MODEL_H_
#define KEEL_WAL_INTERNAL_CRASH_MODEL_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "keel/base/random.h"

namespace keel::wal::internal {

inline constexpr uint64_t kCrashPageBytes = 4096;
inline constexpr uint64_t kCrashSectorBytes = 512;

using InodeId = uint64_t;

// One change a program made to its files, as the model is fed it.
struct FsOp {
  enum class Kind : uint8_t {
    kCreateFile,  // path: a new, empty file
    kCreateDir,   // path: a new, empty directory
    kRemove,      // path: a file, or an empty directory
    kRename,      // path to `to`: a file, replacing any file at `to`
    kWrite,       // `bytes` at `offset` of `inode`
    kTruncate,    // `inode` to `offset` bytes
    kSync,        // `inode`'s data and size
    kSyncDir,     // path: a directory's entries
  };
  Kind kind = Kind::kSync;
  // The entry or directory. For kWrite, kTruncate and kSync, the path the file was opened by,
  // for messages only.
  std::string path;
  std::string to;
  InodeId inode = 0;
  uint64_t offset = 0;
  std::string bytes;

  // A change to the entries (kCreateFile, kCreateDir, kRemove, kRename, kSyncDir).
  [[nodiscard]] static FsOp OnEntry(Kind kind, std::string path, std::string to = "");
  // A change to a file's data (kWrite, kTruncate, kSync).
  [[nodiscard]] static FsOp OnData(Kind kind, std::string path, InodeId inode, uint64_t offset = 0,
                                   std::string_view bytes = {});

  // E.g. `write 52 bytes at 4096 to "/wal/x"`.
  [[nodiscard]] std::string Describe() const;
};

// Which of POSIX's freedoms a random crash takes (see RandomChoice).
struct CrashFreedoms {
  bool reorder_pages = true;           // else each file keeps a prefix of its pending pieces
  bool lose_directory_entries = true;  // else every pending entry operation persists
  bool tear_sectors = true;            // else persisted pages are whole
};

struct CrashPiece {
  enum class Kind : uint8_t { kDirectory, kPage, kSize, kTruncate };
  Kind kind = Kind::kDirectory;
  uint64_t mutation = 0;  // the change that made it: 1 for the first FsOp applied
  InodeId inode = 0;      // kPage, kSize, kTruncate
  size_t op = 0;          // its operation in the pending list of the directories or the inode
  uint64_t begin = 0;     // kPage: the file bytes [begin, end); kSize: the new size is `end`
  uint64_t end = 0;
  std::vector<uint32_t> deps;  // pieces (earlier in the list) that must persist if it does
  std::string label;           // e.g. `#7 write "/wal/x" [4096, 4152)`
};

// A crash state: which pieces persist. Valid when every persisted piece's deps persist.
struct CrashChoice {
  std::vector<bool> persisted;  // one per piece
  // Torn pages, by piece: for each sector the piece touches, in order, how many of its new bytes
  // there persisted (from the sector's start); the rest of the sector keeps what it held.
  std::map<uint32_t, std::vector<uint32_t>> torn;
};

// Files and directories by path, parents before children (the roots themselves not included).
struct CrashImage {
  struct Node {
    bool is_dir = false;
    InodeId inode = 0;
    // False for a file that existed before the model saw it and was never changed: its bytes
    // are whatever the file system holds.
    bool content_known = true;
    std::string content;
  };
  std::map<std::string, Node> nodes;
};

class CrashModel {
 public:
  CrashModel();

  // Feeds one change, made successfully on the live file system. Errors (the model is left
  // unchanged): kFailedPrecondition when the change does not fit what the model knows (a path it
  // does not know, a file whose bytes it needs but was not given: see NeedsContent),
  // kUnimplemented for renaming a directory, kInvalidArgument for a path with "..".
  [[nodiscard]] absl::Status Apply(FsOp op);

  // The changes applied so far, counting each Apply that succeeded.
  [[nodiscard]] uint64_t mutations() const { return mutations_; }

  // Every FsOp applied from now on is also appended to `trace` (null: none), so that a fresh
  // model fed the same trace goes through the same states. Discovering existing files and
  // directories (below) is not traced and fails while a trace is kept.
  void set_trace(std::vector<FsOp>* trace) { trace_ = trace; }

  // What existed before the model was watching is durable as it was first seen. Makes every
  // component of `dir` a known directory, durable, if it is not known yet.
  [[nodiscard]] absl::Status AddExistingDirs(std::string_view dir);
  // Makes `path` a known file, durable, whose bytes are not known yet (see NeedsContent), and
  // returns its inode. REQUIRES: Lookup(path) is empty.
  [[nodiscard]] absl::StatusOr<InodeId> AddExistingFile(std::string_view path);
  // Whether the model must be given the file's bytes (SetContent) before it is changed, removed
  // or renamed (or replaced by a rename): true for a file added by AddExistingFile and not yet.
  [[nodiscard]] bool NeedsContent(InodeId inode) const;
  void SetContent(InodeId inode, std::string bytes);

  struct Entry {
    InodeId inode = 0;
    bool is_dir = false;
  };
  // The live entry at `path`, if the model knows one there.
  [[nodiscard]] std::optional<Entry> Lookup(std::string_view path) const;
  // A live file's size. REQUIRES: a known file inode whose content is known.
  [[nodiscard]] uint64_t LiveSize(InodeId inode) const;
  // Whether the file has writes or truncations not yet synced.
  [[nodiscard]] bool HasPendingData(InodeId inode) const;
  // Bytes written (appended or overwritten) to files and not synced since, counted once per
  // write.
  [[nodiscard]] uint64_t UnsyncedBytes() const;

  // The pending changes, cut into pieces, ordered by the change that made them (and by page).
  [[nodiscard]] std::vector<CrashPiece> Pieces() const;
  // What a crash that keeps `choice` of `pieces` (this model's Pieces()) leaves.
  [[nodiscard]] CrashImage Image(const std::vector<CrashPiece>& pieces,
                                 const CrashChoice& choice) const;
  // The live state: Image with every piece persisted.
  [[nodiscard]] CrashImage LiveImage() const;
  // Becomes the state a crash keeping `choice` leaves, all of it durable; nothing pending.
  void Crash(const std::vector<CrashPiece>& pieces, const CrashChoice& choice);

 private:
  struct DataOp {
    uint64_t mutation = 0;
    bool truncate = false;
    uint64_t offset = 0;  // a write's position; a truncation's new size
    std::string bytes;
    uint64_t size_before = 0;  // the live size when it was made
    std::string path;          // for labels
  };
  struct Inode {
    bool is_dir = false;
    bool content_known = true;
    std::string durable;
    uint64_t live_size = 0;
    std::vector<DataOp> pending;
    std::map<std::string, InodeId> durable_entries;
    std::map<std::string, InodeId> live_entries;
  };
  struct DirOp {
    uint64_t mutation = 0;
    FsOp::Kind kind = FsOp::Kind::kCreateFile;  // kCreateFile, kCreateDir, kRemove, kRename
    InodeId dir = 0;
    std::string name;
    InodeId to_dir = 0;  // kRename
    std::string to_name;
    InodeId inode = 0;
    std::string label;
  };
  struct Resolved {
    InodeId dir = 0;  // the directory holding `name`
    std::string name;
  };
  using Entries = std::map<InodeId, std::map<std::string, InodeId>>;

  [[nodiscard]] absl::StatusOr<Resolved> Resolve(std::string_view path) const;
  [[nodiscard]] absl::Status ApplyEntryOp(const FsOp& op);
  [[nodiscard]] absl::Status ApplyDataOp(const FsOp& op);
  void SyncDir(InodeId dir);
  // For each pending entry operation, the latest earlier one on each name it touches.
  [[nodiscard]] std::vector<std::vector<size_t>> DirDeps() const;
  void CollectGarbage();
  // The entries of every directory after a crash, and a file's bytes.
  [[nodiscard]] Entries CrashEntries(const std::vector<CrashPiece>& pieces,
                                     const CrashChoice& choice) const;
  [[nodiscard]] std::string CrashContent(const Inode& inode, const std::vector<CrashPiece>& pieces,
                                         const std::vector<uint32_t>& inode_pieces,
                                         const CrashChoice& choice) const;

  std::map<InodeId, Inode> inodes_;
  std::vector<DirOp> dir_pending_;  // in the order they were made
  InodeId next_inode_ = 3;          // 1: "/", 2: "."
  uint64_t mutations_ = 0;
  std::vector<FsOp>* trace_ = nullptr;
};

// Crash states, as choices of a model's Pieces():
// Nothing pending persisted.
[[nodiscard]] CrashChoice NothingPersisted(const std::vector<CrashPiece>& pieces);
// Every piece persisted, whole.
[[nodiscard]] CrashChoice EverythingPersisted(const std::vector<CrashPiece>& pieces);
// Every piece but `i` and those that depend on it.
[[nodiscard]] CrashChoice AllBut(const std::vector<CrashPiece>& pieces, uint32_t i);
// Piece `i` and those it depends on, and nothing else.
[[nodiscard]] CrashChoice OnlyWith(const std::vector<CrashPiece>& pieces, uint32_t i);
// A random valid choice: pieces persist with a probability drawn for the crash, each only with
// its deps. Without reorder_pages, each file keeps a prefix of its pieces instead; without
// lose_directory_entries every entry operation persists; with tear_sectors, a quarter of the
// persisted pages (those that span sectors or could keep a prefix) are torn.
[[nodiscard]] CrashChoice RandomChoice(const std::vector<CrashPiece>& pieces, base::Random& random,
                                       const CrashFreedoms& freedoms);
// Names what persisted and what was lost (the shorter list of the two), and any torn pages.
[[nodiscard]] std::string DescribeChoice(const std::vector<CrashPiece>& pieces,
                                         const CrashChoice& choice);

}  // namespace keel::wal::internal

#endif  // KEEL_WAL_INTERNAL_CRASH_MODEL_H_
