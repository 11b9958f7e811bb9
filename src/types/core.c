/*
 * core.c — what all built-in types share: the types layer's per-heap
 * state, hashing and equality across types (Python's
 * rules: equal numbers hash alike; str and bytes under the heap's secret
 * key; nested containers walked with an explicit stack, at any depth),
 * repr, and iteration dispatch.
 *
 * Calls object.c (rc_new_var, rc_typeof) and the type files through
 * types.h; the type files call back for hashing and repr of their items.
 */
#include "types.h"

#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

/* ---- Per-heap state ------------------------------------------------------ */

static void flush_free_lists(rc_heap *h)
{
    rc_freelists_clear(h);
}

rci_types *rci_types_of(rc_heap *h)
{
    if (rci_likely(h->types_state != NULL))
        return h->types_state;
    rci_types *ts = rci_raw_alloc_plain(h, sizeof *ts);
    rci_typerec *lr = rci_typerec_get(h, &rc_list_type);
    rci_typerec *dr = rci_typerec_get(h, &rc_dict_type);
    if (!ts || !lr || !dr) {
        if (ts)
            rci_raw_free(h, ts);
        return rci_fail_null(h, RC_ENOMEM);
    }
    memset(ts, 0, sizeof *ts);
    h->types_state = ts;
    h->flush_caches = flush_free_lists;
    rci_list_register(h, lr);
    rci_dict_register(h, dr);
    return ts;
}

void *rci_new(rc_heap *h, const rc_type *t, size_t payload)
{
    void *o = rc_new_var(h, t, payload);
    return o ? o : rci_fail_null(h, RC_ENOMEM);
}

void rc_freelists_clear(rc_heap *h)
{
    rci_types *ts = h->types_state;
    if (!ts)
        return;
    rci_list_freelist_clear(h, ts);
    rci_dict_freelist_clear(h, ts);
}

bool rci_type_builtin(const rc_type *t)
{
    static const rc_type *const builtin[] = {
        &rc_int_type,   &rc_bigint_type, &rc_float_type, &rc_str_type,
        &rc_bytes_type, &rc_tuple_type,  &rc_list_type,  &rc_dict_type,
        &rc_bool_type,  &rc_none_type,   &rc_set_type,   &rc_frozenset_type};
    for (size_t i = 0; i < sizeof builtin / sizeof *builtin; i++)
        if (t == builtin[i])
            return true;
    return false;
}

size_t rci_owned_bytes(const void *obj)
{
    const rc_type *t = rc_typeof(obj);
    const void *block = NULL;
    if (t == &rc_list_type)
        block = ((const rci_list *)obj)->items;
    else if (t == &rc_dict_type)
        block = ((const rci_dict *)obj)->table;
    else if (rci_is_setlike(t))
        block = rci_set_table(obj);
    else if (t->owned_bytes)
        return t->owned_bytes(obj);
    /* buffers come from rc_mem_*: a debug heap's sizes are its own */
    return block ? rc_mem_usable_size(rci_heap_of(obj), block) : 0;
}

/* ---- Walk stacks ------------------------------------------------------------
 * Hashing and equality descend into nested tuples, lists and dicts without
 * recursion: each keeps its own stack of frames, the first few kilobytes on
 * the C stack and the rest in a raw block of the heap that doubles as it
 * fills.  So a key nested a million deep costs memory in proportion, never
 * the C stack, and running out of memory is an error the caller sees. */

#define WALK_INLINE_BYTES 2048

typedef struct walk_stack {
    rc_heap *heap;         /* where a grown stack lives; errors go here */
    unsigned char *base;   /* inline_frames, or a raw block */
    size_t len, cap;       /* frames in use, frames of room */
    size_t size;           /* bytes per frame */
    _Alignas(max_align_t) unsigned char inline_frames[WALK_INLINE_BYTES];
} walk_stack;

static void walk_init(walk_stack *w, rc_heap *h, size_t frame_size)
{
    w->heap = h;
    w->base = w->inline_frames;
    w->len = 0;
    w->cap = WALK_INLINE_BYTES / frame_size;
    w->size = frame_size;
}

