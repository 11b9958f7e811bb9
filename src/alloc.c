/*
 * alloc.c — the small-object allocator: size classes, pools, arenas, page
 * runs and huge blocks.  Python's obmalloc, rearranged so memory can go back.
 *
 * Calls only page.c.  Everything above (objects, types, tracing) gets its
 * memory from here.
 *
 *   arena (1 MiB, aligned)                       huge block (own mapping)
 *   +--------+------+------+------+---     ---+  +--------+-------------+
 *   | header | pool | pool | run  |   ...     |  | header | the block   |
 *   +--------+------+------+------+---     ---+  +--------+-------------+
 *    page 0, then 4 KiB pages handed out one run at a time
 *
 * - A block's arena is its address rounded down to 1 MiB, so free needs no
 *   lookup: arena header -> head_of[page] -> pool slot.  The pool knows
 *   the block size; small blocks carry no header at all.
 * - A pool is 16..32 pages of one size class (rci_class_pages: at least
 *   64 KiB, at least 8 blocks, wasting at most 1/16).  Measured: with 4 KiB
 *   pools a 256 B class holds 16 blocks and a busy heap spends most frees
 *   moving full pools back into their bin; 64 KiB pools make that rare.
 *   Pools are carved lazily, one page of blocks at a time, so memory is
 *   touched only when a block on it is handed out.
 * - Requests above RC_SMALL_MAX take a run of whole pages in an arena (a
 *   LARGE pool of one block); above RCI_LARGE_MAX they get their own mapping
 *   whose first page imitates an arena header (HUGE).
 * - Pool states: a bin lists its pools that have room (avail); a pool that
 *   fills up is unlinked the next time allocation finds it full; a free into
 *   a full pool queues it at the back, so the pool in use keeps serving and
 *   the queued one gathers free blocks before allocation returns to it
 *   (queued in front, every such free cost a slow free and, one allocation
 *   later, a slow unlink: 18% of frees in bench (1)); a pool whose last
 *   block is freed gives its pages back to the arena, unless it is the
 *   bin's only pool with room (a bin keeps one pool, so alloc/free at a
 *   pool boundary does not thrash).
 * - Arenas are bucketed by their number of free pages.  A new pool goes to
 *   the arena with the fewest free pages that can hold it, so the emptiest
 *   arenas drain.
 * - Freed pages stay committed ("dirty"), and new pools prefer them, which
 *   are already resident.  What goes back to the OS, and when, is the
 *   "Purging" section's: dirty pages beyond cfg.purge_bytes that a whole
 *   window of cfg.purge_delay_ms did not need (empty arenas beyond
 *   cfg.retain_bytes unmapped first, then runs purged with madvise).  A
 *   heap that empties and refills keeps its pages (bench_alloc's bulk
 *   rounds faulted 7,800 pages a round when every free purged at once).
 */
#define _DEFAULT_SOURCE /* CLOCK_MONOTONIC_COARSE */
#include "rc_internal.h"
#include <time.h>

/* By 8 B up to 128 B (an object's 8-byte header and a 16-byte payload take
   24 B, not 32), by 16 B up to 256 B, then 4 classes per doubling.  Raw
   blocks (16-byte aligned) use only the classes that are multiples of 16:
   rci_raw_class. */
const uint32_t rci_class_size[RC_SIZE_CLASSES] = {
    16,   24,   32,   40,   48,   56,   64,   72,   80,   88,   96,   104,
    112,  120,  128,  144,  160,  176,  192,  208,  224,  240,  256,  320,
    384,  448,  512,  640,  768,  896,  1024, 1280, 1536, 1792, 2048, 2560,
    3072, 3584, 4096, 5120, 6144, 7168, 8192, 10240, 12288, 14336, 16384};

const uint8_t rci_class_pages[RC_SIZE_CLASSES] = {
    16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16,
    16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16,
    16, 16, 16, 20, 24, 28, 32};

_Static_assert(RCI_USABLE_PAGES >= 64, "the largest pool fits an arena twice");
_Static_assert(RCI_POOL_MIN_PAGES <= 16, "no class's pool is shorter (rci_pool_at)");
_Static_assert(RCI_ARENA_PAGES <= 256, "rci_pool.first holds a page number in a byte");
_Static_assert((uint64_t)32 * RCI_PAGE * RC_SMALL_MAX < ((uint64_t)1 << 32),
               "a shared pool's block index by reciprocal (rci_pool.recip) is exact");

/* ---- Page maps ----------------------------------------------------------- */

static bool map_test(const uint64_t *map, size_t i)
{
    return (map[i >> 6] >> (i & 63)) & 1u;
}

static void map_set(uint64_t *map, size_t i, size_t n, bool on)
{
    for (size_t j = i; j < i + n; j++) {
        uint64_t bit = (uint64_t)1 << (j & 63);
        if (on)
            map[j >> 6] |= bit;
        else
            map[j >> 6] &= ~bit;
    }
}

