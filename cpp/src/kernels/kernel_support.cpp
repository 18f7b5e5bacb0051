// Per-part scratch memory and the split into parts (kernel_support.hpp), and the packed
// weights' storage (kernels/aligned_buffer.hpp).
#include "kernel_support.hpp"

#include <algorithm>
#include <cstdlib>
#include <new>
#include <utility>

#include "densekit/kernels/aligned_buffer.hpp"

namespace densekit {
namespace kernels {
namespace detail {

char* part_workspaces(int parts, Index part_bytes) {
  struct Space {
    void* data = nullptr;
    Index bytes = 0;
    ~Space() { std::free(data); }
  };
  thread_local Space space;
  const Index bytes = Index(std::max(parts, 1)) * ((part_bytes + 63) / 64 * 64);
  if (space.bytes < bytes) {
    void* fresh = std::aligned_alloc(64, std::size_t(bytes));
    if (!fresh) throw std::bad_alloc();
    std::free(space.data);  // only once the new block exists
    space.data = fresh;
    space.bytes = bytes;
  }
  return static_cast<char*>(space.data);
}

int part_count(double work, double threshold, Index units, const Threading& threading) {
  if (work < threshold || threading.max_parts <= 1) return 1;
  return int(std::max<Index>(1, std::min<Index>(threading.max_parts, units)));
}

void run_parts(int parts, void (*body)(int, int, void*), void* ctx, const Threading& threading) {
  if (parts <= 1 || threading.run == nullptr) {
    for (int p = 0; p < parts; ++p) body(p, parts, ctx);
    return;
  }
  threading.run(parts, body, ctx);
}

Range part_range(Index extent, Index unit, int part, int parts) {
  const Index units = (extent + unit - 1) / unit;
  return Range{std::min(extent, units * part / parts * unit), std::min(extent, units * (part + 1) / parts * unit)};
}

}  // namespace detail
}  // namespace kernels
}  // namespace densekit

// ---- AlignedBuffer (kernels/aligned_buffer.hpp) ----

namespace densekit {
namespace kernels {

AlignedBuffer::~AlignedBuffer() { std::free(data_); }

AlignedBuffer::AlignedBuffer(AlignedBuffer&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)), capacity_(std::exchange(other.capacity_, 0)) {}

AlignedBuffer& AlignedBuffer::operator=(AlignedBuffer&& other) noexcept {
  if (this != &other) {
    std::free(data_);
    data_ = std::exchange(other.data_, nullptr);
    capacity_ = std::exchange(other.capacity_, 0);
  }
  return *this;
}

char* AlignedBuffer::reserve(std::size_t bytes) {
  if (bytes > capacity_) {
    void* fresh = std::aligned_alloc(64, (bytes + 63) / 64 * 64);
    if (!fresh) throw std::bad_alloc();
    std::free(data_);
    data_ = static_cast<char*>(fresh);
    capacity_ = bytes;
  }
  return data_;
}

}  // namespace kernels
}  // namespace densekit
