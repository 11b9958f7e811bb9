/*
 * slots.c — each thread's flags (busy, guarded, deferred) and its state,
 * found without thread-local storage (shim.h, "Each thread's flags and
 * state": why, and the table's layout).  May call: nothing but the kernel
 * (the signal mask, thread ids, tgkill), and in the TSan build TSan's
 * annotations.  Not instrumented in the TSan build: an exported function
 * finds its slot before TSan knows the thread.
 *
 * Lifecycle of a slot's key (tp: a thread pointer):
 *   0 (never used) or SLOT_FREE --claim (CAS, by the thread itself)--> tp
 *   tp --its key destructor (slot_ending)--> tp | SLOT_ENDING
 *   tp | SLOT_ENDING --a new thread on that descriptor (CAS: takeover)--> tp
 *   tp | SLOT_ENDING --slot_reclaim, the thread gone (CAS)--> SLOT_RECLAIMING
 *   SLOT_RECLAIMING --its fields cleared--> SLOT_FREE (or back to tp | SLOT_ENDING:
 *                   another thread ended there since the check)
 *   any but the caller's --a fork child--> SLOT_FREE
 * A slot that is not owned has every field 0 but `ender`, so a claim needs
 * to set nothing but busy (1 in the TSan build: a thread is busy until
 * TSan has set it up, bootstrap.c).  Keys are never set back to 0: a
 * slot past them in a probe sequence stays reachable.  A key is found at
 * most probe_max slots past its home, so a thread's first look (is it
 * there?) stops there, however many slots have been freed.
 *
 * The ending thread keeps its state and records what it still does;
 * every call it makes goes through slot_slow (its key no longer matches),
 * which knows it by its kernel thread id.  A new thread there resets the
 * flags (the ended one may have left busy at 1: the TSan trampoline does)
 * and gets the state, to be attached again (its stack's bounds, an
 * alternate signal stack).  Otherwise the state and its slot wait for a
 * new thread's attach that finds no state free (hooks.c): it takes the
 * state of an ended thread that is gone (tgkill: no such thread), and
 * slot_reclaim gives the slot back.  So the table holds the threads alive
 * at once and about as many ended ones, never the threads of a process's
 * whole life.  The check holds for the thread read in `ender`; the count
 * there tells another owner that ended in the slot meanwhile, and the
 * key is then put back.  A thread that finds no slot of its own but one
 * being reclaimed waits (a few stores): it may be its own, about to be
 * put back.
 *
 * Memory order.  A slot's fields are plain: only the thread that holds
 * the slot touches them (its owner, or a reclaimer once its CAS has made
 * the slot its own), and each hand-over is a release of the key by the thread that gives the
 * slot up, acquired by the one that gets it: the ending thread's store of
 * tp | SLOT_ENDING, acquired by a taker's CAS or by slot_reclaim's load;
 * give_back's store of SLOT_FREE, acquired by a claim's CAS.  slot_reclaim
 * reads the slot's state only once its CAS has made the slot its own (a
 * taker may be writing it until then).  One thing orders without them:
 * the ending thread's own calls after its key destructor (later
 * destructors, glibc's frees of its buffers) write its slot after the
 * release; slot_reclaim overwrites the slot only once tgkill says the
 * thread is gone, i.e. after the kernel has passed the thread's exit (its
 * barriers), and a taker only once glibc has reused the descriptor (after
 * pthread_join, or for a detached thread after the kernel cleared its
 * tid): the same order glibc's own stack cache relies on.
 *
 * TSan does not see this file's atomics (it is not instrumented), so each
 * hand-over is also told to it, on the key's address: a release where the
 * slot is given up (slot_ending, give_back), an acquire by slot_reclaim,
 * and the new owner's acquire once TSan knows the thread (slot_tsan_owned,
 * from bootstrap.c's trampoline: a claim or a takeover comes at the
 * thread's first call, before that).  Without them TSan took a slot
 * reclaimed and claimed again between two threads of the same round
 * (neither joined yet) for a race (shim_many_threads, one run in two).
 */
#include "shim.h"

#ifdef RCGC_TSAN
#include <sanitizer/tsan_interface.h>
#define TSAN_RELEASE(s) __tsan_release((void *)&(s)->key)
#define TSAN_ACQUIRE(s) __tsan_acquire((void *)&(s)->key)
#else
#define TSAN_RELEASE(s) ((void)0)
#define TSAN_ACQUIRE(s) ((void)0)
#endif

#ifdef RCGC_TSAN
#define BUSY_AT_START 1
#else
#define BUSY_AT_START 0
#endif

#define SLOTS (1u << SLOT_BITS)
#define SLOTS_PER_PAGE (4096u / sizeof(tslot))

tslot slots[SLOTS];
tslot spare = {.busy_depth = INT_MAX / 2}; /* no room: never traced */
static _Atomic uint64_t pages_used[(SLOTS / SLOTS_PER_PAGE + 63) / 64]; /* a fork child
                                        clears these pages of the table only */
