/*
 * test_set.c — None, True, False and set/frozenset, checked against
 * CPython's semantics: True == 1 and hash(True) == hash(1) (one dict key,
 * one set item), singletons, set iteration after removals, frozensets as
 * keys, sets of leaves untracked and cycles through sets collected, wrong
 * types and unhashable items refused with the heap's error, and a fault
 * sweep.  "set_add_freed" is a misuse scenario for a debug heap.
 */
#define _POSIX_C_SOURCE 200809L
#include "repr_text.h"

typedef struct box {
    void *item;
} box;

static void box_traverse(void *self, rc_visit_fn visit, void *ctx)
{
    visit(&((box *)self)->item, ctx);
}

static const rc_type box_type = {.name = "box", .size = sizeof(box), .traverse = box_traverse};

static uint64_t hash_of(const void *o)
{
    uint64_t x;
    CHECK(rc_hash(o, &x) == 0);
    return x;
}

static void test_singletons(rc_heap *h)
{
    void *t = rc_true(h), *f = rc_false(h), *n = rc_none(h);
    CHECK(t && f && n && t != f);
    CHECK(rc_true(h) == t && rc_bool(h, 42) == t && rc_bool(h, 0) == f && rc_none(h) == n);
    CHECK(rc_is_immortal(t) && rc_is_immortal(n) && !rc_gc_is_tracked(t) && !rc_gc_is_tracked(n));
    CHECK(rc_typeof(t) == &rc_bool_type && rc_typeof(n) == &rc_none_type);
    CHECK(rc_bool_value(t) == 1 && rc_bool_value(f) == 0);
    CHECK(rc_int_value(t) == 1 && rc_int_value(f) == 0); /* bool is an int */
    CHECK(rc_is_none(n) && !rc_is_none(f) && !rc_is_none(NULL));
    rc_decref(t); /* immortal: nothing happens */
    CHECK(rc_bool_value(t) == 1);
    expect_repr(t, "True");
    expect_repr(f, "False");
    expect_repr(n, "None");

    /* CPython: True == 1 == 1.0, hash(True) == hash(1), False == 0 */
    void *one = rc_int(h, 1), *zero = rc_int(h, 0), *two = rc_int(h, 2);
    void *onef = rc_float(h, 1.0);
    CHECK(rc_equal(t, one) == 1 && rc_equal(one, t) == 1 && rc_equal(t, onef) == 1);
    CHECK(rc_equal(f, zero) == 1 && rc_equal(t, two) == 0 && rc_equal(t, f) == 0);
    CHECK(hash_of(t) == hash_of(one) && hash_of(f) == hash_of(zero));
    CHECK(hash_of(t) == hash_of(onef));
    CHECK(rc_equal(n, n) == 1 && rc_equal(n, zero) == 0 && rc_equal(n, f) == 0);
    hash_of(n); /* None is hashable */

    /* {1: 'a'}[True] = 'b' -> {1: 'b'}: one key, the first one kept */
    void *d = rc_dict(h), *a = rc_str_cstr(h, "a"), *b = rc_str_cstr(h, "b");
    CHECK(rc_dict_set(d, one, a) == 0 && rc_dict_set(d, t, b) == 0);
    CHECK(rc_dict_len(d) == 1 && rc_dict_get(d, one) == b && rc_dict_get(d, onef) == b);
    expect_repr(d, "{1: 'b'}");
    CHECK(rc_dict_set(d, n, a) == 0 && rc_dict_get(d, n) == a);
    expect_repr(d, "{1: 'b', None: 'a'}");

    /* misuse: a clear error, never a crash */
    CHECK_ERR(h, rc_bool_value(one) == -1, RC_ETYPE);
    CHECK(rc_int_value(n) == 0 && rc_last_error(h) == RC_ETYPE);
    rc_clear_error(h);
    void *objs[] = {d, a, b, onef};
    for (size_t i = 0; i < sizeof objs / sizeof *objs; i++)
        rc_decref(objs[i]);
    CHECK_VALID(h);
}

