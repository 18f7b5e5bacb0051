// The C interface (densekit/densekit_c.h) over densekit::Model.
//
// Its one job is the boundary: check the caller's arguments, call Model, and turn every C++
// exception into a status code and a thread-local message. Nothing here parses files or computes
// (Model::load/from_bytes and Model::predict do, with their own checks); nothing here may throw,
// so recording a message allocates nothing.
#include "densekit/densekit_c.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <exception>
#include <new>
#include <string>

#include "densekit/io/model_file.hpp"
#include "densekit/kernels/elementwise.hpp"

#ifndef DENSEKIT_VERSION
#error "DENSEKIT_VERSION must be defined by the build (CMakeLists.txt reads it from pyproject.toml)"
#endif

struct dk_model {
  densekit::Model model;
};

namespace {

thread_local char t_error[2048] = "";
thread_local int t_status = DK_OK;

// Records "<function>: <what>" and `status` as this thread's last error; returns `status`.
int fail(int status, const char* function, const char* what) noexcept {
  std::snprintf(t_error, sizeof t_error, "%s: %s", function, what);
  t_status = status;
  return status;
}

// Runs body() (which returns a status) and maps whatever it throws to a status and a message.
template <class Body>
int guarded(const char* function, Body&& body) noexcept {
  try {
    return body();
  } catch (const densekit::ModelFileError& e) {
    return fail(DK_ERR_FILE, function, e.what());
  } catch (const std::bad_alloc&) {
    return fail(DK_ERR_MEMORY, function, "out of memory");
  } catch (const std::exception& e) {
    return fail(DK_ERR_INTERNAL, function, e.what());
  } catch (...) {
    return fail(DK_ERR_INTERNAL, function, "unknown error");
  }
}

// Loads with `load` (a callable returning densekit::Model); NULL on failure.
template <class Load>
dk_model* load_model(const char* function, Load&& load) noexcept {
  dk_model* out = nullptr;
  guarded(function, [&] {
    out = new dk_model{load()};
    return int(DK_OK);
  });
  return out;
}

}  // namespace

extern "C" {

dk_model* dk_model_load(const char* path) {
  if (!path) {
    fail(DK_ERR_ARGUMENT, "dk_model_load", "path is NULL");
    return nullptr;
  }
  return load_model("dk_model_load", [&] { return densekit::Model::load(path); });
}

dk_model* dk_model_load_memory(const void* data, size_t size) {
  if (!data) {
    fail(DK_ERR_ARGUMENT, "dk_model_load_memory", "data is NULL");
    return nullptr;
  }
  if (size == 0) {
    fail(DK_ERR_ARGUMENT, "dk_model_load_memory", "size is 0 (an empty buffer is not a model file)");
    return nullptr;
  }
  return load_model("dk_model_load_memory", [&] {
    return densekit::Model::from_bytes(std::string(static_cast<const char*>(data), size), "<memory>");
  });
}

int dk_model_predict(const dk_model* m, const float* x, size_t rows, float* out) {
  constexpr const char* fn = "dk_model_predict";
  if (!m) return fail(DK_ERR_ARGUMENT, fn, "the model is NULL");
  if (!x) return fail(DK_ERR_ARGUMENT, fn, "x is NULL");
  if (!out) return fail(DK_ERR_ARGUMENT, fn, "out is NULL");
  if (rows == 0) return fail(DK_ERR_ARGUMENT, fn, "rows is 0 (nothing to predict)");
  const auto in = std::uint64_t(m->model.input_dim()), width = std::max(in, std::uint64_t(m->model.output_dim()));
  // Every element index, in floats and in bytes, must fit in the Index the model computes with.
  const std::uint64_t limit = std::uint64_t(PTRDIFF_MAX) / sizeof(float) / width;
  if (std::uint64_t(rows) > limit) {
    char what[160];
    std::snprintf(what, sizeof what, "rows = %zu is too large (rows x %llu values would overflow)",
                  rows, static_cast<unsigned long long>(width));
    return fail(DK_ERR_ARGUMENT, fn, what);
  }
  const std::size_t count = rows * std::size_t(in);
  const std::size_t i = std::size_t(
      densekit::kernels::elementwise<float>().first_non_finite(x, densekit::Index(count)));
  if (i < count) {
    char what[160];
    std::snprintf(what, sizeof what, "x contains NaN or Inf (first at row %zu, column %zu)",
                  i / std::size_t(in), i % std::size_t(in));
    return fail(DK_ERR_ARGUMENT, fn, what);
  }
  return guarded(fn, [&] {
    m->model.predict(x, densekit::Index(rows), out);
    return int(DK_OK);
  });
}

size_t dk_model_inputs(const dk_model* m) { return m ? size_t(m->model.input_dim()) : 0; }
size_t dk_model_outputs(const dk_model* m) { return m ? size_t(m->model.output_dim()) : 0; }

void dk_model_free(dk_model* m) { delete m; }

const char* dk_last_error(void) { return t_error; }

int dk_last_status(void) { return t_status; }

const char* dk_version(void) { return DENSEKIT_VERSION; }

}  // extern "C"