static bool walk_grow(walk_stack *w)
{
    size_t cap, bytes;
    if (!rci_mul_ok(w->cap, 2, &cap) || !rci_mul_ok(cap, w->size, &bytes))
        return rci_fail(w->heap, RC_ENOMEM), false;
    bool inline_now = w->base == w->inline_frames;
    unsigned char *p = inline_now ? rc_mem_alloc(w->heap, bytes)
                                  : rc_mem_realloc(w->heap, w->base, bytes);
    if (!p)
        return rci_fail(w->heap, RC_ENOMEM), false;
    if (inline_now)
        memcpy(p, w->base, w->len * w->size);
    w->base = p;
    w->cap = cap;
    return true;
}

/* A new top frame (contents undefined), or NULL with RC_ENOMEM recorded.
   Frames may move when the stack grows: hold none across a push. */
static void *walk_push(walk_stack *w)
{
    if (w->len == w->cap && !walk_grow(w))
        return NULL;
    return w->base + w->len++ * w->size;
}

static void *walk_at(const walk_stack *w, size_t i)
{
    return w->base + i * w->size;
}

/* The top frame after popping one; NULL when the stack is empty. */
static void *walk_pop(walk_stack *w)
{
    return --w->len ? walk_at(w, w->len - 1) : NULL;
}

static void walk_release(walk_stack *w)
{
    if (w->base != w->inline_frames)
        rc_mem_free(w->heap, w->base);
}

/* ---- Hashing -------------------------------------------------------------- *
 * Numbers hash by value (1 and 1.0 alike); str and bytes with SipHash-1-3
 * under the heap's secret key (rci_hash_text), so text chosen to collide
 * cannot be computed from outside; tuples combine their items' hashes and
 * cache the result; other types hash by identity. */

void rci_hash_key_init(rc_heap *h)
{
    uint64_t seed = h->cfg.hash_seed;
    if (!seed && getrandom(h->hash_key, sizeof h->hash_key, GRND_NONBLOCK) ==
                     (ssize_t)sizeof h->hash_key)
        return;
    if (!seed) { /* no kernel entropy yet (early boot) or no getrandom (seccomp) */
        struct timespec ts;
        timespec_get(&ts, TIME_UTC);
        seed = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 30) ^ (uintptr_t)h ^
               ((uint64_t)getpid() << 48);
    }
    /* splitmix64 (Steele et al.): two well-mixed words from one seed */
    for (int i = 0; i < 2; i++) {
        uint64_t z = (seed += UINT64_C(0x9E3779B97F4A7C15));
        z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
        z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
        h->hash_key[i] = z ^ (z >> 31);
    }
}

static uint64_t mix64(uint64_t x)
{
    x ^= x >> 33;
    x *= UINT64_C(0xFF51AFD7ED558CCD);
    x ^= x >> 33;
    x *= UINT64_C(0xC4CEB9FE1A85EC53);
    return x ^ (x >> 33);
}

uint64_t rci_hash_int(int64_t v)
{
    return mix64((uint64_t)v);
}

/* A float equal to an int hashes as that int (1.0 and 1 are one key; a
   big int equal to a float hashes through here too). */
uint64_t rci_hash_float(double d)
{
    if (d == 0)
        return rci_hash_int(0);
    if (isfinite(d) && d == floor(d) && d >= -0x1p63 && d < 0x1p63)
        return rci_hash_int((int64_t)d);
    uint64_t bits;
    memcpy(&bits, &d, sizeof bits);
    return mix64(bits ^ UINT64_C(0xF10A7F10A7F10A7));
}

/* A user type's hash slot; one with eq but no hash is unhashable (as a
   Python class defining __eq__ alone); neither: by identity. */
