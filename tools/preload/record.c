/*
 * record.c — what goes into the capture file besides the threads' events:
 * the global lock, appends to the file, module records, stack nodes, managed
 * type names and allocation infos.  This is the cold side of the hot path:
 * a thread comes here when its caches miss.  May call: the capture writer,
 * the trace engine's stack table, the loader (dl_iterate_phdr, outside the
 * lock), mmap.
 */
#include "shim.h"

void lock(int *cancel)
{
    pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, cancel);
    pthread_mutex_lock(&g.lock);
}

void unlock(int cancel)
{
    pthread_mutex_unlock(&g.lock);
    pthread_setcancelstate(cancel, NULL);
}


/* ---- Pages for the tables: mmap, never the traced allocator ------------------------ */

void *pages_alloc(void *ctx, size_t bytes)
{
    (void)ctx;
    void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

void pages_free(void *ctx, void *p, size_t bytes)
{
    (void)ctx;
    munmap(p, bytes);
}

const rct_pages pages = {pages_alloc, pages_free, NULL};

/* ---- File appends ------------------------------------------------------------------- */

/* With the lock held: append, if the fd is still our file (a program may
   close every fd and open something else under the same number).  After a
   failure (the program's fd gone; ENOSPC, EFBIG) nothing more is written,
   the end record included: a reader and rcgc run see a capture without a
   clean end, cut at the last whole chunk. */
static int append(const void *chunk, size_t len)
{
    struct stat st;
    if (g.fd < 0)
        return -1;
    if (fstat(g.fd, &st) != 0 || st.st_dev != g.dev || st.st_ino != g.ino) {
        g.fd = -1;
        atomic_store(&g.mode, OFF); /* the capture ends here, unfinished */
        return -1;
    }
    if (rcc_write_all(g.fd, chunk, len) == 0)
        return 0;
    static const char msg[] = "rcgc preload: writing the capture failed; it ends here, "
                               "without an end record: ";
    const char *why = strerror(errno);
    struct iovec v[3] = {{(void *)msg, sizeof msg - 1}, {(void *)why, strlen(why)},
                         {(void *)"\n", 1}};
    ssize_t rc = writev(2, v, 3);
    (void)rc;
    close(g.fd);
    g.fd = -1;
    atomic_store(&g.mode, OFF);
    return -1;
}

/* The meta writer's sink: called with the lock held. */
int meta_sink(void *ctx, const void *chunk, size_t len)
{
    (void)ctx;
    return append(chunk, len);
}

/* A thread's sink: the nodes and modules its records may use go first. */
int thread_sink(void *ctx, const void *chunk, size_t len)
{
    (void)ctx;
    int cancel, rc;
    lock(&cancel);
    rc = rcc_writer_flush(g.meta);
    if (rc == 0)
        rc = append(chunk, len);
    unlock(cancel);
    return rc;
}

/* With the lock held.  When the chunk may fill, compressing it may
   allocate (zstd): quiet_begin. */
void meta_write(const rcc_event *e)
{
    quiet q = quiet_begin(rcc_writer_pending(g.meta) + RCC_MAX_STRING + 512 >= META_CHUNK);
    rcc_write(g.meta, e);
    quiet_end(q);
}

/* ---- Modules ------------------------------------------------------------------------
 * A module record gives the address range of the module's PT_LOAD segments:
 * base = load bias + lowest p_vaddr, size = span to the end of the last. */

static int module_cb(struct dl_phdr_info *info, size_t size, void *ctx)
{
    (void)size;
    module_scan *s = ctx;
    s->adds = info->dlpi_adds;
    s->subs = info->dlpi_subs;
    if (s->probe)
        return 1;
    if (s->n == s->cap)
        return 1;
    uintptr_t lo = UINTPTR_MAX, hi = 0;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD)
            continue;
        if (ph->p_vaddr < lo)
            lo = ph->p_vaddr;
        if (ph->p_vaddr + ph->p_memsz > hi)
            hi = ph->p_vaddr + ph->p_memsz;
    }
    if (hi <= lo)
        return 0;
    found_module *m = &s->list[s->n++];
    m->base = info->dlpi_addr + lo;
    m->size = hi - lo;
    const char *name = info->dlpi_name && *info->dlpi_name ? info->dlpi_name : g.exe;
    char abs[PATH_MAX];
    if (name[0] != '/') { /* dlopen("./plugin.so"): readable from any directory */
        busy++; /* realpath may allocate */
        if (realpath(name, abs))
            name = abs;
        busy--;
    }
    strncpy(m->path, name, RCC_MAX_STRING);
    m->path[RCC_MAX_STRING] = 0;
    return 0;
}

