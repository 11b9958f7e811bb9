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
 * Failure rule: a function that can fail says so (NULL or -1), records why
 * on the heap (rc_last_error), and leaves the heap consistent and usable.
 * Nothing aborts on out-of-memory.  Misuse that a debug heap detects
 * (double free, foreign pointer, damaged guard bytes, a freed object used,
 * an object of another heap stored) stops the program with a message
 * naming the address and its size class or the object and its type.
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

typedef struct rc_leak rc_leak; /* see rc_leak_report */

typedef struct rc_config {
    rc_page_source pages;   /* all NULL: mmap (see rc_page_source) */
    int debug;              /* nonzero: poison, guard bytes, misuse checks */
    size_t purge_bytes;     /* empty pool pages kept committed before they
                               go back to the OS; 0 means the default 1 MiB */
    size_t retain_bytes;    /* empty arenas kept mapped (their pages purged)
                               rather than unmapped; at least one arena
                               (1 MiB), which is the default */
    unsigned gc_threshold[3]; /* all 0: 700, 10, 10 (see rc_gc_set_threshold) */
    int gc_disabled;        /* nonzero: no automatic collection */
    int trace_frames;       /* > 0: trace from the start with this many frames */
    /* Called by rc_heap_free with each group of objects still alive (see
       rc_leak_report), after a full collection has freed the cyclic
       garbage (rc_leak.collected_*: what it freed; finalizers and weak
       reference callbacks run as in any collection).  NULL: a debug heap
       collects and prints the same on stderr, others neither collect nor
       say anything. */
    void (*on_leak)(const rc_leak *leak, void *ctx);
    void *on_leak_ctx;
    /* The key of the str and bytes hash (SipHash-1-3, see rc_hash).  0: a
       random key per heap from getrandom(2), so that nobody outside the
       process can choose keys that collide; any other value fixes the key
       (derived from it), for runs that must repeat exactly.  Do not fix it
       in a program that hashes untrusted text. */
    uint64_t hash_seed;
    /* How long empty pool pages beyond purge_bytes may sit unused before
       they go back to the OS (empty arenas beyond retain_bytes: unmapped).
       Pages freed and taken again within that time stay resident, so a
       heap that empties and refills does not fault its memory in again.
       The allocator reads the clock only on its slow paths and every
       1024th allocation, so a heap with no calls at all keeps its pages
       until its next call (rc_heap_trim gives them back at once).
       0: RC_PURGE_DELAY_MS; negative: at once, whenever more than
       purge_bytes are empty. */
    int purge_delay_ms;
} rc_config;
#define RC_PURGE_DELAY_MS 1000

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
   empty pool each size class keeps, empty the built-in types' free lists,
   and unmap every empty arena.  Returns the bytes released. */
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
   to represent: rc_last_error is RC_ENOMEM).  n == 0 returns a unique
   minimal block. */
RC_API void *rc_mem_alloc(rc_heap *h, size_t n);

/* n zeroed bytes: nmemb * size, checked for overflow; NULL on failure
   (RC_EOVERFLOW or RC_ENOMEM). */
RC_API void *rc_mem_calloc(rc_heap *h, size_t nmemb, size_t size);

/* Resize p to n bytes, keeping the common prefix.  p NULL: like
   rc_mem_alloc.  On failure returns NULL (RC_ENOMEM) and p is untouched
   and still owned by the caller.  n == 0 returns a minimal block (p is
   freed). */
RC_API void *rc_mem_realloc(rc_heap *h, void *p, size_t n);

/* Return p to the heap.  NULL is ignored.  p must come from this heap. */
RC_API void rc_mem_free(rc_heap *h, void *p);

/* The bytes usable at p (its size class, or the page-rounded size). */
RC_API size_t rc_mem_usable_size(const rc_heap *h, const void *p);

/* ------------------------------------------------------------------------
 * Allocator statistics: always on, read on demand.
 */
#define RC_SIZE_CLASSES 47

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


/* ------------------------------------------------------------------------
 * Managed objects
 *
 * An object is a payload with an 8-byte header in front of it: a 32-bit
 * reference count and 32 bits of flags (collector generation, finalized,
 * has-weakrefs, and the collector's scratch count).  Its type is not stored
 * per object: objects live in pools of one type, and the pool knows it.
 * A pointer to an object points at its payload, which is 8-byte aligned.
 *
 * Reference rules (as in CPython): constructors return a new reference
 * (count 1); container getters return borrowed references; setters and
 * append take their own reference and never steal the caller's.
 *
 * Heaps stay apart: an object never holds a reference to an object of
 * another heap.  Each heap's collector, release loop and weak references
 * run alone, on the thread using that heap, and count only their own
 * objects; a reference across heaps would be a cycle no collector can see,
 * and a data race when the heaps run on two threads.  The library refuses
 * such references wherever it can see the owner: rc_list_append, _set,
 * _insert and _extend, rc_dict_set (key and value) and _update, rc_tuple,
 * rc_frozenset, rc_set_add, rc_set_member and rc_weakcache_put fail with
 * -1 (NULL for rc_tuple and rc_frozenset) and RC_EFOREIGN, the container
 * unchanged.  The lookups (rc_dict_get, _del, _contains, _pop,
 * rc_set_contains, _discard) refuse a key of another heap the same way:
 * str and bytes hash with a key per heap, so such a lookup would miss an
 * equal key.  The check compares the two objects' arenas (one
 * XOR; the arenas' owners only when they differ): about 2 instructions
 * per call, measured in docs/OBJECTS.md.  A debug heap stops instead, with
 * a message naming both objects.  A user type's traverse that reports an
 * object of another heap anyway (stored with plain rc_set) is not trusted:
 * the collector skips that reference as if it came from outside, counts it
 * in rc_gc_stats.foreign, and a debug heap stops naming both objects.
 * Raw C pointers to other heaps' objects (not reported by traverse) are
 * the program's business, as any borrowed pointer.
 *
 * Misuse (see docs/RELIABILITY.md): a debug heap (rc_config.debug or
 * RCGC_DEBUG=1) stops with a message naming the object, its type and,
 * while the heap traces, where it was allocated, for a decref of a freed
 * object (freed objects wait in a quarantine of 4096 before their memory
 * is reused, so a stray decref cannot hit the object that took the slot),
 * of a raw block, of a pointer to no heap or to a freed heap's memory
 * still mapped, for an accessor given the wrong type, and for a reference
 * across heaps.  A freed object's payload is filled with 0xDD and poisoned
 * for AddressSanitizer and valgrind, so a read through a stale pointer is
 * reported where it happens.  Without debug mode the same calls fail with
 * rc_last_error set where they return a status, and decref of a freed or
 * stray pointer still stops with a message where it reaches the slow path
 * (the last reference).  Not detectable: a decref through a pointer whose
 * memory was unmapped (rc_heap_free with the default page source) faults
 * on the read of the count, and an incref of a freed object does nothing.
 */
typedef struct rc_heap rc_heap;
typedef void (*rc_visit_fn)(void **slot, void *ctx);

/* A type is known to a heap by its address: the heap keeps a record of
   each rc_type it made an object of until rc_heap_free (census, leak
   report and teardown read its name and slots, after its last object
   died too).  So an rc_type, and the name it points to, must stay valid
   and unchanged until every heap that used it is freed, and its address
   must not be reused for another type meanwhile: make a runtime's
   dynamic types (one per class) in memory that outlives the heap, or
   forget each with rc_type_forget once its objects are gone.  Types
   are cheap: a type with few objects puts them in pools shared with
   other types of the same block size (docs/OBJECTS.md, "Dynamic
   types"). */
