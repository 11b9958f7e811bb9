/*
 * trace.h — the trace engine: stack capture, stack interning, the table of
 * live traced blocks, and symbolization.
 *
 * Independent of the heap: nothing here includes rc_internal.h, so the
 * preload shim (tools/preload) reuses the same code for any program's
 * malloc.  Tables get their memory from the page allocator their owner
 * passes in (a heap's page source, or mmap in the shim), never from the
 * allocator being traced.  Names: rct_*.
 */
#ifndef RC_TRACE_H
#define RC_TRACE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define RCT_HIDDEN __attribute__((visibility("hidden")))
#define RCT_MAX_FRAMES 64
#define RCT_MEMO_FRAMES 264   /* frames a CFI walk remembers: a capture's 256 and the skipped */
#define RCT_NO_STACK UINT32_MAX

/* Page-granular memory for the engine's tables. */
typedef struct rct_pages {
    void *(*alloc)(void *ctx, size_t bytes);   /* NULL on failure */
    void (*free)(void *ctx, void *p, size_t bytes);
    void *ctx;
} rct_pages;

/* ---- ptrmap.c: nonzero word -> word ----------------------------------------
 * Zero-initialized is empty.  Value pointers stay valid until the next
 * insert or remove. */
typedef struct rct_ptrmap {
    struct rct_ptrslot *slots;
    size_t cap, len;    /* cap: power of two, or 0 */
} rct_ptrmap;
RCT_HIDDEN uintptr_t *rct_ptrmap_find(const rct_ptrmap *m, uintptr_t key);
/* The value slot for key, made (holding 0) if absent; NULL on failure. */
RCT_HIDDEN uintptr_t *rct_ptrmap_insert(rct_ptrmap *m, uintptr_t key, const rct_pages *pg);
/* Remove the entry whose value slot this is. */
RCT_HIDDEN void rct_ptrmap_remove(rct_ptrmap *m, uintptr_t *value);
RCT_HIDDEN void rct_ptrmap_free(rct_ptrmap *m, const rct_pages *pg);

/* ---- stack.c: capture ------------------------------------------------------
 * Return addresses of the calling thread, innermost first, skipping the
 * first `skip` frames (the capture function itself is never included).
 * The skipped frames are the caller's own and must keep frame pointers
 * (librcgc and the shim are built with them): the CFI walk steps over
 * them through those.
 * The walks read only inside the thread's stack bounds and stop at the
 * first frame that does not look like one.
 *
 * What the walks keep per thread is the caller's: an rct_walker, zeroed
 * before a thread's first walk and used by that thread only (the library
 * keeps one in a thread-local; the preload shim, which has no TLS, in its
 * thread state).  A signal handler's walk may interrupt a walk with the
 * same walker (memo_busy). */

/* A frame as remembered: its state, and where the step to its caller read
   the caller's rbp (0: rbp unchanged). */
typedef struct rct_memo_frame {
    uintptr_t pc, sp, bp, bp_at;
} rct_memo_frame;

/* The thread's last CFI walk (stack.c, "The last walk, remembered"). */
typedef struct rct_walk_memo {
    rct_memo_frame f[RCT_MEMO_FRAMES]; /* the last walk, outermost first */
    size_t n;                 /* its frames */
    bool whole;               /* f[0] is the stack's outermost frame */
    rct_memo_frame fresh[RCT_MEMO_FRAMES]; /* a walk's new frames, innermost first */
    unsigned reuse;           /* sixteenths of a walk's frames taken from the
                                 last one, a running average */
    unsigned walks;           /* walks made (to look now and then) */
} rct_walk_memo;

typedef struct rct_walker {
    uintptr_t stack_lo, stack_hi; /* the thread's stack; 0: not asked yet */
    volatile int memo_busy;   /* the memo is in use: a signal handler's walk
                                 that interrupts this one walks without it
                                 (an int: sig_atomic_t without <signal.h>) */
    rct_walk_memo memo;       /* the last CFI walk */
} rct_walker;

