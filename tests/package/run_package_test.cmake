# The package test, run by CTest as a CMake script:
#   1. install the already-built keel into a scratch prefix;
#   2. configure, build and run a consumer that uses find_package(keel CONFIG REQUIRED), which
#      also compiles every installed header on its own;
#   3. build and run the same consumer with the flags `pkg-config keel` gives;
#   4. configure, build and run a consumer that pulls keel in with add_subdirectory.
# Inputs: KEEL_SOURCE_DIR, KEEL_BINARY_DIR, WORK_DIR, GENERATOR, CXX_COMPILER, BUILD_TYPE, and
# CXX_LAUNCHER (the build's compiler launcher, ccache, if any: the consumers use it too).

function(run_step description)
  message(STATUS "package test: ${description}")
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE result)
  if(NOT result EQUAL 0)
    message(FATAL_ERROR "package test failed while trying to ${description} (exit ${result})")
  endif()
endfunction()

if(NOT BUILD_TYPE)
  set(BUILD_TYPE Release)
endif()
file(REMOVE_RECURSE "${WORK_DIR}")
set(prefix "${WORK_DIR}/prefix")

run_step("install keel into ${prefix}"
         "${CMAKE_COMMAND}" --install "${KEEL_BINARY_DIR}" --prefix "${prefix}" --config
         "${BUILD_TYPE}")

set(consumer_args -G "${GENERATOR}" "-DCMAKE_CXX_COMPILER=${CXX_COMPILER}"
                  "-DCMAKE_BUILD_TYPE=${BUILD_TYPE}")
if(CXX_LAUNCHER)
  list(APPEND consumer_args "-DCMAKE_CXX_COMPILER_LAUNCHER=${CXX_LAUNCHER}")
endif()

# 2. find_package.
set(fp_build "${WORK_DIR}/find_package")
run_step("configure the find_package consumer"
         "${CMAKE_COMMAND}" -S "${CMAKE_CURRENT_LIST_DIR}/find_package" -B "${fp_build}"
         ${consumer_args} "-DCMAKE_PREFIX_PATH=${prefix}")
run_step("build the find_package consumer and the header checks"
         "${CMAKE_COMMAND}" --build "${fp_build}")
run_step("run the find_package consumer" "${fp_build}/consumer")

# 3. pkg-config.
find_program(PKG_CONFIG_EXECUTABLE NAMES pkg-config pkgconf REQUIRED)
file(GLOB_RECURSE pc_files "${prefix}/keel.pc")
if(NOT pc_files)
  message(FATAL_ERROR "package test failed: keel.pc was not installed")
endif()
list(GET pc_files 0 pc_file)
get_filename_component(pc_dir "${pc_file}" DIRECTORY)
set(ENV{PKG_CONFIG_PATH} "${pc_dir}")
execute_process(COMMAND "${PKG_CONFIG_EXECUTABLE}" --cflags --libs keel
                OUTPUT_VARIABLE pc_flags RESULT_VARIABLE pc_result OUTPUT_STRIP_TRAILING_WHITESPACE)
if(NOT pc_result EQUAL 0)
  message(FATAL_ERROR "package test failed: pkg-config does not know keel")
endif()
separate_arguments(pc_flags UNIX_COMMAND "${pc_flags}")
run_step("build the consumer with pkg-config's flags"
         "${CXX_COMPILER}" -std=c++20 "${CMAKE_CURRENT_LIST_DIR}/consumer.cc" -o
         "${WORK_DIR}/pkg_config_consumer" ${pc_flags})
run_step("run the pkg-config consumer" "${WORK_DIR}/pkg_config_consumer")

# 4. add_subdirectory.
set(as_build "${WORK_DIR}/add_subdirectory")
# With warnings as errors, keel's sources compile with exactly the flags of the build under test,
# so that a compiler launcher (ccache) serves them from that build instead of compiling the
# library a second time; the options the consumer must not inherit stay checked.
run_step("configure the add_subdirectory consumer"
         "${CMAKE_COMMAND}" -S "${CMAKE_CURRENT_LIST_DIR}/add_subdirectory" -B "${as_build}"
         ${consumer_args} "-DKEEL_SOURCE_DIR=${KEEL_SOURCE_DIR}" -DKEEL_WARNINGS_AS_ERRORS=ON)
run_step("build the add_subdirectory consumer" "${CMAKE_COMMAND}" --build "${as_build}")
run_step("run the add_subdirectory consumer" "${as_build}/consumer")

message(STATUS "package test: all consumers built and ran")
