/*
 * test_list.c — list: every function and its errors (on a plain and on a
 * debug heap), iteration and the mutation check, the stable sort (against
 * a reference, with a cmp that tries to change the list and one that
 * answers at random), cycles through lists, the free list, and an
 * out-of-memory sweep over append and insert.
 */
#include "check.h"

#include <stdbool.h>
#include <stdlib.h>

static bool freelists_on(void)
{
    const char *v = getenv("RCGC_NO_FREELISTS");
    return !(v && *v && strcmp(v, "0") != 0);
}

static int64_t ival(const void *list, size_t i)
{
    return rc_int_value(rc_list_get(list, i));
}

/* A list of ints from vals (values above the small-int cache: real objects). */
static void *list_of(rc_heap *h, const int64_t *vals, size_t n)
{
    void *l = rc_list(h);
    CHECK(l);
    for (size_t i = 0; i < n; i++) {
        void *x = rc_int(h, vals[i]);
        CHECK(x && rc_list_append(l, x) == 0);
        rc_decref(x);
    }
    return l;
}

static void test_basics(int debug)
{
    rc_config cfg;
    rc_config_init(&cfg);
    cfg.debug = debug;
    rc_heap *h = rc_heap_new(&cfg);
    void *l = rc_list(h);
    CHECK(l && rc_typeof(l) == &rc_list_type && rc_list_len(l) == 0);
    CHECK(rc_gc_is_tracked(l));

    /* append takes its own reference; get lends one */
    void *x = rc_int(h, 5000);
    CHECK(rc_list_append(l, x) == 0 && rc_refcount(x) == 2);
    CHECK(rc_list_get(l, 0) == x && rc_refcount(x) == 2);
    for (int64_t v = 5001; v < 5100; v++) {
        void *y = rc_int(h, v);
        CHECK(rc_list_append(l, y) == 0);
        rc_decref(y);
        CHECK_VALID(h);
    }
    CHECK(rc_list_len(l) == 100 && ival(l, 99) == 5099);

    /* set replaces, releasing the old item */
    void *z = rc_int(h, -7000);
    CHECK(rc_list_set(l, 0, z) == 0 && rc_refcount(x) == 1 && rc_refcount(z) == 2);
    CHECK(rc_list_set(l, 0, z) == 0 && rc_refcount(z) == 2); /* same item */
    CHECK(rc_list_set(l, 0, x) == 0 && rc_refcount(z) == 1 && rc_refcount(x) == 2);

    /* insert: front, middle, past the end (appends) */
    CHECK(rc_list_insert(l, 0, z) == 0 && rc_list_get(l, 0) == z && ival(l, 1) == 5000);
    CHECK(rc_list_insert(l, 50, z) == 0 && rc_list_get(l, 50) == z && ival(l, 51) == 5049);
    CHECK(rc_list_insert(l, 1000, z) == 0 && rc_list_get(l, 102) == z);
    CHECK(rc_list_len(l) == 103 && rc_refcount(z) == 4);
    CHECK_VALID(h);

    /* pop gives the list's reference to the caller */
    void *p = rc_list_pop(l, 102);
    CHECK(p == z && rc_refcount(z) == 4);
    rc_decref(p);
    CHECK(rc_list_pop(l, 50) == z && rc_list_pop(l, 0) == z && rc_refcount(z) == 3);
    rc_decref(z);
    rc_decref(z);
    CHECK(rc_refcount(z) == 1);
    rc_decref(z);
    CHECK(rc_list_len(l) == 100 && ival(l, 0) == 5000 && ival(l, 50) == 5050);

    /* slice copies, clamped to the length */
    void *s = rc_list_slice(l, 10, 20);
    CHECK(s && rc_list_len(s) == 10 && ival(s, 0) == 5010 && ival(s, 9) == 5019);
    CHECK(rc_list_get(s, 0) == rc_list_get(l, 10) && rc_refcount(rc_list_get(l, 10)) == 2);
    rc_decref(s);
    s = rc_list_slice(l, 95, 1000);
    CHECK(s && rc_list_len(s) == 5 && ival(s, 4) == 5099);
    rc_decref(s);
    s = rc_list_slice(l, 60, 40);
    CHECK(s && rc_list_len(s) == 0);
    rc_decref(s);
    s = rc_list_slice(l, 500, 600);
    CHECK(s && rc_list_len(s) == 0);
    rc_decref(s);

    /* reserve grows the array, never the length, never shrinks */
    CHECK(rc_list_reserve(l, 10000) == 0 && rc_list_len(l) == 100);
    CHECK(rc_list_reserve(l, 5) == 0 && ival(l, 99) == 5099);
    rc_clear_error(h);
    CHECK(rc_list_reserve(l, SIZE_MAX / 4) == -1 && rc_last_error(h) == RC_EOVERFLOW);
    CHECK(rc_list_reserve(l, SIZE_MAX / 16) == -1 && rc_last_error(h) == RC_ENOMEM);
    CHECK(rc_list_len(l) == 100 && ival(l, 99) == 5099);

    /* pop down to empty shrinks the array and keeps the order */
    for (int64_t v = 5099; v >= 5000; v--) {
        void *q = rc_list_pop(l, rc_list_len(l) - 1);
        CHECK(q && rc_int_value(q) == v);
        rc_decref(q);
    }
    CHECK(rc_list_len(l) == 0);
    CHECK_VALID(h);

    /* errors: index, type, NULL item; the list is unchanged */
    CHECK(rc_list_append(l, x) == 0);
    rc_clear_error(h);
    CHECK(rc_list_get(l, 1) == NULL && rc_last_error(h) == RC_EINDEX);
    rc_clear_error(h);
    CHECK(rc_list_set(l, 1, x) == -1 && rc_last_error(h) == RC_EINDEX);
    rc_clear_error(h);
    CHECK(rc_list_pop(l, 1) == NULL && rc_last_error(h) == RC_EINDEX);
    rc_clear_error(h);
    CHECK(rc_list_append(l, NULL) == -1 && rc_last_error(h) == RC_EVALUE);
    rc_clear_error(h);
    CHECK(rc_list_insert(l, 0, NULL) == -1 && rc_last_error(h) == RC_EVALUE);
    rc_clear_error(h);
    CHECK(rc_list_set(l, 0, NULL) == -1 && rc_last_error(h) == RC_EVALUE);
    rc_clear_error(h);
    CHECK(rc_list_append(x, x) == -1 && rc_last_error(h) == RC_ETYPE);
    rc_clear_error(h);
    CHECK(rc_list_len(x) == 0 && rc_last_error(h) == RC_ETYPE);
    rc_clear_error(h);
    CHECK(rc_list_get(x, 0) == NULL && rc_last_error(h) == RC_ETYPE);
    void *d = rc_dict(h);
    rc_clear_error(h);
    CHECK(rc_list_pop(d, 0) == NULL && rc_last_error(h) == RC_ETYPE);
    rc_clear_error(h);
    CHECK(rc_list_slice(d, 0, 1) == NULL && rc_last_error(h) == RC_ETYPE);
    rc_decref(d);
    CHECK(rc_list_len(l) == 1 && rc_list_get(l, 0) == x && rc_refcount(x) == 2);

    /* a list holds anything, itself included */
    CHECK(rc_list_append(l, l) == 0 && rc_refcount(l) == 2);
    CHECK(rc_list_pop(l, 1) == l);
    rc_decref(l);
    rc_decref(l);
    CHECK(rc_refcount(x) == 1);
    rc_decref(x);
    CHECK_VALID(h);
    rc_heap_free(h);
}

