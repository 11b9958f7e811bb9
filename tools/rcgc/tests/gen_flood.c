/*
 * gen_flood.c — a capture of many events and few stacks, written through
 * the capture writer, to show that reading one takes memory that does not
 * grow with its events (test_memory.py, bench/bench_memory.sh):
 *
 *   gen_flood OUT EVENTS
 *
 * 8 stacks of 12 made-up frames, 16 infos (two sizes per stack), at most
 * 1024 blocks live: each allocation past that frees the oldest first, and
 * one in eight is freed at once (a temporary).  Ten events per microsecond
 * of the capture's clock, a P sample every 2^16 events, an E record at the
 * end.  Chunks of 64 KiB of records, so captures of any length decode with
 * buffers of one size.
 */
#include "capture.h"

#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <unistd.h>

enum { STACKS = 8, DEPTH = 12, INFOS = 2 * STACKS, LIVE = 1024, CHUNK = 64 << 10 };

static int sink(void *ctx, const void *chunk, size_t len)
{
    return rcc_write_all(*(int *)ctx, chunk, len);
}

static void check(bool ok, const char *what)
{
    if (!ok) {
        perror(what);
        exit(1);
    }
}

int main(int argc, char **argv)
{
    char *end;
    unsigned long long events = argc == 3 ? strtoull(argv[2], &end, 10) : 0;
    if (argc != 3 || *end || !events) {
        fprintf(stderr, "usage: gen_flood OUT EVENTS\n");
        return 1;
    }
    int fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC, 0644);
    check(fd >= 0, argv[1]);
    check(rcc_write_header(fd, 1, 0) == 0, "rcc_write_header");
    rcc_writer_options o = {.sink = sink, .sink_ctx = &fd, .chunk_bytes = CHUNK, .tid = 1};
    rcc_writer *w = rcc_writer_new(&o);
    check(w != NULL, "rcc_writer_new");
    uint64_t node = 0, sizes[INFOS];
    for (uint64_t s = 0; s < STACKS; s++) {
        for (uint64_t d = 0, parent = 0; d < DEPTH; d++, parent = node) {
            rcc_event e = {.kind = RCC_STACK, .stack = parent,
                           .ip = 0x400000 + 0x1000 * d + 0x40 * (d + 1 == DEPTH ? s : 0)};
            check(rcc_write(w, &e) == 0, "rcc_write");
            node++;
        }
        for (uint64_t k = 0; k < 2; k++) {
            sizes[2 * s + k] = 16 + 48 * s + 4096 * k;
            rcc_event e = {.kind = RCC_INFO, .size = sizes[2 * s + k], .stack = node};
            check(rcc_write(w, &e) == 0, "rcc_write");
        }
    }
    uint32_t stamps[LIVE]; /* ring's blocks' times, for their F's age */
    uint64_t ring[LIVE], head = 0, nlive = 0, live = 0, peak = 0, peak_time = 0, i = 0;
    for (uint64_t a = 0; i < events; a++) {
        rcc_writer_time(w, i / 10);
        if (i % 65536 == 0) {
            rcc_event e = {.kind = RCC_SAMPLE, .time_us = i / 10, .heap_bytes = live,
                           .rss_bytes = live + (4 << 20)};
            check(rcc_write(w, &e) == 0, "rcc_write");
        }
        uint64_t info = a * 7 % INFOS + 1;
        if (a % 8 == 7) { /* a temporary: allocated and freed at once */
            check(rcc_write_alloc(w, info) == 0 &&
                      rcc_write_free(w, info, 1, rcc_writer_stamp(w)) == 0, "rcc_write");
            i += 2;
            continue;
        }
        if (nlive == LIVE) { /* the oldest goes first */
            check(rcc_write_free(w, ring[head], 0, stamps[head]) == 0, "rcc_write_free");
            live -= sizes[ring[head] - 1];
            head = (head + 1) % LIVE;
            nlive--;
            i++;
        }
        check(rcc_write_alloc(w, info) == 0, "rcc_write_alloc");
        stamps[(head + nlive) % LIVE] = rcc_writer_stamp(w);
        ring[(head + nlive++) % LIVE] = info;
        live += sizes[info - 1];
        if (live > peak)
            peak = live, peak_time = i / 10;
        i++;
    }
    rcc_event e = {.kind = RCC_END, .time_us = i / 10, .heap_bytes = peak,
                   .peak_time_us = peak_time};
    check(rcc_write(w, &e) == 0 && rcc_writer_close(w) == 0, "rcc_write");
    check(close(fd) == 0, argv[1]);
    return 0;
}
