/*
 * test_capture.c — the capture file library (tools/capture): round trips of
 * every record kind, deltas across chunk boundaries, a million random
 * events from interleaved writers, and hostile input: truncation at every
 * byte, single-bit flips, wrong magic and version, oversized lengths and
 * counts (read under a small address-space limit when not sanitized).
 *
 *   test_capture          everything
 *   test_capture small    10,000 random events (for valgrind)
 */
#define _GNU_SOURCE
#include "capture.h"
#include "check.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#if defined(__SANITIZE_ADDRESS__)
#define SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANITIZED 1
#endif
#endif
#ifndef SANITIZED
#define SANITIZED 0
#endif

static char dir[] = "/tmp/rcgc_test_capture_XXXXXX";

static void path_of(char *out, size_t cap, const char *name)
{
    snprintf(out, cap, "%s/%s", dir, name);
}

/* ---- Collecting what a reader gives ----------------------------------------------- */

typedef struct stored_event {
    rcc_event e;
    char *text;               /* MODULE, TYPE: a copy */
} stored_event;

static char *copy_text(const rcc_event *e)
{
    if (e->kind != RCC_MODULE && e->kind != RCC_TYPE)
        return NULL;
    char *t = strdup(e->text ? e->text : "");
    CHECK(t);
    return t;
}

typedef struct events {
    stored_event *v;
    size_t n, cap;
    size_t stop_after; /* 0: never stop */
} events;

static void push(events *ev, const rcc_event *e)
{
    if (ev->n == ev->cap) {
        ev->cap = ev->cap ? ev->cap * 2 : 1024;
        ev->v = realloc(ev->v, ev->cap * sizeof *ev->v);
        CHECK(ev->v);
    }
    stored_event *s = &ev->v[ev->n++];
    s->e = *e;
    s->e.text = NULL;
    s->text = copy_text(e);
}

static void free_stored(stored_event *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i].text);
    free(v);
}

static void free_events(events *ev)
{
    free_stored(ev->v, ev->n);
    ev->v = NULL;
    ev->n = ev->cap = 0;
}

static int collect(const rcc_event *e, void *ctx)
{
    events *ev = ctx;
    push(ev, e);
    return ev->stop_after && ev->n % ev->stop_after == 0;
}

static bool same_event(const stored_event *a, const stored_event *b)
{
    const rcc_event *x = &a->e, *y = &b->e;
    if (x->kind != y->kind)
        return false;
    switch (x->kind) {
    case RCC_MODULE:
        return x->ip == y->ip && x->size == y->size && strcmp(a->text, b->text) == 0;
    case RCC_STACK:
        return x->stack == y->stack && x->ip == y->ip && x->id == y->id;
    case RCC_TYPE:
        return x->id == y->id && strcmp(a->text, b->text) == 0;
    case RCC_ALLOC:
        return x->time_us == y->time_us && x->addr == y->addr && x->size == y->size &&
               x->stack == y->stack && x->id == y->id;
    case RCC_FREE:
        return x->time_us == y->time_us && x->addr == y->addr;
    case RCC_SAMPLE:
        return x->time_us == y->time_us && x->heap_bytes == y->heap_bytes &&
               x->rss_bytes == y->rss_bytes;
    case RCC_LEAK:
        return x->addr == y->addr && x->status == y->status;
    case RCC_END:
        return x->time_us == y->time_us && x->status == y->status &&
               x->heap_bytes == y->heap_bytes && x->peak_time_us == y->peak_time_us;
    }
    return false;
}

/* Read a whole capture; returns rcc_read's value (or -2 if it did not open). */
static int read_all(const char *path, events *ev, char *err, size_t errlen)
{
    rcc_reader *r = rcc_reader_open(path, err, errlen);
    if (!r)
        return -2;
    int rc;
    while ((rc = rcc_read(r, collect, ev)) == 2)
        ;
    snprintf(err, errlen, "%s", rcc_reader_error(r));
    CHECK(rcc_reader_offset(r) <= rcc_reader_size(r));
    rcc_reader_close(r);
    return rc;
}

/* ---- Writing: a sink that appends to an fd and remembers chunk ends ------------------ */

typedef struct file_sink {
    int fd;
    size_t bytes;             /* written so far (header included) */
    size_t ends[4096];        /* file size after each chunk */
    size_t nchunks;
} file_sink;

