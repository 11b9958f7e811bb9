/*
 * analysis.c — one streaming pass over a capture: the totals of `summary`,
 * one aggregate per allocation site for `top`, `leaks`, `diff` and the
 * flame graphs, and the timeline.
 *
 * May call: the capture reader (tools/capture), the trace engine's
 * snapshots and symbolizer (src/trace), malloc.
 *
 * Memory.  An event names no block, only its allocation info (size, stack
 * node, type: docs/CAPTURE.md), so there is nothing to match: the pass keeps
 * one entry per info (its size and site), one aggregate per site (stack,
 * managed type), the stack nodes, type names and modules as the records
 * define them, a timeline merged pairwise (maxima kept) when it reaches
 * RCA_MAX_SAMPLES points, and for the report (rca_options.time_steps) each
 * site's allocations minus frees per cell of a time grid that coarsens as
 * the run goes on (flame_time.c: at most TIME_CELLS cells per site).
 * Nothing grows with the number of events, and the capture is read once.
 *
 * An A adds its info's size to the site's live figures, an F or X takes it
 * back (an X is also a temporary: heaptrack's, a block freed by the thread
 * that allocated it with no allocation in between, which only the writer
 * can tell).  Records arrive chunk by chunk and each thread writes its own
 * chunks, so file order is time order only within a thread.  Consequences:
 *   - A free may come before the allocation it frees (a block passed between
 *     threads: the freeing thread's chunk was written first).  A site's live
 *     figures, and the totals, may then dip below zero for a while; they are
 *     kept modulo 2^64 (every later A and F lands them right again) and
 *     compared as signed, and what is reported is clamped at 0.  At the end
 *     of a complete capture they are exact.
 *   - The peak of the replay (live bytes in file order) is exact for one
 *     thread and an approximation for many: an allocation may be counted
 *     before a free that came earlier in time from another thread.  The
 *     summary takes the exact peak and its time from the E record when there
 *     is one; the per-site breakdown at peak is the replay's, taken when the
 *     replay reached its maximum: each site saves its live figures the first
 *     time it changes after the latest maximum (stamp <= peak_seq), so
 *     nothing is copied per event.
 * Figures at a given time (diff --at) do not depend on order: a block counts
 * at T when it was allocated at or before T and not freed by then, so an A
 * adds to every --at time at or after its own and an F or X takes back from
 * every one at or after its own.  An event's time is its chunk's latest time
 * record, at most the writer's grain early.
 *
 * Leaks: with the shim's scan (L records), each L names an info, a
 * reachability and a count of blocks; "leaked" is definitely + indirectly
 * + possibly lost (memcheck's kinds of "lost").  Without a scan (a capture of a program that was killed, or a writer
 * without the scan) what is live at the end counts as leaked, category
 * unknown.
 */
#define _GNU_SOURCE
#include "cli.h"

#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

const char rca_kinds[] = "MSTICAFXPLEYKO";
_Static_assert(sizeof rca_kinds - 1 == sizeof ((rca_capture *)0)->records /
                                           sizeof ((rca_capture *)0)->records[0],
               "one count per kind");

enum {
    NO_SITE = UINT32_MAX,     /* info.site and rca_node.site before their first use */
    MAX_TYPES = 1u << 16,     /* type ids accepted */
    MAX_MODULES = 1u << 16,
};

/* ---- the pass ---------------------------------------------------------------- */

typedef struct info {
    uint64_t size;    /* bytes of each block */
    uint32_t site;    /* index of its site, or NO_SITE (made on first use) */
    uint32_t node;    /* stack node (0: none) */
    uint32_t type;    /* managed type id (0: raw malloc) */
    /* The report's time grid (rca_options.time_steps): this info's events
       in its latest cell, summed here until an event comes in another
       (flame_time.c) */
    uint32_t cell;      /* that cell, at the grid's shift then */
    uint32_t shift;
    int64_t bytes, blocks;  /* allocated minus freed in it */
    /* and its frees of blocks of an earlier cell, summed the same way until
       one comes in other cells */
    uint32_t freed_alloc_cell, freed_cell; /* those cells, at the grid's */
    uint32_t freed_shift;                  /*   shift then */
    int64_t freed;                         /* blocks (0: none) */
} info;

typedef struct pass {
    rca_capture *c;
    rcc_reader *reader;
    info *infos;              /* info id i at [i - 1]; c->ninfos of them */
    size_t infos_cap;
    u64map *site_of;          /* (node, managed type) -> site index */
    uint64_t seq, peak_seq;   /* replay steps: now, and at the maximum */
    uint64_t replay_peak_time;
    uint64_t at_us[2];        /* --at times */
    int nat;
    uint64_t max_time;        /* latest time seen */
    size_t stride, fill;      /* samples per timeline point; in the last */
    bool steps;               /* keep the time grid (rca_options.time_steps) */
    bool progress;            /* on stderr (a terminal, or RCGC_PROGRESS=always) */
    bool tty;                 /* stderr is a terminal: one line, redrawn */
    bool shown_any;           /* a progress line is on stderr */
    double progress_after;    /* seconds of reading before the first line */
    uint64_t events;
    struct timespec started;  /* when the pass began */
    struct timespec shown;    /* when progress was last shown */
    char err[200];            /* why the pass stopped (failed) */
    bool failed;
    uint8_t slot_of_kind[256];   /* record kind -> its place in rca_kinds + 1
                                    (strchr per event was 7% of a pass) */
} pass;

