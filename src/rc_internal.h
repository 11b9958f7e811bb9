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
#include "trace/trace.h"
#include <stdbool.h>
#include <stddef.h>
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

/* Pools (small classes: rci_class_pages) and page runs (more than
   RC_SMALL_MAX bytes) are never shorter than this. */
#define RCI_POOL_MIN_PAGES 5
#define RCI_POOL_SLOTS (RCI_ARENA_PAGES / RCI_POOL_MIN_PAGES + 1)
_Static_assert(RC_SMALL_MAX >= (RCI_POOL_MIN_PAGES - 1) * RCI_PAGE,
               "a page run spans at least RCI_POOL_MIN_PAGES pages");

/* What a page of an arena holds (rci_pool.kind). */
enum { RCI_POOL_FREE = 0, RCI_POOL_SMALL, RCI_POOL_LARGE, RCI_POOL_HUGE };

typedef struct rci_bin rci_bin;

/* A pool: pages carved into blocks of one size class (SMALL), or one block
   spanning whole pages (LARGE), or the block of a huge mapping (HUGE).  Its
   descriptor lives in the arena header, in slot first / RCI_POOL_MIN_PAGES;
   all its pages name that slot in head_of. */
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
    uint8_t linked;          /* nonzero while in the bin's list */
    uint8_t first;           /* its first page in the arena */
    uint32_t traced;         /* blocks the trace table holds (tracing.c) */
    uint32_t recip;          /* shared: ceil(2^32 / block_size), so a block's
                                index is a multiply (rci_shared_rec) */
} rci_pool;

/* An arena: RCI_ARENA bytes aligned to RCI_ARENA, so a block's arena is its
   address rounded down.  The header occupies the first page; the rest are
   pages handed to pools.  A huge block's own mapping starts with the same
   header prefix (up to pools[1]) so that free finds it the same way.
   Every pool and page run spans at least RCI_POOL_MIN_PAGES pages, so two
   pools never share a slot (first pages at least that far apart), and 52
   descriptors do: the header fits one page.  Indexed by first page, 256
   descriptors took 5 pages, 2% of every arena resident on top of the
   blocks (bench: RSS 16.37 B per 16 B block). */
typedef struct rci_arena {
    rc_heap *heap;                    /* owner: debug checks and stats */
    struct rci_arena *next;           /* in its bucket (or the huge list) */
    struct rci_arena *prev;
    struct rci_arena *all_next;       /* in the heap's list of all arenas, */
    struct rci_arena *all_prev;       /* in the order they were mapped */
    size_t map_bytes;                 /* bytes mapped (huge: whole mapping) */
    uint32_t nfree;                   /* free pages */
    uint32_t bucket;                  /* bucket index it is listed in */
    uint32_t ndirty;                  /* bits set in dirty_map */
    uint64_t used_map[RCI_MAP_WORDS]; /* bit set: page belongs to a pool */
    uint64_t dirty_map[RCI_MAP_WORDS];/* bit set: free page, maybe resident */
    uint8_t head_of[RCI_ARENA_PAGES]; /* page -> its pool's slot */
    rci_pool pools[RCI_POOL_SLOTS];   /* descriptors, by first page / min */
} rci_arena;

#define RCI_HEADER_PAGES ((sizeof(rci_arena) + RCI_PAGE - 1) / RCI_PAGE)
#define RCI_USABLE_PAGES (RCI_ARENA_PAGES - RCI_HEADER_PAGES)
_Static_assert(RCI_HEADER_PAGES == 1, "the arena header fits one page");
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
    return (char *)rci_arena_of(pool) + (size_t)pool->first * RCI_PAGE;
}

/* The pool that starts at page i of a, or NULL (a free page, a header
   page, a page inside a pool): walks over an arena's pools use it. */
static inline rci_pool *rci_pool_at(rci_arena *a, size_t i)
{
    if (i < RCI_HEADER_PAGES || !((a->used_map[i >> 6] >> (i & 63)) & 1))
        return NULL;
    rci_pool *p = &a->pools[a->head_of[i]];
    return p->first == i ? p : NULL;
}

/* The free-list link lives in word 1 of a free block; word 0 holds
   RCI_FREE_MARK so a walk over a pool can tell free blocks from live ones. */
static inline void **rci_link(void *block) { return (void **)block + 1; }

/* A bin: the pools of one size class for one owner: raw blocks, one
   object type, or the objects of every type that has few (shared).  avail
   is never NULL: an empty list is the heap's sentinel pool, whose free
   list is empty, so the fast path tests once. */
