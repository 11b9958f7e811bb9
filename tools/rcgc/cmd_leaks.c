/*
 * cmd_leaks.c — `rcgc leaks [--all] [-n N] [--json] FILE...`: the blocks
 * still allocated at exit, one entry per (stack, category), largest first.
 * Categories come from the shim's scan at exit (definitely, indirectly and
 * possibly lost, still reachable — memcheck's terms); without the scan everything
 * live at exit is "unknown".  Still reachable blocks are listed with --all
 * only, so the entries add up to summary's leaked_bytes by default.  A
 * stack with Python frames is grouped by its innermost one (the line of the
 * program that allocated) and shown from there outward, unless --native.
 * JSON: an array of {bytes, blocks, category, type, stack: [{function,
 * file, line, address, module}]}, innermost frame first.
 */
#include "cli.h"

#include <getopt.h>
#include <stdlib.h>

typedef struct leak {
    uint64_t bytes, blocks;
    size_t site;        /* the first site in it (the order among equals) */
    uint32_t node, type; /* the stack shown, and the managed type */
    int category;
} leak;

typedef struct leaks_args {
    bool all, json, native;
    uint64_t max;       /* entries per capture; 0: all */
    bool max_given;
} leaks_args;

static int by_bytes_desc(const void *x, const void *y)
{
    const leak *a = x, *b = y;
    if (a->bytes != b->bytes)
        return a->bytes < b->bytes ? 1 : -1;
    if (a->blocks != b->blocks)
        return a->blocks < b->blocks ? 1 : -1;
    return a->site < b->site ? -1 : a->site > b->site;
}

/* The (stack, type, category) entries, sorted; NULL when out of memory.
   The stack is the site's, or its innermost Python frame's. */
static leak *collect(const rca_capture *c, const leaks_args *a, size_t *n)
{
    leak *l = malloc((c->nsites ? c->nsites : 1) * RCA_NCAT * sizeof *l);
    u64map *entry_of = u64map_new(); /* (node, type, category) -> entry */
    *n = 0;
    for (size_t i = 0; l && entry_of && i < c->nsites; i++) {
        const rca_site *s = &c->sites[i];
        uint32_t node = a->native ? s->node : rca_python_group(c, s->node);
        for (int k = a->all ? RCA_REACHABLE : RCA_INDIRECT; k < RCA_NCAT; k++) {
            if (!s->leak_blocks[k])
                continue;
            /* nodes < 2^25, types < 2^16, categories < 2^4 */
            uint32_t *at = u64map_claim(entry_of, ((uint64_t)node << 24 | (uint64_t)s->type << 4 |
                                                   (uint64_t)k) + 1);
            if (!at) {
                free(l);
                l = NULL;
                break;
            }
            if (*at == UINT32_MAX) {
                *at = (uint32_t)*n;
                l[(*n)++] = (leak){0, 0, i, node, s->type, k};
            }
            l[*at].bytes += s->leak_bytes[k];
            l[*at].blocks += s->leak_blocks[k];
        }
    }
    u64map_free(entry_of);
    if (l)
        qsort(l, *n, sizeof *l, by_bytes_desc);
    return l;
}

static void print_stack(rca_capture *c, uint32_t node, bool json)
{
    void *frames[RCC_MAX_DEPTH];
    size_t n = rca_frames(c, node, frames);
    rct_symbols *sym = rca_symbols(c);
    char site[512];
    for (size_t i = 0; i < n; i++) {
        rct_symbol s = {0};
        rct_symbols_lookup(sym, frames[i], &s);
        if (json) {
            fputs(i ? ", " : "", stdout);
            json_frame(stdout, &s, frames[i]);
        } else
            printf("    at %s\n", fmt_site(site, sizeof site, s.function, s.file, s.line));
    }
}

static void print_leak(rca_capture *c, const leak *l, bool json)
{
    const char *type = rca_type_name(c, l->type);
    char b[32];
    if (json) {
        printf("{\"bytes\": %llu, \"blocks\": %llu, \"category\": \"%s\", \"type\": ",
               (unsigned long long)l->bytes, (unsigned long long)l->blocks,
               rca_category_name(l->category));
        json_string(stdout, type);
        fputs(", \"stack\": [", stdout);
        print_stack(c, l->node, true);
        fputs("]}", stdout);
        return;
    }
    static const char *const said[RCA_NCAT] = {"still reachable", "indirectly lost",
                                               "definitely lost", "possibly lost",
                                               "still allocated at exit"};
    printf("%s in %llu block%s %s", fmt_bytes(b, l->bytes), (unsigned long long)l->blocks,
           l->blocks == 1 ? "" : "s", said[l->category]);
    printf(type ? " (%s objects)\n" : "\n", type);
    print_stack(c, l->node, false);
}

static int leaks_all(rca_capture *cs, int n, void *ctx)
{
    const leaks_args *a = ctx;
    for (int i = 0; i < n; i++) {
        size_t count;
        leak *l = collect(&cs[i], a, &count);
        if (!l || !rca_symbols(&cs[i])) {
            free(l);
            cli_error("out of memory");
            return EXIT_ERROR;
        }
        size_t show = a->max && a->max < count ? a->max : count;
        if (a->json) {
            json_list_item(i, n);
            for (size_t j = 0; j < show; j++) {
                fputs(j ? ",\n " : "[", stdout);
                print_leak(&cs[i], &l[j], true);
            }
            fputs(show ? "]" : "[]", stdout);
        } else {
            printf("%s: %zu leak%s%s\n", cs[i].path, count, count == 1 ? "" : "s",
                   cs[i].scanned ? "" : " (no scan at exit: everything still live)");
            for (size_t j = 0; j < show; j++)
                print_leak(&cs[i], &l[j], false);
            if (show < count)
                printf("... %zu more (-n 0 shows all)\n", count - show);
        }
        free(l);
    }
    if (a->json)
        json_list_end(n);
    return 0;
}

int cmd_leaks(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"all", no_argument, NULL, 'a'}, {"json", no_argument, NULL, 'j'}, NAMES_LONGOPTS,
        {0}};
    leaks_args a = {0};
    rca_options o = {.progress = true};
    int opt;
    while ((opt = getopt_long(argc, argv, "an:j", longopts, NULL)) != -1) {
        if (opt == 'n' && parse_count(optarg, SIZE_MAX, &a.max) < 0)
            return cli_usage("leaks", "-n takes a count");
        a.max_given |= opt == 'n';
        a.all |= opt == 'a';
        a.json |= opt == 'j';
        if (names_option(&o, opt, optarg) < 0)
            return cli_usage("leaks", "--alloc-fn takes a function name (at most 64 of them)");
        if (opt == '?')
            return cli_usage("leaks", "unknown option");
    }
    if (optind >= argc)
        return cli_usage("leaks", "no capture given");
    if (!a.max_given && !a.json)
        a.max = 20;
    a.native = o.native;
    return rca_each(argv + optind, argc - optind, &o, leaks_all, &a);
}
