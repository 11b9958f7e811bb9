/*
 * test_object.c — the object layer: creation, reference counting, rc_set,
 * immortal and acyclic objects, tracking, finalize/destroy order and
 * resurrection on refcount death, release of very deep structures on a
 * small C stack, teardown.  rc_heap_validate runs after every mutation.
 *
 *   test_object            everything, deep structures of 10,000,000 nodes
 *   test_object small      the same with 100,000 (for valgrind)
 *   test_object <misuse>   one misuse scenario; CTest matches its message
 */
#include "node.h"

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

/* A fixed-size leaf with a destroy counter. */
typedef struct widget {
    uint64_t a, b, c;
} widget;

static size_t widgets_destroyed;

static void widget_destroy(void *self)
{
    (void)self;
    widgets_destroyed++;
}

static const rc_type widget_type = {.name = "widget", .size = sizeof(widget),
                                    .destroy = widget_destroy};
static const rc_type blob_type = {.name = "blob", .size = 0};

static rc_heap *heap_new(void)
{
    rc_heap *h = rc_heap_new(NULL);
    CHECK(h);
    return h;
}

static int all_zero(const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        if (b[i])
            return 0;
    return 1;
}

/* ---- Creation ---------------------------------------------------------- */

static void test_new(void)
{
    rc_heap *h = heap_new(), *other = heap_new();
    widget *w = rc_new(h, &widget_type);
    CHECK(w && ((uintptr_t)w & 7) == 0);
    CHECK(rc_refcount(w) == 1);
    CHECK(rc_typeof(w) == &widget_type);
    CHECK(rc_heap_of(w) == h);
    CHECK(rc_sizeof(w) >= sizeof(widget));
    CHECK(all_zero(w, sizeof *w));
    CHECK(!rc_is_immortal(w));
    CHECK(!rc_gc_is_tracked(w)); /* a leaf */
    CHECK_VALID(h);
    widget *x = rc_new(other, &widget_type);
    CHECK(rc_heap_of(x) == other && rc_typeof(x) == &widget_type);
    rc_decref(x);
    /* Dirty, free and allocate again: the payload comes back zeroed. */
    memset(w, 0xAB, sizeof *w);
    rc_decref(w);
    CHECK(widgets_destroyed == 2);
    CHECK_VALID(h);
    w = rc_new(h, &widget_type);
    CHECK(all_zero(w, sizeof *w));
    rc_decref(w);
    CHECK_VALID(h);
    rc_heap_free(other);
    rc_heap_free(h);
}

/* Every kind of block: small classes, page runs above 16 KiB, own
   mappings above 512 KiB. */
static void test_new_var_sizes(void)
{
    static const size_t sizes[] = {0, 1, 7, 8, 9, 100, 248, 1000, 4088,
                                   RC_SMALL_MAX - 8, RC_SMALL_MAX - 7,
                                   RC_SMALL_MAX, 20000, 100000,
                                   (512u << 10) - 8, (512u << 10) - 7,
                                   600000, 3u << 20};
    rc_heap *h = heap_new();
    for (size_t k = 0; k < sizeof sizes / sizeof *sizes; k++) {
        size_t n = sizes[k];
        for (int round = 0; round < 2; round++) {
            unsigned char *p = rc_new_var(h, &blob_type, n);
            CHECK(p && ((uintptr_t)p & 7) == 0);
            CHECK(rc_refcount(p) == 1 && rc_typeof(p) == &blob_type);
            CHECK(rc_heap_of(p) == h);
            CHECK(rc_sizeof(p) >= n);
            CHECK(all_zero(p, n));
            memset(p, 0xA5, n); /* the second round reuses the block */
            CHECK_VALID(h);
            rc_decref(p);
            CHECK_VALID(h);
        }
    }
    /* Tracked objects may be big too. */
    node *big = node_new(h, &node_type, 3000, 1);   /* ~24 KiB: page run */
    node *huge = node_new(h, &node_type, 90000, 2); /* ~720 KiB: own mapping */
    CHECK(rc_gc_is_tracked(big) && rc_gc_is_tracked(huge));
    CHECK(all_zero(big->slot, 3000 * sizeof(void *)));
    CHECK(all_zero(huge->slot, 90000 * sizeof(void *)));
    node_link(big, 2999, huge);
    node_link(huge, 89999, big);
    CHECK(rc_refcount(big) == 2 && rc_refcount(huge) == 2);
    CHECK_VALID(h);
    rc_decref(big);
    rc_decref(huge);
    CHECK(rc_collect(h, -1) == 2);
    CHECK_VALID(h);
    /* Overflowing sizes fail cleanly. */
    CHECK(rc_new_var(h, &blob_type, SIZE_MAX) == NULL);
    CHECK(rc_new_var(h, &blob_type, SIZE_MAX - 8) == NULL);
    CHECK(rc_new_var(h, &blob_type, SIZE_MAX / 2) == NULL);
    CHECK_VALID(h);
    rc_heap_free(h);
}

