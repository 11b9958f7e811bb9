/*
 * shim.c — librcgc_preload.so, the LD_PRELOAD shim of `rcgc run`: records
 * every call of the malloc family into a capture (docs/CAPTURE.md), and
 * librcgc's managed objects with their type names (rcgc_preload_object).
 *
 * What it may call: the real allocator (found with dlsym(RTLD_NEXT)), the
 * capture writer (tools/capture), and the trace engine (src/trace: the
 * frame-pointer walk and stack interning).  Its own tables live in mmap'd
 * pages, never in the allocator being traced.
 *
 * The hot path, per allocation: one real call, a frame-pointer walk,
 * (hash of the frames, size, type) looked up in a per-thread cache of
 * allocation infos (the stack's node is needed only on a miss), a store of
 * the info id into the shadow of live blocks (no lock), an atomic add to
 * the live byte count, and a record (the info id) appended to the thread's
 * own chunk buffer.  A free takes the info id back from the shadow and
 * skips the walk.  The one global lock is taken to intern a stack or info
 * the thread has not seen (its cache missed) and to append a finished chunk
 * to the file.
 *
 * Invariants:
 *  - `busy` (thread-local) is set while the shim runs on a thread: the
 *    allocations it makes itself (zstd, pthread_getattr_np in the stack
 *    walk, libunwind) pass straight to the real allocator, untraced.
 *  - Before dlsym has found the real functions, allocations come from a
 *    static arena and are never handed to the real free.
 *  - Stack nodes, infos, type names and modules go to one "meta" writer
 *    under the global lock; every thread's chunk is appended after flushing
 *    it, so a node or info reaches the file before any record that uses it
 *    and both are numbered in file order.  Module records precede the nodes they cover:
 *    before interning a new stack, the thread asks the loader whether
 *    anything was loaded (dl_iterate_phdr, outside the lock: dlclose frees
 *    memory under the loader's lock, so holding ours while waiting for it
 *    could deadlock).
 *  - A block is taken out of the shadow before the real free or realloc
 *    releases it, so a thread that gets the same address next never finds
 *    the old entry; a block's slot is only ever touched by the thread that
 *    owns the block, and the allocator's own synchronization orders the
 *    hand-overs, so slots need no lock.  Frees of blocks not in the shadow
 *    (allocated before recording started, or unsampled) are not recorded.
 *  - Each thread's state has an `in_event` flag, set around every use of
 *    its writer.  The finisher at exit switches `mode`, runs membarrier()
 *    so every thread either saw the switch or shows its flag, and waits for
 *    the flags before flushing other threads' buffers.
 *
 * Configuration (environment):
 *   RCGC_CAPTURE=path      where to write; %p becomes the pid.  Unset: off.
 *   RCGC_NATIVE_FRAMES=N   frames per stack (default 32, at most 256)
 *   RCGC_UNWIND=libunwind  walk with libunwind (DWARF: code without frame
 *                          pointers, e.g. libstdc++'s operator new; several
 *                          times slower, at most 93 frames) when built with it
 *   RCGC_SAMPLE_BYTES=N    0: every allocation; else sample about one byte
 *                          in N (Poisson), each sample weighted s/p so sums
 *                          stay unbiased (src/trace/sample.c, shared with
 *                          the heap's tracing)
 *   RCGC_CHUNK_BYTES=N     raw bytes per thread chunk (default 512 KiB)
 *   RCGC_ZSTD_LEVEL=N      zstd level of the chunks (default 2; negative:
 *                          faster, larger)
 *
 * fork: with %p in the path the child starts a capture of its own (its pid,
 * a new time base, no blocks inherited); without %p the child records
 * nothing.  exec: the new image loads the shim again and follows the same
 * rule; the process that started the capture (RCGC_CAPTURE_OWNER, set by
 * the shim when the path has no %p) takes the file over after exec.
 *
 * At exit (atexit handler registered first, so it runs last; also from
 * _exit/_Exit): flush every thread, find which live blocks are still
 * reachable (see "Leak scan"), write L and E records.
 */
#define _GNU_SOURCE
#include "../capture/capture.h"
#include "trace.h"

#include <dlfcn.h>
#include <errno.h>
#ifdef RCGC_HAVE_LIBUNWIND
#define UNW_LOCAL_ONLY
#include <libunwind.h>
#endif
#include <fcntl.h>
#include <limits.h>
#include <link.h>
#include <malloc.h>
#include <linux/membarrier.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define EXPORT __attribute__((visibility("default")))
#define NOINLINE __attribute__((noinline))
#define LIKELY(x) __builtin_expect(!!(x), 1)
#define UNLIKELY(x) __builtin_expect(!!(x), 0)
#define TLS __thread __attribute__((tls_model("initial-exec")))

/* ---- Tunables ------------------------------------------------------------------ */
#define DEFAULT_FRAMES 32
#define DEFAULT_CHUNK (512u << 10)
#define ARENA_BYTES (256u << 10)     /* bootstrap allocations (dlsym's) */
#define CACHE_SLOTS 4096             /* per-thread stack cache, a power of two */
#define FINE_EVERY 64                /* events between reads of the fine clock */
#define SAMPLE_US 10000              /* timeline: a sample per 10 ms of activity */
#define FLUSH_US 1000000             /* a thread's chunk goes out at least every 1 s */
#define MAX_MODULES 4096             /* modules written; roots ranges */
#define SCAN_MODULES 1024            /* modules listed per loader scan */
#define SCAN_BUF (64u << 10)         /* bytes read per process_vm_readv */
#define MAX_TYPES 4096               /* distinct managed type names per capture */
#define TYPE_NAME_BYTES (1u << 20)   /* their copies (mmap'd, touched as used) */
#define TYPE_CACHE 64                /* per-thread: type name pointer -> type id */
#define MAX_INFOS RCC_MAX_INFOS       /* distinct (size, stack, type) per capture */
#define INFO_CACHE 4096              /* per-thread: (frames, size, type) -> info id */
#define TIME_GRAIN_US 1000           /* a C record per thread at most every 1 ms */
_Static_assert((CACHE_SLOTS & (CACHE_SLOTS - 1)) == 0, "cache: a power of two");
_Static_assert(DEFAULT_FRAMES <= RCC_MAX_DEPTH, "frames fit a capture stack");

/* ---- The real allocator ------------------------------------------------------------ */

typedef int (*main_fn)(int, char **, char **);
static struct {
    void *(*malloc)(size_t);
    void *(*calloc)(size_t, size_t);
    void *(*realloc)(void *, size_t);
    void (*free)(void *);
    int (*posix_memalign)(void **, size_t, size_t);
    void *(*aligned_alloc)(size_t, size_t);
    void *(*memalign)(size_t, size_t);
    void *(*valloc)(size_t);
    void *(*pvalloc)(size_t);
    size_t (*malloc_usable_size)(void *);
    void (*exit)(int) __attribute__((noreturn));
    void (*exit_now)(int) __attribute__((noreturn)); /* _exit */
    int (*start_main)(main_fn, int, char **, void (*)(void), void (*)(void),
                      void (*)(void), void *);
} real;
static atomic_int real_state; /* 0: not resolved, 1: resolving, 2: ready */

static TLS int busy; /* the shim is running on this thread: pass through */

static void die(const char *msg)
{
    ssize_t rc = write(2, msg, strlen(msg));
    (void)rc;
    abort();
}

/* Allocations made before dlsym has answered (dlsym itself calls calloc)
   come from this arena: 16 bytes of header holding the size, zeroed memory
   that is never reused, never passed to the real free. */
static _Alignas(64) char arena[ARENA_BYTES];
static atomic_size_t arena_used;

static bool in_arena(const void *p)
{
    return (const char *)p >= arena && (const char *)p < arena + sizeof arena;
}

static void *arena_alloc(size_t n, size_t align)
{
    if (align < 16)
        align = 16;
    if (n > sizeof arena || align > 4096)
        return NULL;
    size_t need = (n + 15) & ~(size_t)15, at;
    size_t old = atomic_load(&arena_used);
    do {
        at = (old + 16 + align - 1) & ~(align - 1);
        if (at + need > sizeof arena)
            return NULL;
    } while (!atomic_compare_exchange_weak(&arena_used, &old, at + need));
    memcpy(arena + at - sizeof(size_t), &n, sizeof n);
    return arena + at;
}

static size_t arena_size(const void *p)
{
    size_t n;
    memcpy(&n, (const char *)p - sizeof n, sizeof n);
    return n;
}

static void *next_symbol(const char *name)
{
    void *f = dlsym(RTLD_NEXT, name);
    if (!f && strcmp(name, "pvalloc") != 0 &&
        strcmp(name, "valloc") != 0 && strcmp(name, "__libc_start_main") != 0) {
        die("rcgc preload: dlsym(RTLD_NEXT) cannot find the allocator\n");
    }
    return f;
}

/* Find the real functions.  Reentrant calls (dlsym allocating) and other
   threads arriving meanwhile see real_state 1 and use the arena. */
