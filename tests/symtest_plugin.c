/*
 * symtest_plugin.c — the shared object test_symbols dlopens: a call made
 * from a known line, found by a symbolizer made before the dlopen; and its
 * own copy of src/trace/symbols.c, for which this object is "the library"
 * (the rule librcgc.so goes by).
 */
#include "symtest_plugin.h"
#include "trace.h"

int symtest_plugin_line;

void *symtest_plugin_call(symtest_probe probe)
{
    symtest_plugin_line = __LINE__ + 1;
    void *volatile ra = probe(); /* volatile: a call, not a tail jump */
    return ra;
}

int symtest_plugin_in_library(const void *addr)
{
    rct_symbols *s = rct_symbols_new();
    if (s == NULL)
        return -1;
    int inside = rct_symbols_in_library(s, addr);
    rct_symbols_unref(s);
    return inside;
}
