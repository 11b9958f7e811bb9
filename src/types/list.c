/*
 * list.c — the list type: a growable array of references, its stable
 * sort, iteration, and the free-list machinery that list and dict share.
 *
 * Calls the raw-block API (rc_mem_*) for the item array, core.c for errors
 * and object creation (rci_new, rci_fail, rci_types_of), object.c to park
 * and unpark objects.  core.c
 * calls back for iteration (rci_list_iter_next, rci_list_stamp) and the
 * free list (rci_list_register, rci_list_freelist_clear).
 *
 * Invariants: items[0..len) each hold one reference (NULL only after the
 * collector cleared a garbage list, which is then about to die); len <= cap;
 * items == NULL iff cap == 0.  stamp changes whenever len does, so that an
 * iterator notices.  While sort runs cmp, `locked` is set and every
 * mutator fails with RC_EMUTATED, marking the attempt so that sort reports
 * it: cmp can never move the array sort is working on.
 *
 * Growth follows CPython's over-allocation (about 1/8 spare plus a few
 * slots): appends are amortized O(1) with little slack.  cap is whatever
 * the block's size class holds, so the rounding is never wasted, and
 * rc_mem_realloc grows in place while the class does not change.
 */
#include "types.h"

#include <stdlib.h>

#define LIST_LOCKED 1u    /* in locked: sort is running cmp */
#define LIST_BIG_GROWTH 4096 /* slots: from here on grow by 1/4 (see grow) */
#define LIST_TOUCHED 2u   /* in locked: cmp tried to change the list */
#define LIST_KEEP_CAP 64  /* a parked list keeps an item array up to this */
#define LIST_SHRINK_MIN 64 /* pop never shrinks an array this small */
#define LIST_RUN 16       /* sort: runs this short get insertion sort */

/* ---- Free lists (lists and dicts) ----------------------------------------
 * A dead list or dict whose free list has room is not freed: object.c
 * calls the type's recycle hook, which releases the children and parks the
 * object (refcount 0, RCI_F_PARKED, untracked), keeping a small buffer.
 * The constructor takes a parked object back before allocating.  A full
 * collection and rc_freelists_clear free the parked objects for good.
 * RCGC_NO_FREELISTS=1 (read when a heap registers the types) turns the free
 * lists off, so a benchmark can show whether they pay. */

bool rci_freelists_wanted(void)
{
    const char *v = getenv("RCGC_NO_FREELISTS");
    return !(v && *v && strcmp(v, "0") != 0);
}

/* The newest parked object of list[0..*n), back to life as a new
   reference (count 1, tracked); NULL if there is none. */
void *rci_freelist_take(rc_heap *h, void **list, size_t *n)
{
    if (!*n)
        return NULL;
    void *obj = list[--*n];
    rci_object_unpark(h, obj);
    return obj;
}

/* Free every parked object of list[0..*n) for good. */
void rci_freelist_flush(rc_heap *h, void **list, size_t *n)
{
    while (*n)
        rci_object_free_parked(h, list[--*n]);
}

/* ---- Checks and the item array ------------------------------------------- */

/* o as a list; NULL with RC_ETYPE when it is not a live list (a debug
   heap stops for a freed one: see rci_wrong_type). */
static rci_list *as_list(const void *o, const char *fn)
{
    if (rci_likely(rci_is_live(o, &rc_list_type)))
        return (rci_list *)o;
    rci_wrong_type(o, &rc_list_type, fn, true);
    return NULL;
}

/* The list o, about to change (and take item, unless item is NULL and
   item_ok false): NULL with the error recorded when o is not a list, item
   is NULL or lives on another heap, or a sort is running cmp. */
static rci_list *writable(void *o, const void *item, bool item_ok, const char *fn)
{
    rci_list *l = as_list(o, fn);
    if (!l)
        return NULL;
    if (rci_unlikely(l->locked)) {
        l->locked |= LIST_TOUCHED;
        return rci_fail_null(rci_heap_of(l), RC_EMUTATED);
    }
    if (rci_unlikely(!item_ok))
        return rci_fail_null(rci_heap_of(l), RC_EVALUE);
    if (rci_unlikely(item && !rci_same_heap(l, item))) {
        rci_foreign(rci_heap_of(l), fn, item);
        return NULL;
    }
    return l;
}

