/*
 * test_shim.c — the preload shim (tools/preload) on programs with known
 * allocation behaviour, checked record by record.
 *
 * One binary, two roles.  "test_shim SCENARIO" is the checker: it runs
 * itself as "test_shim child SCENARIO" with LD_PRELOAD and RCGC_CAPTURE set,
 * then reads the capture back.  Being the same executable, the checker
 * names the child's return addresses with its own symbols (dladdr, the
 * binary is linked with -rdynamic): child address - child's module base =
 * own address - own base.  Each allocation happens in a site_* function of
 * its own, so a stack's innermost frame says which site made it.
 *
 * Expected figures are exact: counts and bytes per site, alignment, the
 * reachability of each leak, the exit status, the peak (replayed from the
 * records when there is one thread), the balance of allocations, frees and
 * leak records across 8 threads, captures of fork children and exec'd
 * images, and a dlopen'ed library's frames inside its module record.
 */
#define _GNU_SOURCE
#include "capture.h"
#include "check.h"

#include <dirent.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sched.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <malloc.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define NOINLINE __attribute__((noinline, used))

/* ======================================================================
 * The child: scenarios
 * ====================================================================== */

static void *volatile sink; /* defeats dead-store elimination */
void *g_root;               /* a global root */
char *g_interior;           /* points into the middle of a block */
void **g_anon;              /* an anonymous mapping of the program's own */
void *teardown_alloc(size_t n); /* shim_teardown.c (a library linked in) */
void *g_kept[8];

NOINLINE void *site_malloc(size_t n) { void *p = malloc(n); return p; }
NOINLINE void *site_calloc(size_t n, size_t s) { void *p = calloc(n, s); return p; }
static volatile size_t huge = SIZE_MAX / 2; /* hidden from the compiler's checks */
NOINLINE void *site_calloc_overflow(void) { void *p = calloc(huge, 4); return p; }
NOINLINE void *site_realloc(void *p, size_t n) { void *q = realloc(p, n); return q; }
NOINLINE void *site_reallocarray(void *p, size_t n, size_t s) { void *q = reallocarray(p, n, s); return q; }
NOINLINE void *site_posix_memalign(size_t a, size_t n) { void *p = NULL; int rc = posix_memalign(&p, a, n); return rc ? NULL : p; }
NOINLINE void *site_aligned_alloc(size_t a, size_t n) { void *p = aligned_alloc(a, n); return p; }
NOINLINE void *site_memalign(size_t a, size_t n) { void *p = memalign(a, n); return p; }
NOINLINE void *site_valloc(size_t n) { void *p = valloc(n); return p; }
NOINLINE void *site_pvalloc(size_t n) { void *p = pvalloc(n); return p; }
NOINLINE void *site_kept(size_t n) { void *p = malloc(n); return p; }

NOINLINE void child_family(void)
{
    for (int i = 0; i < 10; i++)
        free(site_malloc(100));
    for (int i = 0; i < 5; i++) {
        unsigned char *p = site_calloc(10, 20);
        for (int j = 0; j < 200; j++)
            CHECK(p[j] == 0);
        free(p);
    }
    errno = 0;
    CHECK(site_calloc_overflow() == NULL && errno == ENOMEM);
    void *p = site_realloc(NULL, 10);
    p = site_realloc(p, 100);
    p = site_realloc(p, 1000);
    CHECK(malloc_usable_size(p) >= 1000);
    CHECK(site_realloc(p, 0) == NULL); /* glibc: frees */
    p = site_reallocarray(NULL, 7, 9);
    p = site_reallocarray(p, 8, 9);
    errno = 0;
    CHECK(reallocarray(p, huge, 4) == NULL && errno == ENOMEM);
    free(p);
    p = site_posix_memalign(64, 200);
    CHECK(p && (uintptr_t)p % 64 == 0);
    free(p);
    p = site_aligned_alloc(128, 256);
    CHECK(p && (uintptr_t)p % 128 == 0);
    free(p);
    p = site_memalign(32, 48);
    CHECK(p && (uintptr_t)p % 32 == 0);
    free(p);
    p = site_valloc(1000);
    CHECK(p && (uintptr_t)p % 4096 == 0);
    free(p);
    p = site_pvalloc(5000);
    CHECK(p && (uintptr_t)p % 4096 == 0 && malloc_usable_size(p) >= 8192);
    free(p);
    free(NULL);
    g_kept[0] = site_kept(777);
    printf("family done\n");
}

/* ---- leaks of each kind ---- */
struct node {
    struct node *next;
    char pad[40];
};
NOINLINE void *site_reach_root(void) { void *p = malloc(64); return p; }
NOINLINE void *site_reach_child(void) { void *p = malloc(32); return p; }
NOINLINE void *site_reach_interior(void) { void *p = malloc(100); return p; }
NOINLINE void *site_lost_head(void) { void *p = calloc(1, sizeof(struct node)); return p; }
NOINLINE void *site_lost_tail(void) { void *p = calloc(1, 40); return p; }
NOINLINE void *site_lost_plain(void) { void *p = malloc(24); return p; }
NOINLINE void *site_cycle(void) { void *p = calloc(1, sizeof(struct node)); return p; }
NOINLINE void *site_freed(void) { void *p = malloc(56); return p; }
NOINLINE void *site_possible_child(void) { void *p = malloc(72); return p; }
NOINLINE void *site_reach_anon(void) { void *p = malloc(88); return p; }
NOINLINE void *site_reach_length64(void) { void *p = malloc(48); return p; }
NOINLINE void *site_reach_huge_map(void) { void *p = malloc(104); return p; }

/* Pointers to lost blocks must not linger where the scan looks: these run
   in frames that are dead by exit, and their locals are overwritten. */
