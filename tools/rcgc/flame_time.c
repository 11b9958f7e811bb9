/*
 * flame_time.c — when memory was allocated and freed, for the report's time
 * range selection: per site (during analysis.c's one pass) and then per
 * frame-tree node, and per cell of a time grid, the bytes and blocks
 * allocated minus those freed.  Net figures only: what was allocated and
 * freed within one cell (most of a program's churn) leaves no trace, which
 * keeps the page small.
 *
 * The grid adapts, because the capture's duration is known only at its
 * end: cells start 1024 us wide (the shim's clock grain is 1 ms), and when
 * an event falls past the last of TIME_CELLS cells, every cell doubles
 * (neighbours merge; steps whose net came to zero are dropped) until it
 * fits.  At the end a run longer than
 * TIME_CELLS ms spans between TIME_CELLS / 2 and TIME_CELLS cells (a 10 s
 * run: cells of 33 ms), a shorter one a cell per 1024 us.  Each part of
 * the run is counted at the resolution of its time (a region of [T/2, T]
 * at cells of T / TIME_CELLS), so a site busy all along makes about
 * TIME_CELLS / 2 steps per doubling: the minimum width saves the first ten.
 * Memory: one step per (site, cell) whose net was not zero, so at most
 * sites x TIME_CELLS, never growing with the number of events.
 *
 * Most events net to zero within their cell (a block allocated and freed
 * in it), so the pass sums each info's events of its current cell in the
 * info itself and adds them here only when that cell is over and the sum
 * is not zero (analysis.c): on a cc1 capture that is one call per 300
 * events, where a step looked up per event cost 15% of the report.
 *
 * May call: u64map, malloc.
 */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

_Static_assert((TIME_CELLS & (TIME_CELLS - 1)) == 0, "cells double");

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

/* Cells `by` times twice as wide: each step moves to its new cell, merging
   with the steps already there.  A step's new index is at most its old one,
   so the array is rewritten in place.  -1 when out of memory. */
static int coarsen(time_grid *g, unsigned by)
{
    u64map *old = g->steps.index;
    size_t n = g->steps.n;
    g->steps.index = NULL;
    g->steps.n = 0;
    u64map_free(old);
    for (size_t i = 0; i < n; i++) {
        time_step s = g->steps.v[i];
        if (!s.bytes && !s.blocks)
            continue; /* adds nothing anywhere */
        time_step *into = step_at(&g->steps, s.of, by >= 32 ? 0 : s.cell >> by);
        if (!into)
            return -1;
        into->bytes += s.bytes;
        into->blocks += s.blocks;
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
    time_step *s = step_at(&g->steps, site, (uint32_t)((uint64_t)cell >> (g->shift - shift)));
    if (!s)
        return -1;
    s->bytes += bytes;
    s->blocks += blocks;
    return 0;
}

uint32_t time_grid_cells(const time_grid *g, uint64_t duration_us)
{
    return (uint32_t)(duration_us >> g->shift) + 1;
}

void time_grid_free(time_grid *g)
{
    steps_free(&g->steps);
    memset(g, 0, sizeof *g);
}

static int by_node_cell(const void *x, const void *y)
{
    const time_step *a = x, *b = y;
    if (a->of != b->of)
        return a->of < b->of ? -1 : 1;
    return a->cell < b->cell ? -1 : a->cell > b->cell;
}

int flame_time_build(flame_time *t, rca_capture *c, const flame *f, const uint32_t *owner)
{
    memset(t, 0, sizeof *t);
    time_grid *g = &c->grid;
    if (time_grid_cover(g, c->duration_us) < 0)
        return -1;
    t->ncells = time_grid_cells(g, c->duration_us);
    t->cell_us = UINT64_C(1) << g->shift;
    if (!(t->first = calloc(f->nnodes + 1, sizeof *t->first)))
        return -1;
    for (size_t i = 0; i < g->steps.n; i++) {
        const time_step *s = &g->steps.v[i];
        if (!s->bytes && !s->blocks)
            continue;
        time_step *into = step_at(&t->steps, owner[f->site_node[s->of]], s->cell);
        if (!into) {
            flame_time_free(t);
            return -1;
        }
        into->bytes += s->bytes;
        into->blocks += s->blocks;
    }
    u64map_free(t->steps.index); /* sorting moves the steps: the index would lie */
    t->steps.index = NULL;
    if (t->steps.n) /* no steps may mean no array: qsort's pointer must not be NULL */
        qsort(t->steps.v, t->steps.n, sizeof *t->steps.v, by_node_cell);
    for (size_t i = t->steps.n, n = f->nnodes + 1; n-- > 0;) { /* first[n]: node n's first step */
        while (i > 0 && t->steps.v[i - 1].of >= n)
            i--;
        t->first[n] = i;
    }
    return 0;
}

void flame_time_free(flame_time *t)
{
    steps_free(&t->steps);
    free(t->first);
    memset(t, 0, sizeof *t);
}