typedef struct rc_type {
    const char *name;  /* for messages, census and traces */
    size_t size;       /* payload bytes; 0 for variable-size types */
    /* Report every slot that holds a managed reference (NULL slots may be
       reported or skipped).  NULL: the type holds none (a leaf: never
       tracked by the collector).  The heap uses it to release children,
       find cycles and answer referrers/referents; it may set a reported
       slot to NULL (when it breaks a garbage cycle). */
    void (*traverse)(void *self, rc_visit_fn visit, void *ctx);
    /* Runs at most once, before the object's memory is reclaimed, whether it
       dies by refcount or by the collector.  May resurrect (store a new
       reference to self somewhere): then the object is not reclaimed, and
       finalize never runs for it again. */
    void (*finalize)(void *self);
    /* Releases what is not managed (file descriptors, malloc'd buffers).
       Managed children are released by the heap through traverse; destroy
       must not touch them (they may already be NULL or gone). */
    void (*destroy)(void *self);

    /* Behaviour (all optional, added after the five fields above so that
       initializers written for them still compile; NULL means Python's
       default for an object without the method).  The library calls them
       from rc_hash, rc_equal, rc_compare, rc_repr and the size
       introspection, and so from every container that hashes, compares
       or prints its items.  They may call back into the library (compare
       or print the object's own fields with rc_equal, rc_repr, ...), but
       must not change a container the call came from (a dict or set being
       looked up notices and fails with RC_EMUTATED) nor release self.
       Errors: a slot that fails returns -1 after recording why with
       rc_error_set on self's heap (nothing recorded: RC_EVALUE). */

    /* self's hash into *out, 0; or -1 when self is unhashable (record
       RC_EUNHASHABLE, as a mutable object should).  Objects that compare
       equal must hash alike.  NULL: hash by identity (unless eq is set:
       then the type is unhashable, as a Python class that defines __eq__
       without __hash__). */
    int (*hash)(const void *self, uint64_t *out);
    /* 1 if self equals other, 0 if not, -1 on error.  other may be of any
       type; rc_equal asks a's type first, then b's with the arguments
       swapped.  NULL: equal only to itself. */
    int (*eq)(const void *self, const void *other);
    /* Order self against other: 0 with *out < 0, 0 or > 0; -1 when they
       cannot be ordered (record RC_ETYPE).  Asked as eq is (b's with the
       result negated).  NULL: not orderable. */
    int (*compare)(const void *self, const void *other, int *out);
    /* Write self's text to out (as Python's repr), 0; -1 on an output
       error.  NULL: "<name object at 0x...>". */
    int (*repr)(const void *self, FILE *out);
    /* Bytes of memory self owns outside its payload (a malloc'd buffer):
       counted by rc_deep_size, rc_retained_size, rc_top_retainers and the
       census.  NULL: none. */
    size_t (*owned_bytes)(const void *self);
    /* The collector's clear (CPython's tp_clear), for a type whose
       references must be dropped in a chosen order: drop them with
       rc_set(&slot, NULL) (or rc_decref, then NULL the slot), in that
       order.  Called once on each garbage object the collector frees,
       after every finalizer and weak reference callback of the
       collection ran, in the order the garbage was found; what it keeps
       is released through traverse when self dies.  NULL: every slot
       traverse reports is cleared, in traverse's order.  A clear that
       keeps a reference closing a cycle leaves the cycle alive (counted
       as collected all the same); the next collection of its generation
       finds it again and clears it again. */
    void (*clear)(void *self);
} rc_type;

/* Tagged values (QuickJS's JSValue, Lua's TValue, NaN-boxed doubles): a
   slot that holds either a reference or a plain value, in the program's
   own encoding.  traverse describes such a slot by calling rc_visit_value
   with the slot and a codec that decodes it, instead of calling visit
   directly; the heap then sees the reference (if any) like any other:
   the collector counts and clears it, release drops it, introspection
   follows it.
     static void *js_decode(const void *slot)
     {   const JSValue *v = slot;
         return JS_VALUE_HAS_REF_COUNT(*v) ? JS_VALUE_GET_PTR(*v) : NULL; }
     static void js_clear(void *slot) { *(JSValue *)slot = JS_UNDEFINED; }
     static const rc_value_codec js_codec = {js_decode, js_clear};
     ... traverse: rc_visit_value(&obj->field, &js_codec, visit, ctx); */
typedef struct rc_value_codec {
    /* The object the value at slot refers to, or NULL when it holds a
       plain value (a number, a boolean, an atom). */
    void *(*decode)(const void *slot);
    /* Store at slot a plain value that refers to nothing: the heap does
       so when it drops the reference (breaking a garbage cycle, releasing
       a dead object's children). */
    void (*clear)(void *slot);
} rc_value_codec;

/* Report the tagged value at slot to visit (for use inside traverse):
   nothing when codec->decode finds no reference; codec->clear when the
   heap drops it. */
RC_API void rc_visit_value(void *slot, const rc_value_codec *codec, rc_visit_fn visit,
                           void *ctx);

/* Declare that objects of type t on heap h can never be part of a cycle
   (they only ever refer to objects created before them, say): the
   collector never examines them, while traverse still releases their
   children.  Objects of t already on h stop being tracked.  0, or -1 when
   out of memory (RC_ENOMEM).  Idempotent. */
RC_API int rc_type_acyclic(rc_heap *h, const rc_type *t);

/* Give type t pools of its own on heap h from now on: its next objects
   skip the shared pools (where a type's first 32 objects go otherwise),
   so rc_typeof finds their type inline instead of through
   rc_typeof_slow.  For a type with few objects that are looked at often
   (an interpreter's primitives, a singleton's class); call it before
   making them: objects already in shared pools stay there (an object
   never moves).  Costs the type a pool (64 KiB of address space, a page
   touched per size class used).  0, or -1 when out of memory (RC_ENOMEM).
   Idempotent; built-in types always have their own. */
RC_API int rc_type_own_pools(rc_heap *h, const rc_type *t);

/* Forget type t on heap h: the heap drops its record of t (census row,
   rc_type_acyclic and rc_type_own_pools marks) and the pools it kept
   for t, so t's memory may then be freed or reused for another type
   while h lives on (the rule above otherwise holds until rc_heap_free).
   Requires that no object of t is alive on h, nor dying (call it outside
   t's slots and finalizers): -1 with RC_EVALUE ("rc_type_forget: type 'T'
   has 3 live objects") when some are, and t stays known; also -1 for a
   built-in type.  0 when done, or when h never knew t.  A census or
   snapshot taken before still names t: free it first.  Using t again
   later is fine (a new record is made); freeing t without this call
   while h lives is undefined (a later type at the same address would
   inherit the old record). */
RC_API int rc_type_forget(rc_heap *h, const rc_type *t);

/* Object header; private, here only for the inline reference counting. */
typedef struct rc_head {
    uint32_t refcnt;  /* references; >= RC_IMMORTAL: immortal */
    uint32_t flags;   /* owned by the heap */
} rc_head;
#define RC_IMMORTAL 0x80000000u
#define RC_HEAD(obj) ((rc_head *)(obj) - 1)

/* Private: what the inline accessors (rc_typeof, rc_list_item, ...) read.
   An object's arena is its header's address rounded down to
   RC_PRIV_ARENA; the arena starts with its heap's address, and its page
   table and pool descriptors lead to the bin of the object's pool, which
   names the type (NULL: a pool shared by many types).  A heap starts with
   8 bytes, then its rc_config.  The library checks every number here
   against its own layout (_Static_assert in src/rc_internal.h). */
#define RC_PRIV_ARENA ((uintptr_t)1 << 20)
#define RC_PRIV_PAGE_SHIFT 12
#define RC_PRIV_HEAD_OF 128    /* arena: page -> pool slot, one byte each */
#define RC_PRIV_POOLS 384      /* arena: pool descriptors */
#define RC_PRIV_POOL_SIZE 64   /* bytes of a descriptor */
#define RC_PRIV_POOL_BIN 24    /* descriptor: its bin */
#define RC_PRIV_BIN_TYPE 32    /* bin: the type of its objects, or NULL */
#define RC_PRIV_HEAP_CFG 8     /* heap: its rc_config */
#define RC_PRIV_ARENA_OF(obj) ((uintptr_t)RC_HEAD(obj) & ~(RC_PRIV_ARENA - 1))
static inline int rc_priv_debug(const void *obj)
{
    const char *heap = *(const char *const *)RC_PRIV_ARENA_OF(obj);
    return ((const rc_config *)(heap + RC_PRIV_HEAP_CFG))->debug;
}
typedef struct rc_priv_list {
    size_t len, cap;
    void **items;
} rc_priv_list;
typedef struct rc_priv_tuple {
    uint32_t hash, n;
    void *items[];
} rc_priv_tuple;
typedef struct rc_priv_str {
    uint32_t hash, len, chars;  /* len's top bit: interned */
    char data[];
} rc_priv_str;

/* A new object of fixed-size type t (t->size > 0), payload zeroed, count 1.
   May run an automatic collection first.  NULL on failure (rc_last_error:
   RC_ENOMEM). */
RC_API void *rc_new(rc_heap *h, const rc_type *t);

/* A new object of type t with payload_bytes of zeroed payload (for types
   whose size varies: strings, arrays).  NULL on failure (RC_ENOMEM) or
   overflow (RC_EOVERFLOW). */
RC_API void *rc_new_var(rc_heap *h, const rc_type *t, size_t payload_bytes);

/* Out-of-line half of rc_decref; call that instead. */
RC_API void rc_decref_slow(void *obj);

/* rc_incref and rc_decref are C99 inline functions: calls inline, and the
   library also exports them for callers that take their address. */

/* One more reference to obj.  NULL is ignored.  Immortal objects do not
   change.  A count that reaches 2^31 saturates: the object becomes
   immortal. */
RC_API inline void rc_incref(void *obj)
{
    if (obj) {
        uint32_t n = RC_HEAD(obj)->refcnt;
        if (n < RC_IMMORTAL)
            RC_HEAD(obj)->refcnt = n + 1;
    }
}

/* One reference fewer.  NULL is ignored.  At zero: finalize (once), weak
   references cleared and their callbacks run (newest first), children
   released through traverse, destroy, memory reclaimed.  Never recurses:
   dropping the head of a chain of any length uses constant C stack.  The
   fast path handles counts 2..2^31-1; everything else (the last reference,
   immortal objects, misuse) goes to rc_decref_slow. */
RC_API inline void rc_decref(void *obj)
{
    if (obj) {
        uint32_t n = RC_HEAD(obj)->refcnt;
        if (n - 2u < RC_IMMORTAL - 2u)
            RC_HEAD(obj)->refcnt = n - 1;
        else
            rc_decref_slow(obj);
    }
}

/* *slot = value, keeping counts right: incref value, store, decref the old
   value (in that order, so value == *slot is safe).  value may be NULL.
   rc_set cannot tell which object the slot belongs to, so it cannot check
   that value lives on the same heap: inside an object, use rc_set_member. */
