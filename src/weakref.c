/*
 * weakref.c — weak references and the weak-value cache.
 *
 * Calls object.c (a weak reference is a managed object) and alloc.c (the
 * table lives on raw blocks).  object.c and gc.c call in to clear the weak
 * references of an object that dies.
 *
 * Objects have no slot for a weak-reference list (the header is 8 bytes);
 * instead the heap keeps a table from referent to the newest of its weak
 * references, and the referent carries RCI_F_WEAKREFS so the table is only
 * consulted for objects that have some.  The weak references of one
 * referent form a doubly linked list, newest first: the order callbacks run.
 *
 * A weak reference with a callback is tracked by the collector (its type
 * has a traverse that reports nothing) so that a weak reference that is
 * itself garbage is known as such and does not call back (PEP 442 rule).
 */
#include "rc_internal.h"

struct rc_weakref {
    void *referent;                          /* NULL once cleared */
    void (*callback)(rc_weakref *, void *);  /* may be NULL */
    void *data;                              /* for the callback */
    rc_weakref *next, *prev;                 /* the referent's list */
};

/* ---- Referent table: open addressing, linear probing, backward-shift
   deletion (no tombstones). ------------------------------------------------ */

typedef struct wslot {
    void *obj;          /* NULL: empty */
    rc_weakref *head;   /* newest weak reference */
} wslot;

typedef struct rci_wtable {
    wslot *slots;
    size_t cap, len;    /* cap is a power of two */
} rci_wtable;

static size_t wslot_index(const void *obj, size_t cap)
{
    uint64_t x = (uint64_t)(uintptr_t)obj * UINT64_C(0x9E3779B97F4A7C15);
    return (size_t)(x >> 29) & (cap - 1);
}

static wslot *wtable_find(const rci_wtable *t, const void *obj)
{
    if (!t || !t->cap)
        return NULL;
    for (size_t i = wslot_index(obj, t->cap);; i = (i + 1) & (t->cap - 1)) {
        if (t->slots[i].obj == obj)
            return &t->slots[i];
        if (!t->slots[i].obj)
            return NULL;
    }
}

static bool wtable_grow(rc_heap *h, rci_wtable *t)
{
    size_t cap = t->cap ? t->cap * 2 : 32;
    wslot *slots = rci_raw_alloc_plain(h, cap * sizeof *slots);
    if (!slots)
        return false;
    memset(slots, 0, cap * sizeof *slots);
    for (size_t i = 0; i < t->cap; i++) {
        if (!t->slots[i].obj)
            continue;
        size_t j = wslot_index(t->slots[i].obj, cap);
        while (slots[j].obj)
            j = (j + 1) & (cap - 1);
        slots[j] = t->slots[i];
    }
    if (t->slots)
        rci_raw_free(h, t->slots);
    t->slots = slots;
    t->cap = cap;
    return true;
}

/* The slot for obj, created if needed; NULL when memory ran out. */
static wslot *wtable_insert(rc_heap *h, const void *obj)
{
    if (!h->weak) {
        h->weak = rci_raw_alloc_plain(h, sizeof *h->weak);
        if (!h->weak)
            return NULL;
        memset(h->weak, 0, sizeof *h->weak);
    }
    rci_wtable *t = h->weak;
    wslot *s = wtable_find(t, obj);
    if (s)
        return s;
    if ((t->len + 1) * 2 > t->cap && !wtable_grow(h, t))
        return NULL;
    size_t i = wslot_index(obj, t->cap);
    while (t->slots[i].obj)
        i = (i + 1) & (t->cap - 1);
    t->slots[i].obj = (void *)obj;
    t->slots[i].head = NULL;
    t->len++;
    return &t->slots[i];
}

static void wtable_remove(rci_wtable *t, wslot *s)
{
    size_t i = (size_t)(s - t->slots), mask = t->cap - 1;
    for (size_t j = (i + 1) & mask; t->slots[j].obj; j = (j + 1) & mask) {
        size_t home = wslot_index(t->slots[j].obj, t->cap);
        /* move j back to the hole at i if its home is not in (i, j] */
        if (((j - home) & mask) >= ((j - i) & mask)) {
            t->slots[i] = t->slots[j];
            i = j;
        }
    }
    t->slots[i].obj = NULL;
    t->slots[i].head = NULL;
    t->len--;
}

/* Detach and return obj's list of weak references; each is cleared. */
static rc_weakref *detach_all(rc_heap *h, void *obj)
{
    rci_head(obj)->flags &= ~RCI_F_WEAKREFS;
    wslot *s = wtable_find(h->weak, obj);
    if (!s)
        return NULL;
    rc_weakref *list = s->head;
    wtable_remove(h->weak, s);
    for (rc_weakref *w = list; w; w = w->next)
        w->referent = NULL;
    return list;
}

