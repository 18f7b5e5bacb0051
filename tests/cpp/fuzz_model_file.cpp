// Fuzzes the C++ model-file loader (Model::from_bytes): every input either loads (and then
// predicts) or throws ModelFileError; anything else — another exception, a crash, a sanitizer
// report — is a finding.
//
// Two builds of the same target:
//   - libFuzzer (clang++ -fsanitize=fuzzer,address,undefined -DDENSEKIT_LIBFUZZER): the entry
//     point LLVMFuzzerTestOneInput, run as `fuzz_model_file tests/fuzz/corpus`;
//   - anywhere else, a loop harness: `fuzz_model_file <corpus dir> <iterations> [seed]` mutates the
//     seed files (bit flips, interesting bytes and numbers, insertions, deletions, truncation,
//     splices of two seeds, digit runs in the JSON header) for that many iterations, and on a
//     finding writes the input to fuzz-finding-<n>.bin and exits 1. CTest runs a short loop; the
//     long run is documented in docs/reliability.md.
// The seed corpus (tests/fuzz/corpus, written by tests/fuzz/make_corpus.py) is shared with the
// Python loader's fuzzer.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include "densekit/model_file.hpp"

namespace {

// Loads `bytes`; a loaded model predicts one row so that what the loader built is exercised too.
// Returns an empty string when the outcome is allowed, else what went wrong; `loaded` says which.
std::string try_load(const std::string& bytes, bool& loaded) {
  loaded = false;
  try {
    const densekit::Model model = densekit::Model::from_bytes(bytes, "<fuzz>");
    if (model.input_dim() <= (1 << 16) && model.output_dim() <= (1 << 16)) {
      std::vector<double> x(std::size_t(model.input_dim()), 0.5), out(std::size_t(model.output_dim()));
      model.predict(x.data(), 1, out.data());
    }
    loaded = true;
    return "";
  } catch (const densekit::ModelFileError&) {
    return "";
  } catch (const std::exception& e) {
    return std::string("an exception other than ModelFileError: ") + e.what();
  } catch (...) {
    return "a non-standard exception";
  }
}

}  // namespace

#ifdef DENSEKIT_LIBFUZZER

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  bool loaded = false;
  const std::string problem = try_load(std::string(reinterpret_cast<const char*>(data), size), loaded);
  if (!problem.empty()) {
    std::cerr << problem << "\n";
    std::abort();  // libFuzzer saves the input
  }
  return 0;
}

#else

namespace {

class Mutator {
 public:
  explicit Mutator(std::uint64_t seed) : rng_(seed) {}

  std::string mutate(const std::vector<std::string>& seeds) {
    std::string s = seeds[pick(seeds.size())];
    const int rounds = 1 + int(pick(6));
    for (int r = 0; r < rounds; ++r) mutate_once(s, seeds);
    return s;
  }

 private:
  std::size_t pick(std::size_t n) { return n == 0 ? 0 : std::size_t(rng_() % n); }

  // The JSON header's byte range (after the 8-byte length), clamped to the string.
  std::pair<std::size_t, std::size_t> header(const std::string& s) {
    if (s.size() < 8) return {0, s.size()};
    std::uint64_t n = 0;
    for (int i = 7; i >= 0; --i) n = (n << 8) | std::uint8_t(s[std::size_t(i)]);
    return {8, std::min<std::uint64_t>(s.size(), 8 + n)};
  }

