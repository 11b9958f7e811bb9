/*
 * test_weakref.c — weak references and the weak-value cache: get while
 * alive and after death, clearing before callbacks, newest-first order,
 * callbacks that do real work, callbacks during a collection (only for weak
 * references outside the garbage), immortal referents, and the cache's
 * put/get/remove/len, growth, replacement, death of values, and failure.
 * rc_heap_validate runs after every mutation.
 */
#include "node.h"

/* Callbacks record (weakref, data) in order; each checks it was cleared. */
typedef struct call {
    rc_weakref *w;
    void *data;
} call;

static call calls[64];
static size_t ncalls;

static void record(rc_weakref *w, void *data)
{
    CHECK(rc_weakref_get(w) == NULL); /* cleared before the callback */
    CHECK(ncalls < 64);
    calls[ncalls].w = w;
    calls[ncalls].data = data;
    ncalls++;
}

static void test_get(void)
{
    rc_heap *h = quiet_heap();
    node_reset();
    node *x = node_new(h, &node_type, 0, 1);
    CHECK(rc_weakref_count(x) == 0);
    CHECK(rc_weakref_new(NULL, NULL, NULL) == NULL);
    rc_weakref *w = rc_weakref_new(x, NULL, NULL);
    CHECK(w && rc_refcount(w) == 1);
    CHECK(rc_refcount(x) == 1); /* does not keep it alive */
    CHECK(rc_weakref_count(x) == 1);
    CHECK_VALID(h);
    void *got = rc_weakref_get(w);
    CHECK(got == x && rc_refcount(x) == 2); /* a new reference */
    rc_decref(got);
    rc_weakref *w2 = rc_weakref_new(x, record, NULL);
    rc_weakref *w3 = rc_weakref_new(x, NULL, NULL);
    CHECK(rc_weakref_count(x) == 3);
    rc_decref(w3);
    CHECK(rc_weakref_count(x) == 2);
    CHECK_VALID(h);
    ncalls = 0;
    rc_decref(x);
    CHECK(nodes.destroyed == 1 && ncalls == 1 && calls[0].w == w2);
    CHECK(rc_weakref_get(w) == NULL && rc_weakref_get(w2) == NULL);
    CHECK(rc_weakref_get(w) == NULL); /* and stays so */
    CHECK_VALID(h);
    rc_decref(w);
    rc_decref(w2);
    CHECK_VALID(h);
    rc_heap_free(h);
}

/* On refcount death: callbacks newest first; none for a weak reference
   without one or one that died before. */
static void test_order(void)
{
    rc_heap *h = quiet_heap();
    node_reset();
    node *x = node_new(h, &node_type, 0, 1);
    int tags[5];
    rc_weakref *w[5];
    for (int i = 0; i < 5; i++)
        w[i] = rc_weakref_new(x, i == 2 ? NULL : record, &tags[i]);
    rc_decref(w[3]); /* dies before its referent */
    w[3] = NULL;
    CHECK(rc_weakref_count(x) == 4);
    ncalls = 0;
    rc_decref(x);
    CHECK(ncalls == 3);
    CHECK(calls[0].w == w[4] && calls[0].data == &tags[4]);
    CHECK(calls[1].w == w[1] && calls[1].data == &tags[1]);
    CHECK(calls[2].w == w[0] && calls[2].data == &tags[0]);
    for (int i = 0; i < 5; i++)
        rc_decref(w[i]);
    CHECK_VALID(h);
    rc_heap_free(h);
}

/* A weak reference and its referent released together: whichever count
   reaches zero first, the weak reference died first and never calls back. */
static void test_die_together(void)
{
    rc_heap *h = quiet_heap();
    for (int order = 0; order < 2; order++) {
        node_reset();
        ncalls = 0;
        node *box = node_new(h, &node_type, 2, 1);
        node *x = node_new(h, &node_type, 0, 2);
        rc_weakref *w = rc_weakref_new(x, record, NULL);
        box->slot[order] = x;
        box->slot[1 - order] = w;
        rc_decref(box);
        CHECK(nodes.destroyed == 2 && ncalls == 0);
        CHECK_VALID(h);
    }
    rc_heap_free(h);
}

/* A callback that drops the last reference to other objects, creates
   objects and runs a collection. */
