/*
 * rcgc.h — the one public header of rcgc.
 *
 * rcgc gives C programs Python's memory-management system: a pooled
 * small-object allocator, reference-counted objects with a generational
 * cycle collector, weak references, and the tracing tools around them.
 *
 * Thread rule (applies to every function below unless it says otherwise):
 * a heap is used by one thread at a time.  Different heaps may be used from
 * different threads in parallel without locks; nothing is shared between
 * heaps and the library keeps no global state.
 *
 * Failure rule: a function that can fail says so (NULL or -1) and leaves the
 * heap consistent and usable.  Nothing aborts on out-of-memory.  Misuse that
 * a debug heap detects (double free, foreign pointer, damaged guard bytes)
 * stops the program with a message naming the address and its size class.
 */
#ifndef RCGC_H
#define RCGC_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__) && !defined(RC_BUILDING_STATIC)
#define RC_API __attribute__((visibility("default")))
#else
#define RC_API
#endif

#define RC_VERSION_MAJOR 0
#define RC_VERSION_MINOR 1
#define RC_VERSION_PATCH 0
#define RC_VERSION "0.1.0"

/* ------------------------------------------------------------------------
 * Page source: where a heap gets every byte it uses.
 *
 * The default (all members NULL) maps anonymous memory with mmap, returns it
 * with munmap and gives empty pages back with madvise(MADV_DONTNEED).  A
 * program may pass its own functions, for instance to place the heap in a
 * fixed region or to inject failures in tests.
 */
typedef struct rc_page_source {
    /* Return `size` bytes aligned to `align`, or NULL on failure.  `size` is
       a multiple of 4096, `align` a power of two >= 4096.  The memory need
       not be zeroed. */
    void *(*alloc)(void *ctx, size_t size, size_t align);
    /* Give back a region returned by alloc, with the same size. */
    void (*free)(void *ctx, void *p, size_t size);
    /* Optional (NULL: never called).  The heap no longer needs the contents
       of these whole pages but keeps the address range; the source may
       release the physical memory (madvise).  The heap rewrites the pages
       before it reads them again. */
    void (*purge)(void *ctx, void *p, size_t size);
    void *ctx; /* passed to the three functions */
} rc_page_source;

/* The default source's functions, for page sources that wrap them (a test
   that fails the Nth request calls these for the others). ctx is unused. */
RC_API void *rc_page_mmap_alloc(void *ctx, size_t size, size_t align);
RC_API void  rc_page_mmap_free(void *ctx, void *p, size_t size);
RC_API void  rc_page_mmap_purge(void *ctx, void *p, size_t size);

/* ------------------------------------------------------------------------
 * Heaps
 */
typedef struct rc_heap rc_heap;

typedef struct rc_config {
    rc_page_source pages;   /* all NULL: mmap (see rc_page_source) */
    int debug;              /* nonzero: poison, guard bytes, misuse checks */
    size_t purge_bytes;     /* empty pool pages kept committed before they
                               go back to the OS; 0 means the default 1 MiB */
    size_t retain_bytes;    /* empty arenas kept mapped (their pages purged)
                               rather than unmapped; at least one arena
                               (1 MiB), which is the default */
} rc_config;

/* Fill *cfg with the defaults (the same as passing NULL to rc_heap_new). */
RC_API void rc_config_init(rc_config *cfg);

/* A new, empty heap.  cfg NULL: defaults.  The configuration is copied.
   Returns NULL if the page source cannot provide the first arena.  The
   environment variable RCGC_DEBUG=1 turns debug mode on for every heap. */
RC_API rc_heap *rc_heap_new(const rc_config *cfg);

/* Reclaims everything the heap still holds and returns it all to the page
   source.  NULL is ignored. */
RC_API void rc_heap_free(rc_heap *h);

/* Give every empty pool page back to the page source now, release the
   empty pool each size class keeps, and unmap every empty arena.  Returns
   the bytes released. */
RC_API size_t rc_heap_trim(rc_heap *h);

/* Check every invariant of the heap: allocator pools and arenas, counts,
   free lists.  Returns 0 when all hold; otherwise writes what is wrong to
   stderr and returns -1.  Costs a walk of the whole heap: for tests. */
