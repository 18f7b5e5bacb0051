// What the CPU we run on can execute, asked once per process.
//
// Kernels compiled for an instruction set beyond the build's baseline (x86-64-v2) may run only
// when both the CPU and the operating system support it (AVX state saved on context switch);
// GCC/Clang's __builtin_cpu_supports checks both. This file only reports; choosing a kernel is
// kernels/dispatch.hpp's job. It must stay free of any ISA-specific code.
#pragma once

namespace densekit {
namespace runtime {

struct CpuFeatures {
  bool x86 = false;       // an x86-64 CPU (every flag below is false elsewhere)
  bool sse42 = false;     // the build's baseline (x86-64-v2)
  bool avx2 = false;      // with fma: x86-64-v3's arithmetic
  bool fma = false;
  bool f16c = false;
  bool avx512f = false;   // with bw, dq, vl: x86-64-v4 (Skylake-SP, Zen 4 and later)
  bool avx512bw = false;
  bool avx512dq = false;
  bool avx512vl = false;
  bool avx512vnni = false;  // int8 dot products (Cascade Lake, Zen 4)
  bool avxvnni = false;     // the VEX-encoded form (Alder Lake, Sapphire Rapids)
  bool avx512bf16 = false;
};

// The features of this machine, detected on first use (thread-safe).
const CpuFeatures& cpu_features();

// The CPU's model name ("AMD EPYC 9R14", ...) from the OS, or "" where unknown; for reports.
const char* cpu_model_name();

}  // namespace runtime
}  // namespace densekit
