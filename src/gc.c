/*
 * gc.c — the cycle collector: generations, trial deletion, weak reference
 * callbacks, finalizers and resurrection (PEP 442 order), and the gc-module
 * style API around them.
 *
 * Calls object.c to walk objects and move them between generations,
 * weakref.c to clear weak references to garbage.
 *
 * There are no per-object links.  The candidates are found by walking the
 * pools of types that can form cycles: every pool for a full collection,
 * the heap's young list (pools that hold generation 0/1 objects) otherwise.
 * The scratch count that trial deletion needs (gc_refs) lives in the upper
 * bits of the object's flags word, so the header stays 8 bytes.
 *
 *  1. subtract   each candidate's gc_refs starts as its refcount (capped at
 *                RCI_REFS_MAX: an object that many references point at is
 *                simply treated as referenced from outside); every reference
 *                from one candidate to another takes one off.
 *  2. reach      a candidate with gc_refs > 0 is referenced from outside;
 *                it and everything it reaches among the candidates is
 *                reachable (marking uses a work list from the page source).
 *  3. settle     reachable candidates move up a generation; the others are
 *                garbage (RCI_F_UNREACH).
 * No user code runs and nothing is allocated from the pools during 1-3, so
 * the walks see a still heap.  If the work list cannot grow, the collection
 * is abandoned in step 3: flags are cleared, nothing is freed.
 *  4. the garbage is gathered into a list, each object held (+1) so none can
 *     vanish while user code runs; then weak references to it are cleared
 *     and the callbacks of the weak references outside the garbage run;
 *     then finalizers run (once per object, ever);
 *  5. if any user code ran, trial deletion is repeated over the garbage
 *     alone: what is now referenced from outside (held count not included)
 *     was resurrected and survives, in the oldest generation;
 *  6. the rest is cleared: every slot traverse reports is set to NULL and
 *     released (or the type's clear runs), for all of it; then the holds
 *     are dropped, and reference counting frees the objects (destroy,
 *     memory), without a second traverse when nothing can have refilled
 *     the emptied slots.
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */
#include "rc_internal.h"

#include <time.h>

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint32_t refs_of(uint32_t flags)
{
    return (flags & RCI_REFS_MASK) >> RCI_REFS_SHIFT;
}

static uint32_t with_refs(uint32_t flags, uint32_t refs)
{
    return (flags & ~RCI_REFS_MASK) | (refs << RCI_REFS_SHIFT);
}

/* The state of one marking pass. */
typedef struct gc_pass {
    rc_heap *h;
    unsigned gen;        /* oldest generation collected */
    bool untrack;        /* a full collection: untrack dicts and tuples of leaves */
    uint32_t child_flags;/* step 2: the flags of a scanned dict's or tuple's
                            children, or'd (full collections) */
    bool garbage_only;   /* step 5: only objects already marked count */
    uint32_t first_gens; /* step 1: gen + 1, or 0 with garbage_only (the
                            generations met by reference that become candidates) */
    bool aborted;        /* a work list could not grow */
    bool debug;          /* a debug heap: step 1 checks every reference's heap */
    void *parent;        /* step 1: the object whose traverse is running */
    size_t candidates, reached;
    rci_vec *garbage;    /* step 3 gathers the garbage here */
    rci_vec *stack;      /* step 2's work list: h->gc.stack */
    size_t weakly_referenced; /* garbage with RCI_F_WEAKREFS (step 3 counts) */
    bool slice;          /* one slice of a full collection in steps */
    size_t cap;          /* a slice: at most this many objects */
    bool cut;            /* a slice: its closure reached cap */
} gc_pass;

/* Type lookups for objects met in no particular order: consecutive ones
   are mostly neighbours in one pool, so the pool's type is remembered. */
typedef struct type_cache {
    uintptr_t lo, span;
    rci_typerec *rec;
} type_cache;

RCI_INLINE rci_typerec *type_of(type_cache *c, const rc_head *hd)
{
    if ((uintptr_t)hd - c->lo >= c->span) {
        rci_pool *pool = rci_pool_of(hd);
        c->lo = (uintptr_t)rci_pool_start(pool);
        c->span = pool->kind == RCI_POOL_HUGE ? rci_arena_of(pool)->map_bytes
                                              : (size_t)pool->npages * RCI_PAGE;
        c->rec = pool->bin->rec;
        if (rci_unlikely(!c->rec)) { /* a shared pool: a type per block */
            c->span = 0;
            return rci_shared_rec(pool, hd);
        }
    }
    return c->rec;
}

/* Call fn for every candidate of a collection of generations 0..gen: a
   full one walks the pools of scanned types, a young one its lists. */
RCI_INLINE void for_each_candidate(rc_heap *h, unsigned gen, rci_object_fn fn, gc_pass *p)
{
    if (gen == 2) {
        rci_for_each_object(h, true, fn, p);
        return;
    }
    type_cache tc = {0};
    for (unsigned g = 0; g <= gen; g++) {
        rci_vec *v = &h->gc.young[g];
        for (size_t i = 0; i < v->len; i++)
            fn(h, type_of(&tc, v->items[i]), v->items[i], p);
    }
}

static bool is_candidate(uint32_t flags, unsigned gen)
{
    return (flags & (RCI_F_TRACKED | RCI_F_DYING)) == RCI_F_TRACKED &&
           (flags & RCI_GEN_MASK) <= gen;
}

/* One in the gc_refs field of the flags word. */
#define REFS_ONE (1u << RCI_REFS_SHIFT)

/* gc_refs too large for the flags word (an object with 2^20 - 1 or more
   references) lives in a side table for the collection: rare, so a short
   list searched linearly, pairs (object, count) in a page-source vector. */
static size_t *big_refs(gc_pass *p, const rc_head *hd)
{
    rci_vec *v = &p->h->gc.big_refs;
    for (size_t i = 0; i < v->len; i += 2)
        if (v->items[i] == hd)
            return (size_t *)&v->items[i + 1];
    return NULL;
}

/* gc_refs n of hd is too large for the flags: into the side table. */
static RCI_NOINLINE uint32_t big_candidate(gc_pass *p, rc_head *hd, uint32_t n)
{
    rci_vec *v = &p->h->gc.big_refs;
    if (!rci_vec_reserve(p->h, v, v->len + 2))
        p->aborted = true; /* n stays capped: it will look referenced */
    else {
        v->items[v->len++] = hd;
        v->items[v->len++] = (void *)(uintptr_t)n;
    }
    return RCI_REFS_MAX;
}

