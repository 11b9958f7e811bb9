/*
 * flame_time.c — when memory was allocated and freed, for the report's time
 * range selection: per site (during analysis.c's one pass) and then per
 * frame-tree node, on a time grid, what a range [a, b] of cells needs to
 * say exactly what was allocated in it and is still live at b's end:
 *   steps: per cell, the bytes and blocks allocated in it less those of
 *          them freed in it (and, for a capture before version 5, whose
 *          frees do not say when their block was allocated, less every
 *          free in it: the range's figure is then a lower bound);
 *   pairs: per (allocation cell, later free cell), the bytes and blocks
 *          allocated in the one and freed in the other.
 * The range's figure is its steps' sum less its pairs with the allocation
 * cell in [a, b] and the free cell at most b (the page computes it).
 * What was allocated and freed within one cell (most of a program's
 * churn) is one step, which keeps the page small.
 *
 * The grid adapts, because the capture's duration is known only at its
 * end: cells start 4096 us wide (a capture's frees are dated on such a
 * grid, capture.h), and when an event falls past the last of
 * TIME_CELLS cells, or the pairs would pass TIME_PAIRS, every cell doubles
 * (neighbours merge; steps whose net came to zero are dropped; a pair
 * whose two cells merge becomes a step) until it fits.  At the end a run
 * longer than TIME_CELLS ms spans between TIME_CELLS / 2 and TIME_CELLS
 * cells (a 10 s run: cells of 33 ms) unless the pairs made them wider, a
 * shorter one a cell per 4096 us.  Each part of the run is counted at the
 * resolution of its time (a region of [T/2, T] at cells of T /
 * TIME_CELLS), so a site busy all along makes about TIME_CELLS / 2 steps
 * per doubling: the minimum width saves the first twelve.
 * Memory: one step per (site, cell) whose net was not zero, so at most
 * sites x TIME_CELLS, and at most TIME_PAIRS pairs, never growing with
 * the number of events.
 *
 * Most events net to zero within their cell (a block allocated and freed
 * in it), so the pass sums each info's events of its current cell in the
 * info itself and adds them here only when that cell is over and the sum
 * is not zero (analysis.c): on a cc1 capture that is one call per 300
 * events, where a step looked up per event cost 15% of the report.  Frees
 * of older blocks are summed the same way, per (allocation cell, free
 * cell) of the info's latest such free.
 *
 * May call: u64map, malloc.
 */
#include "cli.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

_Static_assert((TIME_CELLS & (TIME_CELLS - 1)) == 0, "cells double");
_Static_assert(TIME_CELLS <= 1u << 12, "a pair's key: two cells in 24 bits");
_Static_assert(TIME_CELLS <= RCC_AGE_CELLS && TIME_MIN_SHIFT >= RCC_AGE_SHIFT,
               "an F's age is exact on a grid no finer than its own (capture.h)");

/* The step of (of, cell), made at zero on first use; NULL when out of
   memory. */
static time_step *step_at(time_steps *s, uint32_t of, uint32_t cell)
{
    if (!s->index && !(s->index = u64map_new()))
        return NULL;
    uint32_t *idx = u64map_claim(s->index, ((uint64_t)of << 32 | cell) + 1);
    if (!idx)
        return NULL;
    if (*idx == UINT32_MAX) {
        if (s->n >= UINT32_MAX - 1 || !cli_reserve((void **)&s->v, &s->cap, s->n + 1, sizeof *s->v))
            return NULL;
        s->v[s->n] = (time_step){.of = of, .cell = cell};
        *idx = (uint32_t)s->n++;
    }
    return &s->v[*idx];
}

static void steps_free(time_steps *s)
{
    free(s->v);
    u64map_free(s->index);
    memset(s, 0, sizeof *s);
}

/* The pair of (of, alloc cell, free cell), made at zero on first use (then
   *made is set); NULL when out of memory. */
