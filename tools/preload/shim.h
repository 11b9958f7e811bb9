/*
 * shim.h — librcgc_preload.so, the LD_PRELOAD shim of `rcgc run`: records
 * every call of the malloc family into a capture (docs/CAPTURE.md), and
 * librcgc's managed objects with their type names (rcgc_preload_object).
 * *
 * The shim's rooms (this header holds what they share: the capture's state,
 * the thread states, the shadow's geometry and the inline fast helpers):
 *   bootstrap.c  finding the real allocator; the arena used before that;
 *                in the TSan build (make tsan), which threads may be traced
 *   slots.c      each thread's flags and state, found without TLS
 *   unwind.c     libunwind, loaded (dlopen) when RCGC_UNWIND=libunwind
 *   record.c     what goes into the file: the lock, appends, modules, stack
 *                nodes, type names, allocation infos (the cold side of a
 *                cache miss)
 *   known.c      stack nodes and infos already made, looked up without
 *                the lock (a thread's cache missed)
 *   clock.c      clocks, the tick page, RSS
 *   hooks.c      the hot path: the malloc family, managed objects, thread
 *                states, the per-thread info cache, the shadow's stores
 *   shadow.c     the shadow's leaves and their walk in address order
 *   leakscan.c   the exit scan: reachability of the live blocks
 *   python.c     CPython's frames in the stacks, its mem and obj domains
 *   pycensus.c   CPython's live objects by type and gc.garbage, at exit
 *   process.c    configuration, start, fork, exit, dlclose and the end of a
 *                capture
 *
 * What it may call: the real allocator (found with dlsym(RTLD_NEXT)), the
 * capture writer (tools/capture), and the trace engine (src/trace: the
 * frame-pointer walk and stack interning).  Its own tables live in mmap'd
 * pages, never in the allocator being traced.
 *
 * The hot path, per allocation: one real call, a stack walk (call-frame
 * information, src/trace/cfi.c; frame pointers with RCGC_UNWIND=fp; in a
 * Python program split at the evaluation loop and joined with the Python
 * frames, python.c),
 * (hash of the frames, size, type) looked up in a per-thread cache of
 * allocation infos (on a miss, in the shared table of known infos; the
 * stack's node is needed only when that misses too), a store of
 * the info id into the shadow of live blocks (no lock), an atomic add to
 * the live byte count, and a record (the info id) appended to the thread's
 * own chunk buffer.  A free takes the info id back from the shadow and
 * skips the walk.  The one global lock is taken to intern a stack or info
 * no thread has made yet and to append a finished chunk to the file.
 *
 * Invariants:
 *  - The shim has no thread-local variables and links no library that has
 *    (libunwind is dlopen'ed only when asked for): glibc gives each thread
 *    a TLS vector with a slot per module that has TLS, and the leak report
 *    would count the shim's slots (memcheck's preload has none).  Each
 *    thread's flags and state are its slot's (slots.c), found from the
 *    thread pointer; `busy`, `guarded`, `deferred` and `self` name them,
 *    as `errno` names the thread's errno.  A test fails if a TLS segment
 *    or libunwind comes back (tests/profiler, shim_no_tls).
 *  - `busy` (per thread) is set while the shim runs code that may
 *    allocate on a thread: the allocations it makes itself (zstd,
 *    pthread_getattr_np, libunwind) pass straight to the real allocator,
 *    untraced.  It is not set around the rest of an event (the walk, the
 *    caches, the shadow): an allocation or free made there by a signal
 *    handler finds the thread's `in_event` set and is queued (hooks.c,
 *    "Events from signal handlers"), written when the event leaves.
 *  - `guarded` is set around every event and every call of the real
 *    allocator: a fatal signal sent then is handled when it drops to 0
 *    (process.c, "Fatal signals").
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
 *   RCGC_UNWIND=fp         walk frame pointers only (the cheapest; stacks
 *                          stop at code built without them).  Default: the
 *                          call-frame information of each module (whole
 *                          stacks through Debian's binaries and libraries)
 *   RCGC_UNWIND=libunwind  walk with libunwind (the same information, several
 *                          times slower, at most 93 frames), loaded then
 *                          (unwind.c); without it, the default walk
 *   RCGC_UNWIND_LIB=file   the libunwind to load (default: the soname the
 *                          build found, libunwind.so.8)
 *   RCGC_SAMPLE_BYTES=N    0: every allocation; else sample about one byte
 *                          in N (Poisson), each sample weighted s/p so sums
 *                          stay unbiased (src/trace/sample.c, shared with
 *                          the heap's tracing)
 *   RCGC_CHUNK_BYTES=N     raw bytes per thread chunk (default 512 KiB)
 *   RCGC_ZSTD_LEVEL=N      zstd level of the chunks (default 2; negative:
 *                          faster, larger)
 *   RCGC_PYTHON=off|frames in a CPython process (python.c): off, as any
 *                          program; frames: Python frames but pymalloc's
 *                          domains not recorded; otherwise both
 *
 * fork: with %p in the path the child starts a capture of its own (its pid,
 * a new time base, no blocks inherited); without %p the child records
 * nothing.  exec: the new image loads the shim again and follows the same
 * rule; the process that started the capture (RCGC_CAPTURE_OWNER, added by
 * the shim to the environ array when the path has no %p: no setenv, see
 * export_owner) takes the file over after exec.
 *
 * At exit (after the atexit handlers and the loader's destructors, see
 * process.c's at_exit; also from _exit/_Exit, never in a vfork child):
 * flush every thread, find which live blocks are still reachable (see
 * leakscan.c), write L and E records.
 * The same at a fatal signal (process.c, "Fatal signals"), E naming it,
 * then the signal is raised again.  After a failed write nothing more is
 * written (record.c, append): no E.
 *
 * Before main the shim runs no program code: no call of a libc name a
 * program may define itself (getenv, setenv: env_get reads environ).
 */
