/*
 * test_dict.c — dict: every function and its errors (on a plain and on a
 * debug heap), numeric and tuple keys, insertion order through deletions,
 * resizes and compactions (against a shadow), iteration and the mutation
 * check, a million entries with int and with str keys (and what they
 * cost), cycles through dicts and lists, the free list, and an
 * out-of-memory sweep over rc_dict_set.
 */
#include "check.h"

#include <stdbool.h>
#include <stdlib.h>

static bool freelists_on(void)
{
    const char *v = getenv("RCGC_NO_FREELISTS");
    return !(v && *v && strcmp(v, "0") != 0);
}

static void *str_of(rc_heap *h, const char *fmt, long v)
{
    char buf[64];
    int n = snprintf(buf, sizeof buf, fmt, v);
    void *s = rc_str(h, buf, (size_t)n);
    CHECK(s);
    return s;
}

/* d[key] = value for an int key and value, dropping the caller's refs. */
static int set_ii(rc_heap *h, void *d, int64_t k, int64_t v)
{
    void *key = rc_int(h, k), *value = rc_int(h, v);
    CHECK(key && value);
    int r = rc_dict_set(d, key, value);
    rc_decref(key);
    rc_decref(value);
    return r;
}

/* d[key] as an int; -1 when absent. */
static int64_t get_i(rc_heap *h, const void *d, int64_t k)
{
    void *key = rc_int(h, k);
    void *v = rc_dict_get(d, key);
    rc_decref(key);
    return v ? rc_int_value(v) : -1;
}

static int del_i(rc_heap *h, void *d, int64_t k)
{
    void *key = rc_int(h, k);
    int r = rc_dict_del(d, key);
    rc_decref(key);
    return r;
}

