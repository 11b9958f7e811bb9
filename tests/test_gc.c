/*
 * test_gc.c — the cycle collector: cycles of every shape with exact counts,
 * finalizers and resurrection (PEP 442 order), generations, thresholds and
 * automatic collection, callbacks, freeze, the gc-module style queries,
 * DEBUG_SAVEALL, and running out of memory during a collection (targeted,
 * then a sweep over every page request of a workload).
 * rc_heap_validate runs after every mutation.
 */
#define _POSIX_C_SOURCE 200809L /* mkstemp, dup */
#include "node.h"

#include <unistd.h>

static rc_gc_stats stats(const rc_heap *h)
{
    rc_gc_stats s;
    rc_gc_stats_get(h, &s);
    return s;
}

static size_t tracked(const rc_heap *h, int gen)
{
    return stats(h).tracked[gen];
}

/* ---- Shapes ----------------------------------------------------------------- */

static void test_small_cycles(void)
{
    rc_heap *h = quiet_heap();
    node_reset();
    CHECK(rc_collect(h, -1) == 0);

    node *a = node_new(h, &node_type, 1, 1); /* self-loop */
    node_link(a, 0, a);
    rc_decref(a);
    CHECK(nodes.destroyed == 0);
    CHECK_VALID(h);
    CHECK(rc_collect(h, -1) == 1 && nodes.destroyed == 1);
    CHECK_VALID(h);

    a = node_new(h, &node_type, 1, 1); /* 2-cycle */
    node *b = node_new(h, &node_type, 1, 2);
    node_link(a, 0, b);
    node_link(b, 0, a);
    rc_decref(a);
    rc_decref(b);
    CHECK_VALID(h);
    CHECK(rc_collect(h, -1) == 2 && nodes.destroyed == 3);
    CHECK(rc_collect(h, -1) == 0);

    /* A ring whose members each hold a leaf: leaves are not counted by
       rc_collect (never tracked) but are freed with the ring. */
    a = node_ring(h, &node_type, 4, 2, 10);
    node *x = a;
    for (int i = 0; i < 4; i++, x = x->slot[0]) {
        x->slot[1] = node_new(h, &leaf_type, 0, 20 + i);
    }
    rc_decref(a);
    CHECK(rc_collect(h, -1) == 4 && nodes.destroyed == 11);
    CHECK_VALID(h);
    CHECK(stats(h).tracked[0] + stats(h).tracked[1] + stats(h).tracked[2] == 0);
    rc_heap_free(h);
}

static void test_long_ring(void)
{
    enum { N = 100000 };
    rc_heap *h = rc_heap_new(NULL); /* automatic collection on */
    CHECK(h);
    node_reset();
    node *r = node_ring(h, &node_type, N, 1, 0);
    CHECK(nodes.destroyed == 0); /* held: automatic collections kept it */
    CHECK_VALID(h);
    CHECK(rc_collect(h, -1) == 0);
    rc_decref(r);
    CHECK_VALID(h);
    CHECK(rc_collect(h, -1) == N && nodes.destroyed == N);
    CHECK_VALID(h);
    rc_heap_free(h);
}

static void test_live_and_garbage_mixed(void)
{
    rc_heap *h = quiet_heap();
    node_reset();

    /* A cycle hanging off a live object survives. */
    node *root = node_new(h, &node_type, 1, 1);
    root->slot[0] = node_ring(h, &node_type, 10, 1, 100);
    CHECK(rc_collect(h, -1) == 0 && nodes.destroyed == 0);
    CHECK(tracked(h, 2) == 11 && tracked(h, 0) == 0);
    CHECK_VALID(h);
    rc_decref(root); /* root dies by count; the ring is now garbage */
    CHECK(nodes.destroyed == 1);
    CHECK(rc_collect(h, -1) == 10 && nodes.destroyed == 11);
    CHECK_VALID(h);

    /* A cycle holding a live object: the cycle goes, the object stays with
       its count restored. */
    node_reset();
    node *live = node_new(h, &node_type, 1, 1);
    live->slot[0] = node_new(h, &leaf_type, 0, 2);
    node *a = node_new(h, &node_type, 2, 3), *b = node_new(h, &node_type, 1, 4);
    node_link(a, 0, b);
    node_link(b, 0, a);
    node_link(a, 1, live);
    CHECK(rc_refcount(live) == 2);
    rc_decref(a);
    rc_decref(b);
    CHECK(rc_collect(h, -1) == 2 && nodes.destroyed == 2);
    CHECK(live->magic == NODE_LIVE && rc_refcount(live) == 1);
    CHECK(((node *)live->slot[0])->magic == NODE_LIVE);
    CHECK_VALID(h);
    rc_decref(live);
    CHECK(nodes.destroyed == 4);

    /* Two cycles, the first pointing into the second. */
    for (int held = 0; held < 3; held++) { /* none, one of C2, one of C1 */
        node_reset();
        node *c1 = node_ring(h, &node_type, 3, 2, 1);
        node *c2 = node_ring(h, &node_type, 4, 2, 10);
        node_link(c1->slot[0], 1, c2->slot[0]);
        node *keep = held == 1 ? c2->slot[0] : held == 2 ? c1->slot[0] : NULL;
        rc_incref(keep);
        rc_decref(c1);
        rc_decref(c2);
        CHECK_VALID(h);
        size_t expect = held == 0 ? 7 : held == 1 ? 3 : 0;
        CHECK(rc_collect(h, -1) == expect && nodes.destroyed == expect);
        CHECK_VALID(h);
        rc_decref(keep);
        CHECK(rc_collect(h, -1) == 7 - expect && nodes.destroyed == 7);
        CHECK_VALID(h);
    }

    /* A cycle reachable only from an acyclic container (which holds no
       leaves): the container is untracked, its reference keeps the cycle. */
    node_reset();
    node *box = node_new(h, &acyclic_type, 1, 1);
    box->slot[0] = node_ring(h, &node_type, 5, 1, 10);
    CHECK(rc_collect(h, -1) == 0);
    CHECK(rc_collect(h, 0) == 0);
    CHECK(nodes.destroyed == 0);
    CHECK_VALID(h);
    rc_decref(box);
    CHECK(nodes.destroyed == 1);
    CHECK(rc_collect(h, -1) == 5 && nodes.destroyed == 6);
    CHECK_VALID(h);
    rc_heap_free(h);
}

/* ---- Finalizers and resurrection ------------------------------------------ */

static node *kept;           /* what a resurrecting finalizer stored */
static int64_t resurrect_id; /* the node that resurrects itself */

static void resurrect_hook(node *n)
{
    if (n->id == resurrect_id) {
        CHECK(!kept);
        rc_incref(n);
        kept = n;
    }
}

