# The kernel layer: run-time-dispatched compute kernels (the matrix-product engine, the element-wise
# kernels) and the CPU-feature runtime they dispatch on. Included from the root CMakeLists.txt;
# defines DENSEKIT_KERNEL_OBJECTS (objects the core library archives) and the object libraries
# densekit_kernel_paths / densekit_elementwise_<path> whose objects the weak-symbol test checks.
#
# One build carries every path; nothing else in the library is compiled more than once.
# - gemm_<isa>.cpp raise the ISA for their own kernels only, with a target pragma, and define no
#   weak symbols at all (they use nothing from std:: or Eigen).
# - elementwise_path.cpp instantiates Eigen-based math (activations, batch norm, update rules),
#   so it is compiled once per path with that path's -m flags, partially linked (`ld -r`, section
#   groups dissolved) and every symbol but its table made local (`objcopy`): an AVX-512 copy of an
#   inline Eigen function can then never be the one a baseline caller links to.
# -ffp-contract=off for the engine: its arithmetic contract (kernels/gemm_engine.hpp) decides
# where multiply-adds are fused, not the compiler.

if(CMAKE_SYSTEM_PROCESSOR MATCHES "x86_64|AMD64")
  set(DENSEKIT_X86 TRUE)
  set(DENSEKIT_KERNEL_BASELINE -march=x86-64-v2 -mtune=generic)
else()
  set(DENSEKIT_X86 FALSE)
  set(DENSEKIT_KERNEL_BASELINE "")
endif()
set(DENSEKIT_WARNINGS -Wall -Wextra $<$<BOOL:${DENSEKIT_WERROR}>:-Werror>)
# Kernel speed should not depend on the build type of whoever embeds the library.
set(DENSEKIT_KERNEL_OPT $<$<NOT:$<CONFIG:Debug>>:-O3>)

# --- the product engine and the dispatch front ---
add_library(densekit_kernel_paths OBJECT
  cpp/src/kernels/gemm_portable.cpp
  cpp/src/kernels/gemm_avx2.cpp
  cpp/src/kernels/gemm_avx512.cpp)
add_library(densekit_kernels OBJECT
  cpp/src/runtime/cpu_features.cpp
  cpp/src/kernels/dispatch.cpp
  cpp/src/kernels/gemm_engine.cpp
  cpp/src/kernels/elementwise.cpp)
foreach(target densekit_kernel_paths densekit_kernels)
  target_include_directories(${target} PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/cpp/include)
  target_compile_options(${target} PRIVATE ${DENSEKIT_KERNEL_BASELINE} -ffp-contract=off
                         ${DENSEKIT_KERNEL_OPT} ${DENSEKIT_WARNINGS})
  target_link_libraries(${target} PRIVATE Eigen3::Eigen)  # runtime/types.hpp (Index)
  target_compile_definitions(${target} PRIVATE ${DENSEKIT_EIGEN_DEFINITIONS})
endforeach()

# --- the element-wise kernels, one object per path ---
# Partial linking that dissolves section groups needs GNU ld >= 2.30 or lld; elsewhere the
# portable copy alone is built (every path then uses it).
set(densekit_can_isolate FALSE)
if(CMAKE_LINKER AND CMAKE_OBJCOPY)
  execute_process(COMMAND ${CMAKE_LINKER} --help OUTPUT_VARIABLE ld_help ERROR_QUIET)
  if(ld_help MATCHES "force-group-allocation")
    set(densekit_can_isolate TRUE)
  endif()
endif()
if(DENSEKIT_X86 AND densekit_can_isolate)
  set(DENSEKIT_ELEMENTWISE_PATHS portable avx2 avx512)
else()
  set(DENSEKIT_ELEMENTWISE_PATHS portable)
  target_compile_definitions(densekit_kernels PRIVATE DENSEKIT_ELEMENTWISE_PORTABLE_ONLY)
  message(STATUS "densekit: element-wise kernels for the baseline ISA only "
                 "(the linker cannot keep per-ISA objects private)")
endif()
set(DENSEKIT_ISA_FLAGS_portable "")
set(DENSEKIT_ISA_FLAGS_avx2 -mavx2 -mfma)  # what kernels/dispatch.cpp checks for the path
set(DENSEKIT_ISA_FLAGS_avx512 -mavx512f -mavx512bw -mavx512dq -mavx512vl -mavx2 -mfma
                              -Wno-maybe-uninitialized)
set(DENSEKIT_KERNEL_OBJECTS $<TARGET_OBJECTS:densekit_kernels> $<TARGET_OBJECTS:densekit_kernel_paths>)
set(DENSEKIT_ELEMENTWISE_ISOLATED "")
foreach(path IN LISTS DENSEKIT_ELEMENTWISE_PATHS)
  set(lib densekit_elementwise_${path})
  add_library(${lib} OBJECT cpp/src/kernels/elementwise_path.cpp)
  target_include_directories(${lib} PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/cpp/include)
  target_link_libraries(${lib} PRIVATE Eigen3::Eigen)
  target_compile_definitions(${lib} PRIVATE DENSEKIT_KERNEL_PATH=${path} ${DENSEKIT_EIGEN_DEFINITIONS})
  target_compile_options(${lib} PRIVATE ${DENSEKIT_KERNEL_BASELINE} ${DENSEKIT_ISA_FLAGS_${path}}
                         -fvisibility=hidden ${DENSEKIT_KERNEL_OPT} ${DENSEKIT_WARNINGS})
  if(densekit_can_isolate)
    set(isolated ${CMAKE_CURRENT_BINARY_DIR}/elementwise_${path}.o)
    add_custom_command(
      OUTPUT ${isolated}
      COMMAND ${CMAKE_LINKER} -r --force-group-allocation -o ${isolated}.partial $<TARGET_OBJECTS:${lib}>
      COMMAND ${CMAKE_OBJCOPY} --keep-global-symbol=densekit_elementwise_${path} ${isolated}.partial ${isolated}
      DEPENDS ${lib} $<TARGET_OBJECTS:${lib}>
      COMMAND_EXPAND_LISTS VERBATIM
      COMMENT "Isolating the ${path} element-wise kernels (every symbol local but the table)")
    set_source_files_properties(${isolated} PROPERTIES EXTERNAL_OBJECT TRUE GENERATED TRUE)
    list(APPEND DENSEKIT_KERNEL_OBJECTS ${isolated})
    list(APPEND DENSEKIT_ELEMENTWISE_ISOLATED ${isolated})
  else()
    list(APPEND DENSEKIT_KERNEL_OBJECTS $<TARGET_OBJECTS:${lib}>)
  endif()
endforeach()

# The int8, float16 and sparse inference kernels join the layer above.
include(${CMAKE_CURRENT_LIST_DIR}/quant_kernels.cmake)
