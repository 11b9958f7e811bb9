/*
 * bench_common.h — the harness every bench in bench/ shares: fatal errors,
 * clocks, the median of the interleaved runs, the machine lines of the
 * header, tag selection on the command line and the CPython peer (a
 * python3 script run through popen, whose last output line is parsed as
 * "key=value" fields).
 *
 * Everything here is static (inline), so each bench compiles its own copy
 * and an unused helper costs nothing.  Nothing here calls malloc directly:
 * /proc files are read with plain syscalls, so bench_alloc can use it
 * between the allocators it measures (popen does allocate; only the
 * CPython peers use it).
 *
 * The including file defines _GNU_SOURCE before its first #include (the
 * benches build with C_EXTENSIONS OFF; popen, getloadavg and
 * CLOCK_THREAD_CPUTIME_ID need it).  bench/CMakeLists.txt (rc_bench)
 * defines RC_BENCH_NAME, the prefix of every fatal error, and, for a bench
 * with a CPython peer (rc_bench_python), RC_BENCH_PYTHON and RC_BENCH_PEER.
 */
#ifndef RC_BENCH_COMMON_H
#define RC_BENCH_COMMON_H

#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#ifndef RC_BENCH_NAME
#define RC_BENCH_NAME "bench"
#endif
#ifndef RC_BENCH_PYTHON
#define RC_BENCH_PYTHON "python3"
#endif

/* The most timed runs a median is taken over. */
#define BENCH_MAX_RUNS 16

/* The suffix of a bench's title line in --quick mode. */
#define BENCH_QUICK_NOTE "  [--quick: tiny sizes, numbers mean nothing]"

/* ------------------------------------------------------------------------
 * Fatal errors, clocks, medians
 */

/* "<bench>: <message>" on stderr, then exit(1). */
static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2),
                                                     noreturn, unused));
