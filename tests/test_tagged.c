/*
 * test_tagged.c — traverse over tagged values (rc_visit_value): a
 * NaN-boxed word and a QuickJS-style {payload, tag} pair, each holding
 * either a plain value or a reference.  The heap must release the
 * references, collect cycles through them (clearing the values it drops),
 * skip the plain values, and follow them in introspection.
 */
#include "check.h"

#include <stdbool.h>

/* NaN-boxing: a word whose top 16 bits are 0xFFF9 holds a pointer in the
   low 48; anything else is a double. */
#define BOX_TAG UINT64_C(0xFFF9000000000000)
static uint64_t box_ptr(void *p) { return BOX_TAG | (uint64_t)(uintptr_t)p; }
static uint64_t box_double(double d)
{
    uint64_t w;
    memcpy(&w, &d, sizeof w);
    return w;
}

static size_t cleared; /* clear calls, to see the collector use them */

static void *nan_decode(const void *slot)
{
    uint64_t w = *(const uint64_t *)slot;
    return (w >> 48) == 0xFFF9 ? (void *)(uintptr_t)(w & UINT64_C(0xFFFFFFFFFFFF)) : NULL;
}
static void nan_clear(void *slot)
{
    *(uint64_t *)slot = box_double(0.0);
    cleared++;
}
static const rc_value_codec nan_codec = {nan_decode, nan_clear};

/* QuickJS-style: a negative tag means the payload is a pointer. */
typedef struct jsval {
    union {
        void *ptr;
        double d;
        int32_t i;
    } u;
    int64_t tag;
} jsval;
enum { TAG_OBJECT = -1, TAG_INT = 0, TAG_UNDEFINED = 3 };

static void *js_decode(const void *slot)
{
    const jsval *v = slot;
    return v->tag < 0 ? v->u.ptr : NULL;
}
static void js_clear(void *slot)
{
    *(jsval *)slot = (jsval){.u.i = 0, .tag = TAG_UNDEFINED};
    cleared++;
}
static const rc_value_codec js_codec = {js_decode, js_clear};

typedef struct tobj {
    uint64_t words[3];
    jsval v;
} tobj;

static void tobj_traverse(void *self, rc_visit_fn visit, void *ctx)
{
    tobj *o = self;
    for (int i = 0; i < 3; i++)
        rc_visit_value(&o->words[i], &nan_codec, visit, ctx);
    rc_visit_value(&o->v, &js_codec, visit, ctx);
}

static const rc_type tobj_type = {.name = "tobj", .size = sizeof(tobj),
                                  .traverse = tobj_traverse};

static tobj *tobj_new(rc_heap *h)
{
    tobj *o = rc_new(h, &tobj_type);
    CHECK(o);
    for (int i = 0; i < 3; i++)
        o->words[i] = box_double(1.5 * i);
    o->v = (jsval){.u.i = 7, .tag = TAG_INT};
    return o;
}

static void count_referent(void *child, void *ctx)
{
    (void)child;
    ++*(size_t *)ctx;
}

int main(void)
{
    rc_heap *h = test_heap(HEAP_QUIET);
    tobj *a = tobj_new(h), *b = tobj_new(h);
    void *n = rc_int(h, 5000);

    /* references in both encodings; plain values beside them */
    rc_incref(n);
    a->words[1] = box_ptr(n);
    rc_incref(b);
    a->v = (jsval){.u.ptr = b, .tag = TAG_OBJECT};
    size_t refs = 0;
    rc_gc_referents(a, count_referent, &refs);
    CHECK(refs == 2);

    /* introspection follows them: a -> b is a path, b is in a's size */
    size_t bytes_a, objects_a;
    CHECK(rc_deep_size(a, &bytes_a, &objects_a) == 0 && objects_a == 3);
    rc_decref(b); /* only a holds b now */
    rc_path *p = rc_path_to(h, b);
    CHECK(p && rc_path_len(p) == 2 && rc_path_get(p, 0) == a && rc_path_get(p, 1) == b);
    rc_path_free(p);

    /* release: the dead object's references are dropped and cleared */
    CHECK(rc_refcount(n) == 2);
    rc_decref(a); /* frees a, then b */
    CHECK(rc_refcount(n) == 1 && cleared == 2);

    /* a cycle through tagged values is garbage the collector finds */
    tobj *x = tobj_new(h), *y = tobj_new(h);
    rc_incref(y);
    x->words[2] = box_ptr(y);
    rc_incref(x);
    y->v = (jsval){.u.ptr = x, .tag = TAG_OBJECT};
    rc_incref(n);
    y->words[0] = box_ptr(n);
    rc_decref(x);
    rc_decref(y);
    cleared = 0;
    CHECK(rc_collect(h, -1) == 2);
    CHECK(cleared == 3 && rc_refcount(n) == 1);

    /* a value still in use survives, and its holder's plain words too */
    tobj *keep = tobj_new(h), *held = tobj_new(h);
    keep->v = (jsval){.u.ptr = held, .tag = TAG_OBJECT}; /* the one reference */
    CHECK(rc_collect(h, -1) == 0 && rc_refcount(held) == 1);
    CHECK(keep->words[1] == box_double(1.5));
    rc_decref(keep);
    rc_decref(n);
    CHECK(rc_collect(h, -1) == 0);
    CHECK_VALID(h);
    rc_heap_free(h);
    printf("test_tagged: ok\n");
    return 0;
}
