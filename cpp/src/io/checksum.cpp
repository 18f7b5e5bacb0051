// The model-file checksum; see checksum.hpp for the definition it follows.
#include "densekit/io/checksum.hpp"

#include <string_view>

#include "densekit/io/sha256.hpp"

namespace densekit {

std::string model_checksum(const Container& container) {
  Sha256 h;
  auto feed = [&h](std::string_view item) {
    const std::string length = std::to_string(item.size()) + ":";
    h.update(length.data(), length.size());
    h.update(item.data(), item.size());
  };
  for (const auto& [key, value] : container.metadata) {  // std::map: sorted by key
    if (key == "checksum") continue;
    feed(key);
    feed(value);
  }
  for (const auto& [name, tensor] : container.tensors) {
    feed(name);
    feed(tensor.dtype);
    std::string shape;
    for (std::size_t i = 0; i < tensor.shape.size(); ++i)
      shape += (i ? "," : "") + std::to_string(tensor.shape[i]);
    feed(shape);
    feed(container.bytes(tensor));
  }
  return "sha256:" + h.hex_digest();
}

}  // namespace densekit
