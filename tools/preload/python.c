/*
 * python.c — CPython in the recorded process: its frames in every stack
 * (file, function and line at the time of the allocation, where the
 * evaluation loop ran them) and its own allocators (pymalloc's mem and
 * object domains) recorded like malloc.  Nothing is installed into the
 * program: the interpreter's C API is found with dlsym(RTLD_DEFAULT) (it is
 * exported both when libpython is a shared library and when it is linked
 * into the executable with -export-dynamic, as Debian's is).
 *
 * The life of it (docs/PYTHON.md):
 *   - at the capture's start, Py_IsInitialized is looked up: absent, the
 *     process is not CPython and nothing here runs again (OFF);
 *   - WAITING: every allocation (PY_EAGER_TRIES, then every
 *     PY_ATTACH_EVERY-th) asks Py_IsInitialized() && PyGILState_Check();
 *     once both hold (this thread
 *     has the GIL, so no other thread runs Python code), attach: the
 *     version, the layout of its frames (a table per minor version for
 *     3.8-3.12, the interpreter's own _Py_DebugOffsets from 3.13; any other
 *     version: no Python frames, never a guess), the Y record, and the
 *     wrappers of the mem and obj domains (PyMem_SetAllocator, wrapping the
 *     allocators in place as tracemalloc does);
 *   - ON: at each allocation the thread reads its own chain of frames
 *     (PyGILState_GetThisThreadState: its own thread state, also while it
 *     runs C code with the GIL released), reads only, a PyCode_Type check
 *     per frame and a depth cap, and each run of Python frames replaces the
 *     native frame of _PyEval_EvalFrameDefault that ran it.  A Python frame
 *     is written as RCC_PYFRAME_BIT | K id, so hashing, the info caches and
 *     the S records treat it as any return address.  Frames are read while
 *     Py_IsInitialized() holds (finalization clears it before thread
 *     states are deleted).
 *
 * A K record (line, file, qualname) is made on the cold path: (code object,
 * instruction offset) -> K id is cached per thread (tstate's py cache,
 * checked against the code object's filename and name pointers, so a code
 * object freed and another made at its address is not taken for it), then
 * looked up or made under the global lock in a shared table; the line comes
 * from PyCode_Addr2Line (a read of the code object's line table, no
 * allocation), the strings are read in place (compact str objects, any
 * kind, encoded to UTF-8 here).  K records go to the meta writer like stack
 * nodes, so each is in the file before any S naming it.
 *
 * The domain wrappers record each block as malloc's are, with the type
 * name "PyObject_Malloc" or "PyMem_Malloc" (so a reader can tell them from
 * malloc's, and the leak scan knows an object's block: leakscan.c); what
 * the wrapped allocator does inside (malloc for blocks over 512 bytes, its
 * frees) runs busy, not recorded twice.
 */
#include "shim.h"

/* ---- The C API's pieces used here (Include/cpython/pymem.h; stable since 3.5) ---- */

typedef struct py_allocator {
    void *ctx;
    void *(*malloc)(void *ctx, size_t n);
    void *(*calloc)(void *ctx, size_t nelem, size_t elsize);
    void *(*realloc)(void *ctx, void *p, size_t n);
    void (*free)(void *ctx, void *p);
} py_allocator;

enum { PYMEM_DOMAIN_MEM = 1, PYMEM_DOMAIN_OBJ = 2 };

/* How a chain marks where one C call of the evaluation loop starts. */
enum {
    CHAIN_FRAME_OBJECT, /* 3.8-3.10: one frame object per call */
    CHAIN_IS_ENTRY,     /* 3.11: the call's first frame has is_entry set */
    CHAIN_CSTACK        /* 3.12+: a frame owned by the C stack (owner 3) follows it */
};
#define FRAME_OWNED_BY_CSTACK 3

/* Where things are in one minor version's structs (byte offsets). */
typedef struct py_layout {
    int minor;
    int chain;
    int ts_cframe;           /* thread state -> _PyCFrame (3.11, 3.12); -1: none */
    int current;             /* (cframe or thread state) -> innermost frame */
    int f_previous, f_code, f_instr;
    int f_flag;              /* is_entry (3.11), owner (3.12+); -1: none */
    int lasti_bytes;         /* f_instr is int f_lasti in units of this many
                                bytes (3.8-3.10); 0: a pointer into the code */
    int co_filename, co_name; /* co_name: the qualname from 3.11 */
    int co_code;             /* co_code_adaptive: where instructions start (3.11+) */
    int str_ascii, str_compact; /* sizeof PyASCIIObject, PyCompactUnicodeObject */
} py_layout;

