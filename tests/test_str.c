/*
 * test_str.c — str and bytes: construction, UTF-8 validation (against a
 * reference decoder), the length limit, hashing, interning (identity,
 * death, immortality, many insertions and deletions), concat, the string
 * builder (linear growth, formatting, failure) and an out-of-memory sweep.
 */
#include "check.h"

#include <stdint.h>

/* Blocks live on the heap: what a builder must give back. */
static size_t live_blocks(const rc_heap *h)
{
    rc_alloc_stats st;
    rc_alloc_stats_get(h, &st);
    return st.small_blocks + st.large_blocks + st.huge_blocks;
}

static void check_str(const void *s, const char *text, size_t n)
{
    size_t len = 99;
    const char *d = rc_str_data(s, &len);
    CHECK(rc_typeof(s) == &rc_str_type);
    CHECK(d && len == n && rc_str_len(s) == n);
    CHECK(memcmp(d, text, n) == 0 && d[n] == '\0');
}

static void test_construction(void)
{
    rc_heap *h = rc_heap_new(NULL);
    void *s = rc_str(h, "hello", 5);
    check_str(s, "hello", 5);
    CHECK(rc_refcount(s) == 1 && !rc_str_is_interned(s));
    void *e = rc_str(h, NULL, 0);
    check_str(e, "", 0);
    void *c = rc_str_cstr(h, "h\xC3\xA9llo \xE2\x82\xAC \xF0\x9D\x84\x9E");
    check_str(c, "h\xC3\xA9llo \xE2\x82\xAC \xF0\x9D\x84\x9E", 15);
    void *z = rc_str(h, "a\0b", 3); /* NUL is valid UTF-8 */
    check_str(z, "a\0b", 3);

    /* bytes: any content, embedded NULs included */
    const char raw[] = {'x', '\0', '\xFF', '\0', '\x80'};
    void *b = rc_bytes(h, raw, sizeof raw);
    size_t n = 0;
    const char *d = rc_bytes_data(b, &n);
    CHECK(rc_typeof(b) == &rc_bytes_type);
    CHECK(n == sizeof raw && memcmp(d, raw, n) == 0 && d[n] == '\0');
    void *b0 = rc_bytes(h, NULL, 0);
    CHECK(rc_bytes_data(b0, &n) != NULL && n == 0);

    /* the wrong type: NULL or 0 with RC_ETYPE */
    rc_clear_error(h);
    CHECK(rc_str_data(b, &n) == NULL && n == 0 && rc_last_error(h) == RC_ETYPE);
    rc_clear_error(h);
    CHECK(rc_bytes_data(s, NULL) == NULL && rc_last_error(h) == RC_ETYPE);
    CHECK(rc_str_len(b) == 0 && !rc_str_is_interned(b));
    CHECK(rc_str_intern_obj(b) == NULL);
    void *i = rc_int(h, 5000);
    rc_clear_error(h);
    CHECK(rc_str_concat(h, s, b) == NULL && rc_last_error(h) == RC_ETYPE);
    rc_clear_error(h);
    CHECK(rc_str_concat(h, i, s) == NULL && rc_last_error(h) == RC_ETYPE);
    CHECK_VALID(h);
    void *all[] = {s, e, c, z, b, b0, i};
    for (size_t k = 0; k < sizeof all / sizeof *all; k++)
        rc_decref(all[k]);
    CHECK_VALID(h);
    rc_heap_free(h);
}

/* An independent decoder: decode, then refuse what Unicode forbids. */
static int ref_utf8_valid(const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n;) {
        unsigned c = p[i];
        size_t len;
        uint32_t cp, min;
        if (c < 0x80) {
            i++;
            continue;
        }
        if ((c & 0xE0) == 0xC0)
            len = 2, cp = c & 0x1F, min = 0x80;
        else if ((c & 0xF0) == 0xE0)
            len = 3, cp = c & 0x0F, min = 0x800;
        else if ((c & 0xF8) == 0xF0)
            len = 4, cp = c & 0x07, min = 0x10000;
        else
            return 0;
        if (n - i < len)
            return 0;
        for (size_t k = 1; k < len; k++) {
            if ((p[i + k] & 0xC0) != 0x80)
                return 0;
            cp = (cp << 6) | (p[i + k] & 0x3Fu);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return 0;
        i += len;
    }
    return 1;
}

/* rc_str must accept exactly what the reference accepts. */
static void agree(rc_heap *h, const unsigned char *p, size_t n)
{
    rc_clear_error(h);
    void *s = rc_str(h, (const char *)p, n);
    if (ref_utf8_valid(p, n)) {
        CHECK(s != NULL);
        rc_decref(s);
    } else {
        CHECK(s == NULL && rc_last_error(h) == RC_EVALUE);
    }
}