static void resolve(void)
{
    int expect = 0;
    if (!atomic_compare_exchange_strong(&real_state, &expect, 1))
        return;
    busy++;
#define GET(field, name) *(void **)&real.field = next_symbol(name)
    GET(malloc, "malloc");
    GET(calloc, "calloc");
    GET(realloc, "realloc");
    GET(free, "free");
    GET(posix_memalign, "posix_memalign");
    GET(aligned_alloc, "aligned_alloc");
    GET(memalign, "memalign");
    GET(valloc, "valloc");
    GET(pvalloc, "pvalloc");
    GET(malloc_usable_size, "malloc_usable_size");
    GET(exit, "exit");
    GET(exit_now, "_exit");
    GET(start_main, "__libc_start_main");
#undef GET
    busy--;
    atomic_store(&real_state, 2);
}

static bool ready(void)
{
    if (LIKELY(atomic_load_explicit(&real_state, memory_order_acquire) == 2))
        return true;
    resolve();
    return atomic_load(&real_state) == 2;
}

/* ---- Shared state ----------------------------------------------------------------------- */

enum { UNSTARTED, ACTIVE, FINISHING, OFF };

typedef struct module {
    uintptr_t base, size;     /* as written in its M record */
    uint64_t path_hash;       /* a library dlopen'ed where another was */
} module;

typedef struct tstate tstate;

static struct {
    atomic_int mode;          /* UNSTARTED, ACTIVE, FINISHING, OFF */
    int gen;                  /* capture generation: a fork child starts a new one */
    pthread_mutex_t lock;     /* file appends, stack nodes, modules, registry */
    int fd;                   /* the capture file */
    rcc_writer *meta;         /* stack nodes, modules, leaks, end */
    rct_stacks *nodes;        /* (parent node, return address) -> node - 1 */
    module *mods;             /* modules already written, MAX_MODULES */
    size_t nmods;             /*   how many */
    unsigned long long adds, subs; /* loader counters at the last module scan */
    tstate *threads;          /* registry of thread states */
    pthread_key_t key;        /* its destructor flushes a finished thread */
    atomic_uint_fast64_t live;          /* bytes live (sampled: estimated) */
    atomic_uint_fast64_t last_sample_us; /* time of the last P record */
    uint64_t start_ns;        /* CLOCK_MONOTONIC at the capture's start */
    dev_t dev;                /* the capture file's identity: a program that */
    ino_t ino;                /*   closes every fd must not get our chunks */
    long page;                /* bytes per page (statm counts pages) */
    size_t frames;            /* frames per stack */
    rct_capture_fn capture;   /* the frame-pointer walk, or libunwind's */
    uint64_t sample_mean;     /* 0: exact */
    size_t chunk;             /* raw bytes per thread chunk */
    int level;                /* zstd level of the threads' chunks */
    bool strong_fence;        /* no membarrier: fence on every event */
    char path[PATH_MAX];      /* RCGC_CAPTURE as given */
    char exe[PATH_MAX];       /* the main program's path */
    int status;               /* exit status for E */
    bool main_returned;       /* main's frames are dead */
    uintptr_t main_frame;     /* our main wrapper's frame */
    uintptr_t self_lo, self_size; /* the shim's own module */
    struct type_name { uint64_t hash; uint32_t off, len; } *types; /* id - 1 -> name */
    char *type_names;         /* the names, NUL-terminated, TYPE_NAME_BYTES */
    uint32_t ntypes;          /* type ids given (T records written) */
    uint32_t other_type;      /* "(other types)": the tables are full; 0 until used */
    size_t type_bytes;        /* of type_names used */
} g = {.lock = PTHREAD_MUTEX_INITIALIZER, .fd = -1};

static const rct_pages pages; /* defined below */

static void lock(int *cancel)
{
    pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, cancel);
    pthread_mutex_lock(&g.lock);
}

static void unlock(int cancel)
{
    pthread_mutex_unlock(&g.lock);
    pthread_setcancelstate(cancel, NULL);
}

/* ---- Pages for the tables: mmap, never the traced allocator ------------------------ */

