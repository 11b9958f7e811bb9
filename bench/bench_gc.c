/*
 * bench_gc.c — rcgc's managed objects and cycle collector against CPython 3
 * (same graph shapes, run by gc_peer.py in a child python3), Boehm GC and
 * malloc/free, side by side in one bench run.
 *
 * What it measures (the workloads of the collector issue):
 *  (1) a full collection that finds nothing: a binary tree of 1,000,000
 *      tracked two-slot nodes in breadth-first order, built with automatic
 *      collection off; one full collection promotes it to the oldest
 *      generation, the next one is timed.  ns per live object, and the ms
 *      of that collection (and of the first, promoting one).  Boehm: the
 *      same tree from GC_MALLOC, GC_gcollect timed the same way (shown for
 *      information: it marks the live tree, it never sees garbage).
 *  (2) 500,000 unreachable two-node cycles, built with automatic collection
 *      off; one full collection, timed.  ns per object reclaimed.
 *  (3) create and drop 1,000,000 nodes by reference counting, no cycles:
 *      ns per object.  Peers: CPython (same loop), malloc/free and Boehm
 *      (GC_MALLOC, dropped) of the same payload; (3b) shows an untracked
 *      rcgc leaf of the same payload for information.
 *  (4) GCBench (Boehm's GCBench.c shape): stretch tree of depth 18, a
 *      long-lived tree (depth 20 here, as the issue asks; GCBench uses 16)
 *      and a long-lived array of 500,000 doubles, then for depth d in
 *      4,6,..,16, 2*treeSize(18)/treeSize(d) temporary trees built top-down
 *      (Populate) and as many bottom-up (MakeTree).  Nodes are GCBench's
 *      {left, right, i, j} (24 B).  rcgc: refcounting frees the temporary
 *      trees, automatic collection on (the default heap); Boehm: GC_MALLOC,
 *      no free; malloc: explicit recursive free.  ns per node allocated and
 *      total ms; (4b) a node type declared with rc_type_acyclic, which the collector never
 *      examines, for information.
 *
 * How:
 *  - One table of workloads, each with one function per peer (NULL: not
 *    run there).  Runs are interleaved (rcgc, CPython, Boehm, malloc,
 *    rcgc, ...) 5 times (--quick: 3); medians are reported with rcgc/peer ratios (below
 *    1: rcgc is faster).  Minor page faults of the timed region are shown
 *    for (4).
 *  - rcgc gets a fresh default heap per run, made and freed outside the
 *    timed region.  Boehm's heap is the process's and grows across runs;
 *    glibc keeps freed memory across runs too.
 *  - CPython runs as `python3 -I -S gc_peer.py WORKLOAD N` once per timed
 *    run (popen), which times itself and prints one line.  It also scans
 *    its own few thousand tracked objects in every full collection (the
 *    table's notes say how many).  The interpreter is the python3 CMake
 *    found, replaced by its sys.executable once it answers (a pyenv shim
 *    would add its own start-up to every run).  No python3: that peer is
 *    skipped with a message.
 *  - Every run checks its result (objects collected, tree intact).
 *
 * Usage: bench_gc [--cpu] [--quick] [WORKLOAD...]
 *   --cpu: time each run in the CPU time of the thread that runs it
 *          (rcgc, CPython's time.thread_time_ns, Boehm's calling thread:
 *          its extra marker threads are not counted), so that a loaded
 *          machine's preemption does not count;
 *   --quick: tiny sizes, only proves it runs;
 *   WORKLOAD: 1 2 3 3b 4 4b, to run (and profile) some rows only.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <gc.h>
#include <gnu/libc-version.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_common.h"
#include "rcgc.h"

#ifndef RC_BENCH_PEER
#define RC_BENCH_PEER "gc_peer.py"
#endif

/* Exported by Debian's threaded libgc; gc.h declares it only with
   GC_THREADS, which would also redirect pthread_create. */
extern int GC_get_parallel(void);

/* ------------------------------------------------------------------------
 * Sizes of one bench run
 */
typedef struct bench_sizes {
    size_t live;          /* (1) live tracked objects */
    size_t cycles;        /* (2) objects in two-object cycles */
    size_t churn;         /* (3) objects created and dropped */
    int stretch_depth;    /* (4) GCBench kStretchTreeDepth */
    int long_lived_depth; /* (4) kLongLivedTreeDepth */
    int min_depth;        /* (4) kMinTreeDepth */
    int max_depth;        /* (4) kMaxTreeDepth */
    size_t array_size;    /* (4) kArraySize */
    int runs;             /* timed repetitions; the median is reported */
} bench_sizes;

