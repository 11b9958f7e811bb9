/*
 * cmd_run.c — `rcgc run [-o FILE] [--native-frames N] [--sample-bytes N]
 * [--unwind fp|libunwind] -- PROG ARGS...`: run PROG with the preload shim
 * and write a capture.
 *
 * The child gets LD_PRELOAD (the shim first, then whatever was there),
 * RCGC_CAPTURE (an absolute path: the program may change directory; default
 * rcgc-<prog>-<pid>.cap in the current directory), and RCGC_NATIVE_FRAMES /
 * RCGC_SAMPLE_BYTES / RCGC_UNWIND when given.  Its stdin, stdout and stderr are ours,
 * untouched.  While it runs, rcgc ignores SIGINT and SIGQUIT (as system()
 * does): a Ctrl-C reaches the program, and rcgc reports afterwards.  Exit
 * status: the program's, 128 + the signal's number when a signal killed
 * it, 127 when it could not be started.
 *
 * While the program runs, a thread of rcgc's keeps the tick page
 * (capture.h) current, and the program's environment names it: the shim
 * then checks the time with a load per event.
 *
 * The shim (librcgc_preload.so) is looked for in order: $RCGC_PRELOAD; the
 * installed layout next to this binary (RCGC_PRELOAD_RELATIVE, from the
 * directory of /proc/self/exe); the build tree (RCGC_PRELOAD_BUILD).
 */
#define _GNU_SOURCE
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef RCGC_PRELOAD_RELATIVE
#define RCGC_PRELOAD_RELATIVE "../lib/librcgc_preload.so"
#endif

enum { EXIT_NOT_RUN = 127, PATH_BUF = 2 * PATH_MAX + 2 };

typedef struct run_args {
    const char *capture;         /* -o, or NULL for the default */
    const char *frames, *sample; /* as given, or NULL */
    const char *unwind;          /* "fp" or "libunwind", or NULL */
} run_args;

/* ---- The tick page ---------------------------------------------------------- */

typedef struct ticker {
    rcc_tick_page *page;  /* NULL: none (the shim reads the coarse clock) */
    int fd;
    pthread_t thread;
    atomic_bool stop;
    bool running;
    char env[96];         /* RCC_TICK_ENV's value for the program */
} ticker;

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void *tick_loop(void *arg)
{
    ticker *k = arg;
    const struct timespec pause = {0, RCC_TICK_NS};
    while (!atomic_load_explicit(&k->stop, memory_order_relaxed)) {
        atomic_store_explicit(&k->page->mono_ns, mono_ns(), memory_order_relaxed);
        nanosleep(&pause, NULL);
    }
    return NULL;
}

/* The page, made before the fork (the program's environment names it);
   its thread starts after.  Without it the program still runs. */
static void tick_make(ticker *k)
{
    k->fd = memfd_create("rcgc-tick", MFD_CLOEXEC);
    if (k->fd < 0)
        return;
    void *p = ftruncate(k->fd, sizeof *k->page) == 0
                  ? mmap(NULL, sizeof *k->page, PROT_READ | PROT_WRITE, MAP_SHARED, k->fd, 0)
                  : MAP_FAILED;
    if (p == MAP_FAILED) {
        close(k->fd);
        return;
    }
    k->page = p;
    uint64_t token;
    if (getrandom(&token, sizeof token, GRND_NONBLOCK) != (ssize_t)sizeof token)
        token = mono_ns() ^ (uint64_t)getpid() << 32;
    k->page->token = token;
    atomic_store(&k->page->mono_ns, mono_ns());
    snprintf(k->env, sizeof k->env, "/proc/%ld/fd/%d:%llu", (long)getpid(), k->fd,
             (unsigned long long)token);
}

static void tick_start(ticker *k)
{
    k->running = k->page && pthread_create(&k->thread, NULL, tick_loop, k) == 0;
}

static void tick_end(ticker *k)
{
    if (k->running) {
        atomic_store(&k->stop, true);
        pthread_join(k->thread, NULL);
    }
    if (k->page) { /* descendants still running: read your own clock */
        atomic_store(&k->page->mono_ns, 0);
        munmap(k->page, sizeof *k->page);
        close(k->fd);
    }
}

/* ---- Running the program -------------------------------------------------------- */

static bool readable(const char *path)
{
    return path && *path && access(path, R_OK) == 0;
}

/* The shim's path in buf, or NULL. */
static const char *find_preload(char *buf, size_t len)
{
    const char *env = getenv("RCGC_PRELOAD");
    if (env && *env)
        return readable(env) ? env : NULL;
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash)
            *slash = '\0';
        snprintf(buf, len, "%s/%s", exe, RCGC_PRELOAD_RELATIVE);
        if (readable(buf))
            return buf;
    }
#ifdef RCGC_PRELOAD_BUILD
    if (readable(RCGC_PRELOAD_BUILD))
        return RCGC_PRELOAD_BUILD;
#endif
    return NULL;
}

/* The capture's absolute path for the program pid (the default name when
   none was given), in buf. */
