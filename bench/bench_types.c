/*
 * bench_types.c — rcgc's built-in types (int, float, str, list, dict)
 * against CPython 3's (types_peer.py in a child python3, the same values
 * built the same way), side by side in one bench run.
 *
 * What it measures (the workloads of the built-in-types issue):
 *  (a) 1,000,000 distinct ints outside every small-int cache (10^6 + i),
 *      held in a list;
 *  (b) 1,000,000 floats (i * 0.5) in a list;
 *  (c) a list of 1,000,000 references to small ints (i % 1000: rcgc's
 *      cache holds them all, CPython's only 0..256);
 *  (d) a dict of 1,000,000 str keys ("key<i>") to int values (i);
 *  (e) a JSON-like document of about 1,000,000 nodes: {"version": 1,
 *      "records": [...]}, each record a dict {"id", "name", "score",
 *      "active", "rank", "tags": [2 shared strings], "children": [...]},
 *      4 children at the top, 3 below them (doc_record; types_peer.py's
 *      doc() is the same generator).  Keys and tags are interned strings
 *      made once, as CPython's constants are.  A node is a dict, a list
 *      or a scalar value in the tree (keys are not nodes).
 *      For each: bytes per item, ns per item to build, ns per item to drop
 *      (one rc_decref of the root; CPython: `del`).
 *  (f) free lists: 1,000,000 times make a list, append 3 ints, drop it;
 *      and make a dict, set 2 str keys, drop it.  Each run is a child
 *      process (this binary, --churn-child), with RCGC_NO_FREELISTS=1 in
 *      its environment for the "off" runs: on/off ratio, CPython shown.
 *  (g) the small-int cache: the fraction of the ints in (c) and (e) that
 *      it serves (each rc_int result is stored once, so counting the int
 *      references in the built structure counts the calls), and against
 *      CPython's range; ns per rc_int and per rc_decref, cached and not.
 *
 * How:
 *  - Timed runs are interleaved (rcgc, CPython, rcgc, ...) 5 times
 *    (--quick: 3); medians are reported with rcgc/CPython ratios (below 1:
 *    rcgc is faster).
 *  - rcgc gets a fresh default heap per run (automatic collection on, as
 *    CPython's gc), made ready outside the timed region: its small-int
 *    cache filled (CPython makes its small ints at start-up), the types
 *    state and intern table made.  After the drop every block must be
 *    back (the check of every run).
 *  - CPython runs as `python3 -I -S types_peer.py WORKLOAD N time` once
 *    per timed run (popen); it times itself with perf_counter_ns.
 *  - Memory comes from one more, untimed build on each side.  rcgc:
 *    rc_alloc_stats deltas, live = small+large+huge bytes (blocks as the
 *    allocator hands them out) and os = os_bytes; a census delta shows
 *    where the live bytes go by type.  CPython: its own process with
 *    tracemalloc started (so tracing never slows a timed run): traced =
 *    get_traced_memory() delta, the bytes requested, which the goals are
 *    judged on; blocks = the same traces rounded to pymalloc/glibc blocks,
 *    the like-for-like figure, shown beside it.
 *
 * Usage: bench_types [--quick] [WORKLOAD...]
 *   --quick: tiny sizes, only proves it runs;
 *   WORKLOAD: a b c d e f g, to run (and profile) some rows only.
 *   (bench_types --churn-child list|dict N is the child of (f).)
 */
#define _GNU_SOURCE
#include <gnu/libc-version.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench_common.h"
#include "rcgc.h"

#ifndef RC_BENCH_PEER
#define RC_BENCH_PEER "types_peer.py"
#endif

/* ------------------------------------------------------------------------
 * Sizes of one bench run
 */
typedef struct bench_sizes {
    size_t items;     /* (a)..(d) items; (e) nodes, at least */
    size_t churn;     /* (f) create+drop cycles */
    size_t int_calls; /* (g) rc_int calls per timing */
    int runs;         /* timed repetitions; the median is reported */
} bench_sizes;

#define MAX_RUNS 5
static const bench_sizes full_sizes = {1000000, 1000000, 1000000, MAX_RUNS};
static const bench_sizes quick_sizes = {10000, 10000, 10000, 3};

#define INT_BASE 1000000           /* (a): above every small-int cache */
#define CPY_SMALL_MIN (-5)         /* CPython's small-int cache */
#define CPY_SMALL_MAX 256

/* ------------------------------------------------------------------------
 * Harness helpers (the rest are in bench_common.h)
 */
/* p, or die naming h's last error (every constructor below goes here). */
static void *must(rc_heap *h, void *p)
{
    if (!p)
        die("rcgc call failed: %s", rc_error_name(rc_last_error(h)));
    return p;
}

/* Append item to list and drop the caller's reference (item is new). */
static void list_add(void *list, void *item)
{
    if (rc_list_append(list, item) != 0)
        die("rc_list_append failed");
    rc_decref(item);
}

/* dict[key] = value, dropping the caller's reference to value (new); the
   key is borrowed (shared keys). */
static void dict_add(void *dict, void *key, void *value)
{
    if (rc_dict_set(dict, key, value) != 0)
        die("rc_dict_set failed");
    rc_decref(value);
}