static int hash_user(const rc_type *t, const void *o, uint64_t *out)
{
    rc_heap *h = rci_heap_of(o);
    if (!t->hash && t->eq)
        return rc_error_setf(h, RC_EUNHASHABLE, "unhashable type: '%s'", t->name);
    if (!t->hash) {
        *out = mix64((uint64_t)(uintptr_t)o);
        return 0;
    }
    rc_error before = rci_error_begin(h);
    return rci_error_end(h, before, t->hash(o, out) == 0 ? 0 : -1);
}

/* The hash of anything but a tuple whose hash is not cached yet. */
static int hash_leaf(const void *o, uint64_t *out)
{
    const rc_type *t = rc_typeof(o);
    if (rci_is_intlike(t)) /* True hashes as 1, as in Python */
        *out = rci_hash_int(rci_int_v(o));
    else if (t == &rc_float_type)
        *out = rci_hash_float(rci_float_v(o));
    else if (t == &rc_str_type || t == &rc_bytes_type)
        *out = rci_str_hash((void *)o);
    else if (t == &rc_tuple_type)
        *out = ((const rci_tuple *)o)->hash;
    else if (t == &rc_frozenset_type)
        *out = rci_set_hash(o);
    else if (t == &rc_list_type || t == &rc_dict_type || t == &rc_set_type)
        return rc_error_setf(rci_heap_of(o), RC_EUNHASHABLE, "unhashable type: '%s'",
                             t->name);
    else
        return hash_user(t, o, out);
    return 0;
}

static rci_tuple *uncached_tuple(const void *o)
{
    return rci_is(o, &rc_tuple_type) && !((const rci_tuple *)o)->hash ? (rci_tuple *)o
                                                                      : NULL;
}

/* A tuple being hashed: its items are combined xxHash-style into acc. */
typedef struct hash_frame {
    rci_tuple *t;
    size_t next;           /* next item to combine */
    uint64_t acc;
} hash_frame;

static void hash_frame_start(hash_frame *f, rci_tuple *t)
{
    *f = (hash_frame){t, 0, UINT64_C(0x27D4EB2F165667C5) ^ t->n};
}

static void hash_frame_add(hash_frame *f, uint64_t item)
{
    f->acc += item * UINT64_C(0xC2B2AE3D27D4EB4F);
    f->acc = (f->acc << 31) | (f->acc >> 33);
    f->acc *= UINT64_C(0x9E3779B185EBCA87);
}

/* Hash t and every uncached tuple inside it, depth first, caching each. */
static int hash_tuple(rci_tuple *t, uint64_t *out)
{
    walk_stack w;
    walk_init(&w, rci_heap_of(t), sizeof(hash_frame));
    hash_frame *f = walk_push(&w); /* inline room: cannot fail */
    hash_frame_start(f, t);
    uint64_t h = 0;
    while (f) {
        if (f->next == f->t->n) {
            h = mix64(f->acc);
            uint32_t folded = (uint32_t)(h ^ (h >> 32));
            f->t->hash = folded ? folded : 1;
            h = f->t->hash;
            if ((f = walk_pop(&w)))
                hash_frame_add(f, h);
            continue;
        }
        void *item = f->t->items[f->next++];
        rci_tuple *inner = uncached_tuple(item);
        if (inner) {
            if (!(f = walk_push(&w)))
                break;
            hash_frame_start(f, inner);
        } else if (hash_leaf(item, &h) == 0) {
            hash_frame_add(f, h);
        } else {
            break;
        }
    }
    bool done = w.len == 0;
    walk_release(&w);
    if (!done)
        return -1;
    *out = h;
    return 0;
}

int rc_hash(const void *o, uint64_t *out)
{
    rci_tuple *t = uncached_tuple(o);
    return t ? hash_tuple(t, out) : hash_leaf(o, out);
}

/* ---- Equality ------------------------------------------------------------- *
 * Python's ==, with an explicit stack (see walk_stack) instead of
 * recursion.  A pair of containers is compared item by item; a pair whose
 * items are containers too pushes a frame.
 *
 * Lists and dicts can contain themselves.  When the same pair of
 * containers comes up again inside its own comparison, comparing it again
 * would repeat the same steps forever (Python raises RecursionError); here
 * the inner occurrence counts as equal, and the answer is whether the two
 * structures unfold to the same (infinite) tree, as Scheme's equal? does.
 * The repeat is found with Brent's trick: each new pair is checked against
 * the frame at the largest power-of-two depth below it, so a cycle of
 * period p entered at depth s is seen by depth 2 max(s, p) + p, at one
 * comparison per push. */

