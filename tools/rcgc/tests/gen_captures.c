/*
 * gen_captures.c — synthetic captures with known figures, written through
 * the capture writer API, for test_rcgc.py:
 *
 *   gen_captures DIR
 *
 * writes DIR/basic.cap, noscan.cap, threads.cap, types.cap, old.cap,
 * new.cap, python.cap (native and Python frames mixed) and DIR/sites.json
 * (each site's function, file and line, for the checks of symbolized
 * output).  The stacks are real return addresses of
 * this program, with its modules recorded, so rcgc symbolizes them offline
 * like any capture.  The figures the test expects are worked out by hand in
 * test_rcgc.py from the event lists below; keep the two in step.
 */
#define _GNU_SOURCE /* dl_iterate_phdr */
#include "capture.h"

#include <fcntl.h>
#include <link.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#if defined(__GNUC__) && !defined(__clang__)
#define FRAME __attribute__((noipa))
#else
#define FRAME __attribute__((noinline))
#endif

/* ---- sites: a call in a function of its own, called from driver() --------- */

typedef struct site {
    const char *name;
    void *inner, *outer;  /* return addresses: in the site, in driver */
    int line;             /* of the call inside the site */
    uint64_t node;        /* innermost stack node, once written */
} site;

static void *volatile sink;

static FRAME void *here(void)
{
    return __builtin_return_address(0);
}

/* One site per line: the call to here() is on the line of the macro. */
#define DEFINE_SITE(fn)                                                              \
    static FRAME void fn(site *s) { s->line = __LINE__; sink = here(); s->inner = sink; \
                                    s->outer = __builtin_return_address(0); }
DEFINE_SITE(site_alpha)
DEFINE_SITE(site_beta)
DEFINE_SITE(site_gamma)
DEFINE_SITE(site_delta)
DEFINE_SITE(site_epsilon)
DEFINE_SITE(PyMem_Malloc) /* an allocator wrapper by name: folded */

enum { ALPHA, BETA, GAMMA, DELTA, EPSILON, NSITES };
static site sites[NSITES] = {{.name = "site_alpha"}, {.name = "site_beta"},
                             {.name = "site_gamma"}, {.name = "site_delta"},
                             {.name = "site_epsilon"}};
static site pymem = {.name = "PyMem_Malloc"}; /* python.cap's only */

static FRAME void driver(void)
{
    site_alpha(&sites[ALPHA]);
    site_beta(&sites[BETA]);
    site_gamma(&sites[GAMMA]);
    site_delta(&sites[DELTA]);
    site_epsilon(&sites[EPSILON]);
    PyMem_Malloc(&pymem);
}

/* ---- writing ------------------------------------------------------------------
 * The scenarios name blocks by a made-up address, as a program would see
 * them; like the shim, this file keeps what the capture no longer carries:
 * each live block's info (for its free) and each writer's latest
 * allocation (a free of it, with no allocation since, is an X). */

static rcc_writer *w;     /* the thread writing now */
static rcc_writer *meta;  /* where I and T records go (w in a one-writer capture) */
static uint64_t live;     /* bytes, for the samples */

enum { MAX_INFOS = 64, MAX_BLOCKS = 256, MAX_WRITERS = 4 };
static struct {
    uint64_t size, node, type;
} infos[MAX_INFOS];
static uint64_t ninfos;
static struct {
    uint64_t addr, info;  /* addr 0: a free slot */
    uint32_t stamp;       /* its A's time (rcc_writer_stamp), for the F's age */
} blocks[MAX_BLOCKS];
static struct {
    rcc_writer *w;
    uint64_t last;        /* address of its latest allocation until its next event, or 0 */
} writers[MAX_WRITERS];

static void die(const char *what)
{
    perror(what);
    exit(1);
}

static void put(rcc_event e)
{
    if (rcc_write(w, &e) != 0)
        die("rcc_write");
}

static void flush(void)
{
    if (rcc_writer_flush(w) != 0)
        die("rcc_writer_flush");
}

/* The latest allocation of the current writer. */
static uint64_t *last_alloc(void)
{
    for (int i = 0; i < MAX_WRITERS; i++)
        if (writers[i].w == w || !writers[i].w) {
            writers[i].w = w;
            return &writers[i].last;
        }
    fprintf(stderr, "gen_captures: too many writers\n");
    exit(1);
}

