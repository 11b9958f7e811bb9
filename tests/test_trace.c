/*
 * test_trace.c — allocation tracing: known sites, exact sizes and counts,
 * current and peak, snapshots by line, function and stack, filters,
 * comparisons, sampling estimates, start/stop rules, the recent walks
 * (stacks that differ only in an outer frame), sites deep inside the
 * library, and tracing through memory failures (the traced program's
 * allocations never fail because of the trace).  Built with frame
 * pointers and debug info.
 */
#define _POSIX_C_SOURCE 200809L
#include "check.h"

#include <math.h>
#include <string.h>
#include <time.h>

typedef struct pair { void *a, *b; } pair;
static const rc_type pair_type = {.name = "pair", .size = sizeof(pair)};

static int line_a, line_b, line_c;

__attribute__((noinline)) static void *site_a(rc_heap *h)
{
    line_a = __LINE__ + 1;
    return rc_mem_alloc(h, 100);
}

__attribute__((noinline)) static void *site_b(rc_heap *h)
{
    line_b = __LINE__ + 1;
    return rc_mem_alloc(h, 300);
}

__attribute__((noinline)) static void *site_c(rc_heap *h)
{
    line_c = __LINE__ + 1;
    return rc_new(h, &pair_type);
}

static const char *base(const char *path)
{
    const char *s = path ? strrchr(path, '/') : NULL;
    return s ? s + 1 : path;
}

static void check_row(const rc_trace_stat *r, const char *fn, int line, size_t bytes,
                      size_t blocks)
{
    CHECK(r->function && strcmp(r->function, fn) == 0);
    CHECK(r->file && strcmp(base(r->file), "test_trace.c") == 0);
    CHECK(r->line == line);
    CHECK(r->bytes == bytes && r->blocks == blocks);
}

static void test_sites_and_snapshots(void)
{
    rc_heap *h = rc_heap_new(NULL);
    CHECK(rc_trace_snapshot(h) == NULL);
    CHECK(rc_trace_start(h, 8) == 0 && rc_trace_is_tracing(h));
    CHECK(rc_trace_start(h, 8) == 0); /* twice: nothing changes */
    void *a[10], *b[5], *c[3];
    /* volatile bounds: an unrolled loop would make several call sites */
    static volatile int na = 10, nb = 5, nc = 3;
    for (int i = 0; i < na; i++)
        a[i] = site_a(h);
    for (int i = 0; i < nb; i++)
        b[i] = site_b(h);
    for (int i = 0; i < nc; i++)
        c[i] = site_c(h);
    CHECK_VALID(h);
    size_t cur, peak;
    rc_trace_memory(h, &cur, &peak);
    CHECK(cur == 1000 + 1500 + 3 * sizeof(pair) && peak == cur);

    rc_snapshot *s1 = rc_trace_snapshot(h);
    CHECK(s1);
    rc_trace_stat rows[8];
    CHECK(rc_snapshot_by_line(s1, rows, 8) == 3);
    check_row(&rows[0], "site_b", line_b, 1500, 5);
    check_row(&rows[1], "site_a", line_a, 1000, 10);
    check_row(&rows[2], "site_c", line_c, 3 * sizeof(pair), 3);
    CHECK(rc_snapshot_by_function(s1, rows, 8) == 3);
    CHECK(rows[0].line == 0 && strcmp(rows[0].function, "site_b") == 0);
    size_t blocks;
    CHECK(rc_snapshot_total(s1, &blocks) == cur && blocks == 18);

    /* whole stacks: the innermost frame is the site, the next its caller */
    rc_trace_stack_stat st[8];
    CHECK(rc_snapshot_by_stack(s1, st, 8) == 3);
    rc_trace_frame f0, f1;
    CHECK(rc_snapshot_frame(s1, st[0].id, 0, &f0) == 0 && strcmp(f0.function, "site_b") == 0);
    CHECK(st[0].depth >= 2 && rc_snapshot_frame(s1, st[0].id, 1, &f1) == 0);
    CHECK(strcmp(f1.function, "test_sites_and_snapshots") == 0);
    CHECK(rc_snapshot_frame(s1, st[0].id, st[0].depth, &f1) == -1);

    /* filters */
    rc_snapshot *inc = rc_snapshot_filter(s1, "*/test_trace.c", 1);
    rc_snapshot *exc = rc_snapshot_filter(s1, "*/test_trace.c", 0);
    CHECK(inc && exc && rc_snapshot_total(inc, NULL) == cur && rc_snapshot_total(exc, NULL) == 0);
    rc_snapshot_free(inc);
    rc_snapshot_free(exc);

    /* free site a, compare */
    for (int i = 0; i < 10; i++)
        rc_mem_free(h, a[i]);
    rc_trace_memory(h, &cur, &peak);
    CHECK(cur == 1500 + 3 * sizeof(pair) && peak == cur + 1000);
    rc_trace_reset_peak(h);
    rc_trace_memory(h, &cur, &peak);
    CHECK(peak == cur);
    rc_snapshot *s2 = rc_trace_snapshot(h);
    rc_trace_diff d[8];
    CHECK(rc_snapshot_compare(s2, s1, d, 8) == 3);
    CHECK(strcmp(d[0].function, "site_a") == 0 && d[0].bytes_diff == -1000 &&
          d[0].blocks_diff == -10 && d[0].bytes == 0);
    CHECK(d[1].bytes_diff == 0 && d[2].bytes_diff == 0);

    /* realloc in place keeps the site and updates the size */
    void *r = rc_mem_realloc(h, b[0], 290);
    CHECK(r == b[0]);
    rc_trace_memory(h, &cur, NULL);
    CHECK(cur == 1490 + 3 * sizeof(pair));

    rc_trace_stop(h);
    rc_trace_stop(h); /* not tracing: nothing */
    CHECK(!rc_trace_is_tracing(h) && rc_trace_snapshot(h) == NULL);
    rc_trace_memory(h, &cur, &peak);
    CHECK(cur == 0 && peak == 0);
    /* snapshots stay valid after stop */
    CHECK(rc_snapshot_by_line(s2, rows, 8) == 2 && rows[0].bytes == 1490 + 10);
    rc_snapshot_free(s1);
    rc_snapshot_free(s2);
    for (int i = 0; i < 5; i++)
        rc_mem_free(h, b[i]);
    for (int i = 0; i < 3; i++)
        rc_decref(c[i]);
    CHECK_VALID(h);
    CHECK(rc_trace_start(h, 0) == -1 && rc_trace_start(h, 65) == -1);
    rc_heap_free(h);
}

