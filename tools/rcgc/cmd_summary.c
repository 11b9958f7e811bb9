/*
 * cmd_summary.c — `rcgc summary [--json] FILE...`: peak heap and when it
 * happened, totals, temporaries, leaks by category, RSS.  With --json, one
 * object per capture (the contract's fields: peak_bytes,
 * total_allocated_bytes, allocations, leaked_bytes, leaked_blocks,
 * duration_s, and more); several captures give an array.  A capture of
 * CPython names its version ("interpreter  Python 3.11.2"; JSON "python")
 * and, when the shim took it, the census of live Python objects at exit
 * and gc.garbage (JSON "python_objects").
 */
#include "cli.h"

#include <getopt.h>

static double percent(uint64_t part, uint64_t whole)
{
    return whole ? 100.0 * (double)part / (double)whole : 0.0;
}

static void print_leaks(const rca_capture *c)
{
    char b[32];
    uint64_t blocks, bytes = rca_leaked(c, &blocks);
    printf("  leaked           %s in %llu block%s", fmt_bytes(b, bytes),
           (unsigned long long)blocks, blocks == 1 ? "" : "s");
    if (!c->scanned) {
        printf(blocks ? " (everything live at exit: no leak scan)\n" : "\n");
        return;
    }
    printf(": %s definitely lost (%llu)", fmt_bytes(b, c->leak_bytes[RCA_DEFINITE]),
           (unsigned long long)c->leak_blocks[RCA_DEFINITE]);
    printf(", %s indirectly lost (%llu)", fmt_bytes(b, c->leak_bytes[RCA_INDIRECT]),
           (unsigned long long)c->leak_blocks[RCA_INDIRECT]);
    printf(", %s possibly lost (%llu)", fmt_bytes(b, c->leak_bytes[RCA_POSSIBLE]),
           (unsigned long long)c->leak_blocks[RCA_POSSIBLE]);
    printf("; %s still reachable (%llu)\n", fmt_bytes(b, c->leak_bytes[RCA_REACHABLE]),
           (unsigned long long)c->leak_blocks[RCA_REACHABLE]);
}

#define CENSUS_ROWS 10 /* types listed by the text summary */

static void print_census(const rca_capture *c)
{
    char b[32];
    uint64_t bytes, objects = rca_python_census_total(c, RCC_PY_LIVE, &bytes);
    printf("  Python objects   %llu live at exit in %s (before finalization; docs/PYTHON.md)\n",
           (unsigned long long)objects, fmt_bytes(b, bytes));
    for (size_t i = 0; i < c->npyobjects && i < CENSUS_ROWS; i++) {
        const rca_pyobjects *o = &c->pyobjects[i];
        if (o->objects[RCC_PY_LIVE])
            printf("    %10s %9llu  %s\n", fmt_bytes(b, o->bytes[RCC_PY_LIVE]),
                   (unsigned long long)o->objects[RCC_PY_LIVE], o->type);
    }
    if (c->npyobjects > CENSUS_ROWS)
        printf("    ... %zu types in all (--json lists them)\n", c->npyobjects);
    objects = rca_python_census_total(c, RCC_PY_GARBAGE, &bytes);
    printf("  gc.garbage       %llu object%s", (unsigned long long)objects, objects == 1 ? "" : "s");
    const char *sep = ": ";
    for (size_t i = 0; i < c->npyobjects; i++)
        if (c->pyobjects[i].objects[RCC_PY_GARBAGE]) {
            printf("%s%s (%llu)", sep, c->pyobjects[i].type,
                   (unsigned long long)c->pyobjects[i].objects[RCC_PY_GARBAGE]);
            sep = ", ";
        }
    putchar('\n');
}

static void print_summary(const rca_capture *c)
{
    char b[32];
    printf("%s: pid %u, %.3f s", c->path, c->header.pid, (double)c->duration_us / 1e6);
    if (c->ended && c->end_signal)
        printf(", killed by %s%s\n", rca_ended(c, b, sizeof b),
               c->scanned ? " (leaks scanned then)" : "");
    else if (c->ended)
        printf(", exit status %lld\n", (long long)c->exit_status);
    else
        printf(", no end record%s\n", c->truncated ? " (cut short)" : "");
    if (c->python_version)
        printf("  interpreter      Python %s\n", rca_python_version(c, b, sizeof b));
    printf("  peak heap        %s (%llu bytes) at %.3f s%s\n", fmt_bytes(b, c->peak_bytes),
           (unsigned long long)c->peak_bytes, (double)c->peak_time_us / 1e6,
           c->peak_exact ? "" : " (replayed)");
    printf("  total allocated  %s in %llu allocations, %llu temporary (%.1f%%)\n",
           fmt_bytes(b, c->total_bytes), (unsigned long long)c->allocs,
           (unsigned long long)c->temps, percent(c->temps, c->allocs));
    print_leaks(c);
    if (c->peak_rss) {
        printf("  peak RSS         %s", fmt_bytes(b, c->peak_rss));
        if (c->rss_at_peak)
            printf("; heap at peak is %.0f%% of RSS then (%s)",
                   percent(c->peak_bytes, c->rss_at_peak), fmt_bytes(b, c->rss_at_peak));
        putchar('\n');
    }
    if (c->npyobjects)
        print_census(c);
}

static int print_all(rca_capture *cs, int n, void *ctx)
{
    bool json = *(bool *)ctx;
    for (int i = 0; i < n; i++) {
        if (json) {
            json_list_item(i, n);
            json_summary(stdout, &cs[i]);
        } else
            print_summary(&cs[i]);
    }
    if (json)
        json_list_end(n);
    return 0;
}

int cmd_summary(int argc, char **argv)
{
    static const struct option longopts[] = {{"json", no_argument, NULL, 'j'}, {0}};
    bool json = false;
    int opt;
    while ((opt = getopt_long(argc, argv, "j", longopts, NULL)) != -1) {
        if (opt != 'j')
            return cli_usage("summary", "unknown option");
        json = true;
    }
    if (optind >= argc)
        return cli_usage("summary", "no capture given");
    rca_options o = {.progress = true};
    return rca_each(argv + optind, argc - optind, &o, print_all, &json);
}
