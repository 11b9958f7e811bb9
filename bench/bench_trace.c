/*
 * bench_trace.c — what allocation tracing costs: one allocation-heavy loop,
 * 20 C frames deep, timed untraced and traced several ways, with CPython's
 * tracemalloc on the same loop shape (trace_peer.py) in the same run.
 *
 * The loop.  bottom() sits under a chain of 19 noinline functions
 * (chain_1 .. chain_19, built with -fno-omit-frame-pointer, each doing work
 * after its call so no call becomes a jump): 20 frames.  Each iteration
 * makes a "record" (a user type with a reference slot and 16 bytes of data,
 * tracked by the collector) and an rc_mem_alloc(h, 64) block, touches both,
 * frees the block and drops the record, except that every 16th pair
 * survives in a ring of 4096 (freeing the pair it replaces).  So: two
 * allocations and two frees per iteration, and a steady live set of 4096
 * records and 4096 blocks, which also keeps their pools from emptying.
 *
 * The modes, each on a fresh heap made outside the timed region:
 *   untraced        tracing off (the baseline of every ratio);
 *   fp16            rc_trace_start(h, 16) with RCGC_UNWIND=fp: every block,
 *                   16 frames, walked through frame pointers.  The capture
 *                   function is read from the environment by rc_trace_start
 *                   (src/trace/stack.c, rct_capture_named), so the bench
 *                   sets the variable around that one call, in-process;
 *   cfi16           the same with RCGC_UNWIND unset: the default walk, by
 *                   call-frame information;
 *   unwind16        the same with RCGC_UNWIND=libunwind;
 *   fp1             rc_trace_start(h, 1), frame pointers (for comparison
 *                   with tracemalloc=1);
 *   sampled         fp16 + rc_trace_set_sampling(h, 512 KiB).
 * After rc_trace_start a warm-up of 200,000 iterations (--quick: 1,000;
 * the full one also fills the ring) runs untimed: the timed part is the steady state, with
 * every stack already interned.  The one-time costs (rc_trace_start, the
 * first traced allocation, which opens the symbolizer) are printed apart.
 *
 * CPython: trace_peer.py in a fresh python3 per timed run, without tracing,
 * with -X tracemalloc=1 and with -X tracemalloc=25 (its stacks are 23 frames
 * deep, so 25 records all of them).
 *
 * Also printed: the untraced fast paths (rc_mem_alloc(64) + rc_mem_free,
 * rc_new + rc_decref) per pair, tracing off and on; what the trace tables
 * cost per live traced block; how close a sampled estimate of live bytes
 * comes; and a check that every traced mode recorded the expected stack
 * (bottom, chain_19, chain_18, ...) — a wrong stack exits with status 1.
 *
 * Runs are interleaved (every rcgc mode, then every CPython mode, then
 * again) 5 times (--quick: 3, and CPython once); medians are printed.
 * Times are the thread's CPU time (CLOCK_THREAD_CPUTIME_ID, and
 * time.thread_time_ns in CPython), so time spent preempted on a busy
 * machine does not count.
 *
 * Usage: [BENCH_TRACE_ITERS=N] bench_trace [--quick] [MODE...]
 *   BENCH_TRACE_ITERS: iterations per timed run (bench/trace_instructions.sh
 *   counts instructions at two sizes);
 *   --quick: tiny sizes, only proves it runs;
 *   MODE: untraced fp16 cfi16 unwind16 fp1 sampled cpython micro — run (and
 *   profile) some of them only, e.g. `perf record -g bench_trace fp16`.
 */
#define _GNU_SOURCE
#include <gnu/libc-version.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_common.h"
#include "rcgc.h"

#ifndef RC_BENCH_PEER
#define RC_BENCH_PEER "trace_peer.py"
#endif

#define NOINLINE __attribute__((noinline))

enum {
    DEPTH = 20,         /* frames of the loop: chain_1 .. chain_19, bottom */
    FRAMES = 16,        /* frames per stack in the exact modes */
    RING = 4096,        /* surviving (record, block) pairs */
    KEEP_EVERY = 16,    /* one pair in KEEP_EVERY survives */
    BLOCK = 64,         /* bytes of the raw block per iteration */
    MAX_RUNS = 5,
    SAMPLE_MEAN = 512 * 1024,
};