static int sink_write(void *ctx, const void *chunk, size_t len)
{
    file_sink *s = ctx;
    CHECK(write(s->fd, chunk, len) == (ssize_t)len);
    s->bytes += len;
    if (s->nchunks < 4096)
        s->ends[s->nchunks++] = s->bytes;
    return 0;
}

/* ---- Round trip of every record kind ------------------------------------------------- */

static void fill_text(char *buf, size_t n, char c)
{
    memset(buf, c, n);
    buf[n] = 0;
}

static void test_every_kind(void)
{
    char path[256];
    path_of(path, sizeof path, "kinds.cap");
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    CHECK(fd >= 0);
    rcc_writer *w = rcc_writer_open(fd, 4242);
    CHECK(w);
    static char longest[RCC_MAX_STRING + 1], too_long[RCC_MAX_STRING + 2];
    fill_text(longest, RCC_MAX_STRING, 'x');
    fill_text(too_long, RCC_MAX_STRING + 1, 'y');
    stored_event want[32];
    memset(want, 0, sizeof want);
    size_t n = 0;
    rcc_event es[] = {
        {.kind = RCC_MODULE, .ip = 0x400000, .size = 0x1000, .text = "/bin/prog"},
        {.kind = RCC_MODULE, .ip = UINT64_MAX, .size = 0, .text = ""},
        {.kind = RCC_MODULE, .ip = 1, .size = UINT64_MAX, .text = longest},
        {.kind = RCC_STACK, .stack = 0, .ip = 0x401234},
        {.kind = RCC_STACK, .stack = 1, .ip = UINT64_MAX},
        {.kind = RCC_STACK, .stack = 2, .ip = 0},
        {.kind = RCC_TYPE, .id = 1, .text = "widget"},
        {.kind = RCC_TYPE, .id = UINT64_MAX, .text = longest},
        {.kind = RCC_ALLOC, .time_us = 5, .addr = 0x7f0000001000, .size = 24, .stack = 3, .id = 1},
        {.kind = RCC_ALLOC, .time_us = 5, .addr = 0x10, .size = 0, .stack = 0, .id = 0},
        {.kind = RCC_ALLOC, .time_us = UINT64_MAX - 1, .addr = UINT64_MAX, .size = UINT64_MAX,
         .stack = 2, .id = UINT64_MAX},
        {.kind = RCC_FREE, .time_us = UINT64_MAX, .addr = 0},
        {.kind = RCC_SAMPLE, .time_us = UINT64_MAX, .heap_bytes = UINT64_MAX, .rss_bytes = 0},
        {.kind = RCC_LEAK, .addr = 0x7f0000001000, .status = RCC_REACHABLE},
        {.kind = RCC_LEAK, .addr = 0x10, .status = RCC_INDIRECT},
        {.kind = RCC_LEAK, .addr = UINT64_MAX, .status = RCC_DEFINITE},
        {.kind = RCC_END, .time_us = UINT64_MAX, .status = -1, .heap_bytes = 123456789,
         .peak_time_us = 77},
        {.kind = RCC_END, .time_us = UINT64_MAX, .status = INT64_MIN, .heap_bytes = 0,
         .peak_time_us = UINT64_MAX},
        {.kind = RCC_END, .time_us = UINT64_MAX, .status = INT64_MAX, .heap_bytes = 1,
         .peak_time_us = 0},
    };
    for (size_t i = 0; i < sizeof es / sizeof *es; i++) {
        CHECK(rcc_write(w, &es[i]) == 0);
        want[n].e = es[i];
        want[n].text = copy_text(&es[i]);
        if (es[i].kind == RCC_STACK)
            want[n].e.id = (uint64_t)(i - 2); /* nodes numbered 1, 2, 3 */
        n++;
    }
    /* refused without harm: an unknown kind, a string over the bound */
    CHECK(rcc_write(w, &(rcc_event){.kind = 'Z'}) == -1);
    CHECK(rcc_write(w, &(rcc_event){.kind = RCC_TYPE, .id = 9, .text = too_long}) == -1);
    /* a time that goes back is written as the previous one */
    CHECK(rcc_writer_flush(w) == 0);
    CHECK(rcc_write(w, &(rcc_event){.kind = RCC_FREE, .time_us = 100, .addr = 8}) == 0);
    CHECK(rcc_write(w, &(rcc_event){.kind = RCC_FREE, .time_us = 90, .addr = 16}) == 0);
    want[n++].e = (rcc_event){.kind = RCC_FREE, .time_us = 100, .addr = 8};
    want[n++].e = (rcc_event){.kind = RCC_FREE, .time_us = 100, .addr = 16};
    CHECK(rcc_writer_close(w) == 0);
    close(fd);

    events ev = {0};
    char err[512];
    CHECK(read_all(path, &ev, err, sizeof err) == 0);
    CHECK(ev.n == n);
    for (size_t i = 0; i < n; i++) {
        if (!same_event(&ev.v[i], &want[i]))
            fprintf(stderr, "record %zu (%c) differs\n", i, want[i].e.kind);
        CHECK(same_event(&ev.v[i], &want[i]));
    }
    rcc_reader *r = rcc_reader_open(path, err, sizeof err);
    CHECK(r && rcc_reader_header(r)->pid == 4242 && rcc_reader_header(r)->version == 1);
    CHECK(rcc_reader_header(r)->start_realtime_ns > UINT64_C(1500000000) * 1000000000u);
    /* stopping early and going on gives the same records */
    events part = {.stop_after = 3};
    int rc, stops = 0;
    while ((rc = rcc_read(r, collect, &part)) == 2)
        stops++;
    CHECK(rc == 0 && part.n == n && stops == (int)(n / 3));
    CHECK(rcc_read(r, collect, &part) == 0 && part.n == n); /* still 0 after the end */
    CHECK(rcc_reader_offset(r) == rcc_reader_size(r));
    rcc_reader_close(r);
    free_events(&ev);
    free_events(&part);
    for (size_t i = 0; i < n; i++)
        free(want[i].text);
}

