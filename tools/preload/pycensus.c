/*
 * pycensus.c — in a CPython process, at exit before finalization: the
 * census of live Python objects by type (heapy's hpy().heap(), pympler's
 * summary) and gc.garbage's items, written as O records
 * (docs/CAPTURE.md, docs/PYTHON.md "Objects at exit").  May call: the
 * interpreter's C API (dlsym(RTLD_DEFAULT)), the meta writer.
 *
 * When: a Python atexit callback.  The interpreter's own C-level hooks
 * (_Py_AtExit in 3.12, PyUnstable_AtExit in 3.13) run after modules are
 * cleared (measured: a module global's __del__ has run, Py_IsInitialized()
 * is 0), too late for a census; Python's atexit callbacks run before
 * anything is torn down, in every version.  So at attach (python.c) the
 * shim asks for a pending call (Py_AddPendingCall: the main thread runs it
 * between two bytecodes, the GIL held, outside any allocation), and that
 * call imports gc (kept for the census) and registers a C function
 * (PyCFunction_NewEx) with atexit.register.  Registered first, it runs
 * last of the program's atexit callbacks.
 *
 * What is counted, from the interpreter itself (so it does not depend on
 * what the shim traced: RCGC_PYTHON=frames and sampled captures have it
 * too): the objects gc.get_objects() lists (the collector's generations),
 * and every object not tracked by the collector (str, int, an untracked
 * tuple or dict...) reachable from them through untracked objects: a GC
 * object's referents by its tp_traverse (as gc.get_referents), a non-GC
 * object's by its type's object members (a code object's constants and
 * names), each object once (a bitmap of the addresses met); and the
 * objects gc.freeze() moved to the permanent generation, which
 * gc.get_objects() leaves out, read from the collector's own list (below,
 * "Frozen objects"); and sys.intern's table and what it holds ("Interned
 * strings").  Bytes per
 * object: sys.getsizeof's, its type's C __sizeof__ called directly plus
 * the GC header and pre-header as the version's sys.getsizeof adds them;
 * a __sizeof__ written in Python is not run (object.__sizeof__ instead).
 * No Python code runs from the first object read to the last: the GIL is
 * never released (a daemon thread cannot change the objects meanwhile),
 * the collector is off (gc.disable, its state restored after).
 */
#include "shim.h"

/* The C API's pieces used here (stable 3.8-3.13). */
typedef struct py_method_def {
    const char *name;
    void *(*fn)(void *owner, void *arg);
    int flags;
    const char *doc;
} py_method_def;
#define METH_NOARGS 0x0004
#define METH_CALLING 0x02BF /* the flags that say how a C method is called */

typedef void *(*py_getter)(void *owner, void *closure);
typedef int (*py_visit)(void *object, void *arg);

#define OB_TYPE 8
#define TP_NAME 24
#define TP_FLAGS 168
#define TP_TRAVERSE 184
#define TP_MEMBERS 240
#define TP_DICT 264
#define TP_IS_GC 328
#define TP_MRO 344
#define DESCR_DEF 40      /* a method or getset descriptor's PyMethodDef/PyGetSetDef */
#define GETSET_CLOSURE 32 /* in a PyGetSetDef, after name and getter */
#define MEMBER_SIZE 40    /* PyMemberDef: name, type, offset, flags, doc */
#define MEMBER_TYPE 8
#define MEMBER_OFFSET 16
#define MEMBER_FLAGS 24
#define T_OBJECT 6
#define T_OBJECT_EX 16
#define RELATIVE_OFFSET 8 /* 3.12's Py_RELATIVE_OFFSET: not an offset into the object */
#define TPF_MANAGED_WEAKREF (1ul << 3) /* 3.12+ */
#define TPF_MANAGED_DICT (1ul << 4)    /* 3.11+ */
#define TPF_HEAPTYPE (1ul << 9)
#define TPF_HAVE_GC (1ul << 14)
#define TPF_UNICODE (1ul << 28)
#define GC_HEAD 16        /* PyGC_Head: _gc_next, _gc_prev (3.8-3.13) */
#define GC_PTR_MASK (~(uintptr_t)3) /* _gc_prev's and _gc_next's flag bits */
#define PRE_HEADER 16 /* the managed dict and weakref words */

#define TYPE_NAME_MAX 256 /* bytes of a type's name kept */
#define MAX_MEMBERS 16    /* object members of a non-GC type followed */

