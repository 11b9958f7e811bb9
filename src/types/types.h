/*
 * types.h — what the built-in type files share: payload layouts, the
 * per-heap state of the types layer, and cross-file helpers.
 *
 * One type per file (int.c, float.c, str.c for str and bytes, tuple.c,
 * list.c, dict.c, set.c for set and frozenset, singletons.c for None and
 * bool); core.c holds errors, hashing, equality, repr and
 * iteration dispatch.  Everything here is internal (rci_ names).
 */
#ifndef RC_TYPES_H
#define RC_TYPES_H

#include "../rc_internal.h"
#include "siphash.h"

/* ---- Payload layouts ------------------------------------------------------ */

typedef struct rci_int { int64_t v; } rci_int;
typedef struct rci_float { double v; } rci_float;
/* An int outside int64 (bigint.c): n limbs of 32 bits, least significant
   first, the top one nonzero; neg: negative.  Never a value int64 holds. */
typedef struct rci_bigint {
    uint32_t n;
    uint32_t neg;
    uint32_t d[];
} rci_bigint;

/* The value of an object already known to be an int or a float (the
   public accessors check the type first, which costs a type lookup). */
static inline int64_t rci_int_v(const void *o) { return ((const rci_int *)o)->v; }
static inline double rci_float_v(const void *o) { return ((const rci_float *)o)->v; }

/* str and bytes share one layout and one implementation (str.c). */
#define RCI_STR_INTERNED 0x80000000u /* in len: the string is interned */
typedef struct rci_str {
    uint32_t hash;   /* 0: not computed yet (a computed 0 is stored as 1) */
    uint32_t len;    /* bytes, below 2^31; top bit: RCI_STR_INTERNED */
    uint32_t chars;  /* code points (bytes: len); == len: ASCII, O(1) indexing */
    char data[];     /* len bytes and a NUL */
} rci_str;

/* A tuple caches its hash like a str: its items cannot change, and a
   dict's resize then rehashes a deep tuple key without walking it again. */
#define RCI_TUPLE_MAX UINT32_MAX /* most items */
typedef struct rci_tuple {
    uint32_t hash;   /* 0: not computed yet (a computed 0 is stored as 1) */
    uint32_t n;      /* items */
    void *items[];
} rci_tuple;

typedef struct rci_list {
    size_t len, cap;
    void **items;    /* raw block of cap slots; NULL while cap == 0 */
    uint64_t stamp;  /* bumped on every change of len: iterators check it */
    uint32_t locked; /* nonzero while sort runs cmp */
} rci_list;

/* rcgc.h's inline accessors read these fields through its own structs. */
_Static_assert(offsetof(rci_list, items) == offsetof(rc_priv_list, items) &&
                   offsetof(rci_tuple, items) == offsetof(rc_priv_tuple, items) &&
                   offsetof(rci_str, len) == offsetof(rc_priv_str, len) &&
                   offsetof(rci_str, data) == offsetof(rc_priv_str, data) &&
                   RCI_STR_INTERNED == 0x80000000u,
               "rcgc.h's rc_priv_* structs match the built-in types");

/* Compact dict: one raw block holds the index (2^k slots of 1, 2, 4 or 8
   bytes, each -1 empty, -2 deleted, else an entry number in the low log2
   bits with a hash tag in the spare bits above; see dict.c) followed by
   the entries in insertion order. */
typedef struct rci_entry {
    void *key;       /* NULL: deleted entry */
    void *value;
} rci_entry;

typedef struct rci_dict {
    size_t len;      /* live entries */
    size_t used;     /* entries written (live + deleted) */
    size_t usable;   /* entries the table has room for */
    uint8_t log2;    /* index has 1 << log2 slots; 0: no table yet */
    uint8_t width;   /* bytes per index slot */
    void *table;     /* raw block: index then entries */
    uint64_t stamp;  /* bumped on insertion and deletion */
} rci_dict;

/* set and frozenset share one layout (set.c): open addressing over
   {key, hash} entries, CPython's probe sequence.  A removed item leaves a
   dummy mark so the probe paths through it stay whole. */
typedef struct rci_setentry {
    void *key;       /* NULL: empty; RCI_SET_DUMMY: removed */
    uint64_t hash;   /* the key's rc_hash (a resize never hashes again) */
} rci_setentry;

typedef struct rci_set {
    size_t len;      /* items */
    size_t fill;     /* items + dummies */
    size_t mask;     /* slots - 1 (0 while table is NULL) */
    rci_setentry *table; /* raw block of mask + 1 entries; NULL: no item yet */
    uint64_t stamp;  /* bumped on every addition and removal */
    uint64_t hash;   /* frozenset: its hash, fixed at creation */
} rci_set;