/* ---- Random events from interleaved writers ------------------------------------------ */

typedef struct gen {
    uint64_t rng;
    uint64_t nodes;           /* stack nodes written so far (file-wide) */
    uint64_t time[2];         /* per writer: times never decrease */
} gen;

/* A random record for writer k; stack nodes only from writer 0 (the meta
   writer in the shim), whose chunks go out before the other's. */
static rcc_event random_event(gen *g, int k, char *text)
{
    uint64_t r = test_rand(&g->rng);
    rcc_event e = {0};
    int kind = (int)(r % 100);
    uint64_t big = test_rand(&g->rng);
    uint64_t sh = test_rand(&g->rng) % 64;
    uint64_t v = big >> sh; /* values of every magnitude */
    g->time[k] += test_rand(&g->rng) % 4 == 0 ? v % 1000 : 0;
    if (k == 0 && kind < 10) {
        e.kind = RCC_STACK;
        e.stack = g->nodes ? test_rand(&g->rng) % (g->nodes + 1) : 0;
        e.ip = v;
        e.id = ++g->nodes;
    } else if (k == 0 && kind < 11) {
        e.kind = test_rand(&g->rng) & 1 ? RCC_MODULE : RCC_TYPE;
        size_t len = test_rand(&g->rng) % 64;
        for (size_t i = 0; i < len; i++)
            text[i] = (char)('a' + test_rand(&g->rng) % 26);
        text[len] = 0;
        e.text = text;
        e.ip = v;
        e.size = big;
        e.id = v | 1;
    } else if (kind < 55) {
        e.kind = RCC_ALLOC;
        e.time_us = g->time[k];
        e.addr = test_rand(&g->rng) & 1 ? big : 0x7f0000000000 + (v & 0xFFFFFF0);
        e.size = v;
        e.stack = g->nodes ? test_rand(&g->rng) % (g->nodes + 1) : 0;
        e.id = test_rand(&g->rng) % 3;
    } else if (kind < 90) {
        e.kind = RCC_FREE;
        e.time_us = g->time[k];
        e.addr = test_rand(&g->rng) & 1 ? big : 0x7f0000000000 + (v & 0xFFFFFF0);
    } else if (kind < 95) {
        e.kind = RCC_SAMPLE;
        e.time_us = g->time[k];
        e.heap_bytes = v;
        e.rss_bytes = big;
    } else if (kind < 98) {
        e.kind = RCC_LEAK;
        e.addr = big;
        e.status = (int64_t)(v % 3);
    } else {
        e.kind = RCC_END;
        e.time_us = g->time[k];
        e.status = (int64_t)big;
        e.heap_bytes = v;
        e.peak_time_us = big;
    }
    return e;
}

