/*
 * capture.h — the rcgc capture file: what `rcgc run` records and every
 * `rcgc` command reads.  Format in docs/CAPTURE.md; this is its API.
 *
 * Writer side (the preload shim, and librcgc programs): a capture is a
 * header then a stream of chunks; each chunk holds records, zstd-compressed
 * with a CRC, so a capture cut short by a crash or kill -9 is readable up to
 * its last complete chunk.  Records refer to stacks as nodes of a tree of
 * frames (each distinct stack stored once); an allocation or a free names
 * its "info" (size, stack, type: each distinct one stored once), and times
 * come in clock records when they move, so the stream of events is small
 * and repetitive, as zstd likes it.
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

#define RCC_VERSION 5          /* written; readers also take versions 2 (E without
                                      its signal field), 3 (no Python records) and 4
                                      (an F without the block's age) */
#define RCC_VERSION_MIN 2
#define RCC_MAX_CHUNK (16u << 20)  /* bytes of one chunk's records */
#define RCC_MAX_DEPTH 256          /* frames of one stack */
#define RCC_MAX_STRING 4096        /* bytes of a module path, type name, Python
                                      file or function name */
#define RCC_MAX_NODES (1u << 24)   /* stack nodes in one capture */
#define RCC_MAX_INFOS (1u << 24)   /* allocation infos in one capture (zstd lets a
                                      small file decode to many records: readers
                                      size their tables by these, not the file);
                                      also the bound on Python code locations */
/* An F's age (version 5) counts in cells of the time grid of its free: 2^s
   us, s the least at or above RCC_AGE_SHIFT (4.096 ms cells: with 1.024 ms
   ones, sqlite's capture grew 21% where it grows 8%) for which the
   free's time falls in the first RCC_AGE_CELLS cells (rcc_age_shift): the
   free's cell less its block's allocation's (each an event's time in the
   file).  So a reader whose grid has at most RCC_AGE_CELLS cells from the
   start to its last event, none narrower than 2^RCC_AGE_SHIFT us, puts
   every freed block's allocation in the cell its A is in, and an age
   never needs more than two bytes. */
#define RCC_AGE_SHIFT 12
#define RCC_AGE_CELLS 512
#define RCC_VERSION_AGES 5
/* An allocation at most this many cells after the free of its block (two
   threads' clocks: docs/CAPTURE.md); readers reject more. */
#define RCC_MAX_SKEW 1024

static inline unsigned rcc_age_shift(uint64_t time_us)
{
    unsigned bits = time_us ? 64u - (unsigned)__builtin_clzll(time_us) : 0u;
    return bits > RCC_AGE_SHIFT + 9 ? bits - 9 : RCC_AGE_SHIFT;
}
_Static_assert(RCC_AGE_CELLS == 1 << 9, "rcc_age_shift: 9 bits of cells");
/* A stack node whose return address has this bit is a Python frame: the
   rest of the address is the id of a PYCODE record written before it.
   User-space addresses never have it (x86-64, aarch64 Linux). */
#define RCC_PYFRAME_BIT (UINT64_C(1) << 63)

/* Record kinds (one tag byte each; payloads in docs/CAPTURE.md). */
enum rcc_kind {
    RCC_MODULE = 'M',   /* a loaded module: base, size, path */
    RCC_STACK = 'S',    /* a stack-tree node: parent node, return address */
    RCC_TYPE = 'T',     /* a managed type's name: id, name */
    RCC_INFO = 'I',     /* an allocation kind: size, stack node, type id */
    RCC_CLOCK = 'C',    /* time of the events that follow in the chunk */
    RCC_ALLOC = 'A',    /* a block allocated: info */
    RCC_FREE = 'F',     /* a block freed: info (version 5: allocated in the
                           free's cell of the age grid) */
    RCC_FREE_AGED = 'G', /* version 5: a block freed: info, age (readers give
                            it as a FREE) */
    RCC_TEMP = 'X',     /* the block of the A just before freed (a temporary) */
    RCC_SAMPLE = 'P',   /* time, heap bytes, RSS */
    RCC_LEAK = 'L',     /* info, reachability, blocks (after the scan at exit) */
    RCC_END = 'E',      /* time, exit status, peak bytes and its time, signal */
    RCC_PYTHON = 'Y',   /* the process runs CPython from here on: its version */
    RCC_PYCODE = 'K',   /* a Python code location: id, line, file, function */
    RCC_PYOBJECTS = 'O', /* at exit, Python objects of one type: list, objects,
                            bytes, type name (a later tag: older readers reject it) */
};

