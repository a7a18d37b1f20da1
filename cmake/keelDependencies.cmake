# The libraries keel itself needs, found the same way as keelConfig.cmake finds them for a
# consumer: Abseil through its CMake package, xxHash through cmake/FindxxHash.cmake (Debian's
# libxxhash-dev ships no CMake package). Boost (Asio, header-only, for keel/net) is needed only to
# build keel: no installed header includes it.
find_package(absl CONFIG REQUIRED)
find_package(xxHash REQUIRED)
find_package(Boost 1.74 REQUIRED)