static rc_heap *cb_heap;
static node *victim;
static size_t cb_collected;

static void busy(rc_weakref *w, void *data)
{
    (void)data;
    CHECK(rc_weakref_get(w) == NULL);
    CHECK_VALID(cb_heap);
    rc_decref(victim); /* a chain of 1000 dies */
    victim = NULL;
    for (int i = 0; i < 500; i++) {
        node *a = node_new(cb_heap, &node_type, 1, 10000 + i);
        node_link(a, 0, a); /* garbage self-loops */
        rc_decref(a);
    }
    node *leaf = node_new(cb_heap, &leaf_type, 0, -1);
    rc_weakref *extra = rc_weakref_new(leaf, record, NULL);
    rc_decref(extra); /* a weak reference that dies first: no call */
    rc_decref(leaf);
    cb_collected = rc_collect(cb_heap, -1);
    CHECK_VALID(cb_heap);
    ncalls++;
}

static void test_busy_callback(void)
{
    rc_heap *h = cb_heap = quiet_heap();
    node_reset();
    ncalls = 0;
    victim = NULL;
    for (int i = 0; i < 1000; i++) {
        node *n = node_new(h, &node_type, 1, i);
        n->slot[0] = victim;
        victim = n;
    }
    rc_decref(node_ring(h, &node_type, 3, 1, 2000)); /* garbage already there */
    node *x = node_new(h, &node_type, 0, 3000);
    rc_weakref *w = rc_weakref_new(x, busy, NULL);
    rc_decref(x);
    CHECK(ncalls == 1);
    CHECK(cb_collected == 503);
    /* 1000 chain, 500 loops, 1 leaf, 3 ring, x */
    CHECK(nodes.destroyed == 1000 + 500 + 1 + 3 + 1);
    CHECK_VALID(h);
    rc_decref(w);
    rc_heap_free(h);
}

/* In a collection, callbacks run only for weak references outside the
   garbage. */
static size_t gc_cb_nested;
static node *gc_cb_made;

static void gc_record(rc_weakref *w, void *data)
{
    record(w, data);
    gc_cb_nested += rc_collect(cb_heap, -1); /* 0: a collection is running */
    node *n = node_new(cb_heap, &node_type, 1, 500);
    node_link(n, 0, gc_cb_made);
    rc_decref(gc_cb_made);
    gc_cb_made = n;
}

static void test_collection(void)
{
    rc_heap *h = cb_heap = quiet_heap();
    node_reset();
    ncalls = gc_cb_nested = 0;
    gc_cb_made = NULL;
    int tag_out, tag_in, tag_live;
    /* A <-> B garbage.  w_out -> A, held by the test; w_in -> B, held only
       by A; w_live -> L (alive), held only by A. */
    node *a = node_new(h, &node_type, 3, 1), *b = node_new(h, &node_type, 1, 2);
    node *l = node_new(h, &node_type, 0, 3);
    node_link(a, 0, b);
    node_link(b, 0, a);
    rc_weakref *w_out = rc_weakref_new(a, gc_record, &tag_out);
    rc_weakref *w_in = rc_weakref_new(b, gc_record, &tag_in);
    rc_weakref *w_live = rc_weakref_new(l, gc_record, &tag_live);
    node_link(a, 1, w_in);
    node_link(a, 2, w_live);
    size_t weak_tracked = (size_t)rc_gc_is_tracked(w_in) + (size_t)rc_gc_is_tracked(w_live);
    rc_decref(w_in);
    rc_decref(w_live);
    rc_decref(a);
    rc_decref(b);
    CHECK(rc_weakref_count(l) == 1);
    CHECK_VALID(h);
    CHECK(rc_collect(h, -1) == 2 + weak_tracked);
    CHECK(ncalls == 1 && calls[0].w == w_out && calls[0].data == &tag_out);
    CHECK(gc_cb_nested == 0 && gc_cb_made && gc_cb_made->magic == NODE_LIVE);
    CHECK(nodes.destroyed == 2);
    CHECK(rc_weakref_get(w_out) == NULL);
    CHECK(rc_weakref_count(l) == 0); /* w_live died with the garbage */
    CHECK_VALID(h);
    rc_decref(l);
    CHECK(ncalls == 1); /* so L's death calls nobody */
    rc_decref(gc_cb_made);
    rc_decref(w_out);
    CHECK(nodes.destroyed == 4);

    /* A weak reference to itself inside the garbage, and one with a
       callback in a ring it points into, held from a live object. */
    node_reset();
    ncalls = 0;
    node *keeper = node_new(h, &node_type, 1, 1);
    node *ring = node_ring(h, &node_type, 5, 2, 10);
    rc_weakref *held = rc_weakref_new(ring->slot[0], record, &tag_in);
    node_link(keeper, 0, held);
    rc_decref(held);
    rc_weakref *self = rc_weakref_new(ring, record, &tag_out);
    node_link(ring, 1, self); /* only the ring holds it */
    weak_tracked = (size_t)rc_gc_is_tracked(self);
    rc_decref(self);
    rc_decref(ring);
    CHECK(rc_collect(h, 0) == 5 + weak_tracked);
    CHECK(ncalls == 1 && calls[0].w == held && calls[0].data == &tag_in);
    CHECK(rc_weakref_get(keeper->slot[0]) == NULL);
    rc_decref(keeper);
    CHECK(nodes.destroyed == 6 && ncalls == 1);
    CHECK_VALID(h);
    rc_heap_free(h);
}

