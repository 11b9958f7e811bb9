/*
 * object.c — managed objects: the header, type records, creation,
 * reference counting's slow path and release without recursion.
 *
 * Calls alloc.c for memory, weakref.c to clear weak references and gc.c to
 * start automatic collections.  The collector calls back into this file to
 * walk objects and move them between generations.
 *
 * Layout: an object is a block [rc_head | payload] in a pool of its type.
 * Pools belong to a type record's bins, so an object's type is found from
 * its address (arena -> pool -> bin -> record) and the header needs only
 * the count and the flags: 8 bytes, collector bookkeeping included.  A
 * type's first objects (RCI_SHARE_FIRST) go to the heap's shared
 * pools instead, whose blocks of one size hold objects of many types: the
 * pool ends with a table of type ids, one per block, so a thousand types
 * with one object each cost a thousand blocks, not a thousand pools.
 *
 * Release: when a count reaches zero the object is finalized (once), its
 * weak references cleared, its children released through traverse, then
 * destroy runs and the block is freed.  Children whose counts reach zero
 * meanwhile are not released recursively: they go on the heap's pending
 * list, which the outermost release drains.  So dropping the head of a
 * chain of any length takes constant C stack.  If the pending list cannot
 * grow (page source refuses), the object becomes a zombie: marked, left in
 * place, and released by the next full collection or at heap teardown.
 */
#include "rc_internal.h"

/* ---- Type records ------------------------------------------------------- */

static rci_bin empty_bin(rc_heap *h, rci_typerec *r, unsigned c)
{
    return (rci_bin){.avail = &h->sentinel, .rec = r, .block_size = rci_class_size[c],
                     .cls = (uint8_t)c, .type = r->type};
}

/* The bins of r's own pools beside r->one, made with the record for
   variable-size types and types that never share, else when first needed
   (rc_new_var with another size): a record of a fixed-size type is small. */
static rci_bin *typerec_bins(rc_heap *h, rci_typerec *r)
{
    if (r->bins)
        return r->bins;
    rci_bin *bins = rci_raw_alloc_plain(h, RC_SIZE_CLASSES * sizeof *bins);
    if (!bins)
        return NULL;
    for (unsigned c = 0; c < RC_SIZE_CLASSES; c++)
        bins[c] = empty_bin(h, r, c);
    return r->bins = bins;
}

/* r's own bin for class c, NULL when the bins are not made yet. */
static rci_bin *own_bin(const rci_typerec *r, unsigned c)
{
    if (rci_likely(c == r->one.cls))
        return (rci_bin *)&r->one;
    return r->bins ? &r->bins[c] : NULL;
}

/* A type shares pools once it has an id; the built-in types never do (their
   accessors and the small-int cache read the type from the pool alone),
   nor do types beyond the ids' range or when the table cannot grow. */
static void typerec_take_id(rc_heap *h, rci_typerec *r)
{
    if (rci_type_builtin(r->type) || h->type_ids.len >= RCI_TYPE_IDS_MAX ||
        !rci_vec_push(h, &h->type_ids, r))
        return;
    r->id = (uint16_t)h->type_ids.len;
}

static rci_typerec *typerec_new(rc_heap *h, const rc_type *t)
{
    uintptr_t *slot = rct_ptrmap_insert(&h->types, (uintptr_t)t, &h->book);
    if (!slot)
        return NULL;
    rci_typerec *r = rci_raw_alloc_plain(h, sizeof *r);
    if (!r) {
        rct_ptrmap_remove(&h->types, slot);
        return NULL;
    }
    memset(r, 0, sizeof *r);
    r->type = t;
    r->scanned = t->traverse != NULL;
    r->big.avail = &h->sentinel;
    r->big.rec = r;
    r->big.type = t;
    size_t total = t->size + sizeof(rc_head);
    bool fixed = t->size && total <= RC_SMALL_MAX;
    r->one = empty_bin(h, r, rci_size_class(fixed ? total : sizeof(rc_head)));
    typerec_take_id(h, r);
    if ((!r->id || !fixed) && !typerec_bins(h, r)) {
        if (r->id) /* it was the last id given */
            h->type_ids.len--;
        rci_raw_free_plain(h, r);
        rct_ptrmap_remove(&h->types, slot);
        return NULL;
    }
    r->next = h->typerecs;
    h->typerecs = r;
    *slot = (uintptr_t)r;
    return r;
}

