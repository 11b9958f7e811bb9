/*
 * test_hash.c — hashing and equality against hostile data: the SipHash
 * implementation against published answers, the per-heap key (random, or
 * fixed by rc_config.hash_seed), keys that collided under the old unkeyed
 * hash, tuples nested a million deep as dict keys, structures that contain
 * themselves, and a fault sweep over the explicit stacks' growth.
 *
 *   test_hash        everything at depth 100,000
 *   test_hash deep   the deep cases at 1,000,000 (too slow for valgrind)
 */
#include "check.h"
#include "collide.h"
#include "../src/types/siphash.h"

#include <stdbool.h>

/* ---- SipHash known answers ----------------------------------------------- */

/* SipHash-2-4 under the key 00 01 .. 0f of messages 00 01 .. (n-1), the
   reference vectors of Aumasson and Bernstein's implementation (read as
   little-endian words).  n = 15 is the paper's worked example (appendix A). */
static const struct { size_t n; uint64_t want; } sip24[] = {
    {0, UINT64_C(0x726fdb47dd0e0e31)},  {1, UINT64_C(0x74f839c593dc67fd)},
    {2, UINT64_C(0x0d6c8009d9a94f5a)},  {3, UINT64_C(0x85676696d7fb7e2d)},
    {4, UINT64_C(0xcf2794e0277187b7)},  {5, UINT64_C(0x18765564cd99a68d)},
    {6, UINT64_C(0xcbc9466e58fee3ce)},  {7, UINT64_C(0xab0200f58b01d137)},
    {8, UINT64_C(0x93f5f5799a932462)},  {9, UINT64_C(0x9e0082df0ba9e4b0)},
    {10, UINT64_C(0x7a5dbbc594ddb9f3)}, {11, UINT64_C(0xf4b32f46226bada7)},
    {12, UINT64_C(0x751e8fbc860ee5fb)}, {15, UINT64_C(0xa129ca6149be45e5)},
};

/* SipHash-1-3 has no published vectors; these are CPython 3.11's hash()
   of the same messages as bytes (its algorithm: sys.hash_info.algorithm),
   with PYTHONHASHSEED=0 (key all zero) and =1 (key from CPython's LCG:
   k0 = 0xaed66ce184be2329, k1 = 0xebe9bbf1f1499052), printed with
     PYTHONHASHSEED=S python3 -c 'print(hash(bytes(range(N))) % 2**64)' */
static const struct { size_t n; uint64_t zero_key, lcg_key; } sip13[] = {
    {1, UINT64_C(7541581120933061747), UINT64_C(17065235956288562361)},
    {7, UINT64_C(3389392686435873370), UINT64_C(18236736804435172831)},
    {8, UINT64_C(16921169381604339434), UINT64_C(13886132150625426689)},
    {9, UINT64_C(8471974163824919394), UINT64_C(2344715530062788472)},
    {15, UINT64_C(17514137373579004394), UINT64_C(18052565166098840147)},
    {16, UINT64_C(9904005486622393783), UINT64_C(1362851826532315138)},
    {17, UINT64_C(5225236159122152477), UINT64_C(11482969739465166975)},
    {63, UINT64_C(4061470857350050649), UINT64_C(6061935483272200820)},
};

static void test_siphash_vectors(void)
{
    unsigned char msg[64];
    for (size_t i = 0; i < sizeof msg; i++)
        msg[i] = (unsigned char)i;
    const uint64_t ref_key[2] = {UINT64_C(0x0706050403020100), UINT64_C(0x0f0e0d0c0b0a0908)};
    for (size_t i = 0; i < sizeof sip24 / sizeof *sip24; i++)
        CHECK(rci_siphash(ref_key, msg, sip24[i].n, 2, 4) == sip24[i].want);
    const uint64_t zero[2] = {0, 0};
    const uint64_t lcg[2] = {UINT64_C(0xaed66ce184be2329), UINT64_C(0xebe9bbf1f1499052)};
    for (size_t i = 0; i < sizeof sip13 / sizeof *sip13; i++) {
        CHECK(rci_siphash(zero, msg, sip13[i].n, 1, 3) == sip13[i].zero_key);
        CHECK(rci_siphash(lcg, msg, sip13[i].n, 1, 3) == sip13[i].lcg_key);
    }
}