static int fail(pass *p, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->err, sizeof p->err, fmt, ap);
    va_end(ap);
    p->failed = true;
    return 1;
}

/* A live figure kept modulo 2^64, as reported: below zero is 0. */
static uint64_t clamped(uint64_t v)
{
    return (int64_t)v < 0 ? 0 : v;
}

bool cli_reserve(void **array, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return true;
    size_t n = *cap ? *cap : 16;
    while (n < need)
        n *= 2;
    if (n > SIZE_MAX / elem)
        return false;
    void *a = realloc(*array, n * elem);
    if (!a)
        return false;
    *array = a;
    *cap = n;
    return true;
}

/* A library unloaded and another loaded at its addresses: an M record
   overlapping one before it (docs/CAPTURE.md).  A stack node's frame
   belongs to the module the records before it say was mapped there, so
   such a module gets addresses of its own, above any process's (one
   REPLACED_SPAN each from REPLACED_BASE), and its nodes' frames are moved
   there: the symbolizer and every verb see two modules apart.  Past
   RCA_MAX_REPLACING of them (a crafted capture: each node looks through
   them), later ones keep their addresses. */
#define REPLACED_BASE (UINT64_C(1) << 62)
#define REPLACED_SPAN (UINT64_C(1) << 36)

static int on_module(pass *p, const rcc_event *e)
{
    rca_capture *c = p->c;
    if (c->nmodules >= MAX_MODULES)
        return fail(p, "more than %u modules", MAX_MODULES);
    if (!cli_reserve((void **)&c->modules, &c->modules_cap, c->nmodules + 1, sizeof *c->modules) ||
        !cli_reserve((void **)&c->module_at, &c->module_at_cap, c->nmodules + 1,
                     sizeof *c->module_at))
        return fail(p, "out of memory");
    bool replaces = false;
    for (size_t i = 0; i < c->nmodules && !replaces && c->nreplacing < RCA_MAX_REPLACING; i++)
        replaces = c->module_at[i] < e->ip + e->size && e->ip < c->module_at[i] + c->modules[i].size;
    uint64_t base = e->ip;
    if (replaces && e->size <= REPLACED_SPAN) {
        base = REPLACED_BASE + c->nreplacing * REPLACED_SPAN;
        c->replacing[c->nreplacing++] = (uint32_t)c->nmodules;
    }
    char *path = strdup(e->text ? e->text : "");
    if (!path)
        return fail(p, "out of memory");
    c->module_at[c->nmodules] = e->ip;
    c->modules[c->nmodules++] = (rct_module){base, e->size, path};
    return 0;
}

/* A frame's address as the symbolizer knows it: moved when the module
   mapped there last replaced another (a module mapped there after one
   that did overlaps it, so it did too: only those are looked at). */
static uint64_t frame_address(const rca_capture *c, uint64_t ip)
{
    for (size_t k = c->nreplacing; k-- > 0;) {
        uint32_t i = c->replacing[k];
        if (ip - c->module_at[i] < c->modules[i].size)
            return ip - c->module_at[i] + c->modules[i].base;
    }
    return ip;
}

static int on_stack(pass *p, const rcc_event *e)
{
    rca_capture *c = p->c;
    if (e->id != c->nnodes + 1)
        return fail(p, "stack node %llu out of order (expected %zu)",
                    (unsigned long long)e->id, c->nnodes + 1);
    /* (the reader refuses a stack deeper than RCC_MAX_DEPTH frames) */
    if (e->stack > c->nnodes)
        return fail(p, "stack node %llu has an undefined parent %llu",
                    (unsigned long long)e->id, (unsigned long long)e->stack);
    if (c->nnodes >= UINT32_MAX - 1 ||
        !cli_reserve((void **)&c->nodes, &c->nodes_cap, c->nnodes + 2, sizeof *c->nodes))
        return fail(p, "out of memory for %zu stack nodes", c->nnodes);
    uint64_t ip = c->nreplacing ? frame_address(c, e->ip) : e->ip;
    c->nodes[++c->nnodes] = (rca_node){ip, (uint32_t)e->stack, NO_SITE};
    return 0;
}

static int on_type(pass *p, const rcc_event *e)
{
    rca_capture *c = p->c;
    if (e->id == 0 || e->id >= MAX_TYPES)
        return fail(p, "type id %llu out of range", (unsigned long long)e->id);
    if (e->id >= c->ntypes) {
        char **t = realloc(c->types, (e->id + 1) * sizeof *t);
        if (!t)
            return fail(p, "out of memory");
        memset(t + c->ntypes, 0, (e->id + 1 - c->ntypes) * sizeof *t);
        c->types = t;
        c->ntypes = e->id + 1;
    }
    char *name = strdup(e->text ? e->text : "");
    if (!name)
        return fail(p, "out of memory");
    free(c->types[e->id]);
    c->types[e->id] = name;
    return 0;
}

