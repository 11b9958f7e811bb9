/*
 * test_shim_objects.c — librcgc's managed objects in the preload shim's
 * capture: a program linked with rcgc_static runs under the shim, and its
 * objects come out as A/F records with their type names (T records), next
 * to its raw malloc blocks (docs/CAPTURE.md, "Managed objects").
 *
 * One binary, two roles, as test_shim: "test_shim_objects SCENARIO" runs
 * itself as "test_shim_objects child SCENARIO" under the shim and reads the
 * capture back.  Scenarios:
 *   keep      objects still alive at exit (no rc_heap_free): their leak
 *             records say which the program still holds (a forgotten
 *             pair is lost although librcgc's pool pages, anonymous
 *             mappings, are roots: the objects in them are not)
 *   teardown  rc_heap_free at the end: every object has its free
 * Expected figures are exact: per type name, allocations, bytes (header
 * included), frees; the innermost frame of a widget's stack is rc_new_var,
 * and the site that called it is on the stack.
 */
#define _GNU_SOURCE
#include "capture.h"
#include "check.h"

#include <dlfcn.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/wait.h>
#include <unistd.h>

#define NOINLINE __attribute__((noinline, used))

enum { WIDGETS = 100, WIDGETS_KEPT = 30, ALIASES = 5, STRS = 10, STRS_KEPT = 6 };
#define WIDGET_PAYLOAD 40
#define RAW_KEPT 333

static const rc_type widget_type = {.name = "widget", .size = WIDGET_PAYLOAD};
static const rc_type pair_type = {.name = "pair", .size = sizeof(void *)};
/* The same name at another address: one type id for both. */
static char alias_name[] = "widget";
static const rc_type widget_alias = {.name = alias_name, .size = WIDGET_PAYLOAD};

/* ======================================================================
 * The child
 * ====================================================================== */

void *g_kept[WIDGETS_KEPT + ALIASES + STRS_KEPT]; /* a root: reachable */
void *g_raw;

void *site_widget(rc_heap *h, const rc_type *t);
NOINLINE void *site_widget(rc_heap *h, const rc_type *t)
{
    void *w = rc_new(h, t);
    return w;
}

static int child(const char *scenario)
{
    rc_heap *h = rc_heap_new(NULL);
    CHECK(h);
    size_t k = 0;
    for (int i = 0; i < WIDGETS; i++) {
        void *w = site_widget(h, &widget_type);
        CHECK(w);
        if (i % 10 < 3)
            g_kept[k++] = w;
        else
            rc_decref(w);
    }
    for (int i = 0; i < ALIASES; i++)
        g_kept[k++] = site_widget(h, &widget_alias);
    for (int i = 0; i < STRS; i++) {
        char text[64];
        snprintf(text, sizeof text, "string number %d, long enough not to be small", i);
        void *s = rc_str_cstr(h, text);
        CHECK(s);
        if (i < STRS_KEPT)
            g_kept[k++] = s;
        else
            rc_decref(s);
    }
    CHECK(k == sizeof g_kept / sizeof *g_kept);
    void **first = site_widget(h, &pair_type); /* forgotten: it holds the second */
    CHECK(first);
    first[0] = site_widget(h, &pair_type);
    first = NULL;
    void *raw = rc_mem_alloc(h, 1000); /* a raw block of the heap: not recorded */
    CHECK(raw);
    rc_mem_free(h, raw);
    g_raw = malloc(RAW_KEPT);
    /* for the checker: where the functions are in this process */
    printf("%" PRIxPTR "\n", (uintptr_t)rc_new_var);
    fflush(stdout);
    if (strcmp(scenario, "teardown") == 0) {
        for (size_t i = 0; i < k; i++)
            if (i % 2) /* half released by hand, half by rc_heap_free */
                rc_decref(g_kept[i]);
        rc_heap_free(h);
        memset(g_kept, 0, sizeof g_kept);
    }
    return 0;
}

/* ======================================================================
 * The checker
 * ====================================================================== */

#define MAX_ALLOCS 100000
#define MAX_NODES 100000

typedef struct block {
    uint64_t info, size, node, type;
    bool freed;
    int leak; /* -1: no L record */
} block;

