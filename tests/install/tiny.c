/*
 * tiny.c — a user's first rcgc program, built against the installed
 * library by test_install.sh: a list of ints in a cycle with itself,
 * reclaimed by the collector; a malloc'd block for `rcgc run` to see.
 */
#include <rcgc.h>

#include <stdio.h>
#include <stdlib.h>

int main(void)
{
    rc_heap *h = rc_heap_new(NULL);
    void *list = rc_list(h);
    for (int i = 0; i < 100; i++) {
        void *n = rc_int(h, i);
        rc_list_append(list, n);
        rc_decref(n);
    }
    rc_list_append(list, list); /* a cycle: only the collector frees it */
    rc_decref(list);
    size_t reclaimed = rc_collect(h, -1);
    rc_heap_free(h);
    char *block = malloc(4096);
    printf("tiny: reclaimed %zu\n", reclaimed);
    free(block);
    return reclaimed > 0 ? 0 : 1;
}
