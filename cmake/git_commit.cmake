# Run at every build (cmake -P), not only at configure time: writes OUT, a
# header defining DISTGRU_GIT_COMMIT as the checkout's commit ("+dirty" with
# uncommitted changes, "unknown" outside git), rewriting it only when the
# commit changed so nothing rebuilds otherwise.
#   cmake -DSOURCE_DIR=<checkout> -DOUT=<header> -P git_commit.cmake
execute_process(COMMAND git -C ${SOURCE_DIR} rev-parse --short=12 HEAD
                OUTPUT_VARIABLE commit OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET RESULT_VARIABLE rc)
if(NOT rc EQUAL 0 OR commit STREQUAL "")
  set(commit unknown)
else()
  execute_process(COMMAND git -C ${SOURCE_DIR} diff --quiet HEAD RESULT_VARIABLE dirty ERROR_QUIET)
  if(NOT dirty EQUAL 0)
    set(commit "${commit}+dirty")
  endif()
endif()
file(CONFIGURE OUTPUT ${OUT} CONTENT "#pragma once\n#define DISTGRU_GIT_COMMIT \"${commit}\"\n" @ONLY)