/* Make hd a candidate with gc_refs = its count less `held`. */
static void make_candidate(gc_pass *p, rc_head *hd, uint32_t held)
{
    uint32_t n = hd->refcnt > held ? hd->refcnt - held : 0;
    uint32_t f = (hd->flags & ~RCI_F_REACH) | RCI_F_CAND;
    if (rci_unlikely(n >= RCI_REFS_MAX))
        n = big_candidate(p, hd, n);
    hd->flags = with_refs(f, n);
}

/* Does hd, a candidate, still have references from outside? */
static bool referenced(gc_pass *p, const rc_head *hd)
{
    uint32_t r = refs_of(hd->flags);
    if (r != RCI_REFS_MAX)
        return r > 0;
    size_t *big = big_refs(p, hd);
    return !big || *big > 0;
}

/* ---- Step 1: subtract internal references -------------------------------
 * A reference to another heap's object breaks the rule in rcgc.h, but a
 * user type's traverse can still report one.  Such an object must never
 * become a candidate: its flags belong to the other heap (their scratch
 * bits hold its place in that heap's young list), and counting it as
 * reached but not as a candidate would unbalance the totals.  It is
 * skipped like a reference from outside; a debug heap stops and names both
 * objects, any other counts it (rc_gc_stats.foreign).  Only a tracked
 * object could do harm, so only those are checked, when first met; a debug
 * heap checks every reference. */

static RCI_COLD void foreign_ref(gc_pass *p, void *child)
{
    char a[RCI_DESCRIBE], b[RCI_DESCRIBE];
    if (p->debug)
        rci_fatal("rc_collect: object %s refers to %s, which lives on another "
                  "heap (%p): references across heaps are not allowed",
                  rci_describe(p->parent, a), rci_describe(child, b),
                  (void *)rci_heap_of(child));
    p->h->gc.foreign++;
}

/* One reference to a candidate less; gc_refs 0 stays 0, a count in the
   side table is decremented there. */
static RCI_NOINLINE void subtract_big(gc_pass *p, rc_head *hd)
{
    if (refs_of(hd->flags) != RCI_REFS_MAX)
        return;
    size_t *big = big_refs(p, hd);
    if (big && *big > 0)
        --*big;
}

/* A reference to child, a candidate not met yet, from another arena or
   with a count too large for the flags: it becomes one, with this
   reference already taken off, unless it lives on another heap. */
static RCI_NOINLINE void subtract_first(gc_pass *p, rc_head *hd, void *child)
{
    if (rci_unlikely(((uintptr_t)child ^ (uintptr_t)p->parent) >= RCI_ARENA) &&
        rci_heap_of(child) != p->h) {
        foreign_ref(p, child);
        return;
    }
    if (rci_likely(hd->refcnt <= RCI_REFS_MAX))
        make_candidate(p, hd, 1);
    else { /* the side table's entry is made with the full count */
        make_candidate(p, hd, 0);
        subtract_big(p, hd);
    }
}

/* The hot visit of every collection: a candidate's gc_refs in 1..MAX-1
   takes one subtraction, and a tracked object of the collected
   generations met first through a reference from the same arena (in a
   full collection, most objects: a parent usually lies before its
   children) becomes a candidate with that reference taken off.  The rest
   is out of line (tail calls), so that this part saves no registers. */
static void visit_subtract(void **slot, void *ctx)
{
    void *child = *slot;
    if (!child)
        return;
    rc_head *hd = rci_head(child);
    uint32_t f = hd->flags;
    if (!(f & RCI_F_CAND)) {
        gc_pass *p = ctx;
        if ((f & (RCI_F_TRACKED | RCI_F_DYING | RCI_GEN_MASK)) - RCI_F_TRACKED >= p->first_gens)
            return; /* a leaf, untracked, dying, older: not a candidate */
        uint32_t n = hd->refcnt - 1;
        if (((uintptr_t)child ^ (uintptr_t)p->parent) < RCI_ARENA && n < RCI_REFS_MAX)
            hd->flags = (f & ~(RCI_F_REACH | RCI_REFS_MASK)) | RCI_F_CAND | (n << RCI_REFS_SHIFT);
        else
            subtract_first(p, hd, child);
    } else if (rci_likely((f & RCI_REFS_MASK) - REFS_ONE < RCI_REFS_MASK - REFS_ONE))
        hd->flags = f - REFS_ONE;
    else
        subtract_big(ctx, hd);
}

/* A debug heap's visit: every reference is checked first. */
static void visit_subtract_checked(void **slot, void *ctx)
{
    gc_pass *p = ctx;
    if (*slot && !rci_same_heap(p->parent, *slot))
        foreign_ref(p, *slot); /* stops */
    visit_subtract(slot, ctx);
}

RCI_INLINE void subtract_one(rc_heap *h, rci_typerec *r, rc_head *hd, void *ctx)
{
    (void)h;
    gc_pass *p = ctx;
    if (!(hd->flags & RCI_F_CAND)) {
        if (!is_candidate(hd->flags, p->gen))
            return;
        make_candidate(p, hd, 0);
    }
    p->candidates++;
    p->parent = rci_obj(hd);
    r->type->traverse(p->parent, p->debug ? visit_subtract_checked : visit_subtract, p);
}

/* ---- Step 2: mark what is reachable from outside --------------------------
 * A candidate reached is taken at once: its scratch (CAND, gc_refs) is
 * cleared, REACH set, and it goes on the work list to be scanned; an
 * object is never pushed twice.  A full collection moved every candidate
 * to generation 2 before it started, so one that finds no garbage needs
 * no third walk: REACH is simply left behind, and it is harmless, since
 * every test that reads it also requires CAND (which make_candidate sets
 * and clears REACH) or a younger generation (only generation-2 objects
 * keep a stale REACH; rci_track clears it).
 *
 * A full collection also untracks the dicts and tuples it scans whose
 * children can never be tracked (CPython's untracking of dicts and
 * tuples): such a container cannot be part of a cycle until something
 * that can be is stored in it, and rc_dict_set tracks it again then. */

static RCI_NOINLINE void push_grow(gc_pass *p, void *child)
{
    if (!rci_vec_push(p->h, p->stack, child))
        p->aborted = true;
}

