// densekit_predict: runs a saved densekit model from C++, with no Python involved.
//
//   densekit_predict model.dk < inputs.txt > outputs.txt
//
// Reads rows of whitespace-separated numbers (input_dim per row) from standard input and prints
// one row of outputs per input row. Proves that a model trained in Python ships into a C++
// service through the library's public header.
#include <densekit/model_file.hpp>

#include <cstdio>
#include <iostream>
#include <vector>

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: " << argv[0] << " MODEL_FILE < inputs.txt\n";
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
  } catch (const std::exception& e) {
    std::cerr << "densekit_predict: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
