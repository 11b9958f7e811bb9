/*
 * bootstrap.c — finding the real allocator (dlsym(RTLD_NEXT)), and the
 * static arena that serves allocations made before it is found (dlsym
 * itself calls calloc).  May call: libc and the loader only.
 */
#include "shim.h"

real_fns real;
atomic_int real_state;

TLS int busy;
TLS int guarded;
TLS volatile sig_atomic_t deferred;

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
