/*
 * capture.h — the rcgc capture file: what `rcgc run` records and every
 * `rcgc` command reads.  Format in docs/CAPTURE.md; this is its API.
 *
 * Writer side (the preload shim, and librcgc programs): a capture is a
 * header then a stream of chunks; each chunk holds records, zstd-compressed
 * with a CRC, so a capture cut short by a crash or kill -9 is readable up to
 * its last complete chunk.  Records refer to stacks as nodes of a tree of
 * frames (each distinct stack stored once) and to addresses by delta, as
 * varints.
 *
 * Reader side: a streaming decoder that hands records to callbacks in file
 * order, keeping memory proportional to the stacks and modules (never to the
 * number of events); it never trusts a length or count from the file
 * without checking it against what remains and a hard bound.
 */
#ifndef RCGC_CAPTURE_H
#define RCGC_CAPTURE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define RCC_VERSION 1
#define RCC_MAX_CHUNK (16u << 20)  /* bytes of one chunk's records */
#define RCC_MAX_DEPTH 256          /* frames of one stack */

/* Record kinds (one tag byte each; payloads in docs/CAPTURE.md). */
enum rcc_kind {
    RCC_MODULE = 'M',   /* a loaded module: base, size, path */
    RCC_STACK = 'S',    /* a stack-tree node: parent node, return address */
    RCC_TYPE = 'T',     /* a managed type's name: id, name */
    RCC_ALLOC = 'A',    /* time, address, size, stack node, type id */
    RCC_FREE = 'F',     /* time, address */
    RCC_SAMPLE = 'P',   /* time, heap bytes, RSS */
    RCC_LEAK = 'L',     /* address, reachability (after the scan at exit) */
    RCC_END = 'E',      /* time, exit status, peak bytes and its time */
};

/* Reachability of a block still allocated at exit (memcheck's terms). */
enum rcc_reach {
    RCC_REACHABLE = 0,  /* a pointer to it from the roots, directly or not */
    RCC_INDIRECT = 1,   /* only pointed to from lost blocks */
    RCC_DEFINITE = 2,   /* no pointer to it anywhere */
};

typedef struct rcc_event {
    int kind;               /* enum rcc_kind */
    uint64_t time_us;       /* since the capture started */
    uint64_t addr;
    uint64_t size;          /* ALLOC: bytes; MODULE: module size */
    uint64_t stack;         /* ALLOC: stack node (0: none); STACK: parent */
    uint64_t ip;            /* STACK: return address; MODULE: base */
    uint64_t id;            /* STACK: its node id; TYPE: type id; ALLOC: type id */
    uint64_t heap_bytes;    /* SAMPLE; END: peak bytes */
    uint64_t rss_bytes;     /* SAMPLE */
    uint64_t peak_time_us;  /* END */
    int64_t status;         /* END: exit status; LEAK: enum rcc_reach */
    const char *text;       /* MODULE: path; TYPE: name (valid during the call) */
} rcc_event;

/* ---- Writer ----------------------------------------------------------------
 * Not thread-safe: the shim gives each thread its own buffer and takes a
 * lock only to append a finished chunk. */
typedef struct rcc_writer rcc_writer;
/* Write the header to fd (owned by the caller).  NULL on failure. */
rcc_writer *rcc_writer_open(int fd, uint32_t pid);
/* Append one record to the current chunk; the chunk is written (compressed)
   when it is full or on rcc_writer_flush.  0, or -1 on a write error. */
int rcc_write(rcc_writer *w, const rcc_event *e);
int rcc_writer_flush(rcc_writer *w);
/* Flush and free (the fd stays open). */
int rcc_writer_close(rcc_writer *w);

/* ---- Reader ---------------------------------------------------------------- */
typedef struct rcc_reader rcc_reader;
typedef struct rcc_header {
    uint32_t version, pid;
    uint64_t start_realtime_ns;
} rcc_header;

/* NULL with a message in err (never longer than errlen) when the file is
   missing or not a capture of a version this reader knows. */
rcc_reader *rcc_reader_open(const char *path, char *err, size_t errlen);
const rcc_header *rcc_reader_header(const rcc_reader *r);
/* Call fn for each record in file order.  Returns 0 at a clean end, 1 when
   the capture was cut short (the records of complete chunks were given;
   see rcc_reader_error), -1 when it is corrupt (a message in
   rcc_reader_error; records before the bad chunk were given).  fn returns
   nonzero to stop early. */
int rcc_read(rcc_reader *r, int (*fn)(const rcc_event *e, void *ctx), void *ctx);
const char *rcc_reader_error(const rcc_reader *r);
/* Bytes of the file read so far, and its size (for progress). */
uint64_t rcc_reader_offset(const rcc_reader *r);
uint64_t rcc_reader_size(const rcc_reader *r);
void rcc_reader_close(rcc_reader *r);

#endif