struct rci_bin {
    rci_pool *avail;      /* pools with room: the one in use, then the others
                             in the order they regained room */
    rci_pool *last;       /* last pool of avail (when avail is not empty) */
    struct rci_typerec *rec; /* the object type it holds; NULL: raw blocks,
                                or objects of many types (shared) */
    uint32_t block_size;  /* bytes per block */
    uint8_t cls;          /* size class index */
    uint8_t shared;       /* objects of many types: each pool ends with
                             their type ids (rci_pool_type_ids) */
    const rc_type *type;  /* rec's type (the inline rc_typeof reads it);
                             NULL: raw blocks or shared */
};

/* The layout the public header's inline accessors read. */
_Static_assert(RC_PRIV_ARENA == RCI_ARENA && RC_PRIV_PAGE_SHIFT == RCI_PAGE_SHIFT &&
                   offsetof(rci_arena, heap) == 0 &&
                   offsetof(rci_arena, head_of) == RC_PRIV_HEAD_OF &&
                   offsetof(rci_arena, pools) == RC_PRIV_POOLS &&
                   sizeof(rci_pool) == RC_PRIV_POOL_SIZE &&
                   offsetof(rci_pool, bin) == RC_PRIV_POOL_BIN &&
                   offsetof(struct rci_bin, type) == RC_PRIV_BIN_TYPE,
               "rcgc.h's RC_PRIV_* numbers match the allocator");

/* Types with few objects share pools: a type's first RCI_SHARE_FIRST
   small objects go to the heap's shared bins, the later ones to pools of
   its own (counting allocations, not live objects: a type whose few live
   objects come and go, a frame type, moves on quickly and its objects
   keep the fast type lookup).  A shared pool ends with a table of type
   ids, one uint16_t per block; ids index h->type_ids.  The built-in types
   and a heap's 65,536th type on never share. */
#define RCI_SHARE_FIRST 32
#define RCI_TYPE_IDS_MAX UINT16_MAX

/* What a heap knows of one rc_type: the bins of its own pools, its place
   in the shared pools' tables, and its census. */
typedef struct rci_typerec {
    const rc_type *type;
    struct rci_typerec *next;        /* the heap's list of type records */
    bool scanned;                    /* traverse, not rc_type_acyclic: collector looks */
    uint16_t id;                     /* in shared pools' tables; 0: never shares */
    uint16_t shared_allocs;          /* objects it put in shared pools, to
                                        RCI_SHARE_FIRST (set there at once
                                        by rc_type_own_pools) */
    /* Built-in types may keep a dead object instead of destroying it (a
       free list): returns true when it did, after releasing its children. */
    bool (*recycle)(rc_heap *h, void *obj);
    size_t live;                     /* live objects of this type */
    size_t seen;                     /* scratch for rci_object_validate */
    rci_bin one;                     /* own pools of rc_new's size class */
    rci_bin *bins;                   /* own pools of the other small classes
                                        (one unused); NULL until needed */
    rci_bin big;                     /* owner of page-run and huge objects */
} rci_typerec;

/* A shared pool's type ids, after its last block. */
static inline uint16_t *rci_pool_type_ids(const rci_pool *p)
{
    return (uint16_t *)(rci_pool_start(p) + (size_t)p->capacity * p->block_size);
}

/* The record of the type of the object whose header is at hd, in a
   shared pool p (object.c). */
RCI_HIDDEN struct rci_typerec *rci_shared_rec(const rci_pool *p, const void *hd);

/* The record of the type of the object at hd in pool p. */
static inline struct rci_typerec *rci_pool_rec(const rci_pool *p, const void *hd)
{
    struct rci_typerec *r = p->bin->rec;
    return rci_likely(r != NULL) ? r : rci_shared_rec(p, hd);
}

/* Does bin hold objects (of one type or shared)? */
static inline bool rci_bin_holds_objects(const rci_bin *bin)
{
    return bin && (bin->rec || bin->shared);
}

/* ---- Objects --------------------------------------------------------------
 * rc_head.flags: the generation, state bits, and the collector's scratch
 * count of references from outside the candidates (gc_refs).  Bit 31 is
 * never set on a live object; a free block's first word (RCI_FREE_MARK)
 * has it set, which is how a pool walk tells live objects from free blocks. */