/* ---- Reference counts ---------------------------------------------------- */

static void test_refcounts(void)
{
    rc_heap *h = heap_new();
    widgets_destroyed = 0;
    widget *w = rc_new(h, &widget_type);
    rc_incref(w);
    rc_incref(w);
    CHECK(rc_refcount(w) == 3);
    rc_decref(w);
    CHECK(rc_refcount(w) == 2);
    rc_incref(NULL);
    rc_decref(NULL);
    CHECK_VALID(h);

    /* rc_set: takes its own reference, drops the old value's. */
    void *slot = NULL;
    rc_set(&slot, w);
    CHECK(slot == w && rc_refcount(w) == 3);
    rc_set(&slot, w); /* value == *slot */
    CHECK(slot == w && rc_refcount(w) == 3);
    rc_decref(w);
    rc_decref(w);
    CHECK(rc_refcount(w) == 1 && widgets_destroyed == 0);
    rc_set(&slot, slot); /* the only reference, set to itself */
    CHECK(slot == w && rc_refcount(w) == 1 && widgets_destroyed == 0);
    CHECK_VALID(h);
    widget *v = rc_new(h, &widget_type);
    rc_set(&slot, v); /* replaces: w loses its last reference */
    CHECK(widgets_destroyed == 1 && slot == v && rc_refcount(v) == 2);
    rc_decref(v);
    CHECK_VALID(h);
    rc_set(&slot, NULL);
    CHECK(slot == NULL && widgets_destroyed == 2);
    rc_set(&slot, NULL);
    CHECK(slot == NULL);
    CHECK_VALID(h);

    /* rc_set on a slot inside an object, to a value only that slot holds. */
    node_reset();
    node *n = node_new(h, &node_type, 2, 1);
    node_link(n, 0, node_new(h, &leaf_type, 0, 2));
    rc_decref(n->slot[0]); /* the slot now holds the only reference */
    CHECK(rc_refcount(n->slot[0]) == 1);
    node_link(n, 0, n->slot[0]);
    CHECK(rc_refcount(n->slot[0]) == 1 && nodes.destroyed == 0);
    node_link(n, 1, n->slot[0]);
    CHECK(rc_refcount(n->slot[0]) == 2);
    node_link(n, 0, NULL);
    node_link(n, 1, NULL);
    CHECK(nodes.destroyed == 1);
    rc_decref(n);
    CHECK(nodes.destroyed == 2);
    CHECK_VALID(h);
    rc_heap_free(h);
}

/* A count that reaches 2^31 saturates: the object becomes immortal. */
static void test_saturation(void)
{
    rc_heap *h = heap_new();
    widgets_destroyed = 0;
    widget *w = rc_new(h, &widget_type);
    RC_HEAD(w)->refcnt = RC_IMMORTAL - 2; /* as if 2^31 - 3 increfs happened */
    rc_incref(w);
    CHECK(!rc_is_immortal(w) && rc_refcount(w) == RC_IMMORTAL - 1);
    rc_incref(w);
    CHECK(rc_is_immortal(w));
    size_t n = rc_refcount(w);
    for (int i = 0; i < 10; i++)
        rc_decref(w);
    rc_incref(w);
    CHECK(rc_refcount(w) == n && widgets_destroyed == 0);
    CHECK_VALID(h);
    rc_heap_free(h);
    CHECK(widgets_destroyed == 1);
}

/* ---- Immortal, acyclic and tracking ----------------------------------- */

