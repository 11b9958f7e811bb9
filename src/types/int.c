/*
 * int.c — ints: the int64 form, with a per-heap cache of small values, and
 * the public operations on ints of any size (bigint.c holds the big form
 * and the arithmetic on it).
 *
 * Values in [RC_SMALL_INT_MIN, RC_SMALL_INT_MAX] are made once per heap, on
 * first use, as immortal objects: the counters, indices and flags that
 * dominate integer traffic then cost no allocation at all (see
 * docs/PERFORMANCE.md for the range's measurement).  An int is a leaf:
 * 8 bytes of payload, 16 bytes with its header.  The operations take the
 * int64 path when both operands are int64 and the result does not
 * overflow, and bigint.c otherwise.
 */
#include "types.h"

#include <string.h>

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

/* o, a big int, does not fit int64: RC_EOVERFLOW, as Python's
   OverflowError from a C conversion. */
static void too_big(const void *o, const char *fn)
{
    rc_error_setf(rci_heap_of(o), RC_EOVERFLOW, "%s: int too large to convert to int64", fn);
}

int64_t rc_int_value(const void *o)
{
    if (rci_likely(rci_is_live(o, &rc_int_type)) || rci_is_live(o, &rc_bool_type))
        return rci_int_v(o);
    if (rci_is_live(o, &rc_bigint_type))
        too_big(o, "rc_int_value");
    else
        rci_wrong_type(o, &rc_int_type, "rc_int_value", false);
    return 0;
}

/* The form of a live int operand: 1 int64 (or bool), 2 big, 0 not an int. */
static int int_form(const void *o)
{
    const rc_type *t = rc_typeof(o);
    if (rci_head(o)->flags & RCI_F_FREE)
        return 0;
    return rci_is_intlike(t) ? 1 : t == &rc_bigint_type ? 2 : 0;
}

int rc_is_int(const void *o)
{
    return o && int_form(o) != 0;
}

/* Both operands' forms, or 0 after reporting the first that is not an
   int (a debug heap stops there). */
static int forms(const void *a, const void *b, const char *fn)
{
    int fa = int_form(a), fb = b ? int_form(b) : 1;
    if (!fa || !fb) {
        const void *bad = !fa ? a : b;
        rci_wrong_type(bad, &rc_int_type, fn, false); /* recorded on bad's heap */
        if (rci_heap_of(bad) != rci_heap_of(a)) /* and on a's: where the result would go */
            rci_fail(rci_heap_of(a), RC_ETYPE);
        return 0;
    }
    return fa == 1 && fb == 1 ? 1 : 2;
}

int rc_int_to_int64(const void *o, int64_t *out)
{
    int f = forms(o, NULL, "rc_int_to_int64");
    if (f == 1)
        *out = rci_int_v(o);
    else if (f == 2)
        too_big(o, "rc_int_to_int64");
    return f == 1 ? 0 : -1;
}

void *rc_int_add(const void *a, const void *b)
{
    int f = forms(a, b, "rc_int_add");
    int64_t r;
    if (f == 1 && !__builtin_add_overflow(rci_int_v(a), rci_int_v(b), &r))
        return rc_int(rci_heap_of(a), r);
    return f ? rci_bigint_addsub(rci_heap_of(a), a, b, false) : NULL;
}

void *rc_int_sub(const void *a, const void *b)
{
    int f = forms(a, b, "rc_int_sub");
    int64_t r;
    if (f == 1 && !__builtin_sub_overflow(rci_int_v(a), rci_int_v(b), &r))
        return rc_int(rci_heap_of(a), r);
    return f ? rci_bigint_addsub(rci_heap_of(a), a, b, true) : NULL;
}

void *rc_int_mul(const void *a, const void *b)
{
    int f = forms(a, b, "rc_int_mul");
    int64_t r;
    if (f == 1 && !__builtin_mul_overflow(rci_int_v(a), rci_int_v(b), &r))
        return rc_int(rci_heap_of(a), r);
    return f ? rci_bigint_mul(rci_heap_of(a), a, b) : NULL;
}

void *rc_int_neg(const void *a)
{
    int f = forms(a, NULL, "rc_int_neg");
    if (f == 1 && rci_int_v(a) != INT64_MIN)
        return rc_int(rci_heap_of(a), -rci_int_v(a));
    return f ? rci_bigint_neg(rci_heap_of(a), a) : NULL;
}

/* a // b and a % b, floored as in Python; want_q picks which. */
static void *divide(const void *a, const void *b, bool want_q, const char *fn)
{
    int f = forms(a, b, fn);
    if (!f)
        return NULL;
    rc_heap *h = rci_heap_of(a);
    if (rc_typeof(b) != &rc_bigint_type && rci_int_v(b) == 0)
        return rci_failf_null(h, RC_EVALUE, "%s: integer division or modulo by zero", fn);
    int64_t x = rci_int_v(a), y = rci_int_v(b);
    if (f == 1 && !(x == INT64_MIN && y == -1)) { /* that one overflows */
        int64_t q = x / y, r = x % y;
        if (r && (r < 0) != (y < 0)) { /* truncated to floored */
            q--;
            r += y;
        }
        return rc_int(h, want_q ? q : r);
    }
    void *out = NULL;
    rci_bigint_divmod(h, a, b, want_q ? &out : NULL, want_q ? NULL : &out);
    return out;
}

void *rc_int_floordiv(const void *a, const void *b)
{
    return divide(a, b, true, "rc_int_floordiv");
}

void *rc_int_mod(const void *a, const void *b)
{
    return divide(a, b, false, "rc_int_mod");
}

/* ---- Decimal text --------------------------------------------------------- */

void *rc_int_from_str(rc_heap *h, const char *s, size_t n)
{
    bool neg = n && s[0] == '-';
    size_t sign = n && (s[0] == '-' || s[0] == '+');
    size_t digits = n - sign;
    if (digits > RC_INT_MAX_STR_DIGITS) /* refused before any work */
        return rci_failf_null(h, RC_EVALUE, "rc_int_from_str: %zu digits exceed the limit "
                              "(%d) for integer string conversion", digits,
                              RC_INT_MAX_STR_DIGITS);
    bool ok = digits > 0;
    for (size_t i = sign; ok && i < n; i++)
        ok = s[i] >= '0' && s[i] <= '9';
    if (!ok)
        return rci_failf_null(h, RC_EVALUE, "rc_int_from_str: invalid literal: '%.*s'",
                              n > 40 ? 40 : (int)n, s);
    if (digits <= 18) { /* fits int64 */
        int64_t v = 0;
        for (size_t i = sign; i < n; i++)
            v = v * 10 + (s[i] - '0');
        return rc_int(h, neg ? -v : v);
    }
    return rci_bigint_from_digits(h, neg, s + sign, digits);
}

void *rc_int_to_str(const void *o)
{
    int f = forms(o, NULL, "rc_int_to_str");
    rc_heap *h = rci_heap_of(o);
    if (f != 1)
        return f ? rci_bigint_to_str(h, o) : NULL;
    char buf[24];
    int n = snprintf(buf, sizeof buf, "%lld", (long long)rci_int_v(o));
    return rc_str(h, buf, (size_t)n);
}
