/*
 * run_output.c — the capture files of `rcgc run`, and what it says about
 * them.
 *
 * The output directory is checked before the program starts, by creating
 * the file the program will write: a hidden name beside the capture
 * (.NAME.<rcgc's pid>.part), renamed over NAME once the program has ended.
 * So the file at -o is always this run's: until the run is over it is
 * whatever was there, and afterwards it is the new capture, or nothing at
 * all when the program wrote none (an earlier file of that name is removed
 * then, so that it cannot pass for this run's).  With %p in the name each
 * process writes its own file; they are found afterwards by name and by
 * their headers (pid as in the name, started after this run did).
 *
 * Every file written is read through once: a capture that has no end
 * record (or is cut short, or corrupt) was not finished by the shim.
 */
#define _GNU_SOURCE
#include "cli.h"
#include "run.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

/* The default capture's name, for the program's pid. */
static void default_name(char *buf, size_t len, const char *prog, pid_t pid)
{
    snprintf(buf, len, "rcgc-%s-%ld.cap", base_name(prog), (long)pid);
}

/* The file the program writes (or, with %p, a probe that the directory
   takes new files), created empty.  0, or errno. */
static int create_temp(run_output *o, const char *prog)
{
    char name[NAME_MAX + 1];
    if (o->per_pid || !*o->name)
        snprintf(name, sizeof name, "rcgc-%s.cap", base_name(prog));
    else
        snprintf(name, sizeof name, "%s", o->name);
    snprintf(o->temp, sizeof o->temp, "%s/.%s.%ld.part", o->dir, name, (long)getpid());
    int fd = open(o->temp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd < 0)
        return errno;
    close(fd);
    return 0;
}