/* ------------------------------------------------------------------------
 * Sizes of one bench run
 */
typedef struct bench_sizes {
    size_t iters;       /* loop iterations per timed run */
    size_t warm;        /* untimed iterations before them (full: they fill
                           the ring) */
    size_t py_iters;    /* the same in CPython */
    size_t micro;       /* pairs per fast-path run */
    size_t mem_blocks;  /* live blocks for the memory and sampling checks */
    int runs;           /* timed runs; the median is reported */
    int py_runs;        /* the same for CPython (its tracemalloc=25 start-up
                           alone takes a third of a second) */
} bench_sizes;

static const bench_sizes full_sizes = {2000000, 200000, 100000, 10000000,
                                       400000, MAX_RUNS, MAX_RUNS};
static const bench_sizes quick_sizes = {10000, 1000, 1000, 50000, 20000, 3, 1};

/* ------------------------------------------------------------------------
 * Harness helpers (the rest are in bench_common.h)
 */
static rc_heap *heap_open(void)
{
    rc_heap *h = rc_heap_new(NULL);
    if (!h)
        die("rc_heap_new failed");
    return h;
}

/* ------------------------------------------------------------------------
 * The workload
 */
typedef struct record {
    void *next;      /* a reference slot (always NULL here) */
    uint64_t id;
    double value;
} record;

static void record_traverse(void *self, rc_visit_fn visit, void *ctx)
{
    visit(&((record *)self)->next, ctx);
}

static const rc_type record_type = {.name = "record", .size = sizeof(record),
                                    .traverse = record_traverse};

typedef struct work {
    rc_heap *h;
    size_t iters;          /* iterations of the next descent */
    size_t done;           /* iterations so far (picks the survivors) */
    uint64_t check;        /* touches every block, so none is optimized out */
    void *ring[RING];      /* the surviving records */
    void *blocks[RING];    /* the surviving raw blocks */
} work;

static NOINLINE void bottom(work *w)
{
    rc_heap *h = w->h;
    for (size_t i = w->done, end = w->done + w->iters; i < end; i++) {
        record *r = rc_new(h, &record_type);
        unsigned char *b = rc_mem_alloc(h, BLOCK);
        if (!r || !b)
            die("out of memory at iteration %zu", i);
        r->id = i;
        b[0] = (unsigned char)i;
        w->check += b[0] + r->id;
        if (i % KEEP_EVERY == 0) { /* survivors replace the oldest ones */
            size_t k = i / KEEP_EVERY % RING;
            rc_decref(w->ring[k]);
            rc_mem_free(h, w->blocks[k]);
            w->ring[k] = r;
            w->blocks[k] = b;
        } else {
            rc_decref(r);
            rc_mem_free(h, b);
        }
    }
    w->done += w->iters;
}

/* The chain above bottom().  The volatile store after each call keeps the
   call a call (no tail jump), so every link is a real frame. */
static volatile unsigned chain_depth;
#define LINK(n, next)                                                          \
    static NOINLINE void chain_##n(work *w)                                    \
    {                                                                          \
        next(w);                                                               \
        chain_depth = n;                                                       \
    }
LINK(19, bottom)
LINK(18, chain_19) LINK(17, chain_18) LINK(16, chain_17) LINK(15, chain_16)
LINK(14, chain_15) LINK(13, chain_14) LINK(12, chain_13) LINK(11, chain_12)
LINK(10, chain_11) LINK(9, chain_10) LINK(8, chain_9) LINK(7, chain_8)
LINK(6, chain_7) LINK(5, chain_6) LINK(4, chain_5) LINK(3, chain_4)
LINK(2, chain_3) LINK(1, chain_2)
#undef LINK

static void descend(work *w, size_t iters)
{
    w->iters = iters;
    chain_1(w);
}

static void drop_ring(work *w)
{
    for (size_t k = 0; k < RING; k++) {
        rc_decref(w->ring[k]);
        rc_mem_free(w->h, w->blocks[k]);
        w->ring[k] = w->blocks[k] = NULL;
    }
}