/* Like visit_subtract, nothing here needs a saved register. */
static void visit_reach(void **slot, void *ctx)
{
    void *child = *slot;
    if (!child)
        return;
    rc_head *hd = rci_head(child);
    gc_pass *p = ctx;
    uint32_t f = hd->flags;
    if ((f & (RCI_F_CAND | RCI_F_REACH)) != RCI_F_CAND)
        return;
    hd->flags = (f & ~(RCI_F_CAND | RCI_REFS_MASK)) | RCI_F_REACH;
    p->reached++;
    rci_vec *stack = p->stack;
    if (rci_unlikely(stack->len == stack->cap))
        push_grow(p, child);
    else
        stack->items[stack->len++] = child;
}

/* visit_reach for a container that a full collection may untrack: it
   also gathers its children's flags. */
static void visit_reach_flags(void **slot, void *ctx)
{
    gc_pass *p = ctx;
    if (*slot)
        p->child_flags |= rci_head(*slot)->flags;
    visit_reach(slot, ctx);
}

/* Does a child of a container keep it tracked?  Yes unless it can never
   be tracked (see rci_may_be_tracked). */
static void visit_pins(void **slot, void *ctx)
{
    bool *pinned = ctx;
    if (*slot && !*pinned)
        *pinned = rci_may_be_tracked(*slot);
}

/* obj, a dict or tuple just scanned, none of whose children is tracked:
   untrack it unless a child may become tracked.  Only in full
   collections, which emptied the young lists first (an object's position
   there shares the bits of gc_refs). */
static RCI_NOINLINE void maybe_untrack(gc_pass *p, const rc_type *t, void *obj)
{
    bool pinned = false;
    t->traverse(obj, visit_pins, &pinned);
    if (!pinned)
        rci_untrack(p->h, rci_head(obj));
}

static void scan(gc_pass *p, const rc_type *t, void *obj)
{
    if (rci_likely(!p->untrack || (t != &rc_dict_type && t != &rc_tuple_type))) {
        t->traverse(obj, visit_reach, p);
        return;
    }
    p->child_flags = 0;
    t->traverse(obj, visit_reach_flags, p);
    if (!(p->child_flags & RCI_F_TRACKED))
        maybe_untrack(p, t, obj);
}

/* Mark obj and everything it reaches.  Objects on the work list are mostly
   neighbours in one pool: the pool's type is looked up once per run. */
static void mark_from(gc_pass *p, const rc_type *t, void *obj)
{
    rci_vec *stack = p->stack;
    rc_head *hd = rci_head(obj);
    hd->flags = (hd->flags & ~(RCI_F_CAND | RCI_REFS_MASK)) | RCI_F_REACH;
    p->reached++;
    scan(p, t, obj);
    type_cache tc = {0};
    while (stack->len && !p->aborted) {
        void *x = stack->items[--stack->len];
        scan(p, type_of(&tc, rci_head(x))->type, x);
    }
    stack->len = 0;
}

RCI_INLINE void reach_one(rc_heap *h, rci_typerec *r, rc_head *hd, void *ctx)
{
    (void)h;
    gc_pass *p = ctx;
    if ((hd->flags & (RCI_F_CAND | RCI_F_REACH)) == RCI_F_CAND &&
        !p->aborted && referenced(p, hd))
        mark_from(p, r->type, rci_obj(hd));
}

/* ---- Step 3: settle: promote survivors, gather garbage -----------------
 * p->garbage was reserved for every candidate not reached, so gathering
 * cannot fail; each garbage object is held (+1) from here on, so no user
 * code can free it under us. */

static void gather(gc_pass *p, rc_head *hd)
{
    hd->flags = (hd->flags & ~(RCI_F_CAND | RCI_REFS_MASK)) | RCI_F_UNREACH;
    hd->refcnt++;
    p->weakly_referenced += (hd->flags & RCI_F_WEAKREFS) != 0;
    p->garbage->items[p->garbage->len++] = rci_obj(hd);
}

/* Full collection: everything is in generation 2 already. */
RCI_INLINE void settle_full(rc_heap *h, rci_typerec *r, rc_head *hd, void *ctx)
{
    (void)h;
    (void)r;
    gc_pass *p = ctx;
    if (!(hd->flags & RCI_F_CAND))
        return;
    if (p->aborted)
        hd->flags &= ~(RCI_F_CAND | RCI_REFS_MASK);
    else
        gather(p, hd);
}

/* Young collection: rebuild the young lists.  Survivors move up (0 -> 1,
   or 1 -> 2 when generation 1 was collected); garbage leaves the lists for
   generation 2, where it waits to be freed or resurrected. */
static void settle_young(rc_heap *h, gc_pass *p)
{
    for (int g = (int)p->gen; g >= 0; g--) {
        rci_vec *v = &h->gc.young[g];
        size_t n = v->len;
        v->len = 0; /* re-entries below write behind the reading position */
        for (size_t i = 0; i < n; i++) {
            rc_head *hd = v->items[i];
            bool reached = !(hd->flags & RCI_F_CAND);
            hd->flags &= ~RCI_F_REACH;
            unsigned to;
            if (p->aborted) {
                hd->flags &= ~(RCI_F_CAND | RCI_REFS_MASK);
                to = (unsigned)g;
            } else if (reached) {
                to = p->gen == 0 ? 1u : 2u;
                h->gc.long_lived_pending += to == 2;
            } else {
                gather(p, hd);
                to = 2;
            }
            rci_gen_reenter(h, hd, (unsigned)g, to);
        }
    }
}

/* ---- Steps 4-6 ------------------------------------------------------------ */

/* Drop the holds on the garbage that stays alive and clear its marks. */
/* The garbage goes back to generation 0, so the next collection of any
   generation looks at it again. */
static void release_holds(rc_heap *h, rci_vec *u)
{
    for (size_t i = 0; i < u->len; i++) {
        rc_head *hd = rci_head(u->items[i]);
        hd->flags &= ~RCI_F_UNREACH;
        hd->refcnt--;
        rci_set_gen(h, hd, 0);
    }
}

/* Clear weak references to the garbage; the callbacks of those outside it
   run afterwards.  false: no memory for the callback list (nothing done). */