/* Ask the loader (without our lock) whether modules came or went since the
   last scan; if so, list them all into s->list (munmap'd by module_done). */
void module_check(module_scan *s)
{
    *s = (module_scan){.probe = true};
    dl_iterate_phdr(module_cb, s);
    if (s->adds == __atomic_load_n(&g.adds, __ATOMIC_RELAXED) &&
        s->subs == __atomic_load_n(&g.subs, __ATOMIC_RELAXED))
        return;
    s->probe = false;
    s->cap = SCAN_MODULES;
    s->list = pages_alloc(NULL, s->cap * sizeof *s->list);
    if (!s->list)
        s->cap = 0;
    dl_iterate_phdr(module_cb, s);
}

void module_done(module_scan *s)
{
    if (s->list)
        pages_free(NULL, s->list, s->cap * sizeof *s->list);
}

/* With the lock held: the module written last that overlaps [base,
   base + size), or NULL. */
static const module *module_over(uintptr_t base, uintptr_t size)
{
    for (size_t j = g.nmods; j-- > 0;)
        if (g.mods[j].base < base + size && base < g.mods[j].base + g.mods[j].size)
            return &g.mods[j];
    return NULL;
}

/* With the lock held: write the modules not written yet, and those mapped
   again where another was since (a reader resolves a node's frame against
   the M records before it: docs/CAPTURE.md). */
void module_emit(const module_scan *s)
{
    if (!s->list)
        return;
    for (size_t i = 0; i < s->n; i++) {
        const found_module *m = &s->list[i];
        uint64_t h = UINT64_C(0xCBF29CE484222325); /* FNV-1a */
        for (const char *c = m->path; *c; c++)
            h = (h ^ (uint8_t)*c) * UINT64_C(0x100000001B3);
        h &= ~(UINT64_C(1) << 63); /* the field's 63 bits */
        const module *last = module_over(m->base, m->size);
        if ((last && last->base == m->base && last->size == m->size &&
             last->path_hash == h) ||
            g.nmods == MAX_MODULES)
            continue; /* written, and still the one mapped there */
        module *w = &g.mods[g.nmods++];
        *w = (module){.base = m->base, .size = m->size, .replaces = last != NULL};
        w->path_hash = h & ~(UINT64_C(1) << 63); /* (as above: for -Wconversion) */
        g.nreplacing += last != NULL;
        meta_write(&(rcc_event){.kind = RCC_MODULE, .ip = m->base, .size = m->size,
                                .text = m->path});
    }
    __atomic_store_n(&g.adds, s->adds, __ATOMIC_RELAXED);
    __atomic_store_n(&g.subs, s->subs, __ATOMIC_RELAXED);
}

/* ---- Stack nodes ------------------------------------------------------------------------
 * A node is the pair (parent node, return address), interned in an
 * rct_stacks table as a two-frame "stack": node = its id + 1.  known.c
 * maps the hash of a whole stack to its innermost node; two stacks with
 * the same 64-bit hash would share a node.
 *
 * A library dlclose'd and another dlopen'ed at its addresses: the same
 * return address means another function.  A frame inside a module that
 * replaced another (module.replaces) is interned with that module's index
 * as a third word of its key, so its nodes are new ones, written after the
 * module's M record; the reader gives such a module's frames their own
 * addresses (docs/CAPTURE.md).  dlclose changes the seed of the frames'
 * hashes (frame_seed), so no cache answers with the old library's stack. */