static void test_immortal(void)
{
    rc_heap *h = heap_new();
    node_reset();
    node *a = node_new(h, &node_type, 2, 1);
    node *child = node_new(h, &node_type, 0, 2);
    node_link(a, 0, a); /* a self-loop */
    node_link(a, 1, child);
    rc_decref(child);
    CHECK(rc_gc_is_tracked(a));
    rc_make_immortal(a);
    CHECK(rc_is_immortal(a) && rc_refcount(a) >= RC_IMMORTAL);
    CHECK(!rc_gc_is_tracked(a));
    rc_gc_track(a); /* does nothing for immortal objects */
    CHECK(!rc_gc_is_tracked(a));
    CHECK_VALID(h);
    size_t n = rc_refcount(a);
    for (int i = 0; i < 100; i++)
        rc_decref(a);
    for (int i = 0; i < 7; i++)
        rc_incref(a);
    CHECK(rc_refcount(a) == n);
    rc_decref(a); /* ours: no effect */
    CHECK(rc_collect(h, -1) == 0);
    CHECK(rc_collect(h, -1) == 0);
    CHECK(nodes.destroyed == 0 && a->magic == NODE_LIVE && child->magic == NODE_LIVE);
    CHECK(rc_refcount(child) == 1);
    rc_gc_stats st;
    rc_gc_stats_get(h, &st);
    CHECK(st.tracked[2] == 1 && st.tracked[0] + st.tracked[1] + st.frozen == 0);
    CHECK_VALID(h);
    rc_heap_free(h);
    CHECK(nodes.destroyed == 2); /* teardown destroys them */
}

static void test_acyclic(void)
{
    rc_heap *h = heap_new();
    node_reset();
    node *box = node_new(h, &acyclic_type, 3, 1);
    CHECK(!rc_gc_is_tracked(box));
    rc_gc_track(box);
    CHECK(!rc_gc_is_tracked(box));
    node *kid = node_new(h, &node_type, 1, 2);
    node *leaf = node_new(h, &leaf_type, 0, 3);
    node_link(box, 0, kid);
    node_link(box, 2, leaf);
    node_link(kid, 0, leaf);
    rc_decref(kid);
    rc_decref(leaf);
    rc_gc_stats st;
    rc_gc_stats_get(h, &st);
    CHECK(st.tracked[0] == 1); /* kid only */
    CHECK(rc_collect(h, -1) == 0);
    rc_gc_stats_get(h, &st);
    CHECK(st.gen[2].candidates == 1 && st.tracked[2] == 1);
    CHECK_VALID(h);
    rc_decref(box); /* releases its children */
    CHECK(nodes.destroyed == 3);
    CHECK_VALID(h);
    rc_heap_free(h);
}

static void test_tracking(void)
{
    rc_heap *h = heap_new();
    node_reset();
    rc_gc_stats st;
    node *a = node_new(h, &node_type, 1, 1);
    node *l = node_new(h, &leaf_type, 0, 2);
    CHECK(rc_gc_is_tracked(a) && !rc_gc_is_tracked(l));
    rc_gc_stats_get(h, &st);
    CHECK(st.tracked[0] == 1);
    rc_gc_untrack(a);
    rc_gc_untrack(a); /* twice: no harm */
    CHECK(!rc_gc_is_tracked(a));
    rc_gc_stats_get(h, &st);
    CHECK(st.tracked[0] == 0);
    CHECK_VALID(h);
    rc_gc_track(l); /* leaves are never tracked */
    CHECK(!rc_gc_is_tracked(l));
    /* An untracked self-loop is invisible to the collector... */
    node_link(a, 0, a);
    rc_decref(a);
    CHECK(rc_collect(h, -1) == 0 && nodes.destroyed == 0);
    CHECK_VALID(h);
    /* ...until tracked again. */
    rc_gc_track(a);
    rc_gc_track(a);
    CHECK(rc_gc_is_tracked(a));
    rc_gc_stats_get(h, &st);
    CHECK(st.tracked[0] == 1);
    CHECK_VALID(h);
    CHECK(rc_collect(h, -1) == 1 && nodes.destroyed == 1);
    rc_decref(l);
    CHECK_VALID(h);
    rc_heap_free(h);
}

/* ---- Finalize, destroy, resurrection ------------------------------------ */

enum { EV_FINALIZE = 1, EV_CALLBACK, EV_DESTROY_PARENT, EV_DESTROY_ONLY_CHILD };
static int events[16], nevents;
static node *shared_child; /* held by the test and by the parent */