static size_t map_count(const uint64_t *map, size_t i, size_t n)
{
    size_t c = 0;
    for (size_t j = i; j < i + n; j++)
        c += map_test(map, j);
    return c;
}

/* First run of n free pages; a single page prefers a dirty (resident) one.
   Returns RCI_ARENA_PAGES when there is none. */
static size_t find_run(const rci_arena *a, size_t n)
{
    if (n == 1) {
        for (size_t w = 0; w < RCI_MAP_WORDS; w++)
            if (a->dirty_map[w])
                return w * 64 + (size_t)__builtin_ctzll(a->dirty_map[w]);
    }
    size_t run = 0;
    for (size_t i = RCI_HEADER_PAGES; i < RCI_ARENA_PAGES; i++) {
        run = map_test(a->used_map, i) ? 0 : run + 1;
        if (run == n)
            return i + 1 - n;
    }
    return RCI_ARENA_PAGES;
}

/* ---- Arena buckets ------------------------------------------------------- */

static void bucket_unlink(rc_heap *h, rci_arena *a)
{
    if (a->prev)
        a->prev->next = a->next;
    else
        h->bucket[a->bucket] = a->next;
    if (a->next)
        a->next->prev = a->prev;
    if (!h->bucket[a->bucket])
        h->bucket_map[a->bucket >> 6] &= ~((uint64_t)1 << (a->bucket & 63));
}

static void bucket_link(rc_heap *h, rci_arena *a)
{
    a->bucket = a->nfree;
    a->prev = NULL;
    a->next = h->bucket[a->bucket];
    if (a->next)
        a->next->prev = a;
    h->bucket[a->bucket] = a;
    h->bucket_map[a->bucket >> 6] |= (uint64_t)1 << (a->bucket & 63);
}

/* Lowest nonempty bucket index >= from, or RCI_BUCKETS. */
static size_t next_bucket(const rc_heap *h, size_t from)
{
    for (size_t w = from >> 6; w < (RCI_BUCKETS + 63) / 64; w++) {
        uint64_t bits = h->bucket_map[w];
        if (w == from >> 6)
            bits &= ~(uint64_t)0 << (from & 63);
        if (bits)
            return w * 64 + (size_t)__builtin_ctzll(bits);
    }
    return RCI_BUCKETS;
}

/* ---- Arenas -------------------------------------------------------------- */

/* Empty arenas are the ones in the last bucket; they are kept mapped up to
   cfg.retain_bytes (at least one, to avoid map/unmap thrash). */
static size_t spare_bytes(const rc_heap *h)
{
    size_t n = 0;
    for (const rci_arena *a = h->bucket[RCI_USABLE_PAGES]; a; a = a->next)
        n += RCI_ARENA;
    return n;
}

/* spare_bytes(h) > cfg.retain_bytes, walking no further than it must: the
   purge tick asks on slow paths, after a free-all with many empty arenas. */
static bool spare_over_retain(const rc_heap *h)
{
    size_t n = 0;
    for (const rci_arena *a = h->bucket[RCI_USABLE_PAGES]; a; a = a->next)
        if ((n += RCI_ARENA) > h->cfg.retain_bytes)
            return true;
    return false;
}

static rci_arena *arena_new(rc_heap *h)
{
    rci_arena *a = rci_page_alloc(h, RCI_ARENA, RCI_ARENA);
    if (!a)
        return NULL;
    /* Only the fixed part is written: pool descriptors are written when
       their pages are handed out. */
    memset(a, 0, offsetof(rci_arena, head_of));
    a->heap = h;
    a->map_bytes = RCI_ARENA;
    a->nfree = (uint32_t)RCI_USABLE_PAGES;
    map_set(a->used_map, 0, RCI_HEADER_PAGES, true);
    bucket_link(h, a);
    a->all_next = h->arenas;
    if (a->all_next)
        a->all_next->all_prev = a;
    h->arenas = a;
    return a;
}

static void arena_unmap(rc_heap *h, rci_arena *a)
{
    bucket_unlink(h, a);
    if (a->all_prev)
        a->all_prev->all_next = a->all_next;
    else
        h->arenas = a->all_next;
    if (a->all_next)
        a->all_next->all_prev = a->all_prev;
    h->dirty_pages -= a->ndirty;
    rci_unpoison(a, RCI_ARENA); /* the range may be mapped again */
    rci_page_free(h, a, RCI_ARENA);
}

