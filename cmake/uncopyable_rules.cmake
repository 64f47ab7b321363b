# The CMake counterparts of copts.bzl and tests/defs.bzl: the warnings of the
# project's own code and the functions every target of the CMake build is
# declared with. Included by the top-level CMakeLists.txt.

include_guard(GLOBAL)

# copts.bzl's UNCOPYABLE_COPTS. PRIVATE to each target, so they never reach a
# consumer; -Werror only with UNCOPYABLE_WERROR (on when uncopyable is the
# top-level project, off when it is a subproject of yours).
set(UNCOPYABLE_WARNINGS
  -Wall -Wextra -Wshadow -Wnon-virtual-dtor -Woverloaded-virtual -Wcast-align
  -Wformat=2 -Wimplicit-fallthrough -Wmissing-declarations)

function(uncopyable_warnings target)
  target_compile_options(${target} PRIVATE ${UNCOPYABLE_WARNINGS}
                         $<$<BOOL:${UNCOPYABLE_WERROR}>:-Werror>)
endfunction()

# uncopyable_library(NAME [UMBRELLA] [TESTONLY] [OBJECT]
#                    SRCS src/... HDRS include/uncopyable/... DEPS ...
#                    LINK_OPTIONS ...)
#
# One target per rule of BUILD.bazel, with the same name: the target
# uncopyable_NAME (library file libuncopyable_NAME.a), exported and aliased
# as uncopyable::NAME. Headers are a FILE_SET rooted at include/, installed
# with it. With no SRCS it is an INTERFACE library (a header-only rule).
# UMBRELLA puts it in uncopyable::uncopyable (everything), like
# `umbrella = True`; TESTONLY keeps it out of it and of uncopyable.pc.
# OBJECT makes an object library: its objects go whole into what links it
# directly (Bazel's alwayslink + linkstatic).
function(uncopyable_library name)
  cmake_parse_arguments(PARSE_ARGV 1 arg "UMBRELLA;TESTONLY;OBJECT" ""
                        "SRCS;HDRS;DEPS;LINK_OPTIONS")
  if(arg_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "uncopyable_library(${name}): unknown arguments ${arg_UNPARSED_ARGUMENTS}")
  endif()
  set(target uncopyable_${name})
  if(arg_OBJECT)
    add_library(${target} OBJECT)
    set(scope PUBLIC)
  elseif(arg_SRCS)
    add_library(${target})
    set(scope PUBLIC)
  else()
    add_library(${target} INTERFACE)
    set(scope INTERFACE)
  endif()
  add_library(uncopyable::${name} ALIAS ${target})
  set_target_properties(${target} PROPERTIES EXPORT_NAME ${name})
  if(arg_SRCS)
    target_sources(${target} PRIVATE ${arg_SRCS})
    uncopyable_warnings(${target})
    set_target_properties(${target} PROPERTIES
      VERSION ${PROJECT_VERSION}
      # 0.x: a minor version may break the ABI (see the ConfigVersion file).
      SOVERSION ${PROJECT_VERSION_MAJOR}.${PROJECT_VERSION_MINOR}
      # Shared (BUILD_SHARED_LIBS): each finds the others beside it in any prefix.
      INSTALL_RPATH "$ORIGIN")
  endif()
  if(arg_HDRS)
    target_sources(${target} ${scope} FILE_SET HEADERS
                   BASE_DIRS ${PROJECT_SOURCE_DIR}/include FILES ${arg_HDRS})
  else()
    # Still on the include path of what links it (Bazel's includes = ["include"]).
    target_include_directories(${target} ${scope}
      $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include>
      $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
  endif()
  target_compile_features(${target} ${scope} cxx_std_20)
  target_link_libraries(${target} ${scope} ${arg_DEPS})
  if(arg_LINK_OPTIONS)
    target_link_options(${target} INTERFACE ${arg_LINK_OPTIONS})
  endif()
  set_property(GLOBAL APPEND PROPERTY UNCOPYABLE_LIBRARIES ${name})
  if(arg_UMBRELLA)
    if(arg_TESTONLY)
      message(FATAL_ERROR "uncopyable_library(${name}): a TESTONLY library cannot be in the umbrella")
    endif()
    set_property(GLOBAL APPEND PROPERTY UNCOPYABLE_UMBRELLA ${name})
  endif()
  if(arg_TESTONLY)
    set_property(GLOBAL APPEND PROPERTY UNCOPYABLE_TESTONLY ${name})
  endif()
endfunction()

# uncopyable::uncopyable: every library declared with UMBRELLA (called last,
# like uncopyable_umbrella in copts.bzl).
function(uncopyable_umbrella)
  get_property(members GLOBAL PROPERTY UNCOPYABLE_UMBRELLA)
  if(NOT members)
    message(FATAL_ERROR "uncopyable_umbrella: no uncopyable_library(... UMBRELLA) declared before it")
  endif()
  add_library(uncopyable_uncopyable INTERFACE)
  add_library(uncopyable::uncopyable ALIAS uncopyable_uncopyable)
  set_target_properties(uncopyable_uncopyable PROPERTIES EXPORT_NAME uncopyable)
  list(TRANSFORM members PREPEND uncopyable_)
  target_link_libraries(uncopyable_uncopyable INTERFACE ${members})
  set_property(GLOBAL APPEND PROPERTY UNCOPYABLE_LIBRARIES uncopyable)
endfunction()

# uncopyable_test(NAME SRCS ... [DEPS ...] [MEDIUM] [ARGS ...])
#
# tests/defs.bzl's uncopyable_test: a GoogleTest program with the project's
# warnings, the leak-guard main and the descriptor ownership checks, run by
# CTest the way `bazel test` runs it (cmake/run_test.sh: a fresh TEST_TMPDIR,
# TEST_SRCDIR, threadsafe death tests). MEDIUM gives Bazel's medium timeout
# (300 s instead of 60 s).
function(uncopyable_test name)
  cmake_parse_arguments(PARSE_ARGV 1 arg "MEDIUM" "" "SRCS;DEPS")
  add_executable(${name} ${arg_SRCS})
  uncopyable_warnings(${name})
  target_link_libraries(${name} PRIVATE ${arg_DEPS} uncopyable_test_main
                        uncopyable::fd_ownership_checks GTest::gtest)
  uncopyable_add_test(${name} $<TARGET_FILE:${name}>)
  if(arg_MEDIUM)
    set_tests_properties(${name} PROPERTIES TIMEOUT 300)
  endif()
endfunction()

# A CTest test that runs COMMAND... through cmake/run_test.sh.
function(uncopyable_add_test name)
  add_test(NAME ${name}
           COMMAND ${PROJECT_SOURCE_DIR}/cmake/run_test.sh
                   ${PROJECT_BINARY_DIR}/test_tmp/${name} ${ARGN})
  set_tests_properties(${name} PROPERTIES
    TIMEOUT 60
    ENVIRONMENT "TEST_SRCDIR=${UNCOPYABLE_RUNFILES};TEST_WORKSPACE=uncopyable;GTEST_DEATH_TEST_STYLE=threadsafe")
endfunction()

# Writes FILE: every source and header file of every target declared under
# DIR (recursively), relative to the project's root, one per line, sorted.
# tools/check_sources.py compares it with the files the Bazel build names.
function(uncopyable_write_source_list file dir)
  set(files)
  set(dirs ${dir})
  while(dirs)
    list(POP_FRONT dirs d)
    get_property(subdirs DIRECTORY ${d} PROPERTY SUBDIRECTORIES)
    list(APPEND dirs ${subdirs})
    get_property(targets DIRECTORY ${d} PROPERTY BUILDSYSTEM_TARGETS)
    foreach(target IN LISTS targets)
      get_target_property(sources ${target} SOURCES)
      get_target_property(headers ${target} HEADER_SET)
      get_target_property(target_dir ${target} SOURCE_DIR)
      foreach(f IN LISTS sources headers)
        if(NOT f OR f MATCHES "NOTFOUND$" OR f MATCHES "^\\$<")
          continue()
        endif()
        cmake_path(ABSOLUTE_PATH f BASE_DIRECTORY ${target_dir} NORMALIZE)
        cmake_path(RELATIVE_PATH f BASE_DIRECTORY ${PROJECT_SOURCE_DIR})
        list(APPEND files ${f})
      endforeach()
    endforeach()
  endwhile()
  list(REMOVE_DUPLICATES files)
  list(SORT files)
  list(JOIN files "\n" text)
  file(WRITE ${file} "${text}\n")
endfunction()
