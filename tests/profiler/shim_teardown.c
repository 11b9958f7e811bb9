/*
 * shim_teardown.c — a library test_shim links: the loader initializes it
 * before the preloaded shim and runs its destructor after the shim's.
 * With SHIM_TEARDOWN set, its constructor keeps a block that its
 * destructor frees; the leak scan, which runs after every destructor (as
 * memcheck's does), must find it freed.
 */
#include <stdlib.h>

void *teardown_alloc(size_t n);

static void *kept;

__attribute__((noinline)) void *teardown_alloc(size_t n)
{
    return malloc(n);
}

__attribute__((constructor)) static void teardown_init(void)
{
    if (getenv("SHIM_TEARDOWN"))
        kept = teardown_alloc(4567);
}

__attribute__((destructor)) static void teardown_fini(void)
{
    free(kept);
    kept = NULL;
}
