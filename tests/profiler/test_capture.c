/*
 * test_capture.c — the capture file library (tools/capture), format
 * version 2: round trips of every record kind with edge values; clock
 * records and the time grain (C records written when the time has moved by
 * the grain, times that go back, each chunk starting its own time);
 * temporary frees (an X, with no field, only right after its A in the same
 * chunk, else an F) and L records (no C before them: the chunk's latest
 * time); info and stack ids checked against what the file defined before
 * them, chunk by chunk and writer by writer; a million random records from
 * two interleaved writers, checked record by record against a model of the
 * writer; and hostile input: truncation at every byte, single-bit flips,
 * wrong magic and version (version 1 included), zero-length chunks,
 * oversized lengths and counts (read under a small address-space limit
 * when not sanitized), an X with no A right before it.
 *
 *   test_capture          everything
 *   test_capture small    10,000 random records (for valgrind)
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

static pid_t owner; /* the process that made dir (not test_hostile_limited's child) */

/* At exit, passed or failed (CHECK exits): no files left behind. */
static void remove_dir(void)
{
    char cmd[300];
    if (getpid() != owner)
        return;
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "test_capture: could not remove %s\n", dir);
}

static void path_of(char *out, size_t cap, const char *name)
{
    snprintf(out, cap, "%s/%s", dir, name);
}

static bool is_event(int kind) /* A, F, X: an info id (an X's is its A's) */
{
    return kind == RCC_ALLOC || kind == RCC_FREE || kind == RCC_TEMP;
}

/* ---- Collecting what a reader gives ----------------------------------------------- */

typedef struct stored_event {
    rcc_event e;
    char *text;               /* MODULE, TYPE, PYCODE: a copy */
    char *name;               /* PYCODE: a copy */
} stored_event;

static char *copy_string(const char *s)
{
    char *t = strdup(s ? s : "");
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
    s->e.text = s->e.name = NULL;
    bool named = e->kind == RCC_MODULE || e->kind == RCC_TYPE || e->kind == RCC_PYCODE ||
                 e->kind == RCC_PYOBJECTS;
    s->text = named ? copy_string(e->text) : NULL;
    s->name = e->kind == RCC_PYCODE ? copy_string(e->name) : NULL;
}

static void free_events(events *ev)
{
    for (size_t i = 0; i < ev->n; i++) {
        free(ev->v[i].text);
        free(ev->v[i].name);
    }
    free(ev->v);
    ev->v = NULL;
    ev->n = ev->cap = 0;
}

static int collect(const rcc_event *e, void *ctx)
{
    events *ev = ctx;
    push(ev, e);
    return ev->stop_after && ev->n % ev->stop_after == 0;
}

/* The fields each kind defines are equal. */
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
    case RCC_INFO:
        return x->size == y->size && x->stack == y->stack && x->type == y->type &&
               x->id == y->id;
    case RCC_CLOCK:
        return x->time_us == y->time_us;
    case RCC_ALLOC:
        return x->time_us == y->time_us && x->id == y->id;
    case RCC_FREE:
    case RCC_TEMP:
        return x->time_us == y->time_us && x->id == y->id && x->alloc_time_us == y->alloc_time_us;
    case RCC_SAMPLE:
        return x->time_us == y->time_us && x->heap_bytes == y->heap_bytes &&
               x->rss_bytes == y->rss_bytes;
    case RCC_LEAK:
        return x->time_us == y->time_us && x->id == y->id && x->status == y->status &&
               x->count == y->count;
    case RCC_END:
        return x->time_us == y->time_us && x->status == y->status &&
               x->heap_bytes == y->heap_bytes && x->peak_time_us == y->peak_time_us &&
               x->signal == y->signal;
    case RCC_PYTHON:
        return x->count == y->count;
    case RCC_PYCODE:
        return x->id == y->id && x->line == y->line && strcmp(a->text, b->text) == 0 &&
               strcmp(a->name, b->name) == 0;
    case RCC_PYOBJECTS:
        return x->status == y->status && x->count == y->count && x->size == y->size &&
               strcmp(a->text, b->text) == 0;
    }
    return false;
}

static void show(const char *what, size_t i, const stored_event *s)
{
    const rcc_event *e = &s->e;
    fprintf(stderr,
            "%s record %zu: '%c' time %llu id %llu size %llu stack %llu type %llu "
            "count %llu status %lld\n",
            what, i, e->kind, (unsigned long long)e->time_us, (unsigned long long)e->id,
            (unsigned long long)e->size, (unsigned long long)e->stack,
            (unsigned long long)e->type, (unsigned long long)e->count, (long long)e->status);
}

/* got[0..n) equals want[0..n), with the first difference shown. */
static void check_same(const events *got, const events *want, size_t n)
{
    if (got->n < n || want->n < n)
        fprintf(stderr, "read %zu records, expected %zu; comparing %zu\n", got->n, want->n, n);
    CHECK(got->n >= n && want->n >= n);
    for (size_t i = 0; i < n; i++) {
        if (!same_event(&got->v[i], &want->v[i])) {
            show("read", i, &got->v[i]);
            show("expected", i, &want->v[i]);
        }
        CHECK(same_event(&got->v[i], &want->v[i]));
    }
}

/* The kind letters of ev, for exact checks of where C records went. */
static const char *kinds(const events *ev)
{
    static char s[256];
    size_t n = ev->n < sizeof s - 1 ? ev->n : sizeof s - 1;
    for (size_t i = 0; i < n; i++)
        s[i] = (char)ev->v[i].e.kind;
    s[n] = 0;
    return s;
}

static size_t count_kind(const events *ev, int kind)
{
    size_t n = 0;
    for (size_t i = 0; i < ev->n; i++)
        n += ev->v[i].e.kind == kind;
    return n;
}

/* Each X of ev (one writer's records) comes after an A of the same info,
   with no other A, F or X between them; returns the number of X. */
