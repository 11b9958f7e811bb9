/*
 * str.c — str and bytes (one implementation: they share rci_str), UTF-8
 * validation, the per-heap intern table and the string builder.
 *
 * Calls object.c through rci_new, core.c for errors and the types state
 * (rci_types_of), types.h for the keyed hash (rci_hash_text), and the
 * heap's raw blocks (rc_mem_*, rci_raw_*) for the intern table and the
 * builder's buffer.  core.c calls back for the
 * hash (rci_str_hash); object.c calls str_destroy when a str dies.
 *
 * Invariants:
 *  - An object is [hash | len | chars | len bytes | NUL]; len < 2^31, its
 *    top bit is RCI_STR_INTERNED.  A str always holds valid UTF-8 and
 *    chars is its number of code points (bytes: chars == len).
 *  - The intern table holds every interned str exactly once, without a
 *    reference: an interned str that dies removes itself in destroy.  Its
 *    strings all have their hash computed, so probing never hashes again.
 *  - Linear probing with backward-shift deletion: no tombstones, so every
 *    entry stays reachable from its home slot with no empty slot between.
 */
#include "types.h"

#include <inttypes.h>
#include <stdarg.h>

#define STR_MAX ((size_t)RCI_STR_INTERNED - 1) /* longest length */
#define INTERN_MIN_CAP 64                      /* first table: 64 slots */
#define STRBUF_MIN_CAP 64                      /* first builder buffer */

_Static_assert((INTERN_MIN_CAP & (INTERN_MIN_CAP - 1)) == 0,
               "the intern table's capacity is a power of two");

static void str_destroy(void *self);

const rc_type rc_str_type = {.name = "str", .size = 0, .destroy = str_destroy};
const rc_type rc_bytes_type = {.name = "bytes", .size = 0};

/* ---- UTF-8 ------------------------------------------------------------------
 * The well-formed sequences of Unicode table 3-7: the second byte's range
 * depends on the lead byte, which is how overlongs (C0, C1, E0 80..9F,
 * F0 80..8F), surrogates (ED A0..BF) and code points above U+10FFFF
 * (F4 90.., F5..FF) are refused without decoding. */

/* Continuation bytes after lead byte c (0: c cannot start a sequence), and
   the range the first of them must fall in. */
static size_t utf8_tail(unsigned c, unsigned *lo, unsigned *hi)
{
    *lo = 0x80;
    *hi = 0xBF;
    if (c < 0xC2)
        return 0; /* a continuation byte, or an overlong 2-byte lead */
    if (c < 0xE0)
        return 1;
    if (c < 0xF0) {
        if (c == 0xE0)
            *lo = 0xA0;
        else if (c == 0xED)
            *hi = 0x9F;
        return 2;
    }
    if (c < 0xF5) {
        if (c == 0xF0)
            *lo = 0x90;
        else if (c == 0xF4)
            *hi = 0x8F;
        return 3;
    }
    return 0;
}

/* ASCII text, the common case, goes eight bytes per test. */
static bool ascii8(const unsigned char *p)
{
    uint64_t w;
    memcpy(&w, p, 8);
    return !(w & UINT64_C(0x8080808080808080));
}

size_t rci_utf8_check(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        if (n - i >= 8 && ascii8(p + i)) {
            i += 8;
            continue;
        }
        size_t lead = i;
        unsigned c = p[i++], lo, hi;
        if (c < 0x80)
            continue;
        size_t tail = utf8_tail(c, &lo, &hi);
        if (!tail || n - i < tail || p[i] < lo || p[i] > hi)
            return lead;
        for (size_t k = 1; k < tail; k++)
            if ((p[i + k] & 0xC0) != 0x80)
                return lead;
        i += tail;
    }
    return n;
}

/* ---- Code points ------------------------------------------------------------
 * Python indexes str by code point; the text here is UTF-8, so a str
 * caches its code-point count (chars, 4 bytes: see docs/OBJECTS.md for
 * the choice).  chars == len says the text is ASCII: every index is then
 * a byte offset and indexing costs nothing.  Other text is walked, from
 * whichever end is nearer.  A code point starts at every byte that is not
 * a continuation byte (10xxxxxx); the NUL after the text ends every walk. */