NOINLINE static void make_leaks(void)
{
    void **root = site_reach_root();
    root[0] = site_reach_child();
    g_root = root;
    g_interior = (char *)site_reach_interior() + 50;
    /* reached only through the possibly lost block: possibly lost too */
    void *possible = site_possible_child();
    memcpy(g_interior - 50, &possible, sizeof possible);
    possible = NULL;
    /* only an anonymous mapping (an arena allocator's page) points to it */
    g_anon = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(g_anon != MAP_FAILED);
    g_anon[7] = site_reach_anon();
    /* memcheck's length64: past a first word that holds the rest's size */
    uint64_t *sized = site_reach_length64();
    sized[0] = 48 - 8;
    g_anon[8] = sized + 1;
    sized = NULL;
    /* a 2 GiB reservation, one page touched: the scan skips the rest */
    size_t reserve = (size_t)2 << 30;
    void **reserved = mmap(NULL, reserve, PROT_READ | PROT_WRITE,
                           MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    CHECK(reserved != MAP_FAILED);
    reserved[reserve / 2 / sizeof *reserved] = site_reach_huge_map();
    struct node *head = site_lost_head();
    head->next = site_lost_tail();
    head = NULL;
    struct node *a = site_cycle(), *b = site_cycle();
    a->next = b;
    b->next = a;
    a = b = NULL;
    sink = site_lost_plain();
    sink = NULL;
    free(site_freed());
}

NOINLINE static void scrub_stack(void)
{
    volatile char junk[16384];
    memset((char *)junk, 0, sizeof junk);
}

static void child_leaks(void)
{
    make_leaks();
    scrub_stack();
}

/* The same, where process_vm_readv is forbidden (as in a container's
   default seccomp profile): the scan reads memory directly. */
static void child_leaks_seccomp(void)
{
    struct sock_filter f[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_process_vm_readv, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog prog = {sizeof f / sizeof *f, f};
    CHECK(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0);
    CHECK(prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) == 0);
    char a = 1, b = 0;
    struct iovec l = {&b, 1}, r = {&a, 1};
    CHECK(process_vm_readv(getpid(), &l, 1, &r, 1, 0) == -1 && errno == EPERM);
    child_leaks();
}

/* A block of 5 GiB (its size does not fit the shadow's word). */
NOINLINE void *site_huge(size_t n) { void *p = malloc(n); return p; }

static void child_huge(void)
{
    void *p = site_huge((size_t)5 << 30);
    printf("%s\n", p ? "huge" : "none");
    g_kept[0] = p;
}

/* ---- exit paths ---- */
NOINLINE static void deep_exit(int how)
{
    g_kept[1] = site_kept(10);
    if (how == 1)
        exit(5);
    _exit(7);
}

/* ---- threads ---- */
#define THREADS 8
#define PER_THREAD 10000
static void *blocks[THREADS][PER_THREAD];
static pthread_barrier_t barrier;

NOINLINE void *site_thread_alloc(size_t n) { void *p = malloc(n); return p; }

static void *thread_main(void *arg)
{
    int t = (int)(intptr_t)arg;
    for (int i = 0; i < PER_THREAD; i++) {
        blocks[t][i] = site_thread_alloc((size_t)(t + 1) * 8);
        if (i % 100 == 0) /* some churn of its own */
            free(site_malloc(16));
    }
    pthread_barrier_wait(&barrier);
    int other = (t + 1) % THREADS; /* free another thread's blocks */
    for (int i = 0; i < PER_THREAD; i++)
        free(blocks[other][i]);
    return NULL;
}

static void child_threads(void)
{
    pthread_t th[THREADS];
    CHECK(pthread_barrier_init(&barrier, NULL, THREADS) == 0);
    for (int t = 0; t < THREADS; t++)
        CHECK(pthread_create(&th[t], NULL, thread_main, (void *)(intptr_t)t) == 0);
    for (int t = 0; t < THREADS; t++)
        CHECK(pthread_join(th[t], NULL) == 0);
    pthread_barrier_destroy(&barrier);
}

NOINLINE void *site_in_child(void) { void *p = malloc(222); return p; }

/* Threads come and go: their states are reused, their records all land. */
static void *churn_main(void *arg)
{
    void **out = arg;
    for (int i = 0; i < 50; i++)
        free(site_malloc(24));
    *out = site_thread_alloc(40); /* freed by main after the join */
    return NULL;
}

static void child_churn(void)
{
    for (int round = 0; round < 100; round++) {
        pthread_t th[4];
        void *got[4];
        for (int t = 0; t < 4; t++)
            CHECK(pthread_create(&th[t], NULL, churn_main, &got[t]) == 0);
        for (int t = 0; t < 4; t++) {
            CHECK(pthread_join(th[t], NULL) == 0);
            free(got[t]);
        }
    }
}

/* More threads over the process's life than the shim's thread table has
   slots (16384): 20,000 one after another, each on a stack whose top (so
   its thread pointer) is a page past the last one's (the stacks overlap:
   only one runs at a time), then rounds of threads at once, half on such
   stacks (a lane each) and half on glibc's (cached: a new thread gets an
   ended one's descriptor).  Each allocates a temporary, a block main
   frees after the join, and one its key destructor frees (after the
   shim's: the thread is ending).  A stack's pages are given back after
   the join. */
#define MANY_SEQUENTIAL 20000
#define MANY_ROUNDS 1000
#define MANY_AT_ONCE 8
#define MANY_THREADS (MANY_SEQUENTIAL + MANY_ROUNDS * MANY_AT_ONCE)
#define MANY_LANES (1 + MANY_AT_ONCE / 2)
#define MANY_STACK ((size_t)1 << 20) /* TSan asks for 900 KiB */
#define MANY_STEP ((size_t)4096)
#define MANY_LANE (MANY_SEQUENTIAL * MANY_STEP + MANY_STACK)

NOINLINE void *site_many_temp(size_t n) { void *p = malloc(n); return p; }
NOINLINE void *site_many_kept(size_t n) { void *p = malloc(n); return p; }
NOINLINE void *site_many_dtor(size_t n) { void *p = malloc(n); return p; }

static pthread_key_t many_key; /* made after the shim's: its destructor runs later */
static void *many_kept[MANY_THREADS];
static char *many_lanes;       /* MANY_LANES of MANY_LANE bytes, reserved */
static size_t many_used[MANY_LANES];

static void *many_main(void *arg)
{
    free(site_many_temp(32));
    *(void **)arg = site_many_kept(48);
#ifndef __SANITIZE_THREAD__ /* the TSan build does not trace key destructors */
    CHECK(pthread_setspecific(many_key, site_many_dtor(16)) == 0);
#endif
    return NULL;
}

/* Thread i started on its lane's next stack (lane < 0: glibc's); the stack
   or NULL. */
static char *many_start(pthread_t *th, size_t i, int lane)
{
    pthread_attr_t a;
    char *stack = NULL;
    CHECK(pthread_attr_init(&a) == 0);
    if (lane >= 0) {
        stack = many_lanes + (size_t)lane * MANY_LANE + many_used[lane]++ * MANY_STEP;
        CHECK(pthread_attr_setstack(&a, stack, MANY_STACK) == 0);
    }
    CHECK(pthread_create(th, &a, many_main, &many_kept[i]) == 0);
    pthread_attr_destroy(&a);
    return stack;
}

static void many_join(pthread_t th, char *stack)
{
    CHECK(pthread_join(th, NULL) == 0);
    if (stack)
        CHECK(madvise(stack, MANY_STACK, MADV_DONTNEED) == 0);
}

static void child_many_threads(void)
{
    CHECK(pthread_key_create(&many_key, free) == 0);
    many_lanes = mmap(NULL, MANY_LANES * MANY_LANE, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    CHECK(many_lanes != MAP_FAILED);
    size_t i = 0;
    for (; i < MANY_SEQUENTIAL; i++) {
        pthread_t th;
        many_join(th, many_start(&th, i, 0));
    }
    for (int round = 0; round < MANY_ROUNDS; round++) {
        pthread_t th[MANY_AT_ONCE];
        char *stack[MANY_AT_ONCE];
        for (int t = 0; t < MANY_AT_ONCE; t++)
            stack[t] = many_start(&th[t], i + (size_t)t, t % 2 ? -1 : 1 + t / 2);
        for (int t = 0; t < MANY_AT_ONCE; t++)
            many_join(th[t], stack[t]);
        i += MANY_AT_ONCE;
    }
    CHECK(i == MANY_THREADS && many_used[0] == MANY_SEQUENTIAL);
    for (int lane = 1; lane < MANY_LANES; lane++)
        CHECK(many_used[lane] == MANY_ROUNDS);
    for (i = 0; i < MANY_THREADS; i++)
        free(many_kept[i]);
}

/* A slot handed from one thread to another with no join between them
   (tools/preload/slots.c): A, on a stack of its own, allocates and ends;
   once it is gone (tgkill), B takes A's state, which gives A's slot back;
   then C, on a stack whose thread pointer has the same home slot as A's,
   claims that slot.  Nothing is joined before C has allocated, so only
   the shim's hand-over orders A's last writes to the slot before C's
   reads (under TSan: what it must see, or it reports a race). */
#define HANDOVER_STACK ((size_t)1 << 20)
#define HANDOVER_PAGES ((size_t)1 << 17) /* where C's stack is looked for */
#define HANDOVER_SLOT_BITS 14            /* shim.h's SLOT_BITS and slot_home */

NOINLINE void *site_handover_a(void) { void *p = malloc(24); return p; }
NOINLINE void *site_handover_b(void) { void *p = malloc(40); return p; }
NOINLINE void *site_handover_c(void) { void *p = malloc(56); return p; }

static size_t handover_home(uintptr_t tp)
{
    return (size_t)((tp * UINT64_C(0x9E3779B97F4A7C15)) >> (64 - HANDOVER_SLOT_BITS));
}

typedef struct handover {
    void *(*site)(void);
    void *kept;           /* its block, freed by main after the joins */
    uintptr_t tp;         /* its thread pointer */
    _Atomic pid_t tid;    /* its kernel id, once it has allocated */
} handover;

static void *handover_main(void *arg)
{
    handover *h = arg;
    h->kept = h->site();
    h->tp = (uintptr_t)__builtin_thread_pointer();
    atomic_store(&h->tid, (pid_t)syscall(SYS_gettid));
    return NULL;
}

static void handover_start(pthread_t *th, handover *h, char *stack)
{
    pthread_attr_t a;
    CHECK(pthread_attr_init(&a) == 0);
    if (stack)
        CHECK(pthread_attr_setstack(&a, stack, HANDOVER_STACK) == 0);
    CHECK(pthread_create(th, &a, handover_main, h) == 0);
    pthread_attr_destroy(&a);
    while (!atomic_load(&h->tid))
        usleep(100);
}

static void child_slot_handover(void)
{
    char *area = mmap(NULL, HANDOVER_PAGES * 4096 + HANDOVER_STACK, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    CHECK(area != MAP_FAILED);
    handover a = {.site = site_handover_a}, b = {.site = site_handover_b},
             c = {.site = site_handover_c};
    pthread_t ta, tb, tc;
    handover_start(&ta, &a, area);
    while (syscall(SYS_tgkill, getpid(), a.tid, 0) == 0)
        usleep(100); /* A gone, not joined */
    CHECK(errno == ESRCH);
    handover_start(&tb, &b, NULL);
    size_t page = 1; /* a stack k pages up has its thread pointer k pages up */
    while (page < HANDOVER_PAGES && handover_home(a.tp + page * 4096) != handover_home(a.tp))
        page++;
    CHECK(page < HANDOVER_PAGES);
    handover_start(&tc, &c, area + page * 4096);
    CHECK(c.tp == a.tp + page * 4096);
    CHECK(pthread_join(ta, NULL) == 0 && pthread_join(tb, NULL) == 0 &&
          pthread_join(tc, NULL) == 0);
    free(a.kept);
    free(b.kept);
    free(c.kept);
}

/* exit while other threads allocate and free as fast as they can: the
   capture ends cleanly and nothing crashes. */
static atomic_uint spun; /* allocations made by spin_main (slow under TSan) */

static void *spin_main(void *arg)
{
    (void)arg;
    void *keep[64] = {0};
    for (unsigned i = 0;; i++) {
        atomic_fetch_add_explicit(&spun, 1, memory_order_relaxed);
        unsigned k = (i * 2654435761u) >> 26;
        free(keep[k]);
        keep[k] = site_malloc(16 + (i & 1023) * 64); /* some large, mmap'd */
    }
    return NULL;
}

static void child_exit_race(void)
{
    pthread_t th[4];
    for (int t = 0; t < 4; t++)
        CHECK(pthread_create(&th[t], NULL, spin_main, NULL) == 0);
    usleep(50000);
    while (atomic_load(&spun) < 2000) /* the checker wants over 1000 */
        usleep(1000);
    exit(0);
}

/* Wait for a forked child, which must have exited with status 0. */
static void wait_clean(pid_t pid)
{
    int st;
    CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

NOINLINE void *site_in_child_thread(void) { void *p = malloc(321); return p; }

static void *child_thread_main(void *arg)
{
    (void)arg;
    g_kept[2] = site_in_child_thread();
    return NULL;
}

/* fork while other threads allocate: the child (with %p) writes its own.
   with_thread: the child starts a thread too; glibc starts it on one of
   the parent's threads' stacks, so it gets that thread's thread pointer,
   and must not find that thread's flags or state (tools/preload/slots.c).
   (Not under TSan, which does not support threads after such a fork.) */
static void child_fork_threads(bool with_thread)
{
    pthread_t th[2];
    for (int t = 0; t < 2; t++)
        CHECK(pthread_create(&th[t], NULL, spin_main, NULL) == 0);
    usleep(20000);
    for (int i = 0; i < 3; i++) {
        pid_t pid = fork();
        CHECK(pid >= 0);
        if (pid == 0) {
            g_kept[1] = site_in_child();
            pthread_t th_child;
            if (with_thread) {
                CHECK(pthread_create(&th_child, NULL, child_thread_main, NULL) == 0);
                CHECK(pthread_join(th_child, NULL) == 0);
            }
            _exit(0);
        }
        wait_clean(pid);
    }
    exit(0);
}

/* ---- fork and exec ---- */
NOINLINE void *site_before_fork(void) { void *p = malloc(111); return p; }
NOINLINE void *site_in_parent(void) { void *p = malloc(333); return p; }
NOINLINE void *site_exec_target(void) { void *p = malloc(444); return p; }
NOINLINE void *site_exec_before(void) { void *p = malloc(555); return p; }

static void child_fork(void)
{
    g_kept[0] = site_before_fork();
    fflush(stdout);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        g_kept[1] = site_in_child();
        exit(0);
    }
    wait_clean(pid);
    g_kept[2] = site_in_parent();
    printf("child %d\n", (int)pid);
}

static void exec_self(const char *scenario)
{
    fflush(stdout);
    execl("/proc/self/exe", "test_shim", "child", scenario, (char *)NULL);
    CHECK(!"exec failed");
}

static void child_exec(void)
{
    g_kept[0] = site_exec_before();
    exec_self("exec_target");
}

static void child_fork_exec(void)
{
    g_kept[0] = site_in_parent();
    fflush(stdout);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0)
        exec_self("exec_target");
    wait_clean(pid);
}

/* ---- dlopen ---- */
static void child_dlopen(bool relative)
{
    char path[4096];
    snprintf(path, sizeof path, "%s", SHIM_PLUGIN_PATH);
    if (relative) { /* "./libshim_plugin.so" from its directory */
        char *slash = strrchr(path, '/');
        *slash = 0;
        CHECK(chdir(path) == 0);
        memmove(path + 2, slash + 1, strlen(slash + 1) + 1);
        memcpy(path, "./", 2);
    }
    void *h = dlopen(path, RTLD_NOW);
    CHECK(h);
    void *(*plug_alloc)(size_t);
    void *sym = dlsym(h, "plug_alloc");
    memcpy(&plug_alloc, &sym, sizeof sym);
    CHECK(plug_alloc);
    CHECK(plug_alloc(4321));
}

/* ---- peak and timeline; sampling; frames ---- */
NOINLINE void *site_big(size_t n) { void *p = malloc(n); return p; }
static void *big[1000];

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void child_peak(void)
{
    /* 60 ms of activity, and activity in at least four 15 ms windows at
       least 15 ms apart (even windows), so the shim's samples (one per 10 ms
       of activity) come however a loaded machine schedules this process */
    double t0 = now_s(), t;
    unsigned even_windows = 0;
    while ((t = now_s() - t0) < 0.06 || __builtin_popcount(even_windows) < 4) {
        free(site_malloc(10));
        unsigned w = (unsigned)(t / 0.015);
        if (w % 2 == 0 && w < 64)
            even_windows |= 1u << (w / 2);
    }
    for (int i = 0; i < 1000; i++)
        big[i] = site_big(1000);
    for (int i = 0; i < 1000; i++)
        free(big[i]);
    for (int i = 0; i < 500; i++)
        big[i] = site_big(1000);
    for (int i = 0; i < 500; i++)
        free(big[i]);
}

NOINLINE void *site_sampled(size_t n) { void *p = malloc(n); return p; }

static void child_sample(void)
{
    for (int i = 0; i < 200000; i++)
        free(site_sampled(64));
}

NOINLINE void *recurse(int depth)
{
    void *p = depth ? recurse(depth - 1) : site_malloc(12);
    sink = &depth;
    return p;
}

static void child_frames(void)
{
    free(recurse(10));
}

/* Two allocations 30 ms apart (the tick test). */
NOINLINE void *site_tick_first(void) { void *p = malloc(72); return p; }
NOINLINE void *site_tick_second(void) { void *p = malloc(88); return p; }

static void child_tick(void)
{
    free(site_tick_first());
    usleep(30000);
    free(site_tick_second());
}

/* ---- process events (issue 16's matrix) ---- */
NOINLINE void *site_event(size_t n) { void *p = malloc(n); return p; }
static void *event_kept[200];

/* 200 allocations at site_event: the first 100 kept (reachable), the
   others freed. */
static void allocate_200(void)
{
    for (int i = 0; i < 200; i++) {
        void *p = site_event(100 + (size_t)i % 7);
        if (i < 100)
            event_kept[i] = p;
        else
            free(p);
    }
}

static volatile int forever = 1; /* hides the endless recursion from the compiler */
NOINLINE static int overflow(int depth)
{
    volatile char pad[4096];
    pad[0] = (char)depth;
    return (forever ? overflow(depth + 1) : 0) + pad[0];
}

/* glibc's abort() from inside free: a small block's is found in the
   thread's cache, a large one's with the arena's lock held. */
static void double_free(size_t n)
{
    void *volatile p = malloc(n);
    free(p);
    free(p);
}

/* A fatal signal after 200 allocations; no core file. */
static void child_crash(const char *how)
{
    CHECK(setrlimit(RLIMIT_CORE, &(struct rlimit){0, 0}) == 0);
    allocate_200();
    if (!strcmp(how, "segv"))
        *(volatile int *)sink = 1; /* sink is NULL */
    else if (!strcmp(how, "abort"))
        abort();
    else if (!strcmp(how, "term"))
        kill(getpid(), SIGTERM);
    else if (!strcmp(how, "fpe"))
        raise(SIGFPE);
    else if (!strcmp(how, "overflow"))
        sink = (void *)(intptr_t)overflow(0);
    else if (!strcmp(how, "double_free") || !strcmp(how, "double_free_big"))
        double_free(how[11] ? 4000 : 24);
    CHECK(!"still alive");
}

static void on_own_segv(int sig)
{
    (void)sig;
    _exit(42);
}

/* The program's own handler, installed after the shim's, wins. */
static void child_crash_own(void)
{
    allocate_200();
    signal(SIGSEGV, on_own_segv);
    *(volatile int *)sink = 1;
}

/* SIGTERM to a thread that spends its time in the allocator: the signal
   waits until the thread leaves the shim. */
static atomic_long spins;
static void *allocate_forever(void *arg)
{
    (void)arg;
    for (;;) {
        free(site_malloc(48));
        atomic_fetch_add(&spins, 1);
    }
    return NULL;
}

static void child_term_busy(void)
{
    allocate_200();
    pthread_t th;
    CHECK(pthread_create(&th, NULL, allocate_forever, NULL) == 0);
    while (atomic_load(&spins) < 10000)
        sched_yield();
    pthread_kill(th, SIGTERM);
    for (;;)
        pause();
}

/* vfork children: _exit (a failed exec), and exec. */
static void child_vfork(bool exec)
{
    for (int i = 0; i < 100; i++)
        event_kept[i] = site_event(100);
    fflush(stdout);
    pid_t pid = vfork();
    if (pid == 0) {
        if (exec)
            execl("/proc/self/exe", "test_shim", "child", "exec_target", (char *)NULL);
        _exit(127);
    }
    CHECK(pid > 0);
    int st;
    CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == (exec ? 0 : 127));
    for (int i = 100; i < 200; i++)
        event_kept[i] = site_event(100);
}

/* clone: sharing the memory (as posix_spawn's child, which fails here),
   and not (a fork without the atfork handlers) that allocates a little. */
static char clone_stack[1 << 16] __attribute__((aligned(16)));
static int clone_fails(void *arg)
{
    (void)arg;
    _exit(3);
}

static int clone_allocates(void *arg)
{
    (void)arg;
    for (int i = 0; i < 10; i++)
        free(site_malloc(64));
    _exit(4);
}

static void child_clone(void)
{
    for (int i = 0; i < 100; i++)
        event_kept[i] = site_event(100);
    int (*fns[2])(void *) = {clone_fails, clone_allocates};
    int flags[2] = {CLONE_VM | CLONE_VFORK | SIGCHLD, SIGCHLD}, codes[2] = {3, 4};
    for (int k = 0; k < 2; k++) {
        pid_t pid = clone(fns[k], clone_stack + sizeof clone_stack, flags[k], NULL);
        CHECK(pid > 0);
        int st;
        CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == codes[k]);
    }
    for (int i = 100; i < 200; i++)
        event_kept[i] = site_event(100);
}