/* prefix then v in decimal into buf (no NUL); returns the length.  The
   keys' text costs what CPython's f-string does, not a printf. */
static size_t fmt_key(char *buf, const char *prefix, size_t plen, uint64_t v)
{
    char digits[20];
    size_t n = 0;
    do {
        digits[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    memcpy(buf, prefix, plen);
    for (size_t i = 0; i < n; i++)
        buf[plen + i] = digits[n - 1 - i];
    return plen + n;
}

static size_t live_blocks(const rc_heap *h)
{
    rc_alloc_stats s;
    rc_alloc_stats_get(h, &s);
    return s.small_blocks + s.large_blocks + s.huge_blocks;
}

static uint64_t gc_time_ns(const rc_heap *h)
{
    rc_gc_stats st;
    rc_gc_stats_get(h, &st);
    uint64_t t = 0;
    for (int i = 0; i < RC_GC_GENERATIONS; i++)
        t += st.gen[i].time_ns;
    return t;
}

/* A fresh default heap made ready outside any timed region: every small
   int made (CPython makes its own at start-up), the types state, the
   intern table and every type's record made, free lists empty. */
static rc_heap *heap_ready(void)
{
    rc_heap *h = rc_heap_new(NULL);
    if (!h)
        die("rc_heap_new failed");
    for (int64_t v = RC_SMALL_INT_MIN; v <= RC_SMALL_INT_MAX; v++)
        rc_decref(must(h, rc_int(h, v)));
    rc_decref(must(h, rc_str_intern(h, "ready", 5)));
    rc_decref(must(h, rc_float(h, 0.5)));
    rc_decref(must(h, rc_list(h)));
    rc_decref(must(h, rc_dict(h)));
    rc_freelists_clear(h);
    return h;
}

/* ------------------------------------------------------------------------
 * (a)..(e): the builders.  Each returns the root (a new reference) and
 * the number of items it holds.
 */
typedef void *(*build_fn)(rc_heap *h, size_t n, size_t *items);

static void *build_ints(rc_heap *h, size_t n, size_t *items)
{
    void *l = must(h, rc_list(h));
    for (size_t i = 0; i < n; i++)
        list_add(l, must(h, rc_int(h, INT_BASE + (int64_t)i)));
    *items = rc_list_len(l);
    return l;
}

static void *build_floats(rc_heap *h, size_t n, size_t *items)
{
    void *l = must(h, rc_list(h));
    for (size_t i = 0; i < n; i++)
        list_add(l, must(h, rc_float(h, (double)i * 0.5)));
    *items = rc_list_len(l);
    return l;
}

static void *build_small(rc_heap *h, size_t n, size_t *items)
{
    void *l = must(h, rc_list(h));
    for (size_t i = 0; i < n; i++)
        list_add(l, must(h, rc_int(h, (int64_t)(i % 1000))));
    *items = rc_list_len(l);
    return l;
}

static void *build_dict(rc_heap *h, size_t n, size_t *items)
{
    void *d = must(h, rc_dict(h));
    char buf[32];
    for (size_t i = 0; i < n; i++) {
        void *k = must(h, rc_str(h, buf, fmt_key(buf, "key", 3, i)));
        dict_add(d, k, must(h, rc_int(h, (int64_t)i)));
        rc_decref(k);
    }
    *items = rc_dict_len(d);
    return d;
}

/* (e) The document generator; types_peer.py's doc() is the same. */
enum { K_ID, K_NAME, K_SCORE, K_ACTIVE, K_RANK, K_TAGS, K_CHILDREN,
       K_VERSION, K_RECORDS, N_KEYS };
static const char *const doc_keys[N_KEYS] = {
    "id", "name", "score", "active", "rank", "tags", "children",
    "version", "records"};
#define N_TAGS 5
static const char *const doc_tags[N_TAGS] = {"red", "green", "blue", "admin",
                                             "guest"};
static const size_t doc_fanout[] = {4, 3, 0}; /* children at depth 0, 1, 2 */
#define DOC_DEPTHS (sizeof doc_fanout / sizeof doc_fanout[0])

typedef struct doc_state {
    rc_heap *h;
    void *key[N_KEYS];   /* interned keys, made once */
    void *tag[N_TAGS];   /* interned tag strings, shared by every record */
    int64_t next;        /* the next record's id (pre-order) */
} doc_state;

/* JSON nodes under one top-level record: per record a dict, five scalars,
   a tags list with 2 strings and a children list (10). */
static size_t doc_nodes_per_top(void)
{
    size_t records = 0, width = 1;
    for (size_t d = 0; d < DOC_DEPTHS; d++) {
        records += width;
        width *= doc_fanout[d];
    }
    return 10 * records;
}

static size_t doc_tops(size_t n)
{
    size_t per = doc_nodes_per_top();
    return n > 3 ? (n - 3 + per - 1) / per : 0;
}

static void *doc_record(doc_state *s, size_t depth)
{
    rc_heap *h = s->h;
    int64_t i = s->next++;
    char buf[32];
    void *r = must(h, rc_dict(h));
    dict_add(r, s->key[K_ID], must(h, rc_int(h, i)));
    dict_add(r, s->key[K_NAME],
             must(h, rc_str(h, buf, fmt_key(buf, "node", 4, (uint64_t)i))));
    dict_add(r, s->key[K_SCORE], must(h, rc_float(h, (double)(i % 1000) * 0.25)));
    dict_add(r, s->key[K_ACTIVE], must(h, rc_int(h, i % 2)));
    dict_add(r, s->key[K_RANK], must(h, rc_int(h, i % 1000)));
    void *tags = must(h, rc_list(h));
    if (rc_list_append(tags, s->tag[i % N_TAGS]) != 0 ||
        rc_list_append(tags, s->tag[i / N_TAGS % N_TAGS]) != 0)
        die("rc_list_append failed");
    dict_add(r, s->key[K_TAGS], tags);
    void *children = must(h, rc_list(h));
    for (size_t k = 0; k < doc_fanout[depth]; k++)
        list_add(children, doc_record(s, depth + 1));
    dict_add(r, s->key[K_CHILDREN], children);
    return r;
}

static void *build_doc(rc_heap *h, size_t n, size_t *items)
{
    doc_state s = {.h = h};
    for (int k = 0; k < N_KEYS; k++)
        s.key[k] = must(h, rc_str_intern(h, doc_keys[k], strlen(doc_keys[k])));
    for (int k = 0; k < N_TAGS; k++)
        s.tag[k] = must(h, rc_str_intern(h, doc_tags[k], strlen(doc_tags[k])));
    void *records = must(h, rc_list(h));
    size_t tops = doc_tops(n);
    for (size_t t = 0; t < tops; t++)
        list_add(records, doc_record(&s, 0));
    void *root = must(h, rc_dict(h));
    dict_add(root, s.key[K_VERSION], must(h, rc_int(h, 1)));
    dict_add(root, s.key[K_RECORDS], records);
    for (int k = 0; k < N_KEYS; k++)
        rc_decref(s.key[k]);
    for (int k = 0; k < N_TAGS; k++)
        rc_decref(s.tag[k]);
    *items = 3 + tops * doc_nodes_per_top();
    if ((size_t)s.next * 10 + 3 != *items)
        die("doc: %lld records for %zu nodes", (long long)s.next, *items);
    return root;
}

/* ------------------------------------------------------------------------
 * CPython, through types_peer.py
 */
/* types_peer.py; its result lines are " key=value" fields. */
static bench_python cpython = {RC_BENCH_PEER, "types_peer.py", " ", 0,
                               RC_BENCH_PYTHON};

/* types_peer.py WORKLOAD N MODE, or die. */
static void python_run(const char *what, size_t n, const char *mode,
                       char *line, size_t cap)
{
    char args[128];
    snprintf(args, sizeof args, "%s %zu %s", what, n, mode);
    if (python_call(&cpython, "", args, line, cap) != 0)
        die("types_peer.py %s failed", args);
}

/* ------------------------------------------------------------------------
 * (a)..(e): runs
 */
typedef struct workload {
    const char *tag;   /* selects it on the command line */
    const char *name;  /* row label, at most 30 characters */
    const char *peer;  /* types_peer.py's name for it */
    build_fn build;
    double mem_goal;   /* rcgc/CPython bytes per item at most */
} workload;

static const workload workloads[] = {
    {"a", "(a) ints 10^6+i in a list", "ints", build_ints, 2.0 / 3},
    {"b", "(b) floats in a list", "floats", build_floats, 2.0 / 3},
    {"c", "(c) small ints i%1000 in list", "small", build_small, 0},
    {"d", "(d) dict str 'key<i>' -> int", "dict", build_dict, 0.5},
    {"e", "(e) JSON-like document tree", "doc", build_doc, 0.5},
};
#define N_WORK (sizeof workloads / sizeof workloads[0])

enum { P_RCGC, P_PYTHON, N_PEER };

typedef struct run_result {
    double build_ns, drop_ns; /* timed ns */
    double items;             /* what they are divided over */
    double gc_ns;             /* rcgc: collector time during the build */
} run_result;

static run_result rcgc_timed(const workload *w, size_t n)
{
    rc_heap *h = heap_ready();
    size_t base = live_blocks(h), items;
    uint64_t gc0 = gc_time_ns(h);
    uint64_t t0 = now_ns();
    void *root = w->build(h, n, &items);
    uint64_t t1 = now_ns();
    uint64_t gc1 = gc_time_ns(h);
    uint64_t t2 = now_ns();
    rc_decref(root);
    uint64_t t3 = now_ns();
    rc_freelists_clear(h);
    if (live_blocks(h) != base)
        die("rcgc %s: %zu blocks left after the drop", w->peer,
            live_blocks(h) - base);
    rc_heap_free(h);
    return (run_result){(double)(t1 - t0), (double)(t3 - t2), (double)items,
                        (double)(gc1 - gc0)};
}

static run_result python_timed(const workload *w, size_t n)
{
    char line[512];
    python_run(w->peer, n, "time", line, sizeof line);
    return (run_result){python_field(&cpython, line, "build_ns"),
                        python_field(&cpython, line, "drop_ns"),
                        python_field(&cpython, line, "items"), -1};
}

typedef struct type_share {
    const char *type;  /* type name */
    double bytes;      /* live bytes per item (objects and owned buffers) */
    double objects;    /* objects per item */
} type_share;

#define MAX_SHARES 6

typedef struct timing {
    int ran;                 /* the workload was selected */
    double items;            /* items per run */
    double build[N_PEER];    /* median ns per item */
    double drop[N_PEER];
    double build_ms[N_PEER]; /* median ms per run */
    double gc_ms;            /* rcgc: median collector ms during the build */
    /* memory, bytes per item */
    double live, os;         /* rcgc */
    double traced, blocks;   /* CPython */
    type_share share[MAX_SHARES]; /* rcgc's live bytes by type */
    size_t shares;
} timing;

/* One untimed rcgc build: allocator statistics and census deltas. */
static void rcgc_memory(const workload *w, size_t n, timing *t)
{
    rc_heap *h = heap_ready();
    rc_alloc_stats a, b;
    rc_census *c0 = rc_census_take(h);
    rc_alloc_stats_get(h, &a);
    size_t items;
    void *root = w->build(h, n, &items);
    rc_alloc_stats_get(h, &b);
    rc_census *c1 = rc_census_take(h);
    if (!c0 || !c1)
        die("rc_census_take failed");
    double per = (double)items;
    t->live = (double)((b.small_bytes + b.large_bytes + b.huge_bytes) -
                       (a.small_bytes + a.large_bytes + a.huge_bytes)) / per;
    t->os = (double)(b.os_bytes - a.os_bytes) / per;
    rc_census_diff d[MAX_SHARES];
    size_t nd = rc_census_compare(c1, c0, d, MAX_SHARES);
    t->shares = 0;
    for (size_t i = 0; i < nd && i < MAX_SHARES; i++)
        if (d[i].bytes_diff > 0)
            t->share[t->shares++] = (type_share){d[i].type->name,
                                                 (double)d[i].bytes_diff / per,
                                                 (double)d[i].objects_diff / per};
    rc_census_free(c0);
    rc_census_free(c1);
    rc_decref(root);
    rc_heap_free(h);
}

static timing time_workload(const workload *w, const bench_sizes *z)
{
    double build[N_PEER][MAX_RUNS], drop[N_PEER][MAX_RUNS];
    double ms[N_PEER][MAX_RUNS], gc[MAX_RUNS];
    timing t;
    memset(&t, 0, sizeof t);
    t.ran = 1;
    for (int r = 0; r < z->runs; r++)
        for (int p = 0; p < N_PEER; p++) {
            if (p == P_PYTHON && !cpython.ok)
                continue;
            run_result s = p == P_RCGC ? rcgc_timed(w, z->items)
                                       : python_timed(w, z->items);
            if (p == P_RCGC)
                t.items = s.items;
            else if (s.items != t.items)
                die("%s: CPython built %.0f items, rcgc %.0f", w->peer,
                    s.items, t.items);
            build[p][r] = s.build_ns / s.items;
            drop[p][r] = s.drop_ns / s.items;
            ms[p][r] = s.build_ns / 1e6;
            if (p == P_RCGC)
                gc[r] = s.gc_ns / 1e6;
        }
    for (int p = 0; p < N_PEER; p++) {
        if (p == P_PYTHON && !cpython.ok)
            continue;
        t.build[p] = median(build[p], z->runs);
        t.drop[p] = median(drop[p], z->runs);
        t.build_ms[p] = median(ms[p], z->runs);
    }
    t.gc_ms = median(gc, z->runs);
    rcgc_memory(w, z->items, &t);
    if (cpython.ok) {
        char line[512];
        python_run(w->peer, z->items, "mem", line, sizeof line);
        double items = python_field(&cpython, line, "items");
        if (items != t.items)
            die("%s: CPython built %.0f items, rcgc %.0f", w->peer, items,
                t.items);
        t.traced = python_field(&cpython, line, "traced") / items;
        t.blocks = python_field(&cpython, line, "blocks") / items;
    }
    return t;
}

/* ------------------------------------------------------------------------
 * (f) free lists: create and drop small lists and dicts in child processes
 */
typedef struct churn_result {
    double ns;      /* per create+drop */
    double parked;  /* blocks still held after the loop (parked objects) */
} churn_result;

static void churn_list(rc_heap *h, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        void *l = must(h, rc_list(h));
        list_add(l, must(h, rc_int(h, 1)));
        list_add(l, must(h, rc_int(h, 2)));
        list_add(l, must(h, rc_int(h, 3)));
        rc_decref(l);
    }
}

static void churn_dict(rc_heap *h, size_t n)
{
    void *ka = must(h, rc_str_intern(h, "a", 1));
    void *kb = must(h, rc_str_intern(h, "b", 1));
    for (size_t i = 0; i < n; i++) {
        void *d = must(h, rc_dict(h));
        dict_add(d, ka, must(h, rc_int(h, 1)));
        dict_add(d, kb, must(h, rc_int(h, 2)));
        rc_decref(d);
    }
    rc_decref(ka);
    rc_decref(kb);
}

/* The child: one timed churn, one line on stdout. */
static int churn_child(const char *kind, const char *count)
{
    int list = strcmp(kind, "list") == 0;
    if (!list && strcmp(kind, "dict") != 0)
        die("--churn-child: list or dict, not %s", kind);
    size_t n = strtoull(count, NULL, 10);
    rc_heap *h = heap_ready();
    rc_decref(must(h, rc_str_intern(h, "a", 1))); /* intern table sized */
    size_t base = live_blocks(h);
    uint64_t t0 = now_ns();
    if (list)
        churn_list(h, n);
    else
        churn_dict(h, n);
    uint64_t t1 = now_ns();
    size_t parked = live_blocks(h) - base;
    rc_freelists_clear(h);
    if (live_blocks(h) != base)
        die("churn %s: %zu blocks left", kind, live_blocks(h) - base);
    rc_heap_free(h);
    printf("result ns=%.1f parked=%zu\n", (double)(t1 - t0) / (double)n,
           parked);
    return 0;
}

/* Run this binary as a churn child, with or without free lists. */
static churn_result churn_spawn(const char *kind, size_t n, int freelists)
{
    int fd[2];
    if (pipe(fd) != 0)
        die("pipe failed");
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0)
        die("fork failed");
    if (pid == 0) {
        char count[32];
        snprintf(count, sizeof count, "%zu", n);
        dup2(fd[1], STDOUT_FILENO);
        close(fd[0]);
        close(fd[1]);
        if (freelists)
            unsetenv("RCGC_NO_FREELISTS");
        else
            setenv("RCGC_NO_FREELISTS", "1", 1);
        execl("/proc/self/exe", "bench_types", "--churn-child", kind, count,
              (char *)NULL);
        _exit(127);
    }
    close(fd[1]);
    FILE *f = fdopen(fd[0], "r");
    char line[256] = "";
    if (!f || !fgets(line, sizeof line, f))
        line[0] = '\0';
    if (f)
        fclose(f);
    int status;
    waitpid(pid, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || !line[0])
        die("churn child (%s, free lists %s) failed", kind,
            freelists ? "on" : "off");
    churn_result r = {python_field(&cpython, line, "ns"),
                      python_field(&cpython, line, "parked")};
    if ((r.parked > 0) != (freelists != 0))
        die("churn %s: %.0f blocks parked with free lists %s: "
            "RCGC_NO_FREELISTS did not act", kind, r.parked,
            freelists ? "on" : "off");
    return r;
}

