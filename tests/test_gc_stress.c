/*
 * test_gc_stress.c — seeded random graphs against a shadow model.  Not a
 * benchmark.
 *
 * A graph of up to NMAX nodes with K slots each, mutated at random: set a
 * slot to a node or NULL, add or remove a root, create a node, clear a
 * node's slots; collections of random generations run explicitly and
 * automatically (low thresholds).  Some nodes resurrect themselves from
 * their finalizer (into a free root); some are watched by a weak reference
 * with a callback.  The model mirrors every slot and root (updated before
 * the call, since a call may kill the node it writes to); destroy marks a
 * node dead in the model.
 *
 * Steps of a full collection in slices (rc_gc_step) run between the
 * mutations too, and seeds 5 and 6 make automatic full collections
 * incremental (rc_gc_set_incremental): the program changes the graph
 * between every two slices.
 *
 * After every collection or step: nothing reachable from the roots died.  After
 * every full collection, exactly the reachable nodes are alive, each with
 * its payload, slots and reference count as the model says; a weakly
 * watched node's callback ran once iff it died (or was revived after its
 * weak references were cleared).  rc_heap_validate after each collection.
 *
 *   test_gc_stress [seed [ops]]     RCGC_STRESS_SMALL=1: a smaller graph
 *                                   (seeds above 4: incremental)
 */
#include "node.h"

enum { K = 4, ROOTS = 64, MAXID = 40000 };

static size_t nmax = 2000;    /* live node limit */
static rc_heap *heap;
static node *ptr[MAXID];      /* the node of an id (valid while alive) */
static int32_t edge[MAXID][K];/* model: slot -> id, or -1 */
static bool alive[MAXID];
static uint32_t live_list[MAXID], live_pos[MAXID], nlive;
static uint32_t nids;         /* ids handed out */
static void *root[ROOTS];     /* the test's references */
static int32_t root_id[ROOTS];/* model of root[] */
static rc_weakref *watch[MAXID];
static uint8_t called[MAXID]; /* callbacks seen per watched id */
static bool resurrect_on;
static size_t resurrections, full_checks;

/* Garbage 2-cycles outside the model, so that young collections find some
   (and automatic collection keeps its thresholds low). */
typedef struct junk {
    void *other;
} junk;

static size_t junk_made, junk_freed;

static void junk_traverse(void *self, rc_visit_fn visit, void *ctx)
{
    visit(&((junk *)self)->other, ctx);
}

static void junk_destroy(void *self)
{
    (void)self;
    junk_freed++;
}

static const rc_type junk_type = {.name = "junk", .size = sizeof(junk),
                                  .traverse = junk_traverse, .destroy = junk_destroy};

static void make_junk(void)
{
    junk *a = rc_new(heap, &junk_type), *b = rc_new(heap, &junk_type);
    CHECK(a && b);
    a->other = b;
    b->other = a;
    junk_made += 2;
}

static void on_destroy(node *n)
{
    uint32_t id = (uint32_t)n->id;
    CHECK(id < nids && alive[id] && ptr[id] == n);
    CHECK(n->finalized == 1); /* finalize ran, before destroy */
    alive[id] = false;
    for (int k = 0; k < K; k++)
        edge[id][k] = -1;
    uint32_t last = live_list[--nlive];
    live_list[live_pos[id]] = last;
    live_pos[last] = live_pos[id];
}

static void on_finalize(node *n)
{
    if (!resurrect_on || n->id % 13 != 0)
        return;
    for (int r = 0; r < ROOTS; r++)
        if (root_id[r] < 0) {
            CHECK(root[r] == NULL);
            root_id[r] = (int32_t)n->id; /* model first */
            rc_set(&root[r], n);
            resurrections++;
            return;
        }
}

static void on_call(rc_weakref *w, void *data)
{
    uint32_t id = (uint32_t)(uintptr_t)data;
    CHECK(watch[id] == w && rc_weakref_get(w) == NULL);
    CHECK(++called[id] == 1);
}

static uint32_t random_live(uint64_t *rng)
{
    return live_list[test_rand(rng) % nlive];
}

