/*
 * heap.c — heaps: creation from a configuration, teardown, trim, validate,
 * and the library's one failure reporter.
 *
 * A heap owns everything allocated on it; rc_heap_free returns every byte
 * to the page source.  The heap structure itself comes from the page source
 * too, so a heap touches no memory that its configuration did not provide.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* RTLD_DEFAULT */
#endif
#include "rc_internal.h"

#include <dlfcn.h>
#include <stdarg.h>
#include <stdlib.h>
#include <unistd.h>

void rci_fatal(const char *fmt, ...)
{
    char buf[768];
    int n = snprintf(buf, sizeof buf, "rcgc: ");
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(buf + n, sizeof buf - (size_t)n - 1, fmt, ap);
    va_end(ap);
    size_t len = (size_t)n + (m < 0 ? 0 : (size_t)m);
    if (len > sizeof buf - 2)
        len = sizeof buf - 2;
    buf[len++] = '\n';
    ssize_t rc = write(2, buf, len);
    (void)rc;
    abort();
}

/* ---- Page-backed vectors (see rci_vec) ---------------------------------- */

bool rci_vec_reserve(rc_heap *h, rci_vec *v, size_t cap)
{
    if (cap <= v->cap)
        return true;
    /* doubling stops before it would wrap (to 0, where it would spin) */
    size_t want = v->cap ? v->cap : 512;
    while (want < cap && want <= SIZE_MAX / 2)
        want *= 2;
    size_t bytes;
    if (want < cap || !rci_mul_ok(want, sizeof(void *), &bytes) ||
        bytes > SIZE_MAX - (RCI_PAGE - 1))
        return false;
    bytes = (bytes + RCI_PAGE - 1) & ~(RCI_PAGE - 1);
    void **items = rci_page_alloc(h, bytes, RCI_PAGE);
    if (!items)
        return false;
    if (v->len)
        memcpy(items, v->items, v->len * sizeof(void *));
    rci_vec_free(h, v);
    v->items = items;
    v->cap = bytes / sizeof(void *);
    h->side_bytes += bytes;
    return true;
}

/* Gives the storage back, keeping len (a caller that moved items away). */
void rci_vec_free(rc_heap *h, rci_vec *v)
{
    if (v->items && v->items != h->pending_inline) {
        rci_page_free(h, v->items, v->cap * sizeof(void *));
        h->side_bytes -= v->cap * sizeof(void *);
    }
    v->items = NULL;
    v->cap = 0;
}

/* The heap's own tables (type records, weak references) live on untraced
   raw blocks of the heap itself. */
static void *book_alloc(void *ctx, size_t bytes)
{
    return rci_raw_alloc_plain(ctx, bytes);
}

static void book_free(void *ctx, void *p, size_t bytes)
{
    (void)bytes;
    rci_raw_free_plain(ctx, p);
}

void rc_config_init(rc_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
}

static bool env_flag(const char *name)
{
    const char *v = getenv(name);
    return v && *v && *v != '0';
}

/* The object hook of `rcgc run`'s preload shim (tools/preload/hooks.c), if
   the process runs under it.  Looked up per heap, not cached: the library
   keeps no global state, and making a heap is not a hot path.  (Where the
   shim is absent, glibc's dlsym keeps its error message in a small malloc'd
   buffer of the calling thread: the one allocation outside the page source
   a heap can cause.) */
typedef void (*shim_fn)(void *block, size_t size, const char *type_name, int alive);

static shim_fn find_shim(void)
{
    shim_fn f;
    void *sym = dlsym(RTLD_DEFAULT, "rcgc_preload_object");
    memcpy(&f, &sym, sizeof f); /* object pointer to function pointer */
    return f;
}

rc_heap *rc_heap_new(const rc_config *cfg)
{
    rc_config c;
    if (cfg)
        c = *cfg;
    else
        rc_config_init(&c);
    if (!c.pages.alloc || !c.pages.free) {
        c.pages.alloc = rc_page_mmap_alloc;
        c.pages.free = rc_page_mmap_free;
        c.pages.purge = rc_page_mmap_purge;
        c.pages.ctx = NULL;
    }
    if (env_flag("RCGC_DEBUG"))
        c.debug = 1;
    size_t bytes = (sizeof(rc_heap) + RCI_PAGE - 1) & ~(RCI_PAGE - 1);
    rc_heap *h = c.pages.alloc(c.pages.ctx, bytes, RCI_PAGE);
    if (!h)
        return NULL;
    memset(h, 0, sizeof *h);
    h->magic = RCI_HEAP_MAGIC;
    h->cfg = c;
    h->self_bytes = bytes;
    h->os_bytes = bytes;
    h->book = (rct_pages){book_alloc, book_free, h};
    h->pending.items = h->pending_inline;
    h->pending.cap = RCI_PENDING_INLINE;
    h->hooks = h->cfg.debug ? RCI_HOOK_DEBUG : 0;
    if ((h->shim = find_shim()))
        h->hooks |= RCI_HOOK_SHIM;
    rci_hash_key_init(h);
    rci_alloc_init(h);
    rci_gc_init(h);
    rci_trace_init(h);
    return h;
}

void rc_heap_free(rc_heap *h)
{
    if (!h)
        return;
    rci_error_release(h); /* the runtime's exception is no leak */
    if (h->cfg.on_leak || h->cfg.debug)
        rci_leak_teardown_report(h);
    rci_quarantine_flush(h);
    rci_vec_free(h, &h->quarantine);
    rci_object_teardown(h);
    rci_trace_release(h);
    rci_gc_release(h);
    rci_vec_free(h, &h->pending);
    rci_vec_free(h, &h->type_ids);
    rci_alloc_release_all(h);
    rc_page_source pages = h->cfg.pages;
    /* a stray pointer into a page source that keeps its memory can still
       tell that this heap is gone (rci_check_object) */
    h->magic = RCI_HEAP_FREED;
    pages.free(pages.ctx, h, h->self_bytes);
}

size_t rc_heap_trim(rc_heap *h)
{
    if (h->flush_caches)
        h->flush_caches(h);
    rci_quarantine_flush(h);
    return rci_alloc_trim(h);
}

int rc_heap_validate(const rc_heap *h)
{
    if (rci_alloc_validate(h) != 0)
        return -1;
    return rci_object_validate(h);
}
