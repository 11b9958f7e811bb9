/*
 * process.c — a capture's life in the process: configuration from the
 * environment, opening the file, start (constructor or first allocation),
 * fork, exec's hand-over, exit and _exit, dlclose, and the end record.
 * May call: everything in the shim; the libc calls that take locks
 * (atexit, pthread_atfork) only from the constructor; no libc name a
 * program may define itself (getenv, setenv: see env_get).
 */
#include "shim.h"

shim_state g = {.lock = PTHREAD_MUTEX_INITIALIZER, .fd = -1};

/* ---- Start, fork, finish ---------------------------------------------------------------- */

/* The value of an environment variable, read from the environ array itself:
   getenv is a name programs define (bash does), and the shim runs no
   program code. */
const char *env_get(const char *name)
{
    size_t n = strlen(name);
    for (char **e = environ; e && *e; e++)
        if (memcmp(*e, name, n) == 0 && (*e)[n] == '=')
            return *e + n + 1;
    return NULL;
}

static size_t env_size(const char *name, size_t dflt, size_t lo, size_t hi)
{
    const char *v = env_get(name);
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
    g.pid = pid;
    g.fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (g.fd < 0)
        return false;
    g.start_ns = clock_ns(CLOCK_MONOTONIC);
    if (rcc_write_header(g.fd, (uint32_t)pid, clock_ns(CLOCK_REALTIME)) != 0)
        return false;
    g.meta = rcc_writer_new(&(rcc_writer_options){.sink = meta_sink, .tid = (uint32_t)pid,
                                                  .chunk_bytes = META_CHUNK});
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
    g.nmods = g.nreplacing = 0;
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
    python_capture_start();
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
    deferred = 0;
    guarded = 0;
    pthread_mutex_init(&g.lock, NULL);
    if (g.fd >= 0)
        close(g.fd);
    g.fd = -1;
    g.gen++;
    self = NULL;
    slots_after_fork();
    shadow_drop();
    bool ok = per_pid() && open_capture();
    if (ok && !g.strong_fence &&
        syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0) != 0)
        g.strong_fence = true;
    atomic_store(&g.mode, ok ? ACTIVE : OFF);
    busy--;
}

/* Run by exit after every other handler and after the loader's
   destructors: registered before __libc_start_main registers _dl_fini, and
   not tied to the shim's own module (atexit would be: its handlers run
   when the shim's destructors do, before those of the libraries loaded
   before it). */
int __cxa_atexit(void (*fn)(void *), void *arg, void *dso); /* glibc's, for C++ */

static void at_exit(void *unused)
{
    (void)unused;
    finish(!g.main_returned);
}

/* RCGC_CAPTURE_OWNER=<our pid> in the environment the program and its
   children see, without setenv (a name programs define: bash's own runs
   before its main, untraced).  A copy of the environ array with the entry
   added, in mmap'd pages, replaces it: glibc's setenv and putenv copy an
   array they did not make before changing it, unsetenv shifts entries in
   place, and main receives environ as __libc_start_main finds it. */
static void export_owner(void)
{
    static char entry[48];
    size_t n = 0;
    while (environ && environ[n])
        n++;
    char **env = pages_alloc(NULL, (n + 2) * sizeof *env);
    if (!env)
        return;
    snprintf(entry, sizeof entry, "RCGC_CAPTURE_OWNER=%d", (int)getpid());
    if (n)
        memcpy(env, environ, n * sizeof *env);
    env[n] = entry;
    env[n + 1] = NULL;
    environ = env;
}

static pthread_once_t start_once = PTHREAD_ONCE_INIT;

