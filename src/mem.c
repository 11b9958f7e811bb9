/*
 * mem.c — the public raw-block API: rc_mem_alloc and friends.
 *
 * Routes each call to the pool allocator (alloc.c) or, on a debug heap, to
 * the checking layer (debug.c), and counts calls for the statistics.
 */
#include "rc_internal.h"

/* One test on the fast path covers debug checks and tracing. */
void *rc_mem_alloc(rc_heap *h, size_t n)
{
    void *p;
    if (rci_unlikely(h->hooks))
        p = h->cfg.debug ? rci_debug_alloc(h, n) : rci_raw_alloc(h, n);
    else
        p = rci_raw_alloc_plain(h, n);
    if (rci_unlikely(!p))
        h->error = RC_ENOMEM;
    return p;
}

void *rc_mem_calloc(rc_heap *h, size_t nmemb, size_t size)
{
    size_t n;
    if (!rci_mul_ok(nmemb, size, &n)) {
        h->error = RC_EOVERFLOW;
        return NULL;
    }
    void *p = rc_mem_alloc(h, n);
    if (p)
        memset(p, 0, n);
    return p;
}

void rc_mem_free(rc_heap *h, void *p)
{
    if (!p)
        return;
    if (rci_unlikely(h->hooks & RCI_HOOK_DEBUG)) {
        rci_debug_free(h, p);
        return;
    }
    rci_raw_free(h, p);
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
        return n <= RC_SMALL_MAX && rci_size_class(n) == rci_size_class(have);
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