/* With the lock held: the key word of a frame's module (above), 0 for a
   module that replaced none. */
static uintptr_t frame_module(uintptr_t ip)
{
    if (!g.nreplacing)
        return 0;
    for (size_t j = g.nmods; j-- > 0;)
        if (ip - g.mods[j].base < g.mods[j].size)
            return g.mods[j].replaces ? j + 1 : 0;
    return 0;
}

/* With the lock held: intern each prefix, outermost frame first.  The
   shim's own frames (its main wrapper, below every frame of main) are left
   out. */
static uint32_t intern_stack(void *const *frames, size_t n)
{
    uint32_t parent = 0;
    for (size_t i = n; i-- > 0;) {
        if ((uintptr_t)frames[i] - g.self_lo < g.self_size)
            continue;
        uintptr_t mod = frame_module((uintptr_t)frames[i]);
        void *key[3] = {(void *)(uintptr_t)parent, frames[i], (void *)mod};
        size_t before = rct_stacks_count(g.nodes);
        if (before >= RCC_MAX_NODES)
            break; /* full (readers refuse more): the stack keeps its outer frames */
        uint32_t id = rct_stacks_intern(g.nodes, key, mod ? 3 : 2);
        if (id == RCT_NO_STACK)
            break; /* out of memory: the same */
        if (rct_stacks_count(g.nodes) != before)
            meta_write(&(rcc_event){.kind = RCC_STACK, .stack = parent,
                                    .ip = (uint64_t)(uintptr_t)frames[i]});
        parent = id + 1;
    }
    return parent;
}

/* The innermost node of a stack (h: the hash of its frames): known
   already (any thread made it), else interned now. */
uint32_t stack_node(void *const *frames, size_t n, uint64_t h)
{
    if (!n)
        return 0;
    uint32_t node = known_find(&known_nodes, h, 0, 0);
    if (node)
        return node;
    module_scan ms;
    module_check(&ms);
    int cancel;
    lock(&cancel);
    module_emit(&ms);
    node = intern_stack(frames, n);
    if (node)
        known_add(&known_nodes, h, 0, 0, node);
    unlock(cancel);
    module_done(&ms);
    return node;
}

/* ---- Managed type names --------------------------------------------------------------
 * librcgc's objects (rcgc_preload_object) carry their type's name.  Each
 * distinct name gets an id and a T record, written to the meta writer
 * before any A that uses it (a thread's chunk goes out after the meta
 * writer is flushed).  A thread looks the name's pointer up in its own
 * cache; on a miss, the global table (under the lock) compares strings, so
 * two pointers to equal names share an id. */

/* With the lock held: the id of name, made (and its T written) if new. */
uint32_t type_intern(const char *name)
{
    size_t len = strnlen(name, RCC_MAX_STRING);
    uint64_t h = UINT64_C(0xCBF29CE484222325); /* FNV-1a */
    for (size_t i = 0; i < len; i++)
        h = (h ^ (uint8_t)name[i]) * UINT64_C(0x100000001B3);
    for (uint32_t i = 0; i < g.ntypes; i++)
        if (g.types[i].hash == h && g.types[i].len == len &&
            memcmp(g.type_names + g.types[i].off, name, len) == 0)
            return i + 1;
    static const char other[] = "(other types)";
    if (!g.types || !g.type_names || g.ntypes >= MAX_TYPES - 1 ||
        g.type_bytes + len + 1 > TYPE_NAME_BYTES - sizeof other) {
        if (g.other_type || !g.types || !g.type_names)
            return g.other_type; /* 0 (raw) only if the tables were never made */
        name = other;
        len = sizeof other - 1;
        h = 0;
    }
    type_entry *t = &g.types[g.ntypes];
    *t = (type_entry){h, (uint32_t)g.type_bytes, (uint32_t)len};
    memcpy(g.type_names + g.type_bytes, name, len);
    g.type_names[g.type_bytes + len] = 0;
    g.type_bytes += len + 1;
    uint32_t id = ++g.ntypes;
    if (name == other)
        g.other_type = id;
    meta_write(&(rcc_event){.kind = RCC_TYPE, .id = id, .text = g.type_names + t->off});
    return id;
}

