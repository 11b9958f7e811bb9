/*
 * test_shared_pools.c — types with few objects share pools (object.c,
 * alloc.c): every object still knows its type (rc_typeof, census, the
 * collector's traversal, the debug heap's descriptions), a type that
 * grows moves on to pools of its own, and many types cost blocks, not
 * pools.  Misuse: `test_shared_pools decref_freed` (a debug heap names the
 * type of a freed object in a shared pool).
 */
#include "check.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

enum { NTYPES = 2000 };

typedef struct pair {
    void *a, *b;
} pair;

static void pair_traverse(void *self, rc_visit_fn visit, void *ctx)
{
    visit(&((pair *)self)->a, ctx);
    visit(&((pair *)self)->b, ctx);
}

static rc_type types[NTYPES];
static char names[NTYPES][16];

static void make_types(void)
{
    for (int i = 0; i < NTYPES; i++) {
        snprintf(names[i], sizeof names[i], "class%d", i);
        types[i] = (rc_type){.name = names[i], .size = sizeof(pair),
                             .traverse = pair_traverse};
    }
}

/* 2,000 types with one object each: one pool's worth of blocks, each
   object's type known to rc_typeof and to the census. */
static void test_many_types(void)
{
    rc_heap *h = test_heap(HEAP_QUIET);
    static void *objs[NTYPES];
    for (int i = 0; i < NTYPES; i++)
        CHECK(objs[i] = rc_new(h, &types[i]));
    rc_alloc_stats s;
    rc_alloc_stats_get(h, &s);
    CHECK(s.arenas == 1 && s.os_bytes < (size_t)4 << 20); /* it was 138 MiB */
    for (int i = 0; i < NTYPES; i++)
        CHECK(rc_typeof(objs[i]) == &types[i] && rc_heap_of(objs[i]) == h);
    rc_census *c = rc_census_take(h);
    CHECK(c && rc_census_rows(c, NULL, 0) == NTYPES);
    static rc_census_row rows[NTYPES];
    CHECK(rc_census_rows(c, rows, NTYPES) == NTYPES);
    for (int i = 0; i < NTYPES; i++) {
        size_t t = (size_t)(rows[i].type - types);
        CHECK(t < NTYPES && rows[i].objects == 1 && rows[i].bytes == 24);
    }
    rc_census_free(c);
    CHECK_VALID(h);
    for (int i = 0; i < NTYPES; i++)
        rc_decref(objs[i]);
    CHECK_VALID(h);
    rc_heap_free(h);
}

/* Cycles through objects of many types in shared pools are found by the
   collector (it reads each object's type to traverse it), and an acyclic
   type's objects are left out while its neighbours stay tracked. */
static void test_collect_across_types(void)
{
    rc_heap *h = test_heap(HEAP_QUIET);
    enum { RING = 300 };
    pair *first = rc_new(h, &types[0]), *prev = first;
    CHECK(first);
    for (int i = 1; i < RING; i++) {
        pair *p = rc_new(h, &types[i]);
        CHECK(p);
        rc_set(&prev->a, p);
        rc_decref(p);
        prev = p;
    }
    rc_set(&prev->a, first);
    void *keep = rc_new(h, &types[RING]);
    CHECK(rc_type_acyclic(h, &types[RING]) == 0 && !rc_gc_is_tracked(keep));
    CHECK(rc_gc_is_tracked(first));
    rc_decref(first);
    CHECK_VALID(h);
    CHECK(rc_collect(h, -1) == RING);
    CHECK(rc_refcount(keep) == 1 && rc_typeof(keep) == &types[RING]);
    CHECK_VALID(h);
    rc_decref(keep);
    rc_heap_free(h);
}

/* A type's first objects share pools; after 32 (RCI_SHARE_FIRST) it
   gets pools of its own, and frees in either kind of pool keep counts
   right.  Objects of a variable-size type share too. */
