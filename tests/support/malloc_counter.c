/* Counts heap allocations, for tests/test_steady_state_allocation.py.
 *
 * Preloaded (LD_PRELOAD) into a Python process: every malloc-family call goes through here and,
 * while counting is on, bumps a counter before handing over to glibc. operator new and Eigen's
 * aligned_malloc end up in these functions too, so nothing allocates unseen. Python reads the
 * counter through ctypes: malloc_counter_start() / malloc_counter_stop().
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stddef.h>

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);
extern void __libc_free(void *);

static volatile int counting;
static long count;

static void bump(void) {
  if (counting) __atomic_add_fetch(&count, 1, __ATOMIC_RELAXED);
}

void malloc_counter_start(void) {
  __atomic_store_n(&count, 0, __ATOMIC_SEQ_CST);
  counting = 1;
}

long malloc_counter_stop(void) {
  counting = 0;
  return __atomic_load_n(&count, __ATOMIC_SEQ_CST);
}

void *malloc(size_t n) { bump(); return __libc_malloc(n); }
void *calloc(size_t k, size_t n) { bump(); return __libc_calloc(k, n); }
void *realloc(void *p, size_t n) { bump(); return __libc_realloc(p, n); }
void free(void *p) { __libc_free(p); }
void *memalign(size_t a, size_t n) { bump(); return __libc_memalign(a, n); }
void *aligned_alloc(size_t a, size_t n) { bump(); return __libc_memalign(a, n); }
void *valloc(size_t n) { bump(); return __libc_memalign(4096, n); }

int posix_memalign(void **out, size_t a, size_t n) {
  bump();
  void *p = __libc_memalign(a, n);
  if (!p) return ENOMEM;
  *out = p;
  return 0;
}