static void test_resurrection(void)
{
    rc_heap *h = quiet_heap();
    node_reset();
    nodes.on_finalize = resurrect_hook;

    /* P <-> Q is garbage; Q -> R <-> S, and R's finalizer resurrects R,
       which keeps S. */
    resurrect_id = 3;
    kept = NULL;
    node *p = node_ring(h, &fnode_type, 2, 2, 1); /* ids 1, 2 */
    node *r = node_ring(h, &fnode_type, 2, 2, 3); /* ids 3, 4 */
    node *q = p->slot[0], *s = r->slot[0];
    node_link(q, 1, r);
    rc_weakref *w = rc_weakref_new(r, NULL, NULL);
    rc_decref(p);
    rc_decref(r);
    CHECK(tracked(h, 0) == 4);
    CHECK_VALID(h);
    CHECK(rc_collect(h, -1) == 2);
    CHECK(nodes.finalized == 4 && nodes.destroyed == 2);
    CHECK(kept == r && r->magic == NODE_LIVE && s->magic == NODE_LIVE);
    CHECK(r->slot[0] == s && s->slot[0] == r); /* nothing cleared */
    CHECK(rc_refcount(r) == 2 && rc_refcount(s) == 1);
    CHECK(rc_weakref_get(w) == NULL); /* weak references to garbage cleared */
    rc_gc_stats st = stats(h);
    CHECK(st.tracked[2] == 2 && st.tracked[0] == 0 && st.tracked[1] == 0);
    CHECK(rc_gc_is_tracked(r) && rc_gc_is_tracked(s));
    CHECK(st.gen[2].resurrected == 2 && st.gen[2].collected == 2);
    CHECK_VALID(h);
    CHECK(rc_collect(h, -1) == 0 && nodes.finalized == 4);
    /* When they die for good, no finalizer runs again. */
    rc_decref(kept);
    kept = NULL;
    CHECK(rc_collect(h, -1) == 2);
    CHECK(nodes.finalized == 4 && nodes.destroyed == 4);
    rc_decref(w);
    CHECK_VALID(h);

    /* A ring in which one member resurrects itself: all of it is reachable
       again, nothing is collected; the second time nothing finalizes. */
    node_reset();
    nodes.on_finalize = resurrect_hook;
    resurrect_id = 13;
    r = node_ring(h, &fnode_type, 5, 1, 10);
    rc_decref(r);
    CHECK(rc_collect(h, 0) == 0);
    CHECK(nodes.finalized == 5 && nodes.destroyed == 0 && kept && kept->id == 13);
    CHECK(tracked(h, 2) == 5);
    CHECK(stats(h).gen[0].resurrected == 5);
    CHECK(rc_collect(h, -1) == 0);
    rc_decref(kept);
    kept = NULL;
    CHECK(rc_collect(h, 1) == 0); /* generation 2 now */
    CHECK(rc_collect(h, -1) == 5 && nodes.finalized == 5 && nodes.destroyed == 5);
    CHECK_VALID(h);
    rc_heap_free(h);
}

/* A weak reference callback (no finalizer anywhere) that resurrects
   garbage through its data, a borrowed pointer: the collector must check
   for resurrection after callbacks too, not only after finalizers. */
static void resurrect_data(rc_weakref *w, void *data)
{
    (void)w;
    CHECK(!kept);
    rc_incref(data);
    kept = data;
}

static void test_callback_resurrection(void)
{
    rc_heap *h = quiet_heap();
    node_reset();
    kept = NULL;
    node *a = node_ring(h, &node_type, 2, 1, 1); /* ids 1, 2 */
    node *b = a->slot[0];
    rc_weakref *w = rc_weakref_new(a, resurrect_data, b);
    rc_decref(a);
    CHECK(rc_collect(h, 0) == 0);
    CHECK(kept == b && b->magic == NODE_LIVE && a->magic == NODE_LIVE);
    CHECK(b->slot[0] == a && a->slot[0] == b); /* nothing cleared */
    CHECK(stats(h).gen[0].resurrected == 2 && nodes.destroyed == 0);
    CHECK(rc_weakref_get(w) == NULL); /* cleared all the same */
    CHECK_VALID(h);
    rc_decref(kept);
    kept = NULL;
    CHECK(rc_collect(h, -1) == 2 && nodes.destroyed == 2);
    rc_decref(w);
    rc_heap_free(h);
}

/* A type's clear decides the order in which a garbage object's references
   are dropped; what it keeps goes when the object dies. */
static int64_t clear_log[16];
static size_t clear_logged;

static void clear_backwards(void *self)
{
    node *n = self;
    CHECK(n->magic == NODE_LIVE && clear_logged < 16);
    clear_log[clear_logged++] = n->id;
    rc_set(&n->slot[1], NULL); /* slot 1 first, then 0; slot 2 is kept */
    rc_set(&n->slot[0], NULL);
}

static void clear_nothing(void *self)
{
    clear_log[clear_logged++ % 16] = ((node *)self)->id;
}

static const rc_type ordered_type = {.name = "ordered", .traverse = node_traverse,
                                     .destroy = node_destroy, .clear = clear_backwards};
static const rc_type stubborn_type = {.name = "stubborn", .traverse = node_traverse,
                                      .destroy = node_destroy, .clear = clear_nothing};

static void test_clear_slot(void)
{
    rc_heap *h = quiet_heap();
    node_reset();
    clear_logged = 0;
    /* a ring of 3 (slot 0), each also pointing back (slot 1) and at a live
       leaf (slot 2) */
    node *leaf = node_new(h, &leaf_type, 0, 99);
    node *a = node_ring(h, &ordered_type, 3, 3, 1);
    node *b = a->slot[0], *c = b->slot[0];
    node_link(a, 1, c);
    node_link(b, 1, a);
    node_link(c, 1, b);
    for (node *x = a; x; x = x == c ? NULL : x->slot[0])
        node_link(x, 2, leaf);
    rc_decref(a);
    CHECK(rc_refcount(leaf) == 4);
    CHECK(rc_collect(h, 0) == 3);
    CHECK(nodes.destroyed == 3 && clear_logged == 3);
    CHECK(clear_log[0] + clear_log[1] + clear_log[2] == 1 + 2 + 3); /* each once */
    CHECK(rc_refcount(leaf) == 1); /* the kept slot went at death */
    CHECK_VALID(h);

    /* a clear that breaks nothing: the pair survives, counted as collected,
       and the next collection finds it and clears it again */
    clear_logged = 0;
    node *p = node_ring(h, &stubborn_type, 2, 1, 10);
    node *q = p->slot[0];
    rc_decref(p);
    CHECK(rc_collect(h, 0) == 2 && clear_logged == 2);
    CHECK(p->magic == NODE_LIVE && q->magic == NODE_LIVE && q->slot[0] == p);
    CHECK_VALID(h);
    CHECK(rc_collect(h, -1) == 2 && clear_logged == 4);
    /* the test breaks the pair itself */
    rc_set(&p->slot[0], NULL);
    CHECK(nodes.destroyed == 5);
    rc_decref(leaf);
    rc_heap_free(h);
}

/* Step 6 frees garbage whose slots it emptied without looking at them
   again, unless code outside the garbage ran meanwhile: here a leaf held
   by the garbage dies as its holder is cleared, and its destroy stores a
   new object into that holder's emptied slot, which must still be
   released when the holder dies. */
static rc_heap *store_heap;
static node *store_into;

static void store_on_destroy(node *n)
{
    if (n->id == 77)
        store_into->slot[1] = node_new(store_heap, &leaf_type, 0, 78);
}

static void test_store_after_clear(void)
{
    rc_heap *h = quiet_heap();
    node_reset();
    node *a = node_ring(h, &node_type, 2, 2, 1);
    a->slot[1] = node_new(h, &leaf_type, 0, 77); /* takes the creation reference */
    store_heap = h;
    store_into = a;
    nodes.on_destroy = store_on_destroy;
    rc_decref(a);
    CHECK(rc_collect(h, -1) == 2);
    CHECK(nodes.destroyed == 4); /* the pair, the leaf, and what it stored */
    CHECK_VALID(h);
    nodes.on_destroy = NULL;
    rc_heap_free(h);
}

/* Finalizers running inside a collection: they see a consistent heap, may
   allocate (many objects, new pools), build new cycles, release their own
   children, and a collection they ask for returns 0. */
