/*
 * fuzz_cli.c — every reading verb of the rcgc command line, in-process
 * (main.c's dispatch, built here as rcgc_main) on a capture-shaped input
 * (fuzz.h): summary, top, leaks, diff (two captures, and two times),
 * flamegraph (the HTML report and the collapsed, speedscope and pprof
 * exports), stats and check, with and without --json, --no-fold and
 * --alloc-fn.  Each must end with status 0 (read), 1 (a check
 * failed) or 2 (a bad capture), never crash, hang or leak; what they print
 * goes to /dev/null.  Bits 5-7 of the input's first byte choose the --by
 * of top and flamegraph --collapsed.
 */
#define _POSIX_C_SOURCE 200809L /* setenv, optind */
#include "fuzz.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int rcgc_main(int argc, char **argv); /* main.c, renamed for this build */

static const char *const top_by[] = {"peak", "total", "count", "temporary"};
static const char *const flame_by[] = {"peak", "leaked", "total"};

static int run(const char *const *args)
{
    char *argv[16];
    int argc = 0;
    argv[argc++] = (char *)"rcgc";
    for (; args[argc - 1]; argc++)
        argv[argc] = (char *)args[argc - 1];
    argv[argc] = NULL;
    optind = 0; /* glibc: start getopt afresh */
    int rc = rcgc_main(argc, argv);
    if (rc < 0 || rc > 2) {
        fprintf(stderr, "fuzz_cli: rcgc %s exited %d\n", argv[1], rc);
        abort();
    }
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int quiet;
    if (!quiet) {
        quiet = freopen("/dev/null", "w", stdout) != NULL;
        setenv("DEBUGINFOD_URLS", "", 1); /* symbolization stays offline */
    }
    const char *f = fuzz_capture_file(data, size);
    if (!f)
        return 0;
    const char *by = top_by[(data[0] >> 5) & 3], *fby = flame_by[(data[0] >> 5) % 3];
    const char *const *cmds[] = {
        (const char *const[]){"summary", f, NULL},
        (const char *const[]){"summary", "--json", f, f, NULL},
        (const char *const[]){"top", "--by", by, "-n", "5", f, NULL},
        (const char *const[]){"top", "--json", "--no-fold", f, NULL},
        (const char *const[]){"leaks", f, NULL},
        (const char *const[]){"leaks", "--all", "--json", "--alloc-fn", "x*", f, NULL},
        (const char *const[]){"diff", f, f, NULL},
        (const char *const[]){"diff", "--at", "0.001", "--at", "1", "--json", f, NULL},
        (const char *const[]){"flamegraph", "-o", "-", f, NULL},
        (const char *const[]){"flamegraph", "--collapsed", "--by", fby, f, NULL},
        (const char *const[]){"flamegraph", "--speedscope", "-", f, NULL},
        (const char *const[]){"flamegraph", "--pprof", "/dev/null", f, NULL},
        (const char *const[]){"stats", f, NULL},
        (const char *const[]){"stats", "--json", f, NULL},
        (const char *const[]){"check", "--max-peak", "1M", "--max-leaked", "0", f, NULL},
    };
    int first = run(cmds[0]);
    for (size_t i = 1; i < sizeof cmds / sizeof *cmds; i++) {
        int rc = run(cmds[i]);
        /* every verb reads the capture alike: bad for one, bad for all */
        if ((rc == 2) != (first == 2)) {
            fprintf(stderr, "fuzz_cli: summary exited %d, %s %d\n", first, cmds[i][0], rc);
            abort();
        }
    }
    fflush(stdout);
    return 0;
}
