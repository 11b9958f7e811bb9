/*
 * shadow.c — the shadow of live blocks (its layout: shim.h): making leaves
 * on first use, dropping them all in a fork child, walking the blocks in
 * address order (the leak scan, the Python census).  The stores and loads
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
        pages_free(NULL, sh.dir[sh.made[i]], LEAF_WORDS * sizeof(uint64_t));
    pages_free(NULL, sh.dir, DIR_ENTRIES * sizeof *sh.dir);
    pages_free(NULL, sh.made, MAX_LEAVES * sizeof *sh.made);
    sh.dir = NULL;
}

/* The leaf for directory entry d, made now (a miss of slot_of). */
uint64_t *leaf_make(size_t d)
{
    uint64_t *leaf = NULL;
    uint64_t *fresh = pages_alloc(NULL, LEAF_WORDS * sizeof *fresh);
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

/* Visit the traced blocks in address order until visit returns false;
   returns how many were visited.  Other threads may allocate and free
   meanwhile (the census runs while they do): a block is seen or not, and
   the leaves are sorted in a copy, since a thread making a leaf writes
   its index into sh.made after counting it. */
size_t shadow_walk(bool (*visit)(uintptr_t addr, uint32_t id, void *ctx), void *ctx)
{
    unsigned n = atomic_load(&sh.nmade);
    if (n > MAX_LEAVES)
        n = MAX_LEAVES;
    uint32_t *made = n ? pages_alloc(NULL, n * sizeof *made) : NULL;
    if (!made)
        return 0;
    memcpy(made, sh.made, n * sizeof *made);
    /* the leaves in address order: insertion sort, there are few */
    for (unsigned i = 1; i < n; i++)
        for (unsigned j = i; j && made[j - 1] > made[j]; j--) {
            uint32_t t = made[j];
            made[j] = made[j - 1];
            made[j - 1] = t;
        }
    size_t count = 0, page_words = (size_t)g.page / sizeof(uint64_t);
    unsigned char touched[LEAF_WORDS * sizeof(uint64_t) / 4096];
    for (unsigned i = 0; i < n; i++) {
        const uint64_t *leaf = __atomic_load_n(&sh.dir[made[i]], __ATOMIC_ACQUIRE);
        if (!leaf || (i && made[i] == made[i - 1]))
            continue; /* an index not written yet (its leaf comes later) */
        /* pages of the leaf never written are not resident: skip them */
        size_t step = page_words; /* words per entry of touched */
        if (step * sizeof touched < LEAF_WORDS ||
            mincore((void *)leaf, LEAF_WORDS * sizeof *leaf, touched) != 0) {
            step = LEAF_WORDS / sizeof touched;
            memset(touched, 1, sizeof touched);
        }
        for (size_t pg = 0; pg < LEAF_WORDS / step; pg++) {
            if (!(touched[pg] & 1))
                continue;
            /* most words are 0: test them 16 at a time, without a branch each */
            for (size_t w = pg * step; w < (pg + 1) * step; w += 16) {
                uint64_t any = 0;
                for (size_t k = 0; k < 16; k++)
                    any |= __atomic_load_n(&leaf[w + k], __ATOMIC_RELAXED);
                for (size_t k = 0; any && k < 16; k++) {
                    uint64_t v = __atomic_load_n(&leaf[w + k], __ATOMIC_RELAXED);
                    if (!v || word_id(v) == PENDING)
                        continue; /* PENDING: a signal handler's, never written */
                    uintptr_t a = (uintptr_t)made[i] << LEAF_SHIFT | (w + k) << GRANULE_SHIFT;
                    if (!visit(a, word_id(v), ctx))
                        goto out;
                    count++;
                }
            }
        }
    }
out:
    pages_free(NULL, made, n * sizeof *made);
    return count;
}