static void test_sampling_estimates(void)
{
    rc_heap *h = rc_heap_new(NULL);
    CHECK(rc_trace_start(h, 4) == 0);
    rc_trace_set_sampling(h, 4096);
    enum { N = 200000 };
    void **p = malloc(N * sizeof *p);
    for (int i = 0; i < N; i++)
        p[i] = rc_mem_alloc(h, 64);
    size_t cur, truth = (size_t)N * 64;
    rc_trace_memory(h, &cur, NULL);
    CHECK(fabs((double)cur - (double)truth) < 0.1 * (double)truth);
    rc_snapshot *s = rc_trace_snapshot(h);
    size_t blocks;
    CHECK(rc_snapshot_total(s, &blocks) == cur && blocks < N / 20);
    rc_snapshot_free(s);
    for (int i = 0; i < N; i++)
        rc_mem_free(h, p[i]);
    rc_trace_memory(h, &cur, NULL);
    CHECK(cur == 0);
    CHECK_VALID(h);
    free(p);
    rc_heap_free(h);
}

/* Fail each page request in turn while tracing: allocations that succeed
   are usable, lost traces are flagged, the heap validates, nothing leaks. */
static void test_trace_under_faults(void)
{
    unsigned long nth;
    for (nth = 1;; nth++) {
        counting_source src = {0};
        rc_config cfg = counting_config(&src);
        rc_heap *h = rc_heap_new(&cfg);
        CHECK(rc_trace_start(h, 4) == 0);
        rc_heap_fail_page_request(h, nth);
        enum { N = 6000 };
        static void *p[N];
        int got = 0;
        for (int i = 0; i < N; i++)
            if ((p[i] = rc_mem_alloc(h, 48)) != NULL) {
                memset(p[i], 1, 48);
                got++;
            }
        CHECK_VALID(h);
        size_t cur;
        rc_trace_memory(h, &cur, NULL);
        CHECK(cur <= (size_t)got * 48);
        CHECK(cur == (size_t)got * 48 || rc_trace_incomplete(h));
        rc_alloc_stats s;
        rc_alloc_stats_get(h, &s);
        for (int i = 0; i < N; i++)
            rc_mem_free(h, p[i]);
        CHECK_VALID(h);
        rc_heap_free(h);
        CHECK(src.live_bytes == 0);
        if (s.page_failures == 0)
            break;
    }
    CHECK(nth > 3);
}

typedef struct leak_log {
    rc_leak rows[8];
    size_t n;
} leak_log;

static void log_leak(const rc_leak *leak, void *ctx)
{
    leak_log *l = ctx;
    if (l->n < 8)
        l->rows[l->n++] = *leak;
}

static const rc_type cell_type = {.name = "cell", .size = 40};
static int line_cell;

