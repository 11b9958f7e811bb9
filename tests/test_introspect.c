/*
 * test_introspect.c — heap introspection: census and its diff, deep and
 * retained sizes, top retainers, paths from the roots, cycles, the DOT
 * writers, a malloc fault sweep, and long chains walked from a thread with
 * a 1 MiB stack (no recursion may depend on the graph's depth).
 *
 * Every expected size is computed here from the allocator's rules: an
 * object's block is rc_sizeof + 8 rounded up to its 16-byte size class;
 * lists and dicts add their buffers, measured as the growth of the heap's
 * small-block bytes when they were built.  Every test also checks that
 * introspection allocated nothing from the heap it looked at.
 *
 *   test_introspect          everything, long chains of 20,000 nodes
 *   test_introspect big      the long-chain test with 1,000,000 nodes
 */
#define _POSIX_C_SOURCE 200809L /* open_memstream */
#include "check.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

/* ---- Three user types ---------------------------------------------------- */

typedef struct node_obj {
    void *left, *right;
    int64_t tag;
} node_obj;

static void node_traverse(void *self, rc_visit_fn visit, void *ctx)
{
    node_obj *n = self;
    visit(&n->left, ctx);
    visit(&n->right, ctx);
}

typedef struct box_obj {
    void *item;
} box_obj;

static void box_traverse(void *self, rc_visit_fn visit, void *ctx)
{
    visit(&((box_obj *)self)->item, ctx);
}

static const rc_type node_type = {.name = "Node", .size = sizeof(node_obj),
                                  .traverse = node_traverse};
static const rc_type leaf_type = {.name = "Leaf", .size = 40};
static const rc_type box_type = {.name = "Box", .size = sizeof(box_obj),
                                 .traverse = box_traverse};
static const rc_type extra_type = {.name = "Extra", .size = 100};

enum { NODE_BYTES = 32, LEAF_BYTES = 48, BOX_BYTES = 16 }; /* their blocks */

/* An object's block: header and payload, rounded to its size class. */
static size_t blk(const void *o)
{
    size_t need = rc_sizeof(o) + 8, step = need <= 128 ? 8 : 16;
    return need <= 16 ? 16 : (need + step - 1) / step * step; /* up to 256 B */
}

/* The types layer makes its per-heap state on first use, from the heap's
   small blocks; make it before measuring what a container costs.  (Small
   int 1 is then an immortal object of the heap.) */
static void make_types_state(rc_heap *h)
{
    CHECK(rc_int(h, 1));
}

static rc_heap *new_heap(void)
{
    rc_config cfg;
    rc_config_init(&cfg);
    cfg.gc_disabled = 1; /* nothing disappears behind a test's back */
    rc_heap *h = rc_heap_new(&cfg);
    CHECK(h);
    return h;
}

/* A Node holding left and right (borrowed: the node takes its own). */
static node_obj *mknode(rc_heap *h, void *left, void *right)
{
    node_obj *n = rc_new(h, &node_type);
    CHECK(n);
    rc_set(&n->left, left);
    rc_set(&n->right, right);
    return n;
}

static void *mk(rc_heap *h, const rc_type *t)
{
    void *o = rc_new(h, t);
    CHECK(o);
    return o;
}

static box_obj *mkbox(rc_heap *h, void *item)
{
    box_obj *b = mk(h, &box_type);
    rc_set(&b->item, item);
    return b;
}

/* Introspection must leave the heap as it was: no allocation, no free. */
typedef struct heap_mark {
    size_t allocs, frees, small_bytes;
} heap_mark;

static heap_mark mark(const rc_heap *h)
{
    rc_alloc_stats st;
    rc_alloc_stats_get(h, &st);
    return (heap_mark){st.allocs, st.frees, st.small_bytes};
}

static void check_untouched(const rc_heap *h, heap_mark before)
{
    heap_mark now = mark(h);
    CHECK(now.allocs == before.allocs && now.frees == before.frees &&
          now.small_bytes == before.small_bytes);
    CHECK_VALID(h);
}

/* Text written by fn to a memstream (malloc'd, NUL-terminated). */
typedef struct capture {
    char *text;
    size_t len;
    FILE *f;
} capture;

static FILE *capture_open(capture *c)
{
    c->f = open_memstream(&c->text, &c->len);
    CHECK(c->f);
    return c->f;
}

static char *capture_close(capture *c)
{
    CHECK(fclose(c->f) == 0);
    return c->text;
}

static size_t count_substr(const char *s, const char *sub)
{
    size_t n = 0;
    for (const char *p = s; (p = strstr(p, sub)); p += strlen(sub))
        n++;
    return n;
}

/* A light DOT check: "digraph" first, braces balanced outside quoted
   strings (with \" escapes), quotes closed.  Returns the edge lines. */
static size_t check_dot(const char *s)
{
    CHECK(strncmp(s, "digraph", 7) == 0);
    int depth = 0;
    bool quoted = false;
    for (const char *p = s; *p; p++) {
        if (quoted) {
            if (*p == '\\' && p[1])
                p++;
            else if (*p == '"')
                quoted = false;
            continue;
        }
        if (*p == '"')
            quoted = true;
        else if (*p == '{')
            depth++;
        else if (*p == '}')
            CHECK(--depth >= 0);
    }
    CHECK(!quoted && depth == 0);
    CHECK(s[strlen(s) - 2] == '}');
    return count_substr(s, " -> ");
}

/* ---- Census ----------------------------------------------------------------- */

static size_t small_bytes(const rc_heap *h)
{
    return mark(h).small_bytes;
}

