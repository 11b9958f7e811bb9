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
 * So does a return address with the top bit set: never user space (x86-64,
 * AArch64 Linux), and the capture format's mark of a Python frame.
 */
#define _GNU_SOURCE
#include "trace.h"

#define LIKELY(x) __builtin_expect(!!(x), 1)
#define UNLIKELY(x) __builtin_expect(!!(x), 0)

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
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
        if (!ret || (intptr_t)ret < 0)
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

/* A frame as the CFI walk sees it: where it returns to, its stack
   pointer, its rbp. */
typedef struct frame_state {
    uintptr_t pc, sp, bp;
} frame_state;

/* One step from frame f to its caller's, by f's rule; *bp_at: where the
   caller's rbp was read (0: rbp unchanged).  false: the outermost frame, or
   the rule leads outside the stack.  The common rules (CFA from rsp or
   rbp; rbp unchanged or saved at the CFA) take no switch. */
static inline bool cfi_step(stack_range s, rct_cfi_slot *cache, frame_state *f,
                            uintptr_t *bp_at)
{
    rct_frame_rule r = rct_cfi_rule(cache, f->pc - 1); /* inside the call, not after it */
    uintptr_t cfa, ra, caller_bp = f->bp;
    if (LIKELY(r.cfa == RCT_CFA_RSP || r.cfa == RCT_CFA_RBP)) {
        cfa = (r.cfa == RCT_CFA_RSP ? f->sp : f->bp) + (intptr_t)r.cfa_off;
    } else if (r.cfa == RCT_CFA_FP) { /* no CFI: the frame pointer, if it looks like one */
        if (f->bp < f->sp)
            return false;
        cfa = f->bp + 2 * sizeof(uintptr_t);
        r.rbp = RCT_RBP_AT_CFA;
        r.rbp_off = -2 * (int)sizeof(uintptr_t);
    } else if (r.cfa != RCT_CFA_AT_RBP || !stack_load(s, f->bp + (intptr_t)r.cfa_off, &cfa)) {
        return false; /* the outermost frame, or outside the stack */
    }
    if (cfa <= f->sp || !stack_load(s, cfa - sizeof(uintptr_t), &ra) || (intptr_t)ra < 0)
        return false;
    *bp_at = 0;
    if (r.rbp != RCT_RBP_SAME) {
        *bp_at = (r.rbp == RCT_RBP_AT_CFA ? cfa : f->bp) + r.rbp_off;
        if (!stack_load(s, *bp_at, &caller_bp))
            return false;
    }
    *f = (frame_state){ra, cfa, caller_bp};
    return true;
}

/* ---- The last walk, remembered ---------------------------------------------------------
 * Consecutive allocations of a thread share most of their stack: the outer
 * frames (main, the event loop, the interpreter's frames) stay while the
 * inner ones change.  Each thread keeps its last CFI walk: every frame's
 * state and where its caller's rbp was read.  A new walk stops at the
 * first frame whose state (pc, sp, rbp) is one of the last walk's, and
 * checks, instead of walking, that each outer frame's return address and
 * saved rbp still hold what they held: the same state and the same rules
 * give the same addresses, so equal values there mean the walk would have
 * found exactly the same frames (each check is one load; a step is a rule
 * lookup and up to three loads).  A value that changed (the outer frames
 * returned and others were called in their place) makes it walk on. */

#define MEMO_FRAMES (RCT_MEMO_FRAMES)

/* One walk's frames, innermost first, field by field (the pcs are copied
   out in one piece, the stack pointers scanned for a junction). */
typedef struct walk {
    uintptr_t pc[MEMO_FRAMES], sp[MEMO_FRAMES], bp[MEMO_FRAMES];
    uintptr_t bp_at[MEMO_FRAMES]; /* where the step to the caller read rbp; 0: none */
} walk;

typedef struct walk_memo {
    walk w[2];                /* the last walk and the next, swapped */
    int last;                 /* which holds the last walk */
    size_t n;                 /* its frames */
    unsigned reuse;           /* sixteenths of a walk's frames taken from the
                                 last one, a running average */
    unsigned walks;           /* walks made (to look now and then) */
} walk_memo;

/* Looking for the junction costs a few instructions a frame, and keeping
   the walk a few more: a thread whose walks take less than half their
   frames from the last one (every stack unlike the one before) keeps and
   looks once in LOOK_EVERY walks only. */
#define REUSE_MIN 8
#define LOOK_EVERY 16

static _Thread_local walk_memo memo;
/* The memo is in use: a signal handler's walk that interrupts this one
   walks without it (it must not swap the walks under the one it
   interrupted). */
static _Thread_local volatile sig_atomic_t memo_busy;

static void walk_put(walk *w, size_t i, frame_state f)
{
    w->pc[i] = f.pc;
    w->sp[i] = f.sp;
    w->bp[i] = f.bp;
}

static void walk_copy(walk *to, size_t i, const walk *from, size_t j, size_t n)
{
    memcpy(&to->pc[i], &from->pc[j], n * sizeof(uintptr_t));
    memcpy(&to->sp[i], &from->sp[j], n * sizeof(uintptr_t));
    memcpy(&to->bp[i], &from->bp[j], n * sizeof(uintptr_t));
    memcpy(&to->bp_at[i], &from->bp_at[j], n * sizeof(uintptr_t));
}

