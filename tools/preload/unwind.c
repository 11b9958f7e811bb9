/*
 * unwind.c — the libunwind walk (RCGC_UNWIND=libunwind), loaded only when
 * asked for: libunwind has thread-local variables, and a library the shim
 * links would give every thread's TLS vector one more slot in every run
 * (shim.h, "Invariants").  dlopen'ed RTLD_LOCAL, its few functions found
 * with dlsym; src/trace/stack.c's rct_capture_unwind then calls its
 * unw_backtrace.  May call: the loader.
 */
#define _GNU_SOURCE
#ifdef RCGC_UNWIND_SONAME
#define UNW_LOCAL_ONLY
#include <libunwind.h> /* first: shim.h names the thread's flags with macros */
/* libunwind's names are macros for per-architecture symbols
   (unw_set_caching_policy is _ULx86_64_set_caching_policy): the string of
   the expansion is the name to look up. */
#define SYMBOL(name) SYMBOL_(name)
#define SYMBOL_(name) #name
#endif

#include "shim.h"

static void say(const char *what, const char *why)
{
    char msg[512];
    int n = snprintf(msg, sizeof msg,
                     "rcgc preload: --unwind libunwind: %s%s%s; stacks from call-frame "
                     "information instead\n", what, why ? ": " : "", why ? why : "");
    if (n > 0) {
        ssize_t rc = write(2, msg, (size_t)n < sizeof msg ? (size_t)n : sizeof msg - 1);
        (void)rc;
    }
}

/* Load libunwind (RCGC_UNWIND_LIB, else the library it was built against),
   its cache per thread as heaptrack sets it.  false, said once on stderr:
   not loaded (the caller walks by CFI).  Run busy: dlopen allocates. */
bool unwind_load(void)
{
#ifdef RCGC_UNWIND_SONAME
    const char *file = env_get("RCGC_UNWIND_LIB");
    if (!file || !*file)
        file = RCGC_UNWIND_SONAME;
    void *lib = dlopen(file, RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        say("cannot load it", dlerror());
        return false;
    }
    void *backtrace = dlsym(lib, SYMBOL(unw_backtrace));
    void *policy = dlsym(lib, SYMBOL(unw_set_caching_policy));
    void *space = dlsym(lib, SYMBOL(unw_local_addr_space)); /* the variable's address */
    if (!backtrace || !policy || !space) {
        say(file, "not libunwind (its functions are missing)");
        dlclose(lib);
        return false;
    }
    int (*set_policy)(unw_addr_space_t, unw_caching_policy_t);
    memcpy(&set_policy, &policy, sizeof policy);
    set_policy(*(unw_addr_space_t *)space, UNW_CACHE_PER_THREAD);
    memcpy(&rct_unwind_backtrace, &backtrace, sizeof backtrace);
    return true;
#else
    say("this build has no libunwind support", "libunwind.h was not found when it was built");
    return false;
#endif
}