static void start_capture(void)
{
    busy++;
    int mode = OFF;
    const char *path = env_get("RCGC_CAPTURE");
    if (path && *path && strlen(path) < sizeof g.path) {
        strcpy(g.path, path);
        const char *owner = env_get("RCGC_CAPTURE_OWNER");
        char me[24];
        snprintf(me, sizeof me, "%d", (int)getpid());
        bool mine = per_pid() || !owner || strcmp(owner, me) == 0;
        g.frames = env_size("RCGC_NATIVE_FRAMES", DEFAULT_FRAMES, 1, RCC_MAX_DEPTH);
        g.capture = rct_capture_named(env_get("RCGC_UNWIND"));
        if (g.capture == rct_capture_unwind)
            g.capture = rct_capture_cfi; /* until the constructor has loaded libunwind */
        g.sample_mean = env_size("RCGC_SAMPLE_BYTES", 0, 0, SIZE_MAX / 2);
        g.chunk = env_size("RCGC_CHUNK_BYTES", DEFAULT_CHUNK, 8192, RCC_MAX_CHUNK);
        const char *lv = env_get("RCGC_ZSTD_LEVEL");
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

NOINLINE void start(void)
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
    if (!per_pid() && !env_get("RCGC_CAPTURE_OWNER"))
        export_owner();
    pthread_atfork(NULL, NULL, fork_child);
    __cxa_atexit(at_exit, NULL, NULL);
    crash_handlers();
    if (rct_capture_named(env_get("RCGC_UNWIND")) == rct_capture_unwind && unwind_load())
        g.capture = rct_capture_unwind;
    busy--;
}

static NOINLINE void end_capture(bool exit_called, uintptr_t sp);

/* end_capture from here: this thread's callee-saved registers land in
   regs, on the stack the scan starts from (unless sp, not 0, says where
   it starts).  A function of its own: no caller's variable lives across
   setjmp (busy's slot). */
static NOINLINE void end_here(bool exit_called, uintptr_t sp)
{
    jmp_buf regs;
    setjmp(regs);
    end_capture(exit_called, sp ? sp : (uintptr_t)&regs);
}

/* Flush every thread, scan for leaks, end the capture.  Once, and only in
   the process recording: a vfork child (or a clone sharing the memory)
   that calls _exit or exit must not end its parent's capture.
   exit_called: exit or _exit was called (main's frames are live). */
NOINLINE void finish(bool exit_called)
{
    if (getpid() != g.pid)
        return;
    guard_enter();
    busy++;
    end_here(exit_called, 0);
    busy--;
    guard_leave();
}

/* ---- Fatal signals -------------------------------------------------------------------------
 * SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT and SIGTERM end the capture as
 * exit does (every thread flushed, the leak scan, E naming the signal),
 * then the signal is raised again with the default action, so the exit
 * status and the core dump are the program's.  The handlers are installed
 * by the constructor for the signals whose action is then the default, on
 * each thread's alternate stack (hooks.c gives threads that have none one
 * of ALTSTACK_BYTES).  A program that installs its own handler later
 * replaces ours: its handler wins, and it ends the process as it likes.
 * A signal that arrives while the thread is inside the shim or the real
 * allocator (their locks may be held) is handled when the thread leaves
 * them (guard_leave) if it was sent (kill, raise: the thread can go on).
 * A fault inside the real allocator, or its abort() (glibc's heap checks:
 * "free(): double free detected"), cannot wait: the thread is outside the
 * shim's events, so the capture can end, but the allocator's locks may be
 * this thread's.  From then on every call of the malloc family is served
 * by mmap (below, "After a crash inside the allocator"), and the capture
 * ends as for any fatal signal.  One inside the shim's own work (an event,
 * or zstd's allocations while busy) only re-raises: no end record. */

static const int fatal_signals[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGTERM};

static void reraise(int sig)
{
    syscall(SYS_tgkill, getpid(), syscall(SYS_gettid), sig);
}

static bool on_own_stack(const tstate *t, uintptr_t sp)
{
    return t && sp >= t->walker.stack_lo && sp < t->walker.stack_hi;
}

/* Where the scan of this thread's stack starts: the stack pointer the
   signal interrupted, with the interrupted registers copied below it
   (below the red zone: memory the interrupted code does not use) so the
   scan sees them, unless that is too near the stack's end (an overflow).
   UINTPTR_MAX (no stack) if unknown. */
static uintptr_t interrupted_sp(const ucontext_t *uc)
{
    uintptr_t sp = 0;
#if defined(__x86_64__)
    sp = (uintptr_t)uc->uc_mcontext.gregs[REG_RSP];
#elif defined(__aarch64__)
    sp = (uintptr_t)uc->uc_mcontext.sp;
#endif
    const tstate *t = self;
    size_t regs = sizeof uc->uc_mcontext;
    if (!on_own_stack(t, sp))
        return UINTPTR_MAX;
    if (sp < t->walker.stack_lo + (64u << 10))
        return sp;
    uintptr_t at = (sp - 128 - regs) & ~(uintptr_t)15;
    memcpy((void *)at, &uc->uc_mcontext, regs);
    return at;
}

/* End the capture for a fatal signal; sp: where the scan of this thread's
   stack starts, 0 for here (not on an alternate stack). */
static void crash(int sig, uintptr_t sp)
{
    g.signal = sig;
    g.status = 128 + sig; /* as a shell reports it */
    busy++;
    end_here(true, sp);
    busy--;
}

/* ---- After a crash inside the allocator ----------------------------------------------------
 * The real functions are replaced by these (in `real`, which every exported
 * function calls through): each block is a mapping of its own, headed by
 * its size; free does nothing, the process is ending; realloc copies a
 * real block out by its usable size (read from its header, no lock). */

#define PRIVATE_MAGIC UINT64_C(0x726367632D656E64)

static size_t (*real_usable)(void *);

static void *private_alloc(size_t align, size_t n)
{
    size_t off = align < 16 ? 16 : align; /* the header fits before the block */
    if (align & (align - 1) || off > 4096 || n > SIZE_MAX - 2 * off)
        return NULL;
    char *m = pages_alloc(NULL, off + n);
    if (!m)
        return NULL;
    uint64_t *head = (uint64_t *)(m + off) - 2;
    head[0] = PRIVATE_MAGIC;
    head[1] = n;
    return m + off;
}

static size_t private_usable(void *p)
{
    const uint64_t *head = (const uint64_t *)p - 2;
    return head[0] == PRIVATE_MAGIC ? head[1] : real_usable(p);
}

static void *private_malloc(size_t n)
{
    return private_alloc(16, n);
}

static void *private_calloc(size_t n, size_t size)
{
    return size && n > SIZE_MAX / size ? NULL : private_alloc(16, n * size); /* zeroed */
}

static void private_free(void *p)
{
    (void)p;
}

static void *private_realloc(void *p, size_t n)
{
    void *q = private_alloc(16, n);
    if (q && p) {
        size_t old = private_usable(p);
        memcpy(q, p, old < n ? old : n);
    }
    return q;
}

static int private_posix_memalign(void **out, size_t align, size_t n)
{
    void *p = private_alloc(align, n);
    if (!p)
        return ENOMEM;
    *out = p;
    return 0;
}

static void *private_memalign(size_t align, size_t n)
{
    return private_alloc(align, n);
}

static void *private_valloc(size_t n)
{
    return private_alloc(4096, n);
}

/* From now on the malloc family never enters the real allocator.  Other
   threads see the new functions at their next call (each pointer is one
   aligned word; a thread inside the real allocator finishes there). */
static void allocator_private(void)
{
    real_usable = real.malloc_usable_size;
    real.malloc = private_malloc;
    real.calloc = private_calloc;
    real.realloc = private_realloc;
    real.free = private_free;
    real.posix_memalign = private_posix_memalign;
    real.aligned_alloc = private_memalign;
    real.memalign = private_memalign;
    real.valloc = private_valloc;
    real.pvalloc = private_valloc;
    real.malloc_usable_size = private_usable;
}

static void on_fatal(int sig, siginfo_t *info, void *ctx)
{
    int saved = errno;
    if (atomic_load(&g.mode) == ACTIVE && getpid() == g.pid) {
        if (!busy && !guarded) {
            crash(sig, interrupted_sp(ctx));
        } else if (info->si_code <= 0 && sig != SIGABRT) {
            deferred = sig; /* sent, and the thread can go on: guard_leave */
        } else if (!busy && (!self || !self->in_event)) { /* in the real allocator */
            allocator_private();
            crash(sig, interrupted_sp(ctx));
        }
    }
    if (!deferred)
        reraise(sig); /* pending until this handler returns */
    errno = saved;
}

/* A signal deferred by on_fatal: the thread has left the shim. */
void crash_deferred(void)
{
    int sig = deferred;
    deferred = 0;
    crash(sig, 0);
    reraise(sig); /* the action is the default again (SA_RESETHAND) */
}

void crash_handlers(void)
{
    struct sigaction sa = {.sa_sigaction = on_fatal,
                           .sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESETHAND};
    sigfillset(&sa.sa_mask);
    for (size_t i = 0; i < sizeof fatal_signals / sizeof *fatal_signals; i++) {
        struct sigaction old;
        if (real.sigaction(fatal_signals[i], NULL, &old) == 0 &&
            !(old.sa_flags & SA_SIGINFO) && old.sa_handler == SIG_DFL)
            real.sigaction(fatal_signals[i], &sa, NULL);
    }
}

/* Flush every thread, scan for leaks from sp up, write L and E records. */
static NOINLINE void end_capture(bool exit_called, uintptr_t sp)
{
    int expect = ACTIVE;
    if (!atomic_compare_exchange_strong(&g.mode, &expect, FINISHING))
        return;
    if (!g.strong_fence)
        syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0);
    tstate *me = self;
    int cancel;
    lock(&cancel);
    tstate *list = g.threads;
    unlock(cancel);
    for (tstate *t = list; t; t = t->next) {
        for (int spins = 0; t != me && __atomic_load_n(&t->in_event, __ATOMIC_ACQUIRE) &&
                            spins < 100000; spins++)
            sched_yield(); /* a thread mid-event finishes it */
        /* (this thread: unless exit came from a signal handler that
           interrupted its event); acquire: its writer's last records */
        if (!__atomic_load_n(&t->in_event, __ATOMIC_ACQUIRE))
            rcc_writer_flush(t->w);
    }
    roots *r = pages_alloc(NULL, sizeof *r);
    if (r)
        list_roots(r, exit_called, sp, me);
    lock(&cancel);
    if (r)
        leak_scan(r);
    rcc_event end = {.kind = RCC_END, .time_us = mono_us(), .status = g.status,
                     .signal = (uint64_t)g.signal};
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
    if (r)
        pages_free(NULL, r, sizeof *r);
}

