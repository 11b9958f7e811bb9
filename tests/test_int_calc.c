/*
 * test_int_calc.c — evaluates int expressions with rcgc for the
 * differential test against CPython (int_vs_cpython.py).  One question per
 * line on stdin, one answer per line on stdout:
 *   e TOKENS...  postfix: decimal ints and + - * / (floor) % n (negate)
 *                & | ^ ~ (invert) < (<<) > (>>) p (pow) P (pow mod, three
 *                operands) t (true division) f (float of an int)
 *   c A B        rc_compare of two ints: -1, 0 or 1
 * An answer is the result's repr, a float as "float" and its exact %a
 * text, or "error NAME" with rc_last_error.
 */
#include "check.h"


static void *to_float(void *a)
{
    double d;
    return rc_int_to_double(a, &d) == 0 ? rc_float(rc_heap_of(a), d) : NULL;
}

static void *apply(char op, void *a, void *b, void *c)
{
    switch (op) {
    case '+': return rc_int_add(a, b);
    case '-': return rc_int_sub(a, b);
    case '*': return rc_int_mul(a, b);
    case '/': return rc_int_floordiv(a, b);
    case '%': return rc_int_mod(a, b);
    case '&': return rc_int_and(a, b);
    case '|': return rc_int_or(a, b);
    case '^': return rc_int_xor(a, b);
    case '~': return rc_int_invert(a);
    case '<': return rc_int_lshift(a, b);
    case '>': return rc_int_rshift(a, b);
    case 'p': return rc_int_pow(a, b, NULL);
    case 'P': return rc_int_pow(a, b, c);
    case 't': return rc_int_truediv(a, b);
    case 'f': return to_float(a);
    default: return rc_int_neg(a);
    }
}

/* Operands the token takes: 0 when it is not an operator. */
static size_t arity(const char *t)
{
    if (t[1] != 0)
        return 0;
    return strchr("n~f", t[0]) ? 1 : strchr("+-*/%&|^<>pt", t[0]) ? 2 : t[0] == 'P' ? 3 : 0;
}

/* Evaluate the postfix tokens; the result (new reference) or NULL. */
static void *evaluate(rc_heap *h, char *tokens)
{
    void *stack[64];
    size_t n = 0;
    void *result = NULL;
    for (char *t = strtok(tokens, " \n"); t; t = strtok(NULL, " \n")) {
        void *v;
        size_t k = arity(t);
        if (k) {
            CHECK(n >= k);
            void **args = stack + n - k;
            v = apply(t[0], args[0], k > 1 ? args[1] : NULL, k > 2 ? args[2] : NULL);
            while (k--)
                rc_decref(stack[--n]);
        } else {
            v = rc_int_from_str(h, t, strlen(t));
        }
        if (!v)
            goto out;
        CHECK(n < sizeof stack / sizeof *stack);
        stack[n++] = v;
    }
    CHECK(n == 1);
    result = stack[--n];
out:
    while (n)
        rc_decref(stack[--n]);
    return result;
}

int main(void)
{
    rc_heap *h = test_heap(0);
    static char line[1 << 16];
    while (fgets(line, sizeof line, stdin)) {
        rc_clear_error(h);
        if (line[0] == 'c') {
            char *sa = strtok(line + 2, " \n"), *sb = strtok(NULL, " \n");
            void *a = rc_int_from_str(h, sa, strlen(sa)), *b = rc_int_from_str(h, sb, strlen(sb));
            int c;
            CHECK(a && b && rc_compare(a, b, &c) == 0);
            printf("%d\n", c);
            rc_decref(a);
            rc_decref(b);
            continue;
        }
        void *v = evaluate(h, line + 2);
        if (v && rc_typeof(v) == &rc_float_type) {
            printf("float %a\n", rc_float_value(v));
            rc_decref(v);
        } else if (v) {
            rc_repr(v, stdout);
            putchar('\n');
            rc_decref(v);
        } else {
            printf("error %s\n", rc_error_name(rc_last_error(h)));
        }
    }
    CHECK_VALID(h);
    rc_heap_free(h);
    return 0;
}
