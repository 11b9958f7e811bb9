/*
 * test_alloc_oom.c — fault sweep: fail the 1st, 2nd, ... Nth page request
 * in turn while a workload runs, until a run sees no failure.  After each
 * run: every failed call returned NULL and lost nothing, the heap validated
 * after every call, and the page source got every byte back.
 */
#include "check.h"

enum { SLOTS = 64 };

/* Returns the number of calls that failed. */
static int workload(rc_heap *h)
{
    void *slot[SLOTS] = {0};
    int failures = 0;
    uint64_t rng = 7;
    for (int op = 0; op < 1200; op++) {
        unsigned i = (unsigned)(test_rand(&rng) % SLOTS);
        uint64_t r = test_rand(&rng);
        size_t n = r % 10 < 7 ? r % 3000 : r % 10 < 9 ? r % 200000 : r % 3000000;
        if (!slot[i]) {
            slot[i] = rc_mem_alloc(h, n);
            if (slot[i])
                memset(slot[i], 0x5A, n);
            else
                failures++;
        } else if (r & 1) {
            unsigned char first = *(unsigned char *)slot[i];
            void *q = rc_mem_realloc(h, slot[i], n + 1);
            if (q)
                slot[i] = q;
            else
                failures++;
            CHECK(*(unsigned char *)slot[i] == first); /* kept on failure */
        } else {
            rc_mem_free(h, slot[i]);
            slot[i] = NULL;
        }
        CHECK_VALID(h);
    }
    for (unsigned i = 0; i < SLOTS; i++)
        rc_mem_free(h, slot[i]);
    CHECK_VALID(h);
    return failures;
}

/* With the failure still set: everything was freed, a call failed exactly
   when a page was refused, and after a failure the heap still works. */
static void armed(rc_heap *h, int failures, const rc_alloc_stats *s)
{
    CHECK(s->small_blocks == 0 && s->large_blocks == 0 && s->huge_blocks == 0);
    CHECK((failures > 0) == (s->page_failures > 0));
    void *p = rc_mem_alloc(h, 100);
    CHECK(p);
    rc_mem_free(h, p);
}

int main(void)
{
    unsigned long swept = run_fault_sweep(&(fault_sweep){.workload = workload, .armed = armed});
    CHECK(swept >= 10); /* the workload really asks for pages */
    printf("test_alloc_oom: ok, swept %lu failure points\n", swept);
    return 0;
}
