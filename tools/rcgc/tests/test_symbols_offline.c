/*
 * test_symbols_offline.c — the symbolizer's offline mode
 * (rct_symbols_new_modules), as rcgc uses it for a capture: this process's
 * modules are described the way the preload shim records them (where the
 * lowest segment is mapped, and the span), and return addresses of this
 * program and of libc are resolved from those records alone.  Built twice
 * (tools/rcgc/tests/CMakeLists.txt): with libdw (function, file and line),
 * and without (OFFLINE_NO_LIBDW: the ELF symbol table, function names only).
 */
#define _GNU_SOURCE /* dl_iterate_phdr */
#include "trace.h"

#include <link.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#if defined(__GNUC__) && !defined(__clang__)
#define FRAME __attribute__((noipa))
#else
#define FRAME __attribute__((noinline))
#endif

static int failures;
#define CHECK(cond)                                                                \
    do {                                                                           \
        if (!(cond)) {                                                             \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
            failures++;                                                            \
        }                                                                          \
    } while (0)

static void *volatile sink;

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

enum { MAX_MODULES = 64 };
typedef struct modules {
    rct_module m[MAX_MODULES];
    char paths[MAX_MODULES][PATH_MAX];
    size_t n;
} modules;

static int add_module(struct dl_phdr_info *info, size_t size, void *ctx)
{
    (void)size;
    modules *ms = ctx;
    uint64_t lo = UINT64_MAX, hi = 0;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type == PT_LOAD) {
            lo = ph->p_vaddr < lo ? ph->p_vaddr : lo;
            hi = ph->p_vaddr + ph->p_memsz > hi ? ph->p_vaddr + ph->p_memsz : hi;
        }
    }
    if (ms->n == MAX_MODULES || lo >= hi)
        return 0;
    char *path = ms->paths[ms->n];
    if (info->dlpi_name && *info->dlpi_name)
        snprintf(path, PATH_MAX, "%s", info->dlpi_name);
    else {
        ssize_t k = readlink("/proc/self/exe", path, PATH_MAX - 1);
        path[k > 0 ? k : 0] = '\0';
    }
    ms->m[ms->n] = (rct_module){info->dlpi_addr + lo, hi - lo, path};
    ms->n++;
    return 0;
}

static const char *base_name(const char *p)
{
    const char *slash = p ? strrchr(p, '/') : NULL;
    return slash ? slash + 1 : p;
}

int main(void)
{
    static modules ms;
    dl_iterate_phdr(add_module, &ms);
    /* A module whose file is gone keeps its range: the module is named. */
    ms.m[ms.n++] = (rct_module){UINT64_C(0x10000000000), 0x1000, "/nonexistent/libgone.so"};
    /* a path with no file name (a crafted capture): named by the whole path */
    ms.m[ms.n++] = (rct_module){UINT64_C(0x20000000000), 0x1000, "/"};
    rct_symbols *s = rct_symbols_new_modules(ms.m, ms.n);
    CHECK(s != NULL);
    memset(ms.paths, 0, sizeof ms.paths); /* copied: not needed any more */

    int line;
    void *ra = known_call(&line);
    rct_symbol sym;
    CHECK(rct_symbols_lookup(s, ra, &sym) == 0);
    CHECK(sym.function && strcmp(sym.function, "known_call") == 0);
    CHECK(sym.module && strstr(base_name(sym.module), "test_symbols_offline") != NULL);
#ifdef OFFLINE_NO_LIBDW
    CHECK(sym.file == NULL && sym.line == 0);
#else
    CHECK(sym.file && strcmp(base_name(sym.file), "test_symbols_offline.c") == 0);
    CHECK(sym.line == line);
#endif

    /* Inside libc: the function containing getpid's first byte (a function
       sanitizers do not intercept). */
    void *in_libc = (char *)(void *)(uintptr_t)&getpid + 1;
    CHECK(rct_symbols_lookup(s, in_libc, &sym) == 0);
    CHECK(sym.function != NULL);
    CHECK(sym.module && strstr(sym.module, "libc") != NULL);

    CHECK(rct_symbols_lookup(s, (void *)(uintptr_t)0x10000000010, &sym) == 0);
    /* a module that is gone: named by its place (its bias is unknown, so
       the offset is from where it was mapped) */
    CHECK(sym.function && strcmp(sym.function, "libgone.so+0xf") == 0);
    CHECK(sym.module && strcmp(sym.module, "/nonexistent/libgone.so") == 0);
    CHECK(rct_symbols_lookup(s, (void *)(uintptr_t)0x20000000010, &sym) == 0);
    CHECK(sym.function && strcmp(sym.function, "/+0xf") == 0);
    /* in no module at all: the address of the call */
    CHECK(rct_symbols_lookup(s, (void *)(uintptr_t)0x20, &sym) == 0);
    CHECK(sym.function && strcmp(sym.function, "0x1f") == 0 && sym.module == NULL);

    /* A defined name (a capture's Python frame): given as is, copied, no
       module, never rcgc's own even when named like it; defined again, the
       new answer; no file, no line */
    void *py = (void *)(uintptr_t)(UINT64_C(1) << 63 | 7);
    char function[] = "rc_load", file[] = "/app/main.py";
    CHECK(rct_symbols_define(s, py, function, file, 42) == 0);
    memset(function, 0, sizeof function);
    CHECK(rct_symbols_lookup(s, py, &sym) == 0);
    CHECK(sym.function && strcmp(sym.function, "rc_load") == 0 && sym.file &&
          strcmp(sym.file, "/app/main.py") == 0 && sym.line == 42 && sym.module == NULL);
    CHECK(!rct_symbols_in_library(s, py));
    CHECK(rct_symbols_define(s, py, "Loader.load", "", 9) == 0);
    CHECK(rct_symbols_lookup(s, py, &sym) == 0);
    CHECK(strcmp(sym.function, "Loader.load") == 0 && sym.file == NULL && sym.line == 0);

    rct_symbols_unref(s);
    printf("test_symbols_offline: %s\n", failures ? "FAILED" : "ok");
    return failures != 0;
}
