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
 */
#include "rc_internal.h"
#include "trace/trace.h"

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