/* A block's index is its offset times the pool's reciprocal: a multiply,
   not a division (this is every rc_typeof of an object in a shared pool). */
static size_t shared_index(const rci_pool *p, const void *hd)
{
    uint64_t off = (uint64_t)((const char *)hd - rci_pool_start(p));
    return (size_t)((off * p->recip) >> 32);
}

rci_typerec *rci_shared_rec(const rci_pool *p, const void *hd)
{
    return rci_arena_of(p)->heap->type_ids.items[rci_pool_type_ids(p)[shared_index(p, hd)] - 1];
}

/* t's entry in the heap's type cache. */
static inline size_t type_cache_slot(const rc_type *t)
{
    return ((uintptr_t)t >> 4) & (RCI_TYPE_CACHE - 1);
}

rci_typerec *rci_typerec_get(rc_heap *h, const rc_type *t)
{
    size_t c = type_cache_slot(t);
    if (rci_likely(h->tcache[c].type == t))
        return h->tcache[c].rec;
    uintptr_t *known = rct_ptrmap_find(&h->types, (uintptr_t)t);
    rci_typerec *r = known ? (rci_typerec *)*known : typerec_new(h, t);
    if (!r)
        return NULL;
    h->tcache[c].type = t;
    h->tcache[c].rec = r;
    return r;
}

/* ---- Generations and tracking -------------------------------------------- */

/* Generation 0 and 1 objects are listed in h->gc.young[gen], so a young
   collection visits them without walking pools; an object's position in
   its list lives in the scratch bits of its flags (a collection overwrites
   them for its candidates, then rebuilds the lists).  If a list cannot
   take one more, the object goes to generation 2 instead. */
static size_t young_pos(const rc_head *hd)
{
    return (hd->flags & RCI_REFS_MASK) >> RCI_REFS_SHIFT;
}

static void set_young_pos(rc_head *hd, size_t i)
{
    hd->flags = (hd->flags & ~RCI_REFS_MASK) | ((uint32_t)i << RCI_REFS_SHIFT);
}

static void gen_enter(rc_heap *h, rc_head *hd, unsigned gen)
{
    if (gen < 2) {
        rci_vec *v = &h->gc.young[gen];
        if (v->len < RCI_YOUNG_MAX && rci_vec_push(h, v, hd))
            set_young_pos(hd, v->len - 1);
        else
            gen = 2;
    }
    hd->flags = (hd->flags & ~RCI_GEN_MASK) | gen;
    h->gc.tracked[gen]++;
}

static void gen_leave(rc_heap *h, rc_head *hd)
{
    unsigned gen = hd->flags & RCI_GEN_MASK;
    h->gc.tracked[gen]--;
    if (gen < 2) {
        rci_vec *v = &h->gc.young[gen];
        size_t i = young_pos(hd);
        rc_head *last = v->items[--v->len];
        v->items[i] = last;
        set_young_pos(last, i);
    }
}

/* A collection rebuilding the young lists: hd, counted in generation
   from but in no list any more, goes to generation to. */
void rci_gen_reenter(rc_heap *h, rc_head *hd, unsigned from, unsigned to)
{
    h->gc.tracked[from]--;
    gen_enter(h, hd, to);
}

void rci_set_gen(rc_heap *h, rc_head *hd, unsigned gen)
{
    if ((hd->flags & RCI_GEN_MASK) == gen)
        return;
    gen_leave(h, hd);
    gen_enter(h, hd, gen);
}

/* Move every generation <= g object to generation 2 at once (the start of
   a full collection: it examines them all and keeps survivors in 2). */
void rci_young_flatten(rc_heap *h, unsigned g)
{
    for (unsigned gen = 0; gen <= g && gen < 2; gen++) {
        rci_vec *v = &h->gc.young[gen];
        for (size_t i = 0; i < v->len; i++) {
            rc_head *hd = v->items[i];
            hd->flags = (hd->flags & ~(RCI_GEN_MASK | RCI_REFS_MASK)) | 2u;
        }
        h->gc.tracked[2] += v->len;
        h->gc.tracked[gen] -= v->len;
        h->gc.long_lived_pending += v->len;
        v->len = 0;
    }
}