static time_pair *pair_at(time_pairs *s, uint32_t of, uint32_t a, uint32_t f, bool *made)
{
    if (!s->index && !(s->index = u64map_new()))
        return NULL;
    uint32_t *idx = u64map_claim(s->index, ((uint64_t)of << 24 | a << 12 | f) + 1);
    if (!idx)
        return NULL;
    if (*idx == UINT32_MAX) {
        if (s->n >= UINT32_MAX - 1 || !cli_reserve((void **)&s->v, &s->cap, s->n + 1, sizeof *s->v))
            return NULL;
        s->v[s->n] = (time_pair){.of = of, .alloc_cell = a, .free_cell = f};
        *idx = (uint32_t)s->n++;
        *made = true;
    }
    return &s->v[*idx];
}

static void pairs_free(time_pairs *s)
{
    free(s->v);
    u64map_free(s->index);
    memset(s, 0, sizeof *s);
}

/* Add to the step of (of, cell); -1 when out of memory. */
static int add_to_step(time_steps *s, uint32_t of, uint32_t cell, int64_t bytes, int64_t blocks)
{
    time_step *into = step_at(s, of, cell);
    if (!into)
        return -1;
    into->bytes += bytes;
    into->blocks += blocks;
    return 0;
}

/* Blocks allocated in cell a and freed in cell f of s's grid: a pair, or
   (a >= f: one cell, or another thread's clock a little ahead) freed in
   their own cell, a step.  *made: a pair was made.  -1 when out of memory. */
static int add_freed(time_steps *steps, time_pairs *pairs, uint32_t of, uint32_t a, uint32_t f,
                     int64_t bytes, int64_t blocks, bool *made)
{
    if (a >= f)
        return add_to_step(steps, of, a, -bytes, -blocks);
    time_pair *into = pair_at(pairs, of, a, f, made);
    if (!into)
        return -1;
    into->bytes += bytes;
    into->blocks += blocks;
    return 0;
}

/* Cells `by` times twice as wide: each step and pair moves to its new
   cells, merging with those already there (a pair whose cells merge into
   a step).  A step's or pair's new index is at most its old one, so the
   arrays are rewritten in place.  -1 when out of memory. */
static int coarsen(time_grid *g, unsigned by)
{
    u64map_free(g->steps.index);
    u64map_free(g->pairs.index);
    g->steps.index = g->pairs.index = NULL;
    size_t nsteps = g->steps.n, npairs = g->pairs.n;
    g->steps.n = g->pairs.n = 0;
    for (size_t i = 0; i < nsteps; i++) {
        time_step s = g->steps.v[i];
        if ((s.bytes || s.blocks) && /* else it adds nothing anywhere */
            add_to_step(&g->steps, s.of, by >= 32 ? 0 : s.cell >> by, s.bytes, s.blocks) < 0)
            return -1;
    }
    for (size_t i = 0; i < npairs; i++) {
        time_pair s = g->pairs.v[i];
        bool made = false;
        if (add_freed(&g->steps, &g->pairs, s.of, by >= 32 ? 0 : s.alloc_cell >> by,
                      by >= 32 ? 0 : s.free_cell >> by, s.bytes, s.blocks, &made) < 0)
            return -1;
    }
    g->shift += by;
    return 0;
}

int time_grid_cover(time_grid *g, uint64_t time_us)
{
    unsigned by = 0;
    while (g->shift + by < 64 && time_us >> (g->shift + by) >= TIME_CELLS)
        by++;
    return by ? coarsen(g, by) : 0;
}

int time_grid_add(time_grid *g, uint32_t site, uint32_t cell, unsigned shift, int64_t bytes,
                  int64_t blocks)
{
    return add_to_step(&g->steps, site, (uint32_t)((uint64_t)cell >> (g->shift - shift)), bytes,
                       blocks);
}

int time_grid_pair(time_grid *g, uint32_t site, uint32_t alloc_cell, uint32_t free_cell,
                   unsigned shift, int64_t bytes, int64_t blocks)
{
    bool made = false;
    unsigned by = g->shift - shift;
    if (add_freed(&g->steps, &g->pairs, site, (uint32_t)((uint64_t)alloc_cell >> by),
                  (uint32_t)((uint64_t)free_cell >> by), bytes, blocks, &made) < 0)
        return -1;
    while (made && g->pairs.n > TIME_PAIRS && g->shift < 63)
        if (coarsen(g, 1) < 0)
            return -1;
    return 0;
}