enum { F_ON, F_OFF, F_PY, N_F };

typedef struct churn_timing {
    int ran;
    double ns[2][N_F]; /* [list, dict][on, off, CPython]: median ns per cycle */
} churn_timing;

static churn_timing time_churn(const bench_sizes *z)
{
    static const char *const kinds[2] = {"list", "dict"};
    double v[2][N_F][MAX_RUNS];
    churn_timing t;
    memset(&t, 0, sizeof t);
    t.ran = 1;
    for (int r = 0; r < z->runs; r++)
        for (int k = 0; k < 2; k++) {
            v[k][F_ON][r] = churn_spawn(kinds[k], z->churn, 1).ns;
            v[k][F_OFF][r] = churn_spawn(kinds[k], z->churn, 0).ns;
            if (cpython.ok) {
                char args[64], line[256];
                snprintf(args, sizeof args, "churn %zu %s", z->churn, kinds[k]);
                if (python_call(&cpython, "", args, line, sizeof line) != 0)
                    die("types_peer.py %s failed", args);
                v[k][F_PY][r] =
                    python_field(&cpython, line, "ns") / (double)z->churn;
            }
        }
    for (int k = 0; k < 2; k++)
        for (int f = 0; f < N_F; f++)
            t.ns[k][f] = f == F_PY && !cpython.ok ? -1
                                                  : median(v[k][f], z->runs);
    return t;
}

