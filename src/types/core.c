/*
 * core.c — what all built-in types share: the heap's error slot, the
 * types layer's per-heap state, hashing and equality across types (Python's
 * rules: equal numbers hash alike), repr, and iteration dispatch.
 *
 * Calls object.c (rc_new_var, rc_typeof) and the type files through
 * types.h; the type files call back for hashing and repr of their items.
 */
#include "types.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>

/* ---- Errors ------------------------------------------------------------- */

int rci_fail(rc_heap *h, rc_error err)
{
    h->error = err;
    return -1;
}

void *rci_fail_null(rc_heap *h, rc_error err)
{
    h->error = err;
    return NULL;
}

rc_error rc_last_error(const rc_heap *h)
{
    return h->error;
}

void rc_clear_error(rc_heap *h)
{
    h->error = RC_OK;
}

const char *rc_error_name(rc_error e)
{
    static const char *const names[] = {
        "RC_OK",       "RC_ENOMEM",   "RC_EUNHASHABLE", "RC_ETYPE",    "RC_EINDEX",
        "RC_EKEY",     "RC_EMUTATED", "RC_EOVERFLOW",   "RC_EVALUE"};
    return (unsigned)e < sizeof names / sizeof *names ? names[e] : "RC_E?";
}

/* ---- Per-heap state ------------------------------------------------------ */

static void flush_free_lists(rc_heap *h)
{
    rc_freelists_clear(h);
}

rci_types *rci_types_of(rc_heap *h)
{
    if (rci_likely(h->types_state != NULL))
        return h->types_state;
    rci_types *ts = rci_raw_alloc_plain(h, sizeof *ts);
    rci_typerec *lr = rci_typerec_get(h, &rc_list_type);
    rci_typerec *dr = rci_typerec_get(h, &rc_dict_type);
    if (!ts || !lr || !dr) {
        if (ts)
            rci_raw_free(h, ts);
        return rci_fail_null(h, RC_ENOMEM);
    }
    memset(ts, 0, sizeof *ts);
    h->types_state = ts;
    h->flush_caches = flush_free_lists;
    rci_list_register(h, lr);
    rci_dict_register(h, dr);
    return ts;
}

void *rci_new(rc_heap *h, const rc_type *t, size_t payload)
{
    void *o = rc_new_var(h, t, payload);
    return o ? o : rci_fail_null(h, RC_ENOMEM);
}

void rc_freelists_clear(rc_heap *h)
{
    rci_types *ts = h->types_state;
    if (!ts)
        return;
    rci_list_freelist_clear(h, ts);
    rci_dict_freelist_clear(h, ts);
}

size_t rci_owned_bytes(const void *obj)
{
    const rc_type *t = rc_typeof(obj);
    const void *block = NULL;
    if (t == &rc_list_type)
        block = ((const rci_list *)obj)->items;
    else if (t == &rc_dict_type)
        block = ((const rci_dict *)obj)->table;
    /* buffers come from rc_mem_*: a debug heap's sizes are its own */
    return block ? rc_mem_usable_size(rci_heap_of(obj), block) : 0;
}

/* ---- Hashing -------------------------------------------------------------- */

static uint64_t mix64(uint64_t x)
{
    x ^= x >> 33;
    x *= UINT64_C(0xFF51AFD7ED558CCD);
    x ^= x >> 33;
    x *= UINT64_C(0xC4CEB9FE1A85EC53);
    return x ^ (x >> 33);
}

uint64_t rci_hash_bytes(const void *p, size_t n)
{
    const unsigned char *b = p;
    uint64_t x = UINT64_C(0x9E3779B97F4A7C15) ^ n;
    for (; n >= 8; n -= 8, b += 8) {
        uint64_t w;
        memcpy(&w, b, 8);
        x = (x ^ mix64(w)) * UINT64_C(0x100000001B3);
    }
    uint64_t tail = 0;
    if (n)
        memcpy(&tail, b, n);
    return mix64(x ^ tail);
}

uint64_t rci_hash_int(int64_t v)
{
    return mix64((uint64_t)v);
}

/* A float equal to an int hashes as that int (1.0 and 1 are one key). */
static uint64_t hash_float(double d)
{
    if (d == 0)
        return rci_hash_int(0);
    if (isfinite(d) && d == floor(d) && d >= -0x1p63 && d < 0x1p63)
        return rci_hash_int((int64_t)d);
    uint64_t bits;
    memcpy(&bits, &d, sizeof bits);
    return mix64(bits ^ UINT64_C(0xF10A7F10A7F10A7));
}

static int hash_tuple(const rci_tuple *t, uint64_t *out)
{
    uint64_t acc = UINT64_C(0x27D4EB2F165667C5) ^ t->n; /* xxHash-style */
    for (size_t i = 0; i < t->n; i++) {
        uint64_t item;
        if (rc_hash(t->items[i], &item) != 0)
            return -1;
        acc += item * UINT64_C(0xC2B2AE3D27D4EB4F);
        acc = (acc << 31) | (acc >> 33);
        acc *= UINT64_C(0x9E3779B185EBCA87);
    }
    *out = mix64(acc);
    return 0;
}

