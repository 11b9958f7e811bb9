/*
 * test_leak_teardown.c — the leak report of rc_heap_free collects first
 * (leaks.c): cyclic garbage one collection frees is not listed beside the
 * real leaks, and the report says what the collection freed.  Modes
 * `print` and `print_clean` run a debug heap whose report goes to stderr
 * (CTest matches the text).
 */
#include "check.h"

#include <stdbool.h>

typedef struct node {
    void *next;
} node;

static int finalized;

static void node_traverse(void *self, rc_visit_fn visit, void *ctx)
{
    visit(&((node *)self)->next, ctx);
}

static void node_finalize(void *self)
{
    (void)self;
    finalized++;
}

static const rc_type node_type = {.name = "node", .size = sizeof(node),
                                  .traverse = node_traverse, .finalize = node_finalize};

/* A ring of n nodes, dropped: garbage only the collector can free. */
static void drop_ring(rc_heap *h, int n)
{
    node *first = rc_new(h, &node_type), *prev = first;
    CHECK(first);
    for (int i = 1; i < n; i++) {
        node *x = rc_new(h, &node_type);
        CHECK(x);
        rc_set(&prev->next, x);
        rc_decref(x);
        prev = x;
    }
    rc_set(&prev->next, first);
    rc_decref(first);
}

static rc_leak seen[4];
static int groups;

static void keep_leak(const rc_leak *leak, void *ctx)
{
    (void)ctx;
    CHECK(groups < 4);
    seen[groups++] = *leak;
}

static rc_heap *reporting_heap(void)
{
    rc_config cfg;
    rc_config_init(&cfg);
    cfg.on_leak = keep_leak;
    cfg.gc_disabled = 1;
    rc_heap *h = rc_heap_new(&cfg);
    CHECK(h);
    return h;
}

/* A ring of 3 (garbage) beside one node and an int still held (leaks):
   only the leaks are reported, each group saying what was collected. */
static void test_garbage_is_not_reported(void)
{
    rc_heap *h = reporting_heap();
    drop_ring(h, 3);
    CHECK(rc_new(h, &node_type) && rc_int(h, 123456));
    size_t listed = rc_leak_report(h, keep_leak, NULL); /* no collection here */
    CHECK(listed == 2 && groups == 2 && seen[0].collected_objects == 0);
    groups = 0;
    finalized = 0;
    rc_heap_free(h);
    CHECK(groups == 2 && finalized == 3); /* the ring's finalizers ran */
    for (int i = 0; i < groups; i++) {
        CHECK(seen[i].objects == 1 && seen[i].collected_objects == 3);
        CHECK(seen[i].collected_bytes >= 3 * sizeof(node));
    }
    CHECK((seen[0].type == &node_type) != (seen[1].type == &node_type));
}

/* Garbage alone: nothing is reported. */
static void test_only_garbage(void)
{
    rc_heap *h = reporting_heap();
    drop_ring(h, 5);
    groups = 0;
    rc_heap_free(h);
    CHECK(groups == 0);
}

/* A debug heap prints the same on stderr. */
static void print_report(bool with_leak)
{
    rc_heap *h = test_heap(HEAP_DEBUG | HEAP_QUIET);
    drop_ring(h, 4);
    if (with_leak)
        CHECK(rc_new(h, &node_type));
    rc_heap_free(h);
}

int main(int argc, char **argv)
{
    if (argc > 1) {
        print_report(strcmp(argv[1], "print") == 0);
        return 0;
    }
    test_garbage_is_not_reported();
    test_only_garbage();
    puts("test_leak_teardown: ok");
    return 0;
}
