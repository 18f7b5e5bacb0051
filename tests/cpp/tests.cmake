# The C++ tests: small programs, one per area, each exiting non-zero on a failed check, registered
# with CTest. Included from the root CMakeLists.txt when DENSEKIT_TESTS is on; the Python suite
# builds them once per session and runs them (tests/test_cpp.py, tests/conftest.py).
set(densekit_cpp_tests
  test_gemm_engine       # the product engine on every ISA path against its references
  test_elementwise       # each path's element-wise kernels against the portable one
  test_kernel_dispatch   # DENSEKIT_ISA honoured in a fresh process
  test_optimizers        # tiled updates equal untiled ones
  test_sha256 test_container test_model_file  # the model file
  test_model_threads)    # a loaded model's const predict from many threads, bit for bit
foreach(test IN LISTS densekit_cpp_tests)
  add_executable(${test} tests/cpp/${test}.cpp)
  target_link_libraries(${test} PRIVATE densekit_core)
  target_compile_options(${test} PRIVATE ${DENSEKIT_KERNEL_BASELINE} ${DENSEKIT_WARNINGS}
                         -Wno-maybe-uninitialized)
endforeach()
foreach(test gemm_engine elementwise optimizers sha256 container model_file)
  add_test(NAME ${test} COMMAND test_${test})
endforeach()
# DENSEKIT_MODEL_THREADS_FILE: model files to serve, ':'-separated (test_cpp_deployment.py passes
# Python-trained ones); without it the program writes its own.
add_test(NAME model_threads COMMAND test_model_threads)
# DENSEKIT_ISA is honoured (or refused when the CPU lacks the ISA) by a fresh process.
foreach(isa portable avx2 avx512)
  add_test(NAME kernel_dispatch_${isa} COMMAND test_kernel_dispatch ${isa})
  set_tests_properties(kernel_dispatch_${isa} PROPERTIES ENVIRONMENT DENSEKIT_ISA=${isa})
endforeach()
# The per-ISA objects: the engine's define no weak symbols; each element-wise copy exports its
# table alone.
add_test(NAME isa_objects_keep_their_symbols_private
         COMMAND ${CMAKE_COMMAND} -DNM=${CMAKE_NM}
                 "-DOBJECTS=$<TARGET_OBJECTS:densekit_kernel_paths>"
                 "-DISOLATED=${DENSEKIT_ELEMENTWISE_ISOLATED}"
                 -P ${CMAKE_CURRENT_SOURCE_DIR}/tests/cpp/check_isa_objects.cmake)
