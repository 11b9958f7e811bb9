/*
 * leakscan.c — at the end of a capture: which live blocks are still
 * reachable, by memcheck's rules, written as L records.  May call: the
 * loader (dl_iterate_phdr, dlsym), /proc/self/maps (open/read, no stdio),
 * process_vm_readv, mmap, record.c's meta writer.
 */
#define _GNU_SOURCE
#include "rcgc.h" /* first: shim.h names the thread's flags with macros (busy, self) */

#include "shim.h"

#include <dlfcn.h>

/* ---- Leak scan ---------------------------------------------------------------------------
 * Conservative marking, as memcheck does (mc_leakcheck.c), run at the last
 * moment the process allows: process.c registers it to run after the
 * loader's destructors (_dl_fini), like memcheck's scan at exit_group.
 *
 * The blocks are the shadow's (in address order, leaf by leaf).
 *   Roots: every mapping the program can read and write
 *   (/proc/self/maps: data and bss of every module, thread stacks and
 *   their static TLS, anonymous mappings such as pymalloc's arenas or
 *   GCC's garbage-collected pages, shared memory), less what is not the
 *   program's data:
 *     - malloc's own memory: the brk heap, the heaps of glibc's thread
 *       arenas (a heap_info at each 64 MiB boundary), the mappings of
 *       mmap'd chunks (IS_MMAPPED in a live block's chunk header): live
 *       blocks are scanned when they are reached, freed ones never;
 *     - the shim's own: its module's segments, its thread states, the
 *       scan's tables;
 *     - dead stack: this thread's below the current frame (below main's
 *       caller once main has returned), and the stacks of threads that
 *       have ended, but for their TCB and static TLS at the top (memcheck
 *       sees a dead thread's memory below its last stack pointer as
 *       inaccessible);
 *     - devices other than /dev/zero (reading may block);
 *     - in a mapping of HUGE_ROOT or more, pieces with no page in memory.
 *   This thread's callee-saved registers are on its stack (setjmp in
 *   end_here, process.c).  Other live threads' stacks are read whole;
 *   their registers are not seen.
 * A pointer to a block's first byte is a start pointer; into its middle,
 * an interior one, which counts as a start pointer where memcheck's
 * heuristics do (a std::string's characters, a block whose first word is
 * its length).  Marking from the roots: a block reached by a start
 * pointer from a root or from a reachable block is reachable; one reached
 * otherwise (an interior pointer, or from a possibly lost block) is
 * possibly lost, until a start pointer upgrades it (it is then scanned
 * again).  Then each block still unmarked, in address order, leads a walk
 * that marks what it reaches "indirect" (memcheck's cliques); the leaders
 * left unmarked are definitely lost.  The result is a fixpoint: it does
 * not depend on the order of the work.
 * Everything, roots and blocks, is read through process_vm_readv (up to
 * IOV_BATCH blocks per call): other threads run on during exit and may
 * free and unmap a block meanwhile, which costs a failed read, not a
 * crash. */

#define IOV_BATCH 1024
#define ARENA_HEAP ((uintptr_t)64 << 20) /* glibc's HEAP_MAX_SIZE on 64-bit */
#define MMAPPED 2                         /* IS_MMAPPED in a chunk's size word */
#define MAPS_LINE 4096                    /* longest /proc/self/maps line read */
#define HUGE_ROOT ((uintptr_t)1 << 30)    /* in a root this large, pieces with no
                                             resident page are skipped */

enum { UNREACHED = 0, INDIRECT = 1, POSSIBLE = 2, REACHED = 3, STATE = 3, SCANNED = 4,
       QUEUED = 8 };

typedef struct scan {
    uintptr_t *addr;          /* block addresses, ascending */
    size_t *size;
    uint32_t *info;           /* their info ids */
    uint8_t *state;           /* UNREACHED..REACHED, plus SCANNED, QUEUED */
    uint32_t *work;           /* blocks to scan (each queued once at a time) */
    size_t n, nwork;
    uintptr_t lo, hi;         /* [lowest block, end of the highest) */
    uint8_t *buf;             /* SCAN_BUF bytes for remote reads */
    struct iovec *local, *remote; /* IOV_BATCH each */
    uint32_t which[IOV_BATCH];    /* the block of each iovec */
    pid_t pid;
    bool direct;              /* process_vm_readv is not allowed (seccomp): read
                                 directly, and hope no thread unmaps meanwhile */
} scan;

