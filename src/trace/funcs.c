/*
 * funcs.c — a module's function symbols sorted by address, so that naming
 * the function that holds an address is a binary search.  libdwfl's
 * dwfl_module_addrname walks the whole symbol table on every call (a third
 * of `rcgc top` on a cc1 capture went there); the symbolizer builds one of
 * these per module on first use instead.
 *
 * Rules, as a linker map reads: a sized symbol holds [start, start + size);
 * when several hold the address (aliases, or a function and a symbol
 * nested in it) the one starting last wins, and among those a global
 * binding over a local or weak one.  A sizeless symbol (hand-written
 * assembly) holds everything up to the next symbol's start, and only
 * when no sized symbol holds the address.
 *
 * May call: malloc.  Names are borrowed: they must outlive the index.
 */
#include "trace.h"

#include <stdlib.h>

typedef struct func {
    uint64_t lo, hi;          /* [lo, hi); hi == lo: sizeless */
    const char *name;         /* borrowed */
    bool global;              /* a global binding: wins a tie */
} func;

struct rct_funcs {
    func *v;                  /* sorted by lo once sealed */
    size_t n, cap;
    bool sealed;
};

/* How far back the search looks for a sized symbol that holds the address
   past the ones that start after it: nesting is shallow in practice. */
enum { MAX_NESTED = 16 };

rct_funcs *rct_funcs_new(void)
{
    return calloc(1, sizeof(rct_funcs));
}

void rct_funcs_free(rct_funcs *f)
{
    if (f) {
        free(f->v);
        free(f);
    }
}

int rct_funcs_add(rct_funcs *f, uint64_t lo, uint64_t size, const char *name, bool global)
{
    if (!name || !*name || lo + size < lo)
        return 0; /* nameless or wrapping: nothing to find */
    if (f->n == f->cap) {
        size_t cap = f->cap ? f->cap * 2 : 256;
        func *v = cap > SIZE_MAX / sizeof *v ? NULL : realloc(f->v, cap * sizeof *v);
        if (!v)
            return -1;
        f->v = v;
        f->cap = cap;
    }
    f->v[f->n++] = (func){lo, lo + size, name, global};
    f->sealed = false;
    return 0;
}

static int by_start(const void *a, const void *b)
{
    const func *x = a, *y = b;
    if (x->lo != y->lo)
        return x->lo < y->lo ? -1 : 1;
    if (x->global != y->global) /* globals last: the search takes the last */
        return x->global ? 1 : -1;
    return 0;
}

void rct_funcs_seal(rct_funcs *f)
{
    if (f->n)
        qsort(f->v, f->n, sizeof *f->v, by_start);
    f->sealed = true;
}

const char *rct_funcs_find(const rct_funcs *f, uint64_t addr)
{
    if (!f || !f->sealed || !f->n || addr < f->v[0].lo)
        return NULL;
    size_t a = 0, b = f->n; /* the last symbol with lo <= addr */
    while (b - a > 1) {
        size_t m = a + (b - a) / 2;
        if (f->v[m].lo <= addr)
            a = m;
        else
            b = m;
    }
    for (size_t i = a + 1, k = 0; i-- > 0 && k < MAX_NESTED; k++)
        if (f->v[i].hi > addr && f->v[i].lo <= addr)
            return f->v[i].name;
    /* no sized symbol holds it: the nearest sizeless one before it, if no
       sized symbol starts between the two */
    for (size_t i = a + 1; i-- > 0;) {
        if (f->v[i].hi == f->v[i].lo)
            return f->v[i].name;
        if (f->v[i].hi > f->v[i].lo)
            return NULL;
    }
    return NULL;
}