static void *pages_alloc(void *ctx, size_t bytes)
{
    (void)ctx;
    void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

static void pages_free(void *ctx, void *p, size_t bytes)
{
    (void)ctx;
    munmap(p, bytes);
}

static const rct_pages pages = {pages_alloc, pages_free, NULL};

/* ---- Time ----------------------------------------------------------------------------- */

static uint64_t clock_ns(clockid_t c)
{
    struct timespec ts;
    clock_gettime(c, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t mono_us(void)
{
    return (clock_ns(CLOCK_MONOTONIC) - g.start_ns) / 1000u;
}

/* ---- File appends ------------------------------------------------------------------- */

/* With the lock held: append, if the fd is still our file (a program may
   close every fd and open something else under the same number). */
static int append(const void *chunk, size_t len)
{
    struct stat st;
    if (g.fd < 0 || fstat(g.fd, &st) != 0 || st.st_dev != g.dev || st.st_ino != g.ino) {
        g.fd = -1;
        atomic_store(&g.mode, OFF); /* the capture ends here, unfinished */
        return -1;
    }
    return rcc_write_all(g.fd, chunk, len);
}

/* The meta writer's sink: called with the lock held. */
static int meta_sink(void *ctx, const void *chunk, size_t len)
{
    (void)ctx;
    return append(chunk, len);
}

/* A thread's sink: the nodes and modules its records may use go first. */
static int thread_sink(void *ctx, const void *chunk, size_t len)
{
    (void)ctx;
    int cancel, rc;
    lock(&cancel);
    rc = rcc_writer_flush(g.meta);
    if (rc == 0)
        rc = append(chunk, len);
    unlock(cancel);
    return rc;
}

static void meta_write(const rcc_event *e)
{
    rcc_write(g.meta, e);
}

/* ---- Modules ------------------------------------------------------------------------
 * A module record gives the address range of the module's PT_LOAD segments:
 * base = load bias + lowest p_vaddr, size = span to the end of the last. */

typedef struct found_module {
    uintptr_t base, size;
    char path[RCC_MAX_STRING + 1];
} found_module;

typedef struct module_scan {
    unsigned long long adds, subs;  /* the loader's counters */
    bool probe;                     /* stop at the first module */
    found_module *list;             /* full scan: mmap'd */
    size_t n, cap;
} module_scan;

static int module_cb(struct dl_phdr_info *info, size_t size, void *ctx)
{
    (void)size;
    module_scan *s = ctx;
    s->adds = info->dlpi_adds;
    s->subs = info->dlpi_subs;
    if (s->probe)
        return 1;
    if (s->n == s->cap)
        return 1;
    uintptr_t lo = UINTPTR_MAX, hi = 0;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD)
            continue;
        if (ph->p_vaddr < lo)
            lo = ph->p_vaddr;
        if (ph->p_vaddr + ph->p_memsz > hi)
            hi = ph->p_vaddr + ph->p_memsz;
    }
    if (hi <= lo)
        return 0;
    found_module *m = &s->list[s->n++];
    m->base = info->dlpi_addr + lo;
    m->size = hi - lo;
    const char *name = info->dlpi_name && *info->dlpi_name ? info->dlpi_name : g.exe;
    strncpy(m->path, name, RCC_MAX_STRING);
    m->path[RCC_MAX_STRING] = 0;
    return 0;
}

/* Ask the loader (without our lock) whether modules came or went since the
   last scan; if so, list them all into s->list (munmap'd by module_done). */
static void module_check(module_scan *s)
{
    *s = (module_scan){.probe = true};
    dl_iterate_phdr(module_cb, s);
    if (s->adds == __atomic_load_n(&g.adds, __ATOMIC_RELAXED) &&
        s->subs == __atomic_load_n(&g.subs, __ATOMIC_RELAXED))
        return;
    s->probe = false;
    s->cap = SCAN_MODULES;
    s->list = pages_alloc(NULL, s->cap * sizeof *s->list);
    if (!s->list)
        s->cap = 0;
    dl_iterate_phdr(module_cb, s);
}

static void module_done(module_scan *s)
{
    if (s->list)
        pages_free(NULL, s->list, s->cap * sizeof *s->list);
}

/* With the lock held: write the modules not written yet. */
static void module_emit(const module_scan *s)
{
    if (!s->list)
        return;
    for (size_t i = 0; i < s->n; i++) {
        const found_module *m = &s->list[i];
        uint64_t h = UINT64_C(0xCBF29CE484222325); /* FNV-1a */
        for (const char *c = m->path; *c; c++)
            h = (h ^ (uint8_t)*c) * UINT64_C(0x100000001B3);
        bool known = false;
        for (size_t j = 0; j < g.nmods && !known; j++)
            known = g.mods[j].base == m->base && g.mods[j].size == m->size &&
                    g.mods[j].path_hash == h;
        if (known || g.nmods == MAX_MODULES)
            continue;
        g.mods[g.nmods++] = (module){m->base, m->size, h};
        meta_write(&(rcc_event){.kind = RCC_MODULE, .ip = m->base, .size = m->size,
                                .text = m->path});
    }
    __atomic_store_n(&g.adds, s->adds, __ATOMIC_RELAXED);
    __atomic_store_n(&g.subs, s->subs, __ATOMIC_RELAXED);
}

/* ---- Stack nodes ------------------------------------------------------------------------
 * A node is the pair (parent node, return address), interned in an
 * rct_stacks table as a two-frame "stack": node = its id + 1.  A thread's
 * cache maps the hash of a whole stack to its innermost node; two stacks
 * with the same 64-bit hash (and depth) would share a node. */

typedef struct cache_slot {
    uint64_t hash;
    uint32_t node;            /* 0: empty */
} cache_slot;

typedef struct info_slot {
    uint64_t frames;          /* hash of the stack's frames (0: no frames) */
    uint64_t size;
    uint32_t type;
    uint32_t id;              /* 0: empty */
} info_slot;

struct tstate {
    volatile int in_event;    /* inside an event: the finisher waits */
    int gen;                  /* the capture generation it belongs to */
    bool in_use;              /* a live thread owns it */
    rcc_writer *w;            /* this thread's chunk */
    uint64_t now_us;          /* time of the last fine clock read */
    uint64_t last_tick;       /* tick_ns() at that read */
    unsigned since_fine;      /* events since then */
    uint64_t flushed_us;      /* time of the last flush */
    uintptr_t last_alloc;     /* its latest block, while no other was allocated:
                                 freed now, it is a temporary */
    uint64_t peak, peak_us;   /* the highest live count its allocations left, and
                                 when: the process's peak is the highest of these
                                 (every rise of the count is some thread's add) */
    double countdown;         /* sampling: bytes to the next sample */
    uint64_t rng;             /* xorshift64 state */
    uintptr_t stack_lo, stack_hi; /* for the leak scan; 0 if unknown */
    tstate *next;             /* registry */
    struct { const char *name; uint32_t id; } types[TYPE_CACHE]; /* managed types */
    cache_slot cache[CACHE_SLOTS];
    info_slot infos[INFO_CACHE];
};

static inline uint64_t mix_frame(uint64_t h, const void *f)
{
    h ^= (uint64_t)(uintptr_t)f;
    h *= UINT64_C(0xFF51AFD7ED558CCD);
    return h ^ (h >> 32);
}

/* Four independent lanes, then one mix of their combination: one chain of
   multiplies was two thirds of on_alloc with 20 frames, waiting on its own
   latency, and a chain of final mixes cost shallow stacks as much. */
static uint64_t hash_frames(void *const *f, size_t n)
{
    uint64_t h[4] = {UINT64_C(0x9E3779B97F4A7C15) ^ n, UINT64_C(0xC2B2AE3D27D4EB4F),
                     UINT64_C(0x165667B19E3779F9), UINT64_C(0x27D4EB2F165667C5)};
    size_t i = 0;
    for (; i + 4 <= n; i += 4)
        for (int k = 0; k < 4; k++)
            h[k] = mix_frame(h[k], f[i + k]);
    for (int k = 0; i < n; i++, k++)
        h[k] = mix_frame(h[k], f[i]);
    uint64_t r = h[0] ^ (h[1] << 17 | h[1] >> 47) ^ (h[2] << 31 | h[2] >> 33) ^
                 (h[3] << 47 | h[3] >> 17);
    return mix_frame(UINT64_C(0x85EBCA77C2B2AE63), (const void *)(uintptr_t)r);
}

/* With the lock held: intern each prefix, outermost frame first.  The
   shim's own frames (its main wrapper, below every frame of main) are left
   out. */
static uint32_t intern_stack(void *const *frames, size_t n)
{
    uint32_t parent = 0;
    for (size_t i = n; i-- > 0;) {
        if ((uintptr_t)frames[i] - g.self_lo < g.self_size)
            continue;
        void *pair[2] = {(void *)(uintptr_t)parent, frames[i]};
        size_t before = rct_stacks_count(g.nodes);
        if (before >= RCC_MAX_NODES)
            break; /* full (readers refuse more): the stack keeps its outer frames */
        uint32_t id = rct_stacks_intern(g.nodes, pair, 2);
        if (id == RCT_NO_STACK)
            break; /* out of memory: the same */
        if (rct_stacks_count(g.nodes) != before)
            meta_write(&(rcc_event){.kind = RCC_STACK, .stack = parent,
                                    .ip = (uint64_t)(uintptr_t)frames[i]});
        parent = id + 1;
    }
    return parent;
}

/* h: hash_frames(frames, n). */
static uint32_t stack_node(tstate *t, void *const *frames, size_t n, uint64_t h)
{
    if (!n)
        return 0;
    cache_slot *s = &t->cache[h & (CACHE_SLOTS - 1)];
    if (LIKELY(s->node && s->hash == h))
        return s->node;
    module_scan ms;
    module_check(&ms);
    int cancel;
    lock(&cancel);
    module_emit(&ms);
    uint32_t node = intern_stack(frames, n);
    unlock(cancel);
    module_done(&ms);
    s->hash = h;
    s->node = node;
    return node;
}

/* ---- Managed type names --------------------------------------------------------------
 * librcgc's objects (rcgc_preload_object) carry their type's name.  Each
 * distinct name gets an id and a T record, written to the meta writer
 * before any A that uses it (a thread's chunk goes out after the meta
 * writer is flushed).  A thread looks the name's pointer up in its own
 * cache; on a miss, the global table (under the lock) compares strings, so
 * two pointers to equal names share an id. */

/* With the lock held: the id of name, made (and its T written) if new. */
static uint32_t type_intern(const char *name)
{
    size_t len = strnlen(name, RCC_MAX_STRING);
    uint64_t h = UINT64_C(0xCBF29CE484222325); /* FNV-1a */
    for (size_t i = 0; i < len; i++)
        h = (h ^ (uint8_t)name[i]) * UINT64_C(0x100000001B3);
    for (uint32_t i = 0; i < g.ntypes; i++)
        if (g.types[i].hash == h && g.types[i].len == len &&
            memcmp(g.type_names + g.types[i].off, name, len) == 0)
            return i + 1;
    static const char other[] = "(other types)";
    if (!g.types || !g.type_names || g.ntypes >= MAX_TYPES - 1 ||
        g.type_bytes + len + 1 > TYPE_NAME_BYTES - sizeof other) {
        if (g.other_type || !g.types || !g.type_names)
            return g.other_type; /* 0 (raw) only if the tables were never made */
        name = other;
        len = sizeof other - 1;
        h = 0;
    }
    struct type_name *t = &g.types[g.ntypes];
    *t = (struct type_name){h, (uint32_t)g.type_bytes, (uint32_t)len};
    memcpy(g.type_names + g.type_bytes, name, len);
    g.type_names[g.type_bytes + len] = 0;
    g.type_bytes += len + 1;
    uint32_t id = ++g.ntypes;
    if (name == other)
        g.other_type = id;
    meta_write(&(rcc_event){.kind = RCC_TYPE, .id = id, .text = g.type_names + t->off});
    return id;
}

static uint32_t type_id(tstate *t, const char *name)
{
    size_t slot = (size_t)(((uintptr_t)name * UINT64_C(0x9E3779B97F4A7C15)) >> 58) &
                  (TYPE_CACHE - 1);
    if (LIKELY(t->types[slot].name == name))
        return t->types[slot].id;
    int cancel;
    lock(&cancel);
    uint32_t id = type_intern(name);
    unlock(cancel);
    t->types[slot].name = name;
    t->types[slot].id = id;
    return id;
}

/* ---- Allocation infos -----------------------------------------------------------------
 * An allocation is written as its info: (size, stack node, type id), each
 * distinct one given an id and an I record the first time, as stack nodes
 * are.  Frees name the info too, found in the shadow, so the file needs no
 * addresses.  The table is reserved once for MAX_INFOS entries (pages
 * touched as used) and entries never move, so a free reads its entry
 * without the lock: an entry is written before its id is handed out, and
 * the program's own hand-over of the block orders that write before the
 * free.  A thread caches (frames' hash, size, type) -> id (info_id); on a
 * miss the index (a hash table of (size, node, type) under the lock, grown
 * by doubling) finds or makes it. */

typedef struct alloc_info {
    uint64_t size;            /* bytes asked for: the block's extent, for the scan */
    uint64_t weight;          /* bytes it stands for: size, or s/p when sampled */
    uint32_t node, type;
} alloc_info;

static struct {
    alloc_info *tab;          /* id - 1 -> info; MAX_INFOS reserved */
    uint32_t n;               /* ids given */
    uint32_t *index;          /* open addressing: id, 0 empty */
    size_t cap;               /* index slots, a power of two, at most half full */
} inf;

static uint64_t info_hash(uint64_t size, uint32_t node, uint32_t type)
{
    uint64_t h = (size ^ (uint64_t)node << 32 ^ type) * UINT64_C(0x9E3779B97F4A7C15);
    return h ^ (h >> 29) ^ ((uint64_t)node * UINT64_C(0xFF51AFD7ED558CCD));
}

/* A fresh, empty index (a capture's start; a fork child's).  false: no memory. */
static bool info_reset(void)
{
    if (!inf.tab)
        inf.tab = mmap(NULL, MAX_INFOS * sizeof *inf.tab, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (inf.tab == MAP_FAILED)
        inf.tab = NULL;
    inf.n = 0;
    inf.cap = 4096;
    inf.index = pages_alloc(NULL, inf.cap * sizeof *inf.index); /* a fork child drops the
                                                                  parent's, unfreed */
    return inf.tab && inf.index;
}

static uint32_t *info_probe(uint32_t *index, size_t cap, uint64_t h, uint64_t size,
                            uint32_t node, uint32_t type)
{
    for (size_t i = h & (cap - 1);; i = (i + 1) & (cap - 1)) {
        const alloc_info *e = index[i] ? &inf.tab[index[i] - 1] : NULL;
        if (!e || (e->size == size && e->node == node && e->type == type))
            return &index[i];
    }
}

static bool info_grow(void)
{
    size_t cap = inf.cap * 2;
    uint32_t *index = pages_alloc(NULL, cap * sizeof *index);
    if (!index)
        return false;
    for (size_t i = 0; i < inf.cap; i++)
        if (inf.index[i]) {
            const alloc_info *e = &inf.tab[inf.index[i] - 1];
            *info_probe(index, cap, info_hash(e->size, e->node, e->type), e->size, e->node,
                        e->type) = inf.index[i];
        }
    pages_free(NULL, inf.index, inf.cap * sizeof *inf.index);
    inf.index = index;
    inf.cap = cap;
    return true;
}

/* With the lock held: the id of (size, node, type), made (and its I
   written) if new; 0 when the table is full or out of memory. */
static uint32_t info_intern(uint64_t h, uint64_t size, uint64_t weight, uint32_t node,
                            uint32_t type)
{
    if (!inf.tab || !inf.index)
        return 0;
    uint32_t *slot = info_probe(inf.index, inf.cap, h, size, node, type);
    if (*slot)
        return *slot;
    if (inf.n >= MAX_INFOS || (2 * (inf.n + 1) > inf.cap && !info_grow()))
        return 0;
    slot = info_probe(inf.index, inf.cap, h, size, node, type); /* the index may have moved */
    inf.tab[inf.n] = (alloc_info){size, weight, node, type};
    *slot = ++inf.n;
    meta_write(&(rcc_event){.kind = RCC_INFO, .size = weight, .stack = node, .type = type});
    return inf.n;
}

static inline bool info_hit(const info_slot *c, uint64_t fh, uint64_t size, uint32_t type)
{
    return c->id && c->frames == fh && c->size == size && c->type == type;
}

/* The info id of an allocation of size bytes (weight: what it stands for)
   at this stack.  A hit in the thread's cache, keyed by the frames' hash,
   costs one lookup: the stack node is only needed on a miss.  The cache is
   two-way (a new entry goes first, the older one second): direct-mapped,
   2048 infos used at random missed about a third of the time, and a miss
   takes the lock.  0 when out of room. */
static uint32_t info_id(tstate *t, void *const *frames, size_t depth, uint64_t size,
                        uint64_t weight, uint32_t type)
{
    uint64_t fh = depth ? hash_frames(frames, depth) : 0;
    uint64_t k = (fh ^ size * UINT64_C(0x9E3779B97F4A7C15) ^ type) * UINT64_C(0xFF51AFD7ED558CCD);
    info_slot *c = &t->infos[k >> 52 & (INFO_CACHE - 2)];
    if (LIKELY(info_hit(&c[0], fh, size, type)))
        return c[0].id;
    if (info_hit(&c[1], fh, size, type))
        return c[1].id;
    uint32_t node = stack_node(t, frames, depth, fh);
    int cancel;
    lock(&cancel);
    uint32_t id = info_intern(info_hash(size, node, type), size, weight, node, type);
    unlock(cancel);
    if (id) {
        c[1] = c[0];
        c[0] = (info_slot){fh, size, type, id};
    }
    return id;
}

/* ---- The shadow of live blocks --------------------------------------------------------
 * One 32-bit word per 16-byte granule of address space, for the granule a
 * traced block starts at: 0 if none, else its info id (its size, stack and
 * type: see "Allocation infos").  Two levels: a directory (reserved, never touched
 * where the heap is not) of leaves made on first use, each covering 16 MiB
 * of addresses with 4 MiB of words.  Neighbouring blocks have neighbouring
 * words, so the shadow is as cache-friendly as the heap itself; a hash
 * table spreads them on purpose, and its misses cost more than everything
 * else on the hot path together (see docs/CAPTURE.md, "Recording").
 * Blocks not aligned to 16 bytes, or beyond ADDR_BITS, are not traced
 * (glibc aligns every block to 16). */

#define GRANULE_SHIFT 4
#define LEAF_SHIFT 24
#define LEAF_WORDS ((size_t)1 << (LEAF_SHIFT - GRANULE_SHIFT))
#if defined(__x86_64__)
#define ADDR_BITS 47
#else
#define ADDR_BITS 48
#endif
#define DIR_ENTRIES ((size_t)1 << (ADDR_BITS - LEAF_SHIFT))
#define MAX_LEAVES 65536             /* 1 TiB of heap addresses */

static struct {
    uint32_t **dir;           /* DIR_ENTRIES leaves, NULL until made */
    uint32_t *made;           /* directory indices of the leaves, MAX_LEAVES */
    atomic_uint nmade;
} sh;

static bool shadow_init(void)
{
    sh.dir = mmap(NULL, DIR_ENTRIES * sizeof *sh.dir, PROT_READ | PROT_WRITE,
                  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    sh.made = pages_alloc(NULL, MAX_LEAVES * sizeof *sh.made);
    atomic_store(&sh.nmade, 0);
    return sh.dir != MAP_FAILED && sh.made;
}

/* A fork child starts empty: the parent's shadow is unmapped (only this
   thread exists), never scanned. */
static void shadow_drop(void)
{
    if (!sh.dir || sh.dir == MAP_FAILED)
        return;
    unsigned n = atomic_load(&sh.nmade);
    for (unsigned i = 0; i < n && i < MAX_LEAVES; i++)
        pages_free(NULL, sh.dir[sh.made[i]], LEAF_WORDS * sizeof(uint32_t));
    pages_free(NULL, sh.dir, DIR_ENTRIES * sizeof *sh.dir);
    pages_free(NULL, sh.made, MAX_LEAVES * sizeof *sh.made);
    sh.dir = NULL;
}

static uint32_t *leaf_of(size_t d, bool make)
{
    uint32_t *leaf = __atomic_load_n(&sh.dir[d], __ATOMIC_ACQUIRE);
    if (LIKELY(leaf) || !make)
        return leaf;
    uint32_t *fresh = pages_alloc(NULL, LEAF_WORDS * sizeof *fresh);
    if (!fresh)
        return NULL;
    if (!__atomic_compare_exchange_n(&sh.dir[d], &leaf, fresh, false, __ATOMIC_ACQ_REL,
                                     __ATOMIC_ACQUIRE)) {
        pages_free(NULL, fresh, LEAF_WORDS * sizeof *fresh);
        return leaf; /* another thread made it */
    }
    unsigned i = atomic_fetch_add(&sh.nmade, 1);
    if (i < MAX_LEAVES)
        sh.made[i] = (uint32_t)d;
    return fresh;
}

static uint32_t *slot_of(uintptr_t a, bool make)
{
    if ((a & ((1u << GRANULE_SHIFT) - 1)) || a >> ADDR_BITS)
        return NULL;
    uint32_t *leaf = leaf_of(a >> LEAF_SHIFT, make);
    return leaf ? &leaf[(a >> GRANULE_SHIFT) & (LEAF_WORDS - 1)] : NULL;
}

static bool shadow_put(uintptr_t a, uint32_t id)
{
    uint32_t *slot = slot_of(a, true);
    if (!slot)
        return false;
    __atomic_store_n(slot, id, __ATOMIC_RELAXED);
    return true;
}

/* The info id of a traced block, taken out of the shadow; 0: not traced. */
static uint32_t shadow_take(uintptr_t a)
{
    uint32_t *slot = slot_of(a, false);
    uint32_t v = slot ? __atomic_load_n(slot, __ATOMIC_RELAXED) : 0;
    if (v)
        __atomic_store_n(slot, 0, __ATOMIC_RELAXED);
    return v;
}

/* ---- Sampling ----------------------------------------------------------------------- */

/* 0: this allocation is not sampled. */
static uint64_t sample(tstate *t, size_t size)
{
    t->countdown -= (double)size;
    if (t->countdown > 0)
        return 0;
    t->countdown = rct_sample_gap(&t->rng, (double)g.sample_mean);
    return rct_sample_weight(size, (double)g.sample_mean);
}

/* ---- Thread states ------------------------------------------------------------------ */

static TLS tstate *self;

/* The calling thread's state, made or reused; NULL when out of memory. */
static NOINLINE tstate *attach(void)
{
    int cancel;
    tstate *t;
    lock(&cancel);
    for (t = g.threads; t && (t->in_use || t->gen != g.gen); t = t->next)
        ;
    if (t) {
        t->in_use = true;
    } else if ((t = pages_alloc(NULL, sizeof *t))) {
        rcc_writer_options o = {.sink = thread_sink, .chunk_bytes = g.chunk, .level = g.level,
                                .tid = (uint32_t)syscall(SYS_gettid),
                                .time_grain_us = TIME_GRAIN_US};
        t->w = rcc_writer_new(&o);
        if (!t->w) {
            pages_free(NULL, t, sizeof *t);
            t = NULL;
        } else {
            t->gen = g.gen;
            t->in_use = true;
            t->next = g.threads;
            g.threads = t;
        }
    }
    unlock(cancel);
    if (!t)
        return NULL;
    rct_stack_bounds(&t->stack_lo, &t->stack_hi);
    t->rng = (clock_ns(CLOCK_MONOTONIC) ^ (uint64_t)(uintptr_t)t) | 1; /* never 0 */
    if (g.sample_mean)
        t->countdown = rct_sample_gap(&t->rng, (double)g.sample_mean);
    t->since_fine = FINE_EVERY; /* read the clock at the first event */
    t->flushed_us = mono_us();
    self = t;
    pthread_setspecific(g.key, t);
    return t;
}

static void enter(tstate *t)
{
    t->in_event = 1;
    if (g.strong_fence)
        atomic_thread_fence(memory_order_seq_cst);
    else
        atomic_signal_fence(memory_order_seq_cst);
}

static void leave(tstate *t)
{
    atomic_signal_fence(memory_order_seq_cst);
    t->in_event = 0;
}

/* pthread key destructor: a thread is ending; its records go out now. */
static void thread_gone(void *v)
{
    tstate *t = v;
    if (!t || t->gen != g.gen)
        return;
    busy++;
    enter(t);
    bool active = atomic_load(&g.mode) == ACTIVE;
    if (active)
        rcc_writer_flush(t->w);
    self = NULL;
    leave(t);
    if (active) { /* else the finisher owns it */
        int cancel;
        lock(&cancel);
        t->in_use = false;
        unlock(cancel);
    }
    busy--;
}

/* ---- Timeline -------------------------------------------------------------------- */

/* Read every time (every 10 ms at most): a kept fd could be closed under
   us by a program that closes them all. */
static uint64_t rss_bytes(void)
{
    char buf[128];
    int fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
    ssize_t n = fd >= 0 ? read(fd, buf, sizeof buf - 1) : -1;
    if (fd >= 0)
        close(fd);
    if (n <= 0)
        return 0;
    buf[n] = 0;
    char *p = strchr(buf, ' ');
    return p ? strtoull(p + 1, NULL, 10) * (uint64_t)g.page : 0;
}

/* After a fine clock read: the timeline sample, and the periodic flush. */
static NOINLINE void housekeeping(tstate *t, uint64_t now)
{
    uint64_t last = atomic_load_explicit(&g.last_sample_us, memory_order_relaxed);
    if (now - last >= SAMPLE_US && now > last &&
        atomic_compare_exchange_strong(&g.last_sample_us, &last, now))
        rcc_write(t->w, &(rcc_event){.kind = RCC_SAMPLE, .time_us = now,
                                     .heap_bytes = atomic_load(&g.live),
                                     .rss_bytes = rss_bytes()});
    if (now - t->flushed_us >= FLUSH_US) {
        t->flushed_us = now;
        rcc_writer_flush(t->w);
    }
}

/* ---- Ticks: has time moved? -------------------------------------------------------
 * Under rcgc run, a load from its tick page (capture.h); else the coarse
 * clock (a vDSO call, ~6.5 ns in a VM, ticking every 4 ms here).  A page
 * that stops moving (rcgc run killed) is dropped for the coarse clock at
 * the next fine read. */

#define TICK_STALE_NS 100000000u     /* a page this far behind has stopped */

static rcc_tick_page *_Atomic tick_page;

/* Map the page RCGC_TICK names ("path:token"), if it is the one meant. */
static void tick_open(void)
{
    const char *v = getenv(RCC_TICK_ENV);
    const char *colon = v ? strrchr(v, ':') : NULL;
    char path[64];
    if (!colon || (size_t)(colon - v) >= sizeof path)
        return;
    memcpy(path, v, (size_t)(colon - v));
    path[colon - v] = 0;
    unsigned long long token = strtoull(colon + 1, NULL, 10);
    /* The name outlives rcgc run in descendants' environments, and its pid
       may be reused: take only a regular file large enough, never block. */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (fd < 0)
        return;
    struct stat st;
    void *p = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
                      st.st_size >= (off_t)sizeof(rcc_tick_page)
                  ? mmap(NULL, sizeof(rcc_tick_page), PROT_READ, MAP_SHARED, fd, 0)
                  : MAP_FAILED;
    close(fd);
    if (p == MAP_FAILED)
        return;
    if (((rcc_tick_page *)p)->token != token) {
        munmap(p, sizeof(rcc_tick_page));
        return;
    }
    atomic_store(&tick_page, p);
}

/* 0 on the page: rcgc run has stopped ticking (its program exited; this
   is a descendant still running). */
static inline uint64_t tick_ns(void)
{
    rcc_tick_page *p = atomic_load_explicit(&tick_page, memory_order_relaxed);
    uint64_t tick = p ? atomic_load_explicit(&p->mono_ns, memory_order_relaxed) : 0;
    return tick ? tick : clock_ns(CLOCK_MONOTONIC_COARSE);
}

/* Microseconds since the start.  The fine clock costs ~25 ns: it is read
   every FINE_EVERY events, or when the tick has moved (so a quiet thread's
   first event after a pause is timed right). */
static uint64_t now_us(tstate *t)
{
    uint64_t tick = tick_ns();
    if (tick != t->last_tick || ++t->since_fine >= FINE_EVERY) {
        t->last_tick = tick;
        t->since_fine = 0;
        uint64_t fine = clock_ns(CLOCK_MONOTONIC), now = (fine - g.start_ns) / 1000u;
        if (fine > tick + TICK_STALE_NS)
            atomic_store_explicit(&tick_page, NULL, memory_order_relaxed);
        t->now_us = now > t->now_us ? now : t->now_us;
        housekeeping(t, t->now_us);
    }
    return t->now_us;
}

/* ---- Events ------------------------------------------------------------------------- */

static NOINLINE void start(void);

static bool recording(void)
{
    int m = atomic_load_explicit(&g.mode, memory_order_relaxed);
    if (LIKELY(m == ACTIVE))
        return !busy;
    if (m == UNSTARTED && !busy) {
        start();
        return atomic_load(&g.mode) == ACTIVE;
    }
    return false;
}

/* Called from the exported function itself (the walk skips this frame and
   that one), after the real allocation succeeded.  type: a managed
   object's type name (rcgc_preload_object), NULL for the malloc family. */
static NOINLINE void on_alloc(void *p, size_t n, const char *type)
{
    busy++;
    tstate *t = self ? self : attach();
    if (!t)
        goto out;
    enter(t);
    if (atomic_load_explicit(&g.mode, memory_order_relaxed) != ACTIVE)
        goto done;
    uint64_t now = now_us(t), weight = n;
    if (g.sample_mean && !(weight = sample(t, n))) {
        t->last_alloc = 0; /* an allocation in between */
        goto done;
    }
    void *frames[RCC_MAX_DEPTH];
    size_t depth = g.capture(frames, g.frames, 2);
    uint32_t id = info_id(t, frames, depth, n, weight, type ? type_id(t, type) : 0);
    if (!id || !shadow_put((uintptr_t)p, id))
        goto done;
    uint64_t live = atomic_fetch_add_explicit(&g.live, weight, memory_order_relaxed) + weight;
    if (live > t->peak) { /* the finisher reads them: relaxed atomic stores */
        __atomic_store_n(&t->peak, live, __ATOMIC_RELAXED);
        __atomic_store_n(&t->peak_us, now, __ATOMIC_RELAXED);
    }
    rcc_writer_time(t->w, now);
    rcc_write_alloc(t->w, id);
    t->last_alloc = (uintptr_t)p;
done:
    leave(t);
out:
    busy--;
}

/* Before the real free/realloc releases p: take it out of the shadow.
   Its info id, or 0 if it was not traced. */
static uint32_t on_release(void *p)
{
    return shadow_take((uintptr_t)p);
}

/* A traced block was released (after on_release gave its info id). */
static NOINLINE void on_free(void *p, uint32_t id)
{
    busy++;
    tstate *t = self ? self : attach();
    if (!t)
        goto out;
    enter(t);
    atomic_fetch_sub_explicit(&g.live, inf.tab[id - 1].weight, memory_order_relaxed);
    bool temporary = t->last_alloc == (uintptr_t)p;
    t->last_alloc = 0;
    if (atomic_load_explicit(&g.mode, memory_order_relaxed) == ACTIVE) {
        rcc_writer_time(t->w, now_us(t));
        rcc_write_free(t->w, id, temporary);
    }
    leave(t);
out:
    busy--;
}

static bool tracing_frees(void)
{
    return atomic_load_explicit(&g.mode, memory_order_relaxed) == ACTIVE && !busy;
}

/* ---- The malloc family ---------------------------------------------------------------- */

EXPORT void *malloc(size_t n)
{
    if (UNLIKELY(!ready()))
        return arena_alloc(n, 16);
    void *p = real.malloc(n);
    if (LIKELY(p != NULL) && recording())
        on_alloc(p, n, NULL);
    return p;
}

EXPORT void *calloc(size_t n, size_t size)
{
    if (size && n > SIZE_MAX / size) {
        errno = ENOMEM;
        return NULL;
    }
    if (UNLIKELY(!ready()))
        return arena_alloc(n * size, 16); /* the arena is zeroed, never reused */
    void *p = real.calloc(n, size);
    if (LIKELY(p != NULL) && recording())
        on_alloc(p, n * size, NULL);
    return p;
}

EXPORT void free(void *p)
{
    if (!p || UNLIKELY(in_arena(p)))
        return;
    if (UNLIKELY(!ready()))
        return; /* cannot happen: p came from somewhere */
    bool tracing = tracing_frees();
    uint32_t id = tracing ? on_release(p) : 0;
    real.free(p);
    if (id)
        on_free(p, id);
    else if (tracing && self)
        self->last_alloc = 0; /* an untraced block: still a free in between */
}

static void *arena_realloc(void *p, size_t n)
{
    void *q = malloc(n);
    if (q) {
        size_t old = arena_size(p);
        memcpy(q, p, old < n ? old : n);
    }
    return q;
}

/* realloc and reallocarray: the old block leaves the table before the real
   call; if that fails the block is unchanged and its entry goes back. */
static void restore(void *p, uint32_t id)
{
    shadow_put((uintptr_t)p, id);
}

/* The real realloc, recorded: the body of realloc and reallocarray once
   ready.  Always inlined, so on_alloc is still called from the exported
   function's own frame (the walk skips a fixed number of frames). */
static inline __attribute__((always_inline)) void *realloc_traced(void *p, size_t n)
{
    uint32_t old = p && tracing_frees() ? on_release(p) : 0;
    void *q = real.realloc(p, n);
    if (!q && (n || !p)) { /* failed (glibc: realloc(p, 0) frees p, gives NULL) */
        if (old)
            restore(p, old);
        return NULL;
    }
    if (old)
        on_free(p, old);
    if (q && recording())
        on_alloc(q, n, NULL);
    return q;
}

EXPORT void *realloc(void *p, size_t n)
{
    if (p && UNLIKELY(in_arena(p)))
        return arena_realloc(p, n);
    if (UNLIKELY(!ready()))
        return arena_alloc(n, 16);
    return realloc_traced(p, n);
}

/* glibc's reallocarray calls realloc through the PLT (it would be recorded
   twice): after the overflow check, this is realloc. */
EXPORT void *reallocarray(void *p, size_t n, size_t size)
{
    if (size && n > SIZE_MAX / size) {
        errno = ENOMEM;
        return NULL;
    }
    if ((p && UNLIKELY(in_arena(p))) || UNLIKELY(!ready()))
        return realloc(p, n * size);
    return realloc_traced(p, n * size);
}

EXPORT int posix_memalign(void **out, size_t align, size_t n)
{
    if (UNLIKELY(!ready())) {
        void *p = arena_alloc(n, align);
        if (!p)
            return ENOMEM;
        *out = p;
        return 0;
    }
    int rc = real.posix_memalign(out, align, n);
    if (rc == 0 && recording())
        on_alloc(*out, n, NULL);
    return rc;
}

EXPORT void *aligned_alloc(size_t align, size_t n)
{
    if (UNLIKELY(!ready()))
        return arena_alloc(n, align);
    void *p = real.aligned_alloc(align, n);
    if (p && recording())
        on_alloc(p, n, NULL);
    return p;
}

EXPORT void *memalign(size_t align, size_t n)
{
    if (UNLIKELY(!ready()))
        return arena_alloc(n, align);
    void *p = real.memalign(align, n);
    if (p && recording())
        on_alloc(p, n, NULL);
    return p;
}

EXPORT void *valloc(size_t n)
{
    if (UNLIKELY(!ready()) || !real.valloc)
        return memalign((size_t)sysconf(_SC_PAGESIZE), n);
    void *p = real.valloc(n);
    if (p && recording())
        on_alloc(p, n, NULL);
    return p;
}

/* The size recorded is the one asked for, not the page-rounded one. */
EXPORT void *pvalloc(size_t n)
{
    size_t pg = (size_t)sysconf(_SC_PAGESIZE);
    if (UNLIKELY(!ready()) || !real.pvalloc)
        return memalign(pg, n ? (n + pg - 1) & ~(pg - 1) : pg);
    void *p = real.pvalloc(n);
    if (p && recording())
        on_alloc(p, n, NULL);
    return p;
}

EXPORT size_t malloc_usable_size(void *p)
{
    if (!p)
        return 0;
    if (in_arena(p))
        return arena_size(p);
    if (UNLIKELY(!ready()))
        return 0;
    return real.malloc_usable_size(p);
}

/* ---- librcgc's managed objects ------------------------------------------------------------
 * src/heap.c looks this up (dlsym) when a heap is made and, when found,
 * calls it from rc_new_var (alive 1: block is the object's memory, header
 * included, size its bytes) and wherever an object's memory is given back
 * (alive 0: an object freed, or destroyed by rc_heap_free).  Objects are
 * recorded as A/F records with their type's id, in the same shadow as
 * malloc's blocks: the live bytes, the peak and the leak scan count them
 * (docs/CAPTURE.md).  The stack's innermost frame is rc_new_var's (the walk
 * skips this function and on_alloc), the library's frames kept. */
EXPORT void rcgc_preload_object(void *block, size_t size, const char *type_name, int alive);
EXPORT void rcgc_preload_object(void *block, size_t size, const char *type_name, int alive)
{
    if (alive) {
        if (block && recording())
            on_alloc(block, size, type_name ? type_name : "(unnamed)");
    } else {
        uint32_t old = block && tracing_frees() ? on_release(block) : 0;
        if (old)
            on_free(block, old);
    }
    __asm__ volatile("" ::: "memory"); /* not a tail call: the walk skips this frame */
}

/* ---- Leak scan ---------------------------------------------------------------------------
 * Conservative marking, as memcheck and LeakSanitizer do.  The blocks are
 * the shadow's (in address order, leaf by leaf); a word anywhere in the
 * roots or in a marked block that points into a block (interior pointers
 * included) marks it.
 *   Roots: the writable PT_LOAD segments of every module but the shim
 *   (data, bss); the calling thread's static TLS blocks; its stack from the
 *   current frame up, or when main has returned from main's caller up (the
 *   frames below are dead), and its callee-saved registers (setjmp, on that
 *   stack) when exit was called explicitly; the whole stacks of the other
 *   threads the shim knows (those that allocated), whose registers it
 *   cannot see.
 *   Not roots: anonymous mappings the program made itself, other threads'
 *   registers, the main thread's TLS when another thread calls exit.
 * Everything, roots and blocks, is read through process_vm_readv (up to
 * IOV_BATCH blocks per call): other threads run on during exit and may
 * free and unmap a block meanwhile, which costs a failed read, not a crash.
 * Reachable: marked from the roots.  Then each block not marked leads a
 * walk that marks what it reaches "indirect" (memcheck's cliques); the
 * leaders left unmarked are "definitely lost". */

#define IOV_BATCH 1024

enum { UNREACHED = 0, INDIRECT = 1, REACHED = 2, SCANNED = 4 };

typedef struct scan {
    uintptr_t *addr;          /* block addresses, ascending */
    size_t *size;
    uint32_t *info;           /* their info ids */
    uint8_t *state;
    uint32_t *work;           /* blocks to scan */
    size_t n, nwork;
    uintptr_t lo, hi;         /* [lowest block, end of the highest) */
    uint8_t *buf;             /* SCAN_BUF bytes for remote reads */
    struct iovec *local, *remote; /* IOV_BATCH each */
    pid_t pid;
    bool direct;              /* process_vm_readv is not allowed (seccomp): read
                                 directly, and hope no thread unmaps meanwhile */
} scan;

/* process_vm_readv on this process, or a plain copy when it is forbidden. */
static ssize_t read_own(const scan *s, struct iovec *local, struct iovec *remote, size_t n)
{
    if (!s->direct)
        return process_vm_readv(s->pid, local, (unsigned long)n, remote, (unsigned long)n, 0);
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        memcpy(local[i].iov_base, remote[i].iov_base, remote[i].iov_len);
        total += remote[i].iov_len;
    }
    return (ssize_t)total;
}

typedef struct range {
    uintptr_t lo, hi;
} range;

typedef struct roots {
    range r[MAX_MODULES];     /* data, bss, TLS; then stacks */
    size_t n;
} roots;

static void add_root(roots *r, uintptr_t lo, uintptr_t hi)
{
    if (r->n < MAX_MODULES && hi > lo)
        r->r[r->n++] = (range){lo, hi};
}

static void *map_array(size_t n, size_t elem)
{
    return n ? pages_alloc(NULL, n * elem) : NULL;
}

static void unmap_array(void *p, size_t n, size_t elem)
{
    if (p)
        pages_free(NULL, p, n * elem);
}

/* Visit the traced blocks in address order; returns how many. */
static size_t each_block(scan *s)
{
    unsigned n = atomic_load(&sh.nmade);
    if (n > MAX_LEAVES)
        n = MAX_LEAVES;
    /* the leaves in address order: insertion sort, there are few */
    for (unsigned i = 1; i < n; i++)
        for (unsigned j = i; j && sh.made[j - 1] > sh.made[j]; j--) {
            uint32_t t = sh.made[j];
            sh.made[j] = sh.made[j - 1];
            sh.made[j - 1] = t;
        }
    size_t count = 0, page_words = (size_t)g.page / sizeof(uint32_t);
    unsigned char touched[LEAF_WORDS * sizeof(uint32_t) / 4096];
    for (unsigned i = 0; i < n; i++) {
        const uint32_t *leaf = sh.dir[sh.made[i]];
        /* pages of the leaf never written are not resident: skip them */
        size_t step = page_words; /* words per entry of touched */
        if (step * sizeof touched < LEAF_WORDS ||
            mincore((void *)leaf, LEAF_WORDS * sizeof *leaf, touched) != 0) {
            step = LEAF_WORDS / sizeof touched;
            memset(touched, 1, sizeof touched);
        }
        for (size_t pg = 0; pg < LEAF_WORDS / step; pg++) {
            if (!(touched[pg] & 1))
                continue;
            /* most words are 0: test them 16 at a time, without a branch each */
            for (size_t w = pg * step; w < (pg + 1) * step; w += 16) {
                uint32_t any = 0;
                for (size_t k = 0; k < 16; k++)
                    any |= __atomic_load_n(&leaf[w + k], __ATOMIC_RELAXED);
                for (size_t k = 0; any && k < 16; k++) {
                    uint32_t v = __atomic_load_n(&leaf[w + k], __ATOMIC_RELAXED);
                    if (!v)
                        continue;
                    if (s) {
                        if (count == s->n)
                            return count; /* more than counted: another thread allocated */
                        s->addr[count] = (uintptr_t)sh.made[i] << LEAF_SHIFT |
                                         (w + k) << GRANULE_SHIFT;
                        s->size[count] = inf.tab[v - 1].size;
                        s->info[count] = v;
                    }
                    count++;
                }
            }
        }
    }
    return count;
}

static ptrdiff_t find_block(const scan *s, uintptr_t v)
{
    if (v < s->lo || v >= s->hi)
        return -1;
    size_t a = 0, b = s->n; /* the last block with addr <= v */
    while (b - a > 1) {
        size_t m = a + (b - a) / 2;
        if (s->addr[m] <= v)
            a = m;
        else
            b = m;
    }
    size_t z = s->size[a] ? s->size[a] : 1;
    return v >= s->addr[a] && v - s->addr[a] < z ? (ptrdiff_t)a : -1;
}

/* Mark the blocks the words point to as `to`, queueing them to be scanned;
   the leader of a clique never marks itself. */
static void mark_words(scan *s, const uintptr_t *w, size_t n, uint8_t to, ptrdiff_t leader)
{
    for (size_t i = 0; i < n; i++) {
        ptrdiff_t b = find_block(s, w[i]);
        if (b < 0 || b == leader || (s->state[b] & 3) >= to)
            continue;
        bool scanned = s->state[b] & SCANNED;
        s->state[b] = (uint8_t)(to | (scanned ? SCANNED : 0));
        if (!scanned)
            s->work[s->nwork++] = (uint32_t)b;
    }
}

/* Read [lo, hi) of this process in SCAN_BUF pieces and mark from it; a page
   that is gone is skipped. */
static void mark_range(scan *s, uintptr_t lo, uintptr_t hi, uint8_t to, ptrdiff_t leader)
{
    lo = (lo + sizeof(uintptr_t) - 1) & ~(uintptr_t)(sizeof(uintptr_t) - 1);
    while (lo + sizeof(uintptr_t) <= hi) {
        size_t want = hi - lo < SCAN_BUF ? (size_t)(hi - lo) : SCAN_BUF;
        struct iovec local = {s->buf, want}, remote = {(void *)lo, want};
        ssize_t got = read_own(s, &local, &remote, 1);
        if (got <= 0) {
            lo = (lo + 4096) & ~(uintptr_t)4095;
            continue;
        }
        mark_words(s, (const uintptr_t *)s->buf, (size_t)got / sizeof(uintptr_t), to, leader);
        lo += (uintptr_t)got;
    }
}

/* Scan the queued blocks, many per read; blocks larger than the buffer
   one piece at a time. */
static void drain(scan *s, uint8_t to, ptrdiff_t leader)
{
    while (s->nwork) {
        size_t k = 0, bytes = 0;
        while (s->nwork && k < IOV_BATCH) {
            uint32_t b = s->work[s->nwork - 1];
            size_t len = s->size[b] & ~(sizeof(uintptr_t) - 1);
            if (len > SCAN_BUF) {
                if (k)
                    break; /* read the batch first */
                s->nwork--;
                s->state[b] |= SCANNED;
                mark_range(s, s->addr[b], s->addr[b] + len, to, leader);
                continue;
            }
            if (bytes + len > SCAN_BUF)
                break;
            s->nwork--;
            s->state[b] |= SCANNED;
            s->local[k] = (struct iovec){s->buf + bytes, len};
            s->remote[k++] = (struct iovec){(void *)s->addr[b], len};
            bytes += len;
        }
        /* process_vm_readv stops at the first block it cannot read: go on
           after it */
        for (size_t i = 0; i < k;) {
            ssize_t got = read_own(s, s->local + i, s->remote + i, k - i);
            size_t done = got > 0 ? (size_t)got : 0, j = i;
            while (j < k && done >= s->local[j].iov_len)
                done -= s->local[j++].iov_len;
            const uintptr_t *from = s->local[i].iov_base;
            size_t words = (size_t)((const uint8_t *)(j < k ? s->local[j].iov_base
                                                            : s->buf + bytes) -
                                    (const uint8_t *)from) / sizeof(uintptr_t);
            mark_words(s, from, words, to, leader);
            i = j < k ? j + 1 : k; /* block j failed (or partly read): skipped */
        }
    }
}

static int roots_cb(struct dl_phdr_info *info, size_t size, void *ctx)
{
    (void)size;
    roots *r = ctx;
    uintptr_t me = (uintptr_t)roots_cb;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        uintptr_t lo = info->dlpi_addr + ph->p_vaddr;
        if (ph->p_type == PT_LOAD && me >= lo && me - lo < ph->p_memsz)
            return 0; /* the shim's own data are not roots */
    }
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        uintptr_t lo = info->dlpi_addr + ph->p_vaddr;
        if (ph->p_type == PT_LOAD && (ph->p_flags & PF_W))
            add_root(r, lo, lo + ph->p_memsz);
        else if (ph->p_type == PT_TLS && info->dlpi_tls_data)
            add_root(r, (uintptr_t)info->dlpi_tls_data,
                     (uintptr_t)info->dlpi_tls_data + ph->p_memsz);
    }
    return 0;
}

