/*
 * test_gc_step.c — the collector's counts and effective thresholds
 * (rc_gc_get_count, rc_gc_get_effective_threshold) and the full collection
 * in steps (rc_gc_step, rc_gc_set_incremental): a round finds what a full
 * collection finds, a time budget bounds a call to one slice, the program
 * changes the graph between slices without losing a live object, a step
 * inside a collection does nothing, a full collection ends a round, and a
 * slice that runs out of memory frees nothing.  The random version of
 * "mutation between steps" is in test_gc_stress.
 */
#include "node.h"

static rc_gc_stats stats(const rc_heap *h)
{
    rc_gc_stats s;
    rc_gc_stats_get(h, &s);
    return s;
}

/* n live nodes in a ring (the reference returned) and n garbage
   2-cycles, all promoted to generation 2 first; ids from 1. */
static node *old_graph(rc_heap *h, size_t n)
{
    node *ring = node_ring(h, &node_type, n, 2, 1);
    node **pairs = malloc(n * sizeof *pairs);
    CHECK(pairs);
    for (size_t i = 0; i < n; i++)
        pairs[i] = node_ring(h, &node_type, 2, 1, (int64_t)(n + 1 + 2 * i));
    rc_collect(h, 1); /* generations 0 and 1 move to 2 */
    for (size_t i = 0; i < n; i++)
        rc_decref(pairs[i]);
    free(pairs);
    return ring;
}

/* A whole round in steps of `work`: returns the objects reclaimed and the
   calls it took. */
static size_t round_in_steps(rc_heap *h, size_t work, uint64_t budget_ns, size_t *calls)
{
    size_t got = 0;
    int done = 0;
    *calls = 0;
    while (!done) {
        got += rc_gc_step(h, work, budget_ns, &done);
        ++*calls;
        CHECK_VALID(h);
        CHECK(*calls < 100000);
    }
    return got;
}

static void test_counts(void)
{
    rc_heap *h = quiet_heap();
    node_reset();
    size_t c[3], t[3];
    rc_gc_get_count(h, c);
    CHECK(c[0] == 0 && c[1] == 0 && c[2] == 0);
    node *keep[5];
    for (int i = 0; i < 5; i++)
        keep[i] = node_new(h, &node_type, 0, i);
    rc_decref(node_new(h, &leaf_type, 0, 9)); /* leaves are not counted */
    rc_gc_get_count(h, c);
    CHECK(c[0] == 5);
    rc_decref(keep[4]); /* frees count down */
    rc_gc_get_count(h, c);
    CHECK(c[0] == 4);
    rc_gc_get_effective_threshold(h, t);
    CHECK(t[0] == 700 && t[1] == 10 && t[2] == 10);
    /* a collection that finds nothing doubles its generation's threshold */
    CHECK(rc_collect(h, 0) == 0);
    rc_gc_get_count(h, c);
    CHECK(c[0] == 0 && c[1] == 1 && c[2] == 0);
    rc_gc_get_effective_threshold(h, t);
    CHECK(t[0] == 1400 && t[1] == 10);
    for (int i = 0; i < 5; i++)
        rc_collect(h, 0);
    rc_gc_get_effective_threshold(h, t);
    CHECK(t[0] == 700 * 16); /* at most 16 times */
    rc_collect(h, 1);
    rc_gc_get_count(h, c);
    CHECK(c[0] == 0 && c[1] == 0 && c[2] == 1);
    /* one that finds garbage resets it */
    rc_decref(node_ring(h, &node_type, 3, 1, 100));
    CHECK(rc_collect(h, 0) == 3);
    rc_gc_get_effective_threshold(h, t);
    CHECK(t[0] == 700);
    rc_gc_set_threshold(h, 50, 3, 0);
    rc_gc_get_effective_threshold(h, t);
    CHECK(t[0] == 50 && t[1] == 3 * 2 && t[2] == 0); /* generation 1 found nothing */
    for (int i = 0; i < 4; i++)
        rc_decref(keep[i]);
    rc_heap_free(h);
}