typedef size_t (*rct_capture_fn)(rct_walker *w, void **frames, size_t max, size_t skip);
/* Frame pointers only: the fastest; code without them ends the stack. */
RCT_HIDDEN size_t rct_capture_fp(rct_walker *w, void **frames, size_t max, size_t skip);

/* A frame-pointer walk that is checked instead of walked again.  The walk
   is a function of where it starts, the stack's top, the frames it is
   asked for and the frame records it reads (at a record: the caller's
   record, then the return address).  A walk that logs those records
   knows, while each of them still holds what it held, what walking again
   would give.  Checking loads each record from the address the log gives,
   not from the record before it: the loads do not wait on one another,
   where each of the walk's waits for the last (a chain of a load's
   latency per frame).  The records read by a walk of max frames are at
   most max. */
#define RCT_LOG_RECORDS 96
typedef uintptr_t rct_record __attribute__((vector_size(2 * sizeof(uintptr_t))));
typedef struct rct_fp_log {
    uintptr_t start;          /* the first record's address; 0: nothing logged */
    uintptr_t top;            /* the top of the stack walked */
    uint32_t max;             /* the frames the walk was asked for */
    uint32_t records;         /* the records it read */
    rct_record rec[RCT_LOG_RECORDS]; /* each record as read: {the caller's
                                 record, the return address} */
} rct_fp_log;
/* The walk from the frame record at fp (the caller's own:
   __builtin_frame_address(0)), its return address first, at most max
   (<= RCT_LOG_RECORDS) frames, logged into log. */
RCT_HIDDEN size_t rct_walk_fp_logged(rct_walker *w, uintptr_t fp, void **frames, size_t max,
                                     rct_fp_log *log);
/* Would a walk from fp of max frames on w's stack read what log holds? */
RCT_HIDDEN bool rct_fp_log_holds(const rct_walker *w, const rct_fp_log *log, uintptr_t fp,
                                 size_t max);
/* Call-frame information (cfi.c's rules), frame pointers where a module
   has none: whole stacks through code without frame pointers. */
RCT_HIDDEN size_t rct_capture_cfi(rct_walker *w, void **frames, size_t max, size_t skip);
/* libunwind's unw_backtrace (frame pointers while there is none). */
RCT_HIDDEN size_t rct_capture_unwind(rct_walker *w, void **frames, size_t max, size_t skip);
/* The unw_backtrace it calls: linked into the library when it was built
   with libunwind; the preload shim, which links no library with TLS,
   sets it after loading libunwind (dlopen, tools/preload/unwind.c). */
typedef int (*rct_backtrace_fn)(void **frames, int max);
RCT_HIDDEN extern rct_backtrace_fn rct_unwind_backtrace;
/* A thread's last walk split at a function (rct_capture_cfi_split): its
   frames outward of the split frame, innermost first, and the stack words
   that must still hold what they held for a walk to find them again. */
typedef struct rct_split_memo {
    uint64_t gen;             /* changes whenever the frames kept do */
    size_t n;                 /* frames kept; 0: none */
    bool whole;               /* pc[n - 1] is the stack's outermost frame */
    uintptr_t sp, bp;         /* frame 0's stack pointer and rbp (pc[0]: its pc) */
    void *pc[RCT_MEMO_FRAMES]; /* their return addresses */
    struct {
        uintptr_t at, want;   /* a stack word the walk read, and its value */
    } check[2 * RCT_MEMO_FRAMES]; /* each frame's return address and, where the
                                 step to it read it from the stack, its rbp */
    uint32_t checks[RCT_MEMO_FRAMES + 1]; /* checks[i]: those of frames 1 to i - 1 */
} rct_split_memo;
/* rct_capture_cfi's frames (the same ones), for a caller that keeps the
   part outward of the first frame in [lo, lo + size) (a return address
   just after a call from there) and wants to know whether it is the same
   as last time: the frames up to that one are walked, those outward of it
   checked against m (one load for each, two where the rbp was read from
   the stack) instead of walked when the frame's caller is where it was
   (return address, stack pointer, rbp); m->gen changes when they are not
   the same.  *inner: the frames through the split frame, written to
   frames; the depth's others, outward of it, are m->pc's (the caller
   copies them if it needs them).  *inner 0: no split frame met, every
   frame walked into frames, m untouched.  The walk_memo of w is not
   used. */