RC_API int rc_heap_validate(const rc_heap *h);

/* Make the Nth page request from now fail (1: the next one); 0 turns the
   countdown off.  The request fails whatever the page source would do: the
   hook fault-injection tests use to sweep every failure point. */
RC_API void rc_heap_fail_page_request(rc_heap *h, unsigned long nth);

/* ------------------------------------------------------------------------
 * Raw blocks
 *
 * General-purpose memory on a heap, for types' buffers and for users.
 * Small requests (<= RC_SMALL_MAX bytes) come from pools of equal-sized
 * blocks without any per-block header; larger ones from runs of pages
 * inside arenas, and the largest from their own mapping.  Every returned
 * pointer is aligned to 16 bytes.
 */
#define RC_SMALL_MAX 16384  /* largest request served from a size class */

/* n bytes, or NULL on failure (the page source refused, or n is too large
   to represent).  n == 0 returns a unique minimal block. */
RC_API void *rc_mem_alloc(rc_heap *h, size_t n);

/* n zeroed bytes: nmemb * size, checked for overflow; NULL on failure. */
RC_API void *rc_mem_calloc(rc_heap *h, size_t nmemb, size_t size);

/* Resize p to n bytes, keeping the common prefix.  p NULL: like
   rc_mem_alloc.  On failure returns NULL and p is untouched and still
   owned by the caller.  n == 0 returns a minimal block (p is freed). */
RC_API void *rc_mem_realloc(rc_heap *h, void *p, size_t n);

/* Return p to the heap.  NULL is ignored.  p must come from this heap. */
RC_API void rc_mem_free(rc_heap *h, void *p);

/* The bytes usable at p (its size class, or the page-rounded size). */
RC_API size_t rc_mem_usable_size(const rc_heap *h, const void *p);

/* ------------------------------------------------------------------------
 * Allocator statistics: always on, read on demand.
 */
#define RC_SIZE_CLASSES 40

typedef struct rc_class_stats {
    size_t block_size;    /* bytes per block in this class */
    size_t pools;         /* pools of this class */
    size_t blocks_used;   /* live blocks */
    size_t blocks_free;   /* blocks of those pools not in use */
} rc_class_stats;

/* One X-macro list: the struct, the printer and the tests come from it. */
#define RC_ALLOC_STATS(X)                                                     \
    X(os_bytes,        "bytes held from the page source")                    \
    X(committed_bytes, "bytes that may be resident (held less purged)")      \
    X(arenas,          "arenas mapped (empty kept ones included)")                     \
    X(pools,           "pools in use")                                       \
    X(dirty_pages,     "empty pages not yet returned to the OS")             \
    X(small_bytes,     "bytes in live small blocks")                         \
    X(small_blocks,    "live small blocks")                                  \
    X(large_bytes,     "bytes in live page-run blocks")                      \
    X(large_blocks,    "live page-run blocks")                               \
    X(huge_bytes,      "bytes in live blocks with their own mapping")        \
    X(huge_blocks,     "live blocks with their own mapping")                 \
    X(allocs,          "allocations since the heap was made")                \
    X(frees,           "frees since the heap was made")                      \
    X(page_requests,   "page source requests")                               \
    X(page_failures,   "page source requests that failed")                   \
    X(purged_bytes,    "bytes given back with purge since the heap was made")

typedef struct rc_alloc_stats {
#define RC_STATS_FIELD(name, text) size_t name;
    RC_ALLOC_STATS(RC_STATS_FIELD)
#undef RC_STATS_FIELD
    double fragmentation;  /* 1 - live bytes / committed bytes, in [0,1] */
    rc_class_stats classes[RC_SIZE_CLASSES];
} rc_alloc_stats;

/* Fill *out with the heap's allocator statistics (walks the pools). */
RC_API void rc_alloc_stats_get(const rc_heap *h, rc_alloc_stats *out);

/* Print the statistics as a readable table, one row per size class in use
   (like Python's sys._debugmallocstats(), but readable). */
RC_API void rc_alloc_stats_print(const rc_heap *h, FILE *out);

#ifdef __cplusplus
}
#endif
#endif /* RCGC_H */
