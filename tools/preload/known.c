/*
 * known.c — what every thread may look up without the lock: a stack's node
 * by the hash of its frames, an allocation info's id by (frames' hash,
 * size, type); the lookup itself is inline (shim.h, known_find).
 *
 * Every allocation finds its info here (hooks.c).  A per-thread cache in
 * front of it held 4096 infos: a program that allocates from more stacks
 * than that missed it on nearly every allocation (40,000 paths: 72
 * instructions an allocation more than this table alone, which costs as
 * much as the cache's hit).  Before these tables, each miss took the
 * global lock and interned every frame of the stack again (40,000 paths:
 * 27x slower than the program alone).  Writers hold the global lock (they
 * are the cold side of record.c, one per new stack or info), readers take
 * no lock.  A slot is filled key first, value last
 * (release); a reader that sees the value (acquire) sees the key.  A table
 * grows by doubling into a new mapping; the old one is left mapped, never
 * reused (a reader may still be probing it; it only misses there, then
 * finds the entry under the lock), so the memory kept is at most twice
 * the last table's.
 */
#include "shim.h"

known_table known_nodes, known_infos;

static known_map *map_new(size_t cap)
{
    known_map *m = pages_alloc(NULL, sizeof *m + cap * sizeof(known_slot));
    if (m)
        m->cap = cap;
    return m;
}

/* With the lock held: the slot for the key in m (its own or the empty one
   where it goes). */
static known_slot *slot_for(known_map *m, uint64_t hash, uint64_t size, uint32_t type)
{
    for (size_t i = known_start(hash, size, type, m->cap);; i = (i + 1) & (m->cap - 1)) {
        known_slot *s = &m->slot[i];
        if (!atomic_load_explicit(&s->value, memory_order_relaxed) ||
            (s->hash == hash && s->size == size && s->type == type))
            return s;
    }
}

static void slot_fill(known_slot *s, uint64_t hash, uint64_t size, uint32_t type, uint32_t v)
{
    s->hash = hash;
    s->size = size;
    s->type = type;
    atomic_store_explicit(&s->value, v, memory_order_release);
}

void known_add(known_table *t, uint64_t hash, uint64_t size, uint32_t type, uint32_t value)
{
    known_map *m = atomic_load_explicit(&t->map, memory_order_relaxed);
    if (!m || 2 * (t->n + 1) > m->cap) {
        known_map *bigger = map_new(m ? 2 * m->cap : 4096);
        if (!bigger)
            return; /* not known here: found under the lock, as before */
        for (size_t i = 0; m && i < m->cap; i++) {
            const known_slot *s = &m->slot[i];
            uint32_t v = atomic_load_explicit(&s->value, memory_order_relaxed);
            if (v)
                slot_fill(slot_for(bigger, s->hash, s->size, s->type), s->hash, s->size,
                          s->type, v);
        }
        atomic_store_explicit(&t->map, bigger, memory_order_release);
        m = bigger;
    }
    known_slot *s = slot_for(m, hash, size, type);
    if (atomic_load_explicit(&s->value, memory_order_relaxed))
        return;
    slot_fill(s, hash, size, type, value);
    t->n++;
}

void known_reset(known_table *t)
{
    atomic_store(&t->map, NULL); /* a fork child drops the parent's, unfreed */
    t->n = 0;
}
