/*
 * flame.c — every site's stack merged into one tree of frames, root first,
 * for the flame graphs of the report and the exports (collapsed stacks,
 * speedscope).  Siblings merge when their labels are equal: the function's
 * name, or for a frame without one its module ("[libc.so.6]") or
 * "[unknown]"; a managed object's type is its own last frame.  Labels are
 * compared by pointer: the symbolizer interns its strings, so equal names
 * are one pointer.  A Python frame's label is its code location (function,
 * file and line: a K record of the capture), keyed by its return address,
 * which no pointer equals (bit 63).
 *
 * Each node carries inclusive bytes and blocks for three figures: live at
 * the peak, leaked, allocated in total, and each site knows its node (for
 * the report's timeline, flame_time.c).  Memory: one node per distinct
 * (path, label), bounded by the sites' frames.
 */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

static const char unknown_name[] = "[unknown]";
static const char root_name[] = "all";

/* The label index for key (an interned name, or a Python frame's return
   address), named name, added on first use; -1 when out of memory. */
static int64_t label_of(flame *f, uint64_t key, const char *name, int kind,
                        const rct_symbol *sym)
{
    uint32_t *idx = u64map_claim(f->by_name, key);
    if (!idx)
        return -1;
    if (*idx == UINT32_MAX) {
        if (!cli_reserve((void **)&f->labels, &f->labels_cap, f->nlabels + 1, sizeof *f->labels))
            return -1;
        f->labels[f->nlabels] = (flame_label){name, sym ? sym->file : NULL,
                                              sym ? sym->line : 0, kind};
        *idx = (uint32_t)f->nlabels++;
    }
    return *idx;
}

static int64_t frame_label(flame *f, rct_symbols *symbols, void *ip)
{
    rct_symbol sym = {0};
    rct_symbols_lookup(symbols, ip, &sym);
    if (rca_is_pyframe(ip))
        return label_of(f, (uint64_t)(uintptr_t)ip, sym.function ? sym.function : unknown_name,
                        FLAME_PYTHON, &sym);
    if (sym.function)
        return label_of(f, (uint64_t)(uintptr_t)sym.function, sym.function, FLAME_FUNCTION, &sym);
    if (sym.module)
        return label_of(f, (uint64_t)(uintptr_t)sym.module, sym.module, FLAME_MODULE, NULL);
    return label_of(f, (uint64_t)(uintptr_t)unknown_name, unknown_name, FLAME_UNKNOWN, NULL);
}

/* A parent's children are found by walking its list while it has at most
   LIST_CHILDREN of them, and in the children map from then on: most nodes
   have one child, and a node made under a new one has none to look
   through, where a map of every child missed the cache on nearly every
   probe (18% of the report's cycles on a cc1plus capture). */
enum { LIST_CHILDREN = 8 };

static bool in_map(const flame *f, uint32_t parent)
{
    return f->mapped[parent / 8] & (1u << parent % 8);
}

/* The child of parent with this label, made on first use; -1 when out of
   memory. */
static int64_t child(flame *f, uint32_t parent, uint32_t label)
{
    uint32_t *idx = NULL, found = UINT32_MAX;
    size_t siblings = 0;
    if (in_map(f, parent)) {
        if (!(idx = u64map_claim(f->children, ((uint64_t)parent << 32 | label) + 1)))
            return -1;
        found = *idx;
    } else
        for (uint32_t k = f->nodes[parent].first_child; k && found == UINT32_MAX;
             k = f->nodes[k].next_sibling, siblings++)
            if (f->nodes[k].label == label)
                found = k;
    if (found != UINT32_MAX)
        return found;
    if (f->nnodes >= f->cap || f->nnodes >= UINT32_MAX)
        return -1; /* past the bound flame_build made room for: cannot be */
    uint32_t made = (uint32_t)f->nnodes++;
    f->nodes[made] = (flame_node){.parent = parent, .label = label,
                                  .next_sibling = f->nodes[parent].first_child};
    f->nodes[parent].first_child = made;
    if (idx)
        *idx = made;
    else if (siblings + 1 > LIST_CHILDREN) { /* the list is long: map it */
        for (uint32_t k = made; k; k = f->nodes[k].next_sibling) {
            uint32_t *at = u64map_claim(f->children,
                                        ((uint64_t)parent << 32 | f->nodes[k].label) + 1);
            if (!at)
                return -1;
            *at = k;
        }
        f->mapped[parent / 8] |= (uint8_t)(1u << parent % 8);
    }
    return made;
}

static void add(flame_node *n, const uint64_t *bytes, const uint64_t *blocks)
{
    for (int v = 0; v < FLAME_NVALUES; v++) {
        n->bytes[v] += bytes[v];
        n->blocks[v] += blocks[v];
    }
}

/* The flame node of a stack node's path (0: the root), made on first use:
   made_of remembers it per stack node, so a path shared by many sites is
   labelled and looked up once, not once per site; -1 when out of memory. */
static int64_t node_of(flame *f, rca_capture *c, uint32_t node, rct_symbols *symbols,
                       uint32_t *made_of)
{
    uint32_t path[RCC_MAX_DEPTH];
    size_t n = 0;
    for (; node && made_of[node] == UINT32_MAX && n < RCC_MAX_DEPTH;
         node = rca_shown_parent(c, node))
        path[n++] = node;
    if (node && made_of[node] == UINT32_MAX)
        return -1; /* deeper than a capture may be: the reader refused it */
    int64_t at = node ? made_of[node] : 0;
    while (n-- > 0 && at >= 0) {
        int64_t label = frame_label(f, symbols, (void *)(uintptr_t)c->nodes[path[n]].ip);
        at = label < 0 ? -1 : child(f, (uint32_t)at, (uint32_t)label);
        if (at >= 0)
            made_of[path[n]] = (uint32_t)at;
    }
    return at;
}

