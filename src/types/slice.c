/*
 * slice.c — Python's slice arithmetic: a slice (start, stop, step, each
 * possibly None) and a sequence length give the indices to visit.
 *
 * Pure arithmetic: calls nothing, allocates nothing, records no error
 * (it has no heap).  list.c, tuple.c and str.c call rci_slice_adjust and
 * record RC_EVALUE themselves when it refuses a zero step.
 *
 * The rules are CPython's PySlice_Unpack + PySlice_AdjustIndices: a
 * negative index counts from the end; what is still outside the sequence
 * is clamped to [0, len] for a positive step and to [-1, len - 1] for a
 * negative one (-1: "before the first item", where a backward walk stops).
 * Lengths stay below INT64_MAX (objects are far smaller), so start + len
 * and the count's arithmetic cannot overflow.
 */
#include "types.h"

/* One index of a slice: None is the default, a negative index counts from
   the end, the rest is clamped to where a walk in step's direction can
   start or stop. */
static int64_t adjust(int64_t i, int64_t dflt, int64_t len, bool backward)
{
    if (i == RC_SLICE_NONE)
        return dflt;
    if (i < 0) {
        i += len;
        if (i < 0)
            return backward ? -1 : 0;
    } else if (i >= len) {
        return backward ? len - 1 : len;
    }
    return i;
}

int rci_slice_adjust(rc_slice s, size_t len, rci_span *out)
{
    int64_t n = (int64_t)len, step = s.step == RC_SLICE_NONE ? 1 : s.step;
    if (step == 0)
        return -1;
    bool back = step < 0;
    int64_t start = adjust(s.start, back ? n - 1 : 0, n, back);
    int64_t stop = adjust(s.stop, back ? -1 : n, n, back);
    uint64_t count = 0; /* both ends lie in [-1, len]: no overflow */
    if (!back && start < stop)
        count = (uint64_t)(stop - start - 1) / (uint64_t)step + 1;
    else if (back && stop < start)
        count = (uint64_t)(start - stop - 1) / (0 - (uint64_t)step) + 1;
    *out = (rci_span){start, stop, step, (size_t)count};
    return 0;
}

/* Python's ADJUST_INDICES: None is dflt, a negative index counts from
   the end (at least 0); only an end is clamped to the length. */
static size_t search_bound(int64_t i, size_t dflt, size_t len, bool is_end)
{
    if (i == RC_SLICE_NONE)
        return dflt;
    if (i < 0)
        return (uint64_t)-i >= len ? 0 : len - (size_t)(uint64_t)-i;
    return is_end && (uint64_t)i > len ? len : (size_t)i;
}

int rci_range_adjust(rc_heap *h, const char *fn, rc_slice r, size_t len, size_t *from,
                     size_t *to)
{
    if (r.step != RC_SLICE_NONE && r.step != 1)
        return rc_error_setf(h, RC_EVALUE, "%s: a search range has no step (got %lld)", fn,
                             (long long)r.step);
    *from = search_bound(r.start, 0, len, false);
    *to = search_bound(r.stop, len, len, true);
    return 0;
}

int rc_slice_indices(rc_slice s, size_t len, int64_t *start, int64_t *stop, int64_t *step,
                     size_t *count)
{
    rci_span sp;
    if (len > INT64_MAX || rci_slice_adjust(s, len, &sp) != 0)
        return -1;
    *start = sp.start;
    *stop = sp.stop;
    *step = sp.step;
    *count = sp.count;
    return 0;
}
