# FindxxHash
# ----------
# Finds the xxHash library (https://github.com/Cyan4973/xxHash) and defines the imported target
# xxHash::xxhash, plus xxHash_FOUND, xxHash_VERSION, xxHash_INCLUDE_DIR and xxHash_LIBRARY.
#
# Upstream xxHash installs a CMake package with this same target name, and that is tried first.
# Debian's libxxhash-dev installs only a header, the libraries and libxxhash.pc, so the fallback
# takes hints from pkg-config when it is available and searches the usual places when it is not.
#
# keel uses xxHash's inline mode (see include/keel/base/internal/xxhash.h), so only the header is
# required; the library is attached to the target when it is present.

find_package(xxHash CONFIG QUIET NO_MODULE)
if(xxHash_FOUND AND TARGET xxHash::xxhash)
  return()
endif()

find_package(PkgConfig QUIET)
if(PKG_CONFIG_FOUND)
  pkg_check_modules(PC_xxHash QUIET libxxhash)
endif()

find_path(
  xxHash_INCLUDE_DIR
  NAMES xxhash.h
  HINTS ${PC_xxHash_INCLUDEDIR} ${PC_xxHash_INCLUDE_DIRS})
find_library(
  xxHash_LIBRARY
  NAMES xxhash
  HINTS ${PC_xxHash_LIBDIR} ${PC_xxHash_LIBRARY_DIRS})

if(xxHash_INCLUDE_DIR AND EXISTS "${xxHash_INCLUDE_DIR}/xxhash.h")
  file(STRINGS "${xxHash_INCLUDE_DIR}/xxhash.h" _xxhash_version_lines
       REGEX "^#define XXH_VERSION_(MAJOR|MINOR|RELEASE)[ \t]+[0-9]+")
  foreach(_part MAJOR MINOR RELEASE)
    string(REGEX REPLACE ".*#define XXH_VERSION_${_part}[ \t]+([0-9]+).*" "\\1" _xxhash_${_part}
                         "${_xxhash_version_lines}")
  endforeach()
  set(xxHash_VERSION "${_xxhash_MAJOR}.${_xxhash_MINOR}.${_xxhash_RELEASE}")
endif()

include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(
  xxHash
  REQUIRED_VARS xxHash_INCLUDE_DIR
  VERSION_VAR xxHash_VERSION)

if(xxHash_FOUND AND NOT TARGET xxHash::xxhash)
  add_library(xxHash::xxhash INTERFACE IMPORTED)
  set_target_properties(xxHash::xxhash PROPERTIES INTERFACE_INCLUDE_DIRECTORIES
                                                  "${xxHash_INCLUDE_DIR}")
  if(xxHash_LIBRARY)
    set_property(TARGET xxHash::xxhash PROPERTY INTERFACE_LINK_LIBRARIES "${xxHash_LIBRARY}")
  endif()
endif()
mark_as_advanced(xxHash_INCLUDE_DIR xxHash_LIBRARY)