static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs(RC_BENCH_NAME ": ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

/* Wall-clock nanoseconds (CLOCK_MONOTONIC). */
static inline uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The thread's CPU time: preemption on a shared machine does not count. */
static inline uint64_t cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Minor page faults of the process so far. */
static inline double minor_faults(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_minflt;
}

/* The median of v[0..n), n <= BENCH_MAX_RUNS; v is left as it was. */
static inline double median(const double *v, int n)
{
    double s[BENCH_MAX_RUNS];
    if (n < 1 || n > BENCH_MAX_RUNS)
        die("median of %d runs (1..%d)", n, BENCH_MAX_RUNS);
    memcpy(s, v, (size_t)n * sizeof *s);
    for (int i = 1; i < n; i++) /* insertion sort: n is small */
        for (int j = i; j > 0 && s[j - 1] > s[j]; j--) {
            double t = s[j];
            s[j] = s[j - 1];
            s[j - 1] = t;
        }
    return n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

/* ------------------------------------------------------------------------
 * The header lines and the command line
 */

/* Read a small /proc file with plain syscalls (stdio would malloc). */
static inline size_t read_text(const char *path, char *buf, size_t cap)
{
    int fd = open(path, O_RDONLY);
    ssize_t n = fd < 0 ? -1 : read(fd, buf, cap - 1);
    if (fd >= 0)
        close(fd);
    buf[n > 0 ? (size_t)n : 0] = '\0';
    return n > 0 ? (size_t)n : 0;
}

/* The "machine:" and "cpu:" lines of every bench's header. */
static inline void print_machine(void)
{
    static char buf[8192];
    struct utsname u;
    uname(&u);
    printf("machine:  %s %s %s %s\n", u.sysname, u.nodename, u.release,
           u.machine);
    read_text("/proc/cpuinfo", buf, sizeof buf);
    char *p = strstr(buf, "model name");
    char *colon = p ? strchr(p, ':') : NULL;
    int len = colon ? (int)strcspn(colon + 2, "\n") : 7;
    printf("cpu:      %.*s, %ld online\n", len, colon ? colon + 2 : "unknown",
           sysconf(_SC_NPROCESSORS_ONLN));
}

/* Is tag among the tags on the command line (none: all)? */
static inline int selected(const char *tag, char **tags, int ntags)
{
    for (int i = 0; i < ntags; i++)
        if (strcmp(tags[i], tag) == 0)
            return 1;
    return ntags == 0;
}

/* The command line `[--quick] [TAG...]`: whether --quick comes first; the
   tags after it go to *tags and *ntags. */
static inline int parse_args(int argc, char **argv, char ***tags, int *ntags)
{
    int quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
    *tags = argv + 1 + quick;
    *ntags = argc - 1 - quick;
    return quick;
}

/* The usage message of a bench run as `[--quick] [<what>...]`, where each
   <what> is one of choices; returns the exit status 2. */
static inline int usage(const char *argv0, const char *what,
                        const char *choices)
{
    fprintf(stderr, "usage: %s [--quick] [%s...]\n  %s: %s (default: all)\n",
            argv0, what, what, choices);
    return 2;
}

/* ------------------------------------------------------------------------
 * The CPython peer: `python3 -I -S [flags] <script> args`, one result line
 */
typedef struct bench_python {
    const char *script;     /* the peer script's path (RC_BENCH_PEER) */
    const char *name;       /* its file name, for messages */
    const char *key_before; /* what stands before "key=" in a result line */
    int ok;                 /* the peer answered `version` */
    /* The interpreter: RC_BENCH_PYTHON until `version` names the
       executable behind it (sys.executable), so that a wrapper such as a
       pyenv shim is not paid for in every run. */
    char exe[1024];
} bench_python;

/* Run the peer with flags (each followed by a space) and args; its last
   line goes to line.  0 on success. */
static inline int python_call(const bench_python *py, const char *flags,
                              const char *args, char *line, size_t cap)
{
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "'%s' -I -S %s'%s' %s", py->exe, flags,
             py->script, args);
    fflush(NULL);
    FILE *f = popen(cmd, "r");
    if (!f)
        return -1;
    line[0] = '\0';
    char buf[512];
    while (fgets(buf, sizeof buf, f)) { /* keep the last line, cut to cap */
        size_t n = strlen(buf) < cap ? strlen(buf) : cap - 1;
        memcpy(line, buf, n);
        line[n] = '\0';
    }
    int status = pclose(f);
    line[strcspn(line, "\n")] = '\0';
    return status == 0 && line[0] ? 0 : -1;
}

/* The number after "key=" in line, or die. */
static inline double python_field(const bench_python *py, const char *line,
                                  const char *key)
{
    char pat[64];
    snprintf(pat, sizeof pat, "%s%s=", py->key_before, key);
    const char *p = strstr(line, pat);
    if (!p)
        die("%s: no %s in \"%s\"", py->name, key, line);
    return strtod(p + strlen(pat), NULL);
}

/* Ask the peer for `version`, take the interpreter it names, and print the
   header's python line ("python: <version><sep>(<exe> -I -S <shown><script>)")
   or that the peer is skipped.  Returns py->ok. */
static inline int python_start(bench_python *py, const char *sep,
                               const char *shown)
{
    char line[512];
    py->ok = python_call(py, "", "version", line, sizeof line) == 0;
    const char *exe = py->ok ? strstr(line, " exe=") : NULL;
    if (exe && exe[5]) {
        snprintf(py->exe, sizeof py->exe, "%s", exe + 5);
        line[exe - line] = '\0';
    }
    if (py->ok)
        printf("          python: %s%s(%s -I -S %s%s)\n", line, sep, py->exe,
               shown, py->script);
    else
        printf("peer CPython not found (skipped): %s -I -S %s failed\n",
               RC_BENCH_PYTHON, py->script);
    return py->ok;
}

#endif /* RC_BENCH_COMMON_H */
