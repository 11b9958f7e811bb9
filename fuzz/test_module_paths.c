/*
 * test_module_paths.c — a capture names the module files its stacks were
 * recorded in, and the verbs that symbolize (leaks, top, flamegraph, diff)
 * open them: a hostile capture can name anything.  Here it names a FIFO
 * (an open for reading would wait for a writer forever), /dev/zero and
 * /dev/urandom (endless), a directory and a missing file.  Each verb must
 * finish (an alarm fails the test otherwise), succeed, and name those
 * frames module+offset without reading the files.
 */
#define _GNU_SOURCE
#include "capture.h"

#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int rcgc_main(int argc, char **argv); /* main.c, renamed for this build */

#define CHECK(c)                                                              \
    do {                                                                      \
        if (!(c)) {                                                           \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #c); \
            exit(1);                                                          \
        }                                                                     \
    } while (0)

static char dir[] = "/tmp/rcgc_module_paths_XXXXXX";
static char fifo[64], capture[64], out[64];

static void cleanup(void)
{
    unlink(fifo);
    unlink(capture);
    unlink(out);
    rmdir(dir);
}

static void on_alarm(int sig)
{
    (void)sig;
    static const char msg[] = "test_module_paths: a verb hung on a module path\n";
    write(2, msg, sizeof msg - 1);
    _exit(1);
}

/* One module per path, each with a stack of one frame inside it, an
   allocation there that leaks. */
static void write_capture(const char *const *paths, size_t n)
{
    int fd = open(capture, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    CHECK(fd >= 0);
    rcc_writer *w = rcc_writer_open(fd, 1);
    CHECK(w);
    for (size_t i = 0; i < n; i++) {
        uint64_t base = 0x100000000u * (i + 1);
        rcc_event m = {.kind = RCC_MODULE, .ip = base, .size = 0x10000, .text = paths[i]};
        rcc_event s = {.kind = RCC_STACK, .stack = 0, .ip = base + 0x123};
        rcc_event info = {.kind = RCC_INFO, .size = 100 + i, .stack = i + 1};
        CHECK(rcc_write(w, &m) == 0 && rcc_write(w, &s) == 0 && rcc_write(w, &info) == 0);
        CHECK(rcc_write_alloc(w, i + 1) == 0);
    }
    rcc_event end = {.kind = RCC_END, .time_us = 10, .heap_bytes = 1000};
    CHECK(rcc_write(w, &end) == 0);
    CHECK(rcc_writer_close(w) == 0);
    close(fd);
}

/* rcgc VERB ... CAPTURE with stdout in the file out; its exit status. */
static int run(const char *verb, const char *opt)
{
    char *argv[] = {"rcgc", (char *)verb, (char *)opt, capture, NULL};
    if (!opt) {
        argv[2] = capture;
        argv[3] = NULL;
    }
    fflush(stdout);
    CHECK(freopen(out, "w", stdout));
    optind = 0;
    alarm(20);
    int rc = rcgc_main(opt ? 4 : 3, argv);
    alarm(0);
    fflush(stdout);
    return rc;
}

static bool output_has(const char *text)
{
    FILE *f = fopen(out, "r");
    CHECK(f);
    static char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = 0;
    fclose(f);
    return strstr(buf, text) != NULL;
}

int main(void)
{
    CHECK(mkdtemp(dir));
    snprintf(fifo, sizeof fifo, "%s/module.fifo", dir);
    snprintf(capture, sizeof capture, "%s/hostile.cap", dir);
    snprintf(out, sizeof out, "%s/out.txt", dir);
    atexit(cleanup);
    CHECK(mkfifo(fifo, 0600) == 0);
    signal(SIGALRM, on_alarm);
    const char *const paths[] = {fifo, "/dev/zero", "/dev/urandom", "/", "/nonexistent/lib.so"};
    write_capture(paths, sizeof paths / sizeof *paths);

    static const struct {
        const char *verb, *opt;
    } verbs[] = {{"leaks", NULL}, {"top", NULL}, {"flamegraph", "--collapsed"},
                 {"summary", NULL}};
    for (size_t i = 0; i < sizeof verbs / sizeof *verbs; i++) {
        int rc = run(verbs[i].verb, verbs[i].opt);
        if (rc != 0)
            fprintf(stderr, "rcgc %s exited %d\n", verbs[i].verb, rc);
        CHECK(rc == 0);
    }
    /* the frames are named by module, as recorded */
    CHECK(run("flamegraph", "--collapsed") == 0);
    CHECK(output_has("module.fifo+0x122") && output_has("zero+0x122") &&
          output_has("urandom+0x122"));
    CHECK(run("leaks", NULL) == 0);
    CHECK(output_has("5 leaks"));
    fprintf(stderr, "module paths: a FIFO, two devices, a directory, a missing file: not read\n");
    return 0;
}
