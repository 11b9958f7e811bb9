/*
 * bench_alloc.c — rcgc's raw-block allocator (rc_mem_alloc/rc_mem_free)
 * against glibc malloc, mimalloc and jemalloc, side by side in one process.
 *
 * What it measures (the workloads of the allocator issue):
 *  (1) churn: 10 million steps over 10,000 live blocks of random sizes
 *      16-256 B; each step frees the block in a random slot and allocates
 *      a new one there.  Reported in ns per step (one free + one alloc).
 *  (2) bulk: allocate 1,000,000 blocks of 32 B, then free them all in
 *      allocation order, in warm rounds on one default heap (the peers keep
 *      their process-wide state between rounds too).  Reported in ns per
 *      alloc+free pair.
 *  (2b) the same on a fresh default heap per run, made and freed outside
 *      the timed region: a variant, shown for information (a new heap's
 *      pages are faulted in once).
 *  (3) RSS: allocate 1 GiB (sum of requested sizes) of random 16-256 B
 *      blocks, then free all; separately, allocate 1 GiB again and free a
 *      scattered 90% (all but every 10th block).  Reported as resident MiB
 *      (/proc/self/statm) above the start of the process that ran it, right
 *      after the frees and again after IDLE_MS of quiet and IDLE_PAIRS
 *      alloc+free pairs (rcgc gives pages back once they sat unused for its
 *      purge delay, at its next call that reads the clock; mimalloc purges
 *      after its delay too).
 *  (4) RSS per block: 1,000,000 blocks of one size (16, 32, 64, 128,
 *      256 B) on a fresh heap, resident bytes gained per block (a child
 *      per allocator and size, as (3)); the goal is rcgc's block size
 *      within 2%.  (4b) does the same with 1,000,000 rcgc objects (rc_new
 *      of a leaf type) of payloads 8-120 B: a 16-byte payload should cost
 *      24 B resident (the 8 B header and the payload, nothing more).
 *
 * How:
 *  - One table of allocator vtables (`allocators`) drives every workload:
 *    each allocator runs the same code and pays the same indirect call.
 *    rcgc gets a fresh default rc_heap per run, made and freed outside the
 *    timed region, except in (2), which keeps one default heap for all runs.  No
 *    allocator is asked to trim inside a workload; the extra "after ..."
 *    rows of (3) show an explicit release separately.
 *  - Sizes and slots come from one seeded splitmix64 stream, the same for
 *    every allocator.  Every block gets one byte written, so it is touched.
 *  - Timed workloads run 5 times interleaved (A B C D A B C D ...) so drift
 *    hits all alike; the median is reported with rcgc/peer ratios, plus the
 *    median minor page faults of the timed region (a fresh heap pays its
 *    first touches; allocators that keep freed pages between runs do not).
 *    For rcgc the table adds its own counters per run (rc_alloc_stats_get,
 *    read around the whole run, setup included): page-source requests and
 *    bytes purged (given back with madvise, to be faulted in again).
 *  - RSS is process-wide, so every (allocator, scenario) pair runs in its
 *    own child, forked before the timed workloads have touched any
 *    allocator; the child sends its row through a pipe.  Bookkeeping arrays
 *    come from mmap, pre-faulted before the baseline is read, so only the
 *    allocator's own memory shows.
 *  - Debian's libmimalloc.so and libjemalloc.so both export malloc, and
 *    mimalloc even exports __libc_malloc/__libc_free, so once they are
 *    linked neither name reaches glibc.  glibc's allocator is therefore
 *    looked up inside libc.so.6 itself (dlopen RTLD_NOLOAD + dlsym of
 *    __libc_malloc, __libc_free, malloc_trim).  jemalloc is called as
 *    mallocx/dallocx, mimalloc as mi_malloc/mi_free.  The header line
 *    "served by" names the library behind every entry point used (dladdr),
 *    and a glibc block's chunk header is checked.
 *
 * Usage: bench_alloc [--quick | --time]
 *   --quick: tiny sizes, only proves it runs;
 *   --time:  the timed workloads (1), (2), (2b) only, full size (about 15 s
 *            less than a whole run: for re-measuring a change of a fast path).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench_common.h"
#include "rcgc.h"

#ifdef RC_BENCH_HAVE_GLIBC
#include <gnu/lib-names.h>
#include <gnu/libc-version.h>
#endif
#ifdef RC_BENCH_HAVE_MIMALLOC
#include <mimalloc.h>
#endif
#ifdef RC_BENCH_HAVE_JEMALLOC
#include <jemalloc/jemalloc.h>
#endif

/* ------------------------------------------------------------------------
 * Sizes of one bench run
 */