/* RC_EINDEX for index i of l, with Python's words and the numbers. */
static void *index_error(const rci_list *l, size_t i)
{
    return rci_failf_null(rci_heap_of(l), RC_EINDEX, "list index %zu out of range (length %zu)",
                          i, l->len);
}

/* RC_EVALUE for a zero step (Python's words). */
static int step_error(rc_heap *h)
{
    return rc_error_setf(h, RC_EVALUE, "slice step cannot be zero");
}

/* Resize the item array to hold at least cap slots (cap >= len).  On
   failure the list is unchanged. */
static rc_error set_cap(rci_list *l, size_t cap)
{
    rc_heap *h = rci_heap_of(l);
    size_t bytes;
    if (!rci_mul_ok(cap, sizeof(void *), &bytes))
        return RC_EOVERFLOW;
    void **items = rc_mem_realloc(h, l->items, bytes);
    if (!items)
        return RC_ENOMEM;
    l->items = items;
    l->cap = rc_mem_usable_size(h, items) / sizeof(void *);
    return RC_OK;
}

/* Room for need items, over-allocating like CPython's list_resize while
   the array is small.  Past LIST_BIG_GROWTH slots it grows by a quarter:
   CPython's glibc realloc moves big arrays with mremap for free, while a
   block beyond a page run here is copied into a fresh mapping, so growing
   by 1/8 copied a 1M-item list's array about 50 times (bench_types (a):
   65% of the build).  Growing by half halved the build but cost 3 bytes
   per item; a quarter keeps most of the gain for at most 2 of them. */
static int grow(rci_list *l, size_t need)
{
    if (rci_likely(need <= l->cap))
        return 0;
    size_t cap = need >= LIST_BIG_GROWTH ? need + (need >> 2) : need + (need >> 3) + 6;
    rc_error e = set_cap(l, cap < need ? need : cap);
    return e ? rci_fail(rci_heap_of(l), e) : 0;
}

/* Give back most of a mostly empty array.  Best effort: a failed shrink
   keeps the old array and reports nothing. */
static void maybe_shrink(rci_list *l)
{
    if (l->cap > LIST_SHRINK_MIN && l->len < l->cap / 4)
        (void)set_cap(l, l->len * 2);
}

/* ---- The type -------------------------------------------------------------- */

static void list_traverse(void *self, rc_visit_fn visit, void *ctx)
{
    rci_list *l = self;
    for (size_t i = 0; i < l->len; i++)
        visit(&l->items[i], ctx);
}

static void list_destroy(void *self)
{
    rci_list *l = self;
    rc_mem_free(rci_heap_of(l), l->items);
}

const rc_type rc_list_type = {.name = "list", .size = sizeof(rci_list),
                              .traverse = list_traverse, .destroy = list_destroy};

/* object.c's recycle hook: park the dead list if the free list has room. */
static bool list_recycle(rc_heap *h, void *obj)
{
    rci_types *ts = h->types_state;
    if (!ts || ts->free_lists == RCI_FREELIST_MAX)
        return false;
    rci_list *l = obj;
    list_traverse(l, rci_visit_release, NULL);
    if (l->cap > LIST_KEEP_CAP) {
        rc_mem_free(h, l->items);
        l->items = NULL;
        l->cap = 0;
    }
    l->len = 0;
    l->locked = 0;
    l->stamp++;
    ts->free_list[ts->free_lists++] = obj;
    return true;
}

void rci_list_register(rc_heap *h, rci_typerec *r)
{
    /* a debug heap frees dead lists, so its quarantine sees them */
    if (rci_freelists_wanted() && !h->cfg.debug)
        r->recycle = list_recycle;
}

void rci_list_freelist_clear(rc_heap *h, rci_types *ts)
{
    rci_freelist_flush(h, ts->free_list, &ts->free_lists);
}

/* ---- Public functions -------------------------------------------------------- */

