/*
 * cmd_run.c — `rcgc run [-o FILE] [--native-frames N] [--sample-bytes N]
 * [--unwind fp|libunwind] -- PROG ARGS...`: run PROG with the preload shim
 * and write a capture.
 *
 * Before the program starts, rcgc checks what it can (run.h): the shim
 * is found, the program exists, can be executed and is not statically
 * linked, and the capture's directory takes a new file.  The child gets
 * LD_PRELOAD (the shim first, then whatever was there), RCGC_CAPTURE (an
 * absolute path: the program may change directory; the file is renamed
 * into place at the end, see run_output.c), and RCGC_NATIVE_FRAMES /
 * RCGC_SAMPLE_BYTES / RCGC_UNWIND when given.  Its stdin, stdout and
 * stderr are ours, untouched.  SIGINT, SIGTERM, SIGHUP and SIGQUIT sent to
 * rcgc are passed on to the program; rcgc waits for it either way, then
 * reports.  Exit status: the program's, 128 + the signal's number when a
 * signal killed it; 2 when nothing could be recorded (a static program, a
 * bad output path, a capture the shim could not finish); 126 and 127 as a
 * shell's (not executable, not found); 1 for a usage error.
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
#include "run.h"

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

static void put_env(const char *name, const char *value)
{
    if (value && setenv(name, value, 1) != 0)
        dprintf(STDERR_FILENO, "rcgc: cannot set %s: %s\n", name, strerror(errno));
}

/* ---- Signals ----------------------------------------------------------------------
 * SIGINT, SIGTERM, SIGHUP and SIGQUIT sent to rcgc go to the program, and
 * rcgc waits for it to end as usual.  One typed at the terminal (si_code
 * SI_KERNEL) is not passed on: the terminal sent it to the program too (the
 * same process group).  A signal rcgc was started with ignored stays
 * ignored, for the program as well. */

static const int forwarded[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};
enum { NFORWARDED = sizeof forwarded / sizeof *forwarded };

typedef struct signals {
    struct sigaction old[NFORWARDED]; /* the dispositions rcgc was started with */
    sigset_t old_mask;
} signals;

static volatile sig_atomic_t program_pid; /* 0: none to forward to */

static void forward(int sig, siginfo_t *info, void *uc)
{
    (void)uc;
    int saved = errno;
    if (program_pid > 0 && info->si_code != SI_KERNEL)
        kill((pid_t)program_pid, sig);
    errno = saved;
}

/* Before the fork: the signals blocked, then caught; the program unblocks
   them (after restoring the dispositions), rcgc once program_pid is set. */
static void signals_catch(signals *s)
{
    sigset_t block;
    sigemptyset(&block);
    for (int i = 0; i < NFORWARDED; i++)
        sigaddset(&block, forwarded[i]);
    sigprocmask(SIG_BLOCK, &block, &s->old_mask);
    struct sigaction catch = {.sa_sigaction = forward, .sa_flags = SA_SIGINFO | SA_RESTART};
    sigemptyset(&catch.sa_mask);
    for (int i = 0; i < NFORWARDED; i++) {
        sigaction(forwarded[i], NULL, &s->old[i]);
        if (s->old[i].sa_handler != SIG_IGN)
            sigaction(forwarded[i], &catch, NULL);
    }
}

static void signals_restore(const signals *s)
{
    for (int i = 0; i < NFORWARDED; i++)
        sigaction(forwarded[i], &s->old[i], NULL);
    sigprocmask(SIG_SETMASK, &s->old_mask, NULL);
}

/* In the child: set the environment and become the program. */
static void exec_program(const run_args *a, const char *preload, const ticker *k,
                         const char *capture, const char *path, char **argv)
{
    const char *old = getenv("LD_PRELOAD");
    size_t n = strlen(preload) + (old ? strlen(old) + 2 : 1);
    char *ld = malloc(n);
    if (ld)
        snprintf(ld, n, old && *old ? "%s:%s" : "%s", preload, old);
    put_env("LD_PRELOAD", ld ? ld : preload);
    put_env("RCGC_CAPTURE", capture);
    put_env("RCGC_NATIVE_FRAMES", a->frames);
    put_env("RCGC_SAMPLE_BYTES", a->sample);
    put_env("RCGC_UNWIND", a->unwind);
    if (k->page)
        put_env(RCC_TICK_ENV, k->env);
    else
        unsetenv(RCC_TICK_ENV); /* an outer rcgc run's */
    execvp(path, argv); /* a script without #! goes to /bin/sh, as in a shell */
    dprintf(STDERR_FILENO, "rcgc: cannot run %s: %s\n", argv[0], strerror(errno));
    _exit(errno == ENOENT ? RUN_NOT_FOUND : RUN_CANNOT_EXEC);
}

/* Wait for pid; its waitpid status. */
static int wait_program(pid_t pid)
{
    int status = 0;
    pid_t got;
    while ((got = waitpid(pid, &status, 0)) < 0 && errno == EINTR)
        ;
    return got < 0 ? W_EXITCODE(RUN_NOT_FOUND, 0) : status;
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

/* Everything that can be known before the program starts is checked
   first: the shim, the program, the output path. */
int cmd_run(int argc, char **argv)
{
    run_args a = {0};
    if (parse_run(argc, argv, &a) != 0)
        return EXIT_USAGE;
    char buf[RUN_PATH], path[RUN_PATH];
    const char *preload = find_preload(buf, sizeof buf);
    if (!preload) {
        cli_error("cannot find the preload shim librcgc_preload.so%s",
                  getenv("RCGC_PRELOAD") ? " at $RCGC_PRELOAD" : " (set RCGC_PRELOAD)");
        return RUN_NOT_FOUND;
    }
    char **prog = argv + optind;
    int rc = run_find_program(prog[0], path, sizeof path);
    if (rc != 0)
        return rc;
    if (run_is_static(path)) {
        cli_error("%s is statically linked: the profiler reaches a program's malloc through "
                  "the dynamic loader (LD_PRELOAD), which a static program never runs, so it "
                  "was not run; link it without -static to profile it",
                  prog[0]);
        return RUN_CAPTURE_FAILED;
    }
    run_output out;
    rc = run_output_prepare(&out, a.capture, prog[0]);
    if (rc != 0)
        return rc;
    ticker k = {.fd = -1};
    tick_make(&k);
    signals sig;
    signals_catch(&sig);
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        signals_restore(&sig);
        exec_program(&a, preload, &k, out.env, path, prog);
    }
    if (pid < 0) {
        cli_error("cannot fork: %s", strerror(errno));
        signals_restore(&sig);
        tick_end(&k);
        run_output_discard(&out);
        return RUN_NOT_FOUND;
    }
    program_pid = pid;
    tick_start(&k); /* its thread keeps the signals blocked */
    sigprocmask(SIG_SETMASK, &sig.old_mask, NULL);
    int status = wait_program(pid);
    program_pid = 0;
    signals_restore(&sig);
    tick_end(&k);
    return run_output_finish(&out, prog[0], pid, status);
}
