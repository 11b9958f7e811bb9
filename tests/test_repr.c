/*
 * test_repr.c — rc_repr prints what Python's repr prints: numbers (floats
 * with the fewest round-tripping digits, positional from 1e-4 to 1e16),
 * escaped text, bytes, one-item tuples, nested containers, and a cycle as
 * [...].
 */
#define _POSIX_C_SOURCE 200809L
#include "repr_text.h"

static void expect_float(rc_heap *h, double d, const char *want)
{
    void *f = rc_float(h, d);
    expect_repr(f, want);
    rc_decref(f);
}

static void containers(rc_heap *h);

int main(void)
{
    rc_heap *h = rc_heap_new(NULL);
    static const struct { double d; const char *s; } floats[] = {
        {10, "10.0"}, {1500, "1500.0"}, {0.1, "0.1"}, {1.5e-5, "1.5e-05"},
        {1e16, "1e+16"}, {1e15, "1000000000000000.0"}, {0.0001, "0.0001"},
        {-2.25, "-2.25"}, {-0.0, "-0.0"}, {3.141592653589793, "3.141592653589793"},
        {123456789012345.0, "123456789012345.0"}, {2.5e-300, "2.5e-300"}};
    for (size_t i = 0; i < sizeof floats / sizeof *floats; i++)
        expect_float(h, floats[i].d, floats[i].s);
    containers(h);
    CHECK(rc_collect(h, -1) == 0);
    CHECK_VALID(h);
    rc_heap_free(h);
    printf("test_repr: ok\n");
    return 0;
}

/* RC_AUTO releases every local here on the way out. */
static void containers(rc_heap *h)
{
    RC_AUTO void *i = rc_int(h, -42);
    RC_AUTO void *s = rc_str(h, "it's\n", 5);
    RC_AUTO void *b = rc_bytes(h, "a\xff", 2);
    void *items1[] = {i};
    RC_AUTO void *t1 = rc_tuple(h, 1, items1);
    RC_AUTO void *l = rc_list(h);
    RC_AUTO void *d = rc_dict(h);
    CHECK(rc_list_append(l, i) == 0 && rc_list_append(l, s) == 0 &&
          rc_list_append(l, b) == 0 && rc_list_append(l, t1) == 0);
    CHECK(rc_dict_set(d, s, l) == 0);
    expect_repr(l, "[-42, 'it\\'s\\n', b'a\\xff', (-42,)]");
    expect_repr(d, "{'it\\'s\\n': [-42, 'it\\'s\\n', b'a\\xff', (-42,)]}");
    CHECK(rc_list_append(l, l) == 0); /* a cycle */
    expect_repr(l, "[-42, 'it\\'s\\n', b'a\\xff', (-42,), [...]]");
    rc_decref(rc_list_pop(l, 4)); /* pop returns a new reference */
}