typedef struct bench_sizes {
    size_t churn_steps;  /* (1) free+alloc steps in the timed region */
    size_t churn_live;   /* (1) slots, each holding one live block */
    size_t bulk_blocks;  /* (2) blocks allocated, then freed */
    size_t rss_bytes;    /* (3) requested bytes per scenario */
    int runs;            /* timed repetitions; the median is reported */
} bench_sizes;

#define MAX_RUNS 5
static const bench_sizes full_sizes = {10000000, 10000, 1000000,
                                       (size_t)1 << 30, MAX_RUNS};
static const bench_sizes quick_sizes = {20000, 1000, 10000,
                                        (size_t)4 << 20, MAX_RUNS};

#define MIN_SIZE 16   /* random block sizes are MIN_SIZE..MAX_SIZE bytes */
#define MAX_SIZE 256
#define BULK_SIZE 32  /* (2) block size */
#define KEEP_EVERY 10 /* (3) scattered: every 10th block survives */
#define SEED 0x5eedc0de2024ULL
#define MIB (1024.0 * 1024.0)

/* ------------------------------------------------------------------------
 * Harness helpers (the rest are in bench_common.h): nothing here
 * allocates from an allocator under test.
 */
typedef void (*any_fn)(void); /* some function, for dlsym and dladdr */

static uint64_t splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

/* Map 32 random bits onto [0, n) without division (Lemire). */
static size_t below(uint64_t bits32, size_t n)
{
    return (size_t)((bits32 * (uint64_t)n) >> 32);
}

static size_t size_from(uint64_t bits32)
{
    return MIN_SIZE + below(bits32, MAX_SIZE - MIN_SIZE + 1);
}

static size_t random_size(uint64_t *rng)
{
    return size_from(splitmix64(rng) >> 32);
}

/* Pre-faulted bookkeeping memory straight from the kernel. */
static void *harness_map(size_t bytes)
{
    void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
    if (p == MAP_FAILED)
        die("mmap of %zu bytes for bookkeeping failed", bytes);
    return p;
}

/* Resident set of this process in MiB: the second field of statm. */
static double rss_mib(void)
{
    char buf[256], *p;
    if (!read_text("/proc/self/statm", buf, sizeof buf))
        die("cannot read /proc/self/statm");
    strtoull(buf, &p, 10);
    return (double)strtoull(p, NULL, 10) * (double)sysconf(_SC_PAGESIZE) / MIB;
}

/* ------------------------------------------------------------------------
 * The allocators, as one table of vtables
 */
/* An allocator's own counters, read between runs (rcgc only). */
typedef struct alloc_counts {
    double page_requests;  /* requests to the page source */
    double purged_mib;     /* MiB given back with purge (madvise) */
} alloc_counts;

typedef struct allocator {
    const char *name;
    void *(*open)(void);               /* state of one run (rcgc: a default
                                          heap); NULL: the allocator has none */
    void (*close)(void *st);           /* end the run, reclaim what is left */
    void *(*alloc)(void *st, size_t n);
    void (*free)(void *st, void *p);
    void (*release)(void *st);         /* give free memory back to the OS */
    const char *release_row;           /* label of the row after release */
    alloc_counts (*counts)(void *st);  /* NULL: no counters to show */
} allocator;

static void *rcgc_open(void) { return rc_heap_new(NULL); }

static alloc_counts rcgc_counts(void *st)
{
    rc_alloc_stats s;
    rc_alloc_stats_get(st, &s);
    return (alloc_counts){(double)s.page_requests,
                          (double)s.purged_bytes / MIB};
}

static void rcgc_close(void *st) { rc_heap_free(st); }
static void *rcgc_alloc(void *st, size_t n) { return rc_mem_alloc(st, n); }
static void rcgc_free(void *st, void *p) { rc_mem_free(st, p); }
static void rcgc_release(void *st) { (void)rc_heap_trim(st); }

#ifdef RC_BENCH_HAVE_GLIBC
/* glibc's allocator, taken from libc.so.6 itself by glibc_resolve(). */
static struct {
    void *(*malloc)(size_t n);  /* __libc_malloc */
    void (*free)(void *p);      /* __libc_free */
    int (*trim)(size_t pad);    /* malloc_trim */
} glibc;

/* dlsym in libc's own scope, so preloaded or linked overrides are skipped
   (memcpy: ISO C has no cast from void * to a function pointer). */
static any_fn libc_symbol(void *libc, const char *name)
{
    void *p = dlsym(libc, name);
    any_fn f;
    if (!p)
        die("%s not found in %s", name, LIBC_SO);
    memcpy(&f, &p, sizeof f);
    return f;
}

