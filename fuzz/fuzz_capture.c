/*
 * fuzz_capture.c — the capture reader (tools/capture): rcc_reader_open and
 * rcc_read on a capture-shaped input (fuzz.h), checking what the reader
 * promises of every record it gives: strings NUL-ended within their bound,
 * stack nodes, infos and Python code locations numbered 1, 2, ... and
 * referring only to ones before them (a Python frame to a code location),
 * L records with a known reachability and at least one block;
 * stopping early (the callback's nonzero) and reading on gives the same
 * records; the final status is repeated by a second call; the message of
 * a bad capture names a byte offset.
 */
#include "capture.h"
#include "fuzz.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REQUIRE(c)                                                                \
    do {                                                                          \
        if (!(c)) {                                                               \
            fprintf(stderr, "fuzz_capture: %s:%d: %s\n", __FILE__, __LINE__, #c); \
            abort();                                                              \
        }                                                                         \
    } while (0)

typedef struct seen {
    uint64_t nodes, infos, pycodes, records;
    uint64_t stop_every;  /* stop after every this many records (0: never) */
} seen;

static int check(const rcc_event *e, void *ctx)
{
    seen *s = ctx;
    s->records++;
    switch (e->kind) {
    case RCC_MODULE:
    case RCC_TYPE:
        REQUIRE(e->text && strlen(e->text) <= RCC_MAX_STRING);
        REQUIRE(e->kind == RCC_MODULE || e->id != 0);
        break;
    case RCC_STACK:
        REQUIRE(e->id == ++s->nodes && e->stack < e->id && e->id <= RCC_MAX_NODES);
        if (e->ip & RCC_PYFRAME_BIT)
            REQUIRE((e->ip & ~RCC_PYFRAME_BIT) >= 1 && (e->ip & ~RCC_PYFRAME_BIT) <= s->pycodes);
        break;
    case RCC_PYCODE:
        REQUIRE(e->id == ++s->pycodes && e->id <= RCC_MAX_INFOS);
        REQUIRE(e->text && strlen(e->text) <= RCC_MAX_STRING);
        REQUIRE(e->name && strlen(e->name) <= RCC_MAX_STRING);
        break;
    case RCC_INFO:
        REQUIRE(e->id == ++s->infos && e->stack <= s->nodes && e->id <= RCC_MAX_INFOS);
        break;
    case RCC_ALLOC:
    case RCC_FREE:
    case RCC_TEMP:
        REQUIRE(e->id >= 1 && e->id <= s->infos);
        break;
    case RCC_LEAK:
        REQUIRE(e->id >= 1 && e->id <= s->infos && e->count >= 1);
        REQUIRE(e->status >= RCC_REACHABLE && e->status <= RCC_POSSIBLE);
        break;
    case RCC_PYOBJECTS:
        REQUIRE(e->status == RCC_PY_LIVE || e->status == RCC_PY_GARBAGE);
        REQUIRE(e->count >= 1 && e->text && strlen(e->text) <= RCC_MAX_STRING);
        break;
    case RCC_CLOCK:
    case RCC_SAMPLE:
    case RCC_END:
    case RCC_PYTHON:
        break;
    default:
        fprintf(stderr, "fuzz_capture: a record of unknown kind %d\n", e->kind);
        abort();
    }
    return s->stop_every && s->records % s->stop_every == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_capture_file(data, size);
    if (!path)
        return 0;
    char err[128];
    rcc_reader *r = rcc_reader_open(path, err, sizeof err);
    if (!r) {
        REQUIRE(strlen(err) > 0 && strlen(err) < sizeof err);
        return 0;
    }
    REQUIRE(rcc_reader_header(r)->version >= RCC_VERSION_MIN &&
            rcc_reader_header(r)->version <= RCC_VERSION);
    seen s = {.stop_every = (uint64_t)(data[0] >> 5)};
    int rc;
    while ((rc = rcc_read(r, check, &s)) == 2)
        REQUIRE(s.stop_every && s.records % s.stop_every == 0);
    REQUIRE(rc == 0 || rc == 1 || rc == -1);
    if (rc != 0)
        REQUIRE(strstr(rcc_reader_error(r), "byte") != NULL);
    REQUIRE(rcc_reader_offset(r) <= rcc_reader_size(r));
    uint64_t records = s.records;
    REQUIRE(rcc_read(r, check, &s) == rc && s.records == records);
    rcc_reader_close(r);
    return 0;
}
