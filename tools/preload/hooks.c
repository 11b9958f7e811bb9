/*
 * hooks.c — the hot path: the exported malloc family and librcgc's managed
 * objects, each allocation's stack and info id (looked up by the frames'
 * hash in known.c's table), its store into the shadow, the live count and the
 * thread's record; thread states.  May call: the real allocator, the
 * capture writer, the trace engine's stack walk, and record.c on a cache
 * miss.  Every exported function here is one frame the walk skips.
 */
#include "shim.h"

/* ---- Stack hashes ------------------------------------------------------------------- */

/* a * b folded to 64 bits (the high half of the 128-bit product xor'ed with
   the low): every bit of both operands reaches every bit of the result. */
static inline uint64_t fold(uint64_t a, uint64_t b)
{
    __extension__ unsigned __int128 m = (unsigned __int128)a * b;
    return (uint64_t)m ^ (uint64_t)(m >> 64);
}

/* Two frames per 128-bit multiply, the running hash in one operand (the
   order of the frames counts): fewer instructions than a multiply and a
   shift per frame (callgrind: 33 an allocation fewer on sqlite's 20-frame
   stacks).  The constants keep both operands far from 0 (a frame is a
   user-space address, below 2^47).  Out of line: inlined into on_alloc,
   GCC kept each product in memory (callgrind: 36 instructions an
   allocation more on manystacks' 20-frame stacks). */
NOINLINE uint64_t hash_frames_on(uint64_t h, void *const *f, size_t n)
{
    const uint64_t k0 = UINT64_C(0xA0761D6478BD642F), k1 = UINT64_C(0xE7037ED1A0B428DB);
    size_t i = 0;
    for (; i + 2 <= n; i += 2)
        h = fold((uint64_t)(uintptr_t)f[i] ^ k0, (uint64_t)(uintptr_t)f[i + 1] ^ k1 ^ h);
    if (i < n)
        h = fold((uint64_t)(uintptr_t)f[i] ^ k0, k1 ^ h);
    return h;
}

/* ---- Type and info ids ----------------------------------------------------------------- */

static uint32_t type_id(tstate *t, const char *name)
{
    size_t slot = (size_t)(((uintptr_t)name * UINT64_C(0x9E3779B97F4A7C15)) >> 58) &
                  (TYPE_CACHE - 1);
    if (LIKELY(t->types[slot].name == name))
        return t->types[slot].id;
    int cancel;
    lock(&cancel);
    uint32_t id = type_intern(name);
    unlock(cancel);
    t->types[slot].name = name;
    t->types[slot].id = id;
    return id;
}


/* An info new to the process (or one known.c could not keep): made, or
   found, under the lock. */
static NOINLINE uint32_t info_new(void *const *frames, size_t depth, uint64_t fh, uint64_t size,
                                  uint64_t weight, uint32_t type)
{
    uint32_t node = stack_node(frames, depth, fh);
    int cancel;
    lock(&cancel);
    uint32_t id = info_intern(info_hash(size, node, type), size, weight, node, type);
    if (id)
        known_add(&known_infos, fh, size, type, id);
    unlock(cancel);
    return id;
}

/* The info id of an allocation of size bytes (weight: what it stands for)
   at this stack, keyed by the frames' hash fh: the infos every thread has
   made, looked up without the lock (known.c); the stack node is only
   needed for an info new to the process, which takes the lock.  0 when
   out of room. */
static inline __attribute__((always_inline)) uint32_t info_id(void *const *frames, size_t depth,
                                                              uint64_t fh, uint64_t size,
                                                              uint64_t weight, uint32_t type)
{
    uint32_t id = known_find(&known_infos, fh, size, type);
    return LIKELY(id != 0) ? id : info_new(frames, depth, fh, size, weight, type);
}

/* ---- Sampling ----------------------------------------------------------------------- */

/* 0: this allocation is not sampled. */
static uint64_t sample(tstate *t, size_t size)
{
    t->countdown -= (double)size;
    if (t->countdown > 0)
        return 0;
    t->countdown = rct_sample_gap(&t->rng, (double)g.sample_mean);
    return rct_sample_weight(size, (double)g.sample_mean);
}

/* ---- Thread states ------------------------------------------------------------------ */

/* An alternate signal stack for the thread, unless it has one: the crash
   handler (process.c) then runs after a stack overflow too.  Kept with the
   state, which a later thread reuses. */
