/*
 * cmd_check.c — `rcgc check [--max-peak SIZE] [--max-leaked SIZE] FILE...`,
 * a CI gate: exit 1 with a one-line reason on stderr when a capture's peak
 * heap or leaked bytes (definitely + indirectly lost, or everything live at
 * exit without a scan — summary's leaked_bytes) exceed a limit, or when it
 * has no clean end (a fatal signal, or no end record: killed, or the shim
 * could not write); otherwise
 * one line "ok" per capture on stdout and exit 0.
 */
#include "cli.h"

#include <getopt.h>
#include <string.h>

typedef struct limit {
    const char *option, *what;
    const char *given;   /* as typed; NULL: no limit */
    uint64_t max;
} limit;

typedef struct check_args {
    limit limits[2];     /* --max-peak, --max-leaked */
} check_args;

static uint64_t figure(const rca_capture *c, int which)
{
    return which == 0 ? c->peak_bytes : rca_leaked(c, NULL);
}

static int check_all(rca_capture *cs, int n, void *ctx)
{
    const check_args *a = ctx;
    int failed = 0;
    char b[32], reason[512];
    for (int i = 0; i < n; i++) {
        size_t used = 0;
        reason[0] = '\0';
        if (!cs[i].ended || cs[i].end_signal) /* its figures stop short of the end */
            used = (size_t)snprintf(reason, sizeof reason, "the program did not end cleanly (%s)",
                                    rca_ended(&cs[i], b, sizeof b));
        for (int k = 0; k < 2; k++) {
            const limit *l = &a->limits[k];
            uint64_t v = figure(&cs[i], k);
            if (!l->given || v <= l->max)
                continue;
            used += (size_t)snprintf(reason + used, sizeof reason - used,
                                     "%s%s %s (%llu bytes) exceeds %s %s", used ? "; " : "",
                                     l->what, fmt_bytes(b, v), (unsigned long long)v,
                                     l->option, l->given);
            if (used >= sizeof reason)
                used = sizeof reason - 1;
        }
        if (reason[0]) {
            cli_error("check failed: %s: %s", cs[i].path, reason);
            failed = 1;
        } else
            printf("rcgc: check ok: %s: peak %s, leaked %llu bytes\n", cs[i].path,
                   fmt_bytes(b, cs[i].peak_bytes), (unsigned long long)figure(&cs[i], 1));
    }
    return failed;
}

int cmd_check(int argc, char **argv)
{
    static const struct option longopts[] = {{"max-peak", required_argument, NULL, 'p'},
                                             {"max-leaked", required_argument, NULL, 'l'},
                                             {0}};
    check_args a = {{{"--max-peak", "peak heap", NULL, 0},
                     {"--max-leaked", "leaked", NULL, 0}}};
    int opt;
    while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        if (opt == '?')
            return cli_usage("check", "unknown option");
        limit *l = &a.limits[opt == 'l'];
        if (parse_size(optarg, &l->max) < 0)
            return cli_usage("check", "%s takes a size (100M, 1.5G, 0)", l->option);
        l->given = optarg;
    }
    if (!a.limits[0].given && !a.limits[1].given)
        return cli_usage("check", "give --max-peak, --max-leaked or both");
    if (optind >= argc)
        return cli_usage("check", "no capture given");
    rca_options o = {.progress = true};
    return rca_each(argv + optind, argc - optind, &o, check_all, &a);
}