static size_t check_temps(const events *ev)
{
    size_t xs = 0;
    for (size_t i = 0; i < ev->n; i++) {
        if (ev->v[i].e.kind != RCC_TEMP)
            continue;
        size_t j = i;
        while (j > 0 && !is_event(ev->v[j - 1].e.kind))
            j--;
        if (j == 0 || ev->v[j - 1].e.kind != RCC_ALLOC || ev->v[j - 1].e.id != ev->v[i].e.id)
            fprintf(stderr, "record %zu: an X not right after an A of its info\n", i);
        CHECK(j > 0 && ev->v[j - 1].e.kind == RCC_ALLOC);
        CHECK(ev->v[j - 1].e.id == ev->v[i].e.id);
        xs++;
    }
    return xs;
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

/* ---- A model of the writer ---------------------------------------------------------
 * What capture.h says a writer puts in the file, record by record: a C
 * before an A, F or X when the chunk has no time yet or the writer's time
 * (the largest given) has moved by the grain or more since the chunk's
 * latest time record (C, P, E), every change when the grain is 0; P, E and
 * C written with the writer's time; events and L records read back with
 * the chunk's latest time (0 before any; no C is written before an L).  A
 * temporary free is an X (read back with its A's info) when the writer's
 * last A, F or X in this chunk was an A of the same info (C, P, L and meta
 * records may come between), else an F.  The writer's sink tells the model
 * when a chunk went out (the next chunk starts without a time and without
 * an A for an X to follow). */

typedef struct model {
    rcc_writer *w;
    uint64_t grain;           /* the writer's time_grain_us */
    uint64_t now;             /* the largest time given */
    uint64_t prev;            /* the chunk's latest time record */
    bool have_time;           /* the chunk has one */
    uint64_t last_alloc;      /* info of an A just written in this chunk; 0
                                 after an F or X, and when a chunk goes out */
    uint64_t last_alloc_any;  /* the same across chunks (not reset by one
                                 going out) */
    uint64_t last_alloc_time; /* the file's time of that A */
    size_t temps_x;           /* temporaries written as X */
    size_t temps_f;           /*   as F */
    size_t temps_split;       /*   as F only because their A went out with
                                   the previous chunk */
    events q;                 /* what the reader should give, in order */
} model;

/* Where each chunk came from: writer k, ending after its q's record upto. */
typedef struct order {
    struct {
        int k;
        size_t upto;
    } *v;
    size_t n, cap;
} order;

typedef struct tap {
    file_sink *file;
    model *m;                 /* the writer whose chunks come here */
    int k;                    /* its number in ord */
    rcc_writer *first;        /* flushed before each chunk (the shim's meta writer) */
    order *ord;               /* NULL: not recorded */
} tap;

static int tap_write(void *ctx, const void *chunk, size_t len)
{
    tap *t = ctx;
    if (t->first)
        CHECK(rcc_writer_flush(t->first) == 0);
    t->m->have_time = false;
    t->m->last_alloc = 0;
    if (t->ord) {
        order *o = t->ord;
        if (o->n == o->cap) {
            o->cap = o->cap ? o->cap * 2 : 256;
            o->v = realloc(o->v, o->cap * sizeof *o->v);
            CHECK(o->v);
        }
        o->v[o->n].k = t->k;
        o->v[o->n].upto = t->m->q.n;
        o->n++;
    }
    return sink_write(t->file, chunk, len);
}

static void model_time(model *m, uint64_t t)
{
    rcc_writer_time(m->w, t);
    if (t > m->now)
        m->now = t;
}

/* Would an event written now get a C record before it? */
static bool clock_due(const model *m)
{
    return !m->have_time || (m->now != m->prev && m->now - m->prev >= m->grain);
}

static void expect_time_record(model *m, int kind, rcc_event *x)
{
    x->kind = kind;
    x->time_us = m->prev = m->now;
    m->have_time = true;
}

/* An F's allocation time as read back: alloc_us's cell in the free's age
   grid (no later than RCC_MAX_SKEW cells after the free's; the times here
   are far below 2^42 us, where the stamps wrap). */
static uint64_t expected_alloc_time(uint64_t free_us, uint64_t alloc_us)
{
    unsigned s = rcc_age_shift(free_us);
    uint64_t cell = alloc_us >> s;
    if (cell > (free_us >> s) + RCC_MAX_SKEW)
        cell = (free_us >> s) + RCC_MAX_SKEW;
    return cell << s;
}

/* Write e (A, F and X through rcc_write_alloc / rcc_write_free when api is
   set, else rcc_write) and note what the reader should give.  STACK and
   INFO carry the id the reader will give them. */
static void model_write(model *m, const rcc_event *e, bool api)
{
    if (api && is_event(e->kind)) {
        rcc_writer_time(m->w, e->time_us);
        if (e->kind == RCC_ALLOC)
            CHECK(rcc_write_alloc(m->w, e->id) == 0);
        else
            CHECK(rcc_write_free(m->w, e->id, e->kind == RCC_TEMP,
                                 (uint32_t)(e->alloc_time_us >> RCC_AGE_SHIFT)) == 0);
    } else {
        CHECK(rcc_write(m->w, e) == 0);
    }
    /* a chunk that went out during the call did so before this record */
    rcc_event x = *e;
    switch (e->kind) {
    case RCC_ALLOC:
    case RCC_FREE:
    case RCC_TEMP:
        if (e->time_us > m->now)
            m->now = e->time_us;
        if (clock_due(m)) {
            rcc_event c = {0};
            expect_time_record(m, RCC_CLOCK, &c);
            push(&m->q, &c);
        }
        x.time_us = m->prev;
        if (e->kind == RCC_TEMP) {
            if (e->id && e->id == m->last_alloc) {
                m->temps_x++; /* an X: the reader gives it its A's info */
                x.alloc_time_us = m->last_alloc_time;
            } else {
                x.kind = RCC_FREE;
                m->temps_f++;
                m->temps_split += e->id && e->id == m->last_alloc_any;
            }
        }
        if (x.kind == RCC_FREE) /* its age, from the block's stamp (clamped: docs/CAPTURE.md) */
            x.alloc_time_us = expected_alloc_time(m->prev, e->alloc_time_us);
        m->last_alloc = m->last_alloc_any = x.kind == RCC_ALLOC ? e->id : 0;
        m->last_alloc_time = m->prev;
        break;
    case RCC_CLOCK:
    case RCC_SAMPLE:
    case RCC_END:
        if (e->time_us > m->now)
            m->now = e->time_us;
        expect_time_record(m, e->kind, &x);
        break;
    case RCC_LEAK: /* no C before it, nothing changes: the chunk's latest time */
        x.time_us = m->have_time ? m->prev : 0;
        break;
    default:
        break;
    }
    push(&m->q, &x);
}

/* A capture of one writer into a file, through the model. */
typedef struct capfile {
    char path[256];
    file_sink fs;
    tap t;
    model m;
} capfile;

static void cap_open(capfile *c, const char *name, uint64_t grain, size_t chunk_bytes)
{
    memset(c, 0, sizeof *c);
    path_of(c->path, sizeof c->path, name);
    c->fs.fd = open(c->path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    CHECK(c->fs.fd >= 0 && rcc_write_header(c->fs.fd, 1, 2) == 0);
    c->fs.bytes = 64;
    c->t = (tap){.file = &c->fs, .m = &c->m};
    c->m.grain = grain;
    c->m.w = rcc_writer_new(&(rcc_writer_options){.sink = tap_write,
                                                  .sink_ctx = &c->t,
                                                  .chunk_bytes = chunk_bytes,
                                                  .time_grain_us = grain});
    CHECK(c->m.w);
}

/* Close the writer and read the file back into got: exactly what the model
   expects. */
static void cap_close(capfile *c, events *got)
{
    CHECK(rcc_writer_close(c->m.w) == 0);
    c->m.w = NULL;
    close(c->fs.fd);
    char err[512];
    CHECK(read_all(c->path, got, err, sizeof err) == 0);
    if (got->n != c->m.q.n)
        fprintf(stderr, "read %zu records, expected %zu\n", got->n, c->m.q.n);
    check_same(got, &c->m.q, c->m.q.n);
    CHECK(got->n == c->m.q.n);
    CHECK(check_temps(got) == c->m.temps_x);
    free_events(&c->m.q);
}

static rcc_event ev_info(uint64_t id, uint64_t size, uint64_t stack, uint64_t type)
{
    return (rcc_event){.kind = RCC_INFO, .id = id, .size = size, .stack = stack, .type = type};
}

static rcc_event ev_event(int kind, uint64_t time_us, uint64_t info)
{
    return (rcc_event){.kind = kind, .time_us = time_us, .id = info};
}

/* The same, as pointers to compound literals (for rcc_write and model_write). */
#define EV_INFO(n, bytes, node, tid)                                               \
    (&(rcc_event){.kind = RCC_INFO, .id = (n), .size = (bytes), .stack = (node), \
                  .type = (tid)})
#define EV(tag, t, info) (&(rcc_event){.kind = (tag), .time_us = (t), .id = (info)})

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
    rcc_writer *w = rcc_writer_open(fd, 4242); /* grain 0 */
    CHECK(w);
    static char longest[RCC_MAX_STRING + 1], too_long[RCC_MAX_STRING + 2];
    fill_text(longest, RCC_MAX_STRING, 'x');
    fill_text(too_long, RCC_MAX_STRING + 1, 'y');
    const uint64_t MAX = UINT64_MAX;
    events want = {0};
    /* Written as is, read back as is (ids are the reader's numbers). */
    rcc_event es[] = {
        {.kind = RCC_MODULE, .ip = 0x400000, .size = 0x1000, .text = "/bin/prog"},
        {.kind = RCC_MODULE, .ip = MAX, .size = 0, .text = ""},
        {.kind = RCC_MODULE, .ip = 1, .size = MAX, .text = longest},
        {.kind = RCC_STACK, .stack = 0, .ip = 0x401234, .id = 1},
        {.kind = RCC_STACK, .stack = 1, .ip = RCC_PYFRAME_BIT - 1, .id = 2}, /* native */
        {.kind = RCC_STACK, .stack = 2, .ip = 0, .id = 3},
        {.kind = RCC_TYPE, .id = 1, .text = "widget"},
        {.kind = RCC_TYPE, .id = MAX, .text = longest},
        /* Python: its version, code locations, frames naming them */
        {.kind = RCC_PYTHON, .count = 0x030B02F0},
        {.kind = RCC_PYCODE, .id = 1, .line = 42, .text = "/app/main.py", .name = "Loader.load"},
        {.kind = RCC_PYCODE, .id = 2, .line = 0, .text = "", .name = ""},
        {.kind = RCC_PYCODE, .id = 3, .line = MAX, .text = longest, .name = longest},
        {.kind = RCC_STACK, .stack = 3, .ip = RCC_PYFRAME_BIT | 1, .id = 4},
        {.kind = RCC_STACK, .stack = 4, .ip = RCC_PYFRAME_BIT | 3, .id = 5},
        {.kind = RCC_STACK, .stack = 5, .ip = 0x401300, .id = 6},
        {.kind = RCC_PYTHON, .count = MAX},
        /* the census at exit: live objects and gc.garbage's by type */
        {.kind = RCC_PYOBJECTS, .status = RCC_PY_LIVE, .count = 1000, .size = 56000,
         .text = "Leaf"},
        {.kind = RCC_PYOBJECTS, .status = RCC_PY_GARBAGE, .count = MAX, .size = MAX,
         .text = longest},
        {.kind = RCC_PYOBJECTS, .status = RCC_PY_LIVE, .count = 1, .size = 0, .text = ""},
        ev_info(1, 24, 3, 1),
        ev_info(2, 0, 0, 0),
        ev_info(3, MAX, 2, MAX),
    };
    for (size_t i = 0; i < sizeof es / sizeof *es; i++) {
        CHECK(rcc_write(w, &es[i]) == 0);
        push(&want, &es[i]);
    }
    /* infos 4..203: ids of two varint bytes */
    for (uint64_t id = 4; id <= 203; id++) {
        rcc_event e = ev_info(id, id * 1000, id % 4, id % 3);
        CHECK(rcc_write(w, &e) == 0);
        push(&want, &e);
    }
    /* Events, and the C records the writer puts before them (grain 0: at
       every change of time, and at the chunk's first event). */
    rcc_event c5 = {.kind = RCC_CLOCK, .time_us = 5};
    rcc_event cmax1 = {.kind = RCC_CLOCK, .time_us = MAX - 1};
    rcc_event cmax = {.kind = RCC_CLOCK, .time_us = MAX};
    CHECK(rcc_write(w, &(rcc_event){.kind = RCC_ALLOC, .time_us = 5, .id = 1}) == 0);
    push(&want, &c5);
    push(&want, &(rcc_event){.kind = RCC_ALLOC, .time_us = 5, .id = 1});
    rcc_writer_time(w, 5);
    CHECK(rcc_write_alloc(w, 2) == 0);
    push(&want, &(rcc_event){.kind = RCC_ALLOC, .time_us = 5, .id = 2});
    /* a temporary right after its A: an X, read with the A's info */
    CHECK(rcc_write_free(w, 2, 1, 0) == 0);
    push(&want, &(rcc_event){.kind = RCC_TEMP, .time_us = 5, .id = 2, .alloc_time_us = 5});
    /* one after an X, or after an A of another info: an F */
    CHECK(rcc_write_free(w, 203, 1, 0) == 0);
    push(&want, &(rcc_event){.kind = RCC_FREE, .time_us = 5, .id = 203});
    CHECK(rcc_write_alloc(w, 128) == 0);
    push(&want, &(rcc_event){.kind = RCC_ALLOC, .time_us = 5, .id = 128});
    CHECK(rcc_write(w, &(rcc_event){.kind = RCC_TEMP, .time_us = 5, .id = 127}) == 0);
    push(&want, &(rcc_event){.kind = RCC_FREE, .time_us = 5, .id = 127});
    CHECK(rcc_write(w, &(rcc_event){.kind = RCC_FREE, .time_us = 5, .id = 128}) == 0);
    push(&want, &(rcc_event){.kind = RCC_FREE, .time_us = 5, .id = 128});
    /* a C between an A and its X (an info of two varint bytes) */
    CHECK(rcc_write(w, &(rcc_event){.kind = RCC_ALLOC, .time_us = MAX - 1, .id = 203}) == 0);
    push(&want, &cmax1);
    push(&want, &(rcc_event){.kind = RCC_ALLOC, .time_us = MAX - 1, .id = 203});
    CHECK(rcc_write(w, &(rcc_event){.kind = RCC_TEMP, .time_us = MAX, .id = 203}) == 0);
    push(&want, &cmax);
    const uint64_t MAX_CELL = expected_alloc_time(MAX, MAX); /* an F's of a block of MAX */
    push(&want, &(rcc_event){.kind = RCC_TEMP, .time_us = MAX, .id = 203,
                             .alloc_time_us = MAX - 1});
    /* P, L and I records between an A and its X */
    CHECK(rcc_write_alloc(w, 3) == 0);
    push(&want, &(rcc_event){.kind = RCC_ALLOC, .time_us = MAX, .id = 3});
    rcc_event between[] = {
        {.kind = RCC_SAMPLE, .time_us = MAX, .heap_bytes = 1, .rss_bytes = 2},
        {.kind = RCC_LEAK, .id = 3, .status = RCC_DEFINITE, .count = 1}, /* at MAX */
        ev_info(204, 7, 0, 0),
    };
    for (size_t i = 0; i < sizeof between / sizeof *between; i++) {
        CHECK(rcc_write(w, &between[i]) == 0);
        between[i].time_us = i < 2 ? MAX : 0;
        push(&want, &between[i]);
    }
    CHECK(rcc_write_free(w, 3, 1, (uint32_t)(MAX >> RCC_AGE_SHIFT)) == 0);
    push(&want, &(rcc_event){.kind = RCC_TEMP, .time_us = MAX, .id = 3,
                             .alloc_time_us = MAX});
    rcc_event rest[] = {
        {.kind = RCC_CLOCK, .time_us = MAX}, /* an explicit C, time unchanged */
        {.kind = RCC_SAMPLE, .time_us = MAX, .heap_bytes = MAX, .rss_bytes = 0},
        {.kind = RCC_SAMPLE, .time_us = MAX, .heap_bytes = 0, .rss_bytes = MAX},
        {.kind = RCC_LEAK, .time_us = MAX, .id = 1, .status = RCC_REACHABLE, .count = 1},
        {.kind = RCC_LEAK, .time_us = MAX, .id = 203, .status = RCC_INDIRECT, .count = MAX},
        {.kind = RCC_LEAK, .time_us = MAX, .id = 2, .status = RCC_DEFINITE, .count = 128},
        {.kind = RCC_END, .time_us = MAX, .status = -1, .heap_bytes = 123456789,
         .peak_time_us = 77},
        {.kind = RCC_END, .time_us = MAX, .status = INT64_MIN, .heap_bytes = 0,
         .peak_time_us = MAX},
        {.kind = RCC_END, .time_us = MAX, .status = INT64_MAX, .heap_bytes = 1,
         .peak_time_us = 0},
        {.kind = RCC_END, .time_us = MAX, .status = 0, .heap_bytes = 1, .peak_time_us = 0,
         .signal = 64},
    };
    for (size_t i = 0; i < sizeof rest / sizeof *rest; i++) {
        CHECK(rcc_write(w, &rest[i]) == 0);
        push(&want, &rest[i]);
    }
    /* refused without harm: an unknown kind, strings over the bound */
    size_t pending = rcc_writer_pending(w);
    CHECK(rcc_write(w, &(rcc_event){.kind = 'Z'}) == -1);
    CHECK(rcc_write(w, &(rcc_event){.kind = RCC_TYPE, .id = 9, .text = too_long}) == -1);
    CHECK(rcc_write(w, &(rcc_event){.kind = RCC_MODULE, .text = too_long}) == -1);
    CHECK(rcc_write(w, &(rcc_event){.kind = RCC_PYCODE, .id = 4, .text = too_long,
                                    .name = "f"}) == -1);
    CHECK(rcc_write(w, &(rcc_event){.kind = RCC_PYCODE, .id = 4, .text = "f.py",
                                    .name = too_long}) == -1);
    CHECK(rcc_writer_pending(w) == pending);
    /* a new chunk starts its own time: its first event gets a C, absolute
       (the largest time, 10 varint bytes), even though the time did not
       move; an earlier time given is the writer's time */
    CHECK(rcc_writer_flush(w) == 0);
    CHECK(rcc_writer_pending(w) == 0);
    rcc_writer_time(w, 100);
    CHECK(rcc_writer_pending(w) == 0);
    /* frees of blocks allocated at MAX: age 0 */
    CHECK(rcc_write_free(w, 1, 0, (uint32_t)(MAX >> RCC_AGE_SHIFT)) == 0);
    CHECK(rcc_write(w, &(rcc_event){.kind = RCC_TEMP, .time_us = 7, .id = 2,
                                    .alloc_time_us = MAX}) == 0);
    push(&want, &cmax);
    push(&want, &(rcc_event){.kind = RCC_FREE, .time_us = MAX, .id = 1,
                             .alloc_time_us = MAX_CELL});
    push(&want, &(rcc_event){.kind = RCC_FREE, .time_us = MAX, .id = 2, /* after an F */
                             .alloc_time_us = MAX_CELL});
    /* a temporary whose A went out with the previous chunk: an F */
    CHECK(rcc_write_alloc(w, 204) == 0);
    push(&want, &(rcc_event){.kind = RCC_ALLOC, .time_us = MAX, .id = 204});
    CHECK(rcc_writer_flush(w) == 0);
    CHECK(rcc_write_free(w, 204, 1, rcc_writer_stamp(w)) == 0);
    push(&want, &cmax);
    push(&want, &(rcc_event){.kind = RCC_FREE, .time_us = MAX, .id = 204,
                             .alloc_time_us = MAX_CELL});
    CHECK(rcc_writer_close(w) == 0);
    close(fd);

    events ev = {0};
    char err[512];
    CHECK(read_all(path, &ev, err, sizeof err) == 0);
    check_same(&ev, &want, want.n);
    CHECK(ev.n == want.n);
    CHECK(check_temps(&ev) == 3);
    rcc_reader *r = rcc_reader_open(path, err, sizeof err);
    CHECK(r && rcc_reader_header(r)->pid == 4242 && rcc_reader_header(r)->version == RCC_VERSION);
    CHECK(rcc_reader_header(r)->start_realtime_ns > UINT64_C(1500000000) * 1000000000u);
    /* stopping early and going on gives the same records */
    events part = {.stop_after = 3};
    int rc, stops = 0;
    while ((rc = rcc_read(r, collect, &part)) == 2)
        stops++;
    CHECK(rc == 0 && part.n == want.n && stops == (int)(want.n / 3));
    check_same(&part, &want, want.n);
    CHECK(rcc_read(r, collect, &part) == 0 && part.n == want.n); /* still 0 after the end */
    CHECK(rcc_reader_offset(r) == rcc_reader_size(r));
    rcc_reader_close(r);
    free_events(&ev);
    free_events(&part);
    free_events(&want);
}

/* ---- Clock records and the time grain ------------------------------------------------- */

/* The times the reader gave the A, F and X records of ev. */
static size_t event_times(const events *ev, uint64_t *t, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < ev->n; i++)
        if (is_event(ev->v[i].e.kind)) {
            CHECK(n < cap);
            t[n++] = ev->v[i].e.time_us;
        }
    return n;
}