typedef enum { EQ_NO, EQ_YES, EQ_DESCEND, EQ_FAILED } eq_shallow;

static int equal_numbers(const void *a, const void *b)
{
    bool ai = rci_is_intlike(rc_typeof(a)), bi = rci_is_intlike(rc_typeof(b));
    if (ai && bi)
        return rci_int_v(a) == rci_int_v(b);
    if (!ai && !bi)
        return rci_float_v(a) == rci_float_v(b);
    int64_t i = rci_int_v(ai ? a : b);
    double d = rci_float_v(ai ? b : a);
    /* exact: d must be integral, in range, and convert back to i */
    return d == floor(d) && d >= -0x1p63 && d < 0x1p63 && (int64_t)d == i;
}

static bool is_number(const rc_type *t)
{
    return rci_is_intlike(t) || t == &rc_float_type;
}

static eq_shallow eq_answer(int r)
{
    return r < 0 ? EQ_FAILED : r ? EQ_YES : EQ_NO;
}

/* A user type's eq slot: a's type first, else b's with the arguments
   swapped.  Both are held while it runs: a slot may drop the last other
   reference (removing a key from the dict being searched), as CPython
   holds the key it compares. */
static eq_shallow equal_user(const rc_type *ta, const void *a, const void *b)
{
    rc_heap *h = rci_heap_of(a);
    rc_error before = rci_error_begin(h);
    rc_incref((void *)a);
    rc_incref((void *)b);
    int r = ta->eq ? ta->eq(a, b) : rc_typeof(b)->eq(b, a);
    r = rci_error_end(h, before, r);
    rc_decref((void *)a);
    rc_decref((void *)b);
    return eq_answer(r);
}

/* Cached hashes that differ prove two strs or tuples unequal, when both
   come from one heap (each heap has its own key). */
static bool hashes_differ(const void *a, uint32_t ha, const void *b, uint32_t hb)
{
    return ha && hb && ha != hb && rci_heap_of(a) == rci_heap_of(b);
}

/* Everything that can be said of a and b without looking at their items;
   EQ_DESCEND: containers of one type and length, items to compare. */
static eq_shallow equal_shallow(const void *a, const void *b)
{
    if (a == b)
        return EQ_YES;
    const rc_type *ta = rc_typeof(a), *tb = rc_typeof(b);
    if (is_number(ta) && is_number(tb))
        return equal_numbers(a, b) ? EQ_YES : EQ_NO;
    if (ta->eq || tb->eq)
        return equal_user(ta, a, b);
    if (rci_is_setlike(ta) && rci_is_setlike(tb)) {
        if (rc_set_len(a) != rc_set_len(b) ||
            (ta == tb && ta == &rc_frozenset_type && rci_set_hash(a) != rci_set_hash(b) &&
             rci_heap_of(a) == rci_heap_of(b)))
            return EQ_NO;
        return eq_answer(rci_set_equal(a, b));
    }
    if (ta != tb)
        return EQ_NO;
    size_t n;
    if (ta == &rc_str_type || ta == &rc_bytes_type) {
        const rci_str *x = a, *y = b;
        return rci_str_len(x) == rci_str_len(y) && !hashes_differ(x, x->hash, y, y->hash) &&
                       memcmp(x->data, y->data, rci_str_len(x)) == 0
                   ? EQ_YES
                   : EQ_NO;
    }
    if (ta == &rc_tuple_type) {
        const rci_tuple *x = a, *y = b;
        if (x->n != y->n || hashes_differ(x, x->hash, y, y->hash))
            return EQ_NO;
        n = x->n;
    } else if (ta == &rc_list_type) {
        if ((n = rc_list_len(a)) != rc_list_len(b))
            return EQ_NO;
    } else if (ta == &rc_dict_type) {
        if ((n = rc_dict_len(a)) != rc_dict_len(b))
            return EQ_NO;
    } else {
        return EQ_NO;
    }
    return n ? EQ_DESCEND : EQ_YES;
}

