/*
 * repr_text.h — rc_repr into a string, for the tests that check what it
 * prints.  Needs open_memstream: define _POSIX_C_SOURCE 200809L before
 * including anything.
 */
#ifndef RC_TEST_REPR_TEXT_H
#define RC_TEST_REPR_TEXT_H

#include "check.h"

/* rc_repr(o) as a malloc'd string (the caller frees it). */
static inline char *repr_of(const void *o)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    CHECK(f && rc_repr(o, f) == 0);
    fclose(f);
    return buf;
}

static inline void expect_repr(const void *o, const char *want)
{
    char *got = repr_of(o);
    if (strcmp(got, want) != 0) {
        fprintf(stderr, "repr: got %s, want %s\n", got, want);
        exit(1);
    }
    free(got);
}

#endif
