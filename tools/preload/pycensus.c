/*
 * pycensus.c — in a CPython process, at exit before finalization: the
 * census of live Python objects by type (heapy's hpy().heap(), pympler's
 * summary) and gc.garbage's items, written as O records
 * (docs/CAPTURE.md, docs/PYTHON.md "Objects at exit").  May call: the
 * interpreter's C API (dlsym(RTLD_DEFAULT)), the shadow's walk, the meta
 * writer.
 *
 * When: a Python atexit callback.  The interpreter's own C-level hooks
 * (_Py_AtExit in 3.12, PyUnstable_AtExit in 3.13) run after modules are
 * cleared (measured: a module global's __del__ has run, Py_IsInitialized()
 * is 0), too late for a census; Python's atexit callbacks run before
 * anything is torn down, in every version.  So at attach (python.c) the
 * shim asks for a pending call (Py_AddPendingCall: the main thread runs it
 * between two bytecodes, the GIL held, outside any allocation), and that
 * call registers a C function (PyCFunction_NewEx) with atexit.register.
 * Registered first, it runs last of the program's atexit callbacks.
 *
 * What is counted: the shim's knowledge of live blocks, and the
 * interpreter's types (no Python code: type.__subclasses__ from object
 * down, C functions).  Each live block the object domain allocated (typed PyObject_Malloc in
 * the shadow, whatever its size: pymalloc hands blocks over 512 bytes to
 * malloc inside the domain call, so large objects are there too) is looked
 * at where its PyObject would start: 0 bytes in (not a GC type), 16 (a GC
 * type: the GC header first) or 32 (3.11+: a GC type with a pre-header,
 * managed dict or weakref pointers, before the GC header).  Its ob_type
 * must be one of the interpreter's types (a word that is not is never
 * read through), whose GC and pre-header flags put the PyObject at that
 * place, and its refcount must be above 0 (free lists keep dead lists,
 * dicts and tuples with their type).  Blocks of the domain that are not
 * objects (dict keys) fail these checks.  Bytes per type are the blocks'
 * sizes as asked for (the object's own block: a list's item array is a
 * PyMem_Malloc block of its own, not counted).  Objects allocated before
 * the shim attached (interpreter start-up: builtins, sys, what site
 * imported) and static objects (built-in types, None, small ints) are not
 * in the shadow and not counted.
 *
 * gc.garbage: read through the gc module when the program imported it
 * (PyImport_GetModule: no import is run); its items by type, their bytes
 * from the shadow.
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

#define OB_REFCNT 0
#define OB_TYPE 8
#define TP_NAME 24
#define TP_FLAGS 168
#define TPF_MANAGED_WEAKREF (1ul << 3) /* 3.12+ */
#define TPF_MANAGED_DICT (1ul << 4)    /* 3.11+ */
#define TPF_HAVE_GC (1ul << 14)
#define GC_HEAD 16
#define PRE_HEADER 16 /* the managed dict and weakref words */

#define CENSUS_SLOTS (1u << 16) /* the types: half of them at most */
#define TYPE_NAME_MAX 256       /* bytes of a type's name kept */

static struct {
    int minor;                /* 3.minor */
    void *type_type;          /* &PyType_Type */
    void *object_type;        /* &PyBaseObject_Type */
    unsigned long preheader;  /* the flags that put a pre-header before a GC object */
    bool done;                /* the census was taken (once per process) */
    void *(*import)(const char *);
    void *(*get_attr)(void *, const char *);
    void *(*call1)(void *, ...);
    void *(*new_fn)(py_method_def *, void *, void *);
    void (*decref)(void *), (*incref)(void *), (*err_clear)(void);
    void *(*get_module)(void *);
    void *(*unicode)(const char *);
    ptrdiff_t (*list_size)(void *);
    void *(*list_item)(void *, ptrdiff_t);
    int (*gc_disable)(void), (*gc_enable)(void); /* 3.10+, else NULL */
    void *none;
} pc;

/* A type met in the census, and its objects. */
typedef struct census_slot {
    uintptr_t type;           /* 0: empty */
    unsigned long flags;      /* its tp_flags */
    uint64_t objects[2], bytes[2]; /* by list: live, gc.garbage */
} census_slot;

typedef struct census {
    census_slot slots[CENSUS_SLOTS]; /* every type (at most half full) */
    uintptr_t order[CENSUS_SLOTS / 2]; /* the types in the order found */
    size_t used;              /*   how many */
} census;

