/*
 * leak_hunt.c — finding a leak with rcgc's tools, end to end.  The guide
 * "Finding a leak with rcgc" in docs/TRACING.md walks through this
 * program's output.
 *
 * A small document server answers requests such as "/doc/7?t=1234": it
 * parses the URL (temporary strings and a list, dropped at once), renders
 * a page object (a title, a body, its URL) and hands it to the caller,
 * which drops it after sending.  Someone added a response cache to save
 * rendering — keyed by the whole URL, per-request t= parameter included.
 * No key is ever seen twice, so no entry is ever used again and none is
 * evicted: every page ever rendered stays alive.  That is the leak.
 *
 * The hunt: trace allocations; take a snapshot and a census, run more
 * requests, take them again; compare (which line's memory grows?); look at
 * the whole stack of that line; ask why one of the growing objects is
 * still alive (rc_path_to); and let rc_heap_free report what is left.
 *
 * Build with frame pointers and debug info (examples/CMakeLists.txt does:
 * -fno-omit-frame-pointer -g -Og).  Run: leak_hunt [--fixed]; --fixed is
 * the repair: the cache is keyed by the path alone (nothing grows) and is
 * released before rc_heap_free (nothing is reported).
 */
#include "rcgc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A rendered page: three references, so the collector tracks it. */
typedef struct page {
    void *url;     /* str: the request that rendered it */
    void *title;   /* str */
    void *body;    /* str, a few hundred bytes */
} page;

static void page_traverse(void *self, rc_visit_fn visit, void *ctx)
{
    page *p = self;
    visit(&p->url, ctx);
    visit(&p->title, ctx);
    visit(&p->body, ctx);
}

static const rc_type page_type = {.name = "page", .size = sizeof(page),
                                  .traverse = page_traverse};

static void *page_cache;   /* dict: cache key -> page (the program's global) */
static int fixed;          /* --fixed: key the cache by the path only */

static void fail(const char *what)
{
    fprintf(stderr, "leak_hunt: %s failed\n", what);
    exit(1);
}

/* "/doc/7?t=1234" -> ["doc", "7"]: temporaries, dropped by the caller. */
static void *split_path(rc_heap *h, const char *url)
{
    void *parts = rc_list(h);
    const char *p = url + 1, *end = strchr(url, '?');
    if (!parts)
        fail("rc_list");
    if (!end)
        end = url + strlen(url);
    while (p < end) {
        const char *slash = memchr(p, '/', (size_t)(end - p));
        size_t n = (size_t)((slash ? slash : end) - p);
        void *s = rc_str(h, p, n);
        if (!s || rc_list_append(parts, s) != 0)
            fail("rc_list_append");
        rc_decref(s);
        p += n + 1;
    }
    return parts;
}

static page *render_page(rc_heap *h, void *url, long doc)
{
    page *pg = rc_new(h, &page_type);
    rc_strbuf b;
    if (!pg)
        fail("rc_new");
    rc_set(&pg->url, url);
    pg->title = rc_str_cstr(h, "Document");
    rc_strbuf_init(&b, h);
    rc_strbuf_appendf(&b, "<html><h1>Document %ld</h1>", doc);
    for (int i = 0; i < 8; i++)
        rc_strbuf_appendf(&b, "<p>Paragraph %d of document %ld.</p>", i, doc);
    rc_strbuf_append(&b, "</html>", 7);
    pg->body = rc_strbuf_finish(&b);
    if (!pg->title || !pg->body)
        fail("rendering");
    return pg;
}

/* The cache.  The bug: the key is the whole URL. */
static void *cache_key(rc_heap *h, void *url)
{
    size_t n;
    const char *s = rc_str_data(url, &n);
    const char *q = fixed ? memchr(s, '?', n) : NULL;
    if (!q) {
        rc_incref(url);
        return url;
    }
    return rc_str(h, s, (size_t)(q - s));
}

