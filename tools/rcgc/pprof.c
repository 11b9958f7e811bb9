/*
 * pprof.c — `rcgc flamegraph --pprof OUT.pb.gz`: the capture as a gzipped
 * pprof profile (profile.proto, encoded by protobuf-c from the messages in
 * profile.proto next to this file, generated at build time).
 *
 * One sample per allocation site, its stack innermost first (a managed
 * object's type as a frame of its own, as in the flame graphs), with Go's
 * heap profile values: alloc_objects and alloc_space (everything allocated),
 * inuse_objects and inuse_space (live when the heap peaked: the profile's
 * comment says so).  One location per return address, with its function,
 * file and line already resolved (has_functions: pprof does not symbolize
 * again); one mapping per module with the build ID of its ELF file.  A
 * Python frame's location has no address and no mapping: its function is
 * the code location's (name and file, one per K record), its line the K's,
 * and no system name: pprof then takes the name as already demangled (it
 * would read "<module>" as C++ template arguments and drop it).
 */
#define _GNU_SOURCE
#include "cli.h"
#include "profile.pb-c.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

enum { ALLOC_OBJECTS, ALLOC_SPACE, INUSE_OBJECTS, INUSE_SPACE, NVALUES };

typedef struct loc {
    uint64_t address;
    uint64_t mapping;      /* id, 0: none */
    uint64_t function;     /* id */
    int64_t line;
} loc;

typedef struct sample {
    size_t first, n;       /* its location ids in builder.stack_ids */
    int64_t value[NVALUES];
} sample;

typedef struct builder {
    rca_capture *c;
    rct_symbols *symbols;
    const char **strings;          /* string_table */
    size_t nstrings, strings_cap;
    u64map *string_of;             /* interned pointer -> index */
    int64_t *func_names, *func_files, *func_systems; /* by function id - 1 */
    size_t nfuncs, funcs_cap, files_cap, systems_cap;
    u64map *func_of;               /* name pointer (Python: return address) -> function id */
    loc *locs;                     /* by location id - 1 */
    size_t nlocs, locs_cap;
    u64map *loc_of;                /* address -> location id (types: name pointer) */
    uint64_t *stack_ids;
    size_t nstack_ids, stack_ids_cap;
    sample *samples;
    size_t nsamples, samples_cap;
    char (*build_ids)[41];         /* by module: hex, "" when unknown */
    char **owned;                  /* the managed types' frame names */
    size_t nowned, owned_cap;
} builder;

/* The string_table index of s (by pointer: the symbolizer interns its
   strings); -1 when out of memory. */
static int64_t str(builder *b, const char *s)
{
    if (!s || !*s)
        return 0;
    uint32_t *idx = u64map_claim(b->string_of, (uint64_t)(uintptr_t)s);
    if (!idx)
        return -1;
    if (*idx == UINT32_MAX) {
        if (!cli_reserve((void **)&b->strings, &b->strings_cap, b->nstrings + 1,
                         sizeof *b->strings))
            return -1;
        b->strings[b->nstrings] = s;
        *idx = (uint32_t)b->nstrings++;
    }
    return *idx;
}

/* The id of the function named name (file: where it is; python: a Python
   function, without a system name), known by key; 0 when out of memory. */
static uint64_t function_of(builder *b, uint64_t key, const char *name, const char *file,
                            bool python)
{
    uint32_t *idx = u64map_claim(b->func_of, key);
    if (!idx)
        return 0;
    if (*idx == UINT32_MAX) {
        int64_t n = str(b, name), f = str(b, file);
        if (n < 0 || f < 0 ||
            !cli_reserve((void **)&b->func_names, &b->funcs_cap, b->nfuncs + 1, sizeof(int64_t)) ||
            !cli_reserve((void **)&b->func_files, &b->files_cap, b->nfuncs + 1, sizeof(int64_t)) ||
            !cli_reserve((void **)&b->func_systems, &b->systems_cap, b->nfuncs + 1,
                         sizeof(int64_t)))
            return 0;
        b->func_names[b->nfuncs] = n;
        b->func_files[b->nfuncs] = f;
        b->func_systems[b->nfuncs] = python ? 0 : n;
        *idx = (uint32_t)++b->nfuncs;
    }
    return *idx;
}

static uint64_t mapping_of(const rca_capture *c, uint64_t ip)
{
    for (size_t i = 0; i < c->nmodules; i++)
        if (ip - c->modules[i].base < c->modules[i].size)
            return i + 1;
    return 0;
}

/* The location id of a frame (type: a managed type's pseudo-frame, named
   "[type object]"); 0 when out of memory. */