static void list_roots(roots *r, bool exit_called, uintptr_t sp, tstate *me)
{
    dl_iterate_phdr(roots_cb, r);
    uintptr_t lo, hi;
    rct_stack_bounds(&lo, &hi);
    if (!exit_called && g.main_frame > sp && g.main_frame < hi)
        sp = g.main_frame + 2 * sizeof(void *); /* main's frames are dead */
    add_root(r, sp, hi);
    for (tstate *t = g.threads; t; t = t->next)
        if (t != me && t->in_use && t->gen == g.gen && t->stack_hi)
            add_root(r, t->stack_lo, t->stack_hi);
}

/* Mark, then write an L per block (with the lock held). */
static void leak_scan(const roots *r)
{
    scan s = {.pid = getpid()};
    size_t n = each_block(NULL) + 1024; /* room for a few more */
    s.addr = map_array(n, sizeof *s.addr);
    s.size = map_array(n, sizeof *s.size);
    s.info = map_array(n, sizeof *s.info);
    s.state = map_array(n, 1);
    s.work = map_array(n, sizeof *s.work);
    s.buf = map_array(SCAN_BUF, 1);
    s.local = map_array(IOV_BATCH, sizeof *s.local);
    s.remote = map_array(IOV_BATCH, sizeof *s.remote);
    s.n = n;
    if (s.buf) { /* can we read ourselves safely? */
        uintptr_t probe = 42, copy = 0;
        struct iovec l = {&copy, sizeof copy}, rm = {&probe, sizeof probe};
        s.direct = process_vm_readv(s.pid, &l, 1, &rm, 1, 0) != (ssize_t)sizeof copy;
    }
    if (s.addr && s.size && s.info && s.state && s.work && s.buf && s.local && s.remote &&
        (s.n = each_block(&s)) > 0) {
        s.lo = s.addr[0];
        s.hi = s.addr[s.n - 1] + (s.size[s.n - 1] ? s.size[s.n - 1] : 1);
        for (size_t i = 0; i < r->n; i++) {
            mark_range(&s, r->r[i].lo, r->r[i].hi, REACHED, -1);
            drain(&s, REACHED, -1);
        }
        for (size_t i = 0; i < s.n; i++) { /* cliques of lost blocks */
            if (s.state[i])
                continue;
            s.work[s.nwork++] = (uint32_t)i;
            drain(&s, INDIRECT, (ptrdiff_t)i);
        }
        for (size_t i = 0, run; i < s.n; i += run) { /* an L per run of equal blocks */
            int st = s.state[i] & 3;
            for (run = 1; i + run < s.n && s.info[i + run] == s.info[i] &&
                          (s.state[i + run] & 3) == st;
                 run++)
                ;
            meta_write(&(rcc_event){.kind = RCC_LEAK, .id = s.info[i], .count = run,
                                    .status = st == REACHED    ? RCC_REACHABLE
                                              : st == INDIRECT ? RCC_INDIRECT
                                                               : RCC_DEFINITE});
        }
    }
    unmap_array(s.addr, n, sizeof *s.addr);
    unmap_array(s.size, n, sizeof *s.size);
    unmap_array(s.info, n, sizeof *s.info);
    unmap_array(s.state, n, 1);
    unmap_array(s.work, n, sizeof *s.work);
    unmap_array(s.buf, SCAN_BUF, 1);
    unmap_array(s.local, IOV_BATCH, sizeof *s.local);
    unmap_array(s.remote, IOV_BATCH, sizeof *s.remote);
}