static page *get_page(rc_heap *h, void *url, long doc)
{
    void *key = cache_key(h, url);
    page *pg = rc_dict_get(page_cache, key); /* borrowed */
    if (pg) {
        rc_incref(pg);
    } else {
        pg = render_page(h, url, doc);
        if (rc_dict_set(page_cache, key, pg) != 0)
            fail("rc_dict_set");
    }
    rc_decref(key);
    return pg; /* a new reference */
}

/* One request: parse, get the page, "send" it, drop everything. */
static size_t handle_request(rc_heap *h, long n)
{
    char text[64];
    long doc = n % 50;
    snprintf(text, sizeof text, "/doc/%ld?t=%ld", doc, n);
    void *url = rc_str_cstr(h, text);
    if (!url)
        fail("rc_str_cstr");
    void *parts = split_path(h, text);
    page *pg = get_page(h, url, doc);
    size_t sent = rc_str_len(pg->body) + rc_list_len(parts);
    rc_decref(pg);
    rc_decref(parts);
    rc_decref(url);
    return sent;
}

static size_t serve(rc_heap *h, long first, long count)
{
    size_t sent = 0;
    for (long n = first; n < first + count; n++)
        sent += handle_request(h, n);
    return sent;
}

/* ---- Printing ------------------------------------------------------------- */

static const char *base(const char *path)
{
    const char *slash = path ? strrchr(path, '/') : NULL;
    return slash ? slash + 1 : path ? path : "?";
}

static void print_by_line(const rc_snapshot *s, size_t top)
{
    rc_trace_stat st[8];
    size_t n = rc_snapshot_by_line(s, st, 8), blocks;
    size_t total = rc_snapshot_total(s, &blocks);
    printf("  %zu bytes in %zu blocks traced; top lines:\n", total, blocks);
    for (size_t i = 0; i < n && i < top; i++)
        printf("  %8zu B %6zu blocks  %s:%d (%s)\n", st[i].bytes, st[i].blocks,
               base(st[i].file), st[i].line, st[i].function ? st[i].function : "?");
}

static void print_compare(const rc_snapshot *newer, const rc_snapshot *older, size_t top)
{
    rc_trace_diff d[8];
    size_t n = rc_snapshot_compare(newer, older, d, 8);
    for (size_t i = 0; i < n && i < top; i++)
        printf("  %+9lld B %+7lld blocks  (now %8zu B)  %s:%d (%s)\n", d[i].bytes_diff,
               d[i].blocks_diff, d[i].bytes, base(d[i].file), d[i].line,
               d[i].function ? d[i].function : "?");
}

/* The whole stack of the largest group whose innermost frame is at file:line. */
static void print_stack_of(const rc_snapshot *s, const char *file, int line)
{
    rc_trace_stack_stat st[64];
    size_t n = rc_snapshot_by_stack(s, st, 64);
    for (size_t i = 0; i < n && i < 64; i++) {
        rc_trace_frame f;
        if (rc_snapshot_frame(s, st[i].id, 0, &f) != 0 || f.line != line || !f.file ||
            strcmp(f.file, file) != 0)
            continue;
        printf("  %zu B in %zu blocks allocated from:\n", st[i].bytes, st[i].blocks);
        for (size_t k = 0; k < st[i].depth && rc_snapshot_frame(s, st[i].id, k, &f) == 0;
             k++)
            printf("    #%zu %s at %s:%d\n", k, f.function ? f.function : "?",
                   base(f.file), f.line);
        return;
    }
}

typedef struct oldest {
    page *pg;      /* the page with the smallest t= seen so far */
    long t;
} oldest;

static void find_oldest(void *obj, void *ctx)
{
    oldest *o = ctx;
    if (rc_typeof(obj) != &page_type)
        return;
    const char *q = strstr(rc_str_data(((page *)obj)->url, NULL), "?t=");
    long t = q ? atol(q + 3) : -1;
    if (!o->pg || t < o->t)
        *o = (oldest){obj, t};
}