static bool is_cont(unsigned char c)
{
    return (c & 0xC0) == 0x80;
}

/* Code points in n bytes of valid UTF-8: the bytes minus the continuation
   bytes, counted eight at a time (bit 7 set, bit 6 clear). */
static size_t utf8_chars(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t cont = 0, i = 0;
    for (; n - i >= 8; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        cont += (size_t)__builtin_popcountll(w & ~(w << 1) & UINT64_C(0x8080808080808080));
    }
    for (; i < n; i++)
        cont += is_cont(p[i]);
    return n - cont;
}

static bool is_ascii(const rci_str *s)
{
    return s->chars == rci_str_len(s);
}

/* The byte offset k code points after (before) the code point at pos. */
static size_t forward(const unsigned char *p, size_t pos, size_t k)
{
    while (k--)
        while (is_cont(p[++pos]))
            ;
    return pos;
}

static size_t backward(const unsigned char *p, size_t pos, size_t k)
{
    while (k--)
        while (is_cont(p[--pos]))
            ;
    return pos;
}

/* The byte offset of code point i of s (i <= chars). */
static size_t byte_at(const rci_str *s, size_t i)
{
    const unsigned char *p = (const unsigned char *)s->data;
    if (is_ascii(s))
        return i;
    if (i <= s->chars / 2)
        return forward(p, 0, i);
    return backward(p, rci_str_len(s), s->chars - i);
}

/* Bytes of the code point whose lead byte is c. */
static size_t char_width(unsigned char c)
{
    return c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
}

/* ---- Construction -------------------------------------------------------- */

static bool is_str(const void *o)
{
    return o && rci_is(o, &rc_str_type);
}

/* Computed once and cached in the object (an interned str always has it). */
uint32_t rci_str_hash(void *o)
{
    rci_str *s = o;
    if (!s->hash)
        s->hash = rci_hash_text(rci_heap_of(s), s->data, rci_str_len(s));
    return s->hash;
}

/* A new object of type t with room for n bytes, NUL already in place; the
   caller fills data.  Checks the length limit first: nothing is read. */
static rci_str *str_alloc(rc_heap *h, const rc_type *t, size_t n)
{
    if (n > STR_MAX)
        return rci_fail_null(h, RC_EOVERFLOW);
    rci_str *s = rci_new(h, t, sizeof(rci_str) + n + 1);
    if (s) /* payload is zeroed: hash 0, data NULs */
        s->len = s->chars = (uint32_t)n; /* a str's caller counts its chars */
    return s;
}

/* A copy of n bytes at p as a new object of type t. */
static rci_str *str_copy(rc_heap *h, const rc_type *t, const void *p, size_t n)
{
    rci_str *s = str_alloc(h, t, n);
    if (s && n) {
        memcpy(s->data, p, n);
        if (t == &rc_str_type)
            s->chars = (uint32_t)utf8_chars(s->data, n);
    }
    return s;
}

/* The checks new text passes before it is copied: the length limit first
   (the bytes may not all exist when n is absurd), then UTF-8. */
static bool text_ok(rc_heap *h, const char *s, size_t n)
{
    if (n > STR_MAX)
        return rc_error_setf(h, RC_EOVERFLOW, "str of %zu bytes: the most is %zu", n,
                         (size_t)STR_MAX), false;
    size_t bad = rci_utf8_check(s, n);
    if (bad < n)
        return rc_error_setf(h, RC_EVALUE, "invalid UTF-8 at byte %zu (0x%02x)", bad,
                         (unsigned char)s[bad]), false;
    return true;
}

void *rc_str(rc_heap *h, const char *s, size_t n)
{
    if (!text_ok(h, s, n))
        return NULL;
    return str_copy(h, &rc_str_type, s, n);
}

void *rc_str_cstr(rc_heap *h, const char *s)
{
    if (!s)
        return rci_fail_null(h, RC_EVALUE);
    return rc_str(h, s, strlen(s));
}