RC_API void rc_set(void **slot, void *value);

/* rc_set for a slot of owner's payload, refusing a value of another heap
   (see "Heaps stay apart"): 0, or -1 with RC_EFOREIGN on owner's heap and
   nothing changed.  A debug heap also stops when slot is not inside
   owner's payload. */
RC_API int rc_set_member(void *owner, void **slot, void *value);

/* The reference count (immortal objects: a value >= RC_IMMORTAL). */
RC_API size_t rc_refcount(const void *obj);

/* The type the object was created with.  A C99 inline function (three
   dependent loads from the object's arena header, no call); objects of
   types with few objects, in shared pools, take the out-of-line
   rc_typeof_slow (which answers for any object). */
RC_API const rc_type *rc_typeof_slow(const void *obj);
/* Private: the type named by the bin of obj's pool, NULL for a shared pool. */
RC_API inline const rc_type *rc_priv_bin_type(const void *obj)
{
    uintptr_t a = RC_PRIV_ARENA_OF(obj);
    unsigned slot = ((const unsigned char *)(a + RC_PRIV_HEAD_OF))
        [((uintptr_t)RC_HEAD(obj) - a) >> RC_PRIV_PAGE_SHIFT];
    const char *bin = *(const char *const *)(a + RC_PRIV_POOLS + slot * RC_PRIV_POOL_SIZE +
                                             RC_PRIV_POOL_BIN);
    return *(const rc_type *const *)(bin + RC_PRIV_BIN_TYPE);
}
RC_API inline const rc_type *rc_typeof(const void *obj)
{
    const rc_type *t = rc_priv_bin_type(obj);
    return t ? t : rc_typeof_slow(obj);
}

/* The heap the object lives on. */
RC_API rc_heap *rc_heap_of(const void *obj);

/* Make obj immortal: its count never changes again and it is never freed
   before rc_heap_free.  For singletons and shared constants.  An immortal
   object is no longer tracked by the collector. */
RC_API void rc_make_immortal(void *obj);
RC_API int rc_is_immortal(const void *obj);

/* Payload bytes of obj (for rc_new_var objects, at least what was asked). */
RC_API size_t rc_sizeof(const void *obj);

/* ------------------------------------------------------------------------
 * The cycle collector
 *
 * Objects whose type has traverse (and is not declared acyclic) are tracked:
 * they start in generation 0; a collection of generation g examines
 * generations 0..g and moves survivors one generation up (2 is the
 * oldest).  Leaves and acyclic types are never examined.
 *
 * A collection finds the tracked objects that only garbage refers to
 * (trial deletion: subtract the references candidates hold to each other;
 * what still has a count is referenced from outside, and so is everything
 * it reaches), then, in this order (PEP 442, as CPython):
 *   1. weak references to garbage are cleared; callbacks run only for weak
 *      references that are not garbage themselves;
 *   2. finalize runs, once per object ever, for garbage with a finalizer;
 *   3. garbage that a finalizer or callback made reachable again is
 *      resurrected: it survives (in the oldest generation), and finalize
 *      will not run for it again;
 *   4. the rest is cleared: each object's reported slots are set to NULL
 *      and released, so the cycles fall apart by reference counting, which
 *      calls destroy and reclaims the memory.
 * The collector allocates nothing from the heap's pools: its work lists
 * come straight from the page source; when that fails the collection is
 * abandoned (nothing is freed, counted in rc_gc_stats.failed) and the heap
 * stays as it was.  A collection requested while one runs returns 0.
 *
 * Automatic collection: when the number of tracked objects allocated less
 * those freed since the last collection exceeds threshold 0, generation 0
 * is collected; every threshold-1 generation-0 collections, generation 1;
 * every threshold-2 generation-1 collections generation 2, but only when
 * the objects promoted to generation 2 since its last collection exceed 25%
 * of those that survived it (CPython's rule: keeps full collections
 * amortized linear).  A collection that finds nothing doubles that
 * generation's threshold (up to 16 times), one that finds garbage resets it.
 */
#define RC_GC_GENERATIONS 3

/* Collect generations 0..generation (-1 or >= 2: all).  Works whether
   automatic collection is enabled or not.  Returns the objects reclaimed
   (garbage found, less what was resurrected). */
RC_API size_t rc_collect(rc_heap *h, int generation);

/* Automatic collection on (the default) or off. */
RC_API void rc_gc_enable(rc_heap *h, int on);
RC_API int rc_gc_is_enabled(const rc_heap *h);

/* Thresholds (CPython's defaults: 700, 10, 10).  0 for t0 disables
   automatic collection like rc_gc_enable(h, 0). */
RC_API void rc_gc_set_threshold(rc_heap *h, unsigned t0, unsigned t1, unsigned t2);
RC_API void rc_gc_get_threshold(const rc_heap *h, unsigned out[3]);

/* gc.get_count(): out[0] tracked objects allocated less those freed since
   the last collection, out[1] generation-0 collections since the last of
   generation 1, out[2] generation-1 collections since the last full one.
   A generation is collected when its count exceeds its effective
   threshold: the threshold set times its back-off (1..16, doubled by each
   collection that finds nothing, reset by one that finds garbage).  A
   full collection also waits until the objects promoted to generation 2
   since the last one exceed 25% of those that survived it. */
RC_API void rc_gc_get_count(const rc_heap *h, size_t out[3]);
RC_API void rc_gc_get_effective_threshold(const rc_heap *h, size_t out[3]);

/* A full collection in steps, for a program that cannot stop for a whole
   one.  Each call examines part of generation 2 in slices, each a complete
   collection of a set of objects and everything they reach in generation 2
   (up to twice the slice), so the program may change anything between
   calls: no write barrier, no state to invalidate.  A round visits the
   pools in address order and examines each generation-2 object once;
   objects that enter generation 2 behind its position wait for the next
   round, and so does garbage that an object examined earlier in the round
   pointed into (it is found by the next round or full collection).
   Runs slices until about `work` objects were examined (0: no limit) or
   budget_ns nanoseconds passed (0: no limit; slices of 2,048 objects then,
   so a call overshoots by at most one), or the round ends; both 0: the
   rest of the round.  *round_done (may be NULL) is 1 if the round ended
   in this call (the next call starts another).  Returns the objects
   reclaimed.  Each slice runs the start/stop callbacks (generation 2) and
   counts in rc_gc_stats (gen[2] figures, steps), not in
   gen[2].collections; the end of a round does a full collection's
   bookkeeping (out[2] of rc_gc_get_count back to 0, rounds).  A full
   collection (rc_collect) ends any round under way. */
RC_API size_t rc_gc_step(rc_heap *h, size_t work, uint64_t budget_ns, int *round_done);

/* Automatic collection in steps: with work > 0, a full collection that
   falls due starts a round instead (after a generation-1 collection),
   and every automatic collection while it runs is followed by a step of
   `work` objects, as Lua's collector steps with allocation.  0 (the
   default): automatic full collections run whole. */
RC_API void rc_gc_set_incremental(rc_heap *h, size_t work);
RC_API size_t rc_gc_get_incremental(const rc_heap *h);

typedef struct rc_gc_gen_stats {
    size_t collections;    /* collections of this generation */
    size_t collected;      /* objects reclaimed */
    size_t uncollectable;  /* garbage kept (RC_GC_DEBUG_SAVEALL) */
    size_t candidates;     /* objects examined */
    size_t resurrected;    /* garbage a finalizer or callback revived */
    uint64_t time_ns;      /* time spent */
} rc_gc_gen_stats;

typedef struct rc_gc_stats {
    rc_gc_gen_stats gen[RC_GC_GENERATIONS];
    size_t tracked[RC_GC_GENERATIONS]; /* tracked objects per generation */
    size_t frozen;                     /* objects in the permanent generation */
    size_t failed;                     /* collections abandoned for memory */
    size_t foreign;                    /* references to another heap's objects
                                          that traverse reported, skipped */
    size_t steps;                      /* slices run by rc_gc_step */
    size_t rounds;                     /* rounds of steps completed */
    int round_running;                 /* a round of steps is under way */
} rc_gc_stats;

RC_API void rc_gc_stats_get(const rc_heap *h, rc_gc_stats *out);

/* What a start/stop callback is told. */
typedef struct rc_gc_info {
    int generation;     /* the oldest generation collected */
    size_t candidates;  /* (stop) objects examined */
    size_t collected;   /* (stop) objects reclaimed */
    size_t uncollectable; /* (stop) garbage kept */
    uint64_t time_ns;   /* (stop) duration */
} rc_gc_info;
enum { RC_GC_START = 0, RC_GC_STOP = 1 };
typedef void (*rc_gc_callback_fn)(rc_heap *h, int phase, const rc_gc_info *info,
                                  void *ctx);

/* Register fn to run at the start and stop of every collection (at most 8
   per heap; returns -1 when full: RC_EOVERFLOW).  Callbacks may allocate
   and release objects; a collection they request returns 0.  remove
   returns -1 (RC_EKEY) when (fn, ctx) is not registered. */
RC_API int rc_gc_callback_add(rc_heap *h, rc_gc_callback_fn fn, void *ctx);
RC_API int rc_gc_callback_remove(rc_heap *h, rc_gc_callback_fn fn, void *ctx);

