/*
 * stacks.c — stack interning: each distinct stack is stored once and
 * named by a 32-bit id.
 *
 * Frames live in one growing array; a record per stack gives its hash,
 * offset and depth; an open-addressing index of ids finds a stack by
 * content.  All three grow by doubling through the owner's page allocator
 * (never the traced allocator).  Lookup of a known stack costs one hash of
 * its frames and, usually, one comparison.
 */
#include "trace.h"

#include <string.h>

typedef struct stack_rec {
    uint64_t hash;
    uint32_t offset;  /* into frames */
    uint32_t depth;
} stack_rec;

struct rct_stacks {
    rct_pages pages;
    stack_rec *recs;
    size_t nrecs, recs_cap;
    void **frames;
    size_t nframes, frames_cap;
    uint32_t *index;     /* id + 1; 0: empty */
    size_t index_cap;    /* power of two */
    size_t self_bytes;   /* bytes of this struct's pages */
};

static size_t round_pages(size_t bytes)
{
    return (bytes + 4095) & ~(size_t)4095;
}

/* Grow an array of elem-sized items to hold at least need; false on failure
   (out of line: the caller tests for room first, and nearly always has it). */
static __attribute__((noinline)) bool grow(rct_stacks *s, void **array, size_t *cap, size_t need, size_t elem,
                 size_t used)
{
    if (need <= *cap)
        return true;
    size_t n = *cap ? *cap : 4096 / elem;
    while (n < need)
        n *= 2;
    if (n > UINT32_MAX)
        return false;
    void *p = s->pages.alloc(s->pages.ctx, round_pages(n * elem));
    if (!p)
        return false;
    if (*array) {
        memcpy(p, *array, used * elem);
        s->pages.free(s->pages.ctx, *array, round_pages(*cap * elem));
    }
    *array = p;
    *cap = n;
    return true;
}

/* Four independent lanes, so the multiplies of consecutive frames overlap
   instead of waiting on each other (one serial chain was a quarter of the
   traced path's time in bench_trace). */
static uint64_t hash_frames(void *const *f, size_t n)
{
    static const uint64_t k[4] = {UINT64_C(0xFF51AFD7ED558CCD), UINT64_C(0xC4CEB9FE1A85EC53),
                                  UINT64_C(0x9E3779B97F4A7C15), UINT64_C(0xD6E8FEB86659FD93)};
    uint64_t lane[4] = {n, n ^ 1, n ^ 2, n ^ 3};
    for (size_t i = 0; i < n; i++)
        lane[i & 3] = (lane[i & 3] ^ (uint64_t)(uintptr_t)f[i]) * k[i & 3];
    uint64_t h = lane[0] ^ (lane[1] >> 7) ^ (lane[2] << 11) ^ (lane[3] >> 17);
    h *= UINT64_C(0xFF51AFD7ED558CCD);
    return h ^ (h >> 32);
}

rct_stacks *rct_stacks_new(const rct_pages *pages)
{
    size_t bytes = round_pages(sizeof(rct_stacks));
    rct_stacks *s = pages->alloc(pages->ctx, bytes);
    if (!s)
        return NULL;
    memset(s, 0, sizeof *s);
    s->pages = *pages;
    s->self_bytes = bytes;
    return s;
}

void rct_stacks_free(rct_stacks *s)
{
    if (!s)
        return;
    rct_pages pg = s->pages;
    if (s->recs)
        pg.free(pg.ctx, s->recs, round_pages(s->recs_cap * sizeof *s->recs));
    if (s->frames)
        pg.free(pg.ctx, s->frames, round_pages(s->frames_cap * sizeof *s->frames));
    if (s->index)
        pg.free(pg.ctx, s->index, round_pages(s->index_cap * sizeof *s->index));
    pg.free(pg.ctx, s, s->self_bytes);
}

/* The same frames: a loop, not memcmp (the shim's keys are two or three
   words, where the call cost as much as the compare). */
static bool same_frames(void *const *a, void *const *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (a[i] != b[i])
            return false;
    return true;
}

static bool index_grow(rct_stacks *s)
{
    size_t cap = s->index_cap ? s->index_cap * 2 : 1024;
    uint32_t *idx = s->pages.alloc(s->pages.ctx, round_pages(cap * sizeof *idx));
    if (!idx)
        return false;
    memset(idx, 0, cap * sizeof *idx);
    for (size_t id = 0; id < s->nrecs; id++) {
        size_t i = (size_t)s->recs[id].hash & (cap - 1);
        while (idx[i])
            i = (i + 1) & (cap - 1);
        idx[i] = (uint32_t)id + 1;
    }
    if (s->index)
        s->pages.free(s->pages.ctx, s->index, round_pages(s->index_cap * sizeof *idx));
    s->index = idx;
    s->index_cap = cap;
    return true;
}

uint32_t rct_stacks_intern(rct_stacks *s, void *const *frames, size_t n)
{
    uint64_t h = hash_frames(frames, n);
    if (s->index_cap) {
        for (size_t i = (size_t)h & (s->index_cap - 1);; i = (i + 1) & (s->index_cap - 1)) {
            uint32_t id = s->index[i];
            if (!id)
                break;
            const stack_rec *r = &s->recs[id - 1];
            if (r->hash == h && r->depth == n && same_frames(&s->frames[r->offset], frames, n))
                return id - 1;
        }
    }
    if (s->nrecs + 1 >= RCT_NO_STACK ||
        ((s->nrecs + 1) * 3 > s->index_cap * 2 && !index_grow(s)) ||
        (s->nrecs + 1 > s->recs_cap &&
         !grow(s, (void **)&s->recs, &s->recs_cap, s->nrecs + 1, sizeof *s->recs, s->nrecs)) ||
        (s->nframes + n > s->frames_cap &&
         !grow(s, (void **)&s->frames, &s->frames_cap, s->nframes + n, sizeof *s->frames,
               s->nframes)))
        return RCT_NO_STACK;
    uint32_t id = (uint32_t)s->nrecs++;
    s->recs[id] = (stack_rec){h, (uint32_t)s->nframes, (uint32_t)n};
    memcpy(&s->frames[s->nframes], frames, n * sizeof *frames);
    s->nframes += n;
    size_t i = (size_t)h & (s->index_cap - 1);
    while (s->index[i])
        i = (i + 1) & (s->index_cap - 1);
    s->index[i] = id + 1;
    return id;
}

size_t rct_stacks_get(const rct_stacks *s, uint32_t id, void *const **frames)
{
    const stack_rec *r = &s->recs[id];
    *frames = &s->frames[r->offset];
    return r->depth;
}

size_t rct_stacks_count(const rct_stacks *s)
{
    return s->nrecs;
}

size_t rct_stacks_bytes(const rct_stacks *s)
{
    return s->self_bytes + round_pages(s->recs_cap * sizeof *s->recs) +
           round_pages(s->frames_cap * sizeof *s->frames) +
           round_pages(s->index_cap * sizeof *s->index);
}
