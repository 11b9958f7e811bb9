/*
 * symbols.c — the symbolizer: return addresses of the running process to
 * function, source file, line and module, and the "is this frame rcgc
 * itself?" test that finds the innermost frame outside the library.
 *
 * May call: elfutils libdwfl (ELF symbol tables and DWARF line tables of the
 * mapped modules), the dynamic loader (dladdr, dladdr1, dl_iterate_phdr) and
 * malloc.  Nothing else in rcgc: symbolization runs outside allocation paths,
 * never inside the allocator being traced.
 *
 * Resolving an address.  A captured frame is a return address, the
 * instruction after the call; the call itself is at addr - 1, and that is
 * what gets looked up (addr itself may already belong to the next line or,
 * after a call to a noreturn function, to the next function).
 *   1. libdwfl, for the process as /proc/PID/maps shows it: the module
 *      containing the address, the symbol containing it (.symtab, else
 *      .dynsym), and the DWARF line record (file, line).  Debug info is also
 *      found in separate files (build-id or .gnu_debuglink under
 *      /usr/lib/debug).  With DEBUGINFOD_URLS set in the environment, libdw
 *      may download missing debug info from those servers: slow the first
 *      time, cached afterwards; unset it to stay offline.  Built without
 *      libdw (RCGC_HAVE_LIBDW undefined), this step is skipped.
 *   2. dladdr, for whatever step 1 left unknown (libdw failed, or the module
 *      has no symbol for the address): the module path and the exported
 *      (dynamic) symbol containing the address.  No file, no line.
 * What a stripped binary yields (no .symtab, no DWARF, no separate debug
 * file): module = its path; function = the exported symbol containing the
 * address — in a shared library its public functions, in an executable only
 * what -rdynamic exported, so usually NULL there; file = NULL; line = 0.  The
 * lookup still returns 0 since the module is known.  Only an address in no
 * mapped module at all returns -1.  (strip -g alone keeps .symtab: every
 * function is named, file and line are lost.)  A stripped static build of
 * rcgc also loses rule (b) below: its own frames count as the caller's.
 * Without libdw, the module of the executable is dladdr's name for it,
 * argv[0] as typed.
 *
 * Offline (rct_symbols_new_modules): the process has exited, and what it had
 * loaded is known from a capture's module records (path, and where its
 * lowest segment was mapped: the load bias is that minus the segment's
 * p_vaddr, read from the file).  Each module is reported to libdwfl at its
 * bias (dwfl_report_elf,
 * the file read from disk now, so it must not have changed since); step 2
 * is then the module's own ELF symbol table (.symtab, else .dynsym) read
 * here, never dladdr, which would answer for this process.  The same
 * symbol table serves a build without libdw.  Nothing is re-reported on a
 * miss: the module list is final.  The paths come from a file, which may
 * name anything: only regular files are opened, without blocking
 * (open_regular), and libdw is handed the descriptor, never the path.
 *
 * Libraries loaded after the symbolizer was made.  On a miss (no module
 * contains the address), the maps are reported again, once, and the lookup
 * retried — but only when the loader's count of loaded objects (dlpi_adds)
 * moved since the last report, so a stray address does not reread /proc.
 * Re-reporting adds modules and never drops one, so a failed report loses
 * nothing already found.  Code unmapped by dlclose keeps its old answer
 * (cached per address; a stack captured before the dlclose pointed there).
 *
 * In library (rct_symbols_in_library), decided once per address:
 *   (a) rcgc is a shared object (this file's code is not in the main
 *       executable): in library iff the address lies in that same object
 *       (dladdr's dli_fbase).  Names and files play no part.
 *   (b) rcgc is linked into the executable (static build): in library iff
 *       the function's name starts with "rc_", "rci_" or "rct_", or its
 *       source file path starts with RCGC_SOURCE_DIR (the library's src/
 *       directory, a compile definition; when empty, only names count).  A
 *       caller's own function named rc_* counts as rcgc: the price of
 *       having no module boundary to go by.
 *   Unknown addresses (and out of memory) are not in the library.
 *
 * Defined names (rct_symbols_define): an address that is no code of a
 * module, a capture's Python frame, gets its answer given, not looked up:
 * the cache entry is filled and marked resolved and outside the library.
 *
 * Memory.  One open-addressing table of cache entries keyed by return
 * address, and one of interned strings keyed by their text; the strings
 * themselves are packed into malloc'd chunks freed with the symbolizer.  So
 * every string handed out lives as long as the symbolizer, equal strings
 * are one pointer, and libdw's own buffers (freed with its modules) are
 * never handed out.
 *
 * Threads: a symbolizer (and its reference count) is used by one thread at
 * a time, like the heap that owns it; libdwfl sessions are not thread-safe
 * either.  Different symbolizers may run in parallel.
 */