#ifndef RCGC_SHIM_H
#define RCGC_SHIM_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "../capture/capture.h"
#include "trace.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <link.h>
#include <malloc.h>
#include <linux/membarrier.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/ucontext.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

/* make tsan (RCGC_TSAN): the exported functions are not instrumented: they
   are called where TSan does not know the thread, and what they run there
   (always inlined) is not either (bootstrap.c, "TSan"). */
#ifdef RCGC_TSAN
#define EXPORT __attribute__((visibility("default"), no_sanitize_thread))
#else
#define EXPORT __attribute__((visibility("default")))
#endif

#define NOINLINE __attribute__((noinline))
#define LIKELY(x) __builtin_expect(!!(x), 1)
#define UNLIKELY(x) __builtin_expect(!!(x), 0)

/* ---- Tunables ------------------------------------------------------------------ */
#define DEFAULT_FRAMES 32
#define DEFAULT_CHUNK (512u << 10)
#define META_CHUNK (1u << 20)        /* raw bytes per chunk of the meta writer */
#define ARENA_BYTES (256u << 10)     /* bootstrap allocations (dlsym's) */
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
#define PY_CODE_CACHE 1024           /* per-thread: Python (code, offset) -> K id */
#define PY_MAX_FRAMES 128            /* Python frames read per stack */
#define TIME_GRAIN_US 1000           /* a C record per thread at most every 1 ms */
#define TICK_STALE_NS 100000000u     /* a tick page this far behind has stopped */
#define NESTED_MAX 64                /* per thread: events of signal handlers queued */
#define PENDING UINT32_MAX           /* shadow: a handler's block, its info not known yet */
#define ALTSTACK_BYTES (256u << 10)  /* per thread: a crash's end of capture (zstd
                                        included) after a stack overflow */
#define SLOT_BITS 14                 /* thread slots: 16384 thread pointers per process */
_Static_assert(DEFAULT_FRAMES <= RCC_MAX_DEPTH, "frames fit a capture stack");

/* ---- The real allocator (bootstrap.c) ------------------------------------------------ */

typedef int (*main_fn)(int, char **, char **);
typedef struct real_fns {
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
    int (*sigaction)(int, const struct sigaction *, struct sigaction *);
} real_fns;
extern real_fns real;
extern atomic_int real_state; /* 0: not resolved, 1: resolving, 2: ready */

typedef struct tstate tstate;

