/*
 * test_symbols.c — the symbolizer, src/trace/symbols.c, compiled into this
 * program (its rct_* names are hidden in librcgc): function, file and exact
 * line of a call made here; a call inside a shared object dlopen'ed after
 * the symbolizer was made; a libc function; a bogus address; the in-library
 * rules (by name and source directory, rcgc being linked into this
 * executable; by module, through the plugin's own copy of symbols.c); the
 * cache and string interning over many addresses; reference counting.
 *
 * Build definitions (tests/CMakeLists.txt): SYMTEST_PLUGIN_PATH, the
 * plugin's path; RCGC_SOURCE_DIR, the library's src/ directory; and
 * SYMTEST_LIBRARY_FILE, a file name under it that the last function of this
 * file claims as its source (#line), to test the source-directory rule.
 */
#define _GNU_SOURCE /* dlopen's RTLD_NOLOAD */
#include "check.h"
#include "symtest_plugin.h"
#include "trace.h"

#include <dlfcn.h>
#include <stdint.h>

/* A frame of its own: not inlined and, with GCC, not folded into another
   function with the same body (-fipa-icf would give rc_test_frame and
   library_file_frame one address, and one name). */
#if defined(__GNUC__) && !defined(__clang__)
#define FRAME __attribute__((noipa))
#else
#define FRAME __attribute__((noinline))
#endif

/* Stores then reloads each return address, so no call below is a tail
   jump: every call leaves a return address in its caller. */
static void *volatile sink;

/* Its own return address: a point in the caller, on the line of the call. */
static FRAME void *return_address(void)
{
    return __builtin_return_address(0);
}

static FRAME void *known_call(int *line)
{
    *line = __LINE__ + 1;
    sink = return_address();
    return sink;
}

/* Named like the library: in it, when rcgc is linked into the program. */
static FRAME void *rc_test_frame(void)
{
    sink = return_address();
    return sink;
}

#ifdef SYMTEST_LIBRARY_FILE
static void *library_file_frame(void);
#endif

static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

static void *symbol_of(void *handle, const char *name)
{
    void *p = dlsym(handle, name);
    CHECK(p != NULL);
    return p;
}

/* The return address of a call made from the plugin, and the line of it. */
static void *plugin_call(void *plugin, int *line)
{
    symtest_probe probe = return_address;
    void *(*call)(symtest_probe);
    void *p = symbol_of(plugin, "symtest_plugin_call");
    memcpy(&call, &p, sizeof call); /* ISO C has no object-to-function cast */
    void *ra = call(probe);
    *line = *(int *)symbol_of(plugin, "symtest_plugin_line");
    return ra;
}

static int plugin_in_library(void *plugin, const void *addr)
{
    int (*in_library)(const void *);
    void *p = symbol_of(plugin, "symtest_plugin_in_library");
    memcpy(&in_library, &p, sizeof in_library);
    return in_library(addr);
}

static void test_call_site(rct_symbols *s)
{
    int line = 0;
    void *ra = known_call(&line);
    rct_symbol sym;
    CHECK(rct_symbols_lookup(s, ra, &sym) == 0);
    CHECK(sym.function && strcmp(sym.function, "known_call") == 0);
    CHECK(sym.file && strcmp(base_name(sym.file), "test_symbols.c") == 0);
    CHECK(sym.line == line);
    CHECK(sym.module && strstr(base_name(sym.module), "test_symbols"));
}

/* The symbolizer exists before the dlopen: found by reporting the maps
   again. */
static void test_dlopen(rct_symbols *s, void *plugin)
{
    int line = 0;
    void *ra = plugin_call(plugin, &line);
    rct_symbol sym;
    CHECK(rct_symbols_lookup(s, ra, &sym) == 0);
    CHECK(sym.function && strcmp(sym.function, "symtest_plugin_call") == 0);
    CHECK(sym.file && strcmp(base_name(sym.file), "symtest_plugin.c") == 0);
    CHECK(sym.line == line && line > 0);
    CHECK(sym.module && strstr(base_name(sym.module), "symtest_plugin"));
}

/* libc has no debug info here: at least its exported name and its path.
   One past the entry: lookups are of return addresses, so of addr - 1. */
static void test_libc(rct_symbols *s)
{
    void *libc = dlopen("libc.so.6", RTLD_NOW | RTLD_NOLOAD);
    CHECK(libc != NULL);
    const char *entry = symbol_of(libc, "getpid");
    rct_symbol sym;
    CHECK(rct_symbols_lookup(s, entry + 1, &sym) == 0);
    CHECK(sym.function && strstr(sym.function, "getpid"));
    CHECK(sym.module && strstr(base_name(sym.module), "libc"));
    dlclose(libc);
}

