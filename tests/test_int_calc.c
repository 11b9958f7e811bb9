/*
 * test_int_calc.c — evaluates int expressions with rcgc for the
 * differential test against CPython (int_vs_cpython.py).  One question per
 * line on stdin, one answer per line on stdout:
 *   e TOKENS...  postfix: decimal ints and + - * / (floor) % n (negate)
 *   c A B        rc_compare of two ints: -1, 0 or 1
 * An answer is the result's repr, or "error NAME" with rc_last_error.
 */
#include "check.h"

#include <stdbool.h>

static void *apply(const char *op, void *a, void *b)
{
    switch (op[0]) {
    case '+': return rc_int_add(a, b);
    case '-': return rc_int_sub(a, b);
    case '*': return rc_int_mul(a, b);
    case '/': return rc_int_floordiv(a, b);
    case '%': return rc_int_mod(a, b);
    default: return rc_int_neg(a);
    }
}

static int is_op(const char *t)
{
    return t[1] == 0 && strchr("+-*/%n", t[0]) != NULL;
}

/* Evaluate the postfix tokens; the result (new reference) or NULL. */
static void *evaluate(rc_heap *h, char *tokens)
{
    void *stack[64];
    size_t n = 0;
    void *result = NULL;
    for (char *t = strtok(tokens, " \n"); t; t = strtok(NULL, " \n")) {
        void *v;
        if (is_op(t)) {
            bool unary = t[0] == 'n';
            CHECK(n >= (unary ? 1u : 2u));
            void *a = stack[n - (unary ? 1 : 2)], *b = unary ? NULL : stack[n - 1];
            v = apply(t, a, b);
            rc_decref(a);
            if (b)
                rc_decref(b);
            n -= unary ? 1 : 2;
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
        if (v) {
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
