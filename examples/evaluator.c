/*
 * evaluator.c — a small Lisp evaluator on rcgc, as a runtime author would
 * write one: environments and closures are managed objects, every call of
 * a function that defines an inner recursive function makes a reference
 * cycle (frame -> inner closure -> frame) that only the collector frees,
 * and `memo` keeps results in a weak cache (rc_weakcache): an entry lives
 * as long as its value does.
 *
 *   evaluator [N [T0]]   runs the program below with N (default 200000),
 *                        generation 0's threshold set to T0 if given
 *
 * Prints each top-level result, then the collector's pauses (max and p99,
 * from rc_gc_callback_add), its share of the run time and the peak RSS;
 * times are CPU time (a shared machine's wall clock counts other
 * programs' turns).
 * examples/evaluator.py is the same evaluator in Python, for
 * bench/bench_examples.sh and the test (examples/check_evaluator.py).
 *
 * The language: ints (any size), symbols, (define name expr),
 * (define (f args...) body...), (lambda (args...) body...), (if c a b),
 * (begin e...), (memo key thunk): thunk's result cached weakly under the
 * int key; primitives + - * % < =.  Tail calls do not grow the C stack.
 */
#define _POSIX_C_SOURCE 200809L
#include "rcgc.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

static const char PROGRAM[] =
    "(define (make-adder n)\n"
    "  (define (add k) (if (< 0 k) (add (- k 1)) (+ n k)))\n"
    "  add)\n"
    "(define (fact n) (if (< n 2) 1 (* n (fact (- n 1)))))\n"
    "(define (loop i acc)\n"
    "  (if (= i 0) acc\n"
    "      (loop (- i 1) (+ acc (+ ((make-adder (% i 97)) 3)\n"
    "                              ((memo (% i 89) (lambda () (make-adder (% i 89)))) 1))))))\n"
    "(loop N 0)\n"
    "(fact 30)\n";

/* ---- Values ------------------------------------------------------------------ */

/* A frame's variables are pairs in a raw block (name, value, name,
   value...), searched by address (symbols are interned): frames hold a
   handful of variables, and a frame that is one object, not an object and
   a dict, is one object less for the collector in every cycle. */
typedef struct env {
    void *parent;  /* env or NULL (the global one) */
    size_t n, cap; /* variables, room */
    void **vars;   /* raw block of 2 * cap slots */
} env;

/* A closure points into the form that made it, so making one allocates
   nothing else: its parameters are params[params_from:] and its body
   body[body_from:] ((define (f x) e...): the (f x) list from 1 and the
   form from 2; (lambda (x) e...): the (x) list from 0 and the form from 2). */
typedef struct closure {
    void *params;
    void *body;
    void *env;     /* where it was made */
    size_t params_from, body_from;
} closure;

typedef struct prim {
    char op;       /* + - * % < = */
} prim;

static void env_traverse(void *self, rc_visit_fn visit, void *ctx)
{
    env *e = self;
    visit(&e->parent, ctx);
    for (size_t i = 0; i < 2 * e->n; i++)
        visit(&e->vars[i], ctx);
}

static void env_destroy(void *self)
{
    env *e = self;
    rc_mem_free(rc_heap_of(self), e->vars);
}

static size_t env_owned_bytes(const void *self)
{
    return 2 * ((const env *)self)->cap * sizeof(void *);
}

static void closure_traverse(void *self, rc_visit_fn visit, void *ctx)
{
    closure *c = self;
    visit(&c->params, ctx);
    visit(&c->body, ctx);
    visit(&c->env, ctx);
}

static const rc_type env_type = {.name = "env", .size = sizeof(env), .traverse = env_traverse,
                                  .destroy = env_destroy, .owned_bytes = env_owned_bytes};
static const rc_type closure_type = {.name = "closure", .size = sizeof(closure),
                                     .traverse = closure_traverse};
static const rc_type prim_type = {.name = "prim", .size = sizeof(prim)};

