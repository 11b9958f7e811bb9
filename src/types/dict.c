/*
 * dict.c — the dict type: CPython 3.6+'s compact, insertion-ordered hash
 * table.
 *
 * Calls the raw-block API (rc_mem_*) for the table, core.c for hashing,
 * equality, errors and object creation, and list.c's free-list helpers.
 * core.c calls back for iteration (rci_dict_iter_next, rci_dict_stamp) and
 * the free list (rci_dict_register, rci_dict_freelist_clear).
 *
 * One raw block holds the index and then the entries:
 *
 *   index: 2^log2 signed slots of `width` bytes (1 up to 2^7 slots, 2 up
 *          to 2^15, 4 up to 2^31, else 8): -1 empty, -2 deleted (dummy),
 *          otherwise an entry number in the low log2 bits and, in the
 *          bits above it, a tag made from the key's hash;
 *   entries: `usable` = 2/3 * 2^log2 rci_entry {key, value} in insertion
 *          order; [0, used) written, a deleted one has key == NULL.
 *
 * Keys are probed CPython's way (i = 5i + perturb + 1, perturb >>= 5, so
 * every hash bit takes part), filtered by tag, and compared by identity,
 * then rc_equal.  No hash is cached per entry: str and tuple keys cache
 * their own, which keeps an entry at 16 bytes (a 1M-entry str -> int dict
 * costs about 30 bytes per entry in the table).  The price is rc_hash of
 * every key again on a resize.
 *
 * Invariants: len <= used <= usable < 2^log2, so a probe always meets an
 * empty slot; table == NULL iff log2 == 0; stamp changes on every
 * insertion and deletion (not on replacing a value), so that iterators,
 * whose position is an entry number, notice when entries move.
 */
#include "types.h"

#define DICT_MIN_LOG2 3  /* the smallest table: 8 slots, 5 entries */
#define DICT_KEEP_LOG2 3 /* a parked dict keeps a table up to this size */
#define IX_EMPTY (-1)
#define IX_DUMMY (-2)
#define LOOKUP_FAILED (-2) /* lookup's result when rc_equal fails */

/* ---- The table --------------------------------------------------------------- */

static size_t nslots(const rci_dict *d) { return (size_t)1 << d->log2; }

static rci_entry *entries(const rci_dict *d)
{
    return (rci_entry *)((char *)d->table + (nslots(d) * d->width));
}

static int64_t ix_get(const rci_dict *d, size_t i)
{
    switch (d->width) {
    case 1: return ((const int8_t *)d->table)[i];
    case 2: return ((const int16_t *)d->table)[i];
    case 4: return ((const int32_t *)d->table)[i];
    default: return ((const int64_t *)d->table)[i];
    }
}

static void ix_set(rci_dict *d, size_t i, int64_t ix)
{
    switch (d->width) {
    case 1: ((int8_t *)d->table)[i] = (int8_t)ix; break;
    case 2: ((int16_t *)d->table)[i] = (int16_t)ix; break;
    case 4: ((int32_t *)d->table)[i] = (int32_t)ix; break;
    default: ((int64_t *)d->table)[i] = ix; break;
    }
}

/* The tag of a hash in d's index: an entry number needs log2 bits of a
   slot, and the spare bits above it (below the sign) hold a tag made from
   all the bits of the key's hash (Fibonacci hashing: str hashes have only
   32 bits).  Returned in place (shifted by log2); 0 when the slots have no
   spare bits. */
static int64_t tag_of(const rci_dict *d, uint64_t hash)
{
    unsigned spare = 8u * d->width - 1u - d->log2;
    uint64_t mixed = hash * UINT64_C(0x9E3779B97F4A7C15);
    return spare ? (int64_t)((mixed >> (64 - spare)) << d->log2) : 0;
}

/* key's entry number, -1 when absent, or LOOKUP_FAILED when rc_equal
   failed (out of memory comparing deep keys, a type's eq slot failed or
   inserted or deleted keys of d: RC_EMUTATED; the error is recorded).
   *slot receives the index slot that holds it or, when absent, the first
   free (empty or dummy) slot on its probe path: where an insertion goes.  A slot whose tag differs holds
   another key, skipped without reading it: most collisions then cost no
   cache miss (CPython gets the same from a hash cached in every entry, 8
   more bytes each; tags made 1M int-key inserts and lookups 2.4x faster). */