static void test_unknown(rct_symbols *s)
{
    rct_symbol sym = {"x", "y", 7, "z"};
    CHECK(rct_symbols_lookup(s, (void *)16, &sym) == -1);
    CHECK(!sym.function && !sym.file && sym.line == 0 && !sym.module);
    sym = (rct_symbol){"x", "y", 7, "z"};
    CHECK(rct_symbols_lookup(s, NULL, &sym) == -1);
    CHECK(!sym.function && !sym.file && sym.line == 0 && !sym.module);
    CHECK(rct_symbols_lookup(NULL, (void *)16, &sym) == -1 && !sym.module);
    CHECK(!rct_symbols_in_library(s, (void *)16));
    CHECK(!rct_symbols_in_library(s, NULL));
    CHECK(!rct_symbols_in_library(NULL, (void *)16));
}

static void test_in_library(rct_symbols *s, void *plugin, void *main_ra)
{
    int line;
    void *rc_ra = rc_test_frame();
    void *plugin_ra = plugin_call(plugin, &line);
#ifdef SYMTEST_LIBRARY_FILE
    /* in the library by its file alone: its name is not rc_* */
    rct_symbol sym;
    CHECK(rct_symbols_lookup(s, library_file_frame(), &sym) == 0);
    CHECK(strcmp(sym.function, "library_file_frame") == 0);
    CHECK(strcmp(sym.file, SYMTEST_LIBRARY_FILE) == 0);
#endif
    /* Linked into the executable: by name, and by source directory. */
    for (int again = 0; again < 2; again++) { /* the second from the cache */
        CHECK(rct_symbols_in_library(s, rc_ra));
        CHECK(!rct_symbols_in_library(s, main_ra));
        CHECK(!rct_symbols_in_library(s, known_call(&line)));
        CHECK(!rct_symbols_in_library(s, plugin_ra));
#ifdef SYMTEST_LIBRARY_FILE
        CHECK(rct_symbols_in_library(s, library_file_frame()));
#endif
    }
    /* A shared object: by module, whatever the names. */
    CHECK(plugin_in_library(plugin, plugin_ra) == 1);
    CHECK(plugin_in_library(plugin, main_ra) == 0);
    CHECK(plugin_in_library(plugin, rc_ra) == 0);
    CHECK(plugin_in_library(plugin, (void *)16) == 0);
}

/* Same address, same strings; equal strings, one pointer; and the answers
   survive the cache and string table growing many times. */
static void test_cache(rct_symbols *s, void *main_ra)
{
    int line;
    void *ra = known_call(&line);
    rct_symbol a, b, m;
    CHECK(rct_symbols_lookup(s, ra, &a) == 0 && rct_symbols_lookup(s, ra, &b) == 0);
    CHECK(a.function == b.function && a.file == b.file && a.module == b.module);
    CHECK(a.line == b.line);
    CHECK(rct_symbols_lookup(s, main_ra, &m) == 0 && strcmp(m.function, "main") == 0);
    CHECK(m.file == a.file && m.module == a.module && m.function != a.function);

    const char *text = (const char *)(uintptr_t)&return_address;
    for (size_t i = 1; i <= 5000; i++) {
        rct_symbol x;
        if (rct_symbols_lookup(s, text + i, &x) == 0)
            CHECK(x.module == a.module);
    }
    CHECK(rct_symbols_lookup(s, ra, &b) == 0);
    CHECK(a.function == b.function && a.file == b.file && a.module == b.module);
    CHECK(a.line == b.line);
}

static void test_refcount(rct_symbols *s)
{
    CHECK(rct_symbols_ref(s) == s);
    rct_symbols_unref(s); /* one owner left */
    int line;
    rct_symbol sym;
    CHECK(rct_symbols_lookup(s, known_call(&line), &sym) == 0 && sym.line == line);
    CHECK(rct_symbols_ref(NULL) == NULL);
    rct_symbols_unref(NULL);
}

int main(void)
{
    rct_symbols *s = rct_symbols_new();
    CHECK(s != NULL);
    sink = return_address();
    void *main_ra = sink;
    test_call_site(s);
    void *plugin = dlopen(SYMTEST_PLUGIN_PATH, RTLD_NOW);
    if (plugin == NULL)
        fprintf(stderr, "%s\n", dlerror());
    CHECK(plugin != NULL);
    test_dlopen(s, plugin);
    test_libc(s);
    test_unknown(s);
    test_in_library(s, plugin, main_ra);
    test_cache(s, main_ra);
    test_refcount(s);
    rct_symbols_unref(s);
    dlclose(plugin);
    puts("test_symbols: ok");
    return 0;
}

#ifdef SYMTEST_LIBRARY_FILE
/* Last in the file: from here on, the compiler records its source as a
   file under the library's src/ directory. */
#line 1 SYMTEST_LIBRARY_FILE
static FRAME void *library_file_frame(void)
{
    sink = return_address();
    return sink;
}
#endif
