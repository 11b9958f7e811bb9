/*
 * test_accessors.c — the inline accessors of rcgc.h: rc_typeof (inline,
 * with rc_typeof_slow for shared pools) agrees with the library for
 * objects in every kind of pool, and rc_list_item, rc_tuple_item,
 * rc_str_bytes and rc_str_size read what the checked calls read; on a
 * debug heap they are the checked calls.
 */
#include "check.h"

static const rc_type leaf = {.name = "leaf", .size = 16};
static const rc_type blob = {.name = "blob", .size = 0};

static void test_typeof(void)
{
    rc_heap *h = test_heap(HEAP_QUIET);
    enum { N = 100 };
    void *objs[N];
    for (int i = 0; i < N; i++) { /* shared pools first, then its own */
        CHECK(objs[i] = rc_new(h, &leaf));
        CHECK(rc_typeof(objs[i]) == &leaf && rc_typeof_slow(objs[i]) == &leaf);
    }
    void *big = rc_new_var(h, &blob, 100000), *huge = rc_new_var(h, &blob, 3 << 20);
    void *i = rc_int(h, 5), *s = rc_str(h, "x", 1), *l = rc_list(h);
    CHECK(big && huge && i && s && l);
    CHECK(rc_typeof(big) == &blob && rc_typeof(huge) == &blob);
    CHECK(rc_typeof(i) == &rc_int_type && rc_typeof(s) == &rc_str_type &&
          rc_typeof(l) == &rc_list_type && rc_typeof(rc_none(h)) == &rc_none_type);
    const rc_type *(*fn)(const void *) = rc_typeof; /* the exported definition */
    CHECK(fn(l) == &rc_list_type);
    for (int k = 0; k < N; k++)
        rc_decref(objs[k]);
    void *objs2[] = {big, huge, i, s, l};
    for (size_t k = 0; k < sizeof objs2 / sizeof *objs2; k++)
        rc_decref(objs2[k]);
    rc_heap_free(h);
}

static void test_items(unsigned flags)
{
    rc_heap *h = test_heap(flags);
    void *l = rc_list(h), *a = rc_int(h, 1), *b = rc_str_cstr(h, "h\xc3\xa9llo");
    CHECK(l && a && b && rc_list_append(l, a) == 0 && rc_list_append(l, b) == 0);
    void *items[] = {b, a, l};
    void *t = rc_tuple(h, 3, items);
    CHECK(t);
    CHECK(rc_list_item(l, 0) == a && rc_list_item(l, 1) == b);
    CHECK(rc_tuple_item(t, 0) == b && rc_tuple_item(t, 2) == l);
    CHECK(rc_str_size(b) == 6 && strcmp(rc_str_bytes(b), "h\xc3\xa9llo") == 0);
    void *in = rc_str_intern(h, "interned", 8); /* the interned bit is no length */
    CHECK(in && rc_str_size(in) == 8 && rc_str_size(in) == rc_str_len(in));
    if (flags & HEAP_DEBUG) { /* the checked calls: errors instead of garbage */
        CHECK_ERR(h, rc_list_item(l, 2) == NULL, RC_EINDEX);
        CHECK_ERR(h, rc_tuple_item(t, 3) == NULL, RC_EINDEX);
        CHECK_ERR(h, rc_list_item(t, 0) == NULL, RC_ETYPE);
        CHECK(strcmp(rc_str_bytes(b), rc_str_data(b, NULL)) == 0);
    }
    void *objs[] = {l, a, b, t, in};
    for (size_t k = 0; k < sizeof objs / sizeof *objs; k++)
        rc_decref(objs[k]);
    rc_heap_free(h);
}

int main(void)
{
    test_typeof();
    test_items(0);
    test_items(HEAP_DEBUG);
    puts("test_accessors: ok");
    return 0;
}