static void glibc_resolve(void)
{
    void *libc = dlopen(LIBC_SO, RTLD_LAZY | RTLD_NOLOAD);
    if (!libc)
        die("cannot find the loaded %s", LIBC_SO);
    glibc.malloc = (void *(*)(size_t))libc_symbol(libc, "__libc_malloc");
    glibc.free = (void (*)(void *))libc_symbol(libc, "__libc_free");
    glibc.trim = (int (*)(size_t))libc_symbol(libc, "malloc_trim");
}

static void *glibc_alloc(void *st, size_t n) { (void)st; return glibc.malloc(n); }
static void glibc_free(void *st, void *p) { (void)st; glibc.free(p); }
static void glibc_release(void *st) { (void)st; (void)glibc.trim(0); }
#endif

#ifdef RC_BENCH_HAVE_MIMALLOC
static void *mimalloc_alloc(void *st, size_t n) { (void)st; return mi_malloc(n); }
static void mimalloc_free(void *st, void *p) { (void)st; mi_free(p); }
static void mimalloc_release(void *st) { (void)st; mi_collect(true); }
#endif

#ifdef RC_BENCH_HAVE_JEMALLOC
#define JE_STR(x) JE_STR2(x)
#define JE_STR2(x) #x
#define JE_PURGE "arena." JE_STR(MALLCTL_ARENAS_ALL) ".purge"
static void *jemalloc_alloc(void *st, size_t n) { (void)st; return mallocx(n, 0); }
static void jemalloc_free(void *st, void *p) { (void)st; dallocx(p, 0); }
static void jemalloc_release(void *st)
{
    (void)st;
    if (mallctl(JE_PURGE, NULL, NULL, NULL, 0) != 0)
        die("mallctl(\"%s\") failed", JE_PURGE);
}
#endif

static const allocator allocators[] = {
    {"rcgc", rcgc_open, rcgc_close, rcgc_alloc, rcgc_free, rcgc_release,
     "rcgc after rc_heap_trim", rcgc_counts},
#ifdef RC_BENCH_HAVE_GLIBC
    {"glibc", NULL, NULL, glibc_alloc, glibc_free, glibc_release,
     "glibc after malloc_trim(0)", NULL},
#endif
#ifdef RC_BENCH_HAVE_MIMALLOC
    {"mimalloc", NULL, NULL, mimalloc_alloc, mimalloc_free,
     mimalloc_release, "mimalloc after mi_collect(true)", NULL},
#endif
#ifdef RC_BENCH_HAVE_JEMALLOC
    {"jemalloc", NULL, NULL, jemalloc_alloc, jemalloc_free,
     jemalloc_release, "jemalloc after " JE_PURGE, NULL},
#endif
};
#define N_ALLOC (sizeof allocators / sizeof allocators[0])

static const char *const missing_peers[] = {
#ifndef RC_BENCH_HAVE_GLIBC
    "glibc",
#endif
#ifndef RC_BENCH_HAVE_MIMALLOC
    "mimalloc",
#endif
#ifndef RC_BENCH_HAVE_JEMALLOC
    "jemalloc",
#endif
    NULL};

/* Index of the allocator called name, or -1 when it was not built in. */
static int allocator_index(const char *name)
{
    for (size_t i = 0; i < N_ALLOC; i++)
        if (strcmp(allocators[i].name, name) == 0)
            return (int)i;
    return -1;
}

/* Start a run: the allocator's state, or NULL when it keeps none. */
static void *run_open(const allocator *a)
{
    void *st = a->open ? a->open() : NULL;
    if (a->open && !st)
        die("%s: cannot open a heap", a->name);
    return st;
}

static void run_close(const allocator *a, void *st)
{
    if (a->close)
        a->close(st);
}

/* Allocate n bytes and write one byte into them; a failure ends the bench. */
static char *must_alloc(const allocator *a, void *st, size_t n)
{
    char *p = a->alloc(st, n);
    if (!p)
        die("%s: allocation of %zu bytes failed", a->name, n);
    p[0] = (char)n;
    return p;
}

static void free_all(const allocator *a, void *st, char **blk, size_t n)
{
    for (size_t i = 0; i < n; i++)
        a->free(st, blk[i]);
}

/* ------------------------------------------------------------------------
 * Timed workloads (1) and (2)
 */
typedef struct sample {
    double ns;      /* ns per op (sample_begin: the clock at the start) */
    double faults;  /* minor faults in the region (begin: the count) */
} sample;

static sample sample_begin(void)
{
    return (sample){(double)now_ns(), (double)minor_faults()};
}

/* Close the region opened by b; the time is divided over ops. */
static sample sample_end(sample b, size_t ops)
{
    return (sample){((double)now_ns() - b.ns) / (double)ops,
                    (double)minor_faults() - b.faults};
}

