/*
 * demo.c — rcgc in one run: a traced heap builds a document of dicts,
 * lists and strings, leaks a reference cycle and a cache entry, and then
 * shows what the library tells about it: tracemalloc-style statistics by
 * line, a census by type, the cycle collector at work, why an object is
 * still alive, and the allocator's table.  `make demo` runs it.
 */
#include "rcgc.h"

#include <stdio.h>
#include <string.h>

typedef struct node {
    void *next;   /* managed reference */
    void *label;  /* a str */
} node;

static void node_traverse(void *self, rc_visit_fn visit, void *ctx)
{
    node *n = self;
    visit(&n->next, ctx);
    visit(&n->label, ctx);
}

static const rc_type node_type = {.name = "node", .size = sizeof(node),
                                  .traverse = node_traverse};

/* A record like one line of a JSON array: {"id": i, "name": "item-i", "tags": [...]} */
__attribute__((noinline)) static void *make_record(rc_heap *h, int64_t i)
{
    char name[32];
    snprintf(name, sizeof name, "item-%lld", (long long)i);
    RC_AUTO void *rec = rc_dict(h);
    RC_AUTO void *k_id = rc_str_intern(h, "id", 2);
    RC_AUTO void *k_name = rc_str_intern(h, "name", 4);
    RC_AUTO void *k_tags = rc_str_intern(h, "tags", 4);
    RC_AUTO void *id = rc_int(h, i);
    RC_AUTO void *nm = rc_str(h, name, strlen(name));
    RC_AUTO void *tags = rc_list(h);
    for (int t = 0; t < 3; t++) {
        RC_AUTO void *tag = rc_int(h, (i + t) % 7);
        rc_list_append(tags, tag);
    }
    if (!rec || rc_dict_set(rec, k_id, id) || rc_dict_set(rec, k_name, nm) ||
        rc_dict_set(rec, k_tags, tags))
        return NULL;
    rc_incref(rec);
    return rec;
}

__attribute__((noinline)) static void *build_document(rc_heap *h, int n)
{
    void *doc = rc_list(h);
    for (int i = 0; i < n && doc; i++) {
        RC_AUTO void *rec = make_record(h, i);
        if (!rec || rc_list_append(doc, rec) != 0)
            return NULL;
    }
    return doc;
}

__attribute__((noinline)) static void *make_ring(rc_heap *h, int n)
{
    node *first = rc_new(h, &node_type), *prev = first;
    for (int i = 1; i < n; i++) {
        node *m = rc_new(h, &node_type);
        rc_set(&prev->next, m);
        rc_decref(m);
        prev = m;
    }
    rc_set(&prev->next, first);
    return first;
}

int main(void)
{
    rc_heap *h = rc_heap_new(NULL);
    if (!h || rc_trace_start(h, 8) != 0) {
        fprintf(stderr, "demo: cannot create a traced heap\n");
        return 1;
    }
    void *doc = build_document(h, 20000);
    void *ring = make_ring(h, 1000);
    rc_decref(ring); /* unreachable now, but a cycle: refcounting cannot free it */
    void *kept = make_ring(h, 3); /* a live cycle held by a local */

    printf("== where the traced memory was allocated (by line)\n");
    rc_snapshot *snap = rc_trace_snapshot(h);
    rc_trace_stat rows[5];
    size_t n = rc_snapshot_by_line(snap, rows, 5);
    for (size_t i = 0; i < n && i < 5; i++)
        printf("  %8zu bytes %6zu blocks  %s (%s:%d)\n", rows[i].bytes, rows[i].blocks,
               rows[i].function ? rows[i].function : "?",
               rows[i].file ? rows[i].file : "?", rows[i].line);
    rc_snapshot_free(snap);

    printf("\n== census by type\n");
    rc_census *census = rc_census_take(h);
    if (census)
        rc_census_print(census, stdout);
    rc_census_free(census);

    printf("\n== the cycle collector\n");
    size_t freed = rc_collect(h, -1);
    printf("  a full collection freed %zu objects (the 1000-node ring)\n", freed);

    printf("\n== why is this node alive?\n");
    rc_path *path = rc_path_to(h, ((node *)kept)->next);
    if (path) {
        rc_path_print(path, stdout);
        rc_path_free(path);
    }
    rc_decref(kept);
    rc_collect(h, -1);

    printf("\n== the document: %zu records; record 42 is ", rc_list_len(doc));
    rc_repr(rc_list_get(doc, 42), stdout);
    printf("\n");
    rc_decref(doc);

    printf("\n== allocator statistics after dropping everything\n");
    rc_heap_trim(h);
    rc_alloc_stats_print(h, stdout);
    rc_heap_free(h);
    return 0;
}