#define MAX_RUNS 5
static const bench_sizes full_sizes = {1000000, 1000000, 1000000,
                                       18, 20, 4, 16, 500000, MAX_RUNS};
static const bench_sizes quick_sizes = {20000, 20000, 20000,
                                        10, 10, 4, 8, 1000, 3};

/* ------------------------------------------------------------------------
 * Harness helpers (the rest are in bench_common.h)
 */
/* Keeps a pointer observable, so the compiler cannot drop an allocation. */
static void *volatile sink;

/* ------------------------------------------------------------------------
 * Results of one run
 */
typedef struct result {
    double ns;       /* timed ns */
    double objects;  /* what ns is divided over */
    double extra_ns; /* (1) first, promoting collection; (4) time in the
                        collector; < 0: none */
    double faults;   /* minor page faults in the timed region */
} result;

typedef struct clock_mark {
    uint64_t t;     /* ns at the start */
    double faults;  /* faults at the start */
} clock_mark;

/* --cpu: the timed regions count the thread's CPU time. */
static int cpu_clock;

static uint64_t clock_ns(void)
{
    return cpu_clock ? cpu_ns() : now_ns();
}

static clock_mark mark_now(void)
{
    return (clock_mark){clock_ns(), minor_faults()};
}

static result result_since(clock_mark m, double objects)
{
    return (result){(double)(clock_ns() - m.t), objects, -1,
                    minor_faults() - m.faults};
}

/* ------------------------------------------------------------------------
 * rcgc types
 */
typedef struct node {
    void *left, *right;  /* children: rcgc objects, Boehm or malloc blocks */
} node;

/* GCBench's Node: two children and two ints (24 B). */
typedef struct gnode {
    void *left, *right;  /* children */
    int i, j;            /* unused payload, as in GCBench */
} gnode;

static void node_traverse(void *self, rc_visit_fn visit, void *ctx)
{
    node *n = self;
    visit(&n->left, ctx);
    visit(&n->right, ctx);
}

static void gnode_traverse(void *self, rc_visit_fn visit, void *ctx)
{
    gnode *n = self;
    visit(&n->left, ctx);
    visit(&n->right, ctx);
}

static const rc_type node_type = {.name = "node", .size = sizeof(node),
                                  .traverse = node_traverse};
static const rc_type leaf_type = {.name = "leaf", .size = sizeof(node)};
static const rc_type gnode_type = {.name = "gcbench_node", .size = sizeof(gnode),
                                   .traverse = gnode_traverse};
static const rc_type gnode_acyclic_type = {.name = "gcbench_node_acyclic",
                                           .size = sizeof(gnode),
                                           .traverse = gnode_traverse};
static const rc_type doubles_type = {.name = "double_array", .size = 0};

static rc_heap *heap_open(void)
{
    rc_heap *h = rc_heap_new(NULL);
    if (!h)
        die("rc_heap_new failed");
    return h;
}

static void *rc_must_new(rc_heap *h, const rc_type *t)
{
    void *o = rc_new(h, t);
    if (!o)
        die("rc_new(%s) failed", t->name);
    return o;
}

/* Live blocks of all kinds: a heap's own records (one per type used) count
   too, so checks compare with a count taken after the types are known. */
static size_t live_blocks(const rc_heap *h)
{
    rc_alloc_stats s;
    rc_alloc_stats_get(h, &s);
    return s.small_blocks + s.large_blocks + s.huge_blocks;
}

static void *gc_must_malloc(size_t n)
{
    void *p = GC_MALLOC(n);
    if (!p)
        die("GC_MALLOC(%zu) failed", n);
    return p;
}

static void *must_malloc(size_t n)
{
    void *p = malloc(n);
    if (!p)
        die("malloc(%zu) failed", n);
    return p;
}

/* ------------------------------------------------------------------------
 * (1) full collection over a live tree
 *
 * The tree is built in breadth-first order: node i has children 2i+1 and
 * 2i+2, each child's creation reference moved into its parent's slot.
 */
static void link_tree(node **nodes, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (2 * i + 1 < n)
            nodes[i]->left = nodes[2 * i + 1];
        if (2 * i + 2 < n)
            nodes[i]->right = nodes[2 * i + 2];
    }
}