static int64_t lookup(const rci_dict *d, const void *key, uint64_t hash, size_t *slot)
{
    const rci_entry *ent = entries(d);
    size_t mask = nslots(d) - 1, i = (size_t)hash & mask, free_slot = SIZE_MAX;
    uint64_t perturb = hash;
    int64_t tag = tag_of(d, hash);
    uint64_t stamp = d->stamp;
    for (;; i = rci_probe_next(i, &perturb, mask)) {
        int64_t ix = ix_get(d, i);
        if (ix == IX_EMPTY) {
            *slot = free_slot != SIZE_MAX ? free_slot : i;
            return -1;
        }
        if (ix == IX_DUMMY) {
            if (free_slot == SIZE_MAX)
                free_slot = i;
        } else if ((ix & ~(int64_t)mask) == tag) {
            ix &= (int64_t)mask;
            int same = ent[ix].key == key ? 1 : rc_equal(ent[ix].key, key);
            if (rci_unlikely(d->stamp != stamp)) /* a type's eq slot changed d */
                return rci_fail(rci_heap_of(d), RC_EMUTATED), LOOKUP_FAILED;
            if (same) {
                *slot = i;
                return same > 0 ? ix : LOOKUP_FAILED;
            }
        }
    }
}

/* The first free slot on hash's probe path, for a key known to be absent. */
static size_t free_slot_for(const rci_dict *d, uint64_t hash)
{
    size_t mask = nslots(d) - 1, i = (size_t)hash & mask;
    uint64_t perturb = hash;
    while (ix_get(d, i) >= 0)
        i = rci_probe_next(i, &perturb, mask);
    return i;
}

/* An empty table of 2^log2 slots into the table fields of *t. */
static rc_error table_new(rc_heap *h, unsigned log2, rci_dict *t)
{
    if (log2 >= 8 * sizeof(size_t) - 1)
        return RC_EOVERFLOW;
    uint8_t width = log2 < 8 ? 1 : log2 < 16 ? 2 : log2 < 32 ? 4 : 8;
    size_t usable = ((size_t)2 << log2) / 3, ibytes, ebytes;
    if (!rci_mul_ok((size_t)1 << log2, width, &ibytes) ||
        !rci_mul_ok(usable, sizeof(rci_entry), &ebytes) || ibytes + ebytes < ebytes)
        return RC_EOVERFLOW;
    void *table = rc_mem_alloc(h, ibytes + ebytes);
    if (!table)
        return RC_ENOMEM;
    memset(table, 0xff, ibytes); /* every slot IX_EMPTY */
    t->table = table;
    t->log2 = (uint8_t)log2;
    t->width = width;
    t->usable = usable;
    t->used = t->len = 0;
    return RC_OK;
}

/* Move the live entries into a new table with at least `slots` slots (and
   room for them), dropping deleted entries and keeping their order.  The
   new table is complete before the old one is freed: on failure the dict
   is unchanged. */
static int resize(rci_dict *d, size_t slots)
{
    rc_heap *h = rci_heap_of(d);
    unsigned log2 = DICT_MIN_LOG2;
    while (log2 < 8 * sizeof(size_t) - 1 && ((size_t)1 << log2) < slots)
        log2++;
    rci_dict n = *d;
    rc_error e = table_new(h, log2, &n);
    if (e)
        return rci_fail(h, e);
    rci_entry *dst = entries(&n);
    for (size_t k = 0; k < d->used; k++) {
        rci_entry *src = &entries(d)[k];
        uint64_t hash = 0;
        if (!src->key)
            continue;
        int hashed = rc_hash(src->key, &hash); /* it was hashable when inserted */
        rci_assert(hashed == 0);
        (void)hashed;
        ix_set(&n, free_slot_for(&n, hash), (int64_t)n.used | tag_of(&n, hash));
        dst[n.used++] = *src;
    }
    n.len = n.used;
    rc_mem_free(h, d->table);
    *d = n;
    return 0;
}

/* Make the dict empty with no table; returns the old table's state, whose
   entries the caller still has to release. */
static rci_dict detach(rci_dict *d)
{
    rci_dict old = *d;
    d->table = NULL;
    d->len = d->used = d->usable = 0;
    d->log2 = d->width = 0;
    d->stamp++;
    return old;
}

/* ---- Checks --------------------------------------------------------------------- */

/* o as a dict; NULL with RC_ETYPE when it is not a live dict (a debug
   heap stops for a freed one: see rci_wrong_type). */
static rci_dict *as_dict(const void *o, const char *fn)
{
    if (rci_likely(rci_is_live(o, &rc_dict_type)))
        return (rci_dict *)o;
    rci_wrong_type(o, &rc_dict_type, fn, true);
    return NULL;
}

/* key's hash into *out; -1 with the error recorded on d's heap when key is
   NULL, of another heap (whose str hashes are keyed differently: a lookup
   would miss), unhashable, or too deep for the memory left (rc_hash's
   error). */
static int key_hash(const rci_dict *d, const void *key, uint64_t *out, const char *fn)
{
    if (!key)
        return rci_fail(rci_heap_of(d), RC_EVALUE);
    if (rci_unlikely(!rci_same_heap(d, key)))
        return rci_foreign(rci_heap_of(d), fn, key);
    return rc_hash(key, out); /* its failure is recorded on key's heap, d's */
}

