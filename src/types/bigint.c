/*
 * bigint.c — ints beyond int64: the big variant of int and the magnitude
 * arithmetic behind rc_int_add, _sub, _mul, _floordiv, _mod and _neg.
 *
 * An int is stored in one of two ways, and each value has exactly one:
 * a value that fits int64 is an rc_int_type object (8 bytes, small values
 * cached), anything else an rc_bigint_type object holding its magnitude in
 * 32-bit limbs, least significant first, and a sign.  So ints that fit pay
 * nothing for the big variant, and a big int never equals an int64 one.
 * CPython keeps every int in 30-bit digits (with a compact form for one
 * digit); QuickJS has a separate BigInt type with its own literals; Lua
 * 5.4 wraps around at 64 bits.  32-bit limbs with 64-bit intermediates
 * are the simplest choice in C11 and use every bit.
 *
 * The big variant behaves through the type slots (hash, eq, compare,
 * repr), as a user type would: rc_hash, rc_equal, rc_compare and rc_repr
 * need no case of their own for it.  A big int equal to a float (2**64 and
 * 2.0**64) hashes as that float does, so the two are one dict key.
 *
 * Algorithms are the schoolbook ones: multiplication and division are
 * O(n*m) in limbs, and decimal conversion is quadratic, which is why text
 * is limited to RC_INT_MAX_STR_DIGITS digits (CPython's default limit).
 */
#include "types.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#define LIMB_BITS 32
#define DEC_BASE 1000000000u /* 10^9: nine decimal digits per chunk */
/* Most limbs of a result: 2^26 limbs is 2^31 bits (646 million digits). */
#define MAX_LIMBS ((size_t)1 << 26)
/* Limbs a scratch buffer holds on the C stack before asking the heap. */
#define LOCAL_LIMBS 64

/* ---- Magnitudes ----------------------------------------------------------- */

/* An int's magnitude and sign, read in place: limbs of a big int, or the
   two limbs of an int64's absolute value held in buf. */
typedef struct mag {
    const uint32_t *d;
    size_t n;          /* limbs; no leading zero limb; 0 for zero */
    bool neg;
    uint32_t buf[2];
} mag;

static size_t trim(const uint32_t *d, size_t n)
{
    while (n && !d[n - 1])
        n--;
    return n;
}

static void mag_of_int64(mag *m, int64_t v)
{
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    m->buf[0] = (uint32_t)u;
    m->buf[1] = (uint32_t)(u >> 32);
    m->d = m->buf;
    m->n = trim(m->buf, 2);
    m->neg = v < 0;
}

/* o is an int, a bool or a big int. */
static void mag_of(mag *m, const void *o)
{
    if (rc_typeof(o) == &rc_bigint_type) {
        const rci_bigint *b = o;
        m->d = b->d;
        m->n = b->n;
        m->neg = b->neg;
    } else {
        mag_of_int64(m, rci_int_v(o));
    }
}

static int mag_cmp(const uint32_t *a, size_t na, const uint32_t *b, size_t nb)
{
    if (na != nb)
        return na > nb ? 1 : -1;
    while (na--)
        if (a[na] != b[na])
            return a[na] > b[na] ? 1 : -1;
    return 0;
}

/* Bits of m's magnitude (0 for zero). */
static size_t mag_bits(const mag *m)
{
    return m->n ? m->n * LIMB_BITS - (size_t)__builtin_clz(m->d[m->n - 1]) : 0;
}

/* Limb i of m, 0 past its top. */
static uint32_t limb_at(const mag *m, size_t i)
{
    return i < m->n ? m->d[i] : 0;
}

/* r = a + b, na >= nb; r has room for na + 1 limbs.  Returns the limbs. */
static size_t mag_add(uint32_t *r, const uint32_t *a, size_t na, const uint32_t *b, size_t nb)
{
    uint64_t carry = 0;
    for (size_t i = 0; i < na; i++) {
        carry += (uint64_t)a[i] + (i < nb ? b[i] : 0);
        r[i] = (uint32_t)carry;
        carry >>= LIMB_BITS;
    }
    r[na] = (uint32_t)carry;
    return trim(r, na + 1);
}

