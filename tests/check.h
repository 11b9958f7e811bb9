/*
 * check.h — the tests' few helpers: CHECK, a seeded PRNG, and a page
 * source that counts what it hands out so a test can prove nothing leaked.
 */
#ifndef RC_TEST_CHECK_H
#define RC_TEST_CHECK_H

#include "rcgc.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(c)                                                             \
    do {                                                                     \
        if (!(c)) {                                                          \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, \
                    #c);                                                     \
            exit(1);                                                         \
        }                                                                    \
    } while (0)

#define CHECK_VALID(h) CHECK(rc_heap_validate(h) == 0)

/* splitmix64: the same sequence on every run and machine. */
static inline uint64_t test_rand(uint64_t *state)
{
    uint64_t z = (*state += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

/* A page source over mmap that counts live bytes and regions. */
typedef struct counting_source {
    size_t live_bytes, live_regions, requests;
} counting_source;

static inline void *counting_alloc(void *ctx, size_t size, size_t align)
{
    counting_source *c = ctx;
    void *p = rc_page_mmap_alloc(NULL, size, align);
    c->requests++;
    if (p) {
        c->live_bytes += size;
        c->live_regions++;
    }
    return p;
}

static inline void counting_free(void *ctx, void *p, size_t size)
{
    counting_source *c = ctx;
    c->live_bytes -= size;
    c->live_regions--;
    rc_page_mmap_free(NULL, p, size);
}

static inline rc_config counting_config(counting_source *c)
{
    rc_config cfg;
    rc_config_init(&cfg);
    cfg.pages.alloc = counting_alloc;
    cfg.pages.free = counting_free;
    cfg.pages.purge = rc_page_mmap_purge;
    cfg.pages.ctx = c;
    return cfg;
}

#endif