static void test_grain(void)
{
    static const uint64_t at[] = {0, 10, 999, 1000, 5000};
    static const int kind[] = {RCC_ALLOC, RCC_TEMP, RCC_FREE, RCC_ALLOC, RCC_FREE};
    uint64_t t[64];
    events ev = {0};
    capfile c;

    /* grain 1000: a C at the first event, then when the time has moved by
       1000 or more since the latest; events between read the C's time */
    cap_open(&c, "grain.cap", 1000, 0);
    model_write(&c.m, EV_INFO(1, 8, 0, 0), false);
    for (size_t i = 0; i < 5; i++)
        model_write(&c.m, EV(kind[i], at[i], 1), i & 1);
    cap_close(&c, &ev);
    CHECK(strcmp(kinds(&ev), "ICAXFCACF") == 0);
    CHECK(ev.v[3].e.id == 1 && c.m.temps_x == 1);
    CHECK(count_kind(&ev, RCC_CLOCK) == 3);
    CHECK(ev.v[1].e.time_us == 0 && ev.v[5].e.time_us == 1000 && ev.v[7].e.time_us == 5000);
    CHECK(event_times(&ev, t, 64) == 5);
    CHECK(t[0] == 0 && t[1] == 0 && t[2] == 0 && t[3] == 1000 && t[4] == 5000);
    free_events(&ev);

    /* grain 0: a C at every change of time, none when it stays (a C between
       an A and its X) */
    cap_open(&c, "grain0.cap", 0, 0);
    model_write(&c.m, EV_INFO(1, 8, 0, 0), false);
    for (size_t i = 0; i < 5; i++)
        model_write(&c.m, EV(kind[i], at[i], 1), !(i & 1));
    model_write(&c.m, EV(RCC_ALLOC, 5000, 1), false);
    model_write(&c.m, EV(RCC_TEMP, 5000, 1), true);
    cap_close(&c, &ev);
    CHECK(strcmp(kinds(&ev), "ICACXCFCACFAX") == 0);
    CHECK(c.m.temps_x == 2 && c.m.temps_f == 0);
    CHECK(event_times(&ev, t, 64) == 7);
    for (size_t i = 0; i < 5; i++)
        CHECK(t[i] == at[i]);
    CHECK(t[5] == 5000 && t[6] == 5000);
    free_events(&ev);

    /* a time that goes back is the previous one: no C, the same time; P and
       E too; the next C follows the largest time */
    cap_open(&c, "back.cap", 0, 0);
    model_write(&c.m, EV_INFO(1, 8, 0, 0), false);
    model_write(&c.m, EV(RCC_ALLOC, 100, 1), false);
    model_write(&c.m, EV(RCC_FREE, 90, 1), false);
    model_write(&c.m, EV(RCC_ALLOC, 0, 1), true);
    model_write(&c.m, &(rcc_event){.kind = RCC_SAMPLE, .time_us = 50, .heap_bytes = 8}, false);
    model_write(&c.m, EV(RCC_TEMP, 99, 1), true);
    model_write(&c.m, EV(RCC_ALLOC, 101, 1), false);
    model_write(&c.m, &(rcc_event){.kind = RCC_END, .time_us = 3, .peak_time_us = 100}, false);
    cap_close(&c, &ev);
    CHECK(strcmp(kinds(&ev), "ICAFAPXCAE") == 0); /* a P between an A and its X */
    CHECK(ev.v[6].e.id == 1 && c.m.temps_x == 1);
    CHECK(event_times(&ev, t, 64) == 5);
    CHECK(t[0] == 100 && t[1] == 100 && t[2] == 100 && t[3] == 100 && t[4] == 101);
    CHECK(ev.v[5].e.time_us == 100 && ev.v[7].e.time_us == 101 && ev.v[9].e.time_us == 101);
    free_events(&ev);

    /* P and E are time records: the grain counts from them too */
    cap_open(&c, "sample.cap", 1000, 0);
    model_write(&c.m, EV_INFO(1, 8, 0, 0), false);
    model_write(&c.m, EV(RCC_ALLOC, 0, 1), false);
    model_write(&c.m, &(rcc_event){.kind = RCC_SAMPLE, .time_us = 1500}, false);
    model_write(&c.m, EV(RCC_ALLOC, 1500, 1), true);
    model_write(&c.m, EV(RCC_ALLOC, 2499, 1), false);
    model_write(&c.m, EV(RCC_ALLOC, 2500, 1), true);
    model_write(&c.m, &(rcc_event){.kind = RCC_END, .time_us = 2600}, false);
    model_write(&c.m, EV(RCC_FREE, 3599, 1), false);
    model_write(&c.m, EV(RCC_FREE, 3600, 1), false);
    cap_close(&c, &ev);
    CHECK(strcmp(kinds(&ev), "ICAPAACAEFCF") == 0);
    CHECK(event_times(&ev, t, 64) == 6);
    CHECK(t[0] == 0 && t[1] == 1500 && t[2] == 1500 && t[3] == 2500 && t[4] == 2600 &&
          t[5] == 3600);
    free_events(&ev);

    /* Each chunk starts its own time: after a flush the first event gets a
       C again (absolute: a chunk read without the one before it has the
       same times); a time given with no event writes nothing. */
    cap_open(&c, "chunks.cap", 1000, 0);
    model_write(&c.m, EV_INFO(1, 8, 0, 0), false);
    CHECK(rcc_writer_flush(c.m.w) == 0);                    /* chunk 0: the info */
    model_write(&c.m, EV(RCC_ALLOC, 7000, 1), true);
    model_write(&c.m, EV(RCC_ALLOC, 7500, 1), true);
    CHECK(rcc_writer_flush(c.m.w) == 0);                    /* chunk 1 */
    model_write(&c.m, EV(RCC_TEMP, 7500, 1), false);       /* its A went out: an F */
    model_write(&c.m, &(rcc_event){.kind = RCC_SAMPLE, .time_us = 7600}, false);
    CHECK(rcc_writer_flush(c.m.w) == 0);                    /* chunk 2 */
    model_time(&c.m, 8000);
    CHECK(rcc_writer_pending(c.m.w) == 0);
    CHECK(rcc_writer_flush(c.m.w) == 0);                    /* nothing: no chunk */
    model_time(&c.m, 8500);
    model_write(&c.m, EV(RCC_ALLOC, 0, 1), false);
    model_write(&c.m, EV(RCC_TEMP, 0, 1), true);
    model_write(&c.m, EV(RCC_FREE, 9000, 1), true);
    cap_close(&c, &ev);                                     /* chunk 3 */
    CHECK(c.fs.nchunks == 4);
    CHECK(strcmp(kinds(&ev), "ICAACFPCAXF") == 0);
    CHECK(c.m.temps_x == 1 && c.m.temps_f == 1 && c.m.temps_split == 1);
    CHECK(event_times(&ev, t, 64) == 6);
    CHECK(t[0] == 7000 && t[1] == 7000 && t[2] == 7500 && t[3] == 8500 && t[4] == 8500 &&
          t[5] == 8500);
    CHECK(ev.v[4].e.time_us == 7500 && ev.v[5].e.id == 1 && ev.v[7].e.time_us == 8500);
    free_events(&ev);
    /* without chunks 1 and 2, chunk 3 reads the same */
    size_t n;
    unsigned char *b = malloc(c.fs.bytes);
    FILE *f = fopen(c.path, "rb");
    CHECK(b && f && fread(b, 1, c.fs.bytes, f) == c.fs.bytes && fgetc(f) == EOF);
    fclose(f);
    n = c.fs.ends[0];
    memmove(b + n, b + c.fs.ends[2], c.fs.bytes - c.fs.ends[2]);
    n += c.fs.bytes - c.fs.ends[2];
    f = fopen(c.path, "wb");
    CHECK(f && fwrite(b, 1, n, f) == n);
    fclose(f);
    free(b);
    char err[512];
    CHECK(read_all(c.path, &ev, err, sizeof err) == 0);
    CHECK(strcmp(kinds(&ev), "ICAXF") == 0);
    CHECK(ev.v[1].e.time_us == 8500 && ev.v[2].e.time_us == 8500 && ev.v[3].e.time_us == 8500 &&
          ev.v[3].e.id == 1 && ev.v[4].e.time_us == 8500);
    free_events(&ev);

    /* chunks filled by events: each starts with a C, though the time
       never moves (temporaries after their A: X, but F where the A was the
       last record of a chunk) */
    cap_open(&c, "full.cap", 1000, 8192);
    model_write(&c.m, EV_INFO(1, 8, 0, 0), false);
    for (int i = 0; i < 16000; i++)
        model_write(&c.m, EV(i & 1 ? (i & 2 ? RCC_TEMP : RCC_FREE) : RCC_ALLOC, 42, 1), i & 4);
    cap_close(&c, &ev);
    CHECK(c.fs.nchunks >= 3 && count_kind(&ev, RCC_CLOCK) == c.fs.nchunks);
    CHECK(c.m.temps_x + c.m.temps_f == 4000 && c.m.temps_x >= 4000 - c.fs.nchunks);
    CHECK(ev.n == 1 + 16000 + c.fs.nchunks);
    for (size_t i = 0; i < ev.n; i++)
        CHECK(ev.v[i].e.time_us == (ev.v[i].e.kind == RCC_INFO ? 0 : 42));
    free_events(&ev);

    /* the largest grain: one C per chunk */
    cap_open(&c, "maxgrain.cap", UINT64_MAX, 0);
    model_write(&c.m, EV_INFO(1, 8, 0, 0), false);
    model_write(&c.m, EV(RCC_ALLOC, 1, 1), false);
    model_write(&c.m, EV(RCC_ALLOC, UINT64_MAX - 1, 1), false);
    model_write(&c.m, EV(RCC_ALLOC, UINT64_MAX, 1), true);
    cap_close(&c, &ev);
    CHECK(strcmp(kinds(&ev), "ICAAA") == 0);
    CHECK(event_times(&ev, t, 64) == 3 && t[0] == 1 && t[1] == 1 && t[2] == 1);
    free_events(&ev);
}

/* ---- Write errors ----------------------------------------------------------------- */

static int failing_sink(void *ctx, const void *chunk, size_t len)
{
    (void)chunk;
    (void)len;
    ++*(int *)ctx;
    return -1;
}