static void test_basics(int debug)
{
    rc_config cfg;
    rc_config_init(&cfg);
    cfg.debug = debug;
    rc_heap *h = rc_heap_new(&cfg);
    void *d = rc_dict(h);
    CHECK(d && rc_typeof(d) == &rc_dict_type && rc_dict_len(d) == 0 && rc_gc_is_tracked(d));

    /* set takes its own references; get lends one */
    void *k = rc_str(h, "alpha", 5), *v = rc_int(h, 5000);
    CHECK(rc_dict_set(d, k, v) == 0 && rc_refcount(k) == 2 && rc_refcount(v) == 2);
    CHECK(rc_dict_len(d) == 1 && rc_dict_get(d, k) == v && rc_refcount(v) == 2);
    void *k2 = rc_str(h, "alpha", 5); /* equal, not identical */
    CHECK(rc_dict_get(d, k2) == v);

    /* replacing keeps the first key and releases the old value */
    void *v2 = rc_int(h, 6000);
    CHECK(rc_dict_set(d, k2, v2) == 0 && rc_dict_len(d) == 1);
    CHECK(rc_refcount(v) == 1 && rc_refcount(v2) == 2 && rc_refcount(k2) == 1);
    CHECK(rc_dict_set(d, k, v2) == 0 && rc_refcount(v2) == 2); /* same value */
    rc_iter it;
    void *ik, *iv;
    rc_iter_init(&it, d);
    CHECK(rc_iter_next(&it, &ik, &iv) == 1 && ik == k && iv == v2);
    CHECK(rc_iter_next(&it, &ik, &iv) == 0);

    /* absent: NULL and the error untouched */
    void *other = rc_str(h, "beta", 4);
    rc_clear_error(h);
    CHECK(rc_dict_get(d, other) == NULL && rc_last_error(h) == RC_OK);
    CHECK(rc_dict_del(d, other) == -1 && rc_last_error(h) == RC_EKEY);

    /* del releases both references */
    CHECK(rc_dict_del(d, k2) == 0 && rc_dict_len(d) == 0);
    CHECK(rc_refcount(k) == 1 && rc_refcount(v2) == 1);
    CHECK(rc_dict_get(d, k) == NULL);
    rc_clear_error(h);
    CHECK(rc_dict_del(d, k) == -1 && rc_last_error(h) == RC_EKEY);
    CHECK_VALID(h);

    /* many entries, then clear */
    for (int64_t i = 0; i < 1000; i++)
        CHECK(set_ii(h, d, 3000 + i, 9000 + i) == 0);
    CHECK(rc_dict_len(d) == 1000 && get_i(h, d, 3999) == 9999 && get_i(h, d, 4000) == -1);
    CHECK_VALID(h);
    CHECK(rc_dict_set(d, k, v) == 0);
    rc_dict_clear(d);
    CHECK(rc_dict_len(d) == 0 && rc_refcount(k) == 1 && rc_refcount(v) == 1);
    CHECK(get_i(h, d, 3000) == -1);
    CHECK(set_ii(h, d, 1, 2) == 0 && get_i(h, d, 1) == 2); /* usable after clear */
    rc_dict_clear(d);
    rc_dict_clear(d);

    /* errors: unhashable keys, NULL, the wrong type; the dict is unchanged */
    CHECK(rc_dict_set(d, k, v) == 0);
    void *l = rc_list(h), *d2 = rc_dict(h);
    rc_clear_error(h);
    CHECK(rc_dict_set(d, l, v) == -1 && rc_last_error(h) == RC_EUNHASHABLE);
    rc_clear_error(h);
    CHECK(rc_dict_set(d, d2, v) == -1 && rc_last_error(h) == RC_EUNHASHABLE);
    rc_clear_error(h);
    CHECK(rc_dict_get(d, l) == NULL && rc_last_error(h) == RC_EUNHASHABLE);
    rc_clear_error(h);
    CHECK(rc_dict_get(d2, l) == NULL && rc_last_error(h) == RC_EUNHASHABLE); /* empty */
    rc_clear_error(h);
    CHECK(rc_dict_del(d, d2) == -1 && rc_last_error(h) == RC_EUNHASHABLE);
    void *lt = rc_tuple(h, 1, &l); /* a tuple holding a list */
    rc_clear_error(h);
    CHECK(rc_dict_set(d, lt, v) == -1 && rc_last_error(h) == RC_EUNHASHABLE);
    rc_clear_error(h);
    CHECK(rc_dict_set(d, NULL, v) == -1 && rc_last_error(h) == RC_EVALUE);
    rc_clear_error(h);
    CHECK(rc_dict_set(d, k, NULL) == -1 && rc_last_error(h) == RC_EVALUE);
    rc_clear_error(h);
    CHECK(rc_dict_set(l, k, v) == -1 && rc_last_error(h) == RC_ETYPE);
    rc_clear_error(h);
    CHECK(rc_dict_get(k, k) == NULL && rc_last_error(h) == RC_ETYPE);
    rc_clear_error(h);
    CHECK(rc_dict_len(l) == 0 && rc_last_error(h) == RC_ETYPE);
    CHECK(rc_dict_len(d) == 1 && rc_dict_get(d, k) == v && rc_refcount(v) == 2);
    /* values may be anything, containers included */
    CHECK(rc_dict_set(d, k, l) == 0 && rc_dict_get(d, k) == l && rc_refcount(v) == 1);
    rc_decref(lt);
    rc_decref(l);
    rc_decref(d2);
    rc_decref(d);
    CHECK(rc_refcount(k) == 1);
    rc_decref(k);
    rc_decref(k2);
    rc_decref(v);
    rc_decref(v2);
    rc_decref(other);
    CHECK_VALID(h);
    rc_heap_free(h);
}

/* An object of a user type: a key by identity. */
static const rc_type token_type = {.name = "token", .size = 8};