static void test_utf8(void)
{
    rc_heap *h = rc_heap_new(NULL);
    static const char *const bad[] = {
        "\x80",             /* stray continuation */
        "\xBF",             /* stray continuation */
        "\xC0\xAF",         /* overlong '/' */
        "\xC1\xBF",         /* overlong */
        "\xE0\x80\xAF",     /* overlong 3-byte */
        "\xE0\x9F\xBF",     /* overlong 3-byte, top */
        "\xF0\x80\x80\xAF", /* overlong 4-byte */
        "\xF0\x8F\xBF\xBF", /* overlong 4-byte, top */
        "\xED\xA0\x80",     /* surrogate U+D800 */
        "\xED\xBF\xBF",     /* surrogate U+DFFF */
        "\xF4\x90\x80\x80", /* U+110000 */
        "\xF5\x80\x80\x80", /* beyond any code point */
        "\xFF",
        "\xFE",
        "\xC3",             /* truncated */
        "\xE2\x82",         /* truncated */
        "\xF0\x9D\x84",     /* truncated */
        "abcdefgh\xE2\x82", /* truncated after an ASCII run */
        "\xE2\x28\xA1",     /* bad continuation */
        "\xF0\x9D\x84\x41", /* bad last continuation */
        "abcdefghij\x80xyz",
    };
    static const char *const good[] = {
        "\xC2\x80", "\xDF\xBF", "\xE0\xA0\x80", "\xED\x9F\xBF", "\xEE\x80\x80",
        "\xEF\xBF\xBF", "\xF0\x90\x80\x80", "\xF4\x8F\xBF\xBF",
        "plain ascii text, longer than eight bytes",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        rc_clear_error(h);
        CHECK(rc_str_cstr(h, bad[i]) == NULL && rc_last_error(h) == RC_EVALUE);
        rc_clear_error(h);
        CHECK(rc_str_intern(h, bad[i], strlen(bad[i])) == NULL &&
              rc_last_error(h) == RC_EVALUE);
        void *b = rc_bytes(h, bad[i], strlen(bad[i])); /* bytes do not care */
        CHECK(b != NULL);
        rc_decref(b);
    }
    for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
        void *s = rc_str_cstr(h, good[i]);
        CHECK(s != NULL);
        rc_decref(s);
    }
    /* every 1- and 2-byte sequence, every 3-byte one with a 3-byte lead,
       and 4-byte ones over every second byte */
    unsigned char p[4];
    for (unsigned a = 0; a < 256; a++) {
        p[0] = (unsigned char)a;
        agree(h, p, 1);
        for (unsigned b = 0; b < 256; b++) {
            p[1] = (unsigned char)b;
            agree(h, p, 2);
        }
    }
    for (unsigned a = 0xE0; a < 0xF0; a++)
        for (unsigned b = 0; b < 256; b++)
            for (unsigned c = 0; c < 256; c++) {
                p[0] = (unsigned char)a, p[1] = (unsigned char)b, p[2] = (unsigned char)c;
                agree(h, p, 3);
            }
    static const unsigned char tails[] = {0x41, 0x80, 0xBF, 0xC0};
    for (unsigned a = 0xF0; a < 0x100; a++)
        for (unsigned b = 0; b < 256; b++)
            for (unsigned c = 0; c < 4; c++)
                for (unsigned d = 0; d < 4; d++) {
                    p[0] = (unsigned char)a, p[1] = (unsigned char)b;
                    p[2] = tails[c], p[3] = tails[d];
                    agree(h, p, 4);
                }
    CHECK_VALID(h);
    rc_heap_free(h);
}

static void test_length_limit(void)
{
    rc_heap *h = rc_heap_new(NULL);
    char small[4] = "abc"; /* the limit is checked before any byte is read */
    size_t huge[] = {(size_t)1 << 31, ((size_t)1 << 32) + 3, SIZE_MAX};
    for (size_t i = 0; i < sizeof huge / sizeof *huge; i++) {
        rc_clear_error(h);
        CHECK(rc_str(h, small, huge[i]) == NULL && rc_last_error(h) == RC_EOVERFLOW);
        rc_clear_error(h);
        CHECK(rc_bytes(h, small, huge[i]) == NULL && rc_last_error(h) == RC_EOVERFLOW);
        rc_clear_error(h);
        CHECK(rc_str_intern(h, small, huge[i]) == NULL &&
              rc_last_error(h) == RC_EOVERFLOW);
    }
    rc_strbuf b;
    rc_strbuf_init(&b, h);
    CHECK(rc_strbuf_append(&b, small, (size_t)1 << 31) == -1);
    CHECK(b.failed && rc_last_error(h) == RC_EOVERFLOW);
    CHECK(rc_strbuf_finish(&b) == NULL && rc_last_error(h) == RC_EOVERFLOW);
    CHECK_VALID(h);
    rc_heap_free(h);
}