#define RCI_GEN_MASK 3u            /* 0..2; 3 is the permanent generation */
#define RCI_GEN_FROZEN 3u
#define RCI_F_TRACKED (1u << 2)    /* the collector examines it */
#define RCI_F_FINALIZED (1u << 3)  /* finalize has run */
#define RCI_F_WEAKREFS (1u << 4)   /* weak references point at it */
#define RCI_F_DYING (1u << 5)      /* count reached zero: being released */
#define RCI_F_ZOMBIE (1u << 6)     /* dying, but its release was postponed */
#define RCI_F_CAND (1u << 7)       /* collector: candidate, gc_refs valid */
#define RCI_F_REACH (1u << 8)      /* collector: reachable from outside */
#define RCI_F_UNREACH (1u << 9)    /* collector: garbage */
#define RCI_F_PARKED (1u << 10)    /* dead, kept on a type's free list */
#define RCI_F_FREE (1u << 31)      /* never on a live object */
/* The count of a freed object that a debug heap holds in quarantine (or
   stamps at teardown): at or above RC_IMMORTAL, so incref leaves it and
   decref takes the slow path, where RCI_F_FREE is noticed. */
#define RCI_FREED_COUNT 0xDEADF00Du
#define RCI_REFS_SHIFT 11
#define RCI_REFS_MAX ((1u << 20) - 1) /* larger: kept in gc.big_refs */
/* Outside a collection the same bits hold a young object's position in
   h->gc.young[gen]; a collection rebuilds the lists of what it examined. */
#define RCI_YOUNG_MAX RCI_REFS_MAX
#define RCI_REFS_MASK (RCI_REFS_MAX << RCI_REFS_SHIFT)
_Static_assert((RCI_REFS_MASK & RCI_F_FREE) == 0, "gc_refs stays below bit 31");
_Static_assert((uint32_t)(RCI_FREE_MARK >> 32) & RCI_F_FREE, "free blocks look free");

static inline rc_head *rci_head(const void *obj) { return RC_HEAD(obj); }
static inline void *rci_obj(rc_head *hd) { return hd + 1; }

RCI_HIDDEN rci_typerec *rci_typerec_get(rc_heap *h, const rc_type *t);

/* The type record of an object: its pool's, or in a shared pool its
   block's entry in the pool's table. */
static inline rci_typerec *rci_typerec_of(const void *obj)
{
    const rc_head *hd = rci_head(obj);
    return rci_pool_rec(rci_pool_of(hd), hd);
}

static inline rc_heap *rci_heap_of(const void *obj)
{
    return rci_arena_of(rci_head(obj))->heap;
}

/* Do a and b live on the same heap?  Objects of one arena do without a
   load; otherwise the arenas' owners are compared (the ownership check of
   setters and containers: see "Heaps stay apart" in rcgc.h). */
static inline bool rci_same_heap(const void *a, const void *b)
{
    return ((uintptr_t)a ^ (uintptr_t)b) < RCI_ARENA || rci_heap_of(a) == rci_heap_of(b);
}

/* A growable array of object pointers whose storage comes straight from
   the page source, so the collector never changes the pools it walks. */
typedef struct rci_vec {
    void **items;
    size_t len, cap;   /* cap in items; storage is cap * 8 bytes of pages */
} rci_vec;

#define RCI_GC_CALLBACKS 8
#define RCI_GC_KEEP 8192 /* work-list entries kept between collections */
#define RCI_GC_SLICE 2048 /* rc_gc_step: seeds per slice under a time budget */

typedef struct rci_gc {
    unsigned threshold[RC_GC_GENERATIONS]; /* as set by the user */
    unsigned backoff[RC_GC_GENERATIONS];   /* 1..16: threshold multiplier */
    size_t count[RC_GC_GENERATIONS];       /* see rc_gc_set_threshold */
    size_t long_lived_total;     /* gen 2 objects after the last full one */
    size_t long_lived_pending;   /* promoted to gen 2 since */
    size_t tracked[4];           /* tracked objects per generation (3: frozen) */
    bool enabled;
    bool collecting;             /* a collection is running */
    unsigned debug;              /* RC_GC_DEBUG_* */
    rc_gc_gen_stats stats[RC_GC_GENERATIONS];
    size_t failed;               /* collections abandoned for memory */
    size_t foreign;              /* references to other heaps' objects skipped */
    size_t trigger;              /* count[0] above this: collect (rc_new) */
    rci_vec young[2];            /* generation 0 and 1 objects (rc_head *) */
    rci_vec stack;               /* marking work list */
    rci_vec unreachable;         /* the garbage of the running collection */
    rci_vec calls;               /* weak reference callbacks to run */
    rci_vec slice;               /* a step's objects (rc_head *) */
    bool round;                  /* a full collection in steps is under way */
    uintptr_t cursor, resume;    /* its next pool, and block in that pool */
    uint32_t round_mark;         /* gc_refs value of what it examined */
    size_t slice_scale;          /* a slice's closure: at most this * its seeds */
    bool round_cut;              /* a slice of this round hit that limit */
    size_t incremental;          /* automatic full collections: step size, or 0 */
    size_t steps, rounds;        /* rc_gc_stats */
    rci_vec big_refs;            /* (object, gc_refs) beyond RCI_REFS_MAX */
    rci_vec garbage;             /* RC_GC_DEBUG_SAVEALL */
    struct {
        rc_gc_callback_fn fn;
        void *ctx;
    } callbacks[RCI_GC_CALLBACKS];
} rci_gc;