static void test_iteration(void)
{
    rc_heap *h = rc_heap_new(NULL);
    int64_t vals[50];
    for (int i = 0; i < 50; i++)
        vals[i] = 2000 + i;
    void *l = list_of(h, vals, 50);
    rc_iter it;
    void *item, *value = &it;
    size_t n = 0;
    rc_iter_init(&it, l);
    while (rc_iter_next(&it, &item, &value) == 1) {
        CHECK(rc_int_value(item) == vals[n++] && value == NULL);
        if (n == 10) { /* replacing an item is no change of size */
            void *y = rc_int(h, 2009);
            CHECK(rc_list_set(l, 9, y) == 0);
            rc_decref(y);
        }
    }
    CHECK(n == 50 && rc_iter_next(&it, &item, NULL) == 0);

    /* every change of size is caught, even one undone */
    for (int how = 0; how < 4; how++) {
        rc_iter_init(&it, l);
        CHECK(rc_iter_next(&it, &item, NULL) == 1);
        void *y = rc_int(h, 9999);
        if (how == 0)
            CHECK(rc_list_append(l, y) == 0);
        else if (how == 1)
            CHECK(rc_list_insert(l, 0, y) == 0);
        else if (how == 2)
            rc_decref(rc_list_pop(l, 0));
        else {
            CHECK(rc_list_append(l, y) == 0);
            rc_decref(rc_list_pop(l, rc_list_len(l) - 1));
        }
        rc_decref(y);
        rc_clear_error(h);
        CHECK(rc_iter_next(&it, &item, NULL) == -1 && rc_last_error(h) == RC_EMUTATED);
        CHECK(rc_iter_next(&it, &item, NULL) == -1);
    }

    /* an empty list ends at once */
    void *e = rc_list(h);
    rc_iter_init(&it, e);
    CHECK(rc_iter_next(&it, &item, NULL) == 0);
    rc_decref(e);
    rc_decref(l);
    CHECK_VALID(h);
    rc_heap_free(h);
}