static void altstack(tstate *t)
{
    stack_t cur;
    if (syscall(SYS_sigaltstack, NULL, &cur) != 0 || !(cur.ss_flags & SS_DISABLE))
        return;
    if (!t->altstack)
        t->altstack = pages_alloc(NULL, ALTSTACK_BYTES);
    if (t->altstack)
        syscall(SYS_sigaltstack, &(stack_t){.ss_sp = t->altstack, .ss_size = ALTSTACK_BYTES},
                NULL);
}

/* A state for a new thread, the lock held: one whose thread has ended
   and is gone, its slot given back; NULL if none. */
static tstate *reusable(void)
{
    for (tstate *t = g.threads; t; t = t->next)
        if (!t->in_use && t->gen == g.gen && slot_reclaim(t->slot, t))
            return t;
    return NULL;
}

/* The calling thread's state: the one an ended thread left in its slot
   (slots.c, takeover), else an ended thread's (reusable), else a new one;
   NULL when out of memory. */
NOINLINE tstate *attach(void)
{
    tslot *s = my_slot();
    tstate *t = s->left;
    s->left = NULL;
    int cancel;
    lock(&cancel);
    if (t || (t = reusable())) {
        (void)__atomic_load_n(&t->in_event, __ATOMIC_ACQUIRE); /* after its thread's
                                                                 last event */
        t->in_use = true;
    } else if ((t = pages_alloc(NULL, sizeof *t))) {
        rcc_writer_options o = {.sink = thread_sink, .chunk_bytes = g.chunk, .level = g.level,
                                .tid = (uint32_t)syscall(SYS_gettid),
                                .time_grain_us = TIME_GRAIN_US};
        t->w = rcc_writer_new(&o);
        if (!t->w) {
            pages_free(NULL, t, sizeof *t);
            t = NULL;
        } else {
            t->gen = g.gen;
            t->in_use = true;
            t->next = g.threads;
            g.threads = t;
        }
    }
    unlock(cancel);
    if (!t)
        return NULL;
    memset(&t->walker, 0, sizeof t->walker); /* a reused state: the last thread's walk is not ours */
    t->slot = s;
    rct_stack_bounds(&t->walker.stack_lo, &t->walker.stack_hi); /* found now: walks never
                                                                   allocate */
    altstack(t);
    t->rng = (clock_ns(CLOCK_MONOTONIC) ^ (uint64_t)(uintptr_t)t) | 1; /* never 0 */
    if (g.sample_mean)
        t->countdown = rct_sample_gap(&t->rng, (double)g.sample_mean);
    t->since_fine = FINE_EVERY; /* read the clock at the first event */
    t->flushed_us = mono_us();
    self = t;
    pthread_setspecific(g.key, t);
    return t;
}

void enter(tstate *t)
{
    __atomic_store_n(&t->in_event, 1, __ATOMIC_RELAXED);
    if (g.strong_fence)
        atomic_thread_fence(memory_order_seq_cst);
    else
        atomic_signal_fence(memory_order_seq_cst);
}

static void drain_queue(tstate *t);

static inline void flag_down(tstate *t)
{
    atomic_signal_fence(memory_order_seq_cst);
    __atomic_store_n(&t->in_event, 0, __ATOMIC_RELEASE); /* the finisher reads its writer */
    atomic_signal_fence(memory_order_seq_cst);
}

void leave(tstate *t)
{
    flag_down(t);
    if (UNLIKELY(__atomic_load_n(&t->nqueued, __ATOMIC_RELAXED)))
        drain_queue(t); /* signal handlers' events, queued meanwhile */
}

/* pthread key destructor: a thread is ending; its records go out now.
   Its state stays with its slot for what the thread does until it is
   gone (later destructors, glibc's frees of its buffers): the slot is
   marked ending (slots.c). */
void thread_gone(void *v)
{
    tstate *t = v;
    tslot *s = my_slot();
    if (t && t->gen == g.gen) {
        guard_enter_at(s);
        s->busy_depth++;
        enter(t);
        bool active = atomic_load(&g.mode) == ACTIVE;
        if (active)
            rcc_writer_flush(t->w);
        leave(t);
        s->busy_depth--;
        if (active) { /* else the finisher owns it */
            int cancel;
            lock(&cancel);
            t->in_use = false;
            unlock(cancel);
        }
        guard_leave_at(s);
    }
    slot_ending(s);
}

/* ---- Time of an event ---------------------------------------------------------------- */

/* The thread's chunk may fill with the next records: compressing it may
   allocate (zstd): quiet_begin. */