/* ---- The heap ------------------------------------------------------------ */

#define RCI_BUCKETS (RCI_ARENA_PAGES + 1) /* arenas bucketed by free pages */
#define RCI_PENDING_INLINE 64
#define RCI_TYPE_CACHE 16                /* power of two */

#define RCI_ERROR_MSG 160                /* bytes of an error message, NUL included */

#define RCI_HEAP_MAGIC UINT64_C(0x72636763484541FF)  /* a live heap */
#define RCI_HEAP_FREED UINT64_C(0x72636763DEADFEED)  /* after rc_heap_free */

/* rc_mem_alloc's table: the raw bin for n <= RCI_DIRECT_MAX bytes is
   direct[(n + 15) >> 4], one load instead of computing the class. */
#define RCI_DIRECT_MAX 1024
#define RCI_DIRECT_SLOTS (RCI_DIRECT_MAX / 16 + 1)

struct rc_heap {
    uint64_t magic;                      /* RCI_HEAP_*: misuse reports read it */
    rc_config cfg;                       /* copy of the configuration */
    size_t self_bytes;                   /* bytes of this struct's mapping */
    rci_pool sentinel;                   /* the empty pool (see rci_bin) */
    rci_bin raw[RC_SIZE_CLASSES];        /* raw-block bins, by class */
    rci_bin *direct[RCI_DIRECT_SLOTS];   /* raw bin of each size by 16 B steps */
    rci_arena *bucket[RCI_BUCKETS];      /* arenas by number of free pages */
    uint64_t bucket_map[(RCI_BUCKETS + 63) / 64]; /* nonempty buckets */
    rci_arena *arenas;                   /* all arenas, newest first */
    rci_arena *huge;                     /* list of huge mappings */
    size_t dirty_pages;                  /* free pages maybe resident */
    size_t dirty_low;                    /* fewest dirty pages in this purge window */
    uint64_t purge_at_ms;                /* the window's end; 0: none running */
    unsigned long fail_countdown;        /* rc_heap_fail_page_request */
    /* counters (see RC_ALLOC_STATS) */
    size_t os_bytes;                     /* bytes held from the page source */
    size_t side_bytes;                   /* of which work lists, trace tables */
    size_t allocs, frees, page_requests, page_failures, purged_bytes;
    uint32_t tick_left;                  /* allocations until the next turn;
                                            allocs counts only whole turns */
    rct_pages book;                      /* raw blocks for the heap's own tables */
    /* objects (object.c) */
    rct_ptrmap types;                    /* rc_type * -> its rci_typerec */
    rci_typerec *typerecs;               /* all of them, newest first */
    rci_vec type_ids;                    /* id - 1 -> the record (shared pools) */
    rci_bin shared[RC_SIZE_CLASSES];     /* pools of objects of many types */
    struct {
        const rc_type *type;
        rci_typerec *rec;
    } tcache[RCI_TYPE_CACHE];            /* direct-mapped cache of the table */
    bool releasing;                      /* a release loop is running */
    rci_vec pending;                     /* objects waiting to be released */
    void *pending_inline[RCI_PENDING_INLINE]; /* its first storage */
    size_t zombies;                      /* releases postponed for memory */
    /* weak references (weakref.c) */
    rct_ptrmap weak;                     /* referent -> its newest weak reference */
    /* built-in types (types/) */
    struct rci_types *types_state;       /* small ints, interning, free lists */
    uint64_t hash_key[2];                /* SipHash key of str and bytes */
    rc_error error;                      /* rc_last_error */
    char error_msg[RCI_ERROR_MSG];       /* rc_error_message ("": the code's text) */
    rc_error msg_of;                     /* the error error_msg describes */
    void *exception;                     /* rc_error_raise's object (a reference) */
    rc_error exception_of;               /* the error it describes (RC_OK: none) */
    void (*flush_caches)(rc_heap *h);    /* types: empty the free lists */
    rci_gc gc;                           /* the collector (gc.c) */
    /* debug heaps (debug.c): freed objects held back from reuse */
    rci_vec quarantine;                  /* ring of rc_head *, oldest at next */
    size_t quarantine_next;              /* once full: the slot to evict */
    /* tracing (tracing.c) */
    struct rci_trace *trace;             /* NULL when not tracing */
    size_t sample_mean;                  /* tracing: 0 exact, else mean bytes */
    int64_t sample_left;                 /* bytes until the next sample */
    rci_vec timeline;                    /* rc_mem_sample records */
    /* the `rcgc run` preload shim's object hook, when it is loaded */
    void (*shim)(void *block, size_t size, const char *type_name, int alive);
    uint8_t hooks;                       /* RCI_HOOK_*: allocation paths check */
};

