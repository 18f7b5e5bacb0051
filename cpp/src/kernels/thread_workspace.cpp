// The per-thread grow-only scratch buffer of thread_workspace.hpp.
#include "thread_workspace.hpp"

#include <cstdlib>
#include <new>

namespace densekit {
namespace kernels {
namespace detail {

void* thread_workspace(Index bytes) {
  struct Space {
    void* data = nullptr;
    Index bytes = 0;
    ~Space() { std::free(data); }
  };
  thread_local Space space;
  if (space.bytes < bytes) {
    void* fresh = std::aligned_alloc(64, std::size_t((bytes + 63) / 64 * 64));
    if (!fresh) throw std::bad_alloc();
    std::free(space.data);
    space.data = fresh;
    space.bytes = bytes;
  }
  return space.data;
}

}  // namespace detail
}  // namespace kernels
}  // namespace densekit