/* ------------------------------------------------------------------------
 * (g) the small-int cache
 */
typedef struct int_census {
    size_t ints;       /* int references in the structure */
    size_t rcgc_hits;  /* values in [RC_SMALL_INT_MIN, RC_SMALL_INT_MAX] */
    size_t cpy_hits;   /* values in CPython's [-5, 256] */
} int_census;

/* Count the ints reachable from o (lists and dicts; the trees here are a
   few levels deep). */
static void count_ints(const void *o, int_census *c)
{
    const rc_type *t = rc_typeof(o);
    if (t == &rc_int_type) {
        int64_t v = rc_int_value(o);
        c->ints++;
        c->rcgc_hits += v >= RC_SMALL_INT_MIN && v <= RC_SMALL_INT_MAX;
        c->cpy_hits += v >= CPY_SMALL_MIN && v <= CPY_SMALL_MAX;
    } else if (t == &rc_list_type || t == &rc_dict_type) {
        rc_iter it;
        void *k, *v;
        rc_iter_init(&it, o);
        while (rc_iter_next(&it, &k, &v) == 1) {
            count_ints(k, c);
            if (t == &rc_dict_type)
                count_ints(v, c);
        }
    }
}

static int_census census_of(build_fn build, size_t n)
{
    rc_heap *h = heap_ready();
    size_t items;
    void *root = build(h, n, &items);
    int_census c = {0, 0, 0};
    count_ints(root, &c);
    rc_decref(root);
    rc_heap_free(h);
    return c;
}