/* ------------------------------------------------------------------------
 * rcgc's modes
 */
typedef struct mode {
    const char *tag;      /* selects it on the command line */
    const char *name;     /* row label */
    int frames;           /* 0: untraced */
    const char *unwind;   /* RCGC_UNWIND at rc_trace_start (NULL: unset, the
                             default walk: call-frame information) */
    size_t sample_mean;   /* 0: exact */
} mode;

static const mode modes[] = {
    {"untraced", "untraced", 0, NULL, 0},
    {"fp16", "exact, 16 frames, frame pointers", FRAMES, "fp", 0},
    {"cfi16", "exact, 16 frames, CFI (default)", FRAMES, NULL, 0},
    {"unwind16", "exact, 16 frames, libunwind", FRAMES, "libunwind", 0},
    {"fp1", "exact, 1 frame, frame pointers", 1, "fp", 0},
    {"sampled", "sampled 512 KiB, 16 frames, fp", FRAMES, "fp", SAMPLE_MEAN},
};
enum { M_UNTRACED, M_FP16, M_CFI16, M_UNWIND16, M_FP1, M_SAMPLED, N_MODE };
_Static_assert(sizeof modes / sizeof modes[0] == N_MODE, "one row per mode");

static void trace_on(rc_heap *h, const mode *m)
{
    if (m->unwind)
        setenv("RCGC_UNWIND", m->unwind, 1);
    int rc = rc_trace_start(h, m->frames);
    if (m->unwind)
        unsetenv("RCGC_UNWIND");
    if (rc != 0)
        die("rc_trace_start(%d) failed", m->frames);
    if (m->sample_mean)
        rc_trace_set_sampling(h, m->sample_mean);
}

/* Did the heap record the loop's stack: bottom, chain_19, chain_18, ...
   (as deep as asked)?  The verdict goes to stack_line[m]; 0 when right. */
static char stack_line[N_MODE][256];

static int check_stack(rc_heap *h, int mi)
{
    const mode *m = &modes[mi];
    rc_snapshot *s = rc_trace_snapshot(h);
    rc_trace_stack_stat st[4];
    int bad = 1;
    if (!s)
        die("rc_trace_snapshot failed");
    size_t n = rc_snapshot_by_stack(s, st, 4);
    if (n > 0) {
        bad = st[0].depth != (size_t)m->frames;
        char names[256] = "";
        size_t len = 0;
        for (size_t i = 0; i < st[0].depth; i++) {
            rc_trace_frame f;
            char want[32];
            if (i == 0)
                snprintf(want, sizeof want, "bottom");
            else
                snprintf(want, sizeof want, "chain_%zu", DEPTH - i);
            if (rc_snapshot_frame(s, st[0].id, i, &f) != 0 || !f.function ||
                strcmp(f.function, want) != 0)
                bad = 1;
            if (i < 3 && len < sizeof names)
                len += (size_t)snprintf(names + len, sizeof names - len, "%s%s",
                                        i ? " < " : "", f.function ? f.function : "?");
        }
        snprintf(stack_line[mi], sizeof stack_line[mi], "  %-34s %s%s (%zu frames)%s",
                 m->name, names, st[0].depth > 3 ? " < ..." : "", st[0].depth,
                 bad ? "  WRONG STACK" : "  ok");
    } else {
        snprintf(stack_line[mi], sizeof stack_line[mi], "  %-34s no stack  WRONG",
                 m->name);
    }
    rc_snapshot_free(s);
    return bad;
}

typedef struct mode_run {
    double ns_per_iter;
    double start_us;      /* rc_trace_start */
    double first_us;      /* the first traced iteration (opens the symbolizer) */
} mode_run;

static int stacks_bad;

/* One timed run of mode mi.  w is the caller's (malloc'd: a pointer the
   compiler cannot see through, so it does not clone the chain for it). */
