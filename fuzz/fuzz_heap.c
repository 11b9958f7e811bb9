/*
 * fuzz_heap.c — the heap API against a shadow model.  The input is a
 * stream of operations on two heaps (automatic collection off, so every
 * death has a cause the model knows): objects of five kinds (nodes with
 * three slots, nodes whose finalizer may resurrect them, leaves, built-in
 * lists and dicts), links between objects of one heap (rc_set, list
 * append, set and pop, dict set and delete), references taken and
 * dropped, weak references with and without callbacks (a callback
 * allocates and drops an object, as callbacks may), collections of each
 * generation, freeze and unfreeze, tracing started and stopped with
 * snapshots checked against rc_trace_memory, trims.
 *
 * The model holds the reference graph and predicts, after every
 * operation: which objects are alive (a count reaching zero kills at once;
 * a collection of generation g kills the garbage among the tracked objects
 * of generations 0..g, after clearing weak references to it, running
 * callbacks, running each finalizer once and sparing what a finalizer
 * made reachable again: PEP 442's order, as rcgc.h describes it); every
 * reference count; every object's generation; each weak reference's
 * target and how many times its callback ran; what rc_collect returns.
 * Then it checks all of that against the heaps, with rc_heap_validate and
 * a census of each heap.  At the end every reference is dropped and both
 * heaps are collected: nothing may survive.
 *
 * Input: byte 0 configures (debug heaps, tracing from the start); then one
 * operation per byte, its arguments in the bytes after it.
 */
#include "fuzz.h"
#include "rcgc.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { MAX_OBJS = 64, SLOTS = 3, MAX_ITEMS = 8, HEAPS = 2, FROZEN = 3 };

static unsigned long step; /* operation number in this input, for messages */
static unsigned long long operations; /* over the whole run */

