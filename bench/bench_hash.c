/*
 * bench_hash.c — the str hash against hostile and ordinary keys: hashing
 * speed of short and long strings (the old unkeyed hash, SipHash-1-3 as
 * the library runs it, rc_hash of a fresh str, CPython's hash() of fresh
 * bytes), and the time to load 20,000 16-byte keys into a dict when they
 * all collided under the old hash, against random keys and CPython.
 *
 * How:
 *  - Hashing: N texts of each length ("%012d" then 'x' padding, as
 *    types_peer.py makes them), N = 100,000 or fewer so N x length stays
 *    under 16 MiB; the raw functions run over the texts, rc_hash over N
 *    str objects made untimed, each hashed once (a str caches its hash).
 *    CPython: types_peer.py's hash() per object minus id() per object (the
 *    call machinery), both shown.
 *  - Loading: a fresh default heap per run; the keys' str objects are made
 *    untimed, then rc_dict_set(d, key, value) for each is timed.  The
 *    colliding keys come from running the old hash backwards
 *    (tests/collide.h); CPython loads the same keys from a file.
 *  - Thread CPU time; median of 5 interleaved runs (--quick: 3, tiny).
 *  - The same source builds against an older librcgc (it uses no API the
 *    old library lacks): that is how docs/PERFORMANCE.md gets "before".
 *
 * Usage: bench_hash [--quick] [hash|load...]
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_common.h"
#include "rcgc.h"
#include "../src/types/siphash.h"
#include "../tests/collide.h"

#ifndef RC_BENCH_PEER
#define RC_BENCH_PEER "types_peer.py"
#endif

static bench_python cpython = {RC_BENCH_PEER, "types_peer.py", " ", 0, RC_BENCH_PYTHON};

static const size_t lengths[] = {16, 64, 1000};
#define N_LENGTHS (sizeof lengths / sizeof *lengths)
#define TEXT_BYTES (16u << 20)

static volatile uint64_t sink; /* keeps the raw loops from being optimized away */

/* ---- Hashing -------------------------------------------------------------- */

enum { H_OLD, H_SIP, H_RC, H_PY, H_PYCALL, N_HASHERS };
static const char *const hasher_names[N_HASHERS] = {
    "old hash (unkeyed)", "SipHash-1-3 (raw)", "rc_hash, fresh str", "CPython hash()",
    "CPython id() (call cost)"};

static char *make_texts(size_t len, size_t n)
{
    char *t = malloc(len * n + 1);
    if (!t)
        die("out of memory for %zu texts", n);
    for (size_t i = 0; i < n; i++) {
        char head[16];
        snprintf(head, sizeof head, "%012zu", i);
        memset(t + i * len, 'x', len);
        memcpy(t + i * len, head, len < 12 ? len : 12);
    }
    return t;
}

static double time_raw(int which, const char *texts, size_t len, size_t n)
{
    const uint64_t key[2] = {UINT64_C(0x0123456789abcdef), UINT64_C(0xfedcba9876543210)};
    uint64_t acc = 0, t0 = cpu_ns();
    for (size_t i = 0; i < n; i++)
        acc ^= which == H_OLD ? old_str_hash(texts + i * len, len)
                              : rci_siphash(key, texts + i * len, len, 1, 3);
    uint64_t t1 = cpu_ns();
    sink = acc;
    return (double)(t1 - t0) / (double)n;
}

static double time_rc_hash(const char *texts, size_t len, size_t n)
{
    rc_heap *h = rc_heap_new(NULL);
    void **objs = malloc(n * sizeof *objs);
    if (!h || !objs)
        die("out of memory");
    for (size_t i = 0; i < n; i++)
        if (!(objs[i] = rc_str(h, texts + i * len, len)))
            die("rc_str failed");
    uint64_t acc = 0, v, t0 = cpu_ns();
    for (size_t i = 0; i < n; i++) {
        rc_hash(objs[i], &v);
        acc ^= v;
    }
    uint64_t t1 = cpu_ns();
    sink = acc;
    for (size_t i = 0; i < n; i++)
        rc_decref(objs[i]);
    free(objs);
    rc_heap_free(h);
    return (double)(t1 - t0) / (double)n;
}

static void time_hashing(int runs, size_t max_n, double out[N_LENGTHS][N_HASHERS])
{
    for (size_t l = 0; l < N_LENGTHS; l++) {
        size_t len = lengths[l], n = TEXT_BYTES / len < max_n ? TEXT_BYTES / len : max_n;
        char *texts = make_texts(len, n);
        double v[N_HASHERS][BENCH_MAX_RUNS];
        for (int r = 0; r < runs; r++) {
            v[H_OLD][r] = time_raw(H_OLD, texts, len, n);
            v[H_SIP][r] = time_raw(H_SIP, texts, len, n);
            v[H_RC][r] = time_rc_hash(texts, len, n);
            if (cpython.ok) {
                char args[64], line[256];
                snprintf(args, sizeof args, "hash %zu %zu", len, n);
                if (python_call(&cpython, "", args, line, sizeof line) != 0)
                    die("types_peer.py %s failed", args);
                v[H_PY][r] = python_field(&cpython, line, "hash_ns");
                v[H_PYCALL][r] = python_field(&cpython, line, "call_ns");
            }
        }
        for (int k = 0; k < N_HASHERS; k++)
            out[l][k] = k >= H_PY && !cpython.ok ? -1 : median(v[k], runs);
        free(texts);
    }
}

/* ---- Loading a dict --------------------------------------------------------- */

