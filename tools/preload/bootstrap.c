/*
 * bootstrap.c — finding the real allocator (dlsym(RTLD_NEXT)), and the
 * static arena that serves allocations made before it is found (dlsym
 * itself calls calloc); built for TSan, when a thread may run instrumented
 * code.  May call: libc and the loader only (and TSan's start).
 */
#include "shim.h"

real_fns real;
atomic_int real_state;

void die(const char *msg)
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

bool in_arena(const void *p)
{
    return (const char *)p >= arena && (const char *)p < arena + sizeof arena;
}

void *arena_alloc(size_t n, size_t align)
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

size_t arena_size(const void *p)
{
    size_t n;
    memcpy(&n, (const char *)p - sizeof n, sizeof n);
    return n;
}

/* A realloc of an arena block: a new block (the arena never frees). */
void *arena_realloc(void *p, size_t n)
{
    void *q = malloc(n);
    if (q) {
        size_t old = arena_size(p);
        memcpy(q, p, old < n ? old : n);
    }
    return q;
}

/* ---- TSan ----------------------------------------------------------------------------
 * make tsan builds the shim with ThreadSanitizer (RCGC_TSAN), all but this
 * file.  Instrumented code must not run on a thread TSan does not know:
 * before its runtime has started (its shadow memory is mapped then), in a
 * new thread before TSan has set it up (it calls pthread_getattr_np, which
 * allocates), and after TSan has torn it down (glibc frees thread buffers
 * after the last key destructor).  But the shim's malloc is called there:
 * by the loader, by libc's start, by TSan's own start (its dlsym calls)
 * and in those thread ends.  So the exported functions are not
 * instrumented (EXPORT), nor is what they run while `busy` is set (the real
 * call, inlined), and in this build every thread starts busy: the main
 * thread leaves it in the shim's first constructor, after TSan has
 * started, other threads when pthread_create's trampoline below runs their
 * function (TSan has set them up), and they take it back when it returns
 * or exits (a thread's slot starts busy in this build: slots.c).  Threads made otherwise (clone) are not traced in this build,
 * nor is what a thread frees in its key destructors. */
#ifdef RCGC_TSAN
void __tsan_init(void);

__attribute__((constructor(101))) static void tsan_start(void)
{
    __tsan_init(); /* a program built without TSan: started here */
    busy--;        /* the main thread */
}

typedef struct thread_start {
    void *(*fn)(void *);
    void *arg;
} thread_start;

static void thread_done(void *unused)
{
    (void)unused;
    busy++;
}

static void *thread_main(void *v)
{
    thread_start s = *(thread_start *)v;
    /* Not busy before anything TSan intercepts: TSan runs a signal that
       came meanwhile (before the thread got here) at the exit of the next
       intercepted call, and busy, its handler's allocations would pass
       untraced (shim_signal_alloc lost one handler's in 20 runs so). */
    slot_tsan_owned(); /* its slot's hand-over, which TSan did not see (slots.c) */
    busy--;
    real.free(v);
    void *rc;
    pthread_cleanup_push(thread_done, NULL);
    rc = s.fn(s.arg);
    pthread_cleanup_pop(1);
    return rc;
}

typedef int (*create_fn)(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *);

EXPORT int pthread_create(pthread_t *th, const pthread_attr_t *attr, void *(*fn)(void *),
                          void *arg)
{
    static _Atomic(create_fn) next;
    create_fn f = atomic_load(&next);
    if (!f) {
        *(void **)&f = dlsym(RTLD_NEXT, "pthread_create");
        if (!f)
            die("rcgc preload: dlsym(RTLD_NEXT) cannot find pthread_create\n");
        atomic_store(&next, f);
    }
    thread_start *s = ready() ? real.malloc(sizeof *s) : NULL; /* untraced */
    if (!s)
        return EAGAIN;
    *s = (thread_start){fn, arg};
    int rc = f(th, attr, thread_main, s);
    if (rc != 0)
        real.free(s);
    return rc;
}
#endif

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
void resolve(void)
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
    GET(sigaction, "sigaction"); /* libc's, never a program's of that name */
#undef GET
    busy--;
    atomic_store(&real_state, 2);
}