void rci_track(rc_heap *h, rc_head *hd)
{
    hd->flags = (hd->flags & ~(RCI_GEN_MASK | RCI_F_REACH | RCI_REFS_MASK)) | RCI_F_TRACKED;
    gen_enter(h, hd, 0);
    h->gc.count[0]++;
}

void rci_untrack(rc_heap *h, rc_head *hd)
{
    if ((hd->flags & RCI_GEN_MASK) == 0 && h->gc.count[0] > 0)
        h->gc.count[0]--;
    gen_leave(h, hd);
    hd->flags &= ~(RCI_F_TRACKED | RCI_GEN_MASK | RCI_REFS_MASK);
}

/* ---- Creation ------------------------------------------------------------- */

/* A block of class c in a shared pool, its type id recorded. */
static rc_head *shared_block(rc_heap *h, rci_typerec *r, unsigned c)
{
    rc_head *hd = rci_bin_alloc(h, &h->shared[c]);
    if (hd) {
        rci_pool *p = rci_pool_of(hd);
        rci_pool_type_ids(p)[shared_index(p, hd)] = r->id;
        r->shared_allocs++;
    }
    return hd;
}

/* A small block of class c: from a shared pool for a type's first
   objects, else from its own pools. */
static rc_head *small_block(rc_heap *h, rci_typerec *r, unsigned c)
{
    if (rci_unlikely(r->shared_allocs < RCI_SHARE_FIRST) && r->id)
        return shared_block(h, r, c);
    rci_bin *own = own_bin(r, c);
    if (rci_likely(own != NULL))
        return rci_bin_alloc(h, own);
    return typerec_bins(h, r) ? rci_bin_alloc(h, own_bin(r, c)) : NULL;
}

/* An object's block is 8-byte aligned (its class may step by 8 B), except
   under the profiler's shim, whose shadow has one slot per 16 bytes. */
static rc_head *block_for(rc_heap *h, rci_typerec *r, size_t total)
{
    if (total <= RC_SMALL_MAX) {
        unsigned c = rci_unlikely(h->hooks & RCI_HOOK_SHIM) ? rci_raw_class(total)
                                                           : rci_size_class(total);
        return small_block(h, r, c);
    }
    rc_head *hd = rci_alloc_big(h, total);
    if (hd)
        rci_pool_of(hd)->bin = &r->big;
    return hd;
}

static RCI_COLD void *new_failed(rc_heap *h, rc_error err)
{
    return rci_fail_null(h, err);
}

/* rci_typerec_get with its cache probe inline: rc_new's hit costs no call
   (gcc stopped inlining the whole function once it had three callers). */
static inline rci_typerec *typerec_of(rc_heap *h, const rc_type *t)
{
    size_t c = type_cache_slot(t);
    return rci_likely(h->tcache[c].type == t) ? h->tcache[c].rec : rci_typerec_get(h, t);
}

void *rc_new_var(rc_heap *h, const rc_type *t, size_t payload_bytes)
{
    size_t total;
    if (__builtin_add_overflow(payload_bytes, sizeof(rc_head), &total))
        return new_failed(h, RC_EOVERFLOW);
    if (rci_unlikely(h->gc.count[0] > h->gc.trigger))
        rci_gc_maybe(h);
    rci_typerec *r = typerec_of(h, t);
    if (!r)
        return new_failed(h, RC_ENOMEM);
    rc_head *hd = block_for(h, r, total);
    if (rci_unlikely(!hd)) {
        /* One emergency collection, one retry, then the caller hears. */
        if (rc_collect(h, -1) == 0 || !(hd = block_for(h, r, total)))
            return new_failed(h, RC_ENOMEM);
    }
    rci_count_alloc(h);
    memset(hd + 1, 0, payload_bytes);
    hd->refcnt = 1;
    hd->flags = 0;
    r->live++;
    if (r->scanned)
        rci_track(h, hd);
    if (rci_unlikely(h->hooks & (RCI_HOOK_TRACE | RCI_HOOK_SHIM))) {
        if ((h->hooks & RCI_HOOK_TRACE) && rci_trace_wants(h, payload_bytes))
            rci_trace_record(h, hd, payload_bytes);
        if (h->hooks & RCI_HOOK_SHIM) /* the block, header included */
            h->shim(hd, total, r->type->name, 1);
    }
    return hd + 1;
}