static const rc_census_row *row_of(const rc_census_row *rows, size_t n, const rc_type *t)
{
    for (size_t i = 0; i < n; i++)
        if (rows[i].type == t)
            return &rows[i];
    return NULL;
}

static void check_row(const rc_census_row *rows, size_t n, const rc_type *t,
                      size_t objects, size_t bytes)
{
    const rc_census_row *r = row_of(rows, n, t);
    CHECK(r && r->objects == objects && r->bytes == bytes);
}

static void test_census(void)
{
    rc_heap *h = new_heap();
    make_types_state(h);
    void *leafs[5], *boxes[3], *ints[4], *strs[2];
    for (int i = 0; i < 10; i++)
        mknode(h, NULL, NULL); /* held by the test until rc_heap_free */
    for (int i = 0; i < 5; i++)
        leafs[i] = mk(h, &leaf_type);
    for (int i = 0; i < 3; i++)
        boxes[i] = mkbox(h, NULL);
    for (int i = 0; i < 4; i++)
        CHECK(ints[i] = rc_int(h, 5000 + i));
    for (int i = 0; i < 2; i++)
        CHECK(strs[i] = rc_str(h, "hello", 5));
    /* a list's and a dict's bytes: their blocks and buffers */
    size_t before = small_bytes(h);
    void *list = rc_list(h);
    for (int i = 0; i < 4; i++)
        CHECK(rc_list_append(list, ints[i]) == 0);
    size_t list_bytes = small_bytes(h) - before;
    before = small_bytes(h);
    void *dict = rc_dict(h);
    CHECK(dict && rc_dict_set(dict, strs[0], leafs[0]) == 0);
    size_t dict_bytes = small_bytes(h) - before;
    CHECK(list_bytes > blk(list) && dict_bytes > blk(dict)); /* buffers count */

    heap_mark m = mark(h);
    rc_census *c = rc_census_take(h);
    CHECK(c);
    rc_census_row rows[16];
    size_t n = rc_census_rows(c, rows, 16);
    CHECK(n == 7 && rc_census_rows(c, NULL, 0) == 7);
    check_row(rows, n, &node_type, 10, 10 * NODE_BYTES);
    check_row(rows, n, &leaf_type, 5, 5 * LEAF_BYTES);
    check_row(rows, n, &box_type, 3, 3 * BOX_BYTES);
    check_row(rows, n, &rc_int_type, 5, 5 * 16);
    check_row(rows, n, &rc_str_type, 2, 2 * blk(strs[0]));
    check_row(rows, n, &rc_list_type, 1, list_bytes);
    check_row(rows, n, &rc_dict_type, 1, dict_bytes);
    for (size_t i = 0; i + 1 < n; i++) /* largest first */
        CHECK(rows[i].bytes >= rows[i + 1].bytes);
    CHECK(rc_census_rows(c, rows, 2) == 7 && rows[0].bytes >= rows[1].bytes);

    capture cap;
    rc_census_print(c, capture_open(&cap));
    char *txt = capture_close(&cap);
    CHECK(strstr(txt, "objects") && strstr(txt, "Node") && strstr(txt, "(total)"));
    CHECK(count_substr(txt, "\n") == 7 + 2);
    free(txt);
    check_untouched(h, m);

    /* census diff: 4 more Nodes, 2 Leafs fewer, Boxes gone, an Extra new */
    for (int i = 0; i < 4; i++)
        mknode(h, NULL, NULL);
    rc_decref(leafs[3]);
    rc_decref(leafs[4]);
    for (int i = 0; i < 3; i++)
        rc_decref(boxes[i]);
    void *extra = mk(h, &extra_type);
    m = mark(h);
    rc_census *c2 = rc_census_take(h);
    CHECK(c2);
    rc_census_diff d[8];
    CHECK(rc_census_compare(c2, c, d, 8) == 4);
    /* |bytes|: Node 128, Extra 112, Leaf 96, Box 48 */
    CHECK(d[0].type == &node_type && d[0].objects_diff == 4 && d[0].bytes_diff == 128 &&
          d[0].objects == 14 && d[0].bytes == 14 * NODE_BYTES);
    CHECK(d[1].type == &extra_type && d[1].objects_diff == 1 &&
          d[1].bytes_diff == (long long)blk(extra) && d[1].objects == 1);
    CHECK(d[2].type == &leaf_type && d[2].objects_diff == -2 && d[2].bytes_diff == -96 &&
          d[2].objects == 3);
    CHECK(d[3].type == &box_type && d[3].objects_diff == -3 && d[3].bytes_diff == -48 &&
          d[3].objects == 0 && d[3].bytes == 0);
    CHECK(rc_census_compare(c2, c, d, 1) == 4 && d[0].type == &node_type);
    CHECK(rc_census_compare(c, c, d, 8) == 0);
    rc_census_free(c);
    rc_census_free(c2);
    check_untouched(h, m);

    /* parked objects (a dead list on the free list) are not counted */
    rc_decref(list);
    c = rc_census_take(h);
    n = rc_census_rows(c, rows, 16);
    CHECK(!row_of(rows, n, &rc_list_type) && !row_of(rows, n, &box_type));
    rc_census_free(c);
    rc_census_free(NULL);
    CHECK(rc_census_take(NULL) == NULL);

    rc_heap_free(h);
}

/* ---- Deep size ---------------------------------------------------------------- */