static void test_type_grows(void)
{
    rc_heap *h = test_heap(HEAP_QUIET);
    enum { N = 1000 };
    static void *objs[N];
    rc_type blob = {.name = "blob", .size = 0};
    for (int i = 0; i < N; i++) {
        CHECK(objs[i] = rc_new(h, &types[0]));
        void *v = rc_new_var(h, &blob, (size_t)(i % 40) * 8);
        CHECK(v && rc_typeof(v) == &blob && rc_sizeof(v) >= (size_t)(i % 40) * 8);
        rc_decref(v);
    }
    rc_alloc_stats s;
    rc_alloc_stats_get(h, &s);
    CHECK(s.pools >= 2); /* shared and own */
    for (int i = 0; i < N; i += 2)
        rc_decref(objs[i]);
    for (int i = 0; i < N; i++) /* refill freed blocks in both kinds */
        if (i % 2 == 0)
            CHECK(objs[i] = rc_new(h, &types[1 + i % 7]));
    for (int i = 0; i < N; i++)
        CHECK(rc_typeof(objs[i]) == (i % 2 ? &types[0] : &types[1 + i % 7]));
    CHECK_VALID(h);
    for (int i = 0; i < N; i++)
        rc_decref(objs[i]);
    CHECK_VALID(h);
    CHECK(rc_heap_trim(h) > 0);
    CHECK_VALID(h);
    rc_heap_free(h);
}

/* A type whose one live object comes and goes (a frame type) moves to a
   pool of its own at its 33rd object: allocations count, not live
   objects, so churning types keep the fast type lookup. */
static void test_churn_moves_on(void)
{
    rc_heap *h = test_heap(HEAP_QUIET);
    rc_alloc_stats a, b;
    for (int i = 0; i < 32; i++)
        rc_decref(rc_new(h, &types[5]));
    rc_alloc_stats_get(h, &a);
    void *o = rc_new(h, &types[5]);
    rc_alloc_stats_get(h, &b);
    CHECK(o && rc_typeof(o) == &types[5] && b.pools == a.pools + 1);
    rc_decref(o);
    for (int i = 0; i < 100; i++) { /* and stays there */
        CHECK(o = rc_new(h, &types[5]));
        rc_decref(o);
    }
    rc_alloc_stats_get(h, &a);
    CHECK(a.pools == b.pools);
    rc_heap_free(h);
}

/* The fault sweep: objects of 100 types, 40 each (so each type fills its
   share of shared pools, then takes a pool of its own), made while pages
   are refused: each exists whole with its type, or fails cleanly. */
enum { SWEEP_TYPES = 100, SWEEP_OBJECTS = 4000 };

static int sweep_workload(rc_heap *h)
{
    int failures = 0;
    static void *objs[SWEEP_OBJECTS];
    for (int i = 0; i < SWEEP_OBJECTS; i++)
        failures += !(objs[i] = rc_new(h, &types[i % SWEEP_TYPES]));
    for (int i = 0; i < SWEEP_OBJECTS; i++)
        CHECK(!objs[i] || rc_typeof(objs[i]) == &types[i % SWEEP_TYPES]);
    CHECK_VALID(h);
    for (int i = 0; i < SWEEP_OBJECTS; i++)
        rc_decref(objs[i]);
    return failures;
}

static void sweep_still_works(rc_heap *h)
{
    void *o = rc_new(h, &types[SWEEP_TYPES - 1]);
    CHECK(o && rc_typeof(o) == &types[SWEEP_TYPES - 1]);
    rc_decref(o);
    CHECK_VALID(h);
}

/* The types' records, made once. */
static size_t sweep_warm_up(rc_heap *h)
{
    for (int i = 0; i < SWEEP_TYPES; i++)
        rc_decref(rc_new(h, &types[i]));
    rc_heap_trim(h);
    return heap_live_blocks(h);
}

static void test_fault_sweep(void)
{
    fault_sweep fs = {sweep_warm_up, sweep_workload, NULL, sweep_still_works};
    CHECK(run_fault_sweep(&fs) > 0);
}

/* rc_type_own_pools: a hot type with few objects gets a pool of its own
   at once, so the inline rc_typeof reads its type from the pool's bin
   (rc_priv_bin_type); a type's objects already shared stay where they
   are, its next ones go to its own pool. */
