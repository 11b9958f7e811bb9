/*
 * leakscan.c — at the end of a capture: which live blocks are still
 * reachable, by memcheck's rules, written as L records.  May call: the
 * loader (dl_iterate_phdr), process_vm_readv, mmap, record.c's meta writer.
 */
#include "shim.h"

/* ---- Leak scan ---------------------------------------------------------------------------
 * Conservative marking, as memcheck and LeakSanitizer do.  The blocks are
 * the shadow's (in address order, leaf by leaf); a word anywhere in the
 * roots or in a marked block that points into a block (interior pointers
 * included) marks it.
 *   Roots: the writable PT_LOAD segments of every module but the shim
 *   (data, bss); the calling thread's static TLS blocks; its stack from the
 *   current frame up, or when main has returned from main's caller up (the
 *   frames below are dead), and its callee-saved registers (setjmp, on that
 *   stack) when exit was called explicitly; the whole stacks of the other
 *   threads the shim knows (those that allocated), whose registers it
 *   cannot see.
 *   Not roots: anonymous mappings the program made itself, other threads'
 *   registers, the main thread's TLS when another thread calls exit.
 * Everything, roots and blocks, is read through process_vm_readv (up to
 * IOV_BATCH blocks per call): other threads run on during exit and may
 * free and unmap a block meanwhile, which costs a failed read, not a crash.
 * Reachable: marked from the roots.  Then each block not marked leads a
 * walk that marks what it reaches "indirect" (memcheck's cliques); the
 * leaders left unmarked are "definitely lost". */

#define IOV_BATCH 1024

enum { UNREACHED = 0, INDIRECT = 1, REACHED = 2, SCANNED = 4 };

typedef struct scan {
    uintptr_t *addr;          /* block addresses, ascending */
    size_t *size;
    uint32_t *info;           /* their info ids */
    uint8_t *state;
    uint32_t *work;           /* blocks to scan */
    size_t n, nwork;
    uintptr_t lo, hi;         /* [lowest block, end of the highest) */
    uint8_t *buf;             /* SCAN_BUF bytes for remote reads */
    struct iovec *local, *remote; /* IOV_BATCH each */
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

static void add_root(roots *r, uintptr_t lo, uintptr_t hi)
{
    if (r->n < MAX_MODULES && hi > lo)
        r->r[r->n++] = (range){lo, hi};
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

/* Visit the traced blocks in address order; returns how many. */
static size_t each_block(scan *s)
{
    unsigned n = atomic_load(&sh.nmade);
    if (n > MAX_LEAVES)
        n = MAX_LEAVES;
    /* the leaves in address order: insertion sort, there are few */
    for (unsigned i = 1; i < n; i++)
        for (unsigned j = i; j && sh.made[j - 1] > sh.made[j]; j--) {
            uint32_t t = sh.made[j];
            sh.made[j] = sh.made[j - 1];
            sh.made[j - 1] = t;
        }
    size_t count = 0, page_words = (size_t)g.page / sizeof(uint32_t);
    unsigned char touched[LEAF_WORDS * sizeof(uint32_t) / 4096];
    for (unsigned i = 0; i < n; i++) {
        const uint32_t *leaf = sh.dir[sh.made[i]];
        /* pages of the leaf never written are not resident: skip them */
        size_t step = page_words; /* words per entry of touched */
        if (step * sizeof touched < LEAF_WORDS ||
            mincore((void *)leaf, LEAF_WORDS * sizeof *leaf, touched) != 0) {
            step = LEAF_WORDS / sizeof touched;
            memset(touched, 1, sizeof touched);
        }
        for (size_t pg = 0; pg < LEAF_WORDS / step; pg++) {
            if (!(touched[pg] & 1))
                continue;
            /* most words are 0: test them 16 at a time, without a branch each */
            for (size_t w = pg * step; w < (pg + 1) * step; w += 16) {
                uint32_t any = 0;
                for (size_t k = 0; k < 16; k++)
                    any |= __atomic_load_n(&leaf[w + k], __ATOMIC_RELAXED);
                for (size_t k = 0; any && k < 16; k++) {
                    uint32_t v = __atomic_load_n(&leaf[w + k], __ATOMIC_RELAXED);
                    if (!v)
                        continue;
                    if (s) {
                        if (count == s->n)
                            return count; /* more than counted: another thread allocated */
                        s->addr[count] = (uintptr_t)sh.made[i] << LEAF_SHIFT |
                                         (w + k) << GRANULE_SHIFT;
                        s->size[count] = inf.tab[v - 1].size;
                        s->info[count] = v;
                    }
                    count++;
                }
            }
        }
    }
    return count;
}

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

/* Mark the blocks the words point to as `to`, queueing them to be scanned;
   the leader of a clique never marks itself. */
static void mark_words(scan *s, const uintptr_t *w, size_t n, uint8_t to, ptrdiff_t leader)
{
    for (size_t i = 0; i < n; i++) {
        ptrdiff_t b = find_block(s, w[i]);
        if (b < 0 || b == leader || (s->state[b] & 3) >= to)
            continue;
        bool scanned = s->state[b] & SCANNED;
        s->state[b] = (uint8_t)(to | (scanned ? SCANNED : 0));
        if (!scanned)
            s->work[s->nwork++] = (uint32_t)b;
    }
}

/* Read [lo, hi) of this process in SCAN_BUF pieces and mark from it; a page
   that is gone is skipped. */
static void mark_range(scan *s, uintptr_t lo, uintptr_t hi, uint8_t to, ptrdiff_t leader)
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
        mark_words(s, (const uintptr_t *)s->buf, (size_t)got / sizeof(uintptr_t), to, leader);
        lo += (uintptr_t)got;
    }
}

