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
 * block out again soon, and that block's put finds its own entry where
 * the probe for it starts, and takes it back.  Taking a block is a probe
 * and a store, no entries moved (backward-shift deletion cost more than
 * the probe: a third of the instructions of a traced allocation and its
 * free).  A put that meets a dead entry of another address on its way to
 * an empty slot puts itself there.  Live and dead entries together are
 * kept at most 3/4 of the slots: past that the table is made again
 * without the dead, twice as large when more than half of it is live,
 * so a table that churns through addresses does not fill up (each
 * remake is paid by the quarter of the slots that filled since the last).
 * 16 to 32 bytes per traced block, as without the dead.
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

#define LIKELY(x) __builtin_expect(!!(x), 1)
#define UNLIKELY(x) __builtin_expect(!!(x), 0)
#define NOINLINE __attribute__((noinline))
#define DEAD RCT_NO_STACK /* the stack of an entry taken out */

struct rct_blocks {
    rct_pages pages;
    entry *slots;
    size_t cap, len;       /* cap: power of two, or 0; len: live entries */
    size_t dead;           /* dead entries */
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
 * Nothing is ever moved but by a remake, so every address's entry, live or
 * dead, lies between its home and the first empty slot after it: one probe
 * answers both "where is it" and "where does it go". */

/* The key's entry (live or dead), else the empty slot ending its run;
   *dead: the first dead entry of another key on the way, or NULL. */
static entry *probe(const rct_blocks *b, uint64_t key, entry **dead)
{
    size_t mask = b->cap - 1;
    *dead = NULL;
    for (size_t i = home(key, b->shift);; i = (i + 1) & mask) {
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
    if (!b->cap)
        return NULL;
    entry *dead, *e = probe(b, key, &dead);
    return is_empty(e) || e->stack == DEAD ? NULL : e;
}

/* Room for one more entry: the table made again with its live entries
   only (see the top).  Out of line, as the other slow parts of a put and
   a take: rare, and inlined they cost every call a bigger frame. */
static NOINLINE bool make_room(rct_blocks *b)
{
    size_t cap = !b->cap ? 4096 : (b->len + 1) * 2 > b->cap ? b->cap * 2 : b->cap;
    entry *t = b->pages.alloc(b->pages.ctx, round_pages(cap * sizeof *t));
    if (!t)
        return false;
    memset(t, 0, cap * sizeof *t);
    rct_blocks old = *b;
    b->slots = t;
    b->cap = cap;
    b->shift = (unsigned)__builtin_clzll((unsigned long long)cap) + 1;
    b->dead = 0;
    entry *dead;
    for (size_t i = 0; i < old.cap; i++)
        if (!is_empty(&old.slots[i]) && old.slots[i].stack != DEAD)
            *probe(b, key_of(&old.slots[i]), &dead) = old.slots[i];
    if (old.slots)
        b->pages.free(b->pages.ctx, old.slots, round_pages(old.cap * sizeof *t));
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

/* A put the fast path of rct_blocks_put does not take. */
static NOINLINE int put_slow(rct_blocks *b, uint64_t key, uint32_t stack, size_t size)
{
    if (!key || key >> KEY_BITS || stack == DEAD)
        return -1;
    /* made again before probing (live and dead at most 3/4 of the slots),
       so the probe's slot stays put */
    if (UNLIKELY((b->len + b->dead + 1) * 4 > b->cap * 3) && !make_room(b))
        return -1;
    entry *dead, *e = probe(b, key, &dead);
    bool fresh = is_empty(e) || e->stack == DEAD;
    uint32_t packed = size < SIZE_BIG ? (uint32_t)size : SIZE_BIG;
    if (UNLIKELY(packed == SIZE_BIG || (!fresh && size_of(e) == SIZE_BIG)) &&
        !big_put(b, key, size))
        return -1;
    if (is_empty(e) && dead) /* a dead entry of another on the way: reused */
        e = dead;
    b->dead -= fresh && !is_empty(e);
    *e = (entry){(uint32_t)key, (uint32_t)(key >> 32) | (packed << 12), stack};
    b->len += fresh;
    return 0;
}

/* The entry where key's probe starts. */
static entry *home_entry(const rct_blocks *b, uint64_t key)
{
    return &b->slots[home(key, b->shift)];
}

/* The fast path: the block's own entry (a block freed and handed out
   again), or an empty slot, where its probe starts, with room in the
   table and a small size on both sides (the entry of a missing table is
   never reached: cap 0 has no room).  A call with no frame to set up. */
int rct_blocks_put(rct_blocks *b, uintptr_t addr, uint32_t stack, size_t size)
{
    uint64_t key = (uint64_t)addr >> 4;
    if (LIKELY((b->len + b->dead + 1) * 4 <= b->cap * 3 && size < SIZE_BIG && stack != DEAD &&
               !(key >> KEY_BITS) && key)) {
        entry *e = home_entry(b, key);
        if (is_empty(e) || (key_of(e) == key && e->stack == DEAD)) {
            b->dead -= !is_empty(e);
            b->len++;
            *e = (entry){(uint32_t)key, (uint32_t)(key >> 32) | ((uint32_t)size << 12), stack};
            return 0;
        }
    }
    return put_slow(b, key, stack, size);
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

/* A take the fast path of rct_blocks_take does not take. */
static NOINLINE bool take_slow(rct_blocks *b, uint64_t key, uint32_t *stack, size_t *size)
{
    entry *e = find(b, key);
    if (!e)
        return false;
    *stack = e->stack;
    uint32_t packed = size_of(e);
    *size = LIKELY(packed != SIZE_BIG) ? packed : big_take(b, key);
    e->stack = DEAD;
    b->len--;
    b->dead++;
    return true;
}

/* The fast path: a live entry of a small size where its probe starts. */
bool rct_blocks_take(rct_blocks *b, uintptr_t addr, uint32_t *stack, size_t *size)
{
    uint64_t key = (uint64_t)addr >> 4;
    if (LIKELY(b->cap)) {
        entry *e = home_entry(b, key);
        if (key_of(e) == key && e->stack != DEAD && size_of(e) != SIZE_BIG && key) {
            *stack = e->stack;
            *size = size_of(e);
            e->stack = DEAD;
            b->len--;
            b->dead++;
            return true;
        }
    }
    return take_slow(b, key, stack, size);
}

void rct_blocks_foreach(const rct_blocks *b, rct_block_fn fn, void *ctx)
{
    for (size_t i = 0; i < b->cap; i++) {
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
    return b->self_bytes + round_pages(b->cap * sizeof *b->slots) +
           b->big.cap * 2 * sizeof(uintptr_t);
}