/* The site of (node, type), made on first use; NULL when out of memory.
   A raw malloc's is kept in its node (an info's node was most often
   defined just before it: in the cache, where a map's slot is not). */
static rca_site *site_for(pass *p, uint32_t node, uint32_t type)
{
    rca_capture *c = p->c;
    uint32_t *idx = type ? u64map_claim(p->site_of, ((uint64_t)node << 20 | type) + 1)
                         : &c->nodes[node].site;
    if (!idx)
        return NULL;
    if (*idx == UINT32_MAX) {
        if (!cli_reserve((void **)&c->sites, &c->sites_cap, c->nsites + 1, sizeof *c->sites))
            return NULL;
        c->sites[c->nsites] = (rca_site){.node = node, .type = type};
        *idx = (uint32_t)c->nsites++;
    }
    return &c->sites[*idx];
}

/* About to change the site's live figures: if they have not changed since
   the replay's latest maximum, they are its figures at that maximum. */
static void touch(pass *p, rca_site *s)
{
    if (s->stamp <= p->peak_seq) {
        s->peak_bytes = s->live_bytes;
        s->peak_blocks = s->live_blocks;
    }
    s->stamp = ++p->seq;
}

static int on_info(pass *p, const rcc_event *e)
{
    rca_capture *c = p->c;
    if (e->id != c->ninfos + 1)
        return fail(p, "allocation info %llu out of order (expected %zu)",
                    (unsigned long long)e->id, c->ninfos + 1);
    if (e->stack > c->nnodes)
        return fail(p, "allocation info %llu at undefined stack node %llu",
                    (unsigned long long)e->id, (unsigned long long)e->stack);
    if (e->type >= MAX_TYPES)
        return fail(p, "allocation info %llu: type id %llu out of range",
                    (unsigned long long)e->id, (unsigned long long)e->type);
    if (!cli_reserve((void **)&p->infos, &p->infos_cap, c->ninfos + 1, sizeof *p->infos))
        return fail(p, "out of memory for %zu allocation infos", c->ninfos);
    p->infos[c->ninfos++] = (info){.size = e->size, .site = NO_SITE,
                                   .node = (uint32_t)e->stack, .type = (uint32_t)e->type,
                                   .shift = c->grid.shift, .freed_shift = c->grid.shift};
    return 0;
}

/* The info an A, F, X or L names, its site made on first use; NULL after
   fail. */
static info *info_of(pass *p, const rcc_event *e)
{
    rca_capture *c = p->c;
    if (e->id == 0 || e->id > c->ninfos) {
        fail(p, "undefined allocation info %llu", (unsigned long long)e->id);
        return NULL;
    }
    info *in = &p->infos[e->id - 1];
    if (in->site == NO_SITE) {
        rca_site *s = site_for(p, in->node, in->type);
        if (!s) {
            fail(p, "out of memory for %zu sites", c->nsites);
            return NULL;
        }
        in->site = (uint32_t)(s - c->sites);
    }
    return in;
}

/* Hand an info's sum for its latest cell to the grid, if it is not zero. */
static int flush_step(pass *p, info *in)
{
    if ((!in->bytes && !in->blocks) || in->site == NO_SITE)
        return 0;
    if (time_grid_add(&p->c->grid, in->site, in->cell, in->shift, in->bytes, in->blocks) < 0)
        return fail(p, "out of memory for the time steps");
    in->bytes = in->blocks = 0;
    return 0;
}

/* Hand an info's frees of older blocks for its latest pair of cells to
   the grid, if any. */
static int flush_freed(pass *p, info *in)
{
    if (!in->freed)
        return 0;
    if (time_grid_pair(&p->c->grid, in->site, in->freed_alloc_cell, in->freed_cell,
                       in->freed_shift, in->freed * (int64_t)in->size, in->freed) < 0)
        return fail(p, "out of memory for the time steps");
    in->freed = 0;
    return 0;
}

/* Make the grid cover time_us. */
static int cover(pass *p, uint64_t time_us)
{
    time_grid *g = &p->c->grid;
    if (time_us >> g->shift >= TIME_CELLS && time_grid_cover(g, time_us) < 0)
        return fail(p, "out of memory for the time steps");
    return 0;
}

/* add_step for an event outside in's current cell: the grid made to
   cover it, in's sum handed over when the cell is another one now.  Out
   of line, the common case inlined in each event's code does not save
   what this one needs. */
static __attribute__((noinline)) int add_step_slow(pass *p, info *in, uint64_t time_us)
{
    time_grid *g = &p->c->grid;
    if (cover(p, time_us) != 0)
        return 1;
    uint32_t cell = (uint32_t)(time_us >> g->shift);
    if ((uint64_t)in->cell >> (g->shift - in->shift) != cell && flush_step(p, in) != 0)
        return 1;
    in->cell = cell;
    in->shift = g->shift;
    return 0;
}

