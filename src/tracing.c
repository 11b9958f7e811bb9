/*
 * tracing.c — a heap's allocation tracing: the glue between the heap's
 * allocation paths and the trace engine (src/trace/).
 *
 * Calls the trace engine for capture, interning, the block table and
 * snapshots; its tables get their memory from the heap's page source, never
 * from the pools being traced.  alloc paths call in only while tracing
 * (h->hooks), so a heap that does not trace pays one test it already had.
 *
 * A recorded stack starts at the innermost frame outside rcgc: the walk
 * takes `slack` more frames than asked, and the leading frames that belong
 * to the library are dropped.  slack is the deepest run of library frames
 * seen so far (each frame walked costs a dependent load, so no margin): a
 * walk that ends up with fewer user frames than asked although the stack
 * goes on is done again deeper.  Whether a return address is the library's
 * is decided once per address (by the symbolizer) and cached.
 *
 * A loop's allocation sites repeat: the last walks are remembered whole
 * (library frames included) with the stack id they gave, two in each of a
 * few sets.  The id is a function of the walked frames alone (a frame's
 * library answer never changes, nor does an id while the trace lasts), so
 * a walk found there takes the id the long way would give: no library
 * test per frame, no hashing or interning.  The frame-pointer walk is not
 * even walked again: its remembered walks are logs of the frame records
 * they read (stack.c, rct_fp_log), in sets chosen by where the walk starts
 * and the call site that asked, and a log whose records all still hold
 * what they held is that walk (checking loads the records side by side;
 * walking loads them one after another).  The other walks are walked and
 * compared frame for frame, in sets chosen by their innermost frames.
 *
 * Sampling: with a mean of m bytes, the bytes allocated form a Poisson
 * process that samples about one byte in m; a block of s bytes is sampled
 * with probability p = 1 - exp(-s/m) and then counts s/p bytes, so sums over
 * samples are unbiased estimates of the true totals.
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime, sysconf */
#include "rc_internal.h"
#include "trace/trace.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#define NOINLINE __attribute__((noinline))
#define LIB_GUESS 1    /* library frames walked before any walk found more
                          (rci_trace_record's caller) */
#define LIB_MAX 32     /* library frames above the first user frame, at most */
#define RAW_MAX (RCT_MAX_FRAMES + LIB_MAX) /* frames a walk takes, at most */
#define RECENT_SETS 8  /* walks remembered: sets of two (a power of two) */
_Static_assert((RECENT_SETS & (RECENT_SETS - 1)) == 0, "RECENT_SETS is a power of two");
_Static_assert(RAW_MAX <= RCT_LOG_RECORDS, "a frame-pointer walk of RAW_MAX frames is logged");

/* A walk remembered: its frames and what they gave. */
typedef struct recent_walk {
    uint32_t n;               /* frames walked; 0: an empty slot */
    uint32_t id;              /* the stack interned from them */
    void *raw[RAW_MAX];       /* the frames, innermost first */
} recent_walk;

/* A frame-pointer walk remembered: its log and what it gave. */
typedef struct logged_walk {
    uint32_t id;              /* the stack interned from its frames */
    rct_fp_log log;           /* log.start 0: an empty slot */
} logged_walk;

typedef struct rci_trace {
    rct_pages pages;          /* the heap's page source */
    rct_stacks *stacks;
    rct_blocks *blocks;
    rct_capture_fn capture;
    rct_symbols *symbols;     /* made on first need */
    rct_ptrmap lib;           /* return address -> 1 + (is it rcgc's?) */
    size_t frames;            /* frames kept per stack */
    size_t current, peak;     /* traced bytes (estimates when sampling) */
    size_t slack;             /* library frames walked beyond t->frames */
    bool logs;                /* the walk is by frame pointers: remembered
                                 as logs */
    union {                   /* the last walks, the newer of a set first: */
        recent_walk frames[RECENT_SETS][2]; /* by their innermost frames */
        logged_walk logs[RECENT_SETS][2];   /* by start and call site */
    } recent;
    uint64_t rng;
    bool incomplete;          /* a trace was lost for memory */
    uint64_t interval_ns;     /* timeline: automatic sampling period; 0 off */
    uint64_t last_sample_ns;
    unsigned since_check;     /* records since the clock was last read */
} rci_trace;

/* ---- Memory for the tables: the heap's page source ------------------------ */

static void *trace_pages_alloc(void *ctx, size_t bytes)
{
    rc_heap *h = ctx;
    void *p = rci_page_alloc(h, bytes, RCI_PAGE);
    if (p)
        h->side_bytes += bytes;
    return p;
}

static void trace_pages_free(void *ctx, void *p, size_t bytes)
{
    rc_heap *h = ctx;
    h->side_bytes -= bytes;
    rci_page_free(h, p, bytes);
}

/* ---- Which frames are the library's ---------------------------------------- */

static rct_symbols *symbols_of(rci_trace *t)
{
    if (!t->symbols)
        t->symbols = rct_symbols_new();
    return t->symbols;
}

static bool in_library(rci_trace *t, void *frame)
{
    uintptr_t *known = rct_ptrmap_find(&t->lib, (uintptr_t)frame);
    if (known)
        return *known == 2;
    rct_symbols *sym = symbols_of(t);
    bool lib = sym && rct_symbols_in_library(sym, frame);
    uintptr_t *slot = rct_ptrmap_insert(&t->lib, (uintptr_t)frame, &t->pages);
    if (slot) /* else answer without caching */
        *slot = 1u + lib;
    return lib;
}

/* ---- Sampling ----------------------------------------------------------------- */

static void next_sample(rc_heap *h)
{
    h->sample_left = (int64_t)rct_sample_gap(&h->trace->rng, (double)h->sample_mean) + 1;
}

/* The bytes a sampled block of size bytes stands for; draws the next
   countdown (rci_trace_wants decided the block is sampled). */
static size_t sampled_weight(rc_heap *h, size_t size)
{
    next_sample(h);
    return (size_t)rct_sample_weight(size, (double)h->sample_mean);
}

/* ---- Timeline --------------------------------------------------------------
 * Samples live in a page-source vector on the heap (kept when tracing
 * stops, so a report can still plot them). */

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static size_t rss_bytes(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long size, resident = 0;
    if (!f)
        return 0;
    if (fscanf(f, "%lu %lu", &size, &resident) != 2)
        resident = 0;
    fclose(f);
    return (size_t)resident * (size_t)sysconf(_SC_PAGESIZE);
}

int rc_timeline_sample(rc_heap *h)
{
    rci_vec *v = &h->timeline;
    size_t per = sizeof(rc_mem_sample) / sizeof(void *);
    if (!rci_vec_reserve(h, v, v->len + per))
        return rci_fail(h, RC_ENOMEM);
    rc_mem_sample *smp = (rc_mem_sample *)(v->items + v->len);
    smp->time_ns = now_ns();
    smp->traced_bytes = h->trace ? h->trace->current : 0;
    smp->heap_bytes = h->os_bytes;
    smp->rss_bytes = rss_bytes();
    v->len += per;
    if (h->trace)
        h->trace->last_sample_ns = smp->time_ns;
    return 0;
}

void rc_timeline_set_interval(rc_heap *h, unsigned ms)
{
    if (h->trace)
        h->trace->interval_ns = (uint64_t)ms * 1000000u;
}

size_t rc_timeline_get(const rc_heap *h, rc_mem_sample *out, size_t cap)
{
    size_t per = sizeof(rc_mem_sample) / sizeof(void *), n = h->timeline.len / per;
    if (n)
        memcpy(out, h->timeline.items, (n < cap ? n : cap) * sizeof *out);
    return n;
}

/* ---- Recording ---------------------------------------------------------------- */

/* What the walks keep per thread: the stack's bounds, the last walk. */
static _Thread_local rct_walker walker;

/* The library's frames leading the walk: the index of the first user frame. */
static size_t library_frames(rci_trace *t, void *const *raw, size_t n)
{
    size_t k = 0;
    while (k < n && in_library(t, raw[k]))
        k++;
    return k;
}

/* The id of a walk's frames (n of them, want asked for); RCT_NO_STACK
   when out of memory.  *again: the walk has fewer user frames than asked
   although the stack goes on, and slack was raised to walk it deeper
   (slack only grows: a walk with too few user frames has more library
   frames than slack). */
static uint32_t intern_walk(rci_trace *t, void *const *raw, size_t n, size_t want, bool *again)
{
    size_t k = library_frames(t, raw, n);
    *again = n - k < t->frames && n == want && t->slack < LIB_MAX;
    if (*again) {
        t->slack = k < LIB_MAX ? k : LIB_MAX;
        return RCT_NO_STACK;
    }
    size_t depth = n - k < t->frames ? n - k : t->frames;
    return rct_stacks_intern(t->stacks, raw + k, depth);
}

static unsigned set_of(uint64_t mix)
{
    return (unsigned)(mix >> (64 - __builtin_ctz(RECENT_SETS)));
}

/* ---- Walks by frame pointers: checked, not walked -------------------------- */

/* The walk from fp, the frame of the caller, not found among the recent
   ones: walked, its frames interned, its log remembered in set (the older
   of the set forgotten). */
static NOINLINE uint32_t stack_walked_by_log(rci_trace *t, logged_walk *set, uintptr_t fp)
{
    rct_fp_log log;
    void *raw[RAW_MAX];
    for (;;) {
        size_t want = t->frames + t->slack;
        size_t n = rct_walk_fp_logged(&walker, fp, raw, want, &log);
        bool again;
        uint32_t id = intern_walk(t, raw, n, want, &again);
        if (again)
            continue;
        if (id != RCT_NO_STACK) {
            size_t used = offsetof(rct_fp_log, rec);
            memcpy(&set[1], &set[0], offsetof(logged_walk, log) + used +
                                         set[0].log.records * sizeof *log.rec);
            set[0].id = id;
            memcpy(&set[0].log, &log, used + log.records * sizeof *log.rec);
        }
        return id;
    }
}

/* The stack of the calling thread by frame pointers, from this function's
   frame (or its caller's, inlined): site, the return address of the
   frame's function, chooses the set with where the walk starts (two sites
   at one depth need not share one). */
static inline uint32_t stack_by_log(rci_trace *t, uintptr_t site)
{
    uintptr_t fp = (uintptr_t)__builtin_frame_address(0);
    logged_walk *set = t->recent.logs[set_of((fp ^ site) * UINT64_C(0x9E3779B97F4A7C15))];
    size_t want = t->frames + t->slack;
    if (rct_fp_log_holds(&walker, &set[0].log, fp, want))
        return set[0].id;
    if (rct_fp_log_holds(&walker, &set[1].log, fp, want))
        return set[1].id;
    return stack_walked_by_log(t, set, fp);
}

/* ---- Other walks: walked, compared frame for frame ------------------------- */

/* The set of a walk among the recent ones: its three innermost frames
   tell a loop's sites apart (the first is often the library's entry, the
   same for every site), the rest need not. */
static recent_walk *recent_set(rci_trace *t, void *const *raw, size_t n)
{
    uint64_t f0 = n ? (uintptr_t)raw[0] : 0, f1 = n > 1 ? (uintptr_t)raw[1] : 0,
             f2 = n > 2 ? (uintptr_t)raw[2] : 0;
    uint64_t mix = (f0 ^ n) * UINT64_C(0x9E3779B97F4A7C15) + f1 * UINT64_C(0xC4CEB9FE1A85EC53) +
                   f2 * UINT64_C(0xFF51AFD7ED558CCD); /* three multiplies side by side */
    return t->recent.frames[set_of(mix)];
}

/* The same n frames as r.  Short walks compare word by word, with no
   early exit (memcmp's call cost as much as the compare); long ones
   through memcmp's vector loop. */
static bool walked_as(const recent_walk *r, void *const *raw, size_t n)
{
    if (r->n != n)
        return false;
    if (n > 8)
        return memcmp(r->raw, raw, n * sizeof *raw) == 0;
    uintptr_t diff = 0;
    for (size_t i = 0; i < n; i++)
        diff |= (uintptr_t)r->raw[i] ^ (uintptr_t)raw[i];
    return diff == 0;
}

/* Remember a walk in its set, the older one of the set forgotten. */
static void remember(recent_walk *set, void *const *raw, size_t n, uint32_t id)
{
    set[1].n = set[0].n;
    set[1].id = set[0].id;
    memcpy(set[1].raw, set[0].raw, set[0].n * sizeof *raw);
    set[0].n = (uint32_t)n;
    set[0].id = id;
    memcpy(set[0].raw, raw, n * sizeof *raw);
}

/* The stack of the calling thread by t->capture, interned.  The one call
   of the capture: every walk skips the same frames, so a site's walks
   compare equal.  Out of line, so the frames it skips are known: its own
   and rci_trace_record's (whose caller, always the library's, is the
   first frame walked, as in the walks by frame pointers). */
static NOINLINE uint32_t stack_by_frames(rci_trace *t)
{
    void *raw[RAW_MAX];
    for (;;) {
        size_t want = t->frames + t->slack;
        size_t n = t->capture(&walker, raw, want, 2);
        recent_walk *set = recent_set(t, raw, n);
        /* walked the same way: the long way accepted these frames then */
        if (n && walked_as(&set[0], raw, n))
            return set[0].id;
        if (n && walked_as(&set[1], raw, n))
            return set[1].id;
        bool again;
        uint32_t id = intern_walk(t, raw, n, want, &again);
        if (again)
            continue;
        if (id != RCT_NO_STACK)
            remember(set, raw, n, id);
        return id;
    }
}

void rci_trace_record(rc_heap *h, void *block, size_t size)
{
    rci_trace *t = h->trace;
    if (h->sample_mean)
        size = sampled_weight(h, size);
    uint32_t id = t->logs ? stack_by_log(t, (uintptr_t)__builtin_return_address(0))
                          : stack_by_frames(t);
    if (id == RCT_NO_STACK || rct_blocks_put(t->blocks, (uintptr_t)block, id, size) != 0) {
        t->incomplete = true;
        return;
    }
    rci_pool_of(block)->traced++;
    t->current += size;
    if (t->current > t->peak)
        t->peak = t->current;
    if (t->interval_ns && ++t->since_check >= 256) { /* the clock costs more */
        t->since_check = 0;
        if (now_ns() - t->last_sample_ns >= t->interval_ns)
            rc_timeline_sample(h);
    }
}

void rci_trace_forget(rc_heap *h, void *block)
{
    rci_trace *t = h->trace;
    rci_pool *pool = rci_pool_of(block);
    uint32_t stack;
    size_t size;
    if (!rct_blocks_take(t->blocks, (uintptr_t)block, &stack, &size))
        return;
    pool->traced--;
    t->current -= size;
}

void rci_trace_resize(rc_heap *h, void *block, size_t size)
{
    rci_trace *t = h->trace;
    uint32_t stack;
    size_t old;
    if (h->sample_mean || !rct_blocks_find(t->blocks, (uintptr_t)block, &stack, &old))
        return; /* a sampled weight stays what it was */
    if (rct_blocks_put(t->blocks, (uintptr_t)block, stack, size) != 0) {
        t->incomplete = true;
        return;
    }
    t->current = t->current - old + size;
    if (t->current > t->peak)
        t->peak = t->current;
}

/* ---- Starting and stopping -------------------------------------------------------- */

int rc_trace_start(rc_heap *h, int frames)
{
    if (frames < 1 || frames > RCT_MAX_FRAMES)
        return rci_fail(h, RC_EVALUE);
    if (h->trace)
        return 0;
    size_t self = (sizeof(rci_trace) + RCI_PAGE - 1) & ~(RCI_PAGE - 1);
    rci_trace *t = trace_pages_alloc(h, self);
    if (!t)
        return rci_fail(h, RC_ENOMEM);
    memset(t, 0, sizeof *t);
    t->pages = (rct_pages){trace_pages_alloc, trace_pages_free, h};
    t->stacks = rct_stacks_new(&t->pages);
    t->blocks = rct_blocks_new(&t->pages);
    if (!t->stacks || !t->blocks) {
        rct_stacks_free(t->stacks);
        rct_blocks_free(t->blocks);
        trace_pages_free(h, t, self);
        return rci_fail(h, RC_ENOMEM);
    }
    t->capture = rct_capture_named(getenv("RCGC_UNWIND"));
    t->logs = t->capture == rct_capture_fp;
    t->frames = (size_t)frames;
    t->slack = LIB_GUESS;
    /* heaps traced one after another must not sample alike */
    t->rng = (now_ns() ^ (uint64_t)(uintptr_t)t ^ ((uint64_t)getpid() << 32)) |
             UINT64_C(1);
    h->sample_mean = 0;
    h->trace = t;
    h->hooks |= RCI_HOOK_TRACE;
    return 0;
}

/* Forget every trace: pools' traced counts go back to zero with them. */
static void untrace_one(uintptr_t addr, uint32_t stack, size_t size, void *ctx)
{
    (void)stack;
    (void)size;
    (void)ctx;
    rci_pool_of((void *)addr)->traced = 0;
}

void rc_trace_stop(rc_heap *h)
{
    rci_trace *t = h->trace;
    if (!t)
        return;
    h->hooks &= (uint8_t)~RCI_HOOK_TRACE;
    h->trace = NULL;
    h->sample_mean = 0;
    rct_blocks_foreach(t->blocks, untrace_one, NULL);
    rct_blocks_free(t->blocks);
    rct_stacks_free(t->stacks);
    rct_ptrmap_free(&t->lib, &t->pages);
    if (t->symbols)
        rct_symbols_unref(t->symbols);
    trace_pages_free(h, t, (sizeof(rci_trace) + RCI_PAGE - 1) & ~(RCI_PAGE - 1));
}

void rci_trace_init(rc_heap *h)
{
    const char *env = getenv("RCGC_TRACE");
    int frames = h->cfg.trace_frames;
    if (env && *env)
        frames = atoi(env);
    if (frames > 0)
        rc_trace_start(h, frames > RCT_MAX_FRAMES ? RCT_MAX_FRAMES : frames);
}

void rci_trace_release(rc_heap *h)
{
    rc_trace_stop(h);
    rci_vec_free(h, &h->timeline);
}

/* The site of a traced block: its stack's innermost frame, symbolized.
   false when the block was not traced (or the heap does not trace). */
bool rci_trace_site(rc_heap *h, const void *block, uint32_t *stack, rct_symbol *site)
{
    rci_trace *t = h->trace;
    size_t size;
    void *const *frames;
    memset(site, 0, sizeof *site);
    *stack = RCT_NO_STACK;
    if (!t || !rci_pool_of(block)->traced ||
        !rct_blocks_find(t->blocks, (uintptr_t)block, stack, &size))
        return false;
    if (rct_stacks_get(t->stacks, *stack, &frames) && symbols_of(t))
        rct_symbols_lookup(t->symbols, frames[0], site);
    return true;
}

int rc_trace_is_tracing(const rc_heap *h)
{
    return h->trace != NULL;
}

void rc_trace_memory(const rc_heap *h, size_t *current, size_t *peak)
{
    const rci_trace *t = h->trace;
    if (current)
        *current = t ? t->current : 0;
    if (peak)
        *peak = t ? t->peak : 0;
}

void rc_trace_reset_peak(rc_heap *h)
{
    if (h->trace)
        h->trace->peak = h->trace->current;
}

void rc_trace_set_sampling(rc_heap *h, size_t mean_bytes)
{
    if (!h->trace)
        return;
    h->sample_mean = mean_bytes;
    if (mean_bytes)
        next_sample(h);
}

int rc_trace_incomplete(const rc_heap *h)
{
    return h->trace && h->trace->incomplete;
}

rc_snapshot *rc_trace_snapshot(rc_heap *h)
{
    rci_trace *t = h->trace;
    if (!t)
        return rci_fail_null(h, RC_EVALUE);
    rc_snapshot *s = rct_snapshot_build(t->blocks, t->stacks, symbols_of(t));
    return s ? s : rci_fail_null(h, RC_ENOMEM);
}