_Static_assert(offsetof(struct rc_heap, magic) == 0 &&
                   offsetof(struct rc_heap, cfg) == RC_PRIV_HEAP_CFG,
               "rcgc.h's inline accessors find cfg.debug");

#define RCI_HOOK_DEBUG 1u  /* cfg.debug: guard bytes and checks */
#define RCI_HOOK_TRACE 2u  /* tracing: record blocks */
#define RCI_HOOK_SHIM 4u   /* h->shim: report objects to the profiler's capture */

/* ---- Size classes ----------------------------------------------------------
 * 16-byte steps to 256, then four classes per doubling up to 16 KiB:
 * 40 classes.  Blocks need no header: the pool knows the size. */
extern RCI_HIDDEN const uint32_t rci_class_size[RC_SIZE_CLASSES];
extern RCI_HIDDEN const uint8_t rci_class_pages[RC_SIZE_CLASSES];

static inline unsigned rci_size_class(size_t n)
{
    if (n <= 128)
        return n <= 16 ? 0 : (unsigned)((n - 1) >> 3) - 1u;
    if (n <= 256)
        return 14u + (unsigned)((n - 113) >> 4);
    /* above 256: 4 classes per power of two */
    unsigned top = 63u - (unsigned)__builtin_clzll((unsigned long long)(n - 1));
    unsigned step = (unsigned)((n - 1) >> (top - 2)) & 3u;
    return 23u + (top - 8u) * 4u + step;
}

/* The class of a raw block: a multiple of 16 bytes, so 16-byte aligned. */
static inline unsigned rci_raw_class(size_t n)
{
    return rci_size_class((n + 15) & ~(size_t)15);
}

/* page.c */
RCI_HIDDEN void *rci_page_alloc(rc_heap *h, size_t size, size_t align);
RCI_HIDDEN void rci_page_free(rc_heap *h, void *p, size_t size);
RCI_HIDDEN void rci_page_purge(rc_heap *h, void *p, size_t size);

/* alloc.c */
RCI_HIDDEN void rci_alloc_init(rc_heap *h);
RCI_HIDDEN void rci_alloc_release_all(rc_heap *h);
RCI_HIDDEN void *rci_bin_alloc_slow(rc_heap *h, rci_bin *bin);
RCI_HIDDEN void rci_block_free_slow(rc_heap *h, void *b);
RCI_HIDDEN void rci_pool_emptied(rc_heap *h, void *b);
RCI_HIDDEN void *rci_alloc_big(rc_heap *h, size_t n);
RCI_HIDDEN size_t rci_block_size(const void *b);
RCI_HIDDEN size_t rci_alloc_trim(rc_heap *h);
/* Release the empty pools bin keeps. */
RCI_HIDDEN void rci_bin_trim(rc_heap *h, rci_bin *bin);
RCI_HIDDEN void rci_alloc_tick(rc_heap *h);
RCI_HIDDEN void rci_alloc_turn(rc_heap *h);
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

/* The free fast path: push on the block's pool when a bin lists it (a
   small pool with room, or full but not yet unlinked); the slow half takes
   a pool that was full and unlinked, and blocks that are not small (their
   pools are never listed).  A pool the push empties goes to
   rci_pool_emptied.  Testing linked, then the decremented count, costs
   5 instructions where testing 2 <= used < capacity cost 7.  The slow
   halves take the block, not the pool: passing the pool made the compiler
   compute its address twice. */