/* The lists of a Python objects record. */
enum rcc_pylist {
    RCC_PY_LIVE = 0,    /* the census of live objects, before finalization */
    RCC_PY_GARBAGE = 1, /* gc.garbage's items (the cycle collector's leftovers) */
};

/* Reachability of a block still allocated at exit (memcheck's terms). */
enum rcc_reach {
    RCC_REACHABLE = 0,  /* a pointer to it from the roots, directly or not */
    RCC_INDIRECT = 1,   /* only pointed to from lost blocks */
    RCC_DEFINITE = 2,   /* no pointer to it anywhere */
    RCC_POSSIBLE = 3,   /* reached, but only through interior pointers or
                           possibly lost blocks (a later value: older readers
                           reject it) */
};

typedef struct rcc_event {
    int kind;               /* enum rcc_kind */
    uint64_t time_us;       /* since the capture started: CLOCK, SAMPLE, END their
                               own; ALLOC, FREE, TEMP, LEAK the chunk's latest
                               time record's (0 before any) */
    uint64_t size;          /* INFO: bytes; MODULE: module size; PYOBJECTS: bytes
                               of the objects' blocks */
    uint64_t stack;         /* INFO: stack node (0: none); STACK: parent */
    uint64_t ip;            /* STACK: return address; MODULE: base */
    uint64_t id;            /* STACK, INFO: its own id (given by the reader);
                               TYPE: type id; ALLOC, FREE, TEMP, LEAK: info id;
                               PYCODE: its id (1, 2, 3... in file order) */
    uint64_t type;          /* INFO: type id (0: raw malloc) */
    uint64_t count;         /* LEAK: blocks (>= 1); PYTHON: the version,
                               PY_VERSION_HEX style (0x030B02F0 is 3.11.2);
                               PYOBJECTS: objects (>= 1) */
    uint64_t heap_bytes;    /* SAMPLE; END: peak bytes */
    uint64_t rss_bytes;     /* SAMPLE */
    uint64_t peak_time_us;  /* END */
    int64_t status;         /* END: exit status; LEAK: enum rcc_reach;
                               PYOBJECTS: enum rcc_pylist */
    uint64_t signal;        /* END: the fatal signal that ended the process (its
                               L records were scanned then); 0: it exited */
    uint64_t line;          /* PYCODE: line number (0: unknown) */
    uint64_t alloc_time_us; /* FREE: when the freed block was allocated: the
                               start of its A's cell of the free's age grid
                               (RCC_AGE_SHIFT); UINT64_MAX: not known (an F
                               before version 5); TEMP: its A's time.
                               rcc_write takes a FREE's or TEMP's from here */
    const char *text;       /* MODULE: path; TYPE: name; PYCODE: file;
                               PYOBJECTS: the type's name (valid during the call) */
    const char *name;       /* PYCODE: function (its qualname; valid during the
                               call) */
} rcc_event;

/* ---- Writer ----------------------------------------------------------------
 * Not thread-safe: the shim gives each thread its own buffer and takes a
 * lock only to append a finished chunk.  Times given to one writer must not
 * decrease (a smaller one is written as the previous time). */
typedef struct rcc_writer rcc_writer;
/* Write the header to fd (owned by the caller), with the start time taken
   now.  NULL on failure (malloc or write; errno says which). */
rcc_writer *rcc_writer_open(int fd, uint32_t pid);
/* Append one record to the current chunk; the chunk is written (compressed)
   when it is full or on rcc_writer_flush.  0, or -1 on a write error (or a
   string longer than 4096 bytes, or an unknown kind); after a write error
   every call fails.  A PYCODE's id is written as given: the writer's caller
   numbers them 1, 2, 3... in the order they reach the file. */
int rcc_write(rcc_writer *w, const rcc_event *e);
int rcc_writer_flush(rcc_writer *w);
/* The time of the events written next (microseconds since the start).
   An A, F or X record is preceded by a C record when the chunk has no
   time yet or this time is time_grain_us or more past the chunk's latest
   time record, so an event's time in the file is at most that much early. */
