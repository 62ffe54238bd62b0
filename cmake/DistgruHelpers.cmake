# Shared settings for every distgru target.

# Warnings live on an INTERFACE target so they apply to our code only, never to
# third-party headers pulled in as SYSTEM.
add_library(distgru_warnings INTERFACE)
target_compile_options(distgru_warnings INTERFACE -Wall -Wextra -Wno-unused-parameter)

# HDF5's find module gives variables, not a target: wrap them once.
if(NOT TARGET distgru::hdf5)
  add_library(distgru::hdf5 INTERFACE IMPORTED)
  target_include_directories(distgru::hdf5 SYSTEM INTERFACE ${HDF5_C_INCLUDE_DIRS} ${HDF5_INCLUDE_DIRS})
  target_link_libraries(distgru::hdf5 INTERFACE ${HDF5_C_LIBRARIES} ${HDF5_LIBRARIES})
  target_compile_definitions(distgru::hdf5 INTERFACE ${HDF5_DEFINITIONS})
endif()

# Torch's CMake config exports plain variables on Debian: wrap as a target with
# SYSTEM includes so its headers do not drown our warnings.
if(NOT TARGET distgru::torch)
  add_library(distgru::torch INTERFACE IMPORTED)
  target_include_directories(distgru::torch SYSTEM INTERFACE ${TORCH_INCLUDE_DIRS})
  target_link_libraries(distgru::torch INTERFACE ${TORCH_LIBRARIES})
  separate_arguments(_torch_flags UNIX_COMMAND "${TORCH_CXX_FLAGS}")
  target_compile_options(distgru::torch INTERFACE ${_torch_flags})
endif()

# The one precompiled header every torch-using library shares.
function(distgru_torch_pch target)
  if(DISTGRU_PCH)
    if(TARGET distgru_pch)
      target_precompile_headers(${target} REUSE_FROM distgru_pch)
    endif()
  endif()
endfunction()