static result rcgc_live(const bench_sizes *z)
{
    rc_heap *h = heap_open();
    node **nodes = must_malloc(z->live * sizeof *nodes);
    rc_gc_enable(h, 0);
    for (size_t i = 0; i < z->live; i++)
        nodes[i] = rc_must_new(h, &node_type);
    link_tree(nodes, z->live);
    node *root = nodes[0];
    free(nodes);
    rc_gc_enable(h, 1);
    clock_mark m0 = mark_now();
    size_t found = rc_collect(h, -1);
    clock_mark m = mark_now();
    found += rc_collect(h, -1);
    result r = result_since(m, (double)z->live);
    r.extra_ns = (double)(m.t - m0.t);
    rc_gc_stats st;
    rc_gc_stats_get(h, &st);
    if (found || st.tracked[2] != z->live)
        die("rcgc live: %zu collected, %zu in generation 2 (want 0, %zu)",
            found, st.tracked[2], z->live);
    rc_decref(root);
    rc_heap_free(h);
    return r;
}

/* Boehm finds the tree through this static root.  The index is GC_MALLOC'd
   (Boehm does not scan malloc'd memory) and lives only in the builder's
   frame, popped before the collections, so they do not mark it. */
static node *volatile boehm_root;

static __attribute__((noinline)) void boehm_build_tree(size_t n)
{
    node **nodes = gc_must_malloc(n * sizeof *nodes);
    for (size_t i = 0; i < n; i++)
        nodes[i] = gc_must_malloc(sizeof(node));
    link_tree(nodes, n);
    boehm_root = nodes[0];
}

static result boehm_live(const bench_sizes *z)
{
    boehm_build_tree(z->live);
    clock_mark m0 = mark_now();
    GC_gcollect();
    clock_mark m = mark_now();
    GC_gcollect();
    result r = result_since(m, (double)z->live);
    r.extra_ns = (double)(m.t - m0.t);
    boehm_root = NULL;
    return r;
}

/* ------------------------------------------------------------------------
 * (2) unreachable two-object cycles
 */
static result rcgc_cycles(const bench_sizes *z)
{
    rc_heap *h = heap_open();
    size_t pairs = z->cycles / 2;
    rc_gc_enable(h, 0);
    for (size_t i = 0; i < pairs; i++) {
        node *a = rc_must_new(h, &node_type), *b = rc_must_new(h, &node_type);
        a->left = b; /* each creation reference moves into the other */
        b->left = a;
    }
    clock_mark m = mark_now();
    size_t found = rc_collect(h, -1);
    result r = result_since(m, (double)(2 * pairs));
    if (found != 2 * pairs)
        die("rcgc cycles: %zu collected, want %zu", found, 2 * pairs);
    rc_heap_free(h);
    return r;
}

/* ------------------------------------------------------------------------
 * (3) create and drop by reference count
 */
static result rcgc_churn_of(const bench_sizes *z, const rc_type *t)
{
    rc_heap *h = heap_open();
    rc_decref(rc_must_new(h, t)); /* the type's record, untimed */
    size_t blocks = live_blocks(h);
    clock_mark m = mark_now();
    for (size_t i = 0; i < z->churn; i++)
        rc_decref(rc_must_new(h, t));
    result r = result_since(m, (double)z->churn);
    if (live_blocks(h) != blocks)
        die("rcgc churn: %zu blocks left", live_blocks(h) - blocks);
    rc_heap_free(h);
    return r;
}

static result rcgc_churn(const bench_sizes *z)
{
    return rcgc_churn_of(z, &node_type);
}

static result rcgc_churn_leaf(const bench_sizes *z)
{
    return rcgc_churn_of(z, &leaf_type);
}

static result malloc_churn(const bench_sizes *z)
{
    clock_mark m = mark_now();
    for (size_t i = 0; i < z->churn; i++) {
        node *n = must_malloc(sizeof *n);
        n->left = n->right = NULL;
        sink = n;
        free(n);
    }
    return result_since(m, (double)z->churn);
}

static result boehm_churn(const bench_sizes *z)
{
    clock_mark m = mark_now();
    for (size_t i = 0; i < z->churn; i++)
        sink = gc_must_malloc(sizeof(node));
    sink = NULL;
    return result_since(m, (double)z->churn);
}

/* ------------------------------------------------------------------------
 * (4) GCBench
 *
 * One set of tree builders per memory manager; each counts its nodes.
 */
static size_t tree_size(int depth)
{
    return ((size_t)1 << (depth + 1)) - 1;
}

static size_t num_iters(const bench_sizes *z, int depth)
{
    return 2 * tree_size(z->stretch_depth) / tree_size(depth);
}