typedef struct int_timing {
    int ran;
    int_census small, doc;   /* (c), (e) */
    double create[2], drop[2]; /* [cached, uncached]: median ns per call */
    double cache_bytes;      /* what filling the cache costs a heap */
} int_timing;

/* n rc_int calls into a (cached: values 0..511; else distinct values
   above every cache), then n rc_decref; ns per call into *create, *drop. */
static void time_ints(size_t n, int cached, void **a, double *create,
                      double *drop)
{
    rc_heap *h = heap_ready();
    size_t base = live_blocks(h);
    uint64_t t0 = now_ns();
    if (cached)
        for (size_t i = 0; i < n; i++)
            a[i] = rc_int(h, (int64_t)(i & 511));
    else
        for (size_t i = 0; i < n; i++)
            a[i] = rc_int(h, INT_BASE + (int64_t)i);
    uint64_t t1 = now_ns();
    for (size_t i = 0; i < n; i++)
        rc_decref(a[i]);
    uint64_t t2 = now_ns();
    for (size_t i = 0; i < n; i++)
        if (!a[i])
            die("rc_int failed");
    if (live_blocks(h) != base)
        die("rc_int timing: %zu blocks left", live_blocks(h) - base);
    rc_heap_free(h);
    *create = (double)(t1 - t0) / (double)n;
    *drop = (double)(t2 - t1) / (double)n;
}