/* A pair of containers being compared: a is it.container; it.pos is the
   next index for sequences, rc_iter's position for dicts. */
typedef struct eq_frame {
    const void *b;
    rc_iter it;
} eq_frame;

typedef enum { PAIR_NEXT, PAIR_DONE, PAIR_DIFFER, PAIR_FAILED } pair_step;

/* The value of key in dict d into *out (NULL: absent); -1 when the lookup
   failed (its error recorded), telling that apart from absence. */
static int dict_value(const void *d, const void *key, void **out)
{
    rc_heap *h = rci_heap_of(d);
    rc_error before = h->error;
    h->error = RC_OK;
    *out = rc_dict_get(d, key);
    if (!*out && h->error != RC_OK)
        return -1;
    h->error = before;
    return 0;
}

/* Item i of a tuple or list, NULL past its end (read again at each step:
   an eq slot run by rc_equal may change a list). */
static void *seq_item(const void *o, size_t i)
{
    if (rci_is(o, &rc_tuple_type)) {
        const rci_tuple *t = o;
        return i < t->n ? t->items[i] : NULL;
    }
    const rci_list *l = o;
    return i < l->len ? l->items[i] : NULL;
}

/* The next pair of items of f's containers into *x, *y. */
static pair_step next_pair(eq_frame *f, const void **x, const void **y)
{
    const void *a = f->it.container;
    const rc_type *t = rc_typeof(a);
    if (t == &rc_dict_type) {
        void *k, *v, *w;
        int got = rc_iter_next(&f->it, &k, &v);
        if (got <= 0)
            return got == 0 ? PAIR_DONE : PAIR_FAILED;
        if (dict_value(f->b, k, &w) != 0)
            return PAIR_FAILED;
        *x = v;
        *y = w;
        return w ? PAIR_NEXT : PAIR_DIFFER;
    }
    /* a list an eq slot shortened ends the walk, as in Python: the longer
       list is unequal */
    *x = seq_item(a, f->it.pos);
    *y = seq_item(f->b, f->it.pos++);
    if (!*x || !*y)
        return !*x && !*y ? PAIR_DONE : PAIR_DIFFER;
    return PAIR_NEXT;
}

/* Is (a, b) already being compared further up?  Checked against the frame
   at the largest power-of-two depth below the top (Brent). */
static bool pair_repeats(const walk_stack *w, const void *a, const void *b)
{
    size_t check = (size_t)1 << (63 - __builtin_clzll((unsigned long long)w->len));
    const eq_frame *f = walk_at(w, check - 1);
    return f->it.container == a && f->b == b;
}

static bool equal_push(walk_stack *w, const void *a, const void *b)
{
    eq_frame *f = walk_push(w);
    if (f) {
        rc_iter_init(&f->it, a);
        f->b = b;
    }
    return f != NULL;
}

int rc_equal(const void *a, const void *b)
{
    eq_shallow s = equal_shallow(a, b);
    if (s != EQ_DESCEND)
        return s == EQ_FAILED ? -1 : s == EQ_YES;
    walk_stack w;
    walk_init(&w, rci_heap_of(a), sizeof(eq_frame));
    int result = 1;
    equal_push(&w, a, b); /* inline room: cannot fail */
    while (w.len && result == 1) {
        const void *x, *y;
        pair_step step = next_pair(walk_at(&w, w.len - 1), &x, &y);
        if (step == PAIR_DONE)
            walk_pop(&w);
        else if (step != PAIR_NEXT)
            result = step == PAIR_DIFFER ? 0 : -1;
        else if ((s = equal_shallow(x, y)) == EQ_NO || s == EQ_FAILED)
            result = s == EQ_NO ? 0 : -1;
        else if (s == EQ_DESCEND && !pair_repeats(&w, x, y) && !equal_push(&w, x, y))
            result = -1;
    }
    walk_release(&w);
    return result;
}

