// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// What a crash keeps of the crash model's pending changes: cutting them into pieces, building the
// state a choice of pieces leaves, and choosing pieces (all, none, all but one, one alone, at
// random). The state machine that records the changes is in crash_model.cc.
#include <algorithm>
#include <cstring>
#include <tuple>

#include "keel/base/assert.h"
#include "keel/base/strings.h"
#include "keel/wal/internal/crash_model.h"

namespace keel::wal::internal {
namespace {

constexpr InodeId kAbsoluteRoot = 1;
constexpr InodeId kRelativeRoot = 2;

// A piece's place among its file's pieces, for sorting: pages before the size of the same write.
int KindOrder(CrashPiece::Kind kind) {
  switch (kind) {
    case CrashPiece::Kind::kDirectory:
      return 0;
    case CrashPiece::Kind::kTruncate:
      return 1;
    case CrashPiece::Kind::kPage:
      return 2;
    case CrashPiece::Kind::kSize:
      return 3;
  }
  return 4;
}

// Writes the bytes of a page piece into `content`, growing it with zeros to the piece's end.
// `torn`, if given, says how many new bytes each sector keeps.
void WritePiece(std::string& content, const CrashPiece& piece, std::string_view write_bytes,
                uint64_t write_offset, const std::vector<uint32_t>* torn) {
  if (content.size() < piece.end) content.resize(static_cast<size_t>(piece.end));
  const char* src = write_bytes.data() + (piece.begin - write_offset);
  if (torn == nullptr) {
    std::memcpy(content.data() + piece.begin, src, static_cast<size_t>(piece.end - piece.begin));
    return;
  }
  size_t sector = 0;
  for (uint64_t at = piece.begin; at < piece.end; ++sector) {
    const uint64_t sector_end =
        std::min(piece.end, (at / kCrashSectorBytes + 1) * kCrashSectorBytes);
    KEEL_ASSERT(sector < torn->size() && (*torn)[sector] <= sector_end - at);
    std::memcpy(content.data() + at, src + (at - piece.begin), (*torn)[sector]);
    at = sector_end;
  }
}

// The number of sectors [begin, end) touches.
size_t SectorsOf(const CrashPiece& piece) {
  return static_cast<size_t>((piece.end - 1) / kCrashSectorBytes - piece.begin / kCrashSectorBytes +
                             1);
}

}  // namespace

std::vector<CrashPiece> CrashModel::Pieces() const {
  // Each piece first names what it depends on by (inode, operation): 0 for the entry list.
  std::vector<CrashPiece> pieces;
  std::vector<std::vector<std::pair<InodeId, size_t>>> dep_refs;
  const std::vector<std::vector<size_t>> dir_deps = DirDeps();
  for (size_t i = 0; i < dir_pending_.size(); ++i) {
    const DirOp& op = dir_pending_[i];
    pieces.push_back({CrashPiece::Kind::kDirectory, op.mutation, 0, i, 0, 0, {}, op.label});
    dep_refs.emplace_back();
    for (const size_t d : dir_deps[i]) dep_refs.back().emplace_back(0, d);
  }
  for (const auto& [id, inode] : inodes_) {
    std::optional<size_t> last_truncate;
    for (size_t k = 0; k < inode.pending.size(); ++k) {
      const DataOp& op = inode.pending[k];
      const std::string quoted = base::Quoted(op.path, 256);
      if (op.truncate) {
        pieces.push_back({CrashPiece::Kind::kTruncate,
                          op.mutation,
                          id,
                          k,
                          0,
                          op.offset,
                          {},
                          base::Cat("#", op.mutation, " truncate ", quoted, " to ", op.offset)});
        dep_refs.emplace_back();
        if (last_truncate) dep_refs.back().emplace_back(id, *last_truncate);
        last_truncate = k;
        continue;
      }
      const uint64_t end = op.offset + op.bytes.size();
      for (uint64_t at = op.offset; at < end;) {
        const uint64_t page_end = std::min(end, (at / kCrashPageBytes + 1) * kCrashPageBytes);
        pieces.push_back(
            {CrashPiece::Kind::kPage,
             op.mutation,
             id,
             k,
             at,
             page_end,
             {},
             base::Cat("#", op.mutation, " write ", quoted, " [", at, ", ", page_end, ")")});
        dep_refs.emplace_back();
        at = page_end;
      }
      if (end > op.size_before) {
        pieces.push_back({CrashPiece::Kind::kSize,
                          op.mutation,
                          id,
                          k,
                          0,
                          end,
                          {},
                          base::Cat("#", op.mutation, " size of ", quoted, " to ", end)});
        dep_refs.emplace_back();
      }
    }
  }
  std::vector<uint32_t> order(pieces.size());
  for (uint32_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) {
    const CrashPiece& x = pieces[a];
    const CrashPiece& y = pieces[b];
    return std::make_tuple(x.mutation, KindOrder(x.kind), x.begin) <
           std::make_tuple(y.mutation, KindOrder(y.kind), y.begin);
  });
  std::map<std::pair<InodeId, size_t>, uint32_t> position;  // of entry operations, truncations
  std::vector<CrashPiece> sorted;
  sorted.reserve(pieces.size());
  for (const uint32_t i : order) {
    CrashPiece& piece = pieces[i];
    for (const auto& ref : dep_refs[i]) piece.deps.push_back(position.at(ref));
    if (piece.kind == CrashPiece::Kind::kDirectory || piece.kind == CrashPiece::Kind::kTruncate) {
      position[{piece.inode, piece.op}] = static_cast<uint32_t>(sorted.size());
    }
    sorted.push_back(std::move(piece));
  }
  return sorted;
}