void *rc_list(rc_heap *h)
{
    rci_types *ts = rci_types_of(h); /* registers the recycle hook */
    if (!ts)
        return NULL;
    void *l = rci_freelist_take(h, ts->free_list, &ts->free_lists);
    return l ? l : rci_new(h, &rc_list_type, sizeof(rci_list));
}

int rc_list_append(void *list, void *item)
{
    rci_list *l = writable(list, item, item != NULL, "rc_list_append");
    if (!l || grow(l, l->len + 1) != 0)
        return -1;
    rc_incref(item);
    l->items[l->len++] = item;
    l->stamp++;
    return 0;
}

size_t rc_list_len(const void *list)
{
    const rci_list *l = as_list(list, "rc_list_len");
    return l ? l->len : 0;
}

void *rc_list_get(const void *list, size_t i)
{
    const rci_list *l = as_list(list, "rc_list_get");
    if (!l)
        return NULL;
    if (rci_unlikely(i >= l->len))
        return index_error(l, i);
    return l->items[i];
}

int rc_list_set(void *list, size_t i, void *item)
{
    rci_list *l = writable(list, item, item != NULL, "rc_list_set");
    if (!l)
        return -1;
    if (i >= l->len)
        return index_error(l, i), -1;
    rc_set(&l->items[i], item);
    return 0;
}

int rc_list_insert(void *list, size_t i, void *item)
{
    rci_list *l = writable(list, item, item != NULL, "rc_list_insert");
    if (!l || grow(l, l->len + 1) != 0)
        return -1;
    if (i > l->len)
        i = l->len;
    memmove(l->items + i + 1, l->items + i, (l->len - i) * sizeof(void *));
    rc_incref(item);
    l->items[i] = item;
    l->len++;
    l->stamp++;
    return 0;
}

void *rc_list_pop(void *list, size_t i)
{
    rci_list *l = writable(list, NULL, true, "rc_list_pop");
    if (!l)
        return NULL;
    if (i >= l->len)
        return index_error(l, i);
    void *item = l->items[i]; /* the list's reference becomes the caller's */
    memmove(l->items + i, l->items + i + 1, (l->len - i - 1) * sizeof(void *));
    l->len--;
    l->stamp++;
    maybe_shrink(l);
    return item;
}

void *rc_list_get_slice(const void *list, rc_slice s)
{
    const rci_list *l = as_list(list, "rc_list_get_slice");
    rci_span sp;
    if (!l)
        return NULL;
    if (rci_slice_adjust(s, l->len, &sp) != 0)
        return step_error(rci_heap_of(l)), NULL;
    rci_list *copy = rc_list(rci_heap_of(l));
    if (!copy)
        return NULL;
    /* Resolve again after rc_list: it may collect, and a finalizer may
       change l (the step is known to be nonzero). */
    rci_slice_adjust(s, l->len, &sp);
    if (grow(copy, sp.count) != 0) {
        rc_decref(copy);
        return NULL;
    }
    for (size_t k = 0; k < sp.count; k++) {
        copy->items[k] = l->items[sp.start + (int64_t)k * sp.step];
        rc_incref(copy->items[k]);
    }
    copy->len = sp.count;
    return copy;
}

/* A size_t index as a slice's: no list is anywhere near INT64_MAX long. */
static int64_t index_of(size_t i)
{
    return i > INT64_MAX ? INT64_MAX : (int64_t)i;
}

void *rc_list_slice(const void *list, size_t start, size_t stop)
{
    return rc_list_get_slice(list, RC_SLICE(index_of(start), index_of(stop), 1));
}

int rc_list_reserve(void *list, size_t cap)
{
    rci_list *l = writable(list, NULL, true, "rc_list_reserve");
    if (!l)
        return -1;
    rc_error e = cap > l->cap ? set_cap(l, cap) : RC_OK;
    return e ? rci_fail(rci_heap_of(l), e) : 0;
}

/* The items of src, a container rc_list_extend takes, into *n; for a
   list or tuple also their array (*items; NULL for sets and dicts, read
   through rc_iter).  false with RC_ETYPE for anything else. */