enum { L_RANDOM, L_COLLIDING, N_KEYSETS };
static const char *const keyset_names[N_KEYSETS] = {"random keys", "old-hash collisions"};

static void random_keys(char (*keys)[16], size_t n, uint64_t *rng)
{
    for (size_t k = 0; k < n; k++)
        for (int i = 0; i < 16; i++) {
            uint64_t z = (*rng += UINT64_C(0x9E3779B97F4A7C15));
            z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
            z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
            keys[k][i] = (char)(0x20 + (z ^ (z >> 31)) % 95);
        }
}

/* ns per key to set n keys into a fresh dict on a fresh heap. */
static double time_load(char (*keys)[16], size_t n)
{
    rc_heap *h = rc_heap_new(NULL);
    void **objs = malloc(n * sizeof *objs);
    void *d = h ? rc_dict(h) : NULL, *value = h ? rc_int(h, 1) : NULL;
    if (!d || !objs || !value)
        die("out of memory");
    for (size_t i = 0; i < n; i++)
        if (!(objs[i] = rc_str(h, keys[i], 16)))
            die("rc_str failed");
    uint64_t t0 = cpu_ns();
    for (size_t i = 0; i < n; i++)
        if (rc_dict_set(d, objs[i], value) != 0)
            die("rc_dict_set failed");
    uint64_t t1 = cpu_ns();
    if (rc_dict_len(d) != n)
        die("%zu keys, dict holds %zu", n, rc_dict_len(d));
    for (size_t i = 0; i < n; i++)
        rc_decref(objs[i]);
    rc_decref(d);
    free(objs);
    rc_heap_free(h);
    return (double)(t1 - t0) / (double)n;
}

static double python_load(char (*keys)[16], size_t n)
{
    char path[] = "/tmp/bench_hash_keysXXXXXX", args[64], line[256];
    int fd = mkstemp(path);
    if (fd < 0 || write(fd, keys, n * 16) != (ssize_t)(n * 16))
        die("cannot write %s", path);
    close(fd);
    snprintf(args, sizeof args, "load %s", path);
    int rc = python_call(&cpython, "", args, line, sizeof line);
    unlink(path);
    if (rc != 0)
        die("types_peer.py load failed");
    return python_field(&cpython, line, "ns");
}

static void time_loads(int runs, size_t n, double out[N_KEYSETS][2])
{
    char(*keys)[16] = malloc(n * 16);
    if (!keys)
        die("out of memory");
    for (int s = 0; s < N_KEYSETS; s++) {
        uint64_t rng = 2026;
        if (s == L_COLLIDING)
            old_hash_collisions(keys, n, &rng);
        else
            random_keys(keys, n, &rng);
        double rc[BENCH_MAX_RUNS], py[BENCH_MAX_RUNS];
        for (int r = 0; r < runs; r++) {
            rc[r] = time_load(keys, n);
            py[r] = cpython.ok ? python_load(keys, n) : -1;
        }
        out[s][0] = median(rc, runs);
        out[s][1] = cpython.ok ? median(py, runs) : -1;
    }
    free(keys);
}

/* ---- Report ----------------------------------------------------------------- */

int main(int argc, char **argv)
{
    char **tags;
    int ntags;
    int quick = parse_args(argc, argv, &tags, &ntags);
    for (int i = 0; i < ntags; i++)
        if (strcmp(tags[i], "hash") != 0 && strcmp(tags[i], "load") != 0)
            return usage(argv[0], "PART", "hash load");
    int runs = quick ? 3 : 5;
    size_t max_n = quick ? 1000 : 100000, load_n = quick ? 200 : 20000;
    printf("bench_hash: str hashing and hostile dict keys, rcgc vs CPython%s\n",
           quick ? BENCH_QUICK_NOTE : "");
    print_machine();
    double load[3];
    if (getloadavg(load, 3) == 3)
        printf("load:     %.2f %.2f %.2f (1, 5, 15 min) at the start\n", load[0], load[1],
               load[2]);
    printf("versions: rcgc %s; compiler %s\n", RC_VERSION, __VERSION__);
    python_start(&cpython, "\n          ", "");
    printf("method:   thread CPU time, median of %d interleaved runs\n\n", runs);
    if (selected("hash", tags, ntags)) {
        double t[N_LENGTHS][N_HASHERS];
        time_hashing(runs, max_n, t);
        printf("hashing, ns per string (fresh objects: each hashed once)\n%-28s", "");
        for (size_t l = 0; l < N_LENGTHS; l++)
            printf("%8zu B", lengths[l]);
        printf("\n");
        for (int k = 0; k < N_HASHERS; k++) {
            printf("%-28s", hasher_names[k]);
            for (size_t l = 0; l < N_LENGTHS; l++)
                if (t[l][k] < 0)
                    printf("%10s", "-");
                else
                    printf("%10.1f", t[l][k]);
            printf("\n");
        }
        printf("\n");
    }
    if (selected("load", tags, ntags)) {
        double t[N_KEYSETS][2];
        time_loads(runs, load_n, t);
        printf("loading %zu 16-byte str keys into a dict, ns per key (total ms)\n", load_n);
        printf("%-28s%20s%20s\n", "", "rcgc", "CPython");
        for (int s = 0; s < N_KEYSETS; s++) {
            printf("%-28s%12.1f (%5.1f)", keyset_names[s], t[s][0],
                   t[s][0] * (double)load_n / 1e6);
            if (t[s][1] >= 0)
                printf("%12.1f (%5.1f)\n", t[s][1], t[s][1] * (double)load_n / 1e6);
            else
                printf("%20s\n", "-");
        }
    }
    return 0;
}