static void test_deep_size(void)
{
    rc_heap *h = new_heap();
    /* root -> a, b; a -> leaf; b -> box -> the same leaf: counted once */
    void *leaf = mk(h, &leaf_type);
    box_obj *box = mkbox(h, leaf);
    node_obj *a = mknode(h, leaf, NULL), *b = mknode(h, box, NULL);
    node_obj *root = mknode(h, a, b);
    size_t expect = blk(root) + blk(a) + blk(b) + blk(box) + blk(leaf);
    CHECK(expect == 3 * NODE_BYTES + BOX_BYTES + LEAF_BYTES);
    heap_mark m = mark(h);
    size_t bytes = 0, objects = 0;
    CHECK(rc_deep_size(root, &bytes, &objects) == 0);
    CHECK(bytes == expect && objects == 5);
    CHECK(rc_deep_size(box, &bytes, &objects) == 0);
    CHECK(bytes == BOX_BYTES + LEAF_BYTES && objects == 2);
    CHECK(rc_deep_size(leaf, &bytes, NULL) == 0 && bytes == LEAF_BYTES);
    CHECK(rc_deep_size(NULL, &bytes, &objects) == -1);

    /* a cycle terminates: a <-> root */
    rc_set(&a->right, root);
    CHECK(rc_deep_size(a, &bytes, &objects) == 0 && bytes == expect && objects == 5);
    rc_set(&a->right, NULL);

    /* a list counts its item array; ints are 16 bytes */
    make_types_state(h);
    void *x = rc_int(h, 7000), *y = rc_int(h, 7001);
    size_t before = small_bytes(h);
    void *list = rc_list(h);
    CHECK(rc_list_append(list, x) == 0 && rc_list_append(list, y) == 0 &&
          rc_list_append(list, x) == 0);
    size_t list_bytes = small_bytes(h) - before;
    m = mark(h);
    CHECK(rc_deep_size(list, &bytes, &objects) == 0);
    CHECK(bytes == list_bytes + 2 * 16 && objects == 3);
    check_untouched(h, m);

    rc_decref(list);
    rc_decref(x);
    rc_decref(y);
    rc_decref(leaf);
    rc_decref(box);
    rc_decref(a);
    rc_decref(b);
    rc_decref(root);
    rc_heap_free(h);
}

/* ---- Retained size and top retainers ------------------------------------------- */

static void test_retained(void)
{
    rc_heap *h = new_heap();
    /* A holds a tree T(L1, L2) and S; B holds S too */
    void *l1 = mk(h, &leaf_type), *l2 = mk(h, &leaf_type), *s = mk(h, &leaf_type);
    node_obj *t = mknode(h, l1, l2);
    node_obj *a = mknode(h, t, s);
    box_obj *b = mkbox(h, s);
    rc_decref(l1);
    rc_decref(l2);
    rc_decref(s);
    rc_decref(t); /* the test holds only A and B */
    /* garbage: a cycle nobody holds */
    node_obj *g1 = mknode(h, NULL, NULL), *g2 = mknode(h, g1, NULL);
    rc_set(&g1->left, g2);
    rc_decref(g1);
    rc_decref(g2);

    heap_mark m = mark(h);
    size_t bytes = 0, objects = 0;
    CHECK(rc_retained_size(h, a, &bytes, &objects) == 0);
    CHECK(bytes == 2 * NODE_BYTES + 2 * LEAF_BYTES && objects == 4); /* not S */
    CHECK(rc_retained_size(h, t, &bytes, &objects) == 0);
    CHECK(bytes == NODE_BYTES + 2 * LEAF_BYTES && objects == 3);
    CHECK(rc_retained_size(h, b, &bytes, &objects) == 0);
    CHECK(bytes == BOX_BYTES && objects == 1);
    CHECK(rc_retained_size(h, s, &bytes, &objects) == 0);
    CHECK(bytes == LEAF_BYTES && objects == 1);
    /* garbage retains nothing; a foreign pointer is an error */
    CHECK(rc_retained_size(h, g1, &bytes, &objects) == 0 && bytes == 0 && objects == 0);
    rc_heap *other = new_heap();
    void *foreign = mk(other, &leaf_type);
    CHECK(rc_retained_size(h, foreign, &bytes, &objects) == -1);
    CHECK(rc_retained_size(h, NULL, &bytes, &objects) == -1);
    CHECK(rc_retained_size(NULL, a, &bytes, &objects) == -1);
    check_untouched(h, m);

    /* once B lets go, A retains S as well */
    rc_set(&b->item, NULL);
    CHECK(rc_retained_size(h, a, &bytes, &objects) == 0);
    CHECK(bytes == 2 * NODE_BYTES + 3 * LEAF_BYTES && objects == 5);
    /* a reference from another heap makes its target a root */
    box_obj *ob = mkbox(other, t);
    CHECK(rc_retained_size(h, a, &bytes, &objects) == 0);
    CHECK(bytes == NODE_BYTES + LEAF_BYTES && objects == 2);
    rc_set(&ob->item, NULL);

    rc_decref(ob);
    rc_decref(foreign);
    rc_heap_free(other);
    rc_decref(a);
    rc_decref(b);
    rc_heap_free(h);
}

