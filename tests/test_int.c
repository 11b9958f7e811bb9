/*
 * test_int.c — ints of any size: the two forms (int64 with its small-int
 * cache, big), arithmetic at the edges of int64, equality, order and hash
 * across forms and against floats, decimal text and its digit limit,
 * bitwise operations, shifts, pow and true division at their edges, the
 * errors and their messages, an OOM sweep, and "add_list" (a misuse
 * scenario for a debug heap).  int_vs_cpython.py checks the arithmetic
 * against CPython on random expressions.
 */
#define _POSIX_C_SOURCE 200809L
#include "repr_text.h"

#include <math.h>

static void *num(rc_heap *h, const char *s)
{
    void *v = rc_int_from_str(h, s, strlen(s));
    CHECK(v);
    return v;
}

/* o's repr equals text. */
static int repr_is(const void *o, const char *text)
{
    char *got = repr_of(o);
    int same = strcmp(got, text) == 0;
    free(got);
    return same;
}

static void test_forms(rc_heap *h)
{
    void *five = num(h, "5"), *two = rc_int(h, 2), *three = rc_int(h, 3);
    void *sum = rc_int_add(two, three);
    CHECK(five == rc_int(h, 5) && sum == five); /* the small-int cache is kept */
    void *big = num(h, "18446744073709551616"); /* 2**64 */
    CHECK(rc_typeof(big) == &rc_bigint_type && rc_is_int(big) && rc_is_int(five));
    CHECK(rc_is_int(rc_true(h)) && !rc_is_int(NULL) && !rc_gc_is_tracked(big));
    CHECK(repr_is(big, "18446744073709551616"));
    int64_t v = 42;
    CHECK(rc_int_to_int64(big, &v) == -1 && rc_last_error(h) == RC_EOVERFLOW && v == 42);
    rc_clear_error(h);
    CHECK(rc_int_value(big) == 0 && rc_last_error(h) == RC_EOVERFLOW);
    rc_clear_error(h);
    /* results that fit int64 come back in the int64 form */
    void *max = rc_int(h, INT64_MAX), *min = rc_int(h, INT64_MIN), *one = rc_int(h, 1);
    void *over = rc_int_add(max, one), *back = rc_int_sub(over, one);
    CHECK(rc_typeof(over) == &rc_bigint_type && repr_is(over, "9223372036854775808"));
    CHECK(rc_typeof(back) == &rc_int_type && rc_int_value(back) == INT64_MAX);
    void *under = rc_int_sub(min, one), *negmin = rc_int_neg(min), *m1 = rc_int(h, -1);
    void *q = rc_int_floordiv(min, m1), *r = rc_int_mod(min, m1), *nn = rc_int_neg(negmin);
    CHECK(repr_is(under, "-9223372036854775809") && repr_is(negmin, "9223372036854775808"));
    CHECK(rc_equal(q, negmin) == 1 && r == rc_int(h, 0));
    CHECK(rc_typeof(nn) == &rc_int_type && rc_int_value(nn) == INT64_MIN);
    CHECK(rc_int_to_int64(nn, &v) == 0 && v == INT64_MIN);
    /* bools are ints */
    void *t2 = rc_int_add(rc_true(h), rc_true(h));
    CHECK(t2 == rc_int(h, 2));
    /* text */
    void *s = rc_int_to_str(under), *s5 = rc_int_to_str(rc_int(h, -5));
    CHECK(strcmp(rc_str_data(s, NULL), "-9223372036854775809") == 0);
    CHECK(strcmp(rc_str_data(s5, NULL), "-5") == 0);
    void *plus = num(h, "+000000000000000000000000000012"), *negzero = num(h, "-0");
    CHECK(plus == rc_int(h, 12) && negzero == rc_int(h, 0));
    void *objs[] = {five, two, three, sum, big, max, min, one, over, back, under, negmin,
                    m1, q, r, nn, t2, s, s5, plus, negzero};
    for (size_t i = 0; i < sizeof objs / sizeof *objs; i++)
        rc_decref(objs[i]);
    CHECK_VALID(h);
}