/* ---- sort ---- */

/* Sort keys are value / KEY: many ties, and value % KEY records the input
   position, which shows whether the sort was stable. */
#define KEY 100000

typedef struct sort_ctx {
    void *list;       /* to try changing from cmp */
    int mischief;     /* 0 none, 1 append, 2 pop, 3 set, 4 sort, 5 reserve */
    size_t calls, refused;
    uint64_t rng;     /* random answers when nonzero */
} sort_ctx;

static int by_value(const void *a, const void *b, void *ctx)
{
    sort_ctx *c = ctx;
    c->calls++;
    if (c->rng)
        return (int)(test_rand(&c->rng) % 3) - 1;
    int64_t x = rc_int_value(a) / KEY, y = rc_int_value(b) / KEY;
    return x < y ? -1 : x > y;
}

static int meddling(const void *a, const void *b, void *ctx)
{
    sort_ctx *c = ctx;
    void *first = rc_list_get(c->list, 0); /* reading is allowed */
    int r = -1;
    switch (c->mischief) {
    case 1: r = rc_list_append(c->list, first); break;
    case 2: r = rc_list_pop(c->list, 0) ? 0 : -1; break;
    case 3: r = rc_list_set(c->list, 0, first); break;
    case 4: r = rc_list_sort(c->list, by_value, &(sort_ctx){0}); break;
    case 5: r = rc_list_reserve(c->list, 1u << 20); break;
    }
    CHECK(r == -1 && rc_last_error(rc_heap_of(c->list)) == RC_EMUTATED);
    c->refused++;
    return by_value(a, b, ctx);
}

static int cmp_ptr(const void *a, const void *b)
{
    uintptr_t x = *(const uintptr_t *)a, y = *(const uintptr_t *)b;
    return x < y ? -1 : x > y;
}

/* The items of l as a sorted array of pointers (a multiset to compare). */
static void **items_sorted(const void *l)
{
    size_t n = rc_list_len(l);
    void **v = malloc((n ? n : 1) * sizeof *v);
    CHECK(v);
    for (size_t i = 0; i < n; i++)
        v[i] = rc_list_get(l, i);
    qsort(v, n, sizeof *v, cmp_ptr);
    return v;
}

static void test_sort(void)
{
    rc_heap *h = rc_heap_new(NULL);
    uint64_t rng = 42;
    static const size_t sizes[] = {0, 1, 2, 3, 15, 16, 17, 33, 100, 1000, 20000};
    for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++) {
        size_t n = sizes[s];
        void *l = rc_list(h);
        for (size_t i = 0; i < n; i++) {
            int64_t key = (int64_t)(test_rand(&rng) % (n / 4 + 1));
            void *x = rc_int(h, key * KEY + (int64_t)i);
            CHECK(rc_list_append(l, x) == 0);
            rc_decref(x);
        }
        void **before = items_sorted(l);
        sort_ctx c = {0};
        CHECK(rc_list_sort(l, by_value, &c) == 0);
        for (size_t i = 1; i < n; i++) {
            int64_t a = ival(l, i - 1), b = ival(l, i);
            CHECK(a / KEY < b / KEY || (a / KEY == b / KEY && a % KEY < b % KEY));
        }
        void **after = items_sorted(l);
        CHECK(n == 0 || memcmp(before, after, n * sizeof *before) == 0);
        /* sorted input: few comparisons */
        c.calls = 0;
        CHECK(rc_list_sort(l, by_value, &c) == 0);
        CHECK(c.calls <= 2 * n);
        free(before);
        free(after);
        rc_decref(l);
        CHECK_VALID(h);
    }

    /* cmp may not change the list: refused, and the sort says so */
    for (int m = 1; m <= 5; m++) {
        for (size_t n = 2; n <= 100; n += 98) {
            int64_t vals[100];
            for (size_t i = 0; i < n; i++)
                vals[i] = (int64_t)(test_rand(&rng) % 10) * KEY + (int64_t)i;
            void *l = list_of(h, vals, n);
            void **before = items_sorted(l);
            sort_ctx c = {.list = l, .mischief = m};
            rc_clear_error(h);
            CHECK(rc_list_sort(l, meddling, &c) == -1 && rc_last_error(h) == RC_EMUTATED);
            CHECK(c.refused > 0 && rc_list_len(l) == n);
            void **after = items_sorted(l);
            CHECK(memcmp(before, after, n * sizeof *before) == 0);
            /* the lock is gone afterwards */
            void *x = rc_list_get(l, 0);
            CHECK(rc_list_append(l, x) == 0 && rc_list_len(l) == n + 1);
            free(before);
            free(after);
            rc_decref(l);
        }
    }

    /* a cmp that answers at random loses and duplicates nothing */
    for (uint64_t seed = 1; seed <= 20; seed++) {
        int64_t vals[300];
        for (size_t i = 0; i < 300; i++)
            vals[i] = 4000 + (int64_t)i;
        void *l = list_of(h, vals, 300);
        void **before = items_sorted(l);
        sort_ctx c = {.rng = seed};
        CHECK(rc_list_sort(l, by_value, &c) == 0);
        void **after = items_sorted(l);
        CHECK(memcmp(before, after, 300 * sizeof *before) == 0);
        free(before);
        free(after);
        rc_decref(l);
    }
    rc_clear_error(h);
    void *l = rc_list(h);
    CHECK(rc_list_sort(l, NULL, NULL) == -1 && rc_last_error(h) == RC_EVALUE);
    rc_decref(l);
    CHECK_VALID(h);
    rc_heap_free(h);
}

