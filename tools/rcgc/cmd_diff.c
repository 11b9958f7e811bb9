/*
 * cmd_diff.c — what grew, by line (tracemalloc's compare_to('lineno')):
 *   rcgc diff [--by peak|total|leaked|count] OLD NEW   between two captures
 *   rcgc diff --at T1 --at T2 FILE                      between two times of one
 * Lines are matched by function, file and line, so two runs of a program
 * compare even when their addresses differ.  A block counts at time T when
 * it was allocated at or before T and not yet freed.
 */
#include "cli.h"

#include <getopt.h>
#include <stdlib.h>

static const char *const by_names[] = {"peak", "total", "leaked", "count", NULL};
static const rca_metric by_metric[] = {RCA_PEAK, RCA_TOTAL, RCA_LEAKED, RCA_COUNT};

typedef struct diff_args {
    int by;
    uint64_t max;
    bool json;
    rca_options o;    /* o.nat == 2: the --at mode */
} diff_args;

static void json_diff(const rc_trace_diff *d, size_t n)
{
    fputc('[', stdout);
    for (size_t i = 0; i < n; i++) {
        fputs(i ? ",\n " : "", stdout);
        json_place(stdout, d[i].function, d[i].file, d[i].line);
        printf(", \"bytes_diff\": %lld, \"blocks_diff\": %lld, \"bytes\": %zu, "
               "\"blocks\": %zu}", d[i].bytes_diff, d[i].blocks_diff, d[i].bytes,
               d[i].blocks);
    }
    fputc(']', stdout);
}

static const char *fmt_signed(char *buf, long long v, bool bytes)
{
    char b[32];
    if (bytes)
        snprintf(buf, 40, "%c%s", v < 0 ? '-' : '+',
                 fmt_bytes(b, (uint64_t)(v < 0 ? -v : v)));
    else
        snprintf(buf, 40, "%+lld", v);
    return buf;
}

static void print_diff(const rc_trace_diff *d, size_t n, bool bytes)
{
    char a[40], b[40], c[40], site[512];
    long long total = 0;
    for (size_t i = 0; i < n; i++)
        total += d[i].bytes_diff;
    printf("change %s\n", fmt_signed(a, total, bytes));
    for (size_t i = 0; i < n; i++) {
        fmt_site(site, sizeof site, d[i].function, d[i].file, d[i].line);
        snprintf(c, sizeof c, "%zu", d[i].bytes);
        printf("%14s %10s %-6s  now %-12s %s\n", fmt_signed(a, d[i].bytes_diff, bytes),
               fmt_signed(b, d[i].blocks_diff, false),
               d[i].blocks_diff == 1 || d[i].blocks_diff == -1 ? "block" : "blocks",
               bytes ? fmt_bytes(c, d[i].bytes) : c, site);
    }
}

/* Compare and print; newer and older may be the same capture's. */
static int compare(const diff_args *a, rca_capture *newer, rca_metric mn, rca_capture *older,
                   rca_metric mo)
{
    rc_snapshot *sn = rca_snapshot(newer, mn), *so = rca_snapshot(older, mo);
    rc_trace_diff none, *d = NULL;
    size_t n = sn && so ? rc_snapshot_compare(sn, so, &none, 0) : 0;
    size_t show = a->max && a->max < n ? a->max : n;
    if (sn && so && (d = malloc((n ? n : 1) * sizeof *d)))
        rc_snapshot_compare(sn, so, d, n);
    if (d && a->json)
        json_diff(d, show);
    else if (d)
        print_diff(d, show, mn != RCA_COUNT);
    else
        cli_error("out of memory");
    free(d);
    rc_snapshot_free(sn);
    rc_snapshot_free(so);
    return d ? 0 : EXIT_ERROR;
}

static int diff_files(rca_capture *cs, int n, void *ctx)
{
    const diff_args *a = ctx;
    (void)n;
    rca_metric m = by_metric[a->by];
    if (a->json) {
        fputs("{\"old\": ", stdout);
        json_string(stdout, cs[0].path);
        fputs(", \"new\": ", stdout);
        json_string(stdout, cs[1].path);
        printf(", \"by\": \"%s\", \"rows\": ", by_names[a->by]);
    } else
        printf("%s -> %s, by %s: ", cs[0].path, cs[1].path, by_names[a->by]);
    int rc = compare(a, &cs[1], m, &cs[0], m);
    if (a->json)
        fputs("}\n", stdout);
    return rc;
}

static int diff_times(rca_capture *cs, int n, void *ctx)
{
    const diff_args *a = ctx;
    (void)n;
    double end = (double)cs[0].duration_us / 1e6;
    for (int k = 0; k < 2; k++)
        if (a->o.at[k] > end)
            cli_error("warning: --at %g s is past the end of %s (%.3f s): what was live "
                      "at its end", a->o.at[k], cs[0].path, end);
    if (a->json) {
        fputs("{\"file\": ", stdout);
        json_string(stdout, cs[0].path);
        printf(", \"at\": [%.6f, %.6f], \"rows\": ", a->o.at[0], a->o.at[1]);
    } else
        printf("%s, live at %.3f s -> %.3f s: ", cs[0].path, a->o.at[0], a->o.at[1]);
    int rc = compare(a, &cs[0], RCA_AT1, &cs[0], RCA_AT0);
    if (a->json)
        fputs("}\n", stdout);
    return rc;
}

int cmd_diff(int argc, char **argv)
{
    static const struct option longopts[] = {{"by", required_argument, NULL, 'b'},
                                             {"at", required_argument, NULL, 't'},
                                             {"json", no_argument, NULL, 'j'},
                                             NAMES_LONGOPTS,
                                             {0}};
    diff_args a = {.max = 20, .o.progress = true};
    int opt;
    while ((opt = getopt_long(argc, argv, "b:n:j", longopts, NULL)) != -1) {
        if (opt == 'b' && (a.by = parse_choice(optarg, by_names)) < 0)
            return cli_usage("diff", "--by takes peak, total, leaked or count");
        if (opt == 'n' && parse_count(optarg, SIZE_MAX, &a.max) < 0)
            return cli_usage("diff", "-n takes a count");
        if (opt == 't' && (a.o.nat == 2 || parse_seconds(optarg, &a.o.at[a.o.nat++]) < 0))
            return cli_usage("diff", "--at takes a time (1.5, 1.5s, 250ms), twice");
        a.json |= opt == 'j';
        if (names_option(&a.o, opt, optarg) < 0)
            return cli_usage("diff", "--alloc-fn takes a function name (at most 64 of them)");
        if (opt == '?')
            return cli_usage("diff", "unknown option");
    }
    int files = argc - optind;
    if (a.o.nat == 1 || (a.o.nat == 2 && files != 1))
        return cli_usage("diff", "--at T1 --at T2 compares two times of one capture");
    if (a.o.nat == 0 && files != 2)
        return cli_usage("diff", "give two captures, OLD and NEW");
    return rca_with(argv + optind, files, &a.o, a.o.nat ? diff_times : diff_files, &a);
}
