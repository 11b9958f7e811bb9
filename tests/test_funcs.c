/*
 * test_funcs.c — the sorted function index (src/trace/funcs.c): which name
 * an address gets with nested, aliased and sizeless symbols, and that the
 * answer does not depend on the order symbols were added in.
 */
#include "check.h"
#include "trace.h"

static void check_name(const rct_funcs *f, uint64_t addr, const char *want)
{
    const char *got = rct_funcs_find(f, addr);
    if (want == NULL ? got != NULL : got == NULL || strcmp(got, want) != 0) {
        fprintf(stderr, "address 0x%llx: got %s, want %s\n", (unsigned long long)addr,
                got ? got : "(none)", want ? want : "(none)");
        exit(1);
    }
}

typedef struct sym {
    uint64_t lo, size;
    const char *name;
    bool global;
} sym;

static const sym syms[] = {
    {0x1000, 0x100, "outer", true},
    {0x1040, 0x10, "nested", false},        /* inside outer */
    {0x1200, 0x80, "local_alias", false},   /* same range: the global wins */
    {0x1200, 0x80, "global_alias", true},
    {0x1300, 0, "asm_label", false},        /* sizeless: up to the next symbol */
    {0x1400, 0x40, "after_label", true},
    {0x2000, 0x10, "", true},               /* nameless: ignored */
};

static rct_funcs *build(const size_t *order)
{
    rct_funcs *f = rct_funcs_new();
    CHECK(f);
    for (size_t i = 0; i < sizeof syms / sizeof *syms; i++) {
        const sym *s = &syms[order[i]];
        CHECK(rct_funcs_add(f, s->lo, s->size, s->name, s->global) == 0);
    }
    rct_funcs_seal(f);
    return f;
}

static void check_index(const rct_funcs *f)
{
    check_name(f, 0x0fff, NULL);            /* before everything */
    check_name(f, 0x1000, "outer");
    check_name(f, 0x1045, "nested");
    check_name(f, 0x1050, "outer");         /* past nested, still in outer */
    check_name(f, 0x10ff, "outer");
    check_name(f, 0x1100, NULL);            /* a gap after a sized symbol */
    check_name(f, 0x1210, "global_alias");
    check_name(f, 0x1300, "asm_label");
    check_name(f, 0x13ff, "asm_label");
    check_name(f, 0x1400, "after_label");
    check_name(f, 0x1440, NULL);
    check_name(f, 0x2008, NULL);
}

int main(void)
{
    size_t forward[] = {0, 1, 2, 3, 4, 5, 6}, backward[] = {6, 5, 4, 3, 2, 1, 0};
    rct_funcs *a = build(forward), *b = build(backward);
    check_index(a);
    check_index(b);
    rct_funcs_free(a);
    rct_funcs_free(b);

    rct_funcs *empty = rct_funcs_new();
    CHECK(empty);
    check_name(empty, 0x1000, NULL);        /* unsealed and empty */
    rct_funcs_seal(empty);
    check_name(empty, 0x1000, NULL);
    rct_funcs_free(empty);
    rct_funcs_free(NULL);

    /* many symbols: every address inside one finds it */
    rct_funcs *many = rct_funcs_new();
    static char names[5000][16];
    for (int i = 4999; i >= 0; i--) {
        snprintf(names[i], sizeof names[i], "f%d", i);
        CHECK(rct_funcs_add(many, 0x10000 + (uint64_t)i * 0x20, 0x18, names[i], true) == 0);
    }
    rct_funcs_seal(many);
    for (int i = 0; i < 5000; i++) {
        check_name(many, 0x10000 + (uint64_t)i * 0x20 + 0x17, names[i]);
        check_name(many, 0x10000 + (uint64_t)i * 0x20 + 0x18, NULL);
    }
    rct_funcs_free(many);
    puts("test_funcs: ok");
    return 0;
}
