// The C interface (densekit/densekit_c.h) from C++, where the sanitizers can watch it
// (tools/sanitize.sh: AddressSanitizer + UBSan on every test, ThreadSanitizer on this one).
//
// A small model (Dense 16 -> 32 elu -> 4 softmax) is built in memory, in float32 and float64,
// and loaded from memory and from a file. Checked: sizes; every row of one call equals that row
// predicted alone and densekit::Model's own predict, bit for bit; every refused argument and
// corrupted file gives its status and a message; 8 threads × 2,000 calls of mixed batch sizes
// on one handle give the single-threaded bits, each thread's failures landing in its own
// dk_last_error. tests/test_c_api.py drives the shared library through ctypes.
#include "densekit/densekit_c.h"

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <string>
#include <thread>
#include <vector>

#include "check.hpp"
#include "densekit/model_file.hpp"
#include "file_builder.hpp"

using densekit::test::Tensor;

namespace {

constexpr std::size_t kIn = 16, kOut = 4, kRows = 200;
constexpr int kThreads = 8, kCalls = 2000;

std::uint64_t g_state = 0x2545F4914F6CDD1DULL;
double uniform(double lo, double hi) {
  g_state = g_state * 6364136223846793005ULL + 1442695040888963407ULL;
  return lo + (hi - lo) * double(g_state >> 11) / double(1ULL << 53);
}

template <class T>
Tensor tensor(std::uint64_t rows, std::uint64_t cols, double scale) {
  std::vector<T> v(std::size_t(rows * cols));
  for (auto& x : v) x = T(uniform(-scale, scale));
  return Tensor{sizeof(T) == 4 ? "F32" : "F64", {rows, cols}, densekit::test::raw_bytes(v)};
}

template <class T>
std::string model_bytes() {
  const std::string dtype = sizeof(T) == 4 ? "float32" : "float64";
  const std::string doc =
      R"({"model":{"class_name":"Sequential","config":{"input_dim":16,"dtype":")" + dtype +
      R"(","layers":[{"class_name":"Dense","config":{"units":32,"activation":"elu"}},)"
      R"({"class_name":"Dense","config":{"units":4,"activation":"softmax"}}]}}})";
  return densekit::test::model_file_bytes(
      {{"format", "densekit"}, {"format_version", "1"}, {"densekit", doc}},
      {{"layers.0.kernel", tensor<T>(kIn, 32, 0.4)}, {"layers.0.bias", tensor<T>(1, 32, 0.1)},
       {"layers.1.kernel", tensor<T>(32, kOut, 0.4)}, {"layers.1.bias", tensor<T>(1, kOut, 0.1)}});
}

bool same(const float* a, const float* b, std::size_t n) { return std::memcmp(a, b, n * sizeof(float)) == 0; }

std::string last_error() { return dk_last_error(); }

void check_errors(const dk_model* m, const std::string& bytes) {
  std::vector<float> x(2 * kIn, 0.5f), out(2 * kOut);
  CHECK(dk_model_predict(nullptr, x.data(), 2, out.data()) == DK_ERR_ARGUMENT, last_error());
  CHECK(last_error() == "dk_model_predict: the model is NULL", last_error());
  CHECK(dk_model_predict(m, nullptr, 2, out.data()) == DK_ERR_ARGUMENT, last_error());
  CHECK(dk_model_predict(m, x.data(), 2, nullptr) == DK_ERR_ARGUMENT, last_error());
  CHECK(dk_model_predict(m, x.data(), 0, out.data()) == DK_ERR_ARGUMENT, last_error());
  CHECK(last_error().find("rows is 0") != std::string::npos, last_error());
  const std::size_t huge = std::numeric_limits<std::size_t>::max();
  CHECK(dk_model_predict(m, x.data(), huge, out.data()) == DK_ERR_ARGUMENT, last_error());
  CHECK(last_error().find("too large") != std::string::npos, last_error());
  x[kIn + 3] = std::numeric_limits<float>::infinity();
  CHECK(dk_model_predict(m, x.data(), 2, out.data()) == DK_ERR_ARGUMENT, last_error());
  CHECK(last_error().find("first at row 1, column 3") != std::string::npos, last_error());
  CHECK(dk_last_status() == DK_ERR_ARGUMENT, last_error());

  CHECK(dk_model_load(nullptr) == nullptr && dk_last_status() == DK_ERR_ARGUMENT, last_error());
  CHECK(dk_model_load("/nonexistent/densekit/model.dk") == nullptr && dk_last_status() == DK_ERR_FILE,
        last_error());
  CHECK(dk_model_load_memory(nullptr, 8) == nullptr && dk_last_status() == DK_ERR_ARGUMENT, last_error());
  CHECK(dk_model_load_memory(bytes.data(), 0) == nullptr && dk_last_status() == DK_ERR_ARGUMENT,
        last_error());
  for (std::size_t cut : {std::size_t(1), std::size_t(8), std::size_t(100), bytes.size() / 2,
                          bytes.size() - 1}) {
    CHECK(dk_model_load_memory(bytes.data(), cut) == nullptr && dk_last_status() == DK_ERR_FILE, cut);
    CHECK(last_error().rfind("dk_model_load_memory: <memory>: ", 0) == 0, last_error());
  }
  std::string flipped = bytes;
  flipped[flipped.size() - 5] = char(flipped[flipped.size() - 5] ^ 0x08);  // in the last tensor
  CHECK(dk_model_load_memory(flipped.data(), flipped.size()) == nullptr, "a flipped byte loaded");
  CHECK(dk_last_status() == DK_ERR_FILE, last_error());
  CHECK(last_error().find("checksum mismatch") != std::string::npos, last_error());
  CHECK(dk_model_inputs(nullptr) == 0 && dk_model_outputs(nullptr) == 0, last_error());
  dk_model_free(nullptr);
}