/* Signal handlers that allocate and free: 300 signals sent to a thread
   that spends its time in the allocator (the handler interrupts the shim
   itself), or to one that sleeps. */
#define SIGNALS 300
NOINLINE void *site_handler(size_t n) { void *p = malloc(n); return p; }
NOINLINE void *site_handler_kept(size_t n) { void *p = malloc(n); return p; }
static void *handler_kept[SIGNALS];
static atomic_int handled, sending_done;

static void on_usr1(int sig)
{
    (void)sig;
    int saved = errno; /* malloc may set it */
    int k = atomic_load(&handled);
    free(site_handler(77));
    handler_kept[k] = site_handler_kept(55);
    atomic_store(&handled, k + 1);
    errno = saved;
}

static void *sleeper(void *arg)
{
    (void)arg;
    while (!atomic_load(&sending_done))
        usleep(1000);
    return NULL;
}

static void *sender(void *arg)
{
    pthread_t target = *(pthread_t *)arg;
    for (int i = 0; i < SIGNALS; i++) {
        CHECK(pthread_kill(target, SIGUSR1) == 0);
        while (atomic_load(&handled) <= i)
            sched_yield();
    }
    atomic_store(&sending_done, 1);
    return NULL;
}

static void child_signal_alloc(bool same_thread)
{
    struct sigaction sa = {.sa_handler = on_usr1, .sa_flags = SA_RESTART};
    CHECK(sigaction(SIGUSR1, &sa, NULL) == 0);
    pthread_t target = pthread_self(), send, sleep_th;
    if (!same_thread)
        CHECK(pthread_create(&sleep_th, NULL, sleeper, NULL) == 0);
    if (!same_thread)
        target = sleep_th;
    CHECK(pthread_create(&send, NULL, sender, &target) == 0);
    while (!atomic_load(&sending_done))
        free(site_malloc(24));
    CHECK(pthread_join(send, NULL) == 0);
    if (!same_thread)
        CHECK(pthread_join(sleep_th, NULL) == 0);
    printf("handled %d\n", atomic_load(&handled));
}

/* A handler that allocates, then exits, most likely in the middle of one
   of the loop's events: its block is still queued (PENDING in the shadow)
   when the leak scan runs. */
static void on_usr1_exit(int sig)
{
    (void)sig;
    handler_kept[0] = site_handler_kept(55);
    exit(0);
}