static void test_immortal_referent(void)
{
    rc_heap *h = quiet_heap();
    node_reset();
    ncalls = 0;
    node *x = node_new(h, &node_type, 1, 1);
    node_link(x, 0, x);
    rc_make_immortal(x);
    rc_weakref *w = rc_weakref_new(x, record, NULL);
    for (int i = 0; i < 10; i++)
        rc_decref(x);
    CHECK(rc_collect(h, -1) == 0);
    void *got = rc_weakref_get(w);
    CHECK(got == x && rc_weakref_count(x) == 1 && ncalls == 0);
    rc_decref(got);
    CHECK_VALID(h);
    rc_decref(w);
    CHECK(rc_weakref_count(x) == 0);
    rc_heap_free(h);
}

/* ---- The weak-value cache ---------------------------------------------------- */

static void *cache_get(rc_weakcache *c, const char *key)
{
    return rc_weakcache_get(c, key, strlen(key));
}

static void test_cache_basics(void)
{
    rc_heap *h = quiet_heap();
    node_reset();
    rc_weakcache *c = rc_weakcache_new(h);
    CHECK(c && rc_weakcache_len(c) == 0);
    CHECK(cache_get(c, "a") == NULL);
    node *x = node_new(h, &node_type, 0, 1), *y = node_new(h, &node_type, 0, 2);
    CHECK(rc_weakcache_put(c, "a", 1, x) == 0);
    CHECK(rc_weakcache_put(c, "bb", 2, y) == 0);
    CHECK(rc_weakcache_put(c, "", 0, y) == 0);        /* empty key */
    CHECK(rc_weakcache_put(c, "a\0b", 3, x) == 0);    /* keys are bytes */
    CHECK(rc_weakcache_len(c) == 4);
    CHECK(rc_refcount(x) == 1 && rc_refcount(y) == 1); /* weak */
    CHECK_VALID(h);
    void *g = cache_get(c, "a");
    CHECK(g == x && rc_refcount(x) == 2);
    rc_decref(g);
    g = rc_weakcache_get(c, "a\0b", 3);
    CHECK(g == x);
    rc_decref(g);
    CHECK(rc_weakcache_get(c, "a\0c", 3) == NULL);
    g = rc_weakcache_get(c, "", 0);
    CHECK(g == y);
    rc_decref(g);
    CHECK(cache_get(c, "b") == NULL && cache_get(c, "bbb") == NULL);

    /* Replacing a key: the old value's death leaves the new entry alone. */
    node *z = node_new(h, &node_type, 0, 3);
    CHECK(rc_weakcache_put(c, "a", 1, z) == 0);
    CHECK(rc_weakcache_len(c) == 4);
    g = cache_get(c, "a");
    CHECK(g == z);
    rc_decref(g);
    CHECK(rc_weakcache_put(c, "a", 1, z) == 0); /* same again */
    CHECK(rc_weakcache_len(c) == 4);
    CHECK_VALID(h);

    /* A value's death removes its entries. */
    rc_decref(x);
    CHECK(rc_weakcache_len(c) == 3);
    CHECK(rc_weakcache_get(c, "a\0b", 3) == NULL);
    g = cache_get(c, "a");
    CHECK(g == z);
    rc_decref(g);
    CHECK_VALID(h);

    CHECK(rc_weakcache_remove(c, "bb", 2) == 1);
    CHECK(rc_weakcache_remove(c, "bb", 2) == 0);
    CHECK(rc_weakcache_len(c) == 2 && cache_get(c, "bb") == NULL);
    CHECK(rc_refcount(y) == 1);
    rc_decref(y); /* removes "" */
    CHECK(rc_weakcache_len(c) == 1);
    /* NULL is not an object: refused, the cache is unchanged. */
    CHECK(rc_weakcache_put(c, "a", 1, NULL) == -1);
    g = cache_get(c, "a");
    CHECK(g == z && rc_weakcache_len(c) == 1);
    rc_decref(g);
    CHECK_VALID(h);

    /* A value that dies in a collected cycle. */
    node *ring = node_ring(h, &node_type, 3, 1, 10);
    CHECK(rc_weakcache_put(c, "ring", 4, ring) == 0);
    CHECK(rc_weakcache_put(c, "ring2", 5, ring->slot[0]) == 0);
    rc_decref(ring);
    CHECK(rc_weakcache_len(c) == 3);
    CHECK(rc_collect(h, -1) >= 3);
    CHECK(rc_weakcache_len(c) == 1 && cache_get(c, "ring") == NULL);
    CHECK_VALID(h);

    /* Freed with a live entry: the value outlives the cache safely. */
    rc_weakcache_free(c);
    CHECK_VALID(h);
    rc_decref(z);
    rc_weakcache_free(NULL);
    CHECK(nodes.destroyed == 6);
    CHECK_VALID(h);
    rc_heap_free(h);
}