static bool clear_weakrefs(rc_heap *h, rci_vec *u, rci_vec *calls)
{
    size_t n = 0;
    for (size_t i = 0; i < u->len; i++)
        if (rci_head(u->items[i])->flags & RCI_F_WEAKREFS)
            n += rci_weakref_gc_clear(h, u->items[i], NULL, true);
    if (n && !rci_vec_reserve(h, calls, n))
        return false;
    for (size_t i = 0; i < u->len; i++)
        if (rci_head(u->items[i])->flags & RCI_F_WEAKREFS)
            rci_weakref_gc_clear(h, u->items[i], calls, false);
    return true;
}

/* Steps 4-5: callbacks and finalizers; returns true if user code ran. */
static bool run_user_code(rci_vec *u, rci_vec *calls)
{
    bool ran = false;
    for (size_t i = 0; i < calls->len; i++) {
        rc_weakref *w = calls->items[i];
        ran |= rci_weakref_call(w);
        rc_decref(w);
    }
    type_cache tc = {0};
    for (size_t i = 0; i < u->len; i++) {
        void *obj = u->items[i];
        rc_head *hd = rci_head(obj);
        const rc_type *t = type_of(&tc, hd)->type;
        if (t->finalize && !(hd->flags & RCI_F_FINALIZED)) {
            hd->flags |= RCI_F_FINALIZED;
            t->finalize(obj);
            ran = true;
        }
    }
    return ran;
}

/* Step 5: trial deletion over the garbage alone; what a finalizer or
   callback made reachable again leaves it.  Returns how many. */
static size_t resurrect(rc_heap *h, rci_vec *u, bool *aborted)
{
    gc_pass p = {.h = h, .garbage_only = true, .stack = &h->gc.stack};
    for (size_t i = 0; i < u->len; i++)
        make_candidate(&p, rci_head(u->items[i]), 1);
    for (size_t i = 0; i < u->len; i++) {
        p.parent = u->items[i];
        rci_typerec_of(p.parent)->type->traverse(p.parent, visit_subtract, &p);
    }
    for (size_t i = 0; i < u->len && !p.aborted; i++) {
        rc_head *hd = rci_head(u->items[i]);
        if (!(hd->flags & RCI_F_REACH) && referenced(&p, hd))
            mark_from(&p, rci_typerec_of(u->items[i])->type, u->items[i]);
    }
    size_t revived = 0, kept = 0;
    for (size_t i = 0; i < u->len; i++) {
        void *obj = u->items[i];
        rc_head *hd = rci_head(obj);
        bool alive = (hd->flags & RCI_F_REACH) || p.aborted;
        hd->flags &= ~(RCI_F_CAND | RCI_F_REACH | RCI_REFS_MASK);
        if (alive) { /* it stays in generation 2, where settle put it */
            hd->flags &= ~RCI_F_UNREACH;
            hd->refcnt--; /* drop the hold */
            revived++;
        } else {
            u->items[kept++] = obj;
        }
    }
    u->len = kept;
    h->gc.big_refs.len = 0;
    *aborted |= p.aborted;
    return revived;
}

/* The state of step 6. */
typedef struct clearing {
    type_cache tc;       /* the garbage's types */
    bool ran;            /* something outside the garbage died: user code
                            may have run and stored into cleared slots */
} clearing;

/* rci_visit_release, where a last reference goes straight to the release
   with the type from the cache.  A garbage child is still held, so only
   objects outside the garbage (leaves, untracked) die here; a debug heap
   checks every reference in rc_decref. */
static void visit_clear(void **slot, void *ctx)
{
    void *child = *slot;
    if (!child)
        return;
    *slot = NULL;
    rc_head *hd = rci_head(child);
    clearing *c = ctx;
    if (hd->refcnt == 1) {
        c->ran = true;
        rc_heap *h = rci_heap_of(child);
        if (!(h->hooks & RCI_HOOK_DEBUG)) {
            hd->refcnt = 0;
            rci_object_dying_as(h, type_of(&c->tc, hd), child);
            return;
        }
    }
    rc_decref(child);
}

/* Can obj, garbage whose slots step 6 cleared, skip the release's
   traverse?  Yes when nothing can have stored into them since (no user
   code ran: no clear, nothing outside the garbage died) and its release
   has nothing else to run but destroy. */
static bool cleared_plain(const clearing *c, const rci_typerec *r, const rc_head *hd)
{
    const rc_type *t = r->type;
    return !c->ran && !t->clear && !r->recycle && !(hd->flags & RCI_F_WEAKREFS) &&
           (!t->finalize || (hd->flags & RCI_F_FINALIZED));
}

/* Step 6: break the cycles (the type's clear, or every slot traverse
   reports) of every garbage object, then drop the holds: an object whose
   hold was its last reference is freed, without a second traverse when
   its slots are known to be empty; reference counting does the rest.
   Every garbage object is held until all are cleared, so none is freed
   while another's clear may still look at it. */
static void clear_garbage(rc_heap *h, rci_vec *u)
{
    clearing c = {0};
    for (size_t i = 0; i < u->len; i++) {
        void *obj = u->items[i];
        rc_head *hd = rci_head(obj);
        rci_typerec *r = type_of(&c.tc, hd);
        hd->flags &= ~RCI_F_UNREACH;
        if (r->type->clear) {
            c.ran = true;
            r->type->clear(obj);
        } else
            r->type->traverse(obj, visit_clear, &c);
    }
    for (size_t i = 0; i < u->len; i++) {
        void *obj = u->items[i];
        rc_head *hd = rci_head(obj);
        if (--hd->refcnt) /* a clear kept a reference to it */
            continue;
        rci_typerec *r = type_of(&c.tc, hd);
        if (cleared_plain(&c, r, hd))
            rci_object_free_cleared(h, r, obj);
        else
            rci_object_dying_as(h, r, obj);
    }
}

/* Keep the garbage (RC_GC_DEBUG_SAVEALL): the holds become its references. */
static size_t save_garbage(rc_heap *h, rci_vec *u)
{
    size_t saved = 0;
    for (size_t i = 0; i < u->len; i++) {
        rci_head(u->items[i])->flags &= ~RCI_F_UNREACH;
        if (rci_vec_push(h, &h->gc.garbage, u->items[i]))
            saved++;
        else
            rci_head(u->items[i])->refcnt--;
    }
    return saved;
}

/* ---- One collection ---------------------------------------------------------- */