/* ---- Start, fork, finish ---------------------------------------------------------------- */

static size_t env_size(const char *name, size_t dflt, size_t lo, size_t hi)
{
    const char *v = getenv(name);
    if (!v || !*v)
        return dflt;
    char *end;
    unsigned long long x = strtoull(v, &end, 10);
    if (*end || x < lo)
        return dflt;
    return x > hi ? hi : (size_t)x;
}

/* The path with %p replaced by the pid; false if it would not fit. */
static bool expand_path(char *out, size_t cap, pid_t pid)
{
    size_t o = 0;
    for (const char *p = g.path; *p; p++) {
        char num[24];
        const char *piece = p;
        size_t len = 1;
        if (p[0] == '%' && p[1] == 'p') {
            len = (size_t)snprintf(num, sizeof num, "%d", (int)pid);
            piece = num;
            p++;
        }
        if (o + len >= cap)
            return false;
        memcpy(out + o, piece, len);
        o += len;
    }
    out[o] = 0;
    return true;
}

static bool per_pid(void)
{
    return strstr(g.path, "%p") != NULL;
}

/* Open the file, write its header, set up the tables.  false: not recording. */
static bool open_capture(void)
{
    char path[PATH_MAX];
    pid_t pid = getpid();
    if (!expand_path(path, sizeof path, pid))
        return false;
    g.fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (g.fd < 0)
        return false;
    g.start_ns = clock_ns(CLOCK_MONOTONIC);
    if (rcc_write_header(g.fd, (uint32_t)pid, clock_ns(CLOCK_REALTIME)) != 0)
        return false;
    g.meta = rcc_writer_new(&(rcc_writer_options){.sink = meta_sink, .tid = (uint32_t)pid});
    g.nodes = rct_stacks_new(&pages);
    g.mods = pages_alloc(NULL, MAX_MODULES * sizeof *g.mods);
    if (!g.meta || !g.nodes || !g.mods)
        return false;
    if (!shadow_init() || !info_reset())
        return false;
    if (!g.types) /* a fork child reuses the parent's (only this thread runs) */
        g.types = pages_alloc(NULL, MAX_TYPES * sizeof *g.types);
    if (!g.type_names)
        g.type_names = pages_alloc(NULL, TYPE_NAME_BYTES);
    g.ntypes = 0;
    g.other_type = 0;
    g.type_bytes = 0;
    struct stat st;
    if (fstat(g.fd, &st) != 0)
        return false;
    g.dev = st.st_dev;
    g.ino = st.st_ino;
    g.nmods = 0;
    g.adds = g.subs = ~0ull;
    g.threads = NULL;
    atomic_store(&g.live, 0);
    atomic_store(&g.last_sample_us, 0);
    module_scan ms;
    module_check(&ms);
    for (size_t i = 0; i < ms.n; i++)
        if ((uintptr_t)open_capture - ms.list[i].base < ms.list[i].size) {
            g.self_lo = ms.list[i].base;
            g.self_size = ms.list[i].size;
        }
    module_emit(&ms);
    module_done(&ms);
    rcc_writer_flush(g.meta);
    return true;
}