int rc_hash(const void *o, uint64_t *out)
{
    const rc_type *t = rc_typeof(o);
    if (t == &rc_int_type)
        *out = rci_hash_int(rc_int_value(o));
    else if (t == &rc_float_type)
        *out = hash_float(rc_float_value(o));
    else if (t == &rc_str_type || t == &rc_bytes_type)
        *out = rci_str_hash((void *)o);
    else if (t == &rc_tuple_type)
        return hash_tuple(o, out);
    else if (t == &rc_list_type || t == &rc_dict_type)
        return rci_fail(rci_heap_of(o), RC_EUNHASHABLE);
    else
        *out = mix64((uint64_t)(uintptr_t)o);
    return 0;
}

/* ---- Equality ------------------------------------------------------------- */

#define EQUAL_DEPTH_MAX 256 /* deeper (or cyclic) structures compare unequal */

static int equal_at(const void *a, const void *b, unsigned depth);

static int equal_numbers(const void *a, const void *b)
{
    bool ai = rci_is(a, &rc_int_type), bi = rci_is(b, &rc_int_type);
    if (ai && bi)
        return rc_int_value(a) == rc_int_value(b);
    if (!ai && !bi)
        return rc_float_value(a) == rc_float_value(b);
    int64_t i = rc_int_value(ai ? a : b);
    double d = rc_float_value(ai ? b : a);
    /* exact: d must be integral, in range, and convert back to i */
    return d == floor(d) && d >= -0x1p63 && d < 0x1p63 && (int64_t)d == i;
}

static int equal_items(void *const *x, void *const *y, size_t n, unsigned depth)
{
    for (size_t i = 0; i < n; i++)
        if (!equal_at(x[i], y[i], depth + 1))
            return 0;
    return 1;
}

static int equal_dicts(const void *a, const void *b, unsigned depth)
{
    if (rc_dict_len(a) != rc_dict_len(b))
        return 0;
    rc_iter it;
    void *k, *v;
    rc_iter_init(&it, a);
    while (rc_iter_next(&it, &k, &v) == 1) {
        void *w = rc_dict_get(b, k);
        if (!w || !equal_at(v, w, depth + 1))
            return 0;
    }
    return 1;
}

static bool is_number(const rc_type *t)
{
    return t == &rc_int_type || t == &rc_float_type;
}

static int equal_at(const void *a, const void *b, unsigned depth)
{
    if (a == b)
        return 1;
    if (depth > EQUAL_DEPTH_MAX)
        return 0;
    const rc_type *ta = rc_typeof(a), *tb = rc_typeof(b);
    if (is_number(ta) && is_number(tb))
        return equal_numbers(a, b);
    if (ta != tb)
        return 0;
    if (ta == &rc_str_type || ta == &rc_bytes_type) {
        const rci_str *x = a, *y = b;
        return rci_str_len(x) == rci_str_len(y) &&
               (!x->hash || !y->hash || x->hash == y->hash) &&
               memcmp(x->data, y->data, rci_str_len(x)) == 0;
    }
    if (ta == &rc_tuple_type) {
        const rci_tuple *x = a, *y = b;
        return x->n == y->n && equal_items(x->items, y->items, x->n, depth);
    }
    if (ta == &rc_list_type) {
        const rci_list *x = a, *y = b;
        return x->len == y->len && equal_items(x->items, y->items, x->len, depth);
    }
    if (ta == &rc_dict_type)
        return equal_dicts(a, b, depth);
    return 0;
}

int rc_equal(const void *a, const void *b)
{
    return equal_at(a, b, 0);
}

/* ---- Iteration ------------------------------------------------------------ */

void rc_iter_init(rc_iter *it, const void *container)
{
    const rc_type *t = rc_typeof(container);
    it->container = container;
    it->pos = 0;
    it->stamp = t == &rc_list_type ? rci_list_stamp(container)
              : t == &rc_dict_type ? rci_dict_stamp(container)
                                   : 0;
}

int rc_iter_next(rc_iter *it, void **key, void **value)
{
    const rc_type *t = rc_typeof(it->container);
    if (value)
        *value = NULL;
    if (t == &rc_list_type)
        return rci_list_iter_next(it, key);
    if (t == &rc_dict_type)
        return rci_dict_iter_next(it, key, value);
    if (t == &rc_tuple_type) {
        const rci_tuple *tu = it->container;
        if (it->pos >= tu->n)
            return 0;
        *key = tu->items[it->pos++];
        return 1;
    }
    return rci_fail(rci_heap_of(it->container), RC_ETYPE);
}

/* ---- repr ------------------------------------------------------------------- */

static void put(rci_repr_ctx *c, const char *s)
{
    if (fputs(s, c->out) < 0)
        c->err = 1;
}