/* (1): same stream of (slot, size) pairs for every allocator. */
static sample work_churn(const allocator *a, void *st, const bench_sizes *z,
                         char **slot)
{
    uint64_t rng = SEED;
    for (size_t i = 0; i < z->churn_live; i++)
        slot[i] = must_alloc(a, st, random_size(&rng));
    sample s = sample_begin();
    for (size_t i = 0; i < z->churn_steps; i++) {
        uint64_t r = splitmix64(&rng); /* high half: slot, low half: size */
        char **p = &slot[below(r >> 32, z->churn_live)];
        a->free(st, *p);
        *p = must_alloc(a, st, size_from(r & 0xffffffffu));
    }
    s = sample_end(s, z->churn_steps);
    free_all(a, st, slot, z->churn_live);
    return s;
}

/* (2): fill, then empty, in allocation order. */
static sample work_bulk(const allocator *a, void *st, const bench_sizes *z,
                        char **slot)
{
    sample s = sample_begin();
    for (size_t i = 0; i < z->bulk_blocks; i++)
        slot[i] = must_alloc(a, st, BULK_SIZE);
    free_all(a, st, slot, z->bulk_blocks);
    return sample_end(s, z->bulk_blocks);
}

typedef struct workload {
    const char *name;     /* row label, at most 22 characters */
    sample (*run)(const allocator *a, void *st, const bench_sizes *z,
                  char **slot);
    int reuse;            /* one state per allocator for all runs */
    const char *variant;  /* NULL: a goal; else why it is shown */
} workload;

static const workload workloads[] = {
    {"(1) churn 16-256 B", work_churn, 0, NULL},
    {"(2) 32 B fill+free", work_bulk, 1, NULL},
    {"(2b) 32 B, fresh heap", work_bulk, 0,
     "(2b) 32 B fill+free on a fresh default heap per run: a variant of (2), "
     "not a goal;\n     a new heap faults its pages in once"},
};
#define N_WORK (sizeof workloads / sizeof workloads[0])

typedef struct timing {
    double ns[N_ALLOC];            /* median ns per op, by allocator */
    double faults[N_ALLOC];        /* median minor faults per run */
    alloc_counts counts[N_ALLOC];  /* medians of the allocator's counters */
} timing;

static alloc_counts counts_of(const allocator *a, void *st)
{
    return a->counts ? a->counts(st) : (alloc_counts){0, 0};
}

/* One run of w on a, on st when the workload reuses one state, else on a
   fresh one.  *c gets the change in the allocator's counters. */
static sample time_once(const workload *w, const allocator *a, void *st,
                        const bench_sizes *z, char **slot, alloc_counts *c)
{
    void *run_st = w->reuse ? st : run_open(a);
    alloc_counts before = counts_of(a, run_st);
    sample s = w->run(a, run_st, z, slot);
    alloc_counts after = counts_of(a, run_st);
    *c = (alloc_counts){after.page_requests - before.page_requests,
                        after.purged_mib - before.purged_mib};
    if (!w->reuse)
        run_close(a, run_st);
    return s;
}

/* Runs interleaved across allocators; medians per allocator. */
static timing time_workload(const workload *w, const bench_sizes *z,
                            char **slot)
{
    double ns[N_ALLOC][MAX_RUNS], faults[N_ALLOC][MAX_RUNS];
    double req[N_ALLOC][MAX_RUNS], purged[N_ALLOC][MAX_RUNS];
    void *st[N_ALLOC] = {NULL};
    timing t;
    for (size_t i = 0; w->reuse && i < N_ALLOC; i++)
        st[i] = run_open(&allocators[i]);
    for (int r = 0; r < z->runs; r++)
        for (size_t i = 0; i < N_ALLOC; i++) {
            alloc_counts c;
            sample s = time_once(w, &allocators[i], st[i], z, slot, &c);
            ns[i][r] = s.ns;
            faults[i][r] = s.faults;
            req[i][r] = c.page_requests;
            purged[i][r] = c.purged_mib;
        }
    for (size_t i = 0; w->reuse && i < N_ALLOC; i++)
        run_close(&allocators[i], st[i]);
    for (size_t i = 0; i < N_ALLOC; i++) {
        t.ns[i] = median(ns[i], z->runs);
        t.faults[i] = median(faults[i], z->runs);
        t.counts[i] = (alloc_counts){median(req[i], z->runs),
                                     median(purged[i], z->runs)};
    }
    return t;
}

/* ------------------------------------------------------------------------
 * RSS workload (3), one forked child per (allocator, scenario)
 */
typedef struct rss_row {
    double start;      /* MiB resident when the child started (absolute) */
    double allocated;  /* MiB above start once everything is allocated */
    double freed;      /* ... after freeing all, or the scattered 90% */
    double idle;       /* ... IDLE_MS later, after IDLE_PAIRS alloc+free pairs */
    double released;   /* ... after the allocator's explicit release */
} rss_row;

