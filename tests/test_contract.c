/*
 * test_contract.c — the core API contract of shared/DESIGN.md, compiled
 * against with the exact signatures it names (a drift in rcgc.h fails the
 * build), then exercised once end to end.
 */
#include "check.h"

typedef struct box { void *item; } box;
static void box_traverse(void *self, rc_visit_fn visit, void *ctx)
{
    visit(&((box *)self)->item, ctx);
}
static int finalized;
static void box_finalize(void *self) { (void)self; finalized++; }
static void box_destroy(void *self) { (void)self; }
static const rc_type box_type = {.name = "box", .size = sizeof(box),
                                 .traverse = box_traverse, .finalize = box_finalize,
                                 .destroy = box_destroy};

static int called;
static void on_dead(rc_weakref *w, void *data) { (void)w; (void)data; called++; }

int main(void)
{
    rc_heap *(*heap_new)(const rc_config *) = rc_heap_new;
    void (*heap_free)(rc_heap *) = rc_heap_free;
    void *(*new_)(rc_heap *, const rc_type *) = rc_new;
    void *(*new_var)(rc_heap *, const rc_type *, size_t) = rc_new_var;
    void (*incref)(void *) = rc_incref;
    void (*decref)(void *) = rc_decref;
    void (*set)(void **, void *) = rc_set;
    size_t (*refcount)(const void *) = rc_refcount;
    const rc_type *(*typeof_)(const void *) = rc_typeof;
    size_t (*collect)(rc_heap *, int) = rc_collect;
    void (*gc_enable)(rc_heap *, int) = rc_gc_enable;
    rc_weakref *(*wr_new)(void *, void (*)(rc_weakref *, void *), void *) = rc_weakref_new;
    void *(*wr_get)(rc_weakref *) = rc_weakref_get;
    void *(*mk_int)(rc_heap *, int64_t) = rc_int;
    int64_t (*int_value)(const void *) = rc_int_value;
    void *(*mk_float)(rc_heap *, double) = rc_float;
    double (*float_value)(const void *) = rc_float_value;
    void *(*mk_str)(rc_heap *, const char *, size_t) = rc_str;
    void *(*intern)(rc_heap *, const char *, size_t) = rc_str_intern;
    const char *(*str_data)(const void *, size_t *) = rc_str_data;
    void *(*mk_list)(rc_heap *) = rc_list;
    int (*list_append)(void *, void *) = rc_list_append;
    size_t (*list_len)(const void *) = rc_list_len;
    void *(*list_get)(const void *, size_t) = rc_list_get;
    void *(*mk_dict)(rc_heap *) = rc_dict;
    int (*dict_set)(void *, void *, void *) = rc_dict_set;
    void *(*dict_get)(const void *, const void *) = rc_dict_get;
    void *(*mem_alloc)(rc_heap *, size_t) = rc_mem_alloc;
    void *(*mem_realloc)(rc_heap *, void *, size_t) = rc_mem_realloc;
    void (*mem_free)(rc_heap *, void *) = rc_mem_free;
    int (*trace_start)(rc_heap *, int) = rc_trace_start;
    void (*trace_stop)(rc_heap *) = rc_trace_stop;
    void (*trace_memory)(const rc_heap *, size_t *, size_t *) = rc_trace_memory;
    rc_snapshot *(*snapshot)(rc_heap *) = rc_trace_snapshot;
    size_t (*by_line)(const rc_snapshot *, rc_trace_stat *, size_t) = rc_snapshot_by_line;
    void (*snap_free)(rc_snapshot *) = rc_snapshot_free;

    rc_heap *h = heap_new(NULL);
    CHECK(trace_start(h, 4) == 0);
    box *a = new_(h, &box_type), *b = new_var(h, &box_type, sizeof(box));
    set(&a->item, b);
    set(&b->item, a);
    incref(a);
    CHECK(refcount(a) == 3 && typeof_(a) == &box_type);
    decref(a);
    rc_weakref *w = wr_new(a, on_dead, NULL);
    decref(a);
    decref(b);
    gc_enable(h, 0);
    CHECK(collect(h, -1) == 2 && finalized == 2 && called == 1 && wr_get(w) == NULL);
    decref(w);

    void *i = mk_int(h, 7), *f = mk_float(h, 2.5), *s = mk_str(h, "hi", 2);
    CHECK(int_value(i) == 7 && float_value(f) == 2.5);
    size_t n;
    CHECK(strcmp(str_data(s, &n), "hi") == 0 && n == 2);
    CHECK(intern(h, "k", 1) == intern(h, "k", 1));
    void *l = mk_list(h), *d = mk_dict(h);
    CHECK(list_append(l, i) == 0 && list_len(l) == 1 && list_get(l, 0) == i);
    CHECK(dict_set(d, s, f) == 0 && dict_get(d, s) == f);
    char *m = mem_alloc(h, 10);
    m = mem_realloc(h, m, 1000);
    size_t cur, peak;
    trace_memory(h, &cur, &peak);
    CHECK(cur > 0 && peak >= cur);
    rc_snapshot *snap = snapshot(h);
    rc_trace_stat st[4];
    CHECK(by_line(snap, st, 4) >= 1);
    snap_free(snap);
    mem_free(h, m);
    trace_stop(h);
    decref(l);
    decref(d);
    decref(i);
    decref(f);
    decref(s);
    CHECK_VALID(h);
    heap_free(h);
    printf("test_contract: ok\n");
    return 0;
}
