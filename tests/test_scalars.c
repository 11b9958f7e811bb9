/*
 * test_scalars.c — int (and its small-int cache), float, tuple, and what
 * all built-ins share: hashing and equality across types, errors, tuple
 * iteration, and an OOM sweep over the constructors.
 */
#include "check.h"

#include <math.h>

static void test_ints(rc_heap *h)
{
    void *a = rc_int(h, 7), *b = rc_int(h, 7);
    CHECK(a == b && rc_is_immortal(a) && rc_int_value(a) == 7); /* cached */
    CHECK(rc_int(h, RC_SMALL_INT_MIN) == rc_int(h, RC_SMALL_INT_MIN));
    CHECK(rc_int(h, RC_SMALL_INT_MAX) == rc_int(h, RC_SMALL_INT_MAX));
    void *c = rc_int(h, RC_SMALL_INT_MAX + 1), *d = rc_int(h, RC_SMALL_INT_MAX + 1);
    CHECK(c != d && !rc_is_immortal(c) && rc_refcount(c) == 1);
    void *m = rc_int(h, INT64_MIN), *x = rc_int(h, INT64_MAX);
    CHECK(rc_int_value(m) == INT64_MIN && rc_int_value(x) == INT64_MAX);
    CHECK(rc_typeof(c) == &rc_int_type && !rc_gc_is_tracked(c));
    CHECK(rc_equal(c, d));
    rc_decref(c);
    rc_decref(d);
    rc_decref(m);
    rc_decref(x);
    rc_decref(a); /* immortal: nothing happens */
    CHECK(rc_refcount(a) >= RC_IMMORTAL);
    CHECK_VALID(h);
}

static void test_numbers_hash_alike(rc_heap *h)
{
    void *i = rc_int(h, 1000000), *f = rc_float(h, 1000000.0), *g = rc_float(h, 0.5);
    void *z = rc_int(h, 0), *nz = rc_float(h, -0.0);
    uint64_t hi, hf, hg, hz, hnz;
    CHECK(rc_hash(i, &hi) == 0 && rc_hash(f, &hf) == 0 && rc_hash(g, &hg) == 0);
    CHECK(rc_hash(z, &hz) == 0 && rc_hash(nz, &hnz) == 0);
    CHECK(hi == hf && hz == hnz && hg != hi);
    CHECK(rc_equal(i, f) && rc_equal(z, nz) && !rc_equal(i, g));
    void *nan = rc_float(h, NAN);
    CHECK(!rc_equal(nan, nan) || nan == nan); /* the same object is itself */
    void *big = rc_float(h, 9007199254740993.0), *bigi = rc_int(h, INT64_C(9007199254740993));
    CHECK(!rc_equal(big, bigi)); /* 2^53 + 1 is not a double: exact comparison */
    void *l = rc_list(h);
    uint64_t hl;
    rc_clear_error(h);
    CHECK(rc_hash(l, &hl) == -1 && rc_last_error(h) == RC_EUNHASHABLE);
    CHECK(strcmp(rc_error_name(RC_EUNHASHABLE), "RC_EUNHASHABLE") == 0);
    void *objs[] = {i, f, g, nz, nan, big, bigi, l};
    for (size_t k = 0; k < sizeof objs / sizeof *objs; k++)
        rc_decref(objs[k]);
    CHECK_VALID(h);
}