/* r = a - b, a >= b (as magnitudes); r has room for na limbs. */
static size_t mag_sub(uint32_t *r, const uint32_t *a, size_t na, const uint32_t *b, size_t nb)
{
    uint32_t borrow = 0;
    for (size_t i = 0; i < na; i++) {
        uint64_t x = (uint64_t)a[i] - (i < nb ? b[i] : 0) - borrow;
        r[i] = (uint32_t)x;
        borrow = (uint32_t)(x >> 63);
    }
    return trim(r, na);
}

/* r = a * b; r has room for na + nb limbs. */
static size_t mag_mul(uint32_t *r, const uint32_t *a, size_t na, const uint32_t *b, size_t nb)
{
    memset(r, 0, (na + nb) * sizeof *r);
    for (size_t i = 0; i < na; i++) {
        uint64_t carry = 0;
        for (size_t j = 0; j < nb; j++) {
            carry += (uint64_t)a[i] * b[j] + r[i + j];
            r[i + j] = (uint32_t)carry;
            carry >>= LIMB_BITS;
        }
        r[i + nb] = (uint32_t)carry;
    }
    return trim(r, na + nb);
}

/* a /= d in place (a has n limbs); returns the remainder. */
static uint32_t mag_div_small(uint32_t *a, size_t n, uint32_t d)
{
    uint64_t rem = 0;
    while (n--) {
        uint64_t x = rem << LIMB_BITS | a[n];
        a[n] = (uint32_t)(x / d);
        rem = x % d;
    }
    return (uint32_t)rem;
}

/* a = a * m + add in place; a has room for one more limb than n. */
static size_t mag_mul_add_small(uint32_t *a, size_t n, uint32_t m, uint32_t add)
{
    uint64_t carry = add;
    for (size_t i = 0; i < n; i++) {
        carry += (uint64_t)a[i] * m;
        a[i] = (uint32_t)carry;
        carry >>= LIMB_BITS;
    }
    a[n] = (uint32_t)carry;
    return trim(a, n + 1);
}

/* out = in << s (0 <= s < 32), n limbs in, n + 1 out (the top may be 0). */
static void shift_left(uint32_t *out, const uint32_t *in, size_t n, unsigned s)
{
    out[n] = s ? in[n - 1] >> (LIMB_BITS - s) : 0;
    for (size_t i = n - 1; i > 0; i--)
        out[i] = s ? in[i] << s | in[i - 1] >> (LIMB_BITS - s) : in[i];
    out[0] = in[0] << s;
}

/* Knuth's algorithm D (TAOCP 4.3.1): q = u / v, r = u % v for nu >= nv >= 2.
   un (nu + 1 limbs) and vn (nv limbs) are scratch for the normalized
   operands; q has room for nu - nv + 1 limbs, r for nv. */
static void mag_divmod_long(const uint32_t *u, size_t nu, const uint32_t *v, size_t nv,
                            uint32_t *q, uint32_t *r, uint32_t *un, uint32_t *vn)
{
    const uint64_t B = (uint64_t)1 << LIMB_BITS;
    unsigned s = (unsigned)__builtin_clz(v[nv - 1]);
    shift_left(un, u, nu, s);
    /* vn gets nv limbs: the shifted top limb cannot carry out */
    for (size_t i = nv - 1; i > 0; i--)
        vn[i] = s ? v[i] << s | v[i - 1] >> (LIMB_BITS - s) : v[i];
    vn[0] = v[0] << s;
    for (size_t j = nu - nv + 1; j-- > 0;) {
        uint64_t top = (uint64_t)un[j + nv] << LIMB_BITS | un[j + nv - 1];
        uint64_t qhat = top / vn[nv - 1], rhat = top % vn[nv - 1];
        while (qhat >= B || qhat * vn[nv - 2] > (rhat << LIMB_BITS | un[j + nv - 2])) {
            qhat--;
            rhat += vn[nv - 1];
            if (rhat >= B)
                break;
        }
        /* un[j .. j + nv] -= qhat * vn */
        int64_t borrow = 0;
        uint64_t carry = 0;
        for (size_t i = 0; i < nv; i++) {
            uint64_t p = qhat * vn[i] + carry;
            carry = p >> LIMB_BITS;
            int64_t t = (int64_t)un[i + j] - borrow - (int64_t)(uint32_t)p;
            un[i + j] = (uint32_t)t;
            borrow = t < 0;
        }
        int64_t t = (int64_t)un[j + nv] - borrow - (int64_t)carry;
        un[j + nv] = (uint32_t)t;
        if (t < 0) { /* qhat was one too many: add vn back */
            qhat--;
            uint64_t c = 0;
            for (size_t i = 0; i < nv; i++) {
                c += (uint64_t)un[i + j] + vn[i];
                un[i + j] = (uint32_t)c;
                c >>= LIMB_BITS;
            }
            un[j + nv] += (uint32_t)c;
        }
        q[j] = (uint32_t)qhat;
    }
    for (size_t i = 0; i < nv; i++) /* un >> s */
        r[i] = s ? un[i] >> s | un[i + 1] << (LIMB_BITS - s) : un[i];
}