static inline void rci_block_free(rc_heap *h, void *b)
{
    rci_pool *pool = rci_pool_of(b);
    if (rci_likely(pool->linked)) {
        *(uint64_t *)b = RCI_FREE_MARK;
        *rci_link(b) = pool->free;
        pool->free = b;
        rci_poison((char *)b + RCI_LINK_BYTES, pool->block_size - RCI_LINK_BYTES);
        if (rci_unlikely(--pool->used == 0))
            rci_pool_emptied(h, b);
        return;
    }
    rci_block_free_slow(h, b);
}

/* tracing.c: record and forget traced blocks (called only while tracing) */
RCI_HIDDEN void rci_trace_record(rc_heap *h, void *block, size_t size);
RCI_HIDDEN void rci_trace_forget(rc_heap *h, void *block);
RCI_HIDDEN void rci_trace_resize(rc_heap *h, void *block, size_t size);
RCI_HIDDEN void rci_trace_init(rc_heap *h);
struct rct_symbol;
RCI_HIDDEN bool rci_trace_site(rc_heap *h, const void *block, uint32_t *stack,
                               struct rct_symbol *site);
RCI_HIDDEN void rci_trace_release(rc_heap *h);

/* Count an allocation; every RCI_TICK_EVERY-th one is a turn
   (rci_alloc_turn: the allocator sees the clock), so that a heap that has
   gone quiet still returns its unused pages, as jemalloc's decay ticks do.
   A countdown, not a count, because its test is one decrement in memory:
   the allocation fast path's counter cost 5 of its 21 instructions. */
#define RCI_TICK_EVERY 1024
static inline void rci_count_alloc(rc_heap *h)
{
    if (rci_unlikely(--h->tick_left == 0))
        rci_alloc_turn(h);
}

/* Raw blocks, untraced and unchecked: the fast path, and the heap's own
   bookkeeping (type records, tables), which is not the program's memory. */
static inline void *rci_raw_alloc_plain(rc_heap *h, size_t n)
{
    rci_count_alloc(h);
    if (rci_likely(n <= RC_SMALL_MAX))
        return rci_bin_alloc(h, &h->raw[rci_raw_class(n)]);
    return rci_alloc_big(h, n);
}

/* While tracing: should a block of size bytes be recorded?  Always when
   exact; when sampling, only when the byte countdown runs out (checked
   here, inline, so the blocks not sampled cost no call). */
static inline bool rci_trace_wants(rc_heap *h, size_t size)
{
    if (!h->sample_mean)
        return true;
    h->sample_left -= (int64_t)size;
    return h->sample_left <= 0;
}

/* While tracing: forget block if its pool holds traced blocks at all. */
static inline void rci_trace_untrace(rc_heap *h, void *block)
{
    if (rci_pool_of(block)->traced)
        rci_trace_forget(h, block);
}

/* Raw blocks for the library's own buffers and the debug layer: traced
   while the heap traces, never checked. */
static inline void *rci_raw_alloc(rc_heap *h, size_t n)
{
    void *p = rci_raw_alloc_plain(h, n);
    if (rci_unlikely(h->hooks & RCI_HOOK_TRACE) && p && rci_trace_wants(h, n))
        rci_trace_record(h, p, n);
    return p;
}

static inline void rci_raw_free_plain(rc_heap *h, void *p)
{
    h->frees++;
    rci_block_free(h, p);
}

static inline void rci_raw_free(rc_heap *h, void *p)
{
    if (rci_unlikely(h->hooks & RCI_HOOK_TRACE))
        rci_trace_untrace(h, p);
    h->frees++;
    rci_block_free(h, p);
}

/* rci_vec (heap.c): push returns false when the page source refuses. */
RCI_HIDDEN bool rci_vec_reserve(rc_heap *h, rci_vec *v, size_t cap);
static inline bool rci_vec_push(rc_heap *h, rci_vec *v, void *item)
{
    if (rci_unlikely(v->len == v->cap) && !rci_vec_reserve(h, v, v->len + 1))
        return false;
    v->items[v->len++] = item;
    return true;
}
RCI_HIDDEN void rci_vec_free(rc_heap *h, rci_vec *v);