static bool may_flush(const tstate *t)
{
    return rcc_writer_pending(t->w) + 512 >= g.chunk;
}

/* After a fine clock read: the timeline sample, and the periodic flush. */
static NOINLINE void housekeeping(tstate *t, uint64_t now)
{
    uint64_t last = atomic_load_explicit(&g.last_sample_us, memory_order_relaxed);
    if (now - last >= SAMPLE_US && now > last &&
        atomic_compare_exchange_strong(&g.last_sample_us, &last, now)) {
        rcc_event e = {.kind = RCC_SAMPLE, .time_us = now, .heap_bytes = atomic_load(&g.live),
                       .rss_bytes = rss_bytes()};
        quiet q = quiet_begin(may_flush(t));
        rcc_write(t->w, &e);
        quiet_end(q);
    }
    if (now - t->flushed_us >= FLUSH_US) {
        t->flushed_us = now;
        quiet q = quiet_begin(true);
        rcc_writer_flush(t->w);
        quiet_end(q);
    }
}

/* Microseconds since the start.  The fine clock costs ~25 ns: it is read
   every FINE_EVERY events, or when the tick has moved (so a quiet thread's
   first event after a pause is timed right). */
static uint64_t now_us(tstate *t)
{
    uint64_t tick = tick_ns();
    if (tick != t->last_tick || ++t->since_fine >= FINE_EVERY) {
        t->last_tick = tick;
        t->since_fine = 0;
        uint64_t fine = clock_ns(CLOCK_MONOTONIC), now = (fine - g.start_ns) / 1000u;
        if (fine > tick + TICK_STALE_NS)
            atomic_store_explicit(&tick_page, NULL, memory_order_relaxed);
        t->now_us = now > t->now_us ? now : t->now_us;
        housekeeping(t, t->now_us);
    }
    return t->now_us;
}

/* ---- Events ------------------------------------------------------------------------- */


/* The thread's state, attached on its first event (which allocates). */
static inline __attribute__((always_inline)) tstate *state(tslot *s)
{
    tstate *t = s->state;
    if (LIKELY(t != NULL))
        return t;
    s->busy_depth++;
    t = attach();
    s->busy_depth--;
    return t;
}

/* ---- Events from signal handlers ----------------------------------------------------
 * A handler that allocates or frees while its thread is inside an event
 * (its writer, caches or the shim's lock in use) must not touch them: its
 * events wait in the thread's queue and are written, in order, when the
 * event leaves (leave).  A handler's block goes into the shadow at once as
 * PENDING, so that a free of it (in the handler, or in another before the
 * queue is written) finds it.  The queue is written with the signals held
 * back (quiet_begin): a stream of handlers interrupting the writing, each
 * slower to write than to queue (a new stack per interrupted place), made
 * it outgrow NESTED_MAX and lose events.  It is checked after the event's
 * flag drops, so a handler that came just before finds it again.  A
 * handler that interrupts the shim where it may allocate (busy: libunwind)
 * is not traced, nor are events past NESTED_MAX waiting in one event. */

static struct nested *queue_slot(tstate *t)
{
    uint32_t k = __atomic_fetch_add(&t->nqueued, 1, __ATOMIC_RELAXED); /* handlers nest */
    return k < NESTED_MAX ? &t->queue[k] : NULL;
}

/* A handler's free of a block it allocated while the queue was waiting. */
static void pending_freed(tstate *t, uintptr_t p)
{
    uint32_t n = __atomic_load_n(&t->nqueued, __ATOMIC_RELAXED);
    for (uint32_t i = n < NESTED_MAX ? n : NESTED_MAX; i-- > 0;)
        if (!t->queue[i].id && t->queue[i].p == p && !t->queue[i].freed) {
            t->queue[i].freed = true;
            return;
        }
}

/* The A record; returns the block's shadow word (its id, and the A's time
   for the F's age). */
static inline __attribute__((always_inline)) uint64_t write_alloc(tstate *t, uintptr_t p,
                                                                uint64_t now, uint64_t weight,
                                                                uint32_t id)
{
    uint64_t live = atomic_fetch_add_explicit(&g.live, weight, memory_order_relaxed) + weight;
    if (live > t->peak) { /* the finisher reads them: relaxed atomic stores */
        __atomic_store_n(&t->peak, live, __ATOMIC_RELAXED);
        __atomic_store_n(&t->peak_us, now, __ATOMIC_RELAXED);
    }
    quiet q = quiet_begin(may_flush(t));
    rcc_writer_time(t->w, now);
    rcc_write_alloc(t->w, id);
    quiet_end(q);
    t->last_alloc = p;
    return shadow_word(id, rcc_writer_stamp(t->w));
}

