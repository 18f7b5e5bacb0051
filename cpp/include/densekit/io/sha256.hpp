// SHA-256 (FIPS 180-4), for the checksum densekit model files carry.
//
// A small, dependency-free implementation written from the standard: NIST FIPS PUB 180-4,
// "Secure Hash Standard" (2015), §4.1.2 (functions), §4.2.2 (constants), §5.1.1 (padding),
// §5.3.3 (initial value) and §6.2.2 (computation). cpp/tests/test_sha256.cpp checks it against
// the standard's examples and NIST's CAVS vectors. It is used to detect corruption, not as a
// security boundary, and is not tuned for speed (no SHA extensions): files of hundreds of
// megabytes hash in about a second.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

namespace densekit {

class Sha256 {
 public:
  Sha256();
  // Feeds n more bytes of the message.
  void update(const void* data, std::size_t n);
  // The digest of everything fed so far; the object must not be fed again afterwards.
  std::array<std::uint8_t, 32> digest();
  // The digest as 64 lowercase hexadecimal digits.
  std::string hex_digest();

 private:
  void compress(const std::uint8_t* block);

  std::array<std::uint32_t, 8> h_;
  std::array<std::uint8_t, 64> buffer_{};
  std::size_t buffered_ = 0;
  std::uint64_t length_ = 0;  // bytes fed
};

}  // namespace densekit
