/*
 * introspect.c — the managed heap seen from outside: census, deep and
 * retained sizes, top retainers, the path that keeps an object alive,
 * reference cycles and Graphviz drawings (heapy, pympler, objgraph for C).
 *
 * Calls object.c's walk (rci_for_each_object) and each type's traverse to
 * read the reference graph, alloc.c (rci_block_size) and types/
 * (rci_owned_bytes, rc_repr) for sizes and labels.  Nothing in the library
 * calls it.
 *
 * It never changes the heap it inspects: no flags, no counts, no scratch
 * bits, no allocation.  Its working memory comes from the C library's
 * malloc, so that looking at a heap leaves its pools, statistics and traces
 * exactly as they were (a census must not count itself).  When malloc
 * refuses, every function returns its documented failure value.
 *
 * The snapshot (graph_build): every live object gets a node number in
 * walk order, an open-addressing table maps addresses to numbers, and the
 * references reported by traverse become edges in one array (compressed
 * rows: the edges of node v are dst[first[v] .. first[v+1])).  A slot that
 * holds no object of this heap (NULL, or another heap's object) is not an
 * edge.  Parked free-list objects and dying objects are not live and never
 * appear.
 *
 * Roots are the objects referenced from outside the heap: a count greater
 * than the references other heap objects hold (the collector's trial
 * deletion, read without writing), or immortal.  A virtual super-root,
 * node n, has an edge to every root, so every question "from the roots"
 * is a search from one node.
 *
 * Every search is iterative with its stack or queue in malloc'd memory:
 * a 10-million-long chain costs memory in proportion, never C stack.
 * Node numbers are 32-bit to halve the memory of big snapshots; a heap of
 * more than about 4 billion objects makes the functions fail.
 */
#define _POSIX_C_SOURCE 200809L /* open_memstream */

#include "types/types.h"

#include <inttypes.h>
#include <stdlib.h>

typedef uint32_t node;
#define NONE UINT32_MAX         /* no node: empty slot, unreached */
#define MARK (UINT32_MAX - 1)   /* a search's scratch state (see its use) */
#define NODES_MAX (UINT32_MAX - 2) /* objects + super-root stay below marks */
#define VALUE_CHARS 32          /* values in labels are cut to about this */

/* ---- Small helpers ----------------------------------------------------- */

static bool is_live(const void *obj)
{
    return !(rci_head(obj)->flags & (RCI_F_PARKED | RCI_F_DYING));
}

/* What an object costs: its block, header included (as rc_sizeof reads the
   block, but the whole block rather than the bytes asked for), plus the raw
   blocks a built-in owns. */
static size_t object_bytes(const void *obj)
{
    return rci_block_size(rci_head(obj)) + rci_owned_bytes(obj);
}

static const char *type_name(const rc_type *t)
{
    return t->name ? t->name : "?";
}

/* n elements of size bytes from malloc; NULL when n * size overflows. */
static void *xalloc(size_t n, size_t size)
{
    size_t bytes;
    return rci_mul_ok(n, size, &bytes) ? malloc(bytes ? bytes : 1) : NULL;
}

/* items resized to hold at least need elements, doubling; *cap updated on
   success.  NULL on failure, items then untouched. */
static void *grow_array(void *items, size_t *cap, size_t need, size_t size)
{
    size_t n = *cap ? *cap : 16, bytes;
    while (n < need)
        n *= 2;
    if (!rci_mul_ok(n, size, &bytes))
        return NULL;
    void *p = realloc(items, bytes);
    if (p)
        *cap = n;
    return p;
}

/* qsort, which must not be given a NULL base even for no elements. */
static void sort(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *))
{
    if (n > 1)
        qsort(base, n, size, cmp);
}

/* A memstream for labels: text_done returns the malloc'd text, or NULL
   when anything failed. */
typedef struct text {
    char *s;      /* the text (malloc'd by the stream) */
    size_t len;   /* its length */
    FILE *f;      /* the stream writing it */
} text;

static bool text_open(text *t)
{
    t->s = NULL;
    t->len = 0;
    t->f = open_memstream(&t->s, &t->len);
    return t->f != NULL;
}

static char *text_done(text *t, bool ok)
{
    if (fclose(t->f) != 0 || !ok) {
        free(t->s);
        return NULL;
    }
    return t->s;
}

/* The repr of a number or a string, cut to about VALUE_CHARS bytes (on a
   UTF-8 boundary, "..." added); NULL for other types or on failure. */
static char *value_text(const void *obj)
{
    const rc_type *t = rc_typeof(obj);
    if (t != &rc_int_type && t != &rc_float_type && t != &rc_str_type &&
        t != &rc_bytes_type)
        return NULL;
    text x;
    if (!text_open(&x))
        return NULL;
    char *s = text_done(&x, rc_repr(obj, x.f) == 0);
    if (s && x.len > VALUE_CHARS) {
        /* cut <= VALUE_CHARS - 3 < len - 2, so "..." and its NUL fit */
        size_t cut = VALUE_CHARS - 3;
        while (cut && ((unsigned char)s[cut] & 0xC0) == 0x80)
            cut--;
        memcpy(s + cut, "...", 4);
    }
    return s;
}

/* ---- Address -> node table ----------------------------------------------
 * Open addressing with linear probing; slots hold node numbers (4 bytes,
 * the address is read back from objs), at most half full.  Fibonacci
 * hashing takes the top bits of address * 2^64/phi, which spreads the
 * 16-byte-aligned addresses of a pool evenly. */
