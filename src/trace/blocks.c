/*
 * blocks.c — the table of live traced blocks: address -> (stack, size).
 *
 * Open addressing with linear probing and backward-shift deletion (no
 * tombstones, so a table that churns does not fill up).  An entry packs
 * into 12 bytes: the address divided by 16 (44 bits: addresses are 16-byte
 * aligned and below 2^48), the size (20 bits; larger sizes go to a side
 * rct_ptrmap keyed by address), and the stack id.  Kept at most 3/4 full,
 * that is 16 bytes per traced block.
 */
#include "trace.h"

#include <string.h>

#define SIZE_BITS 20
#define SIZE_BIG ((1u << SIZE_BITS) - 1) /* the size is in the side table */
#define KEY_BITS 44

typedef struct entry {
    uint32_t key_lo;   /* addr >> 4, low 32 bits */
    uint32_t key_hi;   /* addr >> 4, next 12 bits | size << 12 */
    uint32_t stack;
} entry;
_Static_assert(sizeof(entry) == 12, "entries pack into 12 bytes");

struct rct_blocks {
    rct_pages pages;
    entry *slots;
    size_t cap, len;       /* cap: power of two, or 0 */
    unsigned shift;        /* 64 - log2(cap): a key's home is its hash's top bits */
    rct_ptrmap big;        /* addr >> 4 -> size, for sizes of SIZE_BIG and up */
    size_t self_bytes;
};

static size_t round_pages(size_t bytes)
{
    return (bytes + 4095) & ~(size_t)4095;
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

/* Fibonacci hashing: the product's top bits (consecutive blocks spread). */
static size_t home(uint64_t key, unsigned shift)
{
    return (size_t)((key * UINT64_C(0x9E3779B97F4A7C15)) >> shift);
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
        pg.free(pg.ctx, b->slots, round_pages(b->cap * sizeof *b->slots));
    rct_ptrmap_free(&b->big, &pg);
    pg.free(pg.ctx, b, b->self_bytes);
}

/* ---- The main table ----------------------------------------------------------
 * Backward-shift deletion keeps every key between its home and the first
 * empty slot after it, so one probe answers both "where is it" and "where
 * does it go": the key's slot, or the empty slot that ends its run. */

static entry *probe(const rct_blocks *b, uint64_t key)
{
    size_t mask = b->cap - 1;
    for (size_t i = home(key, b->shift);; i = (i + 1) & mask) {
        entry *e = &b->slots[i];
        if (is_empty(e) || key_of(e) == key)
            return e;
    }
}

static entry *find(const rct_blocks *b, uint64_t key)
{
    if (!b->cap)
        return NULL;
    entry *e = probe(b, key);
    return is_empty(e) ? NULL : e;
}

/* Out of line: rare, and it would cost every put a bigger frame. */
static __attribute__((noinline)) bool table_grow(rct_blocks *b)
{
    size_t cap = b->cap ? b->cap * 2 : 4096;
    entry *t = b->pages.alloc(b->pages.ctx, round_pages(cap * sizeof *t));
    if (!t)
        return false;
    memset(t, 0, cap * sizeof *t);
    rct_blocks old = *b;
    b->slots = t;
    b->cap = cap;
    b->shift = (unsigned)__builtin_clzll((unsigned long long)cap) + 1;
    for (size_t i = 0; i < old.cap; i++)
        if (!is_empty(&old.slots[i]))
            *probe(b, key_of(&old.slots[i])) = old.slots[i];
    if (old.slots)
        b->pages.free(b->pages.ctx, old.slots, round_pages(old.cap * sizeof *t));
    return true;
}

static size_t entry_size(const rct_blocks *b, const entry *e, uint64_t key)
{
    uint32_t s = size_of(e);
    return s == SIZE_BIG ? (size_t)*rct_ptrmap_find(&b->big, (uintptr_t)key) : s;
}

static void remove_at(rct_blocks *b, entry *e)
{
    size_t mask = b->cap - 1, i = (size_t)(e - b->slots);
    for (size_t j = (i + 1) & mask; !is_empty(&b->slots[j]); j = (j + 1) & mask) {
        size_t h = home(key_of(&b->slots[j]), b->shift);
        if (((j - h) & mask) >= ((j - i) & mask)) { /* j's home is not in (i, j] */
            b->slots[i] = b->slots[j];
            i = j;
        }
    }
    memset(&b->slots[i], 0, sizeof b->slots[i]);
    b->len--;
}

int rct_blocks_put(rct_blocks *b, uintptr_t addr, uint32_t stack, size_t size)
{
    uint64_t key = (uint64_t)addr >> 4;
    if (!key || key >> KEY_BITS)
        return -1;
    /* grown before probing (at most 3/4 full), so the probe's slot stays put */
    if ((b->len + 1) * 4 > b->cap * 3 && !table_grow(b))
        return -1;
    entry *e = probe(b, key);
    bool fresh = is_empty(e);
    uint32_t packed = size < SIZE_BIG ? (uint32_t)size : SIZE_BIG;
    if (packed == SIZE_BIG) {
        uintptr_t *v = rct_ptrmap_insert(&b->big, (uintptr_t)key, &b->pages);
        if (!v)
            return -1;
        *v = size;
    } else if (!fresh && size_of(e) == SIZE_BIG)
        rct_ptrmap_remove(&b->big, rct_ptrmap_find(&b->big, (uintptr_t)key));
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

bool rct_blocks_take(rct_blocks *b, uintptr_t addr, uint32_t *stack, size_t *size)
{
    uint64_t key = (uint64_t)addr >> 4;
    entry *e = find(b, key);
    if (!e)
        return false;
    *stack = e->stack;
    *size = entry_size(b, e, key);
    if (size_of(e) == SIZE_BIG)
        rct_ptrmap_remove(&b->big, rct_ptrmap_find(&b->big, (uintptr_t)key));
    remove_at(b, e);
    return true;
}

void rct_blocks_foreach(const rct_blocks *b, rct_block_fn fn, void *ctx)
{
    for (size_t i = 0; i < b->cap; i++) {
        const entry *e = &b->slots[i];
        if (is_empty(e))
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
    return b->self_bytes + round_pages(b->cap * sizeof *b->slots) +
           b->big.cap * 2 * sizeof(uintptr_t);
}