static bool extend_source(const void *src, void *const **items, size_t *n)
{
    const rc_type *t = src ? rc_typeof(src) : NULL;
    *items = NULL;
    if (t == &rc_list_type) {
        *items = ((const rci_list *)src)->items;
        *n = ((const rci_list *)src)->len;
    } else if (t == &rc_tuple_type) {
        *items = ((const rci_tuple *)src)->items;
        *n = ((const rci_tuple *)src)->n;
    } else if (rci_is_setlike(t)) {
        *n = rc_set_len(src);
    } else if (t == &rc_dict_type) {
        *n = rc_dict_len(src);
    } else {
        return false;
    }
    return !(rci_head(src)->flags & RCI_F_FREE);
}

/* RC_ETYPE for a source extend_source refused, naming its type. */
static int source_error(rc_heap *h, const char *fn, const void *src)
{
    return rc_error_setf(h, RC_ETYPE, "%s: expected list, tuple, set, frozenset or dict, got %s",
                     fn, rc_typeof(src)->name);
}

int rc_list_extend(void *list, const void *src)
{
    rci_list *l = writable(list, src, src != NULL, "rc_list_extend");
    void *const *items;
    size_t n, total;
    if (!l)
        return -1;
    if (!extend_source(src, &items, &n))
        return source_error(rci_heap_of(l), "rc_list_extend", src);
    if (__builtin_add_overflow(l->len, n, &total))
        return rci_fail(rci_heap_of(l), RC_EOVERFLOW);
    if (grow(l, total) != 0)
        return -1;
    if (src == l)
        items = l->items; /* l.extend(l): its array may have moved */
    rc_iter it;
    rc_iter_init(&it, src);
    for (size_t k = 0; k < n; k++) {
        void *item;
        if (items)
            item = items[k];
        else
            rc_iter_next(&it, &item, NULL); /* nothing runs in between: cannot fail */
        rc_incref(item);
        l->items[l->len + k] = item;
    }
    l->len = total;
    l->stamp++;
    return 0;
}

/* Release the n references held in block (a raw block of h, freed). */
static void release_block(rc_heap *h, void **block, size_t n)
{
    for (size_t k = 0; k < n; k++)
        rc_decref(block[k]);
    rc_mem_free(h, block);
}

/* Python's list_ass_slice and the extended-slice assignment: every
   allocation (one block for the new items and the replaced ones, the
   list's room) happens before anything moves, so a failure changes
   nothing; the new items are copied out of src first, so src may be l. */
int rc_list_set_slice(void *list, rc_slice s, const void *src)
{
    rci_list *l = writable(list, src, src != NULL, "rc_list_set_slice");
    void *const *items;
    void **block;
    size_t n, slots, bytes, total;
    rci_span sp;
    if (!l)
        return -1;
    rc_heap *h = rci_heap_of(l);
    if (!extend_source(src, &items, &n))
        return source_error(h, "rc_list_set_slice", src);
    if (rci_slice_adjust(s, l->len, &sp) != 0)
        return step_error(h);
    if (sp.step != 1 && n != sp.count)
        return rc_error_setf(h, RC_EVALUE,
                         "attempt to assign sequence of size %zu to extended slice of size %zu",
                         n, sp.count);
    if (__builtin_add_overflow(n, sp.count, &slots) ||
        __builtin_add_overflow(l->len - sp.count, n, &total) ||
        !rci_mul_ok(slots, sizeof(void *), &bytes))
        return rci_fail(h, RC_EOVERFLOW);
    if (!(block = rc_mem_alloc(h, bytes ? bytes : 1)))
        return rci_fail(h, RC_ENOMEM);
    if (grow(l, total) != 0) {
        rc_mem_free(h, block);
        return -1;
    }
    if (!l->items) { /* empty, and stays so: no array to touch */
        rc_mem_free(h, block);
        return 0;
    }
    if (src == l)
        items = l->items; /* its array may have moved */
    rc_iter it;
    rc_iter_init(&it, src);
    for (size_t k = 0; k < n; k++) { /* the new items, referenced */
        if (items)
            block[k] = items[k];
        else
            rc_iter_next(&it, &block[k], NULL); /* nothing runs in between: cannot fail */
        rc_incref(block[k]);
    }
    void **vals = block, **olds = block + n;
    if (sp.step == 1) {
        size_t start = (size_t)sp.start, tail = l->len - start - sp.count;
        memcpy(olds, l->items + start, sp.count * sizeof(void *));
        memmove(l->items + start + n, l->items + start + sp.count, tail * sizeof(void *));
        memcpy(l->items + start, vals, n * sizeof(void *));
        l->len = total;
        l->stamp++;
        maybe_shrink(l);
    } else {
        for (size_t k = 0; k < n; k++) {
            size_t i = (size_t)(sp.start + (int64_t)k * sp.step);
            olds[k] = l->items[i];
            l->items[i] = vals[k];
        }
    }
    /* last: a finalizer the replaced items run sees the list whole */
    memmove(block, olds, sp.count * sizeof(void *));
    release_block(h, block, sp.count);
    return 0;
}