CrashModel::Entries CrashModel::CrashEntries(const std::vector<CrashPiece>& pieces,
                                             const CrashChoice& choice) const {
  Entries entries;
  for (const auto& [id, inode] : inodes_) {
    if (inode.is_dir) entries[id] = inode.durable_entries;
  }
  for (size_t i = 0; i < pieces.size(); ++i) {
    if (pieces[i].kind != CrashPiece::Kind::kDirectory || !choice.persisted[i]) continue;
    const DirOp& op = dir_pending_[pieces[i].op];
    if (op.kind == FsOp::Kind::kRemove) {
      entries[op.dir].erase(op.name);
    } else if (op.kind == FsOp::Kind::kRename) {
      entries[op.dir].erase(op.name);
      entries[op.to_dir][op.to_name] = op.inode;
    } else {
      entries[op.dir][op.name] = op.inode;
    }
  }
  return entries;
}

std::string CrashModel::CrashContent(const Inode& inode, const std::vector<CrashPiece>& pieces,
                                     const std::vector<uint32_t>& inode_pieces,
                                     const CrashChoice& choice) const {
  std::string content = inode.durable;
  // The pieces of one file are in the order of its operations, so replaying them in turn replays
  // the persisted writes and truncations in the order they were made.
  for (const uint32_t i : inode_pieces) {
    if (!choice.persisted[i]) continue;
    const CrashPiece& piece = pieces[i];
    const DataOp& op = inode.pending[piece.op];
    switch (piece.kind) {
      case CrashPiece::Kind::kTruncate:
        content.resize(static_cast<size_t>(piece.end));
        break;
      case CrashPiece::Kind::kSize:
        if (content.size() < piece.end) content.resize(static_cast<size_t>(piece.end));
        break;
      case CrashPiece::Kind::kPage: {
        const auto torn = choice.torn.find(i);
        WritePiece(content, piece, op.bytes, op.offset,
                   torn == choice.torn.end() ? nullptr : &torn->second);
        break;
      }
      case CrashPiece::Kind::kDirectory:
        break;
    }
  }
  return content;
}

