/*
 * u64map.c — a map from 64-bit keys (never 0) to 32-bit values, open
 * addressing with linear probing, no deletion: the sites of a capture by
 * (stack, type), the flame tree's children and labels, the writer threads
 * of `stats`.  Also mix64(), the hash it and the live table use.
 */
#include "cli.h"

#include <stdlib.h>

/* Stafford's variant 13 of the MurmurHash3 finalizer: every key bit moves
   every low bit, which is what the probe masks keep. */
size_t mix64(uint64_t x)
{
    x = (x ^ (x >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    x = (x ^ (x >> 27)) * UINT64_C(0x94D049BB133111EB);
    return (size_t)(x ^ (x >> 31));
}

typedef struct u64slot {
    uint64_t key;    /* 0: empty */
    uint32_t value;
} u64slot;

struct u64map {
    u64slot *slots;
    size_t cap, count;  /* cap a power of two (or 0), at most 3/4 full */
};

u64map *u64map_new(void)
{
    return calloc(1, sizeof(u64map));
}

void u64map_free(u64map *m)
{
    if (m)
        free(m->slots);
    free(m);
}

static u64slot *u64map_probe(const u64map *m, uint64_t key)
{
    size_t mask = m->cap - 1;
    for (size_t i = mix64(key) & mask;; i = (i + 1) & mask)
        if (m->slots[i].key == 0 || m->slots[i].key == key)
            return &m->slots[i];
}

uint32_t *u64map_find(const u64map *m, uint64_t key)
{
    if (m->cap == 0)
        return NULL;
    u64slot *s = u64map_probe(m, key);
    return s->key ? &s->value : NULL;
}

/* Room for at least n keys (capacity a power of two, at most 3/4 full). */
static int u64map_grow_to(u64map *m, size_t n)
{
    size_t cap = m->cap ? m->cap : 64;
    while (4 * n > 3 * cap)
        cap *= 2;
    if (cap == m->cap)
        return 0;
    u64map bigger = {calloc(cap, sizeof(u64slot)), cap, m->count};
    if (!bigger.slots)
        return -1;
    for (size_t i = 0; i < m->cap; i++)
        if (m->slots[i].key)
            *u64map_probe(&bigger, m->slots[i].key) = m->slots[i];
    free(m->slots);
    *m = bigger;
    return 0;
}

/* One probe, found or not: the table grows first if a new key would
   overfill it (maps of half a million keys miss the cache on every probe). */
uint32_t *u64map_claim(u64map *m, uint64_t key)
{
    if (u64map_grow_to(m, m->count + 1) < 0)
        return NULL;
    u64slot *s = u64map_probe(m, key);
    if (!s->key) {
        *s = (u64slot){key, UINT32_MAX};
        m->count++;
    }
    return &s->value;
}
