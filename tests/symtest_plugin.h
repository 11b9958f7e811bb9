/*
 * symtest_plugin.h — what test_symbols finds (by dlsym) in symtest_plugin,
 * the shared object it dlopens after its symbolizer exists.
 */
#ifndef RC_SYMTEST_PLUGIN_H
#define RC_SYMTEST_PLUGIN_H

#define SYMTEST_EXPORT __attribute__((visibility("default")))

typedef void *(*symtest_probe)(void);

/* The line of the call to probe inside symtest_plugin_call. */
SYMTEST_EXPORT extern int symtest_plugin_line;
/* Calls probe (which returns its own return address) and passes on what it
   returns: an address inside the plugin. */
SYMTEST_EXPORT void *symtest_plugin_call(symtest_probe probe);
/* rct_symbols_in_library as the plugin's own copy of symbols.c answers it:
   the shared-library rule, with the plugin standing in for librcgc.so.
   1 or 0, or -1 when no symbolizer could be made. */
SYMTEST_EXPORT int symtest_plugin_in_library(const void *addr);

#endif