static void run_callbacks(rc_heap *h, int phase, const rc_gc_info *info)
{
    for (unsigned i = 0; i < RCI_GC_CALLBACKS; i++)
        if (h->gc.callbacks[i].fn)
            h->gc.callbacks[i].fn(h, phase, info, h->gc.callbacks[i].ctx);
}

/* Steps 4-6 over the gathered garbage.  false: no memory before anything
   was done.  A failure after user code ran (the resurrection check could
   not finish) keeps everything alive and sets *aborted. */
static bool dispose(rc_heap *h, rci_vec *u, bool weakly_referenced, rc_gc_info *info,
                    size_t *resurrected, bool *aborted)
{
    rci_vec *calls = &h->gc.calls;
    calls->len = 0;
    if (weakly_referenced && !clear_weakrefs(h, u, calls))
        return false;
    if (run_user_code(u, calls))
        *resurrected = resurrect(h, u, aborted);
    calls->len = 0;
    if (h->gc.debug & RC_GC_DEBUG_SAVEALL)
        info->uncollectable = save_garbage(h, u);
    else {
        info->collected = u->len;
        clear_garbage(h, u);
    }
    return true;
}

static void account(rc_heap *h, unsigned gen, const rc_gc_info *info, size_t resurrected,
                    bool slice)
{
    rci_gc *gc = &h->gc;
    rc_gc_gen_stats *st = &gc->stats[gen];
    st->collected += info->collected;
    st->uncollectable += info->uncollectable;
    st->candidates += info->candidates;
    st->resurrected += resurrected;
    st->time_ns += info->time_ns;
    if (gc->debug & RC_GC_DEBUG_STATS)
        fprintf(stderr,
                "rcgc: gc: generation %u%s: %zu candidates, %zu collected, %zu "
                "resurrected, %zu uncollectable, %.3f ms\n",
                gen, slice ? " (step)" : "", info->candidates, info->collected,
                resurrected, info->uncollectable, (double)info->time_ns / 1e6);
    if (slice) { /* the counts and thresholds move when the round ends */
        gc->steps++;
        return;
    }
    st->collections++;
    for (unsigned g = 0; g <= gen; g++)
        gc->count[g] = 0;
    if (gen + 1 < RC_GC_GENERATIONS)
        gc->count[gen + 1]++;
    if (gen == 2) {
        gc->long_lived_total = gc->tracked[2];
        gc->long_lived_pending = 0;
    }
    bool found = info->collected + info->uncollectable > 0;
    gc->backoff[gen] = found ? 1 : gc->backoff[gen] < 16 ? gc->backoff[gen] * 2 : 16;
    rci_gc_update_trigger(h);
}

/* A collection's first words: callbacks, then the clock starts. */
static uint64_t begin(rc_heap *h, const rc_gc_info *info)
{
    h->gc.collecting = true;
    run_callbacks(h, RC_GC_START, info);
    return now_ns();
}

/* After steps 1-2: size the garbage list for every candidate not
   reached.  Every object reached was a candidate (foreign ones never
   are); were it otherwise, abandon rather than size the list from a
   wrapped count. */
static void reserve_garbage(gc_pass *p)
{
    p->h->gc.big_refs.len = 0;
    rci_assert(p->reached <= p->candidates);
    if (p->reached > p->candidates)
        p->aborted = true;
    size_t unreached = p->reached <= p->candidates ? p->candidates - p->reached : 0;
    if (!p->aborted && unreached && !rci_vec_reserve(p->h, p->garbage, unreached))
        p->aborted = true;
}

/* Steps 4-6 and the accounting, once settle has gathered the garbage.
   full: the collection (or the round of steps) covered every generation. */
static void conclude(rc_heap *h, gc_pass *p, rc_gc_info *info, uint64_t t0, bool full)
{
    rci_gc *gc = &h->gc;
    rci_vec *u = p->garbage;
    info->candidates = p->candidates;
    size_t resurrected = 0;
    if (u->len && !dispose(h, u, p->weakly_referenced > 0, info, &resurrected, &p->aborted)) {
        release_holds(h, u);
        p->aborted = true;
    }
    u->len = 0;
    /* keep small work lists for the next collection */
    rci_vec *lists[] = {&gc->stack, u, &gc->calls, &gc->slice};
    for (size_t i = 0; i < sizeof lists / sizeof *lists; i++)
        if (lists[i]->cap > RCI_GC_KEEP)
            rci_vec_free(h, lists[i]);
    /* and young lists that a burst of allocation grew: once emptied (every
       full collection empties them) they give their pages back */
    for (unsigned g = 0; g < 2; g++)
        if (!gc->young[g].len && gc->young[g].cap > RCI_GC_KEEP)
            rci_vec_free(h, &gc->young[g]);
    gc->failed += p->aborted;
    info->time_ns = now_ns() - t0;
    account(h, (unsigned)info->generation, info, resurrected, p->slice);
    run_callbacks(h, RC_GC_STOP, info);
    gc->collecting = false;
    if (full) {
        rci_reap_zombies(h);
        if (h->flush_caches)
            h->flush_caches(h);
    }
}

static size_t collect(rc_heap *h, unsigned gen)
{
    rci_gc *gc = &h->gc;
    rc_gc_info info = {.generation = (int)gen};
    uint64_t t0 = begin(h, &info);
    gc_pass p = {.h = h, .gen = gen, .first_gens = gen + 1, .untrack = gen == 2,
                 .garbage = &gc->unreachable, .stack = &gc->stack,
                 .debug = h->cfg.debug != 0};
    if (gen == 2) {
        rci_young_flatten(h, 1);
        gc->round = false; /* a full collection does a round's work */
    }
    for_each_candidate(h, gen, subtract_one, &p);
    for_each_candidate(h, gen, reach_one, &p);
    reserve_garbage(&p);
    if (gen < 2)
        settle_young(h, &p);
    else if (p.candidates > p.reached || p.aborted)
        rci_for_each_object(h, true, settle_full, &p);
    conclude(h, &p, &info, t0, gen == 2);
    return info.collected;
}

