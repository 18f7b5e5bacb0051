# The kernel layer: run-time-dispatched compute kernels (today the matrix-product engine) and the
# CPU-feature runtime they dispatch on. Included from the root CMakeLists.txt.
#
# Every source compiles at the baseline ISA (x86-64-v2 on x86-64), so one build carries every
# path; each gemm_<isa>.cpp raises the ISA only for its own kernels with a target pragma and is
# checked to define no weak symbols (an AVX-512 copy of an inline function must never be what a
# baseline caller links to). -ffp-contract=off everywhere: the engine's arithmetic contract
# (kernels/gemm_engine.hpp) decides where multiply-adds are fused, not the compiler.

# C++ tests default to on for the C++-only build, off for the Python extension's.
if(DENSEKIT_PYTHON)
  set(densekit_cpp_tests_default OFF)
else()
  set(densekit_cpp_tests_default ON)
endif()
option(DENSEKIT_CPP_TESTS "Build the C++ tests (tests/cpp) and register them with CTest"
       ${densekit_cpp_tests_default})
option(DENSEKIT_GEMM_CANDIDATES "Build bench/cpp/gemm_candidates (needs the measurement-only libraries)" OFF)

# Always built: the core (and so the Python extension) runs the int8, float16 and sparse inference
# kernels through it.
if(TRUE)
  if(CMAKE_SYSTEM_PROCESSOR MATCHES "x86_64|AMD64")
    set(DENSEKIT_KERNEL_BASELINE -march=x86-64-v2 -mtune=generic)
  else()
    set(DENSEKIT_KERNEL_BASELINE "")
  endif()
  set(DENSEKIT_KERNEL_FLAGS ${DENSEKIT_KERNEL_BASELINE} -ffp-contract=off -Wall -Wextra)
  if(DENSEKIT_WERROR)
    list(APPEND DENSEKIT_KERNEL_FLAGS -Werror)
  endif()

  # The per-ISA kernels, as an object library so the weak-symbol check can see their objects.
  add_library(densekit_kernel_paths OBJECT
    cpp/src/kernels/gemm_portable.cpp
    cpp/src/kernels/gemm_avx2.cpp
    cpp/src/kernels/gemm_avx512.cpp)
  add_library(densekit_kernels STATIC
    cpp/src/runtime/cpu_features.cpp
    cpp/src/kernels/dispatch.cpp
    cpp/src/kernels/gemm_engine.cpp
    $<TARGET_OBJECTS:densekit_kernel_paths>)
  foreach(target densekit_kernel_paths densekit_kernels)
    target_include_directories(${target} PUBLIC
      $<BUILD_INTERFACE:${CMAKE_CURRENT_SOURCE_DIR}/cpp/include>)
    target_compile_options(${target} PRIVATE ${DENSEKIT_KERNEL_FLAGS})
  endforeach()
  # Kernel speed should not depend on the build type of whoever embeds the library.
  target_compile_options(densekit_kernel_paths PRIVATE $<$<NOT:$<CONFIG:Debug>>:-O3>)
endif()

if(DENSEKIT_CPP_TESTS)
  enable_testing()
  find_package(OpenMP REQUIRED COMPONENTS CXX)
  foreach(test test_gemm_engine test_kernel_dispatch)
    add_executable(${test} tests/cpp/${test}.cpp)
    target_link_libraries(${test} PRIVATE densekit_kernels OpenMP::OpenMP_CXX)
    target_compile_options(${test} PRIVATE ${DENSEKIT_KERNEL_BASELINE} -Wall -Wextra)
  endforeach()
  add_test(NAME gemm_engine COMMAND test_gemm_engine)
  # DENSEKIT_ISA is honoured (or refused when the CPU lacks the ISA) by a fresh process.
  foreach(isa portable avx2 avx512)
    add_test(NAME kernel_dispatch_${isa} COMMAND test_kernel_dispatch ${isa})
    set_tests_properties(kernel_dispatch_${isa} PROPERTIES ENVIRONMENT DENSEKIT_ISA=${isa})
  endforeach()
  add_test(NAME kernel_objects_define_no_weak_symbols
           COMMAND ${CMAKE_COMMAND} -DNM=${CMAKE_NM} "-DOBJECTS=$<TARGET_OBJECTS:densekit_kernel_paths>"
                   -P ${CMAKE_CURRENT_SOURCE_DIR}/tests/cpp/check_no_weak_symbols.cmake)
  set_tests_properties(kernel_objects_define_no_weak_symbols PROPERTIES
                       DEPENDS test_gemm_engine)
