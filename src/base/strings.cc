// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "keel/base/strings.h"

#include "absl/strings/escaping.h"

namespace keel::base {

std::string Quoted(std::string_view bytes, size_t max_bytes) {
  const bool cut = bytes.size() > max_bytes;
  const std::string_view shown = cut ? bytes.substr(0, max_bytes) : bytes;
  std::string out = "\"";
  // CHexEscape rather than CEscape: \x41 reads better than octal in a log line.
  out += absl::CHexEscape(absl::string_view(shown.data(), shown.size()));
  out += '"';
  if (cut) absl::StrAppend(&out, "... (", bytes.size(), " bytes in all)");
  return out;
}

}  // namespace keel::base
