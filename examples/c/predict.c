/* densekit_predict_c: serves a saved densekit model from C, through the C interface alone.
 *
 *   densekit_predict_c model.dk [inputs.csv] > outputs.txt
 *   densekit_predict_c --repeat 10000 model.dk inputs.csv    batch-1 latency of dk_model_predict
 *
 * Reads one row per line (from the file, or standard input), its numbers separated by commas
 * and/or blanks; a first line that is not numbers (a CSV header) is skipped. Prints one line of
 * outputs per row. With --repeat N it then predicts the first row alone N times and prints the
 * median and 10th/90th percentile time per call to standard error.
 * Errors go to standard error with exit code 1 (2 for bad usage).
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */

#include <densekit/densekit_c.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* A growable array of floats. */
typedef struct {
  float* data;
  size_t size, capacity;
} floats;

static int push(floats* a, float v) {
  if (a->size == a->capacity) {
    size_t capacity = a->capacity ? 2 * a->capacity : 1024;
    float* grown = (float*)realloc(a->data, capacity * sizeof(float));
    if (!grown) return 0;
    a->data = grown;
    a->capacity = capacity;
  }
  a->data[a->size++] = v;
  return 1;
}

/* Reads one line of any length into *line (grown as needed); 0 at the end of the input. */
static int read_line(FILE* in, char** line, size_t* capacity) {
  size_t n = 0;
  int c;
  while ((c = getc(in)) != EOF && c != '\n') {
    if (n + 1 >= *capacity) {
      size_t grown_capacity = *capacity ? 2 * *capacity : 4096;
      char* grown = (char*)realloc(*line, grown_capacity);
      if (!grown) return -1;
      *line = grown;
      *capacity = grown_capacity;
    }
    (*line)[n++] = (char)c;
  }
  if (c == EOF && n == 0) return 0;
  if (!*line && !(*line = (char*)malloc(*capacity = 1))) return -1;
  (*line)[n] = '\0';
  return 1;
}

/* Appends the numbers of `line` to x; returns how many, or -1 if the line holds anything else. */
static long parse_row(const char* line, floats* x) {
  long count = 0;
  const char* p = line;
  for (;;) {
    char* end;
    while (*p == ' ' || *p == '\t' || *p == '\r' || *p == ',') ++p;
    if (!*p) return count;
    errno = 0;
    double v = strtod(p, &end);
    if (end == p) return -1;
    if (!push(x, (float)v)) return -2;
    ++count;
    p = end;
  }
}

static double now_seconds(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int by_value(const void* a, const void* b) {
  double x = *(const double*)a, y = *(const double*)b;
  return (x > y) - (x < y);
}

/* Times `repeat` one-row predictions of x; prints the median and the 10th/90th percentiles. */
static int time_batch_one(const dk_model* model, const float* x, float* out, long repeat) {
  double* seconds = (double*)malloc((size_t)repeat * sizeof(double));
  long i;
  if (!seconds) return 0;
  for (i = 0; i < 100; ++i) dk_model_predict(model, x, 1, out); /* warm caches and threads */
  for (i = 0; i < repeat; ++i) {
    double start = now_seconds();
    if (dk_model_predict(model, x, 1, out) != DK_OK) {
      free(seconds);
      return 0;
    }
    seconds[i] = now_seconds() - start;
  }
  qsort(seconds, (size_t)repeat, sizeof(double), by_value);
  fprintf(stderr, "batch-1 latency over %ld calls: median %.2f us (p10 %.2f, p90 %.2f)\n", repeat,
          1e6 * seconds[repeat / 2], 1e6 * seconds[repeat / 10], 1e6 * seconds[repeat * 9 / 10]);
  free(seconds);
  return 1;
}

int main(int argc, char** argv) {
  const char* program = argv[0];
  long repeat = 0;
  FILE* in = stdin;
  dk_model* model;
  floats x = {NULL, 0, 0};
  float* y = NULL;
  char* line = NULL;
  size_t capacity = 0, inputs, outputs, rows, r, c;
  long line_number = 0;
  int status = 1, got;

  if (argc >= 3 && strcmp(argv[1], "--repeat") == 0) {
    char* end;
    repeat = strtol(argv[2], &end, 10);
    if (*end || repeat < 1) {
      fprintf(stderr, "%s: --repeat needs a positive count, got \"%s\"\n", program, argv[2]);
      return 2;
    }
    argc -= 2;
    argv += 2;
  }
  if (argc != 2 && argc != 3) {
    fprintf(stderr, "usage: %s [--repeat N] MODEL_FILE [INPUT_FILE]   (rows on stdin if no file)\n",
            program);
    return 2;
  }
  model = dk_model_load(argv[1]);
  if (!model) {
    fprintf(stderr, "%s: %s\n", program, dk_last_error());
    return 1;
  }
  inputs = dk_model_inputs(model);
  outputs = dk_model_outputs(model);
  if (argc == 3 && !(in = fopen(argv[2], "r"))) {
    fprintf(stderr, "%s: cannot open %s: %s\n", program, argv[2], strerror(errno));
    goto done;
  }
  while ((got = read_line(in, &line, &capacity)) > 0) {
    long count;
    size_t before = x.size;
    ++line_number;
    count = parse_row(line, &x);
    if (count == -2) {
      fprintf(stderr, "%s: out of memory reading line %ld\n", program, line_number);
      goto done;
    }
    if (count == -1 && line_number == 1) { /* a header */
      x.size = before;
      continue;
    }
    if (count == 0) continue;                      /* a blank line */
    if (count != (long)inputs) {
      fprintf(stderr, "%s: line %ld: expected %zu numbers (the model's inputs), got %s\n",
              program, line_number, inputs, count < 0 ? "text" : "a different count");
      goto done;
    }
  }
  if (got < 0) {
    fprintf(stderr, "%s: out of memory reading line %ld\n", program, line_number + 1);
    goto done;
  }
  rows = x.size / inputs;
  if (rows == 0) {
    fprintf(stderr, "%s: no input rows\n", program);
    goto done;
  }
  if (!(y = (float*)malloc(rows * outputs * sizeof(float)))) {
    fprintf(stderr, "%s: out of memory\n", program);
    goto done;
  }
  if (dk_model_predict(model, x.data, rows, y) != DK_OK) {
    fprintf(stderr, "%s: %s\n", program, dk_last_error());
    goto done;
  }
  for (r = 0; r < rows; ++r)
    for (c = 0; c < outputs; ++c) printf(c + 1 < outputs ? "%.9g " : "%.9g\n", (double)y[r * outputs + c]);
  if (repeat && !time_batch_one(model, x.data, y, repeat)) {
    fprintf(stderr, "%s: timing failed: %s\n", program, dk_last_error()[0] ? dk_last_error() : "out of memory");
    goto done;
  }
  status = 0;
done:
  if (in && in != stdin) fclose(in);
  free(line);
  free(x.data);
  free(y);
  dk_model_free(model);
  return status;
}