CrashImage CrashModel::Image(const std::vector<CrashPiece>& pieces,
                             const CrashChoice& choice) const {
  KEEL_ASSERT(choice.persisted.size() == pieces.size());
  const Entries entries = CrashEntries(pieces, choice);
  std::map<InodeId, std::vector<uint32_t>> by_inode;
  for (uint32_t i = 0; i < pieces.size(); ++i) {
    if (pieces[i].kind != CrashPiece::Kind::kDirectory) by_inode[pieces[i].inode].push_back(i);
  }
  CrashImage image;
  // Depth first from each root; there are no cycles, as directories are never renamed.
  std::vector<std::pair<InodeId, std::string>> work = {{kAbsoluteRoot, "/"}, {kRelativeRoot, ""}};
  while (!work.empty()) {
    const auto [dir, path] = work.back();
    work.pop_back();
    const auto listed = entries.find(dir);
    if (listed == entries.end()) continue;
    for (const auto& [name, id] : listed->second) {
      const std::string child = path.empty()         ? name
                                : path.back() == '/' ? path + name
                                                     : base::Cat(path, "/", name);
      const Inode& inode = inodes_.at(id);
      CrashImage::Node& node = image.nodes[child];
      node.is_dir = inode.is_dir;
      node.inode = id;
      node.content_known = inode.content_known;
      if (inode.is_dir) {
        work.emplace_back(id, child);
      } else if (inode.content_known) {
        static const std::vector<uint32_t> kNone;
        const auto it = by_inode.find(id);
        node.content =
            CrashContent(inode, pieces, it == by_inode.end() ? kNone : it->second, choice);
      }
    }
  }
  return image;
}

CrashImage CrashModel::LiveImage() const {
  const std::vector<CrashPiece> pieces = Pieces();
  return Image(pieces, EverythingPersisted(pieces));
}

void CrashModel::Crash(const std::vector<CrashPiece>& pieces, const CrashChoice& choice) {
  KEEL_ASSERT(choice.persisted.size() == pieces.size());
  Entries entries = CrashEntries(pieces, choice);
  std::map<InodeId, std::vector<uint32_t>> by_inode;
  for (uint32_t i = 0; i < pieces.size(); ++i) {
    if (pieces[i].kind != CrashPiece::Kind::kDirectory) by_inode[pieces[i].inode].push_back(i);
  }
  for (auto& [id, inode] : inodes_) {
    if (inode.is_dir) {
      inode.durable_entries = entries[id];
      inode.live_entries = std::move(entries[id]);
      continue;
    }
    const auto it = by_inode.find(id);
    if (it == by_inode.end()) continue;
    inode.durable = CrashContent(inode, pieces, it->second, choice);
    inode.live_size = inode.durable.size();
    inode.pending.clear();
  }
  dir_pending_.clear();
  CollectGarbage();
}

CrashChoice NothingPersisted(const std::vector<CrashPiece>& pieces) {
  return CrashChoice{std::vector<bool>(pieces.size(), false), {}};
}

CrashChoice EverythingPersisted(const std::vector<CrashPiece>& pieces) {
  return CrashChoice{std::vector<bool>(pieces.size(), true), {}};
}

CrashChoice AllBut(const std::vector<CrashPiece>& pieces, uint32_t i) {
  CrashChoice choice = EverythingPersisted(pieces);
  choice.persisted[i] = false;
  for (size_t j = i + 1; j < pieces.size(); ++j) {
    for (const uint32_t d : pieces[j].deps) {
      if (!choice.persisted[d]) choice.persisted[j] = false;
    }
  }
  return choice;
}

CrashChoice OnlyWith(const std::vector<CrashPiece>& pieces, uint32_t i) {
  CrashChoice choice = NothingPersisted(pieces);
  choice.persisted[i] = true;
  for (size_t j = i + 1; j-- > 0;) {
    if (!choice.persisted[j]) continue;
    for (const uint32_t d : pieces[j].deps) choice.persisted[d] = true;
  }
  return choice;
}