static struct {
    int minor;                /* 3.minor */
    void *type_type;          /* &PyType_Type */
    void *object_type;        /* &PyBaseObject_Type */
    void *method_descr_type;  /* &PyMethodDescr_Type */
    void *getset_descr_type;  /* &PyGetSetDescr_Type */
    unsigned long preheader;  /* the flags that put a pre-header before a GC object */
    bool done;                /* the census was taken (once per process) */
    void *gc;                 /* the gc module, imported at attach */
    void *(*import)(const char *);
    void *(*get_attr)(void *, const char *);
    void *(*call)(void *, ...);
    void *(*new_fn)(py_method_def *, void *, void *);
    void (*decref)(void *), (*incref)(void *), (*err_clear)(void);
    void *(*unicode)(const char *);
    ptrdiff_t (*list_size)(void *);
    void *(*list_item)(void *, ptrdiff_t);
    void *(*type_lookup)(void *, void *);
    ptrdiff_t (*as_ssize)(void *);
    const char *(*as_utf8)(void *, ptrdiff_t *);
    void *(*tuple_item)(void *, ptrdiff_t);
    void *dict_type;          /* &PyDict_Type */
    void *(*dict_item)(void *, void *);
    void *(*intern)(const char *);
    void *intern_fn;          /* PyUnicode_InternInPlace: where the table is */
    void *none, *true_;
} pc;

/* How one type's objects are measured and followed, and their counts. */
typedef struct census_type {
    uintptr_t type;
    unsigned long flags;      /* its tp_flags */
    int (*traverse)(void *, py_visit, void *);
    int (*is_gc)(void *);
    void *(*size_fn)(void *, void *); /* a C __sizeof__ taking no argument, or NULL: */
    void *size_descr;         /*   called through the C API (borrowed) */
    uint32_t header;          /* what sys.getsizeof adds (3.11+: by type) */
    uint32_t nmembers;
    int32_t members[MAX_MEMBERS]; /* object members' offsets (non-GC objects) */
    uint64_t objects[2], bytes[2]; /* by list: live, gc.garbage */
} census_type;

/* Addresses -> an index (the types; the chunks of the objects met). */
typedef struct addr_table {
    uintptr_t *keys;          /* 0: empty */
    uint32_t *vals;
    size_t cap, used;         /* cap: a power of two */
} addr_table;

typedef struct grow_array {
    void *at;
    size_t n, cap, elem;
} grow_array;

/* The untracked objects met: a bit per 8 bytes of address (an object
   takes 16 at least, a static one may be 8-aligned), in bitmaps of
   SEEN_CHUNK bytes of address space each, found by an index of the
   chunks' numbers.  Objects are met mostly in the order they were made,
   near each other: the bits of consecutive ones share cache lines, where
   a hash set of addresses missed the cache at nearly every object (a
   32 MiB table for 2 million objects). */
#define SEEN_CHUNK_BITS 20 /* 1 MiB of addresses: 16 KiB of bits */
#define SEEN_CHUNK_WORDS ((1u << SEEN_CHUNK_BITS) / 8 / 64)
typedef struct seen_set {
    addr_table index;         /* chunk number + 1 -> its place in bitmaps */
    grow_array bitmaps;       /* uint64_t *, SEEN_CHUNK_WORDS words each */
    uintptr_t last_chunk;     /* the chunk of the last object met, + 1 */
    uint64_t *last_bits;
} seen_set;

typedef struct census {
    addr_table type_index;
    seen_set seen;
    grow_array types;         /* census_type, in the order met */
    grow_array pending;       /* untracked objects whose referents are to follow */
    bool short_of_memory;     /* some objects were left out */
} census;

/* ---- Memory of its own (mmap'd pages: the program's allocator is not touched) ---------- */

static bool array_room(grow_array *a)
{
    if (a->n < a->cap)
        return true;
    size_t cap = a->cap ? 2 * a->cap : 4096;
    void *at = pages_alloc(NULL, cap * a->elem);
    if (!at)
        return false;
    if (a->at) {
        memcpy(at, a->at, a->n * a->elem);
        pages_free(NULL, a->at, a->cap * a->elem);
    }
    a->at = at;
    a->cap = cap;
    return true;
}

static size_t addr_home(uintptr_t a, size_t cap)
{
    uint64_t h = (uint64_t)a * UINT64_C(0x9E3779B97F4A7C15);
    return (size_t)(h ^ h >> 29) & (cap - 1);
}

static size_t addr_probe(const addr_table *t, uintptr_t a)
{
    size_t i = addr_home(a, t->cap);
    while (t->keys[i] && t->keys[i] != a)
        i = (i + 1) & (t->cap - 1);
    return i;
}

static void addr_free(addr_table *t)
{
    if (t->keys)
        pages_free(NULL, t->keys, t->cap * sizeof *t->keys);
    if (t->vals)
        pages_free(NULL, t->vals, t->cap * sizeof *t->vals);
}

