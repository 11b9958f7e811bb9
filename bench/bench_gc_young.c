/*
 * bench_gc_young.c — what the collector's young lists cost and what they
 * save (issue 18, item 3: a word per young object, or proof that it is
 * cheaper than its replacement).  No peer: it measures rcgc alone.
 *
 *  memory: a binary tree of N tracked nodes built on the default heap
 *          (automatic collection on), linked after all are made; the
 *          young objects (generations 0 and 1, rc_gc_stats.tracked) are
 *          sampled every 1,000 allocations: the peak and the end, and the
 *          bytes of list they need (8 per young object).
 *  time:   with the tree in generation 2 (one full collection), 700 new
 *          nodes (threshold 0) pointing into it; one generation-0
 *          collection, then one full collection, each timed.  The full one
 *          stands for what a young collection would cost if it had to walk
 *          the pools to find its candidates.  For instruction counts, run
 *          it under valgrind --tool=callgrind --toggle-collect=young_collection
 *          (or full_collection).
 *  steps:  the same full collection as rc_gc_step rounds with a 1 ms time
 *          budget per call (docs/OBJECTS.md, "A full collection in
 *          steps"): three rounds, each its calls, its longest call and its
 *          total, in thread CPU time (the budget is wall time).
 *
 * Usage: bench_gc_young [--quick]   (--quick: 20,000 nodes, proves it runs)
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_common.h"
#include "rcgc.h"

typedef struct node {
    void *left, *right;
} node;

static void node_traverse(void *self, rc_visit_fn visit, void *ctx)
{
    node *n = self;
    visit(&n->left, ctx);
    visit(&n->right, ctx);
}

static const rc_type node_type = {.name = "node", .size = sizeof(node),
                                  .traverse = node_traverse};

static size_t young_objects(const rc_heap *h)
{
    rc_gc_stats s;
    rc_gc_stats_get(h, &s);
    return s.tracked[0] + s.tracked[1];
}

static double timed_collect(rc_heap *h, int gen)
{
    uint64_t t0 = now_ns();
    size_t found = rc_collect(h, gen);
    double ms = (double)(now_ns() - t0) / 1e6;
    if (found)
        die("bench_gc_young: collection %d found %zu objects, want 0", gen, found);
    return ms;
}

/* The collections measured, each a function of its own for callgrind. */
static __attribute__((noinline)) double young_collection(rc_heap *h)
{
    return timed_collect(h, 0);
}

static __attribute__((noinline)) double full_collection(rc_heap *h)
{
    return timed_collect(h, -1);
}

int main(int argc, char **argv)
{
    size_t n = argc > 1 && strcmp(argv[1], "--quick") == 0 ? 20000 : 1000000;
    rc_heap *h = rc_heap_new(NULL);
    node **nodes = malloc(n * sizeof *nodes);
    if (!h || !nodes)
        die("bench_gc_young: out of memory");
    size_t peak = 0;
    for (size_t i = 0; i < n; i++) {
        if (!(nodes[i] = rc_new(h, &node_type)))
            die("bench_gc_young: rc_new failed");
        if (i % 1000 == 0 && young_objects(h) > peak)
            peak = young_objects(h);
    }
    for (size_t i = 0; i < n; i++) {
        if (2 * i + 1 < n)
            nodes[i]->left = nodes[2 * i + 1];
        if (2 * i + 2 < n)
            nodes[i]->right = nodes[2 * i + 2];
    }
    size_t end = young_objects(h);
    printf("memory: %zu tracked nodes built, automatic collection on\n", n);
    printf("  young objects at the peak %zu (%.1f KiB of list), at the end %zu "
           "(%.1f KiB, %.2f B per live object)\n",
           peak, (double)peak * 8 / 1024, end, (double)end * 8 / 1024,
           (double)end * 8 / (double)n);
    rc_gc_enable(h, 0);
    rc_collect(h, -1);
    printf("  after one full collection: %zu\n", young_objects(h));
    node *root = nodes[0];
    for (size_t i = 0; i < 700; i++) { /* new nodes, each holding an old one */
        node *x = rc_new(h, &node_type);
        if (!x)
            die("bench_gc_young: rc_new failed");
        x->left = nodes[n - 1 - i];
        rc_incref(x->left);
        nodes[i] = x;
    }
    double young = young_collection(h), full = full_collection(h);
    printf("time: generation-0 collection of 700 new nodes beside %zu old ones: "
           "%.3f ms; a full collection (a walk of every pool): %.3f ms\n",
           n, young, full);
    for (int round = 0; round < 3; round++) {
        size_t calls = 0;
        uint64_t longest = 0, total = 0;
        int done = 0;
        while (!done) {
            uint64_t t0 = cpu_ns();
            if (rc_gc_step(h, 0, 1000000, &done))
                die("bench_gc_young: a step found garbage");
            uint64_t t = cpu_ns() - t0;
            total += t;
            longest = t > longest ? t : longest;
            calls++;
        }
        printf("steps: round %d of the same full collection, 1 ms budget per call: "
               "%zu calls, longest %.3f ms, total %.3f ms\n",
               round + 1, calls, (double)longest / 1e6, (double)total / 1e6);
    }
    for (size_t i = 0; i < 700; i++)
        rc_decref(nodes[i]);
    rc_decref(root);
    free(nodes);
    rc_heap_free(h);
    return 0;
}