void *rc_new(rc_heap *h, const rc_type *t)
{
    return rc_new_var(h, t, t->size);
}

/* ---- Release -------------------------------------------------------------- */

void rci_visit_release(void **slot, void *ctx)
{
    (void)ctx;
    void *child = *slot;
    if (child) {
        *slot = NULL;
        rc_decref(child);
    }
}

/* Every visitor in the heap reads *slot or sets it to NULL (to drop the
   reference), so a tagged value is reported through a decoded copy, and a
   copy set to NULL means the value must be cleared. */
void rc_visit_value(void *slot, const rc_value_codec *codec, rc_visit_fn visit, void *ctx)
{
    void *obj = codec->decode(slot);
    if (!obj)
        return;
    void *reported = obj;
    visit(&obj, ctx);
    if (obj != reported)
        codec->clear(slot);
}

static void object_free(rc_heap *h, rci_typerec *r, rc_head *hd)
{
    if (hd->flags & RCI_F_TRACKED)
        rci_untrack(h, hd);
    r->live--;
    h->frees++;
    if (rci_unlikely(h->hooks)) {
        if (h->hooks & RCI_HOOK_TRACE)
            rci_trace_untrace(h, hd);
        if (h->hooks & RCI_HOOK_SHIM)
            h->shim(hd, 0, NULL, 0);
        if ((h->hooks & RCI_HOOK_DEBUG) && rci_quarantine_push(h, hd))
            return;
    }
    rci_block_free(h, hd);
}

/* Finalize, clear weak references, release children, destroy, free. */
static void release_one(rc_heap *h, rci_typerec *r, void *obj)
{
    rc_head *hd = rci_head(obj);
    const rc_type *t = r->type;
    if (t->finalize && !(hd->flags & RCI_F_FINALIZED)) {
        hd->flags |= RCI_F_FINALIZED;
        hd->refcnt = 1; /* the finalizer may use self as a reference */
        t->finalize(obj);
        if (hd->refcnt > 1) { /* resurrected */
            hd->refcnt--;
            hd->flags &= ~RCI_F_DYING;
            return;
        }
        hd->refcnt = 0;
    }
    if (hd->flags & RCI_F_WEAKREFS)
        rci_weakref_clear(h, obj, true);
    if (r->recycle && r->recycle(h, obj)) {
        if (hd->flags & RCI_F_TRACKED)
            rci_untrack(h, hd);
        hd->flags = (hd->flags & ~RCI_F_DYING) | RCI_F_PARKED;
        return;
    }
    if (t->traverse)
        t->traverse(obj, rci_visit_release, NULL);
    if (t->destroy)
        t->destroy(obj);
    object_free(h, r, hd);
}

/* The collector's garbage whose slots it cleared, with nothing left to
   run but destroy (gc.c, step 6): release_one without the traverse. */
void rci_object_free_cleared(rc_heap *h, rci_typerec *r, void *obj)
{
    rc_head *hd = rci_head(obj);
    hd->flags |= RCI_F_DYING;
    if (r->type->destroy)
        r->type->destroy(obj);
    object_free(h, r, hd);
}

/* Release first, of type record r, and everything that dies meanwhile. */
static void release_loop(rc_heap *h, rci_typerec *r, void *first)
{
    h->releasing = true;
    if (first)
        release_one(h, r, first);
    while (h->pending.len) {
        void *obj = h->pending.items[--h->pending.len];
        release_one(h, rci_typerec_of(obj), obj);
    }
    h->releasing = false;
}

void rci_release_pending(rc_heap *h)
{
    if (!h->releasing)
        release_loop(h, NULL, NULL);
}

/* A leaf with nothing to run but destroy cannot release anything else:
   it is freed on the spot even inside a release loop, so the millions of
   ints and strings of a dropped container never wait on the pending
   list. */
static bool plain_leaf(const rci_typerec *r, const rc_head *hd)
{
    return !r->type->traverse && !r->type->finalize && !r->recycle &&
           !(hd->flags & RCI_F_WEAKREFS);
}

void rci_object_dying(rc_heap *h, void *obj)
{
    rci_object_dying_as(h, rci_typerec_of(obj), obj);
}

