/*
 * tuple.c — immutable sequences, items inline after the length.
 *
 * A tuple whose items can never be tracked (leaves: ints, strs, tuples of
 * leaves...; see rci_may_be_tracked) cannot be part of a cycle, so it is
 * untracked at birth and the collector never looks at it (CPython untracks
 * such tuples lazily, during collections; knowing the items up front we
 * can decide at once).  One holding an untracked dict or set is tracked,
 * since that item may take a tracked object later; a full collection
 * untracks it once the item is a leaf for good (gc.c).
 */
#include "types.h"

static void tuple_traverse(void *self, rc_visit_fn visit, void *ctx)
{
    rci_tuple *t = self;
    for (size_t i = 0; i < t->n; i++)
        visit(&t->items[i], ctx);
}

const rc_type rc_tuple_type = {
    .name = "tuple",
    .size = 0,
    .traverse = tuple_traverse,
};

void *rc_tuple(rc_heap *h, size_t n, void *const *items)
{
    size_t bytes;
    if (n > RCI_TUPLE_MAX || !rci_mul_ok(n, sizeof(void *), &bytes) ||
        __builtin_add_overflow(bytes, sizeof(rci_tuple), &bytes))
        return rci_fail_null(h, RC_EOVERFLOW);
    for (size_t i = 0; i < n; i++) {
        if (!items[i])
            return rci_fail_null(h, RC_EVALUE);
        if (rci_unlikely(rci_heap_of(items[i]) != h)) {
            rci_foreign(h, "rc_tuple", items[i]);
            return NULL;
        }
    }
    rci_tuple *t = rci_new(h, &rc_tuple_type, bytes);
    if (!t)
        return NULL;
    t->n = (uint32_t)n; /* payload is zeroed: hash 0 */
    bool holds_tracked = false;
    for (size_t i = 0; i < n; i++) {
        rc_incref(items[i]);
        t->items[i] = items[i];
        holds_tracked |= rci_may_be_tracked(items[i]);
    }
    if (!holds_tracked)
        rc_gc_untrack(t);
    return t;
}

size_t rc_tuple_len(const void *t)
{
    return ((const rci_tuple *)t)->n;
}

void *rc_tuple_get(const void *t, size_t i)
{
    const rci_tuple *tu = t;
    if (rci_unlikely(!rci_is_live(t, &rc_tuple_type))) {
        rci_wrong_type(t, &rc_tuple_type, "rc_tuple_get", false);
        return NULL;
    }
    if (i >= tu->n)
        return rci_failf_null(rci_heap_of(t), RC_EINDEX,
                              "tuple index %zu out of range (length %zu)", i, (size_t)tu->n);
    return tu->items[i];
}

void *rc_tuple_get_slice(const void *t, rc_slice s)
{
    if (!t)
        return NULL;
    rc_heap *h = rci_heap_of(t);
    if (!rci_is_live(t, &rc_tuple_type)) {
        rci_wrong_type(t, &rc_tuple_type, "rc_tuple_get_slice", true);
        return NULL;
    }
    const rci_tuple *tu = t;
    rci_span sp;
    if (rci_slice_adjust(s, tu->n, &sp) != 0)
        return rci_fail_null(h, RC_EVALUE);
    if (sp.count == tu->n && sp.step == 1) { /* immutable: share it */
        rc_incref((void *)t);
        return (void *)t;
    }
    if (sp.step == 1)
        return rc_tuple(h, sp.count, tu->items + sp.start);
    /* gather the items first: rc_tuple takes an array */
    void **items = rc_mem_alloc(h, sp.count * sizeof(void *)); /* count <= n */
    if (!items)
        return rci_fail_null(h, RC_ENOMEM);
    for (size_t k = 0; k < sp.count; k++)
        items[k] = tu->items[sp.start + (int64_t)k * sp.step];
    void *r = rc_tuple(h, sp.count, items);
    rc_mem_free(h, items);
    return r;
}