/* Where type t is in the table, or the empty slot where it would go. */
static census_slot *probe(census *c, uintptr_t t)
{
    size_t i = (t >> 4) * UINT64_C(0x9E3779B97F4A7C15) >> 48 & (CENSUS_SLOTS - 1);
    while (c->slots[i].type && c->slots[i].type != t)
        i = (i + 1) & (CENSUS_SLOTS - 1);
    return &c->slots[i];
}

/* The slot of type t; NULL when t is not a type of this interpreter. */
static census_slot *type_slot(census *c, uintptr_t t)
{
    census_slot *s = probe(c, t);
    return s->type ? s : NULL;
}

/* Add type t if new (and there is room). */
static void add_type(census *c, uintptr_t t)
{
    census_slot *s = probe(c, t);
    if (s->type || 2 * (c->used + 1) > CENSUS_SLOTS)
        return;
    *s = (census_slot){.type = t, .flags = *(const unsigned long *)(t + TP_FLAGS)};
    c->order[c->used++] = t;
}

/* Every type of the interpreter into the table, the GIL held: object,
   its subclasses (type.__subclasses__, a C function: static types are
   there once ready, heap types, metatypes under type), theirs, and so on.
   Only an object whose ob_type is one of them is counted, so a word of a
   block that is not an object is never taken for a type, nor read.  The
   lists made here are freed at once, so they do not add up to a
   collection; from 3.10 the collector is off meanwhile all the same (a
   collection's finalizers would run Python code, and its frees would go
   unrecorded: the shim is busy). */
static void find_types(census *c)
{
    int was_enabled = pc.gc_disable ? pc.gc_disable() : 0;
    void *subclasses = pc.get_attr(pc.type_type, "__subclasses__");
    add_type(c, (uintptr_t)pc.object_type);
    for (size_t i = 0; subclasses && i < c->used; i++) {
        void *list = pc.call1(subclasses, (void *)c->order[i], NULL);
        ptrdiff_t n = list ? pc.list_size(list) : 0;
        for (ptrdiff_t k = 0; k < n; k++)
            add_type(c, (uintptr_t)pc.list_item(list, k));
        pc.decref(list);
    }
    pc.decref(subclasses);
    pc.err_clear();
    if (was_enabled)
        pc.gc_enable();
}

/* Where a PyObject of a type with these flags starts in its block. */
static size_t object_offset(unsigned long flags)
{
    if (!(flags & TPF_HAVE_GC))
        return 0;
    return GC_HEAD + (flags & pc.preheader ? PRE_HEADER : 0);
}

/* The type slot of the live object in a block (size bytes), or NULL. */
static census_slot *block_object(census *c, uintptr_t block, uint64_t size)
{
    static const size_t at[] = {0, GC_HEAD, GC_HEAD + PRE_HEADER};
    for (size_t k = 0; k < sizeof at / sizeof *at; k++) {
        if (size < at[k] + OB_TYPE + sizeof(uintptr_t))
            break;
        const uintptr_t *o = (const uintptr_t *)(block + at[k]);
        census_slot *s = type_slot(c, o[OB_TYPE / 8]);
        if (s && object_offset(s->flags) == at[k])
            return (intptr_t)o[OB_REFCNT / 8] > 0 ? s : NULL;
    }
    return NULL;
}

static bool count_block(uintptr_t addr, uint32_t id, void *ctx)
{
    const alloc_info *info = &inf.tab[id - 1];
    if (info->type == python_obj_type) {
        census_slot *s = block_object(ctx, addr, info->size);
        if (s) {
            s->objects[RCC_PY_LIVE]++;
            s->bytes[RCC_PY_LIVE] += info->size;
        }
    }
    return true;
}

/* The block size of the object at o, from the shadow; 0 if not traced. */
static uint64_t object_bytes(uintptr_t o, unsigned long flags)
{
    uint32_t *slot = slot_of(o - object_offset(flags), false);
    uint32_t id = slot ? __atomic_load_n(slot, __ATOMIC_RELAXED) : 0;
    return id && id != PENDING ? inf.tab[id - 1].size : 0;
}

/* gc.garbage's items by type (the GIL held; the program imported gc). */
static void count_garbage(census *c)
{
    void *name = pc.unicode("gc");
    void *gc = name ? pc.get_module(name) : NULL;
    void *garbage = gc ? pc.get_attr(gc, "garbage") : NULL;
    ptrdiff_t n = garbage ? pc.list_size(garbage) : 0;
    for (ptrdiff_t i = 0; i < n; i++) {
        uintptr_t o = (uintptr_t)pc.list_item(garbage, i);
        census_slot *s = o ? type_slot(c, *(const uintptr_t *)(o + OB_TYPE)) : NULL;
        if (s) {
            s->objects[RCC_PY_GARBAGE]++;
            s->bytes[RCC_PY_GARBAGE] += object_bytes(o, s->flags);
        }
    }
    pc.decref(garbage);
    pc.decref(gc);
    pc.decref(name);
    pc.err_clear(); /* no gc module, or no garbage list: none */
}