static void test_against_floats(rc_heap *h)
{
    void *big = num(h, "18446744073709551616"), *f = rc_float(h, 0x1p64);
    void *big1 = num(h, "18446744073709551617"), *nbig = num(h, "-18446744073709551616");
    void *huge = num(h, "1" "000000000000000000000000000000000000000000000000000000000000");
    void *two = rc_int(h, 2), *sq = rc_int_mul(big, big), *viaf = rc_int_floordiv(sq, big);
    uint64_t hb, hf, hv;
    CHECK(rc_hash(big, &hb) == 0 && rc_hash(f, &hf) == 0 && rc_hash(viaf, &hv) == 0);
    CHECK(hb == hf && hv == hb && rc_equal(big, f) == 1 && rc_equal(f, big) == 1);
    CHECK(rc_equal(viaf, big) == 1 && rc_equal(big1, f) == 0 && rc_equal(big, two) == 0);
    int c;
    CHECK(rc_compare(big1, f, &c) == 0 && c == 1 && rc_compare(f, big1, &c) == 0 && c == -1);
    CHECK(rc_compare(nbig, two, &c) == 0 && c == -1 && rc_compare(two, big, &c) == 0 && c == -1);
    void *inf = rc_float(h, INFINITY), *nan = rc_float(h, NAN), *half = rc_float(h, 0.5);
    CHECK(rc_compare(huge, inf, &c) == 0 && c == -1 && rc_compare(nbig, half, &c) == 0 && c == -1);
    CHECK(rc_compare(big, nan, &c) == -1 && rc_last_error(h) == RC_EVALUE);
    CHECK(rc_equal(big, nan) == 0);
    void *text = rc_str_cstr(h, "1");
    CHECK(rc_compare(big, text, &c) == -1 && rc_last_error(h) == RC_ETYPE && !rc_equal(big, text));
    rc_clear_error(h);
    /* one dict key, one set item */
    void *d = rc_dict(h), *set = rc_set_new(h);
    CHECK(rc_dict_set(d, big, two) == 0 && rc_dict_set(d, f, text) == 0 && rc_dict_len(d) == 1);
    CHECK(rc_dict_get(d, viaf) == text && rc_dict_get(d, big1) == NULL);
    CHECK(rc_set_add(set, f) == 0 && rc_set_add(set, big) == 0 && rc_set_add(set, big1) == 0);
    CHECK(rc_set_len(set) == 2);
    void *objs[] = {big, f, big1, nbig, huge, two, sq, viaf, inf, nan, half, text, d, set};
    for (size_t i = 0; i < sizeof objs / sizeof *objs; i++)
        rc_decref(objs[i]);
    CHECK_VALID(h);
}

