// What every long C++ call from Python shares: size arguments checked at the boundary, and a
// GIL-free run that Ctrl-C can stop.
//
// interruptible(f) runs f with the GIL released and installs a poll (runtime/interrupt.hpp) that
// takes the GIL back briefly every ~50 ms to run Python's signal handlers (PyErr_CheckSignals;
// on Python's main thread only, where handlers run);
// when one raises (KeyboardInterrupt), the core stops at its next check and the Python exception
// propagates with the model as after its last whole step. Only bindings include this.
#pragma once

#include <chrono>
#include <string>
#include <utility>

#include "bindings.hpp"
#include "densekit/runtime/interrupt.hpp"
#include "densekit/runtime/types.hpp"

namespace densekit::bindings {

// A size or count argument (units, batch_size, count, samples): any Python integer (or object
// with __index__), checked here so that what does not fit a 64-bit index, or is below `min`, is
// a ValueError naming the argument rather than pybind11's "incompatible function arguments".
inline Index index_arg(py::handle value, const char* where, const char* name, Index min) {
  py::object number = py::reinterpret_steal<py::object>(PyNumber_Index(value.ptr()));
  if (!number) {
    PyErr_Clear();
    throw py::type_error(std::string(where) + ": " + name + " must be an integer, got " +
                         std::string(py::str(py::type::of(value).attr("__name__"))));
  }
  int overflow = 0;
  const long long v = PyLong_AsLongLongAndOverflow(number.ptr(), &overflow);
  if (overflow != 0 || v < min)
    throw py::value_error(std::string(where) + ": " + name + " must be an integer in [" +
                          std::to_string(min) + ", 2**63), got " + std::string(py::str(number)));
  return Index(v);
}

namespace detail {
class SignalPoll {
 public:
  static bool poll(void* self) { return static_cast<SignalPoll*>(self)->due_and_raised(); }

 private:
  bool due_and_raised() {
    if (off_) return false;
    const auto now = std::chrono::steady_clock::now();
    if (now < next_) return false;
    next_ = now + std::chrono::milliseconds(50);
    py::gil_scoped_acquire gil;
    // Python runs signal handlers on its main thread only: a call on another thread stops
    // taking the GIL (which would stall it behind busy Python threads) after its first look.
    if (!main_thread_known_) {
      main_thread_known_ = true;
      try {
        const py::object main = py::module_::import("threading").attr("main_thread")().attr("ident");
        off_ = main.cast<unsigned long>() != PyThread_get_thread_ident();
      } catch (const std::exception&) {  // cannot tell: keep looking, as on the main thread
      }
      if (off_) return false;
    }
    return PyErr_CheckSignals() != 0;  // runs the handlers; sets KeyboardInterrupt on Ctrl-C
  }
  std::chrono::steady_clock::time_point next_ = std::chrono::steady_clock::now() + std::chrono::milliseconds(50);
  bool main_thread_known_ = false;
  bool off_ = false;
};
}  // namespace detail

// f() with the GIL released, stoppable by Python signals (above). The caller holds the GIL.
template <class F>
auto interruptible(F&& f) -> decltype(f()) {
  detail::SignalPoll poll;
  try {
    py::gil_scoped_release release;
    InterruptScope scope(&detail::SignalPoll::poll, &poll);
    return f();
  } catch (const Interrupted&) {
    if (!PyErr_Occurred()) PyErr_SetNone(PyExc_KeyboardInterrupt);
    throw py::error_already_set();
  }
}

}  // namespace densekit::bindings