/* ---- Each thread's flags and state (slots.c) -----------------------------------------
 * A table keyed by the thread pointer (the thread's descriptor: unique
 * among live threads), open addressing, a thread's slot claimed with a
 * compare-and-swap at its first call (no lock, no allocation: it works
 * before the allocator is found, in signal handlers and in a thread that
 * is ending).  At the thread's key destructor (thread_gone) its slot is
 * marked ending (the key's low bit): the thread may still allocate and
 * free until it is gone (later destructors, glibc's frees of its
 * buffers), found by the slow path, which tells it by its kernel thread
 * id.  A new thread with the same thread pointer (glibc starts it on the
 * ended one's cached stack) takes the slot over; otherwise the slot is
 * given back when a new thread takes the ended one's state (attach: its
 * thread gone, tgkill finds no such thread).  So the table holds the
 * threads alive at once and about as many ended ones whose states wait
 * for reuse; past 16,384 a new thread shares the spare slot, always
 * busy: not traced while the table is full, said once on stderr.  The
 * hot path does not change: the home slot's key is the thread pointer
 * only while the thread has not ended. */
typedef struct tslot {
    _Alignas(64) _Atomic uintptr_t key; /* the owner's thread pointer; 0: never used;
                                 SLOT_FREE: free again; tp | SLOT_ENDING: its
                                 thread has ended or is ending; SLOT_RECLAIMING:
                                 being given back.  A cache line per slot: no
                                 two threads' flags share one */
    tstate *state;            /* its thread state (hooks.c), NULL until attached */
    int busy_depth;           /* busy: the shim's own work that may allocate is running
                                 on this thread: its allocations pass through,
                                 untraced */
    int guard_depth;          /* guarded: the shim or the real allocator it called is
                                 running on this thread (their locks may be held) */
    volatile sig_atomic_t deferred_sig; /* deferred: a fatal signal that came
                                 while guarded */
    _Atomic uint64_t ender;   /* set as the slot is marked ending: the thread's
                                 kernel id (low half) and how many threads have
                                 ended in this slot (high half) */
    tstate *left;             /* an ended thread's state, left to the new thread
                                 that took the slot over, for its attach */
} tslot;
#define SLOT_FREE ((uintptr_t)1)
#define SLOT_ENDING ((uintptr_t)1)  /* or'ed into the key (thread pointers are aligned) */
#define SLOT_RECLAIMING ((uintptr_t)2)

extern RCT_HIDDEN tslot slots[1u << SLOT_BITS]; /* hidden: no GOT, one load less */
extern RCT_HIDDEN tslot spare;
tslot *slot_slow(uintptr_t tp);
void slot_ending(tslot *s);
bool slot_reclaim(tslot *s, const tstate *t);
void slots_after_fork(void);
#ifdef RCGC_TSAN
void slot_tsan_owned(void); /* a new thread, once TSan knows it (bootstrap.c) */
#endif

static inline __attribute__((always_inline)) uintptr_t thread_pointer(void)
{
    return (uintptr_t)__builtin_thread_pointer();
}

static inline __attribute__((always_inline)) size_t slot_home(uintptr_t tp)
{
    return (size_t)((tp * UINT64_C(0x9E3779B97F4A7C15)) >> (64 - SLOT_BITS));
}

/* The calling thread's slot: its home slot (one multiply, one load and a
   compare), else found or claimed (slot_slow).  The hot path (hooks.c)
   finds it once per exported call and passes it on; elsewhere each use of
   busy finds it again (the compiler keeps the thread pointer and the
   address: a load and a compare more).  Always inlined: an exported
   function runs it before TSan is ready. */
static inline __attribute__((always_inline)) tslot *my_slot(void)
{
    uintptr_t tp = thread_pointer();
    tslot *s = &slots[slot_home(tp)];
    if (LIKELY(atomic_load_explicit(&s->key, memory_order_relaxed) == tp))
        return s;
    return slot_slow(tp);
}

#define busy (my_slot()->busy_depth)
#define guarded (my_slot()->guard_depth)
#define deferred (my_slot()->deferred_sig)
#define self (my_slot()->state)

void crash_deferred(void);

/* Around the shim's events and its calls of the real allocator: a fatal
   signal sent meanwhile (kill, raise) waits until the thread leaves, since
   the end of the capture needs the allocator and the shim's lock. */