/* object.c */
RCI_HIDDEN void rci_object_dying(rc_heap *h, void *obj);
/* The same when the caller knows obj's type record r (the collector). */
RCI_HIDDEN void rci_object_dying_as(rc_heap *h, rci_typerec *r, void *obj);
/* The collector's cleared garbage: destroy and free, no traverse. */
RCI_HIDDEN void rci_object_free_cleared(rc_heap *h, rci_typerec *r, void *obj);
RCI_HIDDEN void rci_release_pending(rc_heap *h);
RCI_HIDDEN void rci_object_teardown(rc_heap *h);
RCI_HIDDEN void rci_reap_zombies(rc_heap *h);
RCI_HIDDEN void rci_track(rc_heap *h, rc_head *hd);
RCI_HIDDEN void rci_untrack(rc_heap *h, rc_head *hd);
RCI_HIDDEN void rci_set_gen(rc_heap *h, rc_head *hd, unsigned gen);
RCI_HIDDEN void rci_young_flatten(rc_heap *h, unsigned g);
RCI_HIDDEN void rci_gen_reenter(rc_heap *h, rc_head *hd, unsigned from, unsigned to);
RCI_HIDDEN void rci_visit_release(void **slot, void *ctx);
RCI_HIDDEN void rci_object_free_parked(rc_heap *h, void *obj);
RCI_HIDDEN void rci_object_unpark(rc_heap *h, void *obj);
RCI_HIDDEN int rci_object_validate(const rc_heap *h);
RCI_HIDDEN bool rci_may_be_tracked(const void *obj);

/* gc.c */
RCI_HIDDEN void rci_gc_init(rc_heap *h);
RCI_HIDDEN void rci_gc_release(rc_heap *h);
RCI_HIDDEN void rci_gc_maybe(rc_heap *h);
RCI_HIDDEN void rci_gc_update_trigger(rc_heap *h);

/* weakref.c */
RCI_HIDDEN void rci_weakref_clear(rc_heap *h, void *obj, bool callbacks);
RCI_HIDDEN size_t rci_weakref_gc_clear(rc_heap *h, void *obj, rci_vec *calls,
                                       bool dry_run);
RCI_HIDDEN bool rci_weakref_call(rc_weakref *w);

/* types/core.c: the heap's hash key, from cfg.hash_seed or getrandom */
RCI_HIDDEN void rci_hash_key_init(rc_heap *h);
/* types/core.c: is t one of the library's types (they never share pools)? */
RCI_HIDDEN bool rci_type_builtin(const rc_type *t);

/* ---- Walking objects --------------------------------------------------------
 * Inline, so that each caller gets a loop specialized for its fn (the
 * collector's passes run these over every candidate). */
#define RCI_INLINE static inline __attribute__((always_inline))
typedef void (*rci_object_fn)(rc_heap *h, rci_typerec *r, rc_head *hd, void *ctx);

/* Call fn for every live object of a shared pool (of a scanned type only,
   if scanned_only). */
RCI_INLINE void rci_walk_shared_pool(rc_heap *h, rci_pool *p, bool scanned_only,
                                     rci_object_fn fn, void *ctx)
{
    const uint16_t *ids = rci_pool_type_ids(p);
    char *b = rci_pool_start(p);
    for (size_t i = 0; i < p->carved; i++, b += p->block_size) {
        rc_head *hd = (rc_head *)b;
        if (hd->flags & RCI_F_FREE)
            continue;
        rci_typerec *r = h->type_ids.items[ids[i] - 1];
        if (r->scanned || !scanned_only)
            fn(h, r, hd, ctx);
    }
}

/* Call fn for every live object in pool p (of a scanned type only, if
   scanned_only: a pool of one type was chosen by rci_pool_wanted). */
RCI_INLINE void rci_walk_pool(rc_heap *h, rci_pool *p, bool scanned_only, rci_object_fn fn,
                              void *ctx)
{
    rci_typerec *r = p->bin->rec;
    if (!r) {
        rci_walk_shared_pool(h, p, scanned_only, fn, ctx);
        return;
    }
    char *b;
    size_t stride, n;
    if (p->kind == RCI_POOL_SMALL) {
        b = rci_pool_start(p);
        stride = p->block_size;
        n = p->carved;
    } else {
        b = p->kind == RCI_POOL_HUGE ? (char *)rci_arena_of(p) + RCI_HUGE_OFFSET
                                     : rci_pool_start(p);
        stride = 0;
        n = 1;
    }
    for (; n--; b += stride) {
        rc_head *hd = (rc_head *)b;
        if (!(hd->flags & RCI_F_FREE))
            fn(h, r, hd, ctx);
    }
}

/* Does p hold objects (of a type the collector examines, if scanned_only)?
   A shared pool may: its walk looks at each object's type. */
static inline bool rci_pool_wanted(const rci_pool *p, bool scanned_only)
{
    if (!p->bin)
        return false;
    if (p->bin->shared)
        return true;
    return p->bin->rec && (p->bin->rec->scanned || !scanned_only);
}