static void test_set_basics(rc_heap *h)
{
    void *s = rc_set_new(h);
    void *one = rc_int(h, 1), *t = rc_true(h), *onef = rc_float(h, 1.0);
    void *x = rc_str_cstr(h, "x"), *x2 = rc_str_cstr(h, "x");
    CHECK(s && rc_typeof(s) == &rc_set_type && rc_set_len(s) == 0);
    CHECK(rc_set_add(s, one) == 0 && rc_set_add(s, t) == 0 && rc_set_add(s, onef) == 0);
    CHECK(rc_set_len(s) == 1); /* {1, True, 1.0} == {1} */
    expect_repr(s, "{1}");
    CHECK(rc_set_add(s, x) == 0 && rc_set_add(s, x2) == 0 && rc_set_len(s) == 2);
    CHECK(rc_refcount(x) == 2 && rc_refcount(x2) == 1);
    CHECK(rc_set_contains(s, x2) == 1 && rc_set_contains(s, t) == 1);
    CHECK(rc_set_contains(s, rc_int(h, 2)) == 0);
    CHECK(rc_set_discard(s, x2) == 1 && rc_set_discard(s, x2) == 0);
    CHECK(rc_set_len(s) == 1 && rc_refcount(x) == 1 && rc_set_contains(s, x) == 0);
    uint64_t hv;
    CHECK_ERR(h, rc_hash(s, &hv) == -1, RC_EUNHASHABLE);

    /* refused, with the set unchanged */
    void *l = rc_list(h), *d = rc_dict(h);
    CHECK_ERR(h, rc_set_add(s, l) == -1, RC_EUNHASHABLE);
    CHECK(rc_set_add(s, s) == -1 && rc_last_error(h) == RC_EUNHASHABLE);
    CHECK_ERR(h, rc_set_add(s, NULL) == -1, RC_EVALUE);
    CHECK(rc_set_contains(s, l) == -1 && rc_last_error(h) == RC_EUNHASHABLE);
    CHECK_ERR(h, rc_set_add(l, one) == -1, RC_ETYPE);
    CHECK(rc_set_discard(d, one) == -1 && rc_last_error(h) == RC_ETYPE);
    CHECK_ERR(h, rc_set_len(l) == 0, RC_ETYPE);
    CHECK(rc_dict_set(d, s, one) == -1 && rc_last_error(h) == RC_EUNHASHABLE);
    CHECK(rc_set_len(s) == 1 && rc_dict_len(d) == 0);
    rc_clear_error(h);

    void *objs[] = {s, onef, x, x2, l, d};
    for (size_t i = 0; i < sizeof objs / sizeof *objs; i++)
        rc_decref(objs[i]);
    CHECK_VALID(h);
}

/* s = set(range(n)); discard the even ones; iterate: each odd once (as
   CPython does after removals), and a change during iteration is seen. */
static void test_set_iteration(rc_heap *h)
{
    enum { N = 2000 };
    void *s = rc_set_new(h);
    for (int64_t i = 0; i < N; i++) {
        void *v = rc_int(h, i);
        CHECK(rc_set_add(s, v) == 0);
        rc_decref(v);
    }
    CHECK(rc_set_len(s) == N);
    for (int64_t i = 0; i < N; i += 2) {
        void *v = rc_int(h, i);
        CHECK(rc_set_discard(s, v) == 1);
        rc_decref(v);
    }
    static unsigned char seen[N];
    memset(seen, 0, sizeof seen);
    rc_iter it;
    void *k;
    size_t count = 0;
    rc_iter_init(&it, s);
    while (rc_iter_next(&it, &k, NULL) == 1) {
        int64_t v = rc_int_value(k);
        CHECK(v >= 0 && v < N && v % 2 == 1 && !seen[v]);
        seen[v] = 1;
        count++;
    }
    CHECK(count == N / 2 && rc_set_len(s) == N / 2);

    /* the discarded slots are reused: the table does not grow for ever */
    for (int round = 0; round < 50; round++) {
        void *v = rc_int(h, 100000 + round);
        CHECK(rc_set_add(s, v) == 0 && rc_set_discard(s, v) == 1);
        rc_decref(v);
    }
    size_t bytes_before, bytes_after;
    CHECK(rc_deep_size(s, &bytes_before, NULL) == 0);

    rc_iter_init(&it, s);
    CHECK(rc_iter_next(&it, &k, NULL) == 1);
    void *extra = rc_int(h, -5000);
    CHECK(rc_set_add(s, extra) == 0);
    CHECK_ERR(h, rc_iter_next(&it, &k, NULL) == -1, RC_EMUTATED);
    CHECK(rc_deep_size(s, &bytes_after, NULL) == 0 && bytes_after > bytes_before);
    rc_decref(extra);
    rc_decref(s);
    CHECK_VALID(h);
}