/* ---- Scratch limbs: on the stack when few, else a raw block ---------------- */

typedef struct scratch {
    rc_heap *h;
    uint32_t *d;
    uint32_t local[LOCAL_LIMBS];
} scratch;

/* n limbs (n >= 1), or NULL with RC_ENOMEM / RC_EOVERFLOW recorded. */
static uint32_t *scratch_get(scratch *s, rc_heap *h, size_t n)
{
    s->h = h;
    if (n > MAX_LIMBS * 2 + 4)
        return s->d = rci_failf_null(h, RC_EOVERFLOW, "int too large (over 2**31 bits)");
    if (n <= LOCAL_LIMBS)
        return s->d = s->local;
    s->d = rc_mem_alloc(h, n * sizeof *s->d);
    return s->d ? s->d : rci_fail_null(h, RC_ENOMEM);
}

static void scratch_put(scratch *s)
{
    if (s->d && s->d != s->local)
        rc_mem_free(s->h, s->d);
}

/* ---- Results -------------------------------------------------------------- */

/* The int with magnitude d[0..n) and sign neg: an int64 object when it
   fits (so each value has one form), else a new big int. */
static void *make_int(rc_heap *h, bool neg, const uint32_t *d, size_t n)
{
    n = trim(d, n);
    if (n <= 2) {
        uint64_t u = n ? d[0] | (n > 1 ? (uint64_t)d[1] << LIMB_BITS : 0) : 0;
        if (!neg && u <= INT64_MAX)
            return rc_int(h, (int64_t)u);
        if (neg && u <= (uint64_t)INT64_MAX + 1)
            return rc_int(h, u == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)u);
    }
    if (n > MAX_LIMBS)
        return rci_failf_null(h, RC_EOVERFLOW, "int too large (over 2**31 bits)");
    rci_bigint *b = rci_new(h, &rc_bigint_type, sizeof *b + n * sizeof *d);
    if (!b)
        return NULL;
    b->n = (uint32_t)n;
    b->neg = neg;
    memcpy(b->d, d, n * sizeof *d);
    return b;
}

/* ---- Arithmetic (the slow paths of int.c's operations) ------------------- */

void *rci_bigint_addsub(rc_heap *h, const void *a, const void *b, bool subtract)
{
    mag ma, mb;
    mag_of(&ma, a);
    mag_of(&mb, b);
    mb.neg = mb.neg != subtract;
    const mag *x = &ma, *y = &mb; /* x: the larger magnitude */
    if (mag_cmp(ma.d, ma.n, mb.d, mb.n) < 0) {
        x = &mb;
        y = &ma;
    }
    scratch s;
    uint32_t *r = scratch_get(&s, h, x->n + 1);
    if (!r)
        return NULL;
    size_t n = x->neg == y->neg ? mag_add(r, x->d, x->n, y->d, y->n)
                                : mag_sub(r, x->d, x->n, y->d, y->n);
    void *out = make_int(h, x->neg && n, r, n);
    scratch_put(&s);
    return out;
}

void *rci_bigint_mul(rc_heap *h, const void *a, const void *b)
{
    mag x, y;
    mag_of(&x, a);
    mag_of(&y, b);
    if (!x.n || !y.n)
        return rc_int(h, 0);
    scratch s;
    uint32_t *r = scratch_get(&s, h, x.n + y.n);
    if (!r)
        return NULL;
    size_t n = mag_mul(r, x.d, x.n, y.d, y.n);
    void *out = make_int(h, x.neg != y.neg, r, n);
    scratch_put(&s);
    return out;
}

/* q = x / y, r = x % y truncated, as magnitudes (y nonzero): q gets
   x->n - y->n + 1 limbs (at least 1), r y->n, both zero-padded; un and vn
   are scratch of x->n + 1 and y->n limbs. */
