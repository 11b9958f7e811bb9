/*
 * shim_plugin.c — a library test_shim dlopens after recording started: its
 * allocations must carry frames inside a module record written before the
 * stack nodes that use them.
 */
#include <stdlib.h>

void *plug_alloc(size_t n);
void *plug_kept;

__attribute__((noinline)) void *plug_alloc(size_t n)
{
    void *p = malloc(n);
    plug_kept = p;
    return p;
}