int rc_list_del_slice(void *list, rc_slice s)
{
    rci_list *l = writable(list, NULL, true, "rc_list_del_slice");
    rci_span sp;
    if (!l)
        return -1;
    rc_heap *h = rci_heap_of(l);
    if (rci_slice_adjust(s, l->len, &sp) != 0)
        return step_error(h);
    if (!sp.count)
        return 0;
    if (sp.step < 0) { /* the same items, visited forward */
        sp.start += (int64_t)(sp.count - 1) * sp.step;
        sp.step = -sp.step;
    }
    void **gone = rc_mem_alloc(h, sp.count * sizeof(void *)); /* count <= len: no overflow */
    if (!gone)
        return rci_fail(h, RC_ENOMEM);
    /* one pass from start: the k-th removed item sits at start + k*step */
    size_t start = (size_t)sp.start, step = (size_t)sp.step, w = start, k = 0;
    for (size_t i = start; i < l->len; i++) {
        if (k < sp.count && i == start + k * step)
            gone[k++] = l->items[i];
        else
            l->items[w++] = l->items[i];
    }
    l->len = w;
    l->stamp++;
    maybe_shrink(l);
    release_block(h, gone, sp.count);
    return 0;
}

int rc_list_clear(void *list)
{
    rci_list *l = writable(list, NULL, true, "rc_list_clear");
    if (!l)
        return -1;
    rci_list old = *l;
    l->items = NULL;
    l->len = l->cap = 0;
    l->stamp++;
    /* release last: a finalizer an item runs sees the list empty */
    list_traverse(&old, rci_visit_release, NULL);
    rc_mem_free(rci_heap_of(l), old.items);
    return 0;
}

int rc_list_reverse(void *list)
{
    rci_list *l = writable(list, NULL, true, "rc_list_reverse");
    if (!l)
        return -1;
    for (size_t i = 0, j = l->len; i + 1 < j; i++, j--) {
        void *x = l->items[i];
        l->items[i] = l->items[j - 1];
        l->items[j - 1] = x;
    }
    return 0;
}

/* Where item is from start on: 1 and *index, 0 absent, -1 failed.  The
   length is read again at each step: an eq slot may change the list. */
static int find(const rci_list *l, const void *item, size_t start, size_t stop,
                size_t *index)
{
    for (size_t i = start; i < stop && i < l->len; i++) {
        void *x = l->items[i];
        int same = x == item ? 1 : rc_equal(x, item);
        if (same != 0) {
            *index = i;
            if (same < 0)
                rci_fail(rci_heap_of(l), rc_last_error(rci_heap_of(x)));
            return same;
        }
    }
    return 0;
}

int rc_list_index(const void *list, const void *item, rc_slice range, size_t *index)
{
    const rci_list *l = as_list(list, "rc_list_index");
    size_t start, stop;
    if (!l)
        return -1;
    if (!item)
        return rci_fail(rci_heap_of(l), RC_EVALUE);
    if (rci_range_adjust(rci_heap_of(l), "rc_list_index", range, l->len, &start, &stop) != 0)
        return -1;
    int found = find(l, item, start, stop, index);
    return found > 0 ? 0
         : found < 0 ? -1
                     : rc_error_setf(rci_heap_of(l), RC_EVALUE, "%s item not in list",
                                 rc_typeof(item)->name);
}