/* ---- A full collection in steps ---------------------------------------------
 * rc_gc_step examines generation 2 in slices.  A slice is a complete
 * collection of a set of objects S, with nothing kept from one slice to
 * the next that the program could invalidate: trial deletion over any set
 * is sound (an object of S is found garbage only when every reference to
 * it comes from S and nothing in S that is referenced from outside S
 * reaches it; a path from outside that leaves S and comes back shows as
 * an outside reference on the way back in).  So the program may run, and
 * change anything, between slices, without a write barrier.
 *
 * S is built from seeds, the generation-2 objects that come next in
 * address order after the round's cursor, and their referents in
 * generation 2, transitively, so that a cycle is found whole from any of
 * its members: up to twice the seeds, four times more in each round
 * after one that had to cut a structure short (a garbage cycle larger
 * than a slice is found after a few rounds), half as much after one that
 * did not.  What a round
 * examined carries the round's mark in its scratch bits (unused by
 * generation-2 objects between collections) and is not taken again in the
 * same round, so a round examines each object once.  The price: garbage
 * that a part examined earlier in the round points into (a cycle C
 * examined while garbage outside C still referred to it) waits for the
 * next round, or for a full collection. */

static bool slice_wants(uint32_t f, uint32_t mark)
{
    return (f & (RCI_F_TRACKED | RCI_F_DYING | RCI_F_CAND | RCI_GEN_MASK)) ==
               (RCI_F_TRACKED | 2u) &&
           refs_of(f) != mark;
}

static void slice_add(gc_pass *p, rc_head *hd)
{
    if (!rci_vec_push(p->h, &p->h->gc.slice, hd)) {
        p->aborted = true;
        return;
    }
    make_candidate(p, hd, 0);
    p->candidates++;
}

/* Seeds from pool, from the block at or after address from, until the
   slice has `work` candidates.  Returns where to resume: 0 when the pool
   is done. */
static uintptr_t seed_pool(gc_pass *p, rci_pool *pool, uintptr_t from, size_t work)
{
    char *b = pool->kind == RCI_POOL_HUGE ? (char *)rci_arena_of(pool) + RCI_HUGE_OFFSET
                                          : rci_pool_start(pool);
    size_t stride = pool->kind == RCI_POOL_SMALL ? pool->block_size : 1;
    char *end = b + (pool->kind == RCI_POOL_SMALL ? pool->carved * stride : 1);
    if ((uintptr_t)b < from)
        b += ((from - (uintptr_t)b + stride - 1) / stride) * stride;
    uint32_t mark = p->h->gc.round_mark;
    for (; b < end; b += stride) {
        if (p->candidates >= work || p->aborted)
            return (uintptr_t)b;
        rc_head *hd = (rc_head *)b;
        if (!(hd->flags & RCI_F_FREE) && slice_wants(hd->flags, mark))
            slice_add(p, hd);
    }
    return 0;
}

static void visit_closure(void **slot, void *ctx)
{
    gc_pass *p = ctx;
    void *child = *slot;
    if (!child || p->aborted)
        return;
    rc_head *hd = rci_head(child);
    if (!slice_wants(hd->flags, p->h->gc.round_mark))
        return;
    if (p->candidates >= p->cap) {
        p->cut = true;
        return;
    }
    if (((uintptr_t)child ^ (uintptr_t)p->parent) >= RCI_ARENA && rci_heap_of(child) != p->h)
        foreign_ref(p, child);
    else
        slice_add(p, hd);
}

/* The scanned pool that starts first at or after address from (arenas
   are not kept in address order: each is asked for its first one). */
static rci_pool *next_pool(rc_heap *h, uintptr_t from, uintptr_t *at)
{
    rci_pool *best = NULL;
    uintptr_t best_at = UINTPTR_MAX;
    for (rci_arena *a = h->arenas; a; a = a->all_next) {
        uintptr_t base = (uintptr_t)a;
        if (base + RCI_ARENA <= from || base >= best_at)
            continue;
        size_t i = from > base ? (from - base + RCI_PAGE - 1) >> RCI_PAGE_SHIFT
                               : RCI_HEADER_PAGES;
        while (i < RCI_ARENA_PAGES) {
            rci_pool *pool = rci_pool_at(a, i);
            if (pool && rci_pool_wanted(pool, true)) {
                if (base + i * RCI_PAGE < best_at) {
                    best = pool;
                    best_at = base + i * RCI_PAGE;
                }
                break;
            }
            i += pool ? pool->npages : 1;
        }
    }
    for (rci_arena *a = h->huge; a; a = a->next)
        if ((uintptr_t)a >= from && (uintptr_t)a < best_at && rci_pool_wanted(&a->pools[0], true)) {
            best = &a->pools[0];
            best_at = (uintptr_t)a;
        }
    *at = best_at;
    return best;
}

/* The round is over: it did a full collection's work. */
static void round_end(rc_heap *h)
{
    rci_gc *gc = &h->gc;
    gc->round = false;
    gc->rounds++;
    gc->long_lived_total = gc->tracked[2];
    gc->long_lived_pending = 0;
    gc->count[2] = 0;
    /* a round whose slices had to cut a structure short lets the next one
       take four times as much (a garbage cycle larger than a slice is
       found after a few rounds); one that cut nothing halves it again */
    gc->slice_scale = gc->round_cut ? (gc->slice_scale < SIZE_MAX / 8 ? gc->slice_scale * 4
                                                                      : gc->slice_scale)
                                    : (gc->slice_scale > 4 ? gc->slice_scale / 2 : 2);
    gc->round_cut = false;
    /* the next round's mark; 0 is what collections leave behind */
    gc->round_mark = gc->round_mark + 1 < RCI_REFS_MAX ? gc->round_mark + 1 : 1;
}

/* One slice of at most about `work` seeds.  Returns the objects reclaimed;
   *examined grows by the slice's size; *done: the round ended. */
