/*
 * test_alloc_debug.c — a debug heap catches misuse and says what it was.
 *
 * Run with a scenario name; CTest matches the message each one must print
 * (the program stops).  "clean" checks that correct use raises nothing.
 */
#include "check.h"

static void clean(rc_heap *h)
{
    void *p[200];
    for (int i = 0; i < 200; i++) {
        p[i] = rc_mem_alloc(h, (size_t)i * 37);
        CHECK(p[i] && rc_mem_usable_size(h, p[i]) == (size_t)i * 37);
        /* fresh memory is filled with 0xCD */
        CHECK(i == 0 || ((unsigned char *)p[i])[0] == 0xCD);
        memset(p[i], i, (size_t)i * 37);
        CHECK_VALID(h);
    }
    for (int i = 0; i < 200; i += 2) {
        rc_mem_free(h, p[i]);
        CHECK_VALID(h);
    }
    for (int i = 0; i < 200; i += 2)
        p[i] = rc_mem_calloc(h, (size_t)i, 3);
    for (int i = 1; i < 200; i += 2) {
        p[i] = rc_mem_realloc(h, p[i], (size_t)i * 50);
        CHECK(((unsigned char *)p[i])[(size_t)i * 37 - 1] == (unsigned char)i);
    }
    for (int i = 0; i < 200; i++)
        rc_mem_free(h, p[i]);
    CHECK_VALID(h);
    printf("clean: ok\n");
}

int main(int argc, char **argv)
{
    CHECK(argc == 2);
    exit_on_abort(); /* the heap aborts after its message */
    const char *what = argv[1];
    rc_heap *h = test_heap(HEAP_DEBUG);
    if (!strcmp(what, "overflow_traced"))
        CHECK(rc_trace_start(h, 4) == 0);
    unsigned char *p = rc_mem_alloc(h, 40);
    if (!strcmp(what, "clean")) {
        rc_mem_free(h, p);
        clean(h);
    } else if (!strcmp(what, "double_free")) {
        rc_mem_free(h, p);
        rc_mem_free(h, p);
    } else if (!strcmp(what, "foreign")) {
        void *m = malloc(64);
        rc_mem_free(h, m);
    } else if (!strcmp(what, "interior")) {
        rc_mem_free(h, p + 16);
    } else if (!strcmp(what, "overflow") || !strcmp(what, "overflow_traced")) {
        p[40] = 1;
        rc_mem_free(h, p);
    } else if (!strcmp(what, "underflow")) {
        p[-3] = 1;
        rc_mem_free(h, p);
    } else if (!strcmp(what, "write_after_free")) {
        rc_mem_free(h, p);
        p[30] = 7;
        (void)rc_mem_alloc(h, 40); /* reuses the block */
    } else {
        fprintf(stderr, "unknown scenario %s\n", what);
        return 2;
    }
    rc_heap_free(h);
    return 0;
}