/* ---- The type -------------------------------------------------------------------- */

static void dict_traverse(void *self, rc_visit_fn visit, void *ctx)
{
    rci_dict *d = self;
    for (size_t k = 0; k < d->used; k++) {
        rci_entry *e = &entries(d)[k];
        if (e->key) {
            visit(&e->key, ctx);
            visit(&e->value, ctx);
        }
    }
}

static void dict_destroy(void *self)
{
    rci_dict *d = self;
    rc_mem_free(rci_heap_of(d), d->table);
}

const rc_type rc_dict_type = {.name = "dict", .size = sizeof(rci_dict),
                              .traverse = dict_traverse, .destroy = dict_destroy};

/* object.c's recycle hook: park the dead dict if the free list has room
   (see list.c), keeping a minimal table. */
static bool dict_recycle(rc_heap *h, void *obj)
{
    rci_types *ts = h->types_state;
    if (!ts || ts->free_dicts == RCI_FREELIST_MAX)
        return false;
    rci_dict *d = obj;
    dict_traverse(d, rci_visit_release, NULL);
    if (d->log2 > DICT_KEEP_LOG2) {
        rc_mem_free(h, detach(d).table);
    } else if (d->table) {
        memset(d->table, 0xff, nslots(d) * d->width);
        d->len = d->used = 0;
        d->stamp++;
    }
    ts->free_dict[ts->free_dicts++] = obj;
    return true;
}

void rci_dict_register(rc_heap *h, rci_typerec *r)
{
    /* a debug heap frees dead dicts, so its quarantine sees them */
    if (rci_freelists_wanted() && !h->cfg.debug)
        r->recycle = dict_recycle;
}

void rci_dict_freelist_clear(rc_heap *h, rci_types *ts)
{
    rci_freelist_flush(h, ts->free_dict, &ts->free_dicts);
}

/* ---- Public functions -------------------------------------------------------------- */

void *rc_dict(rc_heap *h)
{
    rci_types *ts = rci_types_of(h); /* registers the recycle hook */
    if (!ts)
        return NULL;
    void *d = rci_freelist_take(h, ts->free_dict, &ts->free_dicts);
    return d ? d : rci_new(h, &rc_dict_type, sizeof(rci_dict));
}

int rc_dict_set(void *dict, void *key, void *value)
{
    rci_dict *d = as_dict(dict, "rc_dict_set");
    uint64_t hash;
    size_t slot;
    if (!d || key_hash(d, key, &hash, "rc_dict_set") != 0)
        return -1;
    if (!value)
        return rci_fail(rci_heap_of(d), RC_EVALUE);
    if (rci_unlikely(!rci_same_heap(d, value)))
        return rci_foreign(rci_heap_of(d), "rc_dict_set", value);
    /* a full collection untracks a dict of leaves (gc.c); it can be part of
       a cycle again once it holds something that may be tracked */
    if (!(rci_head(d)->flags & RCI_F_TRACKED) &&
        (rci_may_be_tracked(key) || rci_may_be_tracked(value)))
        rc_gc_track(d);
    if (!d->table && resize(d, 0) != 0)
        return -1;
    int64_t ix = lookup(d, key, hash, &slot);
    if (ix >= 0) {
        rc_set(&entries(d)[ix].value, value);
        return 0;
    }
    if (ix == LOOKUP_FAILED)
        return -1;
    if (d->used == d->usable) {
        /* CPython's growth rate: 3 * len slots doubles a full table and
           compacts one that is mostly deleted entries. */
        size_t slots;
        if (!rci_mul_ok(d->len, 3, &slots))
            return rci_fail(rci_heap_of(d), RC_EOVERFLOW);
        if (resize(d, slots) != 0)
            return -1;
        slot = free_slot_for(d, hash);
    }
    rc_incref(key);
    rc_incref(value);
    ix_set(d, slot, (int64_t)d->used | tag_of(d, hash));
    entries(d)[d->used++] = (rci_entry){key, value};
    d->len++;
    d->stamp++;
    return 0;
}

void *rc_dict_get(const void *dict, const void *key)
{
    const rci_dict *d = as_dict(dict, "rc_dict_get");
    uint64_t hash;
    size_t slot;
    if (!d || key_hash(d, key, &hash, "rc_dict_get") != 0 || !d->table)
        return NULL;
    int64_t ix = lookup(d, key, hash, &slot);
    return ix >= 0 ? entries(d)[ix].value : NULL;
}

/* Remove key's entry and return its value, the dict's reference now the
   caller's; NULL with the error recorded (RC_EKEY when absent). */