/* process_vm_readv on this process, or a plain copy when it is forbidden. */
static ssize_t read_own(const scan *s, struct iovec *local, struct iovec *remote, size_t n)
{
    if (!s->direct)
        return process_vm_readv(s->pid, local, (unsigned long)n, remote, (unsigned long)n, 0);
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        memcpy(local[i].iov_base, remote[i].iov_base, remote[i].iov_len);
        total += remote[i].iov_len;
    }
    return (ssize_t)total;
}

static void add_range(range *to, size_t *n, size_t cap, uintptr_t lo, uintptr_t hi)
{
    if (*n < cap && hi > lo)
        to[(*n)++] = (range){lo, hi};
}

static void add_root(roots *r, uintptr_t lo, uintptr_t hi)
{
    add_range(r->r, &r->n, MAX_ROOT_RANGES, lo, hi);
}

static void add_cut(roots *r, uintptr_t lo, uintptr_t hi)
{
    add_range(r->cut, &r->ncut, MAX_ROOT_RANGES, lo, hi);
}

static void *map_array(size_t n, size_t elem)
{
    return n ? pages_alloc(NULL, n * elem) : NULL;
}

static void unmap_array(void *p, size_t n, size_t elem)
{
    if (p)
        pages_free(NULL, p, n * elem);
}

static bool count_block(uintptr_t addr, uint32_t id, void *ctx)
{
    (void)addr, (void)id, (void)ctx;
    return true;
}

/* One block into the scan's tables (shadow_walk); false when they are
   full (another thread allocated since they were sized). */
static bool take_block(uintptr_t addr, uint32_t id, void *ctx)
{
    scan *s = ctx;
    if (s->nwork == s->n)
        return false;
    s->addr[s->nwork] = addr;
    s->size[s->nwork] = inf.tab[id - 1].size;
    s->info[s->nwork++] = id;
    return true;
}

/* The traced blocks in address order into s (s->n of them at most; the
   work list, empty until marking, counts them), or only counted (s NULL);
   returns how many. */
static size_t each_block(scan *s)
{
    if (!s)
        return shadow_walk(count_block, NULL);
    s->nwork = 0;
    shadow_walk(take_block, s);
    size_t n = s->nwork;
    s->nwork = 0;
    return n;
}

/* The block holding v, or -1. */
static ptrdiff_t find_block(const scan *s, uintptr_t v)
{
    if (v < s->lo || v >= s->hi)
        return -1;
    size_t a = 0, b = s->n; /* the last block with addr <= v */
    while (b - a > 1) {
        size_t m = a + (b - a) / 2;
        if (s->addr[m] <= v)
            a = m;
        else
            b = m;
    }
    size_t z = s->size[a] ? s->size[a] : 1;
    return v >= s->addr[a] && v - s->addr[a] < z ? (ptrdiff_t)a : -1;
}

/* When an interior pointer counts as a start pointer.  A managed object's
   block starts with its rc_head and the program holds the object past it;
   a Python object's block (the obj domain) may start with the cycle
   collector's PyGC_Head and, from 3.11, a managed dict's two words before
   that: the PyObject * points 16 or 32 bytes in.
   Then memcheck's heuristics (--leak-check-heuristics=all, its default):
   "stdstring" (a pointer to the characters of a std::string with the old
   ABI's header, length capacity refcount, the block just big enough) and
   "length64" (a pointer past a first word that holds the rest's size, as
   sqlite3's allocator does).  ("newarray" needs to know the block came from new[],
   "multipleinheritance" vtables: not done.) */
#define PY_GC_HEAD 16    /* sizeof(PyGC_Head), 3.8-3.13 */
#define PY_PRE_HEADER 16 /* a managed dict and its weakrefs' pointers (3.11+) */