static void order_finalize(node *n)
{
    if (n->id != 100)
        return;
    events[nevents++] = EV_FINALIZE;
    CHECK(n->slot[0] == shared_child && rc_refcount(shared_child) == 2);
    CHECK(((node *)n->slot[1])->magic == NODE_LIVE);
}

static void order_callback(rc_weakref *w, void *data)
{
    (void)data;
    CHECK(rc_weakref_get(w) == NULL);
    events[nevents++] = EV_CALLBACK;
    CHECK(rc_refcount(shared_child) == 2); /* children not released yet */
}

static void order_destroy(node *n)
{
    if (n->id == 100) {
        events[nevents++] = EV_DESTROY_PARENT;
        /* children released through traverse before destroy */
        CHECK(n->slot[0] == NULL && n->slot[1] == NULL);
        CHECK(rc_refcount(shared_child) == 1);
    } else if (n->id == 102) {
        events[nevents++] = EV_DESTROY_ONLY_CHILD;
    }
}

static void test_finalize_order(void)
{
    rc_heap *h = heap_new();
    node_reset();
    nevents = 0;
    nodes.on_finalize = order_finalize;
    nodes.on_destroy = order_destroy;
    node *p = node_new(h, &fnode_type, 2, 100);
    shared_child = node_new(h, &fnode_type, 0, 101);
    node_link(p, 0, shared_child);
    p->slot[1] = node_new(h, &fnode_type, 0, 102);
    rc_weakref *w = rc_weakref_new(p, order_callback, NULL);
    CHECK(w);
    CHECK_VALID(h);
    rc_decref(p);
    CHECK_VALID(h);
    CHECK(nevents == 4);
    CHECK(events[0] == EV_FINALIZE && events[1] == EV_CALLBACK &&
          events[2] == EV_DESTROY_PARENT && events[3] == EV_DESTROY_ONLY_CHILD);
    CHECK(nodes.finalized == 2 && nodes.destroyed == 2); /* p and id 102 */
    CHECK(shared_child->magic == NODE_LIVE && shared_child->finalized == 0);
    rc_decref(shared_child);
    CHECK(nodes.finalized == 3 && nodes.destroyed == 3);
    rc_decref(w);
    CHECK_VALID(h);
    rc_heap_free(h);
}

/* A finalizer that stores a new reference to its object resurrects it. */
static node *kept;

static void resurrect_finalize(node *n)
{
    if (n->id >= 200 && n->id < 300) {
        CHECK(!kept);
        rc_incref(n);
        kept = n;
    }
}

static void test_resurrection(void)
{
    rc_heap *h = heap_new();
    node_reset();
    nodes.on_finalize = resurrect_finalize;
    node *r = node_new(h, &fnode_type, 1, 200);
    node *kid = node_new(h, &node_type, 0, 1);
    r->slot[0] = kid;
    rc_weakref *w = rc_weakref_new(r, NULL, NULL);
    rc_decref(r);
    CHECK(kept == r && r->magic == NODE_LIVE && rc_refcount(r) == 1);
    CHECK(nodes.finalized == 1 && nodes.destroyed == 0);
    CHECK(r->slot[0] == kid && kid->magic == NODE_LIVE); /* nothing released */
    void *again = rc_weakref_get(w);                     /* still referenced */
    CHECK(again == r);
    rc_decref(again);
    CHECK(rc_gc_is_tracked(r));
    CHECK_VALID(h);
    /* It dies for real later: no second finalize, destroy once. */
    kept = NULL;
    rc_decref(r);
    CHECK(nodes.finalized == 1 && nodes.destroyed == 2);
    CHECK(rc_weakref_get(w) == NULL);
    rc_decref(w);
    CHECK_VALID(h);

    /* Resurrection of a child released by its parent's death. */
    node *parent = node_new(h, &fnode_type, 1, 1);
    parent->slot[0] = node_new(h, &fnode_type, 1, 201);
    node *grandchild = node_new(h, &node_type, 0, 2);
    ((node *)parent->slot[0])->slot[0] = grandchild;
    rc_decref(parent);
    CHECK(kept && kept->id == 201 && rc_refcount(kept) == 1);
    CHECK(kept->slot[0] == grandchild && grandchild->magic == NODE_LIVE);
    CHECK(nodes.finalized == 3 && nodes.destroyed == 3); /* parent only */
    CHECK_VALID(h);
    node *k = kept;
    kept = NULL;
    rc_decref(k);
    CHECK(nodes.finalized == 3 && nodes.destroyed == 5);
    CHECK_VALID(h);
    rc_heap_free(h);
}

