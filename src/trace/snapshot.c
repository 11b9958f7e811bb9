/*
 * snapshot.c — snapshots of traced memory and the reports on them:
 * by line, by function, by whole stack, filtered, and compared (the
 * statistics() and compare_to() of Python's tracemalloc).
 *
 * A snapshot is a malloc'd list of (stack, bytes, blocks), independent of
 * the heap or capture it came from; symbols are resolved when a report asks
 * for them, through the symbolizer the snapshot holds a reference on, and
 * the strings it returns live as long as the snapshot.
 */
#define _GNU_SOURCE
#include "trace.h"

#include "rcgc.h"

#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

typedef struct snap_stack {
    size_t bytes, blocks;
    size_t offset, depth;   /* frames[offset .. offset + depth) */
} snap_stack;

struct rc_snapshot {
    rct_symbols *symbols;
    snap_stack *stacks;
    size_t nstacks, stacks_cap;
    void **frames;
    size_t nframes, frames_cap;
    size_t bytes, blocks;
};

rc_snapshot *rct_snapshot_new(rct_symbols *symbols)
{
    rc_snapshot *s = calloc(1, sizeof *s);
    if (s && symbols)
        s->symbols = rct_symbols_ref(symbols);
    return s;
}

void rc_snapshot_free(rc_snapshot *s)
{
    if (!s)
        return;
    if (s->symbols)
        rct_symbols_unref(s->symbols);
    free(s->stacks);
    free(s->frames);
    free(s);
}

static bool reserve(void **array, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return true;
    size_t n = *cap ? *cap * 2 : 64;
    while (n < need)
        n *= 2;
    void *p = realloc(*array, n * elem);
    if (!p)
        return false;
    *array = p;
    *cap = n;
    return true;
}

int rct_snapshot_add(rc_snapshot *s, void *const *frames, size_t depth, size_t bytes,
                     size_t blocks)
{
    if (!reserve((void **)&s->stacks, &s->stacks_cap, s->nstacks + 1, sizeof *s->stacks) ||
        !reserve((void **)&s->frames, &s->frames_cap, s->nframes + depth, sizeof *s->frames))
        return -1;
    s->stacks[s->nstacks++] = (snap_stack){bytes, blocks, s->nframes, depth};
    if (depth) /* a stack of no frames may come with no arrays at all */
        memcpy(s->frames + s->nframes, frames, depth * sizeof *frames);
    s->nframes += depth;
    s->bytes += bytes;
    s->blocks += blocks;
    return 0;
}

/* ---- Building from a heap's tables -------------------------------------- */

typedef struct per_stack {
    size_t bytes, blocks;
} per_stack;

static void tally(uintptr_t addr, uint32_t stack, size_t size, void *ctx)
{
    (void)addr;
    per_stack *ps = ctx;
    ps[stack].bytes += size;
    ps[stack].blocks++;
}

rc_snapshot *rct_snapshot_build(const rct_blocks *b, const rct_stacks *st,
                                rct_symbols *symbols)
{
    size_t n = rct_stacks_count(st);
    per_stack *ps = calloc(n ? n : 1, sizeof *ps);
    rc_snapshot *s = rct_snapshot_new(symbols);
    if (!ps || !s)
        goto fail;
    rct_blocks_foreach(b, tally, ps);
    for (uint32_t id = 0; id < n; id++) {
        if (!ps[id].blocks)
            continue;
        void *const *frames;
        size_t depth = rct_stacks_get(st, id, &frames);
        if (rct_snapshot_add(s, frames, depth, ps[id].bytes, ps[id].blocks) != 0)
            goto fail;
    }
    free(ps);
    return s;
fail:
    free(ps);
    rc_snapshot_free(s);
    return NULL;
}

size_t rc_snapshot_total(const rc_snapshot *s, size_t *blocks)
{
    if (blocks)
        *blocks = s->blocks;
    return s->bytes;
}

