/*
 * stats.c — allocator statistics as a readable table.
 *
 * The counters are gathered by rc_alloc_stats_get (alloc.c walks the pools);
 * this file only formats them.  Field names and texts come from the
 * RC_ALLOC_STATS X-macro, so a new counter shows up here by itself.
 */
#include "rc_internal.h"

static void print_bytes(FILE *out, const char *label, size_t bytes)
{
    static const char *const unit[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double v = (double)bytes;
    unsigned u = 0;
    while (v >= 1024 && u < 4) {
        v /= 1024;
        u++;
    }
    fprintf(out, "  %-16s %12zu  (%.1f %s)\n", label, bytes, v, unit[u]);
}

void rc_alloc_stats_print(const rc_heap *h, FILE *out)
{
    rc_alloc_stats s;
    rc_alloc_stats_get(h, &s);
    fprintf(out, "rcgc heap %p: allocator statistics\n", (const void *)h);
    fprintf(out, "  %5s %6s %10s %10s %12s %6s\n", "class", "pools", "used",
            "free", "bytes used", "fill");
    for (unsigned c = 0; c < RC_SIZE_CLASSES; c++) {
        const rc_class_stats *cs = &s.classes[c];
        if (!cs->pools)
            continue;
        size_t cap = cs->blocks_used + cs->blocks_free;
        fprintf(out, "  %5zu %6zu %10zu %10zu %12zu %5.1f%%\n", cs->block_size,
                cs->pools, cs->blocks_used, cs->blocks_free,
                cs->blocks_used * cs->block_size,
                cap ? 100.0 * (double)cs->blocks_used / (double)cap : 0.0);
    }
#define RC_STATS_PRINT(name, text)                                           \
    if (strstr(#name, "bytes"))                                              \
        print_bytes(out, #name, s.name);                                     \
    else                                                                     \
        fprintf(out, "  %-16s %12zu\n", #name, s.name);
    RC_ALLOC_STATS(RC_STATS_PRINT)
#undef RC_STATS_PRINT
    fprintf(out, "  %-16s %11.1f%%  (1 - live bytes / committed bytes)\n",
            "fragmentation", 100.0 * s.fragmentation);
}
