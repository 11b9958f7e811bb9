/*
 * slots.c — each thread's flags (busy, guarded, deferred) and its state,
 * found without thread-local storage (shim.h, "Each thread's flags and
 * state": why, and the table's layout).  May call: nothing but the
 * kernel (the signal mask).  Not instrumented in the TSan build: an
 * exported function finds its slot before TSan knows the thread.
 *
 * Lifecycle of a slot:
 *   0 (never used) or SLOT_FREE --claim (CAS, by the thread itself)--> tp
 *   tp --a fork child: every thread's slot but the caller's--> SLOT_FREE
 * A slot that is not owned has every field 0, so a claim needs to set
 * nothing but busy (1 in the TSan build: a thread is busy until TSan has
 * set it up, bootstrap.c).  The thread pointer of an ended thread comes
 * back with the next thread glibc starts on its stack, which then owns the
 * slot: the ended thread left busy and guarded at 0 (the TSan trampoline
 * leaves busy 1, as a new thread needs it) and its state detached
 * (thread_gone; events after the key destructors, glibc's own frees at a
 * thread's end, attach one again, which that next thread takes over).
 */
#include "shim.h"

#ifdef RCGC_TSAN
#define BUSY_AT_START 1
#else
#define BUSY_AT_START 0
#endif

#define SLOTS (1u << SLOT_BITS)
#define SLOTS_PER_PAGE (4096u / sizeof(tslot))

tslot slots[SLOTS];
tslot spare = {.busy_depth = INT_MAX / 2}; /* more threads than slots: never traced */
static _Atomic uint64_t pages_used[(SLOTS / SLOTS_PER_PAGE + 63) / 64]; /* a fork child
                                        clears these pages of the table only */
_Static_assert(SLOTS % SLOTS_PER_PAGE == 0, "whole pages of slots");

/* Every slot is taken (slots are never given back: see shim.h): this
   thread and every later new one go untraced, which the user must hear. */
static tslot *spare_slot(void)
{
    static atomic_flag said = ATOMIC_FLAG_INIT;
    _Static_assert(SLOTS == 16384, "the message names the table's size");
    if (!atomic_flag_test_and_set(&said)) {
        static const char msg[] = "rcgc preload: more than 16384 thread descriptors in "
                                  "this process's life: threads started from here on "
                                  "are not traced\n";
        ssize_t rc = write(2, msg, sizeof msg - 1);
        (void)rc;
    }
    return &spare;
}

/* tp's slot, claimed if it has none (the signals held back: a handler on
   this thread must not claim a second one meanwhile). */
static tslot *claim(uintptr_t tp)
{
    for (;;) {
        tslot *free_slot = NULL;
        size_t i = slot_home(tp);
        for (size_t n = 0; n < SLOTS; n++, i = (i + 1) & (SLOTS - 1)) {
            uintptr_t k = atomic_load_explicit(&slots[i].key, memory_order_acquire);
            if (k == tp)
                return &slots[i];
            if ((k == 0 || k == SLOT_FREE) && !free_slot)
                free_slot = &slots[i];
            if (k == 0)
                break; /* the end of tp's probe sequence: not there */
        }
        if (!free_slot)
            return spare_slot();
        uintptr_t k = atomic_load_explicit(&free_slot->key, memory_order_relaxed);
        if ((k == 0 || k == SLOT_FREE) &&
            atomic_compare_exchange_strong_explicit(&free_slot->key, &k, tp,
                                                    memory_order_acq_rel,
                                                    memory_order_relaxed)) {
            size_t at = (size_t)(free_slot - slots) / SLOTS_PER_PAGE;
            atomic_fetch_or_explicit(&pages_used[at / 64], UINT64_C(1) << (at % 64),
                                     memory_order_relaxed);
            free_slot->busy_depth = BUSY_AT_START;
            return free_slot;
        }
        /* another thread took it: look again */
    }
}

/* my_slot's slow path: the slot is not at tp's home (another thread's is),
   or the thread has none yet. */
NOINLINE tslot *slot_slow(uintptr_t tp)
{
    size_t i = slot_home(tp);
    for (size_t n = 0; n < SLOTS; n++, i = (i + 1) & (SLOTS - 1)) {
        uintptr_t k = atomic_load_explicit(&slots[i].key, memory_order_relaxed);
        if (k == tp)
            return &slots[i];
        if (k == 0)
            break;
    }
    uint64_t all = ~(uint64_t)0, old;
    syscall(SYS_rt_sigprocmask, SIG_BLOCK, &all, &old, sizeof all);
    tslot *s = claim(tp);
    syscall(SYS_rt_sigprocmask, SIG_SETMASK, &old, NULL, sizeof old);
    return s;
}

/* In a fork child (one thread, this one): the parent's other threads are
   gone, and a new thread may get one of their thread pointers (glibc
   reuses their stacks): their slots are freed, their fields cleared (one
   may have been inside the allocator: guarded).  Freed, not emptied: a
   slot after them in a probe sequence must stay reachable. */
void slots_after_fork(void)
{
    tslot *mine = my_slot();
    for (size_t w = 0; w < sizeof pages_used / sizeof *pages_used; w++) {
        uint64_t bits = atomic_load_explicit(&pages_used[w], memory_order_relaxed);
        for (; bits; bits &= bits - 1) {
            size_t first = (w * 64 + (size_t)__builtin_ctzll(bits)) * SLOTS_PER_PAGE;
            for (size_t i = first; i < first + SLOTS_PER_PAGE; i++) {
                uintptr_t k = atomic_load_explicit(&slots[i].key, memory_order_relaxed);
                if (&slots[i] == mine || k == 0 || k == SLOT_FREE)
                    continue;
                slots[i].state = NULL;
                slots[i].busy_depth = slots[i].guard_depth = 0;
                slots[i].deferred_sig = 0;
                atomic_store_explicit(&slots[i].key, SLOT_FREE, memory_order_release);
            }
        }
    }
}
