// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "keel/wal/internal/crash_model.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <set>
#include <string>

#include "keel/base/random.h"
#include "testing/testing.h"

namespace keel::wal::internal {
namespace {

using Kind = FsOp::Kind;

// Builds changes and feeds them to a model, failing the test if the model refuses one.
class Workload {
 public:
  void Create(const std::string& path) { Apply(FsOp::OnEntry(Kind::kCreateFile, path)); }
  void MakeDir(const std::string& path) { Apply(FsOp::OnEntry(Kind::kCreateDir, path)); }
  void Remove(const std::string& path) { Apply(FsOp::OnEntry(Kind::kRemove, path)); }
  void Rename(const std::string& from, const std::string& to) {
    Apply(FsOp::OnEntry(Kind::kRename, from, to));
  }
  void SyncDir(const std::string& path) { Apply(FsOp::OnEntry(Kind::kSyncDir, path)); }
  void Write(const std::string& path, uint64_t offset, const std::string& bytes) {
    Apply(FsOp::OnData(Kind::kWrite, path, Inode(path), offset, bytes));
  }
  void Append(const std::string& path, const std::string& bytes) {
    Write(path, model.LiveSize(Inode(path)), bytes);
  }
  void Truncate(const std::string& path, uint64_t size) {
    Apply(FsOp::OnData(Kind::kTruncate, path, Inode(path), size));
  }
  void Sync(const std::string& path) { Apply(FsOp::OnData(Kind::kSync, path, Inode(path))); }

  InodeId Inode(const std::string& path) const {
    const auto entry = model.Lookup(path);
    REQUIRE(entry.has_value());
    return entry->inode;
  }

  void Apply(const FsOp& op) {
    const absl::Status status = model.Apply(op);
    INFO(op.Describe());
    REQUIRE(status.ok());
  }

  // Every file and directory after a crash keeping `choice`: "path" for a directory, and
  // "path=bytes" for a file.
  std::set<std::string> Listing(const CrashChoice& choice) const {
    return ListingOf(model.Image(model.Pieces(), choice));
  }

  static std::set<std::string> ListingOf(const CrashImage& image) {
    std::set<std::string> out;
    for (const auto& [path, node] : image.nodes) {
      out.insert(node.is_dir ? path : path + "=" + node.content);
    }
    return out;
  }

