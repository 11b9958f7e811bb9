/*
 * static_prog.c — linked with -static for test_run.py: a program `rcgc run`
 * must refuse, since LD_PRELOAD never reaches it.
 *   static_prog --mark FILE   creates FILE (so a test sees whether it ran)
 *   static_prog [anything]    does nothing (as a script's #! interpreter)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
    void *p = malloc(100); /* what a profiler would have recorded */
    if (argc == 3 && strcmp(argv[1], "--mark") == 0) {
        FILE *f = fopen(argv[2], "w");
        if (f)
            fclose(f);
    }
    free(p);
    return 0;
}