static void test_keys(void)
{
    rc_heap *h = rc_heap_new(NULL);
    void *d = rc_dict(h);
    /* 1 and 1.0 are the same key; the first key object stays */
    void *one = rc_int(h, 1), *onef = rc_float(h, 1.0), *a = rc_str(h, "a", 1),
         *b = rc_str(h, "b", 1);
    CHECK(rc_dict_set(d, one, a) == 0 && rc_dict_set(d, onef, b) == 0);
    CHECK(rc_dict_len(d) == 1 && rc_dict_get(d, one) == b && rc_dict_get(d, onef) == b);
    rc_iter it;
    void *ik, *iv;
    rc_iter_init(&it, d);
    CHECK(rc_iter_next(&it, &ik, &iv) == 1 && ik == one);
    void *big = rc_int(h, 1000000), *bigf = rc_float(h, 1e6), *half = rc_float(h, 2.5);
    CHECK(rc_dict_set(d, bigf, a) == 0 && rc_dict_get(d, big) == a);
    CHECK(rc_dict_set(d, half, a) == 0 && rc_dict_len(d) == 3);
    CHECK(rc_dict_del(d, big) == 0 && rc_dict_get(d, bigf) == NULL);
    void *two = rc_int(h, 2);
    CHECK(rc_dict_get(d, two) == NULL);

    /* tuples are keys by value, with numbers inside compared the same way */
    void *t1 = rc_tuple(h, 2, (void *[]){one, a});
    void *t2 = rc_tuple(h, 2, (void *[]){onef, a}); /* equal to t1 */
    void *t3 = rc_tuple(h, 2, (void *[]){a, one});  /* not */
    void *nested = rc_tuple(h, 2, (void *[]){t1, b});
    void *nested2 = rc_tuple(h, 2, (void *[]){t2, b});
    CHECK(rc_dict_set(d, t1, one) == 0 && rc_dict_get(d, t2) == one);
    CHECK(rc_dict_get(d, t3) == NULL);
    CHECK(rc_dict_set(d, nested, two) == 0 && rc_dict_get(d, nested2) == two);
    CHECK(rc_dict_set(d, t2, two) == 0 && rc_dict_get(d, t1) == two && rc_dict_len(d) == 4);
    void *empty = rc_tuple(h, 0, NULL);
    CHECK(rc_dict_set(d, empty, a) == 0 && rc_dict_get(d, empty) == a);

    /* str and bytes with the same bytes are different keys */
    void *ba = rc_bytes(h, "a", 1);
    CHECK(rc_dict_get(d, ba) == NULL);
    CHECK(rc_dict_set(d, a, one) == 0 && rc_dict_set(d, ba, two) == 0);
    CHECK(rc_dict_get(d, a) == one && rc_dict_get(d, ba) == two);

    /* other objects by identity */
    void *tok1 = rc_new(h, &token_type), *tok2 = rc_new(h, &token_type);
    CHECK(rc_dict_set(d, tok1, one) == 0 && rc_dict_get(d, tok1) == one);
    CHECK(rc_dict_get(d, tok2) == NULL);
    CHECK_VALID(h);

    /* many tuple keys through resizes */
    for (int64_t i = 0; i < 5000; i++) {
        void *x = rc_int(h, i), *y = str_of(h, "%ld", (long)i);
        void *t = rc_tuple(h, 2, (void *[]){x, y});
        CHECK(rc_dict_set(d, t, x) == 0);
        rc_decref(t);
        rc_decref(y);
        rc_decref(x);
    }
    for (int64_t i = 0; i < 5000; i += 7) {
        void *x = rc_float(h, (double)i), *y = str_of(h, "%ld", (long)i);
        void *t = rc_tuple(h, 2, (void *[]){x, y});
        void *got = rc_dict_get(d, t);
        CHECK(got && rc_int_value(got) == i);
        rc_decref(t);
        rc_decref(y);
        rc_decref(x);
    }
    void *objs[] = {one, onef, a, b, big, bigf, half, two, t1, t2, t3, nested, nested2,
                    empty, ba, tok1, tok2, d};
    for (size_t i = 0; i < sizeof objs / sizeof *objs; i++)
        rc_decref(objs[i]);
    CHECK_VALID(h);
    rc_heap_free(h);
}

/* ---- insertion order, against a shadow ---- */

typedef struct shadow {
    int64_t *key, *val; /* live entries in insertion order */
    size_t n;
} shadow;

static size_t shadow_find(const shadow *s, int64_t k)
{
    for (size_t i = 0; i < s->n; i++)
        if (s->key[i] == k)
            return i;
    return SIZE_MAX;
}

static void shadow_check(rc_heap *h, const void *d, const shadow *s)
{
    CHECK(rc_dict_len(d) == s->n);
    rc_iter it;
    void *k, *v;
    size_t i = 0;
    rc_iter_init(&it, d);
    while (rc_iter_next(&it, &k, &v) == 1) {
        CHECK(i < s->n && rc_int_value(k) == s->key[i] && rc_int_value(v) == s->val[i]);
        i++;
    }
    CHECK(i == s->n);
    for (i = 0; i < s->n; i += 1 + s->n / 64)
        CHECK(get_i(h, d, s->key[i]) == s->val[i]);
}