/* ---- The key ------------------------------------------------------------------ */

static rc_heap *seeded_heap(uint64_t seed)
{
    rc_config cfg;
    rc_config_init(&cfg);
    cfg.hash_seed = seed;
    rc_heap *h = rc_heap_new(&cfg);
    CHECK(h);
    return h;
}

static uint64_t hash_of_text(rc_heap *h, const char *s)
{
    void *o = rc_str_cstr(h, s);
    uint64_t v;
    CHECK(o && rc_hash(o, &v) == 0);
    rc_decref(o);
    return v;
}

/* A fixed seed repeats (across heaps, runs and builds: the value below is
   part of the contract); random keys differ per heap; int and float keys
   do not depend on the key (1 and 1.0 stay one key). */
static void test_seeds(void)
{
    rc_heap *a = seeded_heap(42), *b = seeded_heap(42), *c = seeded_heap(43);
    rc_heap *r1 = seeded_heap(0), *r2 = seeded_heap(0);
    CHECK(hash_of_text(a, "hostile") == hash_of_text(b, "hostile"));
    CHECK(hash_of_text(a, "hostile") == UINT64_C(0x94145428));
    int same_random = 0, same_fixed = 0;
    char text[16];
    for (int i = 0; i < 32; i++) {
        snprintf(text, sizeof text, "key%d", i);
        same_random += hash_of_text(r1, text) == hash_of_text(r2, text);
        same_fixed += hash_of_text(a, text) == hash_of_text(c, text);
    }
    CHECK(same_random <= 1 && same_fixed <= 1); /* 32-bit hashes: a tie is rare */
    uint64_t ha, hr;
    void *ia = rc_int(a, 123456789), *fr = rc_float(r1, 123456789.0);
    CHECK(rc_hash(ia, &ha) == 0 && rc_hash(fr, &hr) == 0 && ha == hr);
    rc_decref(ia);
    rc_decref(fr);
    rc_heap *all[] = {a, b, c, r1, r2};
    for (size_t i = 0; i < 5; i++)
        rc_heap_free(all[i]);
}

/* ---- Keys chosen to collide ---------------------------------------------- */

#define COLLIDING 1000

/* Keys that all hash alike under the old hash, computed by inverting it as
   an attacker would, spread under the keyed hash like random keys: all
   but a rare pair distinct, no crowd in the low bits a dict probes first;
   and a dict of them finds every one. */
static void test_old_collisions_spread(void)
{
    static char keys[COLLIDING][16];
    uint64_t rng = 2026;
    old_hash_collisions(keys, COLLIDING, &rng);
    for (size_t i = 1; i < COLLIDING; i++)
        CHECK(old_str_hash(keys[i], 16) == old_str_hash(keys[0], 16) &&
              memcmp(keys[i], keys[0], 16) != 0);
    rc_heap *h = seeded_heap(20261207); /* fixed: the bounds below never flake */
    static uint64_t hashes[COLLIDING];
    unsigned low[1024] = {0}, crowd = 0;
    void *d = rc_dict(h);
    for (size_t i = 0; i < COLLIDING; i++) {
        void *k = rc_str(h, keys[i], 16), *v = rc_int(h, (int64_t)i);
        CHECK(k && v && rc_hash(k, &hashes[i]) == 0 && rc_dict_set(d, k, v) == 0);
        if (++low[hashes[i] & 1023] > crowd)
            crowd = low[hashes[i] & 1023];
        rc_decref(k);
        rc_decref(v);
    }
    size_t ties = 0;
    for (size_t i = 0; i < COLLIDING; i++)
        for (size_t j = i + 1; j < COLLIDING; j++)
            ties += hashes[i] == hashes[j];
    CHECK(ties <= 2);  /* expected 1000^2 / 2^33: 0.0001 */
    CHECK(crowd <= 9); /* 1000 random keys in 1024 buckets: P(any > 9) < 1e-4 */
    CHECK(rc_dict_len(d) == COLLIDING);
    for (size_t i = 0; i < COLLIDING; i++) {
        void *k = rc_str(h, keys[i], 16);
        void *v = rc_dict_get(d, k);
        CHECK(v && rc_int_value(v) == (int64_t)i);
        rc_decref(k);
    }
    rc_decref(d);
    rc_heap_free(h);
}

