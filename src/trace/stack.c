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
 * that thread, not shared state).  That cache and the last CFI walk are
 * the caller's rct_walker, one per thread: the library keeps it in a
 * thread-local, the preload shim in its thread state (the shim has no TLS
 * of its own, see tools/preload/shim.h).  Nothing here is thread-local.  A frame that points outside, backwards,
 * or misaligned ends the walk: code built without frame pointers leaves
 * garbage in the register, and that is where the frame-pointer walk stops.
 * So does a return address with the top bit set: never user space (x86-64,
 * AArch64 Linux), and the capture format's mark of a Python frame.
 */
#define _GNU_SOURCE
#include "trace.h"

#define LIKELY(x) __builtin_expect(!!(x), 1)
#define UNLIKELY(x) __builtin_expect(!!(x), 0)
#define NOINLINE __attribute__((noinline))

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#ifdef RCGC_HAVE_LIBUNWIND
#define UNW_LOCAL_ONLY
#include <libunwind.h>
rct_backtrace_fn rct_unwind_backtrace = unw_backtrace;
#else
rct_backtrace_fn rct_unwind_backtrace; /* the preload shim's, once it has loaded libunwind */
#endif

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

/* The frame-pointer walk from the record at fp, the first skip frames
   left out; with a log, every record read goes to it, in the order read
   (*records of them).  Inlined in both uses: the plain walk pays nothing
   for the log. */