/* Checked with offsetof against each version's headers (pyenv 3.8.18,
   3.9.18, 3.10.13, 3.11.7, 3.12.1; Debian's 3.11.2 the same as 3.11.7). */
static const py_layout layouts[] = {
    {8, CHAIN_FRAME_OBJECT, -1, 24, 24, 32, 104, -1, 1, 104, 112, 0, 48, 72},
    {9, CHAIN_FRAME_OBJECT, -1, 24, 24, 32, 104, -1, 1, 104, 112, 0, 48, 72},
    {10, CHAIN_FRAME_OBJECT, -1, 24, 24, 32, 96, -1, 2, 104, 112, 0, 48, 72},
    {11, CHAIN_IS_ENTRY, 56, 8, 48, 32, 56, 68, 0, 112, 128, 184, 48, 72},
    {12, CHAIN_CSTACK, 56, 0, 8, 0, 56, 70, 0, 112, 128, 192, 40, 56},
};

/* 3.13's _Py_DebugOffsets (the first field of _PyRuntime): where its
   fields sit in it (Include/internal/pycore_runtime.h of 3.13; the struct
   changes with each minor version). */
#define DEBUG_COOKIE "xdebugpy"
enum {
    D13_VERSION = 8, D13_FREE_THREADED = 16, D13_CURRENT_FRAME = 184, D13_PREVIOUS = 232,
    D13_EXECUTABLE = 240, D13_INSTR_PTR = 248, D13_OWNER = 264, D13_FILENAME = 280,
    D13_QUALNAME = 296, D13_CODE_ADAPTIVE = 344, D13_ASCII_SIZE = 560
};

/* The unicode object's state bits (the same 3.8-3.13). */
#define STR_STATE 32
#define STR_LENGTH 16
#define STR_KIND(s) ((s) >> 2 & 7)
#define STR_COMPACT (1u << 5)
#define STR_ASCII (1u << 6)

#define OB_TYPE 8 /* PyObject's ob_type */

int python_mode; /* PY_OFF, PY_WAITING, PY_ON (atomic) */

static struct {
    bool frames;             /* the layout is known: Python frames are read */
    bool allocators;         /* the domains' wrappers are installed */
    uint32_t version;        /* PY_VERSION_HEX style */
    py_layout L;
    int (*initialized)(void);
    int (*gil_check)(void);
    void *(*this_tstate)(void);
    int (*addr2line)(void *code, int offset);
    const void *code_type, *str_type;
    uintptr_t eval_lo, eval_size; /* _PyEval_EvalFrameDefault */
    py_allocator mem, obj;   /* the domains' allocators we wrap */
    /* the shared (code, offset) -> K table, under the lock */
    struct code_slot {
        uintptr_t code, file, name;
        int32_t off;
        uint32_t id;
    } *codes;
    struct triple_slot {
        uint64_t hash;       /* of (line, file, name) */
        uint32_t id;         /* 0: empty */
    } *triples;
    uint32_t ncodes, nk;
} py;

/* Attach is tried at every allocation until the interpreter is up: a
   python3 -S run makes only a few mallocs after start-up (the rest go to
   pymalloc, not wrapped yet), and at every 64th it could end unattached.
   A program that carries libpython but never starts it asks at every
   64th after the first PY_EAGER_TRIES. */
#define PY_EAGER_TRIES (1u << 16)
#define PY_ATTACH_EVERY 64
#define PY_CODES (1u << 20)  /* (code, offset) pairs kept; half used at most */
#define PY_TRIPLES (1u << 20) /* K records: at most half */

static const char obj_type_name[] = "PyObject_Malloc", mem_type_name[] = "PyMem_Malloc";
uint32_t python_obj_type; /* its type id in this capture (0: none yet) */

/* ---- Detection and attach ----------------------------------------------------------- */

/* A function of the C API, or NULL (ISO C has no cast from dlsym's void *). */
#define API(fn, name) (*(void **)&(fn) = dlsym(RTLD_DEFAULT, name))

/* Is this CPython?  Only looks the API up (the interpreter is not running
   yet). */
static void detect(void)
{
    const char *v = env_get("RCGC_PYTHON");
    if (v && strcmp(v, "off") == 0)
        return;
    API(py.initialized, "Py_IsInitialized");
    API(py.gil_check, "PyGILState_Check");
    API(py.this_tstate, "PyGILState_GetThisThreadState");
    if (py.initialized && py.gil_check && py.this_tstate)
        __atomic_store_n(&python_mode, PY_WAITING, __ATOMIC_RELAXED);
}