/* Purge up to budget of a's dirty pages, in runs; returns how many. */
static size_t purge_arena(rc_heap *h, rci_arena *a, size_t budget)
{
    size_t done = 0, i = 0;
    while (i < RCI_ARENA_PAGES && a->ndirty && done < budget) {
        if (!map_test(a->dirty_map, i)) {
            i++;
            continue;
        }
        size_t j = i;
        while (j < RCI_ARENA_PAGES && map_test(a->dirty_map, j) && done + (j - i) < budget)
            j++;
        rci_page_purge(h, (char *)a + i * RCI_PAGE, (j - i) * RCI_PAGE);
        map_set(a->dirty_map, i, j - i, false);
        h->dirty_pages -= j - i;
        a->ndirty -= (uint32_t)(j - i);
        done += j - i;
        i = j;
    }
    return done;
}

static void purge_all(rc_heap *h)
{
    for (rci_arena *a = h->arenas; a; a = a->all_next)
        purge_arena(h, a, SIZE_MAX);
}

/* ---- Purging -------------------------------------------------------------
 * Time is divided into windows of cfg.purge_delay_ms, counted from the
 * moment more than cfg.purge_bytes of pages are dirty.  The fewest dirty
 * pages seen during a window (dirty_low) were not needed in it, so at its
 * end that many, less purge_bytes, go back to the OS: empty arenas beyond
 * cfg.retain_bytes are unmapped first, then dirty runs purged.  Pages freed
 * and taken again within a window (fill and free rounds, a peak that
 * repeats) stay resident; pages idle for one to two windows go back.  The
 * clock is read on slow paths only: pages given or taken, and every
 * RCI_TICK_EVERY-th allocation.  A window that ended with no tick at all
 * for a further whole delay saw no change, so all of its dirty pages were
 * idle.  A negative delay purges at once (the behaviour before windows). */

static uint64_t clock_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &t);
    return (uint64_t)t.tv_sec * 1000u + (uint64_t)t.tv_nsec / 1000000u;
}

/* Unmap the empty arenas beyond retain_bytes whose dirty pages fit in
   *budget (purged ones cost only address space: always). */
static void unmap_spare_arenas(rc_heap *h, size_t *budget)
{
    size_t spare = spare_bytes(h);
    for (rci_arena *a = h->bucket[RCI_USABLE_PAGES], *next; a && spare > h->cfg.retain_bytes;
         a = next) {
        next = a->next;
        if (a->ndirty > *budget)
            continue;
        *budget -= a->ndirty;
        spare -= RCI_ARENA;
        arena_unmap(h, a);
    }
}

/* Purge dirty runs, emptiest arenas first (bucket order), up to budget pages. */
static void purge_pages(rc_heap *h, size_t budget)
{
    for (size_t b = RCI_BUCKETS; b-- > 0 && budget;)
        for (rci_arena *a = h->bucket[b]; a && budget; a = a->next)
            budget -= purge_arena(h, a, budget);
}

static void purge_window_start(rc_heap *h, uint64_t now)
{
    h->purge_at_ms = now + (uint64_t)h->cfg.purge_delay_ms;
    h->dirty_low = h->dirty_pages;
}

void rci_alloc_tick(rc_heap *h)
{
    size_t keep = h->cfg.purge_bytes / RCI_PAGE;
    if (h->dirty_pages <= keep && !spare_over_retain(h)) {
        h->purge_at_ms = 0;
        return;
    }
    uint64_t now = clock_ms();
    if (!h->purge_at_ms) {
        purge_window_start(h, now);
        return;
    }
    if (now < h->purge_at_ms)
        return;
    size_t low = now >= h->purge_at_ms + (uint64_t)h->cfg.purge_delay_ms ? h->dirty_pages
                                                                         : h->dirty_low;
    size_t budget = low > keep ? low : 0;
    unmap_spare_arenas(h, &budget);
    purge_pages(h, budget);
    purge_window_start(h, now);
}

/* Every RCI_TICK_EVERY-th allocation (rci_count_alloc): count the turn's
   allocations and look at the clock. */
void rci_alloc_turn(rc_heap *h)
{
    h->allocs += RCI_TICK_EVERY;
    h->tick_left = RCI_TICK_EVERY;
    rci_alloc_tick(h);
}

/* A negative delay: unmap spare empty arenas and purge every dirty page as
   soon as more than purge_bytes of them pile up. */
static void purge_now(rc_heap *h)
{
    size_t all = SIZE_MAX;
    unmap_spare_arenas(h, &all);
    if (h->dirty_pages * RCI_PAGE > h->cfg.purge_bytes)
        purge_all(h);
}

/* Hand pages [first, first+n) of a to a pool. */
static void pages_take(rc_heap *h, rci_arena *a, size_t first, size_t n)
{
    map_set(a->used_map, first, n, true);
    size_t was_dirty = map_count(a->dirty_map, first, n);
    h->dirty_pages -= was_dirty;
    if (h->dirty_pages < h->dirty_low)
        h->dirty_low = h->dirty_pages;
    a->ndirty -= (uint32_t)was_dirty;
    map_set(a->dirty_map, first, n, false);
    memset(&a->head_of[first], (int)(first / RCI_POOL_MIN_PAGES), n);
    bucket_unlink(h, a);
    a->nfree -= (uint32_t)n;
    bucket_link(h, a);
}

