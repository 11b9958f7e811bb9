/*
 * cmd_top.c — `rcgc top [--by peak|total|count|temporary] [-n N] [--json]
 * FILE...`: the lines that allocate the most, grouped like tracemalloc's
 * statistics('lineno') (the trace engine's snapshot, by the innermost frame
 * outside rcgc).
 */
#include "cli.h"

#include <getopt.h>
#include <stdlib.h>

static const char *const by_names[] = {"peak", "total", "count", "temporary", NULL};
static const rca_metric by_metric[] = {RCA_PEAK, RCA_TOTAL, RCA_COUNT, RCA_TEMPORARY};
/* What a row's two figures are, per --by, for the header and JSON. */
static const char *const first_name[] = {"bytes", "bytes", "allocations", "temporary_allocations"};
static const char *const second_name[] = {"blocks", "allocations", "bytes", "bytes"};
static const char *const first_head[] = {"bytes", "bytes", "allocations", "temporary"};
static const char *const title[] = {"bytes live at peak", "bytes allocated in total",
                                    "number of allocations", "temporary allocations"};

typedef struct top_args {
    int by;
    uint64_t max;
    bool json;
} top_args;

static void print_rows(const rca_capture *c, const top_args *a, const rc_trace_stat *rows,
                       size_t n)
{
    char b[32], site[512];
    printf("%s: top %zu sites by %s\n", c->path, n, title[a->by]);
    printf("%14s %14s  site\n", first_head[a->by], second_name[a->by]);
    for (size_t i = 0; i < n; i++) {
        fmt_site(site, sizeof site, rows[i].function, rows[i].file, rows[i].line);
        bool bytes_first = by_metric[a->by] == RCA_PEAK || by_metric[a->by] == RCA_TOTAL;
        if (bytes_first)
            printf("%14s %14zu  %s\n", fmt_bytes(b, rows[i].bytes), rows[i].blocks, site);
        else
            printf("%14zu %14s  %s\n", rows[i].bytes, fmt_bytes(b, rows[i].blocks), site);
    }
}

static int top_all(rca_capture *cs, int n, void *ctx)
{
    const top_args *a = ctx;
    for (int i = 0; i < n; i++) {
        rc_snapshot *s = rca_snapshot(&cs[i], by_metric[a->by]);
        size_t nrows = 0;
        rc_trace_stat *rows = s ? snapshot_rows(s, a->max, &nrows) : NULL;
        if (!rows) {
            rc_snapshot_free(s);
            cli_error("out of memory");
            return EXIT_ERROR;
        }
        if (a->json) {
            json_list_item(i, n);
            fputs("{\"file\": ", stdout);
            json_string(stdout, cs[i].path);
            printf(", \"by\": \"%s\", \"rows\": ", by_names[a->by]);
            json_rows(stdout, rows, nrows, first_name[a->by], second_name[a->by]);
            putchar('}');
        } else
            print_rows(&cs[i], a, rows, nrows);
        free(rows);
        rc_snapshot_free(s);
    }
    if (a->json)
        json_list_end(n);
    return 0;
}

int cmd_top(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"by", required_argument, NULL, 'b'}, {"json", no_argument, NULL, 'j'}, NAMES_LONGOPTS,
        {0}};
    top_args a = {.by = 0, .max = 10};
    rca_options o = {.progress = true};
    int opt;
    while ((opt = getopt_long(argc, argv, "b:n:j", longopts, NULL)) != -1) {
        if (opt == 'b' && (a.by = parse_choice(optarg, by_names)) < 0)
            return cli_usage("top", "--by takes peak, total, count or temporary");
        if (opt == 'n' && parse_count(optarg, SIZE_MAX, &a.max) < 0)
            return cli_usage("top", "-n takes a count");
        if (opt == 'j')
            a.json = true;
        if (names_option(&o, opt, optarg) < 0)
            return cli_usage("top", "--alloc-fn takes a function name (at most 64 of them)");
        if (opt == '?')
            return cli_usage("top", "unknown option");
    }
    if (optind >= argc)
        return cli_usage("top", "no capture given");
    return rca_each(argv + optind, argc - optind, &o, top_all, &a);
}