static void mag_divmod(const mag *x, const mag *y, uint32_t *q, uint32_t *r, uint32_t *un,
                       uint32_t *vn)
{
    size_t nq = x->n >= y->n ? x->n - y->n + 1 : 1;
    memset(q, 0, nq * sizeof *q);
    memset(r, 0, y->n * sizeof *r);
    if (mag_cmp(x->d, x->n, y->d, y->n) < 0) {
        memcpy(r, x->d, x->n * sizeof *r);
    } else if (y->n == 1) {
        memcpy(q, x->d, x->n * sizeof *q);
        r[0] = mag_div_small(q, x->n, y->d[0]);
    } else {
        mag_divmod_long(x->d, x->n, y->d, y->n, q, r, un, vn);
    }
}

/* Python's floor division: the quotient rounded toward minus infinity,
   and the remainder a - q * b, which has b's sign.  *q or *r may be NULL
   when not wanted.  b must not be zero (int.c checks). */
int rci_bigint_divmod(rc_heap *h, const void *a, const void *b, void **q, void **r)
{
    mag x, y;
    mag_of(&x, a);
    mag_of(&y, b);
    size_t nq = x.n >= y.n ? x.n - y.n + 1 : 1;
    /* one block: quotient (+1 for the floor step), remainder (+1),
       normalized dividend, normalized divisor */
    scratch s;
    uint32_t *buf = scratch_get(&s, h, (nq + 1) + (y.n + 1) + (x.n + 1) + y.n);
    if (!buf)
        return -1;
    uint32_t *qd = buf, *rd = qd + nq + 1, *un = rd + y.n + 1, *vn = un + x.n + 1;
    mag_divmod(&x, &y, qd, rd, un, vn);
    size_t qn = trim(qd, nq), rn = trim(rd, y.n);
    if (rn && x.neg != y.neg) { /* truncated to floored: q - 1, r + b */
        uint32_t one = 1;
        qn = qn ? mag_add(qd, qd, qn, &one, 1) : (qd[0] = 1);
        rn = mag_sub(rd, y.d, y.n, rd, rn);
    }
    int result = 0;
    if (q && !(*q = make_int(h, x.neg != y.neg && qn, qd, qn)))
        result = -1;
    if (result == 0 && r && !(*r = make_int(h, y.neg && rn, rd, rn))) {
        if (q)
            rc_decref(*q);
        result = -1;
    }
    scratch_put(&s);
    return result;
}

void *rci_bigint_neg(rc_heap *h, const void *a)
{
    mag x;
    mag_of(&x, a);
    return make_int(h, !x.neg && x.n, x.d, x.n);
}

/* ---- Shifts and bitwise operations ---------------------------------------- */

/* r = m << k; r has room for m->n + k / 32 + 1 limbs (m nonzero).
   Returns the limbs. */
static size_t mag_shl(uint32_t *r, const mag *m, uint64_t k)
{
    size_t limbs = (size_t)(k / LIMB_BITS);
    memset(r, 0, limbs * sizeof *r);
    shift_left(r + limbs, m->d, m->n, (unsigned)(k % LIMB_BITS));
    return trim(r, m->n + limbs + 1);
}

/* r = m >> k, with k / 32 < m->n; r has room for m->n - k / 32 limbs.
   Returns the limbs; *lost: a 1 bit was shifted out. */
static size_t mag_shr(uint32_t *r, const mag *m, uint64_t k, bool *lost)
{
    size_t limbs = (size_t)(k / LIMB_BITS), n = m->n - limbs;
    unsigned s = (unsigned)(k % LIMB_BITS);
    *lost = s && (m->d[limbs] << (LIMB_BITS - s));
    for (size_t i = 0; i < limbs && !*lost; i++)
        *lost = m->d[i] != 0;
    for (size_t i = 0; i < n; i++)
        r[i] = s ? m->d[limbs + i] >> s | limb_at(m, limbs + i + 1) << (LIMB_BITS - s)
                 : m->d[limbs + i];
    return trim(r, n);
}

