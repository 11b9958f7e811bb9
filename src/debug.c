/*
 * debug.c — the checking layer of a debug heap (rc_config.debug).
 *
 * Wraps every raw block:   [ header 16 ][ n user bytes ][ guard to block end ]
 * The header holds the requested size and a live mark; fresh user bytes are
 * filled with 0xCD, the guard (at least 16 bytes) with 0xFB, a freed block
 * with a tag and 0xDD.  Free checks that the pointer is a live block of this heap,
 * that it is not already free, and that both ends are intact; allocation
 * checks that a reused block's poison was not written after it was freed.
 * Any violation stops the program with a message naming the address and
 * its size class.  Costs a walk of the heap's arenas per free: for tests.
 *
 * Objects get the same care.  A freed object's block waits in a quarantine
 * (a ring of the last RCI_QUARANTINE frees) before its pool may reuse it:
 * its header is stamped freed (RCI_FREED_COUNT, RCI_F_FREE), so a stray
 * decref meets a freed object instead of the live one that would otherwise
 * have taken its slot; its payload is filled with 0xDD and poisoned for
 * AddressSanitizer and valgrind, so a read through a stale pointer is
 * reported where it happens; and when the block leaves the quarantine the
 * fill must be intact (a write after free).  The misuse reports below name
 * the object, its type and, while the heap traces, where it was allocated;
 * rci_check_object tells a stray pointer from an object without trusting
 * it (mincore before every read of memory it was not given).
 */
#define _DEFAULT_SOURCE /* mincore */
#include "rc_internal.h"
#include "trace/trace.h"

#include <stdarg.h>
#include <sys/mman.h>
#include <unistd.h>

#if defined(__has_include)
#if __has_include(<valgrind/memcheck.h>)
#include <valgrind/memcheck.h>
#define RCI_VALGRIND 1
#endif
#endif
#ifndef RCI_VALGRIND
#define VALGRIND_MAKE_MEM_NOACCESS(p, n) ((void)(p), (void)(n))
#define VALGRIND_MAKE_MEM_DEFINED(p, n) ((void)(p), (void)(n))
#endif

#define RCI_QUARANTINE 4096 /* freed objects held back from reuse */

#define HDR 16u
#define GUARD 16u
#define LIVE_MARK UINT64_C(0xA110CA7EDB10CC00)
#define FRESH_BYTE 0xCD
#define GUARD_BYTE 0xFB
#define FREED_BYTE 0xDD

typedef struct debug_header {
    uint64_t size;  /* bytes the caller asked for */
    uint64_t mark;  /* LIVE_MARK while allocated */
} debug_header;
_Static_assert(sizeof(debug_header) == HDR, "header keeps user data aligned");

static size_t class_of_block(const void *b)
{
    return rci_block_size(b);
}

/* A block freed by this layer holds, after the allocator's free mark and
   link, a tag naming its address and size, then 0xDD to its end.  When the
   same block is handed out again, all of that must be intact.  (Memory that
   held other blocks or none carries no matching tag and is not checked.) */
static uint64_t freed_tag(const unsigned char *b, size_t bytes)
{
    return UINT64_C(0xF4EEDB10C0000000) ^ (uint64_t)(uintptr_t)b ^ (uint64_t)bytes;
}

static void poison_freed(unsigned char *b, size_t bytes)
{
    uint64_t tag = freed_tag(b, bytes);
    memcpy(b + RCI_LINK_BYTES, &tag, sizeof tag);
    memset(b + RCI_LINK_BYTES + 8, FREED_BYTE, bytes - RCI_LINK_BYTES - 8);
}

static void check_poison(const unsigned char *b, size_t bytes)
{
    uint64_t tag;
    memcpy(&tag, b + RCI_LINK_BYTES, sizeof tag);
    if (tag != freed_tag(b, bytes))
        return;
    for (size_t i = RCI_LINK_BYTES + 8; i < bytes; i++)
        if (b[i] != FREED_BYTE)
            rci_fatal("write after free: block %p (size class %zu bytes) was "
                      "changed at offset %zu after it was freed",
                      (const void *)(b + HDR), bytes, i - HDR);
}

void *rci_debug_alloc(rc_heap *h, size_t n)
{
    size_t total;
    if (__builtin_add_overflow(n, (size_t)(HDR + GUARD), &total))
        return NULL;
    unsigned char *b = rci_raw_alloc(h, total);
    if (!b)
        return NULL;
    size_t bytes = class_of_block(b);
    check_poison(b, bytes);
    debug_header *hd = (debug_header *)b;
    hd->size = n;
    hd->mark = LIVE_MARK;
    memset(b + HDR, FRESH_BYTE, n);
    memset(b + HDR + n, GUARD_BYTE, bytes - HDR - n);
    return b + HDR;
}