void *rc_bytes(rc_heap *h, const void *data, size_t n)
{
    return str_copy(h, &rc_bytes_type, data, n);
}

void *rc_str_concat(rc_heap *h, const void *a, const void *b)
{
    if (!is_str(a) || !is_str(b))
        return rci_fail_null(h, RC_ETYPE);
    size_t na = rci_str_len(a), nb = rci_str_len(b);
    /* each is below 2^31, so the sum cannot wrap; str_alloc checks it */
    rci_str *s = str_alloc(h, &rc_str_type, na + nb);
    if (s) {
        memcpy(s->data, rci_as_str(a)->data, na);
        memcpy(s->data + na, rci_as_str(b)->data, nb);
        s->chars = rci_as_str(a)->chars + rci_as_str(b)->chars;
    }
    return s;
}

/* ---- Access ------------------------------------------------------------- */

/* o's payload if o is a live object of type t; otherwise NULL, with
   RC_ETYPE recorded on o's heap (a programming error: the caller gets NULL
   or 0; a debug heap stops for a freed object: rci_wrong_type). */
static const rci_str *view(const void *o, const rc_type *t, const char *fn)
{
    if (!o)
        return NULL;
    if (!rci_is_live(o, t)) {
        rci_wrong_type(o, t, fn, true);
        return NULL;
    }
    return o;
}

/* o if it is a live str or bytes; else NULL, as view. */
static const rci_str *text_view(const void *o, const char *fn)
{
    const rc_type *t = o ? rc_typeof(o) : NULL;
    return view(o, t == &rc_bytes_type ? t : &rc_str_type, fn);
}

static const char *data_of(const void *o, const rc_type *t, size_t *n)
{
    const rci_str *s = view(o, t, t == &rc_str_type ? "rc_str_data" : "rc_bytes_data");
    if (n)
        *n = s ? rci_str_len(s) : 0;
    return s ? s->data : NULL;
}

const char *rc_str_data(const void *o, size_t *n)
{
    return data_of(o, &rc_str_type, n);
}

const void *rc_bytes_data(const void *o, size_t *n)
{
    return data_of(o, &rc_bytes_type, n);
}

size_t rc_str_len(const void *o)
{
    const rci_str *s = view(o, &rc_str_type, "rc_str_len");
    return s ? rci_str_len(s) : 0;
}

size_t rc_str_chars(const void *o)
{
    const rci_str *s = text_view(o, "rc_str_chars");
    return s ? s->chars : 0;
}

/* The code points (bytes of a bytes) a span visits, copied into out, or
   only measured when out is NULL; returns the bytes. */
static size_t span_bytes(const rci_str *s, const rci_span *sp, char *out)
{
    if (!sp->count)
        return 0;
    const unsigned char *p = (const unsigned char *)s->data;
    bool ascii = is_ascii(s);
    size_t pos = byte_at(s, (size_t)sp->start), total = 0;
    size_t dist = sp->step > 0 ? (size_t)sp->step : 0 - (size_t)sp->step;
    if (sp->step == 1) { /* one run */
        total = (ascii ? pos + sp->count : forward(p, pos, sp->count)) - pos;
        if (out)
            memcpy(out, p + pos, total);
        return total;
    }
    for (size_t k = 0;; k++) {
        size_t w = ascii ? 1 : char_width(p[pos]);
        if (out)
            memcpy(out + total, p + pos, w);
        total += w;
        if (k + 1 == sp->count)
            return total;
        if (ascii)
            pos = sp->step > 0 ? pos + dist : pos - dist;
        else
            pos = sp->step > 0 ? forward(p, pos, dist) : backward(p, pos, dist);
    }
}