static atomic_uint probe_max;           /* the farthest a key is from its home */
_Static_assert(SLOTS % SLOTS_PER_PAGE == 0, "whole pages of slots");

static uint64_t hold_signals(void)
{
    uint64_t all = ~(uint64_t)0, old;
    syscall(SYS_rt_sigprocmask, SIG_BLOCK, &all, &old, sizeof all);
    return old;
}

static void release_signals(uint64_t old)
{
    syscall(SYS_rt_sigprocmask, SIG_SETMASK, &old, NULL, sizeof old);
}

static uint32_t my_tid(void)
{
    return (uint32_t)syscall(SYS_gettid);
}

/* The process recording, not a vfork child (nor a fork child before its
   handler): only it may take slots over. */
static bool recording_process(void)
{
    return syscall(SYS_getpid) == g.pid;
}

/* Every slot is taken by a thread that has not ended, or whose state
   waits for a new thread: this thread goes untraced meanwhile, which the
   user must hear. */
static tslot *spare_slot(void)
{
    static atomic_flag said = ATOMIC_FLAG_INIT;
    _Static_assert(SLOTS == 16384, "the message names the table's size");
    if (atomic_load_explicit(&g.mode, memory_order_relaxed) == ACTIVE &&
        !atomic_flag_test_and_set(&said)) {
        static const char msg[] = "rcgc preload: more than 16384 threads at once: "
                                  "threads past them are not traced until others end\n";
        ssize_t rc = write(2, msg, sizeof msg - 1);
        (void)rc;
    }
    return &spare;
}

/* tp's slot (its key tp or tp | SLOT_ENDING), or NULL; *reclaiming: a slot on
   the way is being reclaimed. */
static tslot *find(uintptr_t tp, bool *reclaiming)
{
    size_t i = slot_home(tp), last = atomic_load_explicit(&probe_max, memory_order_acquire);
    for (size_t n = 0; n <= last; n++, i = (i + 1) & (SLOTS - 1)) {
        uintptr_t k = atomic_load_explicit(&slots[i].key, memory_order_acquire);
        if ((k & ~SLOT_ENDING) == tp)
            return &slots[i];
        if (k == 0)
            break; /* the end of tp's probe sequence */
        *reclaiming |= k == SLOT_RECLAIMING;
    }
    return NULL;
}

/* A free slot for tp, or NULL if there is none (the signals held back: a
   handler on this thread must not claim a second one meanwhile). */
static tslot *claim(uintptr_t tp)
{
    size_t i = slot_home(tp);
    for (unsigned n = 0; n < SLOTS; n++, i = (i + 1) & (SLOTS - 1)) {
        uintptr_t k = atomic_load_explicit(&slots[i].key, memory_order_relaxed);
        if ((k != 0 && k != SLOT_FREE) ||
            !atomic_compare_exchange_strong_explicit(&slots[i].key, &k, tp,
                                                     memory_order_acq_rel,
                                                     memory_order_relaxed))
            continue; /* taken (maybe just now, by another thread) */
        unsigned far = atomic_load_explicit(&probe_max, memory_order_relaxed);
        while (n > far && !atomic_compare_exchange_weak_explicit(&probe_max, &far, n,
                                                                 memory_order_release,
                                                                 memory_order_relaxed))
            ;
        size_t at = i / SLOTS_PER_PAGE;
        atomic_fetch_or_explicit(&pages_used[at / 64], UINT64_C(1) << (at % 64),
                                 memory_order_relaxed);
        slots[i].busy_depth = BUSY_AT_START;
        return &slots[i];
    }
    return NULL;
}

/* tp's ending slot, met by a thread with that thread pointer: the thread
   that is ending, or a new one on its descriptor (the ended thread is
   gone: glibc reuses a stack only then), which takes the slot over; NULL
   if slot_reclaim took it first. */
static tslot *ending_met(tslot *s, uintptr_t tp)
{
    if ((uint32_t)atomic_load_explicit(&s->ender, memory_order_relaxed) == my_tid() ||
        !recording_process())
        return s; /* the ending thread itself (or a vfork child of it: its parent's) */
    uint64_t mask = hold_signals();
    uintptr_t k = tp | SLOT_ENDING;
    bool mine = atomic_compare_exchange_strong_explicit(&s->key, &k, tp, memory_order_acq_rel,
                                                        memory_order_relaxed);
    if (mine) {
        s->left = s->state;
        s->state = NULL;
        if (s->left) /* a live thread's: the leak scan reads its stack */
            atomic_store_explicit(&s->left->in_use, true, memory_order_relaxed);
        s->busy_depth = BUSY_AT_START;
        s->guard_depth = 0;
        s->deferred_sig = 0;
    }
    release_signals(mask);
    return mine ? s : NULL;
}

/* my_slot's slow path: the slot is not at tp's home (another thread's is),
   the thread has ended (or a new one has its thread pointer), or it has
   no slot yet. */
