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
 *
 * The census at exit (O records): live objects and gc.garbage's items by
 * type name (a class's module.qualname), two types of the same name (a
 * class statement run twice) merged.
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

static uint64_t name_hash(const char *s)
{
    uint64_t h = UINT64_C(0xCBF29CE484222325);
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * UINT64_C(0x100000001B3);
    return h | 1; /* a u64map key is never 0 */
}

/* The entry of a type name, made if new; NULL when out of memory.  Names
   are compared, so a hash shared by two names costs a scan, never a merge. */
static rca_pyobjects *census_entry(rca_capture *c, const char *type)
{
    if (!c->pyobjects_of && !(c->pyobjects_of = u64map_new()))
        return NULL;
    uint32_t *idx = u64map_claim(c->pyobjects_of, name_hash(type));
    if (!idx)
        return NULL;
    if (*idx != UINT32_MAX && strcmp(c->pyobjects[*idx].type, type) == 0)
        return &c->pyobjects[*idx];
    for (size_t i = 0; *idx != UINT32_MAX && i < c->npyobjects; i++)
        if (strcmp(c->pyobjects[i].type, type) == 0)
            return &c->pyobjects[i];
    if (!cli_reserve((void **)&c->pyobjects, &c->pyobjects_cap, c->npyobjects + 1,
                     sizeof *c->pyobjects))
        return NULL;
    rca_pyobjects *o = &c->pyobjects[c->npyobjects];
    *o = (rca_pyobjects){.type = strdup(type)};
    if (!o->type)
        return NULL;
    if (*idx == UINT32_MAX)
        *idx = (uint32_t)c->npyobjects;
    c->npyobjects++;
    return o;
}

static uint64_t saturated_add(uint64_t a, uint64_t b)
{
    return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

int rca_python_objects(rca_capture *c, const rcc_event *e)
{
    rca_pyobjects *o = census_entry(c, e->text ? e->text : "");
    if (!o)
        return -1;
    int list = e->status == RCC_PY_GARBAGE; /* the reader allows only the two */
    o->objects[list] = saturated_add(o->objects[list], e->count);
    o->bytes[list] = saturated_add(o->bytes[list], e->size);
    return 0;
}

static int by_live_bytes(const void *a, const void *b)
{
    const rca_pyobjects *x = a, *y = b;
    if (x->bytes[RCC_PY_LIVE] != y->bytes[RCC_PY_LIVE])
        return x->bytes[RCC_PY_LIVE] < y->bytes[RCC_PY_LIVE] ? 1 : -1;
    if (x->objects[RCC_PY_LIVE] != y->objects[RCC_PY_LIVE])
        return x->objects[RCC_PY_LIVE] < y->objects[RCC_PY_LIVE] ? 1 : -1;
    return strcmp(x->type, y->type);
}

void rca_python_census_sort(rca_capture *c)
{
    u64map_free(c->pyobjects_of);
    c->pyobjects_of = NULL;
    if (c->npyobjects)
        qsort(c->pyobjects, c->npyobjects, sizeof *c->pyobjects, by_live_bytes);
}

uint64_t rca_python_census_total(const rca_capture *c, int list, uint64_t *bytes)
{
    uint64_t objects = 0;
    *bytes = 0;
    for (size_t i = 0; i < c->npyobjects; i++) {
        objects = saturated_add(objects, c->pyobjects[i].objects[list]);
        *bytes = saturated_add(*bytes, c->pyobjects[i].bytes[list]);
    }
    return objects;
}

void rca_python_free(rca_capture *c)
{
    for (size_t i = 0; i < c->npyobjects; i++)
        free(c->pyobjects[i].type);
    free(c->pyobjects);
    u64map_free(c->pyobjects_of);
    c->pyobjects = NULL;
    c->pyobjects_of = NULL;
    c->npyobjects = c->pyobjects_cap = 0;
    for (size_t i = 0; i < c->npycodes; i++) {
        free(c->pycodes[i].file);
        free(c->pycodes[i].function);
    }
    free(c->pycodes);
    c->pycodes = NULL;
    c->npycodes = c->pycodes_cap = 0;
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