#define IDLE_MS (2 * RC_PURGE_DELAY_MS + 100) /* rcgc: a window ended, a whole one silent */
#define IDLE_PAIRS 2048 /* rcgc reads the clock every 1024 allocations */

/* Quiet for IDLE_MS, then a little work, as a program between phases. */
static void idle_then_touch(const allocator *a, void *st)
{
    struct timespec pause = {IDLE_MS / 1000, IDLE_MS % 1000 * 1000000L};
    nanosleep(&pause, NULL);
    for (int i = 0; i < IDLE_PAIRS; i++)
        a->free(st, must_alloc(a, st, 32));
}

/* Blocks the size stream needs to add up to `bytes`. */
static size_t blocks_for(size_t bytes)
{
    uint64_t rng = SEED;
    size_t n = 0;
    for (size_t sum = 0; sum < bytes; n++)
        sum += random_size(&rng);
    return n;
}

/* keep_every 0: free all; k: free all but every k-th block. */
static rss_row rss_scenario(const allocator *a, const bench_sizes *z,
                            size_t keep_every)
{
    uint64_t rng = SEED;
    size_t n = blocks_for(z->rss_bytes);
    rss_row row = {rss_mib(), 0, 0, 0, 0};
    char **blk = harness_map(n * sizeof *blk);
    double base = rss_mib(); /* the deltas leave out the array blk */
    void *st = run_open(a);
    for (size_t i = 0; i < n; i++)
        blk[i] = must_alloc(a, st, random_size(&rng));
    row.allocated = rss_mib() - base;
    for (size_t i = 0; i < n; i++)
        if (keep_every == 0 || i % keep_every != 0)
            a->free(st, blk[i]);
    row.freed = rss_mib() - base;
    idle_then_touch(a, st);
    row.idle = rss_mib() - base;
    a->release(st);
    row.released = rss_mib() - base;
    for (size_t i = 0; keep_every && i < n; i += keep_every)
        a->free(st, blk[i]);
    run_close(a, st);
    return row;
}

/* (4): resident bytes per block of n blocks of `size` bytes. */
#define PER_BLOCK_SIZES 5
static const size_t per_block_size[PER_BLOCK_SIZES] = {16, 32, 64, 128, 256};

static double rss_per_block(const allocator *a, size_t n, size_t size)
{
    char **blk = harness_map(n * sizeof *blk);
    void *st = run_open(a);
    double base = rss_mib();
    for (size_t i = 0; i < n; i++)
        blk[i] = must_alloc(a, st, size);
    double bytes = (rss_mib() - base) * MIB / (double)n;
    free_all(a, st, blk, n);
    run_close(a, st);
    return bytes;
}

/* (4b): resident bytes per object of n leaf objects of `payload` bytes. */
#define PER_OBJECT_SIZES 5
static const size_t per_object_payload[PER_OBJECT_SIZES] = {8, 16, 24, 56, 120};

static double rss_per_object(size_t n, size_t payload)
{
    const rc_type leaf = {.name = "bench_leaf", .size = payload};
    void **obj = harness_map(n * sizeof *obj);
    rc_heap *h = rc_heap_new(NULL);
    if (!h)
        die("rc_heap_new failed");
    double base = rss_mib();
    for (size_t i = 0; i < n; i++)
        if (!(obj[i] = rc_new(h, &leaf)))
            die("rc_new failed after %zu objects", i);
    double bytes = (rss_mib() - base) * MIB / (double)n;
    for (size_t i = 0; i < n; i++)
        rc_decref(obj[i]);
    rc_heap_free(h);
    return bytes;
}

/* What one child measures: (4) for blocks of `size` bytes when size is
   set ((4b) for rcgc objects of that payload when objects is set), else
   scenario (3) with keep_every. */
typedef struct child_job {
    const allocator *a;
    const bench_sizes *z;
    size_t keep_every;
    size_t size;
    int objects;
} child_job;

typedef union child_result {
    rss_row row;       /* (3) */
    double per_block;  /* (4) */
} child_result;

/* Run job in a forked child, whose allocators hold nothing yet; the
   result comes back through a pipe. */
static child_result in_child(child_job job)
{
    int fd[2], status;
    child_result r;
    memset(&r, 0, sizeof r);
    if (pipe(fd) != 0)
        die("pipe failed");
    fflush(NULL); /* or the child would flush our buffers a second time */
    pid_t pid = fork();
    if (pid < 0)
        die("fork failed");
    if (pid == 0) {
        close(fd[0]);
        if (job.objects)
            r.per_block = rss_per_object(job.z->bulk_blocks, job.size);
        else if (job.size)
            r.per_block = rss_per_block(job.a, job.z->bulk_blocks, job.size);
        else
            r.row = rss_scenario(job.a, job.z, job.keep_every);
        _exit(write(fd[1], &r, sizeof r) == (ssize_t)sizeof r ? 0 : 1);
    }
    close(fd[1]);
    ssize_t got = read(fd[0], &r, sizeof r);
    close(fd[0]);
    if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
        WEXITSTATUS(status) != 0 || got != (ssize_t)sizeof r)
        die("%s: RSS child failed", job.a->name);
    return r;
}