static void test_top_retainers(void)
{
    rc_heap *h = new_heap();
    /* R1: a chain of 4 Nodes (128 bytes, 4 objects); R2: a Node with two
       Leafs (128 bytes, 3 objects) */
    node_obj *chain[4];
    chain[3] = mknode(h, NULL, NULL);
    for (int i = 2; i >= 0; i--) {
        chain[i] = mknode(h, chain[i + 1], NULL);
        rc_decref(chain[i + 1]);
    }
    void *la = mk(h, &leaf_type), *lb = mk(h, &leaf_type);
    node_obj *r2 = mknode(h, la, lb);
    rc_decref(la);
    rc_decref(lb);
    node_obj *g = mknode(h, NULL, NULL); /* garbage: excluded */
    rc_set(&g->left, g);
    rc_decref(g);

    heap_mark m = mark(h);
    rc_retainer out[16];
    CHECK(rc_top_retainers(h, out, 4) == 4);
    CHECK(out[0].object == chain[0] && out[0].retained_bytes == 128 &&
          out[0].retained_objects == 4 && out[0].own_bytes == NODE_BYTES &&
          out[0].type == &node_type);
    CHECK(out[1].object == r2 && out[1].retained_bytes == 128 &&
          out[1].retained_objects == 3);
    CHECK(out[2].object == chain[1] && out[2].retained_bytes == 96);
    CHECK(out[3].object == chain[2] && out[3].retained_bytes == 64);
    CHECK(rc_top_retainers(h, out, 16) == 7); /* every reachable object */
    CHECK(out[4].retained_bytes == LEAF_BYTES && out[5].retained_bytes == LEAF_BYTES &&
          (uintptr_t)out[4].object < (uintptr_t)out[5].object);
    CHECK(out[6].object == chain[3] && out[6].retained_bytes == NODE_BYTES);
    CHECK(rc_top_retainers(h, out, 0) == 0 && rc_top_retainers(NULL, out, 4) == 0);
    check_untouched(h, m);

    rc_decref(chain[0]);
    rc_decref(r2);
    rc_heap_free(h);
}

/* ---- Paths ---------------------------------------------------------------------- */

static void check_path_text(const rc_path *p, const char *must_have)
{
    capture cap;
    CHECK(rc_path_print(p, capture_open(&cap)) == 0);
    char *txt = capture_close(&cap);
    CHECK(count_substr(txt, "\n") == rc_path_len(p));
    CHECK(count_substr(txt, " at 0x") == rc_path_len(p));
    CHECK(!must_have || strstr(txt, must_have));
    free(txt);
    CHECK(rc_path_dot(p, capture_open(&cap)) == 0);
    txt = capture_close(&cap);
    CHECK(check_dot(txt) == rc_path_len(p) - 1);
    free(txt);
}

static void test_paths(void)
{
    rc_heap *h = new_heap();
    enum { N = 50 };
    node_obj *chain[N];
    chain[N - 1] = mknode(h, NULL, NULL);
    for (int i = N - 2; i >= 0; i--)
        chain[i] = mknode(h, chain[i + 1], NULL);
    for (int i = 1; i < N; i++)
        rc_decref(chain[i]); /* the test holds only chain[0] */

    heap_mark m = mark(h);
    rc_path *p = rc_path_to(h, chain[N - 1]);
    CHECK(p && rc_path_len(p) == N);
    for (size_t i = 0; i < N; i++)
        CHECK(rc_path_get(p, i) == chain[i]);
    CHECK(rc_path_get(p, N) == NULL);
    check_path_text(p, "Node at 0x");
    rc_path_free(p);
    /* a root's path is itself */
    p = rc_path_to(h, chain[0]);
    CHECK(p && rc_path_len(p) == 1 && rc_path_get(p, 0) == chain[0]);
    check_path_text(p, NULL);
    rc_path_free(p);
    check_untouched(h, m);

    /* the shortest path: a second root holds chain[45] */
    box_obj *shortcut = mkbox(h, chain[45]);
    p = rc_path_to(h, chain[N - 1]);
    CHECK(p && rc_path_len(p) == 6 && rc_path_get(p, 0) == shortcut);
    for (size_t i = 1; i < 6; i++)
        CHECK(rc_path_get(p, i) == chain[44 + i]);
    rc_path_free(p);
    rc_decref(shortcut);

    /* garbage has no path; nor has a foreign or NULL pointer */
    node_obj *g1 = mknode(h, NULL, NULL), *g2 = mknode(h, g1, NULL);
    rc_set(&g1->left, g2);
    rc_decref(g2);
    CHECK((p = rc_path_to(h, g2)) != NULL && rc_path_len(p) == 2); /* via g1 */
    rc_path_free(p);
    rc_decref(g1);
    CHECK(rc_path_to(h, g1) == NULL && rc_path_to(h, g2) == NULL);
    CHECK(rc_path_to(h, NULL) == NULL && rc_path_to(NULL, g1) == NULL);
    CHECK(rc_path_len(NULL) == 0 && rc_path_get(NULL, 0) == NULL);
    CHECK(rc_path_print(NULL, stdout) == -1 && rc_path_dot(NULL, stdout) == -1);
    rc_path_free(NULL);

    /* through a dict and a list, the steps name their slots */
    void *d = rc_dict(h), *key = rc_str(h, "users", 5), *list = rc_list(h);
    void *target = mknode(h, NULL, NULL), *other = rc_int(h, 9999);
    CHECK(rc_dict_set(d, key, list) == 0);
    CHECK(rc_list_append(list, other) == 0 && rc_list_append(list, other) == 0 &&
          rc_list_append(list, target) == 0);
    rc_decref(key);
    rc_decref(list);
    rc_decref(target);
    rc_decref(other);
    p = rc_path_to(h, target);
    CHECK(p && rc_path_len(p) == 3 && rc_path_get(p, 0) == d && rc_path_get(p, 1) == list);
    check_path_text(p, "dict at 0x");
    capture cap;
    CHECK(rc_path_print(p, capture_open(&cap)) == 0);
    char *txt = capture_close(&cap);
    CHECK(strstr(txt, "['users'] ->\nlist at 0x") && strstr(txt, " [2] ->\nNode at 0x"));
    free(txt);
    rc_path_free(p);
    /* a dict key's path */
    void *k2 = mknode(h, NULL, NULL);
    CHECK(rc_dict_set(d, k2, other) == 0);
    rc_decref(k2);
    p = rc_path_to(h, k2);
    CHECK(p && rc_path_len(p) == 2);
    check_path_text(p, "(key) ->");
    rc_path_free(p);

    rc_decref(d);
    rc_decref(chain[0]);
    rc_heap_free(h);
}