__attribute__((noinline)) static void *make_cell(rc_heap *h)
{
    line_cell = __LINE__ + 1;
    return rc_new(h, &cell_type);
}

/* Objects alive are reported by type and site; immortal ones are not; a
   heap's on_leak sees what is left at rc_heap_free. */
static void test_leak_report(void)
{
    leak_log at_free = {0};
    rc_config cfg;
    rc_config_init(&cfg);
    cfg.trace_frames = 4;
    cfg.on_leak = log_leak;
    cfg.on_leak_ctx = &at_free;
    rc_heap *h = rc_heap_new(&cfg);
    CHECK(rc_trace_is_tracing(h));
    static volatile int ncell = 4, npair = 2;
    for (int i = 0; i < ncell; i++)
        (void)make_cell(h);
    for (int i = 0; i < npair; i++)
        (void)site_c(h);
    rc_make_immortal(rc_new(h, &cell_type)); /* not a leak */
    leak_log now = {0};
    CHECK(rc_leak_report(h, log_leak, &now) == 2);
    CHECK(now.rows[0].type == &cell_type && now.rows[0].objects == 4 &&
          now.rows[0].bytes == 4 * 48 && now.rows[0].line == line_cell &&
          strcmp(now.rows[0].function, "make_cell") == 0);
    CHECK(now.rows[1].type == &pair_type && now.rows[1].objects == 2 &&
          now.rows[1].bytes == 2 * 24 && now.rows[1].line == line_c);
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    rc_leak_print(&now.rows[0], f);
    fclose(f);
    CHECK(strstr(text, "rcgc: leak: 4 cell objects, 192 bytes, allocated in make_cell at "));
    free(text);
    rc_heap_free(h);
    CHECK(at_free.n == 2 && at_free.rows[0].objects == 4);
}

/* What the tracing calls record when asked wrongly (running out of pages:
   test_misuse). */
static void test_errors(void)
{
    rc_heap *h = rc_heap_new(NULL);
    CHECK(h);
    CHECK_ERR(h, rc_trace_snapshot(h) == NULL, RC_EVALUE); /* not tracing */
    CHECK_ERR(h, rc_trace_start(h, 0) == -1, RC_EVALUE);
    CHECK_ERR(h, rc_trace_start(h, 65) == -1, RC_EVALUE);
    CHECK(!rc_trace_is_tracing(h) && rc_trace_start(h, 64) == 0);
    rc_snapshot *s = rc_trace_snapshot(h);
    CHECK(s && rc_last_error(h) == RC_OK);
    rc_snapshot_free(s);
    rc_heap_free(h);
}

static void test_timeline_and_env(void)
{
    rc_heap *h = rc_heap_new(NULL);
    CHECK(rc_timeline_get(h, NULL, 0) == 0);
    CHECK(rc_timeline_sample(h) == 0);
    void *p = rc_mem_alloc(h, 1 << 20);
    CHECK(rc_timeline_sample(h) == 0);
    rc_mem_sample smp[4];
    CHECK(rc_timeline_get(h, smp, 4) == 2);
    CHECK(smp[1].time_ns >= smp[0].time_ns && smp[1].heap_bytes > smp[0].heap_bytes);
    CHECK(smp[0].rss_bytes > 0 && smp[0].traced_bytes == 0);
    rc_mem_free(h, p);
    rc_heap_free(h);

    /* RCGC_TRACE=N traces from the start; samples come by themselves */
    setenv("RCGC_TRACE", "5", 1);
    h = rc_heap_new(NULL);
    unsetenv("RCGC_TRACE");
    CHECK(rc_trace_is_tracing(h));
    rc_timeline_set_interval(h, 1);
    /* allocate until two samples came, for at most 10 s: a loaded machine
       may deschedule any fixed window away */
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    do {
        for (int i = 0; i < 2000; i++)
            rc_mem_free(h, rc_mem_alloc(h, 32));
        clock_gettime(CLOCK_MONOTONIC, &t1);
    } while (rc_timeline_get(h, smp, 4) < 2 && t1.tv_sec - t0.tv_sec < 10);
    CHECK(rc_timeline_get(h, smp, 4) >= 2);
    rc_heap_free(h);
}

/* ---- Walks remembered ---------------------------------------------------
 * Stacks that differ only in an outer frame, at the same depth (the same
 * frame addresses, the same innermost frames): each keeps its own stack,
 * under either walk, while the sites alternate in one set of the recent
 * walks and evict each other (three sites in a set of two). */

__attribute__((noinline)) static void *walk_leaf(rc_heap *h, size_t size)
{
    void *p = size ? rc_mem_alloc(h, size) : rc_new(h, &pair_type);
    __asm__ volatile("" ::: "memory"); /* keep the call a call */
    return p;
}

