/*
 * test_errors.c — the heap's error slot: messages of the built-in types'
 * common failures, rc_error_setf's bound, the runtime's exception object
 * (kept alive as a root through collections, detached by later failures,
 * released by rc_clear_error and rc_heap_free), a slot that gets over a
 * failure, and messages recorded while every page request fails.
 */
#include "check.h"

#include <stdint.h>

/* rc_error_message(h) contains text, and the code is code. */
static void expect(rc_heap *h, rc_error code, const char *text)
{
    if (rc_last_error(h) != code || !strstr(rc_error_message(h), text)) {
        fprintf(stderr, "want %s \"%s\", have %s \"%s\"\n", rc_error_name(code), text,
                rc_error_name(rc_last_error(h)), rc_error_message(h));
        exit(1);
    }
    rc_clear_error(h);
    CHECK(rc_last_error(h) == RC_OK && strcmp(rc_error_message(h), "") == 0);
}

static void test_messages(void)
{
    rc_heap *h = test_heap(0);
    void *l = rc_list(h), *x = rc_int(h, 5000), *d = rc_dict(h), *s = rc_str_cstr(h, "h\xc3\xa9!");
    CHECK(rc_list_append(l, x) == 0 && rc_list_append(l, x) == 0);
    CHECK(rc_list_get(l, 7) == NULL);
    expect(h, RC_EINDEX, "list index 7 out of range (length 2)");
    CHECK(rc_list_set(l, 2, x) == -1);
    expect(h, RC_EINDEX, "list index 2 out of range (length 2)");
    CHECK(rc_str_char_at(s, -4) == NULL);
    expect(h, RC_EINDEX, "string index -4 out of range (length 3)");
    CHECK(rc_str(h, "ab\xc3\x28", 4) == NULL);
    expect(h, RC_EVALUE, "invalid UTF-8 at byte 2 (0xc3)");
    CHECK(rc_int_value(l) == 0);
    expect(h, RC_ETYPE, "rc_int_value: expected int, got list");
    CHECK(rc_list_len(d) == 0);
    expect(h, RC_ETYPE, "rc_list_len: expected list, got dict");
    CHECK(rc_list_extend(l, x) == -1);
    expect(h, RC_ETYPE, "rc_list_extend: expected list, tuple, set, frozenset or dict, got int");
    CHECK(rc_dict_pop(d, x) == NULL);
    expect(h, RC_EKEY, "key not found (a int)");
    CHECK(rc_list_get_slice(l, RC_SLICE(0, 1, 0)) == NULL);
    expect(h, RC_EVALUE, "slice step cannot be zero");
    CHECK(rc_list_set_slice(l, RC_SLICE(RC_SLICE_NONE, RC_SLICE_NONE, -1), d) == -1);
    expect(h, RC_EVALUE, "attempt to assign sequence of size 0 to extended slice of size 2");
    CHECK(rc_list_index(l, s, RC_RANGE(0, RC_SLICE_NONE), &(size_t){0}) == -1);
    expect(h, RC_EVALUE, "str item not in list");
    CHECK(rc_str_find(s, x, RC_RANGE(0, 9), &(size_t){0}) == -1);
    expect(h, RC_ETYPE, "expected two str or two bytes, got str and int");
    CHECK(rc_str(h, "abc", (size_t)1 << 31) == NULL);
    expect(h, RC_EOVERFLOW, "str of 2147483648 bytes");
    /* a code recorded without a message reads as its text */
    CHECK(rc_error_set(h, RC_ENOMEM) == -1);
    expect(h, RC_ENOMEM, "out of memory");
    /* rc_error_setf: formatted, bounded */
    char big[400];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    CHECK(rc_error_setf(h, RC_EVALUE, "bad %d: %s", 42, big) == -1);
    CHECK(strncmp(rc_error_message(h), "bad 42: xxx", 11) == 0 && strlen(rc_error_message(h)) == 159);
    rc_clear_error(h);
    void *objs[] = {l, x, d, s};
    for (size_t k = 0; k < sizeof objs / sizeof *objs; k++)
        rc_decref(objs[k]);
    rc_heap_free(h);
}

/* An exception type whose finalizer counts. */
static int finalized;
static void exc_traverse(void *self, rc_visit_fn visit, void *ctx)
{
    visit((void **)self, ctx);
}
static void exc_finalize(void *self)
{
    (void)self;
    finalized++;
}
static const rc_type exc_type = {.name = "MyError", .size = sizeof(void *),
                                 .traverse = exc_traverse, .finalize = exc_finalize};

/* A cyclic exception (it refers to itself): only the slot's reference
   keeps it alive. */
static void *new_exc(rc_heap *h)
{
    void **e = rc_new(h, &exc_type);
    CHECK(e);
    rc_set(e, e);
    return e;
}

static int leaks;
static void count_leak(const rc_leak *leak, void *ctx)
{
    (void)leak;
    (void)ctx;
    leaks++;
}