static void test_frozenset(rc_heap *h)
{
    void *a = rc_int(h, 1), *b = rc_str_cstr(h, "b"), *c = rc_float(h, 2.5);
    void *ab[] = {a, b, c, a}, *ba[] = {c, b, a};
    void *f1 = rc_frozenset(h, 4, ab), *f2 = rc_frozenset(h, 3, ba);
    CHECK(f1 && f2 && f1 != f2 && rc_set_len(f1) == 3);
    CHECK(rc_typeof(f1) == &rc_frozenset_type && !rc_gc_is_tracked(f1));
    CHECK(rc_equal(f1, f2) == 1 && hash_of(f1) == hash_of(f2));
    CHECK(rc_set_contains(f1, b) == 1);

    /* a frozenset is a key; a set with the same items equals it */
    void *d = rc_dict(h);
    CHECK(rc_dict_set(d, f1, a) == 0 && rc_dict_get(d, f2) == a);
    void *s = rc_set_new(h);
    CHECK(rc_set_add(s, a) == 0 && rc_set_add(s, b) == 0);
    CHECK(rc_equal(s, f1) == 0);
    CHECK(rc_set_add(s, c) == 0 && rc_equal(s, f1) == 1 && rc_equal(f2, s) == 1);
    void *fs_in_set[] = {f1};
    void *outer = rc_frozenset(h, 1, fs_in_set);
    CHECK(rc_set_add(s, f2) == 0 && rc_set_contains(s, f1) == 1); /* by value */
    CHECK(rc_set_contains(outer, f2) == 1);

    rc_clear_error(h);
    CHECK(rc_set_add(f1, a) == -1 && rc_last_error(h) == RC_ETYPE && rc_set_len(f1) == 3);
    CHECK_ERR(h, rc_set_discard(f1, a) == -1, RC_ETYPE);
    void *bad[] = {a, s};
    CHECK_ERR(h, !rc_frozenset(h, 2, bad), RC_EUNHASHABLE);
    void *null_item[] = {a, NULL};
    CHECK_ERR(h, !rc_frozenset(h, 2, null_item), RC_EVALUE);
    CHECK(rc_refcount(s) == 1); /* the failed frozenset let go of what it took */

    void *empty = rc_frozenset(h, 0, NULL), *es = rc_set_new(h);
    expect_repr(empty, "frozenset()");
    expect_repr(es, "set()");
    CHECK(rc_equal(empty, es) == 1);
    void *one_item[] = {b};
    void *fb = rc_frozenset(h, 1, one_item);
    expect_repr(fb, "frozenset({'b'})");

    /* frozensets nested deeper than the library compares fail cleanly */
    void *x = rc_frozenset(h, 0, NULL), *y = rc_frozenset(h, 0, NULL);
    for (int depth = 1; depth <= 300; depth++) {
        void *nx = rc_frozenset(h, 1, &x), *ny = rc_frozenset(h, 1, &y);
        rc_decref(x);
        rc_decref(y);
        x = nx;
        y = ny;
        if (depth == 100)
            CHECK(rc_equal(x, y) == 1);
    }
    CHECK_ERR(h, rc_equal(x, y) == -1, RC_EOVERFLOW);
    void *objs[] = {x, y, fb, empty, es, outer, s, d, f1, f2, b, c};
    for (size_t i = 0; i < sizeof objs / sizeof *objs; i++)
        rc_decref(objs[i]);
    CHECK_VALID(h);
}

/* Sets of leaves cost the collector nothing; a set that takes a tracked
   item is tracked, and a cycle through it is collected. */
static void test_set_collector(rc_heap *h)
{
    void *s = rc_set_new(h), *i = rc_int(h, 5000), *str = rc_str_cstr(h, "k");
    void *leaves[] = {i, str};
    void *tup = rc_tuple(h, 2, leaves);
    CHECK(!rc_gc_is_tracked(s));
    CHECK(rc_set_add(s, i) == 0 && rc_set_add(s, str) == 0 && rc_set_add(s, tup) == 0);
    CHECK(!rc_gc_is_tracked(s));
    box *bx = rc_new(h, &box_type);
    CHECK(rc_set_add(s, bx) == 0 && rc_gc_is_tracked(s));
    CHECK(rc_set_member(bx, &bx->item, s) == 0); /* bx -> s -> bx */
    void *wr = rc_weakref_new(s, NULL, NULL);
    rc_decref(bx);
    rc_decref(s);
    CHECK(rc_collect(h, -1) == 2);
    void *dead = rc_weakref_get(wr);
    CHECK(dead == NULL);
    rc_decref(wr);

    /* a frozenset holding a tracked object is tracked from birth */
    box *b2 = rc_new(h, &box_type);
    void *items[] = {b2, i};
    void *fs = rc_frozenset(h, 2, items);
    CHECK(rc_gc_is_tracked(fs));
    CHECK(rc_set_member(b2, &b2->item, fs) == 0);
    rc_decref(b2);
    rc_decref(fs);
    CHECK(rc_collect(h, -1) == 2);
    rc_decref(i);
    rc_decref(str);
    rc_decref(tup);
    CHECK_VALID(h);
}