/* ---- The weakref type ------------------------------------------------------ */

static void weakref_unlink(rc_weakref *w)
{
    if (!w->referent)
        return;
    rc_heap *h = rci_heap_of(w->referent);
    wslot *s = wtable_find(h->weak, w->referent);
    if (w->prev)
        w->prev->next = w->next;
    else if (s)
        s->head = w->next;
    if (w->next)
        w->next->prev = w->prev;
    if (s && !s->head) {
        rci_head(w->referent)->flags &= ~RCI_F_WEAKREFS;
        wtable_remove(h->weak, s);
    }
    w->referent = NULL;
    w->next = w->prev = NULL;
}

static void weakref_traverse(void *self, rc_visit_fn visit, void *ctx)
{
    (void)self;
    (void)visit;
    (void)ctx; /* holds no strong references; tracked only to be judged */
}

static void weakref_destroy(void *self)
{
    weakref_unlink(self);
}

static const rc_type weakref_type = {
    .name = "weakref",
    .size = sizeof(rc_weakref),
    .traverse = weakref_traverse,
    .destroy = weakref_destroy,
};

/* A queued callback may have been disarmed meanwhile (see node_drop). */
void rci_weakref_call(rc_weakref *w)
{
    if (w->callback)
        w->callback(w, w->data);
}

/* An object dies by reference count: clear its weak references, then run
   the callbacks newest first.  Every weak reference is held meanwhile, so a
   callback may drop any of them. */
void rci_weakref_clear(rc_heap *h, void *obj, bool callbacks)
{
    rc_weakref *list = detach_all(h, obj);
    for (rc_weakref *w = list; w; w = w->next)
        rc_incref(w);
    for (rc_weakref *w = list, *next; w; w = next) {
        next = w->next;
        w->next = w->prev = NULL;
        if (callbacks && !(rci_head(w)->flags & RCI_F_DYING))
            rci_weakref_call(w);
        rc_decref(w);
    }
}

/* The collector's version: clear obj's weak references; those with a
   callback that are not garbage themselves are held and queued in calls.
   With dry_run, only count them. */
size_t rci_weakref_gc_clear(rc_heap *h, void *obj, rci_vec *calls, bool dry_run)
{
    size_t n = 0;
    if (dry_run) {
        wslot *s = wtable_find(h->weak, obj);
        for (rc_weakref *w = s ? s->head : NULL; w; w = w->next)
            n += w->callback && !(rci_head(w)->flags & (RCI_F_UNREACH | RCI_F_DYING));
        return n;
    }
    rc_weakref *list = detach_all(h, obj);
    for (rc_weakref *w = list, *next; w; w = next) {
        next = w->next;
        w->next = w->prev = NULL;
        if (w->callback && !(rci_head(w)->flags & (RCI_F_UNREACH | RCI_F_DYING))) {
            rc_incref(w);
            calls->items[calls->len++] = w;
            n++;
        }
    }
    return n;
}

rc_weakref *rc_weakref_new(void *obj, void (*callback)(rc_weakref *, void *), void *data)
{
    if (!obj)
        return NULL;
    rc_heap *h = rci_heap_of(obj);
    rc_weakref *w = rc_new(h, &weakref_type);
    if (!w)
        return NULL;
    wslot *s = wtable_insert(h, obj);
    if (!s) {
        rc_decref(w);
        return NULL;
    }
    w->referent = obj;
    w->callback = callback;
    w->data = data;
    w->next = s->head;
    if (w->next)
        w->next->prev = w;
    s->head = w;
    rci_head(obj)->flags |= RCI_F_WEAKREFS;
    if (!callback)
        rc_gc_untrack(w);
    return w;
}

void *rc_weakref_get(rc_weakref *w)
{
    void *obj = w->referent;
    if (!obj || rci_head(obj)->refcnt == 0)
        return NULL;
    rc_incref(obj);
    return obj;
}

size_t rc_weakref_count(const void *obj)
{
    if (!(rci_head(obj)->flags & RCI_F_WEAKREFS))
        return 0;
    wslot *s = wtable_find(rci_heap_of(obj)->weak, obj);
    size_t n = 0;
    for (rc_weakref *w = s ? s->head : NULL; w; w = w->next)
        n++;
    return n;
}

/* ---- Weak-value cache -------------------------------------------------------
 * Chained hash table of nodes on raw blocks; each node holds a weak
 * reference whose callback removes the node when the value dies. */