static void test_cache_many(void)
{
    enum { N = 20000 };
    counting_source src = {0};
    rc_config cfg = counting_config(&src);
    rc_heap *h = rc_heap_new(&cfg);
    node_reset();
    rc_weakcache *c = rc_weakcache_new(h);
    node **obj = malloc(N * sizeof *obj);
    char key[32];
    for (int i = 0; i < N; i++) {
        obj[i] = node_new(h, &node_type, 0, i);
        int n = snprintf(key, sizeof key, "key-%d", i);
        CHECK(rc_weakcache_put(c, key, (size_t)n, obj[i]) == 0);
    }
    CHECK(rc_weakcache_len(c) == N);
    CHECK_VALID(h);
    for (int i = 0; i < N; i++) {
        int n = snprintf(key, sizeof key, "key-%d", i);
        node *g = rc_weakcache_get(c, key, (size_t)n);
        CHECK(g == obj[i] && g->id == i);
        rc_decref(g);
    }
    for (int i = 0; i < N; i += 2)
        rc_decref(obj[i]);
    CHECK(rc_weakcache_len(c) == N / 2);
    for (int i = 0; i < N; i++) {
        int n = snprintf(key, sizeof key, "key-%d", i);
        node *g = rc_weakcache_get(c, key, (size_t)n);
        CHECK(i % 2 ? g == obj[i] : g == NULL);
        rc_decref(g);
    }
    for (int i = 1; i < N; i += 4) {
        int n = snprintf(key, sizeof key, "key-%d", i);
        CHECK(rc_weakcache_remove(c, key, (size_t)n) == 1);
    }
    CHECK(rc_weakcache_len(c) == N / 4);
    CHECK_VALID(h);
    rc_weakcache_free(c); /* with N/4 live entries */
    for (int i = 1; i < N; i += 2)
        rc_decref(obj[i]);
    CHECK(nodes.destroyed == N);
    CHECK_VALID(h);
    rc_heap_free(h);
    CHECK(src.live_bytes == 0);
    free(obj);
}

/* Fail each page request in turn while a cache fills: a put that fails
   leaves the cache as it was. */