/* ---- Ordering ---------------------------------------------------------------- *
 * Sequences compare as Python's do: the first pair of items that are not
 * equal (rc_equal) decides, compared in turn; all equal: the shorter is
 * smaller.  Descending into that one pair is a tail call, so the walk is a
 * loop with no stack.  A pair of self-containing lists can descend for
 * ever (a = [a, 1] against b = [b, 2]: their first items never differ by
 * equality yet never settle); Brent's trick spots the pair coming back
 * and the answer is "unordered" (Python raises RecursionError). */

/* Exact: a float is not rounded to an int nor an int to a double. */
static int compare_numbers(const void *a, const void *b, int *out)
{
    bool ai = rci_is_intlike(rc_typeof(a)), bi = rci_is_intlike(rc_typeof(b));
    if (ai && bi) {
        int64_t x = rci_int_v(a), y = rci_int_v(b);
        *out = (x > y) - (x < y);
        return 0;
    }
    double d = rci_float_v(ai ? b : a);
    if (isnan(d) || (!ai && !bi && isnan(rci_float_v(b))))
        return rci_fail(rci_heap_of(a), RC_EVALUE);
    if (!ai && !bi) {
        double e = rci_float_v(b);
        *out = (d > e) - (d < e);
        return 0;
    }
    /* one int i against the float d: the sign of d - i */
    int64_t i = rci_int_v(ai ? a : b);
    int r;
    if (d >= 0x1p63)
        r = 1;
    else if (d < -0x1p63)
        r = -1;
    else {
        double fl = floor(d);
        int64_t f = (int64_t)fl;
        r = f != i ? (f > i ? 1 : -1) : d > fl;
    }
    *out = ai ? -r : r;
    return 0;
}

/* A user type's compare slot: a's type first, else b's (result
   negated); both held while it runs, as in equal_user. */
static int compare_user(const rc_type *ta, const void *a, const void *b, int *out)
{
    rc_heap *h = rci_heap_of(a);
    rc_error before = rci_error_begin(h);
    rc_incref((void *)a);
    rc_incref((void *)b);
    int r = ta->compare ? ta->compare(a, b, out) : rc_typeof(b)->compare(b, a, out);
    if (r == 0 && !ta->compare)
        *out = -*out;
    r = rci_error_end(h, before, r == 0 ? 0 : -1);
    rc_decref((void *)a);
    rc_decref((void *)b);
    return r;
}

/* The first index where a and b hold unequal items, into *at (the
   shorter length when none); -1 when a comparison failed. */
static int first_difference(const void *a, const void *b, size_t *at)
{
    size_t i = 0;
    for (;; i++) {
        void *x = seq_item(a, i), *y = seq_item(b, i);
        int same = x && y ? rc_equal(x, y) : 0;
        if (same <= 0) {
            *at = i;
            return same < 0 ? -1 : 0;
        }
    }
}

int rc_compare(const void *a, const void *b, int *out)
{
    const void *saved_a = NULL, *saved_b = NULL;
    size_t steps = 0, power = 1;
    for (;;) {
        const rc_type *ta = rc_typeof(a), *tb = rc_typeof(b);
        if (is_number(ta) && is_number(tb))
            return compare_numbers(a, b, out);
        if (ta->compare || tb->compare)
            return compare_user(ta, a, b, out);
        if (ta != tb)
            return rci_fail(rci_heap_of(a), RC_ETYPE);
        if (ta == &rc_str_type || ta == &rc_bytes_type) {
            size_t na = rci_str_len(a), nb = rci_str_len(b);
            int r = memcmp(rci_as_str(a)->data, rci_as_str(b)->data, na < nb ? na : nb);
            *out = r ? (r > 0) - (r < 0) : (na > nb) - (na < nb);
            return 0;
        }
        if (ta != &rc_tuple_type && ta != &rc_list_type)
            return rci_fail(rci_heap_of(a), RC_ETYPE);
        size_t i;
        if (first_difference(a, b, &i) != 0)
            return -1;
        const void *x = seq_item(a, i), *y = seq_item(b, i);
        if (!x || !y) {
            *out = (x != NULL) - (y != NULL);
            return 0;
        }
        if (x == saved_a && y == saved_b)
            return rci_fail(rci_heap_of(a), RC_EVALUE);
        if (++steps == power) {
            saved_a = x, saved_b = y;
            power *= 2;
        }
        a = x;
        b = y;
    }
}