/* Move every tracked object to the permanent generation, which no
   collection examines (like gc.freeze() before fork); unfreeze moves them
   back to the oldest generation.  freeze returns the objects moved. */
RC_API size_t rc_gc_freeze(rc_heap *h);
RC_API void rc_gc_unfreeze(rc_heap *h);

/* Is obj examined by the collector?  Objects of types with traverse are
   tracked when created; a container that holds only leaves may untrack
   itself (it cannot be part of a cycle) and track again when that
   changes: tuples and sets at creation or insertion, dicts after a full
   collection has examined them (see rc_dict, rc_tuple).  track/untrack do
   nothing for leaves, acyclic types and immortal objects.  A tuple tracked
   by hand goes back to untracked at the next full collection if its items
   are leaves. */
RC_API int rc_gc_is_tracked(const void *obj);
RC_API void rc_gc_track(void *obj);
RC_API void rc_gc_untrack(void *obj);

/* Call fn(obj, ctx) for every tracked object in generation gen (-1: all
   generations, the frozen ones included), like gc.get_objects().  fn gets
   borrowed references and must not free objects or allocate tracked ones.
   Returns the number of objects visited. */
RC_API size_t rc_gc_foreach(rc_heap *h, int gen, void (*fn)(void *obj, void *ctx),
                            void *ctx);

/* Call fn for each object that obj refers to (through traverse). */
RC_API void rc_gc_referents(void *obj, void (*fn)(void *child, void *ctx), void *ctx);

/* Call fn for each object that refers to target (walks the heap: every
   object whose type has traverse, tracked or not).  Returns the count. */
RC_API size_t rc_gc_referrers(rc_heap *h, const void *target,
                              void (*fn)(void *referrer, void *ctx), void *ctx);

#define RC_GC_DEBUG_STATS 1u   /* print a line per collection to stderr */
#define RC_GC_DEBUG_SAVEALL 2u /* keep garbage instead of freeing it */
RC_API void rc_gc_set_debug(rc_heap *h, unsigned flags);
RC_API unsigned rc_gc_get_debug(const rc_heap *h);

/* With RC_GC_DEBUG_SAVEALL, the garbage kept so far (borrowed references,
   oldest first; *count receives how many), like gc.garbage.  Cleared, and
   the references dropped, by rc_gc_garbage_clear. */
RC_API void *const *rc_gc_garbage(const rc_heap *h, size_t *count);
RC_API void rc_gc_garbage_clear(rc_heap *h);

/* ------------------------------------------------------------------------
 * Weak references
 *
 * A weak reference is itself a managed object (release it with
 * rc_decref).  It does not keep its referent alive.  When the referent
 * dies, every weak reference to it is cleared first, then the callbacks
 * run, newest weak reference first; a callback gets a borrowed reference
 * to the (already cleared) weak reference and its data, and may create
 * and release objects or run a collection.  A weak reference that dies
 * before its referent never calls back.
 */
typedef struct rc_weakref rc_weakref;

/* A new weak reference to obj (new reference, on obj's heap), with an
   optional callback (NULL: none) and its data.  NULL on failure
   (rc_last_error of obj's heap: RC_ENOMEM) or when obj is NULL.  Weak
   references to immortal objects never clear. */
RC_API rc_weakref *rc_weakref_new(void *obj, void (*callback)(rc_weakref *, void *),
                                  void *data);

/* The referent as a new reference, or NULL once it has died. */
RC_API void *rc_weakref_get(rc_weakref *w);

/* Weak references currently pointing at obj. */
RC_API size_t rc_weakref_count(const void *obj);

/* A weak-value cache: byte-string keys to objects it does not keep alive.
   An entry disappears when its object dies.  The cache is not an object
   itself; it lives on the heap's raw blocks until rc_weakcache_free. */
typedef struct rc_weakcache rc_weakcache;
RC_API rc_weakcache *rc_weakcache_new(rc_heap *h);
RC_API void rc_weakcache_free(rc_weakcache *c);
/* Map key to obj (replacing any entry).  0, or -1 on failure (the cache
   is unchanged): RC_ENOMEM, RC_EVALUE (obj NULL), RC_EFOREIGN (obj lives
   on another heap than the cache). */
RC_API int rc_weakcache_put(rc_weakcache *c, const void *key, size_t len, void *obj);
/* The object for key as a new reference, or NULL (absent or dead). */
RC_API void *rc_weakcache_get(rc_weakcache *c, const void *key, size_t len);
/* Remove key's entry; returns 1 if there was one. */
RC_API int rc_weakcache_remove(rc_weakcache *c, const void *key, size_t len);
RC_API size_t rc_weakcache_len(const rc_weakcache *c);


/* ------------------------------------------------------------------------
 * Allocation tracing (tracemalloc for C)
 *
 * While a heap traces, every block it hands out (raw blocks, objects and
 * the built-in types' buffers) is recorded with the stack that asked for
 * it; each distinct stack is stored once.  Off by default, and then it
 * costs one test on paths that already exist.
 *
 * Stacks are walked through frame pointers (the traced program and
 * librcgc must keep them: -fno-omit-frame-pointer), or with libunwind when
 * RCGC_UNWIND=libunwind is set (slower, needs no frame pointers).  See
 * docs/TRACING.md for the measured costs.
 *
 * Tracing from the start: rc_config.trace_frames, or RCGC_TRACE=N in the
 * environment (N frames) for programs that cannot be rebuilt.
 */

/* Start recording with up to `frames` frames per stack (1..64).  0, or -1
   on failure (rc_last_error: RC_ENOMEM, or RC_EVALUE for frames out of
   range).  Starting a heap that already traces changes nothing and
   returns 0. */
RC_API int  rc_trace_start(rc_heap *h, int frames);
/* Stop and forget every trace; snapshots already taken stay valid.  Does
   nothing when not tracing. */
RC_API void rc_trace_stop(rc_heap *h);
RC_API int  rc_trace_is_tracing(const rc_heap *h);
/* Bytes of traced blocks now, and the most there were since tracing
   started or the peak was reset (as requested by callers).  Both 0 when
   not tracing. */
RC_API void rc_trace_memory(const rc_heap *h, size_t *current, size_t *peak);
RC_API void rc_trace_reset_peak(rc_heap *h);
/* Sample instead of recording everything: about one sample per
   mean_bytes allocated (a Poisson process over bytes), each sample
   weighted so that the sums stay unbiased estimates.  0: exact (default).
   Takes effect for blocks allocated from now on. */
RC_API void rc_trace_set_sampling(rc_heap *h, size_t mean_bytes);
/* Nonzero if a trace was lost for lack of memory (the allocation itself
   still succeeded): the statistics are then incomplete. */
RC_API int  rc_trace_incomplete(const rc_heap *h);

/* Memory over time (memory_profiler): samples of traced bytes, bytes the
   heap holds from its page source, and the process's resident set. */
typedef struct rc_mem_sample {
    uint64_t time_ns;      /* CLOCK_MONOTONIC */
    size_t traced_bytes;   /* rc_trace_memory's current (0 if not tracing) */
    size_t heap_bytes;     /* held from the page source */
    size_t rss_bytes;      /* resident set of the process (0 if unknown) */
} rc_mem_sample;
/* Take a sample now.  0, or -1 when the timeline cannot grow (RC_ENOMEM). */
RC_API int rc_timeline_sample(rc_heap *h);
/* While tracing, take a sample on allocation whenever ms milliseconds
   have passed since the last one (0: only rc_timeline_sample). */
RC_API void rc_timeline_set_interval(rc_heap *h, unsigned ms);
/* The samples so far, oldest first; returns how many there are. */
RC_API size_t rc_timeline_get(const rc_heap *h, rc_mem_sample *out, size_t cap);

/* Leak report: objects still alive, grouped by type and allocation site
   (the innermost frame outside rcgc; known only for objects allocated
   while tracing), largest first.  Immortal objects are not reported. */
typedef struct rc_leak {
    const rc_type *type;
    const char *function, *file;  /* NULL when the site is unknown */
    int line;
    size_t objects, bytes;        /* bytes of the objects' blocks */
    /* At rc_heap_free: what its full collection before the report freed
       (objects, and bytes of blocks including their buffers), the same in
       every group: garbage in cycles, not leaks.  0 from rc_leak_report. */
    size_t collected_objects, collected_bytes;
} rc_leak;
typedef void (*rc_leak_fn)(const rc_leak *leak, void *ctx);
/* Call fn once per group; returns the number of groups (0 when nothing is
   alive).  Strings are valid during the call. */
RC_API size_t rc_leak_report(rc_heap *h, rc_leak_fn fn, void *ctx);
/* A ready-made fn: one line per group on the FILE * passed as ctx. */
RC_API void rc_leak_print(const rc_leak *leak, void *ctx);

/* tracemalloc's snapshot.statistics('lineno'): live traced memory grouped
   by the line that called into rcgc (the innermost frame outside the
   library), largest first.  Returns the number of groups; writes at most
   cap.  Strings are owned by the snapshot. */
typedef struct rc_snapshot rc_snapshot;
typedef struct rc_trace_stat {
    const char *function, *file;  /* owned by the snapshot; NULL if unknown */
    int line;                     /* 0 if unknown */
    size_t bytes, blocks;         /* bytes as requested by the caller */
} rc_trace_stat;