/* With the lock held: an O record per type and list. */
static void write_census(const census *c)
{
    for (size_t i = 0; i < CENSUS_SLOTS; i++) {
        const census_slot *s = &c->slots[i];
        if (!s->type)
            continue;
        char name[TYPE_NAME_MAX];
        const char *tp_name = *(const char *const *)(s->type + TP_NAME);
        size_t len = tp_name ? strnlen(tp_name, sizeof name - 1) : 0;
        memcpy(name, tp_name ? tp_name : "", len);
        name[len] = 0;
        for (int list = RCC_PY_LIVE; list <= RCC_PY_GARBAGE; list++)
            if (s->objects[list])
                meta_write(&(rcc_event){.kind = RCC_PYOBJECTS, .status = list,
                                        .count = s->objects[list], .size = s->bytes[list],
                                        .text = name});
    }
}

/* The atexit callback: the census, once. */
static void *take_census(void *owner, void *arg)
{
    (void)owner, (void)arg;
    busy++; /* what the API calls here allocate is the shim's */
    if (!pc.done && atomic_load(&g.mode) == ACTIVE && python_obj_type && !g.sample_mean) {
        pc.done = true;
        census *c = pages_alloc(NULL, sizeof *c);
        if (c) {
            find_types(c);
            shadow_walk(count_block, c);
            count_garbage(c);
            int cancel;
            lock(&cancel);
            write_census(c);
            unlock(cancel);
            pages_free(NULL, c, sizeof *c);
        }
    }
    busy--;
    pc.incref(pc.none);
    return pc.none;
}

static py_method_def census_def = {"rcgc_census", take_census, METH_NOARGS, NULL};

/* The pending call: atexit.register(the census).  Recorded as the
   program's allocations (one function object; the atexit module where
   the program had not imported it). */
static int register_census(void *arg)
{
    (void)arg;
    void *atexit = pc.import("atexit");
    void *reg = atexit ? pc.get_attr(atexit, "register") : NULL;
    void *fn = reg ? pc.new_fn(&census_def, NULL, NULL) : NULL;
    void *r = fn ? pc.call1(reg, fn, NULL) : NULL;
    pc.decref(r);
    pc.decref(fn);
    pc.decref(reg);
    pc.decref(atexit);
    pc.err_clear();
    return 0;
}

/* At attach (python.c: the GIL held, the object domain wrapped): arrange
   the census for exit. */
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
        bool optional;
    } api[] = {
        {(void **)&pc.type_type, "PyType_Type", false},
        {(void **)&pc.object_type, "PyBaseObject_Type", false},
        {(void **)&pc.none, "_Py_NoneStruct", false},
        {(void **)&pending, "Py_AddPendingCall", false},
        {(void **)&pc.import, "PyImport_ImportModule", false},
        {(void **)&pc.get_attr, "PyObject_GetAttrString", false},
        {(void **)&pc.call1, "PyObject_CallFunctionObjArgs", false},
        {(void **)&pc.new_fn, "PyCFunction_NewEx", false},
        {(void **)&pc.decref, "Py_DecRef", false},
        {(void **)&pc.incref, "Py_IncRef", false},
        {(void **)&pc.err_clear, "PyErr_Clear", false},
        {(void **)&pc.get_module, "PyImport_GetModule", false},
        {(void **)&pc.unicode, "PyUnicode_FromString", false},
        {(void **)&pc.list_size, "PyList_Size", false},
        {(void **)&pc.list_item, "PyList_GetItem", false},
        {(void **)&pc.gc_disable, "PyGC_Disable", true}, /* 3.10+ */
        {(void **)&pc.gc_enable, "PyGC_Enable", true},
    };
    bool found = version >> 24 == 3 && pc.minor >= 8;
    for (size_t i = 0; i < sizeof api / sizeof *api; i++)
        found &= (*api[i].at = dlsym(RTLD_DEFAULT, api[i].name)) || api[i].optional;
    if (!pc.gc_enable)
        pc.gc_disable = NULL;
    if (found)
        pending(register_census, NULL);
}