/* Count an event of in at its time in the report's grid (when kept).  An
   event in in's current cell needs nothing else: that cell is covered. */
static inline int add_step(pass *p, info *in, uint64_t time_us, bool alloc)
{
    const time_grid *g = &p->c->grid;
    if ((in->shift != g->shift || time_us >> g->shift != in->cell) &&
        add_step_slow(p, in, time_us) != 0)
        return 1;
    in->bytes += alloc ? (int64_t)in->size : -(int64_t)in->size;
    in->blocks += alloc ? 1 : -1;
    return 0;
}

/* A free at time_us of a block of in allocated at alloc_us, in the grid: in
   the step of its cell when that is the allocation's (or earlier: another
   thread's clock), else summed per (allocation cell, free cell).  A free
   of a capture before version 5 (alloc_us UINT64_MAX) counts where it
   happened, which is what makes the range a lower bound there. */
static int add_free_step(pass *p, info *in, uint64_t time_us, uint64_t alloc_us)
{
    time_grid *g = &p->c->grid;
    if (alloc_us == UINT64_MAX || alloc_us >> g->shift >= time_us >> g->shift)
        return add_step(p, in, alloc_us == UINT64_MAX ? time_us : alloc_us, false);
    if (cover(p, time_us) != 0)
        return 1;
    uint32_t a = (uint32_t)(alloc_us >> g->shift), f = (uint32_t)(time_us >> g->shift);
    unsigned by = g->shift - in->freed_shift;
    if (in->freed && (in->freed_alloc_cell >> by != a || in->freed_cell >> by != f) &&
        flush_freed(p, in) != 0)
        return 1;
    in->freed_alloc_cell = a;
    in->freed_cell = f;
    in->freed_shift = g->shift;
    in->freed++;
    return 0;
}

static int on_alloc(pass *p, const rcc_event *e)
{
    rca_capture *c = p->c;
    info *in = info_of(p, e);
    if (!in)
        return 1;
    rca_site *s = &c->sites[in->site];
    c->allocs++;
    c->total_bytes += in->size;
    s->allocs++;
    s->total_bytes += in->size;
    touch(p, s);
    s->live_bytes += in->size;
    s->live_blocks++;
    c->live_bytes += in->size;
    c->live_blocks++;
    for (int k = 0; k < p->nat; k++)
        if (e->time_us <= p->at_us[k]) {
            s->at_bytes[k] += in->size;
            s->at_blocks[k]++;
        }
    if ((int64_t)c->live_bytes > (int64_t)c->replay_peak) {
        c->replay_peak = c->live_bytes;
        p->peak_seq = p->seq;
        p->replay_peak_time = e->time_us;
    }
    return p->steps ? add_step(p, in, e->time_us, true) : 0;
}

/* An F, or an X (temporary). */
static int on_free(pass *p, const rcc_event *e, bool temporary)
{
    rca_capture *c = p->c;
    info *in = info_of(p, e);
    if (!in)
        return 1;
    rca_site *s = &c->sites[in->site];
    c->frees++;
    touch(p, s);
    s->live_bytes -= in->size; /* modulo 2^64: its A may be still to come */
    s->live_blocks--;
    c->live_bytes -= in->size;
    c->live_blocks--;
    for (int k = 0; k < p->nat; k++)
        if (e->time_us <= p->at_us[k]) {
            s->at_bytes[k] -= in->size;
            s->at_blocks[k]--;
        }
    if (temporary) {
        s->temps++;
        s->temp_bytes += in->size;
        c->temps++;
        c->temp_bytes += in->size;
    }
    return p->steps ? add_free_step(p, in, e->time_us, e->alloc_time_us) : 0;
}

static void merge_sample(rca_sample *into, const rca_sample *s)
{
    if (s->heap > into->heap) {
        into->heap = s->heap;
        into->time_us = s->time_us;
    }
    if (s->rss > into->rss)
        into->rss = s->rss;
}

static int on_sample(pass *p, const rcc_event *e)
{
    rca_capture *c = p->c;
    rca_sample s = {e->time_us, e->heap_bytes, e->rss_bytes};
    if (c->nsamples && p->fill < p->stride) {
        merge_sample(&c->samples[c->nsamples - 1], &s);
        p->fill++;
        return 0;
    }
    if (!c->samples && !(c->samples = malloc(RCA_MAX_SAMPLES * sizeof *c->samples)))
        return fail(p, "out of memory");
    if (c->nsamples == RCA_MAX_SAMPLES) { /* halve: each point now twice the time */
        for (size_t i = 0; i < RCA_MAX_SAMPLES / 2; i++) {
            c->samples[i] = c->samples[2 * i];
            merge_sample(&c->samples[i], &c->samples[2 * i + 1]);
        }
        c->nsamples = RCA_MAX_SAMPLES / 2;
        p->stride *= 2;
    }
    c->samples[c->nsamples++] = s;
    p->fill = 1;
    return 0;
}

