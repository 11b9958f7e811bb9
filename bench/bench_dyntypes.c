/*
 * bench_dyntypes.c — what a dynamic type costs: a runtime that makes one
 * rc_type per user class (N types, each with a few objects) measured by
 * the heap's address space (rc_alloc_stats.os_bytes: every byte held from
 * the page source) and the process's resident memory growth (VmRSS), and
 * the same objects all of one type for comparison.  Not timed.
 *
 * Run: bench_dyntypes [--quick] [TYPES [OBJECTS_PER_TYPE]]
 * (default 2000 types x 1 object; --quick: 50 x 1).
 */
#define _GNU_SOURCE
#include "bench_common.h"
#include "rcgc.h"

typedef struct node {
    void *next;
    int64_t value;
} node;

static void node_traverse(void *self, rc_visit_fn visit, void *ctx)
{
    visit(&((node *)self)->next, ctx);
}

/* VmRSS of the process, in KiB. */
static size_t rss_kib(void)
{
    char buf[4096];
    read_text("/proc/self/status", buf, sizeof buf);
    const char *p = strstr(buf, "VmRSS:");
    return p ? (size_t)strtoull(p + 6, NULL, 10) : 0;
}

/* Make types x per objects, the types distinct when distinct_types; print
   the heap's bytes and the RSS growth. */
static void run(size_t ntypes, size_t per, int distinct_types)
{
    rc_type *types = calloc(ntypes, sizeof *types);
    char (*names)[24] = calloc(ntypes, sizeof *names);
    void **objs = calloc(ntypes * per, sizeof *objs);
    if (!types || !names || !objs)
        die("out of memory");
    for (size_t i = 0; i < ntypes; i++) {
        snprintf(names[i], sizeof names[i], "class%zu", i);
        types[i] = (rc_type){.name = names[i], .size = sizeof(node),
                             .traverse = node_traverse};
    }
    size_t rss0 = rss_kib();
    rc_heap *h = rc_heap_new(NULL);
    if (!h)
        die("rc_heap_new failed");
    for (size_t i = 0; i < ntypes; i++)
        for (size_t j = 0; j < per; j++) {
            node *n = rc_new(h, &types[distinct_types ? i : 0]);
            if (!n)
                die("rc_new failed");
            n->value = (int64_t)j;
            objs[i * per + j] = n;
        }
    rc_alloc_stats s;
    rc_alloc_stats_get(h, &s);
    size_t rss1 = rss_kib();
    printf("%-28s %6zu x %-4zu  heap %9.2f MiB  RSS +%8.2f MiB  arenas %zu  pools %zu\n",
           distinct_types ? "distinct types" : "one type", ntypes, per,
           (double)s.os_bytes / (1 << 20), (double)(rss1 - rss0) / 1024, s.arenas,
           s.pools);
    if (rc_heap_validate(h) != 0)
        die("heap invalid");
    for (size_t i = 0; i < ntypes * per; i++)
        rc_decref(objs[i]);
    rc_heap_free(h);
    free(objs);
    free(names);
    free(types);
}

int main(int argc, char **argv)
{
    int quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
    int a = quick ? 2 : 1;
    size_t ntypes = quick ? 50 : 2000, per = 1;
    if (argc > a)
        ntypes = (size_t)strtoull(argv[a], NULL, 10);
    if (argc > a + 1)
        per = (size_t)strtoull(argv[a + 1], NULL, 10);
    if (!ntypes || !per)
        die("usage: %s [--quick] [TYPES [OBJECTS_PER_TYPE]]", argv[0]);
    print_machine();
    if (quick)
        puts(BENCH_QUICK_NOTE);
    run(ntypes, per, 1);
    run(ntypes, per, 0);
    return 0;
}