typedef struct objmap {
    const void **objs;  /* node -> object, in the order first added */
    size_t len, cap;    /* nodes, and room in objs */
    node *slots;        /* a node, or NONE */
    size_t nslots;      /* a power of two, 0 before the first reserve */
    unsigned shift;     /* 64 - log2(nslots) */
} objmap;

static size_t slot_of(const objmap *m, const void *p)
{
    return (size_t)(((uint64_t)(uintptr_t)p * UINT64_C(0x9E3779B97F4A7C15)) >> m->shift);
}

static node objmap_find(const objmap *m, const void *p)
{
    if (!m->nslots)
        return NONE;
    for (size_t i = slot_of(m, p);; i = (i + 1) & (m->nslots - 1)) {
        node v = m->slots[i];
        if (v == NONE || m->objs[v] == p)
            return v;
    }
}

static void objmap_place(objmap *m, node v)
{
    size_t i = slot_of(m, m->objs[v]);
    while (m->slots[i] != NONE)
        i = (i + 1) & (m->nslots - 1);
    m->slots[i] = v;
}

/* Room for n objects without another allocation. */
static bool objmap_reserve(objmap *m, size_t n)
{
    if (n >= NODES_MAX) /* the super-root needs a number too */
        return false;
    if (n > m->cap) {
        const void **objs = grow_array(m->objs, &m->cap, n, sizeof *objs);
        if (!objs)
            return false;
        m->objs = objs;
    }
    if (n * 2 <= m->nslots)
        return true;
    size_t nslots = m->nslots ? m->nslots : 16;
    unsigned shift = m->nslots ? m->shift : 60;
    for (; nslots < n * 2; nslots *= 2)
        shift--;
    node *slots = xalloc(nslots, sizeof *slots);
    if (!slots)
        return false;
    memset(slots, 0xFF, nslots * sizeof *slots); /* every slot NONE */
    free(m->slots);
    m->slots = slots;
    m->nslots = nslots;
    m->shift = shift;
    for (size_t v = 0; v < m->len; v++)
        objmap_place(m, (node)v);
    return true;
}

/* Add p, known to be absent; its node, or NONE when out of memory. */
static node objmap_append(objmap *m, const void *p)
{
    if (!objmap_reserve(m, m->len + 1))
        return NONE;
    node v = (node)m->len++;
    m->objs[v] = p;
    objmap_place(m, v);
    return v;
}

/* p's node, added if new (*fresh tells); NONE when out of memory. */
static node objmap_add(objmap *m, const void *p, bool *fresh)
{
    node v = objmap_find(m, p);
    *fresh = v == NONE;
    return v != NONE ? v : objmap_append(m, p);
}

static void objmap_free(objmap *m)
{
    free(m->objs);
    free(m->slots);
}

/* ---- The snapshot ------------------------------------------------------------ */

typedef struct graph {
    objmap map;        /* node -> object, for the n live objects */
    size_t n;          /* live objects; node n is the super-root */
    size_t *first;     /* edges of v: dst[first[v] .. first[v+1]), v <= n */
    node *dst;         /* edge targets */
    size_t nedges, edges_cap;
    bool failed;       /* malloc refused inside a callback */
} graph;

static void push_edge(graph *g, node w)
{
    if (g->nedges == g->edges_cap) {
        node *dst = grow_array(g->dst, &g->edges_cap, g->nedges + 1, sizeof *dst);
        if (!dst) {
            g->failed = true;
            return;
        }
        g->dst = dst;
    }
    g->dst[g->nedges++] = w;
}

/* The walk meets each object once: no need to look it up first. */
static void snap_object(rc_heap *h, rci_typerec *r, rc_head *hd, void *ctx)
{
    graph *g = ctx;
    (void)h;
    (void)r;
    if (!g->failed && is_live(rci_obj(hd)) && objmap_append(&g->map, rci_obj(hd)) == NONE)
        g->failed = true;
}

static void snap_edge(void **slot, void *ctx)
{
    graph *g = ctx;
    node w;
    if (*slot && !g->failed && (w = objmap_find(&g->map, *slot)) != NONE)
        push_edge(g, w);
}

/* The super-root's edges: to every object with more references than the
   heap's objects hold, and to every immortal one. */
static bool add_roots(graph *g)
{
    size_t *indeg = calloc(g->n + 1, sizeof *indeg);
    if (!indeg)
        return false;
    for (size_t e = 0; e < g->nedges; e++)
        indeg[g->dst[e]]++;
    for (size_t v = 0; v < g->n && !g->failed; v++) {
        size_t count = rc_refcount(g->map.objs[v]);
        if (count >= RC_IMMORTAL || count > indeg[v])
            push_edge(g, (node)v);
    }
    free(indeg);
    g->first[g->n + 1] = g->nedges;
    return !g->failed;
}

/* An upper bound of the live objects (parked ones are counted too), so
   that the table is sized once. */
static size_t objects_bound(const rc_heap *h)
{
    size_t n = 0;
    for (const rci_typerec *r = h->typerecs; r; r = r->next)
        n += r->live;
    return n;
}

/* Snapshot h's reference graph into g (zeroed first).  false on failure;
   graph_free g either way. */
static bool graph_build(rc_heap *h, graph *g)
{
    memset(g, 0, sizeof *g);
    if (!h || !objmap_reserve(&g->map, objects_bound(h)))
        return false;
    rci_for_each_object(h, false, snap_object, g);
    g->n = g->map.len;
    if (g->failed || !(g->first = xalloc(g->n + 2, sizeof *g->first)))
        return false;
    for (size_t v = 0; v < g->n && !g->failed; v++) {
        void *obj = (void *)g->map.objs[v];
        const rc_type *t = rc_typeof(obj);
        g->first[v] = g->nedges;
        if (t->traverse)
            t->traverse(obj, snap_edge, g);
    }
    g->first[g->n] = g->nedges;
    return !g->failed && add_roots(g);
}

