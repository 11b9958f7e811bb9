/*
 * profiler_manystacks.c — many distinct allocation stacks, for
 * bench_profiler.sh: the cost per allocation must not grow with the number
 * of stacks a program allocates from.
 *
 * PATHS (default 40,000) different call paths, each 10 to 20 frames deep
 * (main, run, then 8 to 18 levels of hop()), N (default 1,500,000)
 * allocations spread over them in a scrambled order.  Each of hop()'s
 * first 8 levels calls the next through one of four call sites (distinct
 * return addresses), chosen by two bits of the path's number, so every
 * path is a different stack.  Each path allocates its own size; a block
 * lives until 64 allocations later.  Built with -O2 and no frame pointers,
 * as a distribution builds its programs.
 *
 * Usage: profiler_manystacks [ALLOCATIONS [PATHS]]
 */
#include <stdio.h>
#include <stdlib.h>

#define CHOICE_LEVELS 8 /* 4^8 = 65,536 paths at most */
#define LIVE 64

/* Written after each call, a different counter per call site: the code
   after each call differs, so the compiler cannot merge the four calls
   into one (one return address). */
volatile unsigned long hop_tally[4];

static __attribute__((noinline)) void *hop(int level, unsigned path, int depth, size_t n)
{
    if (level == depth)
        return malloc(n);
    void *p;
    switch (level < CHOICE_LEVELS ? (path >> (2 * level)) & 3 : 0) {
    case 0:
        p = hop(level + 1, path, depth, n);
        hop_tally[0]++;
        break;
    case 1:
        p = hop(level + 1, path, depth, n);
        hop_tally[1]++;
        break;
    case 2:
        p = hop(level + 1, path, depth, n);
        hop_tally[2]++;
        break;
    default:
        p = hop(level + 1, path, depth, n);
        hop_tally[3]++;
        break;
    }
    return p;
}

static __attribute__((noinline)) unsigned long run(unsigned long allocs, unsigned paths)
{
    void *live[LIVE] = {0};
    unsigned long sum = 0;
    for (unsigned long i = 0; i < allocs; i++) {
        unsigned path = (unsigned)((i * 2654435761ul) % paths);
        int depth = CHOICE_LEVELS + (int)(path % 11);
        size_t n = 16 + (path % 64) * 8;
        void *p = hop(0, path, depth, n);
        if (!p)
            abort();
        *(volatile char *)p = 1;
        free(live[i % LIVE]);
        live[i % LIVE] = p;
        sum += n;
    }
    for (int i = 0; i < LIVE; i++)
        free(live[i]);
    return sum;
}

int main(int argc, char **argv)
{
    unsigned long allocs = argc > 1 ? strtoul(argv[1], NULL, 10) : 1500000ul;
    unsigned long paths = argc > 2 ? strtoul(argv[2], NULL, 10) : 40000ul;
    if (paths < 1 || paths > (1ul << (2 * CHOICE_LEVELS))) {
        fprintf(stderr, "profiler_manystacks: PATHS must be 1 to %lu\n",
                1ul << (2 * CHOICE_LEVELS));
        return 2;
    }
    unsigned long bytes = run(allocs, (unsigned)paths);
    printf("manystacks: allocations=%lu paths=%lu bytes=%lu\n", allocs, paths, bytes);
    return 0;
}
