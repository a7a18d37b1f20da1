// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// The narrated run of `hotel_reservation demo`.
#include <cstdio>

int Demo(int argc, char** argv) {
  (void)argc;
  (void)argv;
  return 0;
}
