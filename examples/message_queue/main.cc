// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// message_queue: the "distributed message queue" case study as a command-line tool over a data
// directory, plus a narrated demo.
//
//   message_queue produce --dir D --topic T [--partitions P] [--acks 0|1|all] [--key-by-line]
//       One message per line of standard input; prints "acked <partition> <offset> <payload>" for
//       every acknowledged message (none with --acks 0: fire and forget).
//   message_queue consume --dir D --topic T --group G [--from-beginning] [--max N] [--follow]
//       Prints "<partition> <offset> <payload>" for every message up to the current end of the
//       log (then exits, unless --follow) and commits the group's offsets once they are written
//       out. With --follow, a topic that does not exist yet is waited for and read from its first
//       message.
//   message_queue serve --dir D
//       Opens the directory and serves the produce and consume runs started on it until
//       interrupted.
//
// One process at a time owns a directory. The run that opens it (produce, consume or serve)
// keeps the cluster open until it ends and serves the runs started meanwhile over a loopback port
// (access.h); when it ends they carry on with the next owner. docs/mq.md says how, and what is
// guaranteed across such a hand-over.
//
// Topic names are those the cluster accepts (1 to 200 of A-Z a-z 0-9 . _ -), except that names
// starting "__" belong to the cluster itself. Times are given in milliseconds, up to a year.
//   message_queue demo [--short]
//       A three-broker cluster narrated step by step: acks levels, a consumer group rebalancing,
//       a broker crash and catch-up, a consumer restarting, retry and dead-letter topics, delayed
//       messages.
//
// The brokers, partitions, replicas and consumer groups all live in keel::mq (keel/mq/*.h); this
// program only reads lines and prints them.
#include <cstdio>
#include <string_view>

#include "keel/base/strings.h"
#include "tool.h"

namespace {

void Usage(FILE* out) {
  std::fprintf(out,
               "message_queue: a Kafka-style message queue over a data directory (keel::mq)\n\n"
               "Commands:\n"
               "  produce --dir D --topic T [--partitions P] [--acks 0|1|all] [--key-by-line]\n"
               "      one message per line of standard input; prints\n"
               "      \"acked <partition> <offset> <payload>\" for each acknowledged message\n"
               "  consume --dir D --topic T --group G [--from-beginning] [--max N] [--follow]\n"
               "      prints \"<partition> <offset> <payload>\" up to the end of the log and\n"
               "      commits the group's offsets once they are written out; with --follow, a\n"
               "      topic that does not exist yet is waited for and read from its start\n"
               "  serve --dir D\n"
               "      keeps the directory open and serves the produce and consume runs started\n"
               "      on it until interrupted (any run that opens the directory serves the\n"
               "      others while it runs)\n"
               "  demo [--short]\n"
               "      a narrated tour of the case study\n\n"
               "Run \"message_queue <command> --help\" for every flag of a command.\n");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    Usage(stderr);
    return 2;
  }
  const std::string_view command = argv[1];
  if (command == "--help" || command == "-h" || command == "help") {
    Usage(stdout);
    return 0;
  }
  // Each command parses the rest as its own flags; argv[1] becomes its program name.
  if (command == "produce") return keel::examples::Produce(argc - 1, argv + 1);
  if (command == "consume") return keel::examples::Consume(argc - 1, argv + 1);
  if (command == "serve") return keel::examples::Serve(argc - 1, argv + 1);
  if (command == "demo") return keel::examples::Demo(argc - 1, argv + 1);
  std::fprintf(stderr, "message_queue: unknown command %s (see --help)\n",
               keel::base::Quoted(command).c_str());
  return 2;
}