static bool in_free_list(const rci_pool *pool, const void *b)
{
    for (const void *f = pool->free; f; f = *rci_link((void *)f))
        if (f == b)
            return true;
    return false;
}

/* ", allocated in f at file:line" when the heap traces and knows the
   block's site; "" otherwise.  (Only on the way to a fatal message.) */
static const char *site_of(rc_heap *h, const void *block, char *buf, size_t cap)
{
    uint32_t stack;
    rct_symbol site;
    if (!rci_trace_site(h, block, &stack, &site) || !site.function)
        return "";
    snprintf(buf, cap, ", allocated in %s at %s:%d", site.function,
             site.file ? site.file : "?", site.line);
    return buf;
}

/* Stop unless p is the user pointer of a live block; returns its block. */
static unsigned char *checked_block(rc_heap *h, const void *p, const char *what)
{
    char site[256];
    unsigned char *b = (unsigned char *)p - HDR;
    rci_pool *pool;
    if (((uintptr_t)p & 15) != 0 || !rci_heap_owns_block(h, b, &pool))
        rci_fatal("%s(%p): not a block allocated by this heap", what, p);
    size_t bytes = class_of_block(b);
    if (*(uint64_t *)b == RCI_FREE_MARK && pool->kind == RCI_POOL_SMALL &&
        in_free_list(pool, b))
        rci_fatal("%s(%p): double free (size class %zu bytes)", what, p, bytes);
    const debug_header *hd = (const debug_header *)b;
    if (hd->mark != LIVE_MARK || hd->size > bytes - HDR)
        rci_fatal("%s(%p): header of the block (size class %zu bytes) was "
                  "overwritten: buffer underflow?%s", what, p, bytes,
                  site_of(h, b, site, sizeof site));
    for (size_t i = HDR + hd->size; i < bytes; i++)
        if (b[i] != GUARD_BYTE)
            rci_fatal("%s(%p): buffer overflow: guard byte at offset %zu past "
                      "the %zu bytes requested (size class %zu bytes) is 0x%02x%s",
                      what, p, i - HDR - (size_t)hd->size, (size_t)hd->size,
                      bytes, b[i], site_of(h, b, site, sizeof site));
    return b;
}

void rci_debug_free(rc_heap *h, void *p)
{
    unsigned char *b = checked_block(h, p, "rc_mem_free");
    poison_freed(b, class_of_block(b));
    rci_raw_free(h, b);
}

size_t rci_debug_usable(const void *p)
{
    return (size_t)((const debug_header *)((const unsigned char *)p - HDR))->size;
}

/* ---- Objects: describing them ---------------------------------------------- */

const char *rci_describe(const void *obj, char *buf)
{
    const rc_head *hd = rci_head(obj);
    const rci_pool *pool = rci_pool_of(hd);
    const char *type = rci_bin_holds_objects(pool->bin) ? rci_pool_rec(pool, hd)->type->name
                                                        : "?";
    char site[256];
    snprintf(buf, RCI_DESCRIBE, "%p (type '%s'%s%s)", obj, type,
             (hd->flags & RCI_F_FREE) ? ", freed" : "",
             site_of(rci_heap_of(obj), hd, site, sizeof site));
    return buf;
}

int rci_misuse(rc_heap *h, rc_error err, const char *fn, const void *obj, const char *what)
{
    char d[RCI_DESCRIBE];
    if (h->cfg.debug)
        rci_fatal("%s(%s): %s", fn, rci_describe(obj, d), what);
    return rc_error_setf(h, err, "%s: %s", fn, what);
}

int rci_foreign(rc_heap *h, const char *fn, const void *item)
{
    char d[RCI_DESCRIBE];
    if (h->cfg.debug)
        rci_fatal("%s: %s lives on heap %p, not on this heap %p: objects never "
                  "refer to another heap's objects", fn, rci_describe(item, d),
                  (void *)rci_heap_of(item), (void *)h);
    return rc_error_setf(h, RC_EFOREIGN, "%s: an object of another heap (%p, not %p)", fn,
                     (void *)rci_heap_of(item), (void *)h);
}

void rci_wrong_type(const void *obj, const rc_type *want, const char *fn, bool status)
{
    rc_heap *h = rci_heap_of(obj);
    bool freed = (rci_head(obj)->flags & RCI_F_FREE) != 0;
    if (h->cfg.debug && (freed || !status)) { /* stops */
        char what[96];
        snprintf(what, sizeof what, "not a live %s object", want->name);
        rci_misuse(h, RC_ETYPE, fn, obj, what);
    }
    rc_error_setf(h, RC_ETYPE, "%s: expected %s, got %s%s", fn, want->name, freed ? "a freed " : "",
              rc_typeof(obj)->name);
}

/* ---- Objects: telling a stray pointer from an object ------------------------- */