/* ---- Deep keys -------------------------------------------------------------- */

/* ((((leaf,),),),) nested depth times: a new reference. */
static void *nest_tuples(rc_heap *h, size_t depth, int64_t leaf)
{
    void *t = rc_int(h, leaf);
    for (size_t i = 0; i < depth && t; i++) {
        void *outer = rc_tuple(h, 1, &t);
        rc_decref(t);
        t = outer;
    }
    CHECK(t);
    return t;
}

/* [[[[leaf]]]] nested depth times. */
static void *nest_lists(rc_heap *h, size_t depth, int64_t leaf)
{
    void *l = rc_int(h, leaf);
    for (size_t i = 0; i < depth; i++) {
        void *outer = rc_list(h);
        CHECK(outer && rc_list_append(outer, l) == 0);
        rc_decref(l);
        l = outer;
    }
    return l;
}

/* Tuples nested deeper than any C stack would take hash alike, compare
   equal and find each other in a dict; one that differs at the bottom
   compares unequal (the old rc_equal said so past 256 levels whatever
   the items, and rc_hash overflowed the stack). */
static void test_deep_keys(size_t depth)
{
    rc_heap *h = seeded_heap(0);
    void *a = nest_tuples(h, depth, 7), *b = nest_tuples(h, depth, 7);
    void *c = nest_tuples(h, depth, 8);
    uint64_t ha, hb, hc;
    CHECK(rc_hash(a, &ha) == 0 && rc_hash(b, &hb) == 0 && rc_hash(c, &hc) == 0);
    CHECK(ha == hb && ha != hc);
    CHECK(rc_equal(a, b) == 1 && rc_equal(b, a) == 1 && rc_equal(a, c) == 0);
    void *d = rc_dict(h), *one = rc_int(h, 1), *two = rc_int(h, 2);
    CHECK(rc_dict_set(d, a, one) == 0 && rc_dict_set(d, c, two) == 0);
    CHECK(rc_dict_get(d, b) == one && rc_dict_set(d, b, two) == 0 && rc_dict_len(d) == 2);
    CHECK(rc_dict_del(d, b) == 0 && rc_dict_get(d, a) == NULL &&
          rc_last_error(h) == RC_OK);
    void *la = nest_lists(h, depth, 7), *lb = nest_lists(h, depth, 7);
    void *lc = nest_lists(h, depth, 8);
    CHECK(rc_equal(la, lb) == 1 && rc_equal(la, lc) == 0);
    CHECK(rc_hash(la, &ha) == -1 && rc_last_error(h) == RC_EUNHASHABLE);
    void *objs[] = {a, b, c, d, one, two, la, lb, lc};
    for (size_t i = 0; i < sizeof objs / sizeof *objs; i++)
        rc_decref(objs[i]);
    CHECK_VALID(h);
    rc_heap_free(h);
}

/* (t, t) nested 200 times has 2^200 paths but 200 tuples: each tuple's
   hash is computed once and cached, so hashing is linear. */
static void test_shared_tuples_hash_once(void)
{
    rc_heap *h = seeded_heap(0);
    void *t = rc_int(h, 1);
    for (int i = 0; i < 200; i++) {
        void *outer = rc_tuple(h, 2, (void *[]){t, t});
        rc_decref(t);
        t = outer;
    }
    uint64_t v, again;
    CHECK(rc_hash(t, &v) == 0 && rc_hash(t, &again) == 0 && v == again);
    rc_decref(t);
    rc_heap_free(h);
}

/* ---- Structures that contain themselves ---------------------------------- */

static void *list_of(rc_heap *h, size_t n, void *const *items)
{
    void *l = rc_list(h);
    for (size_t i = 0; i < n; i++)
        CHECK(l && rc_list_append(l, items[i]) == 0);
    return l;
}

/* a = [a] and b = [b] unfold to the same infinite list: equal (Python
   raises RecursionError; the old rc_equal said "different" at depth 256).
   [a, 1] and [b, 2] differ after the repeat; [[a']] with a' = [[a']] and
   b = [b] unfold alike too.  Dicts likewise. */