/* The info of (size, stack node, type): defined by an I record through
   meta at first use (and its chunk written at once when that is not the
   current writer's, so the definition comes first in the file). */
static uint64_t info_at(uint64_t size, uint64_t node, uint64_t type)
{
    for (uint64_t i = 0; i < ninfos; i++)
        if (infos[i].size == size && infos[i].node == node && infos[i].type == type)
            return i + 1;
    if (ninfos == MAX_INFOS) {
        fprintf(stderr, "gen_captures: too many infos\n");
        exit(1);
    }
    infos[ninfos].size = size;
    infos[ninfos].node = node;
    infos[ninfos].type = type;
    rcc_event e = {.kind = RCC_INFO, .size = size, .stack = node, .type = type};
    if (rcc_write(meta, &e) != 0 || (meta != w && rcc_writer_flush(meta) != 0))
        die("rcc_write");
    return ++ninfos;
}

static uint64_t info_of(uint64_t size, int s, uint64_t type)
{
    return info_at(size, sites[s].node, type);
}

static int module(struct dl_phdr_info *info, size_t size, void *ctx)
{
    (void)size, (void)ctx;
    char exe[PATH_MAX];
    const char *path = info->dlpi_name;
    if (!path || !*path) {
        ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
        exe[n > 0 ? n : 0] = '\0';
        path = exe;
    }
    uint64_t lo = UINT64_MAX, hi = 0;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD)
            continue;
        lo = ph->p_vaddr < lo ? ph->p_vaddr : lo;
        hi = ph->p_vaddr + ph->p_memsz > hi ? ph->p_vaddr + ph->p_memsz : hi;
    }
    if (*path && lo < hi) /* as the shim records it: where the lowest segment is */
        put((rcc_event){.kind = RCC_MODULE, .ip = info->dlpi_addr + lo, .size = hi - lo,
                        .text = path});
    return 0;
}

/* Modules, then two nodes per site: driver's frame, the site's frame. */
static void stacks(void)
{
    dl_iterate_phdr(module, NULL);
    uint64_t id = 0;
    for (int i = 0; i < NSITES; i++) {
        put((rcc_event){.kind = RCC_STACK, .stack = 0, .ip = (uintptr_t)sites[i].outer});
        put((rcc_event){.kind = RCC_STACK, .stack = ++id, .ip = (uintptr_t)sites[i].inner});
        sites[i].node = ++id;
    }
}

/* A block of size at addr, allocated at time t under stack node. */
static void alloc_at(uint64_t t, uint64_t addr, uint64_t size, uint64_t node, uint64_t type)
{
    uint64_t id = info_at(size, node, type);
    int i = 0;
    while (i < MAX_BLOCKS && blocks[i].addr)
        i++;
    if (i == MAX_BLOCKS) {
        fprintf(stderr, "gen_captures: too many blocks\n");
        exit(1);
    }
    blocks[i].addr = addr;
    blocks[i].info = id;
    rcc_writer_time(w, t);
    if (rcc_write_alloc(w, id) != 0)
        die("rcc_write_alloc");
    blocks[i].stamp = rcc_writer_stamp(w);
    *last_alloc() = addr;
    live += size;
}

static void alloc_t(uint64_t t, uint64_t addr, uint64_t size, int s, uint64_t type)
{
    alloc_at(t, addr, size, sites[s].node, type);
}

static void alloc(uint64_t t, uint64_t addr, uint64_t size, int s)
{
    alloc_t(t, addr, size, s, 0);
}

/* Free the block at addr (allocated by any writer, before or after). */
static void release(uint64_t t, uint64_t addr, uint64_t size)
{
    int i = 0;
    while (i < MAX_BLOCKS && blocks[i].addr != addr)
        i++;
    if (i == MAX_BLOCKS) {
        fprintf(stderr, "gen_captures: free of an unknown block %#llx\n",
                (unsigned long long)addr);
        exit(1);
    }
    uint64_t *last = last_alloc();
    int temporary = *last == addr; /* freed right after it was made */
    *last = 0;
    rcc_writer_time(w, t);
    if (rcc_write_free(w, blocks[i].info, temporary, blocks[i].stamp) != 0)
        die("rcc_write_free");
    blocks[i].addr = 0;
    live -= size;
}

static void sample(uint64_t t)
{
    put((rcc_event){.kind = RCC_SAMPLE, .time_us = t, .heap_bytes = live,
                    .rss_bytes = live + (1u << 20)});
}

