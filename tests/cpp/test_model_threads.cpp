// A loaded model's const predict() is safe from many threads at once and bit-identical to
// single-threaded calls, whatever the batch size and the rows' positions (SPEC §3, "Persistence
// and deployment" and "Low-latency inference").
//
// The model is the file named by DENSEKIT_MODEL_THREADS_FILE (the Python suite passes models it
// trained, one per dtype), else one written here with every layer kind inference runs
// (Normalization, Dense with several activations, BatchNormalization, Activation, PReLU, Dropout,
// softmax), float32 then float64, wide enough that batches of 16 rows and more split their
// products between OpenMP threads. Reference: every row predicted alone, on one thread. Then:
//   - one call on all rows, and calls on shifted windows, give the reference bits (batch
//     invariance);
//   - 8 threads × 10,000 calls with mixed batch sizes (1…64) at moving offsets, all on the one
//     model, give the reference bits for every row of every call.
// tools/sanitize.sh runs this under ThreadSanitizer.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "check.hpp"
#include "densekit/model_file.hpp"
#include "file_builder.hpp"

using namespace densekit;
using densekit::test::Tensor;

namespace {

constexpr int kThreads = 8;
constexpr int kCallsPerThread = 10000;
constexpr Index kRows = 300;

std::uint64_t g_state = 0x9E3779B97F4A7C15ULL;
double uniform(double lo, double hi) {
  g_state = g_state * 6364136223846793005ULL + 1442695040888963407ULL;
  return lo + (hi - lo) * double(g_state >> 11) / double(1ULL << 53);
}

template <class T>
std::string random_tensor(std::size_t n, double lo, double hi) {
  std::vector<T> v(n);
  for (auto& x : v) x = T(uniform(lo, hi));
  return densekit::test::raw_bytes(v);
}

// A model file with every layer kind the inference path has, input width 48.
template <class T>
std::string every_layer_file() {
  const std::string dtype = sizeof(T) == 4 ? "float32" : "float64", code = sizeof(T) == 4 ? "F32" : "F64";
  const std::string layers =
      R"({"class_name":"Normalization","config":{}},)"
      R"({"class_name":"Dense","config":{"units":256,"activation":"elu"}},)"
      R"({"class_name":"BatchNormalization","config":{"momentum":0.99,"epsilon":0.001}},)"
      R"({"class_name":"Activation","config":{"activation":"selu"}},)"
      R"({"class_name":"Dropout","config":{"rate":0.2}},)"
      R"({"class_name":"Dense","config":{"units":64,"activation":"linear","use_bias":false}},)"
      R"({"class_name":"PReLU","config":{}},)"
      R"({"class_name":"Dense","config":{"units":64,"activation":"tanh"}},)"
      R"({"class_name":"Dense","config":{"units":40,"activation":"swish"}},)"
      R"({"class_name":"Dense","config":{"units":10,"activation":"softmax"}})";
  const std::string doc = R"({"model":{"class_name":"Sequential","config":{"input_dim":48,"dtype":")" +
                          dtype + R"(","layers":[)" + layers + "]}}}";
  auto t = [&](std::uint64_t rows, std::uint64_t cols, double lo, double hi) {
    return Tensor{code, {rows, cols}, random_tensor<T>(std::size_t(rows * cols), lo, hi)};
  };
  std::map<std::string, Tensor> tensors = {
      {"layers.0.mean", t(1, 48, -1, 1)},        {"layers.0.variance", t(1, 48, 0.5, 2)},
      {"layers.1.kernel", t(48, 256, -0.2, 0.2)}, {"layers.1.bias", t(1, 256, -0.1, 0.1)},
      {"layers.2.gamma", t(1, 256, 0.5, 1.5)},    {"layers.2.beta", t(1, 256, -0.2, 0.2)},
      {"layers.2.moving_mean", t(1, 256, -0.5, 0.5)}, {"layers.2.moving_variance", t(1, 256, 0.5, 2)},
      {"layers.5.kernel", t(256, 64, -0.1, 0.1)}, {"layers.6.alpha", t(1, 64, 0.1, 0.3)},
      {"layers.7.kernel", t(64, 64, -0.2, 0.2)},  {"layers.7.bias", t(1, 64, -0.1, 0.1)},
      {"layers.8.kernel", t(64, 40, -0.2, 0.2)},  {"layers.8.bias", t(1, 40, -0.1, 0.1)},
      {"layers.9.kernel", t(40, 10, -0.3, 0.3)},  {"layers.9.bias", t(1, 10, -0.1, 0.1)}};
  return densekit::test::model_file_bytes({{"format", "densekit"}, {"format_version", "1"}, {"densekit", doc}},
                                          tensors);
}