/* Take back a pool's pages; they stay resident until a purge. */
static void pages_give(rc_heap *h, rci_pool *pool)
{
    rci_arena *a = rci_arena_of(pool);
    size_t first = pool->first, n = pool->npages;
    rci_unpoison((char *)a + first * RCI_PAGE, n * RCI_PAGE);
    pool->kind = RCI_POOL_FREE;
    map_set(a->used_map, first, n, false);
    map_set(a->dirty_map, first, n, true);
    h->dirty_pages += n;
    a->ndirty += (uint32_t)n;
    bucket_unlink(h, a);
    a->nfree += (uint32_t)n;
    bucket_link(h, a);
    if (h->cfg.purge_delay_ms < 0)
        purge_now(h);
    else
        rci_alloc_tick(h);
}

/* A run of n pages from the fullest arena that has one; NULL on failure. */
static rci_pool *pages_alloc(rc_heap *h, size_t n, uint8_t kind)
{
    if (h->cfg.purge_delay_ms > 0)
        rci_alloc_tick(h);
    rci_arena *a = NULL;
    size_t first = RCI_ARENA_PAGES;
    for (size_t b = next_bucket(h, n); b < RCI_BUCKETS && !a; b = next_bucket(h, b + 1))
        for (rci_arena *c = h->bucket[b]; c; c = c->next)
            if ((first = find_run(c, n)) < RCI_ARENA_PAGES) {
                a = c;
                break;
            }
    if (!a) {
        a = arena_new(h);
        if (!a)
            return NULL;
        first = RCI_HEADER_PAGES;
    }
    pages_take(h, a, first, n);
    rci_pool *pool = &a->pools[first / RCI_POOL_MIN_PAGES];
    memset(pool, 0, sizeof *pool);
    pool->first = (uint8_t)first;
    pool->npages = (uint16_t)n;
    pool->kind = kind;
    return pool;
}

/* ---- Bins and pools ------------------------------------------------------ */

static void bin_link_front(rc_heap *h, rci_bin *bin, rci_pool *pool)
{
    pool->prev = NULL;
    pool->next = bin->avail == &h->sentinel ? NULL : bin->avail;
    if (pool->next)
        pool->next->prev = pool;
    else
        bin->last = pool;
    bin->avail = pool;
    pool->linked = 1;
}

/* Queue a pool that regained room behind the others: the pool in use keeps
   serving, and by the time allocation reaches this one it has gathered
   more free blocks (mimalloc's _mi_page_unfull queues at the end too).
   Linking it in front made every free into a full pool cost a slow free
   and, one allocation later, a slow unlink. */
static void bin_link_back(rc_heap *h, rci_bin *bin, rci_pool *pool)
{
    if (bin->avail == &h->sentinel) {
        bin_link_front(h, bin, pool);
        return;
    }
    pool->next = NULL;
    pool->prev = bin->last;
    bin->last->next = pool;
    bin->last = pool;
    pool->linked = 1;
}

static void bin_unlink(rc_heap *h, rci_bin *bin, rci_pool *pool)
{
    if (pool->prev)
        pool->prev->next = pool->next;
    else
        bin->avail = pool->next ? pool->next : &h->sentinel;
    if (pool->next)
        pool->next->prev = pool->prev;
    else
        bin->last = pool->prev;
    pool->linked = 0;
}

static rci_pool *pool_new(rc_heap *h, rci_bin *bin)
{
    rci_pool *pool = pages_alloc(h, rci_class_pages[bin->cls], RCI_POOL_SMALL);
    if (!pool)
        return NULL;
    pool->bin = bin;
    pool->cls = bin->cls;
    pool->block_size = bin->block_size;
    /* a shared pool keeps a type id per block after its blocks */
    pool->capacity = (uint32_t)(pool->npages * RCI_PAGE /
                                (bin->block_size + (bin->shared ? sizeof(uint16_t) : 0)));
    /* exact for offsets below 2^32 / block_size, and pools are < 2^18 bytes */
    pool->recip = (uint32_t)((((uint64_t)1 << 32) + bin->block_size - 1) / bin->block_size);
    bin_link_front(h, bin, pool);
    return pool;
}