typedef struct vm {
    rc_heap *h;
    rc_weakcache *memo;
    void *sym_define, *sym_lambda, *sym_if, *sym_begin, *sym_memo;
    char error[256];
} vm;

static void *error(vm *m, const char *msg, const void *what)
{
    if (!m->error[0]) {
        size_t n = (size_t)snprintf(m->error, sizeof m->error, "%s", msg);
        if (what && n < sizeof m->error - 2) {
            FILE *f = fmemopen(m->error + n, sizeof m->error - n, "w");
            if (f) {
                fputs(": ", f);
                rc_repr(what, f);
                fclose(f);
            }
        }
    }
    return NULL;
}

static void *new_env(vm *m, void *parent)
{
    env *e = rc_new(m->h, &env_type);
    if (!e)
        return error(m, "out of memory", NULL);
    if (parent)
        rc_set_member(e, &e->parent, parent);
    return e;
}

static void *new_closure(vm *m, void *params, size_t params_from, void *body, void *where)
{
    closure *c = rc_new(m->h, &closure_type);
    if (!c)
        return error(m, "out of memory", NULL);
    rc_set_member(c, &c->params, params);
    rc_set_member(c, &c->body, body);
    rc_set_member(c, &c->env, where);
    c->params_from = params_from;
    c->body_from = 2;
    return c;
}

/* name's value slot in e, or NULL. */
static void **slot_of(env *e, const void *name)
{
    for (size_t i = 0; i < e->n; i++)
        if (e->vars[2 * i] == name)
            return &e->vars[2 * i + 1];
    return NULL;
}

static int define(vm *m, env *e, void *name, void *value)
{
    void **slot = slot_of(e, name);
    if (slot)
        return rc_set_member(e, slot, value);
    if (e->n == e->cap) {
        size_t cap = e->cap ? e->cap * 2 : 4;
        void **vars = rc_mem_realloc(m->h, e->vars, 2 * cap * sizeof *vars);
        if (!vars)
            return error(m, "out of memory", NULL), -1;
        e->vars = vars;
        e->cap = cap;
    }
    e->vars[2 * e->n] = e->vars[2 * e->n + 1] = NULL;
    rc_set_member(e, &e->vars[2 * e->n], name);
    rc_set_member(e, &e->vars[2 * e->n + 1], value);
    e->n++;
    return 0;
}

/* ---- Reading --------------------------------------------------------------------- */

static void skip_space(const char **p)
{
    while (**p == ' ' || **p == '\n' || **p == '\t')
        (*p)++;
}

/* One expression from *p: an int, a symbol (an interned str) or a list. */
static void *read_expr(vm *m, const char **p)
{
    skip_space(p);
    if (**p == '(') {
        (*p)++;
        void *l = rc_list(m->h);
        for (;;) {
            skip_space(p);
            if (**p == ')' || !**p)
                break;
            void *item = read_expr(m, p);
            if (!item || !l || rc_list_append(l, item) != 0) {
                if (item)
                    rc_decref(item);
                if (l)
                    rc_decref(l);
                return error(m, "cannot read", NULL);
            }
            rc_decref(item);
        }
        if (**p != ')') {
            rc_decref(l);
            return error(m, "missing )", NULL);
        }
        (*p)++;
        return l;
    }
    const char *start = *p;
    while (**p && **p != ' ' && **p != '\n' && **p != '\t' && **p != '(' && **p != ')')
        (*p)++;
    size_t n = (size_t)(*p - start);
    if (!n)
        return error(m, "unexpected )", NULL);
    bool number = (start[0] >= '0' && start[0] <= '9') || (start[0] == '-' && n > 1);
    void *v = number ? rc_int_from_str(m->h, start, n) : rc_str_intern(m->h, start, n);
    return v ? v : error(m, "bad token", NULL);
}

/* ---- Evaluation ------------------------------------------------------------------- */

static void *eval(vm *m, void *expr, void *where);

static void *lookup(vm *m, env *e, const void *sym)
{
    for (; e; e = e->parent) {
        void **slot = slot_of(e, sym);
        if (slot) {
            rc_incref(*slot);
            return *slot;
        }
    }
    return error(m, "unbound symbol", sym);
}

