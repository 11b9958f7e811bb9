/*
 * test_misuse.c — what debug mode catches and what every failing call
 * records: the quarantine of freed objects, accessors that check their
 * type, rc_last_error after each constructor that fails (a sweep over
 * every page request), and, one per process, the misuse reports CTest
 * matches (PASS_REGULAR_EXPRESSION).
 *
 *   test_misuse            the checks
 *   test_misuse <misuse>   one misuse scenario; CTest matches its message
 */
#define _DEFAULT_SOURCE /* MAP_ANONYMOUS */
#include "check.h"

#include <math.h>
#include <stdbool.h>
#include <sys/mman.h>

typedef struct widget {
    uint64_t a, b, c;
} widget;
static const rc_type widget_type = {.name = "widget", .size = sizeof(widget)};
static const rc_type blob_type = {.name = "blob", .size = 0};

#define FREED_COUNT 0xDEADF00Du /* a freed object's count on a debug heap */

/* A debug heap holds freed objects back, stamped freed; an ordinary heap
   hands the slot to the next object at once (what makes a stray decref
   hit the wrong object). */
static void test_quarantine(void)
{
    rc_heap *h = test_heap(HEAP_QUIET);
    void *w = rc_new(h, &widget_type);
    rc_decref(w);
    void *again = rc_new(h, &widget_type);
    CHECK(again == w);
    rc_decref(again);
    rc_heap_free(h);

    h = test_heap(HEAP_QUIET | HEAP_DEBUG);
    rc_decref(rc_new(h, &widget_type)); /* the type's pool exists from here */
    size_t base = heap_live_blocks(h);
    w = rc_new(h, &widget_type);
    rc_decref(w);
    CHECK(rc_refcount(w) == FREED_COUNT);
    CHECK(heap_live_blocks(h) == base); /* held blocks are not live ones */
    void *held[5000];
    for (size_t i = 0; i < 5000; i++) {
        held[i] = rc_new(h, &widget_type);
        CHECK(held[i] && held[i] != w);
        rc_decref(held[i]);
        CHECK(i % 1000 || rc_heap_validate(h) == 0);
    }
    CHECK(heap_live_blocks(h) == base);
    rc_heap_trim(h); /* empties the quarantine, checking each block */
    CHECK_VALID(h);
    CHECK(heap_live_blocks(h) == base);
    rc_heap_free(h);
}

/* Without debug mode an accessor given the wrong type records RC_ETYPE
   and returns its documented value. */
static void test_accessors(void)
{
    rc_heap *h = test_heap(0);
    void *l = rc_list(h), *i = rc_int(h, 5000), *f = rc_float(h, 2.5);
    CHECK(rc_int_value(i) == 5000 && rc_float_value(f) == 2.5);
    CHECK(rc_last_error(h) == RC_OK);
    CHECK(rc_int_value(l) == 0 && rc_last_error(h) == RC_ETYPE);
    rc_clear_error(h);
    CHECK(isnan(rc_float_value(i)) && rc_last_error(h) == RC_ETYPE);
    rc_clear_error(h);
    CHECK(rc_str_data(f, NULL) == NULL && rc_last_error(h) == RC_ETYPE);
    rc_clear_error(h);
    CHECK(strcmp(rc_error_name(RC_EFOREIGN), "RC_EFOREIGN") == 0);
    rc_decref(l);
    rc_decref(i);
    rc_decref(f);
    rc_heap_free(h);
}

/* ---- rc_last_error after every failing constructor -----------------------------
 * For each call: a fresh heap, the objects the call needs, then the heap
 * is exhausted (its page source refuses everything and every free page is
 * taken), so the call needs memory it cannot get.  It must fail with
 * RC_ENOMEM recorded, and the heap must stay valid. */

static int refuse_pages; /* nonzero: the page source refuses */

static void *refusing_alloc(void *ctx, size_t size, size_t align)
{
    return refuse_pages ? NULL : rc_page_mmap_alloc(ctx, size, align);
}

/* Take every free page: page runs while they fit, then 16-byte blocks
   (one-page pools) until no page is left, then the room left in the pools
   of every other raw class (the type records' bins share them). */