/* A copy of the live traces, grouped by stack (new, owned by the caller).
   NULL when not tracing (rc_last_error: RC_EVALUE) or out of memory
   (RC_ENOMEM). */
RC_API rc_snapshot *rc_trace_snapshot(rc_heap *h);
RC_API void   rc_snapshot_free(rc_snapshot *s);
RC_API size_t rc_snapshot_by_line(const rc_snapshot *s, rc_trace_stat *out, size_t cap);
/* Grouped by function only (the same frame as by_line). */
RC_API size_t rc_snapshot_by_function(const rc_snapshot *s, rc_trace_stat *out, size_t cap);
RC_API size_t rc_snapshot_total(const rc_snapshot *s, size_t *blocks);

/* Whole stacks: group i's frames (innermost first) through rc_snapshot_frame. */
typedef struct rc_trace_frame {
    const char *function, *file;  /* owned by the snapshot; NULL if unknown */
    int line;
    const void *address;          /* return address */
} rc_trace_frame;
typedef struct rc_trace_stack_stat {
    size_t bytes, blocks;
    size_t depth;                 /* frames in the stack */
    size_t id;                    /* for rc_snapshot_frame */
} rc_trace_stack_stat;
RC_API size_t rc_snapshot_by_stack(const rc_snapshot *s, rc_trace_stack_stat *out,
                                   size_t cap);
RC_API int rc_snapshot_frame(const rc_snapshot *s, size_t id, size_t i,
                             rc_trace_frame *out);

/* Keep only traces whose stack has (include) or has not (exclude) a frame
   whose file matches pattern (fnmatch(3) glob, e.g. "* /parser.c" without
   the space, or a library path).  Returns a new snapshot, or NULL. */
RC_API rc_snapshot *rc_snapshot_filter(const rc_snapshot *s, const char *pattern,
                                       int include);

/* What grew between two snapshots, grouped by line, largest absolute
   change first (snapshot.compare_to(old, 'lineno')). */
typedef struct rc_trace_diff {
    const char *function, *file;  /* owned by the newer snapshot (or older) */
    int line;
    long long bytes_diff, blocks_diff;
    size_t bytes, blocks;         /* in the newer snapshot */
} rc_trace_diff;
RC_API size_t rc_snapshot_compare(const rc_snapshot *newer, const rc_snapshot *older,
                                  rc_trace_diff *out, size_t cap);

/* ------------------------------------------------------------------------
 * Introspection of the managed heap (heapy, pympler, objgraph for C)
 *
 * These walk the heap: they cost time proportional to the live objects and
 * allocate their results from the C library's malloc (never from the heap
 * they inspect, which they leave unchanged).  Object pointers they return
 * are borrowed: valid until the heap changes.  A call that fails records
 * why in rc_last_error of the heap it inspects (the heap given, or obj's):
 * RC_ENOMEM when malloc refused, RC_EVALUE for a NULL or dead object or a
 * bad argument, RC_EFOREIGN for an object of another heap (a debug heap
 * stops with a message naming it); a NULL obj for the calls that take no
 * heap just returns -1.  Write errors on `out` are left to ferror(out).
 * Sizes count each object's
 * block (header included), the raw blocks the built-in types own
 * (list items, dict and set tables) and what a user type's owned_bytes
 * slot reports.
 */

/* Census: live objects and bytes per type, largest first. */
typedef struct rc_census rc_census;
typedef struct rc_census_row {
    const rc_type *type;
    size_t objects, bytes;
} rc_census_row;
RC_API rc_census *rc_census_take(rc_heap *h);       /* NULL on failure (RC_ENOMEM) */
RC_API size_t rc_census_rows(const rc_census *c, rc_census_row *out, size_t cap);
RC_API void rc_census_print(const rc_census *c, FILE *out);
RC_API void rc_census_free(rc_census *c);
/* Per-type change from older to newer, largest absolute byte change first. */
typedef struct rc_census_diff {
    const rc_type *type;
    long long objects_diff, bytes_diff;
    size_t objects, bytes;        /* in newer */
} rc_census_diff;
RC_API size_t rc_census_compare(const rc_census *newer, const rc_census *older,
                                rc_census_diff *out, size_t cap);

/* Bytes of obj and everything reachable from it (pympler's asizeof);
   *objects (if not NULL) receives how many objects that is.  0, or -1 on
   failure. */
RC_API int rc_deep_size(const void *obj, size_t *bytes, size_t *objects);

/* Retained size: what would be freed if obj died, i.e. the objects it
   dominates in the reference graph rooted at the objects held from outside
   the heap (computed with dominators over the whole heap).  0, or -1. */
RC_API int rc_retained_size(rc_heap *h, const void *obj, size_t *bytes, size_t *objects);

/* The objects retaining the most memory, largest first.  Returns how many
   were written to out; 0 on failure too (rc_last_error tells them apart). */
typedef struct rc_retainer {
    const void *object;           /* borrowed */
    const rc_type *type;
    size_t retained_bytes, retained_objects, own_bytes;
} rc_retainer;
RC_API size_t rc_top_retainers(rc_heap *h, rc_retainer *out, size_t cap);

/* Why is target alive?  The shortest chain of references from a root (an
   object referenced from outside the heap) to target: path[0] is the root,
   the last is target.  NULL when target is unreachable from any root (it
   is garbage the collector will free; rc_last_error unchanged) or on
   failure (rc_last_error set). */
typedef struct rc_path rc_path;
RC_API rc_path *rc_path_to(rc_heap *h, const void *target);
RC_API size_t rc_path_len(const rc_path *p);
RC_API const void *rc_path_get(const rc_path *p, size_t i);
RC_API int rc_path_print(const rc_path *p, FILE *out);   /* one line per step */
RC_API int rc_path_dot(const rc_path *p, FILE *out);     /* Graphviz DOT */
RC_API void rc_path_free(rc_path *p);

/* The reference graph reachable from obj, up to max_depth edges, as
   Graphviz DOT (objgraph.show_refs).  0, or -1 on failure. */
RC_API int rc_graph_dot(const void *obj, int max_depth, FILE *out);

/* The reference cycles in the heap (strongly connected components of more
   than one object, or one referring to itself), one line each with their
   size and types.  Returns how many (0 on failure: RC_ENOMEM). */
RC_API size_t rc_cycles_report(rc_heap *h, FILE *out);

/* ------------------------------------------------------------------------
 * Built-in types
 *
 * Python's core values as managed objects on a heap: int (any size), float,
 * str (UTF-8), bytes, tuple, list, dict, set, frozenset, None, True and
 * False.  Their buffers are raw blocks of
 * the same heap, so they show up in statistics and traces.
 *
 * Ownership: constructors and rc_*_pop return new references; getters
 * (rc_list_get, rc_tuple_get, rc_dict_get, iteration) return borrowed
 * references, valid while the container holds them; setters and append
 * take their own reference and never steal the caller's.
 *
 * Errors: a function that fails returns NULL or -1 and records why on the
 * heap (rc_last_error); a failed mutation leaves the container unchanged.
 * A container or accessor given an object of the wrong type (or a freed
 * one) fails with RC_ETYPE, and a debug heap stops with a message; an item
 * of another heap fails with RC_EFOREIGN (see "Heaps stay apart").
 */
typedef enum rc_error {
    RC_OK = 0,
    RC_ENOMEM,        /* the page source refused */
    RC_EUNHASHABLE,   /* a list or dict used as a key */
    RC_ETYPE,         /* an object of the wrong type */
    RC_EINDEX,        /* index out of range */
    RC_EKEY,          /* key not present */
    RC_EMUTATED,      /* a container changed during iteration */
    RC_EOVERFLOW,     /* a size or value too large to represent */
    RC_EVALUE,        /* a bad value (invalid UTF-8, ...) */
    RC_EFOREIGN       /* an object of another heap (see "Heaps stay apart") */
} rc_error;

/* Why the last failing call on h failed (RC_OK if none since the last
   rc_clear_error).  Successful calls do not reset it. */
RC_API rc_error rc_last_error(const rc_heap *h);
/* Forget the last failure: RC_OK, no message, and the exception stored by
   rc_error_raise released (its finalizer may run here). */
RC_API void rc_clear_error(rc_heap *h);
RC_API const char *rc_error_name(rc_error e);
/* What the last failure on h says, never NULL: its message when the call
   that failed wrote one (the built-in types do for their common failures:
   "list index 7 out of range (length 3)", "rc_list_get: expected list, got
   int", "invalid UTF-8 at byte 4", ...), else a short text for the code
   ("out of memory"); "" after rc_clear_error.  Valid until the next call
   on h. */
RC_API const char *rc_error_message(const rc_heap *h);
/* Record err on h and return -1: for a type's slots (rc_type.hash, eq,
   ...) to say why they fail, in one statement.  rc_error_setf adds a
   message (printf format, truncated to 159 bytes); recording allocates
   nothing, so either works when memory is out. */