/* ---- Cycles and DOT -------------------------------------------------------------- */

static void test_cycles(void)
{
    rc_heap *h = new_heap();
    CHECK(rc_cycles_report(h, NULL) == 0);
    /* garbage: a two-Node cycle */
    node_obj *g1 = mknode(h, NULL, NULL), *g2 = mknode(h, g1, NULL);
    rc_set(&g1->left, g2);
    rc_decref(g1);
    rc_decref(g2);
    /* held: a Node that refers to itself */
    node_obj *self = mknode(h, NULL, NULL);
    rc_set(&self->left, self);
    /* held: Node -> Node -> list -> first Node, with a tail outside */
    node_obj *c1 = mknode(h, NULL, NULL), *c2 = mknode(h, NULL, NULL);
    void *list = rc_list(h), *tail = mk(h, &leaf_type);
    rc_set(&c1->left, c2);
    rc_set(&c2->left, list);
    rc_set(&c2->right, tail);
    CHECK(rc_list_append(list, c1) == 0);
    rc_decref(list);
    rc_decref(tail);
    rc_decref(c2);
    /* no cycle: a diamond */
    void *leaf = mk(h, &leaf_type);
    node_obj *l = mknode(h, leaf, NULL), *r = mknode(h, leaf, NULL);
    node_obj *top = mknode(h, l, r);
    rc_decref(leaf);
    rc_decref(l);
    rc_decref(r);

    heap_mark m = mark(h);
    capture cap;
    CHECK(rc_cycles_report(h, capture_open(&cap)) == 3);
    char *txt = capture_close(&cap);
    CHECK(count_substr(txt, "\n") == 3);
    const char *l3 = strstr(txt, "cycle of 3 objects");
    const char *l2 = strstr(txt, "cycle of 2 objects");
    const char *l1 = strstr(txt, "cycle of 1 object ");
    CHECK(l3 && l2 && l1 && l3 < l2 && l2 < l1); /* largest first */
    CHECK(strncmp(strchr(l3, ':'), ": 2 Node, 1 list\n", 17) == 0);
    CHECK(strncmp(strchr(l2, ':'), ": 2 Node\n", 9) == 0);
    CHECK(strncmp(strchr(l1, ':'), ": 1 Node\n", 9) == 0);
    char bytes_text[64];
    snprintf(bytes_text, sizeof bytes_text, "cycle of 2 objects (%d bytes)", 2 * NODE_BYTES);
    CHECK(strstr(txt, bytes_text));
    free(txt);
    CHECK(rc_cycles_report(NULL, stdout) == 0);
    check_untouched(h, m);

    rc_set(&self->left, NULL);
    CHECK(rc_cycles_report(h, NULL) == 2);
    rc_decref(self);
    rc_decref(c1);
    rc_decref(top);
    rc_heap_free(h);
}

static void test_graph_dot(void)
{
    rc_heap *h = new_heap();
    /* A -> B, A -> C, B -> C, C -> A, C -> list -> (int, str, int) */
    node_obj *a = mknode(h, NULL, NULL), *b = mknode(h, NULL, NULL), *c = mknode(h, NULL, NULL);
    void *list = rc_list(h), *i = rc_int(h, 123456), *s = rc_str_cstr(h, "say \"hi\"");
    CHECK(list && i && s);
    CHECK(rc_list_append(list, i) == 0 && rc_list_append(list, s) == 0 &&
          rc_list_append(list, i) == 0);
    rc_set(&a->left, b);
    rc_set(&a->right, c);
    rc_set(&b->left, c);
    rc_set(&c->left, a);
    rc_set(&c->right, list);

    heap_mark m = mark(h);
    capture cap;
    CHECK(rc_graph_dot(a, 10, capture_open(&cap)) == 0);
    char *txt = capture_close(&cap);
    CHECK(check_dot(txt) == 8);                 /* every reference once */
    CHECK(count_substr(txt, "[label=") == 6);   /* every object once */
    CHECK(strstr(txt, "int\\n123456") && strstr(txt, "str\\n'say \\\"hi\\\"'"));
    free(txt);
    CHECK(rc_graph_dot(a, 1, capture_open(&cap)) == 0);
    txt = capture_close(&cap);
    CHECK(check_dot(txt) == 2 && count_substr(txt, "[label=") == 3);
    free(txt);
    CHECK(rc_graph_dot(a, 2, capture_open(&cap)) == 0);
    txt = capture_close(&cap);
    CHECK(check_dot(txt) == 5 && count_substr(txt, "[label=") == 4);
    free(txt);
    CHECK(rc_graph_dot(a, 0, capture_open(&cap)) == 0);
    txt = capture_close(&cap);
    CHECK(check_dot(txt) == 0 && count_substr(txt, "[label=") == 1);
    free(txt);
    CHECK(rc_graph_dot(a, -1, stdout) == -1 && rc_graph_dot(NULL, 3, stdout) == -1);
    check_untouched(h, m);

    rc_set(&c->left, NULL);
    rc_decref(a);
    rc_decref(b);
    rc_decref(c);
    rc_decref(list);
    rc_decref(i);
    rc_decref(s);
    rc_heap_free(h);
}