/* The version as PY_VERSION_HEX: Py_Version (3.11+), else Py_GetVersion's
   "3.X.Y ..." (a final release assumed). */
static uint32_t py_version(void)
{
    const uint32_t *hex = dlsym(RTLD_DEFAULT, "Py_Version");
    if (hex)
        return *hex;
    const char *(*get)(void);
    API(get, "Py_GetVersion");
    unsigned maj = 0, min = 0, micro = 0;
    if (!get || sscanf(get(), "%u.%u.%u", &maj, &min, &micro) < 2)
        return 0;
    return maj << 24 | min << 16 | (micro & 0xff) << 8 | 0xf0;
}

/* 3.13's layout from the running interpreter's _Py_DebugOffsets. */
static bool layout_from_runtime(uint32_t version)
{
    const uint8_t *rt = dlsym(RTLD_DEFAULT, "_PyRuntime");
    if (!rt || memcmp(rt, DEBUG_COOKIE, 8) != 0)
        return false;
    uint64_t d[D13_ASCII_SIZE / 8 + 1];
    memcpy(d, rt, sizeof d);
#define D(at) ((int)d[(at) / 8])
    if (d[D13_VERSION / 8] >> 16 != version >> 16 || d[D13_FREE_THREADED / 8])
        return false;
    py.L = (py_layout){13, CHAIN_CSTACK, -1, D(D13_CURRENT_FRAME), D(D13_PREVIOUS),
                       D(D13_EXECUTABLE), D(D13_INSTR_PTR), D(D13_OWNER), 0, D(D13_FILENAME),
                       D(D13_QUALNAME), D(D13_CODE_ADAPTIVE), D(D13_ASCII_SIZE),
                       D(D13_ASCII_SIZE) + 16 /* utf8_length, utf8 */};
#undef D
    return true;
}

static bool find_layout(uint32_t version)
{
    if (version >> 24 != 3)
        return false;
    int minor = version >> 16 & 0xff;
    if (minor == 13)
        return layout_from_runtime(version);
    for (size_t i = 0; i < sizeof layouts / sizeof *layouts; i++)
        if (layouts[i].minor == minor) {
            py.L = layouts[i];
            return true;
        }
    return false;
}

static void install_allocators(void);

/* The types and the Y record of this capture (the lock held). */
static void announce(void)
{
    meta_write(&(rcc_event){.kind = RCC_PYTHON, .count = py.version});
    python_obj_type = py.allocators ? type_intern(obj_type_name) : 0;
}

/* This thread holds the GIL of an initialized interpreter: take it on. */
static NOINLINE void attach_python(void)
{
    py.version = py_version();
    void *eval = dlsym(RTLD_DEFAULT, "_PyEval_EvalFrameDefault");
    Dl_info info;
    const ElfW(Sym) *sym = NULL;
    API(py.addr2line, "PyCode_Addr2Line");
    py.code_type = dlsym(RTLD_DEFAULT, "PyCode_Type");
    py.str_type = dlsym(RTLD_DEFAULT, "PyUnicode_Type");
    py.frames = find_layout(py.version) && eval && py.addr2line && py.code_type &&
                py.str_type &&
                dladdr1(eval, &info, (void **)&sym, RTLD_DL_SYMENT) && sym && sym->st_size;
    if (py.frames) {
        py.eval_lo = (uintptr_t)eval;
        py.eval_size = sym->st_size;
    } else {
        static const char msg[] = "rcgc preload: this CPython's frames cannot be read "
                                  "(version not known to rcgc): native stacks only\n";
        ssize_t rc = write(2, msg, sizeof msg - 1);
        (void)rc;
    }
    const char *v = env_get("RCGC_PYTHON");
    if (!v || strcmp(v, "frames") != 0)
        install_allocators();
    python_census_arm(py.version);
    int cancel;
    lock(&cancel);
    announce();
    unlock(cancel);
    __atomic_store_n(&python_mode, PY_ON, __ATOMIC_RELEASE);
}

NOINLINE void python_try_attach(void)
{
    static _Atomic unsigned tries; /* the process's: one thread attaches */
    unsigned n = ++tries;
    if (n > PY_EAGER_TRIES && n % PY_ATTACH_EVERY)
        return;
    busy++;
    static int once; /* one thread attaches; the GIL makes it the only one here */
    if (py.initialized() && py.gil_check() && !__atomic_exchange_n(&once, 1, __ATOMIC_ACQ_REL))
        attach_python();
    busy--;
}