static inline __attribute__((always_inline)) void write_free(tstate *t, uintptr_t p, uint64_t word)
{
    bool temporary = t->last_alloc == p;
    t->last_alloc = 0;
    uint64_t now = now_us(t);
    quiet q = quiet_begin(may_flush(t));
    rcc_writer_time(t->w, now);
    rcc_write_free(t->w, word_id(word), temporary, word_stamp(word));
    quiet_end(q);
}

/* Inside an event, signals held back: write the queued events. */
static void drain(tstate *t)
{
    uint32_t n = __atomic_load_n(&t->nqueued, __ATOMIC_RELAXED);
    for (uint32_t i = 0; i < n && i < NESTED_MAX; i++) {
        const struct nested *e = &t->queue[i];
        if (e->id) {
            write_free(t, e->p, e->id);
            continue;
        }
        uint64_t now = now_us(t), weight = e->size;
        if (g.sample_mean && !(weight = sample(t, e->size))) {
            shadow_take(e->p);
            continue;
        }
        uint32_t id = info_id(e->frames, e->depth, e->depth ? hash_frames(e->frames, e->depth) : 0,
                              e->size, weight, e->type ? type_id(t, e->type) : 0);
        uint64_t *slot = e->freed ? NULL : slot_of(e->p, false); /* PENDING's */
        if (!id || (!e->freed && !slot)) {
            shadow_take(e->p);
            continue;
        }
        uint64_t word = write_alloc(t, e->p, now, weight, id);
        if (slot)
            __atomic_store_n(slot, word, __ATOMIC_RELAXED);
        if (e->freed) {
            atomic_fetch_sub_explicit(&g.live, weight, memory_order_relaxed);
            write_free(t, e->p, word);
        }
    }
    __atomic_store_n(&t->nqueued, 0, __ATOMIC_RELAXED);
}

/* After an event (its flag down), handlers' events are waiting: an event
   of its own writes them.  A handler that comes while they are written
   waits (quiet_begin), then queues again: the loop takes it; one that
   comes once the flag is down writes its own and the waiting ones. */
static NOINLINE void drain_queue(tstate *t)
{
    while (__atomic_load_n(&t->nqueued, __ATOMIC_RELAXED)) {
        enter(t);
        bool active = atomic_load_explicit(&g.mode, memory_order_relaxed) == ACTIVE;
        if (active) {
            quiet q = quiet_begin(true);
            drain(t);
            quiet_end(q);
        }
        flag_down(t);
        if (!active)
            return; /* the capture is ending */
    }
}

/* Called from the exported function itself (the walk skips this frame and
   that one), after the real allocation succeeded.  type: a managed
   object's type name (rcgc_preload_object), NULL for the malloc family. */
NOINLINE void on_alloc_at(tslot *s, void *p, size_t n, const char *type)
{
    guard_enter_at(s);
    tstate *t = state(s);
    if (!t)
        goto out;
    void *frames[RCC_MAX_DEPTH];
    if (UNLIKELY(t->in_event)) { /* a signal handler's, inside an event */
        struct nested *e = queue_slot(t);
        if (e && shadow_put((uintptr_t)p, PENDING)) {
            *e = (struct nested){.p = (uintptr_t)p, .size = n, .type = type};
            e->depth = walk_stack(s, t, e->frames, 2);
        } else if (e) {
            e->p = 0; /* an untraced block: nothing to write */
            e->freed = true;
        }
        goto out;
    }
    enter(t);
    if (atomic_load_explicit(&g.mode, memory_order_relaxed) != ACTIVE)
        goto done;
    uint64_t now = now_us(t), weight = n;
    python_poll(); /* before sampling: attaching (the census) must not wait for a sample */
    if (g.sample_mean && !(weight = sample(t, n))) {
        t->last_alloc = 0; /* an allocation in between */
        goto done;
    }
    uint64_t fh;
    size_t depth;
    if (UNLIKELY(python_on())) { /* its own walk, one frame more to skip; its hash */
        depth = python_stack(s, t, frames, &fh);
    } else {
        depth = walk_stack(s, t, frames, 2); /* this frame and the exported function's */
        fh = depth ? hash_frames(frames, depth) : 0;
    }
    uint32_t id = info_id(frames, depth, fh, n, weight, type ? type_id(t, type) : 0);
    uint64_t *slot = id ? slot_of((uintptr_t)p, true) : NULL;
    if (slot) /* the block is the program's only once malloc returns: stored after its A */
        __atomic_store_n(slot, write_alloc(t, (uintptr_t)p, now, weight, id), __ATOMIC_RELAXED);
done:
    leave(t);
out:
    guard_leave_at(s);
}

