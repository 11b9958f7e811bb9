/*
 * walk_paths.c — the call paths of test_walk.c, built without frame
 * pointers (-O2 -fomit-frame-pointer, as distributions build): each level
 * calls the next through one of four call sites, chosen by two bits of the
 * path's number, so every path is a different stack; the leaf calls back
 * into test_walk.c, which walks it.
 */
#include <stddef.h>

typedef void (*walk_probe)(unsigned path);
void walk_path(int level, unsigned path, int depth, walk_probe probe);

/* One counter per call site: the code after each call differs, so the
   compiler cannot merge the four calls into one (one return address). */
volatile unsigned long walk_tally[4];

__attribute__((noinline)) void walk_path(int level, unsigned path, int depth, walk_probe probe)
{
    if (level == depth) {
        probe(path);
        return;
    }
    switch ((path >> (2 * (level % 16))) & 3) {
    case 0:
        walk_path(level + 1, path, depth, probe);
        walk_tally[0]++;
        break;
    case 1:
        walk_path(level + 1, path, depth, probe);
        walk_tally[1]++;
        break;
    case 2:
        walk_path(level + 1, path, depth, probe);
        walk_tally[2]++;
        break;
    default:
        walk_path(level + 1, path, depth, probe);
        walk_tally[3]++;
        break;
    }
}
