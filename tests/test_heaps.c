/*
 * test_heaps.c — heaps stay apart: every setter and container refuses an
 * object of another heap (RC_EFOREIGN, nothing changed), and a collector
 * whose traverse reports one anyway skips it, counts it, and leaves both
 * heaps valid (it used to loop for ever or damage the other heap's young
 * list).
 *
 *   test_heaps            the checks on ordinary heaps
 *   test_heaps <misuse>   one misuse on debug heaps; CTest matches its message
 */
#include "node.h"

/* Two heaps without automatic collection (debug ones if asked). */
static void two_heaps(rc_heap **a, rc_heap **b, unsigned flags)
{
    *a = test_heap(HEAP_QUIET | flags);
    *b = test_heap(HEAP_QUIET | flags);
}

static void expect_foreign(rc_heap *h)
{
    CHECK(rc_last_error(h) == RC_EFOREIGN);
    rc_clear_error(h);
}

static void test_lists_refuse(void)
{
    rc_heap *a, *b;
    two_heaps(&a, &b, 0);
    void *l = rc_list(a), *mine = rc_int(a, 5000), *other = rc_int(b, 5000);
    void *small = rc_int(b, 7); /* b's own cached small int */
    CHECK(rc_list_append(l, mine) == 0);
    CHECK(rc_list_append(l, other) == -1);
    expect_foreign(a);
    CHECK(rc_list_append(l, small) == -1);
    expect_foreign(a);
    CHECK(rc_list_insert(l, 0, other) == -1);
    expect_foreign(a);
    CHECK(rc_list_set(l, 0, other) == -1);
    expect_foreign(a);
    CHECK(rc_list_len(l) == 1 && rc_list_get(l, 0) == mine);
    CHECK(rc_refcount(other) == 1 && rc_refcount(mine) == 2);
    CHECK(rc_last_error(b) == RC_OK); /* the error is the container's heap's */
    rc_decref(l);
    rc_decref(mine);
    rc_decref(other);
    CHECK_VALID(a);
    CHECK_VALID(b);
    rc_heap_free(a);
    rc_heap_free(b);
}

static void test_dicts_tuples_refuse(void)
{
    rc_heap *a, *b;
    two_heaps(&a, &b, 0);
    void *d = rc_dict(a), *k = rc_str_cstr(a, "k"), *v = rc_int(a, 5001);
    void *fk = rc_str_cstr(b, "k"), *fv = rc_int(b, 5001);
    CHECK(rc_dict_set(d, fk, v) == -1);
    expect_foreign(a);
    CHECK(rc_dict_set(d, k, fv) == -1);
    expect_foreign(a);
    CHECK(rc_dict_len(d) == 0 && rc_refcount(fk) == 1 && rc_refcount(k) == 1);
    CHECK(rc_dict_set(d, k, v) == 0);
    CHECK(rc_dict_set(d, k, fv) == -1); /* replacing a value: refused too */
    expect_foreign(a);
    /* a lookup with b's key would miss (b's str hash has b's key): refused */
    CHECK(rc_dict_get(d, fk) == NULL);
    expect_foreign(a);
    CHECK(rc_dict_del(d, fk) == -1 && rc_dict_len(d) == 1);
    expect_foreign(a);
    CHECK(rc_dict_get(d, k) == v);

    void *items[2] = {k, fv};
    CHECK(rc_tuple(a, 2, items) == NULL);
    expect_foreign(a);
    CHECK(rc_refcount(k) == 2 && rc_refcount(fv) == 1);
    items[1] = v;
    void *t = rc_tuple(a, 2, items);
    CHECK(t && rc_tuple_get(t, 1) == v);
    rc_decref(t);
    rc_decref(d);
    rc_decref(k);
    rc_decref(v);
    rc_decref(fk);
    rc_decref(fv);
    CHECK_VALID(a);
    rc_heap_free(a);
    rc_heap_free(b);
}