static struct {
    char types[64][64];
    size_t ntypes;
    block *a;
    size_t na;
    struct { uint64_t parent, ip; } *nodes;
    size_t nnodes;
    struct { uint64_t size, node, type; } *infos;
    size_t ninfos;
    size_t unmatched_frees;
    bool ended;
} cap;

/* The oldest live block of an info not yet named by an L record: blocks of
   one info are alike, and with one thread frees come in order. */
static block *live_of(uint64_t info)
{
    for (size_t i = 0; i < cap.na; i++)
        if (cap.a[i].info == info && !cap.a[i].freed && cap.a[i].leak == -1)
            return &cap.a[i];
    return NULL;
}

static int on_record(const rcc_event *e, void *ctx)
{
    (void)ctx;
    switch (e->kind) {
    case RCC_TYPE:
        CHECK(e->id == cap.ntypes + 1); /* ids in order, each once */
        CHECK(e->id < 64 && strlen(e->text) < 64);
        strcpy(cap.types[cap.ntypes++], e->text);
        break;
    case RCC_STACK:
        CHECK(cap.nnodes < MAX_NODES);
        cap.nodes[cap.nnodes].parent = e->stack;
        cap.nodes[cap.nnodes++].ip = e->ip;
        break;
    case RCC_INFO:
        CHECK(cap.ninfos < MAX_ALLOCS && e->id == cap.ninfos + 1);
        CHECK(e->type <= cap.ntypes); /* its T came first */
        cap.infos[cap.ninfos].size = e->size;
        cap.infos[cap.ninfos].node = e->stack;
        cap.infos[cap.ninfos++].type = e->type;
        break;
    case RCC_ALLOC:
        CHECK(cap.na < MAX_ALLOCS);
        cap.a[cap.na++] = (block){e->id, cap.infos[e->id - 1].size, cap.infos[e->id - 1].node,
                                  cap.infos[e->id - 1].type, false, -1};
        break;
    case RCC_FREE:
    case RCC_TEMP: {
        block *b = live_of(e->id);
        if (b)
            b->freed = true;
        else
            cap.unmatched_frees++;
        break;
    }
    case RCC_LEAK:
        for (uint64_t k = 0; k < e->count; k++) {
            block *b = live_of(e->id);
            CHECK(b);
            b->leak = (int)e->status;
        }
        break;
    case RCC_END:
        cap.ended = true;
        break;
    }
    return 0;
}

typedef struct tally {
    size_t allocs, frees, live, reachable, lost;
    uint64_t bytes;
} tally;

static tally tally_of(const char *type) /* NULL: raw malloc */
{
    tally t = {0};
    for (size_t i = 0; i < cap.na; i++) {
        const block *b = &cap.a[i];
        if (type ? !(b->type && strcmp(cap.types[b->type - 1], type) == 0) : b->type != 0)
            continue;
        t.allocs++;
        t.bytes += b->size;
        t.frees += b->freed;
        t.live += !b->freed;
        t.reachable += b->leak == RCC_REACHABLE;
        t.lost += b->leak == RCC_INDIRECT || b->leak == RCC_DEFINITE;
        if (!b->freed)
            CHECK(b->leak != -1); /* the scan names every live block */
    }
    return t;
}

static char self_exe[4096];

