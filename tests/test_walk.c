/*
 * test_walk.c — the CFI walk gives the same frames whichever way it goes:
 * with the thread's last walk remembered (src/trace/stack.c, "The last
 * walk, remembered") as with none, and with the caller's own frames
 * skipped through their frame pointers as when walked by their call-frame
 * information.  The stacks are walk_paths.c's, without frame pointers:
 * thousands of different paths 1 to 90 frames deep, in a scrambled order
 * (consecutive walks share some outer frames, or none), walked with room
 * for all their frames and with room for only a few (the remembered walk
 * then drops its outermost frames and later walks on from where it
 * stopped).  The walk split at a function (rct_capture_cfi_split: the
 * frames outward of it checked against the last such walk's) gives them
 * too, split at walk_path's frames and at main's.  Where the walk reads
 * call-frame information (x86-64, glibc
 * 2.35 or later), it must also give the frames libgcc's unwinder gives,
 * an independent reader of the same tables.
 */
#include "check.h"
#include "trace.h"

#if defined(__x86_64__) && defined(__GLIBC__) && \
    (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 35))
#include <unwind.h>
#define WITH_LIBGCC 1

typedef struct unwound {
    void **frames;
    size_t n, max;
} unwound;

static _Unwind_Reason_Code take_frame(struct _Unwind_Context *ctx, void *arg)
{
    unwound *u = arg;
    if (u->n == u->max)
        return _URC_END_OF_STACK;
    void *ip = (void *)_Unwind_GetIP(ctx);
    if (!ip) /* a frame past the outermost (_start's caller, none) */
        return _URC_END_OF_STACK;
    u->frames[u->n++] = ip;
    return _URC_NO_REASON;
}
#endif


typedef void (*walk_probe)(unsigned path);
void walk_path(int level, unsigned path, int depth, walk_probe probe);

#define ROOM 100

static rct_walker remembered[2], plain; /* remembered: room ROOM and room 12 */
static const size_t rooms[2] = {ROOM, 12};
static unsigned long walks, frames_seen;
static rct_walker split_walker;
static rct_split_memo split_memo[2][2]; /* [room][split at walk_path, at main] */
static unsigned long splits, outer_kept;
static int path_depth;                  /* the path walked now: its levels */
static uintptr_t path_lo = UINTPTR_MAX, path_hi; /* walk_path's return addresses seen */

/* The split walks of the stack plain walked into b[0, nb) give its frames. */
static __attribute__((noinline)) void check_split(unsigned path, int r, void *const *b, size_t nb)
{
    size_t room = rooms[r];
    /* b[0, path_depth] return into walk_path (one per level and the
       probe's call), b[path_depth + 1] into main, where room allows */
    for (size_t i = 0; i <= (size_t)path_depth && i < nb; i++) {
        path_lo = (uintptr_t)b[i] < path_lo ? (uintptr_t)b[i] : path_lo;
        path_hi = (uintptr_t)b[i] > path_hi ? (uintptr_t)b[i] : path_hi;
    }
    for (int at = 0; at < 2; at++) {
        uintptr_t lo = path_lo, size = path_hi - path_lo + 1;
        if (at) { /* main's one call; none when out of room (a walk with no split) */
            lo = (size_t)path_depth + 1 < nb ? (uintptr_t)b[path_depth + 1] : 1;
            size = (size_t)path_depth + 1 < nb;
        }
        rct_split_memo *m = &split_memo[r][at];
        uint64_t gen = m->gen;
        void *e[ROOM + 1];
        size_t inner;
        size_t ne = rct_capture_cfi_split(&split_walker, e, room, 2, lo - 1, size, m, &inner);
        if (inner) { /* the frames outward of the split one: the memo's */
            memcpy(e + inner, m->pc, (ne - inner) * sizeof *e);
            splits++;
            outer_kept += m->gen == gen;
        }
        if (ne != nb || memcmp(e, b, nb * sizeof *b) != 0)
            fprintf(stderr, "path %u, room %zu, split at %s: %zu frames split, %zu plain\n",
                    path, room, at ? "main" : "walk_path", ne, nb);
        CHECK(ne == nb && memcmp(e, b, nb * sizeof *b) == 0);
    }
}

/* Called from the leaf of a path: every walk of the stack must agree. */
static __attribute__((noinline)) void probe(unsigned path)
{
    for (int r = 0; r < 2; r++) {
        void *a[ROOM + 1], *b[ROOM + 1], *c[ROOM + 2];
        size_t room = rooms[r];
        size_t na = rct_capture_cfi(&remembered[r], a, room, 1); /* from probe's caller */
        size_t nb = rct_capture_cfi(&plain, b, room, 1);
        size_t nc = rct_capture_cfi(&plain, c, room + 1, 0); /* probe's frame walked */
        if (na != nb || memcmp(a, b, na * sizeof *a) != 0 || nc != nb + 1 ||
            memcmp(c + 1, b, nb * sizeof *b) != 0)
            fprintf(stderr, "path %u, room %zu: %zu frames remembered, %zu plain, %zu with "
                            "probe's\n", path, room, na, nb, nc);
        CHECK(na == nb && memcmp(a, b, na * sizeof *a) == 0);
        CHECK(nc == nb + 1 && memcmp(c + 1, b, nb * sizeof *b) == 0);
        check_split(path, r, b, nb); /* (from probe's caller too: check_split's own
                                        frame is the second skipped) */
#ifdef WITH_LIBGCC
        /* libgcc's first frame is probe's own (the return from
           _Unwind_Backtrace): the rest are b's, as many as room allows. */
        void *d[ROOM + 2];
        unwound u = {d, 0, room + 1};
        _Unwind_Backtrace(take_frame, &u);
        if (u.n != nb + 1 || memcmp(d + 1, b, nb * sizeof *b) != 0)
            fprintf(stderr, "path %u, room %zu: %zu frames walked, %zu by libgcc\n", path, room,
                    nb, u.n - 1);
        CHECK(u.n == nb + 1 && memcmp(d + 1, b, nb * sizeof *b) == 0);
#endif
        walks++;
        frames_seen += na;
    }
}

int main(void)
{
    plain.memo_busy = 1; /* as a signal handler's walk: nothing remembered */
    uint64_t seed = 1;
    for (int i = 0; i < 20000; i++) {
        uint64_t x = test_rand(&seed); /* scrambled paths and depths */
        int depth = i % 97 == 0 ? 60 + (int)(x >> 60) * 2 : 1 + (int)((x >> 32) % 24);
        path_depth = depth;
        walk_path(0, (unsigned)x, depth, probe);
    }
    CHECK(walks == 40000);
    CHECK(frames_seen > 40000 * 8); /* the stacks went through the paths */
    CHECK(splits > 40000); /* most of the four split walks of each met their frame */
    CHECK(outer_kept > splits / 4 && outer_kept < splits); /* kept, and walked again */
    printf("test_walk: %lu walks, %lu frames, the same each way; %lu split walks, %lu of them "
           "with the outer frames kept\n", walks, frames_seen, splits, outer_kept);
    return 0;
}