static void test_round(void)
{
    rc_heap *h = quiet_heap();
    node_reset();
    enum { N = 3000 };
    node *ring = old_graph(h, N);
    rc_gc_stats st = stats(h);
    CHECK(st.tracked[2] == 3 * N && st.tracked[0] == 0 && st.tracked[1] == 0);
    size_t c[3];
    rc_gc_get_count(h, c);
    size_t collections = st.gen[2].collections, calls;
    CHECK(round_in_steps(h, 100, 0, &calls) == 2 * N);
    CHECK(calls > 10); /* in slices */
    CHECK(nodes.destroyed == 2 * N);
    st = stats(h);
    CHECK(st.rounds == 1 && st.steps >= calls && !st.round_running);
    CHECK(st.gen[2].collections == collections && st.gen[2].collected == 2 * N);
    CHECK(st.tracked[2] == N);
    rc_gc_get_count(h, c);
    CHECK(c[2] == 0);
    /* the live ring is whole */
    node *x = ring;
    for (size_t i = 0; i < N; i++, x = x->slot[0])
        CHECK(x->magic == NODE_LIVE && x->id == (int64_t)i + 1);
    CHECK(x == ring);
    /* a second round finds nothing; a round of one call (work 0) too */
    CHECK(round_in_steps(h, 500, 0, &calls) == 0);
    CHECK(round_in_steps(h, 0, 0, &calls) == 0 && calls == 1);
    CHECK(stats(h).rounds == 3);
    rc_decref(ring);
    CHECK(round_in_steps(h, 0, 0, &calls) == N);
    CHECK(nodes.destroyed == 3 * N);
    CHECK_VALID(h);
    rc_heap_free(h);
}

/* A garbage ring far larger than a slice: the first rounds cut it short,
   each lets slices grow four times, and one finds it whole. */
static void test_big_cycle(void)
{
    rc_heap *h = quiet_heap();
    node_reset();
    node *big = node_ring(h, &node_type, 5000, 1, 1);
    rc_collect(h, 1);
    rc_decref(big);
    size_t calls, rounds = 0, got = 0;
    while (!got && rounds < 10) {
        got = round_in_steps(h, 10, 0, &calls);
        rounds++;
    }
    CHECK(got == 5000 && nodes.destroyed == 5000);
    CHECK(rounds > 2 && rounds <= 6); /* 20 -> 80 -> 320 -> 1,280 -> 5,120 */
    /* after rounds that cut nothing, slices shrink back */
    for (int i = 0; i < 12; i++)
        round_in_steps(h, 10, 0, &calls);
    big = node_ring(h, &node_type, 5000, 1, 1);
    rc_collect(h, 1);
    rc_decref(big);
    CHECK(round_in_steps(h, 10, 0, &calls) == 0);
    rc_collect(h, -1);
    CHECK(nodes.destroyed == 10000);
    rc_heap_free(h);
}

static void test_time_budget(void)
{
    rc_heap *h = quiet_heap();
    node_reset();
    enum { N = 6000 };
    node *ring = old_graph(h, N);
    /* 1 ns: each call runs exactly one slice (2,048 seeds) */
    size_t calls;
    CHECK(round_in_steps(h, 0, 1, &calls) == 2 * N);
    CHECK(calls >= 3 * N / 2048 && calls <= 3 * N / 2048 + 2);
    CHECK(stats(h).steps == calls);
    /* a generous budget finishes the round in one call */
    CHECK(round_in_steps(h, 0, 60000000000u, &calls) == 0 && calls == 1);
    rc_decref(ring);
    rc_collect(h, -1);
    CHECK(nodes.destroyed == 3 * N);
    rc_heap_free(h);
}

/* The program rewires the graph between slices: references move from
   objects the round has not examined yet to ones it has, and back; the
   only reference to a live object is dropped from an examined one and
   stored in an unexamined one.  Nothing live may be freed. */
static void test_mutation_between_steps(void)
{
    rc_heap *h = quiet_heap();
    node_reset();
    enum { N = 4000 };
    /* holders[i] -> payload[i]; holders are in generation 2 */
    node *holders = node_new(h, &node_type, N, 0);
    for (uint32_t i = 0; i < N; i++) {
        node *x = node_new(h, &node_type, 1, 1 + i);
        node_link(x, 0, x); /* a self-cycle: only the collector frees it */
        node_link(holders, i, x);
        rc_decref(x);
    }
    rc_collect(h, 1);
    int done = 0;
    uint64_t rng = 7;
    size_t calls = 0;
    while (!done) {
        rc_gc_step(h, 50, 0, &done);
        calls++;
        /* move a random payload from one slot to another */
        uint32_t a = (uint32_t)(test_rand(&rng) % N), b = (uint32_t)(test_rand(&rng) % N);
        void *x = holders->slot[a];
        if (x && a != b) {
            rc_incref(x);
            rc_set(&holders->slot[a], NULL);
            rc_set(&holders->slot[b], x);
            rc_decref(x);
        }
        for (uint32_t i = 0; i < N; i++) {
            node *y = holders->slot[i];
            CHECK(!y || (y->magic == NODE_LIVE && y->slot[0] == y));
        }
    }
    CHECK(calls > 10);
    CHECK_VALID(h);
    size_t held = 0;
    for (uint32_t i = 0; i < N; i++)
        held += holders->slot[i] != NULL;
    CHECK(nodes.destroyed == 0 || held < N);
    rc_decref(holders);
    rc_collect(h, -1);
    CHECK(nodes.destroyed == N + 1);
    rc_heap_free(h);
}