static rc_heap *fin_heap;
static node *made[3000];
static size_t nmade, nested_collected;

static void busy_hook(node *n)
{
    CHECK_VALID(fin_heap);
    nested_collected += rc_collect(fin_heap, -1) + rc_collect(fin_heap, 0);
    if (n->id == 1) {
        for (size_t i = 0; i < 3000; i++)
            made[nmade++] = node_new(fin_heap, &node_type, 1, 1000 + (int64_t)i);
        node_link(made[0], 0, made[1]); /* made[] is held: they survive */
    } else if (n->id == 2) {
        rc_decref(node_ring(fin_heap, &fnode_type, 3, 1, 100)); /* new garbage */
    } else if (n->id == 3) {
        rc_set(&n->slot[0], NULL); /* drop its own child */
    }
    CHECK_VALID(fin_heap);
}

static void test_finalizer_activity(void)
{
    rc_heap *h = fin_heap = quiet_heap();
    node_reset();
    nodes.on_finalize = busy_hook;
    nmade = nested_collected = 0;
    node *ring = node_ring(h, &fnode_type, 4, 1, 1); /* ids 1..4 */
    rc_decref(ring);
    CHECK(rc_collect(h, -1) == 4);
    CHECK(nested_collected == 0);
    CHECK(nodes.finalized == 4 && nodes.destroyed == 4);
    CHECK(nmade == 3000);
    for (size_t i = 0; i < nmade; i++)
        CHECK(made[i]->magic == NODE_LIVE && made[i]->id == 1000 + (int64_t)i);
    CHECK_VALID(h);
    /* The new cycle is collected by the next collection (its finalizers
       run then, once each). */
    CHECK(rc_collect(h, 0) == 3);
    CHECK(nodes.finalized == 7 && nodes.destroyed == 7);
    CHECK(rc_collect(h, -1) == 0);
    for (size_t i = 0; i < nmade; i++)
        rc_decref(made[i]);
    CHECK(nodes.destroyed == 3007);
    CHECK_VALID(h);
    rc_heap_free(h);
}

/* ---- Generations ------------------------------------------------------------- */

static void test_generations(void)
{
    rc_heap *h = quiet_heap();
    node_reset();
    node *held[3];
    for (int i = 0; i < 3; i++)
        held[i] = node_new(h, &node_type, 1, i);
    node_link(held[0], 0, held[1]);
    rc_gc_stats st = stats(h);
    CHECK(st.tracked[0] == 3 && st.tracked[1] == 0 && st.tracked[2] == 0);

    CHECK(rc_collect(h, 0) == 0);
    st = stats(h);
    CHECK(st.tracked[0] == 0 && st.tracked[1] == 3);
    CHECK(st.gen[0].collections == 1 && st.gen[0].candidates == 3);
    CHECK_VALID(h);
    /* A garbage cycle in generation 0, the survivors in generation 1. */
    node *g = node_ring(h, &node_type, 2, 1, 10);
    rc_decref(g);
    CHECK(rc_collect(h, 0) == 2);
    st = stats(h);
    CHECK(st.gen[0].candidates == 3 + 2); /* generation 1 not examined */
    CHECK(st.tracked[0] == 0 && st.tracked[1] == 3);

    /* Garbage in generation 1: invisible to a generation-0 collection. */
    g = node_ring(h, &node_type, 2, 1, 20);
    CHECK(rc_collect(h, 0) == 0);
    CHECK(tracked(h, 1) == 5);
    rc_decref(g);
    CHECK(rc_collect(h, 0) == 0);
    st = stats(h);
    CHECK(st.gen[0].candidates == 7); /* nothing examined */
    CHECK(nodes.destroyed == 2);
    CHECK(rc_collect(h, 1) == 2 && nodes.destroyed == 4);
    st = stats(h);
    CHECK(st.gen[1].collections == 1 && st.gen[1].candidates == 5);
    CHECK(st.tracked[1] == 0 && st.tracked[2] == 3);
    CHECK_VALID(h);

    /* Garbage in generation 2: only a full collection (-1, 2 or more). */
    g = node_ring(h, &node_type, 2, 1, 30);
    CHECK(rc_collect(h, 1) == 0 && tracked(h, 2) == 5);
    rc_decref(g);
    CHECK(rc_collect(h, 0) == 0 && rc_collect(h, 1) == 0);
    st = stats(h);
    CHECK(st.gen[1].candidates == 5 + 2 && st.gen[2].collections == 0);
    CHECK(rc_collect(h, 7) == 2 && nodes.destroyed == 6);
    st = stats(h);
    CHECK(st.gen[2].collections == 1 && st.gen[2].candidates == 5);
    CHECK(st.gen[2].collected == 2);
    CHECK(st.gen[0].collected == 2 && st.gen[1].collected == 2);

    /* An old object and a young one in a garbage cycle: a young collection
       sees the old one's reference as external. */
    node *old = node_new(h, &node_type, 1, 40);
    CHECK(rc_collect(h, 2) == 0);
    node *young = node_new(h, &node_type, 1, 41);
    node_link(old, 0, young);
    node_link(young, 0, old);
    rc_decref(old);
    rc_decref(young);
    CHECK(rc_collect(h, 0) == 0 && rc_collect(h, 1) == 0);
    CHECK(young->magic == NODE_LIVE && tracked(h, 2) == 5);
    CHECK(rc_collect(h, -1) == 2 && nodes.destroyed == 8);
    CHECK_VALID(h);
    for (int i = 0; i < 3; i++)
        rc_decref(held[i]);
    CHECK(nodes.destroyed == 11);
    CHECK(stats(h).tracked[2] == 0);
    CHECK_VALID(h);
    rc_heap_free(h);
}

static void test_thresholds(void)
{
    rc_heap *h = rc_heap_new(NULL);
    unsigned t[3];
    rc_gc_get_threshold(h, t);
    CHECK(t[0] == 700 && t[1] == 10 && t[2] == 10);
    CHECK(rc_gc_is_enabled(h));
    rc_gc_set_threshold(h, 5, 3, 2);
    rc_gc_get_threshold(h, t);
    CHECK(t[0] == 5 && t[1] == 3 && t[2] == 2);
    rc_heap_free(h);

    rc_config cfg;
    rc_config_init(&cfg);
    cfg.gc_threshold[0] = 50;
    cfg.gc_threshold[1] = 4;
    cfg.gc_threshold[2] = 3;
    cfg.gc_disabled = 1;
    h = rc_heap_new(&cfg);
    rc_gc_get_threshold(h, t);
    CHECK(t[0] == 50 && t[1] == 4 && t[2] == 3);
    CHECK(!rc_gc_is_enabled(h));
    rc_heap_free(h);
}

/* Allocate n 2-cycles and drop them. */
static void make_garbage(rc_heap *h, int n)
{
    for (int i = 0; i < n; i++)
        rc_decref(node_ring(h, &node_type, 2, 1, i));
}