void rci_object_dying_as(rc_heap *h, rci_typerec *r, void *obj)
{
    rc_head *hd = rci_head(obj);
    if (hd->flags & RCI_F_DYING)
        return; /* already being released (a finalizer dropped self) */
    hd->flags |= RCI_F_DYING;
    if (plain_leaf(r, hd)) {
        if (r->type->destroy)
            r->type->destroy(obj);
        object_free(h, r, hd);
    } else if (!h->releasing)
        release_loop(h, r, obj);
    else if (!rci_vec_push(h, &h->pending, obj)) {
        hd->flags |= RCI_F_ZOMBIE;
        h->zombies++;
    }
}

/* The last reference, an immortal object, or misuse.  Whatever is not the
   first two is checked before the object's memory is trusted any further
   (rci_check_object), and so is every last reference on a debug heap. */
void rc_decref_slow(void *obj)
{
    rc_head *hd = rci_head(obj);
    uint32_t n = hd->refcnt;
    if (rci_likely(n == 1)) { /* a freed block's count is RCI_FREED_COUNT */
        rc_heap *h = rci_heap_of(obj);
        if (rci_unlikely(h->hooks & RCI_HOOK_DEBUG))
            rci_check_live(h, obj, "rc_decref");
        hd->refcnt = 0;
        rci_object_dying(h, obj);
        return;
    }
    if (n >= RC_IMMORTAL && !(hd->flags & RCI_F_FREE))
        return;
    char d[RCI_DESCRIBE];
    rci_check_object(obj, "rc_decref"); /* stops unless a live object */
    rci_fatal("rc_decref(%s): the object has no references left (a decref too "
              "many while it is being released)", rci_describe(obj, d));
}

/* Free lists (types/): a parked object leaves its list for good, or comes
   back to life as a new object. */
void rci_object_free_parked(rc_heap *h, void *obj)
{
    rc_head *hd = rci_head(obj);
    const rc_type *t = rci_typerec_of(obj)->type;
    hd->flags &= ~RCI_F_PARKED;
    if (t->destroy)
        t->destroy(obj);
    object_free(h, rci_typerec_of(obj), hd);
}

void rci_object_unpark(rc_heap *h, void *obj)
{
    rc_head *hd = rci_head(obj);
    hd->refcnt = 1;
    hd->flags = 0;
    if (rci_typerec_of(obj)->scanned)
        rci_track(h, hd);
}

/* Zombies: objects whose release was postponed because the pending list
   could not grow.  Retried when memory may be back. */
static void reap_one(rc_heap *h, rci_typerec *r, rc_head *hd, void *ctx)
{
    (void)r;
    (void)ctx;
    if (!(hd->flags & RCI_F_ZOMBIE) || !rci_vec_push(h, &h->pending, rci_obj(hd)))
        return;
    hd->flags &= ~RCI_F_ZOMBIE;
    h->zombies--;
}

void rci_reap_zombies(rc_heap *h)
{
    if (!h->zombies || h->releasing)
        return;
    rci_for_each_object(h, false, reap_one, NULL);
    rci_release_pending(h);
}

/* Teardown: destroy every object still alive (finalizers do not run). */
static void destroy_one(rc_heap *h, rci_typerec *r, rc_head *hd, void *ctx)
{
    (void)ctx;
    if (r->type->destroy)
        r->type->destroy(rci_obj(hd));
    if (h->hooks & RCI_HOOK_SHIM) /* its memory goes back with the arenas */
        h->shim(hd, 0, NULL, 0);
    if (h->hooks & RCI_HOOK_DEBUG) { /* a later decref finds it freed */
        hd->refcnt = RCI_FREED_COUNT;
        hd->flags = RCI_F_FREE;
    }
}

void rci_object_teardown(rc_heap *h)
{
    rci_for_each_object(h, false, destroy_one, NULL);
}

/* ---- Validation -------------------------------------------------------------- */

typedef struct check_ctx {
    size_t tracked[4], bad;
} check_ctx;

