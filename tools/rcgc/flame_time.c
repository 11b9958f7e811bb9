/*
 * flame_time.c — when each frame's memory was allocated and freed, for the
 * report's time range selection: a second pass over the capture counts, per
 * frame-tree node and per bucket of a fixed time grid, how many bytes and
 * blocks the sites that end there allocated minus how many they freed.  Net
 * figures only: what was allocated and freed within one bucket (most of a
 * program's churn) leaves no trace, which keeps the page small (a 17 s cc1
 * run: 8848 nodes drawn, 12489 steps).
 *
 * The first pass (analysis.c) cannot keep this: the grid needs the capture's
 * duration, known only at its end.  Memory: one entry per info (its size
 * and node) and one step per (node, bucket) that saw an event, so at most
 * nodes x buckets, never growing with the number of events.
 */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

typedef struct info_owner {
    uint64_t size;
    uint32_t node;   /* the node whose steps count this info's events */
    uint32_t bucket; /* the bucket of its last event, plus one (0: none) */
    uint32_t step;   /*   and that event's step: events of an info come in
                        runs within a bucket, so most skip the map */
} info_owner;

typedef struct time_pass {
    flame_time *t;
    const flame *f;
    const uint32_t *owner;
    u64map *site_of;       /* (stack node, type) -> site index */
    u64map *step_of;       /* (tree node, bucket) -> step index */
    info_owner *infos;     /* info id i at [i - 1] */
    size_t ninfos, infos_cap;
    bool oom;
} time_pass;

/* The key of analysis.c's sites: a stack node and a managed type. */
static uint64_t site_key(uint32_t node, uint32_t type)
{
    return ((uint64_t)node << 20 | type) + 1;
}

static int on_info(time_pass *p, const rcc_event *e)
{
    if (!cli_reserve((void **)&p->infos, &p->infos_cap, p->ninfos + 1, sizeof *p->infos))
        return p->oom = true;
    const uint32_t *site = u64map_find(p->site_of, site_key((uint32_t)e->stack,
                                                            (uint32_t)e->type));
    uint32_t node = site ? p->f->site_node[*site] : 0;
    p->infos[p->ninfos++] = (info_owner){e->size, p->owner[node], 0, 0};
    return 0;
}

static int on_change(time_pass *p, const rcc_event *e)
{
    if (e->id == 0 || e->id > p->ninfos)
        return 0; /* the first pass accepted this capture: not reached */
    info_owner *in = &p->infos[e->id - 1];
    flame_time *t = p->t;
    uint64_t bucket = e->time_us / t->bucket_us;
    if (bucket >= t->nbuckets)
        bucket = t->nbuckets - 1;
    if (in->bucket != bucket + 1) {
        uint32_t *idx = u64map_claim(p->step_of, ((uint64_t)in->node << 32 | bucket) + 1);
        if (!idx)
            return p->oom = true;
        if (*idx == UINT32_MAX) {
            if (t->nsteps >= UINT32_MAX - 1 ||
                !cli_reserve((void **)&t->steps, &t->cap, t->nsteps + 1, sizeof *t->steps))
                return p->oom = true;
            t->steps[t->nsteps] = (flame_step){.node = in->node, .bucket = (uint32_t)bucket};
            *idx = (uint32_t)t->nsteps++;
        }
        in->bucket = (uint32_t)bucket + 1;
        in->step = *idx;
    }
    flame_step *s = &t->steps[in->step];
    bool alloc = e->kind == RCC_ALLOC;
    s->bytes += alloc ? (int64_t)in->size : -(int64_t)in->size;
    s->blocks += alloc ? 1 : -1;
    return 0;
}

static int on_event(const rcc_event *e, void *ctx)
{
    time_pass *p = ctx;
    switch (e->kind) {
    case RCC_INFO: return on_info(p, e);
    case RCC_ALLOC: case RCC_FREE: case RCC_TEMP: return on_change(p, e);
    default: return 0;
    }
}

static int by_node_bucket(const void *x, const void *y)
{
    const flame_step *a = x, *b = y;
    if (a->node != b->node)
        return a->node < b->node ? -1 : 1;
    return a->bucket < b->bucket ? -1 : a->bucket > b->bucket;
}

int flame_time_build(flame_time *t, const rca_capture *c, const flame *f,
                     const uint32_t *owner, uint32_t nbuckets, char *err, size_t errlen)
{
    memset(t, 0, sizeof *t);
    t->nbuckets = nbuckets;
    t->bucket_us = c->duration_us / nbuckets + 1;
    time_pass p = {.t = t, .f = f, .owner = owner, .site_of = u64map_new(),
                   .step_of = u64map_new()};
    t->first = calloc(f->nnodes + 1, sizeof *t->first);
    int rc = -1;
    snprintf(err, errlen, "out of memory for the report's timeline");
    for (size_t i = 0; p.site_of && i < c->nsites; i++) {
        uint32_t *idx = u64map_claim(p.site_of, site_key(c->sites[i].node, c->sites[i].type));
        if (!idx)
            goto done;
        *idx = (uint32_t)i;
    }
    rcc_reader *r = p.site_of && p.step_of && t->first ? rcc_reader_open(c->path, err, errlen)
                                                       : NULL;
    if (!r)
        goto done;
    int read = rcc_read(r, on_event, &p);
    if (read < 0)
        snprintf(err, errlen, "%s: %s", c->path, rcc_reader_error(r));
    rcc_reader_close(r);
    if (read < 0 || p.oom)
        goto done;
    if (t->nsteps) /* no steps may mean no array: qsort's pointer must not be NULL */
        qsort(t->steps, t->nsteps, sizeof *t->steps, by_node_bucket);
    for (size_t i = t->nsteps, n = f->nnodes + 1; n-- > 0;) { /* first[n]: node n's first step */
        while (i > 0 && t->steps[i - 1].node >= n)
            i--;
        t->first[n] = i;
    }
    rc = 0;
done:
    u64map_free(p.site_of);
    u64map_free(p.step_of);
    free(p.infos);
    if (rc < 0)
        flame_time_free(t);
    return rc;
}

void flame_time_free(flame_time *t)
{
    free(t->steps);
    free(t->first);
    memset(t, 0, sizeof *t);
}