static uint64_t location_of(builder *b, uint64_t ip, const char *type)
{
    /* keys: a native return address, a Python frame's (bit 63), a type
       name's pointer with bit 62 (no pointer has either bit) */
    uint32_t *idx = u64map_claim(b->loc_of, type ? (uint64_t)(uintptr_t)type | 1ull << 62 : ip);
    if (!idx)
        return 0;
    if (*idx == UINT32_MAX) {
        loc l = {.address = ip};
        if (type) {
            char name[300], *copy;
            snprintf(name, sizeof name, "[%s object]", type);
            if (!cli_reserve((void **)&b->owned, &b->owned_cap, b->nowned + 1, sizeof *b->owned) ||
                !(copy = b->owned[b->nowned] = strdup(name)))
                return 0;
            b->nowned++;
            l.function = function_of(b, (uint64_t)(uintptr_t)copy, copy, NULL, false);
            if (!l.function)
                return 0;
        } else {
            rct_symbol s = {0};
            rct_symbols_lookup(b->symbols, (void *)(uintptr_t)ip, &s);
            const char *name = s.function ? s.function : "[unknown]";
            bool python = rca_is_pyframe((void *)(uintptr_t)ip);
            l.function = function_of(b, python ? ip : (uint64_t)(uintptr_t)name, name, s.file,
                                     python);
            l.line = s.line;
            l.mapping = python ? 0 : mapping_of(b->c, ip);
            l.address = python ? 0 : ip;
            if (!l.function)
                return 0;
        }
        if (!cli_reserve((void **)&b->locs, &b->locs_cap, b->nlocs + 1, sizeof *b->locs))
            return 0;
        b->locs[b->nlocs] = l;
        *idx = (uint32_t)++b->nlocs;
    }
    return *idx;
}

static bool push_id(builder *b, uint64_t id)
{
    if (!id || !cli_reserve((void **)&b->stack_ids, &b->stack_ids_cap, b->nstack_ids + 1,
                            sizeof *b->stack_ids))
        return false;
    b->stack_ids[b->nstack_ids++] = id;
    return true;
}

static bool add_site(builder *b, const rca_site *s)
{
    if (!s->allocs && !s->peak_blocks)
        return true;
    if (!cli_reserve((void **)&b->samples, &b->samples_cap, b->nsamples + 1, sizeof *b->samples))
        return false;
    sample *out = &b->samples[b->nsamples++];
    *out = (sample){.first = b->nstack_ids,
                    .value = {(int64_t)s->allocs, (int64_t)s->total_bytes,
                              (int64_t)s->peak_blocks, (int64_t)s->peak_bytes}};
    const char *type = rca_type_name(b->c, s->type);
    if (type && !push_id(b, location_of(b, 0, type)))
        return false;
    void *frames[RCC_MAX_DEPTH];
    size_t n = rca_frames(b->c, s->node, frames);
    for (size_t i = 0; i < n; i++)
        if (!push_id(b, location_of(b, (uint64_t)(uintptr_t)frames[i], NULL)))
            return false;
    out->n = b->nstack_ids - out->first;
    return true;
}

/* The GNU build ID of an ELF file as hex into hex (41 bytes); "" when the
   file cannot be read or has none. */
static void build_id(const char *path, char *hex)
{
    hex[0] = '\0';
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    Elf64_Ehdr eh;
    if (pread(fd, &eh, sizeof eh, 0) != (ssize_t)sizeof eh || memcmp(eh.e_ident, ELFMAG, SELFMAG) ||
        eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_phentsize != sizeof(Elf64_Phdr)) {
        close(fd);
        return;
    }
    for (unsigned i = 0; i < eh.e_phnum && !hex[0]; i++) {
        Elf64_Phdr ph;
        unsigned char note[1024];
        if (pread(fd, &ph, sizeof ph, (off_t)(eh.e_phoff + i * sizeof ph)) != (ssize_t)sizeof ph ||
            ph.p_type != PT_NOTE)
            continue;
        size_t len = ph.p_filesz < sizeof note ? ph.p_filesz : sizeof note;
        ssize_t got = pread(fd, note, len, (off_t)ph.p_offset);
        for (size_t at = 0; got > 0 && at + sizeof(Elf64_Nhdr) <= (size_t)got;) {
            Elf64_Nhdr nh;
            memcpy(&nh, note + at, sizeof nh);
            size_t name = at + sizeof nh, desc = name + ((nh.n_namesz + 3) & ~3u);
            size_t next = desc + ((nh.n_descsz + 3) & ~3u);
            if (next > (size_t)got)
                break;
            if (nh.n_type == NT_GNU_BUILD_ID && nh.n_namesz == 4 &&
                memcmp(note + name, "GNU", 4) == 0 && nh.n_descsz <= 20) {
                for (size_t k = 0; k < nh.n_descsz; k++)
                    snprintf(hex + 2 * k, 3, "%02x", note[desc + k]);
                break;
            }
            at = next;
        }
    }
    close(fd);
}