static void test_automatic(void)
{
    rc_heap *h = rc_heap_new(NULL);
    node_reset();
    rc_gc_set_threshold(h, 20, 3, 3);
    make_garbage(h, 2000);
    rc_gc_stats st = stats(h);
    CHECK(st.gen[0].collections >= 50);
    CHECK(st.gen[1].collections >= 10);
    CHECK(st.gen[2].collections >= 1);
    CHECK(nodes.destroyed >= 4000 - 100); /* nothing much piles up */
    size_t before = nodes.destroyed;
    CHECK(rc_collect(h, -1) == 4000 - before);
    CHECK(nodes.destroyed == 4000);
    CHECK_VALID(h);

    /* Disabled: no automatic collection, explicit ones still work. */
    rc_gc_enable(h, 0);
    CHECK(!rc_gc_is_enabled(h));
    st = stats(h);
    make_garbage(h, 2000);
    rc_gc_stats st2 = stats(h);
    CHECK(st2.gen[0].collections == st.gen[0].collections);
    CHECK(st2.gen[1].collections == st.gen[1].collections);
    CHECK(st2.gen[2].collections == st.gen[2].collections);
    CHECK(nodes.destroyed == 4000 && st2.tracked[0] == 4000);
    CHECK(rc_collect(h, -1) == 4000 && nodes.destroyed == 8000);
    CHECK_VALID(h);

    /* Threshold 0 disables it too. */
    rc_gc_enable(h, 1);
    CHECK(rc_gc_is_enabled(h));
    rc_gc_set_threshold(h, 0, 3, 3);
    st = stats(h);
    make_garbage(h, 500);
    CHECK(stats(h).gen[0].collections == st.gen[0].collections);
    CHECK(rc_collect(h, 0) == 1000);
    rc_gc_set_threshold(h, 20, 3, 3);
    make_garbage(h, 500);
    CHECK(stats(h).gen[0].collections > st.gen[0].collections);
    rc_collect(h, -1);
    CHECK(nodes.destroyed == 10000);
    CHECK_VALID(h);
    rc_heap_free(h);
}

/* A collection that finds nothing doubles its generation's threshold (up
   to 16 times); one that finds garbage resets it. */
static void test_backoff(void)
{
    rc_heap *h = rc_heap_new(NULL);
    node_reset();
    rc_gc_set_threshold(h, 10, 1000, 1000);
    enum { N = 2000 };
    static node *held[N];
    for (int i = 0; i < N; i++) /* no garbage: thresholds 10, 20, ... 160 */
        held[i] = node_new(h, &node_type, 0, i);
    size_t idle = stats(h).gen[0].collections;
    CHECK(idle >= 12 && idle <= 20); /* about 4 + (2000 - 150) / 160 */
    make_garbage(h, N / 2); /* back to every 10 or so */
    size_t busy = stats(h).gen[0].collections - idle;
    CHECK(busy >= 100);
    for (int i = 0; i < N; i++)
        rc_decref(held[i]);
    CHECK_VALID(h);
    rc_heap_free(h);
}

/* RC_GC_DEBUG_STATS: a line on stderr per collection. */
static void test_debug_stats(void)
{
    rc_heap *h = quiet_heap();
    char path[] = "/tmp/rcgc_test_gc_XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    fflush(stderr);
    int saved = dup(2);
    CHECK(saved >= 0 && dup2(fd, 2) == 2);
    rc_gc_set_debug(h, RC_GC_DEBUG_STATS);
    CHECK(rc_gc_get_debug(h) == RC_GC_DEBUG_STATS);
    rc_collect(h, 0);
    rc_collect(h, -1);
    rc_gc_set_debug(h, 0);
    rc_collect(h, 1);
    fflush(stderr);
    CHECK(dup2(saved, 2) == 2);
    close(saved);
    char buf[1024] = {0};
    CHECK(lseek(fd, 0, SEEK_SET) == 0);
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    unlink(path);
    int lines = 0;
    for (ssize_t i = 0; i < n; i++)
        lines += buf[i] == '\n';
    CHECK(lines == 2);
    rc_heap_free(h);
}

/* ---- Callbacks ------------------------------------------------------------------ */

typedef struct cb_record {
    int phase, generation;
    size_t candidates, collected, uncollectable, nested;
} cb_record;

static cb_record records[64];
static size_t nrecords;

static void record_cb(rc_heap *h, int phase, const rc_gc_info *info, void *ctx)
{
    CHECK(ctx == &records);
    CHECK(nrecords < 64);
    cb_record *r = &records[nrecords++];
    r->phase = phase;
    r->generation = info->generation;
    r->candidates = info->candidates;
    r->collected = info->collected;
    r->uncollectable = info->uncollectable;
    /* Callbacks may allocate and release; a collection they ask for is 0. */
    rc_decref(node_new(h, &leaf_type, 0, -1));
    r->nested = rc_collect(h, -1);
}

static void other_cb(rc_heap *h, int phase, const rc_gc_info *info, void *ctx)
{
    (void)h;
    (void)phase;
    (void)info;
    ++*(int *)ctx;
}

static void test_callbacks(void)
{
    rc_heap *h = quiet_heap();
    node_reset();
    nrecords = 0;
    CHECK(rc_gc_callback_add(h, record_cb, &records) == 0);
    node *held = node_new(h, &node_type, 1, 1);
    rc_decref(node_ring(h, &node_type, 3, 1, 10));
    CHECK(rc_collect(h, 1) == 3);
    CHECK(nrecords == 2);
    CHECK(records[0].phase == RC_GC_START && records[0].generation == 1);
    CHECK(records[1].phase == RC_GC_STOP && records[1].generation == 1);
    CHECK(records[1].candidates == 4);
    CHECK(records[1].collected == 3 && records[1].uncollectable == 0);
    CHECK(records[0].nested == 0 && records[1].nested == 0);
    CHECK(nodes.destroyed == 3 + 2); /* the ring, the callbacks' leaves */
    CHECK_VALID(h);
    CHECK(rc_gc_callback_remove(h, record_cb, &records) == 0);
    rc_decref(node_ring(h, &node_type, 2, 1, 20));
    CHECK(rc_collect(h, -1) == 2 && nodes.destroyed == 7);
    CHECK(nrecords == 2); /* removed: not called */

    /* Removing what is not there; at most 8 callbacks. */
    CHECK(rc_gc_callback_remove(h, record_cb, &records) == -1);
    CHECK(rc_last_error(h) == RC_EKEY);
    int counter[9] = {0};
    for (int i = 0; i < 8; i++)
        CHECK(rc_gc_callback_add(h, other_cb, &counter[i]) == 0);
    CHECK(rc_gc_callback_add(h, other_cb, &counter[8]) == -1);
    CHECK(rc_last_error(h) == RC_EOVERFLOW);
    rc_collect(h, 0);
    for (int i = 0; i < 8; i++)
        CHECK(counter[i] == 2);
    CHECK(counter[8] == 0);
    CHECK(rc_gc_callback_remove(h, other_cb, &counter[3]) == 0);
    CHECK(rc_gc_callback_add(h, other_cb, &counter[8]) == 0);
    rc_collect(h, 0);
    CHECK(counter[3] == 2 && counter[8] == 2 && counter[0] == 4);
    for (int i = 0; i < 9; i++)
        rc_gc_callback_remove(h, other_cb, &counter[i]);

    /* Automatic collections call them too. */
    nrecords = 0;
    rc_gc_callback_add(h, record_cb, &records);
    rc_gc_set_threshold(h, 10, 100, 100);
    rc_gc_enable(h, 1);
    make_garbage(h, 50); /* the idle collections above raised the threshold */
    CHECK(nrecords >= 2 && records[0].phase == RC_GC_START && records[0].generation == 0);
    CHECK(records[1].phase == RC_GC_STOP && records[1].collected > 0);
    rc_gc_callback_remove(h, record_cb, &records);
    rc_decref(held);
    rc_collect(h, -1);
    CHECK_VALID(h);
    rc_heap_free(h);
}

/* ---- Freeze ------------------------------------------------------------------ */