/* *slot = target, model first: the write may kill the node holding slot. */
static void set_slot(uint32_t from, int k, int32_t to)
{
    edge[from][k] = to;
    rc_set(&ptr[from]->slot[k], to < 0 ? NULL : ptr[to]);
}

static void set_root(int r, int32_t to)
{
    root_id[r] = to;
    rc_set(&root[r], to < 0 ? NULL : ptr[to]);
}

static void create(uint64_t *rng)
{
    if (nlive >= nmax || nids >= MAXID)
        return;
    uint32_t id = nids;
    node *n = node_new(heap, &fnode_type, K, id); /* may collect */
    nids++;
    ptr[id] = n;
    alive[id] = true;
    for (int k = 0; k < K; k++)
        edge[id][k] = -1;
    live_pos[id] = nlive;
    live_list[nlive++] = id;
    for (int k = 0; k < K && nlive > 1; k++) /* out-edges to random nodes */
        if (test_rand(rng) % 5 < 3)
            set_slot(id, k, (int32_t)random_live(rng));
    if (test_rand(rng) % 4 == 0) {
        watch[id] = rc_weakref_new(n, on_call, (void *)(uintptr_t)id);
        CHECK(watch[id]);
    }
    /* Hand the creation reference to a root or a slot. */
    if (nlive == 1 || test_rand(rng) % 2)
        set_root((int)(test_rand(rng) % ROOTS), (int32_t)id);
    else
        set_slot(random_live(rng), (int)(test_rand(rng) % K), (int32_t)id);
    rc_decref(n);
}

/* ---- Checks against the model ------------------------------------------------ */

static bool reach[MAXID];
static uint32_t stack[MAXID];
static uint32_t refs[MAXID];

static size_t compute_reach(void)
{
    size_t n = 0, sp = 0;
    memset(reach, 0, nids * sizeof *reach);
    for (int r = 0; r < ROOTS; r++)
        if (root_id[r] >= 0 && !reach[root_id[r]]) {
            reach[root_id[r]] = true;
            stack[sp++] = (uint32_t)root_id[r];
        }
    while (sp) {
        uint32_t id = stack[--sp];
        n++;
        for (int k = 0; k < K; k++) {
            int32_t t = edge[id][k];
            if (t >= 0 && !reach[t]) {
                reach[t] = true;
                stack[sp++] = (uint32_t)t;
            }
        }
    }
    return n;
}

static void check_after_collection(bool full)
{
    CHECK_VALID(heap);
    size_t nreach = compute_reach();
    for (uint32_t id = 0; id < nids; id++)
        if (reach[id]) /* nothing reachable died */
            CHECK(alive[id] && ptr[id]->magic == NODE_LIVE && ptr[id]->id == id);
    if (!full)
        return;
    full_checks++;
    CHECK(nlive == nreach); /* nothing unreachable survived */
    memset(refs, 0, nids * sizeof *refs);
    for (int r = 0; r < ROOTS; r++)
        if (root_id[r] >= 0)
            refs[root_id[r]]++;
    for (uint32_t i = 0; i < nlive; i++) {
        uint32_t id = live_list[i];
        node *n = ptr[id];
        CHECK(reach[id] && n->magic == NODE_LIVE && n->nslots == K);
        for (int k = 0; k < K; k++) {
            int32_t t = edge[id][k];
            CHECK(n->slot[k] == (t < 0 ? NULL : ptr[t]));
            if (t >= 0)
                refs[t]++;
        }
    }
    for (uint32_t i = 0; i < nlive; i++) {
        uint32_t id = live_list[i];
        CHECK(rc_refcount(ptr[id]) == refs[id]);
    }
    for (uint32_t id = 0; id < nids; id++) {
        if (!watch[id])
            continue;
        if (!alive[id]) {
            CHECK(called[id] == 1 && rc_weakref_get(watch[id]) == NULL);
            rc_decref(watch[id]);
            watch[id] = NULL;
        } else if (called[id]) { /* revived by a finalizer in a collection */
            CHECK(ptr[id]->finalized == 1 && rc_weakref_get(watch[id]) == NULL);
        } else {
            void *g = rc_weakref_get(watch[id]);
            CHECK(g == ptr[id]);
            rc_decref(g);
        }
    }
}