static size_t slice_collect(rc_heap *h, size_t work, size_t *examined, bool *done)
{
    rci_gc *gc = &h->gc;
    if (!gc->round) {
        gc->round = true;
        gc->cursor = gc->resume = 0;
    }
    rc_gc_info info = {.generation = 2};
    uint64_t t0 = begin(h, &info);
    size_t cap = work <= SIZE_MAX / gc->slice_scale ? work * gc->slice_scale : SIZE_MAX;
    gc_pass p = {.h = h, .gen = 2, .garbage_only = true, .slice = true, .cap = cap,
                 .garbage = &gc->unreachable, .stack = &gc->stack,
                 .debug = h->cfg.debug != 0};
    rci_vec *s = &gc->slice;
    s->len = 0;
    /* seeds: the cursor is the start of the pool being seeded, resume the
       block to go on from in it */
    uintptr_t at;
    rci_pool *pool;
    while (p.candidates < work && !p.aborted && (pool = next_pool(h, gc->cursor, &at))) {
        gc->cursor = at;
        gc->resume = seed_pool(&p, pool, gc->resume, work);
        if (!gc->resume)
            gc->cursor = at + 1;
    }
    *done = !p.aborted && p.candidates < work;
    /* their referents in generation 2 */
    for (size_t i = 0; i < s->len && !p.aborted && !p.cut; i++) {
        p.parent = rci_obj(s->items[i]);
        rci_typerec_of(p.parent)->type->traverse(p.parent, visit_closure, &p);
    }
    /* steps 1-2 over S alone: garbage_only makes every other object count
       as outside */
    type_cache tc = {0};
    for (size_t i = 0; i < s->len && !p.aborted; i++) {
        rc_head *hd = s->items[i];
        p.parent = rci_obj(hd);
        type_of(&tc, hd)->type->traverse(p.parent, p.debug ? visit_subtract_checked
                                                           : visit_subtract, &p);
    }
    for (size_t i = 0; i < s->len && !p.aborted; i++)
        reach_one(h, type_of(&tc, s->items[i]), s->items[i], &p);
    reserve_garbage(&p);
    /* settle: survivors keep the round's mark, the rest is garbage */
    for (size_t i = 0; i < s->len; i++) {
        rc_head *hd = s->items[i];
        if (p.aborted)
            hd->flags &= ~(RCI_F_CAND | RCI_F_REACH | RCI_REFS_MASK);
        else if (hd->flags & RCI_F_CAND)
            gather(&p, hd);
        else
            hd->flags = with_refs(hd->flags & ~RCI_F_REACH, gc->round_mark);
    }
    gc->round_cut |= p.cut;
    *examined += s->len;
    s->len = 0;
    if (p.aborted)
        *done = false;
    conclude(h, &p, &info, t0, *done);
    if (*done)
        round_end(h);
    return info.collected;
}

/* Slices until `work` objects were examined (0: no limit), budget_ns
   passed (0: no limit) or the round ended.  Under a time budget the
   slices are small (RCI_GC_SLICE), so that the last one overshoots little. */
static size_t steps(rc_heap *h, size_t work, uint64_t budget_ns, int *round_done)
{
    size_t slice = budget_ns || !work ? RCI_GC_SLICE : work;
    if (work && slice > work)
        slice = work;
    size_t examined = 0, collected = 0;
    bool done = false;
    uint64_t t0 = budget_ns ? now_ns() : 0;
    do
        collected += slice_collect(h, slice, &examined, &done);
    while (!done && (!work || examined < work) && (!budget_ns || now_ns() - t0 < budget_ns));
    if (round_done)
        *round_done = done;
    return collected;
}

/* ---- Automatic collection ---------------------------------------------------- */

void rci_gc_update_trigger(rc_heap *h)
{
    rci_gc *gc = &h->gc;
    gc->trigger = gc->enabled && gc->threshold[0]
                      ? (size_t)gc->threshold[0] * gc->backoff[0]
                      : SIZE_MAX;
}

void rci_gc_maybe(rc_heap *h)
{
    rci_gc *gc = &h->gc;
    if (!gc->enabled || gc->collecting || !gc->threshold[0])
        return;
    for (int g = RC_GC_GENERATIONS - 1; g >= 0; g--) {
        if (gc->count[g] <= (size_t)gc->threshold[g] * gc->backoff[g])
            continue;
        if (g == 2 && (gc->long_lived_pending < gc->long_lived_total / 4 ||
                       (gc->round && gc->incremental)))
            continue;
        /* incremental: a full collection due starts a round of steps, and
           every automatic collection while it runs is followed by one */
        bool step = gc->incremental && (gc->round || g == 2);
        collect(h, g == 2 && step ? 1u : (unsigned)g);
        if (step)
            steps(h, gc->incremental, 0, NULL);
        return;
    }
}

void rci_gc_init(rc_heap *h)
{
    rci_gc *gc = &h->gc;
    const unsigned *t = h->cfg.gc_threshold;
    if (t[0] || t[1] || t[2])
        rc_gc_set_threshold(h, t[0], t[1], t[2]);
    else
        rc_gc_set_threshold(h, 700, 10, 10);
    for (unsigned g = 0; g < RC_GC_GENERATIONS; g++)
        gc->backoff[g] = 1;
    gc->enabled = !h->cfg.gc_disabled;
    gc->round_mark = 1;
    gc->slice_scale = 2;
    rci_gc_update_trigger(h);
}

void rci_gc_release(rc_heap *h)
{
    rci_vec_free(h, &h->gc.stack);
    rci_vec_free(h, &h->gc.young[0]);
    rci_vec_free(h, &h->gc.young[1]);
    rci_vec_free(h, &h->gc.unreachable);
    rci_vec_free(h, &h->gc.calls);
    rci_vec_free(h, &h->gc.slice);
    rci_vec_free(h, &h->gc.big_refs);
    rci_vec_free(h, &h->gc.garbage);
}

/* ---- Public API ------------------------------------------------------------- */

size_t rc_collect(rc_heap *h, int generation)
{
    if (h->gc.collecting)
        return 0;
    unsigned gen = generation < 0 || generation >= 2 ? 2 : (unsigned)generation;
    return collect(h, gen);
}

void rc_gc_enable(rc_heap *h, int on)
{
    h->gc.enabled = on != 0;
    rci_gc_update_trigger(h);
}

int rc_gc_is_enabled(const rc_heap *h)
{
    return h->gc.enabled;
}

void rc_gc_set_threshold(rc_heap *h, unsigned t0, unsigned t1, unsigned t2)
{
    h->gc.threshold[0] = t0;
    h->gc.threshold[1] = t1;
    h->gc.threshold[2] = t2;
    rci_gc_update_trigger(h);
}

void rc_gc_get_threshold(const rc_heap *h, unsigned out[3])
{
    memcpy(out, h->gc.threshold, sizeof h->gc.threshold);
}

void rc_gc_get_count(const rc_heap *h, size_t out[3])
{
    memcpy(out, h->gc.count, sizeof h->gc.count);
}

void rc_gc_get_effective_threshold(const rc_heap *h, size_t out[3])
{
    for (unsigned g = 0; g < RC_GC_GENERATIONS; g++)
        out[g] = (size_t)h->gc.threshold[g] * h->gc.backoff[g];
}

