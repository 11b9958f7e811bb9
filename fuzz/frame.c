/*
 * frame.c — capture-shaped inputs (the layout is in fuzz.h): records
 * framed into chunks with correct lengths and CRCs (the format of
 * docs/CAPTURE.md, written here independently of the writer so that the
 * fuzzer reaches record decoding with chunks no writer would make), and
 * the scratch file the readers open.
 */
#define _GNU_SOURCE
#include "fuzz.h"

#include "capture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

static const uint8_t separator[4] = {'C', 'H', 'N', 'K'};

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t crc(const uint8_t *p, size_t n)
{
    return (uint32_t)crc32(crc32(0L, Z_NULL, 0), n ? p : Z_NULL, (uInt)n);
}

/* Append one chunk of records [p, p + n) at out (room checked by the
   caller: 24 + ZSTD_compressBound(n)); returns its size. */
static size_t put_chunk(uint8_t *out, const uint8_t *p, size_t n, int zstd)
{
    uint8_t *body = out + 24;
    size_t stored = n;
    if (zstd) {
        static ZSTD_CCtx *cctx; /* kept: making one per input is most of the cost */
        if (!cctx && !(cctx = ZSTD_createCCtx()))
            return 0;
        stored = ZSTD_compressCCtx(cctx, body, ZSTD_compressBound(n), p, n, 1);
        if (ZSTD_isError(stored))
            return 0;
    } else if (n) {
        memcpy(body, p, n);
    }
    memset(out, 0, 24);
    memcpy(out, separator, 4);
    out[4] = (uint8_t)(zstd != 0);
    put32(out + 8, (uint32_t)n);
    put32(out + 12, (uint32_t)stored);
    put32(out + 16, crc(body, stored));
    uint32_t c = crc(out, 24);
    out[6] = (uint8_t)(c ^ (c >> 16));
    out[7] = (uint8_t)((c ^ (c >> 16)) >> 8);
    return 24 + stored;
}

static size_t framed(const uint8_t *data, size_t size, uint8_t *out, int zstd)
{
    memset(out, 0, 64);
    memcpy(out, "RCGCCAP", 8);
    put32(out + 8, RCC_VERSION); /* the format as written now (until December 2026: 2) */
    put32(out + 12, 64);
    put32(out + 24, 4242);
    put32(out + 28, crc(out, 64));
    size_t n = 64;
    const uint8_t *p = data, *end = data + size;
    for (;;) {
        const uint8_t *cut = size ? memmem(p, (size_t)(end - p), separator, 4) : NULL;
        size_t len = (size_t)((cut ? cut : end) - p);
        n += put_chunk(out + n, p, len, zstd);
        if (!cut)
            return n;
        p = cut + 4;
    }
}

static uint8_t *capture_image(const uint8_t *data, size_t size, size_t *len)
{
    if (size == 0)
        return NULL;
    uint8_t mode = data[0];
    data++, size--;
    /* at most size / 4 + 1 chunks, each 24 bytes of header, plus zstd's bound */
    size_t cap = 64 + (size / 4 + 1) * 24 + ZSTD_compressBound(size) + size;
    uint8_t *out = malloc(cap);
    if (!out)
        return NULL;
    size_t n;
    if (mode & 1) {
        n = framed(data, size, out, mode & 2);
    } else {
        if (size)
            memcpy(out, data, size);
        n = size;
    }
    size_t cut = 7u * ((mode >> 2) & 7);
    *len = cut < n ? n - cut : 0;
    return out;
}

static char scratch[64];
static int scratch_fd = -1;

static void remove_scratch(void)
{
    unlink(scratch);
}

static const char *spill(const uint8_t *bytes, size_t len)
{
    if (scratch_fd < 0) {
        const char *dir = getenv("TMPDIR");
        snprintf(scratch, sizeof scratch, "%s/rcgc_fuzz_XXXXXX.cap",
                 dir && strlen(dir) < 32 ? dir : "/tmp");
        scratch_fd = mkstemps(scratch, 4);
        if (scratch_fd < 0) {
            perror("fuzz: scratch file");
            exit(1);
        }
        atexit(remove_scratch);
    }
    if (ftruncate(scratch_fd, 0) != 0 ||
        (len && pwrite(scratch_fd, bytes, len, 0) != (ssize_t)len)) {
        perror("fuzz: scratch file");
        exit(1);
    }
    return scratch;
}

const char *fuzz_capture_file(const uint8_t *data, size_t size)
{
    size_t len;
    uint8_t *image = capture_image(data, size, &len);
    if (!image)
        return NULL;
    const char *path = spill(image, len);
    free(image);
    return path;
}