static mode_run run_mode(work *w, int mi, const bench_sizes *z, int check)
{
    const mode *m = &modes[mi];
    mode_run r = {0, -1, -1};
    memset(w, 0, sizeof *w);
    w->h = heap_open();
    if (m->frames) {
        uint64_t t0 = cpu_ns();
        trace_on(w->h, m);
        uint64_t t1 = cpu_ns();
        descend(w, 1);
        uint64_t t2 = cpu_ns();
        r.start_us = (double)(t1 - t0) / 1e3;
        r.first_us = (double)(t2 - t1) / 1e3;
    }
    descend(w, z->warm);
    uint64_t t0 = cpu_ns();
    descend(w, z->iters);
    uint64_t t1 = cpu_ns();
    r.ns_per_iter = (double)(t1 - t0) / (double)z->iters;
    if (m->frames && !m->sample_mean) {
        size_t cur, want = (z->warm + z->iters) / KEEP_EVERY;
        want = (want < RING ? want : RING) * (sizeof(record) + BLOCK);
        rc_trace_memory(w->h, &cur, NULL);
        if (cur < want)
            die("%s: %zu bytes traced, want at least %zu", m->tag, cur, want);
    }
    if (check && m->frames && !m->sample_mean)
        stacks_bad |= check_stack(w->h, mi);
    drop_ring(w);
    rc_heap_free(w->h);
    return r;
}

/* ------------------------------------------------------------------------
 * CPython, through trace_peer.py
 */
enum { PY_OFF, PY_TM1, PY_TM25, N_PY };
static const char *const py_name[N_PY] = {"no tracing", "tracemalloc=1",
                                          "tracemalloc=25"};
static const char *const py_flag[N_PY] = {"", "-X tracemalloc=1 ",
                                          "-X tracemalloc=25 "};
/* trace_peer.py; its result lines are "key=value" fields. */
static bench_python cpython = {RC_BENCH_PEER, "trace_peer.py", "", 0,
                               RC_BENCH_PYTHON};

static double python_run(int p, const bench_sizes *z)
{
    char args[64], line[512];
    snprintf(args, sizeof args, "loop %zu", z->py_iters);
    if (python_call(&cpython, py_flag[p], args, line, sizeof line) != 0)
        die("%s trace_peer.py %s failed", py_flag[p], args);
    int want = p == PY_OFF ? 0 : p == PY_TM1 ? 1 : 25;
    if ((python_field(&cpython, line, "tracing") != 0) != (want != 0) ||
        (want && python_field(&cpython, line, "frames") != want))
        die("trace_peer.py: \"%s\" is not %s", line, py_name[p]);
    return python_field(&cpython, line, "ns") /
           python_field(&cpython, line, "iters");
}

/* ------------------------------------------------------------------------
 * Fast paths: rc_mem_alloc + rc_mem_free, rc_new + rc_decref
 */
enum { MICRO_MEM, MICRO_OBJ, N_MICRO };
static const char *const micro_name[N_MICRO] = {
    "rc_mem_alloc(64) + rc_mem_free", "rc_new(record) + rc_decref"};

static volatile uint64_t micro_sink; /* the loops' results stay observable */

static NOINLINE double micro_run(int which, size_t pairs, int traced)
{
    rc_heap *h = heap_open();
    if (traced && rc_trace_start(h, FRAMES) != 0)
        die("rc_trace_start failed");
    /* One live block of each kind keeps its pool from emptying at every
       free (an empty pool takes the allocator's slow path). */
    void *keep_block = rc_mem_alloc(h, BLOCK), *keep_obj = rc_new(h, &record_type);
    if (!keep_block || !keep_obj)
        die("out of memory");
    uint64_t sum = 0;
    for (int pass = 0; pass < 2; pass++) { /* the first pass warms up */
        size_t n = pass ? pairs : pairs / 10 + 1;
        uint64_t t0 = cpu_ns();
        if (which == MICRO_MEM)
            for (size_t i = 0; i < n; i++) {
                unsigned char *b = rc_mem_alloc(h, BLOCK);
                if (!b)
                    die("out of memory");
                b[0] = (unsigned char)i;
                sum += b[0];
                rc_mem_free(h, b);
            }
        else
            for (size_t i = 0; i < n; i++) {
                record *r = rc_new(h, &record_type);
                if (!r)
                    die("out of memory");
                r->id = i;
                sum += r->id;
                rc_decref(r);
            }
        uint64_t t1 = cpu_ns();
        if (pass) {
            rc_mem_free(h, keep_block);
            rc_decref(keep_obj);
            rc_heap_free(h);
            micro_sink = sum;
            return (double)(t1 - t0) / (double)n;
        }
    }
    return 0;
}