/* count blocks of (size, stack node, type) still live at exit, with reach. */
static void leak_at(uint64_t size, uint64_t node, uint64_t type, int reach, uint64_t count)
{
    put((rcc_event){.kind = RCC_LEAK, .id = info_at(size, node, type), .status = reach,
                    .count = count});
}

static void leak_t(uint64_t size, int s, uint64_t type, int reach, uint64_t count)
{
    leak_at(size, sites[s].node, type, reach, count);
}

static void leak(uint64_t size, int s, int reach, uint64_t count)
{
    leak_t(size, s, 0, reach, count);
}

static void end_signal(uint64_t t, int status, uint64_t peak, uint64_t peak_t, int sig)
{
    put((rcc_event){.kind = RCC_END, .time_us = t, .status = status, .heap_bytes = peak,
                    .peak_time_us = peak_t, .signal = (uint64_t)sig});
}

static void end(uint64_t t, int status, uint64_t peak, uint64_t peak_t)
{
    end_signal(t, status, peak, peak_t, 0);
}

static int create(const char *dir, const char *name)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        die(path);
    return fd;
}

/* A new capture: no infos, blocks or writers yet. */
static void reset(void)
{
    live = 0;
    ninfos = 0;
    memset(blocks, 0, sizeof blocks);
    memset(writers, 0, sizeof writers);
}

static void begin(const char *dir, const char *name, int *fd)
{
    *fd = create(dir, name);
    meta = w = rcc_writer_open(*fd, 4242);
    if (!w)
        die("rcc_writer_open");
    reset();
    stacks();
    flush();
}

static void finish(int fd)
{
    if (rcc_writer_close(w) != 0 || close(fd) != 0)
        die("close");
}

/* basic.cap (with the scan and the end record) and noscan.cap (without):
   one thread; a chunk per phase.  See test_rcgc.py for the figures. */
/* basic.cap and its variants: noscan.cap (no L, no E: killed outright),
   crashed.cap (the scan and E taken at a SIGSEGV). */
static void basic(const char *dir, const char *name, bool scan, int sig)
{
    int fd;
    begin(dir, name, &fd);
    for (uint64_t i = 0; i < 10; i++) /* alpha: 10 x 1000 */
        alloc(1000 * (i + 1), 0x10000 + i * 0x1000, 1000, ALPHA);
    sample(10500);
    for (uint64_t i = 0; i < 5; i++)
        release(11000 + 1000 * i, 0x10000 + i * 0x1000, 1000);
    sample(16000);
    flush();
    alloc(20000, 0x900000, 100000, BETA); /* the peak: 105000 */
    sample(25000);
    release(30000, 0x900000, 100000);     /* temporary: no allocation since */
    flush();
    for (uint64_t i = 0; i < 20; i++) { /* gamma: 20 temporaries of 64 */
        alloc(31000 + 20 * i, 0x200000 + i * 0x100, 64, GAMMA);
        release(31010 + 20 * i, 0x200000 + i * 0x100, 64);
    }
    sample(35000);
    for (uint64_t i = 0; i < 3; i++) /* delta: lost */
        alloc(40000, 0x300000 + i * 0x1000, 300, DELTA);
    alloc(40000, 0x400000, 50, EPSILON); /* epsilon: indirectly lost */
    alloc(41000, 0x210000, 64, GAMMA);   /* not temporary: alpha's comes next */
    alloc(41001, 0x500000, 1000, ALPHA); /* not temporary: a free comes between */
    release(41002, 0x210000, 64);
    release(41003, 0x500000, 1000);
    sample(45000);
    flush();
    if (scan) {
        leak(1000, ALPHA, RCC_REACHABLE, 5);
        leak(300, DELTA, RCC_DEFINITE, 3);
        leak(50, EPSILON, RCC_INDIRECT, 1);
        end_signal(50000, sig ? 128 + sig : 3, 105000, 20000, sig);
    }
    finish(fd);
}

/* threads.cap: two threads' writers and one for the stacks and infos, into
   one file, chunks appended in an order that puts a free (of a block passed
   from a to b) before its allocation, and an allocation before a free that
   came earlier in time. */
static int append_fd = -1;

static int append(void *ctx, const void *chunk, size_t len)
{
    (void)ctx;
    return write(append_fd, chunk, len) == (ssize_t)len ? 0 : -1;
}