typedef struct rss_table {
    rss_row all[N_ALLOC];      /* free-all scenario */
    rss_row scatter[N_ALLOC];  /* scattered 90% scenario */
    double per_block[N_ALLOC][PER_BLOCK_SIZES]; /* (4) resident B per block */
    double per_object[PER_OBJECT_SIZES];        /* (4b) rcgc objects */
} rss_table;

static rss_table measure_rss(const bench_sizes *z)
{
    rss_table t;
    for (size_t i = 0; i < N_ALLOC; i++) {
        fprintf(stderr, "bench_alloc: (3) RSS children for %s\n",
                allocators[i].name);
        const allocator *a = &allocators[i];
        t.all[i] = in_child((child_job){a, z, 0, 0, 0}).row;
        t.scatter[i] = in_child((child_job){a, z, KEEP_EVERY, 0, 0}).row;
        for (size_t k = 0; k < PER_BLOCK_SIZES; k++)
            t.per_block[i][k] = in_child((child_job){a, z, 0, per_block_size[k], 0}).per_block;
    }
    for (size_t k = 0; k < PER_OBJECT_SIZES; k++)
        t.per_object[k] = in_child((child_job){&allocators[0], z, 0, per_object_payload[k], 1}).per_block;
    return t;
}

/* ------------------------------------------------------------------------
 * Report
 */
/* The file that holds the code at addr: which library serves a call. */
static const char *library_of(const void *addr)
{
    Dl_info info;
    const char *file = addr && dladdr(addr, &info) && info.dli_fname
                           ? info.dli_fname : "(not built)";
    const char *slash = strrchr(file, '/');
    return slash ? slash + 1 : file;
}

/* Same for a function (memcpy: ISO C has no cast to void *). */
static const char *library_of_fn(any_fn fn)
{
    const void *addr;
    memcpy(&addr, &fn, sizeof addr);
    return fn ? library_of(addr) : "(not built)";
}

static void print_served_by(void)
{
    printf("served by: rc_mem_alloc in %s",
           library_of_fn((any_fn)rc_mem_alloc));
#ifdef RC_BENCH_HAVE_GLIBC
    printf(", __libc_malloc in %s", library_of_fn((any_fn)glibc.malloc));
#endif
#ifdef RC_BENCH_HAVE_MIMALLOC
    printf(", mi_malloc in %s", library_of_fn((any_fn)mi_malloc));
#endif
#ifdef RC_BENCH_HAVE_JEMALLOC
    printf(", mallocx in %s", library_of_fn((any_fn)mallocx));
#endif
    printf("\n           (not used: plain malloc is %s's, plain "
           "__libc_malloc %s's)\n",
           library_of(dlsym(RTLD_DEFAULT, "malloc")),
           library_of(dlsym(RTLD_DEFAULT, "__libc_malloc")));
}

#ifdef RC_BENCH_HAVE_GLIBC
/* A glibc chunk's size word sits just before the block: request + 8,
   rounded to 16, low 3 bits flags.  No other peer lays out blocks this
   way, so it proves glibc.malloc is glibc's allocator. */
static void check_glibc_layout(void)
{
    size_t n = 200, want = (n + 8 + 15) & ~(size_t)15;
    char *p = glibc.malloc(n);
    size_t got = p ? ((size_t *)(void *)p)[-1] & ~(size_t)7 : 0;
    glibc.free(p);
    if (got != want)
        die("__libc_malloc is not glibc's allocator (chunk %zu, want %zu)",
            got, want);
    printf("check:     a 200 B glibc block has a glibc chunk header of %zu B\n",
           got);
}
#endif

static void print_versions(void)
{
    printf("versions: rcgc %s", RC_VERSION);
#ifdef RC_BENCH_HAVE_GLIBC
    printf(", glibc %s", gnu_get_libc_version());
#endif
#ifdef RC_BENCH_HAVE_MIMALLOC
    printf(", mimalloc %d", mi_version());
#endif
#ifdef RC_BENCH_HAVE_JEMALLOC
    const char *v = "?";
    size_t len = sizeof v;
    mallctl("version", (void *)&v, &len, NULL, 0);
    printf(", jemalloc %.5s", v);
#endif
    printf("; compiler %s\n", __VERSION__);
}