/* ---- Random graphs against brute force ---------------------------------------------
 * RN Nodes with random references, a few held by the test, the rest
 * dropped (some then die by reference counting, garbage cycles stay).  The
 * answers are checked against direct computations on the same graph:
 * retained(x) = what the roots stop reaching when x is removed; path
 * length = breadth-first distance; cycles from the transitive closure. */
enum { RN = 24 };

typedef struct model {
    int edge[RN][2];      /* targets, -1: none */
    bool held[RN], alive[RN];
} model;

/* Which nodes survive the test's decrefs (reference counting alone). */
static void model_survivors(model *m)
{
    int count[RN] = {0}, queue[RN], n = 0;
    for (int i = 0; i < RN; i++) {
        m->alive[i] = true;
        count[i] += m->held[i];
        for (int s = 0; s < 2; s++)
            if (m->edge[i][s] >= 0)
                count[m->edge[i][s]]++;
    }
    for (int i = 0; i < RN; i++)
        if (!count[i])
            queue[n++] = i;
    while (n) {
        int v = queue[--n];
        m->alive[v] = false;
        for (int s = 0; s < 2; s++)
            if (m->edge[v][s] >= 0 && !--count[m->edge[v][s]])
                queue[n++] = m->edge[v][s];
    }
}

/* Breadth-first distances from the held nodes (or from start >= 0),
   never entering skip; -1 where not reached. */
static void model_bfs(const model *m, int start, int skip, int dist[RN])
{
    int queue[RN], head = 0, tail = 0;
    for (int i = 0; i < RN; i++) {
        dist[i] = -1;
        if (i != skip && (start >= 0 ? i == start : m->held[i])) {
            dist[i] = 0;
            queue[tail++] = i;
        }
    }
    while (head < tail) {
        int v = queue[head++];
        for (int s = 0; s < 2; s++) {
            int w = m->edge[v][s];
            if (w >= 0 && w != skip && dist[w] < 0) {
                dist[w] = dist[v] + 1;
                queue[tail++] = w;
            }
        }
    }
}

static size_t model_reached(const int dist[RN])
{
    size_t n = 0;
    for (int i = 0; i < RN; i++)
        n += dist[i] >= 0;
    return n;
}

/* Cycles among the survivors: classes of mutual reachability of more
   than one node, or a node with a reference to itself. */
static size_t model_cycles(const model *m)
{
    bool reach[RN][RN] = {{false}}, counted[RN] = {false};
    for (int i = 0; i < RN; i++)
        for (int s = 0; s < 2; s++)
            if (m->alive[i] && m->edge[i][s] >= 0)
                reach[i][m->edge[i][s]] = true;
    for (int k = 0; k < RN; k++)
        for (int i = 0; i < RN; i++)
            for (int j = 0; j < RN; j++)
                reach[i][j] = reach[i][j] || (reach[i][k] && reach[k][j]);
    size_t cycles = 0;
    for (int i = 0; i < RN; i++) {
        if (!m->alive[i] || counted[i] || !reach[i][i])
            continue;
        cycles++;
        for (int j = 0; j < RN; j++)
            if (reach[i][j] && reach[j][i])
                counted[j] = true;
    }
    return cycles;
}

static void check_random_graph(rc_heap *h, const model *m, node_obj *const v[RN])
{
    int all[RN], without[RN];
    model_bfs(m, -1, -1, all);
    size_t reachable = model_reached(all), bytes, objects;
    for (int x = 0; x < RN; x++) {
        if (!m->alive[x])
            continue;
        model_bfs(m, -1, x, without);
        size_t retained = all[x] < 0 ? 0 : reachable - model_reached(without);
        CHECK(rc_retained_size(h, v[x], &bytes, &objects) == 0);
        CHECK(objects == retained && bytes == retained * NODE_BYTES);
        rc_path *p = rc_path_to(h, v[x]);
        CHECK(all[x] < 0 ? p == NULL
                         : p && rc_path_len(p) == (size_t)all[x] + 1 &&
                               rc_path_get(p, rc_path_len(p) - 1) == v[x]);
        for (size_t i = 0; i + 1 < rc_path_len(p); i++) { /* each step a reference */
            const node_obj *from = rc_path_get(p, i);
            const void *to = rc_path_get(p, i + 1);
            CHECK(from->left == to || from->right == to);
        }
        rc_path_free(p);
        int from_x[RN];
        model_bfs(m, x, -1, from_x);
        CHECK(rc_deep_size(v[x], &bytes, &objects) == 0);
        CHECK(objects == model_reached(from_x) && bytes == objects * NODE_BYTES);
    }
    CHECK(rc_cycles_report(h, NULL) == model_cycles(m));
    rc_retainer top[RN];
    CHECK(rc_top_retainers(h, top, RN) == reachable);
}

static void test_random_graphs(void)
{
    uint64_t seed = 2024;
    for (int round = 0; round < 200; round++) {
        rc_heap *h = new_heap();
        model m;
        node_obj *v[RN];
        for (int i = 0; i < RN; i++)
            v[i] = mknode(h, NULL, NULL);
        for (int i = 0; i < RN; i++) {
            for (int s = 0; s < 2; s++) {
                int t = (int)(test_rand(&seed) % (RN + RN / 2));
                m.edge[i][s] = t < RN ? t : -1;
                rc_set(s ? &v[i]->right : &v[i]->left, t < RN ? v[t] : NULL);
            }
            m.held[i] = test_rand(&seed) % 8 == 0;
        }
        model_survivors(&m);
        for (int i = 0; i < RN; i++)
            if (!m.held[i])
                rc_decref(v[i]);
        rc_census *c = rc_census_take(h);
        rc_census_row row;
        size_t survivors = 0;
        for (int i = 0; i < RN; i++)
            survivors += m.alive[i];
        CHECK(rc_census_rows(c, &row, 1) == (survivors > 0));
        CHECK(!survivors || (row.objects == survivors && row.bytes == survivors * NODE_BYTES));
        rc_census_free(c);
        heap_mark mk0 = mark(h);
        check_random_graph(h, &m, v);
        check_untouched(h, mk0);
        rc_heap_free(h);
    }
}