RCT_HIDDEN size_t rct_capture_cfi_split(rct_walker *w, void **frames, size_t max, size_t skip,
                                        uintptr_t lo, uintptr_t size, rct_split_memo *m,
                                        size_t *inner);
/* The walk RCGC_UNWIND names (its value, read by the caller: the preload
   shim calls no getenv): rct_capture_fp for "fp", rct_capture_unwind for
   "libunwind", else (NULL, empty, anything else) rct_capture_cfi. */
RCT_HIDDEN rct_capture_fn rct_capture_named(const char *unwind);

/* ---- cfi.c: how to step from a frame to its caller ---------------------------
 * From a return address, a rule for the code just before it, read from its
 * module's .eh_frame once and cached: the caller's stack pointer (the CFA)
 * is rsp + cfa_off, rbp + cfa_off or [rbp + cfa_off]; the return address is
 * at CFA - 8; the caller's rbp is unchanged, at CFA + rbp_off or at
 * rbp + rbp_off.  RCT_CFA_FP: follow the frame pointer (no usable CFI
 * here, or a frame-pointer frame's own rule: CFA = rbp + 16, rbp saved at
 * CFA - 16); RCT_CFA_END: the outermost frame.  A rule from rsp always
 * has cfa_off >= 8 and, when rbp is saved at the CFA, -cfa_off <= rbp_off
 * <= -16: its loads lie between rsp and the CFA (the walk checks only the
 * CFA against the stack's top).  x86-64 with glibc >= 2.35; elsewhere
 * every rule is RCT_CFA_FP. */
enum { RCT_CFA_NONE, RCT_CFA_RSP, RCT_CFA_RBP, RCT_CFA_AT_RBP, RCT_CFA_END, RCT_CFA_FP };
enum { RCT_RBP_SAME, RCT_RBP_AT_CFA, RCT_RBP_AT_RBP };
typedef struct rct_frame_rule {
    uint8_t cfa, rbp;
    int16_t rbp_off;          /* 0 when rbp is unchanged */
    int32_t cfa_off;
} rct_frame_rule;
/* The cache of rules, shared by every thread (cfi.c): insert-only, a
   slot's return address claimed first and its rule stored after (0: not
   ready). */
#define RCT_CFI_CACHE_BITS 16
typedef struct rct_cfi_slot {
    _Atomic uintptr_t ra;
    _Atomic uint64_t rule;
} rct_cfi_slot;
RCT_HIDDEN extern rct_cfi_slot *_Atomic rct_cfi_cache;
/* The rule for the call before return address ra, read from .eh_frame
   and cached (the cache missed). */
RCT_HIDDEN rct_frame_rule rct_cfi_rule_slow(uintptr_t ra);

/* The first slot of ra's rule in the cache (stack.c probes it inline). */
static inline size_t rct_cfi_index(uintptr_t ra)
{
    return (size_t)((ra * UINT64_C(0x9E3779B97F4A7C15)) >> (64 - RCT_CFI_CACHE_BITS));
}

/* The calling thread's stack, [*lo, *hi); both 0 if unknown.  Asks
   pthread_getattr_np, which may allocate (the preload shim calls it with
   its reentrancy guard set, never on its hot path). */
RCT_HIDDEN void rct_stack_bounds(uintptr_t *lo, uintptr_t *hi);

/* ---- sample.c: Poisson sampling over allocated bytes ------------------------- */
/* Bytes to the next sample, about one byte in mean; rng: a xorshift64
   state, never 0. */