static void *send_one(void *arg)
{
    usleep(20000);
    CHECK(pthread_kill(*(pthread_t *)arg, SIGUSR1) == 0);
    return NULL;
}

static void child_signal_exit(void)
{
    struct sigaction sa = {.sa_handler = on_usr1_exit};
    CHECK(sigaction(SIGUSR1, &sa, NULL) == 0);
    pthread_t me = pthread_self(), send;
    CHECK(pthread_create(&send, NULL, send_one, &me) == 0);
    for (;;)
        free(site_malloc(24));
}

/* Many distinct infos: a capture larger than the file size limit. */
static void child_write_fail(void)
{
    for (size_t n = 1; n <= 100000; n++)
        free(site_malloc(n));
    printf("done\n");
}

static void child_forever(void)
{
    printf("running\n");
    fflush(stdout);
    for (;;)
        free(site_malloc(32));
}

/* Whether libunwind is loaded in this process. */
static void child_maps_unwind(void)
{
    FILE *f = fopen("/proc/self/maps", "r");
    CHECK(f);
    char line[4096];
    bool found = false;
    while (fgets(line, sizeof line, f))
        found |= strstr(line, "/libunwind.so") != NULL;
    fclose(f);
    free(site_malloc(64)); /* a walk */
    printf("libunwind %s\n", found ? "loaded" : "not loaded");
}

static int child(const char *scenario)
{
    if (!strcmp(scenario, "family") || !strcmp(scenario, "noenv"))
        child_family();
    else if (!strcmp(scenario, "leaks"))
        child_leaks();
    else if (!strcmp(scenario, "leaks_seccomp"))
        child_leaks_seccomp();
    else if (!strcmp(scenario, "huge"))
        child_huge();
    else if (!strcmp(scenario, "exit3"))
        return 3;
    else if (!strcmp(scenario, "exit_call"))
        deep_exit(1);
    else if (!strcmp(scenario, "exit_now"))
        deep_exit(2);
    else if (!strcmp(scenario, "threads"))
        child_threads();
    else if (!strcmp(scenario, "churn"))
        child_churn();
    else if (!strcmp(scenario, "many_threads"))
        child_many_threads();
    else if (!strcmp(scenario, "slot_handover"))
        child_slot_handover();
    else if (!strcmp(scenario, "exit_race"))
        child_exit_race();
    else if (!strcmp(scenario, "fork_threads") || !strcmp(scenario, "fork_child_thread"))
        child_fork_threads(!strcmp(scenario, "fork_child_thread"));
    else if (!strcmp(scenario, "fork") || !strcmp(scenario, "fork_nopid"))
        child_fork();
    else if (!strcmp(scenario, "exec"))
        child_exec();
    else if (!strcmp(scenario, "exec_target"))
        g_kept[3] = site_exec_target();
    else if (!strcmp(scenario, "fork_exec"))
        child_fork_exec();
    else if (!strcmp(scenario, "dlopen") || !strcmp(scenario, "dlopen_relative"))
        child_dlopen(!strcmp(scenario, "dlopen_relative"));
    else if (!strcmp(scenario, "peak"))
        child_peak();
    else if (!strcmp(scenario, "sample"))
        child_sample();
    else if (!strcmp(scenario, "frames"))
        child_frames();
    else if (!strcmp(scenario, "tick"))
        child_tick();
    else if (!strcmp(scenario, "forever"))
        child_forever();
    else if (!strcmp(scenario, "crash_own"))
        child_crash_own();
    else if (!strncmp(scenario, "crash_", 6))
        child_crash(scenario + 6);
    else if (!strcmp(scenario, "term_busy"))
        child_term_busy();
    else if (!strcmp(scenario, "vfork_exit") || !strcmp(scenario, "vfork_exec"))
        child_vfork(!strcmp(scenario, "vfork_exec"));
    else if (!strcmp(scenario, "clone"))
        child_clone();
    else if (!strcmp(scenario, "signal_same") || !strcmp(scenario, "signal_other"))
        child_signal_alloc(!strcmp(scenario, "signal_same"));
    else if (!strcmp(scenario, "signal_exit"))
        child_signal_exit();
    else if (!strcmp(scenario, "write_fail"))
        child_write_fail();
    else if (!strcmp(scenario, "maps_unwind"))
        child_maps_unwind();
    else if (!strcmp(scenario, "teardown"))
        free(teardown_alloc(1)); /* (a use: the library stays linked) */
    else
        return 99;
    return 0;
}

/* ======================================================================
 * The checker: running the child, reading its capture
 * ====================================================================== */

static char dir[] = "/tmp/rcgc_test_shim_XXXXXX";
static char self_exe[4096];

typedef struct run {
    int status;          /* exit status, or 128 + signal */
    char out[4096];      /* its stdout */
    pid_t pid;
} run;

static rlim_t child_fsize;     /* RLIMIT_FSIZE for the next children (0: none) */
static bool child_stderr;     /* the next children's stderr in r.out too */
static const char *child_exe; /* another program to run (NULL: this one) */

/* Run "test_shim child SCENARIO" under the shim (or child_exe SCENARIO),
   its stderr and stdout into r.out.  capture: RCGC_CAPTURE (NULL: unset);
   extra: "NAME=VALUE" or NULL.  kill_after: seconds, or 0. */