static void fork_child(void)
{
    if (atomic_load(&g.mode) != ACTIVE)
        return;
    /* Everything of the parent's capture is dropped, not freed: other
       threads may have been anywhere in it. */
    busy++;
    pthread_mutex_init(&g.lock, NULL);
    if (g.fd >= 0)
        close(g.fd);
    g.fd = -1;
    g.gen++;
    self = NULL;
    shadow_drop();
    bool ok = per_pid() && open_capture();
    if (ok && !g.strong_fence &&
        syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0) != 0)
        g.strong_fence = true;
    atomic_store(&g.mode, ok ? ACTIVE : OFF);
    busy--;
}

static void finish(bool exit_called);

static void at_exit(void)
{
    finish(!g.main_returned);
}

static pthread_once_t start_once = PTHREAD_ONCE_INIT;

static void start_capture(void)
{
    busy++;
    int mode = OFF;
    const char *path = getenv("RCGC_CAPTURE");
    if (path && *path && strlen(path) < sizeof g.path) {
        strcpy(g.path, path);
        const char *owner = getenv("RCGC_CAPTURE_OWNER");
        char me[24];
        snprintf(me, sizeof me, "%d", (int)getpid());
        bool mine = per_pid() || !owner || strcmp(owner, me) == 0;
        g.frames = env_size("RCGC_NATIVE_FRAMES", DEFAULT_FRAMES, 1, RCC_MAX_DEPTH);
        g.capture = rct_capture_default();
#ifdef RCGC_HAVE_LIBUNWIND
        if (g.capture == rct_capture_unwind) /* as heaptrack does: cache per thread */
            unw_set_caching_policy(unw_local_addr_space, UNW_CACHE_PER_THREAD);
#endif
        g.sample_mean = env_size("RCGC_SAMPLE_BYTES", 0, 0, SIZE_MAX / 2);
        g.chunk = env_size("RCGC_CHUNK_BYTES", DEFAULT_CHUNK, 8192, RCC_MAX_CHUNK);
        const char *lv = getenv("RCGC_ZSTD_LEVEL");
        g.level = lv && *lv ? atoi(lv) : 0;
        g.page = sysconf(_SC_PAGESIZE);
        tick_open();
        ssize_t k = readlink("/proc/self/exe", g.exe, sizeof g.exe - 1);
        g.exe[k > 0 ? k : 0] = 0;
        if (mine && pthread_key_create(&g.key, thread_gone) == 0 && open_capture()) {
            if (syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0) != 0)
                g.strong_fence = true;
            mode = ACTIVE;
        }
    }
    atomic_store(&g.mode, mode);
    busy--;
}