static void putf(rci_repr_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void putf(rci_repr_ctx *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (vfprintf(c->out, fmt, ap) < 0)
        c->err = 1;
    va_end(ap);
}

/* Python's repr of a float: the fewest digits that read back as the same
   double, in positional notation for exponents -4..15 and scientific
   notation otherwise ("1500.0", "1e+16", "1.5e-05"). */
static void repr_float(rci_repr_ctx *c, double d)
{
    if (isnan(d) || isinf(d)) {
        put(c, isnan(d) ? "nan" : d > 0 ? "inf" : "-inf");
        return;
    }
    char sci[40];
    for (int prec = 0; prec <= 16; prec++) {
        snprintf(sci, sizeof sci, "%.*e", prec, d);
        if (strtod(sci, NULL) == d)
            break;
    }
    /* split "-1.2345e+03" into sign, digits "12345" and exponent 3 */
    const char *p = sci;
    char digits[24];
    size_t n = 0;
    if (*p == '-') {
        put(c, "-");
        p++;
    }
    for (; *p && *p != 'e'; p++)
        if (*p != '.')
            digits[n++] = *p;
    digits[n] = '\0';
    int e = atoi(p + 1);
    if (e < -4 || e >= 16) {
        putf(c, "%c%s%.*se%c%02d", digits[0], n > 1 ? "." : "", (int)(n - 1), digits + 1,
             e < 0 ? '-' : '+', e < 0 ? -e : e);
    } else if (e < 0) {
        putf(c, "0.%.*s%s", -e - 1, "0000", digits);
    } else if ((size_t)e + 1 >= n) {
        putf(c, "%s%.*s.0", digits, (int)((size_t)e + 1 - n), "000000000000000");
    } else {
        putf(c, "%.*s.%s", e + 1, digits, digits + e + 1);
    }
}

static void repr_text(rci_repr_ctx *c, const rci_str *s, bool bytes)
{
    put(c, bytes ? "b'" : "'");
    size_t n = rci_str_len(s);
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s->data[i];
        if (ch == '\'' || ch == '\\')
            putf(c, "\\%c", ch);
        else if (ch == '\n')
            put(c, "\\n");
        else if (ch == '\t')
            put(c, "\\t");
        else if (ch < 0x20 || ch == 0x7F || (bytes && ch >= 0x80))
            putf(c, "\\x%02x", ch);
        else if (fputc(ch, c->out) == EOF)
            c->err = 1;
    }
    put(c, "'");
}

static void repr_seq(rci_repr_ctx *c, void *const *items, size_t n, const char *open,
                     const char *close, bool tuple)
{
    put(c, open);
    for (size_t i = 0; i < n; i++) {
        if (i)
            put(c, ", ");
        rci_repr(c, items[i]);
    }
    if (tuple && n == 1)
        put(c, ",");
    put(c, close);
}

static void repr_dict(rci_repr_ctx *c, const void *d)
{
    rc_iter it;
    void *k, *v;
    bool first = true;
    put(c, "{");
    rc_iter_init(&it, d);
    while (rc_iter_next(&it, &k, &v) == 1) {
        put(c, first ? "" : ", ");
        first = false;
        rci_repr(c, k);
        put(c, ": ");
        rci_repr(c, v);
    }
    put(c, "}");
}

/* Containers print once per chain: a container already being printed
   further up shows as [...], {...} or (...), like Python's reprlib. */
static bool enter(rci_repr_ctx *c, const void *o, const char *ellipsis)
{
    for (size_t i = 0; i < c->depth; i++)
        if (c->stack[i] == o) {
            put(c, ellipsis);
            return false;
        }
    if (c->depth == sizeof c->stack / sizeof *c->stack) {
        put(c, "...");
        return false;
    }
    c->stack[c->depth++] = o;
    return true;
}

void rci_repr(rci_repr_ctx *c, const void *o)
{
    const rc_type *t = rc_typeof(o);
    if (t == &rc_int_type)
        putf(c, "%lld", (long long)rc_int_value(o));
    else if (t == &rc_float_type)
        repr_float(c, rc_float_value(o));
    else if (t == &rc_str_type || t == &rc_bytes_type)
        repr_text(c, o, t == &rc_bytes_type);
    else if (t == &rc_tuple_type && enter(c, o, "(...)")) {
        const rci_tuple *tu = o;
        repr_seq(c, tu->items, tu->n, "(", ")", true);
        c->depth--;
    } else if (t == &rc_list_type && enter(c, o, "[...]")) {
        const rci_list *l = o;
        repr_seq(c, l->items, l->len, "[", "]", false);
        c->depth--;
    } else if (t == &rc_dict_type && enter(c, o, "{...}")) {
        repr_dict(c, o);
        c->depth--;
    } else if (t != &rc_tuple_type && t != &rc_list_type && t != &rc_dict_type)
        putf(c, "<%s object at %p>", t->name, o);
}

int rc_repr(const void *o, FILE *out)
{
    rci_repr_ctx c = {.out = out};
    rci_repr(&c, o);
    return c.err ? -1 : 0;
}
