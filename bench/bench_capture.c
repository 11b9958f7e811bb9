/*
 * bench_capture.c — what one stack capture costs: 16 return addresses taken
 * 20 frames deep (a recursive chain of noinline frames, built with frame
 * pointers), side by side in one process:
 *   fp         a bounded frame-pointer walk, written here the way a tracing
 *              walker does it (src/trace/stack.c): follow the saved-rbp
 *              chain while each frame is aligned, inside the thread's stack
 *              (pthread_getattr_np, looked up once per thread) and above
 *              the one before;
 *   libunwind  unw_backtrace (DWARF CFI, with its per-address trace cache);
 *   backtrace  glibc backtrace() (libgcc's _Unwind_Backtrace over .eh_frame).
 * Prints ns per capture, the median of 5 runs, and each method's cost as a
 * multiple of the fp walk's; and checks that all three saw the same frames
 * (exit status 1 if not), so the fast one is known to be right.
 * A peer that is not installed is skipped.  Run: bench_capture [--quick].
 */
#define _GNU_SOURCE /* pthread_getattr_np */
#include <execinfo.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_common.h"

#ifdef RC_BENCH_HAVE_LIBUNWIND
#define UNW_LOCAL_ONLY
#include <libunwind.h>
#endif

enum {
    FRAMES = 16, /* captured per call */
    DEPTH = 20,  /* frames of the chain under the capture */
    RUNS = 5,    /* the median of these is printed */
};

typedef size_t (*capture_fn)(void **frames, size_t max);

/* ---- the frame-pointer walk ------------------------------------------------ */

typedef struct stack_bounds {
    uintptr_t lo, hi; /* [lo, hi): this thread's stack; hi == 0: unknown */
} stack_bounds;

/* pthread_getattr_np costs microseconds (for the main thread it reads
   /proc/self/maps), so a walker asks once per thread. */
static _Thread_local stack_bounds thread_stack;

static stack_bounds stack_of_thread(void)
{
    if (thread_stack.hi == 0) {
        pthread_attr_t attr;
        void *lo;
        size_t size;
        if (pthread_getattr_np(pthread_self(), &attr) == 0) {
            if (pthread_attr_getstack(&attr, &lo, &size) == 0)
                thread_stack = (stack_bounds){(uintptr_t)lo, (uintptr_t)lo + size};
            pthread_attr_destroy(&attr);
        }
    }
    return thread_stack;
}

/* Each frame: [fp] = the caller's fp, [fp + 8] = the return address.  The
   first address is the walker's own return address, a point in its caller,
   as with backtrace(). */
static __attribute__((noinline)) size_t capture_fp(void **frames, size_t max)
{
    stack_bounds b = stack_of_thread();
    const uintptr_t *fp = __builtin_frame_address(0);
    size_t n = 0;
    while (n < max) {
        uintptr_t at = (uintptr_t)fp;
        if (at < b.lo || at > b.hi - 2 * sizeof *fp || at % sizeof *fp)
            break; /* not a frame of this stack */
        uintptr_t next = fp[0], ret = fp[1];
        if (ret == 0)
            break;
        frames[n++] = (void *)ret;
        if (next <= at)
            break; /* frames only go up the stack: the chain ends here */
        fp = (const uintptr_t *)next;
    }
    return n;
}

/* ---- the peers --------------------------------------------------------------- */

static __attribute__((noinline)) size_t capture_backtrace(void **frames, size_t max)
{
    return (size_t)backtrace(frames, (int)max);
}

#ifdef RC_BENCH_HAVE_LIBUNWIND
static __attribute__((noinline)) size_t capture_libunwind(void **frames, size_t max)
{
    int n = unw_backtrace(frames, (int)max);
    return n > 0 ? (size_t)n : 0;
}
#endif

typedef struct method {
    const char *name;
    capture_fn capture;
    double ns[RUNS];         /* per capture, one per run */
    void *frames[FRAMES];    /* what the last capture saw */
    size_t depth;            /* how many of them */
} method;

static method methods[] = {
    {.name = "fp walk", .capture = capture_fp},
#ifdef RC_BENCH_HAVE_LIBUNWIND
    {.name = "libunwind", .capture = capture_libunwind},
#endif
    {.name = "backtrace", .capture = capture_backtrace},
};
enum { NMETHODS = sizeof methods / sizeof methods[0] };

/* ---- timing ------------------------------------------------------------------ */

typedef struct job {
    method *m;
    size_t iters; /* captures per run */
    uint64_t ns;  /* what they took */
} job;

static __attribute__((noinline)) void time_captures(job *j)
{
    uint64_t t0 = cpu_ns();
    for (size_t i = 0; i < j->iters; i++)
        j->m->depth = j->m->capture(j->m->frames, FRAMES);
    j->ns = cpu_ns() - t0;
}

/* depth frames of itself, then the timed captures. */
static __attribute__((noinline)) void descend(int depth, job *j)
{
    if (depth > 1)
        descend(depth - 1, j);
    else
        time_captures(j);
    __asm__ volatile("" ::: "memory"); /* work after the call: no tail call */
}

/* Doubles the count until one run takes min_ns, then times RUNS runs. */
static void measure(method *m, uint64_t min_ns)
{
    job j = {m, 16, 0};
    descend(DEPTH, &j); /* warm: backtrace() loads libgcc_s on first use */
    for (descend(DEPTH, &j); j.ns < min_ns; descend(DEPTH, &j))
        j.iters *= 2;
    for (int r = 0; r < RUNS; r++) {
        descend(DEPTH, &j);
        m->ns[r] = (double)j.ns / (double)j.iters;
    }
}

/* Same frames?  A peer may start a frame earlier (inside its own wrapper
   or unwinder): fp's first frame is looked up in its list, and from there
   the lists must agree for as long as both go. */
static int same_frames(const method *fp, const method *m)
{
    size_t k = 0;
    while (k < m->depth && m->frames[k] != fp->frames[0])
        k++;
    if (k == m->depth)
        return 0;
    for (size_t i = 0; i < fp->depth && k + i < m->depth; i++)
        if (fp->frames[i] != m->frames[k + i])
            return 0;
    return fp->depth == FRAMES;
}

int main(int argc, char **argv)
{
    int quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
    uint64_t min_ns = quick ? 1000000u : 50000000u; /* 1 ms or 50 ms a run */
#ifndef RC_BENCH_HAVE_LIBUNWIND
    puts("peer libunwind not found");
#endif
    printf("stack capture: %d frames at depth %d, ns per capture (median of %d runs)\n",
           FRAMES, DEPTH, RUNS);
    printf("%-10s %12s %12s\n", "method", "ns/capture", "x fp walk");
    int bad = 0;
    double base = 0;
    for (size_t i = 0; i < NMETHODS; i++) {
        method *m = &methods[i];
        measure(m, min_ns);
        double ns = median(m->ns, RUNS);
        if (i == 0)
            base = ns;
        printf("%-10s %12.1f %12.2f\n", m->name, ns, ns / base);
        if (!same_frames(&methods[0], m)) {
            printf("  %s: frames differ from the fp walk's\n", m->name);
            bad = 1;
        }
    }
    return bad;
}
