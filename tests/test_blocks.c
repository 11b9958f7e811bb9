/*
 * test_blocks.c — the table of live traced blocks (src/trace/blocks.c):
 * what is put is found with its stack and size (large sizes too), a
 * replaced block keeps one entry, a taken block is gone, and a table that
 * churns through ever new addresses (each taken block leaves a dead entry
 * behind) neither grows without bound nor loses a live block, and a
 * block freed and handed out again takes its own entry back wherever its
 * probe finds it (no entry used up, no remake).
 */
#include "check.h"
#include "trace.h"

#include <stdlib.h>

static size_t pages_out; /* bytes the table holds */

static void *pages_alloc(void *ctx, size_t bytes)
{
    (void)ctx;
    pages_out += bytes;
    return calloc(1, bytes);
}

static void pages_free(void *ctx, void *p, size_t bytes)
{
    (void)ctx;
    pages_out -= bytes;
    free(p);
}

static const rct_pages pages = {pages_alloc, pages_free, NULL};

static uintptr_t addr_of(size_t i)
{
    return (uintptr_t)0x10000 + (uintptr_t)i * 16;
}

static void check_block(const rct_blocks *b, uintptr_t addr, uint32_t stack, size_t size)
{
    uint32_t s;
    size_t n;
    CHECK(rct_blocks_find(b, addr, &s, &n) && s == stack && n == size);
}

static void test_put_find_take(void)
{
    rct_blocks *b = rct_blocks_new(&pages);
    CHECK(b);
    uint32_t s;
    size_t n;
    CHECK(!rct_blocks_find(b, addr_of(1), &s, &n) && !rct_blocks_take(b, addr_of(1), &s, &n));
    CHECK(rct_blocks_put(b, addr_of(1), 7, 100) == 0);
    CHECK(rct_blocks_put(b, addr_of(2), 8, (size_t)5 << 30) == 0); /* the side table's */
    check_block(b, addr_of(1), 7, 100);
    check_block(b, addr_of(2), 8, (size_t)5 << 30);
    CHECK(rct_blocks_put(b, addr_of(2), 8, 12) == 0); /* resized: one entry */
    CHECK(rct_blocks_put(b, addr_of(1), 7, (size_t)3 << 30) == 0);
    CHECK(rct_blocks_count(b) == 2);
    check_block(b, addr_of(2), 8, 12);
    CHECK(rct_blocks_take(b, addr_of(1), &s, &n) && s == 7 && n == (size_t)3 << 30);
    CHECK(!rct_blocks_find(b, addr_of(1), &s, &n) && !rct_blocks_take(b, addr_of(1), &s, &n));
    CHECK(rct_blocks_count(b) == 1);
    /* taken, then put again under another stack: the dead entry is reused */
    CHECK(rct_blocks_put(b, addr_of(1), 9, 48) == 0);
    check_block(b, addr_of(1), 9, 48);
    CHECK(rct_blocks_count(b) == 2);
    CHECK(rct_blocks_put(b, addr_of(3), RCT_NO_STACK, 1) == -1); /* the dead entries' mark */
    CHECK(rct_blocks_put(b, 0, 1, 1) == -1);
    rct_blocks_free(b);
    CHECK(pages_out == 0);
}

/* foreach sees the live blocks once each, the dead never. */
static void count_one(uintptr_t addr, uint32_t stack, size_t size, void *ctx)
{
    size_t *seen = ctx;
    CHECK(stack == (uint32_t)(addr >> 4) % 1000 && size == (addr >> 4) % 512);
    seen[0]++;
    seen[1] += size;
}

static void test_churn(void)
{
    enum { LIVE = 3000, ROUNDS = 200000 };
    rct_blocks *b = rct_blocks_new(&pages);
    CHECK(b);
    size_t most = 0, bytes_live = 0;
    /* a window of LIVE live blocks slides over ROUNDS new addresses */
    for (size_t i = 0; i < ROUNDS; i++) {
        uintptr_t a = addr_of(i);
        CHECK(rct_blocks_put(b, a, (uint32_t)(a >> 4) % 1000, (a >> 4) % 512) == 0);
        bytes_live += (a >> 4) % 512;
        if (i >= LIVE) {
            uintptr_t old = addr_of(i - LIVE);
            uint32_t s;
            size_t n;
            CHECK(rct_blocks_take(b, old, &s, &n) && n == (old >> 4) % 512);
            bytes_live -= n;
        }
        if (rct_blocks_bytes(b) > most)
            most = rct_blocks_bytes(b);
        if (i % 9973 == 0) { /* the oldest live block is still there */
            uintptr_t oldest = addr_of(i >= LIVE ? i - LIVE + 1 : 0);
            check_block(b, oldest, (uint32_t)(oldest >> 4) % 1000, (oldest >> 4) % 512);
        }
    }
    CHECK(rct_blocks_count(b) == LIVE);
    size_t seen[2] = {0, 0};
    rct_blocks_foreach(b, count_one, seen);
    CHECK(seen[0] == LIVE && seen[1] == bytes_live);
    /* 3000 live blocks: 8192 slots of 12 bytes at most (the dead only
       make the table again, never larger) */
    CHECK(most <= 4096 + 8192 * 12);
    rct_blocks_free(b);
    CHECK(pages_out == 0);
}

/* 5000 live blocks (many not in their home slot), each taken and put
   back again, again and again: every put finds its own dead entry. */
static void test_reuse(void)
{
    enum { LIVE = 5000 };
    rct_blocks *b = rct_blocks_new(&pages);
    CHECK(b);
    for (size_t i = 0; i < LIVE; i++)
        CHECK(rct_blocks_put(b, addr_of(i), (uint32_t)i, 32) == 0);
    size_t used = b->used;
    const rct_block_entry *slots = b->slots;
    for (int round = 0; round < 10; round++)
        for (size_t i = 0; i < LIVE; i++) {
            uint32_t s;
            size_t n;
            CHECK(rct_blocks_take(b, addr_of(i), &s, &n) && s == (uint32_t)i + (uint32_t)round &&
                  n == 32);
            CHECK(!rct_blocks_take(b, addr_of(i), &s, &n));
            CHECK(rct_blocks_put(b, addr_of(i), (uint32_t)i + (uint32_t)round + 1, 32) == 0);
        }
    CHECK(b->used == used && b->slots == slots && rct_blocks_count(b) == LIVE);
    check_block(b, addr_of(LIVE - 1), LIVE - 1 + 10, 32);
    rct_blocks_free(b);
    CHECK(pages_out == 0);
}

int main(void)
{
    test_put_find_take();
    test_churn();
    test_reuse();
    printf("test_blocks: ok\n");
    return 0;
}
