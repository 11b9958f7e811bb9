/*
 * e2e_prog.c — a program with known allocation behaviour, run under
 * `rcgc run` by test_rcgc.py:
 *   e2e_prog basic   one block of 5000 bytes lost in lose_block (first,
 *                    so no later block reuses its address); ten blocks of
 *                    100000 bytes live together in hold_blocks (the peak:
 *                    1005000 bytes with the lost one), then freed; 1000
 *                    temporaries of 64 bytes; a ramp of 8 blocks of 20000
 *                    bytes over about 100 ms (timeline samples come every
 *                    10 ms of activity), then freed; prints "e2e: done";
 *                    exits with status 7
 *   e2e_prog kill    allocates, then kills itself with SIGTERM
 *   e2e_prog churn   eight blocks of 30000 bytes made in rotate_block; 150
 *                    ms later each freed and a new one made in its place
 *                    by the same call (5 ms apart); 150 ms later all freed
 *                    (the report's range of the second round: eight new
 *                    blocks, allocated in it and live at its end)
 */
#define _POSIX_C_SOURCE 200809L /* nanosleep */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#if defined(__GNUC__) && !defined(__clang__)
#define FRAME __attribute__((noipa))
#else
#define FRAME __attribute__((noinline))
#endif

static void *volatile keep;   /* defeats the optimizer, holds nothing at exit */

/* The blocks are held in this frame only: its pointers are gone once it
   returns (a dead array in main could still point at a later block). */
static FRAME void hold_blocks(int n)
{
    void *blocks[10];
    for (int i = 0; i < n; i++) {
        blocks[i] = malloc(100000);
        memset(blocks[i], i, 100000);
    }
    keep = blocks[n - 1];
    for (int i = 0; i < n; i++)
        free(blocks[i]);
    keep = NULL;
}

static FRAME void temporaries(int n)
{
    for (int i = 0; i < n; i++) {
        char *p = malloc(64);
        memset(p, i, 64);
        keep = p;
        free(p);
    }
    keep = NULL;
}

/* The only pointer to the block lives in this frame, gone on return. */
static FRAME void lose_block(void)
{
    char *p = malloc(5000);
    memset(p, 1, 5000);
    keep = p;
    keep = NULL;
}

static FRAME void ramp(int n)
{
    static void *held[8];
    struct timespec pause = {0, 12 * 1000 * 1000};
    for (int i = 0; i < n && i < 8; i++) {
        held[i] = malloc(20000);
        memset(held[i], i, 20000);
        nanosleep(&pause, NULL);
    }
    for (int i = 0; i < n && i < 8; i++) {
        free(held[i]);
        held[i] = NULL;
    }
}

/* The block that replaces old (NULL: the first), always by this call. */
static FRAME void *rotate_block(void *old)
{
    free(old);
    void *p = malloc(30000);
    memset(p, 3, 30000);
    return p;
}

static FRAME void churn(void)
{
    static void *slots[8];
    struct timespec step = {0, 5 * 1000 * 1000}, pause = {0, 150 * 1000 * 1000};
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < 8; i++) {
            slots[i] = rotate_block(slots[i]);
            nanosleep(&step, NULL);
        }
        nanosleep(&pause, NULL);
    }
    for (int i = 0; i < 8; i++) {
        free(slots[i]);
        slots[i] = NULL;
    }
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "churn") == 0) {
        churn();
        return 0;
    }
    if (argc > 1 && strcmp(argv[1], "kill") == 0) {
        keep = malloc(100);
        raise(SIGTERM);
        return 0;
    }
    lose_block();
    hold_blocks(10);
    temporaries(1000);
    ramp(8);
    printf("e2e: done\n");
    return 7;
}
