/*
 * make_seeds.c — writes the seed corpora committed under fuzz/corpus:
 *   fuzz_make_seeds fuzz/corpus
 * capture/: whole captures from the capture writer (mode byte 0: the file
 * as is), one cut inside a chunk, and records framed by fuzz.h's mode 1
 * (stored and zstd chunks, an empty input: one zero-length chunk, empty
 * pieces between chunks, truncation by the mode bits); heap/: seeded
 * random operation streams for fuzz_heap.  Rerun it only to change the
 * seeds: the files are committed (whole-v4.cap and two-chunks-v4.cap are
 * whole.cap and two-chunks.cap as the writer wrote them in version 4, kept
 * as old captures; framed inputs were version 2 files until December 2026,
 * the version written now since, with an F's age).
 */
#define _GNU_SOURCE
#include "capture.h"

#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *dir;

static void save(const char *sub, const char *name, uint8_t mode, const void *p, size_t n)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s/%s", dir, sub, name);
    FILE *f = fopen(path, "wb");
    if (!f || fputc(mode, f) == EOF || (n && fwrite(p, 1, n, f) != n) || fclose(f) != 0) {
        perror(path);
        exit(1);
    }
}

/* A capture through the writer: two modules (one a real library, so the
   symbolizer reads an ELF file), a stack tree with Python frames (their
   code locations in the first chunk when there are two, the frames in the
   second), a type, allocations, frees, a temporary, samples, leaks of each
   kind and the end record. */
static size_t whole_capture(uint8_t **out, bool two_chunks)
{
    char path[] = "/tmp/rcgc_seed_XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0) {
        perror("mkstemp");
        exit(1);
    }
    unlink(path);
    rcc_writer *w = rcc_writer_open(fd, 77);
    if (!w)
        exit(1);
    const rcc_event events[] = {
        {.kind = RCC_MODULE, .ip = 0x400000, .size = 0x10000, .text = "/nonexistent/prog"},
        {.kind = RCC_MODULE, .ip = 0x7f0000000000, .size = 0x200000,
         .text = "/lib/x86_64-linux-gnu/libdl.so.2"},
        {.kind = RCC_STACK, .stack = 0, .ip = 0x401000},
        {.kind = RCC_STACK, .stack = 1, .ip = 0x401100},
        {.kind = RCC_STACK, .stack = 2, .ip = 0x7f0000001234},
        {.kind = RCC_STACK, .stack = 1, .ip = 0x401200},
        {.kind = RCC_PYTHON, .count = 0x030B02F0},
        {.kind = RCC_PYCODE, .id = 1, .line = 12, .text = "/app/main.py", .name = "main"},
        {.kind = RCC_PYCODE, .id = 2, .line = 3, .text = "/app/util.py", .name = "Cache.fill"},
        {.kind = RCC_TYPE, .id = 1, .text = "list"},
        {.kind = RCC_STACK, .stack = 2, .ip = RCC_PYFRAME_BIT | 1},
        {.kind = RCC_STACK, .stack = 5, .ip = RCC_PYFRAME_BIT | 2},
        {.kind = RCC_STACK, .stack = 6, .ip = 0x7f0000001300},
        {.kind = RCC_INFO, .size = 64, .stack = 3, .type = 0},
        {.kind = RCC_INFO, .size = 4096, .stack = 4, .type = 1},
        {.kind = RCC_INFO, .size = 24, .stack = 0, .type = 0},
        {.kind = RCC_INFO, .size = 100, .stack = 7, .type = 0},
        {.kind = RCC_CLOCK, .time_us = 10},
        {.kind = RCC_ALLOC, .id = 1, .time_us = 10},
        {.kind = RCC_ALLOC, .id = 2, .time_us = 20},
        {.kind = RCC_ALLOC, .id = 3, .time_us = 30},
        {.kind = RCC_TEMP, .id = 3, .time_us = 30},
        {.kind = RCC_SAMPLE, .time_us = 500, .heap_bytes = 4160, .rss_bytes = 1 << 20},
        {.kind = RCC_FREE, .id = 1, .time_us = 900},
        {.kind = RCC_ALLOC, .id = 1, .time_us = 1200},
        {.kind = RCC_ALLOC, .id = 3, .time_us = 1300},
        {.kind = RCC_ALLOC, .id = 4, .time_us = 1400},
        {.kind = RCC_SAMPLE, .time_us = 1500, .heap_bytes = 4284, .rss_bytes = 2 << 20},
        {.kind = RCC_LEAK, .id = 1, .status = RCC_DEFINITE, .count = 1},
        {.kind = RCC_LEAK, .id = 2, .status = RCC_INDIRECT, .count = 1},
        {.kind = RCC_LEAK, .id = 3, .status = RCC_REACHABLE, .count = 1},
        {.kind = RCC_LEAK, .id = 4, .status = RCC_DEFINITE, .count = 1},
        {.kind = RCC_PYOBJECTS, .status = RCC_PY_LIVE, .count = 1000, .size = 56000,
         .text = "Leaf"},
        {.kind = RCC_PYOBJECTS, .status = RCC_PY_LIVE, .count = 12, .size = 768, .text = "Cycle"},
        {.kind = RCC_PYOBJECTS, .status = RCC_PY_GARBAGE, .count = 2, .size = 128,
         .text = "Cycle"},
        {.kind = RCC_FREE, .id = 3, .time_us = 9000, .alloc_time_us = 1300}, /* a G, age 2 */
        {.kind = RCC_END, .time_us = 9000, .status = 3, .heap_bytes = 4284,
         .peak_time_us = 1300},
    };
    for (size_t i = 0; i < sizeof events / sizeof *events; i++) {
        if (events[i].kind == RCC_TYPE && two_chunks)
            rcc_writer_flush(w); /* a second chunk */
        if (rcc_write(w, &events[i]) != 0)
            exit(1);
    }
    rcc_writer_close(w);
    off_t n = lseek(fd, 0, SEEK_END);
    *out = malloc((size_t)n);
    if (!*out || pread(fd, *out, (size_t)n, 0) != n)
        exit(1);
    close(fd);
    return (size_t)n;
}

