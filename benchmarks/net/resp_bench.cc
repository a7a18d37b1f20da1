// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// The RESP codec against straightforward versions of the same work, on the same bytes in the same
// run.
//
//   BM_ParsePipeline            RespParser over 1,000 pipelined requests, as redis-benchmark
//                               sends them (SET key:NNNNNN xxx, or ZADD myzset SCORE
//                               element:NNNNNN), fed whole: every command's arguments are
//                               views into the buffer.
//   BM_ParsePipelineBaseline    the obvious parser: std::string::find for each "\r\n",
//                               std::stoll on a substring for each count and length, and a
//                               std::vector<std::string> of copied arguments per command.
//   BM_ParsePipelineInPieces    RespParser fed the same stream in 1,460-byte pieces (one TCP
//                               segment each), the incremental path a server takes.
//   BM_EncodeRange              RespWriter encoding ZRANGE ... WITHSCORES replies of 10 members
//                               with their scores (RESP2: bulk strings; "%.17g" for the scores).
//   BM_EncodeRangeBaseline      the same bytes with snprintf for every header and score, the way
//                               a first version (and Redis's addReplyDouble) formats them.
//
// Items are commands (parsing) or replies (encoding); bytes are the protocol bytes.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "keel/base/random.h"
#include "keel/net/resp_parser.h"
#include "keel/net/resp_writer.h"

namespace keel::net {
namespace {

constexpr int kPipeline = 1'000;

std::string Pipeline(bool zadd) {
  base::Random random(7);
  std::string stream;
  for (int i = 0; i < kPipeline; ++i) {
    char key[32];
    std::snprintf(key, sizeof(key), "%s%06llu", zadd ? "element:" : "key:",
                  static_cast<unsigned long long>(random.Uniform(1'000'000)));
    const std::string score = std::to_string(random.Uniform(100'000));
    if (zadd) {
      AppendCommand(stream, std::vector<std::string_view>{"ZADD", "myzset", score, key});
    } else {
      AppendCommand(stream, std::vector<std::string_view>{"SET", key, "xxx"});
    }
  }
  return stream;
}

// Runs the parser over `stream` cut into `piece`-byte pieces: the commands it found.
int ParseInPieces(RespParser& parser, std::string_view stream, size_t piece, size_t& bytes) {
  int commands = 0;
  for (size_t at = 0; at < stream.size(); at += piece) {
    parser.Feed(stream.substr(at, piece));
    while (parser.Next() == RespParser::Result::kCommand) {
      bytes += parser.args()[1].size();
      ++commands;
    }
  }
  return commands;
}

// state.range(0): ZADD (1) or SET (0); `piece`: bytes fed at a time.
void ParseBenchmark(benchmark::State& state, size_t piece) {
  const std::string stream = Pipeline(state.range(0) == 1);
  RespParser parser;
  size_t bytes = 0;
  for (auto _ : state) {
    const int commands = ParseInPieces(parser, stream, piece, bytes);
    benchmark::DoNotOptimize(bytes);
    if (commands != kPipeline) state.SkipWithError("wrong command count");
  }
  state.SetItemsProcessed(state.iterations() * kPipeline);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * stream.size()));
}

void BM_ParsePipeline(benchmark::State& state) { ParseBenchmark(state, SIZE_MAX); }
BENCHMARK(BM_ParsePipeline)->Arg(0)->Arg(1)->ArgName("zadd");

void BM_ParsePipelineInPieces(benchmark::State& state) {
  constexpr size_t kSegment = 1460;  // one TCP segment's payload
  ParseBenchmark(state, kSegment);
}
BENCHMARK(BM_ParsePipelineInPieces)->Arg(0)->Arg(1)->ArgName("zadd");

// The baseline: one multibulk request at `pos`, or false if it is incomplete.
bool BaselineParse(const std::string& buffer, size_t& pos, std::vector<std::string>& args) {
  size_t eol = buffer.find("\r\n", pos);
  if (eol == std::string::npos) return false;
  const long long count = std::stoll(buffer.substr(pos + 1, eol - pos - 1));
  size_t at = eol + 2;
  args.clear();
  for (long long i = 0; i < count; ++i) {
    eol = buffer.find("\r\n", at);
    if (eol == std::string::npos) return false;
    const size_t length = static_cast<size_t>(std::stoll(buffer.substr(at + 1, eol - at - 1)));
    at = eol + 2;
    if (at + length + 2 > buffer.size()) return false;
    args.emplace_back(buffer, at, length);
    at += length + 2;
  }
  pos = at;
  return true;
}

void BM_ParsePipelineBaseline(benchmark::State& state) {
  const std::string stream = Pipeline(state.range(0) == 1);
  std::vector<std::string> args;
  size_t bytes = 0;
  for (auto _ : state) {
    size_t pos = 0;
    int commands = 0;
    while (pos < stream.size() && BaselineParse(stream, pos, args)) {
      bytes += args[1].size();
      ++commands;
    }
    benchmark::DoNotOptimize(bytes);
    if (commands != kPipeline) state.SkipWithError("wrong command count");
  }
  state.SetItemsProcessed(state.iterations() * kPipeline);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * stream.size()));
}
BENCHMARK(BM_ParsePipelineBaseline)->Arg(0)->Arg(1)->ArgName("zadd");