static NOINLINE void start(void)
{
    if (ready())
        pthread_once(&start_once, start_capture);
}

/* The registrations that take libc's locks (atexit's, atfork's, the
   environment's) are made here, never from inside an allocation: the first
   allocation may come from code that holds one of them. */
__attribute__((constructor)) static void shim_init(void)
{
    start();
    if (atomic_load(&g.mode) != ACTIVE)
        return;
    busy++;
    if (!per_pid() && !getenv("RCGC_CAPTURE_OWNER")) {
        char me[24];
        snprintf(me, sizeof me, "%d", (int)getpid());
        setenv("RCGC_CAPTURE_OWNER", me, 1);
    }
    pthread_atfork(NULL, NULL, fork_child);
    atexit(at_exit);
    busy--;
}

/* Flush every thread, scan for leaks, end the capture.  Once.
   exit_called: exit or _exit was called (main's frames are live). */
static NOINLINE void finish(bool exit_called)
{
    int expect = ACTIVE;
    busy++;
    if (!atomic_compare_exchange_strong(&g.mode, &expect, FINISHING)) {
        busy--;
        return;
    }
    if (!g.strong_fence)
        syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0);
    tstate *me = self;
    int cancel;
    lock(&cancel);
    tstate *list = g.threads;
    unlock(cancel);
    for (tstate *t = list; t; t = t->next) {
        for (int spins = 0; t != me && t->in_event && spins < 100000; spins++)
            sched_yield(); /* a thread mid-event finishes it */
        if (!t->in_event) /* (this thread: unless exit came from a signal
                             handler that interrupted its event) */
            rcc_writer_flush(t->w);
    }
    /* This thread's callee-saved registers land in regs, on the stack the
       scan starts from. */
    jmp_buf regs;
    setjmp(regs);
    roots *r = map_array(1, sizeof *r);
    if (r)
        list_roots(r, exit_called, (uintptr_t)&regs, me);
    lock(&cancel);
    if (r)
        leak_scan(r);
    rcc_event end = {.kind = RCC_END, .time_us = mono_us(), .status = g.status};
    for (const tstate *t = g.threads; t; t = t->next) /* the process's peak */
        if (t->gen == g.gen && __atomic_load_n(&t->peak, __ATOMIC_RELAXED) > end.heap_bytes) {
            end.heap_bytes = __atomic_load_n(&t->peak, __ATOMIC_RELAXED);
            end.peak_time_us = __atomic_load_n(&t->peak_us, __ATOMIC_RELAXED);
        }
    meta_write(&end);
    rcc_writer_flush(g.meta);
    atomic_store(&g.mode, OFF);
    if (g.fd >= 0)
        close(g.fd);
    g.fd = -1;
    unlock(cancel);
    unmap_array(r, 1, sizeof *r);
    busy--;
}