void check_threads(const dk_model* m, const std::vector<float>& x, const std::vector<float>& ref) {
  std::vector<long> mismatched(kThreads, 0), own_errors(kThreads, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::vector<float> out(64 * kOut);
      std::uint64_t s = 0x9E3779B97F4A7C15ULL * std::uint64_t(t + 1);
      for (int call = 0; call < kCalls; ++call) {
        s = s * 6364136223846793005ULL + 1442695040888963407ULL;
        const std::size_t rows = 1 + (s >> 33) % 64, start = (s >> 13) % (kRows - rows + 1);
        if (dk_model_predict(m, x.data() + start * kIn, rows, out.data()) != DK_OK ||
            !same(out.data(), ref.data() + start * kOut, rows * kOut))
          ++mismatched[std::size_t(t)];
        if (call % 100 == 0) {  // a failure of this thread's own, with its own message
          const std::size_t bad_rows = std::size_t(t + 1) << 60;
          dk_model_predict(m, x.data(), bad_rows, out.data());
          const std::string want = "rows = " + std::to_string(bad_rows) + " is too large";
          if (last_error().find(want) == std::string::npos) ++own_errors[std::size_t(t)];
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int t = 0; t < kThreads; ++t) {
    CHECK(mismatched[std::size_t(t)] == 0, "thread ", t, ": ", mismatched[std::size_t(t)], " calls differ");
    CHECK(own_errors[std::size_t(t)] == 0, "thread ", t, " saw another thread's error message");
  }
}

template <class T>
void check_model(const char* label) {
  const std::string bytes = model_bytes<T>();
  dk_model* m = dk_model_load_memory(bytes.data(), bytes.size());
  CHECK(m != nullptr, label, ": ", last_error());
  if (!m) return;
  CHECK(dk_model_inputs(m) == kIn && dk_model_outputs(m) == kOut, label);

  std::vector<float> x(kRows * kIn), all(kRows * kOut), alone(kRows * kOut), direct(kRows * kOut);
  for (auto& v : x) v = float(uniform(-2, 2));
  CHECK(dk_model_predict(m, x.data(), kRows, all.data()) == DK_OK, label, ": ", last_error());
  for (std::size_t r = 0; r < kRows; ++r)
    CHECK(dk_model_predict(m, x.data() + r * kIn, 1, alone.data() + r * kOut) == DK_OK, last_error());
  CHECK(same(all.data(), alone.data(), all.size()), label, ": a batch differs from its rows alone");
  densekit::Model::from_bytes(bytes).predict(x.data(), densekit::Index(kRows), direct.data());
  CHECK(same(all.data(), direct.data(), all.size()), label, ": differs from Model::predict");

  // The same bytes from a file.
  char path[] = "/tmp/densekit_test_c_api_XXXXXX";
  const int fd = mkstemp(path);
  CHECK(fd >= 0, "mkstemp");
  if (fd >= 0) {
    std::FILE* f = fdopen(fd, "wb");
    std::fwrite(bytes.data(), 1, bytes.size(), f);
    std::fclose(f);
    dk_model* from_file = dk_model_load(path);
    CHECK(from_file != nullptr, label, ": ", last_error());
    std::vector<float> again(kRows * kOut);
    CHECK(dk_model_predict(from_file, x.data(), kRows, again.data()) == DK_OK, last_error());
    CHECK(same(all.data(), again.data(), all.size()), label, ": file and memory differ");
    dk_model_free(from_file);
    std::remove(path);
  }

  check_errors(m, bytes);
  check_threads(m, x, alone);
  dk_model_free(m);
}

}  // namespace

int main() {
  CHECK(std::strlen(dk_version()) > 0 && std::strchr(dk_version(), '.') != nullptr, dk_version());
  CHECK(last_error().empty() && dk_last_status() == DK_OK, "a failure before any call: ", last_error());
  check_model<float>("float32 model");
  check_model<double>("float64 model");
  return densekit::test::finish("test_c_api");
}
