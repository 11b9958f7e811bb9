/*
 * mem.c — the public raw-block API: rc_mem_alloc and friends.
 *
 * Routes each call to the pool allocator (alloc.c) or, on a debug heap, to
 * the checking layer (debug.c), and counts calls for the statistics.
 */
#include "rc_internal.h"

/* Any call the fast path below does not take: a debug heap, tracing, a
   size past the direct table, an empty pool, or the clock's turn. */
static RCI_NOINLINE void *mem_alloc(rc_heap *h, size_t n)
{
    void *p;
    if (rci_unlikely(h->hooks))
        p = h->cfg.debug ? rci_debug_alloc(h, n) : rci_raw_alloc(h, n);
    else
        p = rci_raw_alloc_plain(h, n);
    if (rci_unlikely(!p))
        rci_fail(h, RC_ENOMEM);
    return p;
}

/* The fast path's allocation that was the turn's last (rci_count_alloc). */
static RCI_NOINLINE void *mem_alloc_turn(rc_heap *h, void *b)
{
    rci_alloc_turn(h);
    return b;
}

/* The fast path is a leaf: one table load for the bin, one pop from its
   first pool, the countdown; everything else is a tail call. */
void *rc_mem_alloc(rc_heap *h, size_t n)
{
    if (rci_likely(!h->hooks && n <= RCI_DIRECT_MAX)) {
        rci_pool *pool = h->direct[(n + 15) >> 4]->avail;
        void *b = pool->free;
        if (rci_likely(b != NULL)) {
            rci_unpoison((char *)b + RCI_LINK_BYTES, pool->block_size - RCI_LINK_BYTES);
            pool->free = *rci_link(b);
            pool->used++;
            if (rci_unlikely(--h->tick_left == 0))
                return mem_alloc_turn(h, b);
            return b;
        }
    }
    return mem_alloc(h, n);
}

void *rc_mem_calloc(rc_heap *h, size_t nmemb, size_t size)
{
    size_t n;
    if (!rci_mul_ok(nmemb, size, &n))
        return rci_fail_null(h, RC_EOVERFLOW);
    void *p = rc_mem_alloc(h, n);
    if (p)
        memset(p, 0, n);
    return p;
}

static RCI_NOINLINE void mem_free(rc_heap *h, void *p)
{
    if (!p)
        return;
    if (h->hooks & RCI_HOOK_DEBUG)
        rci_debug_free(h, p);
    else
        rci_raw_free(h, p);
}

/* A leaf like rc_mem_alloc: NULL, debug and tracing go out of line. */
void rc_mem_free(rc_heap *h, void *p)
{
    if (rci_likely(p != NULL && !h->hooks)) {
        rci_raw_free_plain(h, p);
        return;
    }
    mem_free(h, p);
}

size_t rc_mem_usable_size(const rc_heap *h, const void *p)
{
    if (h->cfg.debug)
        return rci_debug_usable(p);
    return rci_block_size(p);
}

/* Keep p when the new size still belongs where p lives: the same small
   class, or a page run or mapping that it fills at least half of. */
static bool fits_in_place(const rc_heap *h, const void *p, size_t n)
{
    if (h->cfg.debug)
        return false;
    size_t have = rci_block_size(p);
    if (have <= RC_SMALL_MAX)
        return n <= RC_SMALL_MAX && rci_raw_class(n) == rci_raw_class(have);
    return n <= have && n > have / 2;
}

void *rc_mem_realloc(rc_heap *h, void *p, size_t n)
{
    if (!p)
        return rc_mem_alloc(h, n);
    if (fits_in_place(h, p, n)) {
        if (h->hooks & RCI_HOOK_TRACE)
            rci_trace_resize(h, p, n);
        return p;
    }
    void *q = rc_mem_alloc(h, n);
    if (!q)
        return NULL;
    size_t old = rc_mem_usable_size(h, p);
    memcpy(q, p, old < n ? old : n);
    rc_mem_free(h, p);
    return q;
}
