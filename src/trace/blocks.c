/*
 * blocks.c — the table of live traced blocks: address -> (stack, size).
 *
 * Open addressing with linear probing.  An entry packs into 12 bytes: the
 * address divided by 16 (44 bits: addresses are 16-byte aligned and below
 * 2^48), the size (20 bits; larger sizes go to a side rct_ptrmap keyed by
 * address), and the stack id.
 *
 * A block taken out leaves its entry behind, marked dead (its stack
 * RCT_NO_STACK, never an id), address kept: an allocator hands a freed
 * block out again soon, and that block's put finds its own entry on its
 * probe, and takes it back.  Taking a block is a probe
 * and a store, no entries moved (backward-shift deletion cost more than
 * the probe: a third of the instructions of a traced allocation and its
 * free).  A put of the slow path that meets a dead entry of another
 * address on its way to an empty slot puts itself there (the fast path,
 * inline in trace.h, goes on to the empty slot).  Live and dead entries together are
 * kept at most 3/4 of the slots: past that the table is made again
 * without the dead, twice as large when more than half of it is live,
 * so a table that churns through addresses does not fill up (each
 * remake is paid by the quarter of the slots that filled since the last).
 * 16 to 32 bytes per traced block, as without the dead.
 *
 * The fast paths of put and take (trace.h) are the probe alone, inline in
 * the caller: the rest (a remake, a size in the side table, a put that
 * changes a live block's size, bad input) is here, out of line.
 */
#include "trace.h"

#include <string.h>

#define SIZE_BIG RCT_BLOCK_SIZE_BIG
#define KEY_BITS RCT_BLOCK_KEY_BITS

typedef rct_block_entry entry;
_Static_assert(sizeof(entry) == 12, "entries pack into 12 bytes");

#define LIKELY(x) __builtin_expect(!!(x), 1)
#define UNLIKELY(x) __builtin_expect(!!(x), 0)
#define NOINLINE __attribute__((noinline))
#define DEAD RCT_NO_STACK /* the stack of an entry taken out */

static size_t round_pages(size_t bytes)
{
    return (bytes + 4095) & ~(size_t)4095;
}

static size_t slots_of(const rct_blocks *b)
{
    return b->slots ? b->mask + 1 : 0;
}

static uint64_t key_of(const entry *e)
{
    return e->key_lo | ((uint64_t)(e->key_hi & 0xFFF) << 32);
}

static uint32_t size_of(const entry *e)
{
    return e->key_hi >> 12;
}

static bool is_empty(const entry *e)
{
    return !(e->key_lo | e->key_hi);
}

rct_blocks *rct_blocks_new(const rct_pages *pages)
{
    size_t bytes = round_pages(sizeof(rct_blocks));
    rct_blocks *b = pages->alloc(pages->ctx, bytes);
    if (!b)
        return NULL;
    memset(b, 0, sizeof *b);
    b->pages = *pages;
    b->self_bytes = bytes;
    return b;
}

void rct_blocks_free(rct_blocks *b)
{
    if (!b)
        return;
    rct_pages pg = b->pages;
    if (b->slots)
        pg.free(pg.ctx, b->slots, round_pages(slots_of(b) * sizeof *b->slots));
    rct_ptrmap_free(&b->big, &pg);
    pg.free(pg.ctx, b, b->self_bytes);
}

/* ---- The main table ----------------------------------------------------------
 * Nothing is ever moved but by a remake, so every address's entry, live or
 * dead, lies between its home and the first empty slot after it: one probe
 * answers both "where is it" and "where does it go". */

/* The key's entry (live or dead), else the empty slot ending its run;
   *dead: the first dead entry of another key on the way, or NULL. */
static entry *probe(const rct_blocks *b, uint64_t key, entry **dead)
{
    size_t mask = b->mask;
    *dead = NULL;
    for (size_t i = rct_blocks_home(b, key);; i = (i + 1) & mask) {
        entry *e = &b->slots[i];
        if (is_empty(e) || key_of(e) == key)
            return e;
        if (e->stack == DEAD && !*dead)
            *dead = e;
    }
}

/* The live entry of key, or NULL. */
static entry *find(const rct_blocks *b, uint64_t key)
{
    if (!b->mask)
        return NULL;
    entry *dead, *e = probe(b, key, &dead);
    return is_empty(e) || e->stack == DEAD ? NULL : e;
}

/* Room for one more entry: the table made again with its live entries
   only (see the top).  Out of line, as the other slow parts of a put and
   a take: rare, and inlined they cost every call a bigger frame. */