/* Room for one more (at most half full), rehashing into twice the room. */
static bool addr_room(addr_table *t)
{
    if (2 * (t->used + 1) <= t->cap)
        return true;
    addr_table n = {.cap = t->cap ? 2 * t->cap : 1u << 16, .used = t->used};
    n.keys = pages_alloc(NULL, n.cap * sizeof *n.keys);
    n.vals = pages_alloc(NULL, n.cap * sizeof *n.vals);
    if (!n.keys || !n.vals) {
        addr_free(&n);
        return false;
    }
    for (size_t i = 0; i < t->cap; i++)
        if (t->keys[i]) {
            size_t k = addr_probe(&n, t->keys[i]);
            n.keys[k] = t->keys[i];
            n.vals[k] = t->vals[i];
        }
    addr_free(t);
    *t = n;
    return true;
}

/* Marks o met: false when it was already (or, short of memory, when it
   cannot be marked: *full set). */
static bool seen_add(seen_set *s, uintptr_t o, bool *full)
{
    uintptr_t chunk = (o >> SEEN_CHUNK_BITS) + 1;
    uint64_t *bits = s->last_bits;
    if (chunk != s->last_chunk) {
        size_t i = s->index.cap ? addr_probe(&s->index, chunk) : 0;
        if (s->index.cap && s->index.keys[i])
            bits = ((uint64_t **)s->bitmaps.at)[s->index.vals[i]];
        else {
            bits = pages_alloc(NULL, SEEN_CHUNK_WORDS * sizeof *bits);
            if (!bits || !addr_room(&s->index) || !array_room(&s->bitmaps)) {
                if (bits)
                    pages_free(NULL, bits, SEEN_CHUNK_WORDS * sizeof *bits);
                *full = true;
                return false;
            }
            i = addr_probe(&s->index, chunk);
            s->index.keys[i] = chunk;
            s->index.vals[i] = (uint32_t)s->bitmaps.n;
            s->index.used++;
            ((uint64_t **)s->bitmaps.at)[s->bitmaps.n++] = bits;
        }
        s->last_chunk = chunk;
        s->last_bits = bits;
    }
    size_t bit = (o & ((1u << SEEN_CHUNK_BITS) - 1)) >> 3;
    uint64_t mask = UINT64_C(1) << (bit & 63);
    if (bits[bit >> 6] & mask)
        return false;
    bits[bit >> 6] |= mask;
    return true;
}

static void seen_free(seen_set *s)
{
    for (size_t i = 0; i < s->bitmaps.n; i++)
        pages_free(NULL, ((uint64_t **)s->bitmaps.at)[i], SEEN_CHUNK_WORDS * sizeof(uint64_t));
    if (s->bitmaps.at)
        pages_free(NULL, s->bitmaps.at, s->bitmaps.cap * s->bitmaps.elem);
    addr_free(&s->index);
}

/* ---- Types -------------------------------------------------------------------------- */

/* A C function called with the object alone: a method descriptor's
   function when it takes no argument; else NULL. */
static void *(*noargs_fn(void *descr))(void *, void *)
{
    if (!descr || *(void **)((char *)descr + OB_TYPE) != pc.method_descr_type)
        return NULL;
    const py_method_def *def = *(py_method_def **)((char *)descr + DESCR_DEF);
    return def && (def->flags & METH_CALLING) == METH_NOARGS ? def->fn : NULL;
}

/* How objects of type t are measured: its __sizeof__ when a C function
   (a method descriptor), else object's.  sizeof_name: "__sizeof__".  A
   type without its MRO (cleared by a collection, or not ready) is not
   looked up: _PyType_Lookup would make it ready, running its code. */
static void measure_with(census_type *ct, void *sizeof_name)
{
    void *descr = *(void *const *)(ct->type + TP_MRO)
                      ? pc.type_lookup((void *)ct->type, sizeof_name)
                      : NULL;
    if (!descr || *(void **)((char *)descr + OB_TYPE) != pc.method_descr_type)
        descr = pc.type_lookup(pc.object_type, sizeof_name);
    ct->size_fn = noargs_fn(descr);
    ct->size_descr = ct->size_fn ? NULL : descr;
    if (pc.minor >= 11) /* _PyType_PreHeaderSize: by the type's flags */
        ct->header = (ct->flags & TPF_HAVE_GC ? GC_HEAD : 0) +
                     (ct->flags & pc.preheader ? PRE_HEADER : 0);
}

/* A non-GC type's object members (tp_members' T_OBJECT, T_OBJECT_EX). */
static void find_members(census_type *ct)
{
    const char *m = *(const char *const *)(ct->type + TP_MEMBERS);
    for (; m && *(const char *const *)m && ct->nmembers < MAX_MEMBERS; m += MEMBER_SIZE) {
        int type = *(const int *)(m + MEMBER_TYPE);
        if ((type == T_OBJECT || type == T_OBJECT_EX) &&
            !(*(const int *)(m + MEMBER_FLAGS) & RELATIVE_OFFSET))
            ct->members[ct->nmembers++] = (int32_t) * (const ptrdiff_t *)(m + MEMBER_OFFSET);
    }
}