static inline __attribute__((always_inline)) void guard_enter_at(tslot *s)
{
    s->guard_depth++;
    atomic_signal_fence(memory_order_seq_cst);
}

static inline __attribute__((always_inline)) void guard_leave_at(tslot *s)
{
    atomic_signal_fence(memory_order_seq_cst);
    if (--s->guard_depth == 0 && UNLIKELY(s->deferred_sig))
        crash_deferred();
}

static inline __attribute__((always_inline)) void guard_enter(void)
{
    guard_enter_at(my_slot());
}

static inline __attribute__((always_inline)) void guard_leave(void)
{
    guard_leave_at(my_slot());
}

__attribute__((noreturn)) void die(const char *msg);
void resolve(void);
bool in_arena(const void *p);
void *arena_alloc(size_t n, size_t align);
size_t arena_size(const void *p);
void *arena_realloc(void *p, size_t n);

/* Around the shim's work that may allocate inside an event (compressing
   a chunk: zstd): busy, and the signals a handler could take here held
   back (a fault still kills): their handlers run when it is done, find the
   event and queue theirs (hooks.c).  Two system calls, once per chunk. */
typedef struct quiet {
    uint64_t mask;            /* the signal mask before (the kernel's sigset) */
    bool on;
} quiet;

static inline quiet quiet_begin(bool when)
{
    quiet q = {0, when};
    if (!when)
        return q;
    uint64_t all = ~(uint64_t)0 & ~(1ull << (SIGSEGV - 1) | 1ull << (SIGBUS - 1) |
                                    1ull << (SIGFPE - 1) | 1ull << (SIGILL - 1));
    syscall(SYS_rt_sigprocmask, SIG_BLOCK, &all, &q.mask, sizeof all);
    busy++; /* after: no handler runs in between */
    return q;
}

static inline void quiet_end(quiet q)
{
    if (!q.on)
        return;
    busy--; /* first: a signal held back is delivered as the mask drops */
    syscall(SYS_rt_sigprocmask, SIG_SETMASK, &q.mask, NULL, sizeof q.mask);
}

/* The real functions are known (resolving them if nobody has yet).
   Always inlined: an exported function runs it before TSan is ready. */
static inline __attribute__((always_inline)) bool ready(void)
{
    if (LIKELY(atomic_load_explicit(&real_state, memory_order_acquire) == 2))
        return true;
    resolve();
    return atomic_load(&real_state) == 2;
}

/* ---- The capture's state -------------------------------------------------------------- */

enum { UNSTARTED, ACTIVE, FINISHING, OFF };

typedef struct module {
    uintptr_t base, size;     /* as written in its M record */
    uint64_t path_hash : 63;  /* a library dlopen'ed where another was */
    uint64_t replaces : 1;    /* it overlaps a module written before it (that
                                 one was unloaded): its frames' nodes are its
                                 own (record.c, "Stack nodes").  A bit of the
                                 word: the table's size, and so where the
                                 program's next mappings go, is as before */
} module;

typedef struct type_entry {
    uint64_t hash;
    uint32_t off, len;        /* in g.type_names */
} type_entry;

typedef struct shim_state {
    atomic_int mode;          /* UNSTARTED, ACTIVE, FINISHING, OFF */
    int gen;                  /* capture generation: a fork child starts a new one */
    pthread_mutex_t lock;     /* file appends, stack nodes, modules, registry */
    int fd;                   /* the capture file */
    rcc_writer *meta;         /* stack nodes, modules, leaks, end */
    rct_stacks *nodes;        /* (parent node, return address[, module]) -> node - 1 */
    module *mods;             /* modules already written, MAX_MODULES */
    size_t nmods;             /*   how many */
    size_t nreplacing;        /*   how many of them replace another */
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
    rct_capture_fn capture;   /* the CFI walk, frame pointers' or libunwind's */
    uint64_t sample_mean;     /* 0: exact */
    size_t chunk;             /* raw bytes per thread chunk */
    int level;                /* zstd level of the threads' chunks */
    bool strong_fence;        /* no membarrier: fence on every event */
    char path[PATH_MAX];      /* RCGC_CAPTURE as given */
    char exe[PATH_MAX];       /* the main program's path */
    int status;               /* exit status for E */
    pid_t pid;                /* the process recording (a vfork child is not) */
    int signal;               /* the fatal signal being handled, for E */
    bool main_returned;       /* main's frames are dead */
    uintptr_t main_frame;     /* our main wrapper's frame */
    uintptr_t self_lo, self_size; /* the shim's own module */
    type_entry *types;        /* id - 1 -> name */
    char *type_names;         /* the names, NUL-terminated, TYPE_NAME_BYTES */
    uint32_t ntypes;          /* type ids given (T records written) */
    uint32_t other_type;      /* "(other types)": the tables are full; 0 until used */
    size_t type_bytes;        /* of type_names used */
} shim_state;
extern shim_state g;          /* the capture's state (process.c) */

