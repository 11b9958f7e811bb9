/*
 * set.c — set and frozenset: hash sets of hashable objects.
 *
 * One layout (rci_set in types.h): a power-of-two table of {key, hash}
 * entries probed CPython's way (i = 5i + perturb + 1, perturb >>= 5), kept
 * at most 60% full counting dummies.  The hash is stored per entry, so a
 * resize never calls rc_hash (a user type's hash slot) again, and a
 * lookup compares keys with rc_equal only when the full hashes agree.
 *
 * Calls core.c for hashing, equality and errors, the raw-block API for the
 * table, and the collector's track/untrack.  core.c calls back for a
 * frozenset's hash, set equality and iteration.
 *
 * Invariants: len <= fill < mask + 1 when table != NULL (a probe always
 * meets an empty slot); table == NULL iff len == fill == mask == 0; stamp
 * changes on every addition and removal; a frozenset never changes after
 * rc_frozenset returns, and its hash is computed there.
 *
 * Tracking: a set starts untracked (it holds nothing) and becomes tracked
 * when it takes an item the collector tracks; only such an item can lead
 * back to the set.  Items are hashable, so mostly leaves and tuples of
 * leaves: a set of strs or ints costs the collector nothing.  (CPython
 * tracks every set; it untracks only tuples and dicts.)
 */
#include "types.h"

#define SET_MIN_SLOTS 8
#define SET_MAX_NESTING 256 /* set comparisons nest C calls this deep */
#define LOOKUP_ABSENT (-1)
#define LOOKUP_FAILED (-2)

static const char dummy_mark;
#define DUMMY ((void *)&dummy_mark)

static void set_traverse(void *self, rc_visit_fn visit, void *ctx)
{
    rci_set *s = self;
    if (!s->table)
        return;
    for (size_t i = 0; i <= s->mask; i++)
        if (s->table[i].key && s->table[i].key != DUMMY)
            visit(&s->table[i].key, ctx);
}

static void set_destroy(void *self)
{
    rci_set *s = self;
    rc_mem_free(rci_heap_of(s), s->table);
}

const rc_type rc_set_type = {.name = "set", .size = sizeof(rci_set),
                             .traverse = set_traverse, .destroy = set_destroy};
const rc_type rc_frozenset_type = {.name = "frozenset", .size = sizeof(rci_set),
                                   .traverse = set_traverse, .destroy = set_destroy};

/* ---- The table ------------------------------------------------------------ */

/* key's slot into *slot: its entry when present (returns its index), else
   the first empty or dummy slot on its path (returns LOOKUP_ABSENT).
   LOOKUP_FAILED: a comparison failed, or an eq slot changed the set
   (RC_EMUTATED); the error is recorded. */
static int64_t lookup(const rci_set *s, const void *key, uint64_t hash, size_t *slot)
{
    size_t i = (size_t)hash & s->mask, free_slot = SIZE_MAX;
    uint64_t perturb = hash, stamp = s->stamp;
    const rci_setentry *tab = s->table;
    for (;;) {
        const void *k = tab[i].key;
        if (!k) {
            *slot = free_slot != SIZE_MAX ? free_slot : i;
            return LOOKUP_ABSENT;
        }
        if (k == DUMMY) {
            if (free_slot == SIZE_MAX)
                free_slot = i;
        } else if (k == key) {
            *slot = i;
            return (int64_t)i;
        } else if (tab[i].hash == hash) {
            int same = rc_equal(k, key);
            if (rci_unlikely(s->stamp != stamp))
                return rci_fail(rci_heap_of(s), RC_EMUTATED), LOOKUP_FAILED;
            if (same < 0)
                return rci_fail(rci_heap_of(s), rc_last_error(rci_heap_of(k))),
                       LOOKUP_FAILED;
            if (same) {
                *slot = i;
                return (int64_t)i;
            }
        }
        i = rci_probe_next(i, &perturb, s->mask);
    }
}

/* The first empty slot on hash's path, for a key known to be absent from
   a table without dummies. */