static void *take(void *dict, const void *key, const char *fn)
{
    rci_dict *d = as_dict(dict, fn);
    uint64_t hash;
    size_t slot;
    if (!d || key_hash(d, key, &hash, fn) != 0)
        return NULL;
    int64_t ix = d->table ? lookup(d, key, hash, &slot) : -1;
    if (ix == LOOKUP_FAILED)
        return NULL;
    if (ix < 0)
        return rci_failf_null(rci_heap_of(d), RC_EKEY, "key not found (a %s)",
                              rc_typeof(key)->name);
    rci_entry gone = entries(d)[ix];
    entries(d)[ix] = (rci_entry){NULL, NULL};
    ix_set(d, slot, IX_DUMMY);
    d->len--;
    d->stamp++;
    rc_decref(gone.key); /* a finalizer it runs sees a consistent dict */
    return gone.value;
}

int rc_dict_del(void *dict, const void *key)
{
    void *value = take(dict, key, "rc_dict_del");
    rc_decref(value);
    return value ? 0 : -1;
}

void *rc_dict_pop(void *dict, const void *key)
{
    return take(dict, key, "rc_dict_pop");
}

int rc_dict_contains(const void *dict, const void *key)
{
    const rci_dict *d = as_dict(dict, "rc_dict_contains");
    uint64_t hash;
    size_t slot;
    if (!d || key_hash(d, key, &hash, "rc_dict_contains") != 0)
        return -1;
    int64_t ix = d->table ? lookup(d, key, hash, &slot) : -1;
    return ix == LOOKUP_FAILED ? -1 : ix >= 0;
}

void *rc_dict_setdefault(void *dict, void *key, void *dflt)
{
    rci_dict *d = as_dict(dict, "rc_dict_setdefault");
    if (!d)
        return NULL;
    if (!dflt)
        return rci_fail_null(rci_heap_of(d), RC_EVALUE);
    int has = rc_dict_contains(d, key);
    if (has < 0 || (!has && rc_dict_set(d, key, dflt) != 0))
        return NULL;
    return rc_dict_get(d, key);
}

/* Room for n more entries without a resize; on failure d is unchanged. */
static int reserve(rci_dict *d, size_t n)
{
    size_t need, slots;
    if (__builtin_add_overflow(d->len, n, &need) || !rci_mul_ok(need, 3, &slots))
        return rci_fail(rci_heap_of(d), RC_EOVERFLOW);
    if (d->table && d->used + n <= d->usable)
        return 0;
    return resize(d, (slots + 1) / 2);
}

int rc_dict_update(void *dict, const void *src)
{
    rci_dict *d = as_dict(dict, "rc_dict_update");
    if (!d)
        return -1;
    if (!src || !rci_is_live(src, &rc_dict_type))
        return rci_fail(rci_heap_of(d), RC_ETYPE);
    if (rci_unlikely(!rci_same_heap(d, src)))
        return rci_foreign(rci_heap_of(d), "rc_dict_update", src);
    if (reserve(d, rc_dict_len(src)) != 0)
        return -1;
    rc_iter it;
    void *k, *v;
    int got;
    rc_iter_init(&it, src);
    while ((got = rc_iter_next(&it, &k, &v)) == 1)
        if (rc_dict_set(d, k, v) != 0)
            return -1;
    return got;
}

void *rc_dict_copy(const void *dict)
{
    const rci_dict *d = as_dict(dict, "rc_dict_copy");
    if (!d)
        return NULL;
    rci_dict *copy = rc_dict(rci_heap_of(d));
    if (copy && rc_dict_update(copy, d) != 0) {
        rc_decref(copy);
        return NULL;
    }
    return copy;
}

size_t rc_dict_len(const void *dict)
{
    const rci_dict *d = as_dict(dict, "rc_dict_len");
    return d ? d->len : 0;
}

void rc_dict_clear(void *dict)
{
    rci_dict *d = as_dict(dict, "rc_dict_clear");
    if (!d)
        return;
    rci_dict old = detach(d);
    dict_traverse(&old, rci_visit_release, NULL);
    rc_mem_free(rci_heap_of(d), old.table);
}

/* ---- Iteration (called by core.c's rc_iter_next) ----------------------------------- */

uint64_t rci_dict_stamp(const void *dict)
{
    return ((const rci_dict *)dict)->stamp;
}

int rci_dict_iter_next(rc_iter *it, void **key, void **value)
{
    const rci_dict *d = it->container;
    if (it->stamp != d->stamp)
        return rci_fail(rci_heap_of(d), RC_EMUTATED);
    while (it->pos < d->used) {
        const rci_entry *e = &entries(d)[it->pos++];
        if (e->key) {
            if (key)
                *key = e->key;
            if (value)
                *value = e->value;
            return 1;
        }
    }
    return 0;
}