/* ---- Thread states (hooks.c) ------------------------------------------------------------ */

struct tstate {
    volatile int in_event;    /* inside an event: the finisher waits */
    int gen;                  /* the capture generation it belongs to */
    _Atomic bool in_use;      /* a thread that has not ended owns it (atomic: a
                                 takeover sets it without the lock, slots.c) */
    tslot *slot;              /* its thread's slot: when the thread has ended
                                 (!in_use), the state is reused once the slot is
                                 given back (slot_reclaim) */
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
    rct_walker walker;        /* the stack walks' state: the stack's bounds
                                 (also the leak scan's; 0 if unknown), the
                                 last walk */
    void *altstack;           /* ALTSTACK_BYTES for the crash handler, or NULL */
    uint32_t nqueued;         /* events of signal handlers waiting (may pass
                                 NESTED_MAX: those past it were dropped) */
    struct nested {           /* one of them: */
        uintptr_t p;
        uint64_t size;        /*   an allocation: size, type, stack */
        const char *type;
        uint64_t id;          /*   a free: the block's shadow word (0: an allocation) */
        bool freed;           /*   an allocation freed before it was written */
        size_t depth;
        void *frames[RCC_MAX_DEPTH];
    } queue[NESTED_MAX];
    tstate *next;             /* registry */
    struct { const char *name; uint32_t id; } types[TYPE_CACHE]; /* managed types */
    struct py_code_slot {     /* Python code locations: (code, offset) -> K id, */
        uintptr_t code, file, name; /* PY_CODE_CACHE of them, mmap'd at the */
        int32_t off;          /* thread's first Python frame (python.c); NULL */
        uint32_t id;          /* before.  id 0: empty */
    } *py;
    struct py_outer {         /* the last Python stack's part outward of its
                                 innermost evaluation loop (python.c, join_frames):
                                 the same native frames and outer Python frames
                                 give the same joined frames */
        rct_split_memo walk;  /* the native frames there, as last walked */
        uint64_t walk_gen;    /* walk.gen when native[] was last found equal to them */
        uint32_t nnative;     /* native frames there, walked */
        uint32_t npy;         /* Python frames there (the loop's callers' runs) */
        uint32_t njoined;     /* their frames joined */
        uint64_t seed;        /* frame_seed when hash was taken */
        uint64_t hash;        /* hash_frames of joined */
        void *native[RCC_MAX_DEPTH];
        struct py_outer_frame {
            uintptr_t code, file, name; /* what code_frame's cache compares */
            int32_t off;
            bool last;
        } pyf[PY_MAX_FRAMES];
        void *joined[RCC_MAX_DEPTH];
    } pyo;
};

/* ---- Allocation infos (record.c) -------------------------------------------------------- */

typedef struct alloc_info {
    uint64_t size;            /* bytes asked for: the block's extent, for the scan */
    uint64_t weight;          /* bytes it stands for: size, or s/p when sampled */
    uint32_t node, type;
} alloc_info;

typedef struct info_table {
    alloc_info *tab;          /* id - 1 -> info; MAX_INFOS reserved */
    uint32_t n;               /* ids given */
    uint32_t *index;          /* open addressing: id, 0 empty */
    size_t cap;               /* index slots, a power of two, at most half full */
} info_table;
extern info_table inf;