void *rc_str_get_slice(const void *o, rc_slice sl)
{
    const rci_str *s = text_view(o, "rc_str_get_slice");
    if (!s)
        return NULL;
    rc_heap *h = rci_heap_of(s);
    rci_span sp;
    if (rci_slice_adjust(sl, s->chars, &sp) != 0)
        return rci_failf_null(h, RC_EVALUE, "slice step cannot be zero");
    if (sp.count == s->chars && sp.step == 1) { /* immutable: share it */
        rc_incref((void *)s);
        return (void *)s;
    }
    rci_str *r = str_alloc(h, rc_typeof(s), span_bytes(s, &sp, NULL));
    if (r) {
        span_bytes(s, &sp, r->data);
        r->chars = (uint32_t)sp.count;
    }
    return r;
}

void *rc_str_char_at(const void *o, int64_t i)
{
    const rci_str *s = view(o, &rc_str_type, "rc_str_char_at");
    if (!s)
        return NULL;
    int64_t n = s->chars, k = i < 0 ? i + n : i;
    if (k < 0 || k >= n)
        return rci_failf_null(rci_heap_of(s), RC_EINDEX,
                              "string index %" PRId64 " out of range (length %" PRId64 ")", i, n);
    return rc_str_get_slice(s, RC_SLICE(k, k + 1, 1));
}

int rc_str_find(const void *s, const void *sub, rc_slice range, size_t *pos)
{
    const rc_type *t = s ? rc_typeof(s) : NULL;
    if (!s || !sub || (t != &rc_str_type && t != &rc_bytes_type) || !rci_is_live(sub, t) ||
        !rci_is_live(s, t))
        return s ? rc_error_setf(rci_heap_of(s), RC_ETYPE,
                             "rc_str_find: expected two str or two bytes, got %s and %s",
                             t->name, sub ? rc_typeof(sub)->name : "NULL")
                 : -1;
    const rci_str *hs = s, *ns = sub;
    size_t start, end;
    if (rci_range_adjust(rci_heap_of(s), "rc_str_find", range, hs->chars, &start, &end) != 0)
        return -1;
    if (start > end || end - start < ns->chars)
        return 0;
    if (ns->chars == 0) { /* Python finds "" at start, even at the end of the text */
        *pos = start;
        return 1;
    }
    /* The search runs on bytes: a valid needle starts with a lead byte, so
       every match starts a code point.  memchr to each candidate first
       byte, then compare: O(n m) at worst (CPython's fastsearch is linear;
       texts here are short keys mostly). */
    size_t from = byte_at(hs, start), to = byte_at(hs, end), m = rci_str_len(ns);
    const char *hay = hs->data, *needle = ns->data;
    for (size_t i = from; i + m <= to; i++) {
        const char *hit = memchr(hay + i, needle[0], to - m - i + 1);
        if (!hit)
            return 0;
        i = (size_t)(hit - hay);
        if (memcmp(hit, needle, m) == 0) {
            *pos = start + (is_ascii(hs) ? i - from : utf8_chars(hay + from, i - from));
            return 1;
        }
    }
    return 0;
}

int rc_str_is_interned(const void *o)
{
    return is_str(o) && (rci_as_str(o)->len & RCI_STR_INTERNED) != 0;
}

/* ---- Interning ----------------------------------------------------------
 * An open-addressing set of str pointers keyed by their text.  It holds no
 * references (like CPython's interned dict since 3.12 for mortal strings):
 * a string that dies calls rci_intern_forget from destroy, which takes it
 * out with backward-shift deletion. */

/* The hash is already well mixed (SipHash): its low bits will do. */
static size_t home_slot(uint32_t hash, size_t cap)
{
    return hash & (cap - 1);
}

/* The interned str with this text, or NULL. */
static rci_str *intern_lookup(const rci_types *ts, const char *s, size_t n, uint32_t hash)
{
    if (!ts->intern_cap)
        return NULL;
    size_t mask = ts->intern_cap - 1;
    for (size_t i = home_slot(hash, ts->intern_cap);; i = (i + 1) & mask) {
        rci_str *e = ts->intern[i];
        if (!e)
            return NULL;
        if (e->hash == hash && rci_str_len(e) == n && memcmp(e->data, s, n) == 0)
            return e;
    }
}

/* Put s in the first empty slot of its probe chain (table not full). */
static void intern_place(void **table, size_t cap, rci_str *s)
{
    size_t i = home_slot(s->hash, cap);
    while (table[i])
        i = (i + 1) & (cap - 1);
    table[i] = s;
}