/* A finalizer on refcount death may allocate, release, and collect. */
static rc_heap *fin_heap;
static size_t fin_collected;

static void busy_finalize(node *n)
{
    if (n->id != 300)
        return;
    for (int i = 0; i < 1000; i++) {
        node *x = node_new(fin_heap, &node_type, 1, 1000 + i);
        node_link(x, 0, x); /* a garbage self-loop */
        rc_decref(x);
    }
    rc_decref(n->slot[0]); /* drop a reference it held */
    n->slot[0] = NULL;
    fin_collected = rc_collect(fin_heap, -1);
    CHECK_VALID(fin_heap);
}

static void test_finalizer_side_effects(void)
{
    rc_heap *h = fin_heap = heap_new();
    node_reset();
    nodes.on_finalize = busy_finalize;
    node *n = node_new(h, &fnode_type, 2, 300);
    n->slot[0] = node_new(h, &node_type, 0, 1);
    n->slot[1] = node_new(h, &node_type, 0, 2);
    rc_decref(n);
    CHECK(fin_collected > 0);
    CHECK(nodes.finalized == 1 && nodes.destroyed == 1003);
    CHECK_VALID(h);
    rc_heap_free(h);
}

/* ---- Teardown ------------------------------------------------------------ */

static void test_teardown_destroys_live(void)
{
    counting_source src = {0};
    rc_config cfg = counting_config(&src);
    rc_heap *h = rc_heap_new(&cfg);
    node_reset();
    widgets_destroyed = 0;
    for (int i = 0; i < 10; i++)
        CHECK(rc_new(h, &widget_type));
    node *ring = node_ring(h, &fnode_type, 5, 2, 1);
    node_link(ring, 1, node_new(h, &leaf_type, 0, 10));
    rc_decref(ring->slot[1]);
    rc_decref(ring); /* garbage, not collected */
    node *big = node_new(h, &node_type, 5000, 20);
    node_link(big, 4999, big);
    node *huge = node_new(h, &leaf_type, 100000, 21);
    node *imm = node_new(h, &node_type, 1, 22);
    rc_make_immortal(imm);
    node *box = node_new(h, &acyclic_type, 1, 23);
    box->slot[0] = node_new(h, &node_type, 0, 24);
    rc_weakref *w = rc_weakref_new(box, NULL, NULL);
    CHECK(w && big && huge);
    CHECK_VALID(h);
    rc_heap_free(h);
    CHECK(widgets_destroyed == 10);
    CHECK(nodes.destroyed == 11 && nodes.finalized == 0);
    CHECK(src.live_bytes == 0 && src.live_regions == 0);
}

static void test_teardown_after_free(void)
{
    counting_source src = {0};
    rc_config cfg = counting_config(&src);
    rc_heap *h = rc_heap_new(&cfg);
    node_reset();
    uint64_t rng = 5;
    node *keep[64] = {0};
    for (int i = 0; i < 20000; i++) {
        unsigned k = (unsigned)(test_rand(&rng) % 64);
        uint32_t slots = (uint32_t)(test_rand(&rng) % 4 == 0 ? test_rand(&rng) % 9000
                                                             : test_rand(&rng) % 6);
        node *n = node_new(h, &node_type, slots, i);
        if (slots)
            node_link(n, 0, keep[(k + 1) % 64]);
        rc_decref(keep[k]);
        keep[k] = n;
    }
    CHECK_VALID(h);
    for (int i = 0; i < 64; i++)
        rc_decref(keep[i]);
    rc_collect(h, -1);
    CHECK(nodes.destroyed == 20000);
    CHECK_VALID(h);
    rc_heap_free(h);
    CHECK(src.live_bytes == 0 && src.live_regions == 0);
}

/* ---- Deep structures on a 1 MiB stack ------------------------------------ */

typedef struct chain {
    void *next;
} chain;

typedef struct tnode {
    void *slot[2];
} tnode;

static size_t deep_destroyed;

static void chain_traverse(void *self, rc_visit_fn visit, void *ctx)
{
    visit(&((chain *)self)->next, ctx);
}