static void test_tuples(rc_heap *h)
{
    void *s = rc_str(h, "x", 1), *n = rc_int(h, 5000), *l = rc_list(h);
    void *leaves[] = {s, n};
    void *t = rc_tuple(h, 2, leaves);
    CHECK(t && rc_tuple_len(t) == 2 && rc_tuple_get(t, 1) == n);
    CHECK(!rc_gc_is_tracked(t)); /* only leaves: the collector never looks */
    CHECK(rc_refcount(s) == 2);  /* the tuple holds its own reference */
    void *mixed[] = {s, l};
    void *u = rc_tuple(h, 2, mixed);
    CHECK(rc_gc_is_tracked(u)); /* holds a list: could be in a cycle */
    rc_clear_error(h);
    CHECK(rc_tuple_get(t, 2) == NULL && rc_last_error(h) == RC_EINDEX);
    void *bad[] = {s, NULL};
    CHECK(rc_tuple(h, 2, bad) == NULL && rc_last_error(h) == RC_EVALUE);
    CHECK(rc_tuple(h, SIZE_MAX / 4, leaves) == NULL && rc_last_error(h) == RC_EOVERFLOW);
    rc_clear_error(h); /* one past the 2^32 - 1 items a tuple can count */
    CHECK(rc_tuple(h, (size_t)UINT32_MAX + 1, leaves) == NULL &&
          rc_last_error(h) == RC_EOVERFLOW);
    void *empty = rc_tuple(h, 0, NULL);
    CHECK(empty && rc_tuple_len(empty) == 0);

    /* equal tuples hash alike and compare equal; a tuple holding a list
       is unhashable */
    void *t2 = rc_tuple(h, 2, leaves);
    uint64_t a, b;
    CHECK(rc_hash(t, &a) == 0 && rc_hash(t2, &b) == 0 && a == b && rc_equal(t, t2));
    CHECK(rc_hash(u, &a) == -1);

    /* iteration over a tuple */
    rc_iter it;
    void *item;
    size_t count = 0;
    rc_iter_init(&it, t);
    while (rc_iter_next(&it, &item, NULL) == 1)
        CHECK(item == leaves[count++]);
    CHECK(count == 2);
    rc_iter_init(&it, n); /* not a container */
    CHECK(rc_iter_next(&it, &item, NULL) == -1 && rc_last_error(h) == RC_ETYPE);

    void *objs[] = {t, u, empty, t2, s, n, l};
    for (size_t k = 0; k < sizeof objs / sizeof *objs; k++)
        rc_decref(objs[k]);
    CHECK_VALID(h);
}

/* A page source that refuses everything after `budget` requests. */
typedef struct stingy_source {
    counting_source counts;
    size_t budget;
} stingy_source;

static void *stingy_alloc(void *ctx, size_t size, size_t align)
{
    stingy_source *s = ctx;
    if (s->counts.requests >= s->budget)
        return NULL;
    return counting_alloc(&s->counts, size, align);
}

static void stingy_free(void *ctx, void *p, size_t size)
{
    counting_free(&((stingy_source *)ctx)->counts, p, size);
}

/* Make ints, floats and tuples while the page source runs dry after 1, 2,
   3... requests: each refusal is a NULL with RC_ENOMEM (after the one
   emergency collection and retry), the heap stays valid, nothing leaks. */
static void test_oom_sweep(void)
{
    size_t budget, runs_with_failures = 0;
    for (budget = 0;; budget++) {
        stingy_source src = {{0}, budget + 1}; /* +1: the heap struct */
        rc_config cfg;
        rc_config_init(&cfg);
        cfg.pages.alloc = stingy_alloc;
        cfg.pages.free = stingy_free;
        cfg.pages.ctx = &src;
        rc_heap *h = rc_heap_new(&cfg);
        CHECK(h);
        void *one = rc_int(h, 1); /* may fail too: then tuples report it */
        enum { N = 20000 };
        static void *keep[N];
        int failures = 0;
        for (int k = 0; k < N; k++) {
            void *o = k % 3 == 0 ? rc_int(h, 100000 + k)
                    : k % 3 == 1 ? rc_float(h, k * 0.5)
                    : one        ? rc_tuple(h, 1, &one)
                                 : NULL;
            if (!o) {
                CHECK(!one || rc_last_error(h) == RC_ENOMEM);
                failures++;
            }
            keep[k] = o;
        }
        CHECK_VALID(h);
        for (int k = N; k-- > 0;)
            rc_decref(keep[k]);
        rc_alloc_stats s;
        rc_alloc_stats_get(h, &s);
        rc_heap_free(h);
        CHECK(src.counts.live_bytes == 0);
        if (failures == 0)
            break; /* enough pages for the whole run */
        runs_with_failures++;
        CHECK(s.page_failures > 0); /* a NULL only when the source said no */
    }
    CHECK(runs_with_failures > 0);
}

int main(void)
{
    rc_heap *h = rc_heap_new(NULL);
    test_ints(h);
    test_numbers_hash_alike(h);
    test_tuples(h);
    rc_heap_free(h);
    test_oom_sweep();
    printf("test_scalars: ok\n");
    return 0;
}