static void test_cache_oom(void)
{
    enum { N = 120, KEY = 30000 };
    char *key = malloc(KEY);
    unsigned long nth;
    for (nth = 1;; nth++) {
        counting_source src = {0};
        rc_config cfg = counting_config(&src);
        rc_heap *h = rc_heap_new(&cfg);
        node_reset();
        rc_weakcache *c = rc_weakcache_new(h);
        CHECK(c);
        node *obj[N];
        bool in[N];
        size_t len = 0;
        rc_heap_fail_page_request(h, nth);
        for (int i = 0; i < N; i++) {
            memset(key, 'a' + i % 26, KEY);
            memcpy(key, &i, sizeof i);
            obj[i] = node_try(h, &node_type, 0, i);
            in[i] = obj[i] && rc_weakcache_put(c, key, KEY, obj[i]) == 0;
            len += in[i];
            CHECK(rc_weakcache_len(c) == len);
            CHECK_VALID(h);
        }
        rc_heap_fail_page_request(h, 0);
        for (int i = 0; i < N; i++) {
            memset(key, 'a' + i % 26, KEY);
            memcpy(key, &i, sizeof i);
            node *g = rc_weakcache_get(c, key, KEY);
            CHECK(g == (in[i] ? obj[i] : NULL));
            rc_decref(g);
        }
        rc_alloc_stats as;
        rc_alloc_stats_get(h, &as);
        for (int i = 0; i < N; i += 2) {
            rc_decref(obj[i]); /* its entry goes */
            len -= in[i];
            CHECK(rc_weakcache_len(c) == len);
        }
        rc_weakcache_free(c);
        for (int i = 1; i < N; i += 2)
            rc_decref(obj[i]);
        CHECK_VALID(h);
        rc_heap_free(h);
        CHECK(src.live_bytes == 0 && src.live_regions == 0);
        if (as.page_failures == 0)
            break;
    }
    CHECK(nth > 3);
    free(key);
}

/* Callbacks may use a cache whose entries are dying in the same event:
   removing, replacing, or freeing it while the cache's own callbacks for
   those entries are still to run. */
static rc_weakcache *cb_cache;
static int cache_action;

static void touch_cache(rc_weakref *w, void *data)
{
    (void)w;
    (void)data;
    ncalls++;
    if (cache_action == 0) {
        CHECK(rc_weakcache_remove(cb_cache, "k", 1) == 1);
    } else if (cache_action == 1) {
        node *y = node_new(cb_heap, &node_type, 0, 99);
        CHECK(rc_weakcache_put(cb_cache, "k", 1, y) == 0); /* replaces */
        rc_decref(y);
    } else {
        rc_weakcache_free(cb_cache);
        cb_cache = NULL;
    }
}

static void test_cache_reentrancy(void)
{
    for (int by_collection = 0; by_collection < 2; by_collection++)
        for (cache_action = 0; cache_action < 3; cache_action++) {
            printf("cache re-entrancy: a callback %s the dying entry (%s)\n",
                   cache_action == 0 ? "removes" : cache_action == 1 ? "replaces"
                                                                     : "frees the cache of",
                   by_collection ? "in a collection" : "on refcount death");
            fflush(stdout);
            rc_heap *h = cb_heap = quiet_heap();
            node_reset();
            ncalls = 0;
            cb_cache = rc_weakcache_new(h);
            node *x = node_new(h, &node_type, 1, 1);
            CHECK(rc_weakcache_put(cb_cache, "k", 1, x) == 0);
            CHECK(rc_weakcache_put(cb_cache, "j", 1, x) == 0);
            /* newer than the cache's weak references: runs first */
            rc_weakref *w = rc_weakref_new(x, touch_cache, NULL);
            if (by_collection)
                node_link(x, 0, x);
            rc_decref(x);
            if (by_collection)
                CHECK(rc_collect(h, -1) >= 1);
            CHECK(ncalls == 1 && nodes.destroyed >= 1);
            if (cb_cache) {
                CHECK(rc_weakcache_get(cb_cache, "j", 1) == NULL);
                CHECK(rc_weakcache_len(cb_cache) == 0); /* y died too */
                rc_weakcache_free(cb_cache);
            }
            rc_decref(w);
            CHECK_VALID(h);
            rc_heap_free(h);
        }
}

int main(void)
{
    test_get();
    test_order();
    test_die_together();
    test_busy_callback();
    test_collection();
    test_immortal_referent();
    test_cache_basics();
    test_cache_many();
    test_cache_oom();
    test_cache_reentrancy();
    printf("test_weakref: ok\n");
    return 0;
}