RCT_HIDDEN double rct_sample_gap(uint64_t *rng, double mean);
/* The bytes a sampled block of size bytes stands for: size / p,
   p = 1 - e^(-size/mean), so sums over the samples stay unbiased. */
RCT_HIDDEN uint64_t rct_sample_weight(size_t size, double mean);

/* ---- stacks.c: each distinct stack stored once ------------------------------ */
typedef struct rct_stacks rct_stacks;
RCT_HIDDEN rct_stacks *rct_stacks_new(const rct_pages *pages);
RCT_HIDDEN void rct_stacks_free(rct_stacks *s);
/* The id of this stack (new or existing); RCT_NO_STACK when out of memory. */
RCT_HIDDEN uint32_t rct_stacks_intern(rct_stacks *s, void *const *frames, size_t n);
/* Frames of stack id (innermost first); returns the depth. */
RCT_HIDDEN size_t rct_stacks_get(const rct_stacks *s, uint32_t id, void *const **frames);
RCT_HIDDEN size_t rct_stacks_count(const rct_stacks *s);
RCT_HIDDEN size_t rct_stacks_bytes(const rct_stacks *s);

/* ---- blocks.c: live traced blocks ---------------------------------------------
 * addr -> (stack, size), 12 bytes per entry, at most 3/4 of the entries in
 * use: 16 to 32 bytes per traced block.  Addresses must be 16-byte aligned
 * and below 2^48.  Put and take have fast paths, inline here (every traced
 * allocation and free makes one: no call, and the caller's checks fold
 * into theirs); the rest is out of line in blocks.c, which describes the
 * table. */
typedef struct rct_block_entry {
    uint32_t key_lo;   /* addr >> 4, low 32 bits */
    uint32_t key_hi;   /* addr >> 4, next 12 bits | size << 12 */
    uint32_t stack;    /* RCT_NO_STACK: dead (taken out, address kept) */
} rct_block_entry;
#define RCT_BLOCK_KEY_BITS 44
#define RCT_BLOCK_SIZE_BIG ((UINT32_C(1) << 20) - 1) /* the size is in the side table */

typedef struct rct_blocks {
    rct_pages pages;
    rct_block_entry *slots;
    size_t len;            /* live entries */
    size_t used;           /* live and dead entries */
    size_t room;           /* used at most this: 3/4 of the slots */
    size_t mask;           /* slots - 1 (0 with no slots) */
    unsigned shift;        /* 64 - log2(slots): a key's home is its hash's top bits */
    rct_ptrmap big;        /* addr >> 4 -> size, for sizes of RCT_BLOCK_SIZE_BIG and up */
    size_t self_bytes;
} rct_blocks;
RCT_HIDDEN rct_blocks *rct_blocks_new(const rct_pages *pages);
RCT_HIDDEN void rct_blocks_free(rct_blocks *b);
RCT_HIDDEN int rct_blocks_put_slow(rct_blocks *b, uint64_t key, uint32_t stack, size_t size);
RCT_HIDDEN bool rct_blocks_take_slow(rct_blocks *b, uint64_t key, uint32_t *stack, size_t *size);

/* The slot where key's probe starts (Fibonacci hashing: the product's
   top bits, so consecutive blocks spread). */
static inline size_t rct_blocks_home(const rct_blocks *b, uint64_t key)
{
    return (size_t)((key * UINT64_C(0x9E3779B97F4A7C15)) >> b->shift);
}

/* An entry's key and size as one word: key in the low 44 bits. */
static inline uint64_t rct_block_word(const rct_block_entry *e)
{
    uint64_t w;
    memcpy(&w, e, sizeof w);
    return w;
}

/* Record (or replace) addr under stack (not RCT_NO_STACK); -1 when out of
   memory (nothing changed).  The fast path, with room in the table and a
   small size (no slots: no room): the probe from the block's home to its
   own dead entry (a block freed and handed out again) or to the empty
   slot that ends the run.  A dead entry of another met on the way is left
   to the remake (the slow path puts the block there). */
