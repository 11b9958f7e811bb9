/*
 * shim_libc_names.c — a program that defines libc names itself, as bash
 * does (getenv, setenv, unsetenv, putenv: bash keeps its own environment,
 * in memory from its own malloc).  The preload shim must run none of them:
 * each counts the calls made before main, and main says how many there
 * were, then makes a known number of allocations (10 of 4242 bytes, 9 of
 * them freed) that the capture must hold exactly.  Linked with -rdynamic,
 * so the definitions are what every other module finds by name.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int in_main;
static int before_main;
static char *own_value;

static void count(void)
{
    if (!in_main)
        before_main++;
}

char *getenv(const char *name)
{
    count();
    if (!strcmp(name, "RCGC_OWN") && own_value)
        return own_value;
    size_t n = strlen(name);
    for (char **e = environ; e && *e; e++)
        if (!strncmp(*e, name, n) && (*e)[n] == '=')
            return *e + n + 1;
    return NULL;
}

/* Only RCGC_OWN is kept (in a 4242-byte block): enough for main. */
int setenv(const char *name, const char *value, int overwrite)
{
    (void)overwrite;
    count();
    if (strcmp(name, "RCGC_OWN") != 0)
        return 0;
    char *v = malloc(4242);
    if (!v)
        return -1;
    snprintf(v, 4242, "%s", value);
    free(own_value);
    own_value = v;
    return 0;
}

int unsetenv(const char *name)
{
    (void)name;
    count();
    return 0;
}

int putenv(char *string)
{
    (void)string;
    count();
    return 0;
}

int main(void)
{
    in_main = 1;
    char line[64];
    int n = snprintf(line, sizeof line, "before main: %d\n", before_main);
    if (write(1, line, (size_t)n) != n)
        return 1;
    for (int i = 0; i < 10; i++)
        setenv("RCGC_OWN", "x", 1);
    return getenv("RCGC_OWN") ? 0 : 1;
}