/* ---- cycles, free list ---- */

static void test_cycles(void)
{
    rc_heap *h = rc_heap_new(NULL);
    rc_gc_enable(h, 0);
    /* warm up: the types state, type records and weakref table exist */
    void *w = rc_list(h), *wi = rc_int(h, 1);
    rc_weakref *ww = rc_weakref_new(w, NULL, NULL);
    rc_decref(ww);
    rc_decref(w);
    rc_decref(wi);
    rc_freelists_clear(h);
    size_t base = heap_live_blocks(h);
    for (int round = 0; round < 3; round++) {
        void *a = rc_list(h), *b = rc_list(h);
        void *x = rc_int(h, 123456);
        CHECK(rc_list_append(a, b) == 0 && rc_list_append(b, a) == 0);
        CHECK(rc_list_append(a, a) == 0 && rc_list_append(b, x) == 0);
        rc_decref(x);
        rc_weakref *wa = rc_weakref_new(a, NULL, NULL), *wx = rc_weakref_new(x, NULL, NULL);
        rc_decref(a);
        rc_decref(b);
        CHECK(rc_collect(h, 0) == 2); /* the two lists; x goes with them */
        void *ga = rc_weakref_get(wa), *gx = rc_weakref_get(wx);
        CHECK(ga == NULL && gx == NULL);
        rc_decref(wa);
        rc_decref(wx);
        CHECK_VALID(h);
    }
    /* a long chain of nested lists is released without deep recursion */
    void *head = rc_list(h);
    void *cur = head;
    for (int i = 0; i < 200000; i++) {
        void *next = rc_list(h);
        CHECK(rc_list_append(cur, next) == 0);
        rc_decref(next);
        cur = next;
    }
    rc_decref(head);
    CHECK_VALID(h);
    rc_collect(h, -1); /* also empties the free lists */
    rc_gc_stats gs;
    rc_gc_stats_get(h, &gs);
    CHECK(gs.tracked[0] + gs.tracked[1] + gs.tracked[2] == 0);
    CHECK(heap_live_blocks(h) == base);
    rc_heap_free(h);
}

static void test_freelist(void)
{
    if (!freelists_on()) {
        printf("test_list: free lists off (RCGC_NO_FREELISTS), reuse not checked\n");
        return;
    }
    rc_heap *h = rc_heap_new(NULL);
    void *x = rc_int(h, 77777);
    void *l = rc_list(h);
    CHECK(rc_list_append(l, x) == 0 && rc_refcount(x) == 2);
    rc_decref(l);
    CHECK(rc_refcount(x) == 1); /* parked lists release their items */
    void *again = rc_list(h);
    CHECK(again == l && rc_list_len(again) == 0 && rc_refcount(again) == 1);
    CHECK(rc_gc_is_tracked(again));
    CHECK(rc_list_append(again, x) == 0 && rc_list_get(again, 0) == x);
    rc_decref(again);
    CHECK_VALID(h);

    /* at most RCI_FREELIST_MAX (80) are kept; clearing frees them all */
    size_t before = heap_live_blocks(h);
    void *many[100];
    for (int i = 0; i < 100; i++) {
        many[i] = rc_list(h);
        CHECK(rc_list_append(many[i], x) == 0);
    }
    for (int i = 0; i < 100; i++)
        rc_decref(many[i]);
    CHECK(rc_refcount(x) == 1);
    CHECK_VALID(h);
    rc_freelists_clear(h);
    CHECK(heap_live_blocks(h) < before);
    /* a big array is not kept by a parked list */
    void *big = rc_list(h);
    CHECK(rc_list_reserve(big, 1000) == 0);
    size_t with_array = heap_live_blocks(h);
    rc_decref(big);
    CHECK(heap_live_blocks(h) == with_array - 1);
    rc_decref(x);
    CHECK_VALID(h);
    rc_heap_free(h);
}

