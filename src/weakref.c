/*
 * weakref.c — weak references and the weak-value cache.
 *
 * Calls object.c (a weak reference is a managed object) and alloc.c (the
 * table lives on raw blocks).  object.c and gc.c call in to clear the weak
 * references of an object that dies.
 *
 * Objects have no slot for a weak-reference list (the header is 8 bytes);
 * instead the heap keeps a map from referent to the newest of its weak
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

/* ---- Referent table: h->weak maps a referent to its newest weak
   reference (a shared rct_ptrmap on the heap's own raw blocks). ---------- */

static rc_weakref *first_of(const rc_heap *h, const void *obj)
{
    uintptr_t *v = rct_ptrmap_find(&h->weak, (uintptr_t)obj);
    return v ? (rc_weakref *)*v : NULL;
}

/* Detach and return obj's list of weak references; each is cleared. */
static rc_weakref *detach_all(rc_heap *h, void *obj)
{
    rci_head(obj)->flags &= ~RCI_F_WEAKREFS;
    uintptr_t *v = rct_ptrmap_find(&h->weak, (uintptr_t)obj);
    if (!v)
        return NULL;
    rc_weakref *list = (rc_weakref *)*v;
    rct_ptrmap_remove(&h->weak, v);
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
    uintptr_t *v = rct_ptrmap_find(&h->weak, (uintptr_t)w->referent);
    if (w->prev)
        w->prev->next = w->next;
    else if (v)
        *v = (uintptr_t)w->next;
    if (w->next)
        w->next->prev = w->prev;
    if (v && !*v) {
        rci_head(w->referent)->flags &= ~RCI_F_WEAKREFS;
        rct_ptrmap_remove(&h->weak, v);
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

static void node_died(rc_weakref *w, void *data);

/* A queued callback may have been disarmed meanwhile (see node_drop).
   Returns whether the program's own code ran: the weak-value cache's
   callback only unlinks its entry, so it can make nothing reachable
   again, and the collector needs no resurrection check after it. */
bool rci_weakref_call(rc_weakref *w)
{
    void (*fn)(rc_weakref *, void *) = w->callback;
    if (!fn)
        return false;
    fn(w, w->data);
    return fn != node_died;
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
        for (rc_weakref *w = first_of(h, obj); w; w = w->next)
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
    rc_weakref *w = rc_new(h, &weakref_type); /* records why it failed */
    if (!w)
        return NULL;
    uintptr_t *head = rct_ptrmap_insert(&h->weak, (uintptr_t)obj, &h->book);
    if (!head) {
        rc_decref(w);
        return rci_fail_null(h, RC_ENOMEM);
    }
    w->referent = obj;
    w->callback = callback;
    w->data = data;
    w->next = (rc_weakref *)*head;
    if (w->next)
        w->next->prev = w;
    *head = (uintptr_t)w;
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
    size_t n = 0;
    for (rc_weakref *w = first_of(rci_heap_of(obj), obj); w; w = w->next)
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
    if (!obj)
        return rci_fail(c->heap, RC_EVALUE);
    /* the value's weak reference calls back into the cache: one heap */
    if (rci_heap_of(obj) != c->heap)
        return rci_foreign(c->heap, "rc_weakcache_put", obj);
    if (__builtin_add_overflow(sizeof(wnode), len, &bytes))
        return rci_fail(c->heap, RC_EOVERFLOW);
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