#define _GNU_SOURCE /* dladdr, dladdr1, dl_iterate_phdr */
#include "trace.h"

#include <dlfcn.h>
#include <elf.h>
#include <fcntl.h>
#include <limits.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#ifdef RCGC_HAVE_LIBDW
#include <elfutils/libdwfl.h>
#endif

#ifndef RCGC_SOURCE_DIR
#define RCGC_SOURCE_DIR "" /* unknown: the static-build rule goes by names */
#endif

/* ---- tables: open addressing, linear probing ----------------------------
 * Every slot starts with its key, a uintptr_t; 0 marks an empty slot (no
 * return address and no string is at address 0).  Capacity is a power of
 * two, at most 3/4 full, so probes are short and always end. */

enum { TABLE_MIN_CAP = 64 };

typedef struct table {
    unsigned char *slots;                    /* cap slots of size bytes */
    size_t cap, count, size;                 /* capacity, used, slot size */
    size_t (*hash)(uintptr_t key);           /* of a key, stored or probed */
    bool (*same)(uintptr_t stored, uintptr_t key);
} table;

static uintptr_t *slot_key(const table *t, size_t i)
{
    return (uintptr_t *)(void *)(t->slots + i * t->size);
}

/* The slot holding key, or the empty slot where it would go. */
static uintptr_t *table_probe(const table *t, uintptr_t key)
{
    size_t mask = t->cap - 1;
    for (size_t i = t->hash(key) & mask;; i = (i + 1) & mask) {
        uintptr_t *k = slot_key(t, i);
        if (*k == 0 || t->same(*k, key))
            return k;
    }
}

/* The slot holding key, or NULL. */
static void *table_find(const table *t, uintptr_t key)
{
    if (t->cap == 0)
        return NULL;
    uintptr_t *k = table_probe(t, key);
    return *k ? k : NULL;
}

/* Double the capacity; -1 when out of memory (the table is unchanged). */
static int table_grow(table *t)
{
    table bigger = *t;
    bigger.cap = t->cap ? 2 * t->cap : TABLE_MIN_CAP;
    bigger.slots = calloc(bigger.cap, t->size); /* calloc checks cap * size */
    if (bigger.slots == NULL)
        return -1;
    for (size_t i = 0; i < t->cap; i++) {
        uintptr_t *k = slot_key(t, i);
        if (*k)
            memcpy(table_probe(&bigger, *k), k, t->size);
    }
    free(t->slots);
    *t = bigger;
    return 0;
}

/* A new zeroed slot for key, which must not be in the table yet; NULL when
   out of memory.  The caller may store a different key with the same hash
   and sameness (an interned copy of a probed string). */
static void *table_claim(table *t, uintptr_t key)
{
    if (4 * (t->count + 1) > 3 * t->cap && table_grow(t) < 0)
        return NULL;
    uintptr_t *k = table_probe(t, key);
    *k = key;
    t->count++;
    return k;
}

/* Stafford's variant 13 of the MurmurHash3 finalizer: every key bit moves
   every low bit, which is what the mask keeps. */