static run run_child(const char *scenario, const char *capture, const char *extra,
                     bool preload, double kill_after)
{
    int fds[2];
    CHECK(pipe(fds) == 0);
    run r = {0};
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        dup2(fds[1], 1);
        if (child_exe || child_fsize || child_stderr)
            dup2(fds[1], 2);
        close(fds[0]);
        close(fds[1]);
        if (child_fsize) {
            signal(SIGXFSZ, SIG_IGN);
            CHECK(setrlimit(RLIMIT_FSIZE, &(struct rlimit){child_fsize, child_fsize}) == 0);
        }
        if (preload)
            setenv("LD_PRELOAD", SHIM_PATH, 1);
        if (capture)
            setenv("RCGC_CAPTURE", capture, 1);
        else
            unsetenv("RCGC_CAPTURE");
        unsetenv("RCGC_CAPTURE_OWNER");
        if (extra)
            putenv((char *)extra);
        if (child_exe)
            execl(child_exe, child_exe, scenario, (char *)NULL);
        else
            execl(self_exe, "test_shim", "child", scenario, (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    r.pid = pid;
    size_t got = 0;
    if (kill_after > 0) { /* wait for its first line, then a while */
        ssize_t k = read(fds[0], r.out, sizeof r.out - 1);
        CHECK(k > 0);
        got = (size_t)k;
        usleep((useconds_t)(kill_after * 1e6));
        kill(pid, SIGKILL);
    }
    ssize_t k;
    while ((k = read(fds[0], r.out + got, sizeof r.out - 1 - got)) > 0)
        got += (size_t)k;
    r.out[got] = 0;
    close(fds[0]);
    int st;
    CHECK(waitpid(pid, &st, 0) == pid);
    r.status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    return r;
}

/* ---- A capture, read back ---- */

typedef struct alloc {
    uint64_t info, size, stack, time;
    int64_t seq;         /* record number */
    bool freed, temporary;
    int leak;            /* -1: no L record; else enum rcc_reach */
} alloc;

typedef struct ev { /* A, F, X and L in file order, for matching */
    uint64_t info;
    int64_t seq;
    int kind;
    size_t alloc;        /* A: its index; L: reachability */
    uint64_t count;      /* L: blocks */
} ev;

typedef struct info_rec {
    uint64_t size, stack, type;
} info_rec;

typedef struct captured {
    int rc;
    char err[512];
    rcc_header hdr;
    size_t nrec;
    struct { uint64_t base, size; char path[4097]; size_t seq; } mods[256];
    size_t nmods;
    struct node_rec {
        uint64_t parent, ip;
        size_t seq;
        const char *site; /* its function's name, once asked (site_of) */
    } *nodes;
    size_t nnodes, cap_nodes;
    info_rec *infos;
    size_t ninfos, cap_infos;
    alloc *a;
    size_t na, cap_a;
    ev *e;
    size_t ne, cap_e;
    size_t frees, samples, leaks, clocks;
    uint64_t max_rss, max_sample_heap;
    bool ended;
    int64_t status;
    uint64_t signal;     /* E's */
    uint64_t peak, peak_time, end_time;
    /* after matching */
    size_t unmatched_frees, leaks_without_block, live_without_leak;
    uint64_t replay_peak;
} captured;

static void *grow(void *p, size_t *room, size_t n, size_t elem)
{
    if (n < *room)
        return p;
    *room = *room ? *room * 2 : 1024;
    p = realloc(p, *room * elem);
    CHECK(p);
    return p;
}

static void add_ev(captured *c, const rcc_event *e, size_t alloc_idx)
{
    c->e = grow(c->e, &c->cap_e, c->ne, sizeof *c->e);
    c->e[c->ne++] = (ev){e->id, (int64_t)c->nrec, e->kind, alloc_idx, e->count};
}

static int on_record(const rcc_event *e, void *ctx)
{
    captured *c = ctx;
    switch (e->kind) {
    case RCC_MODULE:
        CHECK(c->nmods < 256);
        c->mods[c->nmods].base = e->ip;
        c->mods[c->nmods].size = e->size;
        snprintf(c->mods[c->nmods].path, sizeof c->mods[c->nmods].path, "%s", e->text);
        c->mods[c->nmods++].seq = c->nrec;
        break;
    case RCC_STACK:
        CHECK(e->id == c->nnodes + 1);
        c->nodes = grow(c->nodes, &c->cap_nodes, c->nnodes, sizeof *c->nodes);
        c->nodes[c->nnodes++] = (struct node_rec){e->stack, e->ip, c->nrec, NULL};
        break;
    case RCC_INFO:
        CHECK(e->id == c->ninfos + 1);
        c->infos = grow(c->infos, &c->cap_infos, c->ninfos, sizeof *c->infos);
        c->infos[c->ninfos++] = (info_rec){e->size, e->stack, e->type};
        break;
    case RCC_CLOCK:
        c->clocks++;
        break;
    case RCC_ALLOC: {
        const info_rec *in = &c->infos[e->id - 1];
        c->a = grow(c->a, &c->cap_a, c->na, sizeof *c->a);
        c->a[c->na] = (alloc){e->id, in->size, in->stack, e->time_us, (int64_t)c->nrec,
                              false, false, -1};
        add_ev(c, e, c->na++);
        break;
    }
    case RCC_FREE:
    case RCC_TEMP:
        c->frees++;
        add_ev(c, e, SIZE_MAX);
        break;
    case RCC_SAMPLE:
        c->samples++;
        if (e->rss_bytes > c->max_rss)
            c->max_rss = e->rss_bytes;
        if (e->heap_bytes > c->max_sample_heap)
            c->max_sample_heap = e->heap_bytes;
        break;
    case RCC_LEAK:
        c->leaks += e->count;
        add_ev(c, e, (size_t)e->status);
        break;
    case RCC_END:
        CHECK(!c->ended);
        c->ended = true;
        c->status = e->status;
        c->signal = e->signal;
        c->peak = e->heap_bytes;
        c->peak_time = e->peak_time_us;
        c->end_time = e->time_us;
        break;
    }
    c->nrec++;
    return 0;
}

static int ev_cmp(const void *x, const void *y)
{
    const ev *a = x, *b = y;
    if (a->info != b->info)
        return a->info < b->info ? -1 : 1;
    return a->seq < b->seq ? -1 : a->seq > b->seq;
}

static int seq_cmp(const void *x, const void *y)
{
    const ev *a = x, *b = y;
    return a->seq < b->seq ? -1 : a->seq > b->seq;
}

/* Match frees to allocations per info: blocks of one info are alike, so a
   free takes the oldest live one, and a free that comes first (another
   thread's chunk went out earlier) takes the next one allocated.  An L
   record's blocks are live ones of its info. */
static void match(captured *c)
{
    qsort(c->e, c->ne, sizeof *c->e, ev_cmp);
    size_t *queue = malloc((c->na + 1) * sizeof *queue);
    CHECK(queue);
    for (size_t i = 0; i < c->ne;) {
        size_t j = i, head = 0, tail = 0, pending = 0, pending_temps = 0;
        for (; j < c->ne && c->e[j].info == c->e[i].info; j++) {
            ev *x = &c->e[j];
            if (x->kind == RCC_ALLOC) {
                if (pending) {
                    pending--;
                    c->a[x->alloc].freed = true;
                    if (pending_temps) {
                        pending_temps--;
                        c->a[x->alloc].temporary = true;
                    }
                } else {
                    queue[tail++] = x->alloc;
                }
            } else if (x->kind == RCC_FREE || x->kind == RCC_TEMP) {
                if (head < tail) {
                    alloc *a = &c->a[queue[head++]];
                    a->freed = true;
                    a->temporary = x->kind == RCC_TEMP;
                } else {
                    pending++;
                    pending_temps += x->kind == RCC_TEMP;
                }
            } else { /* an L: that many live blocks of this info */
                size_t k = head;
                for (uint64_t n = 0; n < x->count; n++) {
                    while (k < tail && c->a[queue[k]].leak >= 0)
                        k++;
                    if (k < tail)
                        c->a[queue[k]].leak = (int)x->alloc;
                    else
                        c->leaks_without_block++;
                }
            }
        }
        c->unmatched_frees += pending;
        for (size_t k = head; k < tail; k++)
            if (c->a[queue[k]].leak < 0)
                c->live_without_leak++;
        i = j;
    }
    free(queue);
    /* replay in file order (meaningful with one thread) */
    qsort(c->e, c->ne, sizeof *c->e, seq_cmp);
    uint64_t live = 0;
    for (size_t i = 0; i < c->ne; i++) {
        const ev *x = &c->e[i];
        if (x->kind == RCC_ALLOC)
            live += c->infos[x->info - 1].size;
        else if (x->kind == RCC_FREE || x->kind == RCC_TEMP)
            live -= c->infos[x->info - 1].size;
        if (live > c->replay_peak)
            c->replay_peak = live;
    }
}

static captured *read_capture(const char *path)
{
    captured *c = calloc(1, sizeof *c);
    CHECK(c);
    rcc_reader *r = rcc_reader_open(path, c->err, sizeof c->err);
    if (!r) {
        c->rc = -2;
        return c;
    }
    c->hdr = *rcc_reader_header(r);
    c->rc = rcc_read(r, on_record, c);
    snprintf(c->err, sizeof c->err, "%s", rcc_reader_error(r));
    rcc_reader_close(r);
    match(c);
    return c;
}

static void free_capture(captured *c)
{
    free(c->nodes);
    free(c->infos);
    free(c->a);
    free(c->e);
    free(c);
}

/* ---- Naming frames ---- */

static uintptr_t own_base;

static int base_cb(struct dl_phdr_info *info, size_t size, void *ctx)
{
    (void)size;
    (void)ctx;
    uintptr_t lo = UINTPTR_MAX;
    for (int i = 0; i < info->dlpi_phnum; i++)
        if (info->dlpi_phdr[i].p_type == PT_LOAD && info->dlpi_phdr[i].p_vaddr < lo)
            lo = info->dlpi_phdr[i].p_vaddr;
    own_base = info->dlpi_addr + lo;
    return 1; /* the first module is the executable */
}

static const char *module_of(const captured *c, uint64_t ip, size_t *idx)
{
    for (size_t i = 0; i < c->nmods; i++)
        if (ip >= c->mods[i].base && ip - c->mods[i].base < c->mods[i].size) {
            if (idx)
                *idx = i;
            return c->mods[i].path;
        }
    return NULL;
}

/* The function a return address of the child is in, named by our symbols. */
static const char *name_ip(const captured *c, uint64_t ip)
{
    size_t m;
    const char *path = module_of(c, ip, &m);
    if (!path || strcmp(path, self_exe) != 0)
        return "?";
    Dl_info di;
    void *mine = (void *)(own_base + (uintptr_t)(ip - c->mods[m].base) - 1);
    if (!dladdr(mine, &di) || !di.dli_sname)
        return "?";
    return di.dli_sname;
}

/* The function of a node's frame (remembered: a run may record millions
   of allocations from a few nodes). */
static const char *site_of(const captured *c, uint64_t node)
{
    if (!node)
        return "-";
    struct node_rec *n = &c->nodes[node - 1];
    if (!n->site)
        n->site = name_ip(c, n->ip);
    return n->site;
}

static size_t depth_of(const captured *c, uint64_t node)
{
    size_t d = 0;
    for (; node; node = c->nodes[node - 1].parent)
        d++;
    return d;
}

/* Allocations made at a site: count, bytes, how many freed, leak kinds. */
typedef struct site_stats {
    size_t count, freed, temporary, leak[4], no_leak_record;
    uint64_t bytes;
} site_stats;

static site_stats stats_of(const captured *c, const char *site)
{
    site_stats s = {0};
    for (size_t i = 0; i < c->na; i++) {
        if (strcmp(site_of(c, c->a[i].stack), site) != 0)
            continue;
        s.count++;
        s.bytes += c->a[i].size;
        s.freed += c->a[i].freed;
        s.temporary += c->a[i].temporary;
        if (c->a[i].leak >= 0)
            s.leak[c->a[i].leak]++;
        else if (!c->a[i].freed)
            s.no_leak_record++;
    }
    return s;
}

static const alloc *first_at(const captured *c, const char *site)
{
    for (size_t i = 0; i < c->na; i++)
        if (strcmp(site_of(c, c->a[i].stack), site) == 0)
            return &c->a[i];
    return NULL;
}

/* Every capture, whatever the program: well formed and balanced. */
static void check_common(const captured *c, int64_t status)
{
    if (c->rc != 0)
        fprintf(stderr, "capture: rc %d: %s\n", c->rc, c->err);
    CHECK(c->rc == 0);
    CHECK(c->ended && c->status == status);
    CHECK(c->nmods >= 2 && strcmp(c->mods[0].path, self_exe) == 0);
    CHECK(c->unmatched_frees == 0);
    if (c->leaks_without_block || c->live_without_leak) {
        fprintf(stderr, "%zu leak records without a block, %zu live blocks without one\n",
                c->leaks_without_block, c->live_without_leak);
        for (size_t i = 0; i < c->na; i++)
            if (!c->a[i].freed && c->a[i].leak < 0)
                fprintf(stderr, "  live: info %llu, %llu bytes from %s\n",
                        (unsigned long long)c->a[i].info, (unsigned long long)c->a[i].size,
                        site_of(c, c->a[i].stack));
    }
    CHECK(c->leaks_without_block == 0 && c->live_without_leak == 0);
    CHECK(c->peak >= c->max_sample_heap && c->peak_time <= c->end_time);
    for (size_t i = 0; i < c->nnodes; i++) { /* modules before the nodes they cover */
        size_t m;
        if (module_of(c, c->nodes[i].ip, &m))
            CHECK(c->mods[m].seq < c->nodes[i].seq);
    }
}

#define EXPECT_SITE(c, site, n, b, nfreed)                                           \
    do {                                                                             \
        site_stats s_ = stats_of(c, site);                                           \
        if (s_.count != (n) || s_.bytes != (b) || s_.freed != (nfreed))              \
            fprintf(stderr, "%s: %zu allocations, %llu bytes, %zu freed\n", site,    \
                    s_.count, (unsigned long long)s_.bytes, s_.freed);               \
        CHECK(s_.count == (n) && s_.bytes == (b) && s_.freed == (nfreed));           \
    } while (0)

static void capture_path(char *out, size_t cap_len, const char *name)
{
    snprintf(out, cap_len, "%s/%s", dir, name);
}

/* Run a scenario under the shim, recording into dir/name (extra: one more
   VAR=value, or NULL); check its exit status, read the capture back and
   check what every capture holds.  r (if not NULL) gets the run. */
static captured *record(const char *scenario, const char *name, const char *extra,
                        int status, run *r)
{
    char path[512];
    capture_path(path, sizeof path, name);
    run got = run_child(scenario, path, extra, true, 0);
    CHECK(got.status == status);
    captured *c = read_capture(path);
    check_common(c, status);
    if (r)
        *r = got;
    return c;
}

/* ---- The checks, one per scenario ---- */

static void check_family(const char *extra)
{
    run plain = run_child("family", NULL, NULL, false, 0), r;
    CHECK(plain.status == 0);
    captured *c = record("family", "family.cap", extra, 0, &r);
    CHECK(strcmp(r.out, plain.out) == 0 && strcmp(r.out, "family done\n") == 0);
    CHECK(c->hdr.pid == (uint32_t)r.pid);
    EXPECT_SITE(c, "site_malloc", 10, 1000, 10);
    EXPECT_SITE(c, "site_calloc", 5, 1000, 5);
    EXPECT_SITE(c, "site_calloc_overflow", 0, 0, 0);
    EXPECT_SITE(c, "site_realloc", 3, 1110, 3);
    EXPECT_SITE(c, "site_reallocarray", 2, 63 + 72, 2);
    EXPECT_SITE(c, "site_posix_memalign", 1, 200, 1);
    EXPECT_SITE(c, "site_aligned_alloc", 1, 256, 1);
    EXPECT_SITE(c, "site_memalign", 1, 48, 1);
    EXPECT_SITE(c, "site_valloc", 1, 1000, 1);
    EXPECT_SITE(c, "site_pvalloc", 1, 5000, 1);
    EXPECT_SITE(c, "site_kept", 1, 777, 0);
    /* (the child checks the alignments) freed at once: temporaries; a
       realloc's old block is one too */
    CHECK(stats_of(c, "site_malloc").temporary == 10);
    CHECK(stats_of(c, "site_realloc").temporary == 3);
    site_stats kept = stats_of(c, "site_kept");
    CHECK(kept.leak[RCC_REACHABLE] == 1);
    /* stacks go on past the site: its caller and main */
    const alloc *a = first_at(c, "site_malloc");
    CHECK(depth_of(c, a->stack) >= 3);
    uint64_t caller = c->nodes[a->stack - 1].parent;
    CHECK(strcmp(site_of(c, caller), "child_family") == 0);
    /* one thread: the peak is exactly the replayed maximum */
    CHECK(c->peak == c->replay_peak);
    free_capture(c);
}

static void test_family(void)
{
    check_family(NULL);
}

/* The same figures with libunwind's walk (when the shim has it, else the
   variable is ignored and this is the frame-pointer walk again). */
static void test_unwind(void)
{
    check_family("RCGC_UNWIND=libunwind");
}

/* --unwind libunwind loads libunwind then and only then (the shim links
   none: its TLS would make every thread's TLS vector larger); one it
   cannot load is named on stderr, once, and the walk is CFI's. */
static void test_unwind_load(void)
{
    char path[512];
    capture_path(path, sizeof path, "unwind_load.cap");
    child_stderr = true;
    run r = run_child("maps_unwind", path, NULL, true, 0);
    CHECK(r.status == 0 && strcmp(r.out, "libunwind not loaded\n") == 0);
    r = run_child("maps_unwind", path, "RCGC_UNWIND=libunwind", true, 0);
#ifdef SHIM_HAS_LIBUNWIND
    CHECK(r.status == 0 && strcmp(r.out, "libunwind loaded\n") == 0);
    setenv("RCGC_UNWIND_LIB", "/nonexistent/libunwind.so.8", 1);
    r = run_child("maps_unwind", path, "RCGC_UNWIND=libunwind", true, 0);
    unsetenv("RCGC_UNWIND_LIB");
    const char *said = "rcgc preload: --unwind libunwind: cannot load it: /nonexistent/"
                       "libunwind.so.8: cannot open shared object file: No such file or "
                       "directory; stacks from call-frame information instead\n"
                       "libunwind not loaded\n";
#else
    const char *said = "rcgc preload: --unwind libunwind: this build has no libunwind "
                       "support: libunwind.h was not found when it was built; stacks from "
                       "call-frame information instead\nlibunwind not loaded\n";
#endif
    if (strcmp(r.out, said) != 0)
        fprintf(stderr, "got: %s", r.out);
    CHECK(r.status == 0 && strcmp(r.out, said) == 0);
    child_stderr = false;
    captured *c = read_capture(path);
    check_common(c, 0);
    EXPECT_SITE(c, "site_malloc", 1, 64, 1);
    CHECK(depth_of(c, first_at(c, "site_malloc")->stack) >= 3); /* the CFI walk's */
    free_capture(c);
}

/* The same figures with the frame-pointer walk (the default walks CFI). */
static void test_fp(void)
{
    check_family("RCGC_UNWIND=fp");
}

static void check_leaks(const char *scenario)
{
    captured *c = record(scenario, "leaks.cap", NULL, 0, NULL);
    struct {
        const char *site;
        size_t n, reachable, indirect, definite, possible;
    } want[] = {
        {"site_reach_root", 1, 1, 0, 0, 0},     {"site_reach_child", 1, 1, 0, 0, 0},
        {"site_reach_interior", 1, 0, 0, 0, 1}, {"site_possible_child", 1, 0, 0, 0, 1},
        {"site_reach_anon", 1, 1, 0, 0, 0},     {"site_reach_length64", 1, 1, 0, 0, 0},
        {"site_reach_huge_map", 1, 1, 0, 0, 0},
        {"site_lost_head", 1, 0, 0, 1, 0},      {"site_lost_tail", 1, 0, 1, 0, 0},
        {"site_lost_plain", 1, 0, 0, 1, 0},     {"site_cycle", 2, 0, 1, 1, 0},
        {"site_freed", 1, 0, 0, 0, 0},
    };
    for (size_t i = 0; i < sizeof want / sizeof *want; i++) {
        site_stats s = stats_of(c, want[i].site);
        bool ok = s.count == want[i].n && s.leak[RCC_REACHABLE] == want[i].reachable &&
                  s.leak[RCC_INDIRECT] == want[i].indirect &&
                  s.leak[RCC_DEFINITE] == want[i].definite &&
                  s.leak[RCC_POSSIBLE] == want[i].possible;
        if (!ok)
            fprintf(stderr, "%s: %zu blocks: %zu reachable, %zu indirect, %zu definite, "
                            "%zu possible\n",
                    want[i].site, s.count, s.leak[RCC_REACHABLE], s.leak[RCC_INDIRECT],
                    s.leak[RCC_DEFINITE], s.leak[RCC_POSSIBLE]);
        CHECK(ok);
    }
    free_capture(c);
}

static void test_leaks(void)
{
    check_leaks("leaks");
    check_leaks("leaks_seccomp");
}

static void test_huge(void)
{
    run r;
    captured *c = record("huge", "huge.cap", NULL, 0, &r);
    if (strcmp(r.out, "huge\n") == 0) {
        EXPECT_SITE(c, "site_huge", 1, (uint64_t)5 << 30, 0);
        CHECK(stats_of(c, "site_huge").leak[RCC_REACHABLE] == 1);
        CHECK(c->peak >= (uint64_t)5 << 30);
    }
    free_capture(c);
}

static void test_exits(void)
{
    struct {
        const char *scenario;
        int status;
    } cases[] = {{"exit3", 3}, {"exit_call", 5}, {"exit_now", 7}};
    for (size_t i = 0; i < 3; i++) {
        captured *c = record(cases[i].scenario, "exit.cap", NULL, cases[i].status, NULL);
        if (cases[i].status != 3)
            EXPECT_SITE(c, "site_kept", 1, 10, 0);
        free_capture(c);
    }
}

static void test_threads(void)
{
    captured *c = record("threads", "threads.cap", NULL, 0, NULL);
    site_stats s = stats_of(c, "site_thread_alloc");
    uint64_t bytes = 0;
    for (int t = 0; t < THREADS; t++)
        bytes += (uint64_t)(t + 1) * 8 * PER_THREAD;
    CHECK(s.count == THREADS * PER_THREAD && s.bytes == bytes && s.freed == s.count);
    site_stats churn = stats_of(c, "site_malloc");
    CHECK(churn.count == THREADS * PER_THREAD / 100 && churn.freed == churn.count);
    CHECK(c->peak >= bytes / 2); /* all blocks were live at the barrier */
    free_capture(c);
}

static void test_churn(void)
{
    captured *c = record("churn", "churn.cap", NULL, 0, NULL);
    EXPECT_SITE(c, "site_malloc", 400 * 50, 400 * 50 * 24, 400 * 50);
    EXPECT_SITE(c, "site_thread_alloc", 400, 400 * 40, 400);
    free_capture(c);
}

/* Every thread traced, whether it came before the table was full or
   after: each allocation and each free, its key destructor's included
   (not in the TSan build, which holds the shim off a thread's key
   destructors: bootstrap.c).  Nothing said on stderr. */
static void test_many_threads(void)
{
    run r;
    child_stderr = true;
    captured *c = record("many_threads", "many.cap", NULL, 0, &r);
    child_stderr = false;
    EXPECT_SITE(c, "site_many_temp", MANY_THREADS, MANY_THREADS * 32, MANY_THREADS);
    EXPECT_SITE(c, "site_many_kept", MANY_THREADS, MANY_THREADS * 48, MANY_THREADS);
#ifndef __SANITIZE_THREAD__
    EXPECT_SITE(c, "site_many_dtor", MANY_THREADS, MANY_THREADS * 16, MANY_THREADS);
#endif
    CHECK(!strstr(r.out, "rcgc preload"));
    free_capture(c);
}

static void test_slot_handover(void)
{
    captured *c = record("slot_handover", "handover.cap", NULL, 0, NULL);
    EXPECT_SITE(c, "site_handover_a", 1, 24, 1);
    EXPECT_SITE(c, "site_handover_b", 1, 40, 1);
    EXPECT_SITE(c, "site_handover_c", 1, 56, 1);
    free_capture(c);
}

/* The scenario's capture, from a run that exited with 0 and ended it so
   (without check_common's balance checks). */
static captured *record_exit0(const char *scenario, const char *path)
{
    run r = run_child(scenario, path, NULL, true, 0);
    CHECK(r.status == 0);
    captured *c = read_capture(path);
    CHECK(c->rc == 0 && c->ended && c->status == 0);
    return c;
}

static void test_exit_race(void)
{
    char path[512];
    capture_path(path, sizeof path, "race.cap");
    for (int i = 0; i < 3; i++) {
        captured *c = record_exit0("exit_race", path);
        CHECK(c->na > 1000 && c->unmatched_frees == 0 && c->leaks_without_block == 0);
        free_capture(c);
    }
}

/* ---- process events ---- */

/* allocate_200's figures, and a capture that ended as it should. */
static void expect_200(const captured *c, int64_t status, int sig)
{
    check_common(c, status);
    CHECK(c->signal == (uint64_t)sig);
    site_stats s = stats_of(c, "site_event");
    if (s.count != 200 || s.freed != 100 || s.leak[RCC_REACHABLE] != 100)
        fprintf(stderr, "site_event: %zu allocations, %zu freed, %zu reachable\n", s.count,
                s.freed, s.leak[RCC_REACHABLE]);
    CHECK(s.count == 200 && s.freed == 100 && s.leak[RCC_REACHABLE] == 100);
}

static void test_crash(void)
{
    struct {
        const char *scenario;
        int sig;
    } cases[] = {{"crash_segv", SIGSEGV},        {"crash_abort", SIGABRT},
                 {"crash_term", SIGTERM},        {"crash_fpe", SIGFPE},
                 {"crash_overflow", SIGSEGV},    {"crash_double_free", SIGABRT},
                 {"crash_double_free_big", SIGABRT}};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        captured *c = record(cases[i].scenario, "crash.cap", NULL, 128 + cases[i].sig, NULL);
        expect_200(c, 128 + cases[i].sig, cases[i].sig);
        free_capture(c);
    }
    /* the program's own handler, installed later, wins */
    captured *c = record("crash_own", "crash.cap", NULL, 42, NULL);
    expect_200(c, 42, 0);
    free_capture(c);
    /* a SIGTERM to a thread inside the allocator waits until it leaves */
    for (int i = 0; i < 3; i++) {
        c = record("term_busy", "crash.cap", NULL, 128 + SIGTERM, NULL);
        expect_200(c, 128 + SIGTERM, SIGTERM);
        site_stats s = stats_of(c, "site_malloc");
        CHECK(s.count >= 10000 && s.count - s.freed <= 1);
        free_capture(c);
    }
}

static void test_vfork(void)
{
    /* a vfork child that calls _exit does not end its parent's capture */
    captured *c = record("vfork_exit", "vfork.cap", NULL, 0, NULL);
    EXPECT_SITE(c, "site_event", 200, 200 * 100, 0);
    free_capture(c);
    /* one that execs leaves the parent's file alone */
    c = record("vfork_exec", "vfork.cap", NULL, 0, NULL);
    EXPECT_SITE(c, "site_event", 200, 200 * 100, 0);
    EXPECT_SITE(c, "site_exec_target", 0, 0, 0);
    free_capture(c);
}

static void test_clone(void)
{
    captured *c = record("clone", "clone.cap", NULL, 0, NULL);
    EXPECT_SITE(c, "site_event", 200, 200 * 100, 0);
    EXPECT_SITE(c, "site_malloc", 0, 0, 0); /* the copy's, not written */
    free_capture(c);
}

/* A signal handler's allocations and frees are recorded, whether it
   interrupted the shim on its thread or ran on a quiet one, each one whole
   (its free, its bytes, its reachability), with either walk (the default
   one, longer, is interrupted more often). */
static void test_signal_alloc(void)
{
    const char *scenarios[] = {"signal_same", "signal_other"};
    const char *walks[] = {"RCGC_UNWIND=fp", NULL};
    for (int w = 0; w < 2; w++)
        for (int k = 0; k < 2; k++) {
            run r;
            captured *c = record(scenarios[k], "signal.cap", walks[w], 0, &r);
            CHECK(strcmp(r.out, "handled 300\n") == 0);
            site_stats s = stats_of(c, "site_handler"), kept = stats_of(c, "site_handler_kept");
            if (s.count != SIGNALS || kept.count != SIGNALS)
                fprintf(stderr, "%s, %s: %zu and %zu of %d handler allocations recorded\n",
                        scenarios[k], walks[w] ? walks[w] : "default walk", s.count,
                        kept.count, SIGNALS);
            CHECK(s.count == SIGNALS && s.freed == SIGNALS && s.bytes == SIGNALS * 77);
            CHECK(kept.count == SIGNALS && kept.leak[RCC_REACHABLE] == SIGNALS);
            site_stats loop = stats_of(c, "site_malloc");
            CHECK(loop.count > 0 && loop.freed == loop.count);
            free_capture(c);
        }
}

/* A handler that exits while its allocation waits in the queue: the
   capture still ends, with the status (the block is not written, and the
   scan skips it; the interrupted thread's last chunk is not written either,
   so its blocks' leak records may name no allocation).  Several runs: the
   signal lands in one of the loop's events most times. */
static void test_signal_exit(void)
{
    char path[512];
    capture_path(path, sizeof path, "signal.cap");
    for (int i = 0; i < 5; i++)
        free_capture(record_exit0("signal_exit", path));
}

/* The file may not grow past 64 KiB (EFBIG): the program runs on, the shim
   says so on stderr, and the capture has no end record. */
static void test_write_fail(void)
{
    char path[512];
    capture_path(path, sizeof path, "full.cap");
    child_fsize = 64 << 10;
    run r = run_child("write_fail", path, NULL, true, 0);
    child_fsize = 0;
    CHECK(r.status == 0 && strstr(r.out, "done\n"));
    CHECK(strstr(r.out, "rcgc preload: writing the capture failed; it ends here, without an "
                        "end record: File too large\n"));
    captured *c = read_capture(path);
    CHECK((c->rc == 0 || c->rc == 1) && !c->ended); /* cut at the limit */
    struct stat st;
    CHECK(stat(path, &st) == 0 && st.st_size <= 64 << 10);
    free_capture(c);
}

/* A program that defines getenv, setenv... (shim_libc_names.c): none is
   called before its main, and the capture holds exactly its allocations. */
static void test_libc_names(void)
{
    char path[512];
    capture_path(path, sizeof path, "names.cap");
    child_exe = SHIM_LIBC_NAMES_PATH;
    run plain = run_child("", NULL, NULL, false, 0);
    run r = run_child("", path, NULL, true, 0);
    child_exe = NULL;
    CHECK(plain.status == 0 && strcmp(plain.out, "before main: 0\n") == 0);
    CHECK(r.status == 0 && strcmp(r.out, plain.out) == 0);
    captured *c = read_capture(path);
    CHECK(c->rc == 0 && c->ended && c->status == 0);
    size_t ours = 0;
    for (size_t i = 0; i < c->na; i++)
        ours += c->a[i].size == 4242;
    if (c->na != 10 || ours != 10 || c->frees != 9)
        fprintf(stderr, "%zu allocations (%zu of 4242 bytes), %zu frees\n", c->na, ours,
                c->frees);
    CHECK(c->na == 10 && ours == 10 && c->frees == 9);
    free_capture(c);
}

/* The files of the directory whose names start with prefix. */
static int list_files(const char *prefix, char names[][256], int max)
{
    DIR *d = opendir(dir);
    CHECK(d);
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)))
        if (!strncmp(de->d_name, prefix, strlen(prefix)) && n < max)
            snprintf(names[n++], 256, "%s", de->d_name);
    closedir(d);
    return n;
}