typedef struct gcbench_ops {
    void *(*make_node)(void *st, void *left, void *right);
    void (*drop_tree)(void *st, void *root);  /* NULL: the collector's job */
    void *(*make_array)(void *st, size_t n);  /* n doubles */
    void (*drop_array)(void *st, void *a);
} gcbench_ops;

typedef struct gcbench {
    const gcbench_ops *ops;
    void *st;      /* the manager's state (rcgc: rcgc_bench_state) */
    size_t nodes;  /* nodes allocated */
} gcbench;

static gnode *new_node(gcbench *b, void *left, void *right)
{
    b->nodes++;
    return b->ops->make_node(b->st, left, right);
}

/* Top-down: children are made before they are filled in. */
static void populate(gcbench *b, int depth, gnode *n)
{
    if (depth <= 0)
        return;
    depth--;
    n->left = new_node(b, NULL, NULL);
    n->right = new_node(b, NULL, NULL);
    populate(b, depth, n->left);
    populate(b, depth, n->right);
}

/* Bottom-up: children first, then their parent. */
static gnode *make_tree(gcbench *b, int depth)
{
    if (depth <= 0)
        return new_node(b, NULL, NULL);
    gnode *l = make_tree(b, depth - 1);
    gnode *r = make_tree(b, depth - 1);
    return new_node(b, l, r);
}

static void drop_tree(gcbench *b, gnode *root)
{
    if (b->ops->drop_tree)
        b->ops->drop_tree(b->st, root);
}

static void time_construction(gcbench *b, const bench_sizes *z, int depth)
{
    size_t iters = num_iters(z, depth);
    for (size_t i = 0; i < iters; i++) {
        gnode *t = new_node(b, NULL, NULL);
        populate(b, depth, t);
        drop_tree(b, t);
    }
    for (size_t i = 0; i < iters; i++)
        drop_tree(b, make_tree(b, depth));
}

static size_t count_tree(const gnode *n)
{
    return n ? 1 + count_tree(n->left) + count_tree(n->right) : 0;
}

/* The whole of GCBench's main; the long-lived data are released after the
   timed region. */
static result gcbench_run(const gcbench_ops *ops, void *st,
                          const bench_sizes *z)
{
    gcbench b = {ops, st, 0};
    clock_mark m = mark_now();
    drop_tree(&b, make_tree(&b, z->stretch_depth));
    gnode *long_lived = new_node(&b, NULL, NULL);
    populate(&b, z->long_lived_depth, long_lived);
    double *array = ops->make_array(st, z->array_size);
    for (size_t i = 0; i < z->array_size / 2; i++)
        array[i] = 1.0 / (double)i;
    for (int d = z->min_depth; d <= z->max_depth; d += 2)
        time_construction(&b, z, d);
    result r = result_since(m, (double)b.nodes);
    if (count_tree(long_lived) != tree_size(z->long_lived_depth) ||
        array[z->array_size / 4] != 1.0 / (double)(z->array_size / 4))
        die("gcbench: the long-lived data did not survive");
    drop_tree(&b, long_lived);
    ops->drop_array(st, array);
    return r;
}

/* rcgc: a heap and the node type; each node's creation reference moves
   into its parent's slot, and dropping the root frees the tree. */
typedef struct rcgc_bench_state {
    rc_heap *h;         /* fresh for the run */
    const rc_type *t;   /* gnode_type or gnode_acyclic_type */
} rcgc_bench_state;

static void *rcgc_make_node(void *st, void *left, void *right)
{
    rcgc_bench_state *g = st;
    gnode *n = rc_must_new(g->h, g->t);
    n->left = left;
    n->right = right;
    return n;
}

static void rcgc_drop(void *st, void *obj)
{
    (void)st;
    rc_decref(obj);
}

static void *rcgc_make_array(void *st, size_t n)
{
    rcgc_bench_state *g = st;
    void *a = rc_new_var(g->h, &doubles_type, n * sizeof(double));
    if (!a)
        die("rc_new_var(%zu doubles) failed", n);
    return a;
}

static const gcbench_ops rcgc_ops = {rcgc_make_node, rcgc_drop,
                                     rcgc_make_array, rcgc_drop};

