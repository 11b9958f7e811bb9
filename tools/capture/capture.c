/*
 * capture.c — the capture file: writer and streaming reader (format in
 * docs/CAPTURE.md, API in capture.h).
 *
 * Writer: a record is appended to the writer's chunk buffer as a tag byte
 * and varints; times are deltas from the previous one in the same chunk, so
 * a chunk decodes on its own.  Events carry no time: a C record goes before
 * one when the writer's time has moved by the grain since the chunk's
 * latest time.  A full chunk is compressed
 * with zstd (or stored as is when that does not help), given a header with
 * its lengths, a CRC-32 of the stored bytes and a check of the header
 * itself, and handed to the sink, which appends it to the file.
 *
 * Reader: one chunk at a time.  Every length and count from the file is
 * checked against what remains and against a hard bound before it is used
 * (chunks ≤ RCC_MAX_CHUNK, strings ≤ RCC_MAX_STRING, stacks ≤ RCC_MAX_DEPTH,
 * nodes ≤ RCC_MAX_NODES, infos and Python code locations ≤ RCC_MAX_INFOS,
 * varints ≤ 10 bytes), and every stack node, info id and Python frame's
 * code id against those defined so far, so hostile
 * input costs at most one chunk's buffers plus two bytes per stack node
 * (32 MiB at most): a small file may decode to many records, so no bound
 * comes from the file's size.  A chunk is decoded twice: once to check
 * every record, then to hand them out, so a caller never sees part of a
 * bad chunk.  The file ending inside a chunk is truncation (return 1); any
 * other mismatch is corruption (return -1, message with the byte offset).
 *
 * Memory comes from malloc; in the preload shim those calls pass through
 * to the real allocator untraced.
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */
#include "capture.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#define LIKELY(x) __builtin_expect(!!(x), 1)
#define FILE_HEADER 64
#define CHUNK_HEADER 24
#define STORED_SLACK (64u << 10)      /* stored ≤ raw + this */
#define DEFAULT_CHUNK (1u << 20)
#define MIN_CHUNK (9u << 10)          /* room for the largest record (a K) */
#define RECORD_MAX (1 + 5 * 10 + 2 * 10) /* tag, five varints, two string lengths */
#define WINDOW_LOG_MAX 25             /* a chunk is ≤ 16 MiB: a larger zstd
                                         window is never needed */
_Static_assert(RCC_MAX_CHUNK + STORED_SLACK <= UINT32_MAX, "lengths fit 32 bits");
_Static_assert(MIN_CHUNK >= RECORD_MAX + 2 * RCC_MAX_STRING, "a chunk holds any record");
_Static_assert((1u << WINDOW_LOG_MAX) >= RCC_MAX_CHUNK, "the window covers a chunk");

static const char file_magic[8] = {'R', 'C', 'G', 'C', 'C', 'A', 'P', 0};
static const char chunk_magic[4] = {'C', 'H', 'N', 'K'};