/* Before the real free/realloc releases p: take it out of the shadow.
   Its word (info id and time), or 0 if it was not traced. */
uint64_t on_release(void *p)
{
    return shadow_take((uintptr_t)p);
}

/* A traced block was released (after on_release gave its word). */
NOINLINE void on_free_at(tslot *s, void *p, uint64_t word)
{
    guard_enter_at(s);
    tstate *t = state(s);
    if (!t)
        goto out;
    if (word_id(word) == PENDING) { /* a handler's block, not written yet */
        pending_freed(t, (uintptr_t)p);
        goto out;
    }
    atomic_fetch_sub_explicit(&g.live, inf.tab[word_id(word) - 1].weight, memory_order_relaxed);
    if (UNLIKELY(t->in_event)) { /* a signal handler's, inside an event */
        struct nested *e = queue_slot(t);
        if (e)
            *e = (struct nested){.p = (uintptr_t)p, .id = word};
        goto out;
    }
    enter(t);
    if (atomic_load_explicit(&g.mode, memory_order_relaxed) == ACTIVE)
        write_free(t, (uintptr_t)p, word);
    leave(t);
out:
    guard_leave_at(s);
}


/* ---- The malloc family ---------------------------------------------------------------- */

EXPORT void *malloc(size_t n)
{
    if (UNLIKELY(!ready()))
        return arena_alloc(n, 16);
    tslot *s = my_slot();
    guard_enter_at(s);
    void *p = real.malloc(n);
    guard_leave_at(s);
    if (LIKELY(p != NULL) && recording_at(s))
        on_alloc_at(s, p, n, NULL);
    return p;
}

EXPORT void *calloc(size_t n, size_t size)
{
    if (size && n > SIZE_MAX / size) {
        errno = ENOMEM;
        return NULL;
    }
    if (UNLIKELY(!ready()))
        return arena_alloc(n * size, 16); /* the arena is zeroed, never reused */
    tslot *s = my_slot();
    guard_enter_at(s);
    void *p = real.calloc(n, size);
    guard_leave_at(s);
    if (LIKELY(p != NULL) && recording_at(s))
        on_alloc_at(s, p, n * size, NULL);
    return p;
}

EXPORT void free(void *p)
{
    if (!p || UNLIKELY(in_arena(p)))
        return;
    if (UNLIKELY(!ready()))
        return; /* cannot happen: p came from somewhere */
    tslot *s = my_slot();
    bool tracing = tracing_frees_at(s);
    guard_enter_at(s); /* from taking the block out of the shadow to its F record */
    uint64_t id = tracing ? on_release(p) : 0;
    real.free(p);
    if (id)
        on_free_at(s, p, id);
    else if (tracing && s->state)
        s->state->last_alloc = 0; /* an untraced block: still a free in between */
    guard_leave_at(s);
}

/* realloc and reallocarray: the old block leaves the table before the real
   call; if that fails the block is unchanged and its entry goes back. */
static void restore(void *p, uint64_t word)
{
    shadow_put((uintptr_t)p, word);
}

/* The real realloc, recorded: the body of realloc and reallocarray once
   ready.  Always inlined, so on_alloc is still called from the exported
   function's own frame (the walk skips a fixed number of frames). */
static inline __attribute__((always_inline)) void *realloc_traced(void *p, size_t n)
{
    tslot *s = my_slot();
    bool tracing = p && tracing_frees_at(s);
    guard_enter_at(s); /* from taking the block out of the shadow to its F record */
    uint64_t old = tracing ? on_release(p) : 0;
    void *q = real.realloc(p, n);
    if (!q && (n || !p)) { /* failed (glibc: realloc(p, 0) frees p, gives NULL) */
        if (old)
            restore(p, old);
        guard_leave_at(s);
        return NULL;
    }
    if (old)
        on_free_at(s, p, old);
    guard_leave_at(s);
    if (q && recording_at(s))
        on_alloc_at(s, q, n, NULL);
    return q;
}