/* Put the blocks that start on the next untouched page on the free list. */
static void pool_carve(rci_pool *pool)
{
    size_t bs = pool->block_size;
    char *start = rci_pool_start(pool);
    char *b = start + (size_t)pool->carved * bs;
    uintptr_t page_end = ((uintptr_t)b & ~(uintptr_t)(RCI_PAGE - 1)) + RCI_PAGE;
    size_t n = (page_end - (uintptr_t)b + bs - 1) / bs;
    if (n > pool->capacity - pool->carved)
        n = pool->capacity - pool->carved;
    /* Linked in address order, each to the next; a pointer walk, unrolled
       (bulk rounds carve every block they take: 8 instructions a block
       with an index and a multiply, 4 like this). */
    char *blk = b;
#pragma GCC unroll 4
    for (size_t i = 1; i < n; i++, blk += bs) {
        *(uint64_t *)blk = RCI_FREE_MARK;
        *rci_link(blk) = blk + bs;
        rci_poison(blk + RCI_LINK_BYTES, bs - RCI_LINK_BYTES);
    }
    char *last = blk;
    *(uint64_t *)last = RCI_FREE_MARK;
    *rci_link(last) = pool->free;
    rci_poison(last + RCI_LINK_BYTES, bs - RCI_LINK_BYTES);
    pool->free = b;
    pool->carved += (uint32_t)n;
}

void *rci_bin_alloc_slow(rc_heap *h, rci_bin *bin)
{
    for (;;) {
        rci_pool *pool = bin->avail;
        if (pool == &h->sentinel) {
            pool = pool_new(h, bin);
            if (!pool)
                return NULL;
        }
        if (!pool->free && pool->carved < pool->capacity)
            pool_carve(pool);
        if (pool->free)
            return rci_bin_alloc(h, bin);
        bin_unlink(h, bin, pool); /* full: out of the way until a free */
    }
}

static void pool_release(rc_heap *h, rci_pool *pool)
{
    if (pool->linked)
        bin_unlink(h, pool->bin, pool);
    pages_give(h, pool);
}

static void huge_free(rc_heap *h, rci_arena *a)
{
    if (a->prev)
        a->prev->next = a->next;
    else
        h->huge = a->next;
    if (a->next)
        a->next->prev = a->prev;
    rci_page_free(h, a, a->map_bytes);
}

void rci_block_free_slow(rc_heap *h, void *b)
{
    rci_pool *pool = rci_pool_of(b);
    switch (pool->kind) {
    case RCI_POOL_LARGE:
        pages_give(h, pool);
        return;
    case RCI_POOL_HUGE:
        huge_free(h, rci_arena_of(b));
        return;
    default:
        break;
    }
    rci_assert(pool->kind == RCI_POOL_SMALL && !pool->linked && pool->used > 0);
    *(uint64_t *)b = RCI_FREE_MARK;
    *rci_link(b) = pool->free;
    pool->free = b;
    pool->used--;
    rci_poison((char *)b + RCI_LINK_BYTES, pool->block_size - RCI_LINK_BYTES);
    /* Only full pools are unlinked, and they hold at least 8 blocks. */
    bin_link_back(h, pool->bin, pool);
}

/* The free fast path emptied b's pool, which a bin lists: its pages go
   back to the arena unless it is the bin's only pool with room. */
void rci_pool_emptied(rc_heap *h, void *b)
{
    rci_pool *pool = rci_pool_of(b);
    rci_bin *bin = pool->bin;
    if (!(bin->avail == pool && !pool->next))
        pool_release(h, pool);
}

/* ---- Page runs and huge blocks ------------------------------------------- */

void *rci_alloc_big(rc_heap *h, size_t n)
{
    if (n <= RCI_LARGE_MAX) {
        rci_pool *pool = pages_alloc(h, (n + RCI_PAGE - 1) / RCI_PAGE, RCI_POOL_LARGE);
        if (!pool)
            return NULL;
        pool->used = pool->capacity = 1;
        pool->block_size = (uint32_t)n;
        return rci_pool_start(pool);
    }
    size_t bytes;
    if (__builtin_add_overflow(n, RCI_HUGE_OFFSET + RCI_PAGE - 1, &bytes))
        return NULL;
    bytes &= ~(RCI_PAGE - 1);
    rci_arena *a = rci_page_alloc(h, bytes, RCI_ARENA);
    if (!a)
        return NULL;
    memset(a, 0, offsetof(rci_arena, head_of));
    a->heap = h;
    a->map_bytes = bytes;
    a->head_of[0] = 0;
    memset(&a->pools[0], 0, sizeof a->pools[0]);
    a->pools[0].kind = RCI_POOL_HUGE;
    a->pools[0].used = a->pools[0].capacity = 1;
    a->next = h->huge;
    if (a->next)
        a->next->prev = a;
    h->huge = a;
    return (char *)a + RCI_HUGE_OFFSET;
}

size_t rci_block_size(const void *b)
{
    const rci_pool *pool = rci_pool_of(b);
    switch (pool->kind) {
    case RCI_POOL_SMALL:
        return pool->block_size;
    case RCI_POOL_LARGE:
        return pool->npages * RCI_PAGE;
    default:
        return rci_arena_of(b)->map_bytes - RCI_HUGE_OFFSET;
    }
}