static void check_one(rc_heap *h, rci_typerec *r, rc_head *hd, void *ctx)
{
    check_ctx *c = ctx;
    /* outside a collection the scratch bits hold young list positions, and
       a stale REACH is allowed on generation 2 (see gc.c, step 2) */
    const uint32_t marks = RCI_F_CAND | RCI_F_UNREACH;
    r->seen++;
    if ((hd->flags & marks) && !h->gc.collecting) {
        fprintf(stderr, "rcgc: heap invalid: object %p (%s) keeps collector marks %#x\n",
                rci_obj(hd), r->type->name, hd->flags);
        c->bad++;
    }
    if (!(hd->flags & RCI_F_TRACKED))
        return;
    unsigned g = hd->flags & RCI_GEN_MASK;
    c->tracked[g]++;
    if (!r->scanned) {
        fprintf(stderr, "rcgc: heap invalid: %s object %p tracked, type is not\n",
                r->type->name, rci_obj(hd));
        c->bad++;
    }
    if (g < 2 && (hd->flags & RCI_F_REACH)) {
        fprintf(stderr, "rcgc: heap invalid: young object %p (%s) keeps a REACH mark\n",
                rci_obj(hd), r->type->name);
        c->bad++;
    }
    if (g < 2 && (young_pos(hd) >= h->gc.young[g].len ||
                  h->gc.young[g].items[young_pos(hd)] != hd)) {
        fprintf(stderr, "rcgc: heap invalid: generation %u object %p (%s) is not at "
                "its place in the young list\n", g, rci_obj(hd), r->type->name);
        c->bad++;
    }
}

int rci_object_validate(const rc_heap *ch)
{
    rc_heap *h = (rc_heap *)ch; /* only typerec scratch counts are written */
    check_ctx c = {0};
    for (rci_typerec *r = h->typerecs; r; r = r->next)
        r->seen = 0;
    for (rci_arena *a = h->arenas; a; a = a->all_next)
        for (size_t i = RCI_HEADER_PAGES; i < RCI_ARENA_PAGES; i++) {
            rci_pool *p = rci_pool_at(a, i);
            if (p && rci_pool_wanted(p, false))
                rci_walk_pool(h, p, false, check_one, &c);
        }
    for (rci_arena *a = h->huge; a; a = a->next)
        if (rci_pool_wanted(&a->pools[0], false))
            rci_walk_pool(h, &a->pools[0], false, check_one, &c);
    for (rci_typerec *r = h->typerecs; r; r = r->next) {
        if (r->seen != r->live) {
            fprintf(stderr, "rcgc: heap invalid: type %s counts %zu live objects, "
                    "the pools hold %zu\n", r->type->name, r->live, r->seen);
            c.bad++;
        }
    }
    for (unsigned g = 0; g < 4; g++)
        if (c.tracked[g] != h->gc.tracked[g]) {
            fprintf(stderr, "rcgc: heap invalid: generation %u counts %zu tracked "
                    "objects, the pools hold %zu\n", g, h->gc.tracked[g], c.tracked[g]);
            c.bad++;
        }
    return c.bad ? -1 : 0;
}

/* ---- Small public functions ---------------------------------------------- */

extern inline void rc_incref(void *obj);
extern inline void rc_decref(void *obj);

void rc_set(void **slot, void *value)
{
    void *old = *slot;
    rc_incref(value);
    *slot = value;
    rc_decref(old);
}

int rc_set_member(void *owner, void **slot, void *value)
{
    rc_heap *h = rci_heap_of(owner);
    if (rci_unlikely(value && !rci_same_heap(owner, value)))
        return rci_foreign(h, "rc_set_member", value);
    if (rci_unlikely(h->hooks & RCI_HOOK_DEBUG) &&
        ((char *)slot < (char *)owner ||
         (char *)(slot + 1) > (char *)owner + rc_sizeof(owner)))
        return rci_misuse(h, RC_EVALUE, "rc_set_member", owner,
                          "the slot is not inside the object");
    rc_set(slot, value);
    return 0;
}

size_t rc_refcount(const void *obj)
{
    return rci_head(obj)->refcnt;
}

extern inline const rc_type *rc_priv_bin_type(const void *obj);
extern inline const rc_type *rc_typeof(const void *obj);

/* The inline rc_typeof comes here for objects of shared pools (their
   bins name no type); any object's type is right here too. */
const rc_type *rc_typeof_slow(const void *obj)
{
    const rc_head *hd = rci_head(obj);
    return rci_pool_rec(rci_pool_of(hd), hd)->type;
}

rc_heap *rc_heap_of(const void *obj)
{
    return rci_heap_of(obj);
}