/* ------------------------------------------------------------------------
 * Memory of the trace tables, and the sampled estimate
 */
typedef struct mem_check {
    double bytes_per_block;  /* trace tables per live traced block */
    double estimate, truth;  /* sampled estimate of live bytes, and truth */
    size_t samples;          /* blocks the sampled trace holds */
} mem_check;

/* Heap bytes (from the page source) holding n live 64-byte blocks, traced
   with `frames` frames (0: not traced) and the sampling mean; *traced gets
   rc_trace_memory's current, *blocks the snapshot's block count. */
static size_t heap_with_blocks(size_t n, int frames, size_t mean, size_t *traced,
                               size_t *blocks)
{
    rc_heap *h = heap_open();
    void **b = malloc(n * sizeof *b);
    if (!b)
        die("out of memory");
    if (frames && rc_trace_start(h, frames) != 0)
        die("rc_trace_start failed");
    if (mean)
        rc_trace_set_sampling(h, mean);
    for (size_t i = 0; i < n; i++)
        if (!(b[i] = rc_mem_alloc(h, BLOCK)))
            die("out of memory");
    rc_alloc_stats st;
    rc_alloc_stats_get(h, &st);
    rc_trace_memory(h, traced, NULL);
    *blocks = 0;
    if (frames) {
        rc_snapshot *s = rc_trace_snapshot(h);
        if (!s)
            die("rc_trace_snapshot failed");
        rc_snapshot_total(s, blocks);
        rc_snapshot_free(s);
    }
    for (size_t i = 0; i < n; i++)
        rc_mem_free(h, b[i]);
    free(b);
    rc_heap_free(h);
    return st.os_bytes;
}

static mem_check check_memory(const bench_sizes *z)
{
    mem_check c;
    size_t traced, blocks, n = z->mem_blocks;
    size_t plain = heap_with_blocks(n, 0, 0, &traced, &blocks);
    size_t with = heap_with_blocks(n, FRAMES, 0, &traced, &blocks);
    c.bytes_per_block = ((double)with - (double)plain) / (double)n;
    heap_with_blocks(n, FRAMES, SAMPLE_MEAN, &traced, &c.samples);
    c.estimate = (double)traced;
    c.truth = (double)n * BLOCK;
    return c;
}

/* ------------------------------------------------------------------------
 * Report
 */
static void print_header(const bench_sizes *z, int quick)
{
    printf("bench_trace: allocation tracing overhead, rcgc vs CPython "
           "tracemalloc%s\n", quick ? BENCH_QUICK_NOTE : "");
    print_machine();
    printf("versions: rcgc %s, glibc %s; compiler %s\n", RC_VERSION,
           gnu_get_libc_version(), __VERSION__);
    python_start(&cpython, " ", "[-X tracemalloc=N] ");
    printf("loop:     %d frames deep (19 noinline links + bottom, frame pointers); "
           "per iteration\n          rc_new of a %zu B user type (tracked) + "
           "rc_mem_alloc(%d), both freed, except 1 pair in %d,\n          which "
           "survives in a ring of %d.  %zu iterations per run after %zu of "
           "warm-up;\n          CPython: same shape, %zu iterations (Item with 3 "
           "slots, bytes(%d))\n",
           DEPTH, sizeof(record), BLOCK, KEEP_EVERY, RING, z->iters, z->warm,
           z->py_iters, BLOCK);
    printf("goals:    exact, 16 frames (frame pointers) <= 2x untraced (issue 18); "
           "sampled (512 KiB) <= 1.05x\n\n");
}

typedef struct results {
    int ran[N_MODE], py_ran, micro_ran;
    double ns[N_MODE], start_us[N_MODE], first_us[N_MODE];
    double py_ns[N_PY];
    double micro[N_MICRO][2];  /* [tracing off, on] */
} results;