/* ---- Long chains, on a small stack ---------------------------------------------- */

typedef struct chain_job {
    size_t n;
    int done;
} chain_job;

static void *chain_test(void *arg)
{
    chain_job *job = arg;
    size_t n = job->n;
    rc_heap *h = new_heap();
    node_obj *head = mknode(h, NULL, NULL), *tail = head;
    for (size_t i = 1; i < n; i++) {
        node_obj *next = mknode(h, NULL, NULL);
        next->tag = (int64_t)i;
        rc_set(&tail->left, next);
        rc_decref(next);
        tail = next;
    }
    heap_mark m = mark(h);
    size_t bytes, objects;
    CHECK(rc_deep_size(head, &bytes, &objects) == 0);
    CHECK(bytes == n * NODE_BYTES && objects == n);
    CHECK(rc_retained_size(h, head, &bytes, &objects) == 0);
    CHECK(bytes == n * NODE_BYTES && objects == n);
    rc_path *p = rc_path_to(h, tail);
    CHECK(p && rc_path_len(p) == n && rc_path_get(p, 0) == head && rc_path_get(p, n - 1) == tail);
    for (size_t i = 0; i < n; i++)
        CHECK(((const node_obj *)rc_path_get(p, i))->tag == (int64_t)i);
    rc_path_free(p);
    rc_retainer top[2];
    CHECK(rc_top_retainers(h, top, 2) == 2 && top[0].object == head &&
          top[1].retained_objects == n - 1);
    CHECK(rc_cycles_report(h, NULL) == 0);
    /* close the chain into one cycle of n objects */
    rc_set(&tail->left, head);
    CHECK(rc_cycles_report(h, NULL) == 1);
    CHECK(rc_deep_size(tail, &bytes, &objects) == 0 && objects == n);
    CHECK(rc_retained_size(h, head, &bytes, &objects) == 0 && objects == n);
    check_untouched(h, m);
    rc_set(&tail->left, NULL);
    rc_decref(head);
    rc_heap_free(h);
    job->done = 1;
    return NULL;
}

static void test_long_chain(size_t n)
{
    pthread_attr_t attr;
    pthread_t t;
    chain_job job = {n, 0};
    CHECK(pthread_attr_init(&attr) == 0);
    CHECK(pthread_attr_setstacksize(&attr, (size_t)1 << 20) == 0);
    CHECK(pthread_create(&t, &attr, chain_test, &job) == 0);
    CHECK(pthread_join(t, NULL) == 0 && job.done);
    pthread_attr_destroy(&attr);
}

/* ---- Errors: what each call records on a bad argument ------------------------------ */

static void test_errors(void)
{
    rc_heap *h = new_heap(), *other = new_heap();
    node_obj *n = mknode(h, NULL, NULL), *theirs = mknode(other, NULL, NULL);
    node_obj *garbage = mknode(h, NULL, NULL);
    rc_set(&garbage->left, garbage);
    rc_decref(garbage); /* a self-loop nobody holds: unreachable, not yet collected */
    FILE *sink = fopen("/dev/null", "w");
    size_t bytes;
    rc_retainer top[2];
    CHECK(sink);

    CHECK_ERR(h, rc_retained_size(h, NULL, &bytes, NULL) == -1, RC_EVALUE);
    CHECK_ERR(h, rc_retained_size(h, theirs, &bytes, NULL) == -1, RC_EFOREIGN);
    CHECK_ERR(h, rc_path_to(h, NULL) == NULL, RC_EVALUE);
    CHECK_ERR(h, rc_path_to(h, theirs) == NULL, RC_EFOREIGN);
    CHECK_ERR(h, rc_top_retainers(h, NULL, 2) == 0, RC_EVALUE);
    CHECK_ERR(h, rc_graph_dot(n, -1, sink) == -1, RC_EVALUE);
    CHECK_ERR(h, rc_graph_dot(n, 1, NULL) == -1, RC_EVALUE);
    CHECK(rc_last_error(other) == RC_OK);
    /* not failures: nothing asked for, no path */
    CHECK_ERR(h, rc_top_retainers(h, top, 0) == 0, RC_OK);
    CHECK_ERR(h, rc_path_to(h, garbage) == NULL, RC_OK);
    CHECK(rc_deep_size(NULL, &bytes, NULL) == -1 && rc_graph_dot(NULL, 1, sink) == -1);

    fclose(sink);
    rc_decref(n);
    rc_decref(theirs);
    rc_heap_free(other);
    rc_heap_free(h); /* frees the self-loop too */
}

/* ---- malloc failures --------------------------------------------------------------
 * The test replaces malloc to fail the Nth call, then sweeps N = 1, 2, ...
 * over every function until one run sees no failure: each must return its
 * failure value or the right answer, leak nothing and leave the heap as it
 * was.  Skipped under sanitizers and when the replacement is not reached
 * (valgrind substitutes its own malloc). */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define FAULTS 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define FAULTS 0
#endif
#endif
#ifndef FAULTS
#define FAULTS 1
#endif