/* A capture starts (open_capture, busy, only this thread running): the
   first one looks for CPython; a fork child's new capture restates what
   the parent knew, its tables empty. */
void python_capture_start(void)
{
    py.codes = NULL; /* a fork child's: dropped, not freed */
    py.triples = NULL;
    py.ncodes = py.nk = 0;
    python_obj_type = 0;
    if (!py.initialized)
        detect();
    else if (__atomic_load_n(&python_mode, __ATOMIC_ACQUIRE) == PY_ON) {
        int cancel;
        lock(&cancel);
        announce();
        unlock(cancel);
    }
}

/* ---- Reading strings ---------------------------------------------------------------- */

/* A str object's text as UTF-8 into out (cap bytes with the NUL); "?" when
   it is not a compact str. */
static void read_str(const char *s, char *out, size_t cap)
{
    size_t o = 0;
    if (s && *(const void *const *)(s + OB_TYPE) == py.str_type) {
        uint32_t state = *(const uint32_t *)(s + STR_STATE);
        size_t len = *(const size_t *)(s + STR_LENGTH);
        if ((state & STR_COMPACT) && (state & STR_ASCII)) {
            o = len < cap - 1 ? len : cap - 1;
            memcpy(out, s + py.L.str_ascii, o);
        } else if (state & STR_COMPACT) {
            int kind = STR_KIND(state);
            const char *data = s + py.L.str_compact;
            for (size_t i = 0; i < len && (kind == 1 || kind == 2 || kind == 4); i++) {
                uint32_t c = kind == 1   ? ((const uint8_t *)data)[i]
                             : kind == 2 ? ((const uint16_t *)data)[i]
                                         : ((const uint32_t *)data)[i];
                char b[4];
                size_t n = c < 0x80 ? (b[0] = (char)c, 1)
                           : c < 0x800
                               ? (b[0] = (char)(0xC0 | c >> 6), b[1] = (char)(0x80 | (c & 63)), 2)
                           : c < 0x10000 ? (b[0] = (char)(0xE0 | c >> 12),
                                            b[1] = (char)(0x80 | (c >> 6 & 63)),
                                            b[2] = (char)(0x80 | (c & 63)), 3)
                                         : (b[0] = (char)(0xF0 | (c >> 18 & 7)),
                                            b[1] = (char)(0x80 | (c >> 12 & 63)),
                                            b[2] = (char)(0x80 | (c >> 6 & 63)),
                                            b[3] = (char)(0x80 | (c & 63)), 4);
                if (o + n >= cap)
                    break;
                memcpy(out + o, b, n);
                o += n;
            }
        }
    }
    if (!o)
        out[o++] = '?';
    out[o] = 0;
}

/* ---- K records: (code object, offset) -> id ----------------------------------------- */

static uint64_t mix(uint64_t h)
{
    h *= UINT64_C(0xFF51AFD7ED558CCD);
    return h ^ (h >> 32);
}

/* The slot hash of a code location (the caches below take its low bits).
   The offset goes in at bit 32, where the multiply carries it into the
   bits the xor brings down: at bit 48 it reached none of the low ten, so
   every offset of a code object shared one slot of a thread's cache, and
   a loop's three allocation sites evicted each other on every event. */
static uint64_t code_hash(uintptr_t code, int32_t off)
{
    return mix(code ^ (uint64_t)(uint32_t)off << 32);
}

static uint64_t text_hash(uint64_t h, const char *s)
{
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * UINT64_C(0x100000001B3);
    return h;
}

/* With the lock held: the id of (line, file, name), its K written if new;
   0 when the table is full.  Two triples with the same 64-bit hash would
   share an id (as two stacks with the same hash share a node). */
static uint32_t triple_id(uint64_t line, const char *file, const char *name)
{
    uint64_t h = mix(text_hash(text_hash(UINT64_C(0xCBF29CE484222325) ^ line, file), name) ^ line);
    size_t i = h & (PY_TRIPLES - 1);
    for (; py.triples[i].id; i = (i + 1) & (PY_TRIPLES - 1))
        if (py.triples[i].hash == h)
            return py.triples[i].id;
    if (2 * (py.nk + 1) > PY_TRIPLES)
        return 0;
    py.triples[i] = (struct triple_slot){h, ++py.nk};
    meta_write(&(rcc_event){.kind = RCC_PYCODE, .id = py.nk, .line = line, .text = file,
                            .name = name});
    return py.nk;
}