/* ---- record.c ----------------------------------------------------------------------------- */
extern const rct_pages pages;       /* mmap'd pages, never the traced allocator */
void *pages_alloc(void *ctx, size_t bytes);
void pages_free(void *ctx, void *p, size_t bytes);
void lock(int *cancel);
void unlock(int cancel);
int meta_sink(void *ctx, const void *chunk, size_t len);
int thread_sink(void *ctx, const void *chunk, size_t len);
void meta_write(const rcc_event *e);

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

void module_check(module_scan *s);
void module_done(module_scan *s);
void module_emit(const module_scan *s);
uint32_t stack_node(void *const *frames, size_t n, uint64_t h);
uint32_t type_intern(const char *name);
bool info_reset(void);
uint64_t info_hash(uint64_t size, uint32_t node, uint32_t type);
uint32_t info_intern(uint64_t h, uint64_t size, uint64_t weight, uint32_t node, uint32_t type);

/* ---- known.c ------------------------------------------------------------------------------ */
typedef struct known_slot {
    uint64_t hash;            /* the frames' hash */
    uint64_t size;            /* infos: the size; nodes: 0 */
    uint32_t type;            /* infos: the type id; nodes: 0 */
    _Atomic uint32_t value;   /* id or node; 0: empty (or being filled) */
} known_slot;
typedef struct known_map {
    size_t cap;               /* slots, a power of two */
    known_slot slot[];
} known_map;
typedef struct known_table {
    known_map *_Atomic map;   /* NULL until the first entry */
    size_t n;                 /* entries (under the lock) */
} known_table;
extern known_table known_nodes;   /* frames' hash -> stack node */
extern known_table known_infos;   /* (frames' hash, size, type) -> info id */

/* The first slot of a key. */
static inline size_t known_start(uint64_t hash, uint64_t size, uint32_t type, size_t cap)
{
    uint64_t k = (hash ^ size * UINT64_C(0x9E3779B97F4A7C15) ^ type) * UINT64_C(0xFF51AFD7ED558CCD);
    return (size_t)(k >> 20) & (cap - 1);
}

/* Without the lock: the value for the key, 0 if not known (yet).  Inline:
   it is every allocation's info lookup (hooks.c). */
static inline uint32_t known_find(const known_table *t, uint64_t hash, uint64_t size,
                                  uint32_t type)
{
    known_map *m = atomic_load_explicit(&t->map, memory_order_acquire);
    if (UNLIKELY(!m))
        return 0;
    for (size_t i = known_start(hash, size, type, m->cap);; i = (i + 1) & (m->cap - 1)) {
        const known_slot *s = &m->slot[i];
        uint32_t v = atomic_load_explicit(&s->value, memory_order_acquire);
        if (!v)
            return 0;
        if (s->hash == hash && s->size == size && s->type == type)
            return v;
    }
}
/* With the lock held: remember value for the key (dropped when out of memory). */
void known_add(known_table *t, uint64_t hash, uint64_t size, uint32_t type, uint32_t value);
/* An empty table (a capture's start; a fork child's). */
void known_reset(known_table *t);

/* ---- clock.c ----------------------------------------------------------------------------- */
uint64_t clock_ns(clockid_t c);
uint64_t mono_us(void);
uint64_t rss_bytes(void);
void tick_open(void);
extern rcc_tick_page *_Atomic tick_page;

/* Nanoseconds of a clock that moves about every millisecond: the tick page
   under rcgc run (one load), else the coarse clock.  0 on the page: rcgc
   run has stopped ticking (its program exited; this is a descendant still
   running). */
static inline uint64_t tick_ns(void)
{
    rcc_tick_page *p = atomic_load_explicit(&tick_page, memory_order_relaxed);
    uint64_t tick = p ? atomic_load_explicit(&p->mono_ns, memory_order_relaxed) : 0;
    return tick ? tick : clock_ns(CLOCK_MONOTONIC_COARSE);
}