/* White box: the payload starts with the cached 32-bit hash (types.h). */
static uint32_t cached_hash(const void *s)
{
    uint32_t v;
    memcpy(&v, s, sizeof v);
    return v;
}

static void test_hash(void)
{
    rc_heap *h = rc_heap_new(NULL);
    void *a = rc_str_cstr(h, "hash me");
    void *b = rc_str_cstr(h, "hash me");
    void *c = rc_str_cstr(h, "hash me!");
    void *y = rc_bytes(h, "hash me", 7);
    uint64_t ha, ha2, hb, hc, hy;
    CHECK(cached_hash(a) == 0); /* lazy: nothing computed yet */
    CHECK(rc_hash(a, &ha) == 0 && ha != 0 && cached_hash(a) == (uint32_t)ha);
    CHECK(rc_hash(a, &ha2) == 0 && ha2 == ha);
    CHECK(rc_hash(b, &hb) == 0 && hb == ha);
    CHECK(rc_hash(c, &hc) == 0 && hc != ha);
    CHECK(rc_hash(y, &hy) == 0 && cached_hash(y) == (uint32_t)hy);
    CHECK(rc_equal(a, b) && !rc_equal(a, c) && !rc_equal(a, y));
    rc_decref(a), rc_decref(b), rc_decref(c), rc_decref(y);
    CHECK_VALID(h);
    rc_heap_free(h);
}

static void test_intern_identity(void)
{
    rc_heap *h = rc_heap_new(NULL);
    void *a = rc_str_intern(h, "abc", 3);
    void *b = rc_str_intern(h, "abcd", 3);
    void *c = rc_str_intern(h, "abd", 3);
    CHECK(a && a == b && rc_refcount(a) == 2 && c != a);
    CHECK(rc_str_is_interned(a) && rc_str_is_interned(c));
    check_str(a, "abc", 3); /* the interned mark does not show in the length */

    /* a plain equal string is a different object, equal and hashing alike */
    void *p = rc_str(h, "abc", 3);
    uint64_t hp, ha;
    CHECK(p != a && !rc_str_is_interned(p));
    CHECK(rc_hash(p, &hp) == 0 && rc_hash(a, &ha) == 0 && hp == ha);
    CHECK(rc_equal(p, a) && rc_equal(a, p));
    void *q = rc_str_intern_obj(p); /* an equal one is interned: that one */
    CHECK(q == a && rc_refcount(a) == 3 && !rc_str_is_interned(p));

    /* interning an object that is the first of its text */
    void *x = rc_str(h, "xyz", 3);
    void *x2 = rc_str_intern_obj(x);
    CHECK(x2 == x && rc_refcount(x) == 2 && rc_str_is_interned(x));
    void *x3 = rc_str_intern(h, "xyz", 3);
    CHECK(x3 == x && rc_refcount(x) == 3);
    void *x4 = rc_str_intern_obj(x);
    CHECK(x4 == x && rc_refcount(x) == 4);
    void *e1 = rc_str_intern(h, "", 0), *e2 = rc_str_intern(h, NULL, 0);
    CHECK(e1 && e1 == e2);
    CHECK_VALID(h);
    void *all[] = {a, b, c, p, q, x, x2, x3, x4, e1, e2};
    for (size_t k = 0; k < sizeof all / sizeof *all; k++)
        rc_decref(all[k]);
    CHECK_VALID(h);
    rc_heap_free(h);
}

static void test_intern_death(void)
{
    counting_source src = {0};
    rc_config cfg = counting_config(&src);
    rc_heap *h = rc_heap_new(&cfg);
    void *a = rc_str_intern(h, "ephemeral", 9);
    rc_weakref *w = rc_weakref_new(a, NULL, NULL);
    CHECK(w && rc_weakref_get(w) == a);
    rc_decref(a); /* the one from weakref_get */
    rc_decref(a); /* the last: it dies and leaves the table */
    CHECK(rc_weakref_get(w) == NULL);
    void *b = rc_str_intern(h, "ephemeral", 9);
    CHECK(b && rc_refcount(b) == 1 && rc_str_is_interned(b));
    CHECK(rc_weakref_get(w) == NULL); /* b is a fresh object */
    rc_weakref *wb = rc_weakref_new(b, NULL, NULL);
    rc_decref(b);
    CHECK(rc_weakref_get(wb) == NULL);
    rc_decref(w), rc_decref(wb);
    CHECK_VALID(h);

    /* many strings in and out: deletions must keep every probe chain
       whole, so what is still held is still found */
    enum { N = 6000 };
    static void *held[N];
    char text[32];
    uint64_t seed = 42;
    for (int round = 0; round < 4; round++) {
        for (int i = 0; i < N; i++) {
            int len = snprintf(text, sizeof text, "s%d", i);
            void *s = rc_str_intern(h, text, (size_t)len);
            CHECK(s && rc_str_is_interned(s));
            if (held[i]) {
                CHECK(s == held[i]);
                rc_decref(s);
            } else {
                CHECK(rc_refcount(s) == 1); /* fresh: the old one died */
                held[i] = s;
            }
        }
        CHECK_VALID(h);
        for (int i = 0; i < N; i++)
            if (test_rand(&seed) % 3 != 0) {
                rc_decref(held[i]);
                held[i] = NULL;
            }
        CHECK_VALID(h);
    }
    for (int i = 0; i < N; i++) {
        rc_decref(held[i]);
        held[i] = NULL;
    }
    CHECK_VALID(h);
    rc_heap_free(h);
    CHECK(src.live_bytes == 0 && src.live_regions == 0);
}