/* ---- out of memory ---- */

/* Append and insert until the heap has made `target` list operations;
   every failure must leave the list exactly as it was. */
static int oom_workload(rc_heap *h, size_t target)
{
    void *l = rc_list(h);
    if (!l) {
        CHECK(rc_last_error(h) == RC_ENOMEM);
        return 1;
    }
    void **shadow = malloc(target * sizeof *shadow);
    size_t n = 0;
    int failures = 0;
    for (size_t op = 0; op < target; op++) {
        void *x = rc_int(h, 100000 + (int64_t)op);
        if (!x) {
            failures++;
            continue;
        }
        /* inserts near the end keep the sweep linear; one past it appends */
        size_t at = op % 3 == 0 ? n - (n < 5 ? n : 5) : op % 3 == 1 ? n + 1 : n;
        rc_clear_error(h);
        int r = op % 3 == 2 ? rc_list_append(l, x) : rc_list_insert(l, at, x);
        at = at > n ? n : at;
        if (r == 0) {
            memmove(shadow + at + 1, shadow + at, (n - at) * sizeof *shadow);
            shadow[at] = x;
            n++;
            CHECK(rc_refcount(x) == 2);
        } else {
            failures++;
            CHECK(rc_last_error(h) == RC_ENOMEM && rc_refcount(x) == 1);
        }
        CHECK(rc_list_len(l) == n);
        if (r != 0 || op % 4096 == 0) {
            for (size_t i = 0; i < n; i++)
                CHECK(rc_list_get(l, i) == shadow[i]);
            CHECK_VALID(h);
        }
        rc_decref(x);
    }
    /* a sort needs a temporary block: on failure the order is kept */
    rc_clear_error(h);
    if (rc_list_sort(l, by_value, &(sort_ctx){0}) != 0) {
        failures++;
        CHECK(rc_last_error(h) == RC_ENOMEM);
        for (size_t i = 0; i < n; i++)
            CHECK(rc_list_get(l, i) == shadow[i]);
    }
    /* a slice under the same pressure */
    void *s = rc_list_slice(l, 0, n);
    if (s) {
        CHECK(rc_list_len(s) == n);
        rc_decref(s);
    } else {
        failures++;
    }
    /* extend (doubling the list) under the same pressure: all or nothing */
    rc_clear_error(h);
    if (rc_list_extend(l, l) != 0) {
        failures++;
        CHECK(rc_last_error(h) == RC_ENOMEM && rc_list_len(l) == n);
    } else {
        CHECK(rc_list_len(l) == 2 * n && (n == 0 || rc_list_get(l, n) == shadow[0]));
    }
    rc_decref(l);
    free(shadow);
    CHECK_VALID(h);
    return failures;
}

/* Make what a heap makes once (types state, type records), before the
   sweep starts failing pages; returns the live blocks then. */
static size_t warm_up(rc_heap *h)
{
    void *c = rc_list(h), *x = rc_int(h, 100000);
    rc_decref(c);
    rc_decref(x);
    rc_freelists_clear(h);
    return heap_live_blocks(h);
}

static int oom_run(rc_heap *h)
{
    return oom_workload(h, 150000);
}

/* After the sweep's run: a list (in a cycle through itself) still works. */
static void still_works(rc_heap *h)
{
    void *l = rc_list(h);
    CHECK(l && rc_list_append(l, l) == 0);
    rc_decref(l);
}

/* The fault sweep over one workload (oom_run, slice_workload). */
static void test_oom(int (*workload)(rc_heap *h), const char *what)
{
    unsigned long swept =
        run_fault_sweep(&(fault_sweep){.warm_up = warm_up, .workload = workload,
                                       .still_works = still_works});
    CHECK(swept >= 5);
    printf("test_list: oom sweep of %s over %lu failure points\n", what, swept);
}

