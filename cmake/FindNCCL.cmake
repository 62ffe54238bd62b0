# Finds NCCL and the CUDA runtime. Defines NCCL_FOUND and the imported target
# NCCL::nccl (which carries the CUDA runtime too).
# Hints: NCCL_ROOT, CUDA_HOME, CUDAToolkit_ROOT; default /usr/local/cuda.
set(_nccl_hints ${NCCL_ROOT} $ENV{NCCL_ROOT} ${CUDA_HOME} $ENV{CUDA_HOME}
    ${CUDAToolkit_ROOT} $ENV{CUDAToolkit_ROOT} /usr/local/cuda)

find_path(NCCL_INCLUDE_DIR nccl.h HINTS ${_nccl_hints} PATH_SUFFIXES include)
find_library(NCCL_LIBRARY nccl HINTS ${_nccl_hints} PATH_SUFFIXES lib64 lib)
find_path(NCCL_CUDA_INCLUDE_DIR cuda_runtime_api.h HINTS ${_nccl_hints}
          PATH_SUFFIXES include targets/x86_64-linux/include targets/sbsa-linux/include)
find_library(NCCL_CUDART_LIBRARY cudart HINTS ${_nccl_hints}
             PATH_SUFFIXES lib64 lib targets/x86_64-linux/lib targets/sbsa-linux/lib)

include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(NCCL REQUIRED_VARS NCCL_LIBRARY NCCL_INCLUDE_DIR
                                  NCCL_CUDA_INCLUDE_DIR NCCL_CUDART_LIBRARY)

if(NCCL_FOUND AND NOT TARGET NCCL::nccl)
  add_library(NCCL::nccl INTERFACE IMPORTED)
  target_include_directories(NCCL::nccl SYSTEM INTERFACE ${NCCL_INCLUDE_DIR} ${NCCL_CUDA_INCLUDE_DIR})
  target_link_libraries(NCCL::nccl INTERFACE ${NCCL_LIBRARY} ${NCCL_CUDART_LIBRARY})
endif()
mark_as_advanced(NCCL_INCLUDE_DIR NCCL_LIBRARY NCCL_CUDA_INCLUDE_DIR NCCL_CUDART_LIBRARY)