static size_t mix(uint64_t x)
{
    x = (x ^ (x >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    x = (x ^ (x >> 27)) * UINT64_C(0x94D049BB133111EB);
    return (size_t)(x ^ (x >> 31));
}

static size_t hash_addr(uintptr_t addr) { return mix(addr); }
static bool same_addr(uintptr_t a, uintptr_t b) { return a == b; }

static size_t hash_text(uintptr_t text)
{
    uint64_t h = UINT64_C(0xCBF29CE484222325); /* FNV-1a, then mixed */
    for (const unsigned char *p = (const unsigned char *)text; *p; p++)
        h = (h ^ *p) * UINT64_C(0x100000001B3);
    return mix(h);
}

static bool same_text(uintptr_t a, uintptr_t b)
{
    return strcmp((const char *)a, (const char *)b) == 0;
}

/* ---- the symbolizer ------------------------------------------------------ */

enum {
    SYM_RESOLVED = 1, /* sym is the answer (possibly all NULL) */
    LIB_DECIDED = 2,  /* LIB_INSIDE is the in-library answer */
    LIB_INSIDE = 4,
};

typedef struct sym_entry {
    uintptr_t addr;    /* return address as captured; the table key */
    rct_symbol sym;    /* interned strings, once SYM_RESOLVED */
    unsigned state;    /* SYM_RESOLVED | LIB_DECIDED | LIB_INSIDE */
} sym_entry;

typedef struct str_chunk {
    struct str_chunk *next; /* the chunk filled before this one */
    size_t used, cap;       /* bytes of text in use, and available */
    char text[];
} str_chunk;

enum { CHUNK_TEXT = 16384 - sizeof(str_chunk) }; /* one malloc of 16 KiB */

/* Offline: one recorded module and its ELF symbol table, for step 2. */
typedef struct elf_image {
    const char *path;          /* interned */
    uint64_t bias, lo, hi;     /* load bias; runtime range [lo, hi) */
    void *map;                 /* the file, mapped read-only; NULL: unreadable */
    size_t map_size;           /* bytes mapped */
    rct_funcs *funcs;          /* its function symbols (NULL: none) */
} elf_image;

/* A module file named by a capture, opened for reading only if it is a
   regular file: the path comes from the file, so it may name a FIFO (an
   open that blocks until a writer comes) or a device.  O_NONBLOCK keeps
   the open itself from blocking; fstat then refuses anything else.
   The descriptor, or -1. */
static int open_regular(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    struct stat st;
    if (fd >= 0 && (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))) {
        close(fd);
        fd = -1;
    }
    return fd;
}

struct rct_symbols {
    size_t refs;              /* owners; everything is freed at 0 */
    bool offline;             /* from recorded modules: no dladdr, no /proc */
    elf_image *images;        /* offline: the modules (nimages of them) */
    size_t nimages;
    struct Dwfl *dwfl;        /* NULL when libdw is unusable: dladdr only */
    unsigned long long loads; /* loader's dlpi_adds at the last report */
    const void *self_base;    /* load base of rcgc's shared object; NULL
                                 when rcgc is linked into the executable */
    table cache;              /* sym_entry by return address */
    table strings;            /* uintptr_t slots: interned text */
    str_chunk *chunks;        /* where interned text lives, newest first */
    char *(*demangle)(const char *name); /* offline: readable names; NULL: none */
};

/* A copy of text (n bytes with its NUL) in the chunks; NULL when out of
   memory.  Text longer than a chunk gets a chunk of its own. */
static char *chunk_copy(rct_symbols *s, const char *text, size_t n)
{
    str_chunk *c = s->chunks;
    if (c == NULL || c->cap - c->used < n) {
        size_t cap = n > CHUNK_TEXT ? n : CHUNK_TEXT;
        if (cap > SIZE_MAX - sizeof *c || (c = malloc(sizeof *c + cap)) == NULL)
            return NULL;
        c->next = s->chunks;
        c->used = 0;
        c->cap = cap;
        s->chunks = c;
    }
    char *copy = memcpy(c->text + c->used, text, n);
    c->used += n;
    return copy;
}

/* Replace *text (borrowed, may be NULL) by the symbolizer's own copy;
   false when out of memory.  An empty string counts as unknown. */
static bool intern(rct_symbols *s, const char **text)
{
    if (*text == NULL || **text == '\0') {
        *text = NULL;
        return true;
    }
    const uintptr_t *found = table_find(&s->strings, (uintptr_t)*text);
    if (found) {
        *text = (const char *)*found;
        return true;
    }
    char *copy = chunk_copy(s, *text, strlen(*text) + 1);
    if (copy == NULL || table_claim(&s->strings, (uintptr_t)copy) == NULL)
        return false; /* an unclaimed copy just waits for the free */
    *text = copy;
    return true;
}

/* A symbol that names code: functions, and untyped labels of hand-written
   assembly, defined in a section of the module. */
static bool is_function(unsigned type, unsigned shndx)
{
    return (type == STT_FUNC || type == STT_GNU_IFUNC || type == STT_NOTYPE) &&
           shndx != SHN_UNDEF && shndx != SHN_ABS;
}

#ifdef RCGC_HAVE_LIBDW
/* The loader's count of objects ever loaded (it moves on every dlopen), or
   0 when this glibc does not say.  Only the first object is visited. */
static int read_adds(struct dl_phdr_info *info, size_t size, void *ctx)
{
    if (size >= offsetof(struct dl_phdr_info, dlpi_adds) + sizeof info->dlpi_adds)
        *(unsigned long long *)ctx = info->dlpi_adds;
    return 1;
}

static unsigned long long loader_adds(void)
{
    unsigned long long adds = 0;
    dl_iterate_phdr(read_adds, &adds);
    return adds;
}

/* Report every module mapped now, keeping those already known.  The count
   is read first: a dlopen racing the report is seen at the next miss. */
/* The function index of a module, made on first use and kept in the
   module's userdata slot (freed with the session by close_dwfl).  NULL when
   out of memory: the caller then names no function. */
static rct_funcs *module_funcs(Dwfl_Module *m)
{
    void **slot;
    dwfl_module_info(m, &slot, NULL, NULL, NULL, NULL, NULL, NULL);
    if (*slot)
        return *slot;
    rct_funcs *f = rct_funcs_new();
    if (f == NULL)
        return NULL;
    int n = dwfl_module_getsymtab(m);
    for (int i = 1; i < n; i++) {
        GElf_Sym sym;
        GElf_Addr addr;
        GElf_Word shndx;
        const char *name = dwfl_module_getsym_info(m, i, &sym, &addr, &shndx, NULL, NULL);
        if (name && is_function(GELF_ST_TYPE(sym.st_info), shndx) &&
            rct_funcs_add(f, addr, sym.st_size, name,
                          GELF_ST_BIND(sym.st_info) == STB_GLOBAL) != 0)
            break; /* out of memory: what was added stays */
    }
    rct_funcs_seal(f);
    *slot = f;
    return f;
}

static int free_module_funcs(Dwfl_Module *m, void **userdata, const char *name,
                             Dwarf_Addr start, void *arg)
{
    (void)m, (void)name, (void)start, (void)arg;
    rct_funcs_free(*userdata);
    *userdata = NULL;
    return DWARF_CB_OK;
}

static void report_maps(rct_symbols *s)
{
    unsigned long long adds = loader_adds();
    dwfl_report_begin_add(s->dwfl);
    int failed = dwfl_linux_proc_report(s->dwfl, getpid());
    if (dwfl_report_end(s->dwfl, NULL, NULL) != 0) {
        dwfl_end(s->dwfl); /* unusable now: go on with dladdr alone */
        s->dwfl = NULL;
    } else if (!failed) {
        s->loads = adds; /* else the next miss tries again */
    }
}

/* The session's callbacks: ELF files by the paths in /proc/PID/maps, debug
   info by libdw's standard search (default path). */
static const Dwfl_Callbacks proc_callbacks = {
    .find_elf = dwfl_linux_proc_find_elf,
    .find_debuginfo = dwfl_standard_find_debuginfo,
};

static void open_dwfl(rct_symbols *s)
{
    s->dwfl = dwfl_begin(&proc_callbacks);
    if (s->dwfl) {
        s->loads = ~0ULL; /* nothing reported yet */
        report_maps(s);
    }
}

static void close_dwfl(rct_symbols *s)
{
    if (s->dwfl) {
        dwfl_getmodules(s->dwfl, free_module_funcs, NULL, 0);
        dwfl_end(s->dwfl);
    }
}

/* Offline: the files as recorded, placed at their load biases (the
   module's first PT_LOAD lands at bias + its p_vaddr).  A module libdw
   cannot read is left to the ELF symbol table. */
static const Dwfl_Callbacks offline_callbacks = {
    .find_elf = dwfl_build_id_find_elf,
    .find_debuginfo = dwfl_standard_find_debuginfo,
    .section_address = dwfl_offline_section_address,
};

static void open_dwfl_modules(rct_symbols *s)
{
    s->dwfl = dwfl_begin(&offline_callbacks);
    if (s->dwfl == NULL)
        return;
    dwfl_report_begin(s->dwfl);
    for (size_t i = 0; i < s->nimages; i++) {
        /* Unreadable here: libdw cannot read it either.  libdw gets a
           descriptor (it keeps it on success), never the path to open. */
        int fd = s->images[i].map ? open_regular(s->images[i].path) : -1;
        if (fd >= 0 && !dwfl_report_elf(s->dwfl, s->images[i].path, s->images[i].path, fd,
                                        s->images[i].bias, true))
            close(fd);
    }
    if (dwfl_report_end(s->dwfl, NULL, NULL) != 0) {
        dwfl_end(s->dwfl);
        s->dwfl = NULL;
    }
}

/* The module whose reported range holds pc, or NULL.  dwfl_addrmodule
   alone is not enough: for an address in an unreported gap just past a
   module it may answer that module.  Seen under valgrind, which maps a
   later dlopen right after its preloaded objects: the new library's code
   was attributed to vgpreload_memcheck and never re-reported. */
static Dwfl_Module *module_holding(Dwfl *dwfl, Dwarf_Addr pc)
{
    Dwfl_Module *m = dwfl_addrmodule(dwfl, pc);
    Dwarf_Addr start, end;
    if (m && dwfl_module_info(m, NULL, &start, &end, NULL, NULL, NULL, NULL) &&
        start <= pc && pc < end)
        return m;
    return NULL;
}

/* The module containing pc, after one re-report if something was loaded
   since the last one. */
static Dwfl_Module *module_at(rct_symbols *s, Dwarf_Addr pc)
{
    Dwfl_Module *m = module_holding(s->dwfl, pc);
    if (m == NULL && !s->offline && (s->loads != loader_adds() || s->loads == 0)) {
        report_maps(s);
        m = s->dwfl ? module_holding(s->dwfl, pc) : NULL;
    }
    return m;
}

/* What libdwfl knows about pc; strings borrowed from its session. */
static void describe_dwfl(rct_symbols *s, uintptr_t pc, rct_symbol *out)
{
    Dwfl_Module *m = s->dwfl ? module_at(s, pc) : NULL;
    if (m == NULL)
        return;
    out->module = dwfl_module_info(m, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
    out->function = rct_funcs_find(module_funcs(m), pc);
    /* Only a compilation unit that covers pc has its line: for code built
       without -g next to code built with it (a static librcgc with debug
       info in a program without), libdw may answer from a neighbouring
       unit's line table. */
    Dwarf_Addr bias;
    Dwarf_Die *cu = dwfl_module_addrdie(m, pc, &bias);
    Dwfl_Line *l = cu && dwarf_haspc(cu, pc - bias) > 0 ? dwfl_module_getsrc(m, pc) : NULL;
    int line = 0;
    out->file = l ? dwfl_lineinfo(l, NULL, &line, NULL, NULL, NULL) : NULL;
    out->line = out->file && line > 0 ? line : 0;
}
#else
/* Built without libdw: dladdr alone (offline: the ELF symbol tables). */
static void open_dwfl(rct_symbols *s) { (void)s; }
static void open_dwfl_modules(rct_symbols *s) { (void)s; }
static void close_dwfl(rct_symbols *s) { (void)s; }
static void describe_dwfl(rct_symbols *s, uintptr_t pc, rct_symbol *out)
{
    (void)s, (void)pc, (void)out;
}
#endif

/* Fill what libdwfl left unknown from the loader's dynamic symbols;
   strings borrowed from the loader. */
static void describe_dladdr(uintptr_t pc, rct_symbol *out)
{
    Dl_info info;
    if (!dladdr((void *)pc, &info))
        return;
    if (out->function == NULL)
        out->function = info.dli_sname;
    if (out->module == NULL)
        out->module = info.dli_fname;
}

/* ---- offline step 2: a module's own ELF symbol table -----------------------
 * Every offset and size read from the file is checked against the mapping:
 * the file on disk may not be the one that was loaded. */

static bool within(const elf_image *im, uint64_t off, uint64_t size)
{
    return off <= im->map_size && size <= im->map_size - off;
}

/* The load bias (the recorded start, im->lo, less the lowest PT_LOAD's
   p_vaddr) and the runtime range of the segments; false if there are none. */
static bool elf_range(elf_image *im, const Elf64_Ehdr *eh)
{
    if (eh->e_phentsize != sizeof(Elf64_Phdr) ||
        !within(im, eh->e_phoff, (uint64_t)eh->e_phnum * sizeof(Elf64_Phdr)))
        return false;
    const Elf64_Phdr *ph = (const Elf64_Phdr *)(const void *)((char *)im->map + eh->e_phoff);
    uint64_t lo = UINT64_MAX, hi = 0;
    for (size_t i = 0; i < eh->e_phnum; i++) {
        if (ph[i].p_type != PT_LOAD)
            continue;
        lo = ph[i].p_vaddr < lo ? ph[i].p_vaddr : lo;
        hi = ph[i].p_vaddr + ph[i].p_memsz > hi ? ph[i].p_vaddr + ph[i].p_memsz : hi;
    }
    if (lo >= hi)
        return false;
    im->bias = im->lo - lo;
    im->hi = im->bias + hi;
    return true;
}

/* Index the function symbols of the symbol table of the given type, if
   there is a well-formed one; false if not (or out of memory). */
static bool elf_symtab(elf_image *im, const Elf64_Ehdr *eh, uint32_t type)
{
    if (eh->e_shentsize != sizeof(Elf64_Shdr) ||
        !within(im, eh->e_shoff, (uint64_t)eh->e_shnum * sizeof(Elf64_Shdr)))
        return false;
    const Elf64_Shdr *sh = (const Elf64_Shdr *)(const void *)((char *)im->map + eh->e_shoff);
    for (size_t i = 0; i < eh->e_shnum; i++) {
        const Elf64_Shdr *str = &sh[sh[i].sh_link < eh->e_shnum ? sh[i].sh_link : 0];
        if (sh[i].sh_type != type || sh[i].sh_entsize != sizeof(Elf64_Sym) ||
            !within(im, sh[i].sh_offset, sh[i].sh_size) ||
            !within(im, str->sh_offset, str->sh_size) || str->sh_size == 0)
            continue;
        const Elf64_Sym *syms = (const Elf64_Sym *)(const void *)((char *)im->map + sh[i].sh_offset);
        const char *strtab = (const char *)im->map + str->sh_offset;
        if (!(im->funcs = rct_funcs_new()))
            return false;
        for (size_t k = 0; k < sh[i].sh_size / sizeof(Elf64_Sym); k++) {
            const Elf64_Sym *sym = &syms[k];
            if (is_function(ELF64_ST_TYPE(sym->st_info), sym->st_shndx) &&
                sym->st_name < str->sh_size &&
                memchr(strtab + sym->st_name, '\0', str->sh_size - sym->st_name) &&
                rct_funcs_add(im->funcs, sym->st_value + im->bias, sym->st_size,
                              strtab + sym->st_name,
                              ELF64_ST_BIND(sym->st_info) == STB_GLOBAL) != 0)
                break; /* out of memory: what was added stays */
        }
        rct_funcs_seal(im->funcs);
        return true;
    }
    return false;
}

/* Map the module's file and find its symbols; an unreadable or foreign
   file keeps only the recorded range (lo and hi as set by the caller). */
static void elf_load(elf_image *im)
{
    int fd = open_regular(im->path);
    struct stat st;
    if (fd < 0)
        return;
    if (fstat(fd, &st) == 0 && (size_t)st.st_size >= sizeof(Elf64_Ehdr)) {
        im->map_size = (size_t)st.st_size;
        im->map = mmap(NULL, im->map_size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (im->map == MAP_FAILED)
            im->map = NULL;
    }
    close(fd);
    const Elf64_Ehdr *eh = im->map;
    if (eh == NULL || memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0 ||
        eh->e_ident[EI_CLASS] != ELFCLASS64 || !elf_range(im, eh))
        return;
    if (!elf_symtab(im, eh, SHT_SYMTAB))
        elf_symtab(im, eh, SHT_DYNSYM);
}

/* The file name of a module's path; the whole path when it ends in '/'
   (a capture may name anything). */
static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash && slash[1] ? slash + 1 : path;
}

/* Fill what libdwfl left unknown from the recorded modules; a function
   still unknown is named by its place (see rct_symbols_set_demangler),
   written into place (at least 64 bytes more than a path). */
static void describe_elf(const rct_symbols *s, uintptr_t pc, rct_symbol *out, char *place,
                         size_t len)
{
    for (size_t i = 0; i < s->nimages; i++) {
        const elf_image *im = &s->images[i];
        if (pc < im->lo || pc >= im->hi)
            continue;
        if (out->function == NULL)
            out->function = rct_funcs_find(im->funcs, pc);
        if (out->module == NULL)
            out->module = im->path;
        if (out->function == NULL) {
            snprintf(place, len, "%s+0x%llx", base_name(im->path),
                     (unsigned long long)(pc - im->bias));
            out->function = place;
        }
        return;
    }
    if (out->function == NULL) {
        snprintf(place, len, "0x%llx", (unsigned long long)pc);
        out->function = place;
    }
}

/* Intern *function as people read it: without a symbol version
   ("memcpy@GLIBC_2.14" is memcpy), demangled when the demangler knows it. */
static bool intern_function(rct_symbols *s, const char **function)
{
    char plain[1024];
    const char *at = *function ? strchr(*function, '@') : NULL;
    if (at && at != *function && (size_t)(at - *function) < sizeof plain) {
        memcpy(plain, *function, (size_t)(at - *function));
        plain[at - *function] = 0;
        *function = plain;
    }
    char *readable = s->demangle && *function ? s->demangle(*function) : NULL;
    if (readable)
        *function = readable;
    bool ok = intern(s, function);
    free(readable);
    return ok;
}

/* The interned description of return address addr; false when out of
   memory (*out is then untouched). */
static bool describe(rct_symbols *s, uintptr_t addr, rct_symbol *out)
{
    rct_symbol sym = {0};
    char place[PATH_MAX + 64]; /* a module path and an offset */
    describe_dwfl(s, addr - 1, &sym);
    if ((sym.function == NULL || sym.module == NULL) && s->offline)
        describe_elf(s, addr - 1, &sym, place, sizeof place);
    else if (sym.function == NULL || sym.module == NULL)
        describe_dladdr(addr - 1, &sym);
    if (!intern_function(s, &sym.function) || !intern(s, &sym.file) || !intern(s, &sym.module))
        return false;
    if (sym.file == NULL)
        sym.line = 0; /* the file name was empty: no line without a file */
    *out = sym;
    return true;
}

/* The cache entry of addr, found or new (unresolved, undecided); NULL for
   a NULL symbolizer or address, or when out of memory. */
static sym_entry *entry(rct_symbols *s, const void *addr)
{
    if (s == NULL || addr == NULL)
        return NULL;
    sym_entry *e = table_find(&s->cache, (uintptr_t)addr);
    return e ? e : table_claim(&s->cache, (uintptr_t)addr);
}

/* The entry of addr with its symbol resolved, or NULL (see entry).  A
   failed resolution leaves the entry unresolved, to be retried. */
static sym_entry *resolved(rct_symbols *s, const void *addr)
{
    sym_entry *e = entry(s, addr);
    if (e && !(e->state & SYM_RESOLVED)) {
        if (!describe(s, e->addr, &e->sym))
            return NULL;
        e->state |= SYM_RESOLVED;
    }
    return e;
}

/* The load base of the shared object holding this code, or NULL when it
   is the main executable (whose link map has an empty name). */
static const void *library_base(void)
{
    Dl_info info;
    struct link_map *map = NULL;
    void *self = (void *)(uintptr_t)&rct_symbols_in_library;
    if (!dladdr1(self, &info, (void **)&map, RTLD_DL_LINKMAP) || map == NULL)
        return NULL;
    return map->l_name && map->l_name[0] ? info.dli_fbase : NULL;
}

static bool starts_with(const char *text, const char *prefix)
{
    return text && strncmp(text, prefix, strlen(prefix)) == 0;
}

/* Rule (b): rcgc linked into the executable. */
static bool named_like_library(const rct_symbol *sym)
{
    return starts_with(sym->function, "rc_") || starts_with(sym->function, "rci_") ||
           starts_with(sym->function, "rct_") ||
           (RCGC_SOURCE_DIR[0] != '\0' && starts_with(sym->file, RCGC_SOURCE_DIR));
}

/* Rule (a): rcgc is the shared object at base. */
static bool in_object(const void *base, uintptr_t addr)
{
    Dl_info info;
    return dladdr((void *)(addr - 1), &info) && info.dli_fbase == base;
}

static rct_symbols *symbols_alloc(void)
{
    rct_symbols *s = calloc(1, sizeof *s);
    if (s == NULL)
        return NULL;
    s->refs = 1;
    s->cache = (table){.size = sizeof(sym_entry), .hash = hash_addr, .same = same_addr};
    s->strings = (table){.size = sizeof(uintptr_t), .hash = hash_text, .same = same_text};
    return s;
}

rct_symbols *rct_symbols_new(void)
{
    rct_symbols *s = symbols_alloc();
    if (s == NULL)
        return NULL;
    s->self_base = library_base();
    open_dwfl(s); /* on failure, dladdr still names exported functions */
    return s;
}

rct_symbols *rct_symbols_new_modules(const rct_module *mods, size_t n)
{
    rct_symbols *s = symbols_alloc();
    if (s == NULL)
        return NULL;
    s->offline = true; /* self_base stays NULL: the in-library rule is (b) */
    s->images = calloc(n ? n : 1, sizeof *s->images);
    if (s->images == NULL) {
        rct_symbols_unref(s);
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        elf_image *im = &s->images[s->nimages];
        im->path = mods[i].path;
        if (!intern(s, &im->path) || im->path == NULL)
            continue;
        im->bias = mods[i].base; /* until the file says better */
        im->lo = mods[i].base;
        im->hi = mods[i].base + mods[i].size;
        elf_load(im);
        s->nimages++;
    }
    open_dwfl_modules(s);
    return s;
}

void rct_symbols_set_demangler(rct_symbols *s, char *(*demangle)(const char *name))
{
    if (s)
        s->demangle = demangle;
}

rct_symbols *rct_symbols_ref(rct_symbols *s)
{
    if (s)
        s->refs++;
    return s;
}

void rct_symbols_unref(rct_symbols *s)
{
    if (s == NULL || --s->refs > 0)
        return;
    close_dwfl(s);
    for (size_t i = 0; i < s->nimages; i++)
        if (s->images[i].map) {
            munmap(s->images[i].map, s->images[i].map_size);
            rct_funcs_free(s->images[i].funcs);
        }
    free(s->images);
    for (str_chunk *c = s->chunks, *next; c; c = next) {
        next = c->next;
        free(c);
    }
    free(s->cache.slots);
    free(s->strings.slots);
    free(s);
}

int rct_symbols_define(rct_symbols *s, const void *addr, const char *function,
                       const char *file, int line)
{
    sym_entry *e = entry(s, addr);
    rct_symbol sym = {function, file, line, NULL};
    if (e == NULL || !intern(s, &sym.function) || !intern(s, &sym.file))
        return -1;
    if (sym.file == NULL)
        sym.line = 0;
    e->sym = sym;
    e->state = SYM_RESOLVED | LIB_DECIDED; /* never rcgc, whatever its name */
    return 0;
}

int rct_symbols_lookup(rct_symbols *s, const void *addr, rct_symbol *out)
{
    const sym_entry *e = resolved(s, addr);
    *out = e ? e->sym : (rct_symbol){0};
    return out->function || out->file || out->module ? 0 : -1;
}

bool rct_symbols_in_library(rct_symbols *s, const void *addr)
{
    /* Rule (a) needs only the module, so no symbol is resolved for it. */
    sym_entry *e = s && s->self_base ? entry(s, addr) : resolved(s, addr);
    if (e == NULL)
        return false;
    if (!(e->state & LIB_DECIDED)) {
        bool inside = s->self_base ? in_object(s->self_base, e->addr)
                                   : named_like_library(&e->sym);
        e->state |= LIB_DECIDED | (inside ? LIB_INSIDE : 0u);
    }
    return (e->state & LIB_INSIDE) != 0;
}