static int on_leak(pass *p, const rcc_event *e)
{
    rca_capture *c = p->c;
    _Static_assert((int)RCA_POSSIBLE == (int)RCC_POSSIBLE && (int)RCA_DEFINITE == (int)RCC_DEFINITE,
                   "categories are the capture's values");
    if (e->status < RCA_REACHABLE || e->status > RCA_POSSIBLE)
        return fail(p, "leak record with unknown reachability %lld", (long long)e->status);
    info *in = info_of(p, e);
    if (!in)
        return 1;
    c->scanned = true;
    rca_site *s = &c->sites[in->site];
    uint64_t bytes;
    if (__builtin_mul_overflow(e->count, in->size, &bytes))
        return fail(p, "leak record of %llu blocks of %llu bytes: more than 2^64 bytes",
                    (unsigned long long)e->count, (unsigned long long)in->size);
    s->leak_bytes[e->status] += bytes;
    s->leak_blocks[e->status] += e->count;
    return 0;
}

static int on_end(pass *p, const rcc_event *e)
{
    rca_capture *c = p->c;
    c->ended = true;
    c->exit_status = e->status;
    c->end_signal = e->signal;
    c->peak_bytes = e->heap_bytes;
    c->peak_time_us = e->peak_time_us;
    c->peak_exact = true;
    c->duration_us = e->time_us;
    return 0;
}

static double seconds_since(const struct timespec *t)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - t->tv_sec) + (double)(now.tv_nsec - t->tv_nsec) / 1e9;
}

/* Once the read has taken progress_after seconds, every 64Ki events, at
   most 5 times a second: "reading FILE  42%". */
static void show_progress(pass *p)
{
    if (!p->progress || (++p->events & 0xffff) ||
        seconds_since(&p->started) < p->progress_after ||
        (p->shown_any && seconds_since(&p->shown) < 0.2))
        return;
    clock_gettime(CLOCK_MONOTONIC, &p->shown);
    p->shown_any = true;
    uint64_t size = rcc_reader_size(p->reader), at = rcc_reader_offset(p->reader);
    fprintf(stderr, "%srcgc: reading %s %3d%%%s", p->tty ? "\r" : "", p->c->path,
            size ? (int)(100.0 * (double)at / (double)size) : 0, p->tty ? "" : "\n");
}

static int on_event(const rcc_event *e, void *ctx)
{
    pass *p = ctx;
    unsigned slot = p->slot_of_kind[(uint8_t)e->kind];
    if (!slot)
        return fail(p, "record of unknown kind 0x%02x", (unsigned)e->kind);
    p->c->records[slot - 1]++;
    if (e->kind != RCC_MODULE && e->kind != RCC_STACK && e->kind != RCC_TYPE &&
        e->kind != RCC_INFO && e->kind != RCC_LEAK && e->time_us > p->max_time)
        p->max_time = e->time_us;
    show_progress(p);
    switch (e->kind) {
    case RCC_MODULE: return on_module(p, e);
    case RCC_STACK: return on_stack(p, e);
    case RCC_TYPE: return on_type(p, e);
    case RCC_INFO: return on_info(p, e);
    case RCC_ALLOC: return on_alloc(p, e);
    case RCC_FREE: return on_free(p, e, false);
    case RCC_TEMP: return on_free(p, e, true);
    case RCC_SAMPLE: return on_sample(p, e);
    case RCC_LEAK: return on_leak(p, e);
    case RCC_END: return on_end(p, e);
    case RCC_PYTHON: p->c->python_version = e->count; return 0;
    case RCC_PYCODE: return rca_python_code(p->c, e) ? fail(p, "out of memory") : 0;
    case RCC_PYOBJECTS: return rca_python_objects(p->c, e) ? fail(p, "out of memory") : 0;
    default: return 0; /* a clock: its time is all */
    }
}

/* ---- after the pass ----------------------------------------------------------- */

static int by_time(const void *x, const void *y)
{
    const rca_sample *a = x, *b = y;
    return a->time_us < b->time_us ? -1 : a->time_us > b->time_us;
}

/* Peak RSS, and the RSS of the sample nearest the heap's peak. */
static void finish_rss(rca_capture *c)
{
    if (c->nsamples)
        qsort(c->samples, c->nsamples, sizeof *c->samples, by_time);
    uint64_t best = UINT64_MAX;
    for (size_t i = 0; i < c->nsamples; i++) {
        const rca_sample *s = &c->samples[i];
        uint64_t d = s->time_us > c->peak_time_us ? s->time_us - c->peak_time_us
                                                  : c->peak_time_us - s->time_us;
        if (s->rss > c->peak_rss)
            c->peak_rss = s->rss;
        if (d < best) {
            best = d;
            c->rss_at_peak = s->rss;
        }
    }
}