/* ---- The shadow of live blocks (shadow.c) ------------------------------------------------
 * One 64-bit word per 16-byte granule of address space, for the granule a
 * traced block starts at: 0 if none, else its info id (its size, stack and
 * type: see "Allocation infos" in record.c) in the low half and, in the
 * high half, when its A was written (rcc_writer_stamp: the F's age counts
 * from it).  Two levels: a directory
 * (reserved, never touched where the heap is not) of leaves made on first
 * use, each covering 8 MiB of addresses with 4 MiB of words (as large as
 * they were with 32-bit words: where the program's own mmaps land is as it
 * was; 8 MiB leaves moved GCC's pages across one more 16 MiB region,
 * tests/real cc1plus_ggc).  Neighbouring
 * blocks have neighbouring words, so the shadow is as cache-friendly as the
 * heap itself; a hash table spreads them on purpose, and its misses cost
 * more than everything else on the hot path together (see docs/CAPTURE.md,
 * "Recording").  The time shares the id's word, so a free reads one word
 * (a second array would be a second cache line).  Blocks not aligned to 16
 * bytes, or beyond ADDR_BITS, are not traced (glibc aligns every block to
 * 16). */

#define GRANULE_SHIFT 4
#define LEAF_SHIFT 23
#define LEAF_WORDS ((size_t)1 << (LEAF_SHIFT - GRANULE_SHIFT))
#if defined(__x86_64__)
#define ADDR_BITS 47
#else
#define ADDR_BITS 48
#endif
#define DIR_ENTRIES ((size_t)1 << (ADDR_BITS - LEAF_SHIFT))
#define MAX_LEAVES 131072            /* 1 TiB of heap addresses */

typedef struct shadow {
    uint64_t **dir;           /* DIR_ENTRIES leaves, NULL until made */
    uint32_t *made;           /* directory indices of the leaves, MAX_LEAVES */
    atomic_uint nmade;
} shadow;
extern shadow sh;

bool shadow_init(void);
void shadow_drop(void);
uint64_t *leaf_make(size_t d);
size_t shadow_walk(bool (*visit)(uintptr_t addr, uint32_t id, void *ctx), void *ctx);

/* A block's word: its info id and the stamp of its A. */
static inline uint64_t shadow_word(uint32_t id, uint32_t stamp)
{
    return id | (uint64_t)stamp << 32;
}

static inline uint32_t word_id(uint64_t word)
{
    return (uint32_t)word;
}

static inline uint32_t word_stamp(uint64_t word)
{
    return (uint32_t)(word >> 32);
}

static inline uint64_t *slot_of(uintptr_t a, bool make)
{
    if ((a & ((1u << GRANULE_SHIFT) - 1)) || a >> ADDR_BITS)
        return NULL;
    size_t d = a >> LEAF_SHIFT;
    uint64_t *leaf = __atomic_load_n(&sh.dir[d], __ATOMIC_ACQUIRE);
    if (UNLIKELY(!leaf) && (!make || !(leaf = leaf_make(d))))
        return NULL;
    return &leaf[(a >> GRANULE_SHIFT) & (LEAF_WORDS - 1)];
}

static inline bool shadow_put(uintptr_t a, uint64_t word)
{
    uint64_t *slot = slot_of(a, true);
    if (!slot)
        return false;
    __atomic_store_n(slot, word, __ATOMIC_RELAXED);
    return true;
}

/* The word of a traced block, taken out of the shadow; 0: not traced. */
static inline uint64_t shadow_take(uintptr_t a)
{
    uint64_t *slot = slot_of(a, false);
    uint64_t v = slot ? __atomic_load_n(slot, __ATOMIC_RELAXED) : 0;
    if (v)
        __atomic_store_n(slot, 0, __ATOMIC_RELAXED);
    return v;
}

/* ---- hooks.c ------------------------------------------------------------------------------ */
tstate *attach(void);
void enter(tstate *t);
void leave(tstate *t);
void thread_gone(void *v);
void on_alloc_at(tslot *s, void *p, size_t n, const char *type);
uint64_t on_release(void *p);
void on_free_at(tslot *s, void *p, uint64_t word);

/* The allocation's stack, from the exported function's caller: skip is
   the number of the shim's frames between the walk and that caller (the
   walk skips them).  libunwind may allocate: busy. */
static inline __attribute__((always_inline)) size_t walk_stack(tslot *s, tstate *t, void **frames,
                                                         size_t skip)
{
    int allocates = g.capture == rct_capture_unwind;
    s->busy_depth += allocates;
    size_t depth = g.capture(&t->walker, frames, g.frames, skip);
    s->busy_depth -= allocates;
    return depth;
}