/* The table's growth failing: intern_obj and intern fail with RC_ENOMEM,
   the table keeps every string it had, and a retry works.  The table
   reaches its own mapping (1 MiB) long before N strings, so at least one
   growth needs a page request. */
static void test_intern_table_oom(void)
{
    enum { N = 50000 };
    counting_source src = {0};
    rc_config cfg = counting_config(&src);
    rc_heap *h = rc_heap_new(&cfg);
    static void *held[N];
    char text[16];
    size_t failures = 0;
    for (int i = 0; i < N; i++) {
        int n = snprintf(text, sizeof text, "t%d", i);
        void *p = rc_str(h, text, (size_t)n);
        CHECK(p);
        rc_heap_fail_page_request(h, 1);
        held[i] = rc_str_intern_obj(p);
        rc_heap_fail_page_request(h, 0);
        if (held[i]) {
            CHECK(held[i] == p);
            rc_decref(p);
            continue;
        }
        failures++;
        CHECK(rc_last_error(h) == RC_ENOMEM && !rc_str_is_interned(p));
        size_t blocks = live_blocks(h);
        rc_heap_fail_page_request(h, 1);
        CHECK(rc_str_intern(h, text, (size_t)n) == NULL);
        rc_heap_fail_page_request(h, 0);
        CHECK(rc_last_error(h) == RC_ENOMEM && live_blocks(h) == blocks);
        for (int j = 0; j < i; j++) { /* nothing was lost */
            int m = snprintf(text, sizeof text, "t%d", j);
            void *q = rc_str_intern(h, text, (size_t)m);
            CHECK(q == held[j]);
            rc_decref(q);
        }
        CHECK_VALID(h);
        held[i] = rc_str_intern_obj(p); /* memory is back: it works */
        CHECK(held[i] == p);
        rc_decref(p);
    }
    CHECK(failures > 0);
    for (int i = 0; i < N; i++)
        rc_decref(held[i]);
    CHECK_VALID(h);
    rc_heap_free(h);
    CHECK(src.live_bytes == 0 && src.live_regions == 0);
}

static void test_intern_immortal(void)
{
    counting_source src = {0};
    rc_config cfg = counting_config(&src);
    rc_heap *h = rc_heap_new(&cfg);
    void *s = rc_str_intern(h, "forever", 7);
    rc_make_immortal(s);
    rc_decref(s);
    rc_decref(s);
    void *t = rc_str_intern(h, "forever", 7);
    CHECK(t == s && rc_is_immortal(t) && rc_str_is_interned(t));
    check_str(t, "forever", 7);
    rc_decref(t);
    void *m = rc_str_intern(h, "mortal", 6); /* dies before the heap */
    rc_decref(m);
    void *k = rc_str_intern(h, "kept", 4);   /* left for rc_heap_free */
    (void)k;
    rc_collect(h, -1);
    CHECK(rc_str_intern(h, "forever", 7) == s);
    CHECK_VALID(h);
    rc_heap_free(h); /* destroys the immortal and the kept one */
    CHECK(src.live_bytes == 0 && src.live_regions == 0);
}

static void test_concat(void)
{
    rc_heap *h = rc_heap_new(NULL);
    void *a = rc_str_cstr(h, "foo");
    void *b = rc_str_cstr(h, "b\xC3\xA4r");
    void *e = rc_str(h, "", 0);
    void *ab = rc_str_concat(h, a, b);
    check_str(ab, "foob\xC3\xA4r", 7);
    CHECK(!rc_str_is_interned(ab));
    void *ae = rc_str_concat(h, a, e);
    check_str(ae, "foo", 3);
    CHECK(ae != a);
    void *i = rc_str_intern(h, "foo", 3);
    void *ia = rc_str_concat(h, i, ab);
    check_str(ia, "foofoob\xC3\xA4r", 10);
    CHECK_VALID(h);
    void *all[] = {a, b, e, ab, ae, i, ia};
    for (size_t k = 0; k < sizeof all / sizeof *all; k++)
        rc_decref(all[k]);
    CHECK_VALID(h);
    rc_heap_free(h);
}