__attribute__((noinline)) static void *walk_mid(rc_heap *h, size_t size)
{
    void *p = walk_leaf(h, size);
    __asm__ volatile("" ::: "memory");
    return p;
}

#define OUTER(name)                                                            \
    __attribute__((noinline)) static void *name(rc_heap *h, size_t size)       \
    {                                                                          \
        void *p = walk_mid(h, size);                                           \
        __asm__ volatile("" ::: "memory");                                     \
        return p;                                                              \
    }
OUTER(outer_a)
OUTER(outer_b)
OUTER(outer_c)
#undef OUTER

static void test_walks_remembered(void)
{
    static const char *const walks[] = {"fp", "cfi"};
    void *(*const outer[3])(rc_heap *, size_t) = {outer_a, outer_b, outer_c};
    static const char *const outer_name[3] = {"outer_a", "outer_b", "outer_c"};
    for (int w = 0; w < 2; w++)
        for (int objects = 0; objects < 2; objects++) {
            rc_heap *h = rc_heap_new(NULL);
            setenv("RCGC_UNWIND", walks[w], 1);
            CHECK(rc_trace_start(h, 3) == 0); /* leaf, mid, outer: the last differs */
            unsetenv("RCGC_UNWIND");
            enum { ROUNDS = 50 };
            static void *p[3 * ROUNDS];
            size_t calls[3] = {0};
            /* a, b, a, b, ..., then c, a, b, ...: each evicts one of the others */
            for (int i = 0; i < 3 * ROUNDS; i++) {
                int which = i < ROUNDS ? i % 2 : i % 3;
                p[i] = outer[which](h, objects ? 0 : 16 * (size_t)(which + 1));
                calls[which]++;
            }
            rc_snapshot *s = rc_trace_snapshot(h);
            rc_trace_stack_stat st[8];
            CHECK(s && rc_snapshot_by_stack(s, st, 8) == 3);
            size_t seen = 0;
            for (int i = 0; i < 3; i++) {
                rc_trace_frame f;
                CHECK(st[i].depth == 3);
                CHECK(rc_snapshot_frame(s, st[i].id, 0, &f) == 0 &&
                      strcmp(f.function, "walk_leaf") == 0);
                CHECK(rc_snapshot_frame(s, st[i].id, 2, &f) == 0 && f.function);
                for (int o = 0; o < 3; o++) {
                    if (strcmp(f.function, outer_name[o]) != 0)
                        continue;
                    size_t each = objects ? sizeof(pair) : 16 * (size_t)(o + 1);
                    CHECK(st[i].blocks == calls[o] && st[i].bytes == calls[o] * each);
                    seen |= 1u << o;
                }
            }
            CHECK(seen == 7);
            rc_snapshot_free(s);
            for (int i = 0; i < 3 * ROUNDS; i++)
                if (objects)
                    rc_decref(p[i]);
                else
                    rc_mem_free(h, p[i]);
            CHECK_VALID(h);
            rc_heap_free(h);
        }
}

/* A site deep inside the library (a list growing its storage) is still
   the user's line, even with one frame and more library frames above it
   than any walk had seen: the walk goes deeper and stays deeper. */
static int line_append;

__attribute__((noinline)) static void append_many(rc_heap *h, void *list, int n)
{
    for (int i = 0; i < n; i++) {
        void *item = rc_int(h, i);
        line_append = __LINE__ + 1;
        CHECK(rc_list_append(list, item) == 0);
        rc_decref(item);
    }
}

static void test_deep_library_sites(void)
{
    rc_heap *h = rc_heap_new(NULL);
    CHECK(rc_trace_start(h, 1) == 0);
    void *list = rc_list(h);
    append_many(h, list, 1000);
    rc_snapshot *s = rc_trace_snapshot(h);
    rc_trace_stat rows[8];
    size_t n = rc_snapshot_by_line(s, rows, 8);
    int found = 0;
    for (size_t i = 0; i < n; i++) {
        CHECK(rows[i].function && rows[i].file &&
              strcmp(base(rows[i].file), "test_trace.c") == 0);
        found |= strcmp(rows[i].function, "append_many") == 0 && rows[i].line == line_append;
    }
    CHECK(found);
    rc_snapshot_free(s);
    rc_decref(list);
    rc_heap_free(h);
}

int main(void)
{
    test_sites_and_snapshots();
    test_walks_remembered();
    test_deep_library_sites();
    test_leak_report();
    test_errors();
    test_timeline_and_env();
    test_sampling_estimates();
    test_trace_under_faults();
    printf("test_trace: ok\n");
    return 0;
}