static inline int rct_blocks_put(rct_blocks *b, uintptr_t addr, uint32_t stack, size_t size)
{
    uint64_t key = (uint64_t)addr >> 4;
    if (__builtin_expect(b->used < b->room && size < RCT_BLOCK_SIZE_BIG &&
                             key - 1 < (UINT64_C(1) << RCT_BLOCK_KEY_BITS) - 1 &&
                             stack != RCT_NO_STACK, 1)) {
        for (size_t i = rct_blocks_home(b, key);; i = (i + 1) & b->mask) {
            rct_block_entry *e = &b->slots[i];
            uint64_t w = rct_block_word(e);
            bool own = (w & ((UINT64_C(1) << RCT_BLOCK_KEY_BITS) - 1)) == key;
            if (own && e->stack != RCT_NO_STACK)
                break; /* a live block's new size: the slow path's */
            if (own || w == 0) {
                b->used += w == 0;
                b->len++;
                w = key | (uint64_t)size << RCT_BLOCK_KEY_BITS;
                memcpy(e, &w, sizeof w);
                e->stack = stack;
                return 0;
            }
        }
    }
    return rct_blocks_put_slow(b, key, stack, size);
}

/* Remove addr; false if it was not recorded.  The fast path: the probe
   from its home to its live entry of a small size, or to the empty slot
   that says it is not there. */
static inline bool rct_blocks_take(rct_blocks *b, uintptr_t addr, uint32_t *stack, size_t *size)
{
    uint64_t key = (uint64_t)addr >> 4;
    if (__builtin_expect(b->mask != 0 && key != 0, 1)) {
        for (size_t i = rct_blocks_home(b, key);; i = (i + 1) & b->mask) {
            rct_block_entry *e = &b->slots[i];
            uint64_t w = rct_block_word(e);
            if ((w & ((UINT64_C(1) << RCT_BLOCK_KEY_BITS) - 1)) == key) {
                if (e->stack == RCT_NO_STACK || w >> RCT_BLOCK_KEY_BITS == RCT_BLOCK_SIZE_BIG)
                    break; /* taken already, or a size in the side table */
                *stack = e->stack;
                *size = (size_t)(w >> RCT_BLOCK_KEY_BITS);
                e->stack = RCT_NO_STACK;
                b->len--;
                return true;
            }
            if (w == 0)
                return false;
        }
    }
    return rct_blocks_take_slow(b, key, stack, size);
}

RCT_HIDDEN bool rct_blocks_find(const rct_blocks *b, uintptr_t addr, uint32_t *stack,
                                size_t *size);
typedef void (*rct_block_fn)(uintptr_t addr, uint32_t stack, size_t size, void *ctx);
RCT_HIDDEN void rct_blocks_foreach(const rct_blocks *b, rct_block_fn fn, void *ctx);
RCT_HIDDEN size_t rct_blocks_count(const rct_blocks *b);
RCT_HIDDEN size_t rct_blocks_bytes(const rct_blocks *b);

/* funcs.c: a module's function symbols sorted by address (names borrowed). */
typedef struct rct_funcs rct_funcs;
RCT_HIDDEN rct_funcs *rct_funcs_new(void);           /* NULL on failure */
RCT_HIDDEN void rct_funcs_free(rct_funcs *f);        /* NULL is ignored */
/* 0, or -1 when out of memory (the index keeps what it had). */
RCT_HIDDEN int rct_funcs_add(rct_funcs *f, uint64_t lo, uint64_t size, const char *name,
                             bool global);
RCT_HIDDEN void rct_funcs_seal(rct_funcs *f);        /* sorts: call before finding */
/* The name of the function holding addr, or NULL. */
RCT_HIDDEN const char *rct_funcs_find(const rct_funcs *f, uint64_t addr);