/* Are the n bytes at p mapped?  mincore fails (ENOMEM) on any hole. */
static bool mapped(const void *p, size_t n)
{
    size_t pg = (size_t)sysconf(_SC_PAGESIZE);
    uintptr_t lo = (uintptr_t)p & ~(uintptr_t)(pg - 1);
    uintptr_t hi = ((uintptr_t)p + n + pg - 1) & ~(uintptr_t)(pg - 1);
    unsigned char vec[64];
    if (lo == 0 || (hi - lo) / pg > sizeof vec)
        return false;
    return mincore((void *)lo, hi - lo, vec) == 0;
}

rc_heap *rci_check_object(const void *obj, const char *fn)
{
    const rci_arena *a = rci_arena_of(rci_head(obj));
    if (((uintptr_t)obj & 7) != 0 || !mapped(a, RCI_HUGE_OFFSET) ||
        !mapped(a->heap, sizeof *a->heap))
        rci_fatal("%s(%p): not an object (no rcgc heap at this address)", fn, obj);
    return rci_check_live(a->heap, obj, fn);
}

rc_heap *rci_check_live(rc_heap *h, const void *obj, const char *fn)
{
    const rc_head *hd = rci_head(obj);
    char d[RCI_DESCRIBE];
    if (h->magic != RCI_HEAP_MAGIC && h->magic != RCI_HEAP_FREED)
        rci_fatal("%s(%p): not an object (no rcgc heap at this address)", fn, obj);
    if (h->magic == RCI_HEAP_FREED)
        rci_fatal("%s(%p): its heap %p was freed (rc_heap_free)", fn, obj, (void *)h);
    rci_pool *pool;
    if (!rci_heap_owns_block(h, hd, &pool))
        rci_fatal("%s(%p): not an object (not the start of a block of heap %p)", fn,
                  obj, (void *)h);
    if (!rci_bin_holds_objects(pool->bin))
        rci_fatal("%s(%p): not an object (a raw block of heap %p: rc_mem_alloc)", fn,
                  obj, (void *)h);
    if (hd->flags & RCI_F_FREE)
        rci_fatal("%s(%s): the object was already freed (one decref too many, or "
                  "a use after free)", fn, rci_describe(obj, d));
    return h;
}

/* ---- Objects: the quarantine -------------------------------------------------- */

static void stamp_freed(rc_head *hd, size_t payload)
{
    hd->refcnt = RCI_FREED_COUNT;
    hd->flags = RCI_F_FREE;
    memset(hd + 1, FREED_BYTE, payload);
    rci_poison(hd + 1, payload);
    VALGRIND_MAKE_MEM_NOACCESS(hd + 1, payload);
}

/* Free a held block for good, after checking it was left alone. */
static void release_held(rc_heap *h, rc_head *hd)
{
    size_t payload = rci_block_size(hd) - sizeof *hd;
    const unsigned char *b = (const unsigned char *)(hd + 1);
    VALGRIND_MAKE_MEM_DEFINED(b, payload);
    rci_unpoison(b, payload);
    for (size_t i = 0; i < payload; i++)
        if (b[i] != FREED_BYTE) {
            char d[RCI_DESCRIBE];
            rci_fatal("write after free: object %s was changed at offset %zu "
                      "after it was freed", rci_describe(rci_obj(hd), d), i);
        }
    rci_block_free(h, hd);
}

bool rci_quarantine_push(rc_heap *h, rc_head *hd)
{
    rci_vec *q = &h->quarantine;
    if (rci_pool_of(hd)->kind != RCI_POOL_SMALL ||
        (!q->cap && !rci_vec_reserve(h, q, RCI_QUARANTINE)))
        return false; /* big blocks go back at once: they are pages */
    stamp_freed(hd, rci_block_size(hd) - sizeof *hd);
    if (q->len < q->cap) {
        q->items[q->len++] = hd;
        return true;
    }
    release_held(h, q->items[h->quarantine_next]);
    q->items[h->quarantine_next] = hd;
    h->quarantine_next = (h->quarantine_next + 1) % q->cap;
    return true;
}

void rci_quarantine_flush(rc_heap *h)
{
    rci_vec *q = &h->quarantine;
    for (size_t i = 0; i < q->len; i++)
        release_held(h, q->items[i]);
    q->len = 0;
    h->quarantine_next = 0;
}

/* rc_alloc_stats_get: held blocks are freed objects, not live blocks. */
void rci_quarantine_uncount(const rc_heap *h, rc_alloc_stats *s)
{
    const rci_vec *q = &h->quarantine;
    for (size_t i = 0; i < q->len; i++) {
        const rci_pool *p = rci_pool_of(q->items[i]);
        s->classes[p->cls].blocks_used--;
        s->classes[p->cls].blocks_free++;
        s->small_blocks--;
        s->small_bytes -= p->block_size;
    }
}