/* ---- Grouping -------------------------------------------------------------- */

static rct_symbol symbol_at(const rc_snapshot *s, const void *addr)
{
    rct_symbol sym = {0};
    if (s->symbols)
        rct_symbols_lookup(s->symbols, addr, &sym);
    return sym;
}

static int cmp_str(const char *a, const char *b)
{
    if (a == b)
        return 0;
    if (!a || !b)
        return a ? 1 : -1;
    return strcmp(a, b);
}

static int cmp_key(const rc_trace_stat *a, const rc_trace_stat *b)
{
    int c = cmp_str(a->file, b->file);
    if (!c)
        c = a->line < b->line ? -1 : a->line > b->line;
    if (!c)
        c = cmp_str(a->function, b->function);
    return c;
}

static int by_key(const void *x, const void *y)
{
    return cmp_key(x, y);
}

static int by_bytes_desc(const void *x, const void *y)
{
    const rc_trace_stat *a = x, *b = y;
    if (a->bytes != b->bytes)
        return a->bytes < b->bytes ? 1 : -1;
    return cmp_key(a, b);
}

/* One row per stack keyed by its innermost frame (function and, unless
   function_only, file and line), merged and sorted by bytes.  Returns the
   rows (malloc'd; *n of them), or NULL. */
static rc_trace_stat *group_rows(const rc_snapshot *s, bool function_only, size_t *n)
{
    rc_trace_stat *rows = malloc((s->nstacks ? s->nstacks : 1) * sizeof *rows);
    if (!rows)
        return NULL;
    for (size_t i = 0; i < s->nstacks; i++) {
        const snap_stack *st = &s->stacks[i];
        rct_symbol sym = {0};
        if (st->depth)
            sym = symbol_at(s, s->frames[st->offset]);
        rows[i] = (rc_trace_stat){sym.function, function_only ? NULL : sym.file,
                                  function_only ? 0 : sym.line, st->bytes, st->blocks};
    }
    qsort(rows, s->nstacks, sizeof *rows, by_key);
    size_t m = 0;
    for (size_t i = 0; i < s->nstacks; i++) {
        if (m && cmp_key(&rows[m - 1], &rows[i]) == 0) {
            rows[m - 1].bytes += rows[i].bytes;
            rows[m - 1].blocks += rows[i].blocks;
        } else
            rows[m++] = rows[i];
    }
    qsort(rows, m, sizeof *rows, by_bytes_desc);
    *n = m;
    return rows;
}

static size_t copy_rows(const rc_snapshot *s, bool function_only, rc_trace_stat *out,
                        size_t cap)
{
    size_t n;
    rc_trace_stat *rows = group_rows(s, function_only, &n);
    if (!rows)
        return 0;
    memcpy(out, rows, (n < cap ? n : cap) * sizeof *rows);
    free(rows);
    return n;
}

size_t rc_snapshot_by_line(const rc_snapshot *s, rc_trace_stat *out, size_t cap)
{
    return copy_rows(s, false, out, cap);
}

size_t rc_snapshot_by_function(const rc_snapshot *s, rc_trace_stat *out, size_t cap)
{
    return copy_rows(s, true, out, cap);
}

/* ---- Whole stacks ------------------------------------------------------------ */

static int stack_bytes_desc(const void *x, const void *y)
{
    const rc_trace_stack_stat *a = x, *b = y;
    if (a->bytes != b->bytes)
        return a->bytes < b->bytes ? 1 : -1;
    return a->id < b->id ? -1 : a->id > b->id;
}