static inline size_t walk_fp(uintptr_t lo, uintptr_t hi, uintptr_t fp, void **frames,
                             size_t max, size_t skip, rct_record *log, uint32_t *records)
{
    size_t n = 0;
    uint32_t read = 0;
    while (n < max) {
        if (fp < lo || fp > hi - 2 * sizeof(void *) || (fp & 7))
            break;
        const uintptr_t *f = (const uintptr_t *)fp;
        uintptr_t next = f[0], ret = f[1];
        if (log)
            log[read++] = (rct_record){next, ret};
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
    if (records)
        *records = read;
    return n;
}

__attribute__((noinline)) size_t rct_capture_fp(rct_walker *w, void **frames, size_t max,
                                                size_t skip)
{
    if (!w->stack_hi)
        rct_stack_bounds(&w->stack_lo, &w->stack_hi);
    return walk_fp(w->stack_lo, w->stack_hi, (uintptr_t)__builtin_frame_address(0), frames,
                   max, skip, NULL, NULL);
}

size_t rct_walk_fp_logged(rct_walker *w, uintptr_t fp, void **frames, size_t max,
                          rct_fp_log *log)
{
    if (!w->stack_hi)
        rct_stack_bounds(&w->stack_lo, &w->stack_hi);
    size_t n = walk_fp(w->stack_lo, w->stack_hi, fp, frames, max, 0, log->rec, &log->records);
    log->start = fp;
    log->top = w->stack_hi;
    log->max = (uint32_t)max;
    return n;
}

/* Every record the log names holds what it held.  Its addresses lie
   between fp, the caller's frame, and the top of the same stack (the log
   was made from fp on a stack with that top, and a walk only goes up), so
   every load is of mapped stack memory above the caller's frame.  The
   same start, top, frames asked for and records read make the same walk:
   its checks of each address and value (bounds, order, a return address's
   top bit) come out as they did. */
bool rct_fp_log_holds(const rct_walker *w, const rct_fp_log *log, uintptr_t fp, size_t max)
{
    if (log->start != fp || log->top != w->stack_hi || log->max != max)
        return false;
    rct_record diff = {0, 0};
    uintptr_t at = fp;
    /* four instructions a record (load, xor, or, next address): unrolled,
       the loop's own count and branch do not add half as much again */
#pragma GCC unroll 8
    for (const rct_record *r = log->rec, *end = r + log->records; r < end; r++) {
        rct_record now;
        memcpy(&now, (const void *)at, sizeof now);
        diff |= now ^ *r;
        at = (*r)[0]; /* from the log: no wait for the load above */
    }
    return (diff[0] | diff[1]) == 0;
}

/* A frame as the CFI walk sees it: where it returns to, its stack
   pointer, its rbp. */
typedef struct frame_state {
    uintptr_t pc, sp, bp;
} frame_state;

/* Loads inside the stack.  A walk checks its first frame's stack pointer
   against the stack's bottom once; every step then moves it up, at least
   past the return address, so a load at or above the frame's stack
   pointer only needs checking against the top (each word from there to
   the top is mapped: the thread's own stack above its stack pointer). */
static inline bool in_frame(uintptr_t sp, uintptr_t top, uintptr_t a)
{
    return a >= sp && a <= top - sizeof(uintptr_t);
}

static inline uintptr_t word_at(uintptr_t a)
{
    return *(const uintptr_t *)a;
}

/* The kinds of rule a step takes without a switch (cfi.c makes the rules
   from rsp safe to follow unchecked, and a frame-pointer frame's own rule
   RCT_CFA_FP). */
#define KIND(cfa, rbp) ((unsigned)(cfa) | (unsigned)(rbp) << 8)
#define KIND_RSP KIND(RCT_CFA_RSP, RCT_RBP_SAME)
#define KIND_RSP_SAVED KIND(RCT_CFA_RSP, RCT_RBP_AT_CFA)
#define KIND_FP KIND(RCT_CFA_FP, RCT_RBP_SAME)

/* The rest of the rules (and a rule not cached yet): the CFA and the
   caller's rbp (*bp), every load checked. */
static inline bool step_other(uintptr_t top, uint64_t w, uintptr_t ra, uintptr_t sp,
                              uintptr_t *bp, uintptr_t *cfa_out, uintptr_t *bp_at)
{
    rct_frame_rule r;
    memcpy(&r, &w, sizeof r);
    if (!w) /* not cached (yet) */
        r = rct_cfi_rule_slow(ra);
    uintptr_t cfa;
    switch (r.cfa) {
    case RCT_CFA_RSP: cfa = sp + (intptr_t)r.cfa_off; break;
    case RCT_CFA_RBP: cfa = *bp + (intptr_t)r.cfa_off; break;
    case RCT_CFA_FP:
        cfa = *bp + 2 * sizeof(uintptr_t);
        r.rbp = RCT_RBP_AT_CFA;
        r.rbp_off = -2 * (int)sizeof(uintptr_t);
        break;
    case RCT_CFA_AT_RBP:
        if (!in_frame(sp, top, *bp + (intptr_t)r.cfa_off))
            return false;
        cfa = word_at(*bp + (intptr_t)r.cfa_off);
        break;
    default: return false; /* the outermost frame */
    }
    if (cfa < sp + sizeof(uintptr_t) || cfa > top)
        return false;
    if (r.rbp != RCT_RBP_SAME) {
        uintptr_t at = (r.rbp == RCT_RBP_AT_CFA ? cfa : *bp) + (intptr_t)r.rbp_off;
        if (!in_frame(sp, top, at))
            return false;
        *bp_at = at;
        *bp = word_at(at);
    }
    *cfa_out = cfa;
    return true;
}

/* One step from frame f to its caller's, by f's rule (its first or second
   slot in cache, which is never NULL; else the slow way); *bp_at: where the
   caller's rbp was read (0: rbp unchanged).  false: the outermost frame,
   or the rule leads outside the stack.  A rule from rsp (most frames of
   code without frame pointers) costs a probe, an add, one check and two
   loads at most; a frame pointer's, a probe, two checks and two loads. */
static inline bool cfi_step(uintptr_t top, const rct_cfi_slot *cache, frame_state *f,
                            uintptr_t *bp_at)
{
    uintptr_t ra = f->pc, sp = f->sp, bp = f->bp, cfa;
    /* The slot's byte offset straight from the hash (rct_cfi_index's slot
       times 16): no shift and add to address it. */
    _Static_assert(sizeof *cache == 16, "a slot is 16 bytes");
    const size_t mask = (((size_t)1 << RCT_CFI_CACHE_BITS) - 1) * sizeof *cache;
    size_t at = (size_t)((ra * UINT64_C(0x9E3779B97F4A7C15)) >> (60 - RCT_CFI_CACHE_BITS)) & mask;
    const rct_cfi_slot *c = (const rct_cfi_slot *)((const char *)cache + at);
    uint64_t w = atomic_load_explicit(&c->rule, memory_order_acquire);
    if (UNLIKELY(atomic_load_explicit(&c->ra, memory_order_relaxed) != ra)) {
        /* Taken by another: where probing put it, most often the next one
           (a return address walked on every event that met another in its
           first slot cost 40 instructions an event the slow way). */
        c = (const rct_cfi_slot *)((const char *)cache + ((at + sizeof *cache) & mask));
        w = atomic_load_explicit(&c->rule, memory_order_acquire);
        if (atomic_load_explicit(&c->ra, memory_order_relaxed) != ra)
            w = 0;
    }
    rct_frame_rule r;
    memcpy(&r, &w, sizeof r);
    *bp_at = 0;
    unsigned kind = KIND(r.cfa, r.rbp); /* tested in the order of their frequency */
    if (LIKELY(kind == KIND_RSP)) {
        cfa = sp + (intptr_t)r.cfa_off;
        if (cfa > top)
            return false;
    } else if (kind == KIND_FP) {
        if (bp < sp || bp > top - 2 * sizeof(uintptr_t))
            return false;
        cfa = bp + 2 * sizeof(uintptr_t);
        *bp_at = bp;
        bp = word_at(bp);
    } else if (kind == KIND_RSP_SAVED) {
        cfa = sp + (intptr_t)r.cfa_off;
        if (cfa > top)
            return false;
        *bp_at = cfa + (intptr_t)r.rbp_off;
        bp = word_at(*bp_at);
    } else if (!step_other(top, w, ra, sp, &bp, &cfa, bp_at)) {
        return false;
    }
    uintptr_t caller = word_at(cfa - sizeof(uintptr_t));
    if (caller - 1 >= (uintptr_t)INTPTR_MAX) /* 0: the end; the top bit: never user space */
        return false;
    *f = (frame_state){caller, cfa, bp};
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
 * returned and others were called in their place) makes it walk on.
 *
 * The walk is kept outermost frame first: the frames a new walk shares
 * stay where they are, and only its new inner frames are stored, after
 * them.  It holds the innermost frames the walk wanted (a deeper stack's
 * outermost frames are dropped); `whole` says its first frame is the
 * outermost, else a shallower walk later goes on from there. */

/* Its types, memo_frame and walk_memo, are in trace.h (the caller's
   rct_walker holds one). */
typedef rct_memo_frame memo_frame;
typedef rct_walk_memo walk_memo;
#define MEMO_FRAMES (RCT_MEMO_FRAMES)

/* Looking for the junction costs a few instructions a frame, and keeping
   the walk a few more: a thread whose walks take less than half their
   frames from the last one (every stack unlike the one before) keeps and
   looks once in LOOK_EVERY walks only. */
#define REUSE_MIN 8
#define LOOK_EVERY 64

/* The walk from frame f, nothing remembered. */
static size_t walk_plain(uintptr_t top, rct_cfi_slot *cache, frame_state from, void **frames,
                         size_t max)
{
    frame_state f = from; /* a local: kept in registers (an argument stays in memory) */
    uintptr_t bp_at;
    void **out = frames, **end = frames + max; /* (an index and max: one register more,
                                                  and frames spilled) */
    while (out < end) {
        *out++ = (void *)f.pc;
        if (!cfi_step(top, cache, &f, &bp_at))
            break;
    }
    return (size_t)(out - frames);
}

/* The frames of the last walk from its frame k outward are as they were:
   every return address and saved rbp the walk read above frame k holds
   the same value.  Their return addresses go to out[0, k] as they are
   checked, frame k's first (a second pass cost 6 instructions a frame). */
static bool outer_unchanged(const memo_frame *w, size_t k, void **out)
{
    out[0] = (void *)w[k].pc;
    for (size_t i = 0; i < k; i++) {
        if (*(const uintptr_t *)(w[i].sp - sizeof(uintptr_t)) != w[i].pc)
            return false;
        if (w[i + 1].bp_at && *(const uintptr_t *)w[i + 1].bp_at != w[i].bp)
            return false;
        out[k - i] = (void *)w[i].pc;
    }
    return true;
}

/* The last walk's frames outward of its first, when it was cut short and
   this walk wants more: walked on, and put before them.  want: the frames
   wanted in all. */
static void walk_outward(uintptr_t top, rct_cfi_slot *cache, walk_memo *m, size_t want)
{
    memo_frame *first = &m->f[0], *more = m->fresh; /* innermost first */
    frame_state f = {first->pc, first->sp, first->bp};
    uintptr_t bp_at = 0;
    size_t k = 0;
    bool ended = false;
    while (m->n + k < want) {
        if (!cfi_step(top, cache, &f, &bp_at)) {
            ended = true;
            break;
        }
        (k ? &more[k - 1] : first)->bp_at = bp_at;
        more[k++] = (memo_frame){f.pc, f.sp, f.bp, 0};
    }
    memmove(&m->f[k], &m->f[0], m->n * sizeof *m->f);
    for (size_t i = 0; i < k; i++)
        m->f[i] = more[k - 1 - i];
    m->n += k;
    m->whole = ended;
}

/* The walk of rct_capture_cfi with the thread's last walk (memo).  The
   new frames go to frames as they are walked, the kept ones after them as
   they are checked: no second pass over the whole walk. */
/* Whether this walk keeps itself for the next (false: the memo is
   dropped), and whether it looks for the last one (*look). */
static inline bool remember_now(walk_memo *m, bool *look)
{
    m->walks++;
    *look = m->reuse >= REUSE_MIN || m->walks % LOOK_EVERY == 0;
    if (!*look && (m->walks + 1) % LOOK_EVERY != 0) { /* not kept: no use looking next */
        m->n = 0;
        return false;
    }
    return true;
}

static NOINLINE size_t walk_remembered(walk_memo *m, bool look, uintptr_t top,
                                       rct_cfi_slot *cache, frame_state from, void **frames,
                                       size_t max)
{
    frame_state f = from; /* a local: kept in registers */
    size_t want = max < MEMO_FRAMES ? max : MEMO_FRAMES;
    memo_frame *last = m->f, *fresh = m->fresh;
    void *spill[MEMO_FRAMES];
    size_t k = look ? m->n : 0; /* last[k - 1]: the last walk's frame to meet next */
    uintptr_t junction_sp = k ? last[k - 1].sp : UINTPTR_MAX;
    size_t nn = 0;
    bool ended = false, joined = false;
    /* New frames, until one is the last walk's. */
    while (nn < want) {
        if (UNLIKELY(f.sp >= junction_sp)) {
            while (k && last[k - 1].sp < f.sp)
                k--;
            if (k && last[k - 1].sp == f.sp && last[k - 1].pc == f.pc && last[k - 1].bp == f.bp) {
                size_t room = want - nn; /* more kept frames than that: the outermost are
                                            dropped (below), so they go to spill first */
                if (outer_unchanged(last, k - 1, k <= room ? frames + nn : spill)) {
                    joined = true;
                    if (k > room)
                        memcpy(frames + nn, spill, room * sizeof *frames);
                    break;
                }
                k = 0; /* the outer frames changed: walk them */
            }
            junction_sp = k ? last[k - 1].sp : UINTPTR_MAX;
        }
        frames[nn] = (void *)f.pc;
        fresh[nn] = (memo_frame){f.pc, f.sp, f.bp, 0};
        ended = !cfi_step(top, cache, &f, &fresh[nn].bp_at);
        nn++;
        if (ended)
            break;
    }
    /* The new walk, outermost first: the last walk's frames up to the
       junction (k of them), then the new ones. */
    size_t kept = joined ? k : 0;
    if (kept + nn > want) { /* deeper than wanted: drop the outermost */
        size_t drop = kept + nn - want;
        memmove(&last[0], &last[drop], (kept - drop) * sizeof *last);
        kept -= drop;
        m->whole = false;
    } else if (!joined) {
        m->whole = ended;
    }
    for (size_t i = 0; i < nn; i++)
        last[kept + i] = fresh[nn - 1 - i];
    m->n = kept + nn;
    if (joined && !m->whole && m->n < want) {
        walk_outward(top, cache, m, want); /* where the last walk stopped, this one goes on */
        for (size_t i = kept + nn; i < m->n; i++)
            frames[i] = (void *)m->f[m->n - 1 - i].pc;
    }
    if (look)
        m->reuse = (3 * m->reuse + (m->n ? (unsigned)(16 * kept / m->n) : 0) + 3) / 4;
    return m->n;
}

/* The start of a CFI walk from the function whose frame address is fp (it
   keeps a frame pointer): its return address, the caller's stack pointer
   just above it and the caller's frame pointer saved at its base give the
   first frame, *f; the skip frames above it are the callers' own, built
   with frame pointers, and are stepped over through them, as their
   call-frame information would (the CFA at rbp + 16, the return address
   and the caller's rbp below it), with no rule looked up (two such steps
   were about 90 instructions of every event).  1: walk on from *f with
   *cache; 0: no frames; -1: no rule cache (no memory for it): walk the
   frame pointers instead.  The stack's bounds are asked for at a thread's
   first walk; the one check against its bottom is here. */
static inline __attribute__((always_inline)) int walk_start(rct_walker *w, uintptr_t fp,
                                                            size_t max, size_t skip,
                                                            frame_state *f, rct_cfi_slot **cache)
{
    if (!w->stack_hi)
        rct_stack_bounds(&w->stack_lo, &w->stack_hi);
    uintptr_t top = w->stack_hi;
    if (!max || fp < w->stack_lo || !in_frame(fp, top, fp + sizeof(uintptr_t)))
        return 0;
    *f = (frame_state){word_at(fp + sizeof(uintptr_t)), fp + 2 * sizeof(uintptr_t), word_at(fp)};
    *cache = atomic_load_explicit(&rct_cfi_cache, memory_order_acquire);
    if (!*cache) { /* the first walk of the process: the cache is made now */
        rct_cfi_rule_slow(f->pc);
        *cache = atomic_load_explicit(&rct_cfi_cache, memory_order_acquire);
        if (!*cache)
            return -1;
    }
    for (size_t i = 0; i < skip; i++) {
        if (f->pc - 1 >= (uintptr_t)INTPTR_MAX || f->bp < f->sp ||
            f->bp > top - 2 * sizeof(uintptr_t))
            return 0;
        *f = (frame_state){word_at(f->bp + sizeof(uintptr_t)), f->bp + 2 * sizeof(uintptr_t),
                           word_at(f->bp)};
    }
    return f->pc - 1 >= (uintptr_t)INTPTR_MAX ? 0 : 1; /* 0, or not a return address */
}

__attribute__((noinline)) size_t rct_capture_cfi(rct_walker *w, void **frames, size_t max,
                                                 size_t skip)
{
    frame_state f;
    rct_cfi_slot *cache;
    int start = walk_start(w, (uintptr_t)__builtin_frame_address(0), max, skip, &f, &cache);
    if (start <= 0) /* no cache: frame pointers (from our caller) */
        return start < 0 ? rct_capture_fp(w, frames, max, skip + 1) : 0;
    uintptr_t top = w->stack_hi;
    if (w->memo_busy) /* a signal handler's walk, inside one */
        return walk_plain(top, cache, f, frames, max);
    w->memo_busy = 1;
    atomic_signal_fence(memory_order_seq_cst);
    bool look;
    size_t got = 0;
    bool remember = remember_now(&w->memo, &look);
    if (remember)
        got = walk_remembered(&w->memo, look, top, cache, f, frames, max);
    atomic_signal_fence(memory_order_seq_cst);
    w->memo_busy = 0;
    /* Not remembered: walked here, the plain walk inlined (a call and the
       memo's frame cost about 70 instructions a walk). */
    return remember ? got : walk_plain(top, cache, f, frames, max);
}

/* ---- A walk split at a function ------------------------------------------------------
 * The preload shim's Python stacks: every event of a Python program is
 * made under an evaluation loop whose callers (the interpreter's start,
 * the C functions that called back into Python) stay while the loop runs.
 * The walk goes plainly up to the loop's frame (a few frames from the
 * allocator), and the frames outward of it are the last such walk's when
 * the loop's caller is where it was and every return address and saved
 * rbp the last walk read outward of it holds what it held (the same
 * argument as the remembered walk's, above, with the junction known in
 * advance: no search for it, and nothing stored for the inner frames).
 * The caller learns from m->gen whether they are the same as last time. */

/* The frames kept in m up to frame use - 1 are as they were (frame 0's
   state is compared by the caller): their stack words xor'ed with what
   they held, or'ed together, two a turn, no branch a word (callgrind on
   Debian's python3: 20 outer frames, 8 instructions a frame with a test
   and a branch for each word, under 5 so). */
static inline bool split_unchanged(const rct_split_memo *m, size_t use)
{
    uintptr_t diff = 0;
    size_t n = m->checks[use], j = 0;
    for (; j + 2 <= n; j += 2)
        diff |= (word_at(m->check[j].at) ^ m->check[j].want) |
                (word_at(m->check[j + 1].at) ^ m->check[j + 1].want);
    if (j < n)
        diff |= word_at(m->check[j].at) ^ m->check[j].want;
    return !diff;
}

/* The frames from f outward (bp_at: where the step to f read its rbp),
   kept in m (at most cap of them, at most RCT_MEMO_FRAMES). */
static void split_walk_outer(uintptr_t top, rct_cfi_slot *cache, frame_state f, uintptr_t bp_at,
                             rct_split_memo *m, size_t cap)
{
    size_t n = 0, c = 0;
    bool ended = false;
    m->sp = f.sp;
    m->bp = f.bp;
    m->checks[0] = 0;
    while (n < cap) {
        if (n) { /* (frame 0's state is compared, not its words) */
            m->check[c].at = f.sp - sizeof(uintptr_t);
            m->check[c++].want = f.pc;
            if (bp_at) {
                m->check[c].at = bp_at;
                m->check[c++].want = f.bp;
            }
        }
        m->pc[n++] = (void *)f.pc;
        m->checks[n] = (uint32_t)c;
        if (!cfi_step(top, cache, &f, &bp_at)) {
            ended = true;
            break;
        }
    }
    m->n = n;
    m->whole = ended;
    m->gen++;
}

__attribute__((noinline)) size_t rct_capture_cfi_split(rct_walker *w, void **frames, size_t max,
                                                       size_t skip, uintptr_t lo, uintptr_t size,
                                                       rct_split_memo *m, size_t *inner)
{
    *inner = 0;
    frame_state f;
    rct_cfi_slot *cache;
    int start = walk_start(w, (uintptr_t)__builtin_frame_address(0), max, skip, &f, &cache);
    if (start <= 0)
        return start < 0 ? rct_capture_fp(w, frames, max, skip + 1) : 0;
    uintptr_t top = w->stack_hi;
    void **out = frames, **end = frames + max;
    uintptr_t bp_at;
    bool split;
    do { /* the inner frames, through the split frame */
        *out++ = (void *)f.pc;
        split = f.pc - 1 - lo < size;
        if (!cfi_step(top, cache, &f, &bp_at))
            return (size_t)(out - frames);
    } while (!split && out < end);
    if (!split)
        return max;
    size_t k = (size_t)(out - frames), room = max - k;
    *inner = k;
    if (!room)
        return k;
    if (!(m->n && f.pc == (uintptr_t)m->pc[0] && f.sp == m->sp && f.bp == m->bp &&
          (m->whole || m->n >= room) && split_unchanged(m, m->n < room ? m->n : room)))
        split_walk_outer(top, cache, f, bp_at, m, max - 1 < RCT_MEMO_FRAMES ? max - 1 : RCT_MEMO_FRAMES);
    return k + (m->n < room ? m->n : room); /* (the outer frames are m->pc's) */
}

__attribute__((noinline)) size_t rct_capture_unwind(rct_walker *w, void **frames, size_t max,
                                                    size_t skip)
{
    rct_backtrace_fn unw = rct_unwind_backtrace;
    if (!unw)
        return rct_capture_fp(w, frames, max, skip);
    void *buf[RCT_MAX_FRAMES + 32];
    size_t want = max + skip + 1;
    if (want > sizeof buf / sizeof *buf)
        want = sizeof buf / sizeof *buf;
    int got = unw(buf, (int)want);
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
}

rct_capture_fn rct_capture_named(const char *unwind)
{
    if (unwind && strcmp(unwind, "libunwind") == 0)
        return rct_capture_unwind;
    if (unwind && strcmp(unwind, "fp") == 0)
        return rct_capture_fp;
    return rct_capture_cfi;
}
