// What the product engine and the int8, float16 and sparse kernels share besides arithmetic:
// scratch memory per part and the split of one product into parts.
//
// Kernels quantize activations or convert weight panels into the scratch buffer, so steady state
// allocates nothing; one buffer serves all three families (a thread runs one kernel call at a
// time and no call keeps its contents past its return). Parts follow the product engine's
// policy (gemm_engine.hpp): their number depends on the shapes and Threading::max_parts only,
// and no part splits an output's inner sum. Baseline code; never include from an ISA file.
#pragma once

#include "densekit/kernels/gemm_engine.hpp"

namespace densekit {
namespace kernels {
namespace detail {

// Scratch for the `parts` parts of one product, `part_bytes` each (64-byte aligned), owned by the
// calling thread and reserved by it before the parts run: nothing may allocate inside a parallel
// region (parallel.cpp). Part p's block is part_workspace(base, p, part_bytes). Grow-only (steady
// state allocates nothing) and strongly exception-safe: on std::bad_alloc the old block stays.
// One per thread serves every kernel family: a thread runs one product at a time.
char* part_workspaces(int parts, Index part_bytes);
inline void* part_workspace(char* base, int part, Index part_bytes) {
  return base + Index(part) * ((part_bytes + 63) / 64 * 64);
}

// How many parts a product of `work` flops (or int8 operations) with `units` indivisible
// pieces of output is split into: 1 below `threshold`, else up to threading.max_parts.
int part_count(double work, double threshold, Index units, const Threading& threading);

// body(part, parts, ctx) for every part: on the calling thread, or through threading.run.
void run_parts(int parts, void (*body)(int part, int parts, void* ctx), void* ctx, const Threading& threading);

// Part `part` of `parts` of [0, extent) in whole units of `unit` (the last may be short).
struct Range {
  Index begin, end;
};
Range part_range(Index extent, Index unit, int part, int parts);

}  // namespace detail
}  // namespace kernels
}  // namespace densekit