int run_output_prepare(run_output *o, const char *given, const char *prog)
{
    char cwd[PATH_MAX];
    const char *name = given ? base_name(given) : "";
    int dirlen = given ? (int)(name - given) : 0;
    if (given && !*name) {
        cli_error("cannot write the capture to %s: it names a directory", given);
        return RUN_CAPTURE_FAILED;
    }
    if (given && memmem(given, (size_t)dirlen, "%p", 2))
        return cli_usage("run", "%%p may appear in the file name only, not in its directory");
    int len;
    if (given && given[0] == '/')
        len = snprintf(o->dir, sizeof o->dir, "%.*s", dirlen ? dirlen - 1 : 0, given ? given : "");
    else if (getcwd(cwd, sizeof cwd))
        len = snprintf(o->dir, sizeof o->dir, "%s%s%.*s", cwd, dirlen ? "/" : "",
                       dirlen ? dirlen - 1 : 0, given ? given : "");
    else {
        cli_error("cannot find the current directory: %s", strerror(errno));
        return RUN_CAPTURE_FAILED;
    }
    if (len >= (int)sizeof o->dir || strlen(name) >= sizeof o->name) {
        cli_error("cannot write the capture to %s: %s", given ? given : o->dir,
                  strerror(ENAMETOOLONG));
        return RUN_CAPTURE_FAILED;
    }
    snprintf(o->name, sizeof o->name, "%s", name);
    o->per_pid = strstr(o->name, "%p") != NULL;
    if (*o->name && !o->per_pid) {
        char final[RUN_PATH];
        struct stat st;
        snprintf(final, sizeof final, "%s/%s", o->dir, o->name);
        if (stat(final, &st) == 0 && !S_ISREG(st.st_mode)) {
            cli_error("cannot write the capture to %s: %s", final,
                      S_ISDIR(st.st_mode) ? strerror(EISDIR) : "not a regular file");
            return RUN_CAPTURE_FAILED;
        }
    }
    int err = create_temp(o, prog);
    if (err) {
        cli_error("cannot write the capture in %s: %s", *o->dir ? o->dir : "/", strerror(err));
        return RUN_CAPTURE_FAILED;
    }
    if (o->per_pid) { /* the shim names the files */
        unlink(o->temp);
        o->temp[0] = '\0';
        snprintf(o->env, sizeof o->env, "%s/%s", o->dir, o->name);
    } else {
        snprintf(o->env, sizeof o->env, "%s", o->temp);
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    o->start_ns = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
    return 0;
}

void run_output_discard(run_output *o)
{
    if (*o->temp)
        unlink(o->temp);
}

/* ---- Checking what was written ----------------------------------------------- */

static int note_end(const rcc_event *e, void *ctx)
{
    if (e->kind == RCC_END)
        *(bool *)ctx = true;
    return 0;
}

/* NULL when the capture at path ends cleanly (an end record, then the end
   of the file); else what is wrong with it, in buf. */
static const char *capture_problem(const char *path, char *buf, size_t len)
{
    rcc_reader *r = rcc_reader_open(path, buf, len);
    if (!r)
        return buf;
    bool ended = false;
    int rc = rcc_read(r, note_end, &ended);
    if (rc == 0 && !ended)
        snprintf(buf, len, "it has no end record");
    else if (rc == 1)
        snprintf(buf, len, "it is cut short (%s)", rcc_reader_error(r));
    else if (rc != 0)
        snprintf(buf, len, "it is corrupt (%s)", rcc_reader_error(r));
    rcc_reader_close(r);
    return rc == 0 && ended ? NULL : buf;
}

/* Say that path was written, and whether it is complete; true if so. */
static bool report_capture(const char *path)
{
    char why[512];
    if (!capture_problem(path, why, sizeof why)) {
        cli_error("capture written to %s", path);
        return true;
    }
    cli_error("capture written to %s, but it is incomplete: %s", path, why);
    return false;
}

/* What became of the program's own capture. */
typedef enum capture_state {
    CAPTURE_COMPLETE,   /* ends with its end record */
    CAPTURE_NONE,       /* nothing written */
    CAPTURE_UNFINISHED, /* cut short, no end record, or unreadable */
    CAPTURE_MISPLACED,  /* complete or not, it could not be put at its path */
} capture_state;

/* The exit status, after saying how the program ended when it is news. */
static int outcome(const char *prog, int status, capture_state state)
{
    if (WIFSIGNALED(status)) {
        int sig = WTERMSIG(status);
        cli_error("%s was killed by signal %d (%s)", prog, sig, strsignal(sig));
        return 128 + sig;
    }
    if (state == CAPTURE_NONE)
        cli_error("%s never loaded the shim (it ran a statically linked or setuid program, or "
                  "cleared LD_PRELOAD), or the shim could not write the capture",
                  prog);
    else if (state == CAPTURE_UNFINISHED)
        cli_error("the shim could not finish the capture of %s (a write failed: is the disk "
                  "full?)",
                  prog);
    return state == CAPTURE_COMPLETE ? WEXITSTATUS(status) : RUN_CAPTURE_FAILED;
}

/* One file: rename the program's file into place. */
static int finish_one(run_output *o, const char *prog, pid_t pid, int status)
{
    char name[NAME_MAX + 1], final[RUN_PATH];
    if (*o->name)
        snprintf(name, sizeof name, "%s", o->name);
    else
        default_name(name, sizeof name, prog, pid);
    snprintf(final, sizeof final, "%s/%s", o->dir, name);
    struct stat st;
    if (stat(o->temp, &st) != 0 || st.st_size == 0) {
        unlink(o->temp);
        struct stat old;
        bool stale = stat(final, &old) == 0 && S_ISREG(old.st_mode) && unlink(final) == 0;
        cli_error("no capture was written%s", stale ? " (the earlier file of that name is removed)"
                                                    : "");
        return outcome(prog, status, CAPTURE_NONE);
    }
    if (rename(o->temp, final) != 0) {
        cli_error("cannot rename %s to %s: %s", o->temp, final, strerror(errno));
        report_capture(o->temp);
        return outcome(prog, status, CAPTURE_MISPLACED);
    }
    return outcome(prog, status, report_capture(final) ? CAPTURE_COMPLETE : CAPTURE_UNFINISHED);
}

/* ---- %p: a file per process ------------------------------------------------------ */

typedef struct written {
    char name[NAME_MAX + 1];
    uint64_t start_ns;   /* from its header */
    uint32_t pid;
} written;

/* The pid name stands for when it matches the pattern, else 0. */
static long pattern_pid(const char *pattern, const char *name)
{
    size_t lead = (size_t)(strstr(pattern, "%p") - pattern);
    if (strncmp(name, pattern, lead) != 0)
        return 0;
    char *end;
    long pid = strtol(name + lead, &end, 10);
    if (end == name + lead || name[lead] < '1' || name[lead] > '9' || pid <= 0)
        return 0;
    char expect[PATH_MAX];
    size_t o = 0;
    for (const char *p = pattern; *p && o < sizeof expect - 24; p++) {
        if (p[0] == '%' && p[1] == 'p') {
            o += (size_t)snprintf(expect + o, sizeof expect - o, "%ld", pid);
            p++;
        } else {
            expect[o++] = *p;
        }
    }
    expect[o] = '\0';
    return strcmp(expect, name) == 0 ? pid : 0;
}

static int by_start(const void *a, const void *b)
{
    const written *x = a, *y = b;
    return x->start_ns < y->start_ns ? -1 : x->start_ns > y->start_ns;
}

/* The files of this run in the directory, in the order they were started;
   their count in *n (NULL when there are none). */
static written *list_written(const run_output *o, size_t *n)
{
    *n = 0;
    DIR *d = opendir(o->dir);
    if (!d)
        return NULL;
    written *list = NULL;
    size_t cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        long pid = pattern_pid(o->name, e->d_name);
        char path[RUN_PATH], err[256];
        struct stat st;
        snprintf(path, sizeof path, "%s/%s", o->dir, e->d_name);
        if (!pid || lstat(path, &st) != 0 || !S_ISREG(st.st_mode))
            continue;
        rcc_reader *r = rcc_reader_open(path, err, sizeof err);
        const rcc_header *h = r ? rcc_reader_header(r) : NULL;
        bool ours = h && h->pid == (uint32_t)pid && h->start_realtime_ns >= o->start_ns;
        uint64_t start = h ? h->start_realtime_ns : 0;
        if (r)
            rcc_reader_close(r);
        if (!ours)
            continue;
        if (*n == cap) {
            cap = cap ? 2 * cap : 8;
            written *grown = realloc(list, cap * sizeof *list);
            if (!grown)
                break;
            list = grown;
        }
        snprintf(list[*n].name, sizeof list[*n].name, "%s", e->d_name);
        list[*n].start_ns = start;
        list[(*n)++].pid = (uint32_t)pid;
    }
    closedir(d);
    if (list)
        qsort(list, *n, sizeof *list, by_start);
    return list;
}

static int finish_per_pid(run_output *o, const char *prog, pid_t pid, int status)
{
    size_t n;
    written *list = list_written(o, &n);
    capture_state mine = CAPTURE_NONE;
    for (size_t i = 0; i < n; i++) {
        char path[RUN_PATH];
        snprintf(path, sizeof path, "%s/%s", o->dir, list[i].name);
        bool complete = report_capture(path);
        if (list[i].pid == (uint32_t)pid)
            mine = complete ? CAPTURE_COMPLETE : CAPTURE_UNFINISHED;
    }
    if (!n)
        cli_error("no capture was written (expected %s/%s)", o->dir, o->name);
    free(list);
    return outcome(prog, status, mine);
}

int run_output_finish(run_output *o, const char *prog, pid_t pid, int status)
{
    return o->per_pid ? finish_per_pid(o, prog, pid, status) : finish_one(o, prog, pid, status);
}