static bool counts_as_start(const scan *s, size_t b, uintptr_t v)
{
    size_t off = v - s->addr[b], z = s->size[b];
    uint64_t w[3];
    if (off == sizeof(rc_head) && inf.tab[s->info[b] - 1].type)
        return true;
    if (python_obj_type && inf.tab[s->info[b] - 1].type == python_obj_type &&
        (off == PY_GC_HEAD || off == PY_GC_HEAD + PY_PRE_HEADER))
        return true;
    if ((off != 8 && off != 24) || z < off)
        return false;
    struct iovec local = {w, off}, remote = {(void *)s->addr[b], off};
    if (read_own(s, &local, &remote, 1) != (ssize_t)off)
        return false;
    if (off == 8)
        return w[0] == z - 8;
    return w[1] + 3 * sizeof(uint64_t) + 1 == z && w[0] <= w[1];
}

static void queue(scan *s, size_t b)
{
    if (!(s->state[b] & QUEUED)) {
        s->state[b] |= QUEUED;
        s->work[s->nwork++] = (uint32_t)b;
    }
}

/* Mark the blocks the words point to.  leader < 0: from the roots, `sure`
   when the words are a root's or a reachable block's; else a clique's walk
   from leader, which never marks itself. */
static void mark_words(scan *s, const uintptr_t *w, size_t n, bool sure, ptrdiff_t leader)
{
    for (size_t i = 0; i < n; i++) {
        ptrdiff_t b = find_block(s, w[i]);
        if (b < 0 || b == leader)
            continue;
        uint8_t st = s->state[b] & STATE;
        if (leader >= 0) {
            if (st == UNREACHED) {
                s->state[b] |= INDIRECT;
                if (!(s->state[b] & SCANNED))
                    queue(s, (size_t)b);
            }
            continue;
        }
        if (st == REACHED)
            continue;
        bool start = w[i] == s->addr[b] || counts_as_start(s, (size_t)b, w[i]);
        uint8_t to = start && sure ? REACHED : POSSIBLE;
        if (to > st) {
            s->state[b] = (uint8_t)((s->state[b] & ~STATE) | to);
            queue(s, (size_t)b); /* (again: what it reaches may be upgraded too) */
        }
    }
}

/* Read [lo, hi) of this process in SCAN_BUF pieces and mark from it; a page
   that is gone is skipped. */
static void mark_range(scan *s, uintptr_t lo, uintptr_t hi, bool sure, ptrdiff_t leader)
{
    lo = (lo + sizeof(uintptr_t) - 1) & ~(uintptr_t)(sizeof(uintptr_t) - 1);
    while (lo + sizeof(uintptr_t) <= hi) {
        size_t want = hi - lo < SCAN_BUF ? (size_t)(hi - lo) : SCAN_BUF;
        struct iovec local = {s->buf, want}, remote = {(void *)lo, want};
        ssize_t got = read_own(s, &local, &remote, 1);
        if (got <= 0) {
            lo = (lo + 4096) & ~(uintptr_t)4095;
            continue;
        }
        mark_words(s, (const uintptr_t *)s->buf, (size_t)got / sizeof(uintptr_t), sure, leader);
        lo += (uintptr_t)got;
    }
}

/* Scan the queued blocks, many per read; blocks larger than the buffer
   one piece at a time.  A block's words are sure when it is reachable
   (read at the time they are marked from: an upgrade queues it again). */
static void drain(scan *s, ptrdiff_t leader)
{
    while (s->nwork) {
        size_t k = 0, bytes = 0;
        while (s->nwork && k < IOV_BATCH) {
            uint32_t b = s->work[s->nwork - 1];
            size_t len = s->size[b] & ~(sizeof(uintptr_t) - 1);
            if (len > SCAN_BUF) {
                if (k)
                    break; /* read the batch first */
                s->nwork--;
                s->state[b] = (uint8_t)((s->state[b] & ~QUEUED) | SCANNED);
                mark_range(s, s->addr[b], s->addr[b] + len,
                           (s->state[b] & STATE) == REACHED, leader);
                continue;
            }
            if (bytes + len > SCAN_BUF)
                break;
            s->nwork--;
            s->state[b] = (uint8_t)((s->state[b] & ~QUEUED) | SCANNED);
            s->which[k] = b;
            s->local[k] = (struct iovec){s->buf + bytes, len};
            s->remote[k++] = (struct iovec){(void *)s->addr[b], len};
            bytes += len;
        }
        /* process_vm_readv stops at the first block it cannot read: go on
           after it */
        for (size_t i = 0; i < k;) {
            ssize_t got = read_own(s, s->local + i, s->remote + i, k - i);
            size_t done = got > 0 ? (size_t)got : 0, j = i;
            while (j < k && done >= s->local[j].iov_len)
                done -= s->local[j++].iov_len;
            for (size_t m = i; m < j; m++)
                mark_words(s, s->local[m].iov_base, s->local[m].iov_len / sizeof(uintptr_t),
                           (s->state[s->which[m]] & STATE) == REACHED, leader);
            i = j < k ? j + 1 : k; /* block j failed (or partly read): skipped */
        }
    }
}

