# The low-precision and sparse inference kernels (int8, float16 weights, pruned weights): their
# per-ISA objects join the kernel layer's (same baseline flags, same no-weak-symbols check), their
# fronts join densekit_kernels. Included at the end of cmake/kernels.cmake; their tests are in
# tests/cpp/tests.cmake, their benchmark in bench/cpp/benchmarks.cmake.

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
