/*
 * process.c — a capture's life in the process: configuration from the
 * environment, opening the file, start (constructor or first allocation),
 * fork, exec's hand-over, exit and _exit, and the end record.  May call:
 * everything in the shim; the libc calls that take locks (atexit,
 * pthread_atfork) only from the constructor; no libc name a program may
 * define itself (getenv, setenv: see env_get).
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

static void at_exit(void)
{
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
#ifdef RCGC_HAVE_LIBUNWIND
        if (g.capture == rct_capture_unwind) /* as heaptrack does: cache per thread */
            unw_set_caching_policy(unw_local_addr_space, UNW_CACHE_PER_THREAD);
#endif
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
    atexit(at_exit);
    busy--;
}

/* Flush every thread, scan for leaks, end the capture.  Once.
   exit_called: exit or _exit was called (main's frames are live). */
NOINLINE void finish(bool exit_called)
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
    roots *r = pages_alloc(NULL, sizeof *r);
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
    if (r)
        pages_free(NULL, r, sizeof *r);
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