static void finish(pass *p)
{
    rca_capture *c = p->c;
    if (!c->ended) {
        c->peak_bytes = c->replay_peak;
        c->peak_time_us = p->replay_peak_time;
        c->duration_us = p->max_time;
    }
    c->live_bytes = clamped(c->live_bytes);
    c->live_blocks = clamped(c->live_blocks);
    for (size_t i = 0; i < c->nsites; i++) {
        rca_site *s = &c->sites[i];
        if (s->stamp <= p->peak_seq) {
            s->peak_bytes = s->live_bytes;
            s->peak_blocks = s->live_blocks;
        }
        /* Below zero only in a capture cut short (a free whose allocation
           was lost), or at a moment between two threads' chunks. */
        s->live_bytes = clamped(s->live_bytes);
        s->live_blocks = clamped(s->live_blocks);
        s->peak_bytes = clamped(s->peak_bytes);
        s->peak_blocks = clamped(s->peak_blocks);
        for (int k = 0; k < 2; k++) {
            s->at_bytes[k] = clamped(s->at_bytes[k]);
            s->at_blocks[k] = clamped(s->at_blocks[k]);
        }
        if (!c->scanned) {
            s->leak_bytes[RCA_UNKNOWN] = s->live_bytes;
            s->leak_blocks[RCA_UNKNOWN] = s->live_blocks;
        }
        for (int k = 0; k < RCA_NCAT; k++) {
            c->leak_bytes[k] += s->leak_bytes[k];
            c->leak_blocks[k] += s->leak_blocks[k];
        }
    }
    finish_rss(c);
    rca_python_census_sort(c);
}

int rca_load(rca_capture *c, const char *path, const rca_options *o, char *err,
             size_t errlen)
{
    memset(c, 0, sizeof *c);
    c->path = path;
    c->options = o;
    rcc_reader *r = rcc_reader_open(path, err, errlen);
    if (!r)
        return -1;
    c->header = *rcc_reader_header(r);
    /* RCGC_PROGRESS=always: progress from the start, also into a file or
       pipe (one line each); by default only on a terminal, after 1 s */
    const char *env = getenv("RCGC_PROGRESS");
    bool always = env && strcmp(env, "always") == 0, tty = isatty(STDERR_FILENO);
    pass p = {.c = c, .reader = r, .site_of = u64map_new(), .stride = 1,
              .steps = o && o->time_steps,
              .progress = o && o->progress && (always || tty), .tty = tty,
              .progress_after = always ? 0 : 1};
    for (size_t k = 0; rca_kinds[k]; k++)
        p.slot_of_kind[(uint8_t)rca_kinds[k]] = (uint8_t)(k + 1);
    c->grid.shift = TIME_MIN_SHIFT;
    if ((c->nodes = malloc(sizeof *c->nodes))) /* the root */
        c->nodes[0] = (rca_node){.site = NO_SITE};
    c->nodes_cap = 1;
    for (int k = 0; o && k < o->nat && k < 2; k++)
        p.at_us[p.nat++] = o->at[k] <= 0 ? 0 : o->at[k] >= 1e12 ? UINT64_MAX - 1
                                                               : (uint64_t)(o->at[k] * 1e6);
    clock_gettime(CLOCK_MONOTONIC, &p.started);
    int rc = p.site_of && c->nodes ? rcc_read(r, on_event, &p) : fail(&p, "out of memory");
    for (size_t i = 0; p.steps && !p.failed && rc >= 0 && i < c->ninfos; i++)
        if (flush_step(&p, &p.infos[i]) == 0) /* the sums of the cells still open */
            flush_freed(&p, &p.infos[i]);
    if (p.shown_any && p.tty)
        fprintf(stderr, "\r\033[K");
    if (p.failed)
        snprintf(err, errlen, "%s: %s", path, p.err);
    else if (rc < 0)
        snprintf(err, errlen, "%s: %s", path, rcc_reader_error(r));
    else if (rc > 0) {
        c->truncated = true;
        snprintf(c->note, sizeof c->note, "%s", rcc_reader_error(r));
    }
    if (!p.failed && rc >= 0)
        finish(&p);
    free(p.infos);
    u64map_free(p.site_of);
    rcc_reader_close(r);
    if (p.failed || rc < 0) {
        rca_free(c);
        return -1;
    }
    return 0;
}

void rca_free(rca_capture *c)
{
    for (size_t i = 0; i < c->nmodules; i++)
        free((char *)c->modules[i].path);
    for (size_t i = 0; i < c->ntypes; i++)
        free(c->types[i]);
    free(c->modules);
    free(c->module_at);
    free(c->types);
    free(c->nodes);
    free(c->sites);
    free(c->samples);
    time_grid_free(&c->grid);
    rca_python_free(c);
    rct_symbols_unref(c->symbols);
    u64map_free(c->alloc_fn_memo);
    free(c->node_kinds);
    free(c->site_keys);
    memset(c, 0, sizeof *c);
}