/* The sink of writer 1 flushes writer 0 first, as the shim does. */
typedef struct pair_sink {
    file_sink *file;
    rcc_writer *meta;
} pair_sink;

static int pair_write(void *ctx, const void *chunk, size_t len)
{
    pair_sink *p = ctx;
    CHECK(rcc_writer_flush(p->meta) == 0);
    return sink_write(p->file, chunk, len);
}

/* A stored copy of every record, in the order the file will hold them. */
typedef struct pending {
    stored_event *v;
    size_t n, cap;
} pending;

static void test_random(size_t count)
{
    char path[256];
    path_of(path, sizeof path, "random.cap");
    file_sink fs = {.fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644)};
    CHECK(fs.fd >= 0);
    CHECK(rcc_write_header(fs.fd, 7, 1) == 0);
    fs.bytes = 64;
    /* Small chunks (the minimum, 8 KiB) so deltas restart often. */
    rcc_writer *meta = rcc_writer_new(&(rcc_writer_options){
        .sink = sink_write, .sink_ctx = &fs, .chunk_bytes = 8192, .level = 3});
    pair_sink ps = {&fs, meta};
    rcc_writer *thr = rcc_writer_new(&(rcc_writer_options){
        .sink = pair_write, .sink_ctx = &ps, .chunk_bytes = 8192, .tid = 99});
    CHECK(meta && thr);
    /* The expected order: writer 0's records, then writer 1's buffered
       ones, each time writer 1's chunk goes out; replayed by keeping the
       two queues and following the chunk boundaries as the reader sees
       them.  Simpler: compare per kind-independent sequences of each
       writer, recognised by their order in the file. */
    pending q[2] = {{0}};
    gen g = {.rng = 12345};
    char text[80];
    for (size_t i = 0; i < count; i++) {
        int k = (int)(test_rand(&g.rng) % 2);
        rcc_event e = random_event(&g, k, text);
        CHECK(rcc_write(k ? thr : meta, &e) == 0);
        pending *p = &q[k];
        if (p->n == p->cap) {
            p->cap = p->cap ? p->cap * 2 : 4096;
            p->v = realloc(p->v, p->cap * sizeof *p->v);
            CHECK(p->v);
        }
        p->v[p->n].e = e;
        p->v[p->n].text = copy_text(&e);
        p->n++;
        if (test_rand(&g.rng) % 5000 == 0) /* an early flush now and then */
            CHECK(rcc_writer_flush(k ? thr : meta) == 0);
    }
    CHECK(rcc_writer_close(thr) == 0);
    CHECK(rcc_writer_close(meta) == 0);
    close(fs.fd);
    CHECK(fs.nchunks > 10);

    /* Each writer's records come back in its order; stack nodes numbered
       in file order, which is writer 0's order. */
    events ev = {0};
    char err[512];
    CHECK(read_all(path, &ev, err, sizeof err) == 0);
    CHECK(ev.n == q[0].n + q[1].n);
    size_t at[2] = {0, 0};
    for (size_t i = 0; i < ev.n; i++) {
        stored_event *got = &ev.v[i];
        bool m0 = at[0] < q[0].n && same_event(got, &q[0].v[at[0]]);
        bool m1 = at[1] < q[1].n && same_event(got, &q[1].v[at[1]]);
        CHECK(m0 || m1);
        if (m0)
            at[0]++;
        else
            at[1]++;
    }
    CHECK(at[0] == q[0].n && at[1] == q[1].n);
    free_stored(q[0].v, q[0].n);
    free_stored(q[1].v, q[1].n);
    free_events(&ev);
}

/* ---- Truncation at every byte -------------------------------------------------------- */

static size_t file_size(const char *path)
{
    FILE *f = fopen(path, "rb");
    CHECK(f);
    fseek(f, 0, SEEK_END);
    size_t n = (size_t)ftell(f);
    fclose(f);
    return n;
}

static unsigned char *slurp(const char *path, size_t *n)
{
    *n = file_size(path);
    unsigned char *b = malloc(*n);
    FILE *f = fopen(path, "rb");
    CHECK(b && f && fread(b, 1, *n, f) == *n);
    fclose(f);
    return b;
}

static void spill(const char *path, const unsigned char *b, size_t n)
{
    FILE *f = fopen(path, "wb");
    CHECK(f && fwrite(b, 1, n, f) == n);
    fclose(f);
}