/* The entry of type t, made if new; NULL when out of memory. */
static census_type *census_entry(census *c, uintptr_t t, void *sizeof_name)
{
    addr_table *ix = &c->type_index;
    if (ix->cap) {
        size_t i = addr_probe(ix, t);
        if (ix->keys[i])
            return (census_type *)c->types.at + ix->vals[i];
    }
    if (!addr_room(ix) || !array_room(&c->types))
        return NULL;
    census_type *ct = (census_type *)c->types.at + c->types.n;
    *ct = (census_type){
        .type = t,
        .flags = *(const unsigned long *)(t + TP_FLAGS),
        .traverse = *(int (*const *)(void *, py_visit, void *))(t + TP_TRAVERSE),
        .is_gc = *(int (*const *)(void *))(t + TP_IS_GC),
    };
    measure_with(ct, sizeof_name);
    find_members(ct);
    size_t i = addr_probe(ix, t);
    ix->keys[i] = t;
    ix->vals[i] = (uint32_t)c->types.n++;
    ix->used++;
    return ct;
}

/* ---- Objects ------------------------------------------------------------------------ */

static bool is_gc(const census_type *ct, void *o)
{
    return (ct->flags & TPF_HAVE_GC) && (!ct->is_gc || ct->is_gc(o));
}

/* sys.getsizeof(o), but that a Python __sizeof__ is not run; 0 if it fails. */
static uint64_t object_size(const census_type *ct, void *o)
{
    void *r = ct->size_fn      ? ct->size_fn(o, NULL)
              : ct->size_descr ? pc.call(ct->size_descr, o, NULL)
                               : NULL;
    ptrdiff_t n = r ? pc.as_ssize(r) : -1;
    pc.decref(r);
    if (n < 0) {
        pc.err_clear();
        return 0;
    }
    size_t header = pc.minor >= 11 ? ct->header : is_gc(ct, o) ? GC_HEAD : 0;
    return (uint64_t)n + header;
}

typedef struct walk {
    census *c;
    void *sizeof_name;
} walk;

static void count(census_type *ct, void *o, int list)
{
    ct->objects[list]++;
    ct->bytes[list] += object_size(ct, o);
}

static int visit(void *o, void *arg);

/* Each referent of o: by tp_traverse for a GC object, by its type's object
   members for another. */
static void follow(walk *w, census_type *ct, void *o)
{
    if (is_gc(ct, o)) {
        if (ct->traverse)
            ct->traverse(o, visit, w);
        return;
    }
    for (uint32_t k = 0; k < ct->nmembers; k++)
        visit(*(void **)((char *)o + ct->members[k]), w);
}

/* A referent: counted the first time unless the collector tracks it
   (gc.get_objects lists it); kept to follow if it may refer to more. */
static int visit(void *o, void *arg)
{
    walk *w = arg;
    census *c = w->c;
    if (!o)
        return 0;
    census_type *ct = census_entry(c, *(uintptr_t *)((char *)o + OB_TYPE), w->sizeof_name);
    if (!ct) {
        c->short_of_memory = true;
        return 0;
    }
    bool gc_object = is_gc(ct, o);
    if (gc_object && ((const uintptr_t *)o)[-2]) /* PyGC_Head's _gc_next: tracked */
        return 0;
    if (!seen_add(&c->seen, (uintptr_t)o, &c->short_of_memory))
        return 0;
    count(ct, o, RCC_PY_LIVE);
    if ((gc_object && ct->traverse) || (!gc_object && ct->nmembers)) {
        if (array_room(&c->pending))
            ((void **)c->pending.at)[c->pending.n++] = o;
        else
            c->short_of_memory = true;
    }
    return 0;
}

/* An object the collector tracks: counted, its referents followed. */
static void count_tracked(walk *w, void *o)
{
    census_type *ct = census_entry(w->c, *(uintptr_t *)((char *)o + OB_TYPE), w->sizeof_name);
    if (ct) {
        count(ct, o, RCC_PY_LIVE);
        follow(w, ct, o);
    } else
        w->c->short_of_memory = true;
}

/* Every object of the list gc.get_objects() made (but the list itself)
   and of the permanent generation, the interned table, and the untracked
   objects reachable from them. */
static void count_objects(walk *w, void *objects, const uintptr_t *frozen, void *interned)
{
    census *c = w->c;
    ptrdiff_t n = pc.list_size(objects);
    for (ptrdiff_t i = 0; i < n; i++) {
        void *o = pc.list_item(objects, i);
        if (o && o != objects)
            count_tracked(w, o);
    }
    if (frozen) /* the permanent generation's list head */
        for (uintptr_t at = frozen[0] & GC_PTR_MASK; at != (uintptr_t)frozen;
             at = *(const uintptr_t *)at & GC_PTR_MASK)
            count_tracked(w, (void *)(at + GC_HEAD));
    visit(interned, w);
    while (c->pending.n) {
        void *o = ((void **)c->pending.at)[--c->pending.n];
        census_type *ct = census_entry(c, *(uintptr_t *)((char *)o + OB_TYPE), w->sizeof_name);
        if (ct) /* (met before: found in the table) */
            follow(w, ct, o);
    }
}

