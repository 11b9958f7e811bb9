/*
 * stack.c — capturing the calling thread's stack.
 *
 * Three walkers.  The default follows each frame's call-frame information
 * (cfi.c gives a cached rule per return address; see there): whole stacks
 * through code built without frame pointers, as distributions build, at a
 * few loads per frame.  The frame-pointer walk follows the chain of saved
 * frame pointers ([fp] = caller's fp, [fp + 8] = return address, on
 * x86-64 and AArch64 alike): cheaper still, but it needs the traced code
 * to keep frame pointers (-fno-omit-frame-pointer).  libunwind reads the
 * same DWARF information as the default, several times slower
 * (docs/PERFORMANCE.md has the measurements); it stays for comparison.
 *
 * The walks never read outside the thread's stack: its bounds come from
 * pthread_getattr_np once per thread (a per-thread cache of a fact about
 * that thread, not shared state).  A frame that points outside, backwards,
 * or misaligned ends the walk: code built without frame pointers leaves
 * garbage in the register, and that is where the frame-pointer walk stops.
 */
#define _GNU_SOURCE
#include "trace.h"

#define LIKELY(x) __builtin_expect(!!(x), 1)

#include <pthread.h>
#include <stdbool.h>
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

/* The thread's stack as the walks see it: loads outside it end a walk. */
typedef struct stack_range {
    uintptr_t lo, span;       /* a word at a is inside if a - lo <= span */
} stack_range;

static stack_range this_stack(void)
{
    if (!stack_hi)
        rct_stack_bounds(&stack_lo, &stack_hi);
    if (stack_hi - stack_lo < sizeof(uintptr_t))
        return (stack_range){UINTPTR_MAX, 0}; /* unknown: nothing inside */
    return (stack_range){stack_lo, stack_hi - stack_lo - sizeof(uintptr_t)};
}

/* The word at a, if it lies inside the stack (one compare: an address
   below lo wraps around to a large difference). */
static inline bool stack_load(stack_range s, uintptr_t a, uintptr_t *v)
{
    if (a - s.lo > s.span)
        return false;
    *v = *(const uintptr_t *)a;
    return true;
}

/* One step from the frame (pc, sp, bp) to its caller's, by pc's rule.
   false: the outermost frame, or the rule leads outside the stack.  The
   common rules (CFA from rsp or rbp; rbp unchanged or saved at the CFA)
   take no switch. */
static inline bool cfi_step(stack_range s, rct_cfi_slot *cache, uintptr_t *pc, uintptr_t *sp,
                            uintptr_t *bp)
{
    rct_frame_rule r = rct_cfi_rule(cache, *pc - 1); /* inside the call, not after it */
    uintptr_t cfa, ra, caller_bp = *bp;
    if (LIKELY(r.cfa == RCT_CFA_RSP || r.cfa == RCT_CFA_RBP)) {
        cfa = (r.cfa == RCT_CFA_RSP ? *sp : *bp) + (intptr_t)r.cfa_off;
    } else if (r.cfa == RCT_CFA_FP) { /* no CFI: the frame pointer, if it looks like one */
        if (*bp < *sp)
            return false;
        cfa = *bp + 2 * sizeof(uintptr_t);
        r.rbp = RCT_RBP_AT_CFA;
        r.rbp_off = -2 * (int)sizeof(uintptr_t);
    } else if (r.cfa != RCT_CFA_AT_RBP || !stack_load(s, *bp + (intptr_t)r.cfa_off, &cfa)) {
        return false; /* the outermost frame, or outside the stack */
    }
    if (cfa <= *sp || !stack_load(s, cfa - sizeof(uintptr_t), &ra))
        return false;
    if (r.rbp != RCT_RBP_SAME &&
        !stack_load(s, (r.rbp == RCT_RBP_AT_CFA ? cfa : *bp) + r.rbp_off, &caller_bp))
        return false;
    *pc = ra;
    *sp = cfa;
    *bp = caller_bp;
    return true;
}

__attribute__((noinline)) size_t rct_capture_cfi(void **frames, size_t max, size_t skip)
{
    stack_range s = this_stack();
    /* This function keeps a frame pointer (it asks for its frame address):
       its return address, the caller's stack pointer just above it, and
       the caller's frame pointer saved at its base start the walk. */
    uintptr_t fp = (uintptr_t)__builtin_frame_address(0), pc, sp = fp + 2 * sizeof(uintptr_t),
              bp;
    if (!stack_load(s, fp + sizeof(uintptr_t), &pc) || !stack_load(s, fp, &bp))
        return 0;
    rct_cfi_slot *cache = atomic_load_explicit(&rct_cfi_cache, memory_order_acquire);
    if (!cache) { /* the first walk of the process: the cache is made now */
        rct_cfi_rule_slow(pc - 1);
        cache = atomic_load_explicit(&rct_cfi_cache, memory_order_acquire);
    }
    for (; skip; skip--)
        if (!pc || !cfi_step(s, cache, &pc, &sp, &bp))
            return 0;
    size_t n = 0;
    while (n < max && pc) {
        frames[n++] = (void *)pc;
        if (!cfi_step(s, cache, &pc, &sp, &bp))
            break;
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

rct_capture_fn rct_capture_default(void)
{
    const char *e = getenv("RCGC_UNWIND");
    if (e && strcmp(e, "libunwind") == 0)
        return rct_capture_unwind;
    if (e && strcmp(e, "fp") == 0)
        return rct_capture_fp;
    return rct_capture_cfi;
}