static void test_foreign(rc_heap *h)
{
    rc_heap *other = rc_heap_new(NULL);
    void *s = rc_set_new(h), *alien = rc_int(other, 77777);
    rc_clear_error(h);
    CHECK(rc_set_add(s, alien) == -1 && rc_last_error(h) == RC_EFOREIGN && rc_set_len(s) == 0);
    CHECK_ERR(h, !rc_frozenset(h, 1, &alien), RC_EFOREIGN);
    void *l = rc_list(h), *d = rc_dict(h), *alien_l = rc_list(other), *alien_d = rc_dict(other);
    CHECK_ERR(h, rc_list_extend(l, alien_l) == -1, RC_EFOREIGN);
    CHECK_ERR(h, rc_dict_update(d, alien_d) == -1, RC_EFOREIGN);
    void *objs[] = {l, d, alien_l, alien_d};
    for (size_t i = 0; i < sizeof objs / sizeof *objs; i++)
        rc_decref(objs[i]);
    rc_decref(alien);
    rc_decref(s);
    rc_heap_free(other);
}

/* ---- The fault sweep ------------------------------------------------------ */

static size_t warm_up(rc_heap *h)
{
    rc_true(h);
    rc_false(h);
    rc_none(h);
    /* the types' records and the cached small int 0 are made once */
    void *s = rc_set_new(h), *zero = rc_int(h, 0), *big = rc_int(h, 7919);
    void *items[] = {zero, big};
    void *fs = rc_frozenset(h, 2, items), *l = rc_list(h);
    CHECK(rc_set_add(s, big) == 0 && rc_list_extend(l, fs) == 0);
    void *objs[] = {s, big, fs, l};
    for (size_t i = 0; i < sizeof objs / sizeof *objs; i++)
        rc_decref(objs[i]);
    rc_collect(h, -1);
    return heap_live_blocks(h);
}

static int workload(rc_heap *h)
{
    int failures = 0;
    void *s = rc_set_new(h);
    if (!s)
        return 1;
    for (int64_t i = 0; i < 40000; i++) { /* enough to need new arenas */
        void *v = rc_int(h, i * 7919);
        if (!v || rc_set_add(s, v) != 0)
            failures++;
        rc_decref(v);
    }
    void *items[] = {s};
    void *fs = rc_frozenset(h, 1, items); /* unhashable: fails, not a fault */
    if (fs)
        return 99;
    void *copy = rc_list(h);
    if (!copy || rc_list_extend(copy, s) != 0)
        failures++;
    rc_decref(copy);
    rc_decref(s);
    return failures;
}

static void still_works(rc_heap *h)
{
    void *s = rc_set_new(h), *v = rc_int(h, 123456);
    CHECK(s && v && rc_set_add(s, v) == 0 && rc_set_contains(s, v) == 1);
    rc_decref(v);
    rc_decref(s);
    CHECK_VALID(h);
}

/* What a set of a million ints costs per item in its table (CPython
   3.11: sys.getsizeof(set(range(0, 7000000, 7))) / 1e6 = 33.6). */
static void test_set_size(void)
{
    enum { N = 1000000 };
    rc_heap *h = test_heap(0);
    void *s = rc_set_new(h), *probe = rc_int(h, 1 << 30);
    for (int64_t i = 0; i < N; i++) {
        void *v = rc_int(h, i * 7);
        CHECK(rc_set_add(s, v) == 0);
        rc_decref(v);
    }
    size_t all, objects, one;
    CHECK(rc_deep_size(s, &all, &objects) == 0 && objects == N + 1);
    CHECK(rc_deep_size(probe, &one, NULL) == 0);
    double per_item = (double)(all - (size_t)N * one) / N; /* the ints at 7 * 128.. are alike */
    printf("test_set: 1M ints: %.1f bytes per item in the table (CPython 3.11: 33.6)\n", per_item);
    CHECK(per_item < 40);
    rc_decref(probe);
    rc_decref(s);
    rc_heap_free(h);
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "big") == 0) {
        test_set_size();
        return 0;
    }
    if (argc > 1 && strcmp(argv[1], "set_add_freed") == 0) {
        rc_heap *h = test_heap(HEAP_DEBUG);
        void *s = rc_set_new(h), *v = rc_int(h, 1);
        exit_on_abort();
        rc_decref(s);
        rc_set_add(s, v); /* stops: the set is in quarantine */
        return 0;
    }
    rc_heap *h = test_heap(0);
    test_singletons(h);
    test_set_basics(h);
    test_set_iteration(h);
    test_frozenset(h);
    test_set_collector(h);
    test_foreign(h);
    CHECK(rc_collect(h, -1) == 0);
    rc_heap_free(h);
    fault_sweep fs = {warm_up, workload, NULL, still_works};
    printf("test_set: ok (%lu failure points swept)\n", run_fault_sweep(&fs));
    return 0;
}