/* ---- Roots --------------------------------------------------------------------------------- */

/* The shim's own segments are not roots. */
static int own_segments(struct dl_phdr_info *info, size_t size, void *ctx)
{
    (void)size;
    roots *r = ctx;
    uintptr_t me = (uintptr_t)own_segments;
    bool mine = false;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        uintptr_t lo = info->dlpi_addr + ph->p_vaddr;
        mine |= ph->p_type == PT_LOAD && me >= lo && me - lo < ph->p_memsz;
    }
    for (int i = 0; mine && i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        uintptr_t lo = info->dlpi_addr + ph->p_vaddr, page = (uintptr_t)g.page;
        if (ph->p_type == PT_LOAD)
            add_cut(r, lo & ~(page - 1), (lo + ph->p_memsz + page - 1) & ~(page - 1));
    }
    return 0;
}

static uintptr_t hex(const char **p)
{
    uintptr_t v = 0;
    for (;; (*p)++) {
        int c = **p, d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
        if (d < 0)
            return v;
        v = v << 4 | (uintptr_t)d;
    }
}

/* One line of /proc/self/maps: a root if readable and writable, but for
   the brk heap and devices. */
static void maps_line(roots *r, const char *p)
{
    uintptr_t lo = hex(&p);
    p++;
    uintptr_t hi = hex(&p);
    if (p[0] != ' ' || p[1] != 'r' || p[2] != 'w')
        return;
    for (int field = 0; field < 4 && *p; field++) { /* perms, offset, device, inode */
        while (*p == ' ')
            p++;
        while (*p && *p != ' ')
            p++;
    }
    while (*p == ' ')
        p++;
    if (strcmp(p, "[heap]") == 0 || (strncmp(p, "/dev/", 5) == 0 && strcmp(p, "/dev/zero") != 0))
        return;
    add_root(r, lo, hi);
}

/* Every readable and writable mapping, from /proc/self/maps (read with
   read(2): stdio would allocate). */
static void list_maps(roots *r)
{
    int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
    char *buf = map_array(2 * MAPS_LINE, 1);
    if (fd < 0 || !buf) {
        if (fd >= 0)
            close(fd);
        unmap_array(buf, 2 * MAPS_LINE, 1);
        return;
    }
    size_t have = 0;
    for (;;) {
        ssize_t got = read(fd, buf + have, 2 * MAPS_LINE - 1 - have);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            break;
        have += (size_t)got;
        char *line = buf, *nl;
        while ((nl = memchr(line, '\n', have - (size_t)(line - buf)))) {
            *nl = 0;
            maps_line(r, line);
            line = nl + 1;
        }
        have -= (size_t)(line - buf);
        memmove(buf, line, have);
        if (have >= MAPS_LINE) /* a line too long for us: drop it */
            have = 0;
    }
    close(fd);
    unmap_array(buf, 2 * MAPS_LINE, 1);
}

/* The bytes at the top of a thread's stack block that hold its TCB and
   static TLS (glibc's static TLS size, the TCB included). */
static uintptr_t thread_top_bytes(void)
{
    void (*info)(size_t *, size_t *) = NULL;
    void *f = dlsym(RTLD_DEFAULT, "_dl_get_tls_static_info"); /* glibc private */
    memcpy(&info, &f, sizeof info);                            /* (ISO C: no cast) */
    size_t size = 0, align = 0;
    if (info)
        info(&size, &align);
    return size ? size : 4096;
}