/* ---- Exit status ---------------------------------------------------------------------------
 * main's return value through a wrapper installed by __libc_start_main; an
 * explicit exit or _exit through those functions. */

static main_fn real_main;

static int main_wrapper(int argc, char **argv, char **envp)
{
    g.main_frame = (uintptr_t)__builtin_frame_address(0);
    int rc = real_main(argc, argv, envp);
    g.status = rc;
    g.main_returned = true;
    return rc;
}

EXPORT int __libc_start_main(main_fn main, int argc, char **argv, void (*init)(void),
                             void (*fini)(void), void (*rtld_fini)(void), void *stack_end);
EXPORT int __libc_start_main(main_fn main, int argc, char **argv, void (*init)(void),
                             void (*fini)(void), void (*rtld_fini)(void), void *stack_end)
{
    if (!ready() || !real.start_main)
        die("rcgc preload: cannot find __libc_start_main\n");
    real_main = main;
    return real.start_main(main_wrapper, argc, argv, init, fini, rtld_fini, stack_end);
}

EXPORT void exit(int status)
{
    g.status = status;
    g.main_returned = false; /* called from main or below: its frames live */
    if (!ready())
        die("rcgc preload: cannot find exit\n");
    real.exit(status);
}

EXPORT void _exit(int status)
{
    g.status = status;
    finish(true);
    if (!ready())
        syscall(SYS_exit_group, status);
    real.exit_now(status);
}

EXPORT void _Exit(int status)
{
    _exit(status);
}