static NOINLINE bool make_room(rct_blocks *b)
{
    size_t old_cap = slots_of(b);
    size_t cap = !old_cap ? 4096 : (b->len + 1) * 2 > old_cap ? old_cap * 2 : old_cap;
    entry *t = b->pages.alloc(b->pages.ctx, round_pages(cap * sizeof *t));
    if (!t)
        return false;
    memset(t, 0, cap * sizeof *t);
    entry *old = b->slots;
    b->slots = t;
    b->mask = cap - 1;
    b->shift = (unsigned)__builtin_clzll((unsigned long long)cap) + 1;
    b->room = cap / 4 * 3;
    b->used = b->len;
    entry *dead;
    for (size_t i = 0; i < old_cap; i++)
        if (!is_empty(&old[i]) && old[i].stack != DEAD)
            *probe(b, key_of(&old[i]), &dead) = old[i];
    if (old)
        b->pages.free(b->pages.ctx, old, round_pages(old_cap * sizeof *t));
    return true;
}

static size_t entry_size(const rct_blocks *b, const entry *e, uint64_t key)
{
    uint32_t s = size_of(e);
    return s == SIZE_BIG ? (size_t)*rct_ptrmap_find(&b->big, (uintptr_t)key) : s;
}

/* key's size in the side table: set (size SIZE_BIG or more), else its old
   one dropped. */
static NOINLINE bool big_put(rct_blocks *b, uint64_t key, size_t size)
{
    if (size < SIZE_BIG) {
        rct_ptrmap_remove(&b->big, rct_ptrmap_find(&b->big, (uintptr_t)key));
        return true;
    }
    uintptr_t *v = rct_ptrmap_insert(&b->big, (uintptr_t)key, &b->pages);
    if (v)
        *v = size;
    return v != NULL;
}

/* key's size from the side table, dropped there. */
static NOINLINE size_t big_take(rct_blocks *b, uint64_t key)
{
    uintptr_t *v = rct_ptrmap_find(&b->big, (uintptr_t)key);
    size_t size = *v;
    rct_ptrmap_remove(&b->big, v);
    return size;
}

/* A put the fast path (trace.h) does not take. */
int rct_blocks_put_slow(rct_blocks *b, uint64_t key, uint32_t stack, size_t size)
{
    if (!key || key >> KEY_BITS || stack == DEAD)
        return -1;
    /* made again before probing (live and dead at most 3/4 of the slots),
       so the probe's slot stays put */
    if (UNLIKELY(b->used >= b->room) && !make_room(b))
        return -1;
    entry *dead, *e = probe(b, key, &dead);
    bool fresh = is_empty(e) || e->stack == DEAD;
    uint32_t packed = size < SIZE_BIG ? (uint32_t)size : SIZE_BIG;
    if (UNLIKELY(packed == SIZE_BIG || (!fresh && size_of(e) == SIZE_BIG)) &&
        !big_put(b, key, size))
        return -1;
    if (is_empty(e) && dead) /* a dead entry of another on the way: reused */
        e = dead;
    b->used += is_empty(e);
    *e = (entry){(uint32_t)key, (uint32_t)(key >> 32) | (packed << 12), stack};
    b->len += fresh;
    return 0;
}

bool rct_blocks_find(const rct_blocks *b, uintptr_t addr, uint32_t *stack, size_t *size)
{
    uint64_t key = (uint64_t)addr >> 4;
    const entry *e = find(b, key);
    if (!e)
        return false;
    *stack = e->stack;
    *size = entry_size(b, e, key);
    return true;
}

/* A take the fast path (trace.h) does not take. */
bool rct_blocks_take_slow(rct_blocks *b, uint64_t key, uint32_t *stack, size_t *size)
{
    entry *e = find(b, key);
    if (!e)
        return false;
    *stack = e->stack;
    uint32_t packed = size_of(e);
    *size = LIKELY(packed != SIZE_BIG) ? packed : big_take(b, key);
    e->stack = DEAD;
    b->len--;
    return true;
}

void rct_blocks_foreach(const rct_blocks *b, rct_block_fn fn, void *ctx)
{
    for (size_t i = 0; i < slots_of(b); i++) {
        const entry *e = &b->slots[i];
        if (is_empty(e) || e->stack == DEAD)
            continue;
        uint64_t key = key_of(e);
        fn((uintptr_t)(key << 4), e->stack, entry_size(b, e, key), ctx);
    }
}

size_t rct_blocks_count(const rct_blocks *b)
{
    return b->len;
}

size_t rct_blocks_bytes(const rct_blocks *b)
{
    return b->self_bytes + round_pages(slots_of(b) * sizeof *b->slots) +
           b->big.cap * 2 * sizeof(uintptr_t);
}
