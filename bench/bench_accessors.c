/*
 * bench_accessors.c — the inline accessors of rcgc.h against the checked
 * out-of-line calls they stand beside: rc_typeof inline against the
 * exported rc_typeof called through a pointer (what every call cost
 * before it was inline), rc_list_item / rc_list_get, rc_tuple_item /
 * rc_tuple_get, rc_str_bytes + rc_str_size / rc_str_data.  Each loop sums
 * what it reads over an array of objects; CPU time per call, median of 5.
 * Deterministic counts: valgrind --tool=callgrind --toggle-collect='loop_*'.
 *
 * Run: bench_accessors [--quick]
 */
#define _GNU_SOURCE
#include "bench_common.h"
#include "rcgc.h"

enum { N = 1024, RUNS = 5 };
static void *list, *tuple, *strs[N];
static const rc_type *(*volatile typeof_call)(const void *) = rc_typeof;
static const char *(*volatile str_data_call)(const void *, size_t *) = rc_str_data;

/* Each loop returns a sum so the reads cannot be dropped. */
#define LOOP(name, expr)                                                     \
    static __attribute__((noinline)) uintptr_t loop_##name(size_t rounds)   \
    {                                                                        \
        uintptr_t sum = 0;                                                   \
        for (size_t r = 0; r < rounds; r++)                                  \
            for (size_t i = 0; i < N; i++)                                   \
                sum += (uintptr_t)(expr);                                    \
        return sum;                                                          \
    }
LOOP(typeof_inline, rc_typeof(strs[i]))
LOOP(typeof_call, typeof_call(strs[i]))
LOOP(list_item, rc_list_item(list, i))
LOOP(list_get, rc_list_get(list, i))
LOOP(tuple_item, rc_tuple_item(tuple, i))
LOOP(tuple_get, rc_tuple_get(tuple, i))
LOOP(str_bytes, rc_str_bytes(strs[i]) + rc_str_size(strs[i]))
static inline const char *str_data_end(const void *s)
{
    size_t n;
    const char *d = str_data_call(s, &n);
    return d + n;
}
LOOP(str_data, str_data_end(strs[i]))

static double ns_per_call(uintptr_t (*fn)(size_t), size_t rounds, uintptr_t *sink)
{
    double v[RUNS];
    for (int k = 0; k < RUNS; k++) {
        uint64_t t = cpu_ns();
        *sink += fn(rounds);
        v[k] = (double)(cpu_ns() - t) / (double)(rounds * N);
    }
    return median(v, RUNS);
}

int main(int argc, char **argv)
{
    int quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
    size_t rounds = quick ? 10 : 20000;
    print_machine();
    if (quick)
        puts(BENCH_QUICK_NOTE);
    rc_heap *h = rc_heap_new(NULL);
    if (!h || !(list = rc_list(h)))
        die("out of memory");
    for (size_t i = 0; i < N; i++) {
        char text[16];
        int n = snprintf(text, sizeof text, "s%zu", i);
        if (!(strs[i] = rc_str(h, text, (size_t)n)) || rc_list_append(list, strs[i]) != 0)
            die("out of memory");
    }
    if (!(tuple = rc_tuple(h, N, strs)))
        die("out of memory");
    struct {
        const char *what;
        uintptr_t (*fast)(size_t), (*checked)(size_t);
    } pairs[] = {
        {"rc_typeof: inline / exported call", loop_typeof_inline, loop_typeof_call},
        {"rc_list_item / rc_list_get", loop_list_item, loop_list_get},
        {"rc_tuple_item / rc_tuple_get", loop_tuple_item, loop_tuple_get},
        {"rc_str_bytes+rc_str_size / rc_str_data", loop_str_bytes, loop_str_data},
    };
    uintptr_t sink = 0;
    printf("%-42s %9s %9s %7s\n", "ns per call (CPU time, median of 5)", "inline", "checked",
           "ratio");
    for (size_t k = 0; k < sizeof pairs / sizeof *pairs; k++) {
        double f = ns_per_call(pairs[k].fast, rounds, &sink);
        double c = ns_per_call(pairs[k].checked, rounds, &sink);
        printf("%-42s %9.3f %9.3f %7.2f\n", pairs[k].what, f, c, c > 0 ? f / c : 0);
    }
    printf("(sum %zu)\n", (size_t)(sink & 1));
    for (size_t i = 0; i < N; i++)
        rc_decref(strs[i]);
    rc_decref(list);
    rc_decref(tuple);
    rc_heap_free(h);
    return 0;
}
