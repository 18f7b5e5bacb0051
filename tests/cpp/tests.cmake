# The C++ tests: small programs, one per area, each exiting non-zero on a failed check, registered
# with CTest. Included from the root CMakeLists.txt when DENSEKIT_TESTS is on; the Python suite
# builds them once per session and runs them (tests/test_cpp.py, tests/conftest.py).
set(densekit_cpp_tests
  test_gemm_engine       # the product engine on every ISA path against its references
  test_elementwise       # each path's element-wise kernels against the portable one
  test_kernel_dispatch   # DENSEKIT_ISA honoured in a fresh process
  test_optimizers        # tiled updates equal untiled ones
  test_sha256 test_container test_model_file  # the model file
  test_model_threads     # a loaded model's const predict from many threads, bit for bit
  test_data_parallel     # sharded steps over an in-process communicator equal one process's
  test_shared_layers     # networks sharing a layer, used from two threads
  test_thread_tuner      # train()'s and predict()'s thread tuners on synthetic timings
  fuzz_model_file)       # the loader on mutated model files (a loop harness; libFuzzer with clang)
foreach(test IN LISTS densekit_cpp_tests)
  add_executable(${test} tests/cpp/${test}.cpp)
  target_link_libraries(${test} PRIVATE densekit_core OpenMP::OpenMP_CXX)
  target_compile_options(${test} PRIVATE ${DENSEKIT_KERNEL_BASELINE} ${DENSEKIT_WARNINGS}
                         -Wno-maybe-uninitialized)
endforeach()
foreach(test gemm_engine elementwise optimizers sha256 container model_file data_parallel
             shared_layers thread_tuner)
  add_test(NAME ${test} COMMAND test_${test})
endforeach()
# A short fuzz loop over the shared seed corpus (seconds); the long run: docs/reliability.md.
add_test(NAME fuzz_model_file COMMAND fuzz_model_file ${CMAKE_CURRENT_SOURCE_DIR}/tests/fuzz/corpus 3000)
# DENSEKIT_MODEL_THREADS_FILE: model files to serve, ':'-separated (test_cpp_deployment.py passes
# Python-trained ones); without it the program writes its own.
add_test(NAME model_threads COMMAND test_model_threads)
# DENSEKIT_ISA is honoured (or refused when the CPU lacks the ISA) by a fresh process.
foreach(isa portable avx2 avx512)
  add_test(NAME kernel_dispatch_${isa} COMMAND test_kernel_dispatch ${isa})
  set_tests_properties(kernel_dispatch_${isa} PROPERTIES ENVIRONMENT DENSEKIT_ISA=${isa})
endforeach()
# The per-ISA objects: the engine's define no weak symbols; each element-wise copy exports its
# table alone. Not in sanitizer builds: the instrumentation adds weak symbols of its own to every
# object, and what is checked is the objects a release build ships.
if(NOT DENSEKIT_SANITIZE)
  add_test(NAME isa_objects_keep_their_symbols_private
           COMMAND ${CMAKE_COMMAND} -DNM=${CMAKE_NM}
                   "-DOBJECTS=$<TARGET_OBJECTS:densekit_kernel_paths>"
                   "-DISOLATED=${DENSEKIT_ELEMENTWISE_ISOLATED}"
                   -P ${CMAKE_CURRENT_SOURCE_DIR}/tests/cpp/check_isa_objects.cmake)
endif()

# The int8, float16 and sparse inference kernels against their scalar references.
# The AVX-VNNI kernel once more with the EVEX encoding of its one VNNI instruction: CPUs with
# AVX512-VNNI but no AVX-VNNI (Zen 4, Ice Lake) run it in the tests. Never linked elsewhere.
add_library(densekit_qgemm_evex_twin OBJECT cpp/src/kernels/qgemm_avxvnni.cpp)
target_include_directories(densekit_qgemm_evex_twin PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/cpp/include)
target_compile_definitions(densekit_qgemm_evex_twin PRIVATE DENSEKIT_QGEMM_EVEX_TWIN)
target_compile_options(densekit_qgemm_evex_twin PRIVATE ${DENSEKIT_KERNEL_BASELINE} -ffp-contract=off
                       -O3 ${DENSEKIT_WARNINGS})
add_executable(test_qgemm tests/cpp/test_qgemm.cpp $<TARGET_OBJECTS:densekit_qgemm_evex_twin>)
target_include_directories(test_qgemm PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/cpp/src/kernels)
foreach(test test_qgemm test_f16 test_sparse_gemm)
  if(NOT TARGET ${test})
    add_executable(${test} tests/cpp/${test}.cpp)
  endif()
  target_link_libraries(${test} PRIVATE densekit_core OpenMP::OpenMP_CXX)
  target_compile_options(${test} PRIVATE ${DENSEKIT_KERNEL_BASELINE} -O2 ${DENSEKIT_WARNINGS}
                         -Wno-maybe-uninitialized)
endforeach()
add_test(NAME qgemm COMMAND test_qgemm)
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
if(NOT DENSEKIT_SANITIZE)  # as above
  add_test(NAME qgemm_evex_twin_keeps_its_symbols_private
           COMMAND ${CMAKE_COMMAND} -DNM=${CMAKE_NM}
                   "-DOBJECTS=$<TARGET_OBJECTS:densekit_qgemm_evex_twin>"
                   -P ${CMAKE_CURRENT_SOURCE_DIR}/tests/cpp/check_isa_objects.cmake)
endif()

# The C interface, through its header, where the sanitizers see it (tools/sanitize.sh).
if(DENSEKIT_C)
  add_executable(test_c_api tests/cpp/test_c_api.cpp)
  target_link_libraries(test_c_api PRIVATE densekit_c densekit_core)  # core: file_builder.hpp
  target_compile_options(test_c_api PRIVATE ${DENSEKIT_KERNEL_BASELINE} ${DENSEKIT_WARNINGS})
  add_test(NAME c_api COMMAND test_c_api)
endif()