static void test_errors(rc_heap *h)
{
    const char *bad[] = {"", "-", "+", "12a", " 1", "1 ", "1_000", "0x10", "--1"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        rc_clear_error(h);
        CHECK(rc_int_from_str(h, bad[i], strlen(bad[i])) == NULL && rc_last_error(h) == RC_EVALUE);
    }
    /* the digit limit: 4300 digits read, 4301 refused, a million refused
       at once (conversion is quadratic) */
    enum { MILLION = 1000000 };
    char *digits = malloc(MILLION);
    CHECK(digits);
    memset(digits, '7', MILLION);
    void *ok = rc_int_from_str(h, digits, RC_INT_MAX_STR_DIGITS);
    CHECK(ok && rc_typeof(ok) == &rc_bigint_type);
    void *s = rc_int_to_str(ok);
    CHECK(s && rc_str_len(s) == RC_INT_MAX_STR_DIGITS && memcmp(rc_str_data(s, NULL), digits, 4300) == 0);
    CHECK(!rc_int_from_str(h, digits, RC_INT_MAX_STR_DIGITS + 1) && rc_last_error(h) == RC_EVALUE);
    rc_clear_error(h);
    CHECK(!rc_int_from_str(h, digits, MILLION) && rc_last_error(h) == RC_EVALUE);
    free(digits);
    void *sq = rc_int_mul(ok, ok); /* 8600 digits: made, but not written */
    CHECK(sq && !rc_int_to_str(sq) && rc_last_error(h) == RC_EVALUE);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    CHECK(f && rc_repr(sq, f) == -1);
    fclose(f);
    free(buf);
    /* dividing by zero: Python's ZeroDivisionError */
    void *zero = rc_int(h, 0), *seven = rc_int(h, 7);
    rc_clear_error(h);
    CHECK(!rc_int_floordiv(ok, zero) && rc_last_error(h) == RC_EVALUE);
    rc_clear_error(h);
    CHECK(!rc_int_mod(seven, zero) && rc_last_error(h) == RC_EVALUE);
    /* not ints */
    void *l = rc_list(h), *fl = rc_float(h, 1.0);
    CHECK(!rc_is_int(fl) && !rc_is_int(l));
    rc_clear_error(h);
    CHECK(!rc_int_add(seven, fl) && rc_last_error(h) == RC_ETYPE);
    rc_clear_error(h);
    CHECK(!rc_int_neg(l) && rc_last_error(h) == RC_ETYPE);
    int64_t v;
    rc_clear_error(h);
    CHECK(rc_int_to_int64(l, &v) == -1 && rc_last_error(h) == RC_ETYPE && !rc_int_to_str(fl));
    rc_clear_error(h);
    void *objs[] = {ok, s, sq, zero, seven, l, fl};
    for (size_t i = 0; i < sizeof objs / sizeof *objs; i++)
        rc_decref(objs[i]);
    CHECK_VALID(h);
}

/* f, a new float or NULL, is d (same bits: -0.0 is not 0.0); f released. */
static int float_is(void *f, double d)
{
    int same = f && rc_typeof(f) == &rc_float_type && memcmp(&(double){rc_float_value(f)}, &d,
                                                            sizeof d) == 0;
    rc_decref(f);
    return same;
}

/* r (a new reference or NULL) has repr text; r released. */
static int gives(void *r, const char *text)
{
    int same = r && repr_is(r, text);
    rc_decref(r);
    return same;
}

/* r is NULL with err recorded and the message rc_error_message says. */
static int fails(rc_heap *h, void *r, rc_error err, const char *message)
{
    int ok = !r && rc_last_error(h) == err && strcmp(rc_error_message(h), message) == 0;
    if (!ok)
        fprintf(stderr, "got %s: %s\n", rc_error_name(rc_last_error(h)), rc_error_message(h));
    rc_decref(r);
    rc_clear_error(h);
    return ok;
}

/* o, a new reference, kept in list (released with it); returns o. */
static void *keep(void *list, void *o)
{
    CHECK(o && rc_list_append(list, o) == 0);
    rc_decref(o);
    return o;
}

