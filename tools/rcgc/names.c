/*
 * names.c — the names people read: C++ and Rust symbols demangled by the
 * toolchain's demangler (libiberty's cplus_demangle, the one binutils and
 * GDB use), and allocator wrappers folded into the code that called them.
 *
 * Folding.  The site that matters is the code that asked for memory, not
 * xmalloc or operator new: the innermost frames of a stack whose function
 * is a known allocation function are dropped (massif's --alloc-fn does the
 * same), always keeping the outermost frame.  The built-in list covers the
 * malloc family, operator new/delete, the x* wrappers of GNU programs,
 * GLib, CPython, Perl, and SQLite; `--alloc-fn NAME` adds to it, `--no-fold`
 * turns folding off.  A name matches a pattern when it is equal to it, when
 * it is the pattern followed by a parameter list ("operator new(unsigned
 * long)"), or when the pattern ends in '*' and the name starts with the
 * rest.
 *
 * May call: libiberty, the trace engine's symbolizer.
 */
#include "cli.h"

#include <libiberty/demangle.h>
#include <stdlib.h>
#include <string.h>

static const char *const builtin_alloc_fns[] = {
    "malloc", "calloc", "realloc", "reallocarray", "free", "posix_memalign",
    "aligned_alloc", "memalign", "valloc", "pvalloc", "strdup", "strndup",
    "__libc_malloc", "__libc_calloc", "__libc_realloc", "__libc_memalign",
    "operator new*", "operator new[]*", "operator delete*",
    "__gnu_cxx::new_allocator*", "std::allocator*", "std::__new_allocator*",
    "xmalloc", "xcalloc", "xrealloc", "xzalloc", "xstrdup", "xstrndup", "xmemdup",
    "xnmalloc", "xnrealloc", "x2realloc", "x2nrealloc", "xcharalloc", "ximalloc",
    "xicalloc", "xirealloc", "xizalloc",
    "g_malloc", "g_malloc0", "g_realloc", "g_try_malloc", "g_try_malloc0",
    "g_try_realloc", "g_malloc_n", "g_malloc0_n", "g_realloc_n", "g_slice_alloc",
    "g_slice_alloc0", "g_memdup", "g_memdup2", "g_strdup", "g_strndup", "g_new*",
    "PyMem_*", "_PyMem_*", "PyObject_Malloc", "PyObject_Calloc", "PyObject_Realloc",
    "_PyObject_Malloc", "_PyObject_Calloc", "_PyObject_Realloc",
    "Perl_safesysmalloc", "Perl_safesyscalloc", "Perl_safesysrealloc",
    "sqlite3Malloc", "sqlite3MallocZero", "sqlite3MemMalloc", "sqlite3MemRealloc",
    "sqlite3Realloc", "sqlite3DbMallocRaw*", "sqlite3DbMallocZero", "sqlite3DbRealloc",
    NULL,
};

char *names_demangle(const char *name)
{
    if (!name || name[0] != '_' || (name[1] != 'Z' && name[1] != 'R'))
        return NULL; /* neither Itanium C++ (and legacy Rust) nor Rust v0 */
    return cplus_demangle(name, DMGL_PARAMS | DMGL_ANSI | DMGL_AUTO);
}

static bool matches(const char *name, const char *pattern)
{
    size_t n = strlen(pattern);
    if (n && pattern[n - 1] == '*')
        return strncmp(name, pattern, n - 1) == 0;
    return strncmp(name, pattern, n) == 0 && (name[n] == 0 || name[n] == '(');
}

static bool in_list(const char *name, const char *const *list, size_t n)
{
    for (size_t i = 0; i < n && list[i]; i++)
        if (matches(name, list[i]))
            return true;
    return false;
}

bool names_is_alloc_fn(const rca_options *o, const char *function)
{
    if (!function || (o && o->no_fold))
        return false;
    return in_list(function, builtin_alloc_fns, SIZE_MAX) ||
           (o && in_list(function, o->alloc_fns, o->nalloc_fns));
}

int names_option(rca_options *o, int opt, const char *arg)
{
    if (opt == NAMES_OPT_NO_FOLD || opt == NAMES_OPT_NATIVE) {
        o->no_fold |= opt == NAMES_OPT_NO_FOLD;
        o->native |= opt == NAMES_OPT_NATIVE;
        return 0;
    }
    if (opt != NAMES_OPT_ALLOC_FN)
        return 1;
    if (!arg || !*arg || o->nalloc_fns == NAMES_MAX_ALLOC_FNS)
        return -1;
    o->alloc_fns[o->nalloc_fns++] = arg;
    return 0;
}