struct Member {
  std::string name;
  double score;
};

std::vector<Member> Members() {
  base::Random random(11);
  std::vector<Member> members;
  for (int i = 0; i < 10; ++i) {
    members.push_back({"player:" + std::to_string(random.Uniform(1'000'000)),
                       static_cast<double>(random.Uniform(100'000)) + 0.5});
  }
  return members;
}

constexpr int kReplies = 100;

// kReplies ZRANGE ... WITHSCORES replies of `members`, with RespWriter.
void EncodeRanges(const std::vector<Member>& members, std::string& out) {
  RespWriter writer(out);
  for (int r = 0; r < kReplies; ++r) {
    writer.ArrayHeader(members.size() * 2);
    for (const Member& member : members) {
      writer.BulkString(member.name);
      writer.Double(member.score);
    }
  }
}

void BM_EncodeRange(benchmark::State& state) {
  const std::vector<Member> members = Members();
  std::string out;
  for (auto _ : state) {
    out.clear();
    EncodeRanges(members, out);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations() * kReplies);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * out.size()));
}
BENCHMARK(BM_EncodeRange);

void BM_EncodeRangeBaseline(benchmark::State& state) {
  const std::vector<Member> members = Members();
  std::string out;
  std::string reference;
  EncodeRanges(members, reference);
  for (auto _ : state) {
    out.clear();
    char buffer[64];
    for (int r = 0; r < kReplies; ++r) {
      out.append(buffer, static_cast<size_t>(std::snprintf(buffer, sizeof(buffer), "*%zu\r\n",
                                                           members.size() * 2)));
      for (const Member& member : members) {
        out.append(buffer, static_cast<size_t>(std::snprintf(buffer, sizeof(buffer), "$%zu\r\n",
                                                             member.name.size())));
        out.append(member.name);
        out.append("\r\n");
        char score[32];
        const int length = std::snprintf(score, sizeof(score), "%.17g", member.score);
        out.append(buffer,
                   static_cast<size_t>(std::snprintf(buffer, sizeof(buffer), "$%d\r\n", length)));
        out.append(score, static_cast<size_t>(length));
        out.append("\r\n");
      }
    }
    benchmark::DoNotOptimize(out.data());
  }
  if (out != reference) state.SkipWithError("the baseline encodes different bytes");
  state.SetItemsProcessed(state.iterations() * kReplies);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * out.size()));
}
BENCHMARK(BM_EncodeRangeBaseline);

}  // namespace
}  // namespace keel::net