void *rci_bigint_lshift(rc_heap *h, const void *a, uint64_t k)
{
    mag x;
    mag_of(&x, a);
    if (!x.n)
        return rc_int(h, 0);
    if (k > (uint64_t)MAX_LIMBS * LIMB_BITS)
        return rci_failf_null(h, RC_EOVERFLOW, "int too large (over 2**31 bits)");
    scratch s;
    uint32_t *r = scratch_get(&s, h, x.n + (size_t)(k / LIMB_BITS) + 1);
    if (!r)
        return NULL;
    void *out = make_int(h, x.neg, r, mag_shl(r, &x, k));
    scratch_put(&s);
    return out;
}

/* Python's a >> k is floor(a / 2**k): a negative a whose shifted-out bits
   are not all 0 rounds away from zero. */
void *rci_bigint_rshift(rc_heap *h, const void *a, uint64_t k)
{
    mag x;
    mag_of(&x, a);
    if (k / LIMB_BITS >= x.n)
        return rc_int(h, x.neg ? -1 : 0);
    scratch s;
    uint32_t *r = scratch_get(&s, h, x.n - (size_t)(k / LIMB_BITS) + 1);
    if (!r)
        return NULL;
    bool lost;
    size_t n = mag_shr(r, &x, k, &lost);
    uint32_t one = 1;
    if (x.neg && lost)
        n = n ? mag_add(r, r, n, &one, 1) : (r[0] = 1);
    void *out = make_int(h, x.neg, r, n);
    scratch_put(&s);
    return out;
}

/* d[0..n) = -d as n-limb two's complement (~d + 1). */
static void negate_limbs(uint32_t *d, size_t n)
{
    uint64_t carry = 1;
    for (size_t i = 0; i < n; i++) {
        carry += (uint32_t)~d[i];
        d[i] = (uint32_t)carry;
        carry >>= LIMB_BITS;
    }
}

/* m as n limbs of two's complement, n > m->n (so the top bit is the sign). */
static void to_twos(uint32_t *out, const mag *m, size_t n)
{
    for (size_t i = 0; i < n; i++)
        out[i] = limb_at(m, i);
    if (m->neg)
        negate_limbs(out, n);
}

/* a & b, a | b or a ^ b (op '&', '|', '^') as Python has them: on the
   infinite two's complement of each, so -1 is all ones. */
void *rci_bigint_bitop(rc_heap *h, const void *a, const void *b, char op)
{
    mag x, y;
    mag_of(&x, a);
    mag_of(&y, b);
    size_t n = (x.n > y.n ? x.n : y.n) + 1;
    scratch s;
    uint32_t *r = scratch_get(&s, h, 2 * n);
    if (!r)
        return NULL;
    uint32_t *t = r + n;
    to_twos(r, &x, n);
    to_twos(t, &y, n);
    for (size_t i = 0; i < n; i++)
        r[i] = op == '&' ? r[i] & t[i] : op == '|' ? r[i] | t[i] : r[i] ^ t[i];
    bool neg = r[n - 1] >> (LIMB_BITS - 1);
    if (neg)
        negate_limbs(r, n);
    void *out = make_int(h, neg, r, n);
    scratch_put(&s);
    return out;
}

size_t rci_int_bit_length(const void *o)
{
    mag m;
    mag_of(&m, o);
    return mag_bits(&m);
}

bool rci_int_bit(const void *o, size_t i)
{
    mag m;
    mag_of(&m, o);
    return (limb_at(&m, i / LIMB_BITS) >> (i % LIMB_BITS)) & 1;
}

/* ---- Conversion to float and true division -------------------------------- */

/* The double nearest (q + f) * 2**e, where f is in (0, 1) when sticky and
   0 otherwise, ties to even, with subnormals rounded on their own grid;
   q > 0.  -1 when it overflows. */
static int round_to_double(uint64_t q, bool sticky, long e, bool neg, double *out)
{
    long bits = 64 - __builtin_clzll(q);
    /* bits the result keeps: 53, fewer when subnormal (its lowest bit is
       2**-1074, and the top bit of the value is 2**(e + bits - 1)) */
    long keep = e + bits + 1074;
    if (keep > DBL_MANT_DIG)
        keep = DBL_MANT_DIG;
    double d = 0;
    if (keep >= 0) { /* below that the value is under 2**-1075: zero */
        long drop = bits - keep;
        uint64_t kept = q;
        if (drop > 0) {
            uint64_t rest = drop >= 64 ? q : q & ((UINT64_C(1) << drop) - 1);
            uint64_t half = UINT64_C(1) << (drop - 1);
            kept = drop >= 64 ? 0 : q >> drop;
            if (rest > half || (rest == half && (sticky || (kept & 1))))
                kept++;
            e += drop;
        }
        d = ldexp((double)kept, (int)e); /* exact: kept <= 2**53 on the grid */
        if (isinf(d))
            return -1;
    }
    *out = neg ? -d : d;
    return 0;
}

