# The libraries keel itself needs, found the same way as keelConfig.cmake finds them for a
# consumer: Abseil through its CMake package, xxHash through cmake/FindxxHash.cmake (Debian's
# libxxhash-dev ships no CMake package).
find_package(absl CONFIG REQUIRED)
find_package(xxHash REQUIRED)
