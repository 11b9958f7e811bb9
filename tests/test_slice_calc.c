/*
 * test_slice_calc.c — the C half of slice_vs_cpython.py: reads one
 * operation per line on stdin, runs it with rcgc's slices and prints the
 * answer in the form the script computes with CPython.  Text travels as
 * hex of its UTF-8; "N" is None (RC_SLICE_NONE).
 *
 *   I n a b c          rc_slice_indices(slice(a,b,c), n): "start stop step count"
 *   L n a b c          list(range(n))[a:b:c]
 *   T n a b c          tuple(range(n))[a:b:c]
 *   A n a b c m        x = list(range(n)); x[a:b:c] = range(100, 100+m); x
 *   D n a b c          x = list(range(n)); del x[a:b:c]; x
 *   S hex a b c        text[a:b:c] (hex), and its len
 *   C hex i            text[i] (hex)
 *   F hex hexsub a b   text.find(sub, a, b)
 *   X n v a b          [i % 5 for i in range(n)].index(v, a, b)
 * A failure prints the exception Python would raise (ValueError,
 * IndexError) as named by the error code.
 */
#include "check.h"

#include <inttypes.h>

static int64_t index_arg(const char *tok)
{
    return strcmp(tok, "N") == 0 ? RC_SLICE_NONE : strtoll(tok, NULL, 10);
}

static void *unhex(rc_heap *h, const char *hex)
{
    char buf[512];
    size_t n = strlen(hex) / 2;
    CHECK(n < sizeof buf);
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        CHECK(sscanf(hex + 2 * i, "%2x", &v) == 1);
        buf[i] = (char)v;
    }
    void *s = rc_str(h, buf, n);
    CHECK(s);
    return s;
}

static void print_hex(const void *s)
{
    size_t n;
    const unsigned char *d = (const unsigned char *)rc_str_data(s, &n);
    if (!n)
        putchar('-');
    for (size_t i = 0; i < n; i++)
        printf("%02x", d[i]);
}

static const char *exception(rc_heap *h)
{
    rc_error e = rc_last_error(h);
    rc_clear_error(h);
    return e == RC_EVALUE ? "ValueError" : e == RC_EINDEX ? "IndexError" : rc_error_name(e);
}

/* Print a sequence of ints (list or tuple) as "[1, 2, 3]". */
static void print_ints(void *seq)
{
    int tuple = rc_typeof(seq) == &rc_tuple_type;
    size_t n = tuple ? rc_tuple_len(seq) : rc_list_len(seq);
    putchar('[');
    for (size_t i = 0; i < n; i++)
        printf("%s%" PRId64, i ? ", " : "",
               rc_int_value(tuple ? rc_tuple_get(seq, i) : rc_list_get(seq, i)));
    putchar(']');
}

static void *range_list(rc_heap *h, int64_t from, int64_t n)
{
    void *l = rc_list(h);
    for (int64_t i = 0; i < n; i++) {
        void *x = rc_int(h, from + i);
        CHECK(rc_list_append(l, x) == 0);
        rc_decref(x);
    }
    return l;
}

static void run(rc_heap *h, char *line)
{
    char *tok[8];
    int n = 0;
    for (char *t = strtok(line, " \n"); t && n < 8; t = strtok(NULL, " \n"))
        tok[n++] = t;
    if (n == 0)
        return;
    void *r = NULL;
    switch (tok[0][0]) {
    case 'I': {
        int64_t a, b, c;
        size_t count;
        rc_slice sl = RC_SLICE(index_arg(tok[2]), index_arg(tok[3]), index_arg(tok[4]));
        if (rc_slice_indices(sl, (size_t)atoll(tok[1]), &a, &b, &c, &count) == 0)
            printf("%" PRId64 " %" PRId64 " %" PRId64 " %zu", a, b, c, count);
        else
            printf("ValueError");
        break;
    }
    case 'L':
    case 'T':
    case 'A':
    case 'D': {
        rc_slice sl = RC_SLICE(index_arg(tok[2]), index_arg(tok[3]), index_arg(tok[4]));
        void *l = range_list(h, 0, atoll(tok[1]));
        int ok;
        if (tok[0][0] == 'L') {
            ok = (r = rc_list_get_slice(l, sl)) != NULL;
        } else if (tok[0][0] == 'T') {
            size_t len = rc_list_len(l);
            void **items = malloc((len ? len : 1) * sizeof *items);
            for (size_t i = 0; i < len; i++)
                items[i] = rc_list_get(l, i);
            void *t = rc_tuple(h, len, items);
            free(items);
            ok = (r = rc_tuple_get_slice(t, sl)) != NULL;
            rc_decref(t);
        } else if (tok[0][0] == 'A') {
            void *src = range_list(h, 100, atoll(tok[5]));
            ok = rc_list_set_slice(l, sl, src) == 0;
            rc_decref(src);
            r = l;
            rc_incref(l);
        } else {
            ok = rc_list_del_slice(l, sl) == 0;
            r = l;
            rc_incref(l);
        }
        if (ok)
            print_ints(r);
        else
            printf("%s", exception(h));
        rc_decref(l);
        break;
    }
    case 'S': {
        void *s = unhex(h, tok[1]);
        r = rc_str_get_slice(s, RC_SLICE(index_arg(tok[2]), index_arg(tok[3]), index_arg(tok[4])));
        if (r) {
            print_hex(r);
            printf(" %zu", rc_str_chars(r));
        } else {
            printf("%s", exception(h));
        }
        rc_decref(s);
        break;
    }
    case 'C': {
        void *s = unhex(h, tok[1]);
        if ((r = rc_str_char_at(s, atoll(tok[2]))))
            print_hex(r);
        else
            printf("%s", exception(h));
        rc_decref(s);
        break;
    }
    case 'X': {
        void *l = rc_list(h), *v = rc_int(h, atoll(tok[2]));
        CHECK(l && v);
        for (long long i = 0; i < atoll(tok[1]); i++) {
            void *x = rc_int(h, i % 5);
            CHECK(x && rc_list_append(l, x) == 0);
            rc_decref(x);
        }
        size_t at;
        if (rc_list_index(l, v, RC_RANGE(index_arg(tok[3]), index_arg(tok[4])), &at) == 0)
            printf("%zu", at);
        else
            printf("%s", exception(h));
        rc_decref(l);
        rc_decref(v);
        break;
    }
    case 'F': {
        void *s = unhex(h, tok[1]), *sub = unhex(h, tok[2]);
        size_t pos;
        int found = rc_str_find(s, sub, RC_RANGE(index_arg(tok[3]), index_arg(tok[4])), &pos);
        CHECK(found >= 0);
        printf("%lld", found ? (long long)pos : -1LL);
        rc_decref(s);
        rc_decref(sub);
        break;
    }
    default:
        CHECK(!"unknown operation");
    }
    rc_decref(r);
    putchar('\n');
}

int main(void)
{
    rc_heap *h = test_heap(HEAP_DEBUG);
    char line[2048];
    while (fgets(line, sizeof line, stdin))
        run(h, line);
    CHECK_VALID(h);
    rc_heap_free(h);
    return 0;
}