/* ---- Heap-wide ----------------------------------------------------------- */

void rci_alloc_init(rc_heap *h)
{
    h->tick_left = RCI_TICK_EVERY;
    h->sentinel.kind = RCI_POOL_SMALL; /* never freed into: free is NULL */
    for (unsigned c = 0; c < RC_SIZE_CLASSES; c++) {
        h->raw[c] = (rci_bin){.avail = &h->sentinel, .block_size = rci_class_size[c],
                              .cls = (uint8_t)c};
        h->shared[c] = h->raw[c];
        h->shared[c].shared = 1;
    }
    for (size_t i = 0; i < RCI_DIRECT_SLOTS; i++)
        h->direct[i] = &h->raw[rci_size_class(i * 16)];
    if (!h->cfg.purge_bytes)
        h->cfg.purge_bytes = (size_t)1 << 20;
    if (!h->cfg.purge_delay_ms)
        h->cfg.purge_delay_ms = RC_PURGE_DELAY_MS;
    if (h->cfg.retain_bytes < RCI_ARENA)
        h->cfg.retain_bytes = RCI_ARENA;
}

/* Release the empty pools a bin keeps to avoid thrash. */
void rci_bin_trim(rc_heap *h, rci_bin *bin)
{
    for (rci_pool *p = bin->avail, *next; p != &h->sentinel && p; p = next) {
        next = p->next;
        if (p->used == 0)
            pool_release(h, p);
    }
}

size_t rci_alloc_trim(rc_heap *h)
{
    size_t before = h->purged_bytes, held = h->os_bytes;
    for (unsigned c = 0; c < RC_SIZE_CLASSES; c++) {
        rci_bin_trim(h, &h->raw[c]);
        rci_bin_trim(h, &h->shared[c]);
    }
    for (rci_typerec *r = h->typerecs; r; r = r->next) {
        rci_bin_trim(h, &r->one);
        for (unsigned c = 0; r->bins && c < RC_SIZE_CLASSES; c++)
            rci_bin_trim(h, &r->bins[c]);
    }
    purge_all(h);
    while (h->bucket[RCI_USABLE_PAGES])
        arena_unmap(h, h->bucket[RCI_USABLE_PAGES]);
    h->purge_at_ms = 0;
    return (h->purged_bytes - before) + (held - h->os_bytes);
}

void rci_alloc_release_all(rc_heap *h)
{
    while (h->arenas)
        arena_unmap(h, h->arenas);
    while (h->huge)
        huge_free(h, h->huge);
}

/* Is p a live block's address on this heap?  For debug checks: walks the
   heap's arenas, and reads an arena header only once it knows it is ours. */
bool rci_heap_owns_block(const rc_heap *h, const void *p, rci_pool **pool_out)
{
    rci_arena *pa = rci_arena_of(p);
    for (rci_arena *a = h->huge; a; a = a->next)
        if (a == pa) {
            *pool_out = &a->pools[0];
            return (const char *)p == (char *)a + RCI_HUGE_OFFSET;
        }
    bool ours = false;
    for (rci_arena *a = h->arenas; a && !ours; a = a->all_next)
        ours = a == pa;
    size_t page = ((uintptr_t)p - (uintptr_t)pa) >> RCI_PAGE_SHIFT;
    if (!ours || !map_test(pa->used_map, page))
        return false;
    rci_pool *pool = &pa->pools[pa->head_of[page]];
    *pool_out = pool;
    size_t off = (size_t)((const char *)p - rci_pool_start(pool));
    if (pool->kind == RCI_POOL_LARGE)
        return off == 0;
    return pool->kind == RCI_POOL_SMALL && off % pool->block_size == 0 &&
           off / pool->block_size < pool->carved;
}

/* ---- Validation ------------------------------------------------------------ */

#define CHECK(cond, ...)                                                     \
    do {                                                                     \
        if (!(cond)) {                                                       \
            fprintf(stderr, "rcgc: heap invalid: " __VA_ARGS__);             \
            fputc('\n', stderr);                                             \
            return -1;                                                       \
        }                                                                    \
    } while (0)