static void graph_free(graph *g)
{
    objmap_free(&g->map);
    free(g->first);
    free(g->dst);
}

/* ---- Dominators and retained sizes ---------------------------------------
 * x dominates y when every path from the super-root to y passes through x:
 * if x died, y would die with it.  So x's retained size is the sum of own
 * sizes over x's subtree in the dominator tree.  Objects the roots cannot
 * reach (garbage awaiting collection) retain nothing and are retained by
 * nobody.
 *
 * Cooper, Harvey and Kennedy, "A Simple, Fast Dominance Algorithm" (2001):
 * visit the nodes in reverse postorder and set each one's immediate
 * dominator to the common ancestor, in the tree built so far, of its
 * already processed predecessors; repeat until nothing changes.  On heap
 * graphs (mostly trees, few back edges) two or three passes suffice, and
 * it needs only the postorder numbers and the predecessor lists. */

typedef struct domtree {
    graph g;
    node *post;        /* nodes the super-root reaches, in DFS postorder
                          (the super-root last) */
    size_t reached;    /* entries of post */
    node *idom;        /* immediate dominator; NONE: unreachable */
    size_t *bytes;     /* retained bytes per node (0: unreachable) */
    size_t *objects;   /* retained objects per node */
} domtree;

/* Depth-first from the super-root without recursion: a stack of (node,
   next edge).  po[v] receives v's postorder number (NONE: unreached; MARK
   while on the stack). */
static bool postorder(const graph *g, node *post, node *po, size_t *reached)
{
    struct frame {
        node v;      /* node being explored */
        size_t e;    /* its next edge */
    } *stack = xalloc(g->n + 1, sizeof *stack);
    if (!stack)
        return false;
    size_t sp = 0, k = 0;
    for (size_t v = 0; v <= g->n; v++)
        po[v] = NONE;
    po[g->n] = MARK;
    stack[sp++] = (struct frame){(node)g->n, g->first[g->n]};
    while (sp) {
        struct frame *f = &stack[sp - 1];
        if (f->e < g->first[f->v + 1]) {
            node w = g->dst[f->e++];
            if (po[w] == NONE) {
                po[w] = MARK;
                stack[sp++] = (struct frame){w, g->first[w]};
            }
        } else {
            po[f->v] = (node)k;
            post[k++] = f->v;
            sp--;
        }
    }
    free(stack);
    *reached = k;
    return true;
}

/* The reversed edges, in the same compressed-row form (counting sort). */
static bool predecessors(const graph *g, size_t **first_out, node **src_out)
{
    size_t n = g->n + 1;
    size_t *first = calloc(n + 1, sizeof *first);
    node *src = xalloc(g->nedges, sizeof *src);
    if (!first || !src) {
        free(first);
        free(src);
        return false;
    }
    for (size_t e = 0; e < g->nedges; e++)
        first[g->dst[e] + 1]++;
    for (size_t v = 0; v < n; v++)
        first[v + 1] += first[v];
    /* fill with first[w] as w's cursor, which leaves it at w+1's start ... */
    for (size_t v = 0; v < n; v++)
        for (size_t e = g->first[v]; e < g->first[v + 1]; e++)
            src[first[g->dst[e]]++] = (node)v;
    /* ... so shift back by one */
    memmove(first + 1, first, n * sizeof *first);
    first[0] = 0;
    *first_out = first;
    *src_out = src;
    return true;
}

/* The nearest common ancestor of a and b in the dominator tree so far:
   climb from whichever has the lower postorder number. */
static node intersect(const node *idom, const node *po, node a, node b)
{
    while (a != b) {
        while (po[a] < po[b])
            a = idom[a];
        while (po[b] < po[a])
            b = idom[b];
    }
    return a;
}

static void chk_iterate(domtree *d, const node *po, const size_t *pfirst, const node *psrc)
{
    node root = (node)d->g.n;
    for (size_t v = 0; v <= d->g.n; v++)
        d->idom[v] = NONE;
    d->idom[root] = root;
    for (bool changed = true; changed;) {
        changed = false;
        /* reverse postorder, the super-root (last) excluded */
        for (size_t i = d->reached - 1; i-- > 0;) {
            node v = d->post[i], best = NONE;
            for (size_t e = pfirst[v]; e < pfirst[v + 1]; e++) {
                node p = psrc[e];
                if (d->idom[p] != NONE)
                    best = best == NONE ? p : intersect(d->idom, po, p, best);
            }
            if (d->idom[v] != best) {
                d->idom[v] = best;
                changed = true;
            }
        }
    }
}

/* Sum own sizes up the dominator tree.  A dominator is a DFS ancestor of
   what it dominates, so it comes later in postorder: one pass in postorder
   finishes every subtree before adding it to its parent. */
static bool accumulate(domtree *d)
{
    size_t n = d->g.n + 1;
    d->bytes = calloc(n, sizeof *d->bytes);
    d->objects = calloc(n, sizeof *d->objects);
    if (!d->bytes || !d->objects)
        return false;
    for (size_t i = 0; i + 1 < d->reached; i++) {
        node v = d->post[i];
        d->bytes[v] += object_bytes(d->g.map.objs[v]);
        d->objects[v]++;
        d->bytes[d->idom[v]] += d->bytes[v];
        d->objects[d->idom[v]] += d->objects[v];
    }
    return true;
}

