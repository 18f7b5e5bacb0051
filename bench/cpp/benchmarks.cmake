# The C++ benchmarks (bench/cpp/, no Python needed). Included from the root CMakeLists.txt when
# DENSEKIT_BENCHMARKS or DENSEKIT_GEMM_CANDIDATES is on.

if(DENSEKIT_BENCHMARKS)
  add_executable(optimizer_bandwidth bench/cpp/optimizer_bandwidth.cpp)
  target_link_libraries(optimizer_bandwidth PRIVATE densekit_core OpenMP::OpenMP_CXX)
  target_compile_options(optimizer_bandwidth PRIVATE ${DENSEKIT_WARNINGS} -Wno-maybe-uninitialized)
endif()

# The GEMM benchmarks compare the engine with Eigen's product as densekit used it before the
# engine (bench/cpp/eigen_gemm.hpp), compiled for this machine as the best of the former per-ISA
# Python modules would be (-march=native), or for another level (DENSEKIT_BENCH_MARCH=x86-64-v3:
# the AVX2 module an AVX2-only CPU loaded).
set(DENSEKIT_BENCH_MARCH "native" CACHE STRING "-march for the Eigen side of the GEMM benchmarks")
function(densekit_gemm_bench target source)
  add_executable(${target} ${source})
  target_link_libraries(${target} PRIVATE densekit_core OpenMP::OpenMP_CXX)
  target_include_directories(${target} PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/bench/cpp)
  target_compile_options(${target} PRIVATE -march=${DENSEKIT_BENCH_MARCH} ${DENSEKIT_WARNINGS}
                         -Wno-maybe-uninitialized)
endfunction()

if(DENSEKIT_BENCHMARKS)
  densekit_gemm_bench(gemm_engine_bench bench/cpp/gemm_engine_bench.cpp)
  densekit_gemm_bench(quant_bench bench/cpp/quant_bench.cpp)  # int8, float16, sparse vs fp32
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