void list_roots(roots *r, bool exit_called, uintptr_t sp, tstate *me)
{
    list_maps(r);
    dl_iterate_phdr(own_segments, r);
    add_cut(r, (uintptr_t)r, (uintptr_t)(r + 1));
    /* the shim's largest tables hold no pointer to a block: the shadow
       (its directory alone is 64 MiB of address space, a third of the
       scan's instructions at a small program's exit) and the infos */
    if (sh.dir) {
        add_cut(r, (uintptr_t)sh.dir, (uintptr_t)(sh.dir + DIR_ENTRIES));
        unsigned leaves = atomic_load(&sh.nmade);
        for (unsigned i = 0; i < leaves && i < MAX_LEAVES; i++)
            add_cut(r, (uintptr_t)sh.dir[sh.made[i]],
                    (uintptr_t)(sh.dir[sh.made[i]] + LEAF_WORDS));
    }
    if (inf.tab)
        add_cut(r, (uintptr_t)inf.tab, (uintptr_t)(inf.tab + MAX_INFOS));
    range codes, triples; /* Python code objects' addresses, not references */
    python_tables(&codes, &triples);
    add_cut(r, codes.lo, codes.hi);
    add_cut(r, triples.lo, triples.hi);
#if defined(RCGC_TSAN) && defined(__x86_64__)
    /* make tsan: libtsan's own terabytes (shadow, meta, its heap, whose
       blocks are scanned as blocks) in gcc 12's x86-64 layout */
    add_cut(r, 0x010000000000, 0x550000000000);
    add_cut(r, 0x568000000000, 0x7e8000000000);
#endif
    uintptr_t lo, hi;
    rct_stack_bounds(&lo, &hi);
    if (!exit_called && g.main_frame > sp && g.main_frame < hi)
        sp = g.main_frame + 2 * sizeof(void *); /* main's frames are dead */
    if (lo) /* (sp UINTPTR_MAX: a crash on an unknown stack, not read) */
        add_cut(r, lo, sp < hi ? sp : hi);
    uintptr_t top = thread_top_bytes();
    for (tstate *t = g.threads; t; t = t->next) {
        add_cut(r, (uintptr_t)t, (uintptr_t)(t + 1));
        if (t->py) /* code objects' addresses, not references */
            add_cut(r, (uintptr_t)t->py, (uintptr_t)(t->py + PY_CODE_CACHE));
        if (t->altstack) /* a crash's scan runs there */
            add_cut(r, (uintptr_t)t->altstack, (uintptr_t)t->altstack + ALTSTACK_BYTES);
        if (t != me && !t->in_use && t->gen == g.gen && t->walker.stack_hi - t->walker.stack_lo > top)
            add_cut(r, t->walker.stack_lo, t->walker.stack_hi - top); /* ended: its TCB and TLS stay */
    }
}

/* Cut the heaps of glibc's thread arenas: each starts at a 64 MiB
   boundary with a heap_info (its arena, in the first heap just after the
   heap_info; the previous heap; its size). */
#ifdef RCGC_TSAN
static const bool glibc_heaps = false; /* make tsan: libtsan's allocator replaces glibc's */
#else
static const bool glibc_heaps = true;
#endif

static void cut_arena_heaps(scan *s, roots *r)
{
    for (size_t i = 0, n = r->n; i < n; i++) {
        uintptr_t lo = r->r[i].lo, hi = r->r[i].hi;
        for (uintptr_t a = (lo + ARENA_HEAP - 1) & ~(ARENA_HEAP - 1);
             a >= lo && a + 3 * sizeof(uintptr_t) <= hi; a += ARENA_HEAP) {
            uintptr_t h[3];
            struct iovec local = {h, sizeof h}, remote = {(void *)a, sizeof h};
            uintptr_t off;
            if (read_own(s, &local, &remote, 1) == (ssize_t)sizeof h && h[0] &&
                (off = h[0] & (ARENA_HEAP - 1)) >= 16 && off < 4096 &&
                h[2] >= (uintptr_t)g.page && h[2] <= ARENA_HEAP)
                add_cut(r, a, a + h[2]);
            if (a + ARENA_HEAP < a)
                break;
        }
    }
}

/* Cut the mappings of live blocks that malloc mmap'd by themselves (the
   chunk header's IS_MMAPPED; the chunk starts on a page, 16 bytes before
   the block). */