size_t rc_gc_step(rc_heap *h, size_t work, uint64_t budget_ns, int *round_done)
{
    if (round_done)
        *round_done = 0;
    if (h->gc.collecting)
        return 0;
    return steps(h, work, budget_ns, round_done);
}

void rc_gc_set_incremental(rc_heap *h, size_t work)
{
    h->gc.incremental = work;
}

size_t rc_gc_get_incremental(const rc_heap *h)
{
    return h->gc.incremental;
}

void rc_gc_stats_get(const rc_heap *h, rc_gc_stats *out)
{
    memset(out, 0, sizeof *out);
    memcpy(out->gen, h->gc.stats, sizeof out->gen);
    for (unsigned g = 0; g < RC_GC_GENERATIONS; g++)
        out->tracked[g] = h->gc.tracked[g];
    out->frozen = h->gc.tracked[RCI_GEN_FROZEN];
    out->failed = h->gc.failed;
    out->foreign = h->gc.foreign;
    out->steps = h->gc.steps;
    out->rounds = h->gc.rounds;
    out->round_running = h->gc.round;
}

int rc_gc_callback_add(rc_heap *h, rc_gc_callback_fn fn, void *ctx)
{
    for (unsigned i = 0; i < RCI_GC_CALLBACKS; i++)
        if (!h->gc.callbacks[i].fn) {
            h->gc.callbacks[i].fn = fn;
            h->gc.callbacks[i].ctx = ctx;
            return 0;
        }
    return rci_fail(h, RC_EOVERFLOW);
}

int rc_gc_callback_remove(rc_heap *h, rc_gc_callback_fn fn, void *ctx)
{
    for (unsigned i = 0; i < RCI_GC_CALLBACKS; i++)
        if (h->gc.callbacks[i].fn == fn && h->gc.callbacks[i].ctx == ctx) {
            h->gc.callbacks[i].fn = NULL;
            return 0;
        }
    return rci_fail(h, RC_EKEY);
}

static void freeze_one(rc_heap *h, rci_typerec *r, rc_head *hd, void *ctx)
{
    (void)r;
    size_t *n = ctx;
    if ((hd->flags & RCI_F_TRACKED) && (hd->flags & RCI_GEN_MASK) != RCI_GEN_FROZEN) {
        rci_set_gen(h, hd, RCI_GEN_FROZEN);
        ++*n;
    }
}

size_t rc_gc_freeze(rc_heap *h)
{
    size_t n = 0;
    rci_for_each_object(h, true, freeze_one, &n);
    for (unsigned g = 0; g < RC_GC_GENERATIONS; g++)
        h->gc.count[g] = 0;
    return n;
}

static void unfreeze_one(rc_heap *h, rci_typerec *r, rc_head *hd, void *ctx)
{
    (void)r;
    (void)ctx;
    if ((hd->flags & RCI_F_TRACKED) && (hd->flags & RCI_GEN_MASK) == RCI_GEN_FROZEN)
        rci_set_gen(h, hd, 2);
}

void rc_gc_unfreeze(rc_heap *h)
{
    rci_for_each_object(h, true, unfreeze_one, NULL);
}

typedef struct foreach_ctx {
    int gen;
    void (*fn)(void *obj, void *ctx);
    void *ctx;
    size_t n;
} foreach_ctx;

static void foreach_one(rc_heap *h, rci_typerec *r, rc_head *hd, void *ctx)
{
    (void)h;
    (void)r;
    foreach_ctx *c = ctx;
    if ((hd->flags & RCI_F_TRACKED) &&
        (c->gen < 0 || (unsigned)c->gen == (hd->flags & RCI_GEN_MASK))) {
        c->n++;
        c->fn(rci_obj(hd), c->ctx);
    }
}

size_t rc_gc_foreach(rc_heap *h, int gen, void (*fn)(void *obj, void *ctx), void *ctx)
{
    foreach_ctx c = {gen, fn, ctx, 0};
    rci_for_each_object(h, true, foreach_one, &c);
    return c.n;
}

typedef struct referents_ctx {
    void (*fn)(void *child, void *ctx);
    void *ctx;
} referents_ctx;

static void visit_referent(void **slot, void *ctx)
{
    referents_ctx *c = ctx;
    if (*slot)
        c->fn(*slot, c->ctx);
}

void rc_gc_referents(void *obj, void (*fn)(void *child, void *ctx), void *ctx)
{
    const rc_type *t = rc_typeof(obj);
    referents_ctx c = {fn, ctx};
    if (t->traverse)
        t->traverse(obj, visit_referent, &c);
}

typedef struct referrers_ctx {
    const void *target;
    bool hit;
    void (*fn)(void *referrer, void *ctx);
    void *ctx;
    size_t n;
} referrers_ctx;

static void visit_referrer(void **slot, void *ctx)
{
    referrers_ctx *c = ctx;
    c->hit |= *slot == c->target;
}

static void referrer_one(rc_heap *h, rci_typerec *r, rc_head *hd, void *ctx)
{
    (void)h;
    referrers_ctx *c = ctx;
    if (!r->type->traverse)
        return;
    c->hit = false;
    r->type->traverse(rci_obj(hd), visit_referrer, c);
    if (c->hit) {
        c->n++;
        c->fn(rci_obj(hd), c->ctx);
    }
}

size_t rc_gc_referrers(rc_heap *h, const void *target,
                       void (*fn)(void *referrer, void *ctx), void *ctx)
{
    referrers_ctx c = {target, false, fn, ctx, 0};
    rci_for_each_object(h, false, referrer_one, &c);
    return c.n;
}

void rc_gc_set_debug(rc_heap *h, unsigned flags)
{
    h->gc.debug = flags;
}

unsigned rc_gc_get_debug(const rc_heap *h)
{
    return h->gc.debug;
}

void *const *rc_gc_garbage(const rc_heap *h, size_t *count)
{
    *count = h->gc.garbage.len;
    return h->gc.garbage.items;
}

void rc_gc_garbage_clear(rc_heap *h)
{
    rci_vec g = h->gc.garbage;
    h->gc.garbage = (rci_vec){0};
    for (size_t i = 0; i < g.len; i++)
        rc_decref(g.items[i]);
    rci_vec_free(h, &g);
}
