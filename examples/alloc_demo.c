/*
 * alloc_demo.c — the allocator at work: a workload of many small blocks,
 * a few page runs and one huge block, then the statistics table before and
 * after freeing most of it, and what trim gives back.
 */
#include "rcgc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(void)
{
    rc_heap *h = rc_heap_new(NULL);
    if (!h) {
        fprintf(stderr, "alloc_demo: cannot create a heap\n");
        return 1;
    }
    enum { N = 200000 };
    void **block = malloc(N * sizeof *block);
    if (!block)
        return 1;
    unsigned seed = 1;
    for (int i = 0; i < N; i++) {
        seed = seed * 1103515245u + 12345u;
        size_t n = 16 + (seed >> 16) % 241; /* 16..256 bytes */
        block[i] = rc_mem_alloc(h, n);
        if (!block[i]) {
            fprintf(stderr, "alloc_demo: out of memory at block %d\n", i);
            return 1;
        }
        memset(block[i], 0xAB, n);
    }
    void *run = rc_mem_alloc(h, 100000), *huge = rc_mem_alloc(h, 4 << 20);
    printf("== after allocating %d small blocks, a page run and a huge block\n", N);
    rc_alloc_stats_print(h, stdout);

    for (int i = 0; i < N; i++)
        if (i % 10) {
            rc_mem_free(h, block[i]);
            block[i] = NULL;
        }
    rc_mem_free(h, run);
    rc_mem_free(h, huge);
    printf("\n== after freeing 90%% of the small blocks (every 10th kept)\n");
    rc_alloc_stats_print(h, stdout);

    for (int i = 0; i < N; i++)
        rc_mem_free(h, block[i]);
    size_t released = rc_heap_trim(h);
    printf("\n== after freeing the rest and rc_heap_trim (released %zu bytes)\n",
           released);
    rc_alloc_stats_print(h, stdout);
    free(block);
    rc_heap_free(h);
    return 0;
}