/* ---- symbols.c: addresses to function, file, line -----------------------------
 * Through elfutils libdw (DWARF line tables) for the running process, with
 * dladdr as the fallback that still names exported functions.  A symbolizer
 * is reference counted so snapshots can share one with their heap; it
 * allocates with malloc (symbolization happens outside allocation paths). */
typedef struct rct_symbols rct_symbols;
typedef struct rct_symbol {
    const char *function;  /* NULL if unknown (stripped, no symbol) */
    const char *file;      /* NULL if unknown (no debug info) */
    int line;              /* 0 if unknown */
    const char *module;    /* path of the executable or library, or NULL */
} rct_symbol;
RCT_HIDDEN rct_symbols *rct_symbols_new(void);       /* NULL on failure */
/* Offline: a process that has exited, known by the modules it had loaded
   (a capture's M records).  base is the runtime address of the module's
   lowest PT_LOAD segment (dl_iterate_phdr's dlpi_addr plus that segment's
   p_vaddr), size the span of its segments; path is read now, copied, and
   not needed afterwards.  Looked up through libdw, or from
   the ELF symbol table when libdw is missing or cannot read a module.  The
   running process is never consulted (no dladdr, no /proc).  NULL on
   failure. */
typedef struct rct_module {
    uint64_t base, size;   /* where its lowest segment was mapped; span */
    const char *path;      /* the ELF file as it was loaded */
} rct_module;
RCT_HIDDEN rct_symbols *rct_symbols_new_modules(const rct_module *mods, size_t n);
/* An offline symbolizer names every frame: a function without a symbol is
   "module+0xOFFSET" (the module's file name and the address as its ELF file
   numbers it, for addr2line -e), an address in no module "0xADDRESS".  With
   a demangler set (before the first lookup), function names go through it:
   it returns a malloc'd readable name, or NULL for a name it does not know
   as mangled (kept as it is). */
RCT_HIDDEN void rct_symbols_set_demangler(rct_symbols *s, char *(*demangle)(const char *name));
RCT_HIDDEN rct_symbols *rct_symbols_ref(rct_symbols *s);
RCT_HIDDEN void rct_symbols_unref(rct_symbols *s);
/* Symbolize a return address (the call site: looks up addr - 1).  Strings
   live as long as the symbolizer.  Results are cached per address.
   Returns 0, or -1 when nothing is known (out is then all NULL/0; never
   for an offline symbolizer, which names every address). */
RCT_HIDDEN int rct_symbols_lookup(rct_symbols *s, const void *addr, rct_symbol *out);
/* Give addr (no code address: a capture's Python frame) its answer: later
   lookups of addr return function, file and line (copied; no module), and
   it is never in the library.  0, or -1 when out of memory. */
RCT_HIDDEN int rct_symbols_define(rct_symbols *s, const void *addr, const char *function,
                                  const char *file, int line);
/* Is addr (a return address) inside rcgc itself?  True for code of the
   library (its shared object, or in a static build its functions: names
   starting with rc_ or rci_/rct_, or source files under the library's
   src/ directory).  Used to find the innermost frame outside rcgc. */
RCT_HIDDEN bool rct_symbols_in_library(rct_symbols *s, const void *addr);

/* ---- snapshot.c: traces grouped by stack, and the reports on them --------
 * The public rc_snapshot (see rcgc.h).  Built from a heap's tables, or by
 * the capture reader stack by stack; malloc'd, independent of whatever
 * produced it, holding a reference on the symbolizer its strings live in. */
typedef struct rc_snapshot rc_snapshot;
RCT_HIDDEN rc_snapshot *rct_snapshot_new(rct_symbols *symbols);
/* Add bytes and blocks under a stack (frames innermost first); -1 on OOM. */
RCT_HIDDEN int rct_snapshot_add(rc_snapshot *s, void *const *frames, size_t depth,
                                size_t bytes, size_t blocks);
RCT_HIDDEN rc_snapshot *rct_snapshot_build(const rct_blocks *b, const rct_stacks *st,
                                           rct_symbols *symbols);

#endif