/* The walk from frame f, nothing remembered. */
static size_t walk_plain(stack_range s, rct_cfi_slot *cache, frame_state f, void **frames,
                         size_t max, size_t skip)
{
    uintptr_t bp_at;
    for (; skip; skip--)
        if (!f.pc || !cfi_step(s, cache, &f, &bp_at))
            return 0;
    size_t n = 0;
    while (n < max && f.pc) {
        frames[n++] = (void *)f.pc;
        if (!cfi_step(s, cache, &f, &bp_at))
            break;
    }
    return n;
}

/* The frames from w's frame j outward are as they were: every return
   address and saved rbp the walk read above frame j holds the same value. */
static bool outer_unchanged(const walk *w, size_t j, size_t n)
{
    for (size_t k = j; k + 1 < n; k++) {
        if (*(const uintptr_t *)(w->sp[k + 1] - sizeof(uintptr_t)) != w->pc[k + 1])
            return false;
        if (w->bp_at[k] && *(const uintptr_t *)w->bp_at[k] != w->bp[k + 1])
            return false;
    }
    return true;
}

/* The walk of rct_capture_cfi with the thread's last walk (memo). */
static size_t walk_remembered(stack_range s, rct_cfi_slot *cache, frame_state f, void **frames,
                              size_t max, size_t skip)
{
    walk_memo *m = &memo;
    m->walks++;
    bool look = m->reuse >= REUSE_MIN || m->walks % LOOK_EVERY == 0;
    if (!look && (m->walks + 1) % LOOK_EVERY != 0) { /* not kept: no use looking next */
        m->n = 0;
        return walk_plain(s, cache, f, frames, max, skip);
    }
    size_t want = max + skip < MEMO_FRAMES ? max + skip : MEMO_FRAMES;
    walk *last = &m->w[m->last], *next = &m->w[!m->last];
    size_t n = 0, j = 0, last_n = m->n;
    uintptr_t junction_sp = look && last_n ? last->sp[0] : UINTPTR_MAX; /* the last
                                                                  walk's next frame */
    size_t taken = 0;
    bool ended = false, joined = false;
    /* New frames, until one is the last walk's. */
    while (n < want && !ended) {
        if (UNLIKELY(f.sp >= junction_sp)) {
            while (j < last_n && last->sp[j] < f.sp)
                j++;
            if (j < last_n && last->sp[j] == f.sp && last->pc[j] == f.pc &&
                last->bp[j] == f.bp) {
                if (outer_unchanged(last, j, last_n)) {
                    joined = true;
                    break;
                }
                j = last_n; /* the outer frames changed: walk them */
            }
            junction_sp = j < last_n ? last->sp[j] : UINTPTR_MAX;
        }
        walk_put(next, n, f);
        ended = !cfi_step(s, cache, &f, &next->bp_at[n]) || !f.pc;
        n++;
    }
    if (joined) { /* at the last walk's frame j */
        size_t outer = last_n - j < want - n ? last_n - j : want - n;
        if (n == j) { /* the same depth: only the inner frames are new */
            walk_copy(last, 0, next, 0, n);
        } else {
            walk_copy(next, n, last, j, outer);
            m->last = !m->last;
        }
        n += outer;
        taken = outer;
        walk *w = &m->w[m->last];
        /* Where the last walk stopped, this one may go on. */
        f = (frame_state){w->pc[n - 1], w->sp[n - 1], w->bp[n - 1]};
        while (n < want && cfi_step(s, cache, &f, &w->bp_at[n - 1]) && f.pc)
            walk_put(w, n++, f);
    } else {
        m->last = !m->last;
    }
    m->n = n;
    if (look)
        m->reuse = (3 * m->reuse + (n ? (unsigned)(16 * taken / n) : 0) + 3) / 4;
    size_t got = n > skip ? n - skip : 0;
    got = got < max ? got : max;
    memcpy(frames, &m->w[m->last].pc[skip], got * sizeof *frames);
    return got;
}

__attribute__((noinline)) size_t rct_capture_cfi(void **frames, size_t max, size_t skip)
{
    stack_range s = this_stack();
    /* This function keeps a frame pointer (it asks for its frame address):
       its return address, the caller's stack pointer just above it, and
       the caller's frame pointer saved at its base start the walk. */
    uintptr_t fp = (uintptr_t)__builtin_frame_address(0);
    frame_state f = {0, fp + 2 * sizeof(uintptr_t), 0};
    if (!stack_load(s, fp + sizeof(uintptr_t), &f.pc) || !stack_load(s, fp, &f.bp))
        return 0;
    rct_cfi_slot *cache = atomic_load_explicit(&rct_cfi_cache, memory_order_acquire);
    if (!cache) { /* the first walk of the process: the cache is made now */
        rct_cfi_rule_slow(f.pc - 1);
        cache = atomic_load_explicit(&rct_cfi_cache, memory_order_acquire);
    }
    if (memo_busy) /* a signal handler's walk, inside one */
        return walk_plain(s, cache, f, frames, max, skip);
    memo_busy = 1;
    atomic_signal_fence(memory_order_seq_cst);
    size_t got = walk_remembered(s, cache, f, frames, max, skip);
    atomic_signal_fence(memory_order_seq_cst);
    memo_busy = 0;
    return got;
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
    if (unwind && strcmp(unwind, "fp") == 0)
        return rct_capture_fp;
    return rct_capture_cfi;
}
