// SHA-256 (io/sha256.hpp) against known answers.
//
// The five messages of the FIPS 180-4 examples and NIST's SHA-256 test vectors: the empty
// message, "abc" (one block), the 448-bit and 896-bit messages (the padding crosses into a
// second block), and one million 'a'. Then messages whose lengths sit on both sides of the
// padding boundaries (55/56/57, 63/64/65, 119/120, 128 bytes of i·7 mod 251), with digests from
// Python's hashlib (OpenSSL), an independent implementation. Every message is also fed in
// pieces of every size from 1 to 70 bytes, which must not change the digest.
#include <algorithm>
#include <string>
#include <vector>

#include "check.hpp"
#include "densekit/io/sha256.hpp"

using densekit::Sha256;

namespace {

std::string digest_whole(const std::string& m) {
  Sha256 h;
  h.update(m.data(), m.size());
  return h.hex_digest();
}

std::string digest_in_pieces(const std::string& m, std::size_t piece) {
  Sha256 h;
  for (std::size_t i = 0; i < m.size(); i += piece) h.update(m.data() + i, std::min(piece, m.size() - i));
  return h.hex_digest();
}

void check_message(const std::string& m, const std::string& want, const std::string& label) {
  CHECK(digest_whole(m) == want, label, ": got ", digest_whole(m));
  for (std::size_t piece = 1; piece <= 70; ++piece)
    CHECK(digest_in_pieces(m, piece) == want, label, " fed in pieces of ", piece);
}

}  // namespace

int main() {
  struct Vector {
    std::string message, digest, label;
  };
  const std::vector<Vector> fips = {
      {"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "empty"},
      {"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", "abc"},
      {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
       "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1", "448-bit"},
      {"abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
       "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1", "896-bit"},
  };
  for (const auto& v : fips) check_message(v.message, v.digest, v.label);

  const std::string million(1000000, 'a');
  CHECK(digest_whole(million) == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0",
        "one million 'a'");
  CHECK(digest_in_pieces(million, 4093) == digest_whole(million), "one million 'a' in pieces");

  const std::vector<std::pair<std::size_t, std::string>> boundaries = {
      {55, "8af594de0e003fdee5c8bb088216c824349b4137070f559574f4a4bddd27b714"},
      {56, "db81bc2bfd43620591df192139062da77d4c376f1888ea3d2190bd07c8d901f9"},
      {57, "4d95ad65f5ec430c9a97ae9243b87d4d6fa0c474288c93cecfbfe9257e711780"},
      {63, "bd535b38bf0d0d1a09d370b7e34b2696cea3767801a45d5611a4aaa6954e8527"},
      {64, "292be91abe8c0909fe3d26575af5755eee74d23816dc68c3ba41765136967654"},
      {65, "ba65aedf7884642499a59ae124894611d986cf429e69f569488048af3a99e25a"},
      {119, "d367ab298e74477421127b0b448667c37c006c636f5738f081c39388756e5fad"},
      {120, "be7beb9c82089eb08da8fe6eb30c13b9d56869014e228a8c3eb0fdfe832efab2"},
      {128, "cb5311e1d7aa8e11d6af7081f3ffc3e4efa008c7483a1a791fe170bf37546ba7"},
  };
  for (const auto& [n, want] : boundaries) {
    std::string m;
    for (std::size_t i = 0; i < n; ++i) m += char((i * 7) % 251);
    check_message(m, want, std::to_string(n) + " bytes");
  }
  return densekit::test::finish("test_sha256");
}