static void test_members_and_weakcache_refuse(void)
{
    rc_heap *a, *b;
    two_heaps(&a, &b, 0);
    node *n = node_new(a, &node_type, 2, 1);
    node *mine = node_new(a, &node_type, 0, 2), *other = node_new(b, &node_type, 0, 3);
    CHECK(rc_set_member(n, &n->slot[0], mine) == 0 && n->slot[0] == mine);
    CHECK(rc_set_member(n, &n->slot[1], other) == -1 && n->slot[1] == NULL);
    expect_foreign(a);
    CHECK(rc_set_member(n, &n->slot[0], NULL) == 0 && rc_refcount(mine) == 1);

    rc_weakcache *c = rc_weakcache_new(a);
    CHECK(c);
    CHECK(rc_weakcache_put(c, "x", 1, other) == -1 && rc_weakcache_len(c) == 0);
    expect_foreign(a);
    CHECK(rc_weakref_count(other) == 0);
    CHECK(rc_weakcache_put(c, "x", 1, NULL) == -1 && rc_last_error(a) == RC_EVALUE);
    rc_clear_error(a);
    CHECK(rc_weakcache_put(c, "x", 1, mine) == 0 && rc_weakcache_len(c) == 1);
    rc_weakcache_free(c);
    rc_decref(n);
    rc_decref(mine);
    rc_decref(other);
    CHECK_VALID(a);
    CHECK_VALID(b);
    rc_heap_free(a);
    rc_heap_free(b);
}

/* A user type stores another heap's object with plain rc_set (the library
   cannot see it) and reports it from traverse.  Every collection of either
   heap, young and full, must finish, skip the reference (stats.foreign),
   collect the real garbage and leave both heaps valid. */
static void test_collector_skips_foreign(void)
{
    rc_heap *a, *b;
    two_heaps(&a, &b, 0);
    node *ra = node_ring(a, &node_type, 3, 2, 0);      /* a's cycle, held */
    node *rb = node_ring(b, &node_type, 3, 2, 100);    /* b's cycle, held */
    node *yb = node_new(b, &node_type, 1, 200);        /* young on b */
    rc_set(&ra->slot[1], rb);   /* a -> b: what the rule forbids */
    rc_set(&rb->slot[1], yb);
    rc_decref(node_ring(a, &node_type, 4, 1, 300));   /* garbage on a */
    node_reset();
    for (int gen = 0; gen <= 2; gen++) {
        rc_gc_stats before;
        rc_gc_stats_get(a, &before);
        rc_collect(a, gen);
        rc_gc_stats s;
        rc_gc_stats_get(a, &s);
        CHECK(s.foreign > before.foreign);
        CHECK_VALID(a);
        CHECK_VALID(b); /* b's young list and marks untouched */
        rc_collect(b, gen);
        CHECK_VALID(b);
    }
    CHECK(nodes.destroyed == 4); /* a's garbage ring, nothing of b */
    CHECK(rc_refcount(rb) == 3 && rc_refcount(yb) == 2); /* ring, ours, ra */
    rc_set(&ra->slot[1], NULL);
    rc_set(&rb->slot[1], NULL);
    rc_decref(ra);
    rc_decref(rb);
    rc_decref(yb);
    CHECK(rc_collect(a, -1) == 3 && rc_collect(b, -1) == 3);
    rc_gc_stats s;
    rc_gc_stats_get(b, &s);
    CHECK(s.foreign == 0);
    rc_heap_free(a);
    rc_heap_free(b);
}

/* ---- Misuse on debug heaps: each stops with its message ----------------------- */

static int misuse(const char *what)
{
    exit_on_abort();
    rc_heap *a, *b;
    two_heaps(&a, &b, HEAP_DEBUG);
    void *other = rc_int(b, 5000);
    if (!strcmp(what, "list_append")) {
        rc_list_append(rc_list(a), other);
    } else if (!strcmp(what, "dict_set")) {
        rc_dict_set(rc_dict(a), rc_str_cstr(a, "k"), other);
    } else if (!strcmp(what, "tuple")) {
        rc_tuple(a, 1, &other);
    } else if (!strcmp(what, "set_member")) {
        node *n = node_new(a, &node_type, 1, 1);
        rc_set_member(n, &n->slot[0], other);
    } else if (!strcmp(what, "collect")) {
        node *n = node_new(a, &node_type, 1, 1);
        rc_set(&n->slot[0], node_new(b, &node_type, 0, 2));
        rc_collect(a, 0);
    } else {
        fprintf(stderr, "unknown scenario %s\n", what);
        return 2;
    }
    fprintf(stderr, "%s: no misuse reported\n", what);
    return 1;
}

int main(int argc, char **argv)
{
    if (argc == 2)
        return misuse(argv[1]);
    test_lists_refuse();
    test_dicts_tuples_refuse();
    test_members_and_weakcache_refuse();
    test_collector_skips_foreign();
    printf("test_heaps: ok\n");
    return 0;
}
