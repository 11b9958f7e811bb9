/*
 * rc_internal.h — what the library's files share and nobody else sees.
 *
 * Asserts, branch hints, checked arithmetic, the allocator's geometry and
 * the heap structure, then the cross-file prototypes grouped by the file
 * that defines them.  Cross-file internals are named rci_<layer>_* and have
 * hidden visibility; everything else in a .c file is static.
 */
#ifndef RC_INTERNAL_H
#define RC_INTERNAL_H

#ifndef RC_BUILDING_LIBRARY
#error "rc_internal.h is private to the rcgc library"
#endif

#include "rcgc.h"
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#define RCI_HIDDEN __attribute__((visibility("hidden")))
#define rci_likely(x) __builtin_expect(!!(x), 1)
#define rci_unlikely(x) __builtin_expect(!!(x), 0)
#define RCI_NOINLINE __attribute__((noinline))
#define RCI_COLD __attribute__((cold, noinline))
#define RCI_UNUSED(x) ((void)(x))

/* ---- Failure reporting ------------------------------------------------- */

/* Print "rcgc: <message>" with write(2) (no allocation) and abort.  Used for
   misuse a debug heap detects and for broken internal invariants. */
RCI_HIDDEN _Noreturn void rci_fatal(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), cold));

/* Internal invariants: checked in debug builds (RC_ASSERTS), free otherwise. */
#ifdef RC_ASSERTS
#define rci_assert(c)                                                        \
    ((c) ? (void)0 : rci_fatal("%s:%d: assertion failed: %s", __FILE__,      \
                               __LINE__, #c))
#else
#define rci_assert(c) ((void)0)
#endif

/* a * b into *out; false when it overflows size_t (Lua's luaM_newvector). */
static inline bool rci_mul_ok(size_t a, size_t b, size_t *out)
{
    return !__builtin_mul_overflow(a, b, out);
}

/* ---- Sanitizer annotations ----------------------------------------------
 * Free blocks inside pools are poisoned for AddressSanitizer, so that a
 * use-after-free inside a pool is caught like one in malloc'd memory.  The
 * first RCI_LINK_BYTES of a free block (its free mark and list link) stay
 * readable: the allocator and the collector's pool walk read them. */
#if defined(__SANITIZE_ADDRESS__)
#define RCI_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define RCI_ASAN 1
#endif
#endif
#ifdef RCI_ASAN
void __asan_poison_memory_region(void const volatile *addr, size_t size);
void __asan_unpoison_memory_region(void const volatile *addr, size_t size);
#define rci_poison(p, n) __asan_poison_memory_region((p), (n))
#define rci_unpoison(p, n) __asan_unpoison_memory_region((p), (n))
#else
#define rci_poison(p, n) ((void)(p), (void)(n))
#define rci_unpoison(p, n) ((void)(p), (void)(n))
#endif

/* ---- Allocator geometry (tunables; invariants checked below) ------------ */

#define RCI_PAGE_SHIFT 12
#define RCI_PAGE ((size_t)1 << RCI_PAGE_SHIFT)          /* 4 KiB */
#define RCI_ARENA_SHIFT 20
#define RCI_ARENA ((size_t)1 << RCI_ARENA_SHIFT)        /* 1 MiB, aligned */
#define RCI_ARENA_PAGES (RCI_ARENA / RCI_PAGE)          /* 256 */
#define RCI_MAP_WORDS (RCI_ARENA_PAGES / 64)
#define RCI_LARGE_MAX ((size_t)512 << 10) /* page runs up to this; above: own mapping */
#define RCI_LINK_BYTES 16 /* free mark + link at the start of a free block */
#define RCI_FREE_MARK UINT64_C(0xFEEDFACEDEADF00D) /* first word of a free block */

_Static_assert(RCI_ARENA_PAGES % 64 == 0, "page maps are whole words");
_Static_assert(RC_SMALL_MAX < RCI_LARGE_MAX, "classes end before page runs");
_Static_assert(RCI_LARGE_MAX <= RCI_ARENA / 2, "a page run fits an arena");

/* What a page of an arena holds (rci_pool.kind). */
enum { RCI_POOL_FREE = 0, RCI_POOL_SMALL, RCI_POOL_LARGE, RCI_POOL_HUGE };

typedef struct rci_bin rci_bin;

/* A pool: pages carved into blocks of one size class (SMALL), or one block
   spanning whole pages (LARGE), or the block of a huge mapping (HUGE).  Its descriptor lives in the arena header, indexed by its first
   page; the other pages point to it through head_of. */
typedef struct rci_pool {
    void *free;              /* free blocks, linked through word 1 */
    struct rci_pool *next;   /* in the bin's list of pools with room */
    struct rci_pool *prev;
    rci_bin *bin;            /* owning bin (SMALL); NULL otherwise */
    uint32_t used;           /* live blocks */
    uint32_t capacity;       /* blocks the pool can hold (LARGE: 1) */
    uint32_t carved;         /* blocks ever handed to the free list */
    uint32_t block_size;     /* SMALL: class size; LARGE: bytes asked */
    uint16_t npages;         /* pages of the pool */
    uint8_t cls;             /* size class (SMALL) */
    uint8_t kind;            /* RCI_POOL_* */
    uint32_t linked;         /* nonzero while in the bin's list */
} rci_pool;

/* An arena: RCI_ARENA bytes aligned to RCI_ARENA, so a block's arena is its
   address rounded down.  The header occupies the first pages; the rest are
   pages handed to pools.  A huge block's own mapping starts with the same
   header prefix (up to pools[1]) so that free finds it the same way. */
typedef struct rci_arena {
    rc_heap *heap;                    /* owner: debug checks and stats */
    struct rci_arena *next;           /* in its bucket (or the huge list) */
    struct rci_arena *prev;
    size_t map_bytes;                 /* bytes mapped (huge: whole mapping) */
    uint32_t nfree;                   /* free pages */
    uint32_t bucket;                  /* bucket index it is listed in */
    uint32_t ndirty;                  /* bits set in dirty_map */
    uint64_t used_map[RCI_MAP_WORDS]; /* bit set: page belongs to a pool */
    uint64_t dirty_map[RCI_MAP_WORDS];/* bit set: free page, maybe resident */
    uint8_t head_of[RCI_ARENA_PAGES]; /* page -> first page of its pool */
    rci_pool pools[RCI_ARENA_PAGES];  /* descriptors, by first page */
} rci_arena;

#define RCI_HEADER_PAGES ((sizeof(rci_arena) + RCI_PAGE - 1) / RCI_PAGE)
#define RCI_USABLE_PAGES (RCI_ARENA_PAGES - RCI_HEADER_PAGES)
/* A huge block starts after the header prefix that free reads. */
#define RCI_HUGE_OFFSET                                                      \
    ((offsetof(rci_arena, pools) + sizeof(rci_pool) + 63) & ~(size_t)63)
_Static_assert(RCI_HUGE_OFFSET < RCI_PAGE, "huge header within one page");

static inline rci_arena *rci_arena_of(const void *p)
{
    return (rci_arena *)((uintptr_t)p & ~(uintptr_t)(RCI_ARENA - 1));
}

static inline rci_pool *rci_pool_of(const void *p)
{
    rci_arena *a = rci_arena_of(p);
    size_t page = ((uintptr_t)p - (uintptr_t)a) >> RCI_PAGE_SHIFT;
    return &a->pools[a->head_of[page]];
}

static inline char *rci_pool_start(const rci_pool *pool)
{
    rci_arena *a = rci_arena_of(pool);
    return (char *)a + (size_t)(pool - a->pools) * RCI_PAGE;
}

/* The free-list link lives in word 1 of a free block; word 0 holds
   RCI_FREE_MARK so a walk over a pool can tell free blocks from live ones. */
static inline void **rci_link(void *block) { return (void **)block + 1; }

/* A bin: the pools of one size class for one owner (raw blocks, or later
   one object type).  avail is never NULL: an empty list is the heap's
   sentinel pool, whose free list is empty, so the fast path tests once. */
struct rci_bin {
    rci_pool *avail;      /* pools with room, most recently useful first */
    uint32_t block_size;  /* bytes per block */
    uint8_t cls;          /* size class index */
};

/* ---- The heap ------------------------------------------------------------ */

#define RCI_BUCKETS (RCI_ARENA_PAGES + 1) /* arenas bucketed by free pages */

struct rc_heap {
    rc_config cfg;                       /* copy of the configuration */
    size_t self_bytes;                   /* bytes of this struct's mapping */
    rci_pool sentinel;                   /* the empty pool (see rci_bin) */
    rci_bin raw[RC_SIZE_CLASSES];        /* raw-block bins, by class */
    rci_arena *bucket[RCI_BUCKETS];      /* arenas by number of free pages */
    uint64_t bucket_map[(RCI_BUCKETS + 63) / 64]; /* nonempty buckets */
    rci_arena *huge;                     /* list of huge mappings */
    size_t dirty_pages;                  /* free pages maybe resident */
    unsigned long fail_countdown;        /* rc_heap_fail_page_request */
    /* counters (see RC_ALLOC_STATS) */
    size_t os_bytes, purged_now;         /* held; currently purged bytes */
    size_t allocs, frees, page_requests, page_failures, purged_bytes;
};

/* ---- Size classes ----------------------------------------------------------
 * 16-byte steps to 256, then four classes per doubling up to 16 KiB:
 * 40 classes.  Blocks need no header: the pool knows the size. */
extern RCI_HIDDEN const uint32_t rci_class_size[RC_SIZE_CLASSES];
extern RCI_HIDDEN const uint8_t rci_class_pages[RC_SIZE_CLASSES];

static inline unsigned rci_size_class(size_t n)
{
    if (n <= 256)
        return n == 0 ? 0 : (unsigned)((n - 1) >> 4);
    /* above 256: 4 classes per power of two */
    unsigned top = 63u - (unsigned)__builtin_clzll((unsigned long long)(n - 1));
    unsigned step = (unsigned)((n - 1) >> (top - 2)) & 3u;
    return 16u + (top - 8u) * 4u + step;
}

/* page.c */
RCI_HIDDEN void *rci_page_alloc(rc_heap *h, size_t size, size_t align);
RCI_HIDDEN void rci_page_free(rc_heap *h, void *p, size_t size);
RCI_HIDDEN void rci_page_purge(rc_heap *h, void *p, size_t size);

/* alloc.c */
RCI_HIDDEN void rci_alloc_init(rc_heap *h);
RCI_HIDDEN void rci_alloc_release_all(rc_heap *h);
RCI_HIDDEN void *rci_bin_alloc_slow(rc_heap *h, rci_bin *bin);
RCI_HIDDEN void rci_block_free_slow(rc_heap *h, rci_pool *pool, void *b);
RCI_HIDDEN void *rci_alloc_big(rc_heap *h, size_t n);
RCI_HIDDEN size_t rci_block_size(const void *b);
RCI_HIDDEN size_t rci_alloc_trim(rc_heap *h);
RCI_HIDDEN void rci_bin_trim(rc_heap *h, rci_bin *bin);
RCI_HIDDEN int rci_alloc_validate(const rc_heap *h);
RCI_HIDDEN bool rci_heap_owns_block(const rc_heap *h, const void *p,
                                    rci_pool **pool_out);

/* The allocation fast path: one pop from the bin's first pool. */
static inline void *rci_bin_alloc(rc_heap *h, rci_bin *bin)
{
    rci_pool *pool = bin->avail;
    void *b = pool->free;
    if (rci_likely(b != NULL)) {
        rci_unpoison((char *)b + RCI_LINK_BYTES, bin->block_size - RCI_LINK_BYTES);
        pool->free = *rci_link(b);
        pool->used++;
        return b;
    }
    return rci_bin_alloc_slow(h, bin);
}

/* The free fast path: push on the block's pool; the slow half handles a
   pool that was full or is about to be empty, and blocks that are not small
   (their pools have used == capacity == 1).  One unsigned compare tests
   2 <= used < capacity. */
static inline void rci_block_free(rc_heap *h, void *b)
{
    rci_pool *pool = rci_pool_of(b);
    if (rci_likely(pool->used - 2u < pool->capacity - 2u)) {
        *(uint64_t *)b = RCI_FREE_MARK;
        *rci_link(b) = pool->free;
        pool->free = b;
        pool->used--;
        rci_poison((char *)b + RCI_LINK_BYTES, pool->block_size - RCI_LINK_BYTES);
        return;
    }
    rci_block_free_slow(h, pool, b);
}

/* Raw blocks without debug checks: what rc_mem_* and the debug layer use. */
static inline void *rci_raw_alloc(rc_heap *h, size_t n)
{
    h->allocs++;
    if (rci_likely(n <= RC_SMALL_MAX))
        return rci_bin_alloc(h, &h->raw[rci_size_class(n)]);
    return rci_alloc_big(h, n);
}

static inline void rci_raw_free(rc_heap *h, void *p)
{
    h->frees++;
    rci_block_free(h, p);
}

/* debug.c */
RCI_HIDDEN void *rci_debug_alloc(rc_heap *h, size_t n);
RCI_HIDDEN void rci_debug_free(rc_heap *h, void *p);
RCI_HIDDEN size_t rci_debug_usable(const void *p);

#endif /* RC_INTERNAL_H */
