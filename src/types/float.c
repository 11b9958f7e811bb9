/*
 * float.c — double-precision floats: a leaf of 8 bytes of payload (16 with
 * its header; CPython's float is 24).  No free list: a float's block comes
 * from its type's own pool bin, whose pop and push are already the few
 * instructions a free list would save (docs/PERFORMANCE.md).
 */
#include "types.h"

#include <math.h>

const rc_type rc_float_type = {.name = "float", .size = sizeof(rci_float)};

void *rc_float(rc_heap *h, double v)
{
    rci_float *o = rci_new(h, &rc_float_type, sizeof *o);
    if (o)
        o->v = v;
    return o;
}

double rc_float_value(const void *o)
{
    if (rci_likely(rci_is_live(o, &rc_float_type)))
        return rci_float_v(o);
    rci_wrong_type(o, &rc_float_type, "rc_float_value", false);
    return NAN;
}
