/*
 * nofp_lib.c — the shared library of nofp_prog (test_stacks.sh): two frames
 * between the program's frames, built like a distribution's libraries
 * (-O2, no frame pointers).
 */
#include <stddef.h>

void *nofp_lib_middle(void *(*callback)(size_t), size_t n);

/* Each call is followed by code of its own (not a tail call): every frame
   stays on the stack. */
static volatile size_t lib_calls;

void *nofp_lib_inner(void *(*callback)(size_t), size_t n);

__attribute__((noinline)) void *nofp_lib_inner(void *(*callback)(size_t), size_t n)
{
    void *p = callback(n);
    lib_calls++;
    return p;
}

__attribute__((noinline)) void *nofp_lib_middle(void *(*callback)(size_t), size_t n)
{
    void *p = nofp_lib_inner(callback, n);
    lib_calls++;
    return p;
}