static bool intern_grow(rc_heap *h, rci_types *ts)
{
    size_t cap = ts->intern_cap ? ts->intern_cap * 2 : INTERN_MIN_CAP, bytes;
    void **table;
    if (!rci_mul_ok(cap, sizeof *table, &bytes) || !(table = rci_raw_alloc(h, bytes)))
        return false;
    memset(table, 0, bytes);
    for (size_t i = 0; i < ts->intern_cap; i++)
        if (ts->intern[i])
            intern_place(table, cap, ts->intern[i]);
    if (ts->intern)
        rci_raw_free(h, ts->intern);
    ts->intern = table;
    ts->intern_cap = cap;
    return true;
}

/* The interned str equal to s (borrowed): an existing one, or s itself,
   now interned.  NULL (RC_ENOMEM) when the table cannot grow.  Looks up
   again rather than trusting an earlier miss: making s may have run a
   collection whose finalizers interned or released strings. */
static rci_str *intern_add(rc_heap *h, rci_types *ts, rci_str *s)
{
    uint32_t hash = rci_str_hash(s);
    rci_str *old = intern_lookup(ts, s->data, rci_str_len(s), hash);
    if (old)
        return old;
    /* keep the load at most 2/3, so probe chains stay short */
    if ((ts->intern_len + 1) * 3 > ts->intern_cap * 2 && !intern_grow(h, ts))
        return rci_fail_null(h, RC_ENOMEM);
    intern_place(ts->intern, ts->intern_cap, s);
    s->len |= RCI_STR_INTERNED;
    ts->intern_len++;
    return s;
}

void rci_intern_forget(rc_heap *h, void *str)
{
    rci_types *ts = h->types_state; /* never rci_types_of: no allocation here */
    rci_str *s = str;
    if (!ts || !ts->intern_cap)
        return;
    size_t mask = ts->intern_cap - 1, i = home_slot(s->hash, ts->intern_cap);
    while (ts->intern[i] != s) {
        rci_assert(ts->intern[i] != NULL);
        i = (i + 1) & mask;
    }
    /* Backward shift: walk the rest of the chain and pull each entry into
       the hole when the hole lies between its home slot and where it is
       (cyclically); otherwise moving it would put it before its home. */
    for (size_t j = (i + 1) & mask; ts->intern[j]; j = (j + 1) & mask) {
        size_t home = home_slot(((rci_str *)ts->intern[j])->hash, ts->intern_cap);
        if (((j - home) & mask) >= ((j - i) & mask)) {
            ts->intern[i] = ts->intern[j];
            i = j;
        }
    }
    ts->intern[i] = NULL;
    ts->intern_len--;
    s->len &= ~RCI_STR_INTERNED;
}

static void str_destroy(void *self)
{
    if (rci_as_str(self)->len & RCI_STR_INTERNED)
        rci_intern_forget(rci_heap_of(self), self);
}

void *rc_str_intern(rc_heap *h, const char *s, size_t n)
{
    if (!text_ok(h, s, n))
        return NULL;
    if (!n)
        s = ""; /* NULL may come with n == 0; memcmp and hashing want a pointer */
    rci_types *ts = rci_types_of(h);
    if (!ts)
        return rci_fail_null(h, RC_ENOMEM);
    uint32_t hash = rci_hash_text(h, s, n);
    rci_str *found = intern_lookup(ts, s, n, hash);
    if (found) {
        rc_incref(found);
        return found;
    }
    rci_str *fresh = str_copy(h, &rc_str_type, s, n);
    if (!fresh)
        return NULL;
    fresh->hash = hash;
    found = intern_add(h, ts, fresh);
    if (found != fresh) { /* failed, or someone interned it meanwhile */
        rc_incref(found);
        rc_decref(fresh);
    }
    return found;
}

