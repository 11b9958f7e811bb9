/*
 * pysites.c — the Python side of a capture, for the tests of tests/python:
 * the CPython version (Y), the Python domains' totals and peak (blocks
 * typed PyObject_Malloc or PyMem_Malloc), and the allocation sites grouped
 * by their innermost Python frame, with the module of the innermost native
 * frame below it (what the line called into).  Reads with capture.h only.
 *
 *   pysites CAPTURE [-n N] [-s FILE:LINE] [-f FILE:LINE]    prints:
 *     python 0xVERSION
 *     domains ALLOCATED_BYTES PEAK_LIVE_BYTES BLOCKS
 *                          (with -f: from the first allocation made under a
 *                          frame at FILE:LINE, the peak less the live bytes
 *                          then: what tracemalloc.start() there counts)
 *     site BYTES BLOCKS FILE:LINE FUNCTION MODULE     (N sites, most bytes first)
 *     frames K S           (K records, stack nodes holding a Python frame)
 *     leaks WHOSE REACHABLE_B INDIRECT_B DEFINITE_B POSSIBLE_B   (the scan at
 *                          exit; WHOSE: malloc; python: the domains' blocks
 *                          of at most 512 bytes, pymalloc's own; python_big:
 *                          the larger ones, which pymalloc gets from malloc)
 *     stack FRAME...       (with -s FILE:LINE: the largest site's stack whose
 *                          innermost Python frame is there, innermost first)
 */
#define _POSIX_C_SOURCE 200809L /* strdup */
#include "capture.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct node { uint64_t parent, ip; } node;
typedef struct info { uint64_t size, node, type; } info;
typedef struct code { uint64_t line; char *file, *name; } code;
typedef struct module { uint64_t base, size; char *path; } module;
typedef struct site { uint64_t key, bytes, blocks, largest, node; } site;

static struct {
    node *nodes; size_t nnodes, cnodes;
    info *infos; size_t ninfos, cinfos;
    code *codes; size_t ncodes, ccodes;
    module *mods; size_t nmods, cmods;
    char *types[4096]; size_t ntypes;
    uint64_t version, last_info, py_total, py_live, py_peak, py_blocks, pyframe_nodes;
    const char *from;         /* -f: count from the first allocation under it */
    bool counting;
    uint64_t base;            /* the live bytes then */
    uint64_t leaks[3][4];     /* [malloc, python, python_big][reachability]: bytes */
    site *sites; size_t nsites, csites;
} c;

#define GROW(arr, n, cap) do { if ((n) == (cap)) { (cap) = (cap) ? 2 * (cap) : 1024; \
    (arr) = realloc((arr), (cap) * sizeof *(arr)); if (!(arr)) abort(); } } while (0)

static int python_type(uint64_t t)
{
    return t && t <= c.ntypes && (!strcmp(c.types[t - 1], "PyObject_Malloc") ||
                                  !strcmp(c.types[t - 1], "PyMem_Malloc"));
}

/* The innermost Python frame of a stack (its K id) and the stack's
   innermost frame when that is native (0: it is the Python one). */
static uint64_t python_site(uint64_t n, uint64_t *native)
{
    *native = n && !(c.nodes[n - 1].ip & RCC_PYFRAME_BIT) ? c.nodes[n - 1].ip : 0;
    for (; n; n = c.nodes[n - 1].parent)
        if (c.nodes[n - 1].ip & RCC_PYFRAME_BIT)
            return c.nodes[n - 1].ip & ~RCC_PYFRAME_BIT;
    return 0;
}

static const char *module_name(uint64_t ip)
{
    for (size_t m = 0; m < c.nmods; m++)
        if (ip - c.mods[m].base < c.mods[m].size) {
            const char *slash = strrchr(c.mods[m].path, '/');
            return slash ? slash + 1 : c.mods[m].path;
        }
    return "?";
}