/* (Inlined: the walk skips the caller's frame and on_alloc_at's.) */
static inline __attribute__((always_inline)) void on_alloc(void *p, size_t n, const char *type)
{
    on_alloc_at(my_slot(), p, n, type);
}

static inline __attribute__((always_inline)) void on_free(void *p, uint64_t word)
{
    on_free_at(my_slot(), p, word);
}

/* ---- unwind.c ----------------------------------------------------------------------------- */
bool unwind_load(void);

/* ---- python.c ----------------------------------------------------------------------------- */
enum { PY_OFF, PY_WAITING, PY_ON };
extern int python_mode;       /* PY_OFF unless the process is CPython */
static inline bool python_on(void)
{
    return __atomic_load_n(&python_mode, __ATOMIC_RELAXED) != PY_OFF;
}
void python_capture_start(void);
void python_try_attach(void);
/* From on_alloc, for every allocation it sees (sampled or not): attaches
   to CPython when the time comes; inline, so a Python program's
   allocations pay a load and a compare for it, not a call. */
static inline void python_poll(void)
{
    if (UNLIKELY(__atomic_load_n(&python_mode, __ATOMIC_ACQUIRE) == PY_WAITING))
        python_try_attach();
}
size_t python_stack(tslot *s, tstate *t, void **frames, uint64_t *hash);
extern uint32_t python_obj_type;

/* ---- pycensus.c --------------------------------------------------------------------------- */
void python_census_arm(uint32_t version);

/* ---- leakscan.c --------------------------------------------------------------------------- */
typedef struct range {
    uintptr_t lo, hi;
} range;

#define MAX_ROOT_RANGES 16384        /* mappings scanned; ranges cut from them */

typedef struct roots {
    range r[MAX_ROOT_RANGES]; /* readable and writable mappings */
    size_t n;
    range cut[MAX_ROOT_RANGES]; /* not roots: malloc's, the shim's, dead stack */
    size_t ncut;
} roots;

void list_roots(roots *r, bool exit_called, uintptr_t sp, tstate *me);
void python_tables(range *codes, range *triples);
void leak_scan(roots *r);

/* ---- process.c ---------------------------------------------------------------------------- */
void start(void);
void finish(bool exit_called);

/* Should this event be recorded (starting the capture at the first one)?
   Inlined into the exported functions, which the TSan build leaves
   uninstrumented (see bootstrap.c). */
static inline __attribute__((always_inline)) bool recording_at(const tslot *s)
{
    int m = atomic_load_explicit(&g.mode, memory_order_relaxed);
    if (LIKELY(m == ACTIVE))
        return !s->busy_depth;
    if (m == UNSTARTED && !s->busy_depth) {
        start();
        return atomic_load(&g.mode) == ACTIVE;
    }
    return false;
}

static inline __attribute__((always_inline)) bool recording(void)
{
    return recording_at(my_slot());
}

static inline __attribute__((always_inline)) bool tracing_frees_at(const tslot *s)
{
    return atomic_load_explicit(&g.mode, memory_order_relaxed) == ACTIVE && !s->busy_depth;
}

static inline __attribute__((always_inline)) bool tracing_frees(void)
{
    return tracing_frees_at(my_slot());
}
void crash_handlers(void);
const char *env_get(const char *name);
/* The seed of the frames' hashes that key the caches of stacks and infos
   (hooks.c, known.c): changed when dlclose unmaps a library, so a library
   loaded later at its addresses never finds the frames of the one before. */
extern _Atomic uint64_t frame_seed;

/* (hooks.c) The hash of frames f[0, n) that keys the caches of stacks and infos,
   folded on from h (hash_frames(f, n) starts from frame_seed ^ n): a
   Python stack's hash goes on from the hash of its outer part
   (python.c). */
uint64_t hash_frames_on(uint64_t h, void *const *f, size_t n);
static inline uint64_t hash_frames(void *const *f, size_t n)
{
    return hash_frames_on(atomic_load_explicit(&frame_seed, memory_order_relaxed) ^ n, f, n);
}

#endif
