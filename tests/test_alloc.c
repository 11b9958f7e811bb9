/*
 * test_alloc.c — the allocator: size classes, raw blocks, realloc, page
 * runs and huge blocks, statistics, arena choice, lazy carving, purging and
 * returning memory.  rc_heap_validate runs after every mutation.
 */
#define _DEFAULT_SOURCE
#include "check.h"

#include <stdint.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define ARENA ((uintptr_t)1 << 20)

static void fill(void *p, size_t n, unsigned seed)
{
    unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        b[i] = (unsigned char)(seed + i * 7);
}

static int intact(const void *p, size_t n, unsigned seed)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        if (b[i] != (unsigned char)(seed + i * 7))
            return 0;
    return 1;
}

static void test_every_small_size(void)
{
    rc_heap *h = rc_heap_new(NULL);
    CHECK(h);
    size_t prev_usable = 0;
    for (size_t n = 0; n <= RC_SMALL_MAX; n++) {
        void *p = rc_mem_alloc(h, n);
        CHECK(p && ((uintptr_t)p & 15) == 0);
        size_t u = rc_mem_usable_size(h, p);
        CHECK(u >= n && u >= prev_usable);
        CHECK(n < 16 || u - n < u / 4 + 16); /* classes are close */
        prev_usable = u;
        fill(p, n, (unsigned)n);
        CHECK(intact(p, n, (unsigned)n));
        rc_mem_free(h, p);
    }
    CHECK_VALID(h);
    rc_heap_free(h);
}

/* Objects step by 8 B up to 128 B: the header (8 B) and a 16-byte payload
   take a 24-byte block.  Their payloads are 8-byte aligned, in shared
   pools (the type's first objects) and in the type's own. */
static void test_object_classes(void)
{
    enum { WARM = 40, N = 104 };
    void *objs[N];
    for (size_t payload = 1; payload <= 240; payload++) {
        rc_type t = {.name = "sized", .size = payload};
        rc_heap *h = rc_heap_new(NULL);
        for (int i = 0; i < WARM; i++) { /* the type's record, then its bins */
            objs[i] = rc_new(h, &t);
            CHECK(objs[i] && ((uintptr_t)objs[i] & 7) == 0);
        }
        rc_alloc_stats a, b;
        rc_alloc_stats_get(h, &a);
        for (int i = WARM; i < N; i++) {
            objs[i] = rc_new(h, &t);
            CHECK(objs[i] && ((uintptr_t)objs[i] & 7) == 0);
        }
        rc_alloc_stats_get(h, &b);
        size_t need = payload + 8, step = need <= 128 ? 8 : 16;
        size_t want = need <= 16 ? 16 : (need + step - 1) / step * step;
        CHECK(b.small_bytes - a.small_bytes == (N - WARM) * want);
        for (int i = 0; i < N; i++)
            rc_decref(objs[i]);
        CHECK_VALID(h);
        rc_heap_free(h);
    }
}

static void test_zero_and_huge_requests(void)
{
    rc_heap *h = rc_heap_new(NULL);
    void *a = rc_mem_alloc(h, 0), *b = rc_mem_alloc(h, 0);
    CHECK(a && b && a != b);
    CHECK(rc_mem_alloc(h, SIZE_MAX) == NULL);
    CHECK(rc_mem_alloc(h, SIZE_MAX - 4096) == NULL);
    CHECK(rc_mem_alloc(h, SIZE_MAX / 2) == NULL);
    CHECK(rc_mem_calloc(h, SIZE_MAX / 8, 16) == NULL);
    CHECK(rc_mem_realloc(h, a, SIZE_MAX) == NULL); /* a untouched */
    CHECK_VALID(h);
    rc_mem_free(h, a);
    rc_mem_free(h, b);
    rc_mem_free(h, NULL);
    CHECK_VALID(h);
    rc_heap_free(h);
}

/* Random mix over every kind of block, content checked before each free. */
static void test_random_mix(void)
{
    enum { SLOTS = 300, OPS = 6000 };
    rc_heap *h = rc_heap_new(NULL);
    void *slot[SLOTS] = {0};
    size_t size[SLOTS] = {0};
    uint64_t rng = 42;
    for (int op = 0; op < OPS; op++) {
        unsigned i = (unsigned)(test_rand(&rng) % SLOTS);
        uint64_t r = test_rand(&rng);
        size_t n = r % 100 < 85 ? r % 600 : r % 100 < 97 ? r % 40000 : r % 1500000;
        if (slot[i]) {
            CHECK(intact(slot[i], size[i], i));
            if (r & (1u << 20)) {
                void *q = rc_mem_realloc(h, slot[i], n);
                CHECK(q);
                CHECK(intact(q, size[i] < n ? size[i] : n, i));
                slot[i] = q;
                size[i] = n;
                fill(q, n, i);
            } else {
                rc_mem_free(h, slot[i]);
                slot[i] = NULL;
            }
        } else {
            slot[i] = rc_mem_alloc(h, n);
            CHECK(slot[i]);
            size[i] = n;
            fill(slot[i], n, i);
        }
        CHECK_VALID(h);
    }
    for (unsigned i = 0; i < SLOTS; i++)
        rc_mem_free(h, slot[i]);
    CHECK_VALID(h);
    rc_alloc_stats s;
    rc_alloc_stats_get(h, &s);
    CHECK(s.small_blocks == 0 && s.large_blocks == 0 && s.huge_blocks == 0);
    CHECK(s.allocs >= s.frees);
    rc_heap_free(h);
}