/* One stack, innermost first: FILE:LINE for Python frames, the module's
   name for native ones (a run of frames in one module once). */
static void print_stack(uint64_t n)
{
    const char *last = NULL;
    printf("stack");
    for (; n; n = c.nodes[n - 1].parent) {
        uint64_t ip = c.nodes[n - 1].ip;
        if (ip & RCC_PYFRAME_BIT) {
            const code *k = &c.codes[(ip & ~RCC_PYFRAME_BIT) - 1];
            printf(" %s:%llu", k->file, (unsigned long long)k->line);
            last = NULL;
        } else if (!last || strcmp(last, module_name(ip)) != 0) {
            last = module_name(ip);
            printf(" [%s]", last);
        }
    }
    printf("\n");
}

/* Whether a Python frame of the stack is at `at` (a FILE:LINE suffix). */
static bool under(uint64_t n, const char *at)
{
    for (; n; n = c.nodes[n - 1].parent) {
        uint64_t ip = c.nodes[n - 1].ip;
        if (!(ip & RCC_PYFRAME_BIT))
            continue;
        const code *k = &c.codes[(ip & ~RCC_PYFRAME_BIT) - 1];
        char where[4200];
        snprintf(where, sizeof where, "%s:%llu", k->file, (unsigned long long)k->line);
        size_t lw = strlen(where), la = strlen(at);
        if (lw >= la && !strcmp(where + lw - la, at))
            return true;
    }
    return false;
}

static void count(uint64_t id, int sign)
{
    const info *in = &c.infos[id - 1];
    if (!c.counting && sign > 0 && under(in->node, c.from)) {
        c.counting = true;
        c.base = c.py_live;
        c.py_peak = c.py_live;
        c.py_total = c.py_blocks = 0;
    }
    if (python_type(in->type)) {
        if (sign > 0) {
            c.py_total += in->size;
            c.py_blocks++;
            c.py_live += in->size;
            if (c.py_live > c.py_peak)
                c.py_peak = c.py_live;
        } else {
            c.py_live -= in->size;
        }
    }
    if (sign < 0)
        return;
    uint64_t native, k = python_site(in->node, &native);
    if (!k)
        return;
    size_t m = 0;
    for (; m < c.nmods; m++)
        if (native - c.mods[m].base < c.mods[m].size)
            break;
    uint64_t key = k << 16 | (native ? (m < c.nmods ? m + 1 : 0xFFFF) : 0);
    for (size_t i = 0; i < c.nsites; i++)
        if (c.sites[i].key == key) {
            c.sites[i].bytes += in->size;
            c.sites[i].blocks++;
            if (in->size > c.sites[i].largest) {
                c.sites[i].largest = in->size;
                c.sites[i].node = in->node;
            }
            return;
        }
    GROW(c.sites, c.nsites, c.csites);
    c.sites[c.nsites++] = (site){key, in->size, 1, in->size, in->node};
}

static int on_event(const rcc_event *e, void *ctx)
{
    (void)ctx;
    switch (e->kind) {
    case RCC_PYTHON: c.version = e->count; break;
    case RCC_PYCODE:
        GROW(c.codes, c.ncodes, c.ccodes);
        c.codes[c.ncodes++] = (code){e->line, strdup(e->text), strdup(e->name)};
        break;
    case RCC_MODULE:
        GROW(c.mods, c.nmods, c.cmods);
        c.mods[c.nmods++] = (module){e->ip, e->size, strdup(e->text)};
        break;
    case RCC_TYPE:
        if (c.ntypes < 4096)
            c.types[c.ntypes++] = strdup(e->text);
        break;
    case RCC_STACK:
        GROW(c.nodes, c.nnodes, c.cnodes);
        c.nodes[c.nnodes++] = (node){e->stack, e->ip};
        c.pyframe_nodes += (e->ip & RCC_PYFRAME_BIT) != 0;
        break;
    case RCC_INFO:
        GROW(c.infos, c.ninfos, c.cinfos);
        c.infos[c.ninfos++] = (info){e->size, e->stack, e->type};
        break;
    case RCC_LEAK: {
        const info *in = &c.infos[e->id - 1];
        c.leaks[python_type(in->type) ? in->size > 512 ? 2 : 1 : 0][e->status & 3] +=
            e->count * in->size;
        break;
    }
    case RCC_ALLOC: c.last_info = e->id; count(e->id, 1); break;
    case RCC_FREE: count(e->id ? e->id : c.last_info, -1); break;
    default: break;
    }
    return 0;
}