/* Snapshot h and compute every node's retained size into d (zeroed first).
   false on failure; domtree_free d either way. */
static bool domtree_build(rc_heap *h, domtree *d)
{
    memset(d, 0, sizeof *d);
    if (!graph_build(h, &d->g))
        return false;
    size_t n = d->g.n + 1, *pfirst = NULL;
    node *po = xalloc(n, sizeof *po), *psrc = NULL;
    d->post = xalloc(n, sizeof *d->post);
    d->idom = xalloc(n, sizeof *d->idom);
    bool ok = po && d->post && d->idom && postorder(&d->g, d->post, po, &d->reached) &&
              predecessors(&d->g, &pfirst, &psrc);
    if (ok)
        chk_iterate(d, po, pfirst, psrc);
    free(po);
    free(pfirst);
    free(psrc);
    return ok && accumulate(d);
}

static void domtree_free(domtree *d)
{
    graph_free(&d->g);
    free(d->post);
    free(d->idom);
    free(d->bytes);
    free(d->objects);
}

/* The checks every call about one object of h makes: -1 with
   rc_last_error set when obj cannot be asked about (no heap: -1 alone). */
static int check_subject(rc_heap *h, const void *obj, const char *fn)
{
    if (!h)
        return -1;
    if (!obj)
        return rci_fail(h, RC_EVALUE);
    if (rci_heap_of(obj) != h)
        return rci_misuse(h, RC_EFOREIGN, fn, obj, "an object of another heap");
    return 0;
}

int rc_retained_size(rc_heap *h, const void *obj, size_t *bytes, size_t *objects)
{
    domtree d;
    rc_error err = RC_ENOMEM;
    if (check_subject(h, obj, "rc_retained_size") != 0)
        return -1;
    if (domtree_build(h, &d)) {
        node v = objmap_find(&d.g.map, obj);
        err = v == NONE ? RC_EVALUE : RC_OK; /* not found: freed or being released */
        if (v != NONE && bytes)
            *bytes = d.bytes[v];
        if (v != NONE && objects)
            *objects = d.objects[v];
    }
    domtree_free(&d);
    return err == RC_OK ? 0 : rci_fail(h, err);
}

/* ---- Top retainers -----------------------------------------------------------
 * A min-heap of the cap best so far, kept in out itself (the weakest at
 * out[0]), then sorted: O(n log cap) and no memory beyond the caller's. */

/* More retained bytes, then objects, then own bytes, then lower address. */
static bool ranks_before(const rc_retainer *a, const rc_retainer *b)
{
    if (a->retained_bytes != b->retained_bytes)
        return a->retained_bytes > b->retained_bytes;
    if (a->retained_objects != b->retained_objects)
        return a->retained_objects > b->retained_objects;
    if (a->own_bytes != b->own_bytes)
        return a->own_bytes > b->own_bytes;
    return (uintptr_t)a->object < (uintptr_t)b->object;
}

static int retainer_cmp(const void *a, const void *b)
{
    return ranks_before(a, b) ? -1 : ranks_before(b, a) ? 1 : 0;
}

static void swap_retainers(rc_retainer *a, rc_retainer *b)
{
    rc_retainer t = *a;
    *a = *b;
    *b = t;
}

static void sift_down(rc_retainer *hp, size_t len, size_t i)
{
    for (;;) {
        size_t weakest = i, l = 2 * i + 1, r = l + 1;
        if (l < len && ranks_before(&hp[weakest], &hp[l]))
            weakest = l;
        if (r < len && ranks_before(&hp[weakest], &hp[r]))
            weakest = r;
        if (weakest == i)
            return;
        swap_retainers(&hp[i], &hp[weakest]);
        i = weakest;
    }
}

static void offer(rc_retainer *hp, size_t *len, size_t cap, const rc_retainer *x)
{
    if (*len < cap) {
        size_t i = (*len)++;
        hp[i] = *x;
        for (; i && ranks_before(&hp[(i - 1) / 2], &hp[i]); i = (i - 1) / 2)
            swap_retainers(&hp[i], &hp[(i - 1) / 2]);
    } else if (ranks_before(x, &hp[0])) {
        hp[0] = *x;
        sift_down(hp, *len, 0);
    }
}

size_t rc_top_retainers(rc_heap *h, rc_retainer *out, size_t cap)
{
    domtree d;
    size_t len = 0;
    if (!h || !cap)
        return 0;
    if (!out) {
        rci_fail(h, RC_EVALUE);
        return 0;
    }
    if (!domtree_build(h, &d)) {
        rci_fail(h, RC_ENOMEM);
    } else {
        for (size_t i = 0; i + 1 < d.reached; i++) {
            node v = d.post[i];
            const void *obj = d.g.map.objs[v];
            rc_retainer x = {obj, rc_typeof(obj), d.bytes[v], d.objects[v],
                             object_bytes(obj)};
            offer(out, &len, cap, &x);
        }
        sort(out, len, sizeof *out, retainer_cmp);
    }
    domtree_free(&d);
    return len;
}

/* ---- Paths from the roots -------------------------------------------------- */

struct rc_path {
    size_t len;            /* steps: [0] a root, [len-1] the target */
    const void *steps[];   /* borrowed objects */
};

/* Breadth-first from the super-root until target is found: parent[v] is
   v's predecessor on a shortest path (NONE: not reached).  NULL on
   failure. */