static void test_builder(int debug)
{
    enum { N = 100000 };
    rc_config cfg;
    rc_config_init(&cfg);
    cfg.debug = debug;
    rc_heap *h = rc_heap_new(&cfg);
    rc_decref(rc_str(h, "", 0)); /* the str type's record exists from here */
    size_t blocks = live_blocks(h);
    rc_strbuf b;
    rc_strbuf_init(&b, h);
    CHECK(b.data && b.data[0] == '\0' && b.len == 0 && !b.failed);

    char *want = malloc((size_t)N * 16);
    size_t wlen = 0, grows = 0, cap = b.cap;
    char piece[16];
    CHECK(want);
    for (int i = 0; i < N; i++) {
        int n = snprintf(piece, sizeof piece, "%d,", i);
        memcpy(want + wlen, piece, (size_t)n);
        wlen += (size_t)n;
        CHECK(rc_strbuf_append(&b, piece, (size_t)n) == 0);
        grows += b.cap != cap;
        cap = b.cap;
    }
    CHECK(b.len == wlen && memcmp(b.data, want, wlen) == 0 && b.data[wlen] == '\0');
    CHECK(grows < 64); /* geometric growth: bytes copied stay linear */

    void *s = rc_strbuf_finish(&b);
    check_str(s, want, wlen);
    CHECK(b.cap == 0 && b.len == 0); /* the buffer went back */
    rc_decref(s);
    CHECK_VALID(h);

    /* appendf: short output fits in place, long output is measured first */
    rc_strbuf_init(&b, h);
    CHECK(rc_strbuf_appendf(&b, "%d-%s", 42, "x") == 0);
    CHECK(b.len == 4 && strcmp(b.data, "42-x") == 0);
    memset(want, 'q', 200000);
    want[200000] = '\0';
    CHECK(rc_strbuf_appendf(&b, "<%s|%05d>", want, 7) == 0);
    CHECK(b.len == 4 + 200000 + 8);
    CHECK(memcmp(b.data, "42-x<", 5) == 0 && memcmp(b.data + 5, want, 200000) == 0);
    CHECK(strcmp(b.data + 200005, "|00007>") == 0);
    CHECK(rc_strbuf_appendf(&b, "%s", "") == 0 && b.len == 200012);
    s = rc_strbuf_finish(&b);
    CHECK(s && rc_str_len(s) == 200012);
    rc_decref(s);

    /* an empty builder finishes as the empty string */
    rc_strbuf_init(&b, h);
    s = rc_strbuf_finish(&b);
    check_str(s, "", 0);
    rc_decref(s);

    /* invalid UTF-8 is refused at finish; release abandons */
    rc_strbuf_init(&b, h);
    CHECK(rc_strbuf_append(&b, "ok \xC0\xAF", 5) == 0);
    rc_clear_error(h);
    CHECK(rc_strbuf_finish(&b) == NULL && rc_last_error(h) == RC_EVALUE);
    CHECK(b.cap == 0);
    rc_strbuf_init(&b, h);
    CHECK(rc_strbuf_appendf(&b, "%s", "abandoned") == 0);
    rc_strbuf_release(&b);
    rc_strbuf_release(&b); /* twice is harmless */
    CHECK(b.cap == 0 && b.data[0] == '\0');
    free(want);
    CHECK_VALID(h);
    CHECK(live_blocks(h) == blocks);
    rc_heap_free(h);
}

static void test_builder_oom(void)
{
    counting_source src = {0};
    rc_config cfg = counting_config(&src);
    rc_heap *h = rc_heap_new(&cfg);
    void *keep = rc_str_cstr(h, "survivor");
    size_t blocks = live_blocks(h);
    rc_strbuf b;
    rc_strbuf_init(&b, h);
    char chunk[4096];
    memset(chunk, 'z', sizeof chunk);
    rc_heap_fail_page_request(h, 1);
    int rc = 0;
    for (int i = 0; i < 1024 && rc == 0; i++) /* up to 4 MiB: needs pages */
        rc = rc_strbuf_append(&b, chunk, sizeof chunk);
    CHECK(rc == -1 && b.failed && rc_last_error(h) == RC_ENOMEM);
    CHECK(b.cap == 0 && b.data[0] == '\0'); /* released at once */
    CHECK(rc_strbuf_append(&b, "x", 1) == -1);
    CHECK(rc_strbuf_appendf(&b, "%d", 1) == -1);
    rc_clear_error(h);
    CHECK(rc_strbuf_finish(&b) == NULL && rc_last_error(h) == RC_ENOMEM);
    CHECK_VALID(h);

    /* the same through appendf's measured path */
    rc_strbuf_init(&b, h);
    CHECK(rc_strbuf_append(&b, "head", 4) == 0);
    rc_heap_fail_page_request(h, 1);
    CHECK(rc_strbuf_appendf(&b, "%*d", 3 << 20, 5) == -1);
    CHECK(b.failed && b.cap == 0);
    rc_strbuf_release(&b); /* abandoning a failed builder is fine too */
    rc_heap_fail_page_request(h, 0);
    CHECK(live_blocks(h) == blocks);
    check_str(keep, "survivor", 8);
    rc_decref(keep);
    CHECK_VALID(h);
    rc_heap_free(h);
    CHECK(src.live_bytes == 0 && src.live_regions == 0);
}