static void *map_table(size_t bytes)
{
    void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                   -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

/* A thread's cache missed: the K id of this code location, from the shared
   table or made now (the lock taken); 0 when out of room. */
static NOINLINE uint32_t code_intern(uintptr_t code, int32_t off, uintptr_t file, uintptr_t name)
{
    int cancel;
    lock(&cancel);
    uint32_t id = 0;
    if (!py.codes) {
        py.codes = map_table(PY_CODES * sizeof *py.codes);
        py.triples = map_table(PY_TRIPLES * sizeof *py.triples);
    }
    if (!py.codes || !py.triples)
        goto out;
    struct code_slot *s = NULL;
    for (size_t i = code_hash(code, off) & (PY_CODES - 1);;
         i = (i + 1) & (PY_CODES - 1)) {
        s = &py.codes[i];
        if (!s->id || (s->code == code && s->off == off && s->file == file && s->name == name))
            break;
    }
    if (s->id) {
        id = s->id;
        goto out;
    }
    if (2 * (py.ncodes + 1) > PY_CODES)
        goto out;
    char file_text[RCC_MAX_STRING + 1], name_text[512];
    read_str((const char *)file, file_text, sizeof file_text);
    read_str((const char *)name, name_text, sizeof name_text);
    int line = py.addr2line((void *)code, off);
    id = triple_id(line > 0 ? (uint64_t)line : 0, file_text, name_text);
    if (id) {
        *s = (struct code_slot){code, file, name, off, id};
        py.ncodes++;
    }
out:
    unlock(cancel);
    return id;
}

/* ---- Reading the thread's frames ------------------------------------------------------ */

typedef struct py_frame {
    uintptr_t code;
    int32_t off;             /* bytes into the code's instructions */
    bool last;               /* the outermost frame of one C call of the loop */
} py_frame;

#define AT(p, off, T) (*(T const *)((const char *)(p) + (off)))

/* The calling thread's Python frames, innermost first: reads only. */
static size_t read_frames(py_frame *out, size_t cap)
{
    const py_layout *L = &py.L;
    const char *ts = py.this_tstate();
    if (!ts)
        return 0;
    if (L->ts_cframe >= 0 && !(ts = AT(ts, L->ts_cframe, char *)))
        return 0;
    size_t n = 0;
    for (const char *f = AT(ts, L->current, char *); f && n < cap;
         f = AT(f, L->f_previous, char *)) {
        if (L->chain == CHAIN_CSTACK && AT(f, L->f_flag, uint8_t) == FRAME_OWNED_BY_CSTACK) {
            if (n)
                out[n - 1].last = true;
            continue;
        }
        const char *code = AT(f, L->f_code, char *);
        if (!code || AT(code, OB_TYPE, void *) != py.code_type)
            break; /* not a frame as this layout has it: stop here */
        int32_t off = L->lasti_bytes
                          ? AT(f, L->f_instr, int) * L->lasti_bytes
                          : (int32_t)(AT(f, L->f_instr, char *) - (code + L->co_code));
        out[n++] = (py_frame){(uintptr_t)code, off,
                              L->chain == CHAIN_FRAME_OBJECT ||
                                  (L->chain == CHAIN_IS_ENTRY && AT(f, L->f_flag, uint8_t))};
    }
    if (n)
        out[n - 1].last = true;
    return n;
}

/* The frame word of a Python frame: RCC_PYFRAME_BIT | K id; NULL when out of
   room.  The thread's cache is made here, not with its state: a process
   that is not Python keeps the shim's memory as it was. */
static inline void *code_frame(tstate *t, const py_frame *f)
{
    const char *code = (const char *)f->code;
    uintptr_t file = AT(code, py.L.co_filename, uintptr_t), name = AT(code, py.L.co_name, uintptr_t);
    if (UNLIKELY(!t->py) && !(t->py = pages_alloc(NULL, PY_CODE_CACHE * sizeof *t->py)))
        return NULL;
    struct py_code_slot *c =
        &t->py[code_hash(f->code, f->off) & (PY_CODE_CACHE - 1)];
    if (!(c->id && c->code == f->code && c->off == f->off && c->file == file && c->name == name)) {
        uint32_t id = code_intern(f->code, f->off, file, name);
        if (!id)
            return NULL;
        *c = (struct py_code_slot){f->code, file, name, f->off, id};
    }
    return (void *)(uintptr_t)(RCC_PYFRAME_BIT | c->id);
}

static bool in_eval(const void *ip)
{
    return (uintptr_t)ip - 1 - py.eval_lo < py.eval_size;
}

/* The allocation's stack with its Python frames: the native frames,
   innermost first, each of them in _PyEval_EvalFrameDefault replaced by
   the Python frames it was running; Python frames left when the native
   ones end (a walk cut short) go at the outer end.
 *
 * The stack is made in two parts.  The inner one: the native frames inward
 * of the first frame of the loop and the Python frames that loop runs, in
 * its place.  The outer one, everything outward of that frame, is a
 * function of the native frames there and of the Python frames of the
 * loops that called it (their code objects and offsets): the thread keeps
 * the last one joined (tstate's pyo) with its hash, and an event whose
 * outer frames are the same takes it as it is.  The native walk stops at
 * the loop's frame too (rct_capture_cfi_split): outward of it, the frames
 * the last walk read are checked, not walked, and when they are the same
 * nothing of them is compared again here.  Consecutive events of a Python
 * program mostly differ in their inner part only (callgrind on debpy:
 * the walk's junction and check, the splice and the hash of the outer part
 * were about 650 instructions of every event).  The stack's hash goes on
 * from the outer part's (hash_frames_on): the hash of a Python stack is not
 * hash_frames of its frames; the caches only need the same stack to give
 * the same hash. */

/* The K word of out[o] for each Python frame of f[0, n), those out of
   room left out; the frames written.  *dropped: some were. */
static size_t put_python(tstate *t, const py_frame *f, size_t n, void **out, size_t room,
                         bool *dropped)
{
    size_t o = 0;
    for (size_t p = 0; p < n && o < room; p++) {
        void *k = code_frame(t, &f[p]);
        if (k)
            out[o++] = k;
        else
            *dropped = true;
    }
    return o;
}

/* The outer part joined: the native frames n[0, nn) outward of the first
   loop's, each further frame of the loop replaced by its run of the Python
   frames q[0, nq), the rest of them at the end; at most room frames to
   out.  The frames written; *whole: every frame is there (none out of room,
   nothing cut at room). */
static size_t join_outer(tstate *t, void *const *n, size_t nn, const py_frame *q, size_t nq,
                         void **out, size_t room, bool *whole)
{
    bool dropped = false;
    size_t o = 0, p = 0, i = 0;
    for (; i <= nn && p < nq && o < room; i++) {
        if (i < nn && !in_eval(n[i])) {
            out[o++] = n[i];
            continue;
        }
        size_t end = p; /* this loop's run: to its last frame, or all that are left */
        while (end < nq && !(i < nn && q[end].last))
            end++;
        end = end < nq ? end + 1 : nq;
        o += put_python(t, q + p, end - p, out + o, room - o, &dropped);
        p = end;
    }
    size_t rest = i < nn ? nn - i : 0; /* every Python frame placed */
    if (rest > room - o)
        rest = room - o;
    memcpy(out + o, n + i, rest * sizeof *out);
    o += rest;
    *whole = !dropped && o < room;
    return o;
}

/* The outer part is the thread's last (m): the same native frames n[0,
   nn) (known so when the split walk kept them since they were compared:
   split) and the same Python frames (as code_frame's cache tells them). */
static bool outer_same(struct py_outer *m, bool split, void *const *n, size_t nn,
                       const py_frame *q, size_t nq)
{
    if (m->seed != atomic_load_explicit(&frame_seed, memory_order_relaxed) ||
        m->nnative != nn || m->npy != nq)
        return false;
    if (!split || m->walk_gen != m->walk.gen) {
        for (size_t i = 0; i < nn; i++)
            if (m->native[i] != n[i])
                return false;
        if (split)
            m->walk_gen = m->walk.gen;
    }
    for (size_t i = 0; i < nq; i++) {
        const struct py_outer_frame *f = &m->pyf[i];
        const char *code = (const char *)q[i].code;
        if (f->code != q[i].code || f->off != q[i].off || f->last != q[i].last ||
            f->file != AT(code, py.L.co_filename, uintptr_t) ||
            f->name != AT(code, py.L.co_name, uintptr_t))
            return false;
    }
    return true;
}

/* Keep the outer part just joined (out[0, o)) as the thread's last. */
static void keep_outer(struct py_outer *m, bool split, void *const *n, size_t nn,
                       const py_frame *q, size_t nq, void *const *out, size_t o, uint64_t hash)
{
    m->walk_gen = split ? m->walk.gen : m->walk.gen - 1; /* n: the walk's frames, or not */
    m->nnative = (uint32_t)nn;
    m->npy = (uint32_t)nq;
    m->njoined = (uint32_t)o;
    m->seed = atomic_load_explicit(&frame_seed, memory_order_relaxed);
    m->hash = hash;
    memcpy(m->native, n, nn * sizeof *n);
    for (size_t i = 0; i < nq; i++) {
        const char *code = (const char *)q[i].code;
        m->pyf[i] = (struct py_outer_frame){q[i].code, AT(code, py.L.co_filename, uintptr_t),
                                            AT(code, py.L.co_name, uintptr_t), q[i].off,
                                            q[i].last};
    }
    memcpy(m->joined, out, o * sizeof *out);
}

/* The Python frames pf[0, m) joined into the native frames[0, depth);
   split: the frames through the first frame of the loop when the split
   walk found it (0: look for it; else the frames outward of it are the
   split walk's, tstate's pyo.walk.pc).  The new depth; *hash: the stack's hash
   for the caches. */
static size_t join_frames(tstate *t, const py_frame *pf, size_t m, void **frames, size_t depth,
                          size_t split, uint64_t *hash)
{
    size_t first = split ? split - 1 : 0;
    while (first < depth && !in_eval(frames[first]))
        first++;
    bool dropped = false;
    if (first == depth) { /* no loop in the native frames: Python's at the end */
        depth += put_python(t, pf, m, frames + depth, RCC_MAX_DEPTH - depth, &dropped);
        *hash = hash_frames(frames, depth);
        return depth;
    }
    size_t run = 0; /* the first loop's Python frames: pf[0, run) */
    while (run < m && !pf[run++].last)
        ;
    struct py_outer *memo = &t->pyo;
    void *const *n = split ? memo->walk.pc : frames + first + 1; /* (the split walk's are
                                                                    kept there) */
    size_t nn = depth - first - 1, nq = m - run;
    if (outer_same(memo, split, n, nn, pf + run, nq) &&
        first + run + memo->njoined <= RCC_MAX_DEPTH) { /* (the native frames are
                                                           not needed now) */
        size_t o = first + put_python(t, pf, run, frames + first, run, &dropped);
        memcpy(frames + o, memo->joined, memo->njoined * sizeof *frames);
        *hash = hash_frames_on(memo->hash ^ o, frames, o);
        return o + memo->njoined;
    }
    void *inner[PY_MAX_FRAMES];
    size_t in = put_python(t, pf, run, inner,
                           RCC_MAX_DEPTH - first < PY_MAX_FRAMES ? RCC_MAX_DEPTH - first
                                                                 : PY_MAX_FRAMES,
                           &dropped);
    size_t o = first + in;
    void *outer[RCC_MAX_DEPTH];
    bool whole;
    size_t no = join_outer(t, n, nn, pf + run, nq, outer, RCC_MAX_DEPTH - o, &whole);
    uint64_t h = hash_frames(outer, no);
    if (whole)
        keep_outer(memo, split, n, nn, pf + run, nq, outer, no, h);
    memcpy(frames + first, inner, in * sizeof *inner);
    memcpy(frames + o, outer, no * sizeof *outer);
    *hash = hash_frames_on(h ^ o, frames, o);
    return o + no;
}

/* From on_alloc_at in a CPython process (python_on()), in place of its
   walk: the allocation's stack, with its Python frames once attached, and
   its hash.  The walk skips this frame too.  A thread without Python
   frames (one that never ran Python code) walks as any program does. */
NOINLINE size_t python_stack(tslot *s, tstate *t, void **frames, uint64_t *hash)
{
    int mode = __atomic_load_n(&python_mode, __ATOMIC_ACQUIRE);
    py_frame pf[PY_MAX_FRAMES];
    size_t m = mode == PY_ON && py.frames && py.initialized() ? read_frames(pf, PY_MAX_FRAMES) : 0;
    size_t depth, split = 0;
    if (m && g.capture == rct_capture_cfi)
        depth = rct_capture_cfi_split(&t->walker, frames, g.frames, 3, py.eval_lo, py.eval_size,
                                      &t->pyo.walk, &split);
    else
        depth = walk_stack(s, t, frames, 3);
    if (m)
        return join_frames(t, pf, m, frames, depth, split, hash);
    *hash = depth ? hash_frames(frames, depth) : 0;
    return depth;
}

/* ---- The domains' wrappers ------------------------------------------------------------ */

/* What the wrapped allocator does runs busy: its malloc and free calls are
   its own, not the program's (the domain call is recorded here).  The
   thread's slot is found once per call and passed on, as the malloc
   family's hooks do (callgrind on debpy: each lookup is about a dozen
   instructions, and the wrappers made four or six of them an event). */
static inline __attribute__((always_inline)) void *w_malloc(void *ctx, size_t n,
                                                             const char *type)
{
    const py_allocator *a = ctx;
    tslot *s = my_slot();
    s->busy_depth++;
    void *p = a->malloc(a->ctx, n);
    s->busy_depth--;
    if (p && recording_at(s))
        on_alloc_at(s, p, n, type);
    return p;
}

static inline __attribute__((always_inline)) void *w_calloc(void *ctx, size_t nelem,
                                                             size_t elsize, const char *type)
{
    const py_allocator *a = ctx;
    tslot *s = my_slot();
    s->busy_depth++;
    void *p = a->calloc(a->ctx, nelem, elsize);
    s->busy_depth--;
    if (p && recording_at(s))
        on_alloc_at(s, p, nelem * elsize, type); /* (the allocator checked the product) */
    return p;
}

static inline __attribute__((always_inline)) void *w_realloc(void *ctx, void *p, size_t n,
                                                              const char *type)
{
    const py_allocator *a = ctx;
    tslot *s = my_slot();
    bool tracing = p && tracing_frees_at(s);
    guard_enter_at(s); /* from taking the block out of the shadow to its F record */
    uint64_t old = tracing ? on_release(p) : 0;
    s->busy_depth++;
    void *q = a->realloc(a->ctx, p, n);
    s->busy_depth--;
    if (!q) {
        if (old)
            shadow_put((uintptr_t)p, old);
        guard_leave_at(s);
        return NULL;
    }
    if (old)
        on_free_at(s, p, old);
    guard_leave_at(s);
    if (recording_at(s))
        on_alloc_at(s, q, n, type);
    return q;
}

static void w_free(void *ctx, void *p)
{
    const py_allocator *a = ctx;
    tslot *s = my_slot();
    bool tracing = p && tracing_frees_at(s);
    guard_enter_at(s);
    uint64_t id = tracing ? on_release(p) : 0;
    s->busy_depth++;
    a->free(a->ctx, p);
    s->busy_depth--;
    if (id)
        on_free_at(s, p, id);
    else if (tracing && s->state)
        s->state->last_alloc = 0; /* an untraced block: still a free in between */
    guard_leave_at(s);
}

/* One set per domain, each frame skipped by the walk as malloc's is. */
static NOINLINE void *obj_malloc(void *ctx, size_t n)
{
    return w_malloc(ctx, n, obj_type_name);
}
static NOINLINE void *obj_calloc(void *ctx, size_t k, size_t n)
{
    return w_calloc(ctx, k, n, obj_type_name);
}
static NOINLINE void *obj_realloc(void *ctx, void *p, size_t n)
{
    return w_realloc(ctx, p, n, obj_type_name);
}
static NOINLINE void *mem_malloc(void *ctx, size_t n)
{
    return w_malloc(ctx, n, mem_type_name);
}
static NOINLINE void *mem_calloc(void *ctx, size_t k, size_t n)
{
    return w_calloc(ctx, k, n, mem_type_name);
}
static NOINLINE void *mem_realloc(void *ctx, void *p, size_t n)
{
    return w_realloc(ctx, p, n, mem_type_name);
}

/* With the GIL held, the interpreter initialized: wrap the mem and object
   domains (the C API's rule for a late hook: wrap what is there). */
static void install_allocators(void)
{
    void (*get)(int, py_allocator *), (*set)(int, py_allocator *);
    API(get, "PyMem_GetAllocator");
    API(set, "PyMem_SetAllocator");
    if (!get || !set)
        return;
    get(PYMEM_DOMAIN_MEM, &py.mem);
    get(PYMEM_DOMAIN_OBJ, &py.obj);
    py.allocators = true;
    set(PYMEM_DOMAIN_MEM, &(py_allocator){&py.mem, mem_malloc, mem_calloc, mem_realloc, w_free});
    set(PYMEM_DOMAIN_OBJ, &(py_allocator){&py.obj, obj_malloc, obj_calloc, obj_realloc, w_free});
}

/* For the leak scan: the shared tables hold code objects' addresses, not
   references. */
void python_tables(range *codes, range *triples)
{
    *codes = (range){(uintptr_t)py.codes, (uintptr_t)(py.codes ? py.codes + PY_CODES : NULL)};
    *triples = (range){(uintptr_t)py.triples,
                       (uintptr_t)(py.triples ? py.triples + PY_TRIPLES : NULL)};
}