static void test_bits_pow_div(rc_heap *h)
{
    void *tmp = rc_list(h); /* keeps the temporaries until the end */
    void *zero = rc_int(h, 0), *one = rc_int(h, 1), *m1 = rc_int(h, -1), *two = rc_int(h, 2);
    void *three = rc_int(h, 3), *five = rc_int(h, 5), *seven = rc_int(h, 7);
    void *k63 = rc_int(h, 63), *k64 = rc_int(h, 64), *max = rc_int(h, INT64_MAX);
    void *min = rc_int(h, INT64_MIN), *p64 = num(h, "18446744073709551616");
    void *np64 = num(h, "-18446744073709551616"), *huge = num(h, "1180591620717411303424");
    /* two's complement at any size; the small-int cache still answers */
    CHECK(rc_int_and(m1, seven) == seven && rc_int_or(zero, five) == five);
    CHECK(rc_int_xor(seven, two) == five && rc_int_invert(zero) == m1);
    CHECK(rc_int_and(rc_true(h), rc_true(h)) == one); /* an int, not True */
    CHECK(gives(rc_int_invert(min), "9223372036854775807"));
    CHECK(gives(rc_int_invert(p64), "-18446744073709551617"));
    CHECK(gives(rc_int_invert(np64), "18446744073709551615"));
    CHECK(gives(rc_int_and(np64, max), "0") && gives(rc_int_or(np64, m1), "-1"));
    CHECK(gives(rc_int_xor(np64, p64), "-36893488147419103232"));
    /* shifts: floor for negatives, int64 edges, counts past any size */
    CHECK(gives(rc_int_lshift(one, k63), "9223372036854775808"));
    CHECK(gives(rc_int_lshift(m1, k63), "-9223372036854775808"));
    CHECK(rc_typeof(keep(tmp, rc_int_lshift(m1, k63))) == &rc_int_type); /* INT64_MIN fits */
    CHECK(gives(rc_int_lshift(min, one), "-18446744073709551616"));
    CHECK(rc_int_rshift(m1, five) == m1 && rc_int_rshift(rc_int(h, -9), one) == rc_int(h, -5));
    CHECK(gives(rc_int_rshift(np64, k64), "-1") && gives(rc_int_rshift(p64, k64), "1"));
    CHECK(gives(rc_int_rshift(keep(tmp, rc_int_sub(np64, one)), k64), "-2"));
    CHECK(rc_int_rshift(np64, huge) == m1 && rc_int_rshift(max, huge) == zero);
    CHECK(rc_int_lshift(zero, huge) == zero);
    CHECK(fails(h, rc_int_lshift(one, huge), RC_EOVERFLOW, "int too large (over 2**31 bits)"));
    CHECK(fails(h, rc_int_rshift(one, m1), RC_EVALUE, "rc_int_rshift: negative shift count"));
    CHECK(fails(h, rc_int_lshift(p64, np64), RC_EVALUE, "rc_int_lshift: negative shift count"));
    /* pow */
    CHECK(gives(rc_int_pow(two, k64, NULL), "18446744073709551616"));
    CHECK(rc_int_pow(zero, zero, NULL) == one && rc_int_pow(m1, huge, NULL) == one);
    CHECK(rc_int_pow(m1, p64, NULL) == one && float_is(rc_int_pow(one, np64, NULL), 1.0));
    CHECK(fails(h, rc_int_pow(two, huge, NULL), RC_EOVERFLOW,
                "rc_int_pow: int too large (over 2**31 bits)"));
    CHECK(float_is(rc_int_pow(two, m1, NULL), 0.5) &&
          float_is(rc_int_pow(rc_int(h, -2), rc_int(h, -3), NULL), -0.125));
    CHECK(float_is(rc_int_pow(two, np64, NULL), 0.0));
    CHECK(fails(h, rc_int_pow(zero, m1, NULL), RC_EVALUE,
                "rc_int_pow: 0.0 cannot be raised to a negative power"));
    void *e400 = keep(tmp, rc_int_pow(rc_int(h, 10), rc_int(h, 400), NULL));
    CHECK(fails(h, rc_int_pow(e400, m1, NULL), RC_EOVERFLOW, "int too large to convert to float"));
    CHECK(rc_int_pow(three, m1, seven) == five && rc_int_pow(three, two, rc_int(h, -5)) == m1);
    CHECK(rc_int_pow(five, zero, rc_int(h, -7)) == rc_int(h, -6));
    CHECK(rc_int_pow(zero, m1, one) == zero);
    CHECK(gives(rc_int_pow(three, p64, np64), "-18446744073709551615")); /* 3**(2**64) % -(2**64) */
    CHECK(fails(h, rc_int_pow(two, m1, rc_int(h, 4)), RC_EVALUE,
                "rc_int_pow: base is not invertible for the given modulus"));
    CHECK(fails(h, rc_int_pow(two, one, zero), RC_EVALUE,
                "rc_int_pow: pow() 3rd argument cannot be 0"));
    /* true division and float(int): correctly rounded, signed zero */
    CHECK(float_is(rc_int_truediv(seven, two), 3.5) && float_is(rc_int_truediv(zero, m1), -0.0));
    CHECK(float_is(rc_int_truediv(p64, three), 6148914691236517205.0 + 1.0 / 3));
    void *p1074 = keep(tmp, rc_int_lshift(one, rc_int(h, 1074)));
    void *p1075 = keep(tmp, rc_int_lshift(p1074, one)), *p1076 = keep(tmp, rc_int_lshift(p1075, one));
    CHECK(float_is(rc_int_truediv(one, p1074), 0x1p-1074));
    CHECK(float_is(rc_int_truediv(one, p1075), 0.0)); /* half the least subnormal: even is 0 */
    CHECK(float_is(rc_int_truediv(three, p1076), 0x1p-1074)); /* 0.75 of it: up */
    CHECK(fails(h, rc_int_truediv(five, zero), RC_EVALUE, "rc_int_truediv: division by zero"));
    CHECK(fails(h, rc_int_truediv(e400, one), RC_EOVERFLOW,
                "integer division result too large for a float"));
    double d = 42;
    CHECK(rc_int_to_double(e400, &d) == -1 && d == 42 && rc_last_error(h) == RC_EOVERFLOW);
    rc_clear_error(h);
    CHECK(rc_int_to_double(max, &d) == 0 && d == 0x1p63);
    /* 2**53 + 1 is a tie between 2**53 and 2**53 + 2: even wins */
    void *tie = keep(tmp, rc_int_lshift(keep(tmp, rc_int(h, (INT64_C(1) << 53) + 1)), k64));
    CHECK(rc_int_to_double(tie, &d) == 0 && d == 0x1p117);
    /* not ints */
    void *fl = rc_float(h, 2.0);
    CHECK(fails(h, rc_int_xor(seven, fl), RC_ETYPE, "rc_int_xor: expected int, got float"));
    CHECK(fails(h, rc_int_pow(seven, one, fl), RC_ETYPE, "rc_int_pow: expected int, got float"));
    CHECK(rc_int_to_double(fl, &d) == -1 && rc_last_error(h) == RC_ETYPE);
    rc_clear_error(h);
    void *objs[] = {p64, np64, huge, fl, max, min, tmp};
    for (size_t i = 0; i < sizeof objs / sizeof *objs; i++)
        rc_decref(objs[i]);
    CHECK_VALID(h);
}