static void test_order(void)
{
    rc_heap *h = rc_heap_new(NULL);
    void *d = rc_dict(h);
    enum { KEYS = 3000 };
    shadow s = {malloc(KEYS * sizeof(int64_t)), malloc(KEYS * sizeof(int64_t)), 0};
    uint64_t rng = 9;
    /* phases: grow, churn at a steady size (compactions), shrink, grow */
    for (int op = 0; op < 60000; op++) {
        int phase = op / 15000;
        int64_t k = (int64_t)(test_rand(&rng) % KEYS);
        size_t at = shadow_find(&s, k);
        unsigned pdel = phase == 0 ? 20 : phase == 1 ? 50 : phase == 2 ? 80 : 10;
        if (at != SIZE_MAX && test_rand(&rng) % 100 < pdel) {
            CHECK(del_i(h, d, k) == 0);
            memmove(s.key + at, s.key + at + 1, (s.n - at - 1) * sizeof(int64_t));
            memmove(s.val + at, s.val + at + 1, (s.n - at - 1) * sizeof(int64_t));
            s.n--;
        } else if (at == SIZE_MAX && pdel == 80 && test_rand(&rng) % 2) {
            rc_clear_error(h);
            CHECK(del_i(h, d, k) == -1 && rc_last_error(h) == RC_EKEY);
        } else {
            CHECK(set_ii(h, d, k, op + 5000) == 0);
            if (at == SIZE_MAX) {
                at = s.n++;
                s.key[at] = k;
            }
            s.val[at] = op + 5000;
        }
        if (op % 997 == 0) {
            shadow_check(h, d, &s);
            CHECK_VALID(h);
        }
    }
    shadow_check(h, d, &s);
    /* delete everything but the last, then refill: order is kept */
    while (s.n > 1) {
        CHECK(del_i(h, d, s.key[0]) == 0);
        memmove(s.key, s.key + 1, (s.n - 1) * sizeof(int64_t));
        memmove(s.val, s.val + 1, (s.n - 1) * sizeof(int64_t));
        s.n--;
    }
    for (int64_t k = 0; k < 100; k++)
        if (k != s.key[0]) {
            CHECK(set_ii(h, d, k, k + 7000) == 0);
            s.key[s.n] = k;
            s.val[s.n++] = k + 7000;
        }
    shadow_check(h, d, &s);
    free(s.key);
    free(s.val);
    rc_decref(d);
    CHECK_VALID(h);
    rc_heap_free(h);
}

static void test_iteration(void)
{
    rc_heap *h = rc_heap_new(NULL);
    void *d = rc_dict(h);
    for (int64_t i = 0; i < 100; i++)
        CHECK(set_ii(h, d, i + 2000, i) == 0);
    for (int64_t i = 0; i < 100; i += 3)
        CHECK(del_i(h, d, i + 2000) == 0);
    rc_iter it;
    void *k, *v;
    int64_t expect = 1;
    rc_iter_init(&it, d);
    while (rc_iter_next(&it, &k, NULL) == 1) { /* value may be NULL */
        CHECK(rc_int_value(k) == expect + 2000);
        expect += expect % 3 == 2 ? 2 : 1;
        CHECK(set_ii(h, d, rc_int_value(k), -5) == 0); /* replacing is allowed */
    }
    CHECK(expect == 100 && get_i(h, d, 2001) == -5);

    /* insertion and deletion are caught, even one that is undone */
    for (int how = 0; how < 4; how++) {
        rc_iter_init(&it, d);
        CHECK(rc_iter_next(&it, &k, &v) == 1);
        if (how == 0)
            CHECK(set_ii(h, d, 99999, 1) == 0);
        else if (how == 1)
            CHECK(del_i(h, d, 99999) == 0);
        else if (how == 2) {
            CHECK(set_ii(h, d, 99999, 1) == 0 && del_i(h, d, 99999) == 0);
        } else
            rc_dict_clear(d);
        rc_clear_error(h);
        CHECK(rc_iter_next(&it, &k, &v) == -1 && rc_last_error(h) == RC_EMUTATED);
    }
    rc_iter_init(&it, d);
    CHECK(rc_iter_next(&it, &k, &v) == 0);
    rc_decref(d);
    rc_heap_free(h);
}

/* ---- a million entries ---- */

static size_t live_bytes(const rc_heap *h)
{
    rc_alloc_stats st;
    rc_alloc_stats_get(h, &st);
    return st.small_bytes + st.large_bytes + st.huge_bytes;
}

