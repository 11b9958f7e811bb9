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
    const char *help;         /* what --help adds: options, one per line */
} command;

/* The options of every verb that shows stacks (names_option). */
#define STACK_HELP                                                                     \
    "  --alloc-fn NAME    fold NAME (NAME* : a prefix) into its callers, like the\n"     \
    "                     built-in allocator wrappers (repeatable)\n"                    \
    "  --no-fold          keep allocator wrappers as frames\n"                           \
    "  --native           group a Python program's stacks by their innermost frame,\n"   \
    "                     not by the innermost Python frame (file:line of your code)\n"

static const command commands[] = {
    {"run", cmd_run,
     "run [-o FILE] [--native-frames N] [--sample-bytes N] [--unwind fp|libunwind]\n"
     "        -- PROG ARGS...\n"
     "        run PROG under the preload shim and write a capture; stacks are walked\n"
     "        by call-frame information (--unwind fp: frame pointers only, cheaper)",
     "  -o, --output FILE  the capture (default rcgc-PROG-PID.cap); %p: one per process\n"
     "  --native-frames N  frames per stack (default 32, at most 256)\n"
     "  --sample-bytes N   sample about one allocated byte in N (0: record every one)\n"
     "  --unwind fp|libunwind  how stacks are walked (default: call-frame information)\n"
     "Exit status: the program's, or 128+N when signal N ended it; 2 when its capture\n"
     "failed (bad -o path, static program, unfinished capture); 126/127: PROG not\n"
     "executable/found.  SIGINT, SIGTERM, SIGHUP, SIGQUIT are passed on to PROG.\n"},
    {"summary", cmd_summary, "summary [--json] FILE...\n"
                             "        peak, totals, temporaries, leaks, RSS",
     "  --json             one object per capture (an array for several)\n"},
    {"top", cmd_top, "top [--by peak|total|count|temporary] [-n N] [--json] FILE...\n"
                     "        the sites (lines) that matter most",
     "  --by METRIC        peak (default), total, count or temporary\n"
     "  -n N               rows per capture (default 10; 0: all)\n"
     "  --json             rows as JSON\n"
     STACK_HELP},
    {"leaks", cmd_leaks, "leaks [--all] [-n N] [--json] FILE...\n"
                         "        blocks never freed, grouped by stack, largest first",
     "  --all              still reachable blocks too\n"
     "  -n N               stacks per capture (default 20; 0: all)\n"
     "  --json             an array of {bytes, blocks, category, type, stack}\n"
     STACK_HELP},
    {"diff", cmd_diff, "diff [--by peak|total|leaked|count] [-n N] [--json] OLD NEW\n"
                       "   or diff --at T1 --at T2 [-n N] [--json] FILE\n"
                       "        growth by site between two captures or two times",
     "  --by METRIC        peak (default), total, leaked or count\n"
     "  --at T             a time of the capture (1.5, 1.5s, 250ms); give two\n"
     "  -n N               rows (default 20; 0: all)\n"
     "  --json             rows as JSON\n"
     STACK_HELP},
    {"flamegraph", cmd_flamegraph,
     "flamegraph [-o FILE.html] FILE\n"
     "   or flamegraph --collapsed [--by peak|leaked|total] [-o OUT] FILE\n"
     "   or flamegraph --speedscope OUT.json FILE\n"
     "   or flamegraph --pprof OUT.pb.gz FILE\n"
     "        the HTML report (flame graphs, memory over time, top tables) or an export",
     "  -o, --output FILE  where to write (default: the capture's name + .html)\n"
     "  --collapsed        folded stacks (flamegraph.pl, inferno) instead of HTML\n"
     "  --by METRIC        for --collapsed: peak (default), leaked or total\n"
     "  --speedscope OUT   speedscope's JSON format\n"
     "  --pprof OUT        pprof's gzipped profile.proto (go tool pprof)\n"
     STACK_HELP},
    {"stats", cmd_stats, "stats [--json] FILE...\n"
                         "        records, chunks, compression, stacks, modules",
     "  --json             one object per capture\n"},
    {"check", cmd_check, "check [--max-peak SIZE] [--max-leaked SIZE] FILE...\n"
                         "        exit 1 with the reason when a limit is exceeded",
     "  --max-peak SIZE    the most the heap may hold at once (100M, 1.5G)\n"
     "  --max-leaked SIZE  the most that may be lost at exit\n"
     "A capture without a clean end fails too.\n"},
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
          "Exit status: 0 done, 1 usage error, failed check or other error, 2 bad capture.\n"
          "rcgc COMMAND --help tells more about each.\n",
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

/* `rcgc VERB ... --help` (or -h), before any "--" that starts run's program. */
static bool asks_help(int argc, char **argv)
{
    for (int i = 2; i < argc && strcmp(argv[i], "--") != 0; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return true;
    return false;
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
    for (int i = 0; i < NCOMMANDS; i++) {
        if (strcmp(argv[1], commands[i].name) != 0)
            continue;
        if (asks_help(argc, argv)) {
            printf("usage: rcgc %s\n%s", commands[i].usage, commands[i].help);
            return 0;
        }
        return commands[i].fn(argc - 1, argv + 1);
    }
    cli_error("unknown command '%s' (try rcgc help)", argv[1]);
    return EXIT_USAGE;
}