/* ---- The fault sweep ------------------------------------------------------ */

static size_t warm_up(rc_heap *h)
{
    void *big = num(h, "99999999999999999999999"), *two = rc_int(h, 2);
    for (int64_t i = RC_SMALL_INT_MIN; i <= RC_SMALL_INT_MAX; i++)
        rc_int(h, i); /* the cached small ints (the workload's results make some) */
    rc_decref(rc_float(h, 0.5)); /* the float type's record */
    void *s = rc_int_to_str(big), *p = rc_int_mul(big, two);
    CHECK(s && p);
    rc_decref(s);
    rc_decref(p);
    rc_decref(big);
    rc_collect(h, -1);
    return heap_live_blocks(h);
}

/* Shifts, bitwise operations, true division and pow on acc (thousands of
   bits), with results of a megabyte: each needs pages of its own, so
   the sweep fails them one by one.  Counts the calls that failed, 99 for
   a wrong answer. */
static int bits_workload(rc_heap *h, void *acc)
{
    void *k = rc_int(h, 1 << 23), *one = rc_int(h, 1), *m1 = rc_int(h, -1), *three = rc_int(h, 3);
    if (!k || !one || !m1 || !three)
        return 1;
    void *sh = rc_int_lshift(acc, k); /* a megabyte */
    void *back = sh ? rc_int_rshift(sh, k) : NULL, *x = sh ? rc_int_xor(sh, acc) : NULL;
    void *low = x ? rc_int_and(x, acc) : NULL, *inv = x ? rc_int_invert(x) : NULL;
    void *q = x ? rc_int_truediv(x, sh) : NULL, *mod = rc_int_or(acc, one);
    void *third = mod ? rc_int_pow(three, m1, mod) : NULL; /* acc + 1 is prime to 3 */
    void *p = mod ? rc_int_pow(acc, rc_int(h, 1000), mod) : NULL, *f = rc_int_pow(three, m1, NULL);
    void *t3 = third ? rc_int_mul(third, three) : NULL, *unit = t3 ? rc_int_mod(t3, mod) : NULL;
    void *objs[] = {k, sh, back, x, low, inv, q, mod, third, p, f, t3, unit};
    int failures = 0;
    for (size_t i = 0; i < sizeof objs / sizeof *objs; i++)
        failures += !objs[i];
    if ((back && rc_equal(back, acc) != 1) || (low && rc_equal(low, acc) != 1) ||
        (q && rc_float_value(q) != 1.0) || (unit && unit != one))
        failures = 99;
    for (size_t i = 0; i < sizeof objs / sizeof *objs; i++)
        rc_decref(objs[i]);
    return failures;
}