static void test_million(void)
{
    enum { N = 1000000 };
    rc_heap *h = rc_heap_new(NULL);
    rc_gc_enable(h, 0);
    /* int keys */
    void *d = rc_dict(h);
    for (int64_t i = 0; i < N; i++)
        CHECK(set_ii(h, d, i * 7919, i) == 0);
    CHECK(rc_dict_len(d) == N);
    for (int64_t i = 0; i < N; i += 3)
        CHECK(get_i(h, d, i * 7919) == i);
    CHECK(get_i(h, d, 7918) == -1);
    for (int64_t i = 0; i < N; i += 2)
        CHECK(del_i(h, d, i * 7919) == 0);
    CHECK(rc_dict_len(d) == N / 2 && get_i(h, d, 7919) == 1 && get_i(h, d, 0) == -1);
    CHECK_VALID(h);
    rc_decref(d);

    /* str keys, int values: what an entry costs, everything included */
    rc_alloc_stats st0, st1;
    rc_heap_trim(h);
    rc_alloc_stats_get(h, &st0);
    size_t live0 = live_bytes(h);
    d = rc_dict(h);
    for (long i = 0; i < N; i++) {
        void *k = str_of(h, "key%07ld", i), *v = rc_int(h, 5000 + i);
        CHECK(rc_dict_set(d, k, v) == 0);
        rc_decref(k);
        rc_decref(v);
    }
    CHECK(rc_dict_len(d) == N);
    rc_alloc_stats_get(h, &st1);
    double per_live = (double)(live_bytes(h) - live0) / N;
    double per_os = (double)(st1.os_bytes - st0.os_bytes) / N;
    printf("test_dict: 1M str->int entries: %.1f bytes each live, %.1f from the OS "
           "(CPython: ~127)\n", per_live, per_os);
    fflush(stdout);
    CHECK(per_live < 90 && per_os < 100);
    for (long i = 0; i < N; i += 5) {
        void *k = str_of(h, "key%07ld", i);
        void *v = rc_dict_get(d, k);
        CHECK(v && rc_int_value(v) == 5000 + i);
        rc_decref(k);
    }
    rc_iter it;
    void *k, *v;
    long i = 0;
    rc_iter_init(&it, d);
    while (rc_iter_next(&it, &k, &v) == 1)
        CHECK(rc_int_value(v) == 5000 + i++);
    CHECK(i == N);
    CHECK_VALID(h);
    rc_decref(d);
    rc_heap_free(h);
}

/* ---- cycles, free list ---- */

static void test_cycles(void)
{
    rc_heap *h = rc_heap_new(NULL);
    rc_gc_enable(h, 0);
    size_t base = 0;
    for (int round = 0; round < 4; round++) {
        /* a dict holding itself, and dict -> list -> dict */
        void *d = rc_dict(h), *e = rc_dict(h), *l = rc_list(h);
        void *key = rc_str(h, "self", 4), *x = rc_int(h, 424242);
        CHECK(rc_dict_set(d, key, d) == 0);
        CHECK(rc_dict_set(e, x, l) == 0 && rc_list_append(l, e) == 0);
        CHECK(rc_dict_set(e, key, x) == 0);
        rc_weakref *wd = rc_weakref_new(d, NULL, NULL), *we = rc_weakref_new(e, NULL, NULL);
        rc_decref(key);
        rc_decref(x);
        rc_decref(d);
        rc_decref(e);
        rc_decref(l);
        CHECK(rc_collect(h, 0) == 3);
        CHECK(rc_weakref_get(wd) == NULL && rc_weakref_get(we) == NULL);
        rc_decref(wd);
        rc_decref(we);
        CHECK_VALID(h);
        rc_collect(h, -1); /* also empties the free lists */
        if (round == 0) /* the types state, type records, weakref table */
            base = heap_live_blocks(h);
        CHECK(heap_live_blocks(h) == base);
    }
    rc_heap_free(h);
}

static void test_freelist(void)
{
    if (!freelists_on()) {
        printf("test_dict: free lists off (RCGC_NO_FREELISTS), reuse not checked\n");
        return;
    }
    rc_heap *h = rc_heap_new(NULL);
    void *d = rc_dict(h);
    CHECK(set_ii(h, d, 5000, 6000) == 0);
    rc_decref(d);
    void *again = rc_dict(h);
    CHECK(again == d && rc_dict_len(again) == 0 && rc_refcount(again) == 1);
    CHECK(rc_gc_is_tracked(again) && get_i(h, again, 5000) == -1);
    CHECK(set_ii(h, again, 1, 2) == 0 && get_i(h, again, 1) == 2);
    /* a big table is not kept */
    for (int64_t i = 0; i < 100; i++)
        CHECK(set_ii(h, again, i, i) == 0);
    size_t with_table = heap_live_blocks(h);
    rc_decref(again);
    CHECK(heap_live_blocks(h) == with_table - 1);
    void *third = rc_dict(h);
    CHECK(third == d && rc_dict_len(third) == 0 && set_ii(h, third, 3, 4) == 0);
    rc_decref(third);
    CHECK_VALID(h);
    size_t parked = heap_live_blocks(h);
    rc_freelists_clear(h);
    CHECK(heap_live_blocks(h) == parked - 2); /* the dict and its small table */
    CHECK_VALID(h);
    rc_heap_free(h);
}