static inline rci_str *rci_as_str(const void *o) { return (rci_str *)o; }
static inline size_t rci_str_len(const rci_str *s) { return s->len & ~RCI_STR_INTERNED; }

/* ---- Per-heap state of the types layer ------------------------------------ */

#define RCI_SMALL_INTS (RC_SMALL_INT_MAX - RC_SMALL_INT_MIN + 1)
#define RCI_FREELIST_MAX 80

typedef struct rci_types {
    void *small_int[RCI_SMALL_INTS];   /* immortal, made on first use */
    /* intern table: open addressing over str objects (weak: a string that
       dies removes itself) */
    void **intern;
    size_t intern_cap, intern_len;
    /* free lists of dead containers that keep their buffers */
    void *free_list[RCI_FREELIST_MAX];
    size_t free_lists;
    void *free_dict[RCI_FREELIST_MAX];
    size_t free_dicts;
    void *none;                        /* immortal, made on first use */
    void *bools[2];                    /* False, True: immortal, on first use */
    unsigned set_eq_depth;             /* nested set comparisons (set.c) */
} rci_types;

/* The heap's types state, made on first use; NULL when out of memory. */
RCI_HIDDEN rci_types *rci_types_of(rc_heap *h);

/* A new built-in object; records RC_ENOMEM on failure. */
RCI_HIDDEN void *rci_new(rc_heap *h, const rc_type *t, size_t payload);

static inline bool rci_is(const void *o, const rc_type *t) { return rc_typeof(o) == t; }

/* hashing helpers (core.c) */
RCI_HIDDEN uint64_t rci_hash_int(int64_t v);
RCI_HIDDEN uint64_t rci_hash_float(double d);  /* as an equal int when integral */

/* bigint.c: the slow paths of int.c's operations, on ints, bools or big
   ints (any mix); results are int64 objects when they fit.  NULL / -1
   with the error recorded. */
RCI_HIDDEN void *rci_bigint_addsub(rc_heap *h, const void *a, const void *b, bool subtract);
RCI_HIDDEN void *rci_bigint_mul(rc_heap *h, const void *a, const void *b);
RCI_HIDDEN int rci_bigint_divmod(rc_heap *h, const void *a, const void *b, void **q, void **r);
RCI_HIDDEN void *rci_bigint_neg(rc_heap *h, const void *a);
RCI_HIDDEN void *rci_bigint_lshift(rc_heap *h, const void *a, uint64_t k);
RCI_HIDDEN void *rci_bigint_rshift(rc_heap *h, const void *a, uint64_t k);
/* a & b, a | b, a ^ b for op '&', '|', '^' (Python's two's complement). */
RCI_HIDDEN void *rci_bigint_bitop(rc_heap *h, const void *a, const void *b, char op);
/* Nearest double (ties to even): 0, or -1 with RC_EOVERFLOW on h. */
RCI_HIDDEN int rci_bigint_to_double(rc_heap *h, const void *o, double *out);
RCI_HIDDEN int rci_bigint_truediv(rc_heap *h, const void *a, const void *b, double *out);
/* Bits of |o| (Python's o.bit_length()), and bit i of |o|; o any int. */
RCI_HIDDEN size_t rci_int_bit_length(const void *o);
RCI_HIDDEN bool rci_int_bit(const void *o, size_t i);
/* The int of the decimal digits s[0..n) (no sign; at most
   RC_INT_MAX_STR_DIGITS), negated if neg. */
RCI_HIDDEN void *rci_bigint_from_digits(rc_heap *h, bool neg, const char *s, size_t n);
RCI_HIDDEN void *rci_bigint_to_str(rc_heap *h, const void *big);

/* The keyed hash of text on heap h (SipHash-1-3 under h's key), folded to
   the 32 bits a str or tuple caches; never 0 (0 means "not computed"). */
static inline uint32_t rci_hash_text(const rc_heap *h, const void *p, size_t n)
{
    uint64_t x = rci_siphash(h->hash_key, p, n, 1, 3);
    uint32_t v = (uint32_t)(x ^ (x >> 32));
    return v ? v : 1;
}

/* The next slot on a key's probe path in a dict's or set's table
   (CPython's: every bit of the hash takes part through perturb). */
static inline size_t rci_probe_next(size_t i, uint64_t *perturb, size_t mask)
{
    *perturb >>= 5;
    return (size_t)(i * 5 + *perturb + 1) & mask;
}