static void test_write_errors(void)
{
    /* a failed flush: every call after it fails, the sink is not called again */
    int calls = 0;
    rcc_writer *w = rcc_writer_new(&(rcc_writer_options){.sink = failing_sink, .sink_ctx = &calls});
    CHECK(w);
    rcc_writer_time(w, 1);
    CHECK(rcc_write(w, EV_INFO(1, 8, 0, 0)) == 0);
    CHECK(rcc_write_alloc(w, 1) == 0);
    CHECK(rcc_writer_flush(w) == -1 && calls == 1);
    CHECK(rcc_write_alloc(w, 1) == -1);
    CHECK(rcc_write_free(w, 1, 0, 0) == -1);
    CHECK(rcc_write_free(w, 1, 1, 0) == -1);
    CHECK(rcc_write(w, EV(RCC_FREE, 2, 1)) == -1);
    CHECK(rcc_write(w, &(rcc_event){.kind = RCC_SAMPLE, .time_us = 3}) == -1);
    CHECK(rcc_write(w, &(rcc_event){.kind = RCC_MODULE, .text = "x"}) == -1);
    CHECK(rcc_writer_flush(w) == -1);
    CHECK(rcc_writer_close(w) == -1 && calls == 1);
    /* a chunk that fills up and cannot go out */
    calls = 0;
    w = rcc_writer_new(&(rcc_writer_options){.sink = failing_sink, .sink_ctx = &calls,
                                             .chunk_bytes = 8192});
    CHECK(w);
    int rc = 0, i;
    for (i = 0; i < 100000 && rc == 0; i++)
        rc = rcc_write_alloc(w, 1);
    CHECK(rc == -1 && calls == 1 && i > 1000);
    CHECK(rcc_write_free(w, 1, 1, 0) == -1 && calls == 1);
    CHECK(rcc_writer_close(w) == -1 && calls == 1);
    CHECK(rcc_writer_close(NULL) == 0);
}

/* ---- Random records from interleaved writers ----------------------------------------- */

typedef struct gen {
    uint64_t rng;
    uint64_t nodes, infos;    /* stack nodes and infos written so far (file-wide) */
    uint64_t pycodes;         /* Python code locations written so far */
    uint64_t time[2];         /* per writer */
} gen;

/* A random record for writer k (model m).  Stack nodes, infos, modules and
   types only from writer 0 (the meta writer in the shim), whose chunks go
   out before each of the other's, so writer 1 may name any info written
   so far; events from both. */
static rcc_event random_event(gen *g, const model *m, int k, char *text)
{
    uint64_t r = test_rand(&g->rng);
    rcc_event e = {0};
    int kind = (int)(r % 100);
    uint64_t big = test_rand(&g->rng);
    uint64_t sh = test_rand(&g->rng) % 64;
    uint64_t v = big >> sh; /* values of every magnitude */
    g->time[k] += test_rand(&g->rng) % 4 == 0 ? v % 1000 : 0;
    uint64_t t = g->time[k];
    if (test_rand(&g->rng) % 16 == 0) /* now and then a time that goes back */
        t = t > 300 ? t - 300 : 0;
    uint64_t info = g->infos ? 1 + test_rand(&g->rng) % g->infos : 0;
    if (k == 0 && kind < 8) {
        e.kind = RCC_STACK;
        e.stack = g->nodes ? test_rand(&g->rng) % (g->nodes + 1) : 0;
        /* a native frame, or now and then a Python one */
        e.ip = g->pycodes && big % 4 == 0 ? RCC_PYFRAME_BIT | (1 + v % g->pycodes)
                                          : v & ~RCC_PYFRAME_BIT;
        e.id = ++g->nodes;
    } else if (k == 0 && (kind < 16 || !info)) {
        e.kind = RCC_INFO;
        e.size = v;
        e.stack = g->nodes ? test_rand(&g->rng) % (g->nodes + 1) : 0;
        e.type = test_rand(&g->rng) % 4 == 0 ? big : test_rand(&g->rng) % 3;
        e.id = ++g->infos;
    } else if (!info) { /* writer 1 before any info: a sample */
        e.kind = RCC_SAMPLE;
        e.time_us = t;
        e.heap_bytes = v;
        e.rss_bytes = big;
    } else if (k == 0 && kind < 17) {
        static const int named[] = {RCC_MODULE, RCC_TYPE, RCC_PYCODE};
        e.kind = named[test_rand(&g->rng) % 3];
        size_t len = test_rand(&g->rng) % 64;
        for (size_t i = 0; i < len; i++)
            text[i] = (char)('a' + test_rand(&g->rng) % 26);
        text[len] = 0;
        e.text = text;
        e.name = text + len / 2;
        e.ip = v;
        e.size = big;
        e.line = big;
        e.id = e.kind == RCC_PYCODE ? ++g->pycodes : v | 1;
    } else if (kind < 50) {
        e = ev_event(RCC_ALLOC, t, info);
    } else if (kind < 75) {
        e = ev_event(RCC_FREE, t, info);
    } else if (kind < 85) {
        /* a temporary: mostly of the writer's latest A when its latest
           event was one (an X, or an F when that A went out with the
           previous chunk), else of any info (an F, unless that is the A's) */
        uint64_t a = m->last_alloc_any;
        e = ev_event(RCC_TEMP, t, a && test_rand(&g->rng) % 4 ? a : info);
    } else if (kind < 89) {
        e.kind = RCC_CLOCK;
        e.time_us = t;
    } else if (kind < 94) {
        e.kind = RCC_SAMPLE;
        e.time_us = t;
        e.heap_bytes = v;
        e.rss_bytes = big;
    } else if (kind < 98) { /* anywhere: no C before it */
        e.kind = RCC_LEAK;
        e.id = info;
        e.status = (int64_t)(v % 3);
        e.count = v ? v : 1;
    } else if (k == 0 && kind < 99) {
        e.kind = RCC_PYTHON;
        e.count = v;
    } else {
        e.kind = RCC_END;
        e.time_us = t;
        e.status = (int64_t)big;
        e.heap_bytes = v;
        e.peak_time_us = big;
    }
    return e;
}

/* Compares what the reader gives with the models' records, chunk by chunk
   in the order the chunks went out. */
typedef struct replay {
    model *m[2];
    const order *ord;
    size_t chunk;             /* the chunk being given */
    size_t at[2];             /* next expected record of each writer */
    size_t given;
} replay;

static int replay_check(const rcc_event *e, void *ctx)
{
    replay *p = ctx;
    while (p->chunk < p->ord->n &&
           p->at[p->ord->v[p->chunk].k] == p->ord->v[p->chunk].upto)
        p->chunk++;
    CHECK(p->chunk < p->ord->n);
    int k = p->ord->v[p->chunk].k;
    stored_event got = {.e = *e, .text = (char *)(uintptr_t)e->text,
                        .name = (char *)(uintptr_t)e->name};
    const stored_event *want = &p->m[k]->q.v[p->at[k]];
    if (!same_event(&got, want)) {
        show("read", p->given, &got);
        show("expected", p->given, want);
        fprintf(stderr, "in chunk %zu, of writer %d\n", p->chunk, k);
    }
    CHECK(same_event(&got, want));
    p->at[k]++;
    p->given++;
    return 0;
}

static void test_random(size_t count)
{
    char path[256];
    path_of(path, sizeof path, "random.cap");
    file_sink fs = {.fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644)};
    CHECK(fs.fd >= 0);
    CHECK(rcc_write_header(fs.fd, 7, 1) == 0);
    fs.bytes = 64;
    /* Small chunks (near the minimum, 9 KiB) so deltas restart often; the
       thread's writer with a grain, the meta writer without. */
    order ord = {0};
    model m[2] = {{.grain = 0}, {.grain = 250}};
    tap taps[2] = {{.file = &fs, .m = &m[0], .k = 0, .ord = &ord},
                   {.file = &fs, .m = &m[1], .k = 1, .ord = &ord}};
    m[0].w = rcc_writer_new(&(rcc_writer_options){.sink = tap_write, .sink_ctx = &taps[0],
                                                  .chunk_bytes = 8192, .level = 3});
    m[1].w = rcc_writer_new(&(rcc_writer_options){.sink = tap_write, .sink_ctx = &taps[1],
                                                  .chunk_bytes = 8192, .tid = 99,
                                                  .time_grain_us = 250});
    CHECK(m[0].w && m[1].w);
    taps[1].first = m[0].w;
    gen g = {.rng = 12345};
    char text[80];
    for (size_t i = 0; i < count; i++) {
        int k = (int)(test_rand(&g.rng) % 2);
        rcc_event e = random_event(&g, &m[k], k, text);
        model_write(&m[k], &e, test_rand(&g.rng) & 1);
        uint64_t r = test_rand(&g.rng);
        if (r % 5000 == 0) /* an early flush now and then */
            CHECK(rcc_writer_flush(m[k].w) == 0);
        else if (r % 50 == 1) /* a time with no event */
            model_time(&m[k], g.time[k] + r % 700);
    }
    CHECK(rcc_writer_close(m[1].w) == 0);
    CHECK(rcc_writer_close(m[0].w) == 0);
    close(fs.fd);
    CHECK(fs.nchunks > 10 && ord.n == fs.nchunks);
    CHECK(count_kind(&m[1].q, RCC_CLOCK) > 0 && count_kind(&m[1].q, RCC_LEAK) > 0);
    /* temporaries of both writers: X right after their A, F elsewhere, and
       (in the long run) F because their A went out with the chunk before */
    for (int k = 0; k < 2; k++) {
        CHECK(check_temps(&m[k].q) == m[k].temps_x);
        CHECK(m[k].temps_x > count / 200 && m[k].temps_f > count / 500);
    }
    CHECK(count < 1000000 || (m[0].temps_split > 0 && m[1].temps_split > 0));

    replay p = {.m = {&m[0], &m[1]}, .ord = &ord};
    char err[512];
    rcc_reader *r = rcc_reader_open(path, err, sizeof err);
    CHECK(r);
    CHECK(rcc_read(r, replay_check, &p) == 0);
    rcc_reader_close(r);
    CHECK(p.at[0] == m[0].q.n && p.at[1] == m[1].q.n);
    free_events(&m[0].q);
    free_events(&m[1].q);
    free(ord.v);
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

/* A small capture of five chunks: chunk ends, records read up to each
   chunk's end, and every record (in *want). */
static void small_capture(const char *path, size_t *ends, size_t *records, events *want)
{
    file_sink fs = {.fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644)};
    CHECK(fs.fd >= 0 && rcc_write_header(fs.fd, 1, 2) == 0);
    fs.bytes = 64;
    model m = {.grain = 100};
    tap t = {.file = &fs, .m = &m};
    m.w = rcc_writer_new(&(rcc_writer_options){.sink = tap_write, .sink_ctx = &t,
                                               .time_grain_us = 100});
    CHECK(m.w);
    gen g = {.rng = 99};
    char text[80];
    for (int chunk = 0; chunk < 5; chunk++) {
        int per = chunk == 2 ? 1 : 40; /* one tiny chunk too */
        for (int i = 0; i < per; i++) {
            rcc_event e = random_event(&g, &m, chunk == 0 ? 0 : 1, text);
            model_write(&m, &e, i & 1);
        }
        CHECK(rcc_writer_flush(m.w) == 0); /* codec 1 or stored, as zstd decides */
        records[chunk] = m.q.n;
    }
    CHECK(rcc_writer_close(m.w) == 0);
    close(fs.fd);
    CHECK(fs.nchunks == 5 && g.infos > 0);
    memcpy(ends, fs.ends, 5 * sizeof *ends);
    *want = m.q;
}