/* A small capture of several chunks; chunk ends and records per chunk. */
static void small_capture(const char *path, size_t *ends, size_t *records, size_t *nchunks)
{
    file_sink fs = {.fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644)};
    CHECK(fs.fd >= 0 && rcc_write_header(fs.fd, 1, 2) == 0);
    fs.bytes = 64;
    rcc_writer *w = rcc_writer_new(&(rcc_writer_options){.sink = sink_write, .sink_ctx = &fs});
    CHECK(w);
    gen g = {.rng = 99};
    char text[80];
    size_t total = 0;
    for (int chunk = 0; chunk < 5; chunk++) {
        int per = chunk == 2 ? 1 : 40; /* one tiny chunk too */
        for (int i = 0; i < per; i++) {
            rcc_event e = random_event(&g, chunk == 0 ? 0 : 1, text);
            CHECK(rcc_write(w, &e) == 0);
        }
        total += (size_t)per;
        CHECK(rcc_writer_flush(w) == 0); /* codec 1 or stored, as zstd decides */
        records[chunk] = total;
    }
    CHECK(rcc_writer_close(w) == 0);
    close(fs.fd);
    CHECK(fs.nchunks == 5);
    memcpy(ends, fs.ends, 5 * sizeof *ends);
    *nchunks = 5;
}

static void test_truncation(void)
{
    char path[256], cut[256];
    path_of(path, sizeof path, "small.cap");
    path_of(cut, sizeof cut, "cut.cap");
    size_t ends[5], records[5], nchunks, n;
    small_capture(path, ends, records, &nchunks);
    unsigned char *b = slurp(path, &n);
    CHECK(n == ends[nchunks - 1]);
    for (size_t len = 0; len <= n; len++) {
        spill(cut, b, len);
        events ev = {0};
        char err[512] = "";
        int rc = read_all(cut, &ev, err, sizeof err);
        if (len < 64) {
            CHECK(rc == -2 && strlen(err) > 0);
            continue;
        }
        size_t whole = 0, at_end = len == 64;
        for (size_t c = 0; c < nchunks; c++) {
            if (ends[c] <= len)
                whole = records[c];
            at_end |= ends[c] == len;
        }
        CHECK(rc == (at_end ? 0 : 1));
        CHECK(ev.n == whole);
        if (rc == 1)
            CHECK(strstr(err, "truncated") != NULL);
        free_events(&ev);
    }
    free(b);
}

/* ---- Single-bit flips ---------------------------------------------------------------- */

static void test_bit_flips(void)
{
    char path[256], bad[256];
    path_of(path, sizeof path, "small.cap");
    path_of(bad, sizeof bad, "flip.cap");
    size_t n;
    unsigned char *b = slurp(path, &n);
    events good = {0};
    char err[512];
    CHECK(read_all(path, &good, err, sizeof err) == 0);
    size_t tried = 0;
    for (size_t off = 0; off < n; off++) {
        for (int bit = 0; bit < 8; bit += (off < 64 + 24 ? 1 : 3)) {
            b[off] ^= (unsigned char)(1u << bit);
            spill(bad, b, n);
            b[off] ^= (unsigned char)(1u << bit);
            events ev = {0};
            int rc = read_all(bad, &ev, err, sizeof err);
            tried++;
            /* every single flip is caught: the file header and each chunk
               header carry their own check, the payload its CRC */
            if (rc != -1 && rc != -2)
                fprintf(stderr, "flip at byte %zu bit %d not caught (rc %d)\n", off, bit, rc);
            CHECK(rc == -1 || rc == -2);
            CHECK(strlen(err) > 0);
            if (rc == -1) {
                CHECK(strstr(err, "byte") != NULL);
                /* records before the bad chunk were given, unchanged */
                CHECK(ev.n <= good.n);
                for (size_t i = 0; i < ev.n; i++)
                    CHECK(same_event(&ev.v[i], &good.v[i]));
            }
            free_events(&ev);
        }
    }
    CHECK(tried > 1000);
    free_events(&good);
    free(b);
}

/* ---- Hand-made hostile files --------------------------------------------------------- */

static void put32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t crc(const void *p, size_t n)
{
    return (uint32_t)crc32(crc32(0L, Z_NULL, 0), p, (uInt)n);
}

/* A file header, then one chunk holding `raw` as is (codec 0) unless the
   lengths are overridden. */
