// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// SplitArgs: splits an inline request line into words by the rules of Redis's sdssplitargs
// (sds.c), described in keel/net/resp_parser.h. Private to src/net.
#ifndef KEEL_SRC_NET_RESP_SPLIT_ARGS_H_
#define KEEL_SRC_NET_RESP_SPLIT_ARGS_H_

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace keel::net::internal {

// Appends each word's bytes to `bytes` and its (offset, length) in `bytes` to `spans`. Returns
// false on unbalanced quotes (an unclosed quote, or a closing quote followed by a non-space).
[[nodiscard]] bool SplitArgs(std::string_view line, std::string& bytes,
                             std::vector<std::pair<size_t, size_t>>& spans);

}  // namespace keel::net::internal

#endif  // KEEL_SRC_NET_RESP_SPLIT_ARGS_H_