static bool truthy(vm *m, const void *v)
{
    return v != rc_false(m->h) && v != rc_none(m->h) && !(rc_typeof(v) == &rc_int_type && rc_int_value(v) == 0);
}

static void *apply_prim(vm *m, char op, void *const *args, size_t n)
{
    if (n != 2 || !rc_is_int(args[0]) || !rc_is_int(args[1]))
        return error(m, "a primitive takes two ints", NULL);
    int c;
    switch (op) {
    case '+': return rc_int_add(args[0], args[1]);
    case '-': return rc_int_sub(args[0], args[1]);
    case '*': return rc_int_mul(args[0], args[1]);
    case '%': return rc_int_mod(args[0], args[1]);
    default:
        if (rc_compare(args[0], args[1], &c) != 0)
            return error(m, "cannot compare", NULL);
        return rc_bool(m->h, op == '<' ? c < 0 : c == 0);
    }
}

/* A new frame binding c's parameters to args, or NULL. */
static void *bind(vm *m, closure *c, void *const *args, size_t n)
{
    if (rc_list_len(c->params) - c->params_from != n)
        return error(m, "wrong number of arguments", c->params);
    env *frame = new_env(m, c->env);
    for (size_t i = 0; frame && i < n; i++)
        if (define(m, frame, rc_list_get(c->params, c->params_from + i), args[i]) != 0) {
            rc_decref(frame);
            frame = NULL;
        }
    return frame;
}

/* Call f (not in tail position) with n args. */
static void *call(vm *m, void *f, void *const *args, size_t n)
{
    if (rc_typeof(f) == &prim_type)
        return apply_prim(m, ((prim *)f)->op, args, n);
    if (rc_typeof(f) != &closure_type)
        return error(m, "not a function", f);
    closure *c = f;
    void *frame = bind(m, c, args, n);
    if (!frame)
        return NULL;
    void *result = NULL;
    size_t body = rc_list_len(c->body);
    for (size_t i = c->body_from; i < body; i++) {
        if (result)
            rc_decref(result);
        if (!(result = eval(m, rc_list_get(c->body, i), frame)))
            break;
    }
    rc_decref(frame);
    return result;
}

/* (memo key thunk): the value cached under key while it lives, else
   thunk's result, cached weakly. */
static void *memo(vm *m, void *expr, void *where)
{
    void *key = eval(m, rc_list_get(expr, 1), where);
    if (!key)
        return NULL;
    void *text = rc_int_to_str(key);
    rc_decref(key);
    if (!text)
        return error(m, "out of memory", NULL);
    size_t n;
    const char *k = rc_str_data(text, &n);
    void *v = rc_weakcache_get(m->memo, k, n);
    if (!v) {
        void *thunk = eval(m, rc_list_get(expr, 2), where);
        v = thunk ? call(m, thunk, NULL, 0) : NULL;
        if (thunk)
            rc_decref(thunk);
        if (v && rc_weakcache_put(m->memo, k, n, v) != 0) {
            rc_decref(v);
            v = error(m, "out of memory", NULL);
        }
    }
    rc_decref(text);
    return v;
}

/* Evaluate expr in where: a new reference, or NULL with m->error set.
   Tail positions (if's branches, a body's last expression, a closure's
   call) loop instead of recursing; held_* keep the code and frame of the
   current tail call alive. */