static size_t nested;
static void step_from_callback(rc_heap *h, int phase, const rc_gc_info *info, void *ctx)
{
    (void)info;
    (void)ctx;
    if (phase == RC_GC_START) {
        int done = 7;
        nested += rc_gc_step(h, 0, 0, &done) + (size_t)done;
    }
}

static void test_step_inside_collection(void)
{
    rc_heap *h = quiet_heap();
    node_reset();
    nested = 0;
    CHECK(rc_gc_callback_add(h, step_from_callback, NULL) == 0);
    rc_decref(node_ring(h, &node_type, 3, 1, 1));
    CHECK(rc_collect(h, 0) == 3 && nested == 0);
    CHECK(stats(h).steps == 0);
    rc_gc_callback_remove(h, step_from_callback, NULL);
    rc_heap_free(h);
}

static void test_full_collection_ends_round(void)
{
    rc_heap *h = quiet_heap();
    node_reset();
    node *ring = old_graph(h, 3000);
    int done = 1;
    rc_gc_step(h, 10, 0, &done);
    CHECK(!done && stats(h).round_running);
    CHECK(rc_collect(h, -1) > 0);
    CHECK(!stats(h).round_running && stats(h).rounds == 0);
    CHECK(nodes.destroyed == 6000);
    rc_decref(ring);
    rc_collect(h, -1);
    rc_heap_free(h);
}

/* Automatic full collections in steps: no whole full collection runs. */
static void test_incremental_automatic(void)
{
    rc_heap *h = test_heap(0);
    node_reset();
    rc_gc_set_threshold(h, 100, 2, 2);
    rc_gc_set_incremental(h, 64);
    CHECK(rc_gc_get_incremental(h) == 64);
    enum { KEEP = 64 };
    node *keep[KEEP] = {0};
    uint64_t rng = 3;
    for (int i = 0; i < 60000; i++) {
        /* cycles that live a while (long enough to reach generation 2) */
        size_t k = test_rand(&rng) % KEEP;
        if (keep[k])
            rc_decref(keep[k]);
        keep[k] = node_ring(h, &node_type, 2, 1, i);
    }
    rc_gc_stats st = stats(h);
    CHECK(st.gen[2].collections == 0);
    CHECK(st.rounds > 0 && st.steps > st.rounds);
    CHECK(st.gen[2].collected > 0); /* the steps found old garbage */
    for (int k = 0; k < KEEP; k++) {
        CHECK(keep[k]->magic == NODE_LIVE);
        rc_decref(keep[k]);
    }
    rc_gc_set_incremental(h, 0);
    rc_collect(h, -1);
    CHECK(nodes.destroyed == 2 * 60000);
    CHECK_VALID(h);
    rc_heap_free(h);
}

/* A slice that cannot get memory for its lists frees nothing and leaves
   the heap whole; the sweep fails every page request in turn. */
static void test_fault_sweep(void)
{
    unsigned long nth = 1;
    for (;; nth++) {
        rc_heap *h = quiet_heap();
        node_reset();
        node *ring = old_graph(h, 3000);
        rc_alloc_stats a;
        rc_alloc_stats_get(h, &a);
        size_t failures = a.page_failures;
        rc_heap_fail_page_request(h, nth);
        size_t calls, got = round_in_steps(h, 700, 0, &calls);
        rc_alloc_stats_get(h, &a);
        bool failed = a.page_failures > failures;
        rc_heap_fail_page_request(h, 0);
        node *x = ring;
        for (size_t i = 0; i < 3000; i++, x = x->slot[0])
            CHECK(x->magic == NODE_LIVE);
        CHECK(failed ? stats(h).failed > 0 && got <= 6000 : got == 6000);
        rc_decref(ring);
        rc_collect(h, -1);
        CHECK(nodes.destroyed == 9000);
        CHECK_VALID(h);
        rc_heap_free(h);
        if (!failed)
            break;
    }
    CHECK(nth > 2);
    printf("test_gc_step: fault sweep over %lu page requests\n", nth - 1);
}

int main(void)
{
    test_counts();
    test_round();
    test_big_cycle();
    test_time_budget();
    test_mutation_between_steps();
    test_step_inside_collection();
    test_full_collection_ends_round();
    test_incremental_automatic();
    test_fault_sweep();
    return expect_status("test_gc_step");
}