uint32_t time_grid_cells(const time_grid *g, uint64_t duration_us)
{
    return (uint32_t)(duration_us >> g->shift) + 1;
}

void time_grid_free(time_grid *g)
{
    steps_free(&g->steps);
    pairs_free(&g->pairs);
    memset(g, 0, sizeof *g);
}

static int by_node_cell(const void *x, const void *y)
{
    const time_step *a = x, *b = y;
    if (a->of != b->of)
        return a->of < b->of ? -1 : 1;
    return a->cell < b->cell ? -1 : a->cell > b->cell;
}

static int by_node_cells(const void *x, const void *y)
{
    const time_pair *a = x, *b = y;
    if (a->of != b->of)
        return a->of < b->of ? -1 : 1;
    if (a->alloc_cell != b->alloc_cell)
        return a->alloc_cell < b->alloc_cell ? -1 : 1;
    return a->free_cell < b->free_cell ? -1 : a->free_cell > b->free_cell;
}

/* The index of the first of count entries of stride bytes (sorted by
   node, each starting with its node: time_step's and time_pair's `of`)
   whose node is at least node. */
static size_t first_of(const void *v, size_t stride, size_t count, uint32_t node)
{
    const char *at = v;
    size_t lo = 0, hi = count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (*(const uint32_t *)(const void *)(at + mid * stride) < node)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}
_Static_assert(offsetof(time_step, of) == 0 && offsetof(time_pair, of) == 0, "node first");

int flame_time_build(flame_time *t, rca_capture *c, const flame *f, const uint32_t *owner)
{
    memset(t, 0, sizeof *t);
    time_grid *g = &c->grid;
    if (time_grid_cover(g, c->duration_us) < 0)
        return -1;
    t->ncells = time_grid_cells(g, c->duration_us);
    t->cell_us = UINT64_C(1) << g->shift;
    t->exact = c->header.version >= RCC_VERSION_AGES;
    for (size_t i = 0; i < g->steps.n; i++) {
        const time_step *s = &g->steps.v[i];
        if ((s->bytes || s->blocks) &&
            add_to_step(&t->steps, owner[f->site_node[s->of]], s->cell, s->bytes, s->blocks) < 0)
            goto fail;
    }
    for (size_t i = 0; i < g->pairs.n; i++) {
        const time_pair *s = &g->pairs.v[i];
        bool made = false;
        if ((s->bytes || s->blocks) &&
            add_freed(&t->steps, &t->pairs, owner[f->site_node[s->of]], s->alloc_cell,
                      s->free_cell, s->bytes, s->blocks, &made) < 0)
            goto fail;
    }
    u64map_free(t->steps.index); /* sorting moves them: the indexes would lie */
    u64map_free(t->pairs.index);
    t->steps.index = NULL;
    t->pairs.index = NULL;
    if (t->steps.n) /* no steps may mean no array: qsort's pointer must not be NULL */
        qsort(t->steps.v, t->steps.n, sizeof *t->steps.v, by_node_cell);
    if (t->pairs.n)
        qsort(t->pairs.v, t->pairs.n, sizeof *t->pairs.v, by_node_cells);
    return 0;
fail:
    flame_time_free(t);
    return -1;
}

void flame_time_free(flame_time *t)
{
    steps_free(&t->steps);
    pairs_free(&t->pairs);
    memset(t, 0, sizeof *t);
}

void flame_time_of(const flame_time *t, uint32_t node, size_t steps[2], size_t pairs[2])
{
    for (int k = 0; k < 2; k++) {
        steps[k] = first_of(t->steps.v, sizeof *t->steps.v, t->steps.n, node + (uint32_t)k);
        pairs[k] = first_of(t->pairs.v, sizeof *t->pairs.v, t->pairs.n, node + (uint32_t)k);
    }
}