static void test_freeze(void)
{
    rc_heap *h = quiet_heap();
    node_reset();
    node *held = node_new(h, &node_type, 1, 1);
    node *g = node_ring(h, &node_type, 2, 1, 10);
    rc_decref(g);
    CHECK(rc_gc_freeze(h) == 3);
    rc_gc_stats st = stats(h);
    CHECK(st.frozen == 3 && st.tracked[0] == 0 && st.tracked[1] == 0 && st.tracked[2] == 0);
    CHECK(rc_gc_is_tracked(held));
    CHECK_VALID(h);
    CHECK(rc_collect(h, -1) == 0 && rc_collect(h, 0) == 0 && nodes.destroyed == 0);
    CHECK(stats(h).gen[2].candidates == 0);
    /* New objects are collected as usual. */
    rc_decref(node_ring(h, &node_type, 2, 1, 20));
    CHECK(rc_collect(h, -1) == 2 && nodes.destroyed == 2);
    CHECK(rc_gc_freeze(h) == 0); /* nothing new to move */
    rc_gc_unfreeze(h);
    st = stats(h);
    CHECK(st.frozen == 0 && st.tracked[2] == 3 && st.tracked[0] == 0);
    CHECK_VALID(h);
    CHECK(rc_collect(h, 1) == 0);
    CHECK(rc_collect(h, -1) == 2 && nodes.destroyed == 4);
    rc_decref(held);
    CHECK(nodes.destroyed == 5 && stats(h).tracked[2] == 0);
    CHECK_VALID(h);
    rc_heap_free(h);
}

/* ---- Queries -------------------------------------------------------------------- */

typedef struct objset {
    void *items[16];
    size_t n;
} objset;

static void add_to(void *obj, void *ctx)
{
    objset *s = ctx;
    CHECK(s->n < 16);
    s->items[s->n++] = obj;
}

/* Does s hold exactly the n objects given (in any order, once each)? */
static int set_is(const objset *s, size_t n, void *const *want)
{
    if (s->n != n)
        return 0;
    for (size_t i = 0; i < n; i++) {
        size_t hits = 0;
        for (size_t j = 0; j < s->n; j++)
            hits += s->items[j] == want[i];
        if (hits != 1)
            return 0;
    }
    return 1;
}

#define SET_IS(s, ...)                                                       \
    set_is(&(s), sizeof((void *[]){__VA_ARGS__}) / sizeof(void *),           \
           (void *[]){__VA_ARGS__})

static objset query_foreach(rc_heap *h, int gen, size_t *ret)
{
    objset s = {0};
    *ret = rc_gc_foreach(h, gen, add_to, &s);
    return s;
}

static void test_queries(void)
{
    rc_heap *h = quiet_heap();
    node_reset();
    /* A -> B, A -> C, B -> C, C -> A, C -> L (leaf); W weak to C. */
    node *a = node_new(h, &node_type, 2, 1), *b = node_new(h, &node_type, 1, 2);
    node *c = node_new(h, &node_type, 2, 3), *l = node_new(h, &leaf_type, 0, 4);
    node_link(a, 0, b);
    node_link(a, 1, c);
    node_link(b, 0, c);
    node_link(c, 0, a);
    node_link(c, 1, l);
    rc_weakref *w = rc_weakref_new(c, NULL, NULL);
    CHECK_VALID(h);

    objset s = {0};
    rc_gc_referents(a, add_to, &s);
    CHECK(SET_IS(s, b, c));
    s.n = 0;
    rc_gc_referents(c, add_to, &s);
    CHECK(SET_IS(s, a, l));
    s.n = 0;
    rc_gc_referents(l, add_to, &s); /* a leaf refers to nothing */
    CHECK(s.n == 0);
    node_link(b, 0, NULL);
    rc_gc_referents(b, add_to, &s); /* NULL slots are not referents */
    CHECK(s.n == 0);
    node_link(b, 0, c);

    s.n = 0;
    CHECK(rc_gc_referrers(h, c, add_to, &s) == 2);
    CHECK(SET_IS(s, a, b));
    s.n = 0;
    CHECK(rc_gc_referrers(h, l, add_to, &s) == 1);
    CHECK(SET_IS(s, c));
    s.n = 0;
    CHECK(rc_gc_referrers(h, b, add_to, &s) == 1);
    CHECK(SET_IS(s, a));
    s.n = 0;
    CHECK(rc_gc_referrers(h, w, add_to, &s) == 0);

    size_t ret;
    s = query_foreach(h, -1, &ret);
    CHECK(ret == 3 && SET_IS(s, a, b, c)); /* leaf, plain weakref: untracked */
    s = query_foreach(h, 0, &ret);
    CHECK(ret == 3 && SET_IS(s, a, b, c));
    rc_collect(h, 0);
    s = query_foreach(h, 0, &ret);
    CHECK(ret == 0 && s.n == 0);
    s = query_foreach(h, 1, &ret);
    CHECK(ret == 3 && SET_IS(s, a, b, c));
    node *d = node_new(h, &node_type, 1, 5);
    s = query_foreach(h, -1, &ret);
    CHECK(ret == 4 && SET_IS(s, a, b, c, d));
    CHECK(rc_gc_freeze(h) == 4);
    s = query_foreach(h, -1, &ret); /* frozen ones included */
    CHECK(ret == 4 && SET_IS(s, a, b, c, d));
    s = query_foreach(h, 1, &ret);
    CHECK(ret == 0);
    rc_gc_unfreeze(h);
    s = query_foreach(h, 2, &ret);
    CHECK(ret == 4 && SET_IS(s, a, b, c, d));
    CHECK_VALID(h);

    rc_decref(d);
    rc_decref(a);
    rc_decref(b);
    rc_decref(c);
    rc_decref(l);
    CHECK(rc_collect(h, -1) == 3 && nodes.destroyed == 5);
    rc_decref(w);
    CHECK_VALID(h);
    rc_heap_free(h);
}

/* "Call fn for each tracked object that refers to target": objects the
   collector does not track (untracked containers, acyclic types) are not
   referrers, as with Python's gc.get_referrers. */
/* Referrers are every object whose type reports references, tracked or
   not (rcgc.h): an untracked container or an acyclic box keeps its target
   alive just the same, so "why is this alive" must see it. */
static void test_referrers_all_holders(void)
{
    rc_heap *h = quiet_heap();
    node_reset();
    node *target = node_new(h, &node_type, 0, 1);
    node *tracked_ref = node_new(h, &node_type, 1, 2);
    node *untracked_ref = node_new(h, &node_type, 1, 3);
    node *acyclic_ref = node_new(h, &acyclic_type, 1, 4);
    rc_gc_untrack(untracked_ref);
    node_link(tracked_ref, 0, target);
    node_link(untracked_ref, 0, target);
    node_link(acyclic_ref, 0, target);
    objset s = {0};
    size_t n = rc_gc_referrers(h, target, add_to, &s);
    EXPECT(n == 3 && SET_IS(s, tracked_ref, untracked_ref, acyclic_ref));
    rc_decref(tracked_ref);
    rc_decref(untracked_ref);
    rc_decref(acyclic_ref);
    rc_decref(target);
    CHECK(nodes.destroyed == 4);
    rc_heap_free(h);
}

/* ---- DEBUG_SAVEALL --------------------------------------------------------------- */