size_t rc_sizeof(const void *obj)
{
    const rc_head *hd = rci_head(obj);
    const rci_pool *p = rci_pool_of(hd);
    /* a page run records the bytes asked for; other blocks their size */
    size_t block = p->kind == RCI_POOL_LARGE ? p->block_size : rci_block_size(hd);
    return block - sizeof(rc_head);
}

void rc_make_immortal(void *obj)
{
    rc_head *hd = rci_head(obj);
    if (hd->flags & RCI_F_TRACKED)
        rci_untrack(rci_heap_of(obj), hd);
    hd->refcnt = RC_IMMORTAL | (RC_IMMORTAL >> 1);
}

int rc_is_immortal(const void *obj)
{
    return rci_head(obj)->refcnt >= RC_IMMORTAL;
}

static void untrack_one(rc_heap *h, rci_typerec *r, rc_head *hd, void *ctx)
{
    if (r == ctx && (hd->flags & RCI_F_TRACKED))
        rci_untrack(h, hd);
}

int rc_type_acyclic(rc_heap *h, const rc_type *t)
{
    rci_typerec *r = rci_typerec_get(h, t);
    if (!r)
        return rci_fail(h, RC_ENOMEM);
    if (r->scanned) {
        rci_for_each_object(h, true, untrack_one, r);
        r->scanned = false;
    }
    return 0;
}

int rc_type_own_pools(rc_heap *h, const rc_type *t)
{
    rci_typerec *r = rci_typerec_get(h, t);
    if (!r)
        return rci_fail(h, RC_ENOMEM);
    r->shared_allocs = RCI_SHARE_FIRST; /* as if its share were used up */
    return 0;
}

/* A forgotten type's id is not given again (its slot stays NULL): no
   live block names it, and reuse would need a free list of ids for a
   heap that forgets more than 65,535 types, whose later types then only
   lose the shared pools. */
int rc_type_forget(rc_heap *h, const rc_type *t)
{
    uintptr_t *slot = rct_ptrmap_find(&h->types, (uintptr_t)t);
    if (!slot)
        return 0;
    rci_typerec *r = (rci_typerec *)*slot;
    if (rci_type_builtin(t))
        return rc_error_setf(h, RC_EVALUE, "rc_type_forget: '%s' is a built-in type", t->name);
    if (r->live)
        return rc_error_setf(h, RC_EVALUE, "rc_type_forget: type '%s' has %zu live objects",
                             t->name, r->live);
    rci_quarantine_flush(h); /* a debug heap's freed blocks, named through r */
    rci_bin_trim(h, &r->one);
    for (unsigned c = 0; r->bins && c < RC_SIZE_CLASSES; c++)
        rci_bin_trim(h, &r->bins[c]);
    if (r->id)
        h->type_ids.items[r->id - 1] = NULL;
    for (size_t c = 0; c < RCI_TYPE_CACHE; c++)
        if (h->tcache[c].type == t)
            h->tcache[c].type = NULL;
    for (rci_typerec **p = &h->typerecs; *p; p = &(*p)->next)
        if (*p == r) {
            *p = r->next;
            break;
        }
    rct_ptrmap_remove(&h->types, slot);
    if (r->bins)
        rci_raw_free_plain(h, r->bins);
    rci_raw_free_plain(h, r);
    return 0;
}

int rc_gc_is_tracked(const void *obj)
{
    return (rci_head(obj)->flags & RCI_F_TRACKED) != 0;
}

void rc_gc_track(void *obj)
{
    rc_head *hd = rci_head(obj);
    if (!(hd->flags & RCI_F_TRACKED) && hd->refcnt < RC_IMMORTAL &&
        rci_typerec_of(obj)->scanned)
        rci_track(rci_heap_of(obj), hd);
}

/* Can obj be tracked, now or later?  An untracked object of a type the
   collector does not scan never can, nor can an untracked tuple (its
   items are fixed; see rc_tuple); anything else may be, or become so.  A
   container whose children all answer no cannot be part of a cycle. */
bool rci_may_be_tracked(const void *obj)
{
    if (rci_head(obj)->flags & RCI_F_TRACKED)
        return true;
    const rci_typerec *r = rci_typerec_of(obj);
    return r->scanned && r->type != &rc_tuple_type;
}

void rc_gc_untrack(void *obj)
{
    rc_head *hd = rci_head(obj);
    if (hd->flags & RCI_F_TRACKED)
        rci_untrack(rci_heap_of(obj), hd);
}
