/*
 * cmd_stats.c — `rcgc stats [--json] FILE...`: what a capture holds.  Record
 * counts by kind, stack nodes and distinct allocation stacks, modules,
 * types and allocation infos (from the analysis); chunks, writer threads
 * and the compression ratio from the chunk headers, walked here by the
 * fields docs/CAPTURE.md documents (magic, raw and stored lengths, thread
 * id) after the analysis has read and checked them.
 */
#define _GNU_SOURCE /* pread, O_CLOEXEC */
#include "cli.h"

#include <fcntl.h>
#include <getopt.h>
#include <string.h>
#include <unistd.h>

enum { FILE_HEADER = 64, CHUNK_HEADER = 24 };

typedef struct chunk_stats {
    uint64_t chunks, raw, stored, file_bytes;
    uint64_t threads;     /* distinct writer thread ids */
} chunk_stats;

static uint32_t get32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Walk the chunk headers; stops quietly at anything unexpected (the reader
   has already said what). */
static void walk_chunks(const char *path, chunk_stats *st)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    unsigned char h[CHUNK_HEADER];
    off_t at = FILE_HEADER;
    u64map *tids = u64map_new();
    while (fd >= 0 && pread(fd, h, sizeof h, at) == (ssize_t)sizeof h &&
           memcmp(h, "CHNK", 4) == 0) {
        st->chunks++;
        st->raw += get32(h + 8);
        st->stored += get32(h + 12);
        uint32_t *seen = tids ? u64map_claim(tids, (uint64_t)get32(h + 20) + 1) : NULL;
        if (seen && *seen == UINT32_MAX) {
            *seen = 0;
            st->threads++;
        }
        at += CHUNK_HEADER + (off_t)get32(h + 12);
    }
    st->file_bytes = fd >= 0 ? (uint64_t)lseek(fd, 0, SEEK_END) : 0;
    u64map_free(tids);
    if (fd >= 0)
        close(fd);
}

static void print_stats(const rca_capture *c, const chunk_stats *st, bool json, int i, int n)
{
    /* In rca_kinds order: M S T I C A F X P L E Y K O. */
    static const char *const names[] = {"modules", "stack_nodes", "types", "infos",
                                        "clocks", "allocations", "frees", "temporary_frees",
                                        "samples", "leak_records", "end", "python",
                                        "python_codes", "python_objects"};
    enum { NKINDS = sizeof names / sizeof *names };
    _Static_assert(NKINDS == sizeof c->records / sizeof *c->records, "a name per kind");
    char a[32], b[32];
    double ratio = st->stored ? (double)st->raw / (double)st->stored : 0.0;
    if (json) {
        json_list_item(i, n);
        fputs("{\"file\": ", stdout);
        json_string(stdout, c->path);
        fputs(", \"records\": {", stdout);
        for (int k = 0; k < NKINDS; k++)
            printf("%s\"%s\": %llu", k ? ", " : "", names[k],
                   (unsigned long long)c->records[k]);
        printf("}, \"chunks\": %llu, \"threads\": %llu, \"file_bytes\": %llu, "
               "\"raw_bytes\": %llu, \"stored_bytes\": %llu, \"compression_ratio\": %.3f, "
               "\"distinct_stacks\": %zu, \"stack_nodes\": %zu, \"modules\": %zu, "
               "\"types\": %zu, \"infos\": %zu, \"truncated\": %s}",
               (unsigned long long)st->chunks, (unsigned long long)st->threads,
               (unsigned long long)st->file_bytes, (unsigned long long)st->raw,
               (unsigned long long)st->stored, ratio, c->nsites, c->nnodes, c->nmodules,
               c->ntypes ? c->ntypes - 1 : 0, c->ninfos, c->truncated ? "true" : "false");
        return;
    }
    printf("%s: %s, version %u, pid %u%s\n", c->path, fmt_bytes(a, st->file_bytes),
           c->header.version, c->header.pid, c->truncated ? " (cut short)" : "");
    for (int k = 0; k < NKINDS; k++) /* the one name wider than the column */
        printf("  %-14s %llu\n", rca_kinds[k] == RCC_TEMP ? "temp_frees" : names[k],
               (unsigned long long)c->records[k]);
    printf("  chunks         %llu from %llu writer thread ids; %s of records stored in %s "
           "(%.1fx)\n",
           (unsigned long long)st->chunks, (unsigned long long)st->threads,
           fmt_bytes(a, st->raw), fmt_bytes(b, st->stored), ratio);
    printf("  stacks         %zu distinct allocation stacks, %zu stack nodes\n", c->nsites,
           c->nnodes);
    printf("  modules        %zu\n", c->nmodules);
    for (size_t m = 0; m < c->nmodules; m++)
        printf("    %#llx %s\n", (unsigned long long)c->module_at[m], c->modules[m].path);
}

static int stats_all(rca_capture *cs, int n, void *ctx)
{
    for (int i = 0; i < n; i++) {
        chunk_stats st = {0};
        walk_chunks(cs[i].path, &st);
        print_stats(&cs[i], &st, *(bool *)ctx, i, n);
    }
    if (*(bool *)ctx)
        json_list_end(n);
    return 0;
}

int cmd_stats(int argc, char **argv)
{
    static const struct option longopts[] = {{"json", no_argument, NULL, 'j'}, {0}};
    bool json = false;
    int opt;
    while ((opt = getopt_long(argc, argv, "j", longopts, NULL)) != -1) {
        if (opt != 'j')
            return cli_usage("stats", "unknown option");
        json = true;
    }
    if (optind >= argc)
        return cli_usage("stats", "no capture given");
    rca_options o = {.progress = true};
    return rca_each(argv + optind, argc - optind, &o, stats_all, &json);
}