/* The forking parent's capture: its own blocks, none of its child's. */
static void expect_fork_parent(const captured *c)
{
    EXPECT_SITE(c, "site_before_fork", 1, 111, 0);
    EXPECT_SITE(c, "site_in_parent", 1, 333, 0);
    EXPECT_SITE(c, "site_in_child", 0, 0, 0);
}

static void test_fork(void)
{
    char path[512], file[600];
    capture_path(path, sizeof path, "fork.%p.cap");
    run r = run_child("fork", path, NULL, true, 0);
    CHECK(r.status == 0);
    int child_pid = 0;
    CHECK(sscanf(r.out, "child %d", &child_pid) == 1 && child_pid > 0);
    /* the parent's capture */
    snprintf(file, sizeof file, "%s/fork.%d.cap", dir, (int)r.pid);
    captured *c = read_capture(file);
    check_common(c, 0);
    CHECK(c->hdr.pid == (uint32_t)r.pid);
    expect_fork_parent(c);
    free_capture(c);
    /* the child's own, under its pid: nothing inherited */
    snprintf(file, sizeof file, "%s/fork.%d.cap", dir, child_pid);
    c = read_capture(file);
    check_common(c, 0);
    CHECK(c->hdr.pid == (uint32_t)child_pid);
    EXPECT_SITE(c, "site_in_child", 1, 222, 0);
    EXPECT_SITE(c, "site_before_fork", 0, 0, 0);
    EXPECT_SITE(c, "site_in_parent", 0, 0, 0);
    CHECK(stats_of(c, "site_in_child").leak[RCC_REACHABLE] == 1);
    free_capture(c);

    /* without %p the child records nothing and leaves the file alone */
    c = record("fork_nopid", "nofork.cap", NULL, 0, NULL);
    expect_fork_parent(c);
    free_capture(c);
    char names[8][256];
    CHECK(list_files("nofork", names, 8) == 1);
}