/* ---- The run ------------------------------------------------------------------ */

static void run(uint64_t seed, int ops, size_t incremental)
{
    uint64_t rng = seed;
    heap = rc_heap_new(NULL);
    CHECK(heap);
    rc_gc_set_threshold(heap, 10, 4, 4);
    rc_gc_set_incremental(heap, incremental);
    node_reset();
    nodes.on_destroy = on_destroy;
    nodes.on_finalize = on_finalize;
    resurrect_on = true;
    nids = nlive = 0;
    junk_made = junk_freed = 0;
    memset(root, 0, sizeof root);
    memset(root_id, -1, sizeof root_id);
    memset(watch, 0, sizeof watch);
    memset(called, 0, sizeof called);
    size_t explicit_collections = 0, explicit_steps = 0;
    for (int i = 0; i < 50; i++)
        create(&rng);
    for (int op = 0; op < ops; op++) {
        uint64_t r = test_rand(&rng) % 100;
        if (nlive == 0 || r < 30) {
            create(&rng);
        } else if (r < 65) {
            uint32_t from = random_live(&rng);
            int32_t to = test_rand(&rng) % 10 ? (int32_t)random_live(&rng) : -1;
            set_slot(from, (int)(test_rand(&rng) % K), to);
        } else if (r < 75) {
            set_root((int)(test_rand(&rng) % ROOTS), (int32_t)random_live(&rng));
        } else if (r < 81) {
            set_root((int)(test_rand(&rng) % ROOTS), -1);
        } else if (r < 85) {
            uint32_t id = random_live(&rng);
            for (int k = 0; k < K && alive[id]; k++)
                set_slot(id, k, -1);
        } else if (r < 95) {
            make_junk();
        } else if (r < 97) {
            int gen = (int)(test_rand(&rng) % 4) - 1; /* -1, 0, 1, 2 */
            rc_collect(heap, gen);
            explicit_collections++;
            check_after_collection(gen < 0 || gen == 2);
        } else if (r < 99) {
            rc_gc_step(heap, 1 + test_rand(&rng) % 300, 0, NULL);
            explicit_steps++;
            check_after_collection(false);
        }
        CHECK(nlive <= nmax);
    }
    rc_collect(heap, -1);
    check_after_collection(true);
    rc_gc_stats st;
    rc_gc_stats_get(heap, &st);
    size_t all = st.gen[0].collections + st.gen[1].collections + st.gen[2].collections;
    CHECK(all > explicit_collections + 5); /* automatic ones happened too */
    CHECK(st.steps >= explicit_steps && (!incremental || st.rounds > 0));

    /* Everything goes: no resurrection this time. */
    resurrect_on = false;
    for (int r = 0; r < ROOTS; r++)
        set_root(r, -1);
    rc_collect(heap, -1);
    check_after_collection(true);
    CHECK(nlive == 0 && nodes.destroyed == nids);
    CHECK(nodes.finalized == nids);
    CHECK(junk_freed == junk_made);
    CHECK_VALID(heap);
    rc_heap_free(heap);
}

int main(int argc, char **argv)
{
    int ops = 20000;
    const char *small = getenv("RCGC_STRESS_SMALL");
    if (small && *small && *small != '0') {
        nmax = 300;
        ops = 2000;
    }
    if (argc > 2)
        ops = atoi(argv[2]);
    if (argc > 1) {
        uint64_t seed = strtoull(argv[1], NULL, 0);
        run(seed, ops, seed > 4 ? 50 : 0);
    } else {
        for (uint64_t seed = 1; seed <= 6; seed++)
            run(seed, ops, seed > 4 ? 50 : 0);
    }
    printf("test_gc_stress: ok (%zu full checks, %zu resurrections)\n", full_checks,
           resurrections);
    return 0;
}