static void test_realloc_across_kinds(void)
{
    rc_heap *h = rc_heap_new(NULL);
    static const size_t steps[] = {1, 24, 300, 5000, 20000, 300000, 2000000, 100, 0};
    void *p = rc_mem_realloc(h, NULL, 8);
    size_t have = 8;
    fill(p, have, 3);
    for (size_t k = 0; k < sizeof steps / sizeof *steps; k++) {
        size_t n = steps[k];
        void *q = rc_mem_realloc(h, p, n);
        CHECK(q);
        CHECK(intact(q, have < n ? have : n, 3));
        fill(q, n, 3);
        p = q;
        have = n;
        CHECK_VALID(h);
    }
    /* Shrinking within a class keeps the block. */
    void *s = rc_mem_alloc(h, 100);
    CHECK(rc_mem_realloc(h, s, 97) == s);
    rc_mem_free(h, s);
    rc_mem_free(h, p);
    CHECK_VALID(h);
    rc_heap_free(h);
}

static void test_stats_count_blocks(void)
{
    rc_heap *h = rc_heap_new(NULL);
    void *p[100];
    for (int i = 0; i < 100; i++)
        p[i] = rc_mem_alloc(h, 40); /* class 48 */
    void *big = rc_mem_alloc(h, 100000), *huge = rc_mem_alloc(h, 3 << 20);
    rc_alloc_stats s;
    rc_alloc_stats_get(h, &s);
    CHECK(s.small_blocks == 100 && s.small_bytes == 100 * 48);
    CHECK(s.classes[4].block_size == 48 && s.classes[4].blocks_used == 100);
    CHECK(s.large_blocks == 1 && s.large_bytes == 100000);
    CHECK(s.huge_blocks == 1 && s.huge_bytes >= (3u << 20));
    CHECK(s.os_bytes >= s.committed_bytes && s.arenas >= 1);
    CHECK(s.fragmentation >= 0 && s.fragmentation <= 1);
    for (int i = 0; i < 100; i++)
        rc_mem_free(h, p[i]);
    rc_mem_free(h, big);
    rc_mem_free(h, huge);
    rc_alloc_stats_get(h, &s);
    CHECK(s.small_blocks == 0 && s.large_blocks == 0 && s.huge_blocks == 0);
    CHECK(s.allocs == 102 && s.frees == 102);
    CHECK_VALID(h);
    rc_heap_free(h);
}

/* A new page run goes to the arena with the fewest free pages. */
static void test_prefers_fullest_arena(void)
{
    rc_heap *h = rc_heap_new(NULL);
    enum { N = 150 };
    void *run[N];
    for (int i = 0; i < N; i++)
        run[i] = rc_mem_alloc(h, 5 * 4096); /* 5 pages each: ~50 per arena */
    uintptr_t a0 = (uintptr_t)run[0] & ~(ARENA - 1);
    uintptr_t a1 = (uintptr_t)run[N - 1] & ~(ARENA - 1);
    CHECK(a0 != a1);
    /* Free most of a0 and a little of a1: a1 is now the fuller one. */
    int freed0 = 0, freed1 = 0;
    for (int i = 0; i < N; i++) {
        uintptr_t a = (uintptr_t)run[i] & ~(ARENA - 1);
        if ((a == a0 && freed0 < 30) || (a == a1 && freed1 < 2)) {
            freed0 += a == a0;
            freed1 += a == a1;
            rc_mem_free(h, run[i]);
            run[i] = NULL;
            CHECK_VALID(h);
        }
    }
    void *p = rc_mem_alloc(h, 5 * 4096);
    CHECK(((uintptr_t)p & ~(ARENA - 1)) == a1);
    rc_mem_free(h, p);
    for (int i = 0; i < N; i++)
        rc_mem_free(h, run[i]);
    CHECK_VALID(h);
    rc_heap_free(h);
}

static size_t resident_pages(void *p, size_t bytes)
{
    size_t pages = bytes / 4096, n = 0;
    unsigned char vec[64];
    CHECK(pages <= sizeof vec);
    CHECK(mincore(p, bytes, vec) == 0);
    for (size_t i = 0; i < pages; i++)
        n += vec[i] & 1;
    return n;
}

