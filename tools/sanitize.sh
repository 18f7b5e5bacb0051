#!/usr/bin/env bash
# Builds the C++ library alone with sanitizers and runs its tests (tests/cpp):
#
#   tools/sanitize.sh            both runs below
#   tools/sanitize.sh thread     ThreadSanitizer: test_model_threads, 8 threads × 10,000
#                                predictions on one loaded model (float32 and float64), and
#                                test_c_api, 8 threads on one model through the C interface,
#                                and test_shared_layers (two networks sharing a layer, two threads)
#   tools/sanitize.sh address    AddressSanitizer + UndefinedBehaviorSanitizer: every C++ test
#                                (with a 3,000-file fuzz loop over the model-file loader); set
#                                FUZZ_ITERATIONS=100000 for the long fuzz run on top
#
# Builds go to build/sanitize-<kind> (kept, so a rerun rebuilds only what changed); needs cmake,
# ninja or make, a C++ compiler with the sanitizer runtimes, and Eigen's CMake package (the
# cmeel-eigen wheel: pip install cmeel-eigen nlohmann-json). Exits non-zero on any report.
#
# Under ThreadSanitizer the kernels run on one thread (OMP_NUM_THREADS=1): GCC's libgomp is not
# instrumented, so TSan reports its own barrier handoffs as races. What is under test is the
# model shared by the 8 serving threads (per-thread workspaces, the lazily rebuilt packed
# weights, the network's reader lock); the engine's splitting of one product between OpenMP
# threads is tested bit for bit against one thread by test_gemm_engine.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
py="${PYTHON:-python}"
prefix="$("$py" -m cmeel cmake)"
generator=()
command -v ninja >/dev/null && generator=(-G Ninja)

build() {  # build <kind> <sanitizers>
  local dir="$root/build/sanitize-$1"
  local gen=("${generator[@]}")
  [ -f "$dir/CMakeCache.txt" ] && gen=()
  cmake -S "$root" -B "$dir" "${gen[@]}" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDENSEKIT_PYTHON=OFF \
        -DDENSEKIT_TESTS=ON -DDENSEKIT_SANITIZE="$2" -DCMAKE_PREFIX_PATH="$prefix" \
        -DPython_EXECUTABLE="$(command -v "$py")" >&2
  cmake --build "$dir" -j "${CMAKE_BUILD_PARALLEL_LEVEL:-2}" >&2
  echo "$dir"
}

run_thread() {
  local dir
  dir="$(build thread thread)"
  local test
  for test in test_model_threads test_c_api test_shared_layers; do
    echo "== ThreadSanitizer: $test"
    OMP_NUM_THREADS=1 TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 ${TSAN_OPTIONS:-}" \
      "$dir/$test"
  done
}

run_address() {
  local dir
  dir="$(build address "address,undefined")"
  echo "== AddressSanitizer + UndefinedBehaviorSanitizer: every C++ test"
  ASAN_OPTIONS="detect_leaks=1 ${ASAN_OPTIONS:-}" \
    UBSAN_OPTIONS="halt_on_error=1 print_stacktrace=1 ${UBSAN_OPTIONS:-}" \
    ctest --test-dir "$dir" --output-on-failure
  if [ -n "${FUZZ_ITERATIONS:-}" ]; then
    echo "== AddressSanitizer + UndefinedBehaviorSanitizer: $FUZZ_ITERATIONS fuzzed model files"
    ASAN_OPTIONS="detect_leaks=1 ${ASAN_OPTIONS:-}" \
      UBSAN_OPTIONS="halt_on_error=1 print_stacktrace=1 ${UBSAN_OPTIONS:-}" \
      "$dir/fuzz_model_file" "$root/tests/fuzz/corpus" "$FUZZ_ITERATIONS" "${FUZZ_SEED:-1}"
  fi
}

case "${1:-all}" in
  thread) run_thread ;;
  address) run_address ;;
  all) run_thread && run_address ;;
  *) echo "usage: $0 [thread|address]" >&2; exit 2 ;;
esac