static void cut_mmapped(scan *s, roots *r)
{
    uintptr_t page = (uintptr_t)g.page;
    for (size_t b = 0; b < s->n; b++) {
        uintptr_t chunk = s->addr[b] - 2 * sizeof(size_t);
        size_t word;
        if (s->size[b] < page / 2 || (chunk & (page - 1)))
            continue;
        struct iovec local = {&word, sizeof word}, remote = {(void *)(chunk + sizeof(size_t)),
                                                            sizeof word};
        if (read_own(s, &local, &remote, 1) == (ssize_t)sizeof word && (word & MMAPPED) &&
            (word & ~(size_t)7) >= s->size[b])
            add_cut(r, chunk, chunk + (word & ~(size_t)7));
    }
}

/* Shell sort by start (qsort may allocate). */
static void sort_ranges(range *v, size_t n)
{
    for (size_t gap = n / 2; gap; gap /= 2)
        for (size_t i = gap; i < n; i++)
            for (size_t j = i; j >= gap && v[j - gap].lo > v[j].lo; j -= gap) {
                range t = v[j];
                v[j] = v[j - gap];
                v[j - gap] = t;
            }
}

/* The end of block b, at least one byte past its start. */
static uintptr_t block_end(const scan *s, size_t b)
{
    return s->addr[b] + (s->size[b] ? s->size[b] : 1);
}

/* Whether [lo, lo + len) has no page in memory (never touched: zeros; or
   swapped out, the price of not reading a reservation of terabytes). */
static bool untouched(uintptr_t lo, size_t len)
{
    uintptr_t page = (uintptr_t)g.page, start = lo & ~(page - 1);
    unsigned char vec[SCAN_BUF / 4096 + 2];
    size_t npages = (lo + len - start + page - 1) / page;
    if (npages > sizeof vec || mincore((void *)start, lo + len - start, vec) != 0)
        return false;
    for (size_t i = 0; i < npages; i++)
        if (vec[i] & 1)
            return false;
    return true;
}

/* Mark from the root [lo, hi) but for the traced blocks in it (librcgc's
   objects live in its mmap'd pools): a block's words count once it is
   reached, never as a root. */
static void mark_root_range(scan *s, uintptr_t lo, uintptr_t hi)
{
    bool huge = hi - lo >= HUGE_ROOT;
    size_t b = 0, z = s->n; /* the first block that ends after lo */
    while (b < z) {
        size_t m = b + (z - b) / 2;
        if (block_end(s, m) <= lo)
            b = m + 1;
        else
            z = m;
    }
    lo = (lo + sizeof(uintptr_t) - 1) & ~(uintptr_t)(sizeof(uintptr_t) - 1);
    while (lo + sizeof(uintptr_t) <= hi) {
        size_t want = hi - lo < SCAN_BUF ? (size_t)(hi - lo) : SCAN_BUF;
        if (huge && untouched(lo, want)) {
            lo += want;
            continue;
        }
        struct iovec local = {s->buf, want}, remote = {(void *)lo, want};
        ssize_t got = read_own(s, &local, &remote, 1);
        if (got <= 0) {
            lo = (lo + 4096) & ~(uintptr_t)4095;
            continue;
        }
        const uintptr_t *w = (const uintptr_t *)s->buf;
        size_t n = (size_t)got / sizeof(uintptr_t);
        for (size_t i = 0; i < n;) {
            uintptr_t a = lo + i * sizeof(uintptr_t);
            while (b < s->n && block_end(s, b) <= a)
                b++;
            if (b < s->n && s->addr[b] <= a) { /* inside block b: on past it */
                i = (block_end(s, b) - lo + sizeof(uintptr_t) - 1) / sizeof(uintptr_t);
                continue;
            }
            size_t stop = n;
            if (b < s->n && (s->addr[b] - lo) / sizeof(uintptr_t) < n)
                stop = (s->addr[b] - lo) / sizeof(uintptr_t);
            mark_words(s, w + i, stop - i, true, -1);
            i = stop;
        }
        lo += (uintptr_t)got;
        drain(s, -1);
    }
}

