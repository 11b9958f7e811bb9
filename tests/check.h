/*
 * check.h — the tests' few helpers: CHECK, a seeded PRNG, a page source
 * that counts what it hands out so a test can prove nothing leaked, heaps
 * with a setting or two changed, the fault sweep, and an abort that exits.
 */
#ifndef RC_TEST_CHECK_H
#define RC_TEST_CHECK_H

#include "rcgc.h"
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CHECK(c)                                                             \
    do {                                                                     \
        if (!(c)) {                                                          \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, \
                    #c);                                                     \
            exit(1);                                                         \
        }                                                                    \
    } while (0)

#define CHECK_VALID(h) CHECK(rc_heap_validate(h) == 0)

/* cond (a call that fails) holds and records code on h; h's error is
   clear before and after. */
#define CHECK_ERR(h, cond, code)                                             \
    do {                                                                     \
        rc_clear_error(h);                                                   \
        CHECK((cond) && rc_last_error(h) == (code));                         \
        rc_clear_error(h);                                                   \
    } while (0)

/* splitmix64: the same sequence on every run and machine. */
static inline uint64_t test_rand(uint64_t *state)
{
    uint64_t z = (*state += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

/* A page source over mmap that counts live bytes and regions. */
typedef struct counting_source {
    size_t live_bytes, live_regions, requests;
} counting_source;

static inline void *counting_alloc(void *ctx, size_t size, size_t align)
{
    counting_source *c = ctx;
    void *p = rc_page_mmap_alloc(NULL, size, align);
    c->requests++;
    if (p) {
        c->live_bytes += size;
        c->live_regions++;
    }
    return p;
}

static inline void counting_free(void *ctx, void *p, size_t size)
{
    counting_source *c = ctx;
    c->live_bytes -= size;
    c->live_regions--;
    rc_page_mmap_free(NULL, p, size);
}

static inline rc_config counting_config(counting_source *c)
{
    rc_config cfg;
    rc_config_init(&cfg);
    cfg.pages.alloc = counting_alloc;
    cfg.pages.free = counting_free;
    cfg.pages.purge = rc_page_mmap_purge;
    cfg.pages.ctx = c;
    return cfg;
}

/* A heap on the default configuration but for these (never NULL). */
enum {
    HEAP_DEBUG = 1, /* the debug allocator: fills, guards, misuse checks */
    HEAP_QUIET = 2, /* no automatic collection: counts are exact */
};
static inline rc_heap *test_heap(unsigned flags)
{
    rc_config cfg;
    rc_config_init(&cfg);
    cfg.debug = (flags & HEAP_DEBUG) != 0;
    cfg.gc_disabled = (flags & HEAP_QUIET) != 0;
    rc_heap *h = rc_heap_new(&cfg);
    CHECK(h);
    return h;
}

/* Blocks live on the heap (objects and raw blocks). */
static inline size_t heap_live_blocks(const rc_heap *h)
{
    rc_alloc_stats st;
    rc_alloc_stats_get(h, &st);
    return st.small_blocks + st.large_blocks + st.huge_blocks;
}

/* ---- The fault sweep (SQLite's) ---------------------------------------------
 * For nth = 1, 2, 3, ...: a fresh heap over a counting source; warm_up
 * (NULL: none) makes what a heap makes once and returns the live blocks
 * then; the nth page request is set to fail and the workload runs,
 * returning how many of its calls failed.  armed (NULL: none) checks the
 * heap with the failure still set, given those failures and its stats.
 * The failure is then cleared; with still_works, the sweep checks that a
 * failed call means a refused page (a refused page may cost nothing
 * visible: a collection's work list, an allocation retried after the
 * emergency collection), still_works shows the heap works, and after a
 * full collection (reaping zombies, emptying the free lists) exactly the
 * warm-up's blocks are live.  Each heap is freed and the source must have
 * every byte back.  Stops after the first run in which no page request
 * failed; returns the failure points swept. */
typedef struct fault_sweep {
    size_t (*warm_up)(rc_heap *h);
    int (*workload)(rc_heap *h);
    void (*armed)(rc_heap *h, int failures, const rc_alloc_stats *s);
    void (*still_works)(rc_heap *h);
} fault_sweep;

static inline unsigned long run_fault_sweep(const fault_sweep *fs)
{
    unsigned long nth;
    for (nth = 1;; nth++) {
        counting_source src = {0};
        rc_config cfg = counting_config(&src);
        rc_heap *h = rc_heap_new(&cfg);
        CHECK(h);
        size_t base = fs->warm_up ? fs->warm_up(h) : 0;
        rc_heap_fail_page_request(h, nth);
        int failures = fs->workload(h);
        rc_alloc_stats s;
        rc_alloc_stats_get(h, &s);
        if (fs->armed)
            fs->armed(h, failures, &s);
        rc_heap_fail_page_request(h, 0); /* the checks below must not fail */
        if (fs->still_works) {
            CHECK(failures == 0 || s.page_failures > 0);
            fs->still_works(h);
            rc_collect(h, -1);
            CHECK(heap_live_blocks(h) == base); /* nothing leaked */
        }
        rc_heap_free(h);
        CHECK(src.live_bytes == 0 && src.live_regions == 0);
        if (s.page_failures == 0)
            break;
    }
    return nth - 1;
}

/* The heap aborts after its message; CTest counts a signal as a failure
   whatever the output, so turn an abort into exit status 3. */
static inline void abort_exit3(int sig)
{
    (void)sig;
    _exit(3);
}

static inline void exit_on_abort(void)
{
    signal(SIGABRT, abort_exit3);
}

#endif