static result rcgc_gcbench_of(const bench_sizes *z, const rc_type *t)
{
    rcgc_bench_state g = {heap_open(), t};
    if (t == &gnode_acyclic_type && rc_type_acyclic(g.h, t) != 0)
        die("rc_type_acyclic failed");
    rcgc_drop(&g, rcgc_make_node(&g, NULL, NULL)); /* the types' records */
    rcgc_drop(&g, rcgc_make_array(&g, 1));
    size_t blocks = live_blocks(g.h);
    result r = gcbench_run(&rcgc_ops, &g, z);
    rc_gc_stats st;
    rc_gc_stats_get(g.h, &st);
    r.extra_ns = 0;
    for (int i = 0; i < RC_GC_GENERATIONS; i++)
        r.extra_ns += (double)st.gen[i].time_ns;
    if (live_blocks(g.h) != blocks)
        die("rcgc gcbench: %zu blocks left", live_blocks(g.h) - blocks);
    rc_heap_free(g.h);
    return r;
}

static result rcgc_gcbench(const bench_sizes *z)
{
    return rcgc_gcbench_of(z, &gnode_type);
}

static result rcgc_gcbench_acyclic(const bench_sizes *z)
{
    return rcgc_gcbench_of(z, &gnode_acyclic_type);
}

/* Boehm: GC_MALLOC (zeroed), never freed. */
static void *boehm_make_node(void *st, void *left, void *right)
{
    (void)st;
    gnode *n = gc_must_malloc(sizeof *n);
    n->left = left;
    n->right = right;
    return n;
}

static void *boehm_make_array(void *st, size_t n)
{
    (void)st;
    void *a = GC_MALLOC_ATOMIC(n * sizeof(double));
    if (!a)
        die("GC_MALLOC_ATOMIC(%zu doubles) failed", n);
    return a;
}

static void boehm_drop_array(void *st, void *a)
{
    (void)st;
    (void)a;
}

static const gcbench_ops boehm_ops = {boehm_make_node, NULL,
                                      boehm_make_array, boehm_drop_array};

static result boehm_gcbench(const bench_sizes *z)
{
    unsigned long before = GC_get_full_gc_total_time();
    result r = gcbench_run(&boehm_ops, NULL, z);
    r.extra_ns = (double)(GC_get_full_gc_total_time() - before) * 1e6;
    return r;
}

/* malloc: every field set (malloc does not zero), trees freed by a
   recursive walk (depth <= the deepest tree). */
static void *malloc_make_node(void *st, void *left, void *right)
{
    (void)st;
    gnode *n = must_malloc(sizeof *n);
    *n = (gnode){left, right, 0, 0};
    return n;
}

static void malloc_drop_tree(void *st, void *root)
{
    gnode *n = root;
    if (!n)
        return;
    malloc_drop_tree(st, n->left);
    malloc_drop_tree(st, n->right);
    free(n);
}

static void *malloc_make_array(void *st, size_t n)
{
    (void)st;
    return must_malloc(n * sizeof(double));
}

static void malloc_drop_array(void *st, void *a)
{
    (void)st;
    free(a);
}

static const gcbench_ops malloc_ops = {malloc_make_node, malloc_drop_tree,
                                       malloc_make_array, malloc_drop_array};

static result malloc_gcbench(const bench_sizes *z)
{
    return gcbench_run(&malloc_ops, NULL, z);
}

/* ------------------------------------------------------------------------
 * CPython, through gc_peer.py
 */
/* gc_peer.py; its result lines are "key=value" fields. */
static bench_python cpython = {RC_BENCH_PEER, "gc_peer.py", "", 0,
                               RC_BENCH_PYTHON};
static double python_own; /* tracked objects of the interpreter itself */

static result python_run(const char *workload, size_t n)
{
    char args[128], line[512];
    snprintf(args, sizeof args, "%s %zu%s", workload, n, cpu_clock ? " cpu" : "");
    if (python_call(&cpython, "", args, line, sizeof line) != 0)
        die("gc_peer.py %s failed", args);
    double first = python_field(&cpython, line, "first_ns");
    python_own = python_field(&cpython, line, "own");
    return (result){python_field(&cpython, line, "ns"),
                    python_field(&cpython, line, "objects"),
                    first >= 0 ? first : -1, -1};
}

static result python_live(const bench_sizes *z)
{
    return python_run("live", z->live);
}

static result python_cycles(const bench_sizes *z)
{
    return python_run("cycles", z->cycles);
}

static result python_churn(const bench_sizes *z)
{
    return python_run("churn", z->churn);
}

/* ------------------------------------------------------------------------
 * Workloads and their runs
 */
enum { P_RCGC, P_PYTHON, P_BOEHM, P_MALLOC, N_PEER };
static const char *const peer_name[N_PEER] = {"rcgc", "CPython", "Boehm",
                                              "malloc"};

