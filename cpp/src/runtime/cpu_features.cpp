// CPU feature detection through the compiler's cpuid wrapper (includes the OS-support check).
#include "densekit/runtime/cpu_features.hpp"

#include <cstdio>
#include <cstring>
#include <string>

namespace densekit {
namespace runtime {

namespace {

CpuFeatures detect() {
  CpuFeatures f;
#if (defined(__GNUC__) || defined(__clang__)) && (defined(__x86_64__) || defined(__i386__))
  __builtin_cpu_init();
  f.x86 = true;
  f.sse42 = __builtin_cpu_supports("sse4.2");
  f.avx2 = __builtin_cpu_supports("avx2");
  f.fma = __builtin_cpu_supports("fma");
  f.avx512f = __builtin_cpu_supports("avx512f");
  f.avx512bw = __builtin_cpu_supports("avx512bw");
  f.avx512dq = __builtin_cpu_supports("avx512dq");
  f.avx512vl = __builtin_cpu_supports("avx512vl");
  f.avx512vnni = __builtin_cpu_supports("avx512vnni");
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 11
  f.avxvnni = __builtin_cpu_supports("avxvnni");
  f.avx512bf16 = __builtin_cpu_supports("avx512bf16");
#endif
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 12
  f.f16c = __builtin_cpu_supports("f16c");
#else
  f.f16c = f.avx2;  // every AVX2 CPU has F16C
#endif
#endif
  return f;
}

std::string read_model_name() {
  std::FILE* file = std::fopen("/proc/cpuinfo", "r");
  if (!file) return {};
  char line[512];
  std::string name;
  while (std::fgets(line, sizeof line, file)) {
    if (std::strncmp(line, "model name", 10) != 0) continue;
    const char* colon = std::strchr(line, ':');
    if (!colon) break;
    name = colon + 1;
    while (!name.empty() && (name.front() == ' ' || name.front() == '\t')) name.erase(0, 1);
    while (!name.empty() && (name.back() == '\n' || name.back() == ' ')) name.pop_back();
    break;
  }
  std::fclose(file);
  return name;
}

}  // namespace

const CpuFeatures& cpu_features() {
  static const CpuFeatures features = detect();
  return features;
}

const char* cpu_model_name() {
  static const std::string name = read_model_name();
  return name.c_str();
}

}  // namespace runtime
}  // namespace densekit