static void print_census_diff(const rc_census *newer, const rc_census *older)
{
    rc_census_diff d[16];
    size_t n = rc_census_compare(newer, older, d, 16);
    for (size_t i = 0; i < n && i < 16; i++)
        printf("  %+7lld objects %+9lld B  %s (now %zu objects)\n", d[i].objects_diff,
               d[i].bytes_diff, d[i].type->name, d[i].objects);
}

/* on_leak: rc_leak_print's line, with the file's base name. */
static void report_leak(const rc_leak *leak, void *ctx)
{
    ++*(int *)ctx;
    printf("  %6zu %-5s %8zu B", leak->objects, leak->type->name, leak->bytes);
    if (leak->function || leak->file)
        printf("  allocated in %s at %s:%d", leak->function ? leak->function : "?",
               base(leak->file), leak->line);
    putchar('\n');
}

int main(int argc, char **argv)
{
    fixed = argc > 1 && strcmp(argv[1], "--fixed") == 0;
    int leaks = 0;
    rc_config cfg;
    rc_config_init(&cfg);
    cfg.on_leak = report_leak;   /* rc_heap_free reports what is still alive */
    cfg.on_leak_ctx = &leaks;
    rc_heap *h = rc_heap_new(&cfg);
    if (!h || !(page_cache = rc_dict(h)))
        fail("rc_heap_new");

    printf("== 1. trace allocations, 16 frames each%s\n", fixed ? "  [--fixed]" : "");
    if (rc_trace_start(h, 16) != 0)
        fail("rc_trace_start");
    serve(h, 0, 1000); /* warm up: caches and free lists fill */
    rc_timeline_sample(h);

    printf("== 2. snapshot and census after 1000 requests\n");
    rc_snapshot *before = rc_trace_snapshot(h);
    rc_census *cbefore = rc_census_take(h);
    if (!before || !cbefore)
        fail("snapshot");
    print_by_line(before, 3);

    for (int batch = 1; batch <= 5; batch++) {
        serve(h, 1000 * batch, 1000);
        rc_timeline_sample(h);
    }
    printf("== 3. the same after 5000 more\n");
    rc_snapshot *after = rc_trace_snapshot(h);
    rc_census *cafter = rc_census_take(h);
    if (!after || !cafter)
        fail("snapshot");
    print_by_line(after, 3);

    printf("== 4. what grew (rc_snapshot_compare, by line)\n");
    print_compare(after, before, 5);

    rc_trace_diff top[1];
    if (rc_snapshot_compare(after, before, top, 1) > 0 && top[0].bytes_diff > 0 &&
        top[0].file) {
        printf("== 5. the whole stack of the top line\n");
        print_stack_of(after, top[0].file, top[0].line);
    }

    printf("== 6. traced memory over time (rc_timeline_get)\n");
    rc_mem_sample tl[8];
    size_t ns = rc_timeline_get(h, tl, 8);
    for (size_t i = 0; i < ns && i < 8; i++)
        printf("  after %4zu requests: %7zu B traced, %7zu B from the page source\n",
               1000 * (i + 1), tl[i].traced_bytes, tl[i].heap_bytes);

    oldest o = {NULL, 0};
    rc_gc_foreach(h, -1, find_oldest, &o);
    printf("== 7. why is the oldest page (t=%ld) still alive? (rc_path_to)\n", o.t);
    rc_path *path = o.pg ? rc_path_to(h, o.pg) : NULL;
    if (path)
        rc_path_print(path, stdout);
    else
        printf("  no page is alive\n");
    rc_path_free(path);

    printf("== 8. census difference, by type (rc_census_compare)\n");
    print_census_diff(cafter, cbefore);

    rc_snapshot_free(before);
    rc_snapshot_free(after);
    rc_census_free(cbefore);
    rc_census_free(cafter);
    /* The leaky version never releases its cache; the repaired one does. */
    if (fixed)
        rc_decref(page_cache);
    printf("== 9. rc_heap_free: what is still alive (the leak report)\n");
    rc_heap_free(h);
    if (!leaks)
        printf("  nothing\n");
    return 0;
}
