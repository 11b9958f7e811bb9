/*
 * json_load.c — a JSON loader on rcgc, as a runtime author would write it:
 * RFC 8259 text to dicts, lists, str, int (any size), float, None, True
 * and False, like Python's json.load.
 *
 *   json_load [--repr] [--no-gc] FILE     (a regular file: it is mapped)
 *
 * Prints what it loaded (counts by type), the load's CPU time (reading
 * the file included), the collector's work and the peak RSS; --repr prints the value's repr instead (Python's
 * repr of json.load's result, byte for byte); --no-gc pauses automatic
 * collection while loading (a parse cannot make a cycle).  Bad JSON: a
 * message with its position, as Python's ("Expecting value: line 1
 * column 5 (char 4)"), and exit status 1.
 *
 * Strict where Python's json is lenient: NaN, Infinity and -Infinity are
 * refused, as RFC 8259 says (Python accepts them); a lone \ud800 surrogate
 * is refused (rcgc's str is UTF-8, which cannot hold one).  Integers
 * longer than 4300 digits are refused, as in Python (RC_INT_MAX_STR_DIGITS).
 * Duplicate keys: the last one wins, as in Python.
 */
#define _DEFAULT_SOURCE /* madvise */
#include "rcgc.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include <time.h>

typedef struct parser {
    rc_heap *h;
    const char *text, *p, *end;
    const char *released;   /* text before this went back to the kernel */
    const char *error;      /* what went wrong (NULL: nothing) */
    const char *error_at;   /* where */
    char *buf;              /* decoded string with escapes */
    size_t buf_cap;
    void *keys[4096];       /* recent keys by hash: dict keys repeat */
    size_t counts[8];       /* values loaded, by kind */
} parser;

enum { K_DICT, K_LIST, K_STR, K_INT, K_BIGINT, K_FLOAT, K_CONST, K_KINDS };
static const char *const kind_names[K_KINDS] = {"dict", "list", "str", "int",
                                                "int (big)", "float", "None/True/False"};

static void *fail(parser *ps, const char *msg, const char *at)
{
    if (!ps->error) {
        ps->error = msg;
        ps->error_at = at;
    }
    return NULL;
}

static long fail_code(parser *ps, const char *msg, const char *at)
{
    fail(ps, msg, at);
    return -1;
}

static void skip_ws(parser *ps)
{
    while (ps->p < ps->end &&
           (*ps->p == ' ' || *ps->p == '\n' || *ps->p == '\t' || *ps->p == '\r'))
        ps->p++;
}

/* ---- Strings ---------------------------------------------------------------- */

static bool buf_put(parser *ps, size_t at, const char *s, size_t n)
{
    if (!n)
        return true;
    if (at + n > ps->buf_cap) {
        size_t cap = ps->buf_cap ? ps->buf_cap * 2 : 256;
        while (cap < at + n)
            cap *= 2;
        char *b = realloc(ps->buf, cap);
        if (!b)
            return false;
        ps->buf = b;
        ps->buf_cap = cap;
    }
    memcpy(ps->buf + at, s, n);
    return true;
}

static int hex4(const char *s)
{
    int v = 0;
    for (int i = 0; i < 4; i++) {
        char c = s[i];
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
              : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        if (d < 0)
            return -1;
        v = v * 16 + d;
    }
    return v;
}