/* ---- out of memory ---- */

static int oom_workload(rc_heap *h, int64_t n)
{
    void *d = rc_dict(h);
    if (!d)
        return 1;
    shadow s = {malloc((size_t)n * sizeof(int64_t)), NULL, 0}; /* op numbers */
    int failures = 0;
    for (int64_t i = 0; i < n; i++) {
        int64_t k = (i * 37) % n; /* every key once, str and int keys mixed */
        char text[24]; /* a str key may fail too: not str_of, which CHECKs */
        int len = snprintf(text, sizeof text, "%ld", (long)(k + 10000));
        void *key = i % 2 ? rc_int(h, k + 10000) : rc_str(h, text, (size_t)len);
        void *value = rc_int(h, i + 100000);
        if (!key || !value) {
            rc_decref(key);
            rc_decref(value);
            failures++;
            continue;
        }
        rc_clear_error(h);
        if (rc_dict_set(d, key, value) == 0) {
            CHECK(rc_refcount(value) == 2);
            s.key[s.n++] = i;
        } else {
            failures++;
            CHECK(rc_last_error(h) == RC_ENOMEM && rc_refcount(value) == 1);
            CHECK(rc_refcount(key) == 1);
            CHECK(rc_dict_len(d) == s.n);
            /* order and contents as before */
            rc_iter it;
            void *ik, *iv;
            size_t j = 0;
            rc_iter_init(&it, d);
            while (rc_iter_next(&it, &ik, &iv) == 1) {
                CHECK(j < s.n && rc_int_value(iv) == s.key[j] + 100000);
                j++;
            }
            CHECK(j == s.n);
            CHECK_VALID(h);
        }
        rc_decref(key);
        rc_decref(value);
    }
    /* a copy under the same pressure: whole, or nothing left behind */
    rc_clear_error(h);
    void *copy = rc_dict_copy(d);
    if (copy) {
        CHECK(rc_dict_len(copy) == rc_dict_len(d) && rc_equal(copy, d) == 1);
        rc_decref(copy);
    } else {
        failures++;
        CHECK(rc_last_error(h) == RC_ENOMEM);
    }
    rc_decref(d);
    free(s.key);
    CHECK_VALID(h);
    return failures;
}

/* Make what a heap makes once (types state, type records), before the
   sweep starts failing pages; returns the live blocks then. */
static size_t warm_up(rc_heap *h)
{
    void *c = rc_dict(h), *x = rc_int(h, 100000);
    void *s = rc_str(h, "warm", 4);
    rc_decref(s);
    rc_decref(c);
    rc_decref(x);
    rc_freelists_clear(h);
    return heap_live_blocks(h);
}

static int oom_run(rc_heap *h)
{
    return oom_workload(h, 60000);
}

/* After the sweep's run: a dict still works (and refuses itself as a key). */
static void still_works(rc_heap *h)
{
    void *d = rc_dict(h);
    CHECK(d && rc_dict_set(d, d, d) == -1 && rc_last_error(h) == RC_EUNHASHABLE);
    rc_decref(d);
}

static void test_oom(void)
{
    unsigned long swept =
        run_fault_sweep(&(fault_sweep){.warm_up = warm_up, .workload = oom_run,
                                       .still_works = still_works});
    CHECK(swept >= 5);
    printf("test_dict: oom sweep over %lu failure points\n", swept);
}