static void print_header(const bench_sizes *z, int quick)
{
    printf("bench_alloc: rcgc allocator vs glibc malloc, mimalloc, jemalloc%s\n",
           quick ? BENCH_QUICK_NOTE : "");
    print_machine();
    print_versions();
    for (int i = 0; missing_peers[i]; i++)
        printf("peer %s not found (skipped)\n", missing_peers[i]);
    print_served_by();
#ifdef RC_BENCH_HAVE_GLIBC
    check_glibc_layout();
#endif
    printf("sizes:    (1) %zu steps over %zu live blocks of %d-%d B;"
           " (2) %zu blocks of %d B; (3) %.0f MiB of %d-%d B blocks\n",
           z->churn_steps, z->churn_live, MIN_SIZE, MAX_SIZE, z->bulk_blocks,
           BULK_SIZE, (double)z->rss_bytes / MIB, MIN_SIZE, MAX_SIZE);
    printf("goals:    (1),(2) rcgc at or below mimalloc and under half of "
           "glibc;\n          (3) free-all RSS within 2 MiB of start; "
           "scattered-90%% RSS at or below mimalloc and glibc;\n"
           "          (4) RSS per block within 2%% of the block size\n\n");
}

/* A counter cell: blank for an allocator that has no such counter. */
static void print_count(double v, const char *fmt, const allocator *a)
{
    if (a->counts)
        printf(fmt, v);
    else
        printf("%10s", "");
}

static void print_time_table(const timing t[N_WORK], int runs)
{
    printf("(1),(2),(2b) time in ns per op, median of %d interleaved runs "
           "(lower is better)\n%-22s", runs, "workload");
    for (size_t i = 0; i < N_ALLOC; i++)
        printf("%10s", allocators[i].name);
    for (size_t i = 1; i < N_ALLOC; i++)
        printf("  rcgc/%-8s", allocators[i].name);
    for (size_t w = 0; w < N_WORK; w++) {
        printf("\n%-22s", workloads[w].name);
        for (size_t i = 0; i < N_ALLOC; i++)
            printf("%10.2f", t[w].ns[i]);
        for (size_t i = 1; i < N_ALLOC; i++)
            printf("  %13.2f", t[w].ns[0] / t[w].ns[i]);
        printf("\n%-22s", "  page faults/run");
        for (size_t i = 0; i < N_ALLOC; i++)
            printf("%10.0f", t[w].faults[i]);
        printf("\n%-22s", "  page requests/run");
        for (size_t i = 0; i < N_ALLOC; i++)
            print_count(t[w].counts[i].page_requests, "%10.0f", &allocators[i]);
        printf("\n%-22s", "  MiB purged/run");
        for (size_t i = 0; i < N_ALLOC; i++)
            print_count(t[w].counts[i].purged_mib, "%10.1f", &allocators[i]);
    }
    printf("\n  page requests, MiB purged: the allocator's own counters"
           " (rc_alloc_stats_get), whole run\n");
    for (size_t w = 0; w < N_WORK; w++)
        if (workloads[w].variant)
            printf("  %s\n", workloads[w].variant);
    printf("\n");
}

static void print_rss_cell(double v, int shown)
{
    if (shown)
        printf("%11.1f", v);
    else
        printf("%11s", "");
}

static void print_rss_row(const char *label, const rss_row *all,
                          const rss_row *sc, int released)
{
    printf("%-32s", label);
    const rss_row *rows[2] = {all, sc};
    for (int i = 0; i < 2; i++) {
        print_rss_cell(rows[i]->start, !released);
        print_rss_cell(rows[i]->allocated, !released);
        print_rss_cell(rows[i]->freed, !released);
        print_rss_cell(released ? rows[i]->released : rows[i]->idle, 1);
    }
    printf("\n");
}

static void print_rss_table(const rss_table *t, const bench_sizes *z)
{
    printf("(3) RSS in MiB above the start, one child process per scenario"
           " and allocator\n    (start: absolute, before the bench's own "
           "block array, which the other columns leave out);\n    kept 10%%"
           " holds %.1f MiB of requested bytes\n",
           (double)z->rss_bytes / KEEP_EVERY / MIB);
    printf("    later: %d ms after the frees and %d alloc+free pairs of 32 B\n",
           IDLE_MS, IDLE_PAIRS);
    printf("%-32s%44s%44s\n", "", "------- free-all scenario -------",
           "------ scattered scenario -------");
    printf("%-32s%11s%11s%11s%11s%11s%11s%11s%11s\n", "allocator", "start",
           "allocated", "freed all", "later", "start", "allocated", "kept 10%",
           "later");
    for (size_t i = 0; i < N_ALLOC; i++)
        print_rss_row(allocators[i].name, &t->all[i], &t->scatter[i], 0);
    for (size_t i = 0; i < N_ALLOC; i++)
        print_rss_row(allocators[i].release_row, &t->all[i], &t->scatter[i],
                      1);
    printf("\n(4) resident bytes per block, %zu blocks of one size on a fresh"
           " heap, a child each\n%-10s", z->bulk_blocks, "allocator");
    for (size_t k = 0; k < PER_BLOCK_SIZES; k++)
        printf("%8zu B", per_block_size[k]);
    for (size_t i = 0; i < N_ALLOC; i++) {
        printf("\n%-10s", allocators[i].name);
        for (size_t k = 0; k < PER_BLOCK_SIZES; k++)
            printf("%10.2f", t->per_block[i][k]);
    }
    printf("\n\n(4b) resident bytes per rcgc object, %zu rc_new of a leaf"
           " type on a fresh heap, a child each\n%-10s", z->bulk_blocks,
           "payload");
    for (size_t k = 0; k < PER_OBJECT_SIZES; k++)
        printf("%8zu B", per_object_payload[k]);
    printf("\n%-10s", "rcgc");
    for (size_t k = 0; k < PER_OBJECT_SIZES; k++)
        printf("%10.2f", t->per_object[k]);
    printf("\n\n");
}