static void test_exception(void)
{
    rc_config cfg;
    rc_config_init(&cfg);
    cfg.on_leak = count_leak;
    rc_heap *h = rc_heap_new(&cfg);
    CHECK(h);
    void *e = new_exc(h);
    CHECK(rc_error_raise(h, RC_EVALUE, e, "MyError: %s", "boom") == -1);
    rc_decref(e); /* the heap's reference keeps it (and its cycle) alive */
    CHECK(rc_collect(h, -1) == 0 && finalized == 0);
    CHECK(rc_error_exception(h) == e && rc_last_error(h) == RC_EVALUE);
    CHECK(strcmp(rc_error_message(h), "MyError: boom") == 0);
    /* a library failure detaches it without running anything */
    void *l = rc_list(h);
    CHECK(rc_list_get(l, 0) == NULL && rc_last_error(h) == RC_EINDEX);
    CHECK(rc_error_exception(h) == NULL && finalized == 0);
    CHECK(rc_collect(h, -1) == 0 && finalized == 0);
    /* replaced by another: the first is released (the collector frees its cycle) */
    void *e2 = new_exc(h);
    CHECK(rc_error_raise(h, RC_EKEY, e2, "second") == -1);
    rc_decref(e2);
    CHECK(rc_collect(h, -1) == 1 && finalized == 1 && rc_error_exception(h) == e2);
    /* rc_clear_error releases it */
    rc_clear_error(h);
    CHECK(rc_error_exception(h) == NULL && rc_collect(h, -1) == 1 && finalized == 2);
    /* raising with no object, and an object of another heap */
    CHECK(rc_error_raise(h, RC_ETYPE, NULL, "plain") == -1 && rc_error_exception(h) == NULL);
    expect(h, RC_ETYPE, "plain");
    rc_heap *other = test_heap(0);
    void *foreign = rc_list(other);
    CHECK(rc_error_raise(h, RC_EVALUE, foreign, "x") == -1 && rc_last_error(h) == RC_EFOREIGN);
    CHECK(rc_error_exception(h) == NULL);
    rc_decref(foreign);
    rc_heap_free(other);
    /* held at rc_heap_free: released first, so never reported as a leak */
    e = rc_new(h, &exc_type);
    CHECK(rc_error_raise(h, RC_EVALUE, e, "at exit") == -1);
    rc_decref(e);
    rc_decref(l);
    leaks = 0;
    rc_heap_free(h);
    CHECK(leaks == 0 && finalized == 3);
}

/* The messages of the failures that had none: unhashable keys (dict,
   set), rc_tuple_get, int's arithmetic and conversions, search ranges. */
static int eq_recovers(const void *a, const void *b);
static const rc_type eq_only = {.name = "EqOnly", .size = 8, .eq = eq_recovers};

static void test_more_messages(void)
{
    rc_heap *h = test_heap(0);
    void *l = rc_list(h), *d = rc_dict(h), *st = rc_set_new(h), *one = rc_int(h, 1);
    void *zero = rc_int(h, 0), *u = rc_new(h, &eq_only), *t = rc_tuple(h, 1, &one);
    void *big = rc_int_from_str(h, "123456789012345678901234567890", 30);
    CHECK(l && d && st && one && zero && u && t && big);
    CHECK(rc_dict_set(d, l, one) == -1);
    expect(h, RC_EUNHASHABLE, "unhashable type: 'list'");
    CHECK(rc_dict_get(d, d) == NULL);
    expect(h, RC_EUNHASHABLE, "unhashable type: 'dict'");
    CHECK(rc_set_add(st, u) == -1);
    expect(h, RC_EUNHASHABLE, "unhashable type: 'EqOnly'");
    CHECK(rc_set_discard(st, st) == -1);
    expect(h, RC_EUNHASHABLE, "unhashable type: 'set'");
    CHECK(rc_set_discard(l, one) == -1);
    expect(h, RC_ETYPE, "rc_set_discard: expected set");
    CHECK(rc_tuple_get(t, 3) == NULL);
    expect(h, RC_EINDEX, "tuple index 3 out of range (length 1)");
    CHECK(rc_tuple_get(l, 0) == NULL);
    expect(h, RC_ETYPE, "rc_tuple_get: expected tuple, got list");
    CHECK(rc_int_floordiv(one, zero) == NULL);
    expect(h, RC_EVALUE, "rc_int_floordiv: integer division or modulo by zero");
    CHECK(rc_int_mod(big, zero) == NULL);
    expect(h, RC_EVALUE, "rc_int_mod: integer division or modulo by zero");
    CHECK(rc_int_add(one, l) == NULL);
    expect(h, RC_ETYPE, "rc_int_add: expected int, got list");
    int64_t v;
    CHECK(rc_int_to_int64(big, &v) == -1);
    expect(h, RC_EOVERFLOW, "rc_int_to_int64: int too large to convert to int64");
    CHECK(rc_int_value(big) == 0);
    expect(h, RC_EOVERFLOW, "rc_int_value: int too large to convert to int64");
    CHECK(rc_int_from_str(h, "12x4", 4) == NULL);
    expect(h, RC_EVALUE, "rc_int_from_str: invalid literal: '12x4'");
    CHECK(rc_int_from_str(h, "-", 1) == NULL);
    expect(h, RC_EVALUE, "rc_int_from_str: invalid literal: '-'");
    static char digits[5000];
    memset(digits, '7', sizeof digits);
    CHECK(rc_int_from_str(h, digits, sizeof digits) == NULL);
    expect(h, RC_EVALUE, "5000 digits exceed the limit (4300)");
    int out;
    CHECK(rc_compare(big, l, &out) == -1);
    expect(h, RC_ETYPE, "cannot order");
    CHECK(rc_list_index(l, one, RC_SLICE(0, 5, 2), &(size_t){0}) == -1);
    expect(h, RC_EVALUE, "rc_list_index: a search range has no step (got 2)");
    void *objs[] = {l, d, st, one, zero, u, t, big};
    for (size_t k = 0; k < sizeof objs / sizeof *objs; k++)
        rc_decref(objs[k]);
    rc_heap_free(h);
}