/* A cmp that tries to clear the list being sorted. */
static int clearing_cmp(const void *a, const void *b, void *ctx)
{
    rc_list_clear(ctx);
    return (int)(rc_int_value(a) - rc_int_value(b));
}

/* A cmp that tries to delete a slice of the list being sorted. */
static int slicing_cmp(const void *a, const void *b, void *ctx)
{
    rc_list_del_slice(ctx, RC_SLICE(0, 2, 1));
    return (int)(rc_int_value(a) - rc_int_value(b));
}

/* Python's list.extend, clear, reverse, index and `in`. */
static void test_methods(void)
{
    rc_heap *h = test_heap(0);
    static const int64_t v[] = {5000, 6000, 7000};
    void *l = list_of(h, v, 3);
    /* l.extend(l) doubles it */
    CHECK(rc_list_extend(l, l) == 0 && rc_list_len(l) == 6 && ival(l, 3) == 5000 &&
          ival(l, 5) == 7000);
    CHECK(rc_refcount(rc_list_get(l, 0)) == 2);
    /* from a tuple, a set, a dict's keys */
    void *x = rc_int(h, 8000), *y = rc_str_cstr(h, "y");
    void *t = rc_tuple(h, 2, (void *[]){x, y});
    void *s = rc_set_new(h), *d = rc_dict(h);
    CHECK(rc_set_add(s, x) == 0 && rc_dict_set(d, y, x) == 0);
    CHECK(rc_list_extend(l, t) == 0 && rc_list_extend(l, s) == 0 && rc_list_extend(l, d) == 0);
    CHECK(rc_list_len(l) == 10 && rc_list_get(l, 6) == x && rc_list_get(l, 7) == y &&
          rc_list_get(l, 8) == x && rc_list_get(l, 9) == y);
    /* index and contains by value (8000.0 finds 8000, True finds 1) */
    void *xf = rc_float(h, 8000.0), *absent = rc_int(h, 1);
    size_t at = 99;
    CHECK(rc_list_index(l, xf, RC_RANGE(0, RC_SLICE_NONE), &at) == 0 && at == 6);
    CHECK(rc_list_index(l, x, RC_RANGE(7, RC_SLICE_NONE), &at) == 0 && at == 8);
    CHECK(rc_list_index(l, rc_list_get(l, 0), RC_RANGE(1, RC_SLICE_NONE), &at) == 0 && at == 3);
    CHECK_ERR(h, rc_list_index(l, absent, RC_RANGE(0, RC_SLICE_NONE), &at) == -1, RC_EVALUE);
    CHECK(rc_list_index(l, x, RC_RANGE(100, RC_SLICE_NONE), &at) == -1 && rc_last_error(h) == RC_EVALUE);
    rc_clear_error(h);
    /* Python's negative bounds: l.index(x, -3) is 8, l.index(x, -3, -2) absent */
    CHECK(rc_list_index(l, x, RC_RANGE(-3, RC_SLICE_NONE), &at) == 0 && at == 8);
    CHECK(rc_list_index(l, x, RC_RANGE_ALL, &at) == 0 && at == 6);
    CHECK(rc_list_index(l, x, RC_RANGE(-100, -3), &at) == 0 && at == 6);
    CHECK_ERR(h, rc_list_index(l, x, RC_RANGE(-3, -2), &at) == -1, RC_EVALUE);
    CHECK_ERR(h, rc_list_index(l, x, RC_RANGE(0, 5), &at) == -1, RC_EVALUE);
    CHECK(rc_list_contains(l, xf) == 1 && rc_list_contains(l, absent) == 0);
    CHECK(rc_list_append(l, absent) == 0 && rc_list_contains(l, rc_true(h)) == 1);
    /* reverse: odd, even, empty, one */
    CHECK(rc_list_reverse(l) == 0 && rc_list_get(l, 0) == absent && rc_list_get(l, 1) == y &&
          ival(l, 10) == 5000);
    CHECK(rc_list_pop(l, 0) == absent && rc_list_reverse(l) == 0 && ival(l, 0) == 5000 &&
          rc_list_get(l, 9) == y);
    /* clear releases every item */
    size_t before = rc_refcount(x);
    CHECK(rc_list_clear(l) == 0 && rc_list_len(l) == 0 && rc_refcount(x) == before - 2);
    CHECK(rc_list_reverse(l) == 0 && rc_list_clear(l) == 0 && rc_list_contains(l, x) == 0);
    CHECK(rc_list_append(l, x) == 0 && rc_list_reverse(l) == 0 && rc_list_get(l, 0) == x);
    /* wrong types: an error, the list unchanged */
    rc_clear_error(h);
    CHECK(rc_list_extend(l, x) == -1 && rc_last_error(h) == RC_ETYPE && rc_list_len(l) == 1);
    CHECK_ERR(h, rc_list_extend(l, NULL) == -1, RC_EVALUE);
    CHECK(rc_list_clear(d) == -1 && rc_last_error(h) == RC_ETYPE && rc_dict_len(d) == 1);
    CHECK_ERR(h, rc_list_reverse(t) == -1, RC_ETYPE);
    CHECK(rc_list_index(s, x, RC_RANGE(0, RC_SLICE_NONE), &at) == -1 && rc_last_error(h) == RC_ETYPE);
    CHECK_ERR(h, rc_list_contains(d, x) == -1, RC_ETYPE);
    CHECK(rc_list_contains(l, NULL) == -1 && rc_last_error(h) == RC_EVALUE);
    rc_clear_error(h);
    /* a cmp that clears the list during a sort is refused */
    void *sorted = list_of(h, v, 3);
    CHECK(rc_list_sort(sorted, clearing_cmp, sorted) == -1 && rc_last_error(h) == RC_EMUTATED);
    CHECK(rc_list_len(sorted) == 3);
    rc_clear_error(h);
    void *objs[] = {l, x, y, t, s, d, xf, absent, sorted};
    for (size_t i = 0; i < sizeof objs / sizeof *objs; i++)
        rc_decref(objs[i]);
    CHECK(rc_collect(h, -1) == 0);
    CHECK_VALID(h);
    rc_heap_free(h);
}

