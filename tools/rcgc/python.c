/*
 * python.c — a capture's Python side (docs/CAPTURE.md, version 4): the
 * interpreter's version (a Y record) and the code locations (K records)
 * that Python frames name.  A Python frame is a stack node whose return
 * address has RCC_PYFRAME_BIT, the rest of it a K id.  The symbolizer is
 * given each location as the answer for that address (function: the
 * qualname, file, line), so every verb names a Python frame as it names a
 * native one with a line; only grouping (the innermost Python frame, for a
 * Python programmer's "which line of mine allocated") and the flame
 * graphs' colours need to tell them apart.
 */
#define _GNU_SOURCE
#include "cli.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

int rca_python_code(rca_capture *c, const rcc_event *e)
{
    if (e->id != c->npycodes + 1)
        return -1; /* the reader gives them in order: cannot happen */
    if (!cli_reserve((void **)&c->pycodes, &c->pycodes_cap, c->npycodes + 1, sizeof *c->pycodes))
        return -1;
    rca_pycode *k = &c->pycodes[c->npycodes];
    k->file = strdup(e->text ? e->text : "");
    k->function = strdup(e->name ? e->name : "");
    k->line = e->line <= INT_MAX ? (int)e->line : 0; /* beyond any file: unknown */
    if (!k->file || !k->function) {
        free(k->file);
        free(k->function);
        return -1;
    }
    c->npycodes++;
    return 0;
}

int rca_python_symbols(const rca_capture *c, rct_symbols *s)
{
    for (size_t i = 0; i < c->npycodes; i++) {
        const rca_pycode *k = &c->pycodes[i];
        void *ip = (void *)(uintptr_t)(RCC_PYFRAME_BIT | (i + 1));
        if (rct_symbols_define(s, ip, k->function, k->file, k->line) != 0)
            return -1;
    }
    return 0;
}

void rca_python_free(rca_capture *c)
{
    for (size_t i = 0; i < c->npycodes; i++) {
        free(c->pycodes[i].file);
        free(c->pycodes[i].function);
    }
    free(c->pycodes);
    c->pycodes = NULL;
    c->npycodes = c->pycodes_cap = 0;
}

size_t rca_python_innermost(void *const *frames, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (rca_is_pyframe(frames[i]))
            return i;
    return 0;
}

uint32_t rca_python_group(const rca_capture *c, uint32_t node)
{
    for (uint32_t k = node; k; k = c->nodes[k].parent)
        if (c->nodes[k].ip & RCC_PYFRAME_BIT)
            return k;
    return node;
}

const char *rca_python_version(const rca_capture *c, char *buf, size_t len)
{
    /* PY_VERSION_HEX: major, minor, micro, release level (0xA alpha, 0xB
       beta, 0xC candidate, 0xF final) and serial, a byte, a byte, a byte,
       a nibble and a nibble */
    static const char *const level[16] = {[0xA] = "a", [0xB] = "b", [0xC] = "rc"};
    uint64_t v = c->python_version;
    unsigned lv = (unsigned)(v >> 4 & 0xF), serial = (unsigned)(v & 0xF);
    int n = snprintf(buf, len, "%u.%u.%u", (unsigned)(v >> 24 & 0xFF), (unsigned)(v >> 16 & 0xFF),
                     (unsigned)(v >> 8 & 0xFF));
    if (lv != 0xF && level[lv] && n > 0 && (size_t)n < len)
        snprintf(buf + n, len - (size_t)n, "%s%u", level[lv], serial);
    return buf;
}