static size_t craft(unsigned char *out, const void *raw, uint32_t len, uint32_t raw_len,
                    uint32_t stored_len, unsigned codec)
{
    memset(out, 0, 64);
    memcpy(out, "RCGCCAP", 8);
    put32(out + 8, 1);
    put32(out + 12, 64);
    put32(out + 24, 1);
    put32(out + 28, crc(out, 64));
    unsigned char *h = out + 64;
    memset(h, 0, 24);
    memcpy(h, "CHNK", 4);
    h[4] = (unsigned char)codec;
    put32(h + 8, raw_len);
    put32(h + 12, stored_len);
    put32(h + 16, crc(raw, len));
    uint32_t c = crc(h, 24);
    uint16_t check = (uint16_t)(c ^ (c >> 16));
    h[6] = (unsigned char)check;
    h[7] = (unsigned char)(check >> 8);
    memcpy(h + 24, raw, len);
    return 64 + 24 + len;
}

static int read_crafted(const unsigned char *raw, size_t len, uint32_t raw_len,
                        uint32_t stored_len, unsigned codec, char *err, size_t errlen)
{
    static unsigned char buf[1 << 16];
    CHECK(len + 88 <= sizeof buf);
    size_t n = craft(buf, raw, (uint32_t)len, raw_len, stored_len, codec);
    char path[256];
    path_of(path, sizeof path, "crafted.cap");
    spill(path, buf, n);
    events ev = {0};
    int rc = read_all(path, &ev, err, errlen);
    free_events(&ev);
    return rc;
}

static int read_records(const unsigned char *raw, size_t len, char *err, size_t errlen)
{
    return read_crafted(raw, len, (uint32_t)len, (uint32_t)len, 0, err, errlen);
}