static node *bfs_parents(const graph *g, node target)
{
    size_t n = g->n + 1, head = 0, tail = 0;
    node *parent = xalloc(n, sizeof *parent), *queue = xalloc(n, sizeof *queue);
    if (!parent || !queue) {
        free(parent);
        free(queue);
        return NULL;
    }
    for (size_t v = 0; v < n; v++)
        parent[v] = NONE;
    parent[g->n] = (node)g->n;
    queue[tail++] = (node)g->n;
    while (head < tail && parent[target] == NONE) {
        node v = queue[head++];
        for (size_t e = g->first[v]; e < g->first[v + 1]; e++)
            if (parent[g->dst[e]] == NONE) {
                parent[g->dst[e]] = v;
                queue[tail++] = g->dst[e];
            }
    }
    free(queue);
    return parent;
}

/* The path to target; NULL with *failed false when target is unreachable,
   with *failed true when memory ran out. */
static rc_path *path_build(const graph *g, node target, bool *failed)
{
    node *parent = bfs_parents(g, target);
    rc_path *p = NULL;
    *failed = !parent;
    if (parent && parent[target] != NONE) {
        size_t len = 0;
        for (node v = target; v != g->n; v = parent[v])
            len++;
        p = malloc(sizeof *p + len * sizeof p->steps[0]);
        if (p) {
            p->len = len;
            for (node v = target; v != g->n; v = parent[v])
                p->steps[--len] = g->map.objs[v];
        }
        *failed = !p;
    }
    free(parent);
    return p;
}

rc_path *rc_path_to(rc_heap *h, const void *target)
{
    graph g;
    rc_path *p = NULL;
    rc_error err = RC_ENOMEM;
    if (check_subject(h, target, "rc_path_to") != 0)
        return NULL;
    if (graph_build(h, &g)) {
        node t = objmap_find(&g.map, target);
        bool failed = false;
        if (t != NONE)
            p = path_build(&g, t, &failed);
        err = t == NONE ? RC_EVALUE : failed ? RC_ENOMEM : RC_OK;
    }
    graph_free(&g);
    if (err != RC_OK)
        rci_fail(h, err);
    return p;
}

size_t rc_path_len(const rc_path *p)
{
    return p ? p->len : 0;
}

const void *rc_path_get(const rc_path *p, size_t i)
{
    return p && i < p->len ? p->steps[i] : NULL;
}

void rc_path_free(rc_path *p)
{
    free(p);
}

/* Which slot of parent holds child: traverse reports a list's or tuple's
   items in index order and a dict's entries as key, value pairs. */
typedef struct slot_find {
    const void *child;
    size_t pos;           /* slots reported so far */
    size_t found;         /* position of the first holding child; SIZE_MAX: none */
    const void *prev;     /* the object in the previous slot */
    const void *before;   /* the one before the found slot (a dict's key) */
} slot_find;

static void find_slot(void **slot, void *ctx)
{
    slot_find *s = ctx;
    if (s->found == SIZE_MAX && *slot == s->child) {
        s->found = s->pos;
        s->before = s->prev;
    }
    s->prev = *slot;
    s->pos++;
}

/* "[3]" for a list or tuple item, "['key']" for a dict value, "(key)" for
   a dict key; NULL for other containers (their slots have no names) or on
   failure. */
static char *slot_label(const void *parent, const void *child)
{
    const rc_type *t = rc_typeof(parent);
    bool seq = t == &rc_list_type || t == &rc_tuple_type;
    if (!seq && t != &rc_dict_type)
        return NULL;
    slot_find s = {child, 0, SIZE_MAX, NULL, NULL};
    t->traverse((void *)parent, find_slot, &s);
    text x;
    if (s.found == SIZE_MAX || (!seq && s.found % 2 && !s.before) || !text_open(&x))
        return NULL;
    if (seq) {
        fprintf(x.f, "[%zu]", s.found);
    } else if (s.found % 2 == 0) {
        fputs("(key)", x.f);
    } else {
        char *key = value_text(s.before);
        fprintf(x.f, "[%s]", key ? key : type_name(rc_typeof(s.before)));
        free(key);
    }
    return text_done(&x, true);
}

int rc_path_print(const rc_path *p, FILE *out)
{
    if (!p || !out)
        return -1;
    for (size_t i = 0; i < p->len; i++) {
        const void *obj = p->steps[i];
        fprintf(out, "%s at 0x%" PRIxPTR, type_name(rc_typeof(obj)), (uintptr_t)obj);
        if (i + 1 < p->len) {
            char *label = slot_label(obj, p->steps[i + 1]);
            fprintf(out, "%s%s ->", label ? " " : "", label ? label : "");
            free(label);
        }
        fputc('\n', out);
    }
    return ferror(out) ? -1 : 0;
}

/* ---- Graphviz --------------------------------------------------------------- */

/* s inside a DOT quoted string. */
static void dot_escape(FILE *out, const char *s)
{
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            fputc('\\', out);
        fputc(*s == '\n' ? ' ' : *s, out);
    }
}

static void dot_begin(FILE *out, const char *name)
{
    fprintf(out, "digraph %s {\n  node [shape=box, fontname=\"monospace\"];\n", name);
}

/* A node labelled with its type, then a short value for numbers and text,
   then (if address) where it lives. */
static void dot_node(FILE *out, size_t id, const void *obj, bool address)
{
    char *value = value_text(obj);
    fprintf(out, "  n%zu [label=\"", id);
    dot_escape(out, type_name(rc_typeof(obj)));
    if (value) {
        fputs("\\n", out);
        dot_escape(out, value);
        free(value);
    }
    if (address)
        fprintf(out, "\\n0x%" PRIxPTR, (uintptr_t)obj);
    fputs("\"];\n", out);
}