static void *eval(vm *m, void *expr, void *where)
{
    void *held_code = NULL, *held_env = NULL, *result = NULL;
    for (;;) {
        const rc_type *t = rc_typeof(expr);
        if (t == &rc_str_type) {
            result = lookup(m, where, expr);
            break;
        }
        if (t != &rc_list_type) { /* a number */
            rc_incref(expr);
            result = expr;
            break;
        }
        size_t n = rc_list_len(expr);
        void *head = n ? rc_list_get(expr, 0) : NULL;
        if (!head) {
            result = error(m, "empty call", NULL);
            break;
        }
        if (head == m->sym_define && n >= 3) {
            void *target = rc_list_get(expr, 1), *value;
            if (rc_typeof(target) == &rc_list_type) { /* (define (f args) body...) */
                value = new_closure(m, target, 1, expr, where);
                target = rc_list_get(target, 0);
            } else {
                value = eval(m, rc_list_get(expr, 2), where);
            }
            if (value && define(m, where, target, value) == 0)
                result = rc_none(m->h);
            if (value)
                rc_decref(value);
            break;
        }
        if (head == m->sym_lambda && n >= 3) {
            result = new_closure(m, rc_list_get(expr, 1), 0, expr, where);
            break;
        }
        if (head == m->sym_if && n == 4) {
            void *c = eval(m, rc_list_get(expr, 1), where);
            if (!c)
                break;
            expr = rc_list_get(expr, truthy(m, c) ? 2 : 3);
            rc_decref(c);
            continue;
        }
        if (head == m->sym_begin && n >= 2) {
            size_t i;
            for (i = 1; i + 1 < n; i++) {
                void *v = eval(m, rc_list_get(expr, i), where);
                if (!v)
                    goto out;
                rc_decref(v);
            }
            expr = rc_list_get(expr, i);
            continue;
        }
        if (head == m->sym_memo && n == 3) {
            result = memo(m, expr, where);
            break;
        }
        /* a call: the function and its arguments */
        void *items[16];
        if (n > 16) {
            result = error(m, "too many arguments", NULL);
            break;
        }
        size_t got = 0;
        for (; got < n; got++)
            if (!(items[got] = eval(m, rc_list_get(expr, got), where)))
                break;
        if (got == n && rc_typeof(items[0]) == &closure_type) { /* a tail call */
            closure *c = items[0];
            void *frame = bind(m, c, items + 1, n - 1);
            size_t body = rc_list_len(c->body);
            for (size_t i = c->body_from; frame && i + 1 < body; i++) {
                void *v = eval(m, rc_list_get(c->body, i), frame);
                if (!v) {
                    rc_decref(frame);
                    frame = NULL;
                } else {
                    rc_decref(v);
                }
            }
            if (frame) {
                rc_incref(c->body);
                if (held_code)
                    rc_decref(held_code);
                if (held_env)
                    rc_decref(held_env);
                held_code = c->body;
                held_env = where = frame;
                expr = rc_list_get(c->body, body - 1);
            }
            for (size_t i = 0; i < got; i++)
                rc_decref(items[i]);
            if (!frame)
                break;
            continue;
        }
        if (got == n)
            result = call(m, items[0], items + 1, n - 1);
        for (size_t i = 0; i < got; i++)
            rc_decref(items[i]);
        break;
    }
out:
    if (held_code)
        rc_decref(held_code);
    if (held_env)
        rc_decref(held_env);
    return result;
}

/* ---- Collector pauses ----------------------------------------------------------- */

/* Pauses are measured in CPU time of the thread (the machine may be
   shared: wall time would count other programs' turns as pauses). */
typedef struct pauses {
    uint64_t *ns;
    size_t n, cap;
    uint64_t started;
} pauses;

static uint64_t cpu_ns(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void on_gc(rc_heap *h, int phase, const rc_gc_info *info, void *ctx)
{
    (void)h;
    (void)info;
    pauses *p = ctx;
    if (phase == RC_GC_START) {
        p->started = cpu_ns(CLOCK_THREAD_CPUTIME_ID);
        return;
    }
    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 1024;
        uint64_t *ns = realloc(p->ns, cap * sizeof *ns);
        if (!ns)
            return;
        p->ns = ns;
        p->cap = cap;
    }
    p->ns[p->n++] = cpu_ns(CLOCK_THREAD_CPUTIME_ID) - p->started;
}