void rcc_writer_time(rcc_writer *w, uint64_t time_us);
/* The A, F and X records (as rcc_write, without an rcc_event to fill: the
   shim writes one per allocation and free).  temporary: the block freed is
   the one of the A this writer wrote just before (no A, F or X since): an
   X, which names no info (the reader takes the A's).  When that A went out
   with the previous chunk the free is written as an F.  alloc_stamp: the
   block's allocation time as rcc_writer_stamp gave it after its A (any
   writer's: the age is the difference of two times of one clock). */
int rcc_write_alloc(rcc_writer *w, uint64_t info);
int rcc_write_free(rcc_writer *w, uint64_t info, int temporary, uint32_t alloc_stamp);
/* The time of the A, F or X written last, as the file has it (its chunk's
   latest time record), in units of 2^RCC_AGE_SHIFT us modulo 2^32: what
   an F's age is counted from (a block freed 2^31 units, 101 days, or more
   after it was allocated gets a wrong age). */
uint32_t rcc_writer_stamp(const rcc_writer *w);
/* Flush and free (the fd stays open).  0, or -1 if the flush failed (the
   writer is freed either way). */
int rcc_writer_close(rcc_writer *w);

/* Several writers into one file (the shim: one per thread, and one for the
   stack tree and modules).  Each writer buffers its own chunk and keeps its
   own delta state; a finished chunk (24-byte header and stored bytes, ready
   to append) goes to sink, which returns 0 or -1.  The sink is called from
   rcc_write (when the chunk is full), rcc_writer_flush and rcc_writer_close
   on the writer's thread; serializing appends is the sink's business. */
typedef int (*rcc_sink_fn)(void *ctx, const void *chunk, size_t len);
typedef struct rcc_writer_options {
    rcc_sink_fn sink;      /* where finished chunks go */
    void *sink_ctx;
    size_t chunk_bytes;    /* records per chunk, bytes: 0 is 1 MiB; at most RCC_MAX_CHUNK */
    int level;             /* zstd level; 0 is RCC_DEFAULT_LEVEL */
    uint32_t tid;          /* written in each chunk header (informational) */
    uint64_t time_grain_us; /* C records: 0 writes one at every change of time */
} rcc_writer_options;
#define RCC_DEFAULT_LEVEL 2 /* on bench_profiler's loop, level 1 wrote 20% more bytes
                                and took 4% less time */
/* The 64-byte file header.  0, or -1 on a write error. */
int rcc_write_header(int fd, uint32_t pid, uint64_t start_realtime_ns);
/* Write all n bytes to fd, going on after short writes and EINTR.  0, or -1
   on a write error.  Allocates nothing (the shim appends chunks with it). */
int rcc_write_all(int fd, const void *buf, size_t n);
/* A writer without a header of its own.  NULL when out of memory. */
rcc_writer *rcc_writer_new(const rcc_writer_options *o);
/* Bytes of records waiting in the current chunk. */
size_t rcc_writer_pending(const rcc_writer *w);

/* ---- The tick page ----------------------------------------------------------
 * `rcgc run` keeps the time in a shared page while the program runs, so the
 * shim can tell whether time has moved with one load per event instead of
 * a coarse clock read (a vDSO call: about 6.5 ns in a VM, the largest
 * single cost of an event).  The page is a memfd of rcgc run's, rewritten
 * by a thread of its own every RCC_TICK_NS; the program finds it through
 * RCC_TICK_ENV = "/proc/<rcgc's pid>/fd/<fd>:<token>" and maps it read-only.
 * The shim checks the token, and falls back to the coarse clock when the
 * page is missing, wrong or stops moving. */
#define RCC_TICK_ENV "RCGC_TICK"
#define RCC_TICK_NS 1000000u
typedef struct rcc_tick_page {
    uint64_t token;           /* as in the environment */
    _Atomic uint64_t mono_ns; /* CLOCK_MONOTONIC, at most RCC_TICK_NS old */
} rcc_tick_page;

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
   rcc_reader_error naming the byte offset; records before the bad chunk
   were given).  A chunk is checked whole before any of its records is
   given.  fn returns nonzero to stop early: rcc_read then returns 2, and
   the next rcc_read continues with the following record.  Reading again
   after 0, 1 or -1 returns the same value at once. */
int rcc_read(rcc_reader *r, int (*fn)(const rcc_event *e, void *ctx), void *ctx);
const char *rcc_reader_error(const rcc_reader *r);
/* Bytes of the file read so far, and its size (for progress). */
uint64_t rcc_reader_offset(const rcc_reader *r);
uint64_t rcc_reader_size(const rcc_reader *r);
void rcc_reader_close(rcc_reader *r);

#endif