/* Load what can be loaded; each = false stops at the first failure. */
static int load_and_run(char **paths, int n, const rca_options *o, bool each,
                        int (*fn)(rca_capture *cs, int n, void *ctx), void *ctx)
{
    char err[512];
    rca_capture *cs = calloc(n > 0 ? (size_t)n : 1, sizeof *cs);
    int loaded = 0, failed = 0, rc = EXIT_BAD_CAPTURE;
    if (!cs) {
        cli_error("out of memory");
        return EXIT_ERROR;
    }
    for (int i = 0; i < n && (each || !failed); i++) {
        if (rca_load(&cs[loaded], paths[i], o, err, sizeof err) != 0) {
            cli_error("%s", err);
            failed++;
            continue;
        }
        if (cs[loaded].truncated)
            cli_error("warning: %s: capture cut short (%s); analysing its complete chunks",
                      paths[i], cs[loaded].note);
        loaded++;
    }
    if (loaded && (each || !failed))
        rc = fn(cs, loaded, ctx);
    if (failed)
        rc = EXIT_BAD_CAPTURE;
    for (int i = 0; i < loaded; i++)
        rca_free(&cs[i]);
    free(cs);
    return rc;
}

int rca_with(char **paths, int n, const rca_options *o,
             int (*fn)(rca_capture *cs, int n, void *ctx), void *ctx)
{
    return load_and_run(paths, n, o, false, fn, ctx);
}

int rca_each(char **paths, int n, const rca_options *o,
             int (*fn)(rca_capture *cs, int n, void *ctx), void *ctx)
{
    return load_and_run(paths, n, o, true, fn, ctx);
}

/* ---- queries ---------------------------------------------------------------------- */

/* Is this module the preload shim (its main wrapper sits under main)? */
static bool is_shim(const char *module)
{
    const char *slash = module ? strrchr(module, '/') : NULL;
    return module && strncmp(slash ? slash + 1 : module, "librcgc_preload", 15) == 0;
}

/* names_is_alloc_fn, remembered per function name (the symbolizer's
   names are interned: one pointer per text) */
static bool is_alloc_fn(rca_capture *c, const char *function)
{
    if (!function)
        return false;
    if (!c->alloc_fn_memo)
        c->alloc_fn_memo = u64map_new();
    uint32_t *memo = c->alloc_fn_memo ? u64map_claim(c->alloc_fn_memo,
                                                     (uint64_t)(uintptr_t)function)
                                      : NULL;
    if (memo && *memo != UINT32_MAX)
        return *memo;
    bool is = names_is_alloc_fn(c->options, function);
    if (memo)
        *memo = is;
    return is;
}

/* What a stack node's frame is, looked up once per node: many sites share
   their outer nodes, and every verb asks for every site's frames. */
enum { NODE_KNOWN = 1, NODE_SHIM = 2, NODE_WRAPPER = 4 };

static unsigned node_kind(rca_capture *c, uint32_t node)
{
    if (!c->node_kinds && (c->node_kinds = calloc(c->nnodes + 1, 1)))
        c->node_kinds_len = c->nnodes + 1;
    bool memo = node < c->node_kinds_len;
    if (memo && c->node_kinds[node])
        return c->node_kinds[node];
    rct_symbols *sym = rca_symbols(c);
    void *ip = (void *)(uintptr_t)c->nodes[node].ip;
    rct_symbol s;
    unsigned kind = NODE_KNOWN;
    if (sym && rct_symbols_lookup(sym, ip, &s) == 0) {
        if (is_shim(s.module))
            kind |= NODE_SHIM;
        else if (!rca_is_pyframe(ip) && is_alloc_fn(c, s.function))
            kind |= NODE_WRAPPER;
    }
    if (memo)
        c->node_kinds[node] = (uint8_t)kind;
    return kind;
}

uint32_t rca_shown_parent(rca_capture *c, uint32_t node)
{
    do
        node = c->nodes[node].parent;
    while (node && (node_kind(c, node) & NODE_SHIM));
    return node;
}

uint32_t rca_innermost_shown(rca_capture *c, uint32_t node)
{
    if (node && (node_kind(c, node) & NODE_SHIM))
        node = rca_shown_parent(c, node);
    for (uint32_t outer; node && (node_kind(c, node) & NODE_WRAPPER) &&
                         (outer = rca_shown_parent(c, node)) != 0;)
        node = outer;
    return node;
}

size_t rca_frames(rca_capture *c, uint32_t node, void **frames)
{
    size_t n = 0;
    for (node = rca_innermost_shown(c, node); node && n < RCC_MAX_DEPTH;
         node = rca_shown_parent(c, node))
        frames[n++] = (void *)(uintptr_t)c->nodes[node].ip;
    return n;
}

rct_symbols *rca_symbols(rca_capture *c)
{
    if (!c->symbols) {
        c->symbols = rct_symbols_new_modules(c->modules, c->nmodules);
        rct_symbols_set_demangler(c->symbols, names_demangle);
        if (c->symbols && rca_python_symbols(c, c->symbols) != 0) {
            rct_symbols_unref(c->symbols);
            c->symbols = NULL;
        }
    }
    return c->symbols;
}

static uint64_t leaked_sum(const uint64_t *bytes, const uint64_t *blocks, uint64_t *nblocks)
{
    if (nblocks)
        *nblocks = blocks[RCA_DEFINITE] + blocks[RCA_INDIRECT] + blocks[RCA_POSSIBLE] +
                   blocks[RCA_UNKNOWN];
    return bytes[RCA_DEFINITE] + bytes[RCA_INDIRECT] + bytes[RCA_POSSIBLE] + bytes[RCA_UNKNOWN];
}