static size_t empty_slot(const rci_setentry *tab, size_t mask, uint64_t hash)
{
    size_t i = (size_t)hash & mask;
    uint64_t perturb = hash;
    while (tab[i].key)
        i = rci_probe_next(i, &perturb, mask);
    return i;
}

/* Move the items into a table sized for len + 1 at about 30% load,
   dropping dummies.  On failure the set is unchanged. */
static int resize(rci_set *s)
{
    rc_heap *h = rci_heap_of(s);
    size_t slots = SET_MIN_SLOTS;
    if (s->len > SIZE_MAX / 64)
        return rci_fail(h, RC_EOVERFLOW);
    while (slots * 3 < (s->len + 1) * 10)
        slots *= 2;
    rci_setentry *tab = rc_mem_calloc(h, slots, sizeof *tab);
    if (!tab)
        return rci_fail(h, RC_ENOMEM);
    for (size_t i = 0; s->table && i <= s->mask; i++) {
        rci_setentry e = s->table[i];
        if (e.key && e.key != DUMMY)
            tab[empty_slot(tab, slots - 1, e.hash)] = e;
    }
    rc_mem_free(h, s->table);
    s->table = tab;
    s->mask = slots - 1;
    s->fill = s->len;
    return 0;
}

/* ---- Checks ---------------------------------------------------------------- */

/* o as a set (a frozenset too when frozen_ok); NULL with RC_ETYPE. */
static rci_set *as_set(const void *o, bool frozen_ok, const char *fn)
{
    if (rci_likely(rci_is_live(o, &rc_set_type)) ||
        (frozen_ok && rci_is_live(o, &rc_frozenset_type)))
        return (rci_set *)o;
    rci_wrong_type(o, &rc_set_type, fn, true);
    return NULL;
}

/* item's hash into *out; -1 with the error recorded on s's heap: item
   NULL (RC_EVALUE), of another heap (its str hashes are keyed
   differently), or unhashable. */
static int item_hash(const rci_set *s, const void *item, uint64_t *out, const char *fn)
{
    rc_heap *h = rci_heap_of(s);
    if (!item)
        return rci_fail(h, RC_EVALUE);
    if (rci_unlikely(!rci_same_heap(s, item)))
        return rci_foreign(h, fn, item);
    return rc_hash(item, out); /* its failure is recorded on item's heap, s's */
}

/* Add item (hashable, of s's heap, hash computed) unless present. */
static int add(rci_set *s, void *item, uint64_t hash)
{
    size_t slot;
    int64_t ix = s->table ? lookup(s, item, hash, &slot) : LOOKUP_ABSENT;
    if (ix != LOOKUP_ABSENT)
        return ix == LOOKUP_FAILED ? -1 : 0;
    if (!s->table || (s->fill + 1) * 5 > (s->mask + 1) * 3) {
        if (resize(s) != 0)
            return -1;
        slot = empty_slot(s->table, s->mask, hash);
    }
    if (!s->table[slot].key)
        s->fill++;
    rc_incref(item);
    s->table[slot] = (rci_setentry){item, hash};
    s->len++;
    s->stamp++;
    if (!rc_gc_is_tracked(s) && rc_gc_is_tracked(item))
        rc_gc_track(s);
    return 0;
}

/* ---- Public functions ---------------------------------------------------------- */

/* A new, empty, untracked set or frozenset. */
static rci_set *set_alloc(rc_heap *h, const rc_type *t)
{
    /* the types state holds the nesting count of set comparisons */
    rci_set *s = rci_types_of(h) ? rci_new(h, t, sizeof(rci_set)) : NULL;
    if (s)
        rc_gc_untrack(s);
    return s;
}

void *rc_set_new(rc_heap *h)
{
    return set_alloc(h, &rc_set_type);
}

/* A frozenset's hash depends on its items, not their order: the sum of
   their mixed hashes, mixed again with the count. */
static uint64_t frozen_hash(const rci_set *s)
{
    uint64_t acc = 0;
    for (size_t i = 0; s->table && i <= s->mask; i++)
        if (s->table[i].key && s->table[i].key != DUMMY)
            acc += rci_hash_int((int64_t)s->table[i].hash);
    return rci_hash_int((int64_t)(acc ^ s->len));
}

