/*
 * profiler_loop.c — the allocation-heavy C program bench_profiler.sh runs
 * alone and under each profiler (rcgc run, heaptrack, massif, memcheck).
 *
 * 20 frames deep, N (default 2,000,000) malloc/free pairs of sizes 16-2063
 * bytes; every 1000th block survives (still reachable from a global array
 * until exit); one known leak: a 48-byte node, its only pointer dropped,
 * pointing to a 1000-byte buffer (definitely lost 48 + indirectly lost 1000).
 *
 * It counts its own requested bytes and prints, on its last line,
 *   loop: pairs=N peak_bytes=P leaked_bytes=L live_at_exit=X
 * P is the exact peak of the bytes it has live; stdio is not used before
 * that point (snprintf into a stack buffer, then write), so the process
 * allocates nothing the count misses until the peak has passed.
 *
 * Usage: profiler_loop [PAIRS]
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DEPTH 20
#define KEEP_EVERY 1000
#define MAX_KEPT 100000

/* external linkage: the stores must stay (a static array never read is
   optimized away, and the survivors would be lost) */
void *profiler_kept[MAX_KEPT];
static size_t nkept;
static uint64_t live, peak;

static void *counted_malloc(size_t n)
{
    void *p = malloc(n);
    if (!p)
        abort();
    memset(p, (int)(n & 0xff), n < 64 ? n : 64);
    live += n;
    if (live > peak)
        peak = live;
    return p;
}

static void counted_free(void *p, size_t n)
{
    free(p);
    live -= n;
}

/* The leak, in a function of its own so that no pointer to it lingers in
   a live frame: a node whose only pointer is dropped, pointing to a buffer
   no one else points to. */
struct node {
    void *buf;
    char pad[40];
};
static __attribute__((noinline)) void leak(void)
{
    struct node *n = counted_malloc(sizeof *n);
    n->buf = counted_malloc(1000);
    __asm__ volatile("" : : "r"(n) : "memory");
}

/* Scrub the stack below the caller's frame, where leak() left its pointers. */
static __attribute__((noinline)) void scrub(void)
{
    volatile char junk[4096];
    memset((char *)junk, 0, sizeof junk);
}

static __attribute__((noinline)) void work(unsigned long pairs)
{
    uint32_t x = 12345;
    for (unsigned long i = 0; i < pairs; i++) {
        x = x * 1103515245u + 12345u;
        size_t n = 16 + ((x >> 16) & 2047);
        void *p = counted_malloc(n);
        if (i % KEEP_EVERY == 0 && nkept < MAX_KEPT) {
            profiler_kept[nkept++] = p;
            continue;
        }
        counted_free(p, n);
    }
    leak();
    scrub();
}

/* DEPTH frames of recursion above the loop. */
static __attribute__((noinline)) void deep(int d, unsigned long pairs)
{
    if (d > 1)
        deep(d - 1, pairs);
    else
        work(pairs);
    __asm__ volatile("" ::: "memory"); /* not a tail call */
}

int main(int argc, char **argv)
{
    unsigned long pairs = argc > 1 ? strtoul(argv[1], NULL, 10) : 2000000ul;
    deep(DEPTH, pairs);
    char line[256];
    int len = snprintf(line, sizeof line,
                       "loop: pairs=%lu peak_bytes=%llu leaked_bytes=%d "
                       "live_at_exit=%llu\n",
                       pairs, (unsigned long long)peak,
                       (int)(sizeof(struct node) + 1000),
                       (unsigned long long)live);
    if (write(1, line, (size_t)len) != len)
        return 1;
    return 0;
}