typedef result (*run_fn)(const bench_sizes *z);

typedef struct workload {
    const char *tag;         /* selects it on the command line */
    const char *name;        /* row label, at most 30 characters */
    run_fn run[N_PEER];      /* NULL: not run on that peer */
    int base;                /* a variant: index of the row whose peers it
                                is compared with; -1: a row of its own */
    const char *extra;       /* label of the extra_ns row; NULL: none */
    int show_faults;         /* print the page-fault row */
} workload;

static const workload workloads[] = {
    {"1", "(1) full collect, 0 garbage", {rcgc_live, python_live, boehm_live, NULL},
     -1, "first (promoting) collect", 0},
    {"2", "(2) collect 2-object cycles", {rcgc_cycles, python_cycles, NULL, NULL},
     -1, NULL, 0},
    {"3", "(3) create+drop by refcount", {rcgc_churn, python_churn, boehm_churn,
     malloc_churn}, -1, NULL, 0},
    {"3b", "(3b) same, untracked leaf", {rcgc_churn_leaf, NULL, NULL, NULL}, 2,
     NULL, 0},
    {"4", "(4) GCBench", {rcgc_gcbench, NULL, boehm_gcbench, malloc_gcbench}, -1,
     "time in the collector", 1},
    {"4b", "(4b) GCBench, acyclic node", {rcgc_gcbench_acyclic, NULL, NULL, NULL},
     4, "time in the collector", 1},
};
#define N_WORK (sizeof workloads / sizeof workloads[0])

typedef struct timing {
    int ran;               /* the workload was selected */
    int have[N_PEER];      /* the peer ran */
    double ns[N_PEER];     /* median ns per object */
    double ms[N_PEER];     /* median ms per run */
    double extra_ms[N_PEER]; /* median extra_ns, in ms; < 0: none */
    double faults[N_PEER]; /* median minor faults per run */
    double objects[N_PEER];/* objects per run */
} timing;

static int peer_runs(const workload *w, int p)
{
    return w->run[p] && (p != P_PYTHON || cpython.ok);
}

/* Runs interleaved across peers; medians per peer. */
static timing time_workload(const workload *w, const bench_sizes *z)
{
    double ns[N_PEER][MAX_RUNS], ms[N_PEER][MAX_RUNS];
    double extra[N_PEER][MAX_RUNS], faults[N_PEER][MAX_RUNS];
    timing t;
    memset(&t, 0, sizeof t);
    t.ran = 1;
    for (int r = 0; r < z->runs; r++)
        for (int p = 0; p < N_PEER; p++) {
            if (!peer_runs(w, p))
                continue;
            result s = w->run[p](z);
            ns[p][r] = s.ns / s.objects;
            ms[p][r] = s.ns / 1e6;
            extra[p][r] = s.extra_ns < 0 ? -1 : s.extra_ns / 1e6;
            faults[p][r] = s.faults;
            t.objects[p] = s.objects;
        }
    for (int p = 0; p < N_PEER; p++) {
        t.have[p] = peer_runs(w, p);
        if (!t.have[p])
            continue;
        t.ns[p] = median(ns[p], z->runs);
        t.ms[p] = median(ms[p], z->runs);
        t.extra_ms[p] = median(extra[p], z->runs);
        t.faults[p] = median(faults[p], z->runs);
    }
    return t;
}

/* ------------------------------------------------------------------------
 * Object header sizes
 */
/* Bytes per object in rcgc's small blocks for a leaf of `payload` bytes. */
static double rcgc_bytes_per_object(size_t payload)
{
    enum { N = 4096, WARM = 64 };
    static void *objs[N];
    const rc_type t = {.name = "sized_leaf", .size = payload};
    rc_heap *h = heap_open();
    rc_alloc_stats a, b;
    /* the type's record and its bins are made first (a type's first
       objects go to shared pools, its bins come with its own pools) */
    for (size_t i = 0; i < WARM; i++)
        objs[i] = rc_must_new(h, &t);
    rc_alloc_stats_get(h, &a);
    for (size_t i = WARM; i < N; i++)
        objs[i] = rc_must_new(h, &t);
    rc_alloc_stats_get(h, &b);
    if (b.small_blocks - a.small_blocks != N - WARM)
        die("header size: %zu new small blocks for %d objects",
            b.small_blocks - a.small_blocks, N - WARM);
    for (size_t i = 0; i < N; i++)
        rc_decref(objs[i]);
    rc_heap_free(h);
    return (double)(b.small_bytes - a.small_bytes) / (N - WARM);
}