/* gc.garbage's items by type. */
static void count_garbage(walk *w)
{
    void *garbage = pc.get_attr(pc.gc, "garbage");
    ptrdiff_t n = garbage ? pc.list_size(garbage) : 0;
    for (ptrdiff_t i = 0; i < n; i++) {
        void *o = pc.list_item(garbage, i);
        census_type *ct =
            o ? census_entry(w->c, *(uintptr_t *)((char *)o + OB_TYPE), w->sizeof_name) : NULL;
        if (ct)
            count(ct, o, RCC_PY_GARBAGE);
    }
    pc.decref(garbage);
    pc.err_clear(); /* no garbage list: none */
}

/* ---- Frozen objects ----------------------------------------------------------------
 *
 * gc.freeze() moves every tracked object to the collector's permanent
 * generation, a list gc.get_objects() does not read and no Python
 * function lists (gc.unfreeze() would give them back to the oldest
 * generation for good: the collections of finalization would then free,
 * and finalize, frozen cycles they never reach otherwise).  The census
 * reads that list where it lies, changing nothing.  The collector's state
 * has had one layout from 3.8 to 3.13 (3.14 changed it; struct _gc_runtime_state: a
 * pointer and three ints, then generations[3] of {PyGC_Head head; int
 * threshold, count}, generation0, permanent_generation).  It is found
 * from the list gc.get_objects() just made: tracked last, at the tail of
 * generation 0, its _gc_next is generation 0's head.  It is taken to be
 * the state only if the words read there (with process_vm_readv: nothing
 * is read that is not mapped) say so: generation0 points to that head,
 * the thresholds are gc.get_threshold()'s, the collector is off (the
 * census turned it off), and the permanent list holds exactly
 * gc.get_freeze_count() objects, each linked back to the one before. */

#define GC_STATE_WORDS 16          /* up to permanent_generation's head */
#define GC_ENABLED 12              /* bytes: after trash_delete_later, _nesting */
#define GC_GEN0 3                  /* generations[0].head, in words */
#define GC_GEN_WORDS 3             /* a gc_generation */
#define GC_THRESHOLD 2             /* in a gc_generation, after its head */
#define GC_GENERATION0 12          /* the generation0 pointer */
#define GC_PERMANENT 13            /* permanent_generation.head */

/* A C function of the gc module called without arguments (a new
   reference, or NULL). */
static void *gc_call(const char *fn)
{
    void *f = pc.get_attr(pc.gc, fn);
    void *r = f ? pc.call(f, NULL) : NULL;
    pc.decref(f);
    return r;
}

static bool read_mapped(void *to, uintptr_t from, size_t n)
{
    struct iovec local = {to, n}, remote = {(void *)from, n};
    return process_vm_readv(getpid(), &local, 1, &remote, 1, 0) == (ssize_t)n;
}

/* gc.<fn>()'s result as a number, or -1. */
static ptrdiff_t gc_number(const char *fn, ptrdiff_t item)
{
    void *r = gc_call(fn);
    void *n = r && item >= 0 ? pc.tuple_item(r, item) : r;
    ptrdiff_t v = n ? pc.as_ssize(n) : -1;
    pc.decref(r);
    pc.err_clear();
    return v;
}

static int state_int(const uintptr_t *state, size_t byte)
{
    int v;
    memcpy(&v, (const char *)state + byte, sizeof v);
    return v;
}

/* The permanent generation's head, or NULL when empty or not found. */
static const uintptr_t *permanent_generation(void *objects)
{
    ptrdiff_t frozen = pc.minor <= 13 ? gc_number("get_freeze_count", -1) : 0;
    if (frozen <= 0)
        return NULL;
    uintptr_t gen0 = 0, state[GC_STATE_WORDS];
    if (!read_mapped(&gen0, (uintptr_t)objects - GC_HEAD, sizeof gen0) ||
        !read_mapped(state, (gen0 & GC_PTR_MASK) - GC_GEN0 * sizeof(uintptr_t), sizeof state))
        return NULL;
    gen0 &= GC_PTR_MASK;
    if (state[GC_GENERATION0] != gen0 || state_int(state, GC_ENABLED))
        return NULL;
    for (int k = 0; k < 3; k++)
        if (state_int(state, (GC_GEN0 + k * GC_GEN_WORDS + GC_THRESHOLD) * sizeof(uintptr_t)) !=
            gc_number("get_threshold", k))
            return NULL;
    const uintptr_t *head = (const uintptr_t *)(gen0 - GC_GEN0 * sizeof(uintptr_t)) + GC_PERMANENT;
    uintptr_t at = (uintptr_t)head, node[2];
    for (ptrdiff_t i = 0; i <= frozen; i++) {
        uintptr_t next = *(const uintptr_t *)at & GC_PTR_MASK;
        if (!read_mapped(node, next, sizeof node) || (node[1] & GC_PTR_MASK) != at)
            return NULL;
        if (next == (uintptr_t)head)
            return i == frozen ? head : NULL;
        at = next;
    }
    return NULL;
}