/* ---- Iteration ------------------------------------------------------------ */

void rc_iter_init(rc_iter *it, const void *container)
{
    const rc_type *t = rc_typeof(container);
    it->container = container;
    it->pos = 0;
    it->stamp = t == &rc_list_type ? rci_list_stamp(container)
              : t == &rc_dict_type ? rci_dict_stamp(container)
              : rci_is_setlike(t)  ? rci_set_stamp(container)
                                   : 0;
}

int rc_iter_next(rc_iter *it, void **key, void **value)
{
    const rc_type *t = rc_typeof(it->container);
    if (value)
        *value = NULL;
    if (t == &rc_list_type)
        return rci_list_iter_next(it, key);
    if (t == &rc_dict_type)
        return rci_dict_iter_next(it, key, value);
    if (rci_is_setlike(t))
        return rci_set_iter_next(it, key);
    if (t == &rc_tuple_type) {
        const rci_tuple *tu = it->container;
        if (it->pos >= tu->n)
            return 0;
        *key = tu->items[it->pos++];
        return 1;
    }
    return rci_fail(rci_heap_of(it->container), RC_ETYPE);
}

/* ---- repr ------------------------------------------------------------------- */

static void put(rci_repr_ctx *c, const char *s)
{
    if (fputs(s, c->out) < 0)
        c->err = 1;
}

static void putf(rci_repr_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void putf(rci_repr_ctx *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (vfprintf(c->out, fmt, ap) < 0)
        c->err = 1;
    va_end(ap);
}

/* Python's repr of a float: the fewest digits that read back as the same
   double, in positional notation for exponents -4..15 and scientific
   notation otherwise ("1500.0", "1e+16", "1.5e-05"). */
static void repr_float(rci_repr_ctx *c, double d)
{
    if (isnan(d) || isinf(d)) {
        put(c, isnan(d) ? "nan" : d > 0 ? "inf" : "-inf");
        return;
    }
    char sci[40];
    for (int prec = 0; prec <= 16; prec++) {
        snprintf(sci, sizeof sci, "%.*e", prec, d);
        if (strtod(sci, NULL) == d)
            break;
    }
    /* split "-1.2345e+03" into sign, digits "12345" and exponent 3 */
    const char *p = sci;
    char digits[24];
    size_t n = 0;
    if (*p == '-') {
        put(c, "-");
        p++;
    }
    for (; *p && *p != 'e'; p++)
        if (*p != '.')
            digits[n++] = *p;
    digits[n] = '\0';
    int e = atoi(p + 1);
    if (e < -4 || e >= 16) {
        putf(c, "%c%s%.*se%c%02d", digits[0], n > 1 ? "." : "", (int)(n - 1), digits + 1,
             e < 0 ? '-' : '+', e < 0 ? -e : e);
    } else if (e < 0) {
        putf(c, "0.%.*s%s", -e - 1, "0000", digits);
    } else if ((size_t)e + 1 >= n) {
        putf(c, "%s%.*s.0", digits, (int)((size_t)e + 1 - n), "000000000000000");
    } else {
        putf(c, "%.*s.%s", e + 1, digits, digits + e + 1);
    }
}

static void repr_text(rci_repr_ctx *c, const rci_str *s, bool bytes)
{
    put(c, bytes ? "b'" : "'");
    size_t n = rci_str_len(s);
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s->data[i];
        if (ch == '\'' || ch == '\\')
            putf(c, "\\%c", ch);
        else if (ch == '\n')
            put(c, "\\n");
        else if (ch == '\t')
            put(c, "\\t");
        else if (ch == '\r')
            put(c, "\\r");
        else if (ch < 0x20 || ch == 0x7F || (bytes && ch >= 0x80))
            putf(c, "\\x%02x", ch);
        else if (fputc(ch, c->out) == EOF)
            c->err = 1;
    }
    put(c, "'");
}