static void test_saveall(void)
{
    rc_heap *h = quiet_heap();
    node_reset();
    nrecords = 0;
    CHECK(rc_gc_get_debug(h) == 0);
    rc_gc_set_debug(h, RC_GC_DEBUG_SAVEALL);
    CHECK(rc_gc_get_debug(h) == RC_GC_DEBUG_SAVEALL);
    size_t count = 99;
    CHECK(rc_gc_garbage(h, &count) == NULL || count == 0);
    CHECK(count == 0);
    node *ring = node_ring(h, &fnode_type, 3, 1, 1);
    node *members[3] = {ring, ring->slot[0], ((node *)ring->slot[0])->slot[0]};
    rc_decref(ring);
    CHECK(rc_collect(h, -1) == 0);
    CHECK(nodes.finalized == 3 && nodes.destroyed == 0);
    void *const *g = rc_gc_garbage(h, &count);
    CHECK(count == 3);
    objset s = {0};
    for (size_t i = 0; i < count; i++)
        add_to(g[i], &s);
    CHECK(SET_IS(s, members[0], members[1], members[2]));
    for (int i = 0; i < 3; i++)
        CHECK(members[i]->magic == NODE_LIVE && rc_refcount(members[i]) == 2);
    rc_gc_stats st = stats(h);
    CHECK(st.gen[2].uncollectable == 3 && st.gen[2].collected == 0);
    CHECK_VALID(h);
    /* Kept garbage is not collected again while it is kept. */
    CHECK(rc_collect(h, -1) == 0);
    CHECK(rc_gc_garbage(h, &count) && count == 3);
    /* More garbage adds to the list, oldest first. */
    node *x = node_new(h, &node_type, 1, 10);
    node_link(x, 0, x);
    rc_decref(x);
    CHECK(rc_collect(h, 0) == 0);
    g = rc_gc_garbage(h, &count);
    CHECK(count == 4 && g[3] == x);
    CHECK(stats(h).gen[0].uncollectable == 1);
    /* Clearing drops the list's references; the cycles are then ordinary
       garbage again, reclaimed (without finalizing twice) once SAVEALL is
       off. */
    rc_gc_garbage_clear(h);
    CHECK(rc_gc_garbage(h, &count) == NULL || count == 0);
    CHECK(count == 0 && nodes.destroyed == 0);
    CHECK_VALID(h);
    rc_gc_set_debug(h, 0);
    CHECK(rc_collect(h, -1) == 4);
    CHECK(nodes.destroyed == 4 && nodes.finalized == 3);
    CHECK_VALID(h);
    /* Kept garbage still alive at teardown is reclaimed with the heap. */
    rc_gc_set_debug(h, RC_GC_DEBUG_SAVEALL);
    rc_decref(node_ring(h, &node_type, 2, 1, 20));
    CHECK(rc_collect(h, -1) == 0);
    rc_heap_free(h);
    CHECK(nodes.destroyed == 6);
}

/* ---- Out of memory during a collection ------------------------------------ */

static size_t oom_callbacks;

static void oom_cb(rc_weakref *w, void *data)
{
    (void)w;
    (void)data;
    oom_callbacks++;
}

typedef struct oom_world {
    node *root;          /* a live chain: root -> ... (CHAIN nodes) */
    rc_weakref *w[2];    /* held weak references into the garbage ring */
} oom_world;

enum { CHAIN = 50, RING = 20000, SMALL_RING = 1000 };

static void check_chain(const oom_world *ow)
{
    node *n = ow->root;
    for (int i = 0; i < CHAIN; i++) {
        CHECK(n && n->magic == NODE_LIVE && n->id == i && rc_refcount(n) == 1);
        n = n->slot[0];
    }
    CHECK(n == NULL);
}

/* Fail the nth page request during one collection of generation gen (all
   objects are young) of a heap holding a live chain, a garbage ring of RING
   nodes and two weak references with callbacks into the ring.  A failed
   collection leaves the heap as it was: the same collection, repeated,
   frees the garbage.  Returns false when the collection made fewer than
   nth requests. */
static bool oom_collect_once(unsigned long nth, int gen)
{
    counting_source src = {0};
    rc_config cfg = counting_config(&src);
    cfg.gc_disabled = 1;
    rc_heap *h = rc_heap_new(&cfg);
    CHECK(h);
    node_reset();
    oom_callbacks = 0;
    oom_world ow = {0};
    node *prev = NULL;
    for (int i = CHAIN - 1; i >= 0; i--) {
        node *n = node_new(h, &node_type, 1, i);
        n->slot[0] = prev;
        prev = n;
    }
    ow.root = prev;
    node *ring = node_ring(h, &node_type, RING, 1, 1000);
    ow.w[0] = rc_weakref_new(ring, oom_cb, NULL);
    ow.w[1] = rc_weakref_new(ring->slot[0], oom_cb, NULL);
    CHECK(ow.w[0] && ow.w[1]);
    rc_decref(ring);
    CHECK_VALID(h);

    rc_alloc_stats as;
    rc_alloc_stats_get(h, &as);
    size_t failures = as.page_failures;
    rc_gc_stats before = stats(h);
    rc_heap_fail_page_request(h, nth);
    size_t got = rc_collect(h, gen);
    rc_alloc_stats_get(h, &as);
    bool hit = as.page_failures > failures;
    rc_heap_fail_page_request(h, 0);
    rc_gc_stats after = stats(h);
    CHECK_VALID(h);
    check_chain(&ow); /* nothing reachable was freed */
    if (got == 0) {
        /* abandoned: nothing freed, nothing called, counted */
        CHECK(hit);
        CHECK(after.failed == before.failed + 1);
        CHECK(nodes.destroyed == 0 && oom_callbacks == 0);
        size_t again = rc_collect(h, gen); /* the heap is as it was */
        if (again != RING) {
            fprintf(stderr, "oom_collect(gen %d): request %lu failed; the same "
                    "collection again found %zu of %d garbage objects (%zu in "
                    "generation 2)\n", gen, nth, again, RING, stats(h).tracked[2]);
            EXPECT(again == RING);
            CHECK(rc_collect(h, -1) == RING - again);
        }
    } else {
        CHECK(got == RING && after.failed == before.failed);
    }
    CHECK(nodes.destroyed == RING && oom_callbacks == 2);
    CHECK(rc_weakref_get(ow.w[0]) == NULL && rc_weakref_get(ow.w[1]) == NULL);
    check_chain(&ow);
    CHECK_VALID(h);
    rc_decref(ow.root);
    rc_decref(ow.w[0]);
    rc_decref(ow.w[1]);
    CHECK(rc_collect(h, -1) == 0 && nodes.destroyed == RING + CHAIN);
    CHECK_VALID(h);
    rc_heap_free(h);
    CHECK(src.live_bytes == 0 && src.live_regions == 0);
    return hit;
}

/* The same with a finalizer that resurrects a pair of garbage objects: the
   collector's second marking (over the garbage, after user code ran) also
   needs its work list. */