/* Add one site's figures to the node its path ends at (flame_build sums
   them up the tree), and note that node; -1 when out of memory. */
static int add_site(flame *f, rca_capture *c, size_t site, rct_symbols *symbols,
                    uint32_t *made_of)
{
    const rca_site *s = &c->sites[site];
    uint64_t bytes[FLAME_NVALUES], blocks[FLAME_NVALUES];
    rca_value(s, RCA_PEAK, &bytes[FLAME_PEAK], &blocks[FLAME_PEAK]);
    rca_value(s, RCA_LEAKED, &bytes[FLAME_LEAKED], &blocks[FLAME_LEAKED]);
    rca_value(s, RCA_TOTAL, &bytes[FLAME_TOTAL], &blocks[FLAME_TOTAL]);
    if (!blocks[FLAME_PEAK] && !blocks[FLAME_LEAKED] && !blocks[FLAME_TOTAL])
        return 0;
    int64_t at = node_of(f, c, rca_innermost_shown(c, s->node), symbols, made_of);
    const char *type = rca_type_name(c, s->type);
    if (type && at >= 0) {
        int64_t label = label_of(f, (uint64_t)(uintptr_t)type, type, FLAME_TYPE, NULL);
        at = label < 0 ? -1 : child(f, (uint32_t)at, (uint32_t)label);
    }
    if (at < 0)
        return -1;
    add(&f->nodes[at], bytes, blocks);
    f->site_node[site] = (uint32_t)at;
    return 0;
}

int flame_build(flame *f, rca_capture *c)
{
    memset(f, 0, sizeof *f);
    rct_symbols *symbols = rca_symbols(c);
    uint32_t *made_of = malloc((c->nnodes + 1) * sizeof *made_of);
    f->children = u64map_new();
    f->by_name = u64map_new();
    /* At most the root, one node per stack node and one per site (its
       type): made at once, the array is never copied as it fills. */
    if (!symbols || !made_of || !f->children || !f->by_name ||
        !cli_reserve((void **)&f->nodes, &f->cap, c->nnodes + c->nsites + 1, sizeof *f->nodes) ||
        !(f->mapped = calloc(f->cap / 8 + 1, 1)) ||
        label_of(f, (uint64_t)(uintptr_t)root_name, root_name, FLAME_ROOT, NULL) != 0 ||
        !(f->site_node = calloc(c->nsites ? c->nsites : 1, sizeof *f->site_node)))
        goto fail;
    memset(made_of, 0xff, (c->nnodes + 1) * sizeof *made_of);
    f->nodes[0] = (flame_node){0};
    f->nnodes = 1;
    for (size_t i = 0; i < c->nsites; i++)
        if (add_site(f, c, i, symbols, made_of) < 0)
            goto fail;
    /* A child is made after its parent: from the last node back, each
       hands its (by then inclusive) figures to its parent. */
    for (size_t i = f->nnodes; i-- > 1;)
        add(&f->nodes[f->nodes[i].parent], f->nodes[i].bytes, f->nodes[i].blocks);
    free(made_of);
    u64map_free(f->children); /* the building's */
    u64map_free(f->by_name);
    free(f->mapped);
    f->children = f->by_name = NULL;
    f->mapped = NULL;
    return 0;
fail:
    free(made_of);
    flame_free(f);
    return -1;
}

void flame_free(flame *f)
{
    free(f->nodes);
    free(f->labels);
    free(f->site_node);
    u64map_free(f->children);
    u64map_free(f->by_name);
    free(f->mapped);
    memset(f, 0, sizeof *f);
}

uint64_t flame_self(const flame *f, uint32_t i, int v, uint64_t *blocks)
{
    uint64_t bytes = f->nodes[i].bytes[v], n = f->nodes[i].blocks[v];
    for (uint32_t k = f->nodes[i].first_child; k; k = f->nodes[k].next_sibling) {
        bytes -= f->nodes[k].bytes[v];
        n -= f->nodes[k].blocks[v];
    }
    if (blocks)
        *blocks = n;
    return bytes;
}

size_t flame_path(const flame *f, uint32_t i, uint32_t *labels)
{
    size_t n = 0;
    for (uint32_t k = i; k; k = f->nodes[k].parent)
        n++;
    for (size_t at = n; i; i = f->nodes[i].parent)
        labels[--at] = f->nodes[i].label;
    return n;
}

const char *flame_text(const flame_label *l, char *buf, size_t len)
{
    const char *slash;
    switch (l->kind) {
    case FLAME_MODULE:
        slash = strrchr(l->name, '/');
        snprintf(buf, len, "[%s]", slash ? slash + 1 : l->name);
        return buf;
    case FLAME_TYPE:
        snprintf(buf, len, "[%s object]", l->name);
        return buf;
    case FLAME_PYTHON:
        if (!l->file)
            return l->name;
        slash = strrchr(l->file, '/');
        snprintf(buf, len, l->line ? "%s (%s:%d)" : "%s (%s)", l->name, slash ? slash + 1 : l->file,
                 l->line);
        return buf;
    default:
        return l->name;
    }
}