/* ---- Out-of-memory sweep ---------------------------------------------------
 * Fail page request 1, 2, 3, ... of one scenario until a run sees no
 * failure.  Every step either works or fails with RC_ENOMEM; afterwards the
 * heap validates and returns every byte. */

/* Sizes chosen to need pages often: strings from pools, page runs and
   their own mappings; the builder grows past 512 KiB. */
enum { SWEEP_STRS = 24, SWEEP_LONG = 40, SWEEP_SHORT = 3000 };
#define SWEEP_TEXT (24 * 37000)

/* A failing call must say RC_ENOMEM; returns whether it worked. */
static int worked(rc_heap *h, const void *result)
{
    if (!result)
        CHECK(rc_last_error(h) == RC_ENOMEM);
    rc_clear_error(h);
    return result != NULL;
}

/* Whether it works or not, the builder gives back every block. */
static void sweep_builder(rc_heap *h, const char *text)
{
    size_t blocks = live_blocks(h);
    rc_strbuf b;
    rc_strbuf_init(&b, h);
    for (int i = 0; i < 2000; i++) /* results checked by finish */
        rc_strbuf_appendf(&b, "%.*s%d;", 1000, text, i);
    size_t len = b.len;
    void *s = rc_strbuf_finish(&b);
    if (worked(h, s))
        CHECK(rc_str_len(s) == len && len > 2000000);
    CHECK_VALID(h);
    rc_decref(s);
    CHECK(live_blocks(h) == blocks);
}

static void *sweep_intern(rc_heap *h, const char *s, size_t n)
{
    void *o = rc_str_intern(h, s, n);
    if (worked(h, o))
        CHECK(rc_str_is_interned(o) && rc_str_len(o) == n);
    return o;
}

static void sweep_once(rc_heap *h)
{
    static void *strs[SWEEP_STRS], *longs[SWEEP_LONG], *shorts[SWEEP_SHORT];
    static char text[SWEEP_TEXT];
    memset(text, 'a', sizeof text);
    for (int i = 0; i < SWEEP_STRS; i++) {
        size_t n = (size_t)i * 37000;
        strs[i] = rc_str(h, text, n);
        if (worked(h, strs[i]))
            CHECK(rc_str_len(strs[i]) == n);
    }
    for (int i = 1; i < SWEEP_STRS; i++) { /* every other char, in place of the str */
        void *half = strs[i] ? rc_str_get_slice(strs[i], RC_SLICE(0, RC_SLICE_NONE, 2)) : NULL;
        if (strs[i] && worked(h, half)) {
            CHECK(rc_str_chars(half) == (size_t)i * 18500);
            rc_decref(strs[i]);
            strs[i] = half;
        }
    }
    for (int i = 0; i < SWEEP_LONG; i++) {
        text[0] = (char)('A' + i); /* 40 distinct 30 KB texts */
        longs[i] = sweep_intern(h, text, 30000);
    }
    for (int i = 0; i < SWEEP_SHORT; i++) {
        char name[16];
        int n = snprintf(name, sizeof name, "k%d", i % 2000); /* some twice */
        shorts[i] = sweep_intern(h, name, (size_t)n);
    }
    sweep_builder(h, text);
    CHECK_VALID(h);
    for (int i = 0; i < SWEEP_STRS; i++)
        rc_decref(strs[i]);
    for (int i = 0; i < SWEEP_LONG; i++)
        rc_decref(longs[i]);
    for (int i = 0; i < SWEEP_SHORT; i++)
        rc_decref(shorts[i]);
    CHECK_VALID(h);
}

static void test_oom_sweep(void)
{
    for (unsigned long nth = 1;; nth++) {
        counting_source src = {0};
        rc_config cfg = counting_config(&src);
        rc_heap *h = rc_heap_new(&cfg);
        CHECK(h);
        rc_heap_fail_page_request(h, nth);
        sweep_once(h);
        rc_alloc_stats st;
        rc_alloc_stats_get(h, &st);
        rc_heap_free(h);
        CHECK(src.live_bytes == 0 && src.live_regions == 0);
        if (st.page_failures == 0) {
            CHECK(nth > 3); /* the scenario did need pages */
            break;
        }
    }
}

