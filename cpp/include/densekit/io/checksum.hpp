// The checksum a densekit model file carries in its metadata ("checksum": "sha256:<hex>").
//
// Defined by the Python writer (python/densekit/saving.py, _checksum) and computed identically
// here: SHA-256 over, in order, every metadata key except "checksum", sorted, as the key then
// its value; then every tensor sorted by name, as its name, its dtype code, its shape (dimensions
// in decimal joined by ","), and its data bytes. Each item is fed as its length in bytes
// (decimal), ":", then the bytes. Names sort by bytes, which for UTF-8 is Python's code-point order.
#pragma once

#include <string>

#include "densekit/io/safetensors.hpp"

namespace densekit {

// "sha256:" + 64 hex digits for the container's metadata and tensors.
std::string model_checksum(const Container& container);

}  // namespace densekit