RC_API int rc_error_set(rc_heap *h, rc_error err);
RC_API int rc_error_setf(rc_heap *h, rc_error err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* A runtime's own exception: record err and the message as rc_error_setf
   does, and keep exc (a reference of the heap's own, taken here; exc NULL:
   none) as the failure's exception object until the next rc_error_raise,
   rc_clear_error or rc_heap_free releases it.  Any other failure recorded
   meanwhile keeps the object alive but detaches it (rc_error_exception
   answers NULL), so a library call that fails never runs user code.
   Returns -1 (exc of another heap: nothing stored, RC_EFOREIGN). */
RC_API int rc_error_raise(rc_heap *h, rc_error err, void *exc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* The exception object of the last failure (borrowed), or NULL when it
   was not raised with one. */
RC_API void *rc_error_exception(const rc_heap *h);
/* CPython's PyErr_Fetch: hand the last failure's exception object to the
   caller (a new reference: the heap's own, moved; NULL when the failure
   was not raised with one) and clear the error as rc_clear_error does,
   except that no finalizer of the handed object runs.  *err (err may be
   NULL) gets the code first (RC_OK: none).  Read rc_error_message before:
   the message is cleared too.  A detached exception (see rc_error_raise)
   is not handed over: it is released. */
RC_API void *rc_error_take(rc_heap *h, rc_error *err);

/* The built-in types' descriptors, for rc_typeof comparisons. */
RC_API extern const rc_type rc_int_type, rc_float_type, rc_str_type,
    rc_bytes_type, rc_tuple_type, rc_list_type, rc_dict_type, rc_bool_type,
    rc_none_type, rc_set_type, rc_frozenset_type;

/* None, True and False: one immortal object each per heap (made on first
   use; never tracked, never freed before rc_heap_free), so a program
   compares them by address: rc_true(h) == x.  They return a reference the
   caller may decref or not (immortal: it changes nothing); NULL only when
   the heap cannot make the object (RC_ENOMEM).  As in Python, bool is a
   kind of int: True equals 1 and hashes as 1 (so 1 and True are one dict
   key and one set item), False likewise 0, and rc_int_value reads them. */
RC_API void *rc_none(rc_heap *h);
RC_API void *rc_true(rc_heap *h);
RC_API void *rc_false(rc_heap *h);
RC_API void *rc_bool(rc_heap *h, int v);              /* v != 0: True */
/* 1 for True, 0 for False; o not a live bool: -1 and RC_ETYPE. */
RC_API int rc_bool_value(const void *o);
RC_API int rc_is_none(const void *o);                 /* 1 or 0; NULL: 0 */

/* int: values in [RC_SMALL_INT_MIN, RC_SMALL_INT_MAX] are cached per heap
   as immortal objects (each value made once, on first use). */
#define RC_SMALL_INT_MIN (-128)
#define RC_SMALL_INT_MAX 1024
RC_API void *rc_int(rc_heap *h, int64_t v);           /* new reference */
/* o's value (a bool reads as 1 or 0).  o not a live int or bool: 0 and
   RC_ETYPE (a debug heap stops). */
RC_API int64_t rc_int_value(const void *o);

/* Ints of any size.  A value that fits int64 is an rc_int_type object (as
   above); any other is an rc_bigint_type object (its type's name is also
   "int"), made only by the calls below.  Each value has one form, so
   rc_equal, rc_hash, rc_compare and rc_repr treat them as one type: a big
   int equals, orders against and hashes as an equal float (2**64 and
   2.0**64 are one dict key); rc_int_value of a big int is 0 with
   RC_EOVERFLOW. */
RC_API extern const rc_type rc_bigint_type;
/* 1 if o is an int of either form or a bool (Python's isinstance(o, int));
   NULL: 0. */
RC_API int rc_is_int(const void *o);
/* o's value into *out, 0; -1 with RC_EOVERFLOW when it does not fit int64
   (*out unchanged), RC_ETYPE when o is not an int. */
RC_API int rc_int_to_int64(const void *o, int64_t *out);
/* Most decimal digits rc_int_from_str reads and rc_int_to_str / rc_repr
   write (CPython's default sys.get_int_max_str_digits()): conversion is
   quadratic, so a longer text is refused at once (RC_EVALUE), never slow. */
#define RC_INT_MAX_STR_DIGITS 4300
/* The int written in decimal in s[0..n): an optional '+' or '-', then
   digits (no spaces, no '_').  NULL with RC_EVALUE for any other text or
   more than RC_INT_MAX_STR_DIGITS digits, RC_ENOMEM.  New reference. */
RC_API void *rc_int_from_str(rc_heap *h, const char *s, size_t n);
/* o (an int or bool) in decimal, as a new str on o's heap: "-12", a bool as
   "1" or "0".  NULL with RC_EVALUE past RC_INT_MAX_STR_DIGITS digits. */
RC_API void *rc_int_to_str(const void *o);
/* Python's a + b, a - b, a * b, a // b (floor), a % b (b's sign), -a on
   ints or bools of either form: a new int on a's heap (b may be a plain
   borrowed int of another heap).  NULL with RC_ETYPE (not ints), RC_EVALUE
   (dividing by zero: Python's ZeroDivisionError), RC_ENOMEM, RC_EOVERFLOW
   (a result beyond 2^31 bits). */
RC_API void *rc_int_add(const void *a, const void *b);
RC_API void *rc_int_sub(const void *a, const void *b);
RC_API void *rc_int_mul(const void *a, const void *b);
RC_API void *rc_int_floordiv(const void *a, const void *b);
RC_API void *rc_int_mod(const void *a, const void *b);
RC_API void *rc_int_neg(const void *a);
/* Python's a & b, a | b, a ^ b and ~a, on the infinite two's complement
   of each operand (so -1 & x is x and ~a is -a - 1), and a << b, a >> b
   (floor(a / 2**b): -1 >> 5 is -1).  Results are ints, bools included
   (Python gives a bool for True & False).  NULL with RC_ETYPE, RC_EVALUE
   (a negative shift count: "negative shift count"), RC_EOVERFLOW (a result
   beyond 2^31 bits), RC_ENOMEM.  New reference on a's heap. */
RC_API void *rc_int_and(const void *a, const void *b);
RC_API void *rc_int_or(const void *a, const void *b);
RC_API void *rc_int_xor(const void *a, const void *b);
RC_API void *rc_int_invert(const void *a);
RC_API void *rc_int_lshift(const void *a, const void *b);
RC_API void *rc_int_rshift(const void *a, const void *b);
/* Python's pow(a, b) and pow(a, b, m) (m NULL: none).  Without m: b >= 0
   gives an int (RC_EOVERFLOW when it would pass 2^31 bits, refused before
   any work); b < 0 gives a float, as Python does: pow(float(a), float(b)),
   so 2 ** -1 is 0.5, RC_EOVERFLOW when a or b does not fit a double, and
   RC_EVALUE for 0 ** -k ("0.0 cannot be raised to a negative power":
   Python's ZeroDivisionError).  With m: an int with m's sign (as a % m);
   b < 0 takes a's inverse modulo m (Python 3.8's pow(a, -1, m)), RC_EVALUE
   when there is none ("base is not invertible for the given modulus") or
   m is 0; m = 1 or -1 gives 0.  NULL on failure; new reference on a's
   heap. */
RC_API void *rc_int_pow(const void *a, const void *b, const void *m);
/* Python's a / b on ints: a new float, correctly rounded (ties to even)
   whatever the operands' size, as CPython's.  NULL with RC_EVALUE for
   b = 0 ("division by zero": Python's ZeroDivisionError), RC_EOVERFLOW
   when the quotient is beyond the largest double ("integer division
   result too large for a float"); a quotient below the smallest
   subnormal is 0.0 with the quotient's sign. */
RC_API void *rc_int_truediv(const void *a, const void *b);
/* Python's float(o) for an int or bool o: the nearest double (ties to
   even) into *out, 0; -1 with RC_EOVERFLOW ("int too large to convert to
   float", *out unchanged) or RC_ETYPE. */
RC_API int rc_int_to_double(const void *o, double *out);

RC_API void *rc_float(rc_heap *h, double v);          /* new reference */
/* o's value.  o not a live float: NaN and RC_ETYPE (a debug heap stops). */
RC_API double rc_float_value(const void *o);

/* Slices: Python's slice(start, stop, step) as a value.  RC_SLICE_NONE
   in a field is Python's None: the default for that field (start 0 or
   the end, stop the end or before the start, step 1), so an explicit
   INT64_MIN cannot be passed (any index at or below -len acts the same
   where it matters: use -len - 1).  RC_SLICE(1, RC_SLICE_NONE, 2) is
   Python's [1::2]. */
#define RC_SLICE_NONE INT64_MIN
typedef struct rc_slice {
    int64_t start, stop, step;
} rc_slice;
#define RC_SLICE(start, stop, step) ((rc_slice){(start), (stop), (step)})
/* A search range: the start and end arguments of Python's s.find(sub,
   start, end) and list.index(x, start, stop), RC_SLICE_NONE for one left
   out.  Negative values count from the end (below -len: 0), an end past
   the length is the length, and a start past the end finds nothing.  A
   range's step must be RC_SLICE_NONE or 1 (else RC_EVALUE). */
#define RC_RANGE(start, end) RC_SLICE((start), (end), RC_SLICE_NONE)
#define RC_RANGE_ALL RC_RANGE(RC_SLICE_NONE, RC_SLICE_NONE)
/* Python's slice.indices(len) and its length: the start, stop and step
   that index a sequence of len items (negative indices counted from the
   end, then clamped; with a negative step, stop -1 means "past the first
   item"), and how many items the slice selects.  0, or -1 when the step
   is 0 (Python's ValueError) or len exceeds INT64_MAX; nothing written.  No heap: no error is
   recorded (the sequence functions below record RC_EVALUE). */
RC_API int rc_slice_indices(rc_slice s, size_t len, int64_t *start, int64_t *stop,
                            int64_t *step, size_t *count);

/* str: immutable UTF-8 text, length and hash cached.  rc_str copies n
   bytes (no NUL needed; the copy is NUL-terminated); invalid UTF-8 fails
   with RC_EVALUE; n must be below 2^31 (RC_EOVERFLOW). */
RC_API void *rc_str(rc_heap *h, const char *s, size_t n);
RC_API void *rc_str_cstr(rc_heap *h, const char *s);  /* NUL-terminated s */
/* The one shared instance for this text: equal text gives the same object
   (new reference).  The intern table does not keep strings alive: an
   interned string dies when nothing else holds it. */
RC_API void *rc_str_intern(rc_heap *h, const char *s, size_t n);
/* Intern an existing str: returns the shared instance (new reference). */
RC_API void *rc_str_intern_obj(void *str);
RC_API int rc_str_is_interned(const void *o);
/* Bytes (NUL-terminated) and, through n if not NULL, the length in bytes. */
RC_API const char *rc_str_data(const void *o, size_t *n);
RC_API size_t rc_str_len(const void *o);              /* in bytes */
/* Unchecked: a str's UTF-8 (NUL-terminated) and its length in bytes,
   inline (CPython's PyUnicode_DATA and PyUnicode_GET_LENGTH).  On a debug
   heap they are rc_str_data and rc_str_len, which stop on a wrong type. */
static inline const char *rc_str_bytes(const void *s)
{
    if (rc_priv_debug(s))
        return rc_str_data(s, NULL);
    return ((const rc_priv_str *)s)->data;
}
static inline size_t rc_str_size(const void *s)
{
    if (rc_priv_debug(s))
        return rc_str_len(s);
    return ((const rc_priv_str *)s)->len & 0x7FFFFFFFu;
}
/* Python's len(s): code points of a str (bytes: its bytes), cached in
   the object (O(1)); it equals rc_str_len exactly when s is ASCII.  o not
   a live str or bytes: 0 and RC_ETYPE. */
RC_API size_t rc_str_chars(const void *o);
RC_API void *rc_str_concat(rc_heap *h, const void *a, const void *b);
/* Python's s.find(sub, start, end) with range = RC_RANGE(start, end)
   (RC_RANGE_ALL: the whole text): the first index >= start where sub
   occurs wholly inside [start, end) (an empty sub is found at start when
   start <= length).  Works on two strs (indices in code points, as
   Python's; O(1) to convert for ASCII text, a walk over the UTF-8
   otherwise) or two bytes (in bytes).  1 and *pos set (an index from the
   start of s); 0 when absent; -1 with RC_ETYPE when s and sub are not
   both str or both bytes, RC_EVALUE for a range with a step. */
RC_API int rc_str_find(const void *s, const void *sub, rc_slice range, size_t *pos);
/* Python's s[i] on a str: a new str of the one code point at index i
   (negative: from the end).  NULL on failure: RC_EINDEX outside
   [-len, len), RC_ETYPE when s is not a str, RC_ENOMEM. */
RC_API void *rc_str_char_at(const void *s, int64_t i);
/* Python's s[start:stop:step] on a str (code points) or bytes (bytes):
   a new object (the same one, with a new reference, when the slice is the
   whole of s, as in CPython).  O(1) to find the start in ASCII text, a
   walk from the nearer end otherwise.  NULL on failure: RC_EVALUE for
   step 0, RC_ETYPE, RC_ENOMEM. */
RC_API void *rc_str_get_slice(const void *s, rc_slice sl);

/* bytes: immutable byte strings (any content). */
RC_API void *rc_bytes(rc_heap *h, const void *data, size_t n);
RC_API const void *rc_bytes_data(const void *o, size_t *n);

/* tuple: immutable; holds its own references to the n items (at most
   2^32 - 1: RC_EOVERFLOW beyond), which must live on h (else NULL and
   RC_EFOREIGN).  A tuple of
   leaves only (objects that can never be tracked: leaf types, untracked
   tuples) is not tracked: it cannot be part of a cycle, so it costs the
   collector nothing.  One holding a dict or set is tracked even while
   that item is not, since the item may take a tracked object later. */
RC_API void *rc_tuple(rc_heap *h, size_t n, void *const *items);
RC_API size_t rc_tuple_len(const void *t);
RC_API void *rc_tuple_get(const void *t, size_t i);   /* borrowed; NULL: RC_EINDEX */
/* Unchecked: t[i] (borrowed) for a tuple t and i < its length, inline
   (CPython's PyTuple_GET_ITEM).  On a debug heap it is rc_tuple_get, which
   stops on a wrong type and records RC_EINDEX. */
static inline void *rc_tuple_item(const void *t, size_t i)
{
    if (rc_priv_debug(t))
        return rc_tuple_get(t, i);
    return ((const rc_priv_tuple *)t)->items[i];
}
/* Python's t[start:stop:step]: a new tuple (t itself, with a new
   reference, for the whole of it).  NULL on failure: RC_EVALUE for step
   0, RC_ETYPE, RC_ENOMEM. */
RC_API void *rc_tuple_get_slice(const void *t, rc_slice s);

/* list */
RC_API void *rc_list(rc_heap *h);                     /* new, empty */
RC_API int   rc_list_append(void *list, void *item);  /* 0, or -1 on failure */
RC_API size_t rc_list_len(const void *list);
RC_API void *rc_list_get(const void *list, size_t i); /* borrowed; NULL: RC_EINDEX */
/* Unchecked: list[i] (borrowed) for a list and i < its length, inline
   (CPython's PyList_GET_ITEM).  On a debug heap it is rc_list_get, which
   stops on a wrong type and records RC_EINDEX. */
static inline void *rc_list_item(const void *list, size_t i)
{
    if (rc_priv_debug(list))
        return rc_list_get(list, i);
    return ((const rc_priv_list *)list)->items[i];
}
RC_API int   rc_list_set(void *list, size_t i, void *item);
RC_API int   rc_list_insert(void *list, size_t i, void *item); /* i > len: append */
/* Remove item i and return it (new reference); NULL on RC_EINDEX. */
RC_API void *rc_list_pop(void *list, size_t i);
/* A new list of items [start, stop) (clamped to the length): Python's
   l[start:stop] for indices that are not negative. */
RC_API void *rc_list_slice(const void *list, size_t start, size_t stop);
/* Python's l[start:stop:step]: a new list (shallow).  NULL on failure:
   RC_EVALUE for step 0, RC_ETYPE, RC_ENOMEM. */
RC_API void *rc_list_get_slice(const void *list, rc_slice s);
/* Python's l[start:stop:step] = src, src being what rc_list_extend takes
   (a list, list itself included: its items are copied first, a tuple, a
   set, a frozenset, a dict's keys).  With step 1 the slice may grow or
   shrink the list (an empty slice inserts at start); any other step needs
   as many items as the slice selects (else RC_EVALUE, Python's
   ValueError).  The replaced items are released after the list holds the
   new ones.  0, or -1 (RC_ETYPE, RC_EVALUE, RC_EFOREIGN, RC_EOVERFLOW,
   RC_ENOMEM, RC_EMUTATED in a sort) with the list unchanged: the room is
   reserved before anything moves. */
RC_API int rc_list_set_slice(void *list, rc_slice s, const void *src);
/* Python's del l[start:stop:step].  The removed items are released after
   the list is whole again.  0, or -1 (RC_EVALUE for step 0, RC_ETYPE,
   RC_ENOMEM: the removed items are held in a block while they are
   released; RC_EMUTATED in a sort) with the list unchanged. */
RC_API int rc_list_del_slice(void *list, rc_slice s);
/* Stable sort with cmp(a, b, ctx) < 0, 0, > 0.  The list is locked while
   cmp runs: a cmp that changes it makes the sort fail with RC_EMUTATED
   (the list then holds the same items in some order). */
RC_API int rc_list_sort(void *list, int (*cmp)(const void *a, const void *b, void *ctx),
                        void *ctx);
RC_API int rc_list_reserve(void *list, size_t cap);
/* Append every item of src (a list, which may be list itself, a tuple, a
   set, a frozenset, or a dict's keys), in its iteration order.  0, or -1
   (RC_ETYPE, RC_ENOMEM) with list unchanged. */
RC_API int rc_list_extend(void *list, const void *src);
/* Remove every item (released after the list is empty, so a finalizer
   they run sees it empty).  0, or -1 (RC_ETYPE, RC_EMUTATED in a sort). */
RC_API int rc_list_clear(void *list);
/* Reverse in place.  0, or -1 (RC_ETYPE, RC_EMUTATED in a sort). */
RC_API int rc_list_reverse(void *list);
/* Python's list.index(item, start, stop) with range = RC_RANGE(start,
   stop) (RC_RANGE_ALL: the whole list): the first index i in the range
   with item equal to list[i] (rc_equal), into *index: 0; -1 when absent
   (RC_EVALUE, as Python's ValueError), for a range
   with a step (RC_EVALUE) or when a comparison failed (its error). */
RC_API int rc_list_index(const void *list, const void *item, rc_slice range, size_t *index);
/* item in list: 1, 0, or -1 (RC_ETYPE, or a comparison's error). */
RC_API int rc_list_contains(const void *list, const void *item);

/* dict: insertion-ordered compact hash table (CPython 3.6+ layout).  Keys:
   int, float, bool, str, bytes, None, frozensets and tuples of those (by
   value; 1, 1.0 and True are the same key), a type with hash and eq
   slots by them, any other type by identity; lists, dicts and sets are
   unhashable.  A full collection untracks a dict whose keys and values
   can never be tracked (ints, strs, tuples of leaves...: it cannot be part
   of a cycle); rc_dict_set tracks it again when it stores anything else. */
RC_API void *rc_dict(rc_heap *h);                     /* new, empty */
RC_API int   rc_dict_set(void *dict, void *key, void *value); /* 0 / -1 */
/* Borrowed reference, or NULL: absent (rc_last_error unchanged), or an
   unhashable key (RC_EUNHASHABLE), a key of another heap (RC_EFOREIGN),
   RC_ENOMEM from hashing or comparing a deep key (see rc_hash), a key
   type's eq slot that failed (its error) or changed the dict
   (RC_EMUTATED): never a miss for an equal key. */
RC_API void *rc_dict_get(const void *dict, const void *key);
RC_API int   rc_dict_del(void *dict, const void *key); /* -1: RC_EKEY, ... */
RC_API size_t rc_dict_len(const void *dict);
RC_API void  rc_dict_clear(void *dict);
/* key in dict: 1, 0, or -1 (the errors of rc_dict_get). */
RC_API int rc_dict_contains(const void *dict, const void *key);
/* Remove key and return its value (new reference); NULL when absent
   (RC_EKEY) or on rc_dict_get's errors, the dict unchanged. */
RC_API void *rc_dict_pop(void *dict, const void *key);
/* dict.setdefault(key, dflt): the value key has, or, when absent, dflt
   after storing it under key.  Borrowed reference; NULL on failure (the
   errors of rc_dict_set; dflt NULL: RC_EVALUE). */
RC_API void *rc_dict_setdefault(void *dict, void *key, void *dflt);
/* Set every key of src (a dict) in dict, in src's order.  0, or -1
   (RC_ETYPE, RC_ENOMEM, a comparison's error): as Python's update, the
   keys set before the failure stay set. */
RC_API int rc_dict_update(void *dict, const void *src);
/* A new dict with the same keys and values in the same order (shallow:
   the objects are shared).  NULL on failure. */
RC_API void *rc_dict_copy(const void *dict);

/* set and frozenset: hash sets of hashable objects (the same keys and
   the same equality as dict: 1, 1.0 and True are one item).  A set is
   mutable and unhashable; a frozenset is fixed at creation and hashable
   (a set equals a frozenset with the same items, as in Python).  Items
   must live on the set's heap (RC_EFOREIGN).  A set of leaves (ints,
   strs, tuples of leaves...) is not tracked by the collector; adding an
   item the collector tracks makes it tracked (it could now be part of a
   cycle), as does a frozenset holding one from birth.  Iteration
   (rc_iter) yields each item once, in no particular order; adding or
   removing items during it is detected (RC_EMUTATED). */
RC_API void *rc_set_new(rc_heap *h);                  /* new, empty */
/* A new frozenset of the n items (duplicates kept once); NULL on failure:
   an unhashable item (RC_EUNHASHABLE), NULL items (RC_EVALUE),
   RC_EFOREIGN, RC_ENOMEM. */
RC_API void *rc_frozenset(rc_heap *h, size_t n, void *const *items);
/* Add item to a set (not a frozenset: RC_ETYPE); 0 whether or not it was
   there, -1 on failure (RC_EUNHASHABLE, RC_EFOREIGN, RC_ENOMEM), the set
   unchanged. */
RC_API int rc_set_add(void *set, void *item);
/* Remove item from a set: 1 removed, 0 absent (set.discard), -1 on
   failure (RC_ETYPE, RC_EUNHASHABLE). */
RC_API int rc_set_discard(void *set, const void *item);
/* item in a set or frozenset: 1, 0, or -1 (RC_ETYPE, RC_EUNHASHABLE). */
RC_API int rc_set_contains(const void *set, const void *item);
/* Items of a set or frozenset (0 and RC_ETYPE for anything else). */
RC_API size_t rc_set_len(const void *set);

/* Iteration over a list (items), a tuple (items), a set or frozenset
   (items), or a dict (keys and values, in insertion order) without
   copies.  The references are borrowed.  Changing the
   container's size during iteration (and, for a dict, any insertion or
   deletion) is detected: next returns -1 with RC_EMUTATED. */
typedef struct rc_iter {
    const void *container;
    size_t pos;          /* next index */
    uint64_t stamp;      /* the container's mutation stamp at start */
} rc_iter;
RC_API void rc_iter_init(rc_iter *it, const void *container);
/* 1 and *key (list, tuple, set: the item) and *value (dict only; may be NULL) set; 0 at
   the end; -1 on error (RC_EMUTATED, RC_ETYPE). */
RC_API int rc_iter_next(rc_iter *it, void **key, void **value);

/* Hashing and equality across the built-ins (Python's rules: equal numbers
   hash alike whatever their type).
   rc_hash: 0 and the hash in *out, or -1 with the error on o's heap:
   RC_EUNHASHABLE (a list or dict, or a tuple holding one) or RC_ENOMEM (a
   tuple nested deeper than the walk's first ~80 levels needs memory for
   its stack).  str and bytes hash with SipHash-1-3 under the heap's key
   (rc_config.hash_seed), so text chosen to collide cannot be computed
   without the key; hashes of one text differ between heaps with different
   keys (compare and look up keys on the heap that made them).  ints and
   floats hash by value alone, as in CPython.  A str, bytes or tuple
   computes its hash once and keeps it.
   rc_equal: 1 equal, 0 not, -1 when it could not tell (RC_ENOMEM on a's
   heap, as above).  By value for built-ins, by identity otherwise.  Both
   walk nested tuples, lists and dicts with a stack of their own, not the C
   stack: any depth works (a key nested a million deep is fine) and the
   answer never depends on the depth.  Lists and dicts that contain
   themselves compare equal when they unfold to the same infinite
   structure (a = [a] equals b = [b]; Python raises RecursionError). */
RC_API int rc_hash(const void *o, uint64_t *out);
RC_API int rc_equal(const void *a, const void *b);

/* Python's ordering (a < b, a == b, a > b) as one call: 0 with *out < 0,
   0 or > 0; -1 when a and b cannot be ordered (RC_ETYPE on a's heap:
   different kinds of values, None, dicts, sets, a type without compare)
   or a comparison failed.  Numbers (int, float, bool) by value; NaN is
   unordered (RC_EVALUE); str by code point (the UTF-8 bytes in order),
   bytes by byte; tuples and lists lexicographically (the first items that
   differ decide, then the length), at any depth without recursion. */
RC_API int rc_compare(const void *a, const void *b, int *out);

/* Python-like repr of o (containers recursively, cycles shown as [...];
   None, True, False; {1, 2}, set(), frozenset({1})); a user type's repr
   slot writes its objects) written to out.  Returns 0, or -1 on an
   output error or a failing repr slot. */
RC_API int rc_repr(const void *o, FILE *out);

/* String builder: text built without quadratic copies (the join lesson).
   Lives on the caller's stack; its buffer is a raw block of the heap. */
typedef struct rc_strbuf {
    rc_heap *heap;
    char *data;          /* NUL-terminated while not failed; an empty
                            builder points at a shared read-only "" */
    size_t len, cap;
    int failed;          /* the rc_error that stopped it (finish fails) */
} rc_strbuf;
RC_API void rc_strbuf_init(rc_strbuf *b, rc_heap *h);
RC_API int  rc_strbuf_append(rc_strbuf *b, const char *s, size_t n); /* 0 / -1 */
RC_API int  rc_strbuf_appendf(rc_strbuf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* The text as a new str (new reference), or NULL (out of memory, invalid
   UTF-8).  The builder's buffer is released either way. */
RC_API void *rc_strbuf_finish(rc_strbuf *b);
RC_API void  rc_strbuf_release(rc_strbuf *b);      /* abandon */

/* Free lists: dead lists and dicts wait for reuse, keeping small buffers
   (up to 80 of each per heap; RCGC_NO_FREELISTS=1 turns them off).
   Emptied by a full collection, rc_heap_trim, and this call. */
RC_API void rc_freelists_clear(rc_heap *h);

/* Scope exit: a local declared RC_AUTO void *x = ...; is decref'd on every
   path out of its scope (GCC and Clang), the C counterpart of a context
   manager. */
#if defined(__GNUC__)
static inline void rc_auto_release(void *slot) { rc_decref(*(void **)slot); }
#define RC_AUTO __attribute__((cleanup(rc_auto_release)))
#endif

#ifdef __cplusplus
}
#endif
#endif /* RCGC_H */