typedef struct wnode {
    struct wnode *next;       /* in its bucket */
    struct rc_weakcache *cache;
    uint64_t hash;
    size_t len;
    rc_weakref *ref;          /* owned */
    unsigned char key[];
} wnode;

struct rc_weakcache {
    rc_heap *heap;
    wnode **buckets;
    size_t nbuckets, len;     /* nbuckets: power of two */
};

static uint64_t key_hash(const void *key, size_t len)
{
    const unsigned char *p = key;
    uint64_t x = UINT64_C(0xCBF29CE484222325); /* FNV-1a */
    for (size_t i = 0; i < len; i++)
        x = (x ^ p[i]) * UINT64_C(0x100000001B3);
    return x;
}

rc_weakcache *rc_weakcache_new(rc_heap *h)
{
    rc_weakcache *c = rc_mem_alloc(h, sizeof *c);
    if (!c)
        return NULL;
    c->heap = h;
    c->nbuckets = 16;
    c->len = 0;
    c->buckets = rc_mem_calloc(h, c->nbuckets, sizeof *c->buckets);
    if (!c->buckets) {
        rc_mem_free(h, c);
        return NULL;
    }
    return c;
}

static wnode **find_link(rc_weakcache *c, const void *key, size_t len, uint64_t hash)
{
    wnode **link = &c->buckets[hash & (c->nbuckets - 1)];
    while (*link && !((*link)->hash == hash && (*link)->len == len &&
                      memcmp((*link)->key, key, len) == 0))
        link = &(*link)->next;
    return link;
}

/* Unlink *link and free the node; its weak reference is dropped, and
   disarmed first: its referent may be dying with its callback still due
   (a callback removing this entry while the object's weak references are
   being cleared), and the callback's data is this node. */
static void node_drop(rc_weakcache *c, wnode **link)
{
    wnode *n = *link;
    *link = n->next;
    c->len--;
    rc_weakref *w = n->ref;
    w->callback = NULL;
    rc_mem_free(c->heap, n);
    rc_decref(w);
}

static void node_died(rc_weakref *w, void *data)
{
    (void)w;
    wnode *n = data;
    rc_weakcache *c = n->cache;
    node_drop(c, find_link(c, n->key, n->len, n->hash));
}

static void cache_grow(rc_weakcache *c)
{
    size_t nb = c->nbuckets * 2;
    wnode **b = rc_mem_calloc(c->heap, nb, sizeof *b);
    if (!b)
        return; /* stays correct, only slower */
    for (size_t i = 0; i < c->nbuckets; i++)
        for (wnode *n = c->buckets[i], *next; n; n = next) {
            next = n->next;
            n->next = b[n->hash & (nb - 1)];
            b[n->hash & (nb - 1)] = n;
        }
    rc_mem_free(c->heap, c->buckets);
    c->buckets = b;
    c->nbuckets = nb;
}

int rc_weakcache_put(rc_weakcache *c, const void *key, size_t len, void *obj)
{
    size_t bytes;
    if (__builtin_add_overflow(sizeof(wnode), len, &bytes))
        return -1;
    wnode *n = rc_mem_alloc(c->heap, bytes);
    if (!n)
        return -1;
    n->cache = c;
    n->hash = key_hash(key, len);
    n->len = len;
    memcpy(n->key, key, len);
    n->ref = rc_weakref_new(obj, node_died, n);
    if (!n->ref) {
        rc_mem_free(c->heap, n);
        return -1;
    }
    wnode **link = find_link(c, key, len, n->hash);
    if (*link)
        node_drop(c, link);
    link = &c->buckets[n->hash & (c->nbuckets - 1)];
    n->next = *link;
    *link = n;
    if (++c->len > c->nbuckets)
        cache_grow(c);
    return 0;
}

void *rc_weakcache_get(rc_weakcache *c, const void *key, size_t len)
{
    wnode *n = *find_link(c, key, len, key_hash(key, len));
    return n ? rc_weakref_get(n->ref) : NULL;
}

int rc_weakcache_remove(rc_weakcache *c, const void *key, size_t len)
{
    wnode **link = find_link(c, key, len, key_hash(key, len));
    if (!*link)
        return 0;
    node_drop(c, link);
    return 1;
}

size_t rc_weakcache_len(const rc_weakcache *c)
{
    return c->len;
}

void rc_weakcache_free(rc_weakcache *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->nbuckets; i++)
        while (c->buckets[i])
            node_drop(c, &c->buckets[i]);
    rc_mem_free(c->heap, c->buckets);
    rc_mem_free(c->heap, c);
}