/* Records for mode 1 (fuzz.h): pieces between "CHNK" become chunks. */
static const uint8_t records[] = {
    'M', 0x80, 0x80, 0x01, 0x80, 0x02, 4, '/', 'd', 'e', 'v',
    'S', 0, 0x90, 0x80, 0x01, 'S', 1, 0xA0, 0x80, 0x01,
    'T', 1, 3, 's', 't', 'r',
    'I', 16, 2, 0, 'I', 48, 1, 1,
    'Y', 0xF0, 0x85, 0xAC, 0x18,             /* Python 3.11.2 */
    'K', 1, 9, 4, 'a', '.', 'p', 'y', 1, 'f',
    'S', 2, 0x81, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01, /* frame of K 1 */
    'S', 3, 0x90, 0x80, 0x01, 'I', 32, 4, 0,
    'C', 5, 'A', 1, 'A', 2, 'X', 'A', 1, 'A', 3,
    'C', 'H', 'N', 'K',                      /* next chunk */
    'C', 40, 'F', 1, 'P', 41, 64, 0x80, 0x20,
    'C', 0x80, 0x40, 'G', 2, 2, 'A', 2, 'G', 2, 0xFF, 0x0F, /* aged frees: 1 cell, -1024 */
    'C', 'H', 'N', 'K', 'C', 'H', 'N', 'K',  /* a zero-length chunk between */
    'L', 2, 2, 3, 'L', 1, 0, 1,
    'O', 0, 3, 0x80, 0x01, 4, 'd', 'i', 'c', 't', /* 3 dicts, 128 bytes */
    'O', 1, 1, 48, 1, 'N',                        /* a node in gc.garbage */
    'E', 50, 1, 64, 5, 0,
};

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
        return 1;
    }
    dir = argv[1];
    uint8_t *cap;
    size_t n = whole_capture(&cap, false);
    save("capture", "whole.cap", 0, cap, n);
    save("capture", "cut-in-chunk.cap", 0, cap, n - 9);
    save("capture", "cut-in-header.cap", 0, cap, 40);
    free(cap);
    n = whole_capture(&cap, true);
    save("capture", "two-chunks.cap", 0, cap, n);
    free(cap);
    save("capture", "framed-stored", 1, records, sizeof records);
    save("capture", "framed-zstd", 3, records, sizeof records);
    save("capture", "framed-cut", 1 | 2 << 2, records, sizeof records);
    save("capture", "zero-length-chunk", 1, NULL, 0);
    save("capture", "zero-length-chunks-zstd", 3, "CHNKCHNK", 8);
    save("capture", "empty-file", 0, NULL, 0);
    uint64_t x = 0x9E3779B97F4A7C15u;
    for (int i = 0; i < 8; i++) {
        uint8_t ops[512];
        for (size_t k = 0; k < sizeof ops; k++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            ops[k] = (uint8_t)x;
        }
        char name[32];
        snprintf(name, sizeof name, "random-%d", i);
        save("heap", name, (uint8_t)i, ops, 64u << (i % 4));
    }
    return 0;
}