static rcc_writer *thread_writer(uint32_t tid)
{
    rcc_writer_options o = {.sink = append, .tid = tid};
    rcc_writer *tw = rcc_writer_new(&o);
    if (!tw)
        die("rcc_writer_new");
    return tw;
}

static void threads(const char *dir)
{
    append_fd = create(dir, "threads.cap");
    if (rcc_write_header(append_fd, 4243, 0) != 0)
        exit(1);
    rcc_writer *s = thread_writer(1), *a = thread_writer(2), *b = thread_writer(3);
    reset();
    meta = w = s;
    stacks();
    flush();
    /* b frees X, which a allocated at 100 in a chunk written later: written
       by rcc_write here (the others by rcc_write_alloc and _free).  X's info
       is defined through s, before b's chunk. */
    w = b;
    put((rcc_event){.kind = RCC_FREE, .time_us = 200, .id = info_of(4096, ALPHA, 0)});
    flush();
    w = a;
    put((rcc_event){.kind = RCC_ALLOC, .time_us = 100, .id = info_of(4096, ALPHA, 0)});
    alloc(310, 0x2000, 10, BETA);
    flush();
    alloc(500, 0x3000, 32, GAMMA);
    alloc(700, 0x4000, 32, GAMMA); /* Z': b's free of Z at 600 is still to come */
    flush();
    w = b;
    release(600, 0x3000, 32);
    flush();
    if (rcc_writer_close(s) != 0 || rcc_writer_close(a) != 0 || rcc_writer_close(b) != 0)
        die("rcc_writer_close");
    close(append_fd);
}

/* types.cap: managed objects with type names, leaked; a raw block
   possibly lost. */
static void types(const char *dir)
{
    int fd;
    begin(dir, "types.cap", &fd);
    put((rcc_event){.kind = RCC_TYPE, .id = 1, .text = "str"});
    put((rcc_event){.kind = RCC_TYPE, .id = 2, .text = "dict"});
    alloc_t(100, 0x7000, 48, DELTA, 1);
    alloc_t(110, 0x7100, 48, DELTA, 1);
    alloc_t(120, 0x7200, 200, BETA, 2);
    alloc(130, 0x7300, 16, BETA);
    alloc(140, 0x7400, 24, GAMMA);
    leak_t(48, DELTA, 1, RCC_DEFINITE, 2);
    leak_t(200, BETA, 2, RCC_DEFINITE, 1);
    leak(16, BETA, RCC_REACHABLE, 1);
    leak(24, GAMMA, RCC_POSSIBLE, 1);
    end(200, 0, 336, 140);
    finish(fd);
}

/* old.cap and new.cap: the second run keeps two more of alpha's blocks and
   one of gamma's; beta is unchanged. */
static void run(const char *dir, const char *name, int alphas, bool gamma)
{
    int fd;
    begin(dir, name, &fd);
    for (int i = 0; i < alphas; i++)
        alloc(100 + (uint64_t)i, 0x10000 + (uint64_t)i * 0x1000, 1000, ALPHA);
    alloc(200, 0x90000, 500, BETA);
    if (gamma)
        alloc(300, 0xa0000, 64, GAMMA);
    finish(fd);
}

/* python.cap: a CPython program's stacks, native frames (this program's)
   and Python frames (K records) mixed, outermost first:
     A  driver > <module> app.py:10 > build app.py:4 > site_alpha     3 x 1000
     B  driver > <module> app.py:10 > build app.py:4 > site_beta > PyMem_Malloc
                                                                     2 x 500
     C  driver > <module> app.py:10 > site_gamma                     64, temporary
     D  driver > xmalloc app.py:20 (a Python function named like a wrapper)  32
     E  driver > site_delta (no Python frame)                        300
   All but C leaked, definitely; the peak is the end, 4332 bytes at 5 ms;
   a sample after each step (the report's plot, whose time range needs
   more than one of the report's 1 ms cells).  The census at exit: 1000
   Leaf (two types of that name: 600 + 400), 30 dicts, and 2 of the 12
   Cycle objects in gc.garbage. */
