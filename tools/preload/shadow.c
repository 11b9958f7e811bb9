/*
 * shadow.c — the shadow of live blocks (its layout: shim.h): making leaves
 * on first use, dropping them all in a fork child.  The stores and loads
 * of the hot path are inline in shim.h.  May call: mmap.
 */
#include "shim.h"

shadow sh;

bool shadow_init(void)
{
    sh.dir = mmap(NULL, DIR_ENTRIES * sizeof *sh.dir, PROT_READ | PROT_WRITE,
                  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    sh.made = pages_alloc(NULL, MAX_LEAVES * sizeof *sh.made);
    atomic_store(&sh.nmade, 0);
    return sh.dir != MAP_FAILED && sh.made;
}

/* A fork child starts empty: the parent's shadow is unmapped (only this
   thread exists), never scanned. */
void shadow_drop(void)
{
    if (!sh.dir || sh.dir == MAP_FAILED)
        return;
    unsigned n = atomic_load(&sh.nmade);
    for (unsigned i = 0; i < n && i < MAX_LEAVES; i++)
        pages_free(NULL, sh.dir[sh.made[i]], LEAF_WORDS * sizeof(uint32_t));
    pages_free(NULL, sh.dir, DIR_ENTRIES * sizeof *sh.dir);
    pages_free(NULL, sh.made, MAX_LEAVES * sizeof *sh.made);
    sh.dir = NULL;
}

/* The leaf for directory entry d, made now (a miss of slot_of). */
uint32_t *leaf_make(size_t d)
{
    uint32_t *leaf = NULL;
    uint32_t *fresh = pages_alloc(NULL, LEAF_WORDS * sizeof *fresh);
    if (!fresh)
        return NULL;
    if (!__atomic_compare_exchange_n(&sh.dir[d], &leaf, fresh, false, __ATOMIC_ACQ_REL,
                                     __ATOMIC_ACQUIRE)) {
        pages_free(NULL, fresh, LEAF_WORDS * sizeof *fresh);
        return leaf; /* another thread made it */
    }
    unsigned i = atomic_fetch_add(&sh.nmade, 1);
    if (i < MAX_LEAVES)
        sh.made[i] = (uint32_t)d;
    return fresh;
}
