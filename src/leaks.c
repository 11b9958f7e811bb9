/*
 * leaks.c — the leak report: objects still alive, grouped by type and
 * allocation site, delivered through a callback; rc_heap_free collects
 * first, so that cyclic garbage one collection frees is not reported as
 * alive, then sends what is left to rc_config.on_leak (a debug heap prints
 * it by default), saying what the collection freed.
 *
 * Calls object.c's walk and tracing.c for sites.  Works in malloc'd memory
 * so that reporting never changes the heap it reports on.
 */
#include "rc_internal.h"
#include "trace/trace.h"

#include <stdlib.h>

typedef struct leak_group {
    rci_typerec *rec;
    rct_symbol site;        /* all NULL/0: unknown */
    size_t objects, bytes;
} leak_group;

typedef struct leak_ctx {
    leak_group *groups;
    size_t len, cap;
    bool failed;
} leak_ctx;

/* Sites compare by their strings' addresses: the symbolizer interns them. */
static bool same_site(const rct_symbol *a, const rct_symbol *b)
{
    return a->function == b->function && a->file == b->file && a->line == b->line;
}

static leak_group *group_for(leak_ctx *c, rci_typerec *r, const rct_symbol *site)
{
    for (size_t i = c->len; i-- > 0;) /* recent groups first: runs of one type */
        if (c->groups[i].rec == r && same_site(&c->groups[i].site, site))
            return &c->groups[i];
    if (c->len == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 64;
        leak_group *g = realloc(c->groups, cap * sizeof *g);
        if (!g)
            return NULL;
        c->groups = g;
        c->cap = cap;
    }
    leak_group *g = &c->groups[c->len++];
    memset(g, 0, sizeof *g);
    g->rec = r;
    g->site = *site;
    return g;
}

static void tally(rc_heap *h, rci_typerec *r, rc_head *hd, void *ctx)
{
    leak_ctx *c = ctx;
    if (hd->refcnt >= RC_IMMORTAL || (hd->flags & (RCI_F_PARKED | RCI_F_DYING)))
        return;
    uint32_t stack;
    rct_symbol site;
    rci_trace_site(h, hd, &stack, &site);
    site.module = NULL; /* grouped by function, file and line */
    leak_group *g = group_for(c, r, &site);
    if (!g) {
        c->failed = true;
        return;
    }
    g->objects++;
    g->bytes += rc_sizeof(rci_obj(hd)) + sizeof(rc_head);
}

static int by_bytes_desc(const void *x, const void *y)
{
    const leak_group *a = x, *b = y;
    if (a->bytes != b->bytes)
        return a->bytes < b->bytes ? 1 : -1;
    return a->objects < b->objects ? 1 : a->objects > b->objects ? -1 : 0;
}

static size_t report(rc_heap *h, rc_leak_fn fn, void *ctx, size_t collected_objects,
                     size_t collected_bytes)
{
    leak_ctx c = {0};
    rci_for_each_object(h, false, tally, &c);
    if (c.len)
        qsort(c.groups, c.len, sizeof *c.groups, by_bytes_desc);
    for (size_t i = 0; i < c.len; i++) {
        const leak_group *g = &c.groups[i];
        rc_leak leak = {g->rec->type, g->site.function, g->site.file, g->site.line,
                        g->objects, g->bytes, collected_objects, collected_bytes};
        fn(&leak, ctx);
    }
    free(c.groups);
    return c.len;
}

size_t rc_leak_report(rc_heap *h, rc_leak_fn fn, void *ctx)
{
    return report(h, fn, ctx, 0, 0);
}

/* Bytes of live blocks (objects and raw). */
static size_t live_bytes(const rc_heap *h)
{
    rc_alloc_stats s;
    rc_alloc_stats_get(h, &s);
    return s.small_bytes + s.large_bytes + s.huge_bytes;
}

/* A debug heap's report on stderr: what the collection freed, once, before
   the first group, or alone when nothing is left. */
static void say_collected(const rc_leak *leak)
{
    fprintf(stderr, "rcgc: rc_heap_free: collected first: %zu object%s (%zu bytes) of "
            "cyclic garbage freed%s\n", leak->collected_objects,
            leak->collected_objects == 1 ? "" : "s", leak->collected_bytes,
            leak->type ? "; still alive:" : ", nothing left alive");
}

static void print_after_collection(const rc_leak *leak, void *ctx)
{
    bool *said = ctx;
    if (!*said)
        say_collected(leak);
    *said = true;
    rc_leak_print(leak, stderr);
}

void rci_leak_teardown_report(rc_heap *h)
{
    size_t before = live_bytes(h);
    size_t objects = rc_collect(h, -1);
    size_t after = live_bytes(h), bytes = before > after ? before - after : 0;
    if (h->cfg.on_leak) {
        report(h, h->cfg.on_leak, h->cfg.on_leak_ctx, objects, bytes);
        return;
    }
    bool said = false;
    if (report(h, print_after_collection, &said, objects, bytes) == 0 && objects)
        say_collected(&(rc_leak){.collected_objects = objects, .collected_bytes = bytes});
}

void rc_leak_print(const rc_leak *leak, void *ctx)
{
    FILE *out = ctx ? ctx : stderr;
    fprintf(out, "rcgc: leak: %zu %s object%s, %zu bytes", leak->objects, leak->type->name,
            leak->objects == 1 ? "" : "s", leak->bytes);
    if (leak->function || leak->file)
        fprintf(out, ", allocated in %s at %s:%d", leak->function ? leak->function : "?",
                leak->file ? leak->file : "?", leak->line);
    fputc('\n', out);
}