/* Python's `in`, pop, setdefault, update and copy. */
static void test_methods(void)
{
    rc_heap *h = test_heap(0);
    void *d = rc_dict(h);
    for (int64_t i = 0; i < 50; i++)
        CHECK(set_ii(h, d, 10000 + i, 20000 + i) == 0);
    void *k = rc_int(h, 10007), *kf = rc_float(h, 10007.0), *absent = rc_int(h, 5);
    void *one = rc_int(h, 1), *t = rc_true(h), *a = rc_str_cstr(h, "a");
    CHECK(rc_dict_contains(d, k) == 1 && rc_dict_contains(d, kf) == 1);
    CHECK(rc_dict_contains(d, absent) == 0);

    /* pop: the value as a new reference, the entry gone */
    void *v = rc_dict_pop(d, kf);
    CHECK(v && rc_int_value(v) == 20007 && rc_refcount(v) == 1 && rc_dict_len(d) == 49);
    rc_decref(v);
    rc_clear_error(h);
    CHECK(!rc_dict_pop(d, k) && rc_last_error(h) == RC_EKEY && rc_dict_len(d) == 49);
    rc_clear_error(h);

    /* setdefault: the existing value, or dflt stored (True finds 1) */
    CHECK(rc_dict_setdefault(d, one, a) == a && rc_dict_len(d) == 50 && rc_refcount(a) == 2);
    CHECK(rc_dict_setdefault(d, t, absent) == a && rc_dict_len(d) == 50);
    CHECK_ERR(h, !rc_dict_setdefault(d, one, NULL), RC_EVALUE);

    /* copy: same items in the same order, shallow */
    void *c = rc_dict_copy(d);
    CHECK(c && c != d && rc_dict_len(c) == 50 && rc_equal(c, d) == 1 && rc_refcount(a) == 3);
    rc_iter i1, i2;
    void *k1, *k2;
    rc_iter_init(&i1, d);
    rc_iter_init(&i2, c);
    while (rc_iter_next(&i1, &k1, NULL) == 1) {
        CHECK(rc_iter_next(&i2, &k2, NULL) == 1 && k1 == k2);
    }
    /* update: replaces values, adds keys at the end, keeps d's order */
    void *u = rc_dict(h);
    CHECK(set_ii(h, u, 10000, -1) == 0 && set_ii(h, u, 90000, -2) == 0);
    CHECK(rc_dict_update(c, u) == 0 && rc_dict_len(c) == 51);
    void *k0 = rc_int(h, 10000), *k9 = rc_int(h, 90000);
    CHECK(rc_int_value(rc_dict_get(c, k0)) == -1 && rc_int_value(rc_dict_get(c, k9)) == -2);
    CHECK(rc_dict_update(c, c) == 0 && rc_dict_len(c) == 51); /* with itself: no change */
    void *e = rc_dict(h);
    CHECK(rc_dict_update(e, c) == 0 && rc_equal(e, c) == 1); /* into an empty one */
    CHECK(rc_dict_contains(d, k9) == 0); /* the original kept its own */

    /* wrong types and unhashable keys: an error, nothing changed */
    void *l = rc_list(h);
    CHECK_ERR(h, rc_dict_contains(d, l) == -1, RC_EUNHASHABLE);
    CHECK(!rc_dict_pop(d, l) && rc_last_error(h) == RC_EUNHASHABLE && rc_dict_len(d) == 50);
    CHECK_ERR(h, !rc_dict_setdefault(d, l, a), RC_EUNHASHABLE);
    CHECK(rc_dict_update(d, l) == -1 && rc_last_error(h) == RC_ETYPE);
    CHECK_ERR(h, rc_dict_update(d, NULL) == -1, RC_ETYPE);
    CHECK(rc_dict_update(l, d) == -1 && rc_last_error(h) == RC_ETYPE);
    CHECK_ERR(h, !rc_dict_copy(l), RC_ETYPE);
    CHECK(rc_dict_contains(l, k) == -1 && !rc_dict_pop(l, k) && rc_last_error(h) == RC_ETYPE);
    rc_clear_error(h);
    CHECK(rc_dict_len(d) == 50);

    void *objs[] = {d, k, kf, absent, a, c, u, k0, k9, e, l};
    for (size_t i = 0; i < sizeof objs / sizeof *objs; i++)
        rc_decref(objs[i]);
    CHECK(rc_collect(h, -1) == 0);
    CHECK_VALID(h);
    rc_heap_free(h);
}

int main(void)
{
    test_methods();
    test_basics(0);
    test_basics(1);
    test_keys();
    test_order();
    test_iteration();
    test_million();
    test_cycles();
    test_freelist();
    test_oom();
    printf("test_dict: ok\n");
    return 0;
}