/* Does l hold exactly the ints want[0..n)? */
static bool holds(const void *l, const int64_t *want, size_t n)
{
    if (rc_list_len(l) != n)
        return false;
    for (size_t i = 0; i < n; i++)
        if (ival(l, i) != want[i])
            return false;
    return true;
}

/* Slices beyond what slice_vs_cpython compares: references, sources of
   every kind, a list assigned to a slice of itself, the errors (each
   leaving the list as it was), and a sort's lock. */
static void test_slices(void)
{
    rc_heap *h = test_heap(HEAP_QUIET);
    static const int64_t v[] = {5000, 5001, 5002, 5003, 5004};
    void *l = list_of(h, v, 5);
    void *x0 = rc_list_get(l, 0), *x1 = rc_list_get(l, 1);
    rc_incref(x1);
    /* a[1:3] = a: the source is read before the list changes */
    CHECK(rc_list_set_slice(l, RC_SLICE(1, 3, 1), l) == 0);
    CHECK(holds(l, (int64_t[]){5000, 5000, 5001, 5002, 5003, 5004, 5003, 5004}, 8));
    CHECK(rc_refcount(x0) == 2 && rc_refcount(x1) == 2); /* x1: once in l, once ours */
    /* del a[::2]: the released items lose the list's references */
    CHECK(rc_list_del_slice(l, RC_SLICE(RC_SLICE_NONE, RC_SLICE_NONE, 2)) == 0);
    CHECK(holds(l, (int64_t[]){5000, 5002, 5004, 5004}, 4));
    CHECK(rc_refcount(x1) == 1); /* ours alone */
    rc_decref(x1);
    /* a[::-1] = (a tuple), and a[1:1] = set: insertion */
    void *y = rc_int(h, 7000), *z = rc_int(h, 7001);
    void *t = rc_tuple(h, 4, (void *[]){y, z, y, z}), *st = rc_set_new(h), *d = rc_dict(h);
    CHECK(rc_list_set_slice(l, RC_SLICE(RC_SLICE_NONE, RC_SLICE_NONE, -1), t) == 0);
    CHECK(holds(l, (int64_t[]){7001, 7000, 7001, 7000}, 4));
    CHECK(rc_set_add(st, y) == 0 && rc_dict_set(d, z, y) == 0);
    CHECK(rc_list_set_slice(l, RC_SLICE(1, 1, 1), st) == 0);
    CHECK(rc_list_set_slice(l, RC_SLICE(-1, RC_SLICE_NONE, 1), d) == 0);
    CHECK(holds(l, (int64_t[]){7001, 7000, 7000, 7001, 7001}, 5));
    /* errors: the list as it was */
    void *i = rc_int(h, 3);
    CHECK_ERR(h, rc_list_set_slice(l, RC_SLICE(0, 5, 2), t) == -1, RC_EVALUE); /* 4 into 3 */
    CHECK_ERR(h, rc_list_set_slice(l, RC_SLICE(0, 5, 0), t) == -1, RC_EVALUE);
    CHECK_ERR(h, rc_list_del_slice(l, RC_SLICE(0, 5, 0)) == -1, RC_EVALUE);
    CHECK_ERR(h, rc_list_get_slice(l, RC_SLICE(0, 5, 0)) == NULL, RC_EVALUE);
    CHECK_ERR(h, rc_list_set_slice(l, RC_SLICE(0, 1, 1), i) == -1, RC_ETYPE);
    CHECK_ERR(h, rc_list_set_slice(l, RC_SLICE(0, 1, 1), NULL) == -1, RC_EVALUE);
    CHECK_ERR(h, rc_list_set_slice(t, RC_SLICE(0, 1, 1), l) == -1, RC_ETYPE);
    CHECK_ERR(h, rc_list_del_slice(t, RC_SLICE(0, 1, 1)) == -1, RC_ETYPE);
    CHECK_ERR(h, rc_tuple_get_slice(l, RC_SLICE(0, 1, 1)) == NULL, RC_ETYPE);
    CHECK(holds(l, (int64_t[]){7001, 7000, 7000, 7001, 7001}, 5));
    /* a source of another heap */
    rc_heap *other = test_heap(0);
    void *ol = rc_list(other);
    CHECK_ERR(h, rc_list_set_slice(l, RC_SLICE(0, 1, 1), ol) == -1, RC_EFOREIGN);
    rc_decref(ol);
    rc_heap_free(other);
    /* whole tuple: the same object; a list slice is always new */
    void *tt = rc_tuple_get_slice(t, RC_SLICE(RC_SLICE_NONE, RC_SLICE_NONE, RC_SLICE_NONE));
    CHECK(tt == t && rc_refcount(t) == 2);
    rc_decref(tt);
    void *lc = rc_list_get_slice(l, RC_SLICE(RC_SLICE_NONE, RC_SLICE_NONE, 1));
    CHECK(lc != l && holds(lc, (int64_t[]){7001, 7000, 7000, 7001, 7001}, 5));
    /* a cmp that slices the list being sorted is refused */
    CHECK_ERR(h, rc_list_sort(lc, slicing_cmp, lc) == -1, RC_EMUTATED);
    CHECK(rc_list_len(lc) == 5);
    void *objs[] = {l, y, z, t, st, d, i, lc};
    for (size_t k = 0; k < sizeof objs / sizeof *objs; k++)
        rc_decref(objs[k]);
    CHECK_VALID(h);
    rc_heap_free(h);
}