template <class E>
bool same_row(const std::vector<E>& got, Index got_row, const std::vector<E>& want, Index want_row,
              Index cols) {
  return std::memcmp(got.data() + got_row * cols, want.data() + want_row * cols, std::size_t(cols) * sizeof(E)) == 0;
}

// Every check on `model`, with inputs and outputs of element type E.
template <class E>
void check_model(const Model& model, const std::string& label) {
  const Index in = model.input_dim(), out = model.output_dim();
  std::vector<E> x(std::size_t(kRows * in));
  for (auto& v : x) v = E(uniform(-2, 2));
  // Reference: each row alone, on this thread.
  std::vector<E> ref(std::size_t(kRows * out));
  for (Index r = 0; r < kRows; ++r) model.predict(x.data() + r * in, 1, ref.data() + r * out);
  bool finite = true;
  for (E v : ref) finite = finite && std::isfinite(double(v));
  CHECK(finite, label, ": non-finite outputs");

  // Batch invariance: all rows at once, and windows starting at every offset of a few sizes.
  std::vector<E> got(std::size_t(kRows * out));
  model.predict(x.data(), kRows, got.data());
  for (Index r = 0; r < kRows; ++r) CHECK(same_row(got, r, ref, r, out), label, ": row ", r, " of the full batch");
  for (Index batch : {2, 7, 16, 33, 64}) {
    for (Index start = 0; start + batch <= kRows; start += 13) {
      model.predict(x.data() + start * in, batch, got.data());
      for (Index r = 0; r < batch; ++r)
        CHECK(same_row(got, r, ref, start + r, out), label, ": row ", start + r, " in a batch of ", batch,
              " at ", start);
    }
  }

  // Many threads, one model.
  std::atomic<long> mismatched{0}, rows_checked{0};
  std::vector<std::thread> pool;
  for (int t = 0; t < kThreads; ++t) {
    pool.emplace_back([&, t] {
      std::vector<E> y(std::size_t(64 * out));
      std::uint64_t s = 0x2545F4914F6CDD1DULL * std::uint64_t(t + 1);
      for (int call = 0; call < kCallsPerThread; ++call) {
        s = s * 6364136223846793005ULL + 1442695040888963407ULL;
        // Mostly small batches (serving), some up to 64 rows (products split between threads).
        const Index batch = (s >> 33) % 4 == 0 ? Index(1 + (s >> 40) % 64) : Index(1 + (s >> 40) % 4);
        const Index start = Index((s >> 20) % std::uint64_t(kRows - batch + 1));
        model.predict(x.data() + start * in, batch, y.data());
        long bad = 0;
        for (Index r = 0; r < batch; ++r) bad += !same_row(y, r, ref, start + r, out);
        mismatched += bad;
        rows_checked += batch;
      }
    });
  }
  for (auto& th : pool) th.join();
  CHECK(mismatched.load() == 0, label, ": ", mismatched.load(), " of ", rows_checked.load(),
        " rows predicted from ", kThreads, " threads differ from the single-threaded result");
  std::printf("%s: %d threads x %d calls, %ld rows, %ld mismatched\n", label.c_str(), kThreads,
              kCallsPerThread, rows_checked.load(), mismatched.load());
}

void check_file(const std::string& bytes, const std::string& source) {
  const Model model = Model::from_bytes(bytes, source);
  const std::string dtype = model.is_float64() ? "float64" : "float32";
  check_model<float>(model, source + " (" + dtype + " model, float I/O)");
  if (model.is_float64()) check_model<double>(model, source + " (float64 model, double I/O)");
}

}  // namespace

int main() {
  if (const char* files = std::getenv("DENSEKIT_MODEL_THREADS_FILE")) {
    // One or more paths, separated by ':'.
    std::string list = files;
    for (std::size_t begin = 0; begin <= list.size();) {
      const std::size_t end = std::min(list.find(':', begin), list.size());
      const std::string path = list.substr(begin, end - begin);
      if (!path.empty()) {
        std::FILE* f = std::fopen(path.c_str(), "rb");
        CHECK(f != nullptr, "cannot open ", path);
        if (f) {
          std::string bytes;
          char buf[65536];
          for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, f)) > 0;) bytes.append(buf, n);
          std::fclose(f);
          check_file(bytes, path);
        }
      }
      begin = end + 1;
    }
  } else {
    check_file(every_layer_file<float>(), "every-layer model");
    check_file(every_layer_file<double>(), "every-layer model");
  }
  return densekit::test::finish("test_model_threads");
}