/* Call fn for every live object (of scanned types only, if scanned_only). */
RCI_INLINE void rci_for_each_object(rc_heap *h, bool scanned_only, rci_object_fn fn,
                                    void *ctx)
{
    for (rci_arena *a = h->arenas; a; a = a->all_next)
        for (size_t i = RCI_HEADER_PAGES; i < RCI_ARENA_PAGES;) {
            rci_pool *p = rci_pool_at(a, i);
            if (p && rci_pool_wanted(p, scanned_only))
                rci_walk_pool(h, p, scanned_only, fn, ctx);
            i += p ? p->npages : 1;
        }
    for (rci_arena *a = h->huge; a; a = a->next)
        if (rci_pool_wanted(&a->pools[0], scanned_only))
            rci_walk_pool(h, &a->pools[0], scanned_only, fn, ctx);
}

/* debug.c */
RCI_HIDDEN void *rci_debug_alloc(rc_heap *h, size_t n);
RCI_HIDDEN void rci_debug_free(rc_heap *h, void *p);
RCI_HIDDEN size_t rci_debug_usable(const void *p);
/* A freed object's block, held back from reuse on a debug heap (stamped
   freed, payload poisoned); false: not held, free it now. */
RCI_HIDDEN bool rci_quarantine_push(rc_heap *h, rc_head *hd);
/* Free every held block, checking that none was written since. */
RCI_HIDDEN void rci_quarantine_flush(rc_heap *h);
/* Take the held blocks out of the live counts of s (rc_alloc_stats_get). */
RCI_HIDDEN void rci_quarantine_uncount(const rc_heap *h, rc_alloc_stats *s);

/* Misuse reports.  rci_describe writes "0x... (type 'T', allocated in f at
   file:line)" (the site when the heap traces it; ", freed" for a freed
   object) into buf; RCI_DESCRIBE bytes are enough. */
#define RCI_DESCRIBE 320
RCI_HIDDEN const char *rci_describe(const void *obj, char *buf);
/* Stop with a message unless obj is a live object on a live heap: checks
   what it points at without trusting it (mapped memory, heap magic, block
   boundaries), so a stray pointer gets a message, not a crash, wherever
   that can be told.  Returns the object's heap. */
RCI_HIDDEN rc_heap *rci_check_object(const void *obj, const char *fn);
/* The same once obj's arena header and its owner h are known to be
   readable (the caller already read them): the heap magic and the block. */
RCI_HIDDEN rc_heap *rci_check_live(rc_heap *h, const void *obj, const char *fn);
/* Record err on h and return -1 (for int results) or NULL (types/errors.c);
   with a message: rc_error_setf (public) and rci_failf_null (printf
   format, truncated to fit). */
RCI_HIDDEN int rci_fail(rc_heap *h, rc_error err);
RCI_HIDDEN void *rci_fail_null(rc_heap *h, rc_error err);
RCI_HIDDEN void *rci_failf_null(rc_heap *h, rc_error err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* rc_heap_free: collect, then report what is still alive to cfg.on_leak
   (a debug heap: stderr), saying what the collection freed (leaks.c). */
RCI_HIDDEN void rci_leak_teardown_report(rc_heap *h);
/* rc_heap_free: drop the exception rc_error_raise stored (types/errors.c). */
RCI_HIDDEN void rci_error_release(rc_heap *h);
/* Misuse that a call can refuse: a debug heap stops with "fn: what" and
   the object's description; another records err on h.  Returns -1. */
RCI_HIDDEN int rci_misuse(rc_heap *h, rc_error err, const char *fn, const void *obj,
                          const char *what);
/* item, about to be stored in an object of heap h, lives on another heap:
   RC_EFOREIGN (a debug heap stops naming both).  Returns -1. */
RCI_HIDDEN int rci_foreign(rc_heap *h, const char *fn, const void *item);
/* fn was given obj, which is not a live object of type want: RC_ETYPE.
   A debug heap stops when obj was freed, or when the call cannot return a
   status (status false: an accessor, which returns its documented value).
   Containers' functions pass status true. */
RCI_HIDDEN void rci_wrong_type(const void *obj, const rc_type *want, const char *fn,
                               bool status);
/* Is obj a live object of built-in type t?  The accessors' check: the type of
   the pool's bin, and the header's free bit (a freed object in quarantine). */
static inline bool rci_is_live(const void *obj, const rc_type *t)
{
    /* t is a built-in type, whose objects are never in shared pools */
    return rci_pool_of(rci_head(obj))->bin->type == t && !(rci_head(obj)->flags & RCI_F_FREE);
}

#endif /* RC_INTERNAL_H */