/* A product of 300 factors, its text and back, a long division, and
   2,000 multiples kept in a list; counts the calls that failed. */
static int workload(rc_heap *h)
{
    int failures = 0;
    void *acc = rc_int(h, 1);
    for (int64_t i = 2; i <= 300 && acc; i++) {
        void *k = rc_int(h, i * 1000003), *next = k ? rc_int_mul(acc, k) : NULL;
        failures += !next;
        rc_decref(k);
        rc_decref(acc);
        acc = next;
    }
    if (!acc)
        return failures + 1;
    void *s = rc_int_to_str(acc);
    void *back = s ? rc_int_from_str(h, rc_str_data(s, NULL), rc_str_len(s)) : NULL;
    void *d = back ? rc_int_sub(back, acc) : NULL, *q = back ? rc_int_floordiv(acc, back) : NULL;
    void *k = rc_int(h, 1000003), *m = k ? rc_int_mod(acc, k) : NULL;
    failures += !s + !back + !d + !q + !k + !m;
    if (d && q && m && (rc_int_value(d) != 0 || rc_int_value(q) != 1 || rc_int_value(m) != 0))
        return 99;
    failures += bits_workload(h, acc);
    /* 2,000 multiples of it (5 MB): enough to need new arenas */
    void *l = rc_list(h);
    for (int64_t i = 0; l && i < 2000; i++) {
        void *f = rc_int(h, INT64_MAX - i), *x = f ? rc_int_mul(acc, f) : NULL;
        if (!x || rc_list_append(l, x) != 0)
            failures++;
        if (f)
            rc_decref(f);
        if (x)
            rc_decref(x);
    }
    failures += !l;
    void *objs[] = {acc, s, back, d, q, k, m, l};
    for (size_t i = 0; i < sizeof objs / sizeof *objs; i++)
        if (objs[i])
            rc_decref(objs[i]);
    return failures;
}

static void still_works(rc_heap *h)
{
    void *a = num(h, "123456789012345678901234567890"), *b = rc_int_mul(a, a);
    CHECK(b && repr_is(b, "15241578753238836750495351562536198787501905199875019052100"));
    rc_decref(a);
    rc_decref(b);
    CHECK_VALID(h);
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "add_list") == 0) {
        rc_heap *h = test_heap(HEAP_DEBUG);
        exit_on_abort();
        rc_int_add(rc_int(h, 1), rc_list(h)); /* stops: not an int */
        return 0;
    }
    rc_heap *h = test_heap(0);
    test_forms(h);
    test_against_floats(h);
    test_errors(h);
    test_bits_pow_div(h);
    rc_heap_free(h);
    fault_sweep fs = {warm_up, workload, NULL, still_works};
    printf("test_int: ok (%lu failure points swept)\n", run_fault_sweep(&fs));
    return 0;
}