EXPORT void *realloc(void *p, size_t n)
{
    if (p && UNLIKELY(in_arena(p)))
        return arena_realloc(p, n);
    if (UNLIKELY(!ready()))
        return arena_alloc(n, 16);
    return realloc_traced(p, n);
}

/* glibc's reallocarray calls realloc through the PLT (it would be recorded
   twice): after the overflow check, this is realloc. */
EXPORT void *reallocarray(void *p, size_t n, size_t size)
{
    if (size && n > SIZE_MAX / size) {
        errno = ENOMEM;
        return NULL;
    }
    if ((p && UNLIKELY(in_arena(p))) || UNLIKELY(!ready()))
        return realloc(p, n * size);
    return realloc_traced(p, n * size);
}

EXPORT int posix_memalign(void **out, size_t align, size_t n)
{
    if (UNLIKELY(!ready())) {
        void *p = arena_alloc(n, align);
        if (!p)
            return ENOMEM;
        *out = p;
        return 0;
    }
    tslot *s = my_slot();
    guard_enter_at(s);
    int rc = real.posix_memalign(out, align, n);
    guard_leave_at(s);
    if (rc == 0 && recording_at(s))
        on_alloc_at(s, *out, n, NULL);
    return rc;
}

EXPORT void *aligned_alloc(size_t align, size_t n)
{
    if (UNLIKELY(!ready()))
        return arena_alloc(n, align);
    tslot *s = my_slot();
    guard_enter_at(s);
    void *p = real.aligned_alloc(align, n);
    guard_leave_at(s);
    if (p && recording_at(s))
        on_alloc_at(s, p, n, NULL);
    return p;
}

EXPORT void *memalign(size_t align, size_t n)
{
    if (UNLIKELY(!ready()))
        return arena_alloc(n, align);
    tslot *s = my_slot();
    guard_enter_at(s);
    void *p = real.memalign(align, n);
    guard_leave_at(s);
    if (p && recording_at(s))
        on_alloc_at(s, p, n, NULL);
    return p;
}

EXPORT void *valloc(size_t n)
{
    if (UNLIKELY(!ready()) || !real.valloc)
        return memalign((size_t)sysconf(_SC_PAGESIZE), n);
    tslot *s = my_slot();
    guard_enter_at(s);
    void *p = real.valloc(n);
    guard_leave_at(s);
    if (p && recording_at(s))
        on_alloc_at(s, p, n, NULL);
    return p;
}

/* The size recorded is the one asked for, not the page-rounded one. */
EXPORT void *pvalloc(size_t n)
{
    size_t pg = (size_t)sysconf(_SC_PAGESIZE);
    if (UNLIKELY(!ready()) || !real.pvalloc)
        return memalign(pg, n ? (n + pg - 1) & ~(pg - 1) : pg);
    tslot *s = my_slot();
    guard_enter_at(s);
    void *p = real.pvalloc(n);
    guard_leave_at(s);
    if (p && recording_at(s))
        on_alloc_at(s, p, n, NULL);
    return p;
}

EXPORT size_t malloc_usable_size(void *p)
{
    if (!p)
        return 0;
    if (in_arena(p))
        return arena_size(p);
    if (UNLIKELY(!ready()))
        return 0;
    return real.malloc_usable_size(p);
}

/* ---- librcgc's managed objects ------------------------------------------------------------
 * src/heap.c looks this up (dlsym) when a heap is made and, when found,
 * calls it from rc_new_var (alive 1: block is the object's memory, header
 * included, size its bytes) and wherever an object's memory is given back
 * (alive 0: an object freed, or destroyed by rc_heap_free).  Objects are
 * recorded as A/F records with their type's id, in the same shadow as
 * malloc's blocks: the live bytes, the peak and the leak scan count them
 * (docs/CAPTURE.md).  The stack's innermost frame is rc_new_var's (the walk
 * skips this function and on_alloc), the library's frames kept. */
EXPORT void rcgc_preload_object(void *block, size_t size, const char *type_name, int alive);
EXPORT void rcgc_preload_object(void *block, size_t size, const char *type_name, int alive)
{
    if (alive) {
        if (block && recording())
            on_alloc(block, size, type_name ? type_name : "(unnamed)");
    } else {
        bool tracing = block && tracing_frees();
        guard_enter();
        uint64_t old = tracing ? on_release(block) : 0;
        if (old)
            on_free(block, old);
        guard_leave();
    }
    __asm__ volatile("" ::: "memory"); /* not a tail call: the walk skips this frame */
}