static void check_fork_threads(const char *scenario, bool with_thread)
{
    char path[512];
    capture_path(path, sizeof path, "ft.%p.cap");
    run r = run_child(scenario, path, NULL, true, 0);
    CHECK(r.status == 0);
    char names[8][256];
    CHECK(list_files("ft.", names, 8) == 4);
    for (int i = 0; i < 4; i++) {
        char file[600];
        snprintf(file, sizeof file, "%s/%s", dir, names[i]);
        captured *c = read_capture(file);
        CHECK(c->rc == 0 && c->ended && c->status == 0);
        bool parent = c->hdr.pid == (uint32_t)r.pid;
        if (!parent) { /* a child: its one allocation, nothing inherited */
            check_common(c, 0);
            EXPECT_SITE(c, "site_in_child", 1, 222, 0);
            EXPECT_SITE(c, "site_in_child_thread", with_thread, with_thread ? 321 : 0, 0);
            EXPECT_SITE(c, "site_malloc", 0, 0, 0);
        }
        free_capture(c);
    }
}

static void test_fork_threads(void)
{
    check_fork_threads("fork_threads", false);
}

static void test_fork_child_thread(void)
{
    check_fork_threads("fork_child_thread", true);
}

static void test_exec(void)
{
    /* exec keeps the pid: the new image takes the capture over */
    run r;
    captured *c = record("exec", "exec.cap", NULL, 0, &r);
    CHECK(c->hdr.pid == (uint32_t)r.pid);
    EXPECT_SITE(c, "site_exec_target", 1, 444, 0);
    EXPECT_SITE(c, "site_exec_before", 0, 0, 0);
    free_capture(c);
    /* a fork child that execs does not clobber its parent's capture */
    c = record("fork_exec", "forkexec.cap", NULL, 0, NULL);
    EXPECT_SITE(c, "site_in_parent", 1, 333, 0);
    EXPECT_SITE(c, "site_exec_target", 0, 0, 0);
    free_capture(c);
    /* with %p it writes its own */
    char path[512];
    capture_path(path, sizeof path, "fe.%p.cap");
    r = run_child("fork_exec", path, NULL, true, 0);
    CHECK(r.status == 0);
    char names[8][256];
    CHECK(list_files("fe.", names, 8) == 2);
}