static void print_sizes(void)
{
    double b8 = rcgc_bytes_per_object(8), b16 = rcgc_bytes_per_object(16);
    double b24 = rcgc_bytes_per_object(24);
    printf("object header, rcgc:    %.0f B (measured: rc_alloc_stats small_bytes"
           " per object is %.0f B for an 8 B payload,\n"
           "                        %.0f B for 16 B (node; classes step by "
           "8 B up to 128 B), %.0f B for 24 B (GCBench node))\n",
           b8 - 8, b8, b16, b24);
    char line[512];
    if (!cpython.ok ||
        python_call(&cpython, "", "sizes", line, sizeof line) != 0) {
        printf("object header, CPython: n/a (peer not found)\n");
        return;
    }
    double obj = python_field(&cpython, line, "object");
    double nd = python_field(&cpython, line, "node");
    double basic = python_field(&cpython, line, "node_basic");
    printf("object header, CPython: %.0f B untracked (sys.getsizeof(object()) "
           "= %.0f), %.0f B tracked: the node\n"
           "                        (2 slots) is %.0f B = %.0f B header + "
           "%.0f B GC head + 16 B slots (tracked=%.0f)\n",
           obj, obj, obj + nd - basic, nd, obj, nd - basic,
           python_field(&cpython, line, "tracked"));
}

/* ------------------------------------------------------------------------
 * Report
 */
/* The file that holds the code at fn (memcpy: ISO C has no cast of a
   function pointer to void *). */
static const char *library_of(void (*fn)(void))
{
    const void *addr;
    Dl_info info;
    memcpy(&addr, &fn, sizeof addr);
    const char *file = dladdr(addr, &info) && info.dli_fname ? info.dli_fname
                                                             : "?";
    const char *slash = strrchr(file, '/');
    return slash ? slash + 1 : file;
}

static void print_header(const bench_sizes *z, int quick)
{
    printf("bench_gc: rcgc objects and collector vs CPython, Boehm GC, "
           "malloc/free%s\n", quick ? BENCH_QUICK_NOTE : "");
    print_machine();
    unsigned gv = GC_get_version();
    printf("versions: rcgc %s, Boehm GC %u.%u.%u (%d extra marker threads), "
           "glibc %s; compiler %s\n",
           RC_VERSION, gv >> 16, (gv >> 8) & 0xff, gv & 0xff,
           GC_get_parallel(), gnu_get_libc_version(), __VERSION__);
    python_start(&cpython, "\n          ", "");
    printf("clock: %s\n", cpu_clock ? "the timed thread's CPU time (--cpu)"
                                     : "wall (CLOCK_MONOTONIC)");
    printf("served by: rc_new in %s, GC_malloc in %s, malloc in %s\n",
           library_of((void (*)(void))rc_new),
           library_of((void (*)(void))GC_malloc),
           library_of((void (*)(void))malloc));
    size_t gb_nodes = tree_size(z->stretch_depth) +
                      tree_size(z->long_lived_depth);
    for (int d = z->min_depth; d <= z->max_depth; d += 2)
        gb_nodes += 2 * num_iters(z, d) * tree_size(d);
    printf("sizes:    (1) %zu live nodes; (2) %zu objects in %zu cycles; "
           "(3) %zu objects;\n          (4) GCBench: stretch depth %d, "
           "long-lived tree depth %d, array %zu doubles,\n              "
           "temporary trees of depth %d..%d, %zu nodes in all\n",
           z->live, z->cycles, z->cycles / 2, z->churn, z->stretch_depth,
           z->long_lived_depth, z->array_size, z->min_depth, z->max_depth,
           gb_nodes);
    print_sizes();
    printf("goals:    (1),(2) at least 5x faster per object than CPython "
           "(rcgc/CPython <= 0.20);\n          (1) a full collection finding "
           "nothing among %zu live objects under 10 ms;\n          (4) faster "
           "than Boehm, level with malloc/free (within 10%%)\n\n", z->live);
}

static void print_cells(const double *v, const int *have, const char *fmt)
{
    for (int p = 0; p < N_PEER; p++)
        if (have[p] && v[p] >= 0)
            printf(fmt, v[p]);
        else
            printf("%10s", "-");
}