/* The profile message over the builder's tables, packed and gzipped. */
static int write_profile(builder *b, const char *path)
{
    static const char *const names[NVALUES][2] = {{"alloc_objects", "count"},
                                                  {"alloc_space", "bytes"},
                                                  {"inuse_objects", "count"},
                                                  {"inuse_space", "bytes"}};
    rca_capture *c = b->c;
    char comment[160];
    snprintf(comment, sizeof comment, "rcgc " RC_VERSION ": inuse is what was live when the "
             "heap peaked (%.3f s); alloc is everything allocated", (double)c->peak_time_us / 1e6);
    int64_t comment_idx = str(b, comment);
    Rcgc__Pprof__ValueType types[NVALUES], period_type = RCGC__PPROF__VALUE_TYPE__INIT;
    Rcgc__Pprof__ValueType *type_ptrs[NVALUES];
    int64_t type_idx[NVALUES][2];
    for (int v = 0; v < NVALUES; v++)
        for (int k = 0; k < 2; k++)
            type_idx[v][k] = str(b, names[v][k]);
    int64_t space = str(b, "space");
    size_t nmods = c->nmodules, nl = b->nlocs, nf = b->nfuncs, ns = b->nsamples;
    Rcgc__Pprof__Mapping *maps = calloc(nmods + 1, sizeof *maps);
    Rcgc__Pprof__Mapping **map_ptrs = calloc(nmods + 1, sizeof *map_ptrs);
    Rcgc__Pprof__Location *locs = calloc(nl + 1, sizeof *locs);
    Rcgc__Pprof__Location **loc_ptrs = calloc(nl + 1, sizeof *loc_ptrs);
    Rcgc__Pprof__Line *lines = calloc(nl + 1, sizeof *lines);
    Rcgc__Pprof__Line **line_ptrs = calloc(nl + 1, sizeof *line_ptrs);
    Rcgc__Pprof__Function *funcs = calloc(nf + 1, sizeof *funcs);
    Rcgc__Pprof__Function **func_ptrs = calloc(nf + 1, sizeof *func_ptrs);
    Rcgc__Pprof__Sample *samples = calloc(ns + 1, sizeof *samples);
    Rcgc__Pprof__Sample **sample_ptrs = calloc(ns + 1, sizeof *sample_ptrs);
    int64_t *mod_names = calloc(nmods + 1, sizeof *mod_names);
    int64_t *mod_ids = calloc(nmods + 1, sizeof *mod_ids);
    uint8_t *packed = NULL;
    int rc = -1;
    if (!maps || !map_ptrs || !locs || !loc_ptrs || !lines || !line_ptrs || !funcs ||
        !func_ptrs || !samples || !sample_ptrs || !mod_names || !mod_ids || comment_idx < 0 ||
        space < 0) {
        cli_error("out of memory writing %s", path);
        goto done;
    }
    for (size_t i = 0; i < nmods; i++) {
        mod_names[i] = str(b, c->modules[i].path);
        mod_ids[i] = str(b, b->build_ids[i]);
        if (mod_names[i] < 0 || mod_ids[i] < 0) {
            cli_error("out of memory writing %s", path);
            goto done;
        }
    }
    for (int v = 0; v < NVALUES; v++) {
        types[v] = (Rcgc__Pprof__ValueType)RCGC__PPROF__VALUE_TYPE__INIT;
        types[v].type = type_idx[v][0];
        types[v].unit = type_idx[v][1];
        type_ptrs[v] = &types[v];
    }
    period_type.type = space;
    period_type.unit = type_idx[ALLOC_SPACE][1];
    for (size_t i = 0; i < nmods; i++) {
        maps[i] = (Rcgc__Pprof__Mapping)RCGC__PPROF__MAPPING__INIT;
        maps[i].id = i + 1;
        maps[i].memory_start = c->modules[i].base;
        maps[i].memory_limit = c->modules[i].base + c->modules[i].size;
        maps[i].filename = mod_names[i];
        maps[i].build_id = mod_ids[i];
        maps[i].has_functions = maps[i].has_filenames = maps[i].has_line_numbers = true;
        map_ptrs[i] = &maps[i];
    }
    for (size_t i = 0; i < nl; i++) {
        lines[i] = (Rcgc__Pprof__Line)RCGC__PPROF__LINE__INIT;
        lines[i].function_id = b->locs[i].function;
        lines[i].line = b->locs[i].line;
        line_ptrs[i] = &lines[i];
        locs[i] = (Rcgc__Pprof__Location)RCGC__PPROF__LOCATION__INIT;
        locs[i].id = i + 1;
        locs[i].mapping_id = b->locs[i].mapping;
        locs[i].address = b->locs[i].address;
        locs[i].n_line = 1;
        locs[i].line = &line_ptrs[i];
        loc_ptrs[i] = &locs[i];
    }
    for (size_t i = 0; i < nf; i++) {
        funcs[i] = (Rcgc__Pprof__Function)RCGC__PPROF__FUNCTION__INIT;
        funcs[i].id = i + 1;
        funcs[i].name = b->func_names[i];
        funcs[i].system_name = b->func_systems[i];
        funcs[i].filename = b->func_files[i];
        func_ptrs[i] = &funcs[i];
    }
    for (size_t i = 0; i < ns; i++) {
        samples[i] = (Rcgc__Pprof__Sample)RCGC__PPROF__SAMPLE__INIT;
        samples[i].n_location_id = b->samples[i].n;
        /* a sample of no frames may come with no array of them */
        samples[i].location_id = b->samples[i].n ? b->stack_ids + b->samples[i].first : NULL;
        samples[i].n_value = NVALUES;
        samples[i].value = b->samples[i].value;
        sample_ptrs[i] = &samples[i];
    }
    Rcgc__Pprof__Profile p = RCGC__PPROF__PROFILE__INIT;
    p.n_sample_type = NVALUES;
    p.sample_type = type_ptrs;
    p.n_sample = ns;
    p.sample = sample_ptrs;
    p.n_mapping = nmods;
    p.mapping = map_ptrs;
    p.n_location = nl;
    p.location = loc_ptrs;
    p.n_function = nf;
    p.function = func_ptrs;
    p.n_string_table = b->nstrings;
    p.string_table = (char **)b->strings;
    /* a crafted capture's time may be past what nanoseconds can hold */
    p.duration_nanos = c->duration_us > (uint64_t)INT64_MAX / 1000 ? INT64_MAX
                                                                   : (int64_t)c->duration_us * 1000;
    p.period_type = &period_type;
    p.period = 1;
    p.n_comment = 1;
    p.comment = &comment_idx;
    p.default_sample_type = type_idx[INUSE_SPACE][0];
    size_t len = rcgc__pprof__profile__get_packed_size(&p);
    packed = malloc(len ? len : 1);
    if (!packed) {
        cli_error("out of memory writing %s", path);
        goto done;
    }
    rcgc__pprof__profile__pack(&p, packed);
    gzFile gz = gzopen(path, "wb");
    if (!gz) {
        cli_error("cannot write %s: %s", path, strerror(errno ? errno : ENOMEM));
        goto done;
    }
    bool wrote = len == 0 || gzwrite(gz, packed, (unsigned)len) == (int)len;
    if (gzclose(gz) != Z_OK || !wrote) {
        cli_error("cannot write %s", path);
        goto done;
    }
    rc = 0;
done:
    free(packed);
    free(maps), free(map_ptrs), free(locs), free(loc_ptrs), free(lines), free(line_ptrs);
    free(funcs), free(func_ptrs), free(samples), free(sample_ptrs), free(mod_names), free(mod_ids);
    return rc;
}

