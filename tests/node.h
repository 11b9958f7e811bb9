/*
 * node.h — the managed object the object, collector and weak-reference
 * tests build their graphs from: a numbered node with any number of slots.
 *
 * Four types share the layout: "node" (traverse + destroy), "fnode" (with a
 * finalizer), "acyclic" (rc_type_acyclic) and "leaf" (no traverse).  They
 * count finalizations and destructions in `nodes` and call a test's hooks;
 * destroy checks the node was alive and marks it dead, finalize checks it
 * never runs twice for one node.
 */
#ifndef RC_TEST_NODE_H
#define RC_TEST_NODE_H

#include "check.h"

#include <stdbool.h>

/* Like CHECK, but the program goes on (and fails at the end, through
   expect_status()): for checks after which the test can safely continue,
   so that one run reports every broken behaviour. */
static int expect_failures;
#define EXPECT(c)                                                            \
    do {                                                                     \
        if (!(c)) {                                                          \
            fprintf(stderr, "%s:%d: EXPECT failed: %s\n", __FILE__, __LINE__,\
                    #c);                                                     \
            expect_failures++;                                               \
        }                                                                    \
    } while (0)

static inline int expect_status(const char *prog)
{
    if (expect_failures)
        fprintf(stderr, "%s: %d EXPECT checks failed\n", prog, expect_failures);
    else
        printf("%s: ok\n", prog);
    return expect_failures != 0;
}

/* A heap without automatic collection: the counts of a test are exact. */
static inline rc_heap *quiet_heap(void)
{
    return test_heap(HEAP_QUIET);
}

#define NODE_LIVE 0x4C495645u /* magic while alive */
#define NODE_DEAD 0x44454144u /* magic after destroy */
#define TEST_UNUSED __attribute__((unused))

typedef struct node {
    uint32_t magic;     /* NODE_LIVE until destroy */
    uint32_t nslots;    /* slots reported by traverse */
    int64_t id;         /* the test's name for it */
    uint32_t finalized; /* times finalize ran on this node */
    void *slot[];       /* managed references (or NULL) */
} node;

typedef struct node_log {
    size_t finalized, destroyed;   /* since node_reset() */
    void (*on_finalize)(node *n);  /* optional hooks, run after counting */
    void (*on_destroy)(node *n);
} node_log;

static node_log nodes;

static inline void node_reset(void)
{
    memset(&nodes, 0, sizeof nodes);
}

static inline void node_traverse(void *self, rc_visit_fn visit, void *ctx)
{
    node *n = self;
    for (uint32_t i = 0; i < n->nslots; i++)
        visit(&n->slot[i], ctx);
}

static inline void node_finalize(void *self)
{
    node *n = self;
    CHECK(n->magic == NODE_LIVE);
    CHECK(++n->finalized == 1); /* at most once per object, ever */
    nodes.finalized++;
    if (nodes.on_finalize)
        nodes.on_finalize(n);
}

static inline void node_destroy(void *self)
{
    node *n = self;
    CHECK(n->magic == NODE_LIVE); /* destroyed once */
    n->magic = NODE_DEAD;
    nodes.destroyed++;
    if (nodes.on_destroy)
        nodes.on_destroy(n);
}

static const rc_type node_type TEST_UNUSED = {
    .name = "node", .traverse = node_traverse, .destroy = node_destroy};
static const rc_type fnode_type TEST_UNUSED = {
    .name = "fnode", .traverse = node_traverse, .finalize = node_finalize,
    .destroy = node_destroy};
/* acyclic on every heap: node_try declares it (rc_type_acyclic) */
static const rc_type acyclic_type TEST_UNUSED = {
    .name = "acyclic", .traverse = node_traverse, .destroy = node_destroy};
static const rc_type leaf_type TEST_UNUSED = {.name = "leaf", .destroy = node_destroy};

/* A node with nslots empty slots, or NULL when the heap refuses. */
static inline node *node_try(rc_heap *h, const rc_type *t, uint32_t nslots, int64_t id)
{
    if (t == &acyclic_type && rc_type_acyclic(h, t) != 0)
        return NULL;
    node *n = rc_new_var(h, t, sizeof(node) + nslots * sizeof(void *));
    if (n) {
        n->magic = NODE_LIVE;
        n->nslots = nslots;
        n->id = id;
    }
    return n;
}

static inline node *node_new(rc_heap *h, const rc_type *t, uint32_t nslots, int64_t id)
{
    node *n = node_try(h, t, nslots, id);
    CHECK(n);
    return n;
}

static inline void node_link(node *from, uint32_t k, void *to)
{
    CHECK(k < from->nslots);
    rc_set(&from->slot[k], to);
}

/* A ring of n nodes of type t (slot 0 -> next), each with nslots slots;
   returns a new reference to the first (ids first_id...). */
static inline node *node_ring(rc_heap *h, const rc_type *t, size_t n,
                              uint32_t nslots, int64_t first_id)
{
    node *head = node_new(h, t, nslots, first_id), *prev = head;
    for (size_t i = 1; i < n; i++) {
        node *x = node_new(h, t, nslots, first_id + (int64_t)i);
        prev->slot[0] = x; /* takes x's creation reference */
        prev = x;
    }
    node_link(prev, 0, head);
    return head;
}

#endif