static void python(const char *dir)
{
    int fd;
    begin(dir, "python.cap", &fd);
    static const struct {
        const char *function;
        int line;
    } codes[] = {{"<module>", 10}, {"build", 4}, {"xmalloc", 20}};
    put((rcc_event){.kind = RCC_PYTHON, .count = 0x030B02F0}); /* 3.11.2 */
    for (uint64_t i = 0; i < 3; i++)
        put((rcc_event){.kind = RCC_PYCODE, .id = i + 1, .line = (uint64_t)codes[i].line,
                        .text = "/app/app.py", .name = codes[i].function});
    uint64_t node = 2 * NSITES; /* stacks() wrote two per site */
    uint64_t driver = ++node, module = ++node, build = ++node;
    put((rcc_event){.kind = RCC_STACK, .stack = 0, .ip = (uintptr_t)sites[ALPHA].outer});
    put((rcc_event){.kind = RCC_STACK, .stack = driver, .ip = RCC_PYFRAME_BIT | 1});
    put((rcc_event){.kind = RCC_STACK, .stack = module, .ip = RCC_PYFRAME_BIT | 2});
    uint64_t a = ++node, beta = ++node, b = ++node, c = ++node, d = ++node;
    put((rcc_event){.kind = RCC_STACK, .stack = build, .ip = (uintptr_t)sites[ALPHA].inner});
    put((rcc_event){.kind = RCC_STACK, .stack = build, .ip = (uintptr_t)sites[BETA].inner});
    put((rcc_event){.kind = RCC_STACK, .stack = beta, .ip = (uintptr_t)pymem.inner});
    put((rcc_event){.kind = RCC_STACK, .stack = module, .ip = (uintptr_t)sites[GAMMA].inner});
    put((rcc_event){.kind = RCC_STACK, .stack = driver, .ip = RCC_PYFRAME_BIT | 3});
    for (uint64_t i = 0; i < 3; i++)
        alloc_at(1000, 0x10000 + i * 0x1000, 1000, a, 0);
    sample(1500);
    for (uint64_t i = 0; i < 2; i++)
        alloc_at(2000, 0x20000 + i * 0x1000, 500, b, 0);
    sample(2500);
    alloc_at(3000, 0x30000, 64, c, 0);
    release(3100, 0x30000, 64);
    alloc_at(4000, 0x40000, 32, d, 0);
    sample(4500);
    alloc(5000, 0x50000, 300, DELTA);
    sample(5500);
    leak_at(1000, a, 0, RCC_DEFINITE, 3);
    leak_at(500, b, 0, RCC_DEFINITE, 2);
    leak_at(32, d, 0, RCC_DEFINITE, 1);
    leak(300, DELTA, RCC_DEFINITE, 1);
    put((rcc_event){.kind = RCC_PYOBJECTS, .status = RCC_PY_LIVE, .count = 600, .size = 33600,
                    .text = "Leaf"});
    put((rcc_event){.kind = RCC_PYOBJECTS, .status = RCC_PY_LIVE, .count = 30, .size = 1920,
                    .text = "dict"});
    put((rcc_event){.kind = RCC_PYOBJECTS, .status = RCC_PY_LIVE, .count = 12, .size = 576,
                    .text = "Cycle"});
    put((rcc_event){.kind = RCC_PYOBJECTS, .status = RCC_PY_GARBAGE, .count = 2, .size = 96,
                    .text = "Cycle"});
    put((rcc_event){.kind = RCC_PYOBJECTS, .status = RCC_PY_LIVE, .count = 400, .size = 22400,
                    .text = "Leaf"});
    end(6000, 0, 4332, 5000);
    finish(fd);
}

static void sites_json(const char *dir)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/sites.json", dir);
    FILE *f = fopen(path, "w");
    if (!f) {
        perror(path);
        exit(1);
    }
    fprintf(f, "{\"file\": \"%s\"", __FILE__);
    for (int i = 0; i < NSITES; i++)
        fprintf(f, ", \"%s\": %d", sites[i].name, sites[i].line);
    fprintf(f, ", \"%s\": %d", pymem.name, pymem.line);
    fprintf(f, "}\n");
    fclose(f);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: gen_captures DIR\n");
        return 2;
    }
    driver();
    basic(argv[1], "basic.cap", true, 0);
    basic(argv[1], "noscan.cap", false, 0);
    basic(argv[1], "crashed.cap", true, SIGSEGV);
    threads(argv[1]);
    types(argv[1]);
    run(argv[1], "old.cap", 3, false);
    run(argv[1], "new.cap", 5, true);
    python(argv[1]);
    sites_json(argv[1]);
    return 0;
}