/* A pool is carved a page at a time: a fresh 32-page pool of 16 KiB blocks
   costs two resident pages for its first block, not 32. */
static void test_lazy_carving(void)
{
    rc_heap *h = rc_heap_new(NULL);
    char *p = rc_mem_alloc(h, 16384);
    memset(p, 1, 16384);
    size_t res = resident_pages(p, 32 * 4096);
    CHECK(res >= 4 && res <= 5);
    rc_mem_free(h, p);
    rc_heap_free(h);
}

/* With a negative purge delay, empty pages go back to the OS as soon as
   more than purge_bytes pile up, and empty arenas are unmapped except one
   spare. */
static void test_memory_goes_back(void)
{
    counting_source src = {0};
    rc_config cfg = counting_config(&src);
    cfg.purge_bytes = 64 << 10;
    cfg.purge_delay_ms = -1;
    rc_heap *h = rc_heap_new(&cfg);
    size_t base = src.live_bytes;
    enum { N = 400000 };
    void **p = malloc(N * sizeof *p);
    for (int i = 0; i < N; i++)
        p[i] = rc_mem_alloc(h, 64); /* 25 MiB */
    CHECK(src.live_bytes > base + (24u << 20));
    /* Keep every 64th block: pools keep one live block each, so none can go
       back; then free those too. */
    for (int i = 0; i < N; i++)
        if (i % 64) {
            rc_mem_free(h, p[i]);
            p[i] = NULL;
        }
    CHECK_VALID(h);
    for (int i = 0; i < N; i++)
        rc_mem_free(h, p[i]);
    CHECK_VALID(h);
    /* The bin's last pool and the spare arena may stay. */
    CHECK(src.live_bytes <= base + (2u << 20));
    rc_alloc_stats s;
    rc_alloc_stats_get(h, &s);
    CHECK(s.purged_bytes > 0);
    CHECK(s.dirty_pages * 4096 <= cfg.purge_bytes);
    size_t released = rc_heap_trim(h);
    CHECK(released > 0);
    CHECK(src.live_bytes == base); /* kept pools and the spare went too */
    CHECK_VALID(h);
    rc_heap_free(h);
    CHECK(src.live_bytes == 0 && src.live_regions == 0);
    free(p);
}

/* Fill and free rounds within one purge window: after the first round the
   heap neither asks for pages nor purges any (the delay is an hour, so the
   window cannot end during the test, however slow the machine). */
static void test_refill_keeps_pages(void)
{
    counting_source src = {0};
    rc_config cfg = counting_config(&src);
    cfg.purge_delay_ms = 3600 * 1000;
    rc_heap *h = rc_heap_new(&cfg);
    enum { N = 200000 }; /* 6 MiB of 32-byte blocks */
    void **p = malloc(N * sizeof *p);
    rc_alloc_stats first = {0}, now;
    for (int round = 0; round < 4; round++) {
        for (int i = 0; i < N; i++)
            p[i] = rc_mem_alloc(h, 32);
        for (int i = 0; i < N; i++)
            rc_mem_free(h, p[i]);
        CHECK_VALID(h);
        if (round == 0) {
            rc_alloc_stats_get(h, &first);
            continue;
        }
        rc_alloc_stats_get(h, &now);
        CHECK(now.page_requests == first.page_requests);
        CHECK(now.purged_bytes == 0);
    }
    rc_heap_free(h);
    CHECK(src.live_bytes == 0);
    free(p);
}

/* Pages left unused for a whole window go back at the next call that reads
   the clock; a page run (a pool's worth of pages taken) is such a call. */
static void test_idle_pages_go_back(void)
{
    counting_source src = {0};
    rc_config cfg = counting_config(&src);
    cfg.purge_delay_ms = 20;
    rc_heap *h = rc_heap_new(&cfg);
    size_t base = src.live_bytes;
    enum { N = 200000 };
    void **p = malloc(N * sizeof *p);
    for (int i = 0; i < N; i++)
        p[i] = rc_mem_alloc(h, 32);
    for (int i = 0; i < N; i++)
        rc_mem_free(h, p[i]);
    /* One whole window and more with no call at all: every dirty page idle.
       (That pages stay while windows need them: test_refill_keeps_pages.) */
    struct timespec pause = {0, 60 * 1000 * 1000};
    nanosleep(&pause, NULL);
    void *run = rc_mem_alloc(h, 40000);
    CHECK(run != NULL);
    rc_alloc_stats s;
    rc_alloc_stats_get(h, &s);
    CHECK(s.dirty_pages * 4096 <= (1u << 20)); /* purge_bytes' default stays */
    CHECK(src.live_bytes <= base + (3u << 20)); /* spare arena, the run's, slack */
    CHECK_VALID(h);
    rc_mem_free(h, run);
    rc_heap_free(h);
    free(p);
}

