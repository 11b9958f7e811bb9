/*
 * singletons.c — None, True and False: one immortal object each per heap.
 *
 * Made on first use and kept in the types state (like the small ints), so
 * a program tests them by address.  A bool's payload is an int's (0 or 1),
 * which is how core.c treats it as the number it is in Python: True == 1,
 * hash(True) == hash(1), and rc_int_value reads it.  Both are leaves:
 * never tracked, and immortal objects are never freed before the heap.
 */
#include "types.h"

const rc_type rc_bool_type = {.name = "bool", .size = sizeof(rci_int)};
const rc_type rc_none_type = {.name = "NoneType", .size = sizeof(uint64_t)};

/* *slot, made immortal the first time (an int payload set to v). */
static void *singleton(rc_heap *h, void **slot, const rc_type *t, int64_t v)
{
    if (!*slot) {
        rci_int *o = rci_new(h, t, t->size);
        if (!o)
            return NULL;
        o->v = v;
        rc_make_immortal(o);
        *slot = o;
    }
    return *slot;
}

void *rc_none(rc_heap *h)
{
    rci_types *ts = rci_types_of(h);
    return ts ? singleton(h, &ts->none, &rc_none_type, 0) : NULL;
}

void *rc_bool(rc_heap *h, int v)
{
    rci_types *ts = rci_types_of(h);
    int b = v != 0;
    return ts ? singleton(h, &ts->bools[b], &rc_bool_type, b) : NULL;
}

void *rc_true(rc_heap *h)
{
    return rc_bool(h, 1);
}

void *rc_false(rc_heap *h)
{
    return rc_bool(h, 0);
}

int rc_bool_value(const void *o)
{
    if (rci_likely(rci_is_live(o, &rc_bool_type)))
        return (int)rci_int_v(o);
    rci_wrong_type(o, &rc_bool_type, "rc_bool_value", true);
    return -1;
}

int rc_is_none(const void *o)
{
    return o && rci_is(o, &rc_none_type);
}
