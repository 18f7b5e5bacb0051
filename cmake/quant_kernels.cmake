# The low-precision and sparse inference kernels (int8, float16 weights, pruned weights): their
# per-ISA objects join the kernel layer's (same baseline flags, same no-weak-symbols check), their
# fronts join densekit_kernels. Included at the end of cmake/kernels.cmake; nothing to do in a
# build without the kernel layer (the Python extension's, today).
if(NOT TARGET densekit_kernels)
  return()
endif()

target_sources(densekit_kernel_paths PRIVATE
  cpp/src/kernels/qgemm_portable.cpp
  cpp/src/kernels/qgemm_avx2.cpp
  cpp/src/kernels/qgemm_avxvnni.cpp
  cpp/src/kernels/qgemm_avx512vnni.cpp
  cpp/src/kernels/compressed_portable.cpp
  cpp/src/kernels/compressed_avx2.cpp
  cpp/src/kernels/compressed_avx512.cpp)
# GCC 12's AVX-512 intrinsics pass an uninitialized "undefined" operand that -Wmaybe-uninitialized
# reports inside the header (a false positive; GCC 13 marks it).
set_source_files_properties(cpp/src/kernels/qgemm_avx512vnni.cpp cpp/src/kernels/compressed_avx512.cpp
  PROPERTIES COMPILE_OPTIONS -Wno-maybe-uninitialized)
target_sources(densekit_kernels PRIVATE
  cpp/src/kernels/kernel_support.cpp
  cpp/src/kernels/qgemm_engine.cpp
  cpp/src/kernels/f16_engine.cpp
  cpp/src/kernels/sparse_engine.cpp)

if(DENSEKIT_CPP_TESTS)
  find_package(OpenMP REQUIRED COMPONENTS CXX)
  # The AVX-VNNI kernel once more with the EVEX encoding of its one VNNI instruction: CPUs with
  # AVX512-VNNI but no AVX-VNNI (Zen 4, Ice Lake) run it in the tests. Never linked elsewhere.
  add_library(densekit_qgemm_evex_twin OBJECT cpp/src/kernels/qgemm_avxvnni.cpp)
  target_include_directories(densekit_qgemm_evex_twin PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/cpp/include)
  target_compile_definitions(densekit_qgemm_evex_twin PRIVATE DENSEKIT_QGEMM_EVEX_TWIN)
  target_compile_options(densekit_qgemm_evex_twin PRIVATE ${DENSEKIT_KERNEL_FLAGS} -O3)

  add_executable(test_qgemm tests/cpp/test_qgemm.cpp $<TARGET_OBJECTS:densekit_qgemm_evex_twin>)
  target_link_libraries(test_qgemm PRIVATE densekit_kernels OpenMP::OpenMP_CXX)
  target_include_directories(test_qgemm PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/cpp/src/kernels)
  target_compile_options(test_qgemm PRIVATE ${DENSEKIT_KERNEL_BASELINE} -O2 -Wall -Wextra)
  add_test(NAME qgemm COMMAND test_qgemm)
  foreach(test test_f16 test_sparse_gemm)
    add_executable(${test} tests/cpp/${test}.cpp)
    target_link_libraries(${test} PRIVATE densekit_kernels OpenMP::OpenMP_CXX)
    target_compile_options(${test} PRIVATE ${DENSEKIT_KERNEL_BASELINE} -O2 -Wall -Wextra)
  endforeach()
  add_test(NAME f16 COMMAND test_f16)
  add_test(NAME sparse_gemm COMMAND test_sparse_gemm)
  # The conversions against NumPy's float16, where a Python with NumPy is at hand.
  find_package(Python3 COMPONENTS Interpreter QUIET)
  if(Python3_Interpreter_FOUND)
    execute_process(COMMAND ${Python3_EXECUTABLE} -c "import numpy" RESULT_VARIABLE densekit_no_numpy
                    OUTPUT_QUIET ERROR_QUIET)
    if(densekit_no_numpy EQUAL 0)
      add_test(NAME f16_matches_numpy
               COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/tests/cpp/check_f16_against_numpy.py
                       $<TARGET_FILE:test_f16>)
    endif()
  endif()
  add_test(NAME qgemm_evex_twin_defines_no_weak_symbols
           COMMAND ${CMAKE_COMMAND} -DNM=${CMAKE_NM} "-DOBJECTS=$<TARGET_OBJECTS:densekit_qgemm_evex_twin>"
                   -P ${CMAKE_CURRENT_SOURCE_DIR}/tests/cpp/check_no_weak_symbols.cmake)
endif()

if(DENSEKIT_BENCHMARKS)
  densekit_gemm_bench(quant_bench bench/cpp/quant_bench.cpp)
endif()