static void tnode_traverse(void *self, rc_visit_fn visit, void *ctx)
{
    visit(&((tnode *)self)->slot[0], ctx);
    visit(&((tnode *)self)->slot[1], ctx);
}

static void count_destroy(void *self)
{
    (void)self;
    deep_destroyed++;
}

static const rc_type chain_type = {.name = "chain", .size = sizeof(chain),
                                   .traverse = chain_traverse,
                                   .destroy = count_destroy};
static const rc_type tnode_type = {.name = "tnode", .size = sizeof(tnode),
                                   .traverse = tnode_traverse,
                                   .destroy = count_destroy};
static const rc_type tleaf_type = {.name = "tleaf", .size = 8, .destroy = count_destroy};

static void *deep_main(void *arg)
{
    size_t n = *(size_t *)arg;
    rc_config cfg;
    rc_config_init(&cfg);
    cfg.gc_disabled = 1;
    rc_heap *h = rc_heap_new(&cfg);
    CHECK(h);

    /* A chain: head -> ... -> tail. */
    deep_destroyed = 0;
    chain *head = NULL;
    for (size_t i = 0; i < n; i++) {
        chain *x = rc_new(h, &chain_type);
        CHECK(x);
        x->next = head; /* takes the reference */
        head = x;
    }
    CHECK(rc_collect(h, -1) == 0); /* marking a deep chain: no recursion */
    CHECK(deep_destroyed == 0);
    rc_decref(head);
    CHECK(deep_destroyed == n);
    CHECK_VALID(h);

    /* A tree as deep: the child alternates between the two slots; every
       fourth level also holds a leaf, visited before the child, so the
       leaves pile up while the spine is released. */
    deep_destroyed = 0;
    tnode *root = NULL;
    size_t leaves = 0;
    for (size_t i = 0; i < n; i++) {
        tnode *x = rc_new(h, &tnode_type);
        CHECK(x);
        x->slot[i & 1] = root;
        if ((i & 3) == 3) {
            x->slot[0] = rc_new(h, &tleaf_type);
            CHECK(x->slot[0]);
            leaves++;
        }
        root = x;
    }
    CHECK_VALID(h);
    rc_decref(root);
    CHECK(deep_destroyed == n + leaves);
    CHECK_VALID(h);
    rc_heap_free(h);
    return NULL;
}

static void test_deep(size_t n)
{
    pthread_attr_t attr;
    pthread_t t;
    CHECK(pthread_attr_init(&attr) == 0);
    CHECK(pthread_attr_setstacksize(&attr, (size_t)1 << 20) == 0);
    CHECK(pthread_create(&t, &attr, deep_main, &n) == 0);
    CHECK(pthread_join(t, NULL) == 0);
    pthread_attr_destroy(&attr);
}

/* ---- Misuse ------------------------------------------------------------------ */

static void self_decref_twice(node *n)
{
    rc_decref(n);
    rc_decref(n);
}

static int misuse(const char *what)
{
    exit_on_abort(); /* the heap aborts after its message (see check.h) */
    rc_heap *h = heap_new();
    widget *a = rc_new(h, &widget_type), *b = rc_new(h, &widget_type);
    if (!strcmp(what, "decref_freed")) {
        rc_decref(a);
        rc_decref(a); /* one too many: "already freed", names the type */
    } else if (!strcmp(what, "decref_dying")) {
        nodes.on_finalize = self_decref_twice;
        rc_decref(node_new(h, &fnode_type, 0, 1));
    } else {
        fprintf(stderr, "unknown scenario %s\n", what);
        return 2;
    }
    rc_decref(b);
    rc_heap_free(h);
    return 0;
}

int main(int argc, char **argv)
{
    size_t deep = 10000000;
    if (argc == 2 && strcmp(argv[1], "small") == 0)
        deep = 100000;
    else if (argc == 2)
        return misuse(argv[1]);
    test_new();
    test_new_var_sizes();
    test_refcounts();
    test_saturation();
    test_immortal();
    test_acyclic();
    test_tracking();
    test_finalize_order();
    test_resurrection();
    test_finalizer_side_effects();
    test_teardown_destroys_live();
    test_teardown_after_free();
    test_deep(deep);
    printf("test_object: ok (deep structures of %zu nodes)\n", deep);
    return 0;
}