static int dot_end(FILE *out)
{
    fputs("}\n", out);
    return ferror(out) ? -1 : 0;
}

int rc_path_dot(const rc_path *p, FILE *out)
{
    if (!p || !out)
        return -1;
    dot_begin(out, "path");
    for (size_t i = 0; i < p->len; i++)
        dot_node(out, i, p->steps[i], true);
    for (size_t i = 0; i + 1 < p->len; i++) {
        char *label = slot_label(p->steps[i], p->steps[i + 1]);
        fprintf(out, "  n%zu -> n%zu", i, i + 1);
        if (label) {
            fputs(" [label=\"", out);
            dot_escape(out, label);
            fputs("\"]", out);
            free(label);
        }
        fputs(";\n", out);
    }
    return dot_end(out);
}

/* ---- Walks from one object --------------------------------------------------
 * Breadth-first along references, whatever heap they lead to, with the
 * table's insertion order as the queue: objs[0..len) is everything found,
 * level by level. */

typedef struct walk walk;
struct walk {
    objmap seen;       /* objects found, in breadth-first order */
    node from;         /* the object being expanded */
    void (*edge)(walk *w, node to, bool fresh); /* per reference; may be NULL */
    FILE *out;         /* rc_graph_dot's output */
    bool failed;       /* malloc refused */
};

static void walk_slot(void **slot, void *ctx)
{
    walk *w = ctx;
    bool fresh;
    if (!*slot || w->failed || !is_live(*slot))
        return;
    node to = objmap_add(&w->seen, *slot, &fresh);
    if (to == NONE)
        w->failed = true;
    else if (w->edge)
        w->edge(w, to, fresh);
}

/* Expand every object fewer than max_depth references away from start. */
static bool walk_from(walk *w, const void *start, size_t max_depth)
{
    bool fresh;
    if (objmap_add(&w->seen, start, &fresh) == NONE)
        return false;
    size_t depth = 0, level_end = 1;
    for (size_t i = 0; i < w->seen.len && !w->failed; i++) {
        if (i == level_end) { /* level depth is done: all of the next is queued */
            depth++;
            level_end = w->seen.len;
        }
        if (depth >= max_depth)
            break;
        void *obj = (void *)w->seen.objs[i];
        const rc_type *t = rc_typeof(obj);
        w->from = (node)i;
        if (t->traverse)
            t->traverse(obj, walk_slot, w);
    }
    return !w->failed;
}

int rc_deep_size(const void *obj, size_t *bytes, size_t *objects)
{
    walk w = {.edge = NULL};
    int rc = -1;
    if (obj && walk_from(&w, obj, SIZE_MAX)) {
        size_t sum = 0;
        for (size_t i = 0; i < w.seen.len; i++)
            sum += object_bytes(w.seen.objs[i]);
        if (bytes)
            *bytes = sum;
        if (objects)
            *objects = w.seen.len;
        rc = 0;
    } else if (obj) {
        rc = rci_fail(rci_heap_of(obj), RC_ENOMEM);
    }
    objmap_free(&w.seen);
    return rc;
}

static void dot_edge(walk *w, node to, bool fresh)
{
    if (fresh)
        dot_node(w->out, to, w->seen.objs[to], false);
    fprintf(w->out, "  n%" PRIu32 " -> n%" PRIu32 ";\n", w->from, to);
}

int rc_graph_dot(const void *obj, int max_depth, FILE *out)
{
    if (!obj)
        return -1;
    if (!out || max_depth < 0)
        return rci_fail(rci_heap_of(obj), RC_EVALUE);
    walk w = {.edge = dot_edge, .out = out};
    dot_begin(out, "refs");
    dot_node(out, 0, obj, false);
    bool ok = walk_from(&w, obj, (size_t)max_depth);
    objmap_free(&w.seen);
    if (!ok)
        rci_fail(rci_heap_of(obj), RC_ENOMEM);
    /* the braces close even after a failure, so the output stays readable */
    return dot_end(out) == 0 && ok ? 0 : -1;
}

/* ---- Census --------------------------------------------------------------------
 * A tally of objects and bytes per type.  Objects arrive pool by pool, so
 * the row of the previous object almost always matches; otherwise a linear
 * search over the (few) types. */

typedef struct tally {
    rc_census_row *rows;
    size_t len, cap;
    size_t last;       /* row of the previous add */
    bool failed;       /* malloc refused */
} tally;

/* type's row, or t->len if it has none */
static size_t tally_find(const tally *t, const rc_type *type)
{
    size_t i = 0;
    while (i < t->len && t->rows[i].type != type)
        i++;
    return i;
}

static void tally_add(tally *t, const rc_type *type, size_t bytes)
{
    size_t i = t->last;
    if (i >= t->len || t->rows[i].type != type) {
        if ((i = tally_find(t, type)) == t->len) {
            rc_census_row *rows;
            if (t->failed || !(rows = grow_array(t->rows, &t->cap, i + 1, sizeof *rows))) {
                t->failed = true;
                return;
            }
            t->rows = rows;
            t->rows[t->len++] = (rc_census_row){type, 0, 0};
        }
        t->last = i;
    }
    t->rows[i].objects++;
    t->rows[i].bytes += bytes;
}