/* Scan the queued blocks, many per read; blocks larger than the buffer
   one piece at a time. */
static void drain(scan *s, uint8_t to, ptrdiff_t leader)
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
                s->state[b] |= SCANNED;
                mark_range(s, s->addr[b], s->addr[b] + len, to, leader);
                continue;
            }
            if (bytes + len > SCAN_BUF)
                break;
            s->nwork--;
            s->state[b] |= SCANNED;
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
            const uintptr_t *from = s->local[i].iov_base;
            size_t words = (size_t)((const uint8_t *)(j < k ? s->local[j].iov_base
                                                            : s->buf + bytes) -
                                    (const uint8_t *)from) / sizeof(uintptr_t);
            mark_words(s, from, words, to, leader);
            i = j < k ? j + 1 : k; /* block j failed (or partly read): skipped */
        }
    }
}

static int roots_cb(struct dl_phdr_info *info, size_t size, void *ctx)
{
    (void)size;
    roots *r = ctx;
    uintptr_t me = (uintptr_t)roots_cb;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        uintptr_t lo = info->dlpi_addr + ph->p_vaddr;
        if (ph->p_type == PT_LOAD && me >= lo && me - lo < ph->p_memsz)
            return 0; /* the shim's own data are not roots */
    }
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        uintptr_t lo = info->dlpi_addr + ph->p_vaddr;
        if (ph->p_type == PT_LOAD && (ph->p_flags & PF_W))
            add_root(r, lo, lo + ph->p_memsz);
        else if (ph->p_type == PT_TLS && info->dlpi_tls_data)
            add_root(r, (uintptr_t)info->dlpi_tls_data,
                     (uintptr_t)info->dlpi_tls_data + ph->p_memsz);
    }
    return 0;
}

void list_roots(roots *r, bool exit_called, uintptr_t sp, tstate *me)
{
    dl_iterate_phdr(roots_cb, r);
    uintptr_t lo, hi;
    rct_stack_bounds(&lo, &hi);
    if (!exit_called && g.main_frame > sp && g.main_frame < hi)
        sp = g.main_frame + 2 * sizeof(void *); /* main's frames are dead */
    add_root(r, sp, hi);
    for (tstate *t = g.threads; t; t = t->next)
        if (t != me && t->in_use && t->gen == g.gen && t->stack_hi)
            add_root(r, t->stack_lo, t->stack_hi);
}

/* Mark, then write an L per block (with the lock held). */
void leak_scan(const roots *r)
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
        for (size_t i = 0; i < r->n; i++) {
            mark_range(&s, r->r[i].lo, r->r[i].hi, REACHED, -1);
            drain(&s, REACHED, -1);
        }
        for (size_t i = 0; i < s.n; i++) { /* cliques of lost blocks */
            if (s.state[i])
                continue;
            s.work[s.nwork++] = (uint32_t)i;
            drain(&s, INDIRECT, (ptrdiff_t)i);
        }
        for (size_t i = 0, run; i < s.n; i += run) { /* an L per run of equal blocks */
            int st = s.state[i] & 3;
            for (run = 1; i + run < s.n && s.info[i + run] == s.info[i] &&
                          (s.state[i + run] & 3) == st;
                 run++)
                ;
            meta_write(&(rcc_event){.kind = RCC_LEAK, .id = s.info[i], .count = run,
                                    .status = st == REACHED    ? RCC_REACHABLE
                                              : st == INDIRECT ? RCC_INDIRECT
                                                               : RCC_DEFINITE});
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