static void test_own_pools(void)
{
    rc_heap *h = test_heap(HEAP_QUIET);
    void *shared = rc_new(h, &types[7]);
    CHECK(shared && rc_priv_bin_type(shared) == NULL);
    rc_alloc_stats a, b;
    rc_alloc_stats_get(h, &a);
    CHECK(rc_type_own_pools(h, &types[8]) == 0 && rc_type_own_pools(h, &types[8]) == 0);
    void *own = rc_new(h, &types[8]);
    rc_alloc_stats_get(h, &b);
    CHECK(own && rc_priv_bin_type(own) == &types[8] && b.pools == a.pools + 1);
    CHECK(rc_type_own_pools(h, &types[7]) == 0);
    void *later = rc_new(h, &types[7]);
    CHECK(later && rc_priv_bin_type(later) == &types[7] && rc_priv_bin_type(shared) == NULL);
    CHECK(rc_typeof(shared) == &types[7] && rc_typeof(later) == &types[7]);
    CHECK(rc_type_own_pools(h, &rc_list_type) == 0);
    void *l = rc_list(h);
    CHECK(l && rc_priv_bin_type(l) == &rc_list_type);
    CHECK_VALID(h);
    void *objs[] = {shared, own, later, l};
    for (size_t i = 0; i < sizeof objs / sizeof *objs; i++)
        rc_decref(objs[i]);
    CHECK_VALID(h);
    rc_heap_free(h);
}

/* rc_type_forget: a dynamic type (malloc'd, as a runtime's class) with
   objects in shared pools and in its own is refused while one lives,
   then forgotten: its pool given back, no census row, its memory freed
   and the address taken by a new type with a record of its own.  On a
   debug heap, whose quarantine still holds the freed blocks. */
static void test_forget(void)
{
    rc_heap *h = test_heap(HEAP_QUIET | HEAP_DEBUG);
    rc_type *t = malloc(sizeof *t);
    CHECK(t);
    *t = (rc_type){.name = "doomed", .size = sizeof(pair), .traverse = pair_traverse};
    enum { N = 40 }; /* 32 shared, 8 in its own pool */
    void *objs[N];
    for (int i = 0; i < N; i++)
        CHECK(objs[i] = rc_new(h, t));
    CHECK(rc_type_acyclic(h, t) == 0 && !rc_gc_is_tracked(objs[0]));
    rc_alloc_stats a, b;
    rc_alloc_stats_get(h, &a);
    for (int i = 1; i < N; i++)
        rc_decref(objs[i]);
    CHECK(rc_type_forget(h, t) == -1 && rc_last_error(h) == RC_EVALUE);
    CHECK(strcmp(rc_error_message(h), "rc_type_forget: type 'doomed' has 1 live objects") == 0);
    rc_clear_error(h);
    rc_decref(objs[0]);
    CHECK(rc_type_forget(h, t) == 0 && rc_type_forget(h, t) == 0);
    rc_alloc_stats_get(h, &b);
    CHECK(b.pools == a.pools - 1);
    rc_census *c = rc_census_take(h);
    CHECK(c && rc_census_rows(c, NULL, 0) == 0);
    rc_census_free(c);
    CHECK_VALID(h);
    free(t);
    rc_type *u = malloc(sizeof *u); /* perhaps at t's address */
    CHECK(u);
    *u = (rc_type){.name = "newborn", .size = sizeof(pair), .traverse = pair_traverse};
    void *o = rc_new(h, u), *p = rc_new(h, u);
    CHECK(o && p && rc_typeof(o) == u && rc_gc_is_tracked(o)); /* not acyclic: a new record */
    rc_set(&((pair *)o)->a, p);
    rc_set(&((pair *)p)->a, o);
    rc_decref(o);
    rc_decref(p);
    CHECK(rc_collect(h, -1) == 2 && rc_type_forget(h, u) == 0);
    CHECK(rc_type_forget(h, &rc_list_type) == 0); /* never used: nothing to forget */
    rc_decref(rc_list(h));
    CHECK(rc_type_forget(h, &rc_list_type) == -1 && rc_last_error(h) == RC_EVALUE);
    CHECK(strcmp(rc_error_message(h), "rc_type_forget: 'list' is a built-in type") == 0);
    rc_clear_error(h);
    CHECK_VALID(h);
    rc_heap_free(h);
    free(u);
}

/* Misuse: a freed object of a shared pool is named with its type. */
static void decref_freed(void)
{
    exit_on_abort();
    rc_heap *h = test_heap(HEAP_DEBUG);
    void *o = rc_new(h, &types[1234]);
    rc_decref(o);
    rc_decref(o);
}

int main(int argc, char **argv)
{
    make_types();
    if (argc > 1 && strcmp(argv[1], "decref_freed") == 0) {
        decref_freed();
        return 0;
    }
    test_many_types();
    test_collect_across_types();
    test_type_grows();
    test_churn_moves_on();
    test_own_pools();
    test_forget();
    test_fault_sweep();
    puts("test_shared_pools: ok");
    return 0;
}