CrashChoice RandomChoice(const std::vector<CrashPiece>& pieces, base::Random& random,
                         const CrashFreedoms& freedoms) {
  CrashChoice choice = NothingPersisted(pieces);
  // One density for the whole crash, so that some crashes keep almost everything and some
  // almost nothing, rather than always about half.
  const double density = random.UniformDouble();
  // Without reordering, each file keeps the first `cut` of its pieces.
  std::map<InodeId, uint64_t> cut;
  if (!freedoms.reorder_pages) {
    std::map<InodeId, uint64_t> count;
    for (const CrashPiece& piece : pieces) {
      if (piece.kind != CrashPiece::Kind::kDirectory) ++count[piece.inode];
    }
    for (const auto& [inode, n] : count) cut[inode] = random.Uniform(n + 1);
  }
  for (size_t i = 0; i < pieces.size(); ++i) {
    const CrashPiece& piece = pieces[i];
    bool keep;
    if (piece.kind == CrashPiece::Kind::kDirectory) {
      keep = !freedoms.lose_directory_entries || random.Bernoulli(density);
    } else if (freedoms.reorder_pages) {
      keep = random.Bernoulli(density);
    } else {
      uint64_t& left = cut[piece.inode];
      keep = left > 0;
      if (keep) --left;
    }
    for (const uint32_t d : piece.deps) keep = keep && choice.persisted[d];
    choice.persisted[i] = keep;
  }
  if (!freedoms.tear_sectors) return choice;
  for (uint32_t i = 0; i < pieces.size(); ++i) {
    const CrashPiece& piece = pieces[i];
    if (!choice.persisted[i] || piece.kind != CrashPiece::Kind::kPage || !random.Bernoulli(0.25)) {
      continue;
    }
    // Each sector the piece touches keeps none, all or a prefix of its new bytes.
    std::vector<uint32_t>& kept = choice.torn[i];
    for (uint64_t at = piece.begin; at < piece.end;) {
      const uint64_t sector_end =
          std::min(piece.end, (at / kCrashSectorBytes + 1) * kCrashSectorBytes);
      const uint64_t n = sector_end - at;
      const uint64_t how = random.Uniform(3);
      kept.push_back(static_cast<uint32_t>(how == 0 ? 0 : how == 1 ? n : random.Uniform(n + 1)));
      at = sector_end;
    }
    KEEL_ASSERT(kept.size() == SectorsOf(piece));
  }
  return choice;
}

std::string DescribeChoice(const std::vector<CrashPiece>& pieces, const CrashChoice& choice) {
  constexpr size_t kMaxNamed = 12;
  std::vector<std::string_view> persisted;
  std::vector<std::string_view> lost;
  for (size_t i = 0; i < pieces.size(); ++i) {
    (choice.persisted[i] ? persisted : lost).push_back(pieces[i].label);
  }
  const auto list = [](const std::vector<std::string_view>& labels) {
    std::string out;
    for (size_t i = 0; i < labels.size() && i < kMaxNamed; ++i) {
      out = base::Cat(out, i == 0 ? "" : "; ", labels[i]);
    }
    if (labels.size() > kMaxNamed)
      out = base::Cat(out, "; and ", labels.size() - kMaxNamed, " more");
    return out;
  };
  std::string out;
  if (pieces.empty()) {
    out = "nothing was pending";
  } else if (lost.empty()) {
    out = base::Cat("all ", pieces.size(), " pending pieces persisted");
  } else if (persisted.empty()) {
    out = base::Cat("none of ", pieces.size(), " pending pieces persisted");
  } else if (persisted.size() <= lost.size()) {
    out = base::Cat(persisted.size(), " of ", pieces.size(),
                    " pending pieces persisted: ", list(persisted));
  } else {
    out = base::Cat("all ", pieces.size(), " pending pieces persisted but ", lost.size(), ": ",
                    list(lost));
  }
  for (const auto& [i, kept] : choice.torn) {
    std::string sectors;
    for (const uint32_t k : kept) sectors = base::Cat(sectors, sectors.empty() ? "" : " ", k);
    out = base::Cat(out, "; torn ", pieces[i].label, " (new bytes kept per sector: ", sectors, ")");
  }
  return out;
}

}  // namespace keel::wal::internal