static size_t utf8_put(char *out, uint32_t cp)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | cp >> 6);
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | cp >> 12);
        out[1] = (char)(0x80 | (cp >> 6 & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | cp >> 18);
    out[1] = (char)(0x80 | (cp >> 12 & 0x3F));
    out[2] = (char)(0x80 | (cp >> 6 & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* A \u escape at s (pointing at the 'u'), with its low surrogate if it is
   a high one: the code point, or -1; *len gets the bytes read. */
static long unicode_escape(parser *ps, const char *s, size_t *len)
{
    if (ps->end - s < 5 || hex4(s + 1) < 0)
        return fail_code(ps, "Invalid \\uXXXX escape", s);
    long cp = hex4(s + 1);
    *len = 5;
    if (cp >= 0xDC00 && cp <= 0xDFFF)
        return fail_code(ps, "Lone surrogate (not representable in UTF-8)", s - 1);
    if (cp >= 0xD800 && cp <= 0xDBFF) {
        int lo = ps->end - s >= 11 && s[5] == '\\' && s[6] == 'u' ? hex4(s + 7) : -1;
        if (lo < 0xDC00 || lo > 0xDFFF)
            return fail_code(ps, "Lone surrogate (not representable in UTF-8)", s - 1);
        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
        *len = 11;
    }
    return cp;
}

/* The string starting after the opening quote at ps->p; ps->p moves past
   the closing quote.  *text and *n get its bytes (in the text itself when it
   has no escape, else in ps->buf). */
static bool scan_string(parser *ps, const char **text, size_t *n)
{
    const char *start = ps->p, *s = start;
    while (s < ps->end && *s != '"' && *s != '\\' && (unsigned char)*s >= 0x20)
        s++;
    if (s < ps->end && *s == '"') { /* the common case: no escape */
        *text = start;
        *n = (size_t)(s - start);
        ps->p = s + 1;
        return true;
    }
    size_t at = 0;
    if (!buf_put(ps, 0, start, (size_t)(s - start)))
        return fail(ps, "out of memory", s), false;
    at = (size_t)(s - start);
    for (;;) {
        if (s >= ps->end)
            return fail(ps, "Unterminated string starting at", start - 1), false;
        char c = *s;
        if (c == '"')
            break;
        if ((unsigned char)c < 0x20)
            return fail(ps, "Invalid control character at", s), false;
        if (c != '\\') {
            const char *run = s;
            while (s < ps->end && *s != '"' && *s != '\\' && (unsigned char)*s >= 0x20)
                s++;
            if (!buf_put(ps, at, run, (size_t)(s - run)))
                return fail(ps, "out of memory", s), false;
            at += (size_t)(s - run);
            continue;
        }
        if (s + 1 >= ps->end)
            return fail(ps, "Unterminated string starting at", start - 1), false;
        char out[4];
        size_t len = 2, outn = 1;
        switch (s[1]) {
        case '"': out[0] = '"'; break;
        case '\\': out[0] = '\\'; break;
        case '/': out[0] = '/'; break;
        case 'b': out[0] = '\b'; break;
        case 'f': out[0] = '\f'; break;
        case 'n': out[0] = '\n'; break;
        case 'r': out[0] = '\r'; break;
        case 't': out[0] = '\t'; break;
        case 'u': {
            long cp = unicode_escape(ps, s + 1, &len);
            if (cp < 0)
                return false;
            len += 1;
            outn = utf8_put(out, (uint32_t)cp);
            break;
        }
        default:
            return fail(ps, "Invalid \\escape", s), false;
        }
        if (!buf_put(ps, at, out, outn))
            return fail(ps, "out of memory", s), false;
        at += outn;
        s += len;
    }
    *text = ps->buf;
    *n = at;
    ps->p = s + 1;
    return true;
}

static void *make_str(parser *ps, const char *at, const char *text, size_t n)
{
    void *s = rc_str(ps->h, text, n);
    if (!s)
        return fail(ps, rc_last_error(ps->h) == RC_EVALUE ? "Invalid UTF-8 in string at"
                                                          : "out of memory", at);
    ps->counts[K_STR]++;
    return s;
}

/* A dict key: the same text as a recent key gives the same str object
   (Python's json keeps such a memo too). */
static void *key_str(parser *ps)
{
    const char *at = ps->p;
    ps->p++;
    const char *text;
    size_t n;
    if (!scan_string(ps, &text, &n))
        return NULL;
    uint32_t hash = 2166136261u;
    for (size_t i = 0; i < n; i++)
        hash = (hash ^ (unsigned char)text[i]) * 16777619u;
    void **slot = &ps->keys[hash % (sizeof ps->keys / sizeof *ps->keys)];
    size_t len;
    if (*slot && (len = rc_str_len(*slot)) == n && memcmp(rc_str_data(*slot, NULL), text, n) == 0) {
        rc_incref(*slot);
        ps->counts[K_STR]++;
        return *slot;
    }
    void *s = make_str(ps, at, text, n);
    if (s) {
        if (*slot)
            rc_decref(*slot);
        rc_incref(s);
        *slot = s;
    }
    return s;
}

/* ---- Numbers and literals ----------------------------------------------------- */

static void *number(parser *ps)
{
    const char *start = ps->p, *s = start;
    if (*s == '-')
        s++;
    if (s >= ps->end || *s < '0' || *s > '9')
        return fail(ps, "Expecting value", start);
    if (*s == '0')
        s++;
    else
        while (s < ps->end && *s >= '0' && *s <= '9')
            s++;
    /* a '.' or 'e' without digits ends the number there (then "Extra
       data", as in Python) */
    bool is_float = false;
    if (s + 1 < ps->end && *s == '.' && s[1] >= '0' && s[1] <= '9') {
        is_float = true;
        for (s++; s < ps->end && *s >= '0' && *s <= '9';)
            s++;
    }
    if (s < ps->end && (*s == 'e' || *s == 'E')) {
        const char *e = s + 1;
        if (e < ps->end && (*e == '+' || *e == '-'))
            e++;
        if (e < ps->end && *e >= '0' && *e <= '9') {
            is_float = true;
            for (s = e; s < ps->end && *s >= '0' && *s <= '9';)
                s++;
        }
    }
    ps->p = s;
    void *v;
    if (is_float) {
        char tmp[64], *copy = (size_t)(s - start) < sizeof tmp ? tmp : malloc((size_t)(s - start) + 1);
        if (!copy)
            return fail(ps, "out of memory", start);
        memcpy(copy, start, (size_t)(s - start));
        copy[s - start] = 0;
        v = rc_float(ps->h, strtod(copy, NULL)); /* overflow gives inf, as Python */
        if (copy != tmp)
            free(copy);
        ps->counts[K_FLOAT]++;
    } else if (s - start <= 18) { /* fits int64: no need for the general path */
        const char *d = start + (*start == '-');
        int64_t x = 0;
        while (d < s)
            x = x * 10 + (*d++ - '0');
        v = rc_int(ps->h, *start == '-' ? -x : x);
        ps->counts[K_INT]++;
    } else {
        v = rc_int_from_str(ps->h, start, (size_t)(s - start));
        if (!v && rc_last_error(ps->h) == RC_EVALUE)
            return fail(ps, "Integer longer than 4300 digits at", start);
        ps->counts[v && rc_typeof(v) == &rc_bigint_type ? K_BIGINT : K_INT]++;
    }
    return v ? v : fail(ps, "out of memory", start);
}

static void *literal(parser *ps)
{
    static const struct { const char *word; size_t n; } words[] = {
        {"null", 4}, {"true", 4}, {"false", 5}};
    for (int i = 0; i < 3; i++)
        if ((size_t)(ps->end - ps->p) >= words[i].n && memcmp(ps->p, words[i].word, words[i].n) == 0) {
            ps->p += words[i].n;
            ps->counts[K_CONST]++;
            void *v = i == 0 ? rc_none(ps->h) : rc_bool(ps->h, i == 1);
            return v ? v : fail(ps, "out of memory", ps->p);
        }
    return fail(ps, "Expecting value", ps->p);
}

/* ---- Values: an explicit stack of open containers, so depth costs no C stack */

typedef struct frame {
    void *container;
    void *key;       /* dict: the key waiting for its value */
} frame;

/* Drop the pages of text already parsed from memory (a file mapping
   reads them back if an error message needs them): every 8 MiB. */
static void release_read(parser *ps)
{
    const uintptr_t page = 4096, step = (uintptr_t)8 << 20;
    if ((uintptr_t)(ps->p - ps->released) < step)
        return;
    uintptr_t from = (uintptr_t)ps->released & ~(page - 1);
    uintptr_t to = (uintptr_t)ps->p & ~(page - 1);
    madvise((void *)from, to - from, MADV_DONTNEED);
    ps->released = (const char *)to;
}

static void *parse(parser *ps)
{
    frame *stack = NULL;
    size_t depth = 0, cap = 0;
    void *v = NULL;
    for (;;) {
        /* a value starts here */
        release_read(ps);
        skip_ws(ps);
        if (ps->p >= ps->end) {
            fail(ps, "Expecting value", ps->p);
            goto error;
        }
        char c = *ps->p;
        if (c == '{' || c == '[') {
            const char *at = ps->p++;
            void *container = c == '{' ? rc_dict(ps->h) : rc_list(ps->h);
            if (!container) {
                fail(ps, "out of memory", at);
                goto error;
            }
            ps->counts[c == '{' ? K_DICT : K_LIST]++;
            skip_ws(ps);
            char close = c == '{' ? '}' : ']';
            if (ps->p < ps->end && *ps->p == close) {
                ps->p++;
                v = container;
                goto complete;
            }
            if (depth == cap) {
                cap = cap ? cap * 2 : 64;
                frame *s = realloc(stack, cap * sizeof *s);
                if (!s) {
                    rc_decref(container);
                    fail(ps, "out of memory", at);
                    goto error;
                }
                stack = s;
            }
            stack[depth++] = (frame){container, NULL};
            if (c == '{')
                goto key;
            continue;
        }
        if (c == '"') {
            const char *at = ps->p++;
            const char *text;
            size_t n;
            v = scan_string(ps, &text, &n) ? make_str(ps, at, text, n) : NULL;
        } else if (c == '-' || (c >= '0' && c <= '9')) {
            v = number(ps);
        } else {
            v = literal(ps);
        }
        if (!v)
            goto error;
    complete:
        /* v is a complete value: store it in the innermost container */
        for (;;) {
            if (!depth) {
                free(stack);
                return v;
            }
            frame *f = &stack[depth - 1];
            bool is_dict = f->key != NULL;
            int r = is_dict ? rc_dict_set(f->container, f->key, v) : rc_list_append(f->container, v);
            rc_decref(v);
            if (is_dict) {
                rc_decref(f->key);
                f->key = NULL;
            }
            v = NULL;
            if (r != 0) {
                fail(ps, "out of memory", ps->p);
                goto error;
            }
            skip_ws(ps);
            char close = is_dict ? '}' : ']';
            if (ps->p < ps->end && *ps->p == ',') {
                ps->p++;
                if (is_dict)
                    goto key;
                break; /* the next item */
            }
            if (ps->p < ps->end && *ps->p == close) {
                ps->p++;
                v = f->container;
                depth--;
                continue;
            }
            fail(ps, "Expecting ',' delimiter", ps->p);
            goto error;
        }
        continue;
    key:
        /* a dict's key and its colon */
        skip_ws(ps);
        if (ps->p >= ps->end || *ps->p != '"') {
            fail(ps, "Expecting property name enclosed in double quotes", ps->p);
            goto error;
        }
        if (!(stack[depth - 1].key = key_str(ps)))
            goto error;
        skip_ws(ps);
        if (ps->p >= ps->end || *ps->p != ':') {
            fail(ps, "Expecting ':' delimiter", ps->p);
            goto error;
        }
        ps->p++;
    }
error:
    while (depth) {
        depth--;
        if (stack[depth].key)
            rc_decref(stack[depth].key);
        rc_decref(stack[depth].container);
    }
    free(stack);
    return NULL;
}

/* The document in text[0..n): the value, or NULL with ps->error set. */
static void *load(parser *ps)
{
    void *v = parse(ps);
    if (v) {
        skip_ws(ps);
        if (ps->p != ps->end) {
            rc_decref(v);
            v = fail(ps, "Extra data", ps->p);
        }
    }
    for (size_t i = 0; i < sizeof ps->keys / sizeof *ps->keys; i++)
        if (ps->keys[i])
            rc_decref(ps->keys[i]);
    free(ps->buf);
    return v;
}

/* Python's position: line and column count from 1, char from 0 (in bytes
   here: Python counts code points). */
static void print_error(const parser *ps)
{
    size_t line = 1, col = 1;
    for (const char *s = ps->text; s < ps->error_at; s++) {
        if (*s == '\n') {
            line++;
            col = 1;
        } else {
            col++;
        }
    }
    fprintf(stderr, "json_load: %s: line %zu column %zu (char %zu)\n", ps->error, line, col,
            (size_t)(ps->error_at - ps->text));
}

/* The file mapped read-only (a static "" when empty), NULL on failure.
   The parser returns what it has read to the kernel as it goes
   (release_read), so the text never sits in memory beside the whole
   document, as a file read into one buffer would. */
static const char *map_file(const char *path, size_t *n)
{
    int fd = open(path, O_RDONLY);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        if (fd >= 0)
            close(fd);
        return NULL;
    }
    *n = (size_t)st.st_size;
    void *text = *n ? mmap(NULL, *n, PROT_READ, MAP_PRIVATE, fd, 0) : (void *)"";
    close(fd);
    return text == MAP_FAILED ? NULL : text;
}

/* CPU time of the process: on a shared machine the wall clock counts
   other programs' turns. */
static double cpu_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    bool show_repr = false, no_gc = false;
    const char *path = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--repr") == 0)
            show_repr = true;
        else if (strcmp(argv[i], "--no-gc") == 0)
            no_gc = true;
        else
            path = argv[i];
    }
    if (!path) {
        fprintf(stderr, "usage: json_load [--repr] [--no-gc] FILE\n");
        return 2;
    }
    rc_heap *h = rc_heap_new(NULL);
    if (!h)
        return 2;
    double t0 = cpu_seconds();
    size_t n;
    const char *text = map_file(path, &n);
    if (!text) {
        perror(path);
        return 2;
    }
    if (no_gc)
        rc_gc_enable(h, 0);
    parser *ps = calloc(1, sizeof *ps);
    if (!ps)
        return 2;
    *ps = (parser){.h = h, .text = text, .p = text, .end = text + n, .released = text};
    void *doc = load(ps);
    rc_gc_enable(h, 1);
    double t1 = cpu_seconds();
    int status = 0;
    if (!doc) {
        print_error(ps);
        status = 1;
    } else if (show_repr) {
        rc_repr(doc, stdout);
        putchar('\n');
    } else {
        struct rusage ru;
        getrusage(RUSAGE_SELF, &ru);
        rc_gc_stats st;
        rc_gc_stats_get(h, &st);
        size_t collections = 0;
        uint64_t gc_ns = 0;
        for (int g = 0; g < RC_GC_GENERATIONS; g++) {
            collections += st.gen[g].collections;
            gc_ns += st.gen[g].time_ns;
        }
        printf("loaded %zu bytes:", n);
        for (int k = 0; k < K_KINDS; k++)
            if (ps->counts[k])
                printf(" %zu %s", ps->counts[k], kind_names[k]);
        printf("\nload_cpu_seconds %.4f\ngc_collections %zu\ngc_seconds %.4f\npeak_rss_kib %ld\n",
               t1 - t0, collections, (double)gc_ns / 1e9, ru.ru_maxrss);
    }
    if (doc)
        rc_decref(doc);
    free(ps);
    if (n)
        munmap((void *)text, n);
    rc_heap_free(h);
    return status;
}