/* ---- Interned strings ---------------------------------------------------------------
 *
 * sys.intern's table, a dict in which each interned str maps to itself,
 * holds strings that nothing the collector tracks leads to: names of
 * slots and descriptors that C arrays keep, and in 3.12 (where interned
 * strings are immortal) every string ever interned and dropped.  The
 * table is no object's referent: a static variable of unicodeobject.c
 * (3.8-3.11), a field of the interpreter state (3.12, 3.13: for the main
 * interpreter, inside _PyRuntime).  Either way it is a word of the
 * writable segments of the file that defines PyUnicode_InternInPlace
 * (libpython, or python3 when linked in), and no Python function gives
 * it.  The census finds it there by what it holds: the one dict that maps
 * a string just interned (the probe) to itself.  Each word that may be a
 * heap object's address (16-aligned, in user space above the first 64
 * KiB, outside the file's own segments, where its static objects are, not
 * on a page found unmapped a moment ago) has its
 * reference count and type read with process_vm_readv, in batches:
 * nothing unmapped is touched, and only a live dict is asked. */

#define PROBE_BATCH 256    /* reads a call (IOV_MAX is 1024; 12 KiB of stack) */
#define UNMAPPED_CACHE 512 /* pages found unmapped: most words that are no
                              pointer repeat (1e9, 0x400000000...) */
#define USER_TOP (UINT64_C(1) << 47)

typedef struct table_search {
    uintptr_t fn;             /* PyUnicode_InternInPlace */
    void *probe;              /* a freshly interned str */
    void *found;              /* the table */
    uintptr_t unmapped[UNMAPPED_CACHE]; /* page numbers, by their low bits */
} table_search;

/* The dict among addrs[0..n) that maps the probe to itself, or NULL. */
static void *probe_batch(const uintptr_t *addrs, size_t n, void *probe, uintptr_t *unmapped)
{
    struct iovec local[PROBE_BATCH], remote[PROBE_BATCH];
    uintptr_t head[PROBE_BATCH][2]; /* ob_refcnt, ob_type */
    for (size_t i = 0; i < n; i++) {
        local[i] = (struct iovec){head[i], sizeof head[i]};
        remote[i] = (struct iovec){(void *)addrs[i], sizeof head[i]};
    }
    for (size_t i = 0; i < n;) {
        ssize_t got = process_vm_readv(getpid(), local + i, (unsigned long)(n - i), remote + i,
                                       (unsigned long)(n - i), 0);
        size_t read = got > 0 ? (size_t)got / sizeof *head : 0;
        for (size_t k = i; k < i + read; k++) /* (a dict on the free list has no references) */
            if (head[k][1] == (uintptr_t)pc.dict_type && head[k][0] &&
                pc.dict_item((void *)addrs[k], probe) == probe)
                return (void *)addrs[k];
        if (i + read < n) /* the one that could not be read */
            unmapped[addrs[i + read] >> 12 & (UNMAPPED_CACHE - 1)] = addrs[i + read] >> 12;
        i += read + 1;
    }
    return NULL;
}

/* dl_iterate_phdr's callback: the writable segments of the file that
   defines PyUnicode_InternInPlace, searched. */
static int search_file(struct dl_phdr_info *info, size_t size, void *arg)
{
    (void)size;
    table_search *s = arg;
    bool defines = false;
    uintptr_t file_lo = UINTPTR_MAX, file_hi = 0; /* the file's own span */
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        uintptr_t lo = info->dlpi_addr + ph->p_vaddr;
        if (ph->p_type != PT_LOAD)
            continue;
        defines |= s->fn >= lo && s->fn < lo + ph->p_memsz;
        file_lo = lo < file_lo ? lo : file_lo;
        file_hi = lo + ph->p_memsz > file_hi ? lo + ph->p_memsz : file_hi;
    }
    for (int i = 0; defines && i < info->dlpi_phnum && !s->found; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_W))
            continue;
        const uintptr_t *word = (const uintptr_t *)((info->dlpi_addr + ph->p_vaddr) & ~(uintptr_t)7);
        const uintptr_t *end = (const uintptr_t *)(info->dlpi_addr + ph->p_vaddr + ph->p_memsz);
        uintptr_t batch[PROBE_BATCH];
        size_t n = 0;
        for (; word < end && !s->found; word++) {
            uintptr_t a = *word;
            if (a > 0xffff && a < USER_TOP && !(a & 15) && (a < file_lo || a >= file_hi) &&
                s->unmapped[a >> 12 & (UNMAPPED_CACHE - 1)] != a >> 12)
                batch[n++] = a;
            if (n == PROBE_BATCH || (word + 1 == end && n)) {
                s->found = probe_batch(batch, n, s->probe, s->unmapped);
                n = 0;
            }
        }
    }
    return defines; /* found the file: stop */
}