  CrashModel model;
};

// The pieces with a label containing `text`: exactly one.
uint32_t PieceWith(const std::vector<CrashPiece>& pieces, const std::string& text) {
  std::vector<uint32_t> found;
  for (uint32_t i = 0; i < pieces.size(); ++i) {
    if (pieces[i].label.find(text) != std::string::npos) found.push_back(i);
  }
  INFO("pieces labelled ", text);
  REQUIRE(found.size() == 1);
  return found[0];
}

// Every choice of `pieces` whose persisted set is closed under deps (no tears).
std::vector<CrashChoice> AllValidChoices(const std::vector<CrashPiece>& pieces) {
  REQUIRE(pieces.size() <= 14);
  std::vector<CrashChoice> out;
  for (uint32_t mask = 0; mask < (1u << pieces.size()); ++mask) {
    CrashChoice choice = NothingPersisted(pieces);
    bool valid = true;
    for (size_t i = 0; i < pieces.size(); ++i) {
      choice.persisted[i] = (mask >> i & 1) != 0;
    }
    for (size_t i = 0; i < pieces.size(); ++i) {
      for (const uint32_t d : pieces[i].deps) {
        if (choice.persisted[i] && !choice.persisted[d]) valid = false;
      }
    }
    if (valid) out.push_back(std::move(choice));
  }
  return out;
}

TEST_CASE("A crash loses an unsynced file creation but keeps a synced one") {
  Workload w;
  w.Create("/a");
  w.SyncDir("/");
  w.Create("/b");
  CHECK(w.Listing(NothingPersisted(w.model.Pieces())) == std::set<std::string>{"/a="});
  CHECK(w.Listing(EverythingPersisted(w.model.Pieces())) == std::set<std::string>{"/a=", "/b="});
}

TEST_CASE("A synced file whose directory entry was not synced vanishes") {
  Workload w;
  w.Create("/f");
  w.Append("/f", "data");
  w.Sync("/f");
  const std::vector<CrashPiece> pieces = w.model.Pieces();
  REQUIRE(pieces.size() == 1);  // the creation alone: the data is durable
  CHECK(w.Listing(NothingPersisted(pieces)).empty());
  CHECK(w.Listing(EverythingPersisted(pieces)) == std::set<std::string>{"/f=data"});
}

TEST_CASE("An unsynced removal may be lost and the file comes back with its durable bytes") {
  Workload w;
  w.Create("/f");
  w.Append("/f", "durable");
  w.Sync("/f");
  w.SyncDir("/");
  w.Append("/f", " and not");  // unsynced when removed
  w.Remove("/f");
  CHECK(w.Listing(NothingPersisted(w.model.Pieces())) == std::set<std::string>{"/f=durable"});
  CHECK(w.Listing(EverythingPersisted(w.model.Pieces())).empty());
  w.SyncDir("/");  // the removal is durable, and the file is forgotten
  CHECK(w.model.Pieces().empty());
  CHECK(w.Listing(NothingPersisted({})).empty());
}

TEST_CASE("An unsynced rename may be lost and a renamed file keeps its unsynced writes") {
  Workload w;
  w.Create("/old");
  w.Append("/old", "abc");
  w.Sync("/old");
  w.SyncDir("/");
  w.Append("/old", "def");
  w.Rename("/old", "/new");
  w.Append("/new", "ghi");
  const std::vector<CrashPiece> pieces = w.model.Pieces();
  CHECK(w.Listing(NothingPersisted(pieces)) == std::set<std::string>{"/old=abc"});
  CHECK(w.Listing(EverythingPersisted(pieces)) == std::set<std::string>{"/new=abcdefghi"});
  // The rename alone: the new name with the durable bytes.
  CHECK(w.Listing(OnlyWith(pieces, PieceWith(pieces, "rename"))) ==
        std::set<std::string>{"/new=abc"});
  // The data alone, under the old name.
  CHECK(w.Listing(OnlyWith(pieces, PieceWith(pieces, "[3, 6)"))) ==
        std::set<std::string>{"/old=abcdef"});
}

TEST_CASE("A rename is atomic and replaces its target as one change") {
  Workload w;
  w.Create("/tmp");
  w.Create("/target");
  w.Append("/target", "old");
  w.Sync("/target");
  w.SyncDir("/");
  w.Append("/tmp", "new");
  w.Sync("/tmp");
  w.Rename("/tmp", "/target");
  std::set<std::set<std::string>> seen;
  const std::vector<CrashPiece> pieces = w.model.Pieces();
  for (const CrashChoice& choice : AllValidChoices(pieces)) seen.insert(w.Listing(choice));
  // Never both names, never neither: the old pair or the new target.
  CHECK(seen == std::set<std::set<std::string>>{{"/tmp=new", "/target=old"}, {"/target=new"}});
}

TEST_CASE("Changes to one name persist in order and a rename waits for both its names") {
  Workload w;
  w.Create("/a");
  w.Append("/a", "1");
  w.Sync("/a");
  w.SyncDir("/");
  w.Remove("/a");  // then a new /a
  w.Create("/a");
  w.Create("/b");
  w.Rename("/b", "/c");
  const std::vector<CrashPiece> pieces = w.model.Pieces();
  REQUIRE(pieces.size() == 4);
  const uint32_t create_a = PieceWith(pieces, "create \"/a\"");
  const uint32_t rename = PieceWith(pieces, "rename");
  CHECK(pieces[create_a].deps == std::vector<uint32_t>{PieceWith(pieces, "remove")});
  CHECK(pieces[rename].deps == std::vector<uint32_t>{PieceWith(pieces, "create \"/b\"")});
  // The new /a alone brings the removal of the old one with it: never the two reversed.
  CHECK(w.Listing(OnlyWith(pieces, create_a)) == std::set<std::string>{"/a="});
  CHECK(w.Listing(AllBut(pieces, PieceWith(pieces, "remove"))) ==
        std::set<std::string>{"/a=1", "/c="});
}

TEST_CASE("SyncDir makes a directory's changes durable with those they depend on") {
  Workload w;
  w.MakeDir("/d");
  w.MakeDir("/e");
  w.SyncDir("/");
  w.Create("/d/x");
  w.Rename("/d/x", "/e/y");  // across directories
  w.Create("/e/z");
  w.SyncDir("/e");
  // The rename was into /e: durable, and so the creation of /d/x it depends on (in /d).
  CHECK(w.model.Pieces().empty());
  CHECK(w.Listing(NothingPersisted({})) == std::set<std::string>{"/d", "/e", "/e/y=", "/e/z="});
}

TEST_CASE("Entries under a directory whose creation is lost are lost with it") {
  Workload w;
  w.MakeDir("/d");
  w.Create("/d/f");
  w.SyncDir("/d");  // the file's entry is durable, the directory's is not
  CHECK(w.Listing(NothingPersisted(w.model.Pieces())).empty());
  w.SyncDir("/");
  CHECK(w.Listing(NothingPersisted(w.model.Pieces())) == std::set<std::string>{"/d", "/d/f="});
}

TEST_CASE("Unsynced pages persist in any subset and a page past the end leaves zeros") {
  Workload w;
  w.Create("/f");
  w.SyncDir("/");
  const std::string a(4096, 'a');
  const std::string b(4096, 'b');
  const std::string c(100, 'c');
  w.Append("/f", a + b + c);
  const std::vector<CrashPiece> pieces = w.model.Pieces();
  REQUIRE(pieces.size() == 4);  // three pages and the new size
  CHECK(pieces[3].kind == CrashPiece::Kind::kSize);
  const std::string zeros(4096, '\0');
  // The last page alone: the file reaches it, with zeros before.
  CHECK(w.Listing(OnlyWith(pieces, 2)) == std::set<std::string>{"/f=" + zeros + zeros + c});
  // The middle one missing: a hole inside.
  CHECK(w.Listing(AllBut(pieces, 1)) == std::set<std::string>{"/f=" + a + zeros + c});
  // The size alone: zeros all the way.
  CHECK(w.Listing(OnlyWith(pieces, 3)) ==
        std::set<std::string>{"/f=" + std::string(8192 + 100, '\0')});
  // Every subset of the four is a state.
  std::set<std::set<std::string>> seen;
  for (const CrashChoice& choice : AllValidChoices(pieces)) seen.insert(w.Listing(choice));
  CHECK(seen.size() == 12);  // 8 data subsets; without the last page, with or without the size
}

TEST_CASE("Pages are cut at page boundaries of the file and overwrites revert") {
  Workload w;
  w.Create("/f");
  w.Append("/f", std::string(8192, 'x'));
  w.Sync("/f");
  w.SyncDir("/");
  w.Write("/f", 4000, std::string(200, 'y'));  // spans two pages
  const std::vector<CrashPiece> pieces = w.model.Pieces();
  REQUIRE(pieces.size() == 2);
  CHECK(pieces[0].begin == 4000);
  CHECK(pieces[0].end == 4096);
  CHECK(pieces[1].begin == 4096);
  CHECK(pieces[1].end == 4200);
  std::string expected = std::string(8192, 'x');
  CHECK(w.Listing(NothingPersisted(pieces)) == std::set<std::string>{"/f=" + expected});
  expected.replace(4096, 104, std::string(104, 'y'));
  CHECK(w.Listing(OnlyWith(pieces, 1)) == std::set<std::string>{"/f=" + expected});
}

TEST_CASE("Torn sectors keep their old bytes their new bytes or a prefix of the new") {
  Workload w;
  w.Create("/f");
  w.Append("/f", std::string(4096, 'o'));
  w.Sync("/f");
  w.SyncDir("/");
  w.Write("/f", 256, std::string(1024, 'n'));  // the second half of sector 0, sector 1, half of 2
  const std::vector<CrashPiece> pieces = w.model.Pieces();
  REQUIRE(pieces.size() == 1);
  CrashChoice choice = EverythingPersisted(pieces);
  choice.torn[0] = {256, 0, 100};  // sector 0 new, sector 1 old, sector 2 keeps 100 new bytes
  std::string expected(4096, 'o');
  expected.replace(256, 256, std::string(256, 'n'));
  expected.replace(1024, 100, std::string(100, 'n'));
  CHECK(w.Listing(choice) == std::set<std::string>{"/f=" + expected});
}

TEST_CASE("Truncations persist whole and in order with the writes of their file") {
  Workload w;
  w.Create("/f");
  w.Append("/f", "0123456789");
  w.Sync("/f");
  w.SyncDir("/");
  w.Truncate("/f", 4);
  w.Append("/f", "ab");
  w.Truncate("/f", 5);
  const std::vector<CrashPiece> pieces = w.model.Pieces();
  REQUIRE(pieces.size() == 4);  // truncate, page, size, truncate
  const uint32_t first = PieceWith(pieces, "to 4");
  const uint32_t second = PieceWith(pieces, "to 5");
  CHECK(pieces[second].deps == std::vector<uint32_t>{first});
  CHECK(w.Listing(EverythingPersisted(pieces)) == std::set<std::string>{"/f=0123a"});
  CHECK(w.Listing(OnlyWith(pieces, first)) == std::set<std::string>{"/f=0123"});
  // Without the first truncation the second is lost too (it comes after it), and the write lands
  // on the old bytes.
  CHECK(w.Listing(AllBut(pieces, first)) == std::set<std::string>{"/f=0123ab6789"});
  CHECK(w.Listing(OnlyWith(pieces, PieceWith(pieces, "write"))) ==
        std::set<std::string>{"/f=0123ab6789"});
}

TEST_CASE("Sync makes a file's data durable and its size with it") {
  Workload w;
  w.Create("/f");
  w.SyncDir("/");
  w.Append("/f", "abc");
  CHECK(w.model.UnsyncedBytes() == 3);
  w.Sync("/f");
  CHECK(w.model.UnsyncedBytes() == 0);
  CHECK(w.model.Pieces().empty());
  CHECK(w.Listing(NothingPersisted({})) == std::set<std::string>{"/f=abc"});
}

TEST_CASE("Crash makes the chosen state durable and the live one") {
  Workload w;
  w.Create("/a");
  w.Append("/a", "aa");
  w.SyncDir("/");
  w.Create("/b");
  std::vector<CrashPiece> pieces = w.model.Pieces();
  const uint32_t data = PieceWith(pieces, "write");
  w.model.Crash(pieces, OnlyWith(pieces, data));
  CHECK(w.model.Pieces().empty());
  CHECK(Workload::ListingOf(w.model.LiveImage()) == std::set<std::string>{"/a=aa"});
  CHECK(!w.model.Lookup("/b").has_value());
  w.Create("/b");  // the name is free again
}

TEST_CASE("Files that existed before are durable as first seen and learn their bytes") {
  CrashModel model;
  const absl::StatusOr<InodeId> id = model.AddExistingFile("/pre/existing/f");
  REQUIRE(id.ok());
  CHECK(model.NeedsContent(*id));
  CHECK(model.Lookup("/pre/existing")->is_dir);
  // Removing it before its bytes are known is refused: a crash may need them back.
  CHECK(model.Apply(FsOp::OnEntry(Kind::kRemove, "/pre/existing/f")).code() ==
        absl::StatusCode::kFailedPrecondition);
  model.SetContent(*id, "old");
  REQUIRE(model.Apply(FsOp::OnEntry(Kind::kRemove, "/pre/existing/f")).ok());
  const CrashImage image = model.Image(model.Pieces(), NothingPersisted(model.Pieces()));
  CHECK(image.nodes.at("/pre/existing/f").content == "old");
}

TEST_CASE("The model refuses what it does not model or know") {
  CrashModel model;
  REQUIRE(model.Apply(FsOp::OnEntry(Kind::kCreateDir, "/d")).ok());
  CHECK(model.Apply(FsOp::OnEntry(Kind::kRename, "/d", "/e")).code() ==
        absl::StatusCode::kUnimplemented);
  CHECK(model.Apply(FsOp::OnEntry(Kind::kCreateFile, "/x/../y")).code() ==
        absl::StatusCode::kInvalidArgument);
  CHECK(model.Apply(FsOp::OnEntry(Kind::kCreateFile, "/missing/f")).code() ==
        absl::StatusCode::kFailedPrecondition);
  CHECK(model.Apply(FsOp::OnEntry(Kind::kCreateFile, "/d")).code() ==
        absl::StatusCode::kFailedPrecondition);
  CHECK(model.Apply(FsOp::OnEntry(Kind::kRemove, "/nothing")).code() ==
        absl::StatusCode::kFailedPrecondition);
  CHECK(model.mutations() == 1);  // refused changes are not counted
  std::vector<FsOp> trace;
  model.set_trace(&trace);
  CHECK(!model.AddExistingFile("/other").ok());  // discovery cannot be replayed
  CHECK(trace.empty());
}

// A random workload on a few names, for the tests below.
void RandomWorkload(Workload& w, base::Random& random, int steps) {
  const std::string names[] = {"/a", "/b", "/d/c", "/d/e"};
  w.MakeDir("/d");
  for (int i = 0; i < steps; ++i) {
    const std::string& path = names[random.Uniform(4)];
    const std::string& other = names[random.Uniform(4)];
    const bool exists = w.model.Lookup(path).has_value();
    switch (random.Uniform(7)) {
      case 0:
        if (!exists) w.Create(path);
        break;
      case 1:
        if (exists) w.Remove(path);
        break;
      case 2:
        if (exists && path != other) w.Rename(path, other);
        break;
      case 3:
        if (exists) {
          const uint64_t size = w.model.LiveSize(w.Inode(path));
          const uint64_t at = random.Uniform(size + 1);
          w.Write(path, at, std::string(1 + random.Uniform(6000), static_cast<char>('a' + i % 26)));
        }
        break;
      case 4:
        if (exists) w.Truncate(path, random.Uniform(w.model.LiveSize(w.Inode(path)) + 1));
        break;
      case 5:
        if (exists) w.Sync(path);
        break;
      case 6:
        w.SyncDir(random.Bernoulli(0.5) ? "/" : "/d");
        break;
    }
  }
}

TEST_CASE("All but one and only one are the largest and smallest states around a piece") {
  const uint64_t seed = keel::testing::TestSeed(71);
  CAPTURE(seed);
  base::Random random(seed);
  int checked = 0;
  for (int trial = 0; trial < 200 && checked < 40; ++trial) {
    Workload w;
    RandomWorkload(w, random, 8);
    const std::vector<CrashPiece> pieces = w.model.Pieces();
    if (pieces.empty() || pieces.size() > 12) continue;
    ++checked;
    const std::vector<CrashChoice> valid = AllValidChoices(pieces);
    for (uint32_t i = 0; i < pieces.size(); ++i) {
      // Brute force: the valid choice without i that keeps the most, and the one with i that
      // keeps the least. Both are unique, as valid sets are closed under union and intersection.
      const CrashChoice* largest = nullptr;
      const CrashChoice* smallest = nullptr;
      const auto count = [](const CrashChoice& c) {
        return std::count(c.persisted.begin(), c.persisted.end(), true);
      };
      for (const CrashChoice& c : valid) {
        if (!c.persisted[i] && (largest == nullptr || count(c) > count(*largest))) largest = &c;
        if (c.persisted[i] && (smallest == nullptr || count(c) < count(*smallest))) smallest = &c;
      }
      CAPTURE(i);
      CHECK(AllBut(pieces, i).persisted == largest->persisted);
      CHECK(OnlyWith(pieces, i).persisted == smallest->persisted);
    }
  }
  CHECK(checked == 40);
}

TEST_CASE("Random choices are valid and reach every valid state") {
  const uint64_t seed = keel::testing::TestSeed(72);
  CAPTURE(seed);
  base::Random random(seed);
  int checked = 0;
  for (int trial = 0; trial < 200 && checked < 20; ++trial) {
    Workload w;
    RandomWorkload(w, random, 8);
    const std::vector<CrashPiece> pieces = w.model.Pieces();
    if (pieces.empty() || pieces.size() > 6) continue;
    ++checked;
    std::set<std::vector<bool>> valid;
    for (const CrashChoice& c : AllValidChoices(pieces)) valid.insert(c.persisted);
    std::set<std::vector<bool>> reached;
    for (int draw = 0; draw < 4000; ++draw) {
      const CrashChoice c = RandomChoice(pieces, random, CrashFreedoms{});
      CHECK(valid.contains(c.persisted));
      reached.insert(c.persisted);
      for (const auto& [i, kept] : c.torn) {
        CHECK(c.persisted[i]);
        CHECK(pieces[i].kind == CrashPiece::Kind::kPage);
      }
    }
    CHECK(reached == valid);
  }
  CHECK(checked == 20);
}

TEST_CASE("Random choices without freedoms keep prefixes and every entry change") {
  const uint64_t seed = keel::testing::TestSeed(73);
  CAPTURE(seed);
  base::Random random(seed);
  for (int trial = 0; trial < 100; ++trial) {
    Workload w;
    RandomWorkload(w, random, 10);
    const std::vector<CrashPiece> pieces = w.model.Pieces();
    const CrashChoice c = RandomChoice(pieces, random, {false, false, false});
    CHECK(c.torn.empty());
    std::map<InodeId, bool> lost_one;  // per file: has a piece been lost yet
    for (size_t i = 0; i < pieces.size(); ++i) {
      if (pieces[i].kind == CrashPiece::Kind::kDirectory) {
        CHECK(c.persisted[i]);
      } else if (c.persisted[i]) {
        CHECK(!lost_one[pieces[i].inode]);  // nothing persists after a lost piece of its file
      } else {
        lost_one[pieces[i].inode] = true;
      }
    }
  }
}

// The directory rules against an oracle written from their statement: a state is the durable
// entries plus any subset of the pending changes that holds, for every name, a prefix of the
// changes to that name (a rename's two names both), applied in order.
TEST_CASE("Directory crash states are exactly those that keep a prefix of each name") {
  const uint64_t seed = keel::testing::TestSeed(74);
  CAPTURE(seed);
  base::Random random(seed);
  const std::string names[] = {"/a", "/b", "/c"};
  for (int trial = 0; trial < 60; ++trial) {
    Workload w;
    // Durable: some of the names.
    std::map<std::string, std::string> durable;  // name -> content
    for (const std::string& name : names) {
      if (random.Bernoulli(0.5)) {
        w.Create(name);
        w.Append(name, name.substr(1));
        w.Sync(name);
        durable[name] = name.substr(1);
      }
    }
    w.SyncDir("/");
    // Pending: entry changes only (files created now stay empty).
    std::vector<FsOp> ops;
    while (ops.size() < 6) {
      const std::string& path = names[random.Uniform(3)];
      const std::string& other = names[random.Uniform(3)];
      const bool exists = w.model.Lookup(path).has_value();
      FsOp op;
      if (!exists) {
        op = FsOp::OnEntry(Kind::kCreateFile, path);
      } else if (random.Bernoulli(0.5)) {
        op = FsOp::OnEntry(Kind::kRemove, path);
      } else if (path != other) {
        op = FsOp::OnEntry(Kind::kRename, path, other);
      } else {
        continue;
      }
      w.Apply(op);
      ops.push_back(op);
    }
    std::set<std::set<std::string>> oracle;
    for (uint32_t mask = 0; mask < (1u << ops.size()); ++mask) {
      bool valid = true;
      std::map<std::string, bool> stopped;  // a name with a change left out
      for (size_t i = 0; i < ops.size(); ++i) {
        const bool kept = (mask >> i & 1) != 0;
        std::vector<std::string> touched = {ops[i].path};
        if (ops[i].kind == Kind::kRename) touched.push_back(ops[i].to);
        for (const std::string& name : touched) {
          if (kept && stopped[name]) valid = false;
        }
        if (!kept) {
          for (const std::string& name : touched) stopped[name] = true;
        }
      }
      if (!valid) continue;
      std::map<std::string, std::string> state = durable;
      for (size_t i = 0; i < ops.size(); ++i) {
        if ((mask >> i & 1) == 0) continue;
        if (ops[i].kind == Kind::kCreateFile) state[ops[i].path] = "";
        if (ops[i].kind == Kind::kRemove) state.erase(ops[i].path);
        if (ops[i].kind == Kind::kRename) {
          state[ops[i].to] = state.at(ops[i].path);
          state.erase(ops[i].path);
        }
      }
      std::set<std::string> listing;
      for (const auto& [name, content] : state) listing.insert(name + "=" + content);
      oracle.insert(listing);
    }
    std::set<std::set<std::string>> model;
    for (const CrashChoice& c : AllValidChoices(w.model.Pieces())) model.insert(w.Listing(c));
    CHECK(model == oracle);
  }
}

}  // namespace
}  // namespace keel::wal::internal