void *rc_frozenset(rc_heap *h, size_t n, void *const *items)
{
    rci_set *s = set_alloc(h, &rc_frozenset_type);
    if (!s)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        uint64_t hash;
        if (item_hash(s, items[i], &hash, "rc_frozenset") != 0 || add(s, items[i], hash) != 0) {
            rc_decref(s);
            return NULL;
        }
    }
    s->hash = frozen_hash(s);
    return s;
}

int rc_set_add(void *set, void *item)
{
    rci_set *s = as_set(set, false, "rc_set_add");
    uint64_t hash;
    if (!s || item_hash(s, item, &hash, "rc_set_add") != 0)
        return -1;
    return add(s, item, hash);
}

int rc_set_discard(void *set, const void *item)
{
    rci_set *s = as_set(set, false, "rc_set_discard");
    uint64_t hash;
    size_t slot;
    if (!s || item_hash(s, item, &hash, "rc_set_discard") != 0)
        return -1;
    int64_t ix = s->table ? lookup(s, item, hash, &slot) : LOOKUP_ABSENT;
    if (ix < 0)
        return ix == LOOKUP_FAILED ? -1 : 0;
    void *gone = s->table[slot].key;
    s->table[slot].key = DUMMY;
    s->len--;
    s->stamp++;
    rc_decref(gone); /* last: a finalizer it runs sees a consistent set */
    return 1;
}

int rc_set_contains(const void *set, const void *item)
{
    const rci_set *s = as_set(set, true, "rc_set_contains");
    uint64_t hash;
    size_t slot;
    if (!s || item_hash(s, item, &hash, "rc_set_contains") != 0)
        return -1;
    int64_t ix = s->table ? lookup(s, item, hash, &slot) : LOOKUP_ABSENT;
    return ix == LOOKUP_FAILED ? -1 : ix >= 0;
}

size_t rc_set_len(const void *set)
{
    const rci_set *s = as_set(set, true, "rc_set_len");
    return s ? s->len : 0;
}

/* ---- For core.c ------------------------------------------------------------------- */

uint64_t rci_set_hash(const void *frozenset)
{
    return ((const rci_set *)frozenset)->hash;
}

const void *rci_set_table(const void *set)
{
    return ((const rci_set *)set)->table;
}

/* a == b for two sets of one length: every item of a is in b.  Items may
   be frozensets, so this nests C calls (rc_equal -> here) as deep as the
   items nest: beyond SET_MAX_NESTING it fails with RC_EOVERFLOW rather
   than exhaust the C stack. */
int rci_set_equal(const void *a, const void *b)
{
    const rci_set *x = a;
    rc_heap *h = rci_heap_of(a);
    rci_types *ts = h->types_state; /* made with the first set */
    if (ts->set_eq_depth == SET_MAX_NESTING)
        return rci_fail(h, RC_EOVERFLOW);
    ts->set_eq_depth++;
    int result = 1;
    uint64_t stamp = x->stamp;
    for (size_t i = 0; x->table && i <= x->mask && result == 1; i++) {
        const void *k = x->table[i].key;
        if (k && k != DUMMY)
            result = rc_set_contains(b, k);
        if (x->stamp != stamp) /* an eq slot changed a */
            result = rci_fail(h, RC_EMUTATED);
    }
    ts->set_eq_depth--;
    return result;
}

uint64_t rci_set_stamp(const void *set)
{
    return ((const rci_set *)set)->stamp;
}

int rci_set_iter_next(rc_iter *it, void **item)
{
    const rci_set *s = it->container;
    if (it->stamp != s->stamp)
        return rci_fail(rci_heap_of(s), RC_EMUTATED);
    while (s->table && it->pos <= s->mask) {
        void *k = s->table[it->pos++].key;
        if (k && k != DUMMY) {
            if (item)
                *item = k;
            return 1;
        }
    }
    return 0;
}