static double small_int_cache_bytes(void)
{
    rc_heap *h = rc_heap_new(NULL);
    if (!h)
        die("rc_heap_new failed");
    rc_alloc_stats a, b;
    rc_decref(must(h, rc_list(h)));     /* the types state */
    rc_freelists_clear(h);
    rc_decref(must(h, rc_int(h, INT_BASE))); /* int's type record */
    rc_alloc_stats_get(h, &a);
    for (int64_t v = RC_SMALL_INT_MIN; v <= RC_SMALL_INT_MAX; v++)
        rc_decref(must(h, rc_int(h, v)));
    rc_alloc_stats_get(h, &b);
    rc_heap_free(h);
    /* the slot array lives in the types state, made with the first int */
    return (double)(b.small_bytes - a.small_bytes) +
           (double)(RC_SMALL_INT_MAX - RC_SMALL_INT_MIN + 1) * sizeof(void *);
}

static int_timing time_small_ints(const bench_sizes *z)
{
    int_timing t;
    memset(&t, 0, sizeof t);
    t.ran = 1;
    t.small = census_of(build_small, z->items);
    t.doc = census_of(build_doc, z->items);
    t.cache_bytes = small_int_cache_bytes();
    void **a = malloc(z->int_calls * sizeof *a);
    if (!a)
        die("malloc failed");
    double c[2][MAX_RUNS], d[2][MAX_RUNS];
    for (int r = 0; r < z->runs; r++)
        for (int k = 0; k < 2; k++)
            time_ints(z->int_calls, k == 0, a, &c[k][r], &d[k][r]);
    free(a);
    for (int k = 0; k < 2; k++) {
        t.create[k] = median(c[k], z->runs);
        t.drop[k] = median(d[k], z->runs);
    }
    return t;
}

/* ------------------------------------------------------------------------
 * Report
 */
static void print_header(const bench_sizes *z, int quick)
{
    printf("bench_types: rcgc built-in types (int, float, str, list, dict) "
           "vs CPython%s\n", quick ? BENCH_QUICK_NOTE : "");
    print_machine();
    double load[3];
    if (getloadavg(load, 3) == 3)
        printf("load:     %.2f %.2f %.2f (1, 5, 15 min) at the start\n",
               load[0], load[1], load[2]);
    printf("versions: rcgc %s, glibc %s; compiler %s\n", RC_VERSION,
           gnu_get_libc_version(), __VERSION__);
    python_start(&cpython, "\n          ", "");
    const char *nofl = getenv("RCGC_NO_FREELISTS");
    if (nofl && *nofl)
        printf("note:     RCGC_NO_FREELISTS=%s is set: (a)-(e) run with "
               "whatever it means\n", nofl);
    printf("sizes:    (a)-(d) %zu items; (e) %zu nodes (%zu records); "
           "(f) %zu create+drop;\n          (g) %zu rc_int calls\n",
           z->items, 3 + doc_tops(z->items) * doc_nodes_per_top(),
           doc_tops(z->items) * doc_nodes_per_top() / 10, z->churn,
           z->int_calls);
    printf("method:   rcgc: a fresh default heap per run (automatic "
           "collection on), small-int cache\n          filled before "
           "timing; drop = one rc_decref of the root.  CPython: one "
           "process per\n          run, build and `del` timed with "
           "perf_counter_ns, gc on.  Memory: one more build\n          "
           "each, untimed: rcgc rc_alloc_stats deltas (live = small+large+"
           "huge bytes,\n          os = os_bytes); CPython in its own "
           "process under tracemalloc: traced =\n          "
           "get_traced_memory() delta (bytes requested: the goals are "
           "judged on it),\n          blocks = those traces rounded to "
           "pymalloc/glibc blocks (like rcgc's live)\n");
    printf("goals:    memory per item <= 2/3 of CPython's for (a),(b), "
           "<= 1/2 for (d),(e);\n          build >= 3x and drop >= 2x "
           "faster than CPython on (a)-(e)\n          (rcgc/CPython <= "
           "0.333 and <= 0.500); (f) the free lists pay for themselves\n\n");
}

