// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// hotel_reservation: the "hotel reservation" case study.
//
//   hotel_reservation replay --dir DIR --in FILE
//       Applies the commands in FILE, one per line, to the durable state in DIR (created if
//       absent) and prints one line per input line, "<line>,<key>,<result>". Every reservation
//       and cancellation carries a key, so replaying a file, or any part of it, after a crash
//       gives exactly the output of one uninterrupted run. docs/hotel_reservation.md has the
//       format and the rules.
//   hotel_reservation inventory --dir DIR
//       Prints every inventory record, "<hotel_id>,<room_type_id>,<date>,<total_inventory>,
//       <total_reserved>", sorted by hotel, room type and date.
//   hotel_reservation demo [--short]
//       A narrated run of the case study.
//
// The idempotency keys are keel's (keel/idempotency); the bookings, the command format and the
// replay engine are this folder's (bookings.h, commands.h, replay.h).
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>

#include "hotel_reservation/replay.h"
#include "keel/base/strings.h"

namespace {

using keel::examples::hotel::InventoryRow;
using keel::examples::hotel::Replayer;
using keel::examples::hotel::RoomNight;

void Usage(FILE* out) {
  std::fprintf(out,
               "hotel_reservation: the hotel reservation case study (keel::idempotency, "
               "keel::txn, keel::saga)\n\n"
               "Commands:\n"
               "  replay --dir DIR --in FILE   apply one command per line to the durable state\n"
               "                               in DIR; print \"<line>,<key>,<result>\" for each\n"
               "  inventory --dir DIR          print every inventory record:\n"
               "                               \"<hotel_id>,<room_type_id>,<date>,"
               "<total_inventory>,<total_reserved>\"\n"
               "  demo [--short]               a narrated run of the case study\n\n"
               "Commands in FILE (docs/hotel_reservation.md has the rules):\n"
               "  I,<hotel_id>,<room_type_id>,<date>,<total_inventory>\n"
               "  R,<key>,<hotel_id>,<room_type_id>,<start_date>,<end_date>,<rooms>\n"
               "  X,<key>,<reservation_key>\n"
               "Results: OK SOLD_OUT NO_INVENTORY UNKNOWN_RESERVATION ALREADY_CANCELLED "
               "KEY_REUSED INVALID MALFORMED\n");
}

// The longest line kept: longer ones are MALFORMED, and read past without being held.
constexpr size_t kMaxLineBytes = 1 << 20;
// Every complete line of a read is one batch, committed with one fsync before its output is
// written. Reads start small, so that output starts at once, and double up to the most, so that a
// long file pays few fsyncs.
constexpr size_t kFirstReadBytes = 16 << 10;
constexpr size_t kMaxReadBytes = 1 << 20;

bool WriteAll(const std::string& out) {
  size_t done = 0;
  while (done < out.size()) {
    const ssize_t n = ::write(STDOUT_FILENO, out.data() + done, out.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

int Fail(std::string_view what, std::string_view message) {
  std::fprintf(stderr, "hotel_reservation: %.*s: %.*s\n", static_cast<int>(what.size()),
               what.data(), static_cast<int>(message.size()), message.data());
  return 1;
}

int Replay(const std::string& dir, const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Fail(path, std::strerror(errno));
  auto replayer = Replayer::Open(dir);
  if (!replayer.ok()) {
    ::close(fd);
    return Fail(dir, replayer.status().ToString());
  }
  std::string buffer(kMaxReadBytes, '\0');
  size_t read_bytes = kFirstReadBytes;
  std::string line;       // the line being read, across reads
  bool overlong = false;  // the current line passed kMaxLineBytes
  uint64_t number = 0;
  std::string out;
  auto process = [&]() -> absl::Status {
    ++number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const absl::Status status =
        overlong ? (*replayer)->Process(number, "\x01", out)  // a line no command matches
                 : (*replayer)->Process(number, line, out);
    line.clear();
    overlong = false;
    return status;
  };
  while (true) {
    const ssize_t n = ::read(fd, buffer.data(), read_bytes);
    read_bytes = std::min(read_bytes * 2, kMaxReadBytes);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int error = errno;
      ::close(fd);
      return Fail(path, std::strerror(error));
    }
    const std::string_view chunk(buffer.data(), static_cast<size_t>(n));
    for (size_t at = 0; at < chunk.size();) {
      const size_t newline = chunk.find('\n', at);
      const std::string_view piece = chunk.substr(
          at, newline == std::string_view::npos ? std::string_view::npos : newline - at);
      if (!overlong) {
        if (line.size() + piece.size() > kMaxLineBytes + 1) {  // + 1: a trailing '\r'
          overlong = true;
          line.clear();
        } else {
          line.append(piece);
        }
      }
      if (newline == std::string_view::npos) break;
      if (absl::Status s = process(); !s.ok()) {
        ::close(fd);
        return Fail(dir, s.ToString());
      }
      at = newline + 1;
    }
    // At the end of the input, what is left is a last line without its newline.
    if (n == 0 && (!line.empty() || overlong)) {
      if (absl::Status s = process(); !s.ok()) {
        ::close(fd);
        return Fail(dir, s.ToString());
      }
    }
    if (!out.empty()) {
      // The batch's commands and outcomes are durable before any of its output is written.
      if (absl::Status s = (*replayer)->Commit(); !s.ok()) {
        ::close(fd);
        return Fail(dir, s.ToString());
      }
      if (!WriteAll(out)) {
        ::close(fd);
        return Fail("standard output", std::strerror(errno));
      }
      out.clear();
    }
    if (n == 0) break;
  }
  ::close(fd);
  return 0;
}

int Inventory(const std::string& dir) {
  auto replayer = Replayer::Open(dir);
  if (!replayer.ok()) return Fail(dir, replayer.status().ToString());
  std::string out;
  bool written = true;
  (*replayer)->service().ForEachRow([&](const RoomNight& night, const InventoryRow& row) {
    out += keel::base::Cat(night.hotel_id, ",", night.room_type_id, ",",
                           keel::examples::hotel::FormatDay(night.day), ",", row.total_inventory,
                           ",", row.total_reserved, "\n");
    if (out.size() >= (1 << 16)) {
      written = written && WriteAll(out);
      out.clear();
    }
  });
  if (!written || !WriteAll(out)) return Fail("standard output", std::strerror(errno));
  return 0;
}

// Reads "--dir DIR" and, when `in` is not null, "--in FILE", in any order.
bool ParseArgs(int argc, char** argv, std::string* dir, std::string* in) {
  for (int i = 2; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (i + 1 >= argc) return false;
    if (arg == "--dir") {
      *dir = argv[++i];
    } else if (arg == "--in" && in != nullptr) {
      *in = argv[++i];
    } else {
      return false;
    }
  }
  return !dir->empty() && (in == nullptr || !in->empty());
}

}  // namespace

int Demo(int argc, char** argv);

int main(int argc, char** argv) {
  if (argc < 2) {
    Usage(stderr);
    return 2;
  }
  const std::string_view command = argv[1];
  if (command == "--help" || command == "-h" || command == "help" ||
      (argc == 3 && std::strcmp(argv[2], "--help") == 0)) {
    Usage(stdout);
    return 0;
  }
  std::string dir;
  std::string in;
  if (command == "replay") {
    if (!ParseArgs(argc, argv, &dir, &in)) {
      std::fprintf(stderr, "hotel_reservation replay: want --dir DIR --in FILE\n");
      return 2;
    }
    return Replay(dir, in);
  }
  if (command == "inventory") {
    if (!ParseArgs(argc, argv, &dir, nullptr)) {
      std::fprintf(stderr, "hotel_reservation inventory: want --dir DIR\n");
      return 2;
    }
    return Inventory(dir);
  }
  if (command == "demo") return Demo(argc, argv);
  std::fprintf(stderr, "hotel_reservation: unknown command \"%s\"\n\n", argv[1]);
  Usage(stderr);
  return 2;
}