static void test_truncation(void)
{
    char path[256], cut[256];
    path_of(path, sizeof path, "small.cap");
    path_of(cut, sizeof cut, "cut.cap");
    size_t ends[5], records[5], n;
    events want;
    small_capture(path, ends, records, &want);
    CHECK(count_kind(&want, RCC_CLOCK) > 4 && count_kind(&want, RCC_INFO) > 2);
    unsigned char *b = slurp(path, &n);
    CHECK(n == ends[4]);
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
        for (size_t c = 0; c < 5; c++) {
            if (ends[c] <= len)
                whole = records[c];
            at_end |= ends[c] == len;
        }
        CHECK(rc == (at_end ? 0 : 1));
        CHECK(ev.n == whole);
        check_same(&ev, &want, whole);
        if (rc == 1)
            CHECK(strstr(err, "truncated") != NULL);
        free_events(&ev);
    }
    free(b);
    free_events(&want);
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
            if (off >= 8 && off < 12) /* the version field (3 -> 2 is a version
                                         the reader knows: the header CRC fails) */
                CHECK(rc == -2 && (strstr(err, "format version") || strstr(err, "its CRC")));
            if (rc == -1) {
                CHECK(strstr(err, "byte") != NULL);
                /* records before the bad chunk were given, unchanged */
                CHECK(ev.n <= good.n);
                check_same(&ev, &good, ev.n);
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

/* A 64-byte file header of this version, its CRC right. */
static size_t craft_header(unsigned char *out, uint32_t version)
{
    memset(out, 0, 64);
    memcpy(out, "RCGCCAP", 8);
    put32(out + 8, version);
    put32(out + 12, 64);
    put32(out + 24, 1);
    put32(out + 28, crc(out, 64));
    return 64;
}

/* A chunk holding `raw` as is (codec 0) unless the lengths are overridden;
   returns its size. */
static size_t craft_chunk(unsigned char *h, const void *raw, uint32_t len, uint32_t raw_len,
                          uint32_t stored_len, unsigned codec)
{
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
    return 24 + len;
}

/* A file header, then one chunk. */
static size_t craft(unsigned char *out, const void *raw, uint32_t len, uint32_t raw_len,
                    uint32_t stored_len, unsigned codec)
{
    size_t n = craft_header(out, RCC_VERSION);
    return n + craft_chunk(out + n, raw, len, raw_len, stored_len, codec);
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

/* A file of one stored chunk per part (lengths in lens), read into ev. */
static int read_chunks(const unsigned char *const *parts, const size_t *lens, size_t nparts,
                       events *ev, char *err, size_t errlen)
{
    static unsigned char buf[1 << 16];
    size_t n = craft_header(buf, RCC_VERSION);
    for (size_t i = 0; i < nparts; i++) {
        CHECK(n + 24 + lens[i] <= sizeof buf);
        n += craft_chunk(buf + n, parts[i], (uint32_t)lens[i], (uint32_t)lens[i],
                         (uint32_t)lens[i], 0);
    }
    char path[256];
    path_of(path, sizeof path, "chunks.cap");
    spill(path, buf, n);
    return read_all(path, ev, err, errlen);
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
    /* version 1 (addresses and times in events), CRC right: refused by
       name; version 6 too */
    n = craft_header(buf, 1);
    spill(path, buf, n);
    CHECK(!rcc_reader_open(path, err, sizeof err));
    CHECK(strstr(err, "format version 1") && strstr(err, "versions 2 to 5") && strstr(err, path));
    n = craft_header(buf, 6);
    n += craft_chunk(buf + n, "", 0, 0, 0, 0);
    spill(path, buf, n);
    CHECK(!rcc_reader_open(path, err, sizeof err) && strstr(err, "format version 6"));
    /* version 2's E has no signal field; version 3's has one, at most 64 */
    {
        const unsigned char end2[] = {'E', 5, 2, 7, 3}, end3[] = {'E', 5, 2, 7, 3, 11},
                            bad3[] = {'E', 5, 2, 7, 3, 65};
        n = craft_header(buf, 2);
        n += craft_chunk(buf + n, end2, sizeof end2, sizeof end2, sizeof end2, 0);
        spill(path, buf, n);
        events ev = {0};
        CHECK(read_all(path, &ev, err, sizeof err) == 0 && ev.n == 1);
        CHECK(ev.v[0].e.kind == RCC_END && ev.v[0].e.status == 1 && ev.v[0].e.heap_bytes == 7 &&
              ev.v[0].e.peak_time_us == 3 && ev.v[0].e.signal == 0);
        free_events(&ev);
        CHECK(read_records(end2, sizeof end2, err, sizeof err) == -1); /* short for 3 */
        ev = (events){0};
        n = craft(buf, end3, sizeof end3, sizeof end3, sizeof end3, 0);
        spill(path, buf, n);
        CHECK(read_all(path, &ev, err, sizeof err) == 0 && ev.n == 1 && ev.v[0].e.signal == 11);
        free_events(&ev);
        CHECK(read_records(bad3, sizeof bad3, err, sizeof err) == -1 &&
              strstr(err, "unknown signal"));
    }
    n = craft(buf, "", 0, 0, 0, 0);
    spill(path, buf, n);
    CHECK(read_all(path, &(events){0}, err, sizeof err) == 0);
    /* a tiny error buffer is respected */
    n = craft_header(buf, 1);
    spill(path, buf, n);
    char tiny[8];
    memset(tiny, 'z', sizeof tiny);
    CHECK(!rcc_reader_open(path, tiny, 4) && tiny[3] == 0 && tiny[4] == 'z');

    /* an empty chunk is fine; a valid chunk is read */
    CHECK(read_records((const unsigned char *)"", 0, err, sizeof err) == 0);
    unsigned char ok[] = {'I', 16, 0, 0, 'A', 1};
    const uint32_t okn = (uint32_t)sizeof ok;
    CHECK(read_records(ok, sizeof ok, err, sizeof err) == 0);
    /* zero-length chunks first, between and last (the reader once made a
       cursor of NULL + 0 for them: undefined, caught by clang's UBSan) */
    {
        static const unsigned char more[] = {'A', 1, 'F', 1};
        const unsigned char *parts[] = {ok, ok, more, more, ok};
        size_t lens[] = {0, sizeof ok, 0, sizeof more, 0};
        events ev = {0};
        CHECK(read_chunks(parts, lens, 5, &ev, err, sizeof err) == 0);
        CHECK(strcmp(kinds(&ev), "IAAF") == 0);
        free_events(&ev);
    }

    /* lengths beyond the hard bounds: corrupt, before any allocation */
    CHECK(read_crafted(ok, okn, RCC_MAX_CHUNK + 1, okn, 1, err, sizeof err) == -1);
    CHECK(strstr(err, "bad lengths"));
    CHECK(read_crafted(ok, okn, okn, okn + 1, 0, err, sizeof err) == -1); /* stored != raw */
    CHECK(read_crafted(ok, okn, 1000, okn + (70u << 10), 1, err, sizeof err) == -1);
    CHECK(read_crafted(ok, okn, okn, okn, 7, err, sizeof err) == -1 && strstr(err, "codec"));
    /* a stored length the file does not hold: truncation, no allocation */
    CHECK(read_crafted(ok, okn, RCC_MAX_CHUNK, RCC_MAX_CHUNK, 0, err, sizeof err) == 1);
    CHECK(strstr(err, "truncated"));
    /* zstd data that is not zstd, or decodes to another length */
    CHECK(read_crafted(ok, okn, okn, okn, 1, err, sizeof err) == -1 && strstr(err, "decompress"));

    /* records: unknown tag, varint of 11 bytes, overflowing 10th byte,
       strings too long or past the end, a stack node's parent not yet
       defined, type id 0, a time that overflows, a record cut short */
    unsigned char tag[] = {'Q'};
    CHECK(read_records(tag, 1, err, sizeof err) == -1 && strstr(err, "unknown record tag"));
    unsigned char v11[] = {'C', 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01};
    CHECK(read_records(v11, sizeof v11, err, sizeof err) == -1 && strstr(err, "byte 64"));
    unsigned char v10[] = {'C', 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x02};
    CHECK(read_records(v10, sizeof v10, err, sizeof err) == -1);
    unsigned char vmax[] = {'C', 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01};
    CHECK(read_records(vmax, sizeof vmax, err, sizeof err) == 0);
    unsigned char imax[] = {'I', 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01,
                            0,   0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01};
    CHECK(read_records(imax, sizeof imax, err, sizeof err) == 0);
    unsigned char longstr[] = {'T', 1, 0x81, 0x20}; /* 4097 bytes */
    CHECK(read_records(longstr, sizeof longstr, err, sizeof err) == -1);
    unsigned char hugestr[] = {'M', 0, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F};
    CHECK(read_records(hugestr, sizeof hugestr, err, sizeof err) == -1);
    unsigned char paststr[] = {'T', 1, 10, 'a', 'b'};
    CHECK(read_records(paststr, sizeof paststr, err, sizeof err) == -1);
    unsigned char parent[] = {'S', 0, 1, 'S', 5, 2};
    CHECK(read_records(parent, sizeof parent, err, sizeof err) == -1 &&
          strstr(err, "parent comes later"));
    unsigned char type0[] = {'T', 0, 1, 'x'};
    CHECK(read_records(type0, sizeof type0, err, sizeof err) == -1);
    unsigned char tover[] = {'C', 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01,
                             'P', 1, 0, 0};
    CHECK(read_records(tover, sizeof tover, err, sizeof err) == -1);
    tover[11] = 'C';
    CHECK(read_records(tover, 13, err, sizeof err) == -1);
    tover[12] = 0; /* a delta of 0 from the largest time is fine */
    CHECK(read_records(tover, 13, err, sizeof err) == 0);
    unsigned char cut1[] = {'I', 16, 0};
    CHECK(read_records(cut1, sizeof cut1, err, sizeof err) == -1 && strstr(err, "overruns"));
    unsigned char cut2[] = {'I', 16, 0, 0, 'A', 0x81};
    CHECK(read_records(cut2, sizeof cut2, err, sizeof err) == -1 && strstr(err, "overruns"));
    unsigned char cut3[] = {'I', 16, 0, 0, 'L', 1, 2};
    CHECK(read_records(cut3, sizeof cut3, err, sizeof err) == -1 && strstr(err, "overruns"));
    unsigned char cut4[] = {'I', 16, 0, 0, 'C'};
    CHECK(read_records(cut4, sizeof cut4, err, sizeof err) == -1 && strstr(err, "overruns"));

    /* an info's stack node must be defined before it */
    unsigned char use[] = {'S', 0, 1, 'I', 16, 2, 0};
    CHECK(read_records(use, sizeof use, err, sizeof err) == -1 && strstr(err, "not yet defined"));
    use[5] = 1;
    CHECK(read_records(use, sizeof use, err, sizeof err) == 0);
    unsigned char nostack[] = {'I', 16, 1, 0};
    CHECK(read_records(nostack, sizeof nostack, err, sizeof err) == -1 &&
          strstr(err, "stack node not yet defined"));

    /* Python: a frame (return address with bit 63) names a K defined
       before it, in this chunk or an earlier one; K ids go 1, 2, 3...;
       K's strings are bounded; a record cut short is corrupt */
    {
#define PYFRAME(k) 0x80 | (k), 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01
        unsigned char py[] = {'Y', 0xF0, 0x85, 0xAC, 0x18, 'K', 1, 7, 4, 'a', '.', 'p', 'y',
                              1,   'f',  'S',  0,    PYFRAME(1), 'S', 1, 0x10};
        events ev = {0};
        const unsigned char *parts[] = {py};
        size_t lens[] = {sizeof py};
        CHECK(read_chunks(parts, lens, 1, &ev, err, sizeof err) == 0);
        CHECK(strcmp(kinds(&ev), "YKSS") == 0 && ev.v[0].e.count == 0x030B02F0);
        CHECK(ev.v[1].e.id == 1 && ev.v[1].e.line == 7 && strcmp(ev.v[1].text, "a.py") == 0 &&
              strcmp(ev.v[1].name, "f") == 0);
        CHECK(ev.v[2].e.ip == (RCC_PYFRAME_BIT | 1) && ev.v[3].e.stack == 1 && ev.v[3].e.id == 2);
        free_events(&ev);
        /* the K in the chunk before the S */
        const unsigned char *split[] = {py, py + 15};
        size_t split_lens[] = {15, sizeof py - 15};
        CHECK(read_chunks(split, split_lens, 2, &ev, err, sizeof err) == 0 && ev.n == 4);
        free_events(&ev);
        /* a frame of K 0, of K 2 (only 1 defined), of a K that comes later */
        unsigned char k0[] = {'K', 1, 7, 0, 0, 'S', 0, PYFRAME(0)};
        CHECK(read_records(k0, sizeof k0, err, sizeof err) == -1 &&
              strstr(err, "Python frame whose code location is not yet defined") &&
              strstr(err, "tag 'S'"));
        k0[7] = 0x82;
        CHECK(read_records(k0, sizeof k0, err, sizeof err) == -1 &&
              strstr(err, "code location is not yet defined"));
        k0[7] = 0x81;
        CHECK(read_records(k0, sizeof k0, err, sizeof err) == 0);
        unsigned char later[] = {'S', 0, PYFRAME(1), 'K', 1, 7, 0, 0};
        CHECK(read_records(later, sizeof later, err, sizeof err) == -1 &&
              strstr(err, "code location is not yet defined"));
        /* K ids out of order: 0 first, 2 first, 1 twice */
        unsigned char ids[] = {'K', 0, 7, 0, 0, 'K', 1, 7, 0, 0};
        CHECK(read_records(ids, 5, err, sizeof err) == -1 && strstr(err, "out of order"));
        ids[1] = 2;
        CHECK(read_records(ids, 5, err, sizeof err) == -1 && strstr(err, "out of order"));
        ids[1] = 1;
        CHECK(read_records(ids, sizeof ids, err, sizeof err) == -1 &&
              strstr(err, "out of order") && strstr(err, "offset 5"));
        ids[6] = 2;
        CHECK(read_records(ids, sizeof ids, err, sizeof err) == 0);
        /* strings over the bound or past the end; fields cut short */
        unsigned char kstr[] = {'K', 1, 7, 0x81, 0x20};
        CHECK(read_records(kstr, sizeof kstr, err, sizeof err) == -1);
        unsigned char kname[] = {'K', 1, 7, 0, 0x81, 0x20};
        CHECK(read_records(kname, sizeof kname, err, sizeof err) == -1);
        unsigned char kpast[] = {'K', 1, 7, 1, 'a', 3, 'f'};
        CHECK(read_records(kpast, sizeof kpast, err, sizeof err) == -1 &&
              strstr(err, "overruns"));
        for (size_t len = 1; len < 5; len++)
            CHECK(read_records(ids, len, err, sizeof err) == -1 && strstr(err, "overruns"));
        CHECK(read_records(py, 1, err, sizeof err) == -1 && strstr(err, "overruns"));
#undef PYFRAME
    }

    /* O (the census at exit): list 0 or 1, objects >= 1, bytes, a type
       name; any other list, no objects, a name past the bound or the end:
       corrupt */
    {
        unsigned char census[] = {'O', 0, 3, 0x80, 0x01, 3, 'F', 'o', 'o', 'O', 1, 2, 64, 0};
        events ev = {0};
        const unsigned char *parts[] = {census};
        size_t lens[] = {sizeof census};
        CHECK(read_chunks(parts, lens, 1, &ev, err, sizeof err) == 0);
        CHECK(strcmp(kinds(&ev), "OO") == 0 && ev.v[0].e.status == RCC_PY_LIVE &&
              ev.v[0].e.count == 3 && ev.v[0].e.size == 128 && strcmp(ev.v[0].text, "Foo") == 0);
        CHECK(ev.v[1].e.status == RCC_PY_GARBAGE && ev.v[1].e.count == 2 &&
              ev.v[1].e.size == 64 && strcmp(ev.v[1].text, "") == 0);
        free_events(&ev);
        census[1] = 2;
        CHECK(read_records(census, sizeof census, err, sizeof err) == -1 &&
              strstr(err, "an unknown list of Python objects") && strstr(err, "tag 'O'"));
        census[1] = 0, census[2] = 0;
        CHECK(read_records(census, sizeof census, err, sizeof err) == -1 &&
              strstr(err, "a Python objects record of no objects"));
        census[2] = 3, census[5] = 0x81, census[6] = 0x20; /* a name of 4097 bytes */
        CHECK(read_records(census, sizeof census, err, sizeof err) == -1 &&
              strstr(err, "overruns"));
        census[5] = 3, census[6] = 'F';
        for (size_t len = 1; len < 9; len++)
            CHECK(read_records(census, len, err, sizeof err) == -1 && strstr(err, "overruns"));
    }

    /* A, F and L name info 1..(infos so far): not 0, not one defined
       later or never (an X names none: see below) */
    static const unsigned char tags[] = {'A', 'F', 'L'};
    for (size_t i = 0; i < sizeof tags; i++) {
        unsigned char rec[16];
        static const uint64_t bad[] = {0, 3, 128};
        for (size_t j = 0; j < 3; j++) {
            size_t len = 0; /* two infos, then the record */
            rec[len++] = 'I', rec[len++] = 16, rec[len++] = 0, rec[len++] = 0;
            rec[len++] = 'I', rec[len++] = 8, rec[len++] = 0, rec[len++] = 7;
            rec[len++] = tags[i];
            if (bad[j] < 128) {
                rec[len++] = (unsigned char)bad[j];
            } else {
                rec[len++] = 0x80;
                rec[len++] = 0x01;
            }
            if (tags[i] == 'L')
                rec[len++] = RCC_DEFINITE, rec[len++] = 1;
            CHECK(read_records(rec, len, err, sizeof err) == -1);
            CHECK(strstr(err, "info not yet defined") && strstr(err, "byte 64"));
            char want[8];
            snprintf(want, sizeof want, "'%c'", tags[i]);
            CHECK(strstr(err, want));
            rec[9] = 2; /* the second info: fine */
            len = tags[i] == 'L' ? 12 : 10;
            rec[10] = RCC_DEFINITE, rec[11] = 1;
            CHECK(read_records(rec, len, err, sizeof err) == 0);
        }
        /* used before its I in the same chunk */
        unsigned char early[] = {tags[i], 1, RCC_REACHABLE, 1};
        unsigned char both[8];
        size_t len = tags[i] == 'L' ? 4 : 2;
        memcpy(both, early, len);
        memcpy(both + len, (const unsigned char[]){'I', 16, 0, 0}, 4);
        CHECK(read_records(both, len + 4, err, sizeof err) == -1);
        CHECK(strstr(err, "info not yet defined"));
    }

    /* X: no field, the info of the A right before it in the chunk (C, P,
       L, I between them are fine); an X with no A right before it (first
       event of a chunk, after an F, after an X) is corrupt */
    {
        unsigned char x[] = {'I', 16, 0, 0, 'I', 8, 0, 0, 'A', 2, 'C', 5, 'P', 1, 0, 0,
                             'L', 1, 0, 1, 'I', 4, 0, 0, 'X', 'A', 1, 'X', 'A', 3, 'X'};
        events ev = {0};
        const unsigned char *parts[] = {x};
        size_t lens[] = {sizeof x};
        CHECK(read_chunks(parts, lens, 1, &ev, err, sizeof err) == 0);
        CHECK(strcmp(kinds(&ev), "IIACPLIXAXAX") == 0);
        CHECK(ev.v[7].e.id == 2 && ev.v[7].e.time_us == 6);   /* the first A's info */
        CHECK(ev.v[9].e.id == 1 && ev.v[11].e.id == 3 && ev.v[11].e.time_us == 6);
        CHECK(check_temps(&ev) == 3);
        free_events(&ev);
    }
    static const struct {
        unsigned char rec[12]; /* raw records, ending with the bad X */
        size_t len;
    } lone[] = {
        {{'X'}, 1},                                              /* the first record */
        {{'I', 16, 0, 0, 'X'}, 5},                               /* the first event */
        {{'I', 16, 0, 0, 'C', 5, 'X'}, 7},                       /* after a C only */
        {{'I', 16, 0, 0, 'A', 1, 'F', 1, 'X'}, 9},               /* after an F */
        {{'I', 16, 0, 0, 'A', 1, 'F', 1, 'C', 2, 'X'}, 11},      /* after an F, then a C */
        {{'I', 16, 0, 0, 'A', 1, 'X', 'X'}, 8},                  /* after an X */
        {{'I', 16, 0, 0, 'A', 1, 'X', 'P', 1, 0, 0, 'X'}, 12},   /* after an X, then a P */
    };
    for (size_t i = 0; i < sizeof lone / sizeof *lone; i++) {
        CHECK(read_records(lone[i].rec, lone[i].len, err, sizeof err) == -1);
        char want[64];
        snprintf(want, sizeof want, "offset %zu (tag 'X')", lone[i].len - 1);
        if (!strstr(err, "temporary free not right after an allocation") || !strstr(err, want))
            fprintf(stderr, "lone X %zu: %s\n", i, err);
        CHECK(strstr(err, "temporary free not right after an allocation") && strstr(err, want));
        CHECK(strstr(err, "byte 64"));
    }
    /* an X byte carries no id: what follows it is the next record */
    unsigned char xid[] = {'I', 16, 0, 0, 'A', 1, 'X', 1};
    CHECK(read_records(xid, sizeof xid, err, sizeof err) == -1 &&
          strstr(err, "unknown record tag") && strstr(err, "offset 7"));
    /* an X whose A is in the chunk before: corrupt, after the first
       chunk's records were given (the reader's X state does not cross
       chunks, as the writer's does not) */
    {
        unsigned char c1[] = {'I', 16, 0, 0, 'A', 1};
        unsigned char c2[] = {'C', 5, 'X', 'A', 1}; /* none of it given */
        unsigned char c3[] = {'A', 1, 'X'};
        const unsigned char *parts[] = {c1, c2};
        size_t lens[] = {sizeof c1, sizeof c2};
        events ev = {0};
        CHECK(read_chunks(parts, lens, 2, &ev, err, sizeof err) == -1);
        CHECK(ev.n == 2 && strstr(err, "temporary free not right after an allocation"));
        CHECK(strstr(err, "byte 94")); /* 64 + 24 + 6: the second chunk */
        free_events(&ev);
        parts[1] = c3, lens[1] = sizeof c3;
        CHECK(read_chunks(parts, lens, 2, &ev, err, sizeof err) == 0);
        CHECK(strcmp(kinds(&ev), "IAAX") == 0 && ev.v[3].e.id == 1);
        free_events(&ev);
    }

    /* L: an unknown reachability, a count of 0; every reachability and the
       largest count are fine */
    unsigned char reach[] = {'I', 16, 0, 0, 'L', 1, 4, 1};
    CHECK(read_records(reach, sizeof reach, err, sizeof err) == -1 &&
          strstr(err, "unknown reachability"));
    reach[6] = 0x80, reach[7] = 0x01; /* 128, and no count left */
    CHECK(read_records(reach, sizeof reach, err, sizeof err) == -1);
    unsigned char zero[] = {'I', 16, 0, 0, 'L', 1, 2, 0};
    CHECK(read_records(zero, sizeof zero, err, sizeof err) == -1 && strstr(err, "no blocks"));
    for (unsigned char rch = 0; rch <= RCC_POSSIBLE; rch++) {
        unsigned char leak[] = {'I', 16, 0, 0, 'L', 1, rch, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
                                0xFF, 0xFF, 0xFF, 0x01};
        events ev = {0};
        const unsigned char *parts[] = {leak};
        size_t lens[] = {sizeof leak};
        CHECK(read_chunks(parts, lens, 1, &ev, err, sizeof err) == 0);
        CHECK(ev.n == 2 && ev.v[1].e.kind == RCC_LEAK && ev.v[1].e.id == 1 &&
              ev.v[1].e.status == rch && ev.v[1].e.count == UINT64_MAX);
        free_events(&ev);
    }

    /* Ids across chunks: infos and nodes are numbered file-wide, times are
       not carried over (an event before the chunk's first time record is
       at 0, the first C is absolute), and a bad chunk stops the read after
       the records of the good ones */
    {
        unsigned char c1[] = {'S', 0, 9, 'I', 16, 1, 0, 'C', 100, 'A', 1};
        unsigned char c2[] = {'A', 1, 'I', 8, 1, 5, 'C', 5, 'F', 2, 'P', 2, 0, 0, 'A', 2, 'X'};
        unsigned char c3[] = {'S', 1, 7, 'I', 32, 2, 0, 'L', 3, 1, 4};
        unsigned char c4[] = {'A', 4};
        const unsigned char *parts[] = {c1, c2, c3, c4};
        size_t lens[] = {sizeof c1, sizeof c2, sizeof c3, sizeof c4};
        events ev = {0};
        CHECK(read_chunks(parts, lens, 3, &ev, err, sizeof err) == 0);
        CHECK(strcmp(kinds(&ev), "SICAAICFPAXSIL") == 0);
        const stored_event *e = ev.v;
        CHECK(e[3].e.time_us == 100 && e[3].e.id == 1);          /* A, chunk 1 */
        CHECK(e[4].e.time_us == 0 && e[4].e.id == 1);            /* A, chunk 2: no time yet */
        CHECK(e[5].e.id == 2 && e[5].e.size == 8 && e[5].e.stack == 1 && e[5].e.type == 5);
        CHECK(e[6].e.time_us == 5 && e[7].e.time_us == 5 && e[7].e.id == 2);
        CHECK(e[8].e.time_us == 7 && e[9].e.time_us == 7 && e[9].e.id == 2);
        CHECK(e[10].e.kind == RCC_TEMP && e[10].e.time_us == 7 && e[10].e.id == 2);
        CHECK(e[11].e.id == 2 && e[11].e.stack == 1 && e[12].e.id == 3 && e[12].e.stack == 2);
        CHECK(e[13].e.time_us == 0 && e[13].e.id == 3 && e[13].e.status == 1 && e[13].e.count == 4);
        free_events(&ev);
        CHECK(read_chunks(parts, lens, 4, &ev, err, sizeof err) == -1);
        CHECK(ev.n == 14 && strstr(err, "info not yet defined"));
        free_events(&ev);
        /* chunk 2 without chunk 1: its A names info 1, never defined */
        CHECK(read_chunks(parts + 1, lens + 1, 1, &ev, err, sizeof err) == -1);
        CHECK(ev.n == 0 && strstr(err, "info not yet defined") && strstr(err, "byte 64"));
        free_events(&ev);
        /* chunk 3 without chunk 1: its S names node 1 */
        CHECK(read_chunks(parts + 2, lens + 2, 1, &ev, err, sizeof err) == -1);
        CHECK(ev.n == 0 && strstr(err, "parent comes later"));
        free_events(&ev);
        /* chunks 2 then 1: the order matters */
        const unsigned char *swapped[] = {c2, c1};
        size_t swapped_lens[] = {sizeof c2, sizeof c1};
        CHECK(read_chunks(swapped, swapped_lens, 2, &ev, err, sizeof err) == -1);
        CHECK(ev.n == 0);
        free_events(&ev);
    }

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

/* ---- Writers whose meta records are missing ------------------------------------------- */

typedef struct blob {
    unsigned char *p;
    size_t n;
    size_t chunks;
} blob;

static int blob_sink(void *ctx, const void *chunk, size_t len)
{
    blob *b = ctx;
    b->p = realloc(b->p, b->n + len);
    CHECK(b->p);
    memcpy(b->p + b->n, chunk, len);
    b->n += len;
    b->chunks++;
    return 0;
}

/* A file of a header and these blobs' chunks, in this order; read. */
static int read_blobs(const blob *const *bs, size_t n, events *ev, char *err, size_t errlen)
{
    char path[256];
    path_of(path, sizeof path, "blobs.cap");
    FILE *f = fopen(path, "wb");
    unsigned char h[64];
    CHECK(f && fwrite(h, 1, craft_header(h, RCC_VERSION), f) == 64);
    for (size_t i = 0; i < n; i++)
        CHECK(fwrite(bs[i]->p, 1, bs[i]->n, f) == bs[i]->n);
    fclose(f);
    return read_all(path, ev, err, errlen);
}

/* The shim's layout: a meta writer defines nodes, types and infos, a
   thread's writer names them.  A thread's chunk is readable after the meta
   chunks it depends on, corrupt without them. */
static void test_missing_meta(void)
{
    blob meta1 = {0}, meta2 = {0}, thr = {0};
    rcc_writer *m1 = rcc_writer_new(&(rcc_writer_options){.sink = blob_sink, .sink_ctx = &meta1});
    rcc_writer *m2 = rcc_writer_new(&(rcc_writer_options){.sink = blob_sink, .sink_ctx = &meta2});
    rcc_writer *t = rcc_writer_new(&(rcc_writer_options){.sink = blob_sink, .sink_ctx = &thr,
                                                         .time_grain_us = 1000});
    CHECK(m1 && m2 && t);
    CHECK(rcc_write(m1, &(rcc_event){.kind = RCC_STACK, .stack = 0, .ip = 0x1234}) == 0);
    CHECK(rcc_write(m1, &(rcc_event){.kind = RCC_TYPE, .id = 1, .text = "widget"}) == 0);
    CHECK(rcc_write(m1, EV_INFO(1, 24, 1, 0)) == 0);
    CHECK(rcc_write(m2, &(rcc_event){.kind = RCC_STACK, .stack = 1, .ip = 0x5678}) == 0);
    CHECK(rcc_write(m2, EV_INFO(2, 40, 2, 1)) == 0);
    rcc_writer_time(t, 5);
    CHECK(rcc_write_alloc(t, 1) == 0);
    CHECK(rcc_write_alloc(t, 2) == 0);
    CHECK(rcc_write_free(t, 1, 0, 0) == 0);
    CHECK(rcc_write(t, &(rcc_event){.kind = RCC_LEAK, .id = 2, .status = RCC_DEFINITE,
                                    .count = 1}) == 0);
    CHECK(rcc_writer_close(m1) == 0 && rcc_writer_close(m2) == 0 && rcc_writer_close(t) == 0);
    CHECK(meta1.chunks == 1 && meta2.chunks == 1 && thr.chunks == 1);

    char err[512];
    events ev = {0};
    const blob *all[] = {&meta1, &meta2, &thr};
    CHECK(read_blobs(all, 3, &ev, err, sizeof err) == 0);
    CHECK(strcmp(kinds(&ev), "STISICAAFL") == 0);
    CHECK(ev.v[5].e.time_us == 5 && ev.v[6].e.id == 1 && ev.v[7].e.id == 2 &&
          ev.v[8].e.id == 1 && ev.v[9].e.id == 2 && ev.v[9].e.time_us == 5);
    CHECK(ev.v[4].e.id == 2 && ev.v[4].e.stack == 2);
    free_events(&ev);
    /* the thread's chunk without the second meta chunk: info 2 undefined */
    const blob *no2[] = {&meta1, &thr};
    CHECK(read_blobs(no2, 2, &ev, err, sizeof err) == -1);
    CHECK(ev.n == 3 && strstr(err, "info not yet defined"));
    free_events(&ev);
    /* without any meta chunk: info 1 undefined; nothing of the chunk given */
    const blob *none[] = {&thr};
    CHECK(read_blobs(none, 1, &ev, err, sizeof err) == -1);
    CHECK(ev.n == 0 && strstr(err, "info not yet defined") && strstr(err, "byte 64"));
    free_events(&ev);
    /* the thread's chunk first */
    const blob *late[] = {&thr, &meta1, &meta2};
    CHECK(read_blobs(late, 3, &ev, err, sizeof err) == -1 && ev.n == 0);
    free_events(&ev);
    /* the second meta chunk without the first: its I names node 2, its S
       node 1 */
    const blob *no1[] = {&meta2, &thr};
    CHECK(read_blobs(no1, 2, &ev, err, sizeof err) == -1 && ev.n == 0);
    CHECK(strstr(err, "parent comes later"));
    free_events(&ev);
    free(meta1.p);
    free(meta2.p);
    free(thr.p);
}

/* ---- Temporary frees ---------------------------------------------------------------
 * capture.h, rcc_write_free: a temporary free is an X (one tag byte, no
 * field) when the writer's last A, F or X in this chunk was an A of the
 * same info; otherwise (after an F or X, after an A of another info, first
 * event of a chunk, its A gone out with the previous chunk, info 0) an F. */

/* The records of a blob's only chunk (stored as is: too small for zstd). */
static const unsigned char *blob_records(const blob *b, size_t *len)
{
    CHECK(b->chunks == 1 && b->n >= 24 && b->p[4] == 0);
    *len = b->n - 24;
    return b->p + 24;
}

static void check_bytes(const unsigned char *got, size_t n, const unsigned char *want, size_t wn)
{
    if (n != wn || memcmp(got, want, n) != 0) {
        fprintf(stderr, "records written:");
        for (size_t i = 0; i < n; i++)
            fprintf(stderr, got[i] >= 'A' && got[i] <= 'Z' ? " %c" : " %u", got[i]);
        fprintf(stderr, "\n");
    }
    CHECK(n == wn && memcmp(got, want, n) == 0);
}

/* b's records are want's (wn bytes), and read back into ev. */
static void check_blob(const blob *b, const unsigned char *want, size_t wn, events *ev)
{
    size_t n;
    const unsigned char *got = blob_records(b, &n);
    check_bytes(got, n, want, wn);
    char err[512];
    const blob *one[] = {b};
    CHECK(read_blobs(one, 1, ev, err, sizeof err) == 0);
}

static void test_temporaries(void)
{
    /* the bytes of each case, and what the reader makes of them */
    blob b = {0};
    rcc_writer *w = rcc_writer_new(&(rcc_writer_options){.sink = blob_sink, .sink_ctx = &b});
    CHECK(w);
    rcc_writer_time(w, 3);
    CHECK(rcc_write(w, EV_INFO(1, 16, 0, 0)) == 0);
    CHECK(rcc_write(w, EV_INFO(2, 8, 0, 0)) == 0);
    CHECK(rcc_writer_pending(w) == 8);
    CHECK(rcc_write_alloc(w, 1) == 0);                      /* C 3 A 1 */
    CHECK(rcc_writer_pending(w) == 12);
    CHECK(rcc_write_free(w, 1, 1, 0) == 0);                 /* X: one byte */
    CHECK(rcc_writer_pending(w) == 13);
    CHECK(rcc_write_free(w, 1, 1, 0) == 0);                 /* after an X: F 1 */
    CHECK(rcc_write_alloc(w, 1) == 0);                      /* A 1 */
    CHECK(rcc_write_free(w, 2, 1, 0) == 0);                 /* another info: F 2 */
    CHECK(rcc_write_free(w, 2, 1, 0) == 0);                 /* after an F: F 2 */
    CHECK(rcc_write_alloc(w, 2) == 0);                      /* A 2 */
    CHECK(rcc_write(w, &(rcc_event){.kind = RCC_SAMPLE, .time_us = 4, .heap_bytes = 5,
                                    .rss_bytes = 6}) == 0);  /* P 1 5 6 */
    CHECK(rcc_write(w, &(rcc_event){.kind = RCC_LEAK, .id = 1, .status = RCC_INDIRECT,
                                    .count = 2}) == 0);     /* L 1 1 2 */
    CHECK(rcc_write(w, EV(RCC_TEMP, 4, 2)) == 0);           /* X, of A 2 */
    CHECK(rcc_write_alloc(w, 1) == 0);                      /* A 1 */
    CHECK(rcc_write(w, EV(RCC_TEMP, 4, 1)) == 0);           /* X */
    CHECK(rcc_write(w, EV(RCC_TEMP, 4, 1)) == 0);           /* F 1 */
    CHECK(rcc_writer_close(w) == 0);
    static const unsigned char want[] = {
        'I', 16, 0, 0, 'I', 8, 0, 0, 'C', 3, 'A', 1, 'X', 'F', 1, 'A', 1, 'F', 2, 'F', 2,
        'A', 2, 'P', 1, 5, 6, 'L', 1, 1, 2, 'X', 'A', 1, 'X', 'F', 1};
    events ev = {0};
    check_blob(&b, want, sizeof want, &ev);
    CHECK(strcmp(kinds(&ev), "IICAXFAFFAPLXAXF") == 0);
    CHECK(check_temps(&ev) == 3);
    CHECK(ev.v[4].e.id == 1 && ev.v[4].e.time_us == 3 && ev.v[6].e.id == 1 &&
          ev.v[7].e.id == 2 && ev.v[8].e.id == 2);
    CHECK(ev.v[12].e.id == 2 && ev.v[12].e.time_us == 4 && ev.v[14].e.id == 1 &&
          ev.v[15].e.kind == RCC_FREE && ev.v[15].e.id == 1);
    free_events(&ev);
    free(b.p);

    /* info 0 (no A has it: last_alloc 0 means none) is never an X */
    blob z = {0};
    w = rcc_writer_new(&(rcc_writer_options){.sink = blob_sink, .sink_ctx = &z});
    CHECK(w);
    CHECK(rcc_write_free(w, 0, 1, 0) == 0);
    CHECK(rcc_write_alloc(w, 0) == 0);
    CHECK(rcc_write_free(w, 0, 1, 0) == 0);
    CHECK(rcc_write(w, EV(RCC_TEMP, 0, 0)) == 0);
    CHECK(rcc_writer_close(w) == 0);
    static const unsigned char want0[] = {'C', 0, 'F', 0, 'A', 0, 'F', 0, 'F', 0};
    size_t n;
    const unsigned char *got = blob_records(&z, &n);
    check_bytes(got, n, want0, sizeof want0);
    free(z.p);

    /* A chunk that fills up between an A and its temporary: an F in the
       next chunk.  Where it fills is found by writing A records until one
       goes into a second chunk (the k-th); then k - 2 A records leave room
       for the temporary (an X), k - 1 do not (an F). */
    blob fb = {0};
    w = rcc_writer_new(&(rcc_writer_options){.sink = blob_sink, .sink_ctx = &fb,
                                             .chunk_bytes = 8192});
    CHECK(w && rcc_write(w, EV_INFO(1, 8, 0, 0)) == 0);
    size_t k = 0;
    while (fb.chunks == 0) {
        CHECK(rcc_write_alloc(w, 1) == 0);
        CHECK(++k < 8192);
    }
    CHECK(rcc_writer_close(w) == 0 && k > 1000);
    free(fb.p);
    for (int split = 0; split < 2; split++) {
        capfile c;
        cap_open(&c, split ? "split.cap" : "fits.cap", 0, 8192);
        model_write(&c.m, EV_INFO(1, 8, 0, 0), false);
        for (size_t i = 0; i < k - 2 + (size_t)split; i++)
            model_write(&c.m, EV(RCC_ALLOC, 0, 1), true);
        model_write(&c.m, EV(RCC_TEMP, 0, 1), split);
        cap_close(&c, &ev);
        CHECK(c.fs.nchunks == 1 + (size_t)split);
        CHECK(c.m.temps_x == !split && c.m.temps_split == (size_t)split);
        CHECK(ev.n == (split ? k + 3 : k + 1));
        const char *tail = split ? "ACF" : "AAX";
        CHECK(ev.v[ev.n - 3].e.kind == tail[0] && ev.v[ev.n - 2].e.kind == tail[1] &&
              ev.v[ev.n - 1].e.kind == tail[2] && ev.v[ev.n - 1].e.id == 1);
        free_events(&ev);
    }
}

/* ---- An F's age (version 5) ---------------------------------------------------------
 * capture.h, rcc_write_free: a free says when its block was allocated:
 * an F, in the free's cell of the age grid (RCC_AGE_SHIFT); a G, its age
 * in those cells, the free's time less its A's (rcc_writer_stamp), zigzag
 * (the A may be a little later: another thread's clock); the reader gives
 * the allocation time.  An age that puts the allocation before the start,
 * or more than RCC_MAX_SKEW cells after the free, is corrupt; a version 4
 * F has no age (its allocation time is not known), and no G. */
static void test_ages(void)
{
    blob b = {0};
    rcc_writer *w = rcc_writer_new(&(rcc_writer_options){.sink = blob_sink, .sink_ctx = &b});
    CHECK(w && rcc_write(w, EV_INFO(1, 16, 0, 0)) == 0);
    rcc_writer_time(w, 12000);                                  /* unit 2 */
    CHECK(rcc_write_alloc(w, 1) == 0 && rcc_writer_stamp(w) == 2); /* C 12000 A 1 */
    rcc_writer_time(w, 41000);                                  /* unit 10 */
    CHECK(rcc_write_free(w, 1, 0, 2) == 0);                     /* C 29000 G 1 16 */
    CHECK(rcc_write_free(w, 1, 0, 11) == 0);                    /* an A a unit later: G 1 1 */
    CHECK(rcc_write_free(w, 1, 0, 10 + 5000) == 0);             /* clamped: -1024, 2 bytes */
    CHECK(rcc_write_free(w, 1, 0, 10) == 0);                    /* age 0: F 1 */
    CHECK(rcc_write_alloc(w, 1) == 0);
    CHECK(rcc_write_free(w, 1, 1, rcc_writer_stamp(w)) == 0);   /* X: no age */
    CHECK(rcc_writer_close(w) == 0);
    static const unsigned char want[] = {
        'I', 16, 0, 0, 'C', 0xE0, 0x5D, 'A', 1, 'C', 0xC8, 0xE2, 0x01, 'G', 1, 16,
        'G', 1, 1, 'G', 1, 0xFF, 0x0F, 'F', 1, 'A', 1, 'X'};
    events ev = {0};
    char err[512];
    check_blob(&b, want, sizeof want, &ev);
    CHECK(strcmp(kinds(&ev), "ICACFFFFAX") == 0); /* a G is read as an F */
    CHECK(ev.v[4].e.time_us == 41000 && ev.v[4].e.alloc_time_us == 2 << RCC_AGE_SHIFT);
    CHECK(ev.v[5].e.alloc_time_us == 11 << RCC_AGE_SHIFT);
    CHECK(ev.v[6].e.alloc_time_us == (10 + RCC_MAX_SKEW) << RCC_AGE_SHIFT);
    CHECK(ev.v[7].e.alloc_time_us == 10 << RCC_AGE_SHIFT); /* the free's own cell */
    CHECK(ev.v[9].e.alloc_time_us == 41000);               /* the A's time */
    free_events(&ev);
    free(b.p);

    /* past 512 cells of 4096 us, ages count in wider cells: at 4 * 10^6
       us, 8192 us (an A at 12000 us is in cell 1, the free in cell 488) */
    blob wide = {0};
    w = rcc_writer_new(&(rcc_writer_options){.sink = blob_sink, .sink_ctx = &wide});
    CHECK(w && rcc_write(w, EV_INFO(1, 16, 0, 0)) == 0);
    rcc_writer_time(w, 4000000);
    CHECK(rcc_write_free(w, 1, 0, 2) == 0);  /* C 4000000 G 1 (487 * 2) */
    CHECK(rcc_writer_close(w) == 0);
    static const unsigned char want_wide[] = {'I', 16, 0, 0, 'C', 0x80, 0x92, 0xF4, 0x01,
                                              'G', 1, 0xCE, 0x07};
    check_blob(&wide, want_wide, sizeof want_wide, &ev);
    CHECK(ev.n == 3 && ev.v[2].e.alloc_time_us == 8192);
    free_events(&ev);
    free(wide.p);

    /* an age past the free's unit (before the start), or an allocation too
       far after it, or a field past 32 bits: corrupt */
    static const struct {
        unsigned char rec[16];
        size_t len;
    } bad[] = {
        {{'I', 16, 0, 0, 'C', 0x80, 0x40, 'G', 1, 6}, 10},          /* unit 2, age 3 */
        {{'I', 16, 0, 0, 'G', 1, 2}, 7},                            /* at 0, age 1 */
        {{'I', 16, 0, 0, 'G', 1, 0x81, 0x10}, 8},                   /* age -1025 */
        {{'I', 16, 0, 0, 'G', 1, 0x80, 0x80, 0x80, 0x80, 0x10}, 11}, /* 2^32 */
        {{'I', 16, 0, 0, 'G', 1}, 6},                               /* no age */
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        CHECK(read_records(bad[i].rec, bad[i].len, err, sizeof err) == -1);
        if (!strstr(err, "age overruns the chunk or puts its allocation outside"))
            fprintf(stderr, "bad age %zu: %s\n", i, err);
        CHECK(strstr(err, "age overruns the chunk or puts its allocation outside") &&
              strstr(err, "(tag 'G')"));
    }
    /* the largest accepted: an age of the free's unit, an A 1024 units later */
    unsigned char fine[] = {'I', 16, 0, 0, 'C', 0x80, 0x40, 'G', 1, 4, 'G', 1, 0xFF, 0x0F};
    const unsigned char *parts[] = {fine};
    size_t lens[] = {sizeof fine};
    CHECK(read_chunks(parts, lens, 1, &ev, err, sizeof err) == 0);
    CHECK(ev.n == 4 && ev.v[2].e.alloc_time_us == 0 &&
          ev.v[3].e.alloc_time_us == (2 + RCC_MAX_SKEW) << RCC_AGE_SHIFT);
    free_events(&ev);

    /* version 4: an F without its age, its allocation time unknown; an X's
       is its A's */
    unsigned char v4[] = {'I', 16, 0, 0, 'C', 0x80, 0x10, 'A', 1, 'F', 1, 'A', 1, 'X'};
    static unsigned char file[256];
    size_t len = craft_header(file, 4);
    len += craft_chunk(file + len, v4, sizeof v4, sizeof v4, sizeof v4, 0);
    char path[256];
    path_of(path, sizeof path, "v4.cap");
    spill(path, file, len);
    CHECK(read_all(path, &ev, err, sizeof err) == 0);
    CHECK(strcmp(kinds(&ev), "ICAFAX") == 0 && ev.v[3].e.alloc_time_us == UINT64_MAX &&
          ev.v[5].e.alloc_time_us == 2048);
    free_events(&ev);
    v4[9] = 'G'; /* no G before version 5 */
    len = craft_header(file, 4);
    len += craft_chunk(file + len, v4, sizeof v4, sizeof v4, sizeof v4, 0);
    spill(path, file, len);
    CHECK(read_all(path, &ev, err, sizeof err) == -1 && strstr(err, "unknown record tag") &&
          strstr(err, "(tag 'G')"));
    free_events(&ev);
}

/* ---- An L record's time ------------------------------------------------------------
 * No C is written before an L (capture.h: "An A, F or X record is preceded
 * by a C record ..."); the reader gives it the chunk's latest time record
 * (0 before any); one between an A and its X leaves the X an X. */
static void test_leak_times(void)
{
    capfile c;
    events ev = {0};
    cap_open(&c, "leak.cap", 0, 0);
    rcc_event leak = {.kind = RCC_LEAK, .id = 1, .status = RCC_DEFINITE, .count = 1};
    model_write(&c.m, EV_INFO(1, 8, 0, 0), false);
    model_time(&c.m, 50);
    model_write(&c.m, &leak, false);                   /* at 0: no time yet */
    model_write(&c.m, EV(RCC_ALLOC, 50, 1), true);
    model_time(&c.m, 60);
    model_write(&c.m, &leak, false);                   /* at 50: the time moved */
    model_write(&c.m, EV(RCC_ALLOC, 60, 1), false);
    leak.status = RCC_REACHABLE, leak.count = 3;
    model_write(&c.m, &leak, false);                   /* at 60 */
    model_write(&c.m, EV(RCC_TEMP, 60, 1), true);      /* still an X */
    CHECK(rcc_writer_flush(c.m.w) == 0);
    model_write(&c.m, &leak, false);                   /* a new chunk: at 0 */
    cap_close(&c, &ev);
    CHECK(strcmp(kinds(&ev), "ILCALCALXL") == 0);
    CHECK(ev.v[1].e.time_us == 0 && ev.v[4].e.time_us == 50 && ev.v[7].e.time_us == 60 &&
          ev.v[9].e.time_us == 0);
    CHECK(ev.v[7].e.count == 3 && ev.v[7].e.status == RCC_REACHABLE && ev.v[8].e.id == 1);
    free_events(&ev);
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

/* A file of n records of one kind (I, S or K), which zstd shrinks to almost
   nothing: the reader stops at its bound (RCC_MAX_INFOS, RCC_MAX_NODES)
   instead of growing its tables without end. */
static int count_records(const rcc_event *e, void *ctx)
{
    (void)e;
    ++*(size_t *)ctx;
    return 0;
}

static void check_table_bound(int kind, size_t bound, const char *why)
{
    char path[512], err[256];
    path_of(path, sizeof path, "bound.cap");
    file_sink fs = {.fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644)};
    CHECK(fs.fd >= 0 && rcc_write_header(fs.fd, 1, 2) == 0);
    rcc_writer *w = rcc_writer_new(
        &(rcc_writer_options){.sink = sink_write, .sink_ctx = &fs, .chunk_bytes = RCC_MAX_CHUNK});
    CHECK(w);
    for (size_t i = 0; i <= bound; i++)
        CHECK(rcc_write(w, &(rcc_event){.kind = kind, .size = 8, .ip = 1, .id = i + 1}) == 0);
    CHECK(rcc_writer_close(w) == 0);
    close(fs.fd);
    rcc_reader *r = rcc_reader_open(path, err, sizeof err);
    CHECK(r);
    size_t n = 0;
    CHECK(rcc_read(r, count_records, &n) == -1);
    CHECK(strstr(rcc_reader_error(r), why) != NULL);
    CHECK(n < bound); /* the bad chunk is given out in no part */
    rcc_reader_close(r);
    unlink(path);
}

static void test_table_bounds(void)
{
    check_table_bound(RCC_INFO, RCC_MAX_INFOS, "more allocation infos than");
    check_table_bound(RCC_STACK, RCC_MAX_NODES, "more stack nodes than");
    check_table_bound(RCC_PYCODE, RCC_MAX_INFOS, "more Python code locations than");
}

int main(int argc, char **argv)
{
    bool small = argc > 1 && strcmp(argv[1], "small") == 0;
    CHECK(mkdtemp(dir));
    owner = getpid();
    CHECK(atexit(remove_dir) == 0);
    test_every_kind();
    test_grain();
    test_write_errors();
    test_random(small ? 15000 : 1000000);
    test_truncation();
    test_bit_flips();
    test_hostile();
    test_missing_meta();
    test_hostile_limited();
    test_temporaries();
    test_ages();
    test_leak_times();
    if (!small)
        test_table_bounds();
    printf("test_capture: ok\n");
    return 0;
}