NOINLINE tslot *slot_slow(uintptr_t tp)
{
    for (;;) {
        bool reclaiming = false;
        tslot *s = find(tp, &reclaiming);
        if (s && atomic_load_explicit(&s->key, memory_order_relaxed) == tp)
            return s;
        if (s && (s = ending_met(s, tp)))
            return s; /* (NULL: reclaimed meanwhile: a new thread claims a slot) */
        if (reclaiming && recording_process()) {
            syscall(SYS_sched_yield); /* a slot being reclaimed may be ours */
            continue;
        }
        uint64_t mask = hold_signals();
        bool full = !find(tp, &reclaiming) && !claim(tp); /* found: a handler on this
                                                        thread claimed it meanwhile */
        release_signals(mask);
        if (full)
            return spare_slot();
        /* the next round finds it */
    }
}

/* The calling thread's key destructor runs: its slot is marked ending. */
void slot_ending(tslot *s)
{
    uintptr_t tp = thread_pointer();
    if (atomic_load_explicit(&s->key, memory_order_relaxed) != tp)
        return; /* the spare slot, or ending already */
    uint64_t ended = (atomic_load_explicit(&s->ender, memory_order_relaxed) >> 32) + 1;
    atomic_store_explicit(&s->ender, ended << 32 | my_tid(), memory_order_relaxed);
    TSAN_RELEASE(s); /* (TSan knows the thread still: its own key destructor
                        finishes it in glibc's last round of them) */
    atomic_store_explicit(&s->key, tp | SLOT_ENDING, memory_order_release);
}

/* A slot no thread owns any more: its fields cleared, then free. */
static void give_back(tslot *s)
{
    s->state = s->left = NULL;
    s->busy_depth = s->guard_depth = 0;
    s->deferred_sig = 0;
    TSAN_RELEASE(s);
    atomic_store_explicit(&s->key, SLOT_FREE, memory_order_release);
}

/* t's slot s given back if its thread has ended and is gone (t is its
   state, held there: the caller may reuse it then).  With the lock held
   (attach): one reclaim at a time. */
bool slot_reclaim(tslot *s, const tstate *t)
{
    uintptr_t k = atomic_load_explicit(&s->key, memory_order_acquire);
    if (!(k & SLOT_ENDING) || k == SLOT_FREE)
        return false;
    uint64_t ender = atomic_load_explicit(&s->ender, memory_order_relaxed);
    if (syscall(SYS_tgkill, g.pid, (pid_t)(uint32_t)ender, 0) == 0 || errno != ESRCH)
        return false; /* still there: its last destructors may run */
    if (!atomic_compare_exchange_strong_explicit(&s->key, &k, SLOT_RECLAIMING,
                                                 memory_order_acq_rel, memory_order_relaxed))
        return false; /* taken over */
    TSAN_ACQUIRE(s);
    if (atomic_load_explicit(&s->ender, memory_order_relaxed) != ender || s->state != t) {
        /* another ended there since, or t is no longer this slot's state */
        TSAN_RELEASE(s);
        atomic_store_explicit(&s->key, k, memory_order_release);
        return false;
    }
    give_back(s);
    return true;
}

#ifdef RCGC_TSAN
/* The calling thread, which TSan knows now, acquires its slot's
   hand-over: claimed or taken over at its first call, before TSan knew
   it. */
void slot_tsan_owned(void)
{
    TSAN_ACQUIRE(my_slot());
}
#endif

/* Calls fn on each slot of the pages in use. */
static void each_slot(void (*fn)(tslot *))
{
    for (size_t w = 0; w < sizeof pages_used / sizeof *pages_used; w++) {
        uint64_t bits = atomic_load_explicit(&pages_used[w], memory_order_relaxed);
        for (; bits; bits &= bits - 1) {
            size_t first = (w * 64 + (size_t)__builtin_ctzll(bits)) * SLOTS_PER_PAGE;
            for (size_t i = first; i < first + SLOTS_PER_PAGE; i++)
                fn(&slots[i]);
        }
    }
}

/* slots_after_fork's step: the caller's slot keeps its flags (its thread
   id is the child's now, its left state the parent's capture's); every
   other is freed, its fields cleared (one may have been inside the
   allocator: guarded). */
static void fork_slot(tslot *s)
{
    uintptr_t k = atomic_load_explicit(&s->key, memory_order_relaxed);
    if (k == 0 || k == SLOT_FREE)
        return;
    if ((k & ~SLOT_ENDING) == thread_pointer()) {
        atomic_store_explicit(&s->ender, my_tid(), memory_order_relaxed);
        s->left = NULL;
        return;
    }
    give_back(s);
}

/* In a fork child (one thread, this one): the parent's other threads are
   gone, and a new thread may get one of their thread pointers (glibc
   reuses their stacks): their slots are freed (a reclaim the fork cut
   short with them). */
void slots_after_fork(void)
{
    each_slot(fork_slot);
}