/* ---- Little-endian fields, varints, checks ----------------------------------- */

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get64(const uint8_t *p)
{
    return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

static uint8_t *put_varint(uint8_t *p, uint64_t v)
{
    while (v >= 0x80) {
        *p++ = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    *p++ = (uint8_t)v;
    return p;
}

static uint64_t zigzag(uint64_t n) /* n is a two's complement int64 */
{
    return (n << 1) ^ (0 - (n >> 63));
}

static uint64_t unzigzag(uint64_t v)
{
    return (v >> 1) ^ (0 - (v & 1));
}

static uint32_t crc(const void *p, size_t n)
{
    return (uint32_t)crc32(crc32(0L, Z_NULL, 0), p, (uInt)n);
}

/* The chunk header's own check: CRC-32 of its 24 bytes with the check field
   (bytes 6-7) zero, folded to 16 bits.  Catches a flipped length, which the
   payload CRC cannot tell from truncation. */
static uint16_t chunk_header_check(const uint8_t *h)
{
    uint8_t c[CHUNK_HEADER];
    memcpy(c, h, sizeof c);
    c[6] = c[7] = 0;
    uint32_t v = crc(c, sizeof c);
    return (uint16_t)(v ^ (v >> 16));
}

/* CRC-32 of the 64-byte file header with its CRC field (bytes 28-31) zero. */
static uint32_t file_header_check(const uint8_t *h)
{
    uint8_t c[FILE_HEADER];
    memcpy(c, h, sizeof c);
    memset(c + 28, 0, 4);
    return crc(c, sizeof c);
}

int rcc_write_all(int fd, const void *buf, size_t n)
{
    const char *p = buf;
    while (n) {
        ssize_t k = write(fd, p, n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return -1;
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

/* ---- Writer ------------------------------------------------------------------ */

struct rcc_writer {
    rcc_sink_fn sink;     /* where finished chunks go */
    void *sink_ctx;
    int fd;               /* rcc_writer_open's file, or -1 */
    uint8_t *raw;         /* records of the current chunk */
    size_t len, cap;      /* bytes used; flush before passing cap */
    uint8_t *out;         /* chunk header + stored bytes (made at first flush) */
    size_t out_cap;
    ZSTD_CCtx *cctx;      /* made at first flush */
    int level;            /* zstd level */
    uint32_t tid;         /* for chunk headers */
    uint64_t grain;       /* C records: at most one per this many us */
    uint64_t now;         /* time of the next events (rcc_writer_time) */
    bool have_time;       /* the chunk has a time record (the first is */
    uint64_t prev_time;   /*   absolute, the others deltas from this) */
    uint64_t last_alloc;  /* info of an A just written in this chunk, 0 if
                             another event came since: an X may follow */
    bool failed;          /* a write failed: every call fails */
};

int rcc_write_header(int fd, uint32_t pid, uint64_t start_realtime_ns)
{
    uint8_t h[FILE_HEADER] = {0};
    memcpy(h, file_magic, 8);
    put32(h + 8, RCC_VERSION);
    put32(h + 12, FILE_HEADER);
    put64(h + 16, start_realtime_ns);
    put32(h + 24, pid);
    put32(h + 28, file_header_check(h));
    return rcc_write_all(fd, h, sizeof h);
}

rcc_writer *rcc_writer_new(const rcc_writer_options *o)
{
    size_t cap = o->chunk_bytes ? o->chunk_bytes : DEFAULT_CHUNK;
    if (cap < MIN_CHUNK)
        cap = MIN_CHUNK;
    if (cap > RCC_MAX_CHUNK)
        cap = RCC_MAX_CHUNK;
    rcc_writer *w = calloc(1, sizeof *w);
    if (!w)
        return NULL;
    w->raw = malloc(cap);
    if (!w->raw) {
        free(w);
        return NULL;
    }
    w->cap = cap;
    w->sink = o->sink;
    w->sink_ctx = o->sink_ctx;
    w->fd = -1;
    w->level = o->level ? o->level : RCC_DEFAULT_LEVEL;
    w->tid = o->tid;
    w->grain = o->time_grain_us;
    return w;
}

static int fd_sink(void *ctx, const void *chunk, size_t len)
{
    return rcc_write_all(((rcc_writer *)ctx)->fd, chunk, len);
}

rcc_writer *rcc_writer_open(int fd, uint32_t pid)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t now = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
    rcc_writer_options o = {.sink = fd_sink, .tid = pid};
    rcc_writer *w = rcc_writer_new(&o);
    if (!w)
        return NULL;
    w->sink_ctx = w;
    w->fd = fd;
    if (rcc_write_header(fd, pid, now) != 0) {
        int e = errno;
        rcc_writer_close(w);
        errno = e;
        return NULL;
    }
    return w;
}

size_t rcc_writer_pending(const rcc_writer *w)
{
    return w->len;
}

static int fail(rcc_writer *w)
{
    w->failed = true;
    return -1;
}

int rcc_writer_flush(rcc_writer *w)
{
    if (w->failed)
        return -1;
    if (!w->len)
        return 0;
    if (!w->out) {
        w->out_cap = CHUNK_HEADER + ZSTD_compressBound(w->cap);
        w->out = malloc(w->out_cap);
        w->cctx = ZSTD_createCCtx();
        if (!w->out || !w->cctx)
            return fail(w);
    }
    uint8_t *h = w->out;
    size_t stored = ZSTD_compressCCtx(w->cctx, h + CHUNK_HEADER, w->out_cap - CHUNK_HEADER,
                                      w->raw, w->len, w->level);
    uint8_t codec = 1;
    if (ZSTD_isError(stored) || stored >= w->len) { /* store as is */
        memcpy(h + CHUNK_HEADER, w->raw, w->len);
        stored = w->len;
        codec = 0;
    }
    memcpy(h, chunk_magic, 4);
    h[4] = codec;
    h[5] = h[6] = h[7] = 0;
    put32(h + 8, (uint32_t)w->len);
    put32(h + 12, (uint32_t)stored);
    put32(h + 16, crc(h + CHUNK_HEADER, stored));
    put32(h + 20, w->tid);
    uint16_t check = chunk_header_check(h);
    h[6] = (uint8_t)check;
    h[7] = (uint8_t)(check >> 8);
    w->len = 0;
    w->have_time = false;
    w->last_alloc = 0;
    if (w->sink(w->sink_ctx, h, CHUNK_HEADER + stored) != 0)
        return fail(w);
    return 0;
}

int rcc_writer_close(rcc_writer *w)
{
    if (!w)
        return 0;
    int rc = rcc_writer_flush(w);
    ZSTD_freeCCtx(w->cctx);
    free(w->out);
    free(w->raw);
    free(w);
    return rc;
}

void rcc_writer_time(rcc_writer *w, uint64_t time_us)
{
    if (time_us > w->now)
        w->now = time_us;
}

/* A time record's field: t, or the writer's time if that is later. */
static uint8_t *put_time(rcc_writer *w, uint8_t *p, uint64_t t)
{
    rcc_writer_time(w, t);
    uint64_t v = w->have_time ? w->now - w->prev_time : w->now;
    w->have_time = true;
    w->prev_time = w->now;
    return put_varint(p, v);
}

/* Before an event: a C record if the chunk has no time or it is stale. */
static inline uint8_t *put_clock(rcc_writer *w, uint8_t *p)
{
    uint64_t moved = w->now - w->prev_time; /* prev_time <= now */
    if (LIKELY(w->have_time && (moved == 0 || moved < w->grain)))
        return p;
    *p++ = RCC_CLOCK;
    return put_time(w, p, w->now);
}

/* s may be NULL when n is 0 (a record without its string), which memcpy
   must not be given. */
static uint8_t *put_text(uint8_t *p, const char *s, size_t n)
{
    p = put_varint(p, n);
    if (n)
        memcpy(p, s, n);
    return p + n;
}

/* Room for one more record of fixed fields: false after a failed flush. */
static bool room(rcc_writer *w)
{
    return LIKELY(w->len + RECORD_MAX <= w->cap) || (!w->failed && rcc_writer_flush(w) == 0);
}

/* An F's age at free_us (its time in the file) of a block whose A had
   stamp (rcc_writer_stamp): in cells of the free's age grid, signed
   (another thread's clock may be a little ahead: docs/CAPTURE.md), at
   least -RCC_MAX_SKEW. */
static int64_t age_of(uint64_t free_us, uint32_t stamp)
{
    uint64_t unit = free_us >> RCC_AGE_SHIFT;
    int64_t units = (int32_t)((uint32_t)unit - stamp); /* the stamp is unit's low half */
    uint64_t alloc = units > (int64_t)unit ? 0 : (uint64_t)((int64_t)unit - units);
    unsigned q = rcc_age_shift(free_us) - RCC_AGE_SHIFT;
    int64_t age = (int64_t)(unit >> q) - (int64_t)(alloc >> q);
    return age < -RCC_MAX_SKEW ? -RCC_MAX_SKEW : age;
}

/* An A, F or X.  An X has no field: it frees the block of the A just
   before it in the chunk.  A temporary whose A went out with the previous
   chunk is written as an F (one per chunk at most).  A free's age counts
   from stamp, its block's A's time: most are 0 (allocated in the free's
   cell, an F: 97% of a cc1 compile's), the others a G with the age (a
   byte in every F cost 20% of the capture). */
static int write_event(rcc_writer *w, uint8_t tag, uint64_t info, uint32_t stamp)
{
    if (w->failed || !room(w))
        return -1;
    uint8_t *p = put_clock(w, w->raw + w->len);
    if (tag == RCC_TEMP && (!info || w->last_alloc != info))
        tag = RCC_FREE;
    int64_t age = tag == RCC_FREE ? age_of(w->prev_time, stamp) : 0;
    *p++ = age ? RCC_FREE_AGED : tag;
    if (tag != RCC_TEMP)
        p = put_varint(p, info);
    if (age)
        p = put_varint(p, zigzag((uint64_t)age));
    w->last_alloc = tag == RCC_ALLOC ? info : 0;
    w->len = (size_t)(p - w->raw);
    return 0;
}

uint32_t rcc_writer_stamp(const rcc_writer *w)
{
    return (uint32_t)(w->prev_time >> RCC_AGE_SHIFT);
}

int rcc_write_alloc(rcc_writer *w, uint64_t info)
{
    return write_event(w, RCC_ALLOC, info, 0);
}

int rcc_write_free(rcc_writer *w, uint64_t info, int temporary, uint32_t alloc_stamp)
{
    return write_event(w, temporary ? RCC_TEMP : RCC_FREE, info, alloc_stamp);
}

int rcc_write(rcc_writer *w, const rcc_event *e)
{
    if (e->kind == RCC_ALLOC || e->kind == RCC_FREE || e->kind == RCC_TEMP) {
        rcc_writer_time(w, e->time_us);
        return write_event(w, (uint8_t)e->kind, e->id,
                           (uint32_t)(e->alloc_time_us >> RCC_AGE_SHIFT));
    }
    if (w->failed)
        return -1;
    size_t tlen = 0, nlen = 0;
    if (e->kind == RCC_MODULE || e->kind == RCC_TYPE || e->kind == RCC_PYCODE ||
        e->kind == RCC_PYOBJECTS) {
        tlen = e->text ? strlen(e->text) : 0;
        nlen = e->kind == RCC_PYCODE && e->name ? strlen(e->name) : 0;
        if (tlen > RCC_MAX_STRING || nlen > RCC_MAX_STRING)
            return -1;
    }
    if (w->len + RECORD_MAX + tlen + nlen > w->cap && rcc_writer_flush(w) != 0)
        return -1;
    uint8_t *p = w->raw + w->len;
    *p++ = (uint8_t)e->kind;
    switch (e->kind) {
    case RCC_MODULE:
        p = put_varint(p, e->ip);
        p = put_varint(p, e->size);
        p = put_text(p, e->text, tlen);
        break;
    case RCC_STACK:
        p = put_varint(p, e->stack);
        p = put_varint(p, e->ip);
        break;
    case RCC_TYPE:
        p = put_varint(p, e->id);
        p = put_text(p, e->text, tlen);
        break;
    case RCC_INFO:
        p = put_varint(p, e->size);
        p = put_varint(p, e->stack);
        p = put_varint(p, e->type);
        break;
    case RCC_CLOCK:
        p = put_time(w, p, e->time_us);
        break;
    case RCC_SAMPLE:
        p = put_time(w, p, e->time_us);
        p = put_varint(p, e->heap_bytes);
        p = put_varint(p, e->rss_bytes);
        break;
    case RCC_LEAK:
        p = put_varint(p, e->id);
        p = put_varint(p, (uint64_t)e->status);
        p = put_varint(p, e->count);
        break;
    case RCC_END:
        p = put_time(w, p, e->time_us);
        p = put_varint(p, zigzag((uint64_t)e->status));
        p = put_varint(p, e->heap_bytes);
        p = put_varint(p, e->peak_time_us);
        p = put_varint(p, e->signal);
        break;
    case RCC_PYTHON:
        p = put_varint(p, e->count);
        break;
    case RCC_PYCODE:
        p = put_varint(p, e->id);
        p = put_varint(p, e->line);
        p = put_text(p, e->text, tlen);
        p = put_text(p, e->name, nlen);
        break;
    case RCC_PYOBJECTS:
        p = put_varint(p, (uint64_t)e->status);
        p = put_varint(p, e->count);
        p = put_varint(p, e->size);
        p = put_text(p, e->text, tlen);
        break;
    default:
        return -1; /* nothing was written */
    }
    w->len = (size_t)(p - w->raw);
    return 0;
}

/* ---- Reader ------------------------------------------------------------------ */

/* Delta state while decoding one chunk. */
typedef struct decode_state {
    uint64_t time;           /* latest time in this chunk */
    bool have_time;
    uint64_t last_alloc;     /* info of the A just before, 0 if none (for X) */
    uint64_t last_alloc_time; /*  and its time */
    bool dated;              /* version 5: an F's block was allocated in its cell */
    uint64_t nodes, infos;   /* stack nodes and infos numbered so far (file-wide) */
    uint64_t pycodes;        /* Python code locations defined so far (file-wide) */
    uint64_t pyobjects;      /* Python objects records so far (file-wide) */
} decode_state;

struct rcc_reader {
    int fd;
    rcc_header hdr;
    uint64_t off;            /* file offset of the next chunk */
    uint64_t size;           /* file size (grows if the file does) */
    uint8_t *stored, *raw;   /* one chunk: as stored, and decoded */
    size_t stored_cap, raw_cap;
    ZSTD_DCtx *dctx;
    const uint8_t *rec;      /* the current chunk's records */
    size_t rec_len, pos;     /*   and the next one to give */
    uint64_t chunk_off;      /* file offset of the current chunk */
    decode_state give;       /* state of the giving pass */
    uint16_t *depth;         /* depth of stack node i + 1 (checking pass) */
    size_t depth_cap;        /*   entries */
    uint64_t nodes, infos;   /* nodes and infos checked so far */
    uint64_t pycodes;        /* Python code locations checked so far */
    uint64_t pyobjects;      /* Python objects records checked so far */
    int status;              /* 2: more to read; else rcc_read's final value */
    char err[256];
    char text[RCC_MAX_STRING + 1]; /* the current record's string */
    char name[RCC_MAX_STRING + 1]; /*   and its second one (PYCODE) */
};
_Static_assert(RCC_MAX_DEPTH <= UINT16_MAX, "node depths fit 16 bits");

static int set_error(rcc_reader *r, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int set_error(rcc_reader *r, int status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->err, sizeof r->err, fmt, ap);
    va_end(ap);
    r->status = status;
    return status;
}

/* Read exactly n bytes at the current position; returns the bytes read
   (fewer at the end of the file), or -1 with errno. */
static ssize_t read_full(int fd, void *buf, size_t n)
{
    size_t got = 0;
    while (got < n) {
        ssize_t k = read(fd, (char *)buf + got, n - got);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0)
            return -1;
        if (k == 0)
            break;
        got += (size_t)k;
    }
    return (ssize_t)got;
}

static void copy_error(char *err, size_t errlen, const char *msg)
{
    if (err && errlen) {
        strncpy(err, msg, errlen - 1);
        err[errlen - 1] = 0;
    }
}

rcc_reader *rcc_reader_open(const char *path, char *err, size_t errlen)
{
    char msg[512];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(msg, sizeof msg, "%s: %s", path, strerror(errno));
        copy_error(err, errlen, msg);
        return NULL;
    }
    uint8_t h[FILE_HEADER];
    ssize_t n = read_full(fd, h, sizeof h);
    const char *why = NULL;
    if (n < 0)
        why = strerror(errno);
    else if (n >= 8 && memcmp(h, file_magic, 8) != 0)
        why = "not an rcgc capture (bad magic)";
    else if (n < FILE_HEADER)
        why = n ? "truncated capture: the file ends inside its header"
                : "empty file: the capture was never started";
    if (!why && (get32(h + 8) < RCC_VERSION_MIN || get32(h + 8) > RCC_VERSION)) {
        snprintf(msg, sizeof msg,
                 "%s: capture format version %u; this reader knows versions %d to %d", path,
                 get32(h + 8), RCC_VERSION_MIN, RCC_VERSION);
        copy_error(err, errlen, msg);
        close(fd);
        return NULL;
    }
    if (!why && get32(h + 12) != FILE_HEADER)
        why = "corrupt capture: bad header size at byte 12";
    if (!why && get32(h + 28) != file_header_check(h))
        why = "corrupt capture: the file header (bytes 0-63) fails its CRC";
    rcc_reader *r = why ? NULL : calloc(1, sizeof *r);
    if (!why && (!r || !(r->dctx = ZSTD_createDCtx()) ||
                 ZSTD_isError(ZSTD_DCtx_setParameter(r->dctx, ZSTD_d_windowLogMax,
                                                     WINDOW_LOG_MAX))))
        why = "out of memory";
    if (why) {
        snprintf(msg, sizeof msg, "%s: %s", path, why);
        copy_error(err, errlen, msg);
        if (r)
            ZSTD_freeDCtx(r->dctx);
        free(r);
        close(fd);
        return NULL;
    }
    r->fd = fd;
    r->hdr.version = get32(h + 8);
    r->hdr.start_realtime_ns = get64(h + 16);
    r->hdr.pid = get32(h + 24);
    r->off = FILE_HEADER;
    struct stat st;
    r->size = fstat(fd, &st) == 0 ? (uint64_t)st.st_size : 0;
    r->status = 2;
    return r;
}

const rcc_header *rcc_reader_header(const rcc_reader *r)
{
    return &r->hdr;
}

const char *rcc_reader_error(const rcc_reader *r)
{
    return r->err;
}

uint64_t rcc_reader_offset(const rcc_reader *r)
{
    return r->off;
}

uint64_t rcc_reader_size(const rcc_reader *r)
{
    return r->size;
}

void rcc_reader_close(rcc_reader *r)
{
    if (!r)
        return;
    close(r->fd);
    ZSTD_freeDCtx(r->dctx);
    free(r->stored);
    free(r->raw);
    free(r->depth);
    free(r);
}

/* Grow *buf to hold n bytes (n is already bounded by the caller). */
static bool reserve(uint8_t **buf, size_t *cap, size_t n)
{
    if (n <= *cap)
        return true;
    size_t c = *cap ? *cap : 4096;
    while (c < n)
        c *= 2;
    void *p = realloc(*buf, c);
    if (!p)
        return false;
    *buf = p;
    *cap = c;
    return true;
}

/* Node depths grow by doubling, up to RCC_MAX_NODES entries. */
static bool grow_depths(rcc_reader *r)
{
    size_t n = r->depth_cap ? r->depth_cap * 2 : 4096;
    if (n > SIZE_MAX / sizeof *r->depth)
        return false;
    uint16_t *p = realloc(r->depth, n * sizeof *p);
    if (!p)
        return false;
    r->depth = p;
    r->depth_cap = n;
    return true;
}

/* ---- Decoding one record ------------------------------------------------------
 * Shared by both passes.  check: the first pass, which validates stack
 * nodes against their parents and records their depths; the second only
 * numbers them.  Returns 0, or -1 after set_error. */

typedef struct cursor {
    const uint8_t *p, *end;
} cursor;

static inline bool get_varint(cursor *c, uint64_t *out)
{
    if (LIKELY(c->p < c->end && *c->p < 0x80)) { /* most fields are one byte */
        *out = *c->p++;
        return true;
    }
    if (LIKELY(c->end - c->p >= 3)) { /* info ids: two or three bytes */
        const uint8_t *p = c->p;
        if (p[1] < 0x80) {
            *out = (uint64_t)(p[0] & 0x7F) | (uint64_t)p[1] << 7;
            c->p += 2;
            return true;
        }
        if (p[2] < 0x80) {
            *out = (uint64_t)(p[0] & 0x7F) | (uint64_t)(p[1] & 0x7F) << 7 | (uint64_t)p[2] << 14;
            c->p += 3;
            return true;
        }
    }
    uint64_t v = 0;
    for (unsigned shift = 0; shift < 70; shift += 7) {
        if (c->p == c->end)
            return false;
        uint8_t b = *c->p++;
        if (shift == 63 && b > 1)
            return false; /* more than 64 bits */
        v |= (uint64_t)(b & 0x7F) << shift;
        if (!(b & 0x80)) {
            *out = v;
            return true;
        }
    }
    return false;
}

static int bad_record(rcc_reader *r, const uint8_t *start, const char *what)
{
    return set_error(r, -1,
                     "corrupt capture: chunk at byte %llu: %s in the record at decoded "
                     "offset %zu (tag '%c')",
                     (unsigned long long)r->chunk_off, what, (size_t)(start - r->rec),
                     *start >= 0x20 && *start < 0x7F ? *start : '?');
}

static inline bool get_time(cursor *c, decode_state *d, uint64_t *t)
{
    uint64_t v;
    if (!get_varint(c, &v))
        return false;
    if (d->have_time) {
        if (v > UINT64_MAX - d->time)
            return false;
        v += d->time;
    }
    d->have_time = true;
    *t = d->time = v;
    return true;
}


/* An F's age (version 5): its block's allocation time from the free's,
   in *alloc (the start of its cell of the free's age grid).  -1 when the
   field overruns, or the age puts the allocation before the start or more
   than RCC_MAX_SKEW cells after the free. */
static int get_age(cursor *c, uint64_t free_us, uint64_t *alloc)
{
    unsigned s = rcc_age_shift(free_us);
    uint64_t v, cell = free_us >> s;
    if (!get_varint(c, &v) || v > UINT32_MAX)
        return -1;
    int64_t age = (int64_t)unzigzag(v);
    if (age > (int64_t)cell || age < -RCC_MAX_SKEW)
        return -1;
    uint64_t at = (uint64_t)((int64_t)cell - age);
    if (at > UINT64_MAX >> s)
        return -1;
    *alloc = at << s;
    return 0;
}

/* A string into buf (RCC_MAX_STRING + 1 bytes) when copy is set. */
static bool get_text(cursor *c, char *buf, bool copy)
{
    uint64_t n;
    if (!get_varint(c, &n) || n > RCC_MAX_STRING || n > (uint64_t)(c->end - c->p))
        return false;
    if (copy) {
        memcpy(buf, c->p, (size_t)n);
        buf[n] = 0;
    }
    c->p += n;
    return true;
}

/* When the block of an F at the chunk's time was allocated: the start of
   the free's cell of the age grid (version 5), else not known. */
static inline uint64_t free_cell(const decode_state *d)
{
    unsigned s = rcc_age_shift(d->time);
    return d->dated ? d->time >> s << s : UINT64_MAX;
}

/* The records most of a capture is made of (allocations, frees and
   temporary frees: nine in ten on a compile), decoded inline by both
   passes (e NULL: the checking pass, which needs no event; else every
   field e's kind does not name must be zero already); 1 for any other
   record, and for one that is wrong, which decode() then reads again and
   names. */
static inline int decode_common(cursor *c, decode_state *d, rcc_event *e)
{
    const uint8_t *start = c->p;
    uint8_t kind = *c->p++;
    uint64_t id = 0;
    if (kind == RCC_TEMP && d->last_alloc) {
        id = d->last_alloc;
        d->last_alloc = 0;
    } else if ((kind == RCC_ALLOC || kind == RCC_FREE) && get_varint(c, &id) && id != 0 &&
               id <= d->infos) {
        d->last_alloc = kind == RCC_ALLOC ? id : 0;
        d->last_alloc_time = d->time;
    } else {
        c->p = start;
        return 1;
    }
    if (e) {
        e->kind = kind;
        e->id = id;
        e->time_us = d->time;
        e->alloc_time_us = kind == RCC_TEMP ? d->last_alloc_time
                           : kind == RCC_ALLOC ? 0
                                               : free_cell(d);
    }
    return 0;
}

static int decode(rcc_reader *r, cursor *c, decode_state *d, rcc_event *e, bool check)
{
    const uint8_t *start = c->p;
    *e = (rcc_event){0};
    e->kind = *c->p++;
    bool ok;
    uint64_t reach = 0;
    switch (e->kind) {
    case RCC_MODULE:
        ok = get_varint(c, &e->ip) && get_varint(c, &e->size) && get_text(c, r->text, !check);
        e->text = r->text;
        break;
    case RCC_STACK:
        ok = get_varint(c, &e->stack) && get_varint(c, &e->ip);
        if (!ok)
            break;
        if (e->stack > d->nodes)
            return bad_record(r, start, "a stack node whose parent comes later");
        if (d->nodes >= RCC_MAX_NODES)
            return bad_record(r, start, "more stack nodes than a capture may hold");
        if ((e->ip & RCC_PYFRAME_BIT) &&
            ((e->ip & ~RCC_PYFRAME_BIT) == 0 || (e->ip & ~RCC_PYFRAME_BIT) > d->pycodes))
            return bad_record(r, start, "a Python frame whose code location is not yet defined");
        e->id = ++d->nodes;
        if (check) {
            unsigned depth = e->stack ? r->depth[e->stack - 1] + 1u : 1u;
            if (depth > RCC_MAX_DEPTH)
                return bad_record(r, start, "a stack deeper than 256 frames");
            if (e->id > r->depth_cap && !grow_depths(r))
                return set_error(r, -1, "out of memory for stack nodes");
            r->depth[e->id - 1] = (uint16_t)depth;
        }
        break;
    case RCC_TYPE:
        ok = get_varint(c, &e->id) && get_text(c, r->text, !check);
        e->text = r->text;
        if (ok && !e->id)
            return bad_record(r, start, "type id 0");
        break;
    case RCC_INFO:
        ok = get_varint(c, &e->size) && get_varint(c, &e->stack) && get_varint(c, &e->type);
        if (ok && e->stack > d->nodes)
            return bad_record(r, start, "a stack node not yet defined");
        if (ok && d->infos >= RCC_MAX_INFOS)
            return bad_record(r, start, "more allocation infos than a capture may hold");
        e->id = ++d->infos;
        break;
    case RCC_CLOCK:
        ok = get_time(c, d, &e->time_us);
        break;
    case RCC_FREE_AGED:
        if (r->hdr.version < RCC_VERSION_AGES)
            return bad_record(r, start, "an unknown record tag");
        /* fall through */
    case RCC_ALLOC:
    case RCC_FREE:
        ok = get_varint(c, &e->id);
        if (ok && (e->id == 0 || e->id > d->infos))
            return bad_record(r, start, "an allocation info not yet defined");
        d->last_alloc = e->kind == RCC_ALLOC ? e->id : 0;
        d->last_alloc_time = d->time;
        e->time_us = d->time;
        if (e->kind == RCC_FREE)
            e->alloc_time_us = free_cell(d);
        if (ok && e->kind == RCC_FREE_AGED) {
            e->kind = RCC_FREE;
            if (get_age(c, e->time_us, &e->alloc_time_us) < 0)
                return bad_record(r, start, "a free whose age overruns the chunk or puts its "
                                            "allocation outside the capture");
        }
        break;
    case RCC_TEMP:
        if (!d->last_alloc)
            return bad_record(r, start, "a temporary free not right after an allocation");
        e->id = d->last_alloc;
        d->last_alloc = 0;
        e->time_us = d->time;
        e->alloc_time_us = d->last_alloc_time;
        ok = true;
        break;
    case RCC_SAMPLE:
        ok = get_time(c, d, &e->time_us) && get_varint(c, &e->heap_bytes) &&
             get_varint(c, &e->rss_bytes);
        break;
    case RCC_LEAK:
        ok = get_varint(c, &e->id) && get_varint(c, &reach) && get_varint(c, &e->count);
        if (ok && (e->id == 0 || e->id > d->infos))
            return bad_record(r, start, "an allocation info not yet defined");
        if (ok && reach > RCC_POSSIBLE)
            return bad_record(r, start, "an unknown reachability");
        if (ok && e->count == 0)
            return bad_record(r, start, "a leak of no blocks");
        e->status = (int64_t)reach;
        e->time_us = d->time;
        break;
    case RCC_END: {
        uint64_t st = 0;
        ok = get_time(c, d, &e->time_us) && get_varint(c, &st) &&
             get_varint(c, &e->heap_bytes) && get_varint(c, &e->peak_time_us) &&
             (r->hdr.version < 3 || get_varint(c, &e->signal));
        if (ok && e->signal > 64)
            return bad_record(r, start, "an end by an unknown signal");
        e->status = (int64_t)unzigzag(st);
        break;
    }
    case RCC_PYTHON:
        ok = get_varint(c, &e->count);
        break;
    case RCC_PYCODE:
        ok = get_varint(c, &e->id) && get_varint(c, &e->line) &&
             get_text(c, r->text, !check) && get_text(c, r->name, !check);
        e->text = r->text;
        e->name = r->name;
        if (ok && d->pycodes >= RCC_MAX_INFOS)
            return bad_record(r, start, "more Python code locations than a capture may hold");
        if (ok && e->id != d->pycodes + 1)
            return bad_record(r, start, "a Python code location out of order");
        d->pycodes += ok;
        break;
    case RCC_PYOBJECTS: {
        uint64_t list = 0;
        ok = get_varint(c, &list) && get_varint(c, &e->count) && get_varint(c, &e->size) &&
             get_text(c, r->text, !check);
        e->text = r->text;
        e->status = (int64_t)list;
        if (ok && list > RCC_PY_GARBAGE)
            return bad_record(r, start, "an unknown list of Python objects");
        if (ok && e->count == 0)
            return bad_record(r, start, "a Python objects record of no objects");
        if (ok && d->pyobjects >= RCC_MAX_INFOS)
            return bad_record(r, start, "more Python objects records than a capture may hold");
        d->pyobjects += ok;
        break;
    }
    default:
        return bad_record(r, start, "an unknown record tag");
    }
    if (!ok)
        return bad_record(r, start, "a field that overruns the chunk or its bound");
    return 0;
}

/* ---- Chunks ---------------------------------------------------------------------
 * Reads, checks and decodes the next chunk, then checks all its records.
 * Returns 2 when a chunk is ready to give, or the final status. */
static int next_chunk(rcc_reader *r)
{
    uint8_t h[CHUNK_HEADER];
    unsigned long long at = (unsigned long long)r->off;
    if (lseek(r->fd, (off_t)r->off, SEEK_SET) < 0)
        return set_error(r, -1, "seek to byte %llu: %s", at, strerror(errno));
    ssize_t n = read_full(r->fd, h, sizeof h);
    if (n < 0)
        return set_error(r, -1, "read error at byte %llu: %s", at, strerror(errno));
    if (n == 0)
        return r->status = 0;
    if (n < CHUNK_HEADER)
        return set_error(r, 1, "truncated capture: the file ends inside the chunk header at byte %llu",
                         at);
    if (memcmp(h, chunk_magic, 4) != 0)
        return set_error(r, -1, "corrupt capture: no chunk magic at byte %llu", at);
    uint16_t check = (uint16_t)(h[6] | h[7] << 8);
    if (check != chunk_header_check(h))
        return set_error(r, -1, "corrupt capture: the chunk header at byte %llu fails its check",
                         at);
    uint8_t codec = h[4];
    uint32_t raw = get32(h + 8), stored = get32(h + 12), sum = get32(h + 16);
    if (codec > 1 || h[5] != 0)
        return set_error(r, -1, "corrupt capture: chunk at byte %llu: unknown codec %u", at,
                         codec);
    if (raw > RCC_MAX_CHUNK || (codec == 0 && stored != raw) ||
        (codec == 1 && (stored > raw + STORED_SLACK || stored == 0)))
        return set_error(r, -1,
                         "corrupt capture: chunk at byte %llu: bad lengths (%u stored, %u decoded)",
                         at, stored, raw);
    /* A chunk the file cannot hold is truncation: check before allocating. */
    struct stat st;
    if (fstat(r->fd, &st) == 0)
        r->size = (uint64_t)st.st_size;
    if (r->off + CHUNK_HEADER + stored > r->size)
        return set_error(r, 1,
                         "truncated capture: the chunk at byte %llu needs %u bytes, the file "
                         "has %llu",
                         at, stored,
                         (unsigned long long)(r->size - r->off - CHUNK_HEADER));
    if (!reserve(&r->stored, &r->stored_cap, stored))
        return set_error(r, -1, "out of memory reading the chunk at byte %llu", at);
    n = read_full(r->fd, r->stored, stored);
    if (n < 0)
        return set_error(r, -1, "read error at byte %llu: %s", at, strerror(errno));
    if ((size_t)n < stored)
        return set_error(r, 1, "truncated capture: the file ends inside the chunk at byte %llu",
                         at);
    if (crc(r->stored, stored) != sum)
        return set_error(r, -1, "corrupt capture: chunk at byte %llu fails its CRC", at);
    if (codec == 0) {
        /* An empty stored chunk may have no buffer: a cursor over NULL
           would compute NULL + 0, which C leaves undefined. */
        static const uint8_t no_records[1];
        r->rec = stored ? r->stored : no_records;
    } else {
        if (!reserve(&r->raw, &r->raw_cap, raw ? raw : 1))
            return set_error(r, -1, "out of memory reading the chunk at byte %llu", at);
        size_t got = ZSTD_decompressDCtx(r->dctx, r->raw, raw, r->stored, stored);
        if (ZSTD_isError(got) || got != raw)
            return set_error(r, -1,
                             "corrupt capture: chunk at byte %llu does not decompress to its "
                             "%u bytes",
                             at, raw);
        r->rec = r->raw;
    }
    r->chunk_off = r->off;
    r->off += CHUNK_HEADER + stored;
    r->rec_len = raw;
    r->pos = 0;
    /* First pass: check every record. */
    bool dated = r->hdr.version >= RCC_VERSION_AGES;
    decode_state d = {.nodes = r->nodes, .infos = r->infos, .pycodes = r->pycodes,
                      .pyobjects = r->pyobjects, .dated = dated};
    cursor c = {r->rec, r->rec + raw};
    rcc_event e;
    while (c.p < c.end)
        if (decode_common(&c, &d, NULL) != 0 && decode(r, &c, &d, &e, true) != 0)
            return r->status;
    r->give = (decode_state){.nodes = r->nodes, .infos = r->infos, .pycodes = r->pycodes,
                             .pyobjects = r->pyobjects, .dated = dated};
    r->nodes = d.nodes;
    r->infos = d.infos;
    r->pycodes = d.pycodes;
    r->pyobjects = d.pyobjects;
    return 2;
}

int rcc_read(rcc_reader *r, int (*fn)(const rcc_event *e, void *ctx), void *ctx)
{
    rcc_event e = {0};
    while (r->status == 2) {
        if (r->pos == r->rec_len) {
            if (next_chunk(r) != 2)
                break;
            continue;
        }
        cursor c = {r->rec + r->pos, r->rec + r->rec_len};
        bool common = decode_common(&c, &r->give, &e) == 0;
        if (!common && decode(r, &c, &r->give, &e, false) != 0)
            break; /* cannot happen: the chunk was checked */
        r->pos = (size_t)(c.p - r->rec);
        if (fn && fn(&e, ctx))
            return 2;
        if (!common)
            e = (rcc_event){0}; /* what decode_common leaves alone is zero */
    }
    return r->status;
}