static int by_bytes(const void *a, const void *b)
{
    const site *x = a, *y = b;
    return x->bytes < y->bytes ? 1 : x->bytes > y->bytes ? -1 : 0;
}

int main(int argc, char **argv)
{
    size_t n = 10;
    const char *at = NULL, *path = NULL;
    c.counting = true;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-n") && i + 1 < argc)
            n = strtoul(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "-s") && i + 1 < argc)
            at = argv[++i];
        else if (!strcmp(argv[i], "-f") && i + 1 < argc) {
            c.from = argv[++i];
            c.counting = false;
        } else
            path = argv[i];
    }
    if (!path) {
        fprintf(stderr, "usage: pysites CAPTURE [-n N] [-s FILE:LINE] [-f FILE:LINE]\n");
        return 2;
    }
    char err[256];
    rcc_reader *r = rcc_reader_open(path, err, sizeof err);
    if (!r) {
        fprintf(stderr, "pysites: %s\n", err);
        return 2;
    }
    if (rcc_read(r, on_event, NULL) < 0) {
        fprintf(stderr, "pysites: %s\n", rcc_reader_error(r));
        return 2;
    }
    rcc_reader_close(r);
    printf("python 0x%llx\n", (unsigned long long)c.version);
    printf("domains %llu %llu %llu\n", (unsigned long long)c.py_total,
           (unsigned long long)(c.py_peak - c.base), (unsigned long long)c.py_blocks);
    qsort(c.sites, c.nsites, sizeof *c.sites, by_bytes);
    for (size_t i = 0; i < c.nsites && i < n; i++) {
        const code *k = &c.codes[(c.sites[i].key >> 16) - 1];
        uint64_t m = c.sites[i].key & 0xFFFF;
        const char *mod = !m ? "-" : m == 0xFFFF ? "?" : strrchr(c.mods[m - 1].path, '/')
                                                            ? strrchr(c.mods[m - 1].path, '/') + 1
                                                            : c.mods[m - 1].path;
        printf("site %llu %llu %s:%llu %s %s\n", (unsigned long long)c.sites[i].bytes,
               (unsigned long long)c.sites[i].blocks, k->file, (unsigned long long)k->line,
               k->name, mod);
    }
    printf("frames %zu %llu\n", c.ncodes, (unsigned long long)c.pyframe_nodes);
    static const char *const whose[] = {"malloc", "python", "python_big"};
    for (int p = 0; p < 3; p++)
        printf("leaks %s %llu %llu %llu %llu\n", whose[p],
               (unsigned long long)c.leaks[p][RCC_REACHABLE],
               (unsigned long long)c.leaks[p][RCC_INDIRECT],
               (unsigned long long)c.leaks[p][RCC_DEFINITE],
               (unsigned long long)c.leaks[p][RCC_POSSIBLE]);
    for (size_t i = 0; at && i < c.nsites; i++) {
        const code *k = &c.codes[(c.sites[i].key >> 16) - 1];
        char where[4200];
        snprintf(where, sizeof where, "%s:%llu", k->file, (unsigned long long)k->line);
        size_t la = strlen(where), lw = strlen(at);
        if (la >= lw && strcmp(where + la - lw, at) == 0) {
            print_stack(c.sites[i].node);
            break;
        }
    }
    return 0;
}