/* Python's s.find(sub, start, end), in code points; and the order of
   strs (rc_compare: code point order, which UTF-8's byte order is). */
static void test_find_and_order(void)
{
    rc_heap *h = rc_heap_new(NULL);
    void *s = rc_str_cstr(h, "abcab\xc3\xa9" "ab"), *ab = rc_str_cstr(h, "ab");
    void *e = rc_str_cstr(h, "\xc3\xa9"), *empty = rc_str_cstr(h, ""), *zz = rc_str_cstr(h, "zz");
    size_t pos = 99;
    CHECK(rc_str_find(s, ab, RC_RANGE(0, RC_SLICE_NONE), &pos) == 1 && pos == 0);
    CHECK(rc_str_find(s, ab, RC_RANGE(1, RC_SLICE_NONE), &pos) == 1 && pos == 3);
    CHECK(rc_str_find(s, ab, RC_RANGE(4, RC_SLICE_NONE), &pos) == 1 && pos == 6); /* Python: 6 */
    CHECK(rc_str_find(s, ab, RC_RANGE(7, RC_SLICE_NONE), &pos) == 0);
    CHECK(rc_str_find(s, ab, RC_RANGE(6, 7), &pos) == 0);
    CHECK(rc_str_find(s, ab, RC_RANGE(3, 4), &pos) == 0); /* must fit inside [start, end) */
    CHECK(rc_str_find(s, e, RC_RANGE(0, RC_SLICE_NONE), &pos) == 1 && pos == 5);
    CHECK(rc_str_find(s, zz, RC_RANGE(0, RC_SLICE_NONE), &pos) == 0);
    CHECK(rc_str_find(s, empty, RC_RANGE(8, RC_SLICE_NONE), &pos) == 1 && pos == 8); /* "".find at len */
    CHECK(rc_str_find(s, empty, RC_RANGE(9, RC_SLICE_NONE), &pos) == 0);
    CHECK(rc_str_find(empty, empty, RC_RANGE(0, 0), &pos) == 1 && pos == 0);
    CHECK(rc_str_find(ab, s, RC_RANGE(0, RC_SLICE_NONE), &pos) == 0); /* longer than the text */
    /* Python's negative bounds, in code points: s.find('ab', -2) is 6,
       s.find('ab', -5, -1) is 3, s.find('é', -100, -2) is 5 */
    CHECK(rc_str_find(s, ab, RC_RANGE(-2, RC_SLICE_NONE), &pos) == 1 && pos == 6);
    CHECK(rc_str_find(s, ab, RC_RANGE(-5, -1), &pos) == 1 && pos == 3);
    CHECK(rc_str_find(s, e, RC_RANGE(-100, -2), &pos) == 1 && pos == 5);
    CHECK(rc_str_find(s, ab, RC_RANGE(-1, RC_SLICE_NONE), &pos) == 0);
    CHECK(rc_str_find(s, ab, RC_RANGE_ALL, &pos) == 1 && pos == 0);
    CHECK_ERR(h, rc_str_find(s, ab, RC_SLICE(0, 4, -1), &pos) == -1, RC_EVALUE);
    void *b = rc_bytes(h, "x\0yx\0z", 6), *nul = rc_bytes(h, "\0z", 2);
    CHECK(rc_str_find(b, nul, RC_RANGE(0, RC_SLICE_NONE), &pos) == 1 && pos == 4);
    /* str in bytes, an int, NULL: RC_ETYPE */
    void *i = rc_int(h, 5000);
    CHECK_ERR(h, rc_str_find(s, nul, RC_RANGE(0, RC_SLICE_NONE), &pos) == -1, RC_ETYPE);
    CHECK(rc_str_find(b, ab, RC_RANGE(0, RC_SLICE_NONE), &pos) == -1 && rc_last_error(h) == RC_ETYPE);
    CHECK_ERR(h, rc_str_find(i, ab, RC_RANGE(0, RC_SLICE_NONE), &pos) == -1, RC_ETYPE);
    CHECK(rc_str_find(s, NULL, RC_RANGE(0, RC_SLICE_NONE), &pos) == -1 && rc_last_error(h) == RC_ETYPE);
    CHECK(rc_str_find(NULL, s, RC_RANGE(0, RC_SLICE_NONE), &pos) == -1);
    rc_clear_error(h);

    int r = 0;
    CHECK(rc_compare(ab, s, &r) == 0 && r < 0 && rc_compare(s, ab, &r) == 0 && r > 0);
    CHECK(rc_compare(e, zz, &r) == 0 && r > 0 && rc_compare(empty, ab, &r) == 0 && r < 0);
    void *ab2 = rc_str_cstr(h, "ab");
    CHECK(rc_compare(ab, ab2, &r) == 0 && r == 0);
    void *objs[] = {s, ab, e, empty, zz, b, nul, i, ab2};
    for (size_t k = 0; k < sizeof objs / sizeof *objs; k++)
        rc_decref(objs[k]);
    rc_heap_free(h);
}