  void mutate_once(std::string& s, const std::vector<std::string>& seeds) {
    static const char* const numbers[] = {"0", "-1", "1", "2147483648", "4294967296", "9223372036854775807",
                                          "9223372036854775808", "18446744073709551616", "1e308", "-0",
                                          "1.5", "99999999999999999999999", "NaN", "\"\"", "null", "[]"};
    static const char bytes[] = {'\0', '\x7f', '\x80', '\xff', '"', '\\', '{', '}', '[', ']', ',', ':'};
    if (s.empty()) {
      s = seeds[pick(seeds.size())];
      return;
    }
    const auto [h0, h1] = header(s);
    const bool in_header = h1 > h0 && pick(3) != 0;  // most interesting structure is there
    const std::size_t at = in_header ? h0 + pick(h1 - h0) : pick(s.size());
    switch (pick(9)) {
      case 0:  // flip a bit
        s[at] = char(s[at] ^ char(1u << pick(8)));
        break;
      case 1:  // an interesting byte
        s[at] = bytes[pick(sizeof(bytes))];
        break;
      case 2:  // a random byte
        s[at] = char(pick(256));
        break;
      case 3: {  // replace a run of digits with an interesting number
        std::size_t b = at;
        while (b < s.size() && !(s[b] >= '0' && s[b] <= '9')) ++b;
        if (b == s.size()) break;
        std::size_t e = b;
        while (e < s.size() && s[e] >= '0' && s[e] <= '9') ++e;
        s.replace(b, e - b, numbers[pick(sizeof(numbers) / sizeof(numbers[0]))]);
        break;
      }
      case 4:  // delete a range
        s.erase(at, 1 + pick(std::min<std::size_t>(64, s.size() - at)));
        break;
      case 5:  // duplicate a range
        s.insert(at, s.substr(at, 1 + pick(64)));
        break;
      case 6:  // truncate
        s.resize(at);
        break;
      case 7: {  // splice: this file's head, another seed's tail
        const std::string& other = seeds[pick(seeds.size())];
        const std::size_t from = pick(other.size());
        s = s.substr(0, at) + other.substr(from);
        break;
      }
      default:  // set the length field to something near the truth
        if (s.size() >= 8) {
          std::uint64_t n = 0;
          for (int i = 7; i >= 0; --i) n = (n << 8) | std::uint8_t(s[std::size_t(i)]);
          const std::uint64_t choices[] = {n + 1, n - 1, 0, s.size(), ~std::uint64_t(0), std::uint64_t(1) << 40};
          n = choices[pick(6)];
          for (int i = 0; i < 8; ++i) s[std::size_t(i)] = char((n >> (8 * i)) & 0xff);
        }
    }
  }

  std::mt19937_64 rng_;
};

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::cerr << "usage: " << argv[0] << " <corpus dir> <iterations> [seed]\n";
    return 2;
  }
  std::vector<std::string> seeds;
  for (const auto& entry : std::filesystem::directory_iterator(argv[1]))
    if (entry.is_regular_file()) seeds.push_back(read_file(entry.path()));
  if (seeds.empty()) {
    std::cerr << "no seed files in " << argv[1] << "\n";
    return 2;
  }
  const long iterations = std::atol(argv[2]);
  const std::uint64_t seed = argc > 3 ? std::strtoull(argv[3], nullptr, 10) : 1;
  // The seeds themselves must load.
  for (const auto& s : seeds) {
    try {
      (void)densekit::Model::from_bytes(s, "<seed>");
    } catch (const std::exception& e) {
      std::cerr << "a seed file does not load: " << e.what() << "\n";
      return 1;
    }
  }
  Mutator mutator(seed);
  long loaded = 0;
  for (long i = 0; i < iterations; ++i) {
    const std::string input = mutator.mutate(seeds);
    bool ok = false;
    const std::string problem = try_load(input, ok);
    if (!problem.empty()) {
      const std::string name = "fuzz-finding-" + std::to_string(i) + ".bin";
      std::ofstream(name, std::ios::binary) << input;
      std::cerr << "iteration " << i << " (seed " << seed << "): " << problem << "; input saved to "
                << name << "\n";
      return 1;
    }
    loaded += ok;
  }
  std::cout << iterations << " mutated files, " << loaded << " loaded, the rest refused with "
            << "ModelFileError; no other outcome\n";
  return 0;
}

#endif