uint64_t rca_leaked(const rca_capture *c, uint64_t *blocks)
{
    return leaked_sum(c->leak_bytes, c->leak_blocks, blocks);
}

const char *rca_ended(const rca_capture *c, char *buf, size_t len)
{
    const char *abbrev = c->end_signal ? sigabbrev_np((int)c->end_signal) : NULL;
    if (!c->ended)
        snprintf(buf, len, "no end record");
    else if (!c->end_signal)
        snprintf(buf, len, "exit");
    else if (abbrev)
        snprintf(buf, len, "signal SIG%s", abbrev);
    else
        snprintf(buf, len, "signal %llu", (unsigned long long)c->end_signal);
    return buf;
}

const char *rca_type_name(const rca_capture *c, uint32_t type)
{
    return type && type < c->ntypes ? c->types[type] : NULL;
}

void rca_value(const rca_site *s, rca_metric m, uint64_t *bytes, uint64_t *blocks)
{
    switch (m) {
    case RCA_PEAK: *bytes = s->peak_bytes, *blocks = s->peak_blocks; break;
    case RCA_TOTAL: *bytes = s->total_bytes, *blocks = s->allocs; break;
    case RCA_COUNT: *bytes = s->allocs, *blocks = s->total_bytes; break;
    case RCA_TEMPORARY: *bytes = s->temps, *blocks = s->temp_bytes; break;
    case RCA_LEAKED: *bytes = leaked_sum(s->leak_bytes, s->leak_blocks, blocks); break;
    case RCA_AT0: case RCA_AT1:
        *bytes = s->at_bytes[m - RCA_AT0], *blocks = s->at_blocks[m - RCA_AT0];
        break;
    default: *bytes = *blocks = 0;
    }
}

/* The frame a site's rows are keyed by (NULL: no frame): its innermost
   shown frame, past those inside rcgc and (unless --native) those inside
   its innermost Python frame; remembered per site, as every table of the
   report asks again. */
static void *site_key(rca_capture *c, size_t site, rct_symbols *sym)
{
    if (!c->site_keys && (c->site_keys = malloc((c->nsites ? c->nsites : 1) * sizeof(void *))))
        for (size_t i = 0; i < c->nsites; i++)
            c->site_keys[i] = (void *)UINTPTR_MAX; /* not yet known: no frame is 2^64 - 1 */
    if (c->site_keys && c->site_keys[site] != (void *)UINTPTR_MAX)
        return c->site_keys[site];
    uint32_t node = rca_innermost_shown(c, c->sites[site].node);
    if (c->npycodes && !(c->options && c->options->native)) /* else no Python frame */
        for (uint32_t k = node; k; k = rca_shown_parent(c, k))
            if (rca_is_pyframe((void *)(uintptr_t)c->nodes[k].ip)) {
                node = k;
                break;
            }
    for (uint32_t outer; node && (outer = rca_shown_parent(c, node)) != 0 &&
                         rct_symbols_in_library(sym, (void *)(uintptr_t)c->nodes[node].ip);)
        node = outer;
    void *key = node ? (void *)(uintptr_t)c->nodes[node].ip : NULL;
    if (c->site_keys)
        c->site_keys[site] = key;
    return key;
}

typedef struct key_row {
    void *key;
    uint64_t bytes, blocks;
} key_row;

rc_snapshot *rca_snapshot(rca_capture *c, rca_metric m)
{
    rct_symbols *sym = rca_symbols(c);
    rc_snapshot *snap = sym ? rct_snapshot_new(sym) : NULL;
    u64map *row_of = u64map_new(); /* key frame -> row */
    key_row *rows = NULL;
    size_t nrows = 0, cap = 0;
    uint32_t no_frame = UINT32_MAX; /* the row of sites without a frame */
    bool ok = snap && row_of;
    for (size_t i = 0; ok && i < c->nsites; i++) {
        uint64_t bytes, blocks;
        rca_value(&c->sites[i], m, &bytes, &blocks);
        if (!bytes && !blocks)
            continue;
        void *key = site_key(c, i, sym);
        uint32_t *row = key ? u64map_claim(row_of, (uint64_t)(uintptr_t)key) : &no_frame;
        if (!row || (*row == UINT32_MAX &&
                     !cli_reserve((void **)&rows, &cap, nrows + 1, sizeof *rows))) {
            ok = false;
            break;
        }
        if (*row == UINT32_MAX) {
            rows[nrows] = (key_row){key, 0, 0};
            *row = (uint32_t)nrows++;
        }
        rows[*row].bytes += bytes;
        rows[*row].blocks += blocks;
    }
    for (size_t i = 0; ok && i < nrows; i++)
        ok = rct_snapshot_add(snap, &rows[i].key, rows[i].key ? 1 : 0, rows[i].bytes,
                              rows[i].blocks) == 0;
    free(rows);
    u64map_free(row_of);
    if (!ok) {
        rc_snapshot_free(snap);
        return NULL;
    }
    return snap;
}