/* rc_error_take: the exception's reference moves to the caller, the error
   is cleared, and no finalizer runs. */
static void test_error_take(void)
{
    rc_heap *h = test_heap(0);
    rc_error err = RC_EKEY;
    CHECK(rc_error_take(h, &err) == NULL && err == RC_OK);
    int before = finalized;
    void *e = new_exc(h);
    CHECK(rc_error_raise(h, RC_EVALUE, e, "MyError: taken") == -1);
    rc_decref(e);
    CHECK(strcmp(rc_error_message(h), "MyError: taken") == 0);
    CHECK(rc_error_take(h, &err) == e && err == RC_EVALUE && finalized == before);
    CHECK(rc_last_error(h) == RC_OK && strcmp(rc_error_message(h), "") == 0);
    CHECK(rc_error_exception(h) == NULL && rc_error_take(h, NULL) == NULL);
    CHECK(rc_refcount(e) == 2); /* its own cycle and the caller's */
    CHECK(rc_collect(h, -1) == 0 && finalized == before);
    /* raised again by the runtime: the heap holds it once more */
    CHECK(rc_error_raise(h, RC_EKEY, e, "again") == -1 && rc_refcount(e) == 3);
    rc_decref(e);
    /* a detached exception is not handed over: it is released */
    void *l = rc_list(h);
    CHECK(rc_list_get(l, 1) == NULL && rc_error_take(h, &err) == NULL && err == RC_EINDEX);
    CHECK(rc_collect(h, -1) == 1 && finalized == before + 1);
    rc_decref(l);
    rc_heap_free(h);
}

/* An eq slot that fails inside and then answers: the caller's error and
   its message stay as they were. */
static int eq_recovers(const void *a, const void *b)
{
    rc_heap *h = rc_heap_of(a);
    rc_error_setf(h, RC_EKEY, "inner failure");
    return a == b;
}
static const rc_type eqt = {.name = "eqt", .size = 8, .eq = eq_recovers};

static void test_slot_recovery(void)
{
    rc_heap *h = test_heap(0);
    void *a = rc_new(h, &eqt), *b = rc_new(h, &eqt);
    rc_error_setf(h, RC_EVALUE, "before");
    CHECK(rc_equal(a, b) == 0);
    CHECK(rc_last_error(h) == RC_EVALUE && strcmp(rc_error_message(h), "bad value") == 0);
    rc_clear_error(h);
    CHECK(rc_equal(a, b) == 0 && rc_last_error(h) == RC_OK);
    rc_decref(a);
    rc_decref(b);
    rc_heap_free(h);
}

/* Messages are recorded while the page source refuses everything. */
static int oom_workload(rc_heap *h)
{
    int failures = 0;
    void *l = rc_list(h);
    for (int k = 0; k < 200000 && l; k++) { /* more than an arena: pages fail */
        void *x = rc_int(h, 100000 + k);
        failures += !x || rc_list_append(l, x) != 0;
        rc_decref(x);
        if (k % 1000 == 0 || !x) {
            CHECK(rc_list_get(l, 300000) == NULL);
            CHECK(strstr(rc_error_message(h), "list index 300000 out of range"));
        }
    }
    failures += !l;
    rc_decref(l);
    return failures;
}

static size_t warm_up(rc_heap *h)
{
    void *l = rc_list(h), *x = rc_int(h, 100000); /* their type records */
    rc_decref(l);
    rc_decref(x);
    rc_freelists_clear(h);
    return heap_live_blocks(h);
}

static void still_works(rc_heap *h)
{
    rc_clear_error(h);
    CHECK(rc_str(h, "\xff", 1) == NULL);
    CHECK(strcmp(rc_error_message(h), "invalid UTF-8 at byte 0 (0xff)") == 0);
    rc_clear_error(h);
}

int main(void)
{
    test_messages();
    test_exception();
    test_more_messages();
    test_error_take();
    test_slot_recovery();
    unsigned long swept = run_fault_sweep(&(fault_sweep){
        .warm_up = warm_up, .workload = oom_workload, .still_works = still_works});
    CHECK(swept >= 2);
    printf("test_errors: ok (oom sweep over %lu failure points)\n", swept);
    return 0;
}