/* ---- dlclose --------------------------------------------------------------------------------
 * A library unloaded, and another loaded later at its addresses: the same
 * return addresses are the other library's functions.  When dlclose unmaps
 * something (the loader's count of removals moves), the seed of the
 * frames' hashes changes, so the caches of stacks and infos (hooks.c,
 * known.c) answer nothing from before, and record.c gives the frames of a
 * module that replaced another nodes of their own. */

_Atomic uint64_t frame_seed = UINT64_C(0x9E3779B97F4A7C15);

static int removals_cb(struct dl_phdr_info *info, size_t size, void *ctx)
{
    (void)size;
    *(unsigned long long *)ctx = info->dlpi_subs;
    return 1;
}

static unsigned long long removals(void)
{
    unsigned long long subs = 0;
    dl_iterate_phdr(removals_cb, &subs);
    return subs;
}

EXPORT int dlclose(void *handle);
EXPORT int dlclose(void *handle)
{
    static void *_Atomic found;
    void *f = atomic_load_explicit(&found, memory_order_relaxed);
    if (!f) {
        busy++; /* dlsym may allocate */
        f = dlsym(RTLD_NEXT, "dlclose");
        busy--;
        if (!f)
            die("rcgc preload: cannot find dlclose\n");
        atomic_store_explicit(&found, f, memory_order_relaxed);
    }
    int (*real_dlclose)(void *);
    memcpy(&real_dlclose, &f, sizeof f);
    unsigned long long before = removals();
    int rc = real_dlclose(handle);
    if (removals() != before)
        atomic_fetch_add_explicit(&frame_seed, UINT64_C(0x9E3779B97F4A7C15),
                                  memory_order_relaxed);
    return rc;
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
    if (getpid() == g.pid) { /* not a vfork child, whose memory is ours */
        g.status = status;
        g.main_returned = false; /* called from main or below: its frames live */
    }
    if (!ready())
        die("rcgc preload: cannot find exit\n");
    real.exit(status);
}

EXPORT void _exit(int status)
{
    if (getpid() == g.pid) { /* not a vfork child (finish checks too) */
        g.status = status;
        finish(true);
    }
    if (!ready())
        syscall(SYS_exit_group, status);
    real.exit_now(status);
}

EXPORT void _Exit(int status)
{
    _exit(status);
}