static int by_value(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

static void setup(vm *m, env *global)
{
    static const struct { const char *name; char op; } prims[] = {
        {"+", '+'}, {"-", '-'}, {"*", '*'}, {"%", '%'}, {"<", '<'}, {"=", '='}};
    /* six primitives, type-checked on every call: pools of their own keep
       rc_typeof inline for them (shared pools would take rc_typeof_slow) */
    rc_type_own_pools(m->h, &prim_type);
    for (size_t i = 0; i < sizeof prims / sizeof *prims; i++) {
        prim *p = rc_new(m->h, &prim_type);
        void *name = rc_str_intern(m->h, prims[i].name, strlen(prims[i].name));
        if (p && name) {
            p->op = prims[i].op;
            define(m, global, name, p);
        }
        if (p)
            rc_decref(p);
        if (name)
            rc_decref(name);
    }
    m->sym_define = rc_str_intern(m->h, "define", 6);
    m->sym_lambda = rc_str_intern(m->h, "lambda", 6);
    m->sym_if = rc_str_intern(m->h, "if", 2);
    m->sym_begin = rc_str_intern(m->h, "begin", 5);
    m->sym_memo = rc_str_intern(m->h, "memo", 4);
}

int main(int argc, char **argv)
{
    const char *n_text = argc > 1 ? argv[1] : "200000";
    /* the program with N replaced by the argument */
    size_t size = sizeof PROGRAM + strlen(n_text);
    char *source = malloc(size);
    const char *at = strstr(PROGRAM, "(loop N");
    if (!source || !at)
        return 2;
    snprintf(source, size, "%.*s(loop %s%s", (int)(at - PROGRAM), PROGRAM, n_text, at + 7);

    vm m = {.h = rc_heap_new(NULL)};
    if (!m.h || !(m.memo = rc_weakcache_new(m.h)))
        return 2;
    pauses p = {0};
    rc_gc_callback_add(m.h, on_gc, &p);
    if (argc > 2) /* as Python's gc.set_threshold(t0) */
        rc_gc_set_threshold(m.h, (unsigned)atoi(argv[2]), 10, 10);
    env *global = new_env(&m, NULL);
    if (!global)
        return 2;
    setup(&m, global);

    uint64_t t0 = cpu_ns(CLOCK_PROCESS_CPUTIME_ID);
    int status = 0;
    for (const char *s = source;;) {
        skip_space(&s);
        if (!*s)
            break;
        void *expr = read_expr(&m, &s);
        void *v = expr ? eval(&m, expr, global) : NULL;
        if (expr)
            rc_decref(expr);
        if (!v) {
            fprintf(stderr, "evaluator: %s\n", m.error);
            status = 1;
            break;
        }
        if (v != rc_none(m.h)) {
            rc_repr(v, stdout);
            putchar('\n');
        }
        rc_decref(v);
    }
    double run = (double)(cpu_ns(CLOCK_PROCESS_CPUTIME_ID) - t0) / 1e9;

    uint64_t total = 0;
    for (size_t i = 0; i < p.n; i++)
        total += p.ns[i];
    qsort(p.ns, p.n, sizeof *p.ns, by_value);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("run_cpu_seconds %.4f\ngc_collections %zu\ngc_seconds %.4f\ngc_share %.1f%%\n"
           "pause_max_us %.1f\npause_p99_us %.1f\npeak_rss_kib %ld\n",
           run, p.n, (double)total / 1e9, run > 0 ? 100.0 * (double)total / 1e9 / run : 0.0,
           p.n ? (double)p.ns[p.n - 1] / 1e3 : 0.0,
           p.n ? (double)p.ns[(p.n - 1) * 99 / 100] / 1e3 : 0.0, ru.ru_maxrss);
    free(p.ns);
    free(source);
    rc_decref(global);
    rc_weakcache_free(m.memo);
    void *syms[] = {m.sym_define, m.sym_lambda, m.sym_if, m.sym_begin, m.sym_memo};
    for (size_t i = 0; i < sizeof syms / sizeof *syms; i++)
        if (syms[i])
            rc_decref(syms[i]);
    rc_heap_free(m.h);
    return status;
}