static int float_overflow(rc_heap *h, const char *what)
{
    return rc_error_setf(h, RC_EOVERFLOW, "%s too large to convert to float", what);
}

int rci_bigint_to_double(rc_heap *h, const void *o, double *out)
{
    mag m;
    mag_of(&m, o);
    size_t bits = mag_bits(&m);
    if (bits > DBL_MAX_EXP)
        return float_overflow(h, "int");
    size_t e = bits > 64 ? bits - 64 : 0; /* the top 64 bits, the rest sticky */
    size_t l = e / LIMB_BITS;
    unsigned s = (unsigned)(e % LIMB_BITS);
    uint64_t lo = limb_at(&m, l) | (uint64_t)limb_at(&m, l + 1) << LIMB_BITS;
    uint64_t q = s ? lo >> s | (uint64_t)limb_at(&m, l + 2) << (2 * LIMB_BITS - s) : lo;
    bool sticky = s && (limb_at(&m, l) << (LIMB_BITS - s));
    for (size_t i = 0; i < l && !sticky; i++)
        sticky = m.d[i] != 0;
    if (!q) {
        *out = 0;
        return 0;
    }
    return round_to_double(q, sticky, (long)e, m.neg, out) == 0 ? 0 : float_overflow(h, "int");
}

/* a / b correctly rounded (b nonzero): the quotient of a scaled by 2**-s
   (s chosen so it has 55 or 56 bits: 53 kept, a rounding bit, one
   more), whatever was lost a sticky bit, rounded once.  Results beyond
   the double range are known from the operands' lengths before any
   division. */
int rci_bigint_truediv(rc_heap *h, const void *a, const void *b, double *out)
{
    mag x, y;
    mag_of(&x, a);
    mag_of(&y, b);
    bool neg = x.neg != y.neg;
    long diff = (long)mag_bits(&x) - (long)mag_bits(&y); /* the quotient is
                                       in [2**(diff - 1), 2**(diff + 1)) */
    if (diff > DBL_MAX_EXP)
        return rc_error_setf(h, RC_EOVERFLOW, "integer division result too large for a float");
    if (!x.n || diff < -1077) { /* under 2**-1076: rounds to zero */
        *out = neg ? -0.0 : 0.0;
        return 0;
    }
    long sh = diff - (DBL_MANT_DIG + 2);
    size_t nx = sh < 0 ? x.n + (size_t)(-sh) / LIMB_BITS + 1 : x.n - (size_t)sh / LIMB_BITS;
    size_t nq = nx - y.n + 1;
    /* one block: the scaled dividend, quotient, remainder, Knuth's scratch */
    scratch s;
    uint32_t *buf = scratch_get(&s, h, nx + nq + y.n + (nx + 1) + y.n);
    if (!buf)
        return -1;
    uint32_t *xd = buf, *qd = xd + nx, *rd = qd + nq, *un = rd + y.n, *vn = un + nx + 1;
    bool sticky = false;
    mag scaled = {.d = xd, .neg = false};
    if (sh < 0)
        scaled.n = mag_shl(xd, &x, (uint64_t)-sh);
    else
        scaled.n = mag_shr(xd, &x, (uint64_t)sh, &sticky);
    mag_divmod(&scaled, &y, qd, rd, un, vn);
    sticky = sticky || trim(rd, y.n) != 0;
    bool two_limbs = scaled.n > y.n; /* the quotient's: it is below 2**57 */
    uint64_t q = qd[0] | (two_limbs ? (uint64_t)qd[1] << LIMB_BITS : 0);
    scratch_put(&s);
    if (round_to_double(q, sticky, sh, neg, out) != 0)
        return rc_error_setf(h, RC_EOVERFLOW, "integer division result too large for a float");
    return 0;
}

/* ---- Decimal text --------------------------------------------------------- */

