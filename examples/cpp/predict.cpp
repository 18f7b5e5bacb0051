// densekit_predict: runs a saved densekit model from C++, with no Python involved.
//
//   densekit_predict model.dk < inputs.txt > outputs.txt
//   densekit_predict --repeat 10000 model.dk < inputs.txt    batch-1 latency of Model::predict
//
// Reads rows of whitespace-separated numbers (input_dim per row) from standard input and prints
// one row of outputs per input row. With --repeat N it then predicts the first row alone N times
// (float32 in and out, as a service would) and prints the median and 10th/90th percentile time
// per call to standard error. Proves that a model trained in Python ships into a C++ service
// through the library's public header.
#include <densekit/model_file.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <vector>

namespace {

// Times `repeat` one-row predictions of x; prints the median and the 10th/90th percentiles.
void time_batch_one(const densekit::Model& model, const std::vector<double>& row, long repeat) {
  using clock = std::chrono::steady_clock;
  const std::vector<float> x(row.begin(), row.end());
  std::vector<float> out(std::size_t(model.output_dim()));
  std::vector<double> seconds(static_cast<std::size_t>(repeat));
  for (int i = 0; i < 100; ++i) model.predict(x.data(), 1, out.data());  // warm caches and threads
  for (auto& s : seconds) {
    const auto start = clock::now();
    model.predict(x.data(), 1, out.data());
    s = std::chrono::duration<double>(clock::now() - start).count();
  }
  std::sort(seconds.begin(), seconds.end());
  std::fprintf(stderr, "batch-1 latency over %ld calls: median %.2f us (p10 %.2f, p90 %.2f)\n", repeat,
               1e6 * seconds[seconds.size() / 2], 1e6 * seconds[seconds.size() / 10],
               1e6 * seconds[seconds.size() * 9 / 10]);
}

}  // namespace

int main(int argc, char** argv) {
  long repeat = 0;
  if (argc >= 3 && std::strcmp(argv[1], "--repeat") == 0) {
    char* end;
    repeat = std::strtol(argv[2], &end, 10);
    if (*end || repeat < 1) {
      std::cerr << argv[0] << ": --repeat needs a positive count, got \"" << argv[2] << "\"\n";
      return 2;
    }
    argv[2] = argv[0];
    argc -= 2;
    argv += 2;
  }
  if (argc != 2) {
    std::cerr << "usage: " << argv[0] << " [--repeat N] MODEL_FILE < inputs.txt\n";
    return 2;
  }
  try {
    densekit::Model model = densekit::Model::load(argv[1]);
    const auto in = model.input_dim(), out = model.output_dim();
    std::vector<double> x;
    double v;
    while (std::cin >> v) x.push_back(v);
    if (x.size() % std::size_t(in) != 0) {
      std::cerr << "expected " << in << " numbers per row, got " << x.size() << " numbers\n";
      return 1;
    }
    const auto n = densekit::Index(x.size() / std::size_t(in));
    std::vector<double> y(std::size_t(n * out));
    model.predict(x.data(), n, y.data());
    for (densekit::Index r = 0; r < n; ++r) {
      for (densekit::Index c = 0; c < out; ++c)
        std::printf(c + 1 < out ? "%.17g " : "%.17g\n", y[std::size_t(r * out + c)]);
    }
    if (repeat > 0) {
      if (n == 0) {
        std::cerr << "densekit_predict: --repeat needs at least one input row\n";
        return 1;
      }
      std::fflush(stdout);
      time_batch_one(model, std::vector<double>(x.begin(), x.begin() + in), repeat);
    }
  } catch (const std::exception& e) {
    std::cerr << "densekit_predict: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
