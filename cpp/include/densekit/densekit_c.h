/* densekit's C interface: serve a saved model from C or any language with a C FFI.
 *
 *   #include <densekit/densekit_c.h>          CMake: find_package(densekit), link densekit::c
 *
 *   dk_model* m = dk_model_load("model.dk");  // the file model.save() wrote in Python
 *   if (!m) { fprintf(stderr, "%s\n", dk_last_error()); return 1; }
 *   float* out = malloc(rows * dk_model_outputs(m) * sizeof(float));
 *   if (dk_model_predict(m, x, rows, out) != DK_OK) fprintf(stderr, "%s\n", dk_last_error());
 *   dk_model_free(m);
 *
 * Loading applies the checks of Python's dk.load_model: the container's structure, the format
 * version, every tensor's name, dtype and shape, the SHA-256 checksum and the absence of NaN or
 * Inf in the weights. Inputs and outputs are float32 whatever the model's dtype (a float64 model
 * converts on the way in and out).
 *
 * Thread safety: dk_model_predict may be called on one model from any number of threads at once;
 * each row's output is the same bits as a single-threaded, one-row call. dk_model_free must not
 * race with other calls on the same model. Errors are reported per thread (dk_last_error).
 *
 * No C++ exception ever crosses this interface; a failure is a return value (NULL or a negative
 * status) plus a message. This header is C99 and includes only <stddef.h>.
 */
#ifndef DENSEKIT_DENSEKIT_C_H
#define DENSEKIT_DENSEKIT_C_H

#include <stddef.h>

#if defined(__GNUC__)
#define DK_API __attribute__((visibility("default")))
#else
#define DK_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* Status codes: dk_model_predict returns them; dk_last_status() gives the one of any failed call
 * (the loaders return NULL). */
enum {
  DK_OK = 0,
  DK_ERR_ARGUMENT = -1, /* a NULL pointer, rows == 0, rows * width overflowing, NaN/Inf input */
  DK_ERR_FILE = -2,     /* unreadable, malformed or corrupted model file or bytes */
  DK_ERR_MEMORY = -3,   /* out of memory */
  DK_ERR_INTERNAL = -4  /* anything else (a bug: please report it with the message) */
};

/* A loaded model: opaque, owned by the caller, released with dk_model_free. */
typedef struct dk_model dk_model;

/* Loads the model file at `path`. NULL on failure (dk_last_error says why). */
DK_API dk_model* dk_model_load(const char* path);

/* Loads a model from the `size` bytes of a model file at `data` (copied; the caller may free
 * them on return). NULL on failure (dk_last_error says why). */
DK_API dk_model* dk_model_load_memory(const void* data, size_t size);

/* Predicts `rows` rows: x is rows x dk_model_inputs(m) floats, row-major; out receives
 * rows x dk_model_outputs(m) floats, row-major (x and out must not overlap). Returns DK_OK or a
 * negative DK_ERR_* code; on failure `out` is left unspecified. Inputs with NaN or Inf are
 * refused (DK_ERR_ARGUMENT), as Python's predict refuses them. Thread-safe on one model. */
DK_API int dk_model_predict(const dk_model* m, const float* x, size_t rows, float* out);

/* Features per input row and values per output row; 0 when m is NULL. */
DK_API size_t dk_model_inputs(const dk_model* m);
DK_API size_t dk_model_outputs(const dk_model* m);

/* Releases a model; NULL is a no-op. */
DK_API void dk_model_free(dk_model* m);

/* The message of the most recent failed call on the calling thread ("" if none failed yet),
 * e.g. "dk_model_load: model.dk: checksum mismatch: ...". Successful calls leave it unchanged.
 * Valid until this thread's next failing call. */
DK_API const char* dk_last_error(void);

/* The status (DK_ERR_*) of that same call; DK_OK if none failed yet on this thread. Tells a
 * failed load's cause apart (DK_ERR_FILE: the file; DK_ERR_MEMORY: retry later). */
DK_API int dk_last_status(void);

/* The library's version, e.g. "0.1.0" (static storage). */
DK_API const char* dk_version(void);

#ifdef __cplusplus
}
#endif

#endif /* DENSEKIT_DENSEKIT_C_H */