/* The fault sweep's slice workload: growing, extended and shrinking
   assignments and deletions; every failed call must leave the list as
   it was (compared with a copy made before). */
static int slice_workload(rc_heap *h)
{
    int failures = 0;
    void *l = rc_list(h), *src = rc_list(h);
    if (!l || !src) {
        rc_decref(l);
        return 1;
    }
    for (int64_t k = 0; k < 300; k++) {
        void *x = rc_int(h, 100000 + k);
        failures += !x || rc_list_append(src, x) != 0;
        rc_decref(x);
    }
    for (int round = 0; round < 40; round++) {
        size_t before = rc_list_len(l);
        int64_t at = (int64_t)(before / 3);
        int rc;
        switch (round % 4) {
        case 0: rc = rc_list_set_slice(l, RC_SLICE(at, at + 1, 1), src); break;
        case 1: rc = rc_list_set_slice(l, RC_SLICE(at, at, 1), l); break;
        case 2: rc = rc_list_del_slice(l, RC_SLICE(0, RC_SLICE_NONE, 3)); break;
        default: {
            size_t n = rc_list_len(src) / 2;
            rc = rc_list_set_slice(src, RC_SLICE(RC_SLICE_NONE, (int64_t)n, 1),
                                   l); /* src grows or shrinks */
            break;
        }
        }
        if (rc != 0) {
            failures++;
            CHECK(rc_last_error(h) == RC_ENOMEM);
            CHECK(round % 4 == 3 || rc_list_len(l) == before);
        }
    }
    rc_decref(l);
    rc_decref(src);
    CHECK_VALID(h);
    return failures;
}


int main(void)
{
    test_slices();
    test_oom(slice_workload, "slices");
    test_methods();
    test_basics(0);
    test_basics(1);
    test_iteration();
    test_sort();
    test_cycles();
    test_freelist();
    test_oom(oom_run, "append and insert");
    printf("test_list: ok\n");
    return 0;
}