#if FAULTS
extern void *__libc_malloc(size_t), *__libc_calloc(size_t, size_t),
    *__libc_realloc(void *, size_t);
extern void __libc_free(void *);
static long fail_at;     /* the call that fails (0: none) */
static long calls;       /* calls since the sweep step began */
static long outstanding; /* blocks allocated less blocks freed */

static bool fail_now(void)
{
    return ++calls == fail_at;
}

void *malloc(size_t n)
{
    void *p = fail_now() ? NULL : __libc_malloc(n);
    outstanding += p != NULL;
    return p;
}

void *calloc(size_t a, size_t b)
{
    void *p = fail_now() ? NULL : __libc_calloc(a, b);
    outstanding += p != NULL;
    return p;
}

void *realloc(void *q, size_t n)
{
    if (fail_now())
        return NULL;
    void *p = __libc_realloc(q, n);
    outstanding += (p != NULL) - (q != NULL && (p != NULL || n == 0));
    return p;
}

void free(void *p)
{
    outstanding -= p != NULL;
    __libc_free(p);
}

/* ok: the call succeeded; a call that failed recorded RC_ENOMEM on h
   (cleared for the next call). */
static bool succeeded(rc_heap *h, bool ok)
{
    CHECK(ok ? rc_last_error(h) == RC_OK : rc_last_error(h) == RC_ENOMEM);
    rc_clear_error(h);
    return ok;
}

/* Every function once; returns whether all succeeded with the known answers. */
static bool run_all(rc_heap *h, void *root, void *deep, FILE *sink)
{
    bool ok = true;
    size_t bytes, objects;
    rc_census *c = rc_census_take(h);
    ok &= succeeded(h, c != NULL);
    rc_census *c2 = rc_census_take(h);
    ok &= succeeded(h, c2 != NULL);
    if (c && c2) {
        rc_census_diff d[4];
        rc_census_rows(c, NULL, 0);
        ok &= rc_census_compare(c, c2, d, 4) == 0;
        rc_census_print(c, sink);
    }
    rc_census_free(c);
    rc_census_free(c2);
    int rc = rc_deep_size(root, &bytes, &objects);
    ok &= succeeded(h, rc == 0);
    CHECK(rc == -1 || (rc == 0 && objects == 8));
    rc = rc_retained_size(h, root, &bytes, &objects);
    ok &= succeeded(h, rc == 0);
    CHECK(rc == -1 || (rc == 0 && objects == 8));
    rc_retainer top[3];
    size_t n = rc_top_retainers(h, top, 3);
    ok &= succeeded(h, n == 3);
    CHECK(n == 0 || (n == 3 && top[0].object == root));
    rc_path *p = rc_path_to(h, deep);
    ok &= succeeded(h, p != NULL);
    CHECK(!p || rc_path_len(p) == 3);
    if (p) { /* labels may fail alone: the lines still print */
        ok &= rc_path_print(p, sink) == 0;
        ok &= rc_path_dot(p, sink) == 0;
    }
    rc_path_free(p);
    ok &= succeeded(h, rc_graph_dot(root, 5, sink) == 0);
    size_t cycles = rc_cycles_report(h, sink);
    ok &= succeeded(h, cycles == 1);
    CHECK(cycles <= 1);
    return ok;
}

static void test_malloc_failures(void)
{
    rc_heap *h = new_heap();
    /* root -> dict {'k': list [5000, Node(self-loop)]} and more Nodes */
    void *d = rc_dict(h), *k = rc_str(h, "k", 1), *list = rc_list(h), *big = rc_int(h, 5000);
    node_obj *loop = mknode(h, NULL, NULL);
    rc_set(&loop->left, loop);
    CHECK(rc_list_append(list, big) == 0 && rc_list_append(list, loop) == 0);
    CHECK(rc_dict_set(d, k, list) == 0);
    node_obj *side = mknode(h, mknode(h, NULL, NULL), NULL);
    rc_decref(side->left);
    node_obj *root = mknode(h, d, side);
    rc_decref(k);
    rc_decref(list);
    rc_decref(big);
    rc_decref(d);
    rc_decref(side);
    rc_decref(loop);
    FILE *sink = fopen("/dev/null", "w");
    CHECK(sink && setvbuf(sink, NULL, _IONBF, 0) == 0);

    heap_mark m = mark(h);
    calls = fail_at = 0;
    CHECK(run_all(h, root, list, sink));
    if (calls == 0) { /* our malloc is not the one in use */
        fclose(sink);
        rc_decref(root);
        rc_heap_free(h);
        printf("test_introspect: malloc fault sweep skipped\n");
        return;
    }
    for (fail_at = 1;; fail_at++) {
        long before = outstanding;
        calls = 0;
        bool ok = run_all(h, root, list, sink);
        CHECK(outstanding == before);
        check_untouched(h, m);
        if (calls < fail_at) { /* nothing failed this time */
            CHECK(ok);
            break;
        }
    }
    printf("test_introspect: %ld malloc failure points swept\n", fail_at - 1);
    fail_at = 0;
    fclose(sink);
    rc_set(&loop->left, NULL);
    rc_decref(root);
    rc_heap_free(h);
}
#else
static void test_malloc_failures(void)
{
}
#endif

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "big") == 0) {
        test_long_chain(1000000);
        printf("test_introspect big: ok\n");
        return 0;
    }
    test_census();
    test_deep_size();
    test_retained();
    test_top_retainers();
    test_paths();
    test_cycles();
    test_graph_dot();
    test_random_graphs();
    test_errors();
    test_malloc_failures();
    test_long_chain(20000);
    printf("test_introspect: ok\n");
    return 0;
}