/* Most bytes first, then most objects, then by name (a stable order). */
static int row_cmp(const void *pa, const void *pb)
{
    const rc_census_row *a = pa, *b = pb;
    if (a->bytes != b->bytes)
        return a->bytes > b->bytes ? -1 : 1;
    if (a->objects != b->objects)
        return a->objects > b->objects ? -1 : 1;
    return strcmp(type_name(a->type), type_name(b->type));
}

struct rc_census {
    tally t;                /* rows, largest first */
    size_t objects, bytes;  /* totals */
};

static void census_object(rc_heap *h, rci_typerec *r, rc_head *hd, void *ctx)
{
    (void)h;
    if (is_live(rci_obj(hd)))
        tally_add(ctx, r->type, object_bytes(rci_obj(hd)));
}

rc_census *rc_census_take(rc_heap *h)
{
    if (!h)
        return NULL;
    rc_census *c = calloc(1, sizeof *c);
    if (!c)
        return rci_fail_null(h, RC_ENOMEM);
    rci_for_each_object(h, false, census_object, &c->t);
    if (c->t.failed) {
        rc_census_free(c);
        return rci_fail_null(h, RC_ENOMEM);
    }
    sort(c->t.rows, c->t.len, sizeof *c->t.rows, row_cmp);
    for (size_t i = 0; i < c->t.len; i++) {
        c->objects += c->t.rows[i].objects;
        c->bytes += c->t.rows[i].bytes;
    }
    return c;
}

size_t rc_census_rows(const rc_census *c, rc_census_row *out, size_t cap)
{
    if (!c)
        return 0;
    size_t n = c->t.len < cap ? c->t.len : cap;
    if (out && n)
        memcpy(out, c->t.rows, n * sizeof *out);
    return c->t.len;
}

void rc_census_print(const rc_census *c, FILE *out)
{
    if (!c || !out)
        return;
    fprintf(out, "%12s %14s  %s\n", "objects", "bytes", "type");
    for (size_t i = 0; i < c->t.len; i++)
        fprintf(out, "%12zu %14zu  %s\n", c->t.rows[i].objects, c->t.rows[i].bytes,
                type_name(c->t.rows[i].type));
    fprintf(out, "%12zu %14zu  (total)\n", c->objects, c->bytes);
}

void rc_census_free(rc_census *c)
{
    if (c)
        free(c->t.rows);
    free(c);
}

static const rc_census_row *census_find(const rc_census *c, const rc_type *t)
{
    size_t i = tally_find(&c->t, t);
    return i < c->t.len ? &c->t.rows[i] : NULL;
}

static unsigned long long magnitude(long long x)
{
    return x < 0 ? 0ull - (unsigned long long)x : (unsigned long long)x;
}

/* Largest absolute byte change first, then object change, then name. */
static int diff_cmp(const void *pa, const void *pb)
{
    const rc_census_diff *a = pa, *b = pb;
    if (magnitude(a->bytes_diff) != magnitude(b->bytes_diff))
        return magnitude(a->bytes_diff) > magnitude(b->bytes_diff) ? -1 : 1;
    if (magnitude(a->objects_diff) != magnitude(b->objects_diff))
        return magnitude(a->objects_diff) > magnitude(b->objects_diff) ? -1 : 1;
    return strcmp(type_name(a->type), type_name(b->type));
}

/* The change of row (NULL: absent) against old (NULL: absent); false when
   nothing changed. */
static bool row_diff(const rc_type *t, const rc_census_row *now, const rc_census_row *old,
                     rc_census_diff *d)
{
    size_t objects = now ? now->objects : 0, bytes = now ? now->bytes : 0;
    size_t old_objects = old ? old->objects : 0, old_bytes = old ? old->bytes : 0;
    *d = (rc_census_diff){t, (long long)objects - (long long)old_objects,
                          (long long)bytes - (long long)old_bytes, objects, bytes};
    return d->objects_diff || d->bytes_diff;
}

size_t rc_census_compare(const rc_census *newer, const rc_census *older,
                         rc_census_diff *out, size_t cap)
{
    if (!newer || !older)
        return 0;
    rc_census_diff *all = xalloc(newer->t.len + older->t.len, sizeof *all);
    if (!all)
        return 0;
    size_t n = 0;
    for (size_t i = 0; i < newer->t.len; i++) {
        const rc_census_row *r = &newer->t.rows[i];
        n += row_diff(r->type, r, census_find(older, r->type), &all[n]);
    }
    for (size_t i = 0; i < older->t.len; i++) {
        const rc_census_row *r = &older->t.rows[i];
        if (!census_find(newer, r->type))
            n += row_diff(r->type, NULL, r, &all[n]);
    }
    sort(all, n, sizeof *all, diff_cmp);
    if (out)
        memcpy(out, all, (n < cap ? n : cap) * sizeof *out);
    free(all);
    return n;
}

/* ---- Cycles -------------------------------------------------------------------
 * Tarjan's strongly connected components without recursion: the call stack
 * is an explicit stack of (node, next edge); index[v] is v's discovery
 * number, NONE before, MARK once its component is complete (so a visited
 * node not MARKed is on Tarjan's stack).  A component of more than one
 * object, or one object referring to itself, is a cycle: its members are
 * copied out contiguously and reported largest first. */

typedef struct scc {
    size_t start, size;  /* members[start .. start+size) */
} scc;

typedef struct cycles {
    node *index, *low;   /* per node */
    node *stack;         /* Tarjan's stack of open nodes */
    size_t top;
    node *members;       /* the cycles' nodes, cycle after cycle */
    size_t nmembers;
    scc *list;           /* the cycles found */
    size_t len, cap;
    node counter;        /* next discovery number */
    bool failed;         /* malloc refused */
} cycles;