/* Mark from [lo, hi) less the cuts (sorted by their start). */
static void mark_root(scan *s, const roots *r, uintptr_t lo, uintptr_t hi)
{
    for (size_t i = 0; i < r->ncut && lo < hi; i++) {
        const range *c = &r->cut[i];
        if (c->hi <= lo || c->lo >= hi)
            continue;
        if (c->lo > lo)
            mark_root_range(s, lo, c->lo);
        if (c->hi > lo)
            lo = c->hi;
    }
    if (lo < hi)
        mark_root_range(s, lo, hi);
}

/* Mark, then write an L per block (with the lock held). */
void leak_scan(roots *r)
{
    scan s = {.pid = getpid()};
    size_t n = each_block(NULL) + 1024; /* room for a few more */
    s.addr = map_array(n, sizeof *s.addr);
    s.size = map_array(n, sizeof *s.size);
    s.info = map_array(n, sizeof *s.info);
    s.state = map_array(n, 1);
    s.work = map_array(n, sizeof *s.work);
    s.buf = map_array(SCAN_BUF, 1);
    s.local = map_array(IOV_BATCH, sizeof *s.local);
    s.remote = map_array(IOV_BATCH, sizeof *s.remote);
    s.n = n;
    if (s.buf) { /* can we read ourselves safely? */
        uintptr_t probe = 42, copy = 0;
        struct iovec l = {&copy, sizeof copy}, rm = {&probe, sizeof probe};
        s.direct = process_vm_readv(s.pid, &l, 1, &rm, 1, 0) != (ssize_t)sizeof copy;
    }
    if (s.addr && s.size && s.info && s.state && s.work && s.buf && s.local && s.remote &&
        (s.n = each_block(&s)) > 0) {
        s.lo = s.addr[0];
        s.hi = s.addr[s.n - 1] + (s.size[s.n - 1] ? s.size[s.n - 1] : 1);
        /* the scan's own tables hold every block's address */
        add_cut(r, (uintptr_t)s.addr, (uintptr_t)(s.addr + n));
        add_cut(r, (uintptr_t)s.size, (uintptr_t)(s.size + n));
        add_cut(r, (uintptr_t)s.info, (uintptr_t)(s.info + n));
        add_cut(r, (uintptr_t)s.state, (uintptr_t)(s.state + n));
        add_cut(r, (uintptr_t)s.work, (uintptr_t)(s.work + n));
        add_cut(r, (uintptr_t)s.buf, (uintptr_t)(s.buf + SCAN_BUF));
        add_cut(r, (uintptr_t)s.local, (uintptr_t)(s.local + IOV_BATCH));
        add_cut(r, (uintptr_t)s.remote, (uintptr_t)(s.remote + IOV_BATCH));
        if (glibc_heaps) {
            cut_arena_heaps(&s, r);
            cut_mmapped(&s, r);
        }
        sort_ranges(r->cut, r->ncut);
        for (size_t i = 0; i < r->n; i++)
            mark_root(&s, r, r->r[i].lo, r->r[i].hi);
        for (size_t i = 0; i < s.n; i++) { /* cliques of lost blocks */
            if (s.state[i] & STATE)
                continue;
            queue(&s, i);
            drain(&s, (ptrdiff_t)i);
        }
        for (size_t i = 0, run; i < s.n; i += run) { /* an L per run of equal blocks */
            int st = s.state[i] & STATE;
            for (run = 1; i + run < s.n && s.info[i + run] == s.info[i] &&
                          (s.state[i + run] & STATE) == st;
                 run++)
                ;
            static const uint8_t category[] = {RCC_DEFINITE, RCC_INDIRECT, RCC_POSSIBLE,
                                               RCC_REACHABLE};
            meta_write(&(rcc_event){.kind = RCC_LEAK, .id = s.info[i], .count = run,
                                    .status = category[st]});
        }
    }
    unmap_array(s.addr, n, sizeof *s.addr);
    unmap_array(s.size, n, sizeof *s.size);
    unmap_array(s.info, n, sizeof *s.info);
    unmap_array(s.state, n, 1);
    unmap_array(s.work, n, sizeof *s.work);
    unmap_array(s.buf, SCAN_BUF, 1);
    unmap_array(s.local, IOV_BATCH, sizeof *s.local);
    unmap_array(s.remote, IOV_BATCH, sizeof *s.remote);
}