static int validate_pool(const rc_heap *h, const rci_arena *a, const rci_pool *p)
{
    size_t first = p->first;
    CHECK(p->npages >= RCI_POOL_MIN_PAGES && first + p->npages <= RCI_ARENA_PAGES,
          "pool at page %zu of arena %p has %u pages", first, (void *)a, p->npages);
    for (size_t i = first; i < first + p->npages; i++)
        CHECK(map_test(a->used_map, i) && a->head_of[i] == first / RCI_POOL_MIN_PAGES,
              "page %zu of arena %p is not marked as part of its pool", i, (void *)a);
    if (p->kind == RCI_POOL_LARGE) {
        CHECK(p->used == 1 && p->block_size > RC_SMALL_MAX &&
                  (p->block_size + RCI_PAGE - 1) / RCI_PAGE == p->npages,
              "page run at %p: %u bytes in %u pages", rci_pool_start(p),
              p->block_size, p->npages);
        return 0;
    }
    CHECK(p->kind == RCI_POOL_SMALL, "pool at %p has kind %u", rci_pool_start(p), p->kind);
    size_t per_block = p->block_size + (p->bin->shared ? sizeof(uint16_t) : 0);
    CHECK(p->cls < RC_SIZE_CLASSES && p->block_size == rci_class_size[p->cls] &&
              p->npages == rci_class_pages[p->cls] &&
              p->capacity == p->npages * RCI_PAGE / per_block,
          "pool at %p: class %u geometry is wrong", rci_pool_start(p), p->cls);
    CHECK(p->used <= p->carved && p->carved <= p->capacity,
          "pool at %p: used %u carved %u capacity %u", rci_pool_start(p),
          p->used, p->carved, p->capacity);
    CHECK(p->linked || p->used == p->capacity,
          "pool at %p is not full (%u of %u) but no bin lists it",
          rci_pool_start(p), p->used, p->capacity);
    const char *start = rci_pool_start(p);
    size_t nfree = 0;
    for (const char *b = p->free; b; b = *rci_link((void *)b)) {
        size_t off = (size_t)(b - start);
        CHECK(b >= start && off % p->block_size == 0 && off / p->block_size < p->carved,
              "pool at %p: free list holds %p, not one of its carved blocks",
              (void *)start, (const void *)b);
        CHECK(*(const uint64_t *)b == RCI_FREE_MARK,
              "free block %p lost its free mark (write after free?)", (const void *)b);
        CHECK(++nfree <= p->carved, "pool at %p: free list loops", (void *)start);
    }
    CHECK(nfree == p->carved - p->used,
          "pool at %p: %zu blocks on the free list, expected %u", (void *)start,
          nfree, p->carved - p->used);
    if (!p->bin->shared)
        return 0;
    const uint16_t *ids = rci_pool_type_ids(p);
    for (size_t i = 0; i < p->carved; i++)
        CHECK(*(const uint64_t *)(start + i * p->block_size) == RCI_FREE_MARK ||
                  (ids[i] >= 1 && ids[i] <= h->type_ids.len),
              "shared pool at %p: block %zu has type id %u of %zu", (void *)start, i,
              ids[i], h->type_ids.len);
    return 0;
}

static int validate_arena(const rc_heap *h, const rci_arena *a, size_t *dirty)
{
    CHECK(a->heap == h, "arena %p belongs to heap %p", (const void *)a, (void *)a->heap);
    size_t nfree = 0;
    for (size_t i = 0; i < RCI_ARENA_PAGES; i++) {
        bool used = map_test(a->used_map, i), is_dirty = map_test(a->dirty_map, i);
        CHECK(!(used && is_dirty), "page %zu of arena %p is both used and dirty", i,
              (const void *)a);
        CHECK(i >= RCI_HEADER_PAGES || used, "header page %zu of arena %p is free", i,
              (const void *)a);
        nfree += !used;
        *dirty += is_dirty;
        if (!used || i < RCI_HEADER_PAGES)
            continue;
        const rci_pool *p = &a->pools[a->head_of[i]];
        CHECK(a->head_of[i] < RCI_POOL_SLOTS && p->first <= i && i < p->first + p->npages,
              "page %zu of arena %p names slot %u, a pool that does not hold it", i,
              (const void *)a, a->head_of[i]);
        if (p->first == i && validate_pool(h, a, p) != 0)
            return -1;
    }
    CHECK(map_count(a->dirty_map, 0, RCI_ARENA_PAGES) == a->ndirty,
          "arena %p: ndirty %u disagrees with its map", (const void *)a, a->ndirty);
    CHECK(nfree == a->nfree && a->bucket == a->nfree,
          "arena %p counts %u free pages (bucket %u), the map %zu", (const void *)a,
          a->nfree, a->bucket, nfree);
    return 0;
}

static int validate_bin(const rc_heap *h, const rci_bin *bin, unsigned c)
{
    const rci_pool *prev = NULL;
    for (const rci_pool *p = bin->avail; p != &h->sentinel && p; p = p->next) {
        CHECK(p->linked && p->bin == bin && p->prev == prev,
              "bin %u lists a pool at %p that is not its own", c, (void *)rci_pool_start(p));
        prev = p;
    }
    CHECK(!prev || bin->last == prev, "bin %u: last pool is wrong", c);
    return 0;
}