int rc_list_contains(const void *list, const void *item)
{
    const rci_list *l = as_list(list, "rc_list_contains");
    size_t index;
    if (!l)
        return -1;
    if (!item)
        return rci_fail(rci_heap_of(l), RC_EVALUE);
    return find(l, item, 0, SIZE_MAX, &index);
}

/* ---- Sort ---------------------------------------------------------------------
 * Top-down merge sort: binary insertion sort for runs of up to LIST_RUN,
 * merges that copy only the left half out (so the temporary block is
 * len/2 slots), and no merge at all when the halves are already in order
 * (sorted input costs n - 1 comparisons at the top level).  Stable: an
 * item moves before an equal one only from its left.  Every step places
 * each item exactly once whatever cmp answers, so an inconsistent cmp or
 * one whose changes were refused cannot lose or duplicate an item. */

typedef struct sorter {
    int (*cmp)(const void *a, const void *b, void *ctx);
    void *ctx;
    void **tmp; /* len/2 slots */
} sorter;

static bool less(const sorter *s, const void *a, const void *b)
{
    return s->cmp(a, b, s->ctx) < 0;
}

/* Binary insertion sort; an item not below its left neighbour stays put
   after one comparison, so ordered runs cost n - 1. */
static void insertion_sort(const sorter *s, void **a, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        void *x = a[i];
        if (!less(s, x, a[i - 1]))
            continue;
        size_t lo = 0, hi = i - 1; /* first position whose item is above x */
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (less(s, x, a[mid]))
                hi = mid;
            else
                lo = mid + 1;
        }
        memmove(a + lo + 1, a + lo, (i - lo) * sizeof(void *));
        a[lo] = x;
    }
}

/* Merge the sorted runs a[0..mid) and a[mid..n). */
static void merge(const sorter *s, void **a, size_t mid, size_t n)
{
    void **left = s->tmp;
    memcpy(left, a, mid * sizeof(void *));
    size_t i = 0, j = mid, k = 0; /* k < j while i < mid: no unread item is overwritten */
    while (i < mid && j < n)
        a[k++] = less(s, a[j], left[i]) ? a[j++] : left[i++];
    memcpy(a + k, left + i, (mid - i) * sizeof(void *));
}

static void merge_sort(const sorter *s, void **a, size_t n)
{
    if (n <= LIST_RUN) {
        insertion_sort(s, a, n);
        return;
    }
    size_t mid = n / 2;
    merge_sort(s, a, mid);
    merge_sort(s, a + mid, n - mid);
    if (less(s, a[mid], a[mid - 1]))
        merge(s, a, mid, n);
}

int rc_list_sort(void *list, int (*cmp)(const void *a, const void *b, void *ctx),
                 void *ctx)
{
    rci_list *l = writable(list, NULL, cmp != NULL, "rc_list_sort");
    if (!l)
        return -1;
    rc_heap *h = rci_heap_of(l);
    sorter s = {cmp, ctx, NULL};
    if (l->len > LIST_RUN && !(s.tmp = rc_mem_alloc(h, l->len / 2 * sizeof(void *))))
        return rci_fail(h, RC_ENOMEM);
    l->locked = LIST_LOCKED;
    merge_sort(&s, l->items, l->len);
    bool touched = (l->locked & LIST_TOUCHED) != 0;
    l->locked = 0;
    rc_mem_free(h, s.tmp);
    return touched ? rci_fail(h, RC_EMUTATED) : 0;
}

/* ---- Iteration (called by core.c's rc_iter_next) ------------------------------ */

uint64_t rci_list_stamp(const void *list)
{
    return ((const rci_list *)list)->stamp;
}

int rci_list_iter_next(rc_iter *it, void **item)
{
    const rci_list *l = it->container;
    if (it->stamp != l->stamp)
        return rci_fail(rci_heap_of(l), RC_EMUTATED);
    if (it->pos >= l->len)
        return 0;
    void *x = l->items[it->pos++];
    if (item)
        *item = x;
    return 1;
}