static void print_results(const results *r, const bench_sizes *z)
{
    double base = r->ran[M_UNTRACED] ? r->ns[M_UNTRACED] : 0, py_base = r->py_ns[PY_OFF];
    printf("ns per iteration (2 allocations + 2 frees), median of %d "
           "interleaved runs (CPython: %d);\nslowdown = mode / untraced of the same "
           "system\n", z->runs, z->py_runs);
    printf("  %-8s %-34s %10s %9s\n", "system", "mode", "ns/iter", "slowdown");
    for (int m = 0; m < N_MODE; m++) {
        if (!r->ran[m])
            continue;
        printf("  %-8s %-34s %10.1f", "rcgc", modes[m].name, r->ns[m]);
        if (base > 0)
            printf(" %8.2fx\n", r->ns[m] / base);
        else
            printf(" %9s\n", "-");
    }
    if (r->py_ran)
        for (int p = 0; p < N_PY; p++)
            printf("  %-8s %-34s %10.1f %8.2fx\n", "CPython", py_name[p], r->py_ns[p],
                   r->py_ns[p] / py_base);
    if (r->py_ran && base > 0 && r->ran[M_FP16] && r->ran[M_FP1])
        printf("  side by side: whole stacks  rcgc 16 frames %.2fx  vs  CPython "
               "tracemalloc=25 %.2fx\n                one frame     rcgc 1 frame   "
               "%.2fx  vs  CPython tracemalloc=1  %.2fx\n",
               r->ns[M_FP16] / base, r->py_ns[PY_TM25] / py_base, r->ns[M_FP1] / base,
               r->py_ns[PY_TM1] / py_base);
    int any = 0;
    for (int m = M_UNTRACED + 1; m < N_MODE; m++)
        if (r->ran[m])
            any = 1;
    if (any) {
        printf("  one-time costs (median): rc_trace_start, then the first traced "
               "iteration\n  (it opens the symbolizer: libdw reads /proc/self/maps "
               "and the modules' ELF)\n");
        for (int m = M_UNTRACED + 1; m < N_MODE; m++)
            if (r->ran[m])
                printf("    %-34s %8.1f us %10.1f us\n", modes[m].name, r->start_us[m],
                       r->first_us[m]);
    }
    printf("\n");
}

static void print_micro(const results *r, const bench_sizes *z)
{
    if (!r->micro_ran)
        return;
    printf("fast paths: ns per pair, %zu pairs, median of %d runs (shallow stack)\n",
           z->micro, z->runs);
    printf("  %-34s %12s %16s\n", "pair", "tracing off", "on (16 frames)");
    for (int i = 0; i < N_MICRO; i++)
        printf("  %-34s %12.2f %16.2f\n", micro_name[i], r->micro[i][0], r->micro[i][1]);
    printf("\n");
}

static void print_memory(const mem_check *c, size_t n)
{
    printf("trace memory: %zu live %d B blocks, one stack: the tables add %.1f B "
           "per traced block\n(heap os_bytes traced - untraced; the block table "
           "is 12 B a slot, 3/8..3/4 full)\n", n, BLOCK, c->bytes_per_block);
    printf("sampling (512 KiB): live %.2f MB estimated as %.2f MB (%+.1f%%) from "
           "%zu samples\n(expected relative error about 1/sqrt(samples) = "
           "%.0f%%)\n\n",
           c->truth / 1e6, c->estimate / 1e6,
           100.0 * (c->estimate - c->truth) / c->truth, c->samples,
           c->samples ? 100.0 / sqrt((double)c->samples) : 100.0);
}

static void print_goals(const results *r)
{
    printf("goals (rcgc slowdown vs limit)\n");
    const struct { int m; const char *what; double limit; } g[] = {
        {M_FP16, "exact, 16 frames, frame pointers <= 2x", 2.0},
        {M_SAMPLED, "sampled, mean 512 KiB <= 1.05x", 1.05},
    };
    for (size_t i = 0; i < sizeof g / sizeof g[0]; i++) {
        if (!r->ran[M_UNTRACED] || !r->ran[g[i].m]) {
            printf("  %-44s n/a (not run)\n", g[i].what);
            continue;
        }
        double v = r->ns[g[i].m] / r->ns[M_UNTRACED];
        printf("  %-44s %6.3f vs %5.2f  %s\n", g[i].what, v, g[i].limit,
               v <= g[i].limit ? "met" : "MISSED");
    }
}