endif()

# The GEMM benchmarks compare with Eigen as densekit uses it (parallel.hpp's gemm()), compiled
# for this machine as the Python package's best variant would be (-march=native), or for another
# module's level (DENSEKIT_BENCH_MARCH=x86-64-v3: the AVX2 module an AVX2-only CPU loads).
set(DENSEKIT_BENCH_MARCH "native" CACHE STRING "-march for the Eigen side of the GEMM benchmarks")
function(densekit_gemm_bench target source)
  find_package(OpenMP REQUIRED COMPONENTS CXX)
  find_package(Eigen3 3.4 REQUIRED NO_MODULE)
  add_executable(${target} ${source} cpp/src/runtime/parallel.cpp)
  target_link_libraries(${target} PRIVATE densekit_kernels Eigen3::Eigen OpenMP::OpenMP_CXX)
  target_include_directories(${target} PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/cpp/include
                             ${CMAKE_CURRENT_SOURCE_DIR}/bench/cpp)
  target_compile_definitions(${target} PRIVATE EIGEN_DONT_PARALLELIZE)
  target_compile_options(${target} PRIVATE -march=${DENSEKIT_BENCH_MARCH} -Wall -Wextra -Wno-maybe-uninitialized)
endfunction()

if(DENSEKIT_BENCHMARKS)
  densekit_gemm_bench(gemm_engine_bench bench/cpp/gemm_engine_bench.cpp)
endif()

if(DENSEKIT_GEMM_CANDIDATES)
  # Measurement only (bench/GEMM_CANDIDATES.md): densekit depends on none of these libraries.
  # bench/gemm_candidates.sh finds them and passes their locations.
  set(DENSEKIT_OPENBLAS_DIR "" CACHE PATH "scipy_openblas32 package directory (include/, lib/)")
  set(DENSEKIT_ONEDNN_PREFIX "" CACHE PATH "prefix holding include/oneapi/dnnl and lib/libdnnl.so")
  densekit_gemm_bench(gemm_candidates bench/cpp/gemm_candidates.cpp)
  if(DENSEKIT_OPENBLAS_DIR)
    target_compile_definitions(gemm_candidates PRIVATE DENSEKIT_HAVE_OPENBLAS)
    target_include_directories(gemm_candidates PRIVATE ${DENSEKIT_OPENBLAS_DIR}/include)
    target_link_libraries(gemm_candidates PRIVATE ${DENSEKIT_OPENBLAS_DIR}/lib/libscipy_openblas.so)
  endif()
  if(DENSEKIT_ONEDNN_PREFIX)
    target_compile_definitions(gemm_candidates PRIVATE DENSEKIT_HAVE_ONEDNN)
    target_include_directories(gemm_candidates PRIVATE ${DENSEKIT_ONEDNN_PREFIX}/include)
    target_link_libraries(gemm_candidates PRIVATE ${DENSEKIT_ONEDNN_PREFIX}/lib/libdnnl.so)
  endif()
  find_library(DENSEKIT_LIBXSMM xsmm)
  find_path(DENSEKIT_LIBXSMM_INCLUDE libxsmm.h)
  if(DENSEKIT_LIBXSMM AND DENSEKIT_LIBXSMM_INCLUDE)
    find_library(DENSEKIT_LIBXSMM_NOBLAS xsmmnoblas)
    target_compile_definitions(gemm_candidates PRIVATE DENSEKIT_HAVE_LIBXSMM)
    target_include_directories(gemm_candidates PRIVATE ${DENSEKIT_LIBXSMM_INCLUDE})
    target_link_libraries(gemm_candidates PRIVATE ${DENSEKIT_LIBXSMM} ${DENSEKIT_LIBXSMM_NOBLAS} dl pthread)
  endif()
endif()

# The int8, float16 and sparse inference kernels join the layer above.
include(${CMAKE_CURRENT_LIST_DIR}/quant_kernels.cmake)