static void test_stats_print(void)
{
    rc_heap *h = rc_heap_new(NULL);
    void *p = rc_mem_alloc(h, 100);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    rc_alloc_stats_print(h, f);
    fclose(f);
    CHECK(strstr(buf, "allocator statistics") && strstr(buf, "os_bytes") &&
          strstr(buf, "fragmentation") && strstr(buf, "  112 "));
    free(buf);
    rc_mem_free(h, p);
    rc_heap_free(h);
}

/* allocs and frees count every call, across the allocation countdown's
   turns (every 1024th allocation reads the clock), on the fast paths and
   the slow ones, for raw blocks and objects alike. */
static void test_counts_across_turns(void)
{
    enum { RAW = 5000, OBJS = 3000 };
    static void *p[RAW + OBJS];
    static const rc_type leaf = {.name = "leaf", .size = 16};
    rc_heap *h = rc_heap_new(NULL);
    rc_alloc_stats s0, s;
    rc_alloc_stats_get(h, &s0);
    for (int i = 0; i < RAW; i++)
        p[i] = rc_mem_alloc(h, (size_t)(i % 3 ? 32 : 2000));
    for (int i = 0; i < OBJS; i++)
        p[RAW + i] = rc_new(h, &leaf);
    rc_alloc_stats_get(h, &s);
    CHECK(s.allocs - s0.allocs >= RAW + OBJS);
    size_t with_tables = s.allocs - s0.allocs; /* the type's record, too */
    CHECK(with_tables < RAW + OBJS + 8);
    for (int i = 0; i < RAW; i++)
        rc_mem_free(h, p[i]);
    for (int i = 0; i < OBJS; i++)
        rc_decref(p[RAW + i]);
    rc_alloc_stats_get(h, &s);
    CHECK(s.frees - s0.frees == RAW + OBJS);
    CHECK(s.allocs - s0.allocs == with_tables);
    CHECK_VALID(h);
    rc_heap_free(h);
}

/* A free into a full pool, which allocation unlinked from its bin, queues
   it again; the next allocations take the pool in use first. */
static void test_full_pool_comes_back(void)
{
    rc_heap *h = rc_heap_new(NULL);
    size_t cap = 16 * 4096 / 64;
    void **p = rc_mem_alloc(h, (cap + 1) * sizeof *p);
    for (size_t i = 0; i <= cap; i++) /* the first pool fills; one more */
        p[i] = rc_mem_alloc(h, 64);
    rc_alloc_stats s;
    rc_alloc_stats_get(h, &s);
    CHECK(s.classes[6].block_size == 64 && s.classes[6].pools == 2);
    CHECK_VALID(h);
    rc_mem_free(h, p[3]); /* into the full, unlinked pool */
    CHECK_VALID(h);
    void *again = rc_mem_alloc(h, 64);
    CHECK(again != p[3]); /* the pool in use serves first */
    CHECK_VALID(h);
    rc_mem_free(h, again);
    for (size_t i = 0; i <= cap; i++)
        if (i != 3)
            rc_mem_free(h, p[i]);
    CHECK_VALID(h);
    rc_mem_free(h, p);
    rc_heap_free(h);
}

/* An arena's header is one page: an arena full of 16-byte pools is
   resident for its 15 pools of 16 pages and one page more (descriptors
   indexed by page took 5 header pages, 2% of the blocks' memory). */
static void test_header_is_one_page(void)
{
    enum { N = 70000 }; /* 15 pools of 4096 blocks fill an arena */
    static void *p[N];
    rc_heap *h = rc_heap_new(NULL);
    for (int i = 0; i < N; i++)
        p[i] = rc_mem_alloc(h, 16);
    char *arena = (char *)((uintptr_t)p[0] & ~(ARENA - 1));
    unsigned char vec[256];
    CHECK(mincore(arena, ARENA, vec) == 0);
    size_t res = 0;
    for (size_t i = 0; i < 256; i++)
        res += vec[i] & 1;
    CHECK(res == 15 * 16 + 1);
    for (int i = 0; i < N; i++)
        rc_mem_free(h, p[i]);
    CHECK_VALID(h);
    rc_heap_free(h);
}

int main(void)
{
    test_every_small_size();
    test_object_classes();
    test_zero_and_huge_requests();
    test_random_mix();
    test_realloc_across_kinds();
    test_stats_count_blocks();
    test_prefers_fullest_arena();
    test_lazy_carving();
    test_memory_goes_back();
    test_refill_keeps_pages();
    test_idle_pages_go_back();
    test_stats_print();
    test_counts_across_turns();
    test_full_pool_comes_back();
    test_header_is_one_page();
    printf("test_alloc: ok\n");
    return 0;
}