static void exhaust(rc_heap *h)
{
    refuse_pages = 1;
    while (rc_mem_alloc(h, 20000))
        ;
    while (rc_mem_alloc(h, 16))
        ;
    rc_alloc_stats s;
    rc_alloc_stats_get(h, &s);
    for (int c = RC_SIZE_CLASSES; c-- > 0;)
        while (rc_mem_alloc(h, s.classes[c].block_size))
            ;
    rc_clear_error(h);
}

enum { C_NEW, C_NEW_VAR, C_WEAKREF, C_MEM_ALLOC, C_MEM_HUGE, C_CALLOC, C_REALLOC,
       C_INT, C_FLOAT, C_STR, C_BYTES, C_TUPLE, C_LIST, C_APPEND, C_DICT, C_DICT_SET,
       C_WEAKCACHE, C_CACHE_PUT, C_ACYCLIC, C_TRACE_START, C_TIMELINE, C_COUNT };
static const char *const call_names[C_COUNT] = {
    "rc_new", "rc_new_var", "rc_weakref_new", "rc_mem_alloc", "rc_mem_alloc (huge)",
    "rc_mem_calloc", "rc_mem_realloc", "rc_int", "rc_float", "rc_str", "rc_bytes",
    "rc_tuple", "rc_list", "rc_list_append", "rc_dict", "rc_dict_set",
    "rc_weakcache_new", "rc_weakcache_put", "rc_type_acyclic", "rc_trace_start",
    "rc_timeline_sample"};

/* Make what call needs in objs (before the heap is exhausted). */
static void prepare(rc_heap *h, int call, void **objs)
{
    if (call == C_WEAKREF || call == C_CACHE_PUT)
        objs[0] = rc_new(h, &widget_type);
    if (call == C_REALLOC)
        objs[0] = rc_mem_alloc(h, 100);
    if (call == C_TUPLE || call == C_DICT_SET || call == C_APPEND)
        objs[0] = rc_int(h, 5000);
    if (call == C_TUPLE || call == C_DICT_SET)
        objs[1] = rc_str(h, "key", 3);
    if (call == C_APPEND)
        objs[1] = rc_list(h);
    if (call == C_DICT_SET)
        objs[2] = rc_dict(h);
    if (call == C_CACHE_PUT)
        objs[1] = rc_weakcache_new(h);
}

/* Make the call; true when it failed. */
static bool attempt(rc_heap *h, int call, void **objs)
{
    switch (call) {
    case C_NEW: return !rc_new(h, &widget_type);
    case C_NEW_VAR: return !rc_new_var(h, &blob_type, 100000);
    case C_WEAKREF: return !rc_weakref_new(objs[0], NULL, NULL);
    case C_MEM_ALLOC: return !rc_mem_alloc(h, 100);
    case C_MEM_HUGE: return !rc_mem_alloc(h, 3u << 20);
    case C_CALLOC: return !rc_mem_calloc(h, 10, 300);
    case C_REALLOC: return !rc_mem_realloc(h, objs[0], 5000);
    case C_INT: return !rc_int(h, INT64_C(1) << 40);
    case C_FLOAT: return !rc_float(h, 0.5);
    case C_STR: return !rc_str(h, "some text", 9);
    case C_BYTES: return !rc_bytes(h, "\0\1", 2);
    case C_TUPLE: return !rc_tuple(h, 2, objs);
    case C_LIST: return !rc_list(h);
    case C_APPEND: return rc_list_append(objs[1], objs[0]) != 0;
    case C_DICT: return !rc_dict(h);
    case C_DICT_SET: return rc_dict_set(objs[2], objs[1], objs[0]) != 0;
    case C_WEAKCACHE: return !rc_weakcache_new(h);
    case C_CACHE_PUT: return rc_weakcache_put(objs[1], "w", 1, objs[0]) != 0;
    case C_ACYCLIC: return rc_type_acyclic(h, &widget_type) != 0;
    case C_TRACE_START: return rc_trace_start(h, 8) != 0;
    default: return rc_timeline_sample(h) != 0;
    }
}

