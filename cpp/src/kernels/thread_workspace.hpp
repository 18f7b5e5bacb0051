// Scratch memory for the int8, float16 and sparse kernels: one grow-only buffer per thread.
//
// Kernels quantize activations or convert weight panels into it, so steady state allocates
// nothing. One buffer serves all three families: a thread runs one kernel call at a time and no
// call keeps its contents past its return. Baseline code; never include from an ISA file.
#pragma once

#include "densekit/kernels/gemm_engine.hpp"

namespace densekit {
namespace kernels {
namespace detail {

// At least `bytes` bytes, 64-byte aligned, owned by the calling thread (throws std::bad_alloc).
void* thread_workspace(Index bytes);

}  // namespace detail
}  // namespace kernels
}  // namespace densekit
