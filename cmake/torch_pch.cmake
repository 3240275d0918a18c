# A precompiled <torch/torch.h> for the translation units that include it.
#
# Parsing torch/torch.h is most of a torch TU's compile (about 20 s of one on a 2-core EPYC, 9 to
# 11 s with the header precompiled: `time c++ ... -c src/algo/offline/iql.cpp` with and without
# `-include`), and about 60 of stitch's TUs include it. Forcing it into a TU that does not include
# it costs about 5 s, so only torch TUs get it: a TU is one if it includes <torch/torch.h>, or (by
# a quoted path, as stitch writes them) a header of src/ or tests/ that is one. The scan runs
# at configure time; a TU that gains a torch include later builds without the precompiled header
# until CMake next configures (slower, never different: the header only saves parsing).
#
# One header is compiled, for the library target `stitch`; every other target reuses it (REUSE_FROM),
# which GCC accepts only when the flags that shape the header match. So those targets' torch TUs
# build with -fPIC like the library's (Debian's GCC otherwise makes executables' code -fpie).
#
# ccache caches TUs built with a precompiled header only with pch_defines and time_macros in its
# sloppiness (the launcher sets them in the top-level CMakeLists.txt).
#
# A cost: every TU of a target now has a per-source property, so under the Makefiles generator
# adding a source file to a target changes its flags.make and rebuilds all of its objects (ccache
# serves the unchanged ones). A clean build (CI's case) gains the most.
option(STITCH_TORCH_PCH "precompile <torch/torch.h> for the TUs that include it" ON)

set(_stitch_torch_include_regex "#[ \t]*include[ \t]*<torch/torch\\.h>")

# The headers of src/ and tests/ that include torch, directly or through each other, as the quoted
# paths stitch includes them by (relative to src/ or tests/).
function(_stitch_torch_headers out)
  file(GLOB_RECURSE src_headers RELATIVE ${CMAKE_SOURCE_DIR}/src ${CMAKE_SOURCE_DIR}/src/*.h)
  file(GLOB_RECURSE test_headers RELATIVE ${CMAKE_SOURCE_DIR}/tests ${CMAKE_SOURCE_DIR}/tests/*.h)
  set(all "")
  foreach(h IN LISTS src_headers)
    list(APPEND all "src|${h}")
  endforeach()
  foreach(h IN LISTS test_headers)
    list(APPEND all "tests|${h}")
  endforeach()
  set(torch_headers "")
  set(changed TRUE)
  while(changed)
    set(changed FALSE)
    foreach(entry IN LISTS all)
      string(REPLACE "|" ";" parts "${entry}")
      list(GET parts 0 root)
      list(GET parts 1 rel)
      if(rel IN_LIST torch_headers)
        continue()
      endif()
      _stitch_is_torch_file(${CMAKE_SOURCE_DIR}/${root}/${rel} "${torch_headers}" is_torch)
      if(is_torch)
        list(APPEND torch_headers ${rel})
        set(changed TRUE)
      endif()
    endforeach()
  endwhile()
  set(${out} "${torch_headers}" PARENT_SCOPE)
endfunction()

# Whether FILE includes torch itself or one of TORCH_HEADERS by a quoted path.
function(_stitch_is_torch_file file torch_headers out)
  file(STRINGS ${file} includes REGEX "^[ \t]*#[ \t]*include")
  foreach(line IN LISTS includes)
    if(line MATCHES "${_stitch_torch_include_regex}")
      set(${out} TRUE PARENT_SCOPE)
      return()
    endif()
    if(line MATCHES "#[ \t]*include[ \t]*\"([^\"]+)\"")
      if(CMAKE_MATCH_1 IN_LIST torch_headers)
        set(${out} TRUE PARENT_SCOPE)
        return()
      endif()
    endif()
  endforeach()
  set(${out} FALSE PARENT_SCOPE)
endfunction()

if(STITCH_TORCH_PCH)
  _stitch_torch_headers(STITCH_TORCH_HEADERS)
endif()

# Gives TARGET's torch TUs the precompiled header (made here for `stitch`, reused by the rest) and
# marks its other TUs to build without it.
function(stitch_torch_pch target)
  if(NOT STITCH_TORCH_PCH)
    return()
  endif()
  get_target_property(sources ${target} SOURCES)
  get_target_property(source_dir ${target} SOURCE_DIR)
  set(torch_sources "")
  set(other_sources "")
  foreach(s IN LISTS sources)
    if(NOT s MATCHES "\\.(cpp|cc)$")
      continue()
    endif()
    if(IS_ABSOLUTE ${s})
      set(path ${s})
    else()
      set(path ${source_dir}/${s})
    endif()
    set(is_torch FALSE)
    if(EXISTS ${path})
      _stitch_is_torch_file(${path} "${STITCH_TORCH_HEADERS}" is_torch)
    endif()
    if(is_torch)
      list(APPEND torch_sources ${path})
    else()
      list(APPEND other_sources ${path})
    endif()
  endforeach()
  if(NOT torch_sources)
    return()
  endif()
  if(other_sources)
    set_source_files_properties(${other_sources} TARGET_DIRECTORY ${target} PROPERTIES SKIP_PRECOMPILE_HEADERS ON)
  endif()
  if(target STREQUAL "stitch")
    target_precompile_headers(stitch PRIVATE <torch/torch.h>)
  else()
    target_precompile_headers(${target} REUSE_FROM stitch)
    set_property(SOURCE ${torch_sources} TARGET_DIRECTORY ${target} APPEND PROPERTY COMPILE_OPTIONS -fPIC)
  endif()
endfunction()