/* ---- Allocation infos -----------------------------------------------------------------
 * An allocation is written as its info: (size, stack node, type id), each
 * distinct one given an id and an I record the first time, as stack nodes
 * are.  Frees name the info too, found in the shadow, so the file needs no
 * addresses.  The table is reserved once for MAX_INFOS entries (pages
 * touched as used) and entries never move, so a free reads its entry
 * without the lock: an entry is written before its id is handed out, and
 * the program's own hand-over of the block orders that write before the
 * free.  A thread caches (frames' hash, size, type) -> id (info_id); on a
 * miss known.c's table of the same keys, then the index (a hash table of
 * (size, node, type) under the lock, grown by doubling) finds or makes it. */

info_table inf;

uint64_t info_hash(uint64_t size, uint32_t node, uint32_t type)
{
    uint64_t h = (size ^ (uint64_t)node << 32 ^ type) * UINT64_C(0x9E3779B97F4A7C15);
    return h ^ (h >> 29) ^ ((uint64_t)node * UINT64_C(0xFF51AFD7ED558CCD));
}

/* A fresh, empty index, and no stack or info known (a capture's start; a
   fork child's).  false: no memory. */
bool info_reset(void)
{
    known_reset(&known_nodes);
    known_reset(&known_infos);
    if (!inf.tab)
        inf.tab = mmap(NULL, MAX_INFOS * sizeof *inf.tab, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (inf.tab == MAP_FAILED)
        inf.tab = NULL;
    inf.n = 0;
    inf.cap = 4096;
    inf.index = pages_alloc(NULL, inf.cap * sizeof *inf.index); /* a fork child drops the
                                                                  parent's, unfreed */
    return inf.tab && inf.index;
}

static uint32_t *info_probe(uint32_t *index, size_t cap, uint64_t h, uint64_t size,
                            uint32_t node, uint32_t type)
{
    for (size_t i = h & (cap - 1);; i = (i + 1) & (cap - 1)) {
        const alloc_info *e = index[i] ? &inf.tab[index[i] - 1] : NULL;
        if (!e || (e->size == size && e->node == node && e->type == type))
            return &index[i];
    }
}

static bool info_grow(void)
{
    size_t cap = inf.cap * 2;
    uint32_t *index = pages_alloc(NULL, cap * sizeof *index);
    if (!index)
        return false;
    for (size_t i = 0; i < inf.cap; i++)
        if (inf.index[i]) {
            const alloc_info *e = &inf.tab[inf.index[i] - 1];
            *info_probe(index, cap, info_hash(e->size, e->node, e->type), e->size, e->node,
                        e->type) = inf.index[i];
        }
    pages_free(NULL, inf.index, inf.cap * sizeof *inf.index);
    inf.index = index;
    inf.cap = cap;
    return true;
}

/* With the lock held: the id of (size, node, type), made (and its I
   written) if new; 0 when the table is full or out of memory. */
uint32_t info_intern(uint64_t h, uint64_t size, uint64_t weight, uint32_t node,
                            uint32_t type)
{
    if (!inf.tab || !inf.index)
        return 0;
    uint32_t *slot = info_probe(inf.index, inf.cap, h, size, node, type);
    if (*slot)
        return *slot;
    if (inf.n >= MAX_INFOS || (2 * (inf.n + 1) > inf.cap && !info_grow()))
        return 0;
    slot = info_probe(inf.index, inf.cap, h, size, node, type); /* the index may have moved */
    inf.tab[inf.n] = (alloc_info){size, weight, node, type};
    *slot = ++inf.n;
    meta_write(&(rcc_event){.kind = RCC_INFO, .size = weight, .stack = node, .type = type});
    return inf.n;
}