#define REQUIRE(c)                                                                  \
    do {                                                                            \
        if (!(c)) {                                                                 \
            fprintf(stderr, "fuzz_heap: step %lu: %s:%d: %s\n", step, __FILE__,     \
                    __LINE__, #c);                                                  \
            abort();                                                                \
        }                                                                           \
    } while (0)

typedef enum kind { NODE, FNODE, LEAF, LIST, DICT, WEAK, NKINDS } kind;

typedef struct node {
    uint32_t id;          /* index + 1 in objs; 0: made by a callback */
    void *slot[SLOTS];
} node;

typedef struct obj {
    void *p;              /* the object */
    int heap;
    kind k;
    bool tracked;         /* examined by the collector */
    /* the model */
    bool alive;
    unsigned ext;         /* references the harness holds */
    int item[MAX_ITEMS];  /* node: its slots, dict: the values of keys 0..7
                             (-1: empty); list: its items */
    int nitems;
    bool resurrects;      /* FNODE: its finalizer stores a reference to itself */
    bool finalized;
    int gen;              /* 0..2, FROZEN */
    int target;           /* WEAK: its referent, -1 once cleared */
    bool has_callback;
    unsigned callbacks;   /* WEAK: callback runs expected */
    /* what really happened (written by the types' functions) */
    unsigned real_ext, destroyed, finalizes, real_callbacks;
} obj;

static obj objs[MAX_OBJS];
static int nobjs;
static rc_heap *heaps[HEAPS];
static bool tracing[HEAPS];
static const rc_type *weakref_type;

/* ---- the objects' types: they report to objs -------------------------------- */

static void node_traverse(void *self, rc_visit_fn visit, void *ctx)
{
    node *n = self;
    for (int i = 0; i < SLOTS; i++)
        visit(&n->slot[i], ctx);
}

static void node_destroy(void *self)
{
    uint32_t id = ((node *)self)->id;
    if (id)
        objs[id - 1].destroyed++;
}

static void node_finalize(void *self)
{
    uint32_t id = ((node *)self)->id;
    if (!id)
        return;
    obj *o = &objs[id - 1];
    o->finalizes++;
    if (o->resurrects) {
        rc_incref(self);
        o->real_ext++;
    }
}

static const rc_type node_type = {.name = "fuzz_node", .size = sizeof(node),
                                  .traverse = node_traverse, .destroy = node_destroy};
static const rc_type fnode_type = {.name = "fuzz_fnode", .size = sizeof(node),
                                   .traverse = node_traverse, .finalize = node_finalize,
                                   .destroy = node_destroy};
static const rc_type leaf_type = {.name = "fuzz_leaf", .size = sizeof(node),
                                  .destroy = node_destroy};

static void weak_callback(rc_weakref *w, void *data)
{
    obj *o = data;
    o->real_callbacks++;
    REQUIRE(rc_weakref_get(w) == NULL);
    rc_decref(rc_new(rc_heap_of(w), &node_type)); /* callbacks may allocate */
}

/* ---- the model ------------------------------------------------------------------ */

static bool holds(const obj *o)
{
    return o->k == NODE || o->k == FNODE || o->k == LIST || o->k == DICT;
}

/* References to each object: the harness's and those of living objects. */
static void count_refs(unsigned *refs)
{
    for (int i = 0; i < nobjs; i++)
        refs[i] = objs[i].ext;
    for (int j = 0; j < nobjs; j++)
        for (int s = 0; objs[j].alive && holds(&objs[j]) && s < objs[j].nitems; s++)
            if (objs[j].item[s] >= 0)
                refs[objs[j].item[s]]++;
}

static void clear_weakrefs_to(int i, bool *ran)
{
    for (int w = 0; w < nobjs; w++)
        if (objs[w].k == WEAK && objs[w].target == i) {
            objs[w].target = -1;
            if (objs[w].alive && objs[w].has_callback) {
                objs[w].callbacks++;
                *ran = true;
            }
        }
}

static void kill(int i)
{
    obj *o = &objs[i];
    o->alive = false;
    for (int s = 0; s < o->nitems; s++)
        o->item[s] = -1;
    if (o->k == LIST)
        o->nitems = 0;
}

/* Reference counting: whatever has no reference left is finalized (once;
   a resurrecting finalizer takes a reference), else dies, until nothing
   changes. */
static void settle(void)
{
    unsigned refs[MAX_OBJS];
    for (bool changed = true; changed;) {
        changed = false;
        count_refs(refs);
        for (int i = 0; i < nobjs && !changed; i++) {
            obj *o = &objs[i];
            if (!o->alive || refs[i] != 0)
                continue;
            changed = true; /* counts change: count again */
            if (o->k == FNODE && !o->finalized) {
                o->finalized = true;
                if (o->resurrects) {
                    o->ext++;
                    continue;
                }
            }
            bool ran = false;
            clear_weakrefs_to(i, &ran);
            kill(i);
        }
    }
}

/* Mark from the objects of set with references from outside it (the
   harness, or living objects not in set), through edges inside set. */
static void reach_within(const bool *set, bool *reached)
{
    int stack[MAX_OBJS * (MAX_ITEMS + 1)], top = 0;
    for (int i = 0; i < nobjs; i++) {
        reached[i] = false;
        if (!set[i])
            continue;
        unsigned outside = objs[i].ext;
        for (int j = 0; j < nobjs; j++)
            for (int s = 0; objs[j].alive && !set[j] && holds(&objs[j]) && s < objs[j].nitems;
                 s++)
                outside += objs[j].item[s] == i;
        if (outside)
            stack[top++] = i;
    }
    while (top) {
        int i = stack[--top];
        if (reached[i])
            continue;
        reached[i] = true;
        for (int s = 0; holds(&objs[i]) && s < objs[i].nitems; s++) {
            int c = objs[i].item[s];
            if (c >= 0 && set[c] && !reached[c])
                stack[top++] = c;
        }
    }
}

/* Does dict i hold leaves only (which can never be tracked)? */
static bool leaves_only(int i)
{
    for (int s = 0; s < objs[i].nitems; s++)
        if (objs[i].item[s] >= 0 && objs[objs[i].item[s]].k != LEAF)
            return false;
    return true;
}

/* A collection of generations 0..gen of heap h; returns the objects freed. */
static size_t model_collect(int h, int gen)
{
    bool cand[MAX_OBJS] = {0}, reached[MAX_OBJS], garbage[MAX_OBJS] = {0};
    for (int i = 0; i < nobjs; i++)
        cand[i] = objs[i].alive && objs[i].heap == h && objs[i].tracked &&
                  objs[i].gen != FROZEN && objs[i].gen <= gen;
    reach_within(cand, reached);
    bool any = false;
    for (int i = 0; i < nobjs; i++) {
        garbage[i] = cand[i] && !reached[i];
        if (gen == 2 && cand[i] && reached[i] && objs[i].k == DICT && leaves_only(i))
            objs[i].tracked = false; /* a full collection untracks it */
        any |= garbage[i];
        if (cand[i])
            objs[i].gen = garbage[i] || gen > 0 ? 2 : 1;
    }
    if (!any)
        return 0;
    bool ran = false;
    for (int i = 0; i < nobjs; i++)
        if (garbage[i])
            clear_weakrefs_to(i, &ran);
    for (int i = 0; i < nobjs; i++)
        if (garbage[i] && objs[i].k == FNODE && !objs[i].finalized) {
            objs[i].finalized = ran = true;
            objs[i].ext += objs[i].resurrects;
        }
    if (ran) { /* spare what a finalizer made reachable again */
        reach_within(garbage, reached);
        for (int i = 0; i < nobjs; i++)
            garbage[i] &= !reached[i];
    }
    size_t freed = 0;
    for (int i = 0; i < nobjs; i++)
        if (garbage[i]) {
            kill(i);
            freed++;
        }
    settle();
    return freed;
}

/* ---- checks --------------------------------------------------------------------- */

static int id_of(const void *p)
{
    for (int i = 0; i < nobjs; i++)
        if (objs[i].alive && objs[i].p == p)
            return i;
    return -1;
}

typedef struct gen_walk {
    int gen;
    int seen[MAX_OBJS];
} gen_walk;

static void note_gen(void *p, void *ctx)
{
    gen_walk *g = ctx;
    int i = id_of(p);
    REQUIRE(i >= 0); /* nothing tracked that the model does not know */
    REQUIRE(g->seen[i] < 0);
    g->seen[i] = g->gen;
}

static void check_heap(int h)
{
    REQUIRE(rc_heap_validate(heaps[h]) == 0);
    gen_walk g;
    for (int i = 0; i < MAX_OBJS; i++)
        g.seen[i] = -1;
    for (g.gen = 0; g.gen <= FROZEN; g.gen++)
        rc_gc_foreach(heaps[h], g.gen, note_gen, &g);
    size_t want[NKINDS] = {0};
    for (int i = 0; i < nobjs; i++)
        if (objs[i].alive && objs[i].heap == h) {
            want[objs[i].k]++;
            REQUIRE(g.seen[i] == (objs[i].tracked ? objs[i].gen : -1));
        }
    rc_census *c = rc_census_take(heaps[h]);
    REQUIRE(c);
    rc_census_row rows[32];
    size_t n = rc_census_rows(c, rows, 32), got[NKINDS] = {0};
    for (size_t r = 0; r < n && r < 32; r++) {
        const rc_type *t = rows[r].type;
        int k = t == &node_type ? NODE : t == &fnode_type ? FNODE : t == &leaf_type ? LEAF
              : t == &rc_list_type ? LIST : t == &rc_dict_type ? DICT
              : t == weakref_type ? WEAK : -1;
        if (k >= 0)
            got[k] += rows[r].objects;
    }
    rc_census_free(c);
    if (!weakref_type)
        got[WEAK] = want[WEAK]; /* none made yet */
    for (int k = 0; k < NKINDS; k++)
        REQUIRE(got[k] == want[k]);
}

static void check_obj(int i, const unsigned *refs)
{
    obj *o = &objs[i];
    REQUIRE(o->real_ext == o->ext);
    REQUIRE(o->finalizes == (unsigned)o->finalized);
    REQUIRE(o->real_callbacks == o->callbacks);
    if (o->k == NODE || o->k == FNODE || o->k == LEAF)
        REQUIRE(o->destroyed == (unsigned)!o->alive);
    if (!o->alive)
        return;
    REQUIRE(rc_refcount(o->p) == refs[i]);
    if (o->k == NODE || o->k == FNODE) {
        const node *n = o->p;
        for (int s = 0; s < SLOTS; s++)
            REQUIRE(n->slot[s] == (o->item[s] >= 0 ? objs[o->item[s]].p : NULL));
    } else if (o->k == LIST) {
        REQUIRE(rc_list_len(o->p) == (size_t)o->nitems);
        for (int s = 0; s < o->nitems; s++)
            REQUIRE(rc_list_get(o->p, (size_t)s) == objs[o->item[s]].p);
    } else if (o->k == DICT) {
        size_t len = 0;
        for (int s = 0; s < MAX_ITEMS; s++) {
            void *key = rc_int(heaps[o->heap], s);
            REQUIRE(rc_dict_get(o->p, key) == (o->item[s] >= 0 ? objs[o->item[s]].p : NULL));
            rc_decref(key);
            len += o->item[s] >= 0;
        }
        REQUIRE(rc_dict_len(o->p) == len);
    } else if (o->k == WEAK) {
        void *t = rc_weakref_get(o->p);
        REQUIRE(t == (o->target >= 0 ? objs[o->target].p : NULL));
        rc_decref(t);
    }
}

/* Every object against the model; the heaps' walks (validate, census,
   generations) too when whole, else only every 8th step: they cost most. */
static void check_all(bool whole)
{
    unsigned refs[MAX_OBJS];
    count_refs(refs);
    for (int i = 0; i < nobjs; i++)
        check_obj(i, refs);
    for (int h = 0; h < HEAPS && (whole || step % 8 == 0); h++)
        check_heap(h);
}

/* ---- the operations --------------------------------------------------------------- */

typedef struct input {
    const uint8_t *p, *end;
} input;

static unsigned next(input *in)
{
    return in->p < in->end ? *in->p++ : 0;
}

/* The (b % count)-th living object that passes the filter, or -1. */
static int pick(unsigned b, bool (*ok)(const obj *, const obj *), const obj *near)
{
    int n = 0;
    for (int i = 0; i < nobjs; i++)
        n += objs[i].alive && ok(&objs[i], near);
    if (!n)
        return -1;
    int want = (int)(b % (unsigned)n);
    for (int i = 0; i < nobjs; i++)
        if (objs[i].alive && ok(&objs[i], near) && want-- == 0)
            return i;
    return -1;
}

static bool any_obj(const obj *o, const obj *near) { (void)near; (void)o; return true; }
static bool has_slots(const obj *o, const obj *near) /* node or dict */
{
    (void)near;
    return o->k == NODE || o->k == FNODE || o->k == DICT;
}
static bool is_list(const obj *o, const obj *near) { (void)near; return o->k == LIST; }
static bool is_held(const obj *o, const obj *near) { (void)near; return o->ext > 0; }
static bool linkable(const obj *o, const obj *near) /* a target on near's heap */
{
    return o->k != WEAK && o->heap == near->heap;
}
static bool not_weak(const obj *o, const obj *near) { (void)near; return o->k != WEAK; }

static void make(int h, kind k, bool resurrects)
{
    if (nobjs == MAX_OBJS)
        return;
    void *p = k == LIST ? rc_list(heaps[h]) : k == DICT ? rc_dict(heaps[h])
            : rc_new(heaps[h], k == FNODE ? &fnode_type : k == LEAF ? &leaf_type : &node_type);
    REQUIRE(p);
    int i = nobjs++;
    obj *o = &objs[i];
    *o = (obj){.p = p, .heap = h, .k = k, .alive = true, .ext = 1, .real_ext = 1,
               .resurrects = resurrects, .target = -1, .tracked = k != LEAF,
               .nitems = k == LIST ? 0 : k == DICT ? MAX_ITEMS : SLOTS};
    for (int s = 0; s < MAX_ITEMS; s++)
        o->item[s] = -1;
    if (k != LIST && k != DICT)
        ((node *)p)->id = (uint32_t)i + 1;
    REQUIRE(rc_gc_is_tracked(p) == o->tracked);
}

static void weakref(int t, bool callback)
{
    if (nobjs == MAX_OBJS || t < 0)
        return;
    int i = nobjs++;
    obj *o = &objs[i];
    rc_weakref *w = rc_weakref_new(objs[t].p, callback ? weak_callback : NULL, o);
    REQUIRE(w);
    weakref_type = rc_typeof(w);
    *o = (obj){.p = w, .heap = objs[t].heap, .k = WEAK, .alive = true, .ext = 1,
               .real_ext = 1, .target = t, .has_callback = callback,
               .tracked = rc_gc_is_tracked(w)};
}

/* Item s of a node or dict gets t (NULL: -1), or a list gets t appended. */
static void link(int from, unsigned s, int t)
{
    obj *o = &objs[from];
    if (o->k == LIST) {
        if (t < 0 || o->nitems == MAX_ITEMS)
            return;
        REQUIRE(rc_list_append(o->p, objs[t].p) == 0);
        o->item[o->nitems++] = t;
        return;
    }
    if (o->k == DICT) {
        s %= MAX_ITEMS;
        void *key = rc_int(heaps[o->heap], s);
        if (t >= 0)
            REQUIRE(rc_dict_set(o->p, key, objs[t].p) == 0);
        else
            REQUIRE(rc_dict_del(o->p, key) == (o->item[s] >= 0 ? 0 : -1));
        if (t >= 0 && objs[t].k != LEAF && !o->tracked) { /* tracked again */
            o->tracked = true;
            o->gen = 0;
        }
        rc_decref(key);
    } else {
        s %= SLOTS;
        rc_set(&((node *)o->p)->slot[s], t >= 0 ? objs[t].p : NULL);
    }
    o->item[s] = t;
    settle();
}

static void list_op(int l, unsigned how, unsigned at, int t)
{
    obj *o = &objs[l];
    if (!o->nitems)
        return;
    size_t i = at % (unsigned)o->nitems;
    if (how & 1 && t >= 0) {
        REQUIRE(rc_list_set(o->p, i, objs[t].p) == 0);
        o->item[i] = t;
    } else {
        void *x = rc_list_pop(o->p, i);
        REQUIRE(x == objs[o->item[i]].p);
        memmove(&o->item[i], &o->item[i + 1], (size_t)(o->nitems - 1 - (int)i) * sizeof(int));
        o->item[--o->nitems] = -1;
        rc_decref(x);
    }
    settle();
}

static void drop(int i)
{
    if (i < 0)
        return;
    objs[i].ext--;
    objs[i].real_ext--;
    rc_decref(objs[i].p);
    settle();
}

static void collect(int h, int gen)
{
    size_t want = model_collect(h, gen);
    REQUIRE(rc_collect(heaps[h], gen) == want);
}

static void trace_op(int h, unsigned how)
{
    rc_heap *hp = heaps[h];
    switch (how % 4) {
    case 0:
        REQUIRE(rc_trace_start(hp, 1 + (int)(how >> 2) % 16) == 0);
        tracing[h] = true;
        break;
    case 1:
        rc_trace_stop(hp);
        tracing[h] = false;
        break;
    default: {
        rc_snapshot *s = rc_trace_snapshot(hp);
        REQUIRE((s != NULL) == tracing[h]);
        if (!s)
            break;
        size_t cur, peak, blocks, total = rc_snapshot_total(s, &blocks);
        rc_trace_memory(hp, &cur, &peak);
        REQUIRE(total == cur && cur <= peak);
        rc_trace_stat rows[8];
        size_t n = rc_snapshot_by_line(s, rows, 8), sum = 0;
        for (size_t r = 0; r < n && r < 8; r++)
            sum += rows[r].bytes;
        REQUIRE(n > 8 || sum == total);
        rc_snapshot_free(s);
    }
    }
}

/* Runs one operation; true when it was one after which the heaps' walks
   are always checked (collections, freezing, trims). */
static bool run_op(input *in)
{
    unsigned op = next(in), a = next(in), b = next(in);
    int h = (int)(a & 1);
    switch (op % 16) {
    case 0: case 1: make(h, NODE, false); break;
    case 2: make(h, FNODE, (a & 2) != 0); break;
    case 3: make(h, a & 2 ? LEAF : a & 4 ? DICT : LIST, false); break;
    case 4: case 5: case 6: {
        int from = pick(a, has_slots, NULL);
        if (from < 0)
            from = pick(a, is_list, NULL);
        if (from >= 0)
            link(from, a >> 4, b % 5 == 0 ? -1 : pick(b, linkable, &objs[from]));
        break;
    }
    case 7: {
        int l = pick(a, is_list, NULL);
        if (l >= 0)
            link(l, 0, pick(b, linkable, &objs[l]));
        break;
    }
    case 8: {
        int l = pick(a, is_list, NULL);
        if (l >= 0)
            list_op(l, a >> 4, b, pick(b >> 3, linkable, &objs[l]));
        break;
    }
    case 9: {
        int i = pick(a, any_obj, NULL);
        if (i >= 0) {
            objs[i].ext++;
            objs[i].real_ext++;
            rc_incref(objs[i].p);
        }
        break;
    }
    case 10: case 11: drop(pick(a, is_held, NULL)); break;
    case 12: weakref(pick(a, not_weak, NULL), (b & 1) != 0); break;
    case 13: collect(h, (int)(b % 3)); return true;
    case 14:
        if (b & 1) {
            rc_gc_freeze(heaps[h]);
            for (int i = 0; i < nobjs; i++)
                if (objs[i].alive && objs[i].tracked && objs[i].heap == h)
                    objs[i].gen = FROZEN;
        } else {
            rc_gc_unfreeze(heaps[h]);
            for (int i = 0; i < nobjs; i++)
                if (objs[i].alive && objs[i].heap == h && objs[i].gen == FROZEN)
                    objs[i].gen = 2;
        }
        return true;
    case 15:
        if (b & 1)
            trace_op(h, b >> 1);
        else if (b & 2)
            rc_heap_trim(heaps[h]);
        else
            rc_freelists_clear(heaps[h]);
        return true;
    }
    return false;
}

/* Drop every reference the harness holds, then collect everything, until
   nothing is left: each round a finalizer down a chain may resurrect its
   object once, so at most one round per object and one more. */
static void teardown(void)
{
    for (int round = 0; round <= nobjs; round++) {
        bool left = false;
        for (int i = 0; i < nobjs; i++)
            left |= objs[i].alive;
        if (!left)
            break;
        for (int i = 0; i < nobjs; i++)
            while (objs[i].alive && objs[i].ext)
                drop(i);
        for (int h = 0; h < HEAPS; h++) {
            rc_gc_unfreeze(heaps[h]);
            for (int i = 0; i < nobjs; i++)
                if (objs[i].alive && objs[i].heap == h && objs[i].gen == FROZEN)
                    objs[i].gen = 2;
            collect(h, 2);
        }
        check_all(true);
    }
    for (int i = 0; i < nobjs; i++)
        REQUIRE(!objs[i].alive);
}

static void report(void)
{
    fprintf(stderr, "fuzz_heap: %llu operations checked against the model\n", operations);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool registered;
    if (!registered) {
        registered = true;
        atexit(report);
    }
    input in = {data, data + size};
    unsigned cfg = next(&in);
    for (int h = 0; h < HEAPS; h++) {
        rc_config c;
        rc_config_init(&c);
        c.gc_disabled = 1;
        c.debug = (cfg >> h) & 1;
        c.trace_frames = (cfg >> (2 + h)) & 1 ? 8 : 0;
        heaps[h] = rc_heap_new(&c);
        REQUIRE(heaps[h]);
        tracing[h] = c.trace_frames > 0;
    }
    nobjs = 0;
    weakref_type = NULL;
    for (step = 0; in.p < in.end && step < 2000; step++) {
        check_all(run_op(&in));
        operations++;
    }
    teardown();
    for (int h = 0; h < HEAPS; h++)
        rc_heap_free(heaps[h]);
    return 0;
}