static void check_dlopen(const captured *c);

static void test_dlopen(void)
{
    for (int k = 0; k < 2; k++) {
        captured *c = record(k ? "dlopen_relative" : "dlopen", "dlopen.cap", NULL, 0, NULL);
        check_dlopen(c);
        free_capture(c);
    }
}

/* A dlopen'ed library's allocation: its frame in the module record's range,
   the record written before it, the path absolute (a relative dlopen's
   too: the capture is read from anywhere). */
static void check_dlopen(const captured *c)
{
    const alloc *a = NULL;
    for (size_t i = 0; i < c->na; i++)
        if (c->a[i].size == 4321)
            a = &c->a[i];
    CHECK(a && a->stack);
    size_t m;
    const char *mod = module_of(c, c->nodes[a->stack - 1].ip, &m);
    CHECK(mod && strstr(mod, "libshim_plugin.so") && mod[0] == '/');
    CHECK(strcmp(mod, SHIM_PLUGIN_PATH) == 0 || strstr(mod, "/./") == NULL);
    CHECK(c->mods[m].seq < c->nodes[a->stack - 1].seq);
    CHECK(a->leak == RCC_REACHABLE); /* plug_kept, in the library's data */
}

/* shim_teardown's destructor frees the block its constructor kept: the
   scan runs after the libraries' destructors, so the block is freed, not
   still reachable. */
static void test_teardown(void)
{
    captured *c = record("teardown", "teardown.cap", "SHIM_TEARDOWN=1", 0, NULL);
    const alloc *a = NULL;
    for (size_t i = 0; i < c->na; i++)
        if (c->a[i].size == 4567)
            a = &c->a[i];
    CHECK(a && a->freed && a->leak == -1);
    free_capture(c);
}

static void test_peak(void)
{
    captured *c = record("peak", "peak.cap", NULL, 0, NULL);
    EXPECT_SITE(c, "site_big", 1500, 1500000, 1500);
    CHECK(c->peak == c->replay_peak && c->peak >= 1000000 && c->peak < 1100000);
    CHECK(c->samples >= 3 && c->max_rss > 1000000);
    /* the peak happened after the 60 ms warm-up */
    CHECK(c->peak_time >= 60000 && c->peak_time <= c->end_time);
    free_capture(c);
}

static void test_sample(void)
{
    captured *c = record("sample", "sample.cap", "RCGC_SAMPLE_BYTES=4096", 0, NULL);
    site_stats s = stats_of(c, "site_sampled");
    double total = 200000.0 * 64, weight = 64 / -expm1(-64 / 4096.0);
    /* about total / 4096 samples (3125), each standing for `weight` bytes */
    CHECK(s.count > 2500 && s.count < 3750 && s.freed == s.count);
    CHECK(fabs((double)s.bytes - total) < 0.1 * total);
    CHECK(llabs((long long)first_at(c, "site_sampled")->size - (long long)(weight + 0.5)) <= 1);
    free_capture(c);
}

static void test_frames(void)
{
    captured *c = record("frames", "frames.cap", "RCGC_NATIVE_FRAMES=3", 0, NULL);
    for (size_t i = 0; i < c->na; i++)
        CHECK(depth_of(c, c->a[i].stack) <= 3);
    const alloc *a = first_at(c, "site_malloc");
    CHECK(a && depth_of(c, a->stack) == 3);
    CHECK(strcmp(site_of(c, c->nodes[a->stack - 1].parent), "recurse") == 0);
    free_capture(c);
}

static void test_noenv(void)
{
    char names[64][256];
    int before = list_files("", names, 64);
    run r = run_child("noenv", NULL, NULL, true, 0);
    CHECK(r.status == 0 && strcmp(r.out, "family done\n") == 0);
    CHECK(list_files("", names, 64) == before);
}

static void test_killed(void)
{
    char path[512];
    capture_path(path, sizeof path, "killed.cap");
    /* small chunks, so a loaded machine's few milliseconds of the child's
       0.3 s still fill some */
    run r = run_child("forever", path, "RCGC_CHUNK_BYTES=8192", true, 0.3);
    CHECK(r.status == 128 + SIGKILL);
    captured *c = read_capture(path);
    CHECK(c->rc == 0 || c->rc == 1); /* cut at a chunk boundary, or inside one */
    CHECK(!c->ended && c->na > 1000);
    free_capture(c);
}

/* The tick page (capture.h), as rcgc run makes it, but frozen: the shim
   uses it when its token matches, and then does not see the 30 ms pause
   (the page says time has not moved: the second allocation is timed with
   the first), else it reads the coarse clock and does.  stopped: the page
   holds 0, as rcgc run leaves it when its program has exited. */
/* Run the tick scenario with env (RCGC_TICK=...); the microseconds between
   its two allocations in the capture. */
static uint64_t tick_run(const char *env)
{
    char path[512];
    capture_path(path, sizeof path, "tick.cap");
    run r = run_child("tick", path, env, true, 0);
    CHECK(r.status == 0);
    captured *c = read_capture(path);
    check_common(c, 0);
    const alloc *a = first_at(c, "site_tick_first"), *b = first_at(c, "site_tick_second");
    CHECK(a && b && b->time >= a->time);
    uint64_t gap = b->time - a->time;
    free_capture(c);
    return gap;
}

static uint64_t tick_gap(const char *token_suffix, bool stopped)
{
    int fd = memfd_create("test-tick", MFD_CLOEXEC);
    CHECK(fd >= 0 && ftruncate(fd, sizeof(rcc_tick_page)) == 0);
    rcc_tick_page *page =
        mmap(NULL, sizeof *page, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    CHECK(page != MAP_FAILED);
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    page->token = 12345;
    atomic_store(&page->mono_ns,
                 stopped ? 0 : (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec);
    static char env[128];
    snprintf(env, sizeof env, RCC_TICK_ENV "=/proc/%ld/fd/%d:12345%s", (long)getpid(), fd,
             token_suffix);
    uint64_t gap = tick_run(env);
    munmap(page, sizeof *page);
    close(fd);
    return gap;
}

/* RCGC_TICK naming what is not a page (its pid reused after rcgc run
   ended): an empty file would fault when mapped and read, a FIFO would
   block the open.  The program runs, recorded, as without the page. */
static void tick_not_a_page(const char *name, bool fifo)
{
    char file[512];
    static char env[600];
    capture_path(file, sizeof file, name);
    if (fifo)
        CHECK(mkfifo(file, 0600) == 0);
    else
        CHECK(close(open(file, O_WRONLY | O_CREAT | O_TRUNC, 0600)) == 0);
    snprintf(env, sizeof env, RCC_TICK_ENV "=%s:12345", file);
    CHECK(tick_run(env) >= 25000); /* the clock's time */
    unlink(file);
}

static void test_tick(void)
{
    CHECK(tick_gap("", false) < 5000);    /* the page's frozen time */
    CHECK(tick_gap("9", false) >= 25000); /* another token: the clock's */
    CHECK(tick_gap("", true) >= 25000);   /* stopped (rcgc run's program exited) */
    tick_not_a_page("tick_empty", false);
    tick_not_a_page("tick_fifo", true);
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "child") == 0)
        return child(argv[2]);
    ssize_t k = readlink("/proc/self/exe", self_exe, sizeof self_exe - 1);
    CHECK(k > 0);
    self_exe[k] = 0;
    dl_iterate_phdr(base_cb, NULL);
    CHECK(mkdtemp(dir));
    const char *only = argc > 1 ? argv[1] : NULL;
    struct {
        const char *name;
        void (*fn)(void);
    } tests[] = {
        {"family", test_family}, {"unwind", test_unwind}, {"unwind_load", test_unwind_load}, {"fp", test_fp}, {"leaks", test_leaks},   {"exits", test_exits},
        {"threads", test_threads}, {"fork", test_fork},   {"exec", test_exec},
        {"churn", test_churn},     {"many_threads", test_many_threads},
        {"slot_handover", test_slot_handover},
        {"exit_race", test_exit_race}, {"huge", test_huge},
        {"fork_threads", test_fork_threads}, {"fork_child_thread", test_fork_child_thread},
        {"dlopen", test_dlopen}, {"peak", test_peak},     {"sample", test_sample},
        {"frames", test_frames}, {"noenv", test_noenv},   {"killed", test_killed},
        {"tick", test_tick},     {"crash", test_crash},   {"vfork", test_vfork},
        {"clone", test_clone},   {"write_fail", test_write_fail},
        {"libc_names", test_libc_names}, {"signal_alloc", test_signal_alloc},
        {"signal_exit", test_signal_exit},
        {"teardown", test_teardown},
    };
    for (size_t i = 0; i < sizeof tests / sizeof *tests; i++) {
        if (only && strcmp(only, tests[i].name) != 0)
            continue;
        tests[i].fn();
        printf("test_shim %s: ok\n", tests[i].name);
    }
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK(system(cmd) == 0);
    return 0;
}