static int validate_bins(const rc_heap *h, const rci_bin *bins)
{
    for (unsigned c = 0; c < RC_SIZE_CLASSES; c++)
        if (validate_bin(h, &bins[c], c) != 0)
            return -1;
    return 0;
}

int rci_alloc_validate(const rc_heap *h)
{
    CHECK(h->sentinel.free == NULL && h->sentinel.used == 0, "the sentinel pool was used");
    size_t dirty = 0, held = h->self_bytes + h->side_bytes;
    for (size_t b = 0; b < RCI_BUCKETS; b++) {
        bool listed = map_test(h->bucket_map, b);
        CHECK(listed == (h->bucket[b] != NULL), "bucket %zu map bit is wrong", b);
        for (const rci_arena *a = h->bucket[b]; a; a = a->next) {
            CHECK(a->bucket == b, "arena %p in bucket %zu says %u", (const void *)a, b,
                  a->bucket);
            if (validate_arena(h, a, &dirty) != 0)
                return -1;
            held += RCI_ARENA;
        }
    }
    /* Beyond the limits, a purge window must be running to take it back. */
    bool over = spare_over_retain(h) && h->bucket[RCI_USABLE_PAGES]->next;
    CHECK(!over || (h->cfg.purge_delay_ms > 0 && h->purge_at_ms),
          "%zu bytes of empty arenas kept, retain_bytes is %zu, and no purge is due",
          spare_bytes(h), h->cfg.retain_bytes);
    CHECK(h->dirty_pages * RCI_PAGE <= h->cfg.purge_bytes ||
              (h->cfg.purge_delay_ms > 0 && h->purge_at_ms),
          "%zu dirty pages over purge_bytes %zu, and no purge is due", h->dirty_pages,
          h->cfg.purge_bytes);
    for (const rci_arena *a = h->huge; a; a = a->next) {
        CHECK(a->pools[0].kind == RCI_POOL_HUGE && a->heap == h,
              "huge mapping %p is not marked huge", (const void *)a);
        held += a->map_bytes;
    }
    CHECK(dirty == h->dirty_pages, "dirty pages: counted %zu, heap says %zu", dirty,
          h->dirty_pages);
    CHECK(held == h->os_bytes, "bytes held: counted %zu, heap says %zu", held, h->os_bytes);
    if (validate_bins(h, h->raw) != 0 || validate_bins(h, h->shared) != 0)
        return -1;
    for (const rci_typerec *r = h->typerecs; r; r = r->next)
        if ((r->bins && validate_bins(h, r->bins) != 0) ||
            validate_bin(h, &r->one, r->one.cls) != 0)
            return -1;
    return 0;
}

/* ---- Statistics walk ------------------------------------------------------ */

void rc_alloc_stats_get(const rc_heap *h, rc_alloc_stats *s)
{
    memset(s, 0, sizeof *s);
    size_t committed = h->self_bytes + h->side_bytes;
    for (unsigned c = 0; c < RC_SIZE_CLASSES; c++)
        s->classes[c].block_size = rci_class_size[c];
    for (const rci_arena *a = h->arenas; a; a = a->all_next) {
        s->arenas++;
        committed += (RCI_ARENA_PAGES - a->nfree + a->ndirty) * RCI_PAGE;
        for (size_t i = RCI_HEADER_PAGES; i < RCI_ARENA_PAGES; i++) {
            const rci_pool *p = rci_pool_at((rci_arena *)a, i);
            if (!p)
                continue;
            s->pools++;
            if (p->kind == RCI_POOL_LARGE) {
                s->large_blocks++;
                s->large_bytes += p->block_size;
                continue;
            }
            rc_class_stats *cs = &s->classes[p->cls];
            cs->pools++;
            cs->blocks_used += p->used;
            cs->blocks_free += p->capacity - p->used;
            s->small_blocks += p->used;
            s->small_bytes += (size_t)p->used * p->block_size;
        }
    }
    for (const rci_arena *a = h->huge; a; a = a->next) {
        s->huge_blocks++;
        s->huge_bytes += a->map_bytes - RCI_HUGE_OFFSET;
        committed += a->map_bytes;
    }
    s->os_bytes = h->os_bytes;
    s->committed_bytes = committed;
    s->dirty_pages = h->dirty_pages;
    s->allocs = h->allocs + (RCI_TICK_EVERY - h->tick_left);
    s->frees = h->frees;
    s->page_requests = h->page_requests;
    s->page_failures = h->page_failures;
    s->purged_bytes = h->purged_bytes;
    rci_quarantine_uncount(h, s);
    size_t live = s->small_bytes + s->large_bytes + s->huge_bytes;
    s->fragmentation = committed ? 1.0 - (double)live / (double)committed : 0.0;
    if (s->fragmentation < 0)
        s->fragmentation = 0;
}