static void test_self_containing(void)
{
    rc_heap *h = seeded_heap(0);
    void *one = rc_int(h, 1), *two = rc_int(h, 2);
    void *a = rc_list(h), *b = rc_list(h);
    CHECK(rc_list_append(a, a) == 0 && rc_list_append(b, b) == 0);
    CHECK(rc_equal(a, b) == 1);
    void *a1 = rc_list(h), *b2 = rc_list(h);
    CHECK(rc_list_append(a1, a1) == 0 && rc_list_append(a1, one) == 0);
    CHECK(rc_list_append(b2, b2) == 0 && rc_list_append(b2, two) == 0);
    CHECK(rc_equal(a1, b2) == 0);
    void *outer = rc_list(h), *inner = list_of(h, 1, &outer);
    CHECK(rc_list_append(outer, inner) == 0);
    CHECK(rc_equal(outer, b) == 1 && rc_equal(b, inner) == 1);
    void *k = rc_str_cstr(h, "self"), *d = rc_dict(h), *e = rc_dict(h);
    CHECK(rc_dict_set(d, k, d) == 0 && rc_dict_set(e, k, e) == 0);
    CHECK(rc_equal(d, e) == 1);
    CHECK(rc_dict_set(e, one, one) == 0 && rc_dict_set(d, one, two) == 0);
    CHECK(rc_equal(d, e) == 0);
    void *objs[] = {one, two, a, b, a1, b2, outer, inner, k, d, e};
    for (size_t i = 0; i < sizeof objs / sizeof *objs; i++)
        rc_decref(objs[i]);
    rc_collect(h, -1);
    rc_heap_free(h);
}

/* ---- Out of memory on the way down ----------------------------------------- */

#define SWEEP_DEPTH 20000
static void *sweep_key, *sweep_probe, *sweep_dict, *sweep_value;
static int sweep_failures; /* calls that failed, over the whole sweep */

/* A dict holding one deep key, and an equal key not hashed yet. */
static size_t sweep_warm_up(rc_heap *h)
{
    sweep_key = nest_tuples(h, SWEEP_DEPTH, 5);
    sweep_probe = nest_tuples(h, SWEEP_DEPTH, 5);
    sweep_dict = rc_dict(h);
    sweep_value = rc_str_cstr(h, "found");
    CHECK(sweep_dict && sweep_value && rc_dict_set(sweep_dict, sweep_key, sweep_value) == 0);
    return heap_live_blocks(h);
}

/* Each call answers right or fails with RC_ENOMEM: never a wrong answer,
   never a silent miss. */
static int sweep_workload(rc_heap *h)
{
    int failures = 0;
    uint64_t v;
    rc_clear_error(h);
    if (rc_equal(sweep_key, sweep_probe) != 1) {
        CHECK(rc_last_error(h) == RC_ENOMEM);
        failures++;
    }
    rc_clear_error(h);
    if (rc_dict_get(sweep_dict, sweep_probe) != sweep_value) {
        CHECK(rc_last_error(h) == RC_ENOMEM);
        failures++;
    }
    rc_clear_error(h);
    if (rc_hash(sweep_probe, &v) != 0) {
        CHECK(rc_last_error(h) == RC_ENOMEM);
        failures++;
    }
    sweep_failures += failures;
    return failures;
}

static void sweep_still_works(rc_heap *h)
{
    uint64_t a, b;
    rc_clear_error(h);
    CHECK(rc_equal(sweep_key, sweep_probe) == 1);
    CHECK(rc_dict_get(sweep_dict, sweep_probe) == sweep_value);
    CHECK(rc_hash(sweep_key, &a) == 0 && rc_hash(sweep_probe, &b) == 0 && a == b);
    CHECK(rc_last_error(h) == RC_OK);
}

static void test_deep_fault_sweep(void)
{
    fault_sweep fs = {sweep_warm_up, sweep_workload, NULL, sweep_still_works};
    unsigned long points = run_fault_sweep(&fs);
    CHECK(points >= 1 && sweep_failures > 0); /* the stacks' growth failed */
    printf("test_hash: %lu failure points swept\n", points);
}

int main(int argc, char **argv)
{
    bool deep = argc > 1 && strcmp(argv[1], "deep") == 0;
    test_siphash_vectors();
    test_seeds();
    test_old_collisions_spread();
    test_deep_keys(deep ? 1000000 : 100000);
    test_shared_tuples_hash_once();
    test_self_containing();
    test_deep_fault_sweep();
    puts("test_hash: ok");
    return 0;
}
