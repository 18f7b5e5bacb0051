#!/usr/bin/env bash
# Builds and runs bench/cpp/gemm_candidates (bench/GEMM_CANDIDATES.md) with every candidate
# library it can find: OpenBLAS from the scipy-openblas32 wheel and oneDNN from the
# onednn-devel-cpu-gomp wheel in the active Python environment, libxsmm from Debian's
# libxsmm-dev. These are measurement-only: densekit depends on none of them.
#   pip install scipy-openblas32 onednn-devel-cpu-gomp; apt-get install libxsmm-dev
#   bash bench/gemm_candidates.sh [--quick] > /tmp/candidates.md
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${DENSEKIT_BENCH_BUILD:-$root/build/gemm-candidates}"
py="${PYTHON:-python}"
openblas="$("$py" -c 'import scipy_openblas32, os; print(os.path.dirname(scipy_openblas32.__file__))' 2>/dev/null || true)"
prefix="$("$py" -c 'import sys; print(sys.prefix)')"
onednn=""
[ -f "$prefix/include/oneapi/dnnl/dnnl.hpp" ] && [ -e "$prefix/lib/libdnnl.so" ] && onednn="$prefix"
echo "openblas: ${openblas:-not found}; onednn: ${onednn:-not found}" >&2
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DDENSEKIT_PYTHON=OFF \
  -DDENSEKIT_GEMM_CANDIDATES=ON \
  -DCMAKE_PREFIX_PATH="$("$py" -m cmeel cmake)" \
  -DDENSEKIT_OPENBLAS_DIR="$openblas" -DDENSEKIT_ONEDNN_PREFIX="$onednn" >&2
cmake --build "$build" -j 2 --target gemm_candidates >&2
export OMP_NUM_THREADS=2
LD_LIBRARY_PATH="${onednn:+$onednn/lib:}${openblas:+$openblas/lib:}${LD_LIBRARY_PATH:-}" \
  "$build/gemm_candidates" "$@"