size_t rc_snapshot_by_stack(const rc_snapshot *s, rc_trace_stack_stat *out, size_t cap)
{
    rc_trace_stack_stat *all = malloc((s->nstacks ? s->nstacks : 1) * sizeof *all);
    if (!all)
        return 0;
    for (size_t i = 0; i < s->nstacks; i++)
        all[i] = (rc_trace_stack_stat){s->stacks[i].bytes, s->stacks[i].blocks,
                                       s->stacks[i].depth, i};
    qsort(all, s->nstacks, sizeof *all, stack_bytes_desc);
    memcpy(out, all, (s->nstacks < cap ? s->nstacks : cap) * sizeof *all);
    free(all);
    return s->nstacks;
}

int rc_snapshot_frame(const rc_snapshot *s, size_t id, size_t i, rc_trace_frame *out)
{
    if (id >= s->nstacks || i >= s->stacks[id].depth)
        return -1;
    const void *addr = s->frames[s->stacks[id].offset + i];
    rct_symbol sym = symbol_at(s, addr);
    *out = (rc_trace_frame){sym.function, sym.file, sym.line, addr};
    return 0;
}

/* ---- Filters -------------------------------------------------------------------- */

static bool stack_matches(const rc_snapshot *s, const snap_stack *st, const char *pattern)
{
    for (size_t i = 0; i < st->depth; i++) {
        rct_symbol sym = symbol_at(s, s->frames[st->offset + i]);
        if (sym.file && fnmatch(pattern, sym.file, 0) == 0)
            return true;
    }
    return false;
}

rc_snapshot *rc_snapshot_filter(const rc_snapshot *s, const char *pattern, int include)
{
    rc_snapshot *f = rct_snapshot_new(s->symbols);
    if (!f)
        return NULL;
    for (size_t i = 0; i < s->nstacks; i++) {
        const snap_stack *st = &s->stacks[i];
        if (stack_matches(s, st, pattern) != (include != 0))
            continue;
        if (rct_snapshot_add(f, s->frames + st->offset, st->depth, st->bytes,
                             st->blocks) != 0) {
            rc_snapshot_free(f);
            return NULL;
        }
    }
    return f;
}

/* ---- Comparing two snapshots ------------------------------------------------------ */

static long long delta(size_t a, size_t b)
{
    return (long long)a - (long long)b;
}

static int diff_desc(const void *x, const void *y)
{
    const rc_trace_diff *a = x, *b = y;
    long long da = llabs(a->bytes_diff), db = llabs(b->bytes_diff);
    if (da != db)
        return da < db ? 1 : -1;
    if (a->bytes != b->bytes)
        return a->bytes < b->bytes ? 1 : -1;
    return cmp_str(a->file, b->file);
}

size_t rc_snapshot_compare(const rc_snapshot *newer, const rc_snapshot *older,
                           rc_trace_diff *out, size_t cap)
{
    size_t nn, no;
    rc_trace_stat *a = group_rows(newer, false, &nn);
    rc_trace_stat *b = group_rows(older, false, &no);
    rc_trace_diff *d = malloc((nn + no ? nn + no : 1) * sizeof *d);
    size_t m = 0;
    if (a && b && d) {
        qsort(a, nn, sizeof *a, by_key);
        qsort(b, no, sizeof *b, by_key);
        size_t i = 0, j = 0;
        while (i < nn || j < no) {
            int c = i == nn ? 1 : j == no ? -1 : cmp_key(&a[i], &b[j]);
            const rc_trace_stat *k = c <= 0 ? &a[i] : &b[j];
            size_t nb = c <= 0 ? a[i].bytes : 0, nk = c <= 0 ? a[i].blocks : 0;
            size_t ob = c >= 0 ? b[j].bytes : 0, ok = c >= 0 ? b[j].blocks : 0;
            d[m++] = (rc_trace_diff){k->function, k->file, k->line, delta(nb, ob),
                                     delta(nk, ok), nb, nk};
            i += c <= 0;
            j += c >= 0;
        }
        qsort(d, m, sizeof *d, diff_desc);
        memcpy(out, d, (m < cap ? m : cap) * sizeof *d);
    }
    free(a);
    free(b);
    free(d);
    return m;
}