static bool oom_resurrect_once(unsigned long nth)
{
    counting_source src = {0};
    rc_config cfg = counting_config(&src);
    cfg.gc_disabled = 1;
    rc_heap *h = rc_heap_new(&cfg);
    CHECK(h);
    node_reset();
    nodes.on_finalize = resurrect_hook;
    resurrect_id = 1;
    kept = NULL;
    rc_decref(node_ring(h, &fnode_type, 2, 1, 1)); /* ids 1, 2: 1 resurrects */
    rc_decref(node_ring(h, &node_type, SMALL_RING, 1, 100));
    CHECK_VALID(h);

    rc_alloc_stats as;
    rc_alloc_stats_get(h, &as);
    size_t failures = as.page_failures;
    rc_gc_stats before = stats(h);
    rc_heap_fail_page_request(h, nth);
    size_t got = rc_collect(h, -1);
    rc_alloc_stats_get(h, &as);
    bool hit = as.page_failures > failures;
    rc_heap_fail_page_request(h, 0);
    rc_gc_stats after = stats(h);
    CHECK_VALID(h);
    if (got == 0) {
        if (after.failed != before.failed + 1)
            fprintf(stderr, "oom_resurrect: request %lu failed, rc_collect "
                    "returned 0, reclaimed nothing, rc_gc_stats.failed %zu -> %zu, "
                    "resurrected %zu -> %zu\n", nth, before.failed, after.failed,
                    before.gen[2].resurrected, after.gen[2].resurrected);
        CHECK(hit);
        EXPECT(after.failed == before.failed + 1);
        CHECK(nodes.destroyed == 0);
        CHECK(rc_collect(h, -1) == SMALL_RING);
    } else {
        CHECK(got == SMALL_RING && after.failed == before.failed);
        CHECK(after.gen[2].resurrected == before.gen[2].resurrected + 2);
    }
    CHECK(nodes.destroyed == SMALL_RING && nodes.finalized == 2);
    CHECK(kept && kept->id == 1 && kept->magic == NODE_LIVE);
    CHECK_VALID(h);
    rc_decref(kept);
    kept = NULL;
    CHECK(rc_collect(h, -1) == 2 && nodes.finalized == 2);
    CHECK(nodes.destroyed == SMALL_RING + 2);
    rc_heap_free(h);
    CHECK(src.live_bytes == 0 && src.live_regions == 0);
    return hit;
}

static void test_oom_during_collection(void)
{
    unsigned long nth = 1;
    while (oom_collect_once(nth, -1))
        nth++;
    CHECK(nth > 2); /* the garbage list, the marking work list, ... */
    nth = 1;
    while (oom_collect_once(nth, 0))
        nth++;
    CHECK(nth > 2);
    nth = 1;
    while (oom_resurrect_once(nth))
        nth++;
    CHECK(nth > 2);
}

/* ---- Fault sweep ---------------------------------------------------------------- */

typedef struct sweep_counts {
    size_t nodes, fnodes; /* constructed */
} sweep_counts;

static void sweep_cb(rc_weakref *w, void *data)
{
    (void)data;
    CHECK(rc_weakref_get(w) == NULL);
    oom_callbacks++;
}

/* A ring of up to len nodes kept in *slot (fewer if memory runs out). */
static void sweep_ring(rc_heap *h, node **slot, size_t len, bool fin,
                       sweep_counts *c)
{
    const rc_type *t = fin ? &fnode_type : &node_type;
    node *head = node_try(h, t, 2, 0), *prev = head;
    if (!head)
        return;
    for (size_t i = 1; i < len; i++) {
        node *x = node_try(h, t, 2, (int64_t)i);
        if (!x)
            break;
        prev->slot[0] = x;
        prev = x;
        c->nodes++;
        c->fnodes += fin;
    }
    c->nodes++;
    c->fnodes += fin;
    node_link(prev, 0, head);
    rc_decref(*slot);
    *slot = head;
}

/* rearm: after each failure, fail the rearm-th request from then on too. */
static void sweep_workload(rc_heap *h, sweep_counts *c, unsigned long rearm)
{
    size_t failures = 0;
    enum { ROOTS = 16, WEAK = 8 };
    node *root[ROOTS] = {0};
    rc_weakref *weak[WEAK] = {0};
    uint64_t rng = 2024;
    for (int op = 0; op < 500; op++) {
        uint64_t r = test_rand(&rng);
        unsigned i = (unsigned)(r % ROOTS), j = (unsigned)((r >> 8) % ROOTS);
        switch ((r >> 16) % 8) {
        case 0:
        case 1:
            sweep_ring(h, &root[i], 1 + (r >> 24) % 40, (r >> 40) & 1, c);
            break;
        case 2:
            if ((r >> 24) % 16 == 0) {
                sweep_ring(h, &root[i], 1000, false, c);
            } else if ((r >> 24) % 16 == 1) {
                /* a wide node dropped at once: its dying children pile up on
                   the pending list (which may fail to grow: zombies) */
                node *wide = node_try(h, &fnode_type, 200, -2);
                for (uint32_t k = 0; wide && k < 200; k++)
                    if ((wide->slot[k] = node_try(h, &fnode_type, 0, -3)) != NULL) {
                        c->nodes++;
                        c->fnodes++;
                    }
                if (wide) {
                    c->nodes++;
                    c->fnodes++;
                    rc_decref(wide);
                }
            } else if ((r >> 24) % 16 < 6 && root[i]) {
                /* a huge leaf (its own mapping) hung off the graph */
                node *big = node_try(h, &leaf_type, 70000, -4);
                if (big) {
                    c->nodes++;
                    node_link(root[i], 1, big);
                    rc_decref(big);
                }
            }
            break;
        case 3:
            if (root[i])
                node_link(root[i], 1, root[j]);
            break;
        case 4:
            rc_decref(root[i]);
            root[i] = NULL;
            break;
        case 5:
            rc_decref(weak[i % WEAK]);
            weak[i % WEAK] = root[j] ? rc_weakref_new(root[j], sweep_cb, NULL) : NULL;
            break;
        case 6:
            rc_collect(h, (int)((r >> 24) % 4) - 1);
            if ((r >> 32) % 4 == 0)
                rc_heap_trim(h); /* later growth asks the page source again */
            break;
        default: { /* untracked objects in the graph: a leaf, an empty box */
            node *x = root[i] ? node_try(h, (r >> 24) & 1 ? &leaf_type : &acyclic_type,
                                         0, -1)
                              : NULL;
            if (x) {
                c->nodes++;
                node_link(root[i], 1, x);
                rc_decref(x);
            }
            break;
        }
        }
        CHECK_VALID(h);
        if (rearm) {
            rc_alloc_stats as;
            rc_alloc_stats_get(h, &as);
            if (as.page_failures != failures)
                rc_heap_fail_page_request(h, rearm);
            failures = as.page_failures;
        }
    }
    for (unsigned k = 0; k < ROOTS; k++)
        rc_decref(root[k]);
    for (unsigned k = 0; k < WEAK; k++)
        rc_decref(weak[k]);
    CHECK_VALID(h);
}

/* One run of the workload with the nth page request failing (and, with
   rearm, every rearm-th one after it); returns the failures seen. */
static size_t sweep_once(unsigned long nth, unsigned long rearm)
{
    counting_source src = {0};
    rc_config cfg = counting_config(&src);
    cfg.gc_threshold[0] = 60;
    cfg.gc_threshold[1] = 4;
    cfg.gc_threshold[2] = 4;
    rc_heap *h = rc_heap_new(&cfg);
    CHECK(h);
    node_reset();
    oom_callbacks = 0;
    sweep_counts c = {0};
    rc_heap_fail_page_request(h, nth);
    sweep_workload(h, &c, rearm);
    rc_heap_fail_page_request(h, 0);
    rc_alloc_stats as;
    rc_alloc_stats_get(h, &as);
    /* With memory back, one full collection reclaims everything. */
    rc_collect(h, -1);
    CHECK_VALID(h);
    CHECK(nodes.destroyed == c.nodes);
    CHECK(nodes.finalized == c.fnodes);
    rc_gc_stats st = stats(h);
    CHECK(st.tracked[0] + st.tracked[1] + st.tracked[2] + st.frozen == 0);
    rc_heap_free(h);
    CHECK(src.live_bytes == 0 && src.live_regions == 0);
    return as.page_failures;
}