void *rci_bigint_from_digits(rc_heap *h, bool neg, const char *s, size_t n)
{
    /* 9 digits fit 29.9 bits: one limb per 9 digits, and one to carry */
    scratch sc;
    uint32_t *d = scratch_get(&sc, h, n / 9 + 2);
    if (!d)
        return NULL;
    size_t limbs = 0;
    size_t first = n % 9 ? n % 9 : 9; /* the leading chunk is the short one */
    for (size_t i = 0; i < n;) {
        size_t len = i ? 9 : first;
        uint32_t chunk = 0, scale = 1;
        for (size_t k = 0; k < len; k++, i++) {
            chunk = chunk * 10 + (uint32_t)(s[i] - '0');
            scale *= 10;
        }
        limbs = mag_mul_add_small(d, limbs, scale, chunk);
    }
    void *out = make_int(h, neg, d, limbs);
    scratch_put(&sc);
    return out;
}

/* Write chunk's decimal digits at out + at (all nine when padded, else
   without leading zeros); returns the new end. */
static size_t put_chunk(char *out, size_t at, uint32_t chunk, bool padded)
{
    char tmp[9];
    size_t k = 0;
    do {
        tmp[k++] = (char)('0' + chunk % 10);
        chunk /= 10;
    } while (chunk || (padded && k < 9));
    while (k)
        out[at++] = tmp[--k];
    return at;
}

/* The decimal digits of b (no sign) into a new raw block of *len bytes +
   NUL; NULL with RC_EVALUE past RC_INT_MAX_STR_DIGITS digits, RC_ENOMEM. */
static char *too_many_digits(rc_heap *h)
{
    return rci_failf_null(h, RC_EVALUE, "int has more than %d digits, the limit for integer "
                          "string conversion", RC_INT_MAX_STR_DIGITS);
}

static char *big_digits(rc_heap *h, const rci_bigint *b, size_t *len)
{
    /* bits >= 32 (n - 1) + 1, so digits > (bits - 1) log10(2): refuse
       before any work when even that is past the limit */
    size_t bits = (size_t)b->n * LIMB_BITS - (size_t)__builtin_clz(b->d[b->n - 1]);
    if ((double)(bits - 1) * 0.30102999566398119 >= RC_INT_MAX_STR_DIGITS)
        return too_many_digits(h);
    size_t chunks_max = b->n * 32 / 29 + 2; /* 10^9 > 2^29 */
    scratch sc;
    uint32_t *w = scratch_get(&sc, h, b->n + chunks_max);
    if (!w)
        return NULL;
    uint32_t *chunks = w + b->n;
    memcpy(w, b->d, b->n * sizeof *w);
    size_t n = b->n, nchunks = 0;
    while (n) {
        chunks[nchunks++] = mag_div_small(w, n, DEC_BASE);
        n = trim(w, n);
    }
    char *out = rc_mem_alloc(h, nchunks * 9 + 1);
    if (!out) {
        scratch_put(&sc);
        return rci_fail_null(h, RC_ENOMEM);
    }
    size_t at = 0;
    for (size_t i = nchunks; i-- > 0;) /* the top chunk without leading zeros */
        at = put_chunk(out, at, chunks[i], i + 1 < nchunks);
    out[at] = 0;
    scratch_put(&sc);
    if (at > RC_INT_MAX_STR_DIGITS) {
        rc_mem_free(h, out);
        return too_many_digits(h);
    }
    *len = at;
    return out;
}

void *rci_bigint_to_str(rc_heap *h, const void *o)
{
    size_t n;
    char *digits = big_digits(h, o, &n);
    if (!digits)
        return NULL;
    void *s = NULL;
    if (((const rci_bigint *)o)->neg) {
        char *t = rc_mem_alloc(h, n + 2);
        if (t) {
            t[0] = '-';
            memcpy(t + 1, digits, n + 1);
            s = rc_str(h, t, n + 1);
            rc_mem_free(h, t);
        } else {
            rci_fail(h, RC_ENOMEM);
        }
    } else {
        s = rc_str(h, digits, n);
    }
    rc_mem_free(h, digits);
    return s;
}

/* ---- The type's slots ----------------------------------------------------- */

