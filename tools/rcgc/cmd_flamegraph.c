/*
 * cmd_flamegraph.c — the report and the exports of the frame tree:
 *   rcgc flamegraph [-o FILE.html] FILE       the HTML report (default: the
 *                                             capture's name with .html);
 *                                             prints the page's path
 *   rcgc flamegraph --collapsed [--by peak|leaked|total] [-o OUT] FILE
 *                                             folded stacks (flamegraph.pl,
 *                                             inferno), to stdout by default
 *   rcgc flamegraph --speedscope OUT.json FILE  speedscope's file format
 *   rcgc flamegraph --pprof OUT.pb.gz FILE      pprof's gzipped profile.proto
 *
 * A file that cannot be written exits 1 (2 is for bad captures).
 */
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

static const char *const by_names[] = {"peak", "leaked", "total", NULL};

typedef enum { HTML, COLLAPSED, SPEEDSCOPE, PPROF } format;

typedef struct flame_args {
    format fmt;
    int by;               /* collapsed: FLAME_PEAK, FLAME_LEAKED or FLAME_TOTAL */
    const char *out;      /* NULL: the default for the format */
} flame_args;

/* capture.cap -> capture.html (malloc'd). */
static char *default_html(const char *capture)
{
    size_t n = strlen(capture);
    if (n > 4 && strcmp(capture + n - 4, ".cap") == 0)
        n -= 4;
    char *path = malloc(n + 6);
    if (path)
        snprintf(path, n + 6, "%.*s.html", (int)n, capture);
    return path;
}

static int write_report(const flame_args *a, rca_capture *c, const flame *f, const char *path)
{
    bool to_stdout = strcmp(path, "-") == 0;
    FILE *out = to_stdout ? stdout : fopen(path, "w");
    if (!out) {
        cli_error("cannot write %s: %s", path, strerror(errno));
        return EXIT_ERROR;
    }
    int rc = 0;
    if (a->fmt == HTML)
        rc = report_html(out, c, f);
    else if (a->fmt == COLLAPSED)
        report_collapsed(out, f, a->by);
    else
        report_speedscope(out, c, f);
    bool failed = ferror(out) != 0;
    if ((to_stdout ? fflush(out) : fclose(out)) != 0 || failed) {
        cli_error("cannot write %s", path);
        return EXIT_ERROR;
    }
    if (rc < 0)
        return EXIT_ERROR;
    if (a->fmt == HTML && !to_stdout)
        printf("%s\n", path);
    return 0;
}

static int flamegraph(rca_capture *cs, int n, void *ctx)
{
    const flame_args *a = ctx;
    (void)n;
    if (a->fmt == PPROF)
        return report_pprof(a->out, &cs[0]) < 0 ? EXIT_ERROR : 0;
    flame f;
    if (flame_build(&f, &cs[0]) < 0) {
        cli_error("out of memory building the frame tree");
        return EXIT_ERROR;
    }
    char *owned = !a->out && a->fmt == HTML ? default_html(cs[0].path) : NULL;
    const char *path = a->out ? a->out : owned ? owned : "-";
    int rc = write_report(a, &cs[0], &f, path);
    free(owned);
    flame_free(&f);
    return rc;
}

int cmd_flamegraph(int argc, char **argv)
{
    static const struct option longopts[] = {{"collapsed", no_argument, NULL, 'c'},
                                             {"speedscope", required_argument, NULL, 's'},
                                             {"pprof", required_argument, NULL, 'p'},
                                             {"by", required_argument, NULL, 'b'},
                                             {"output", required_argument, NULL, 'o'},
                                             NAMES_LONGOPTS,
                                             {0}};
    flame_args a = {HTML, FLAME_PEAK, NULL};
    rca_options o = {.progress = true};
    int opt;
    while ((opt = getopt_long(argc, argv, "o:", longopts, NULL)) != -1) {
        if (opt == 'b' && (a.by = parse_choice(optarg, by_names)) < 0)
            return cli_usage("flamegraph", "--by takes peak, leaked or total");
        if (opt == 'c')
            a.fmt = COLLAPSED;
        if (opt == 's' || opt == 'p' || opt == 'o')
            a.out = optarg;
        if (opt == 's')
            a.fmt = SPEEDSCOPE;
        if (opt == 'p')
            a.fmt = PPROF;
        if (names_option(&o, opt, optarg) < 0)
            return cli_usage("flamegraph", "--alloc-fn takes a function name (at most 64 of them)");
        if (opt == '?')
            return cli_usage("flamegraph", "unknown option");
    }
    if (argc - optind != 1)
        return cli_usage("flamegraph", "give one capture");
    o.time_steps = a.fmt == HTML; /* the page's time range; the exports have none */
    return rca_with(argv + optind, 1, &o, flamegraph, &a);
}