static void record(const char *scenario, const char *path, uintptr_t *new_var)
{
    int fds[2];
    CHECK(pipe(fds) == 0);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        dup2(fds[1], 1);
        close(fds[0]);
        close(fds[1]);
        setenv("LD_PRELOAD", SHIM_PATH, 1);
        setenv("RCGC_CAPTURE", path, 1);
        unsetenv("RCGC_CAPTURE_OWNER");
        unsetenv("RCGC_SAMPLE_BYTES");
        execl(self_exe, "test_shim_objects", "child", scenario, (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    char out[256] = {0};
    size_t got = 0;
    ssize_t n;
    while ((n = read(fds[0], out + got, sizeof out - 1 - got)) > 0)
        got += (size_t)n;
    close(fds[0]);
    int st;
    CHECK(waitpid(pid, &st, 0) == pid);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    CHECK(sscanf(out, "%" SCNxPTR, new_var) == 1);
}

static void read_back(const char *path)
{
    free(cap.a);
    free(cap.nodes);
    free(cap.infos);
    memset(&cap, 0, sizeof cap);
    cap.a = calloc(MAX_ALLOCS, sizeof *cap.a);
    cap.nodes = calloc(MAX_NODES, sizeof *cap.nodes);
    cap.infos = calloc(MAX_ALLOCS, sizeof *cap.infos);
    CHECK(cap.a && cap.nodes);
    char err[256];
    rcc_reader *r = rcc_reader_open(path, err, sizeof err);
    CHECK(r);
    CHECK(rcc_read(r, on_record, NULL) == 0);
    rcc_reader_close(r);
    CHECK(cap.ended);
}

/* The function of the child's address ip (the same executable: same
   offsets from a known function). */
static const char *name_of(uint64_t ip, uintptr_t child_new_var)
{
    Dl_info info;
    uintptr_t own = (uintptr_t)ip - child_new_var + (uintptr_t)rc_new_var;
    if (!dladdr((void *)(own - 1), &info) || !info.dli_sname)
        return "?";
    return info.dli_sname;
}

static void check_scenario(const char *scenario)
{
    char path[] = "/tmp/rcgc_test_shim_objects_XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    close(fd);
    uintptr_t new_var;
    record(scenario, path, &new_var);
    read_back(path);
    unlink(path);
    bool teardown = strcmp(scenario, "teardown") == 0;

    /* the type names, once each; "widget" once for two name pointers */
    size_t widgets_named = 0;
    for (size_t i = 0; i < cap.ntypes; i++)
        widgets_named += strcmp(cap.types[i], "widget") == 0;
    CHECK(widgets_named == 1);

    size_t head = sizeof(rc_head);
    tally w = tally_of("widget");
    CHECK(w.allocs == WIDGETS + ALIASES);
    CHECK(w.bytes == (WIDGETS + ALIASES) * (WIDGET_PAYLOAD + head));
    size_t kept = WIDGETS_KEPT + ALIASES;
    if (teardown) {
        CHECK(w.frees == w.allocs && w.live == 0);
    } else {
        CHECK(w.frees == WIDGETS - WIDGETS_KEPT);
        CHECK(w.live == kept && w.reachable == kept && w.lost == 0);
    }

    tally p = tally_of("pair");
    CHECK(p.allocs == 2 && p.live == (teardown ? 0 : 2));
    if (!teardown)
        CHECK(p.reachable == 0 && p.lost == 2);

    tally s = tally_of("str");
    CHECK(s.allocs >= STRS);
    if (teardown)
        CHECK(s.frees == s.allocs);
    else
        CHECK(s.frees >= STRS - STRS_KEPT && s.reachable >= STRS_KEPT);

    /* raw malloc in the same capture, and no raw block of the heap (1000
       bytes, by rc_mem_alloc) anywhere */
    tally m = tally_of(NULL);
    bool raw_kept = false;
    for (size_t i = 0; i < cap.na; i++) {
        raw_kept |= cap.a[i].type == 0 && cap.a[i].size == RAW_KEPT && !cap.a[i].freed &&
                    cap.a[i].leak == RCC_REACHABLE;
        CHECK(cap.a[i].size != 1000);
    }
    CHECK(m.allocs >= 1 && raw_kept);
    CHECK(cap.unmatched_frees == 0);

    /* each widget's stack: rc_new_var innermost, the site further out */
    for (size_t i = 0; i < cap.na; i++) {
        const block *b = &cap.a[i];
        if (!b->type || strcmp(cap.types[b->type - 1], "widget") != 0)
            continue;
        CHECK(b->node >= 1 && b->node <= cap.nnodes);
        CHECK(strcmp(name_of(cap.nodes[b->node - 1].ip, new_var), "rc_new_var") == 0);
        bool seen = false;
        for (uint64_t n = b->node; n && !seen; n = cap.nodes[n - 1].parent)
            seen = strcmp(name_of(cap.nodes[n - 1].ip, new_var), "site_widget") == 0;
        CHECK(seen);
    }
    printf("%s: widget %zu allocs, %llu bytes, %zu frees; str %zu allocs; malloc %zu\n",
           scenario, w.allocs, (unsigned long long)w.bytes, w.frees, s.allocs, m.allocs);
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "child") == 0)
        return child(argv[2]);
    ssize_t n = readlink("/proc/self/exe", self_exe, sizeof self_exe - 1);
    CHECK(n > 0);
    self_exe[n] = 0;
    CHECK(argc == 2);
    check_scenario(argv[1]);
    return 0;
}