static const char *capture_path(const run_args *a, const char *prog, pid_t pid, char *buf,
                                size_t len)
{
    char name[PATH_MAX], cwd[PATH_MAX];
    const char *base = strrchr(prog, '/');
    if (a->capture)
        snprintf(name, sizeof name, "%s", a->capture);
    else
        snprintf(name, sizeof name, "rcgc-%s-%ld.cap", base ? base + 1 : prog, (long)pid);
    if (name[0] == '/' || !getcwd(cwd, sizeof cwd))
        snprintf(buf, len, "%s", name);
    else
        snprintf(buf, len, "%s/%s", cwd, name);
    return buf;
}

static void put_env(const char *name, const char *value)
{
    if (value && setenv(name, value, 1) != 0)
        dprintf(STDERR_FILENO, "rcgc: cannot set %s: %s\n", name, strerror(errno));
}

/* In the child: set the environment and become the program. */
static void exec_program(const run_args *a, const char *preload, const ticker *k, char **argv)
{
    char capture[PATH_BUF];
    const char *old = getenv("LD_PRELOAD");
    size_t n = strlen(preload) + (old ? strlen(old) + 2 : 1);
    char *ld = malloc(n);
    if (ld)
        snprintf(ld, n, old && *old ? "%s:%s" : "%s", preload, old);
    put_env("LD_PRELOAD", ld ? ld : preload);
    put_env("RCGC_CAPTURE", capture_path(a, argv[0], getpid(), capture, sizeof capture));
    put_env("RCGC_NATIVE_FRAMES", a->frames);
    put_env("RCGC_SAMPLE_BYTES", a->sample);
    put_env("RCGC_UNWIND", a->unwind);
    if (k->page)
        put_env(RCC_TICK_ENV, k->env);
    else
        unsetenv(RCC_TICK_ENV); /* an outer rcgc run's */
    execvp(argv[0], argv);
    dprintf(STDERR_FILENO, "rcgc: cannot run %s: %s\n", argv[0], strerror(errno));
    _exit(EXIT_NOT_RUN);
}

/* Wait for pid with SIGINT and SIGQUIT ignored; its exit status. */
static int wait_program(pid_t pid)
{
    struct sigaction ignore = {.sa_handler = SIG_IGN}, old_int, old_quit;
    sigemptyset(&ignore.sa_mask);
    sigaction(SIGINT, &ignore, &old_int);
    sigaction(SIGQUIT, &ignore, &old_quit);
    int status = 0;
    pid_t got;
    while ((got = waitpid(pid, &status, 0)) < 0 && errno == EINTR)
        ;
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGQUIT, &old_quit, NULL);
    if (got < 0)
        return EXIT_NOT_RUN;
    return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
}

static int parse_run(int argc, char **argv, run_args *a)
{
    static const struct option longopts[] = {{"native-frames", required_argument, NULL, 'f'},
                                             {"sample-bytes", required_argument, NULL, 's'},
                                             {"unwind", required_argument, NULL, 'u'},
                                             {"output", required_argument, NULL, 'o'},
                                             {0}};
    uint64_t n;
    int opt;
    while ((opt = getopt_long(argc, argv, "+o:", longopts, NULL)) != -1) {
        switch (opt) {
        case 'o':
            a->capture = optarg;
            break;
        case 'f':
            if (parse_count(optarg, RCC_MAX_DEPTH, &n) < 0 || n == 0)
                return cli_usage("run", "--native-frames takes a count from 1 to %d",
                                 RCC_MAX_DEPTH);
            a->frames = optarg;
            break;
        case 's':
            if (parse_count(optarg, UINT64_MAX, &n) < 0)
                return cli_usage("run", "--sample-bytes takes a count of bytes");
            a->sample = optarg;
            break;
        case 'u':
            if (strcmp(optarg, "fp") != 0 && strcmp(optarg, "libunwind") != 0)
                return cli_usage("run", "--unwind takes fp or libunwind");
            a->unwind = optarg;
            break;
        default:
            return cli_usage("run", "unknown option");
        }
    }
    if (optind >= argc)
        return cli_usage("run", "no program given");
    return 0;
}

int cmd_run(int argc, char **argv)
{
    run_args a = {0};
    if (parse_run(argc, argv, &a) != 0)
        return EXIT_USAGE;
    char buf[PATH_BUF], capture[PATH_BUF];
    const char *preload = find_preload(buf, sizeof buf);
    if (!preload) {
        cli_error("cannot find the preload shim librcgc_preload.so%s",
                  getenv("RCGC_PRELOAD") ? " at $RCGC_PRELOAD" : " (set RCGC_PRELOAD)");
        return EXIT_NOT_RUN;
    }
    char **prog = argv + optind;
    ticker k = {.fd = -1};
    tick_make(&k);
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        cli_error("cannot fork: %s", strerror(errno));
        tick_end(&k);
        return EXIT_NOT_RUN;
    }
    if (pid == 0)
        exec_program(&a, preload, &k, prog);
    tick_start(&k);
    int status = wait_program(pid);
    tick_end(&k);
    capture_path(&a, prog[0], pid, capture, sizeof capture);
    if (access(capture, F_OK) == 0)
        cli_error("capture written to %s", capture);
    else
        cli_error("no capture was written (expected %s)", capture);
    return status;
}
