/*
 * int.c — 64-bit integers, with a per-heap cache of small values.
 *
 * Values in [RC_SMALL_INT_MIN, RC_SMALL_INT_MAX] are made once per heap, on
 * first use, as immortal objects: the counters, indices and flags that
 * dominate integer traffic then cost no allocation at all (see
 * docs/PERFORMANCE.md for the range's measurement).  An int is a leaf:
 * 8 bytes of payload, 16 bytes with its header.
 */
#include "types.h"

const rc_type rc_int_type = {.name = "int", .size = sizeof(rci_int)};

static void *int_new(rc_heap *h, int64_t v)
{
    rci_int *o = rci_new(h, &rc_int_type, sizeof *o);
    if (o)
        o->v = v;
    return o;
}

void *rc_int(rc_heap *h, int64_t v)
{
    if (v < RC_SMALL_INT_MIN || v > RC_SMALL_INT_MAX)
        return int_new(h, v);
    rci_types *ts = rci_types_of(h);
    if (!ts)
        return NULL;
    void **slot = &ts->small_int[v - RC_SMALL_INT_MIN];
    if (!*slot) {
        if (!(*slot = int_new(h, v)))
            return NULL;
        rc_make_immortal(*slot);
    }
    return *slot;
}

int64_t rc_int_value(const void *o)
{
    if (rci_likely(rci_is_live(o, &rc_int_type)) || rci_is_live(o, &rc_bool_type))
        return rci_int_v(o);
    rci_wrong_type(o, &rc_int_type, "rc_int_value", false);
    return 0;
}