/* Length in code points, one code point, slices (slice_vs_cpython
   compares them with CPython at random; here: the cache through every
   constructor, identity, bytes, errors). */
static void test_code_points(void)
{
    rc_heap *h = test_heap(0);
    const char *text = "a\xc3\xa9\xe2\x82\xac\xf0\x9d\x84\x9e"; /* a é € 𝄞 */
    void *s = rc_str_cstr(h, text), *a = rc_str_cstr(h, "plain");
    CHECK(rc_str_len(s) == 10 && rc_str_chars(s) == 4 && rc_str_chars(a) == 5);
    void *c = rc_str_concat(h, s, a), *in = rc_str_intern(h, text, 10);
    CHECK(rc_str_chars(c) == 9 && rc_str_chars(in) == 4);
    rc_strbuf b;
    rc_strbuf_init(&b, h);
    for (int k = 0; k < 100; k++)
        CHECK(rc_strbuf_append(&b, text, 10) == 0);
    void *big = rc_strbuf_finish(&b);
    CHECK(rc_str_chars(big) == 400 && rc_str_len(big) == 1000);
    /* s[i], from either end: the walk starts at the nearer one */
    void *e = rc_str_char_at(big, 398), *g = rc_str_char_at(big, -1), *a0 = rc_str_char_at(s, -4);
    CHECK(strcmp(rc_str_data(e, NULL), "\xe2\x82\xac") == 0 && rc_str_chars(e) == 1);
    CHECK(strcmp(rc_str_data(g, NULL), "\xf0\x9d\x84\x9e") == 0);
    CHECK(strcmp(rc_str_data(a0, NULL), "a") == 0);
    CHECK_ERR(h, rc_str_char_at(s, 4) == NULL, RC_EINDEX);
    CHECK_ERR(h, rc_str_char_at(s, -5) == NULL, RC_EINDEX);
    /* slices: whole is the same object, the rest new with their count */
    void *all = rc_str_get_slice(s, RC_SLICE(-100, 100, 1));
    CHECK(all == s && rc_refcount(s) == 2);
    void *rev = rc_str_get_slice(s, RC_SLICE(RC_SLICE_NONE, RC_SLICE_NONE, -1));
    CHECK(strcmp(rc_str_data(rev, NULL), "\xf0\x9d\x84\x9e\xe2\x82\xac\xc3\xa9" "a") == 0);
    CHECK(rc_str_chars(rev) == 4 && rc_str_len(rev) == 10);
    void *mid = rc_str_get_slice(big, RC_SLICE(201, 203, 1)); /* é € */
    CHECK(strcmp(rc_str_data(mid, NULL), "\xc3\xa9\xe2\x82\xac") == 0);
    /* bytes index by byte */
    void *by = rc_bytes(h, text, 10), *bs = rc_str_get_slice(by, RC_SLICE(1, 3, 1));
    size_t n;
    CHECK(rc_str_chars(by) == 10 && rc_typeof(bs) == &rc_bytes_type);
    CHECK(memcmp(rc_bytes_data(bs, &n), "\xc3\xa9", 2) == 0 && n == 2);
    /* errors */
    void *i = rc_int(h, 7000);
    CHECK_ERR(h, rc_str_get_slice(s, RC_SLICE(0, 1, 0)) == NULL, RC_EVALUE);
    CHECK_ERR(h, rc_str_get_slice(i, RC_SLICE(0, 1, 1)) == NULL, RC_ETYPE);
    CHECK_ERR(h, rc_str_char_at(by, 0) == NULL, RC_ETYPE);
    CHECK_ERR(h, rc_str_chars(i) == 0, RC_ETYPE);
    void *objs[] = {s, a, c, in, big, e, g, a0, all, rev, mid, by, bs, i};
    for (size_t k = 0; k < sizeof objs / sizeof *objs; k++)
        rc_decref(objs[k]);
    CHECK_VALID(h);
    rc_heap_free(h);
}

int main(void)
{
    test_code_points();
    test_find_and_order();
    test_construction();
    test_utf8();
    test_length_limit();
    test_hash();
    test_intern_identity();
    test_intern_death();
    test_intern_table_oom();
    test_intern_immortal();
    test_concat();
    test_builder(0);
    test_builder(1);
    test_builder_oom();
    test_oom_sweep();
    puts("test_str: ok");
    return 0;
}
