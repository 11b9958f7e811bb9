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

#include <float.h>
#include <math.h>
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

static bool is_zero(const void *o)
{
    return rc_typeof(o) != &rc_bigint_type && rci_int_v(o) == 0;
}

static bool is_negative(const void *o)
{
    return rc_typeof(o) == &rc_bigint_type ? ((const rci_bigint *)o)->neg : rci_int_v(o) < 0;
}

/* a // b and a % b, floored as in Python; want_q picks which. */
static void *divide(const void *a, const void *b, bool want_q, const char *fn)
{
    int f = forms(a, b, fn);
    if (!f)
        return NULL;
    rc_heap *h = rci_heap_of(a);
    if (is_zero(b))
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

/* ---- Bitwise operations and shifts ----------------------------------------- */

/* a & b, a | b, a ^ b (op '&', '|', '^'): int64 operands in the machine's
   two's complement, which is Python's; bigint.c extends it to any size. */
static void *bitop(const void *a, const void *b, char op, const char *fn)
{
    int f = forms(a, b, fn);
    if (f != 1)
        return f ? rci_bigint_bitop(rci_heap_of(a), a, b, op) : NULL;
    int64_t x = rci_int_v(a), y = rci_int_v(b);
    return rc_int(rci_heap_of(a), op == '&' ? x & y : op == '|' ? x | y : x ^ y);
}

void *rc_int_and(const void *a, const void *b)
{
    return bitop(a, b, '&', "rc_int_and");
}

void *rc_int_or(const void *a, const void *b)
{
    return bitop(a, b, '|', "rc_int_or");
}

void *rc_int_xor(const void *a, const void *b)
{
    return bitop(a, b, '^', "rc_int_xor");
}

void *rc_int_invert(const void *a)
{
    int f = forms(a, NULL, "rc_int_invert");
    rc_heap *h = rci_heap_of(a);
    if (f == 1)
        return rc_int(h, ~rci_int_v(a));
    void *minus_one = f ? rc_int(h, -1) : NULL; /* ~a is a ^ -1 */
    return minus_one ? rci_bigint_bitop(h, a, minus_one, '^') : NULL;
}

/* a << b or a >> b (floor(a / 2**b)); a count beyond uint64 is as good as
   infinite. */
static void *shift(const void *a, const void *b, bool left, const char *fn)
{
    int f = forms(a, b, fn);
    if (!f)
        return NULL;
    rc_heap *h = rci_heap_of(a);
    if (is_negative(b))
        return rci_failf_null(h, RC_EVALUE, "%s: negative shift count", fn);
    uint64_t k = rc_typeof(b) == &rc_bigint_type ? UINT64_MAX : (uint64_t)rci_int_v(b);
    if (rc_typeof(a) != &rc_bigint_type) {
        int64_t v = rci_int_v(a);
        if (!left) /* ~(~v >> k): no right shift of a negative value */
            return rc_int(h, k >= 63 ? (v < 0 ? -1 : 0) : v >= 0 ? v >> k : ~(~v >> k));
        if (v == 0)
            return rc_int(h, 0);
        if (k < 63 && v <= INT64_MAX >> k && v >= -(INT64_MAX >> k) - 1)
            return rc_int(h, v * ((int64_t)1 << k));
    }
    return left ? rci_bigint_lshift(h, a, k) : rci_bigint_rshift(h, a, k);
}

void *rc_int_lshift(const void *a, const void *b)
{
    return shift(a, b, true, "rc_int_lshift");
}

void *rc_int_rshift(const void *a, const void *b)
{
    return shift(a, b, false, "rc_int_rshift");
}

/* ---- Conversion to float, true division --------------------------------- */

/* o (an int known to be one) as the nearest double, recording failure on h. */
static int to_double(rc_heap *h, const void *o, double *out)
{
    if (rc_typeof(o) == &rc_bigint_type)
        return rci_bigint_to_double(h, o, out);
    *out = (double)rci_int_v(o); /* C rounds to nearest, ties to even */
    return 0;
}

int rc_int_to_double(const void *o, double *out)
{
    return forms(o, NULL, "rc_int_to_double") ? to_double(rci_heap_of(o), o, out) : -1;
}

void *rc_int_truediv(const void *a, const void *b)
{
    int f = forms(a, b, "rc_int_truediv");
    if (!f)
        return NULL;
    rc_heap *h = rci_heap_of(a);
    if (is_zero(b))
        return rci_failf_null(h, RC_EVALUE, "rc_int_truediv: division by zero");
    const int64_t exact = (int64_t)1 << DBL_MANT_DIG; /* ints every double holds */
    double d;
    if (f == 1 && rci_int_v(a) >= -exact && rci_int_v(a) <= exact && rci_int_v(b) >= -exact &&
        rci_int_v(b) <= exact) /* exact operands: one IEEE division rounds right */
        d = (double)rci_int_v(a) / (double)rci_int_v(b);
    else if (rci_bigint_truediv(h, a, b, &d) != 0)
        return NULL;
    return rc_float(h, d);
}

/* ---- Powers ----------------------------------------------------------------- */

#define MAX_BITS ((uint64_t)1 << 31) /* bigint.c's limit on a result */

/* *slot = v, releasing the old value: false when v is NULL (a failure
   recorded), *slot then NULL. */
static bool take(void **slot, void *v)
{
    rc_decref(*slot);
    *slot = v;
    return v != NULL;
}

static bool mul_mod(void **r, const void *x, const void *m)
{
    return take(r, rc_int_mul(*r, x)) && (!m || take(r, rc_int_mod(*r, m)));
}

/* base**e (e >= 0), reduced mod m after every product when m is not NULL
   (floor mod, so the result has m's sign): squaring and multiplying by
   e's bits, the most significant first.  New reference or NULL. */
static void *pow_bits(rc_heap *h, const void *base, const void *e, const void *m)
{
    void *r = rc_int(h, 1);
    bool ok = r && (!m || take(&r, rc_int_mod(r, m)));
    for (size_t i = rci_int_bit_length(e); ok && i-- > 0;)
        ok = mul_mod(&r, r, m) && (!rci_int_bit(e, i) || mul_mod(&r, base, m));
    return r;
}

/* The inverse of a modulo m (|m| > 1) by Euclid's extended algorithm,
   keeping old_s * a == old_r and s * a == r (mod m). */
static void *mod_inverse(rc_heap *h, const void *a, const void *m)
{
    void *zero = rc_int(h, 0), *one = rc_int(h, 1); /* immortal */
    if (!zero || !one)
        return NULL;
    void *old_r = rc_int_add(zero, m), *r = rc_int_mod(a, m), *old_s = zero, *s = one;
    bool ok = old_r && r;
    while (ok && !is_zero(r)) {
        void *q = rc_int_floordiv(old_r, r);
        void *next_r = q ? rc_int_mod(old_r, r) : NULL;
        void *qs = next_r ? rc_int_mul(q, s) : NULL;
        void *next_s = qs ? rc_int_sub(old_s, qs) : NULL;
        ok = next_s != NULL;
        rc_decref(q);
        rc_decref(qs);
        take(&old_r, r);
        r = next_r;
        take(&old_s, s);
        s = next_s;
    }
    void *inv = NULL; /* old_r is the gcd, or minus it */
    int64_t g = ok && rc_typeof(old_r) != &rc_bigint_type ? rci_int_v(old_r) : 0;
    if (g == 1 || g == -1)
        inv = g == 1 ? (rc_incref(old_s), old_s) : rc_int_neg(old_s);
    else if (ok)
        rci_failf_null(h, RC_EVALUE, "rc_int_pow: base is not invertible for the given modulus");
    rc_decref(old_r);
    rc_decref(r);
    rc_decref(old_s);
    rc_decref(s);
    return inv;
}

/* a**b with b < 0 and no modulus: a float, as Python's (both as floats). */
static void *pow_negative(rc_heap *h, const void *a, const void *b)
{
    double x, y;
    if (to_double(h, a, &x) != 0 || to_double(h, b, &y) != 0)
        return NULL;
    if (x == 0)
        return rci_failf_null(h, RC_EVALUE, "rc_int_pow: 0.0 cannot be raised to a negative power");
    return rc_float(h, pow(x, y));
}

void *rc_int_pow(const void *a, const void *b, const void *m)
{
    if (!forms(a, b, "rc_int_pow") || (m && !forms(a, m, "rc_int_pow")))
        return NULL;
    rc_heap *h = rci_heap_of(a);
    bool negative = is_negative(b);
    if (!m) {
        if (negative)
            return pow_negative(h, a, b);
        size_t la = rci_int_bit_length(a); /* |a| >= 2: a**b has over (la - 1) * b bits */
        uint64_t bits;
        if (la > 1 && (rc_typeof(b) == &rc_bigint_type ||
                       __builtin_mul_overflow((uint64_t)(la - 1), (uint64_t)rci_int_v(b), &bits) ||
                       bits >= MAX_BITS))
            return rci_failf_null(h, RC_EOVERFLOW, "rc_int_pow: int too large (over 2**31 bits)");
        return pow_bits(h, a, b, NULL);
    }
    if (is_zero(m))
        return rci_failf_null(h, RC_EVALUE, "rc_int_pow: pow() 3rd argument cannot be 0");
    if (rc_typeof(m) != &rc_bigint_type && (rci_int_v(m) == 1 || rci_int_v(m) == -1))
        return rc_int(h, 0);
    void *base = negative ? mod_inverse(h, a, m) : rc_int_mod(a, m);
    void *e = negative && base ? rc_int_neg(b) : NULL; /* pow(a, -k, m) = pow(1 / a, k, m) */
    void *r = base && (!negative || e) ? pow_bits(h, base, e ? e : b, m) : NULL;
    rc_decref(base);
    rc_decref(e);
    return r;
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
