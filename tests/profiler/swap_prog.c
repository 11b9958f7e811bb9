/*
 * swap_prog.c — a library unloaded and another loaded at its addresses
 * (test_stacks.sh dlswap).  Usage: swap_prog ONE.so TWO.so.  Loads ONE and
 * allocates 3 blocks of 1000 bytes through its function, unloads it; loads
 * TWO, 5 blocks, unloads it; loads ONE again, 7 blocks.  Exits 3 (the test
 * cannot say anything) unless the three were mapped at one address with
 * their functions at one offset.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct loaded {
    uintptr_t base, fn;
} loaded;

static __attribute__((noinline)) loaded phase(const char *path, const char *name, int blocks)
{
    void *h = dlopen(path, RTLD_NOW);
    if (!h) {
        fprintf(stderr, "swap_prog: %s\n", dlerror());
        exit(1);
    }
    void *sym = dlsym(h, name);
    Dl_info di;
    if (!sym || !dladdr(sym, &di)) {
        fprintf(stderr, "swap_prog: no %s in %s\n", name, path);
        exit(1);
    }
    void *(*alloc)(size_t);
    memcpy(&alloc, &sym, sizeof sym);
    for (int i = 0; i < blocks; i++)
        free(alloc(1000));
    dlclose(h);
    return (loaded){(uintptr_t)di.dli_fbase, (uintptr_t)sym - (uintptr_t)di.dli_fbase};
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: swap_prog ONE.so TWO.so\n");
        return 2;
    }
    loaded a = phase(argv[1], "plug_one_alloc", 3), b = phase(argv[2], "plug_two_alloc", 5),
           c = phase(argv[1], "plug_one_alloc", 7);
    if (a.base != b.base || b.base != c.base || a.fn != b.fn) {
        fprintf(stderr, "swap_prog: not at one address: %#lx+%#lx %#lx+%#lx %#lx\n",
                (unsigned long)a.base, (unsigned long)a.fn, (unsigned long)b.base,
                (unsigned long)b.fn, (unsigned long)c.base);
        return 3;
    }
    printf("one address\n");
    return 0;
}
