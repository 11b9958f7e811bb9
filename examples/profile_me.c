/*
 * profile_me.c — a small program with the memory habits `rcgc` is built to
 * find, profiled by `make demo`:
 *
 *   rcgc run -o profile_me.cap -- ./profile_me
 *   rcgc summary profile_me.cap
 *   rcgc leaks profile_me.cap
 *   rcgc flamegraph -o report.html profile_me.cap
 *
 * It "analyses a web server log": every line is formatted into a scratch
 * buffer and split into fields by copying each one (temporaries: allocated
 * and freed right away); the records are kept in an array that grows by
 * doubling until the whole log is loaded (the peak); a per-status summary is
 * made and the records are dropped; finally a cache of the most recent paths
 * is built, used and never freed (a real leak: the cache block is definitely
 * lost, the strings it holds indirectly lost).
 * Short pauses while loading give the timeline (a sample per 10 ms of
 * allocation activity) something to draw.
 */
#define _POSIX_C_SOURCE 200809L /* nanosleep */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { LINES = 40000, CACHE = 256 };

typedef struct record {
    char *host, *path;  /* malloc'd copies */
    int status;
    long bytes;
} record;

typedef struct cache {
    char *paths[CACHE];  /* the most recent paths, malloc'd */
    int next;
} cache;

/* A copy of n bytes of text as a string; exits when out of memory. */
static char *copy(const char *text, size_t n)
{
    char *s = malloc(n + 1);
    if (!s) {
        perror("malloc");
        exit(1);
    }
    memcpy(s, text, n);
    s[n] = '\0';
    return s;
}

/* One line of the log, in a scratch buffer the caller frees. */
static char *format_line(int i)
{
    char line[128];
    int n = snprintf(line, sizeof line, "10.0.%d.%d GET /page/%d.html %d %d", i % 256, i % 97,
                     i % 1000, i % 50 ? 200 : 404, 512 + i % 4096);
    return copy(line, (size_t)n);
}

/* Field n (space-separated) of line, as a new string. */
static char *field(const char *line, int n)
{
    while (n-- > 0 && (line = strchr(line, ' ')))
        line++;
    return line ? copy(line, strcspn(line, " ")) : copy("", 0);
}

/* The numbers are read from copies freed at once: temporaries. */
static record parse(const char *line)
{
    record r = {field(line, 0), field(line, 2), 0, 0};
    char *status = field(line, 3);
    r.status = atoi(status);
    free(status);
    char *bytes = field(line, 4);
    r.bytes = atol(bytes);
    free(bytes);
    return r;
}

/* The whole log in memory: the array doubles as it fills. */
static record *load(int n)
{
    record *all = NULL;
    size_t cap = 0;
    struct timespec pause = {0, 2 * 1000 * 1000};
    for (int i = 0; i < n; i++) {
        if ((size_t)i == cap) {
            cap = cap ? 2 * cap : 64;
            record *bigger = realloc(all, cap * sizeof *all);
            if (!bigger)
                exit(1);
            all = bigger;
        }
        char *line = format_line(i);
        all[i] = parse(line);
        free(line);
        if (i % 1000 == 0)
            nanosleep(&pause, NULL);
    }
    return all;
}

static void summarize(record *all, int n)
{
    long ok = 0, missing = 0, bytes = 0;
    for (int i = 0; i < n; i++) {
        ok += all[i].status == 200;
        missing += all[i].status == 404;
        bytes += all[i].bytes;
    }
    printf("%d requests: %ld ok, %ld not found, %ld bytes served\n", n, ok, missing, bytes);
}

static void drop(record *all, int n)
{
    for (int i = 0; i < n; i++) {
        free(all[i].host);
        free(all[i].path);
    }
    free(all);
}

static void remember(cache *c, const char *path)
{
    free(c->paths[c->next]);
    c->paths[c->next] = copy(path, strlen(path));
    c->next = (c->next + 1) % CACHE;
}

/* The leak: the cache is built, used, and never freed. */
static void recent_pages(int n)
{
    cache *recent = calloc(1, sizeof *recent);
    if (!recent)
        exit(1);
    for (int i = 0; i < n; i++) {
        char path[32];
        snprintf(path, sizeof path, "/page/%d.html", i);
        remember(recent, path);
    }
    printf("cache holds %s ... %s\n", recent->paths[0], recent->paths[CACHE - 1]);
}

int main(void)
{
    record *all = load(LINES);
    summarize(all, LINES);
    drop(all, LINES);
    recent_pages(1000);
    return 0;
}