static void test_last_error_exhausted(void)
{
    rc_config cfg;
    rc_config_init(&cfg);
    cfg.pages.alloc = refusing_alloc;
    cfg.pages.free = rc_page_mmap_free;
    for (int call = 0; call < C_COUNT; call++) {
        rc_heap *h = rc_heap_new(&cfg);
        CHECK(h);
        void *objs[3] = {NULL, NULL, NULL};
        prepare(h, call, objs);
        exhaust(h);
        if (!attempt(h, call, objs) || rc_last_error(h) != RC_ENOMEM) {
            fprintf(stderr, "%s: %s\n", call_names[call], rc_error_name(rc_last_error(h)));
            CHECK(!"the call failed with RC_ENOMEM");
        }
        refuse_pages = 0;
        CHECK_VALID(h);
        rc_heap_free(h); /* reclaims the objects and the exhausting blocks */
    }
    printf("test_misuse: %d calls each refused memory: rc_last_error RC_ENOMEM\n",
           C_COUNT);
}

/* ---- Misuse: each scenario stops with its message --------------------------------- */

/* A page source that never gives memory back (so a stale pointer into a
   freed heap still reads something). */
static void keep_pages(void *ctx, void *p, size_t size)
{
    (void)ctx;
    (void)p;
    (void)size;
}

static int misuse(const char *what)
{
    exit_on_abort(); /* the heap aborts after its message (see check.h) */
    rc_config cfg;
    rc_config_init(&cfg);
    cfg.debug = 1;
    if (!strcmp(what, "int_value_traced"))
        cfg.trace_frames = 8;
    if (!strcmp(what, "decref_freed_heap")) {
        cfg.pages.alloc = rc_page_mmap_alloc;
        cfg.pages.free = keep_pages;
    }
    rc_heap *h = rc_heap_new(&cfg);
    CHECK(h);
    if (!strcmp(what, "decref_reused")) {
        void *w = rc_new(h, &widget_type);
        rc_decref(w);
        void *other = rc_new(h, &widget_type); /* not in w's slot */
        rc_decref(w);                          /* the stray decref */
        rc_decref(other);
    } else if (!strcmp(what, "decref_interior")) {
        char *p = rc_mem_alloc(h, 64);
        memset(p, 0, 64);
        rc_decref(p + 16);
    } else if (!strcmp(what, "decref_nowhere")) {
        char *region = mmap(NULL, 4u << 20, PROT_READ | PROT_WRITE,
                            MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        CHECK(region != MAP_FAILED);
        uintptr_t arena = ((uintptr_t)region + (1u << 20)) & ~(uintptr_t)((1u << 20) - 1);
        rc_decref((char *)arena + 4096 + 8); /* zeros: count 0, no heap */
    } else if (!strcmp(what, "decref_freed_heap")) {
        void *w = rc_new(h, &widget_type);
        rc_heap_free(h); /* reports w as a leak, then frees the heap */
        rc_decref(w);
    } else if (!strcmp(what, "int_value_of_list") || !strcmp(what, "int_value_traced")) {
        rc_int_value(rc_list(h));
    } else if (!strcmp(what, "float_value_of_int")) {
        rc_float_value(rc_int(h, 3));
    } else if (!strcmp(what, "list_len_freed")) {
        void *l = rc_list(h);
        rc_decref(l);
        rc_list_len(l);
    } else if (!strcmp(what, "str_data_freed")) {
        void *s = rc_str(h, "hello", 5);
        rc_decref(s);
        rc_str_data(s, NULL);
    } else if (!strcmp(what, "read_freed_str")) {
        void *s = rc_str(h, "hello", 5);
        const volatile char *d = rc_str_data(s, NULL);
        rc_decref(s);
        printf("read 0x%02x after free\n", (unsigned char)d[0]);
        fflush(stdout);
    } else if (!strcmp(what, "write_after_free")) {
        widget *w = rc_new(h, &widget_type);
        rc_decref(w);
        ((volatile widget *)w)->b = 1;
        rc_heap_trim(h); /* the quarantine checks each block it lets go */
    } else {
        fprintf(stderr, "unknown scenario %s\n", what);
        return 2;
    }
    fprintf(stderr, "%s: no misuse reported\n", what);
    return 1;
}

int main(int argc, char **argv)
{
    if (argc == 2)
        return misuse(argv[1]);
    test_quarantine();
    test_accessors();
    test_last_error_exhausted();
    printf("test_misuse: ok\n");
    return 0;
}