/* One goal: met when value <= limit.  peer < 0: the peer is missing.
   judged 0: a variant, shown against the same limit for information. */
static void print_goal(const char *what, double value, double limit,
                       int peer, int judged)
{
    if (peer < 0)
        printf("  %-44s n/a (peer not built)\n", what);
    else
        printf("  %-44s %9.2f vs %9.2f  %s\n", what, value, limit,
               !judged ? (value <= limit ? "(variant: below)"
                                         : "(variant: above)")
                       : value <= limit ? "met" : "MISSED");
}

static void print_goals(const timing t[N_WORK], const rss_table *r)
{
    int mi = allocator_index("mimalloc"), gl = allocator_index("glibc");
    printf("goals (rcgc vs limit)\n");
    for (size_t w = 0; w < N_WORK; w++) {
        char what[64];
        int judged = workloads[w].variant == NULL;
        snprintf(what, sizeof what, "%s ns: <= mimalloc", workloads[w].name);
        print_goal(what, t[w].ns[0], mi < 0 ? 0 : t[w].ns[mi], mi, judged);
        snprintf(what, sizeof what, "%s ns: <= glibc / 2", workloads[w].name);
        print_goal(what, t[w].ns[0], gl < 0 ? 0 : t[w].ns[gl] / 2, gl,
                   judged);
    }
    print_goal("(3) free-all MiB, later: <= 2", r->all[0].idle, 2.0, 0, 1);
    print_goal("(3) kept-10% MiB, later: <= mimalloc", r->scatter[0].idle,
               mi < 0 ? 0 : r->scatter[mi].idle, mi, 1);
    print_goal("(3) kept-10% MiB, later: <= glibc", r->scatter[0].idle,
               gl < 0 ? 0 : r->scatter[gl].idle, gl, 1);
    for (size_t k = 0; k < PER_BLOCK_SIZES; k++) {
        char what[64];
        snprintf(what, sizeof what, "(4) RSS per %zu B block: <= %zu B + 2%%",
                 per_block_size[k], per_block_size[k]);
        print_goal(what, r->per_block[0][k], 1.02 * (double)per_block_size[k], 0, 1);
    }
    print_goal("(4b) RSS per object, 16 B payload: <= 24 B + 2%",
               r->per_object[1], 1.02 * 24, 0, 1);
}

int main(int argc, char **argv)
{
    int quick = argc == 2 && strcmp(argv[1], "--quick") == 0;
    int time_only = argc == 2 && strcmp(argv[1], "--time") == 0;
    if (argc > 2 || (argc == 2 && !quick && !time_only)) {
        fprintf(stderr, "usage: %s [--quick | --time]\n", argv[0]);
        return 2;
    }
    const bench_sizes *z = quick ? &quick_sizes : &full_sizes;
#ifdef RC_BENCH_HAVE_GLIBC
    glibc_resolve();
#endif
    print_header(z, quick);

    /* RSS first: its children must fork from a process whose allocators
       hold nothing yet. */
    rss_table rss;
    if (!time_only)
        rss = measure_rss(z);

    size_t slots = z->churn_live > z->bulk_blocks ? z->churn_live
                                                  : z->bulk_blocks;
    char **slot = harness_map(slots * sizeof *slot);
    timing t[N_WORK];
    for (size_t w = 0; w < N_WORK; w++) {
        fprintf(stderr, "bench_alloc: %s\n", workloads[w].name);
        t[w] = time_workload(&workloads[w], z, slot);
    }

    print_time_table(t, z->runs);
    if (time_only) {
        printf("(3) not run (--time)\n");
        return 0;
    }
    print_rss_table(&rss, z);
    if (quick)
        printf("goals not judged in --quick mode\n");
    else
        print_goals(t, &rss);
    return 0;
}