void *rc_str_intern_obj(void *str)
{
    if (!str)
        return NULL;
    rc_heap *h = rci_heap_of(str);
    if (!is_str(str))
        return rci_fail_null(h, RC_ETYPE);
    rci_str *found = str;
    if (!(found->len & RCI_STR_INTERNED)) {
        rci_types *ts = rci_types_of(h);
        if (!ts || !(found = intern_add(h, ts, str)))
            return rci_fail_null(h, RC_ENOMEM);
    }
    rc_incref(found);
    return found;
}

/* ---- String builder ------------------------------------------------------
 * One raw block that doubles when full, so n appends copy O(n) bytes in
 * all (the lesson of Python's ''.join over +=).  An empty builder owns no
 * block (cap 0) and points at a shared empty string, so data is always
 * NUL-terminated.  The first failure releases the block and stores the
 * rc_error in failed; later appends do nothing and finish reports it. */

static const char strbuf_empty[1]; /* read-only: cap 0 means never written */

static void strbuf_reset(rc_strbuf *b)
{
    b->data = (char *)strbuf_empty;
    b->len = b->cap = 0;
    b->failed = 0;
}

void rc_strbuf_init(rc_strbuf *b, rc_heap *h)
{
    b->heap = h;
    strbuf_reset(b);
}

void rc_strbuf_release(rc_strbuf *b)
{
    if (b->cap)
        rc_mem_free(b->heap, b->data);
    strbuf_reset(b);
}

/* Give up: release the buffer, remember why, report it. */
static int strbuf_fail(rc_strbuf *b, rc_error err)
{
    rc_strbuf_release(b);
    b->failed = (int)err;
    return rci_fail(b->heap, err);
}

/* Room for extra more bytes and the NUL; 0, or -1 after strbuf_fail. */
static int strbuf_reserve(rc_strbuf *b, size_t extra)
{
    if (b->failed)
        return rci_fail(b->heap, (rc_error)b->failed);
    if (extra > STR_MAX - b->len)
        return strbuf_fail(b, RC_EOVERFLOW);
    size_t need = b->len + extra + 1;
    if (need <= b->cap)
        return 0;
    size_t cap = b->cap < STRBUF_MIN_CAP ? STRBUF_MIN_CAP : b->cap * 2;
    if (cap < need)
        cap = need;
    if (cap > STR_MAX + 1)
        cap = STR_MAX + 1; /* need fits: the limit check above */
    char *p = rc_mem_realloc(b->heap, b->cap ? b->data : NULL, cap);
    if (!p)
        return strbuf_fail(b, RC_ENOMEM);
    if (!b->cap)
        p[0] = '\0';
    b->data = p;
    b->cap = cap;
    return 0;
}

int rc_strbuf_append(rc_strbuf *b, const char *s, size_t n)
{
    if (strbuf_reserve(b, n) != 0)
        return -1;
    if (n)
        memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

/* Format into the free room; when the text does not fit, vsnprintf has
   measured it: grow once and format again from a copy of the arguments. */
int rc_strbuf_appendf(rc_strbuf *b, const char *fmt, ...)
{
    if (b->failed)
        return rci_fail(b->heap, (rc_error)b->failed);
    va_list ap, again;
    va_start(ap, fmt);
    va_copy(again, ap);
    size_t room = b->cap - b->len;
    int n = vsnprintf(b->cap ? b->data + b->len : NULL, room, fmt, ap);
    int rc = 0;
    if (n < 0)
        rc = strbuf_fail(b, RC_EVALUE); /* an encoding error, or > INT_MAX */
    else if ((size_t)n >= room && (rc = strbuf_reserve(b, (size_t)n)) == 0)
        vsnprintf(b->data + b->len, (size_t)n + 1, fmt, again);
    if (rc == 0)
        b->len += (size_t)n;
    va_end(again);
    va_end(ap);
    return rc;
}

void *rc_strbuf_finish(rc_strbuf *b)
{
    rc_heap *h = b->heap;
    void *s = NULL;
    if (b->failed)
        rci_fail(h, (rc_error)b->failed);
    else if (text_ok(h, b->data, b->len))
        s = str_copy(h, &rc_str_type, b->data, b->len);
    rc_strbuf_release(b);
    return s;
}
