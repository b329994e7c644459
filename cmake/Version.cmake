# Provenance compiled into the binary: version, git commit, build type, compiler.
execute_process(COMMAND git rev-parse HEAD WORKING_DIRECTORY ${CMAKE_SOURCE_DIR}
  OUTPUT_VARIABLE MEDSYN_GIT_COMMIT OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
execute_process(COMMAND git status --porcelain --untracked-files=no WORKING_DIRECTORY ${CMAKE_SOURCE_DIR}
  OUTPUT_VARIABLE MEDSYN_GIT_DIRTY OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
if(NOT MEDSYN_GIT_COMMIT)
  set(MEDSYN_GIT_COMMIT "unknown")
endif()
if(MEDSYN_GIT_DIRTY)
  set(MEDSYN_GIT_COMMIT "${MEDSYN_GIT_COMMIT}-dirty")
endif()
configure_file(${CMAKE_SOURCE_DIR}/core/src/build_info.cpp.in ${CMAKE_BINARY_DIR}/generated/build_info.cpp @ONLY)