int report_pprof(const char *path, rca_capture *c)
{
    builder b = {.c = c, .symbols = rca_symbols(c), .string_of = u64map_new(),
                 .func_of = u64map_new(), .loc_of = u64map_new(),
                 .build_ids = calloc(c->nmodules + 1, sizeof *b.build_ids)};
    int rc = -1;
    if (!b.symbols || !b.string_of || !b.func_of || !b.loc_of || !b.build_ids ||
        !cli_reserve((void **)&b.strings, &b.strings_cap, 1, sizeof *b.strings)) {
        cli_error("out of memory");
        goto done;
    }
    b.strings[b.nstrings++] = ""; /* string_table[0] is "" */
    for (size_t i = 0; i < c->nmodules; i++)
        build_id(c->modules[i].path, b.build_ids[i]);
    for (size_t i = 0; i < c->nsites; i++)
        if (!add_site(&b, &c->sites[i])) {
            cli_error("out of memory");
            goto done;
        }
    rc = write_profile(&b, path);
done:
    for (size_t i = 0; i < b.nowned; i++)
        free(b.owned[i]);
    free(b.owned);
    free(b.strings), free(b.func_names), free(b.func_files), free(b.func_systems), free(b.locs);
    free(b.stack_ids), free(b.samples), free(b.build_ids);
    u64map_free(b.string_of), u64map_free(b.func_of), u64map_free(b.loc_of);
    return rc;
}