static bool self_loop(const graph *g, node v)
{
    for (size_t e = g->first[v]; e < g->first[v + 1]; e++)
        if (g->dst[e] == v)
            return true;
    return false;
}

/* v is the root of a component: pop it, keep it if it is a cycle. */
static void close_component(cycles *c, const graph *g, node v)
{
    size_t end = c->top;
    do
        c->index[c->stack[--c->top]] = MARK;
    while (c->stack[c->top] != v);
    size_t size = end - c->top;
    if (size == 1 && !self_loop(g, v))
        return;
    if (c->len == c->cap) {
        scc *list = grow_array(c->list, &c->cap, c->len + 1, sizeof *list);
        if (!list) {
            c->failed = true;
            return;
        }
        c->list = list;
    }
    c->list[c->len++] = (scc){c->nmembers, size};
    memcpy(c->members + c->nmembers, c->stack + c->top, size * sizeof *c->members);
    c->nmembers += size;
}

struct scc_frame {
    node v;     /* node being explored */
    size_t e;   /* its next edge */
};

/* Open w: number it and push it on both stacks. */
static void open_node(cycles *c, const graph *g, struct scc_frame *frames, size_t *sp,
                      node w)
{
    c->index[w] = c->low[w] = c->counter++;
    c->stack[c->top++] = w;
    frames[(*sp)++] = (struct scc_frame){w, g->first[w]};
}

/* One depth-first search from s, closing every component it completes. */
static void tarjan_from(cycles *c, const graph *g, struct scc_frame *frames, node s)
{
    size_t sp = 0;
    open_node(c, g, frames, &sp, s);
    while (sp && !c->failed) {
        struct scc_frame *f = &frames[sp - 1];
        node v = f->v;
        if (f->e < g->first[v + 1]) {
            node w = g->dst[f->e++];
            if (c->index[w] == NONE)
                open_node(c, g, frames, &sp, w);
            else if (c->index[w] != MARK && c->index[w] < c->low[v])
                c->low[v] = c->index[w];
            continue;
        }
        sp--; /* v is done: return to its parent */
        if (c->low[v] == c->index[v])
            close_component(c, g, v);
        else if (c->low[v] < c->low[frames[sp - 1].v])
            c->low[frames[sp - 1].v] = c->low[v];
    }
}

static bool find_cycles(const graph *g, cycles *c)
{
    size_t n = g->n ? g->n : 1;
    struct scc_frame *frames = xalloc(n, sizeof *frames);
    c->index = xalloc(n, sizeof *c->index);
    c->low = xalloc(n, sizeof *c->low);
    c->stack = xalloc(n, sizeof *c->stack);
    c->members = xalloc(n, sizeof *c->members);
    if (frames && c->index && c->low && c->stack && c->members) {
        for (size_t v = 0; v < g->n; v++)
            c->index[v] = NONE;
        for (size_t s = 0; s < g->n && !c->failed; s++)
            if (c->index[s] == NONE)
                tarjan_from(c, g, frames, (node)s);
    } else {
        c->failed = true;
    }
    free(frames);
    return !c->failed;
}

static void cycles_free(cycles *c)
{
    free(c->index);
    free(c->low);
    free(c->stack);
    free(c->members);
    free(c->list);
}

/* Largest first; equal sizes in the order found. */
static int scc_cmp(const void *pa, const void *pb)
{
    const scc *a = pa, *b = pb;
    if (a->size != b->size)
        return a->size > b->size ? -1 : 1;
    return a->start < b->start ? -1 : a->start > b->start;
}

/* Most objects first (a cycle's line reads "2 Node, 1 list"), then bytes. */
static int count_cmp(const void *pa, const void *pb)
{
    const rc_census_row *a = pa, *b = pb;
    if (a->objects != b->objects)
        return a->objects > b->objects ? -1 : 1;
    return row_cmp(pa, pb);
}

/* "cycle of 3 objects (144 bytes): 2 Node, 1 list" */
static void print_cycle(FILE *out, const graph *g, const node *members, size_t size,
                        tally *types)
{
    size_t bytes = 0;
    types->len = types->last = 0;
    for (size_t i = 0; i < size; i++) {
        const void *obj = g->map.objs[members[i]];
        size_t b = object_bytes(obj);
        bytes += b;
        tally_add(types, rc_typeof(obj), b);
    }
    sort(types->rows, types->len, sizeof *types->rows, count_cmp);
    fprintf(out, "cycle of %zu object%s (%zu bytes):", size, size == 1 ? "" : "s", bytes);
    for (size_t i = 0; i < types->len; i++)
        fprintf(out, "%s %zu %s", i ? "," : "", types->rows[i].objects,
                type_name(types->rows[i].type));
    fputs(types->failed ? ", ...\n" : "\n", out);
}

size_t rc_cycles_report(rc_heap *h, FILE *out)
{
    graph g;
    cycles c;
    size_t found = 0;
    if (!h)
        return 0;
    memset(&c, 0, sizeof c);
    if (!graph_build(h, &g) || !find_cycles(&g, &c)) {
        rci_fail(h, RC_ENOMEM);
    } else {
        found = c.len;
        sort(c.list, c.len, sizeof *c.list, scc_cmp);
        tally types = {.rows = NULL};
        for (size_t i = 0; out && i < c.len; i++)
            print_cycle(out, &g, c.members + c.list[i].start, c.list[i].size, &types);
        free(types.rows);
    }
    cycles_free(&c);
    graph_free(&g);
    return found;
}
