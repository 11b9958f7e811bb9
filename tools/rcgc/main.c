/*
 * main.c — the rcgc command: `rcgc VERB [options] ARGS`, one cmd_<verb>.c
 * per verb.  Recording (run) starts a program under the preload shim; every
 * other verb reads captures (analysis.c) and prints, reports or checks.
 */
#include "cli.h"

#include <stdarg.h>
#include <string.h>

typedef struct command {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *usage;
} command;

static const command commands[] = {
    {"run", cmd_run,
     "run [-o FILE] [--native-frames N] [--sample-bytes N] [--unwind fp|libunwind]\n"
     "        -- PROG ARGS...\n"
     "        run PROG under the preload shim and write a capture; --unwind libunwind\n"
     "        walks stacks through code built without frame pointers (slower)"},
    {"summary", cmd_summary, "summary [--json] FILE...\n"
                             "        peak, totals, temporaries, leaks, RSS"},
    {"top", cmd_top, "top [--by peak|total|count|temporary] [-n N] [--json] FILE...\n"
                     "        the sites (lines) that matter most"},
    {"leaks", cmd_leaks, "leaks [--all] [-n N] [--json] FILE...\n"
                         "        blocks never freed, grouped by stack, largest first"},
    {"diff", cmd_diff, "diff [--by peak|total|leaked|count] [-n N] [--json] OLD NEW\n"
                       "   or diff --at T1 --at T2 [-n N] [--json] FILE\n"
                       "        growth by site between two captures or two times"},
    {"flamegraph", cmd_flamegraph,
     "flamegraph [-o FILE.html] FILE\n"
     "   or flamegraph --collapsed [--by peak|leaked|total] [-o OUT] FILE\n"
     "   or flamegraph --speedscope OUT.json FILE\n"
     "        the HTML report (flame graphs, memory over time, top tables) or an export"},
    {"stats", cmd_stats, "stats [--json] FILE...\n"
                         "        records, chunks, compression, stacks, modules"},
    {"check", cmd_check, "check [--max-peak SIZE] [--max-leaked SIZE] FILE...\n"
                         "        exit 1 with the reason when a limit is exceeded"},
};

enum { NCOMMANDS = sizeof commands / sizeof commands[0] };

void cli_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("rcgc: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

static void usage(FILE *out)
{
    fputs("usage: rcgc COMMAND [options] ARGS\n\n", out);
    for (int i = 0; i < NCOMMANDS; i++)
        fprintf(out, "  rcgc %s\n", commands[i].usage);
    fputs("\nSizes take K, M, G suffixes (powers of 1024); times are seconds "
          "(or 250ms, 20us).\n"
          "Exit status: 0 done, 1 usage error or failed check, 2 bad capture.\n",
          out);
}

int cli_usage(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "rcgc %s: ", cmd);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    for (int i = 0; i < NCOMMANDS; i++)
        if (strcmp(commands[i].name, cmd) == 0)
            fprintf(stderr, "usage: rcgc %s\n", commands[i].usage);
    return EXIT_USAGE;
}

int main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "help") == 0 || strcmp(argv[1], "--help") == 0 ||
        strcmp(argv[1], "-h") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? EXIT_USAGE : 0;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("rcgc %s (capture format %d)\n", RC_VERSION, RCC_VERSION);
        return 0;
    }
    for (int i = 0; i < NCOMMANDS; i++)
        if (strcmp(argv[1], commands[i].name) == 0)
            return commands[i].fn(argc - 1, argv + 1);
    cli_error("unknown command '%s' (try rcgc help)", argv[1]);
    return EXIT_USAGE;
}