/* sys.intern's table, or NULL.  *probe: the probe, kept for the walk (a
   new reference, or NULL). */
static void *interned_table(void **probe)
{
    table_search s = {.fn = (uintptr_t)pc.intern_fn, .probe = pc.intern("rcgc census probe")};
    if (s.probe)
        dl_iterate_phdr(search_file, &s);
    pc.err_clear();
    *probe = s.probe;
    return s.found;
}

/* ---- Names and records -------------------------------------------------------------- */

/* type's getter of one of its attributes ("__module__", "__qualname__"):
   a C function, so no metaclass's Python code runs. */
static py_getter type_getter(const char *attr, void **closure)
{
    void *name = pc.unicode(attr);
    void *descr = name ? pc.type_lookup(pc.type_type, name) : NULL;
    pc.decref(name);
    if (!descr || *(void **)((char *)descr + OB_TYPE) != pc.getset_descr_type)
        return NULL;
    const char *def = *(const char *const *)((char *)descr + DESCR_DEF);
    *closure = *(void *const *)(def + GETSET_CLOSURE);
    return *(const py_getter *)(def + sizeof(char *));
}

/* s's text if s is a str (else NULL; a str that cannot be UTF-8: NULL). */
static const char *str_text(void *s)
{
    if (!s || !(*(const unsigned long *)(*(const char *const *)((char *)s + OB_TYPE) + TP_FLAGS) &
                TPF_UNICODE))
        return NULL;
    ptrdiff_t len;
    const char *text = pc.as_utf8(s, &len);
    return text && (size_t)len == strlen(text) ? text : NULL;
}

/* A type's name as repr(type) has it: module.qualname for a class (the
   qualname alone in builtins or when __module__ is not a str), tp_name for
   a static type or when those cannot be read. */
static void type_name(uintptr_t t, char out[TYPE_NAME_MAX])
{
    static py_getter module_of, qualname_of;
    static void *module_closure, *qualname_closure;
    if (!module_of) {
        module_of = type_getter("__module__", &module_closure);
        qualname_of = type_getter("__qualname__", &qualname_closure);
    }
    const char *tp_name = *(const char *const *)(t + TP_NAME);
    snprintf(out, TYPE_NAME_MAX, "%s", tp_name ? tp_name : "?");
    unsigned long flags = *(const unsigned long *)(t + TP_FLAGS);
    if (!(flags & TPF_HEAPTYPE) || !module_of || !qualname_of || !*(void *const *)(t + TP_DICT))
        return; /* (the getter of __module__ reads the class's dict) */
    void *mod = module_of((void *)t, module_closure);
    void *qualname = qualname_of((void *)t, qualname_closure);
    const char *m = str_text(mod), *q = str_text(qualname);
    if (q && m && strcmp(m, "builtins") != 0)
        snprintf(out, TYPE_NAME_MAX, "%s.%s", m, q);
    else if (q)
        snprintf(out, TYPE_NAME_MAX, "%s", q);
    pc.decref(mod);
    pc.decref(qualname);
    pc.err_clear();
}

/* An O record per type and list. */
static void write_census(const census *c)
{
    for (size_t i = 0; i < c->types.n; i++) {
        const census_type *ct = (const census_type *)c->types.at + i;
        if (!ct->objects[RCC_PY_LIVE] && !ct->objects[RCC_PY_GARBAGE])
            continue;
        char name[TYPE_NAME_MAX];
        type_name(ct->type, name);
        int cancel;
        lock(&cancel);
        for (int list = RCC_PY_LIVE; list <= RCC_PY_GARBAGE; list++)
            if (ct->objects[list])
                meta_write(&(rcc_event){.kind = RCC_PYOBJECTS, .status = list,
                                        .count = ct->objects[list], .size = ct->bytes[list],
                                        .text = name});
        unlock(cancel);
    }
}

static void census_free(census *c)
{
    addr_free(&c->type_index);
    seen_free(&c->seen);
    if (c->types.at)
        pages_free(NULL, c->types.at, c->types.cap * c->types.elem);
    if (c->pending.at)
        pages_free(NULL, c->pending.at, c->pending.cap * c->pending.elem);
}