static void test_hostile(void)
{
    char err[512], path[256];
    path_of(path, sizeof path, "hostile.cap");
    unsigned char buf[4096];

    /* missing file, empty file, short header, wrong magic, wrong version */
    CHECK(!rcc_reader_open("/nonexistent/x.cap", err, sizeof err) && strstr(err, "No such"));
    spill(path, buf, 0);
    CHECK(!rcc_reader_open(path, err, sizeof err) && strstr(err, "empty"));
    size_t n = craft(buf, "", 0, 0, 0, 0);
    spill(path, buf, 40);
    CHECK(!rcc_reader_open(path, err, sizeof err) && strstr(err, "truncated"));
    buf[0] = 'X';
    spill(path, buf, n);
    CHECK(!rcc_reader_open(path, err, sizeof err) && strstr(err, "not an rcgc capture"));
    n = craft(buf, "", 0, 0, 0, 0);
    put32(buf + 8, 2);
    spill(path, buf, n);
    CHECK(!rcc_reader_open(path, err, sizeof err) && strstr(err, "version 2"));
    /* a tiny error buffer is respected */
    char tiny[8];
    memset(tiny, 'z', sizeof tiny);
    CHECK(!rcc_reader_open(path, tiny, 4) && tiny[3] == 0 && tiny[4] == 'z');

    /* an empty chunk is fine; a valid one-record chunk is read */
    CHECK(read_records((const unsigned char *)"", 0, err, sizeof err) == 0);
    unsigned char ok[] = {'F', 5, 0x10};
    CHECK(read_records(ok, sizeof ok, err, sizeof err) == 0);

    /* lengths beyond the hard bounds: corrupt, before any allocation */
    CHECK(read_crafted(ok, 3, RCC_MAX_CHUNK + 1, 3, 1, err, sizeof err) == -1);
    CHECK(strstr(err, "bad lengths"));
    CHECK(read_crafted(ok, 3, 3, 4, 0, err, sizeof err) == -1);         /* stored != raw */
    CHECK(read_crafted(ok, 3, 1000, 3u + (70u << 10), 1, err, sizeof err) == -1);
    CHECK(read_crafted(ok, 3, 3, 3, 7, err, sizeof err) == -1 && strstr(err, "codec"));
    /* a stored length the file does not hold: truncation, no allocation */
    CHECK(read_crafted(ok, 3, RCC_MAX_CHUNK, RCC_MAX_CHUNK, 0, err, sizeof err) == 1);
    CHECK(strstr(err, "truncated"));
    /* zstd data that is not zstd, or decodes to another length */
    CHECK(read_crafted(ok, 3, 3, 3, 1, err, sizeof err) == -1 && strstr(err, "decompress"));

    /* records: unknown tag, varint of 11 bytes, overflowing 10th byte,
       strings too long or past the end, a stack node's parent not yet
       defined, an allocation using an undefined node, type id 0, an
       unknown reachability, a time that overflows */
    unsigned char tag[] = {'Q'};
    CHECK(read_records(tag, 1, err, sizeof err) == -1 && strstr(err, "unknown record tag"));
    unsigned char v11[] = {'F', 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01, 0};
    CHECK(read_records(v11, sizeof v11, err, sizeof err) == -1 && strstr(err, "byte 64"));
    unsigned char v10[] = {'F', 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x02, 0};
    CHECK(read_records(v10, sizeof v10, err, sizeof err) == -1);
    unsigned char vmax[] = {'F', 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01, 0};
    CHECK(read_records(vmax, sizeof vmax, err, sizeof err) == 0);
    unsigned char longstr[] = {'T', 1, 0x81, 0x20}; /* 4097 bytes */
    CHECK(read_records(longstr, sizeof longstr, err, sizeof err) == -1);
    unsigned char hugestr[] = {'M', 0, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F};
    CHECK(read_records(hugestr, sizeof hugestr, err, sizeof err) == -1);
    unsigned char paststr[] = {'T', 1, 10, 'a', 'b'};
    CHECK(read_records(paststr, sizeof paststr, err, sizeof err) == -1);
    unsigned char parent[] = {'S', 0, 1, 'S', 5, 2};
    CHECK(read_records(parent, sizeof parent, err, sizeof err) == -1 &&
          strstr(err, "parent comes later"));
    unsigned char use[] = {'S', 0, 1, 'A', 0, 16, 8, 2, 0};
    CHECK(read_records(use, sizeof use, err, sizeof err) == -1 && strstr(err, "not yet defined"));
    use[7] = 1;
    CHECK(read_records(use, sizeof use, err, sizeof err) == 0);
    unsigned char type0[] = {'T', 0, 1, 'x'};
    CHECK(read_records(type0, sizeof type0, err, sizeof err) == -1);
    unsigned char reach[] = {'L', 16, 3};
    CHECK(read_records(reach, sizeof reach, err, sizeof err) == -1);
    unsigned char tover[] = {'F', 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01, 0,
                             'F', 1, 0};
    CHECK(read_records(tover, sizeof tover, err, sizeof err) == -1);
    unsigned char cut[] = {'A', 1, 2, 3};
    CHECK(read_records(cut, sizeof cut, err, sizeof err) == -1 && strstr(err, "overruns"));

    /* a chain of 256 nodes is fine, 257 is not */
    unsigned char deep[4 * 257];
    size_t len = 0;
    for (unsigned i = 0; i < 257; i++) {
        deep[len++] = 'S';
        if (i < 128) { /* the parent of node i + 1 is node i */
            deep[len++] = (unsigned char)i;
        } else {
            deep[len++] = (unsigned char)(0x80 | (i & 0x7F));
            deep[len++] = (unsigned char)(i >> 7);
        }
        deep[len++] = 1;
        if (i == 255)
            CHECK(read_records(deep, len, err, sizeof err) == 0);
    }
    CHECK(read_records(deep, len, err, sizeof err) == -1 && strstr(err, "deeper than 256"));
}

/* Hostile files read under a 512 MiB address-space limit: a reader that
   believed a length would fail to allocate (or die) here. */
static void test_hostile_limited(void)
{
    const char *pre = getenv("LD_PRELOAD");
    if (SANITIZED || (pre && strstr(pre, "vgpreload")))
        return; /* ASan and valgrind reserve more than the limit */
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        struct rlimit rl = {512u << 20, 512u << 20};
        CHECK(setrlimit(RLIMIT_AS, &rl) == 0);
        test_hostile();
        test_truncation();
        _exit(0);
    }
    int st;
    CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

int main(int argc, char **argv)
{
    bool small = argc > 1 && strcmp(argv[1], "small") == 0;
    CHECK(mkdtemp(dir));
    test_every_kind();
    test_random(small ? 10000 : 1000000);
    test_truncation();
    test_bit_flips();
    test_hostile();
    test_hostile_limited();
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK(system(cmd) == 0);
    printf("test_capture: ok\n");
    return 0;
}