/* Numbers: int, bool (an int that prints as True/False), float. */
static inline bool rci_is_intlike(const rc_type *t)
{
    return t == &rc_int_type || t == &rc_bool_type;
}

static inline bool rci_is_setlike(const rc_type *t)
{
    return t == &rc_set_type || t == &rc_frozenset_type;
}

/* Run a type's slot: error_begin clears the heap's error and returns the
   one to restore; error_end restores it after success, or makes sure a
   failure recorded something (RC_EVALUE when the slot said nothing). */
static inline rc_error rci_error_begin(rc_heap *h)
{
    rc_error before = h->error;
    h->error = RC_OK;
    return before;
}

static inline int rci_error_end(rc_heap *h, rc_error before, int result)
{
    if (result >= 0) {
        if (rci_unlikely(h->error != RC_OK)) /* a failure the slot got over */
            h->msg_of = h->exception_of = RC_OK; /* its detail is not before's */
        h->error = before;
    } else if (h->error == RC_OK) {
        rci_fail(h, RC_EVALUE);
    }
    return result;
}

/* slice.c: a slice resolved against a length (rc_slice_indices) */
typedef struct rci_span {
    int64_t start, stop, step; /* step != 0; start is the first index visited */
    size_t count;              /* indices visited: start, start + step, ... */
} rci_span;
/* 0, or -1 for a zero step (the caller records RC_EVALUE). */
RCI_HIDDEN int rci_slice_adjust(rc_slice s, size_t len, rci_span *out);
/* A search range (RC_RANGE) over len items as [*from, *to): 0, or -1 with
   RC_EVALUE on h when it has a step (fn names the call). */
RCI_HIDDEN int rci_range_adjust(rc_heap *h, const char *fn, rc_slice r, size_t len,
                                size_t *from, size_t *to);

/* str.c */
RCI_HIDDEN uint32_t rci_str_hash(void *o);            /* str or bytes */
/* The offset of the first byte that starts no valid UTF-8 sequence; n
   when all n bytes are valid. */
RCI_HIDDEN size_t rci_utf8_check(const char *s, size_t n);
RCI_HIDDEN void rci_intern_forget(rc_heap *h, void *str);

/* list.c / dict.c: iteration and free lists */
RCI_HIDDEN int rci_list_iter_next(rc_iter *it, void **item);
RCI_HIDDEN int rci_dict_iter_next(rc_iter *it, void **key, void **value);
RCI_HIDDEN uint64_t rci_list_stamp(const void *list);
RCI_HIDDEN uint64_t rci_dict_stamp(const void *dict);
RCI_HIDDEN void rci_list_freelist_clear(rc_heap *h, rci_types *ts);
RCI_HIDDEN void rci_dict_freelist_clear(rc_heap *h, rci_types *ts);
/* list.c: free lists shared by list and dict */
RCI_HIDDEN bool rci_freelists_wanted(void);   /* RCGC_NO_FREELISTS unset or "0" */
RCI_HIDDEN void *rci_freelist_take(rc_heap *h, void **list, size_t *n);
RCI_HIDDEN void rci_freelist_flush(rc_heap *h, void **list, size_t *n);
/* Called once per heap when the types state is made: set up the type
   records (the recycle hook for free lists). */
RCI_HIDDEN void rci_list_register(rc_heap *h, rci_typerec *r);
RCI_HIDDEN void rci_dict_register(rc_heap *h, rci_typerec *r);

/* set.c: for core.c's hashing, equality and iteration */
RCI_HIDDEN uint64_t rci_set_hash(const void *frozenset);
RCI_HIDDEN int rci_set_equal(const void *a, const void *b);   /* 1, 0, -1 */
RCI_HIDDEN int rci_set_iter_next(rc_iter *it, void **item);
RCI_HIDDEN uint64_t rci_set_stamp(const void *set);
RCI_HIDDEN const void *rci_set_table(const void *set);

/* Bytes of raw blocks a built-in object owns (list items, dict table);
   0 for other types (core.c). */
RCI_HIDDEN size_t rci_owned_bytes(const void *obj);

/* repr helpers (core.c) for containers: write o, tracking the chain of
   containers being printed so a cycle prints as [...] / {...}. */
typedef struct rci_repr_ctx {
    FILE *out;
    const void *stack[64];   /* containers being printed (deeper: "...") */
    size_t depth;
    int err;
} rci_repr_ctx;
RCI_HIDDEN void rci_repr(rci_repr_ctx *c, const void *o);

#endif
