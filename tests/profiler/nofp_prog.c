/*
 * nofp_prog.c — allocations several frames deep, through a shared library,
 * in code built without frame pointers (-O2 -fomit-frame-pointer, as
 * Debian builds): main -> nofp_outer -> nofp_lib_middle -> (the library's
 * inner function) -> nofp_callback -> nofp_leaf -> malloc.  test_stacks.sh
 * checks that `rcgc run`, with no options, records the whole stack, main
 * included.
 */
#include <stdio.h>
#include <stdlib.h>

void *nofp_lib_middle(void *(*callback)(size_t), size_t n);

static volatile size_t calls;
void *nofp_kept[100];

__attribute__((noinline)) void *nofp_leaf(size_t n)
{
    void *p = malloc(n);
    calls++;
    return p;
}

__attribute__((noinline)) void *nofp_callback(size_t n)
{
    void *p = nofp_leaf(n);
    calls++;
    return p;
}

__attribute__((noinline)) void nofp_outer(int i)
{
    nofp_kept[i] = nofp_lib_middle(nofp_callback, 100 + (size_t)i);
    calls++;
}

int main(void)
{
    for (int i = 0; i < 100; i++)
        nofp_outer(i);
    for (int i = 0; i < 100; i++)
        free(nofp_kept[i]);
    printf("nofp: %zu calls\n", (size_t)calls);
    return 0;
}