static void test_fault_sweep(void)
{
    unsigned long nth = 1;
    while (sweep_once(nth, 0) > 0)
        nth++;
    CHECK(nth > 10);
    for (unsigned long every = 1; every <= 5; every++)
        CHECK(sweep_once(every, every) > 0);
    printf("test_gc: fault sweep over %lu page requests\n", nth - 1);
}

/* A garbage cycle through an object with more than 2^21 referrers (every
   node of a big structure pointing back at its owner, as a document and its
   nodes) is garbage like any other.  Run alone: "test_gc many_referrers". */
static void test_many_referrers(void)
{
    enum { M = (1 << 21) + 16 };
    rc_heap *h = quiet_heap();
    node_reset();
    node *hub = node_new(h, &node_type, 1, 0), *prev = NULL;
    for (int64_t i = 1; i <= M; i++) {
        node *n = node_new(h, &node_type, 2, i);
        n->slot[0] = prev;
        node_link(n, 1, hub);
        prev = n;
    }
    hub->slot[0] = prev;
    CHECK(rc_refcount(hub) == (size_t)M + 1);
    rc_decref(hub);
    CHECK_VALID(h);
    size_t got = rc_collect(h, -1);
    if (got != (size_t)M + 1)
        fprintf(stderr, "rc_collect found %zu of %zu garbage objects: the hub, "
                "with %d references, was taken as referenced from outside\n",
                got, (size_t)M + 1, M);
    EXPECT(got == (size_t)M + 1 && nodes.destroyed == (size_t)M + 1);
    CHECK_VALID(h);
    rc_heap_free(h);
}

/* The young lists give their pages back once a full collection empties
   them: a burst of 100,000 young objects leaves nothing behind. */
static void test_young_list_shrinks(void)
{
    enum { N = 100000 };
    rc_heap *h = quiet_heap();
    node **keep = malloc(N * sizeof *keep);
    CHECK(keep);
    rc_alloc_stats grown, after;
    for (size_t i = 0; i < N; i++)
        keep[i] = node_new(h, &node_type, 1, (int64_t)i);
    rc_alloc_stats_get(h, &grown);
    CHECK(tracked(h, 0) == N);
    CHECK(rc_collect(h, -1) == 0);
    CHECK(tracked(h, 2) == N);
    rc_alloc_stats_get(h, &after);
    /* 8 bytes per young object were held; they are gone */
    CHECK(grown.os_bytes - after.os_bytes >= N * sizeof(void *));
    for (size_t i = 0; i < N; i++)
        rc_decref(keep[i]);
    free(keep);
    CHECK_VALID(h);
    rc_heap_free(h);
}

/* ---- Untracking (CPython's, for dicts and tuples) -------------------------- */

/* A dict of ints is untracked by a full collection (not by a young one),
   tracked again when a list is stored in it, and a cycle through it is
   then collected. */
static void test_untrack_dict(void)
{
    rc_heap *h = quiet_heap();
    void *d = rc_dict(h);
    for (int64_t i = 0; i < 10; i++) {
        void *k = rc_int(h, i), *v = rc_int(h, 1000 + i);
        CHECK(rc_dict_set(d, k, v) == 0);
        rc_decref(k);
        rc_decref(v);
    }
    CHECK(rc_gc_is_tracked(d));
    CHECK(rc_collect(h, 0) == 0);
    CHECK(rc_gc_is_tracked(d)); /* young collections leave dicts alone */
    CHECK(rc_collect(h, -1) == 0);
    CHECK(!rc_gc_is_tracked(d));
    CHECK(tracked(h, 0) + tracked(h, 1) + tracked(h, 2) == 0);
    CHECK_VALID(h);

    void *k = rc_int(h, 7), *v = rc_int(h, 7);
    CHECK(rc_dict_set(d, k, v) == 0); /* a leaf: stays untracked */
    CHECK(!rc_gc_is_tracked(d));
    void *l = rc_list(h);
    CHECK(rc_dict_set(d, k, l) == 0);
    CHECK(rc_gc_is_tracked(d) && tracked(h, 0) == 2); /* the dict, the list */
    CHECK(rc_list_append(l, d) == 0);
    rc_decref(k);
    rc_decref(v);
    rc_decref(l);
    rc_decref(d);
    CHECK(rc_collect(h, -1) == 2); /* the dict and the list */
    CHECK_VALID(h);
    rc_heap_free(h);
}

/* A dict holding an untracked dict (or set) stays tracked: the inner one
   may take a tracked object later.  So does a tuple holding one. */
static void test_untrack_keeps_mutable_children(void)
{
    rc_heap *h = quiet_heap();
    void *outer = rc_dict(h), *inner = rc_dict(h), *k = rc_int(h, 1);
    CHECK(rc_dict_set(outer, k, inner) == 0);
    void *t = rc_tuple(h, 1, &inner);
    CHECK(rc_collect(h, -1) == 0);
    CHECK(!rc_gc_is_tracked(inner)); /* empty */
    CHECK(rc_gc_is_tracked(outer) && rc_gc_is_tracked(t));
    void *s = rc_set_new(h), *ts = rc_tuple(h, 1, &s);
    CHECK(!rc_gc_is_tracked(s) && rc_gc_is_tracked(ts));
    rc_decref(t);
    rc_decref(k);
    rc_decref(inner);
    rc_decref(outer);

    /* set -> node -> tuple -> set: the set became tracked after the tuple
       was made, and the cycle is still found */
    node_reset();
    node *n = node_new(h, &node_type, 1, 1);
    n->slot[0] = ts; /* the tuple's creation reference moves into n */
    CHECK(rc_set_add(s, n) == 0);
    CHECK(rc_gc_is_tracked(s));
    rc_decref(n);
    rc_decref(s);
    CHECK(rc_collect(h, -1) == 3);
    CHECK(nodes.destroyed == 1);
    CHECK_VALID(h);
    rc_heap_free(h);
}

/* A tuple tracked by hand (rc_gc_track) that holds leaves only is
   untracked again by the next full collection; a tuple of tuples of
   leaves is untracked at birth. */
static void test_untrack_tuple(void)
{
    rc_heap *h = quiet_heap();
    void *items[2] = {rc_int(h, 1), rc_str(h, "x", 1)};
    void *inner = rc_tuple(h, 2, items);
    void *outer = rc_tuple(h, 1, &inner);
    CHECK(!rc_gc_is_tracked(inner) && !rc_gc_is_tracked(outer));
    rc_gc_track(outer);
    CHECK(rc_gc_is_tracked(outer));
    CHECK(rc_collect(h, -1) == 0);
    CHECK(!rc_gc_is_tracked(outer));
    CHECK_VALID(h);
    rc_decref(outer);
    rc_decref(inner);
    rc_decref(items[0]);
    rc_decref(items[1]);
    rc_heap_free(h);
}

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "many_referrers") == 0) {
        test_many_referrers();
        return expect_status("test_gc many_referrers");
    }
    CHECK(argc == 1);
    test_small_cycles();
    test_long_ring();
    test_live_and_garbage_mixed();
    test_resurrection();
    test_callback_resurrection();
    test_clear_slot();
    test_store_after_clear();
    test_finalizer_activity();
    test_generations();
    test_thresholds();
    test_automatic();
    test_backoff();
    test_debug_stats();
    test_callbacks();
    test_freeze();
    test_queries();
    test_referrers_all_holders();
    test_saveall();
    test_oom_during_collection();
    test_fault_sweep();
    test_untrack_dict();
    test_untrack_keeps_mutable_children();
    test_untrack_tuple();
    test_young_list_shrinks();
    return expect_status("test_gc");
}