/* ------------------------------------------------------------------------
 * Driver
 */
int main(int argc, char **argv)
{
    char **tags;
    int ntags;
    int quick = parse_args(argc, argv, &tags, &ntags);
    for (int i = 0; i < ntags; i++) {
        int ok = strcmp(tags[i], "cpython") == 0 || strcmp(tags[i], "micro") == 0;
        for (int m = 0; m < N_MODE; m++)
            ok |= strcmp(tags[i], modes[m].tag) == 0;
        if (!ok)
            return usage(argv[0], "MODE", "untraced fp16 cfi16 unwind16 fp1 sampled "
                         "cpython micro");
    }
    /* The untraced runs must be untraced, whatever the caller's environment. */
    unsetenv("RCGC_TRACE");
    unsetenv("RCGC_UNWIND");
    bench_sizes sizes = quick ? quick_sizes : full_sizes;
    const char *iters = getenv("BENCH_TRACE_ITERS"); /* trace_instructions.sh */
    if (iters && *iters)
        sizes.iters = strtoul(iters, NULL, 10);
    const bench_sizes *z = &sizes;
    print_header(z, quick);

    results r;
    memset(&r, 0, sizeof r);
    work *w = malloc(sizeof *w);
    if (!w)
        die("out of memory");
    double ns[N_MODE][MAX_RUNS], st[N_MODE][MAX_RUNS], fi[N_MODE][MAX_RUNS];
    double py[N_PY][MAX_RUNS], mic[N_MICRO][2][MAX_RUNS];
    for (int m = 0; m < N_MODE; m++)
        r.ran[m] = selected(modes[m].tag, tags, ntags);
    r.py_ran = cpython.ok && selected("cpython", tags, ntags);
    r.micro_ran = selected("micro", tags, ntags);
    fprintf(stderr, "bench_trace: %d interleaved runs\n", z->runs);
    for (int run = 0; run < z->runs; run++) {
        for (int m = 0; m < N_MODE; m++)
            if (r.ran[m]) {
                mode_run mr = run_mode(w, m, z, run == 0);
                ns[m][run] = mr.ns_per_iter;
                st[m][run] = mr.start_us;
                fi[m][run] = mr.first_us;
            }
        if (r.py_ran && run < z->py_runs)
            for (int p = 0; p < N_PY; p++)
                py[p][run] = python_run(p, z);
        if (r.micro_ran)
            for (int i = 0; i < N_MICRO; i++)
                for (int on = 0; on < 2; on++)
                    mic[i][on][run] = micro_run(i, z->micro, on);
    }
    for (int m = 0; m < N_MODE; m++)
        if (r.ran[m]) {
            r.ns[m] = median(ns[m], z->runs);
            r.start_us[m] = median(st[m], z->runs);
            r.first_us[m] = median(fi[m], z->runs);
        }
    for (int p = 0; r.py_ran && p < N_PY; p++)
        r.py_ns[p] = median(py[p], z->py_runs);
    for (int i = 0; r.micro_ran && i < N_MICRO; i++)
        for (int on = 0; on < 2; on++)
            r.micro[i][on] = median(mic[i][on], z->runs);

    printf("stacks recorded (largest stack of the first run, innermost first)\n");
    for (int m = 0; m < N_MODE; m++)
        if (stack_line[m][0])
            printf("%s\n", stack_line[m]);
    printf("\n");
    print_results(&r, z);
    print_micro(&r, z);
    if (ntags == 0) {
        mem_check c = check_memory(z);
        print_memory(&c, z->mem_blocks);
    }
    if (quick)
        printf("goals not judged in --quick mode\n");
    else
        print_goals(&r);
    free(w);
    return stacks_bad;
}
