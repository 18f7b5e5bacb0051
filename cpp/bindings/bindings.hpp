// Shared declarations of the binding units. Only files under cpp/bindings include pybind11.
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <string>

namespace densekit::bindings {

namespace py = pybind11;

// C-contiguous arrays of exactly T: Python converts once, explicitly, before calling in, so
// nothing here copies silently (arguments are also marked .noconvert()).
template <class T>
using CArray = py::array_t<T, py::array::c_style>;

// A zero-copy 2-D view of `data` whose base keeps `owner` alive.
template <class T>
py::array_t<T> view(T* data, py::ssize_t rows, py::ssize_t cols, py::handle owner) {
  return py::array_t<T>({rows, cols}, {py::ssize_t(cols * sizeof(T)), py::ssize_t(sizeof(T))},
                        data, owner);
}

void register_kinds(py::module_& m);
void register_kernels(py::module_& m);
void register_quantized(py::module_& m);
void register_distributed(py::module_& m);
template <class T>
void register_network(py::module_& m, const std::string& suffix);

}  // namespace densekit::bindings
