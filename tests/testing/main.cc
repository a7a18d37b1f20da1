// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// The main() of every keel test binary.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>