static void print_memory(const timing t[N_WORK], int have_py)
{
    printf("memory, bytes per item (one untimed build each; deterministic)\n"
           "%-30s%10s%10s%12s%12s%13s%13s\n", "workload", "rcgc live",
           "rcgc os", "CPy traced", "CPy blocks", "live/traced",
           "live/blocks");
    for (size_t w = 0; w < N_WORK; w++) {
        if (!t[w].ran)
            continue;
        printf("%-30s%10.2f%10.2f", workloads[w].name, t[w].live, t[w].os);
        if (have_py)
            printf("%12.2f%12.2f%13.3f%13.3f\n", t[w].traced, t[w].blocks,
                   t[w].live / t[w].traced, t[w].live / t[w].blocks);
        else
            printf("%12s%12s%13s%13s\n", "-", "-", "-", "-");
    }
    printf("rcgc live bytes per item by type (census delta: objects with "
           "their header, lists'\nitem arrays and dicts' tables counted "
           "with their owner; objects per item in brackets)\n");
    for (size_t w = 0; w < N_WORK; w++) {
        if (!t[w].ran)
            continue;
        printf("  %.3s", workloads[w].name);
        for (size_t i = 0; i < t[w].shares; i++)
            printf("%s %s %.2f (%.3f)", i ? "," : "", t[w].share[i].type,
                   t[w].share[i].bytes, t[w].share[i].objects);
        printf("\n");
    }
    printf("\n");
}

static void print_times(const timing t[N_WORK], int runs, int have_py)
{
    printf("time, ns per item, median of %d interleaved runs (lower is "
           "better); rcgc/CPython < 1: rcgc faster\n%-30s%10s%10s%8s%10s"
           "%10s%8s%9s%9s%9s\n", runs, "workload", "build", "build",
           "ratio", "drop", "drop", "ratio", "rcgc ms", "CPy ms", "gc ms");
    printf("%-30s%10s%10s%8s%10s%10s%8s%9s%9s%9s\n", "", "rcgc", "CPython",
           "", "rcgc", "CPython", "", "build", "build", "in build");
    for (size_t w = 0; w < N_WORK; w++) {
        if (!t[w].ran)
            continue;
        const timing *r = &t[w];
        printf("%-30s%10.2f", workloads[w].name, r->build[P_RCGC]);
        if (have_py)
            printf("%10.2f%8.3f", r->build[P_PYTHON],
                   r->build[P_RCGC] / r->build[P_PYTHON]);
        else
            printf("%10s%8s", "-", "-");
        printf("%10.2f", r->drop[P_RCGC]);
        if (have_py)
            printf("%10.2f%8.3f", r->drop[P_PYTHON],
                   r->drop[P_RCGC] / r->drop[P_PYTHON]);
        else
            printf("%10s%8s", "-", "-");
        printf("%9.1f", r->build_ms[P_RCGC]);
        if (have_py)
            printf("%9.1f", r->build_ms[P_PYTHON]);
        else
            printf("%9s", "-");
        printf("%9.1f\n", r->gc_ms);
    }
    printf("  gc ms in build: rcgc's collector time during the build "
           "(rc_gc_stats time_ns)\n\n");
}

/* Verdict on a free-list on/off ratio: 3% either way is noise here. */
static const char *pays(double ratio)
{
    return ratio < 0.97 ? "pays" : ratio > 1.03 ? "COSTS" : "no clear effect";
}

static void print_churn(const churn_timing *c, int runs)
{
    static const char *const label[2] = {"list, append 3 ints, drop",
                                         "dict, set 2 str keys, drop"};
    printf("(f) free lists: ns per create+drop, median of %d interleaved "
           "runs, each a child process\n    (off: RCGC_NO_FREELISTS=1 in "
           "the child's environment; every child checks that it acted)\n"
           "%-30s%10s%10s%10s%12s  %s\n", runs, "", "on", "off", "on/off",
           "CPython", "verdict");
    for (int k = 0; k < 2; k++) {
        double ratio = c->ns[k][F_ON] / c->ns[k][F_OFF];
        printf("%-30s%10.2f%10.2f%10.3f", label[k], c->ns[k][F_ON],
               c->ns[k][F_OFF], ratio);
        if (c->ns[k][F_PY] >= 0)
            printf("%12.2f", c->ns[k][F_PY]);
        else
            printf("%12s", "-");
        printf("  %s\n", pays(ratio));
    }
    printf("\n");
}

static void print_census_line(const char *what, const int_census *c)
{
    printf("  %-34s %8zu ints: %5.1f%% cached by rcgc [%d, %d], %5.1f%% "
           "by CPython's [%d, %d]\n", what, c->ints,
           100.0 * (double)c->rcgc_hits / (double)c->ints, RC_SMALL_INT_MIN,
           RC_SMALL_INT_MAX, 100.0 * (double)c->cpy_hits / (double)c->ints,
           CPY_SMALL_MIN, CPY_SMALL_MAX);
}

