/*
 * nofp_prog.c — allocations several frames deep, through a shared library,
 * in code built without frame pointers (-O2 -fomit-frame-pointer, as
 * Debian builds): main -> nofp_outer_a or _b -> nofp_lib_middle ->
 * nofp_lib_inner -> nofp_callback -> nofp_leaf -> malloc, 50 times each, in
 * turn (100 and 200 bytes).  test_stacks.sh checks that `rcgc run`, with no
 * options, records each whole stack, main included, with its bytes.
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

/* Two callers of the same depth, in turn: the frames below them are
   alike, the walk must still tell them apart (a thread's last walk is
   reused only where the frames above are unchanged). */
__attribute__((noinline)) void nofp_outer_a(int i)
{
    nofp_kept[i] = nofp_lib_middle(nofp_callback, 100);
    calls++;
}

__attribute__((noinline)) void nofp_outer_b(int i)
{
    nofp_kept[i] = nofp_lib_middle(nofp_callback, 200);
    calls += 2;
}

int main(void)
{
    for (int i = 0; i < 100; i += 2) {
        nofp_outer_a(i);
        nofp_outer_b(i + 1);
    }
    for (int i = 0; i < 100; i++)
        free(nofp_kept[i]);
    printf("nofp: %zu calls\n", (size_t)calls);
    return 0;
}
