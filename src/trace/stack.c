/*
 * stack.c — capturing the calling thread's stack.
 *
 * Two walkers.  The frame-pointer walk follows the chain of saved frame
 * pointers ([fp] = caller's fp, [fp + 8] = return address, on x86-64 and
 * AArch64 alike): a handful of loads per frame, but it needs the traced
 * code to keep frame pointers (-fno-omit-frame-pointer).  libunwind reads
 * the DWARF call-frame information instead: no frame pointers needed,
 * several times slower (docs/TRACING.md has the measurements).
 *
 * The walk never reads outside the thread's stack: its bounds come from
 * pthread_getattr_np once per thread (a per-thread cache of a fact about
 * that thread, not shared state).  A frame that points outside, backwards,
 * or misaligned ends the walk: code built without frame pointers leaves
 * garbage in the register, and that is where stacks from it stop.
 */
#define _GNU_SOURCE
#include "trace.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#ifdef RCGC_HAVE_LIBUNWIND
#define UNW_LOCAL_ONLY
#include <libunwind.h>
#endif

static _Thread_local uintptr_t stack_lo, stack_hi;

void rct_stack_bounds(uintptr_t *lo, uintptr_t *hi)
{
    pthread_attr_t attr;
    void *addr;
    size_t size;
    *lo = *hi = 0;
    if (pthread_getattr_np(pthread_self(), &attr) != 0)
        return;
    if (pthread_attr_getstack(&attr, &addr, &size) == 0) {
        *lo = (uintptr_t)addr;
        *hi = (uintptr_t)addr + size;
    }
    pthread_attr_destroy(&attr);
}

__attribute__((noinline)) size_t rct_capture_fp(void **frames, size_t max, size_t skip)
{
    if (!stack_hi)
        rct_stack_bounds(&stack_lo, &stack_hi);
    uintptr_t fp = (uintptr_t)__builtin_frame_address(0);
    size_t n = 0;
    while (n < max) {
        if (fp < stack_lo || fp > stack_hi - 2 * sizeof(void *) || (fp & 7))
            break;
        const uintptr_t *f = (const uintptr_t *)fp;
        uintptr_t next = f[0], ret = f[1];
        if (!ret)
            break;
        if (skip)
            skip--;
        else
            frames[n++] = (void *)ret;
        if (next <= fp)
            break;
        fp = next;
    }
    return n;
}

__attribute__((noinline)) size_t rct_capture_unwind(void **frames, size_t max, size_t skip)
{
#ifdef RCGC_HAVE_LIBUNWIND
    void *buf[RCT_MAX_FRAMES + 32];
    size_t want = max + skip + 1;
    if (want > sizeof buf / sizeof *buf)
        want = sizeof buf / sizeof *buf;
    int got = unw_backtrace(buf, (int)want);
    /* unw_backtrace starts with its caller, this function: drop that entry
       so both walkers start at the return into our caller. */
    size_t first = 1 + skip, n = got > 0 ? (size_t)got : 0;
    if (n <= first)
        return 0;
    n -= first;
    if (n > max)
        n = max;
    memcpy(frames, buf + first, n * sizeof *frames);
    return n;
#else
    return rct_capture_fp(frames, max, skip);
#endif
}

rct_capture_fn rct_capture_named(const char *unwind)
{
    if (unwind && strcmp(unwind, "libunwind") == 0)
        return rct_capture_unwind;
    return rct_capture_fp;
}