/* The double equal to m exactly, if there is one. */
static bool exact_double(const mag *m, double *out)
{
    size_t top = m->n - 1;
    size_t bits = top * LIMB_BITS + (LIMB_BITS - (size_t)__builtin_clz(m->d[top]));
    size_t low_zero = 0;
    while (!m->d[low_zero / LIMB_BITS])
        low_zero += LIMB_BITS;
    low_zero += (size_t)__builtin_ctz(m->d[low_zero / LIMB_BITS]);
    if (bits > 1024 || bits - low_zero > 53)
        return false;
    double d = 0;
    for (size_t i = m->n; i-- > 0;) /* exact: at most 53 significant bits */
        d = d * 4294967296.0 + m->d[i];
    *out = m->neg ? -d : d;
    return true;
}

static int big_hash(const void *self, uint64_t *out)
{
    mag m;
    mag_of(&m, self);
    double d;
    if (exact_double(&m, &d)) { /* equal to a float: hash as that float */
        *out = rci_hash_float(d);
        return 0;
    }
    uint64_t x = m.neg ? UINT64_C(0x9E3779B97F4A7C15) : 0;
    for (size_t i = 0; i < m.n; i++)
        x = rci_hash_int((int64_t)(x ^ m.d[i]));
    *out = x;
    return 0;
}

/* The integral double d (|d| >= 2^63, finite) as a magnitude into buf
   (room for 33 limbs: 2^1024 needs 33). */
static void mag_of_double(mag *m, double d, uint32_t *buf)
{
    int e;
    double f = frexp(fabs(d), &e); /* |d| = f * 2^e, f in [0.5, 1) */
    uint64_t mant = (uint64_t)ldexp(f, 53);
    unsigned shift = (unsigned)(e - 53); /* >= 10: |d| >= 2^63 */
    size_t limb = shift / LIMB_BITS;
    unsigned bit = shift % LIMB_BITS;
    memset(buf, 0, 33 * sizeof *buf);
    buf[limb] = (uint32_t)(mant << bit);
    buf[limb + 1] = (uint32_t)(mant >> (LIMB_BITS - bit));
    if (limb + 2 < 33)
        buf[limb + 2] = bit ? (uint32_t)(mant >> (2 * LIMB_BITS - bit)) : 0;
    m->d = buf;
    m->n = trim(buf, 33);
    m->neg = d < 0;
}

/* self (a big int) against other (any number), exactly: 0 and *out, or -1
   (RC_ETYPE: not a number; RC_EVALUE: NaN, which has no order). */
static int big_compare(const void *self, const void *other, int *out)
{
    rc_heap *h = rci_heap_of(self);
    const rc_type *t = rc_typeof(other);
    mag x, y;
    uint32_t buf[33];
    mag_of(&x, self);
    if (t == &rc_float_type) {
        double d = rci_float_v(other);
        if (isnan(d))
            return rc_error_setf(h, RC_EVALUE, "cannot order an int and NaN");
        if (fabs(d) < 0x1p63 || isinf(d)) { /* |self| >= 2^63 > |d|, or d is infinite */
            *out = isinf(d) ? (d > 0 ? -1 : 1) : (x.neg ? -1 : 1);
            return 0;
        }
        mag_of_double(&y, d, buf);
    } else if (rci_is_intlike(t) || t == &rc_bigint_type) {
        mag_of(&y, other);
    } else {
        return rc_error_setf(h, RC_ETYPE, "cannot order int and %s", t->name);
    }
    if (x.neg != y.neg) {
        *out = x.neg ? -1 : 1;
        return 0;
    }
    int c = mag_cmp(x.d, x.n, y.d, y.n);
    *out = x.neg ? -c : c;
    return 0;
}

static int big_eq(const void *self, const void *other)
{
    const rc_type *t = rc_typeof(other);
    if (!rci_is_intlike(t) && t != &rc_bigint_type && t != &rc_float_type)
        return 0;
    if (t == &rc_float_type && isnan(rci_float_v(other)))
        return 0;
    int c;
    return big_compare(self, other, &c) == 0 ? c == 0 : -1;
}

static int big_repr(const void *self, FILE *out)
{
    rc_heap *h = rci_heap_of(self);
    size_t n;
    char *digits = big_digits(h, self, &n);
    if (!digits)
        return -1;
    int r = fprintf(out, "%s%s", ((const rci_bigint *)self)->neg ? "-" : "", digits) < 0 ? -1 : 0;
    rc_mem_free(h, digits);
    return r;
}

const rc_type rc_bigint_type = {.name = "int",
                                .size = sizeof(rci_bigint),
                                .hash = big_hash,
                                .eq = big_eq,
                                .compare = big_compare,
                                .repr = big_repr};