static void repr_seq(rci_repr_ctx *c, void *const *items, size_t n, const char *open,
                     const char *close, bool tuple)
{
    put(c, open);
    for (size_t i = 0; i < n; i++) {
        if (i)
            put(c, ", ");
        rci_repr(c, items[i]);
    }
    if (tuple && n == 1)
        put(c, ",");
    put(c, close);
}

static void repr_dict(rci_repr_ctx *c, const void *d)
{
    rc_iter it;
    void *k, *v;
    bool first = true;
    put(c, "{");
    rc_iter_init(&it, d);
    while (rc_iter_next(&it, &k, &v) == 1) {
        put(c, first ? "" : ", ");
        first = false;
        rci_repr(c, k);
        put(c, ": ");
        rci_repr(c, v);
    }
    put(c, "}");
}

/* {1, 2}, set(), frozenset({1, 2}), frozenset() */
static void repr_set(rci_repr_ctx *c, const void *o, bool frozen)
{
    rc_iter it;
    void *k;
    size_t i = 0;
    put(c, frozen ? "frozenset(" : "");
    rc_iter_init(&it, o);
    while (rc_iter_next(&it, &k, NULL) == 1) {
        put(c, i++ ? ", " : "{");
        rci_repr(c, k);
    }
    put(c, i ? "}" : frozen ? "" : "set(");
    put(c, i && !frozen ? "" : ")");
}

/* Containers print once per chain: a container already being printed
   further up shows as [...], {...} or (...), like Python's reprlib. */
static bool enter(rci_repr_ctx *c, const void *o, const char *ellipsis)
{
    for (size_t i = 0; i < c->depth; i++)
        if (c->stack[i] == o) {
            put(c, ellipsis);
            return false;
        }
    if (c->depth == sizeof c->stack / sizeof *c->stack) {
        put(c, "...");
        return false;
    }
    c->stack[c->depth++] = o;
    return true;
}

void rci_repr(rci_repr_ctx *c, const void *o)
{
    const rc_type *t = rc_typeof(o);
    if (t == &rc_bool_type)
        put(c, rci_int_v(o) ? "True" : "False");
    else if (t == &rc_none_type)
        put(c, "None");
    else if (t == &rc_int_type)
        putf(c, "%lld", (long long)rci_int_v(o));
    else if (t == &rc_float_type)
        repr_float(c, rci_float_v(o));
    else if (t == &rc_str_type || t == &rc_bytes_type)
        repr_text(c, o, t == &rc_bytes_type);
    else if (t == &rc_tuple_type && enter(c, o, "(...)")) {
        const rci_tuple *tu = o;
        repr_seq(c, tu->items, tu->n, "(", ")", true);
        c->depth--;
    } else if (t == &rc_list_type && enter(c, o, "[...]")) {
        const rci_list *l = o;
        repr_seq(c, l->items, l->len, "[", "]", false);
        c->depth--;
    } else if (t == &rc_dict_type && enter(c, o, "{...}")) {
        repr_dict(c, o);
        c->depth--;
    } else if (rci_is_setlike(t) && enter(c, o, "{...}")) {
        repr_set(c, o, t == &rc_frozenset_type);
        c->depth--;
    } else if (t->repr) {
        if (t->repr(o, c->out) != 0)
            c->err = 1;
    } else if (t != &rc_tuple_type && t != &rc_list_type && t != &rc_dict_type &&
               !rci_is_setlike(t)) {
        putf(c, "<%s object at %p>", t->name, o);
    }
}

int rc_repr(const void *o, FILE *out)
{
    rci_repr_ctx c = {.out = out};
    rci_repr(&c, o);
    return c.err ? -1 : 0;
}
