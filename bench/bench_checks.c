/*
 * bench_checks.c — what the ownership and type checks cost per call, for
 * callgrind (instruction counts, not time: the checks are a few
 * instructions, below the noise of a timed run on a shared machine).
 *
 * Each phase is a function of its own, so callgrind's inclusive count of
 * the phase divided by N is the cost of one call with its loop:
 *   append  rc_list_append of N distinct ints (the list has room)
 *   set     rc_list_set of each slot
 *   dict    rc_dict_set of N int keys (hash, probe, resize)
 *   value   rc_int_value of each int
 *   drop    rc_decref of the list, its N items dying with it
 * The items span two arenas, so both halves of the ownership check (same
 * arena; different arenas, same heap) are taken.  How to run it, and the
 * figures before and after the checks: docs/OBJECTS.md, "Heaps stay apart".
 *
 * Usage: bench_checks [--quick]   (--quick: N = 1000, proves it runs)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rcgc.h"

#define PHASE __attribute__((noinline))

PHASE static void phase_append(void *l, void **items, int n)
{
    for (int i = 0; i < n; i++)
        rc_list_append(l, items[i]);
}

PHASE static void phase_set(void *l, void **items, int n)
{
    for (int i = 0; i < n; i++)
        rc_list_set(l, (size_t)i, items[n - 1 - i]);
}

PHASE static void phase_dict(void *d, void **items, int n)
{
    for (int i = 0; i < n; i++)
        rc_dict_set(d, items[i], items[i]);
}

PHASE static long long phase_value(void **items, int n)
{
    long long sum = 0;
    for (int i = 0; i < n; i++)
        sum += rc_int_value(items[i]);
    return sum;
}

PHASE static void phase_drop(void *l)
{
    rc_decref(l);
}

int main(int argc, char **argv)
{
    int n = argc > 1 && strcmp(argv[1], "--quick") == 0 ? 1000 : 100000;
    rc_heap *h = rc_heap_new(NULL);
    void **items = malloc((size_t)n * sizeof *items);
    if (!h || !items)
        return 1;
    for (int i = 0; i < n; i++)
        items[i] = rc_int(h, 100000 + i);
    void *l = rc_list(h), *d = rc_dict(h);
    if (!l || !d || rc_list_reserve(l, (size_t)n) != 0)
        return 1;
    phase_append(l, items, n);
    phase_set(l, items, n);
    phase_dict(d, items, n);
    long long sum = phase_value(items, n);
    int ok = rc_list_len(l) == (size_t)n && rc_dict_len(d) == (size_t)n &&
             sum == (long long)n * 100000 + (long long)n * (n - 1) / 2;
    rc_decref(d);
    for (int i = 0; i < n; i++)
        rc_decref(items[i]);
    phase_drop(l);
    rc_heap_free(h);
    free(items);
    printf("bench_checks: %d calls per phase%s\n", n, ok ? "" : ": WRONG RESULTS");
    return ok ? 0 : 1;
}
