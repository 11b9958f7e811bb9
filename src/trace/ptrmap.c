/*
 * ptrmap.c — a map from nonzero machine words to machine words: open
 * addressing, linear probing, backward-shift deletion (no tombstones, so
 * a map that churns does not fill up).  Its storage comes from the owner's
 * rct_pages, so the heap side and the trace engine share this one table
 * (weak-reference lists by referent, large block sizes by address,
 * library-frame answers by return address, type records by type).
 */
#include "trace.h"

#include <string.h>

#define MIN_CAP 256 /* 4 KiB of slots: the page allocators' unit */

typedef struct rct_ptrslot {
    uintptr_t key;   /* 0: empty */
    uintptr_t value;
} rct_ptrslot;

static size_t home(uintptr_t key, size_t cap)
{
    return (size_t)(((uint64_t)key * UINT64_C(0x9E3779B97F4A7C15)) >> 24) & (cap - 1);
}

uintptr_t *rct_ptrmap_find(const rct_ptrmap *m, uintptr_t key)
{
    if (!m->cap)
        return NULL;
    for (size_t i = home(key, m->cap);; i = (i + 1) & (m->cap - 1)) {
        if (m->slots[i].key == key)
            return &m->slots[i].value;
        if (!m->slots[i].key)
            return NULL;
    }
}

static rct_ptrslot *place(rct_ptrslot *slots, size_t cap, uintptr_t key)
{
    size_t i = home(key, cap);
    while (slots[i].key)
        i = (i + 1) & (cap - 1);
    slots[i].key = key;
    return &slots[i];
}

static bool grow(rct_ptrmap *m, const rct_pages *pg)
{
    size_t cap = m->cap ? m->cap * 2 : MIN_CAP;
    rct_ptrslot *slots = pg->alloc(pg->ctx, cap * sizeof *slots);
    if (!slots)
        return false;
    memset(slots, 0, cap * sizeof *slots);
    for (size_t i = 0; i < m->cap; i++)
        if (m->slots[i].key)
            place(slots, cap, m->slots[i].key)->value = m->slots[i].value;
    if (m->slots)
        pg->free(pg->ctx, m->slots, m->cap * sizeof *slots);
    m->slots = slots;
    m->cap = cap;
    return true;
}

uintptr_t *rct_ptrmap_insert(rct_ptrmap *m, uintptr_t key, const rct_pages *pg)
{
    uintptr_t *v = rct_ptrmap_find(m, key);
    if (v)
        return v;
    if ((m->len + 1) * 4 > m->cap * 3 && !grow(m, pg))
        return NULL;
    rct_ptrslot *s = place(m->slots, m->cap, key);
    s->value = 0;
    m->len++;
    return &s->value;
}

void rct_ptrmap_remove(rct_ptrmap *m, uintptr_t *value)
{
    rct_ptrslot *s = (rct_ptrslot *)((char *)value - offsetof(rct_ptrslot, value));
    size_t mask = m->cap - 1, i = (size_t)(s - m->slots);
    for (size_t j = (i + 1) & mask; m->slots[j].key; j = (j + 1) & mask) {
        size_t h = home(m->slots[j].key, m->cap);
        if (((j - h) & mask) >= ((j - i) & mask)) { /* j's home is not in (i, j] */
            m->slots[i] = m->slots[j];
            i = j;
        }
    }
    m->slots[i].key = 0;
    m->len--;
}

void rct_ptrmap_free(rct_ptrmap *m, const rct_pages *pg)
{
    if (m->slots)
        pg->free(pg->ctx, m->slots, m->cap * sizeof *m->slots);
    memset(m, 0, sizeof *m);
}
