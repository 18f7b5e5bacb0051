// DENSEKIT_ISA selects the kernels' path in a fresh process, and an ISA the CPU lacks falls back
// to the best one it has. Run as `test_kernel_dispatch <isa>` with DENSEKIT_ISA=<isa>.
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "densekit/kernels/dispatch.hpp"
#include "densekit/runtime/cpu_features.hpp"

namespace dk = densekit::kernels;

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: test_kernel_dispatch <portable|avx2|avx512>\n");
    return 2;
  }
  dk::Isa wanted;
  if (!dk::parse_isa(argv[1], &wanted)) {
    std::fprintf(stderr, "unknown ISA %s\n", argv[1]);
    return 2;
  }
  const char* env = std::getenv("DENSEKIT_ISA");
  const dk::Isa expected = dk::isa_supported(wanted) ? wanted : dk::best_isa();
  const dk::Isa got = dk::active_isa();
  std::printf("cpu %s; DENSEKIT_ISA=%s; supported=%d; active=%s\n", densekit::runtime::cpu_model_name(),
              env ? env : "", int(dk::isa_supported(wanted)), dk::isa_name(got));
  int failed = 0;
  failed += got != expected;
  // Ordering: a CPU able to run a path can run every path below it.
  for (int i = 1; i < dk::kIsaCount; ++i) failed += dk::isa_supported(dk::Isa(i)) && !dk::isa_supported(dk::Isa(i - 1));
  failed += dk::set_active_isa(dk::Isa::portable) ? 0 : 1;
  failed += dk::active_isa() != dk::Isa::portable;
  std::printf("%d passed, %d failed\n", 4 - failed, failed);
  return failed ? 1 : 0;
}
