/*
 * page.c — the page source: where a heap gets every byte it uses.
 *
 * The bottom layer.  It calls the configured rc_page_source, or mmap when
 * none is configured, and keeps the heap's counters of what it holds.  The
 * fault countdown (rc_heap_fail_page_request) lives here so that a test can
 * fail any one request whatever the source, and sweep them all.
 *
 * Invariant: os_bytes is the sum of the sizes of the regions handed out and
 * not yet given back.
 */
#define _GNU_SOURCE
#include "rc_internal.h"

#include <sys/mman.h>

void *rc_page_mmap_alloc(void *ctx, size_t size, size_t align)
{
    RCI_UNUSED(ctx);
    size_t span;
    if (align < RCI_PAGE || (align & (align - 1)) != 0)
        return NULL;
    /* Over-map by the alignment, then unmap the ends: mmap only promises
       page alignment. */
    if (__builtin_add_overflow(size, align - RCI_PAGE, &span))
        return NULL;
    char *p = mmap(NULL, span, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED)
        return NULL;
    uintptr_t start = ((uintptr_t)p + align - 1) & ~(uintptr_t)(align - 1);
    size_t head = start - (uintptr_t)p;
    size_t tail = span - head - size;
    if (head)
        munmap(p, head);
    if (tail)
        munmap((char *)start + size, tail);
    return (void *)start;
}

void rc_page_mmap_free(void *ctx, void *p, size_t size)
{
    RCI_UNUSED(ctx);
    munmap(p, size);
}

void rc_page_mmap_purge(void *ctx, void *p, size_t size)
{
    RCI_UNUSED(ctx);
    madvise(p, size, MADV_DONTNEED);
}

void rc_heap_fail_page_request(rc_heap *h, unsigned long nth)
{
    h->fail_countdown = nth;
}

void *rci_page_alloc(rc_heap *h, size_t size, size_t align)
{
    h->page_requests++;
    if (h->fail_countdown && --h->fail_countdown == 0) {
        h->page_failures++;
        return NULL;
    }
    void *p = h->cfg.pages.alloc(h->cfg.pages.ctx, size, align);
    if (!p) {
        h->page_failures++;
        return NULL;
    }
    rci_assert(((uintptr_t)p & (align - 1)) == 0);
    h->os_bytes += size;
    return p;
}

void rci_page_free(rc_heap *h, void *p, size_t size)
{
    rci_assert(h->os_bytes >= size);
    h->os_bytes -= size;
    h->cfg.pages.free(h->cfg.pages.ctx, p, size);
}

void rci_page_purge(rc_heap *h, void *p, size_t size)
{
    if (h->cfg.pages.purge)
        h->cfg.pages.purge(h->cfg.pages.ctx, p, size);
    h->purged_bytes += size;
}