static void print_small_ints(const int_timing *g, int runs)
{
    printf("(g) small-int cache [%d, %d]: rc_int results served by it "
           "(each stored once in the structure)\n", RC_SMALL_INT_MIN,
           RC_SMALL_INT_MAX);
    print_census_line("(c) small ints in a list", &g->small);
    print_census_line("(e) JSON-like document tree", &g->doc);
    char label[64];
    snprintf(label, sizeof label, "ns per call, median of %d interleaved runs:",
             runs);
    printf("  %-44s%8s%11s\n", label, "rc_int", "rc_decref");
    printf("  %-44s%8.2f%11.2f\n", "cached (values 0..511, immortal)",
           g->create[0], g->drop[0]);
    printf("  %-44s%8.2f%11.2f\n", "not cached (distinct values >= 10^6)",
           g->create[1], g->drop[1]);
    printf("  the cache costs a heap %.0f bytes (objects and slot array) "
           "once it is full;\n  a cached value saves 16 bytes per "
           "int object (see (c) against (a))\n\n", g->cache_bytes);
}

/* One goal: met when value <= limit. */
static void print_goal(const char *what, int ok, double value, double limit)
{
    if (!ok)
        printf("  %-46s n/a (not run)\n", what);
    else
        printf("  %-46s %9.3f vs %9.3f  %s\n", what, value, limit,
               value <= limit ? "met" : "MISSED");
}

static void print_goals(const timing t[N_WORK], const churn_timing *c,
                        int have_py)
{
    char what[96];
    printf("goals (rcgc/CPython vs limit)\n");
    for (size_t w = 0; w < N_WORK; w++) {
        const timing *r = &t[w];
        const char *tag = workloads[w].name;
        int ok = r->ran && have_py;
        if (workloads[w].mem_goal > 0) {
            snprintf(what, sizeof what, "%.3s bytes/item vs traced <= %s", tag,
                     workloads[w].mem_goal < 0.6 ? "1/2" : "2/3");
            print_goal(what, ok, r->live / r->traced, workloads[w].mem_goal);
            if (ok)
                printf("  %-46s %9.3f (vs blocks, like for like: %s)\n", "",
                       r->live / r->blocks,
                       r->live / r->blocks <= workloads[w].mem_goal ? "met"
                                                                    : "missed");
        }
        snprintf(what, sizeof what, "%.3s build ns/item <= 1/3", tag);
        print_goal(what, ok, r->build[P_RCGC] / r->build[P_PYTHON], 1.0 / 3);
        snprintf(what, sizeof what, "%.3s drop ns/item <= 1/2", tag);
        print_goal(what, ok, r->drop[P_RCGC] / r->drop[P_PYTHON], 0.5);
    }
    print_goal("(f) list free list: on/off < 1", c->ran,
               c->ns[0][F_ON] / c->ns[0][F_OFF], 1.0);
    print_goal("(f) dict free list: on/off < 1", c->ran,
               c->ns[1][F_ON] / c->ns[1][F_OFF], 1.0);
}

int main(int argc, char **argv)
{
    if (argc == 4 && strcmp(argv[1], "--churn-child") == 0)
        return churn_child(argv[2], argv[3]);
    char **tags;
    int ntags;
    int quick = parse_args(argc, argv, &tags, &ntags);
    for (int i = 0; i < ntags; i++)
        if (strlen(tags[i]) != 1 || tags[i][0] < 'a' || tags[i][0] > 'g')
            return usage(argv[0], "WORKLOAD", "a b c d e f g");
    const bench_sizes *z = quick ? &quick_sizes : &full_sizes;
    print_header(z, quick);
    timing t[N_WORK];
    memset(t, 0, sizeof t);
    for (size_t w = 0; w < N_WORK; w++) {
        if (!selected(workloads[w].tag, tags, ntags))
            continue;
        fflush(stdout);
        fprintf(stderr, "bench_types: %s\n", workloads[w].name);
        t[w] = time_workload(&workloads[w], z);
    }
    churn_timing c;
    memset(&c, 0, sizeof c);
    if (selected("f", tags, ntags)) {
        fprintf(stderr, "bench_types: (f) free lists\n");
        c = time_churn(z);
    }
    int_timing g;
    memset(&g, 0, sizeof g);
    if (selected("g", tags, ntags)) {
        fprintf(stderr, "bench_types: (g) small ints\n");
        g = time_small_ints(z);
    }
    int have_mem = 0;
    for (size_t w = 0; w < N_WORK; w++)
        have_mem |= t[w].ran;
    if (have_mem) {
        print_memory(t, cpython.ok);
        print_times(t, z->runs, cpython.ok);
    }
    if (c.ran)
        print_churn(&c, z->runs);
    if (g.ran)
        print_small_ints(&g, z->runs);
    if (quick)
        printf("goals not judged in --quick mode\n");
    else
        print_goals(t, &c, cpython.ok);
    return 0;
}
