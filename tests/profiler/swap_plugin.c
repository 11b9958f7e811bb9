/*
 * swap_plugin.c — built twice (libswap_one.so, libswap_two.so) with only
 * its function's name changed (SWAP_ALLOC: plug_one_alloc, plug_two_alloc,
 * names of one length): the same code at the same offsets, so one loaded
 * where the other was returns to the same addresses (swap_prog.c).
 */
#include <stdlib.h>

void *SWAP_ALLOC(size_t n);

__attribute__((noinline)) void *SWAP_ALLOC(size_t n)
{
    void *p = malloc(n);
    return p;
}