static void print_table(const timing t[N_WORK], int runs)
{
    printf("ns per object, median of %d interleaved runs (lower is better);"
           " rcgc/peer < 1: rcgc faster\n%-30s", runs, "workload");
    for (int p = 0; p < N_PEER; p++)
        printf("%10s", peer_name[p]);
    for (int p = 1; p < N_PEER; p++) {
        char label[32];
        snprintf(label, sizeof label, "rcgc/%s", peer_name[p]);
        printf("%14s", label);
    }
    for (size_t w = 0; w < N_WORK; w++) {
        const workload *wl = &workloads[w];
        const timing *peers = wl->base >= 0 ? &t[wl->base] : &t[w];
        if (!t[w].ran)
            continue;
        printf("\n%-30s", wl->name);
        print_cells(t[w].ns, t[w].have, "%10.2f");
        for (int p = 1; p < N_PEER; p++)
            if (peers->have[p])
                printf("  %12.3f", t[w].ns[0] / peers->ns[p]);
            else
                printf("  %12s", "-");
        printf("\n%-30s", "  ms per run");
        print_cells(t[w].ms, t[w].have, "%10.2f");
        if (wl->extra) {
            printf("\n  %-28s", wl->extra);
            print_cells(t[w].extra_ms, t[w].have, "%10.2f");
        }
        if (wl->show_faults) {
            printf("\n%-30s", "  page faults per run");
            print_cells(t[w].faults, t[w].have, "%10.0f");
        }
    }
    printf("\n  (4),(4b) ns per node allocated; rcgc's collector time is "
           "rc_gc_stats time_ns (all generations),\n  Boehm's "
           "GC_get_full_gc_total_time (ms resolution)\n"
           "  (3b), (4b): rcgc variants for information, compared with the "
           "peers of (3), (4)\n");
    if (python_own > 0)
        printf("  CPython's collections also examine the interpreter's own "
               "%.0f tracked objects\n", python_own);
    printf("\n");
}

/* One goal of row t: met when rcgc's value <= limit; the peer p must have
   run (-1: no peer). */
static void print_goal(const char *what, const timing *t, int p,
                       double value, double limit)
{
    if (!t->ran || !t->have[P_RCGC] || (p >= 0 && !t->have[p]))
        printf("  %-46s n/a (not run)\n", what);
    else
        printf("  %-46s %9.3f vs %9.3f  %s\n", what, value, limit,
               value <= limit ? "met" : "MISSED");
}

static void print_goals(const timing t[N_WORK])
{
    printf("goals (rcgc vs limit)\n");
    print_goal("(1) ns/object <= CPython / 5", &t[0], P_PYTHON,
               t[0].ns[P_RCGC], t[0].ns[P_PYTHON] / 5);
    print_goal("(1) ms per full collection < 10", &t[0], -1, t[0].ms[P_RCGC],
               10);
    print_goal("(2) ns/object <= CPython / 5", &t[1], P_PYTHON,
               t[1].ns[P_RCGC], t[1].ns[P_PYTHON] / 5);
    print_goal("(4) ns/node <= Boehm", &t[4], P_BOEHM, t[4].ns[P_RCGC],
               t[4].ns[P_BOEHM]);
    print_goal("(4) ns/node <= malloc/free * 1.10", &t[4], P_MALLOC,
               t[4].ns[P_RCGC], t[4].ns[P_MALLOC] * 1.10);
}

int main(int argc, char **argv)
{
    char **tags;
    int ntags;
    cpu_clock = argc > 1 && strcmp(argv[1], "--cpu") == 0;
    if (cpu_clock)
        argv[1] = argv[0], argv++, argc--;
    int quick = parse_args(argc, argv, &tags, &ntags);
    for (int i = 0; i < ntags; i++) {
        size_t w = 0;
        while (w < N_WORK && strcmp(tags[i], workloads[w].tag) != 0)
            w++;
        if (w == N_WORK)
            return usage(argv[0], "WORKLOAD", "1 2 3 3b 4 4b");
    }
    const bench_sizes *z = quick ? &quick_sizes : &full_sizes;
    GC_INIT();
    GC_start_performance_measurement();
    print_header(z, quick);
    timing t[N_WORK];
    memset(t, 0, sizeof t);
    for (size_t w = 0; w < N_WORK; w++) {
        if (!selected(workloads[w].tag, tags, ntags))
            continue;
        fflush(stdout);
        fprintf(stderr, "bench_gc: %s\n", workloads[w].name);
        t[w] = time_workload(&workloads[w], z);
    }
    print_table(t, z->runs);
    if (quick)
        printf("goals not judged in --quick mode\n");
    else
        print_goals(t);
    return 0;
}