/* The atexit callback: the census, once. */
static void *take_census(void *owner, void *arg)
{
    (void)owner, (void)arg;
    busy++; /* what the API calls here allocate is the shim's */
    if (!pc.done && pc.gc && atomic_load(&g.mode) == ACTIVE) {
        pc.done = true;
        void *enabled = gc_call("isenabled");
        pc.decref(gc_call("disable"));
        void *objects = gc_call("get_objects");
        void *sizeof_name = pc.unicode("__sizeof__");
        census c = {.types.elem = sizeof(census_type), .pending.elem = sizeof(void *),
                    .seen.bitmaps.elem = sizeof(uint64_t *)};
        walk w = {&c, sizeof_name};
        const uintptr_t *frozen = objects ? permanent_generation(objects) : NULL;
        void *probe = NULL;
        void *interned = objects ? interned_table(&probe) : NULL;
        if (probe) /* the shim's, not the program's */
            seen_add(&c.seen, (uintptr_t)probe, &c.short_of_memory);
        if (objects && sizeof_name) {
            count_objects(&w, objects, frozen, interned);
            count_garbage(&w);
            write_census(&c);
        }
        census_free(&c);
        pc.decref(sizeof_name);
        pc.decref(probe);
        pc.decref(objects);
        if (enabled == pc.true_)
            pc.decref(gc_call("enable"));
        pc.decref(enabled);
        pc.err_clear();
    }
    busy--;
    pc.incref(pc.none);
    return pc.none;
}

static py_method_def census_def = {"rcgc_census", take_census, METH_NOARGS, NULL};

/* The pending call: gc imported for the census, atexit.register(the
   census).  The shim's work, not recorded (one function object; the
   atexit and gc modules, built in, where the program had not imported
   them): the program's totals stay what memcheck sees (tests/real). */
static int register_census(void *arg)
{
    (void)arg;
    busy++;
    pc.gc = pc.import("gc");
    void *atexit = pc.gc ? pc.import("atexit") : NULL;
    void *reg = atexit ? pc.get_attr(atexit, "register") : NULL;
    void *fn = reg ? pc.new_fn(&census_def, NULL, NULL) : NULL;
    void *r = fn ? pc.call(reg, fn, NULL) : NULL;
    pc.decref(r);
    pc.decref(fn);
    pc.decref(reg);
    pc.decref(atexit);
    pc.err_clear();
    busy--;
    return 0;
}

/* At attach (python.c: the GIL held): arrange the census for exit. */
void python_census_arm(uint32_t version)
{
    int (*pending)(int (*)(void *), void *);
    pc.minor = (int)(version >> 16 & 0xff);
    pc.preheader = pc.minor >= 12   ? TPF_MANAGED_DICT | TPF_MANAGED_WEAKREF
                   : pc.minor == 11 ? TPF_MANAGED_DICT
                                    : 0;
    /* the C API's pieces (ISO C has no cast from dlsym's void * to a
       function pointer: each is stored through a void ** to it) */
    const struct {
        void **at;
        const char *name;
    } api[] = {
        {(void **)&pc.type_type, "PyType_Type"},
        {(void **)&pc.object_type, "PyBaseObject_Type"},
        {(void **)&pc.method_descr_type, "PyMethodDescr_Type"},
        {(void **)&pc.getset_descr_type, "PyGetSetDescr_Type"},
        {(void **)&pc.none, "_Py_NoneStruct"},
        {(void **)&pc.true_, "_Py_TrueStruct"},
        {(void **)&pending, "Py_AddPendingCall"},
        {(void **)&pc.import, "PyImport_ImportModule"},
        {(void **)&pc.get_attr, "PyObject_GetAttrString"},
        {(void **)&pc.call, "PyObject_CallFunctionObjArgs"},
        {(void **)&pc.new_fn, "PyCFunction_NewEx"},
        {(void **)&pc.decref, "Py_DecRef"},
        {(void **)&pc.incref, "Py_IncRef"},
        {(void **)&pc.err_clear, "PyErr_Clear"},
        {(void **)&pc.unicode, "PyUnicode_FromString"},
        {(void **)&pc.list_size, "PyList_Size"},
        {(void **)&pc.list_item, "PyList_GetItem"},
        {(void **)&pc.tuple_item, "PyTuple_GetItem"},
        {(void **)&pc.dict_type, "PyDict_Type"},
        {(void **)&pc.dict_item, "PyDict_GetItem"},
        {(void **)&pc.intern, "PyUnicode_InternFromString"},
        {(void **)&pc.intern_fn, "PyUnicode_InternInPlace"},
        {(void **)&pc.type_lookup, "_PyType_Lookup"},
        {(void **)&pc.as_ssize, "PyLong_AsSsize_t"},
        {(void **)&pc.as_utf8, "PyUnicode_AsUTF8AndSize"},
    };
    bool found = version >> 24 == 3 && pc.minor >= 8;
    for (size_t i = 0; i < sizeof api / sizeof *api; i++)
        found &= (*api[i].at = dlsym(RTLD_DEFAULT, api[i].name)) != NULL;
    if (found)
        pending(register_census, NULL);
}
