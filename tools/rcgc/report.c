/*
 * report.c — what `rcgc flamegraph` writes: the HTML report, and the
 * collapsed-stack and speedscope exports of the same frame tree.
 *
 * pprof.c writes the pprof export.
 *
 * The report is one self-contained page: its style and script (report.css,
 * report.js, embedded into rcgc at build time as report_css/report_js) are
 * inline, the data is a JSON text in a <script type="application/json">
 * element (JSON strings escape '<', so nothing in it can close the element),
 * and a Content-Security-Policy forbids every fetch, so the page works from
 * file:// and cannot reach the network.  The script draws the flame graphs
 * (memory at peak, leaks, total allocations), the memory-over-time plot and
 * the tables from that data.
 *
 * The tree is pruned for the page: a node is kept when one of its figures
 * is at least 1/PRUNE of that figure's total (what is dropped still counts
 * in its parent).  The exports keep every node.
 */
#include "cli.h"

#include <stdlib.h>

extern const unsigned char report_css[], report_js[]; /* embed.cmake, NUL-ended */

enum { PRUNE = 20000, TABLE_ROWS = 25 };

static void json_label(FILE *out, const flame_label *l)
{
    char buf[300];
    fputc('[', out);
    json_string(out, flame_text(l, buf, sizeof buf));
    fputc(',', out);
    json_string(out, l->file);
    fprintf(out, ",%d,%d]", l->line, l->kind == FLAME_PYTHON);
}

static bool kept(const flame *f, uint32_t i)
{
    for (int v = 0; v < FLAME_NVALUES; v++) {
        uint64_t total = f->nodes[0].bytes[v];
        if (total && f->nodes[i].bytes[v] >= (total + PRUNE - 1) / PRUNE)
            return true;
    }
    return false;
}

/* By node: itself when the page draws it, else the drawn ancestor its
   figures fall into.  A parent's index is below its children's. */
static uint32_t *drawn_owners(const flame *f)
{
    uint32_t *owner = malloc(f->nnodes * sizeof *owner);
    if (owner)
        owner[0] = 0;
    for (uint32_t i = 1; owner && i < f->nnodes; i++) {
        uint32_t up = owner[f->nodes[i].parent];
        owner[i] = up == f->nodes[i].parent && kept(f, i) ? i : up;
    }
    return owner;
}

/* sep, then a number in decimal (negative when negative is set): the
   tree's millions of numbers without printf's reading of a format, which
   was half of writing them. */
static void put_number(FILE *out, const char *sep, uint64_t magnitude, bool negative)
{
    char buf[24], *p = buf + sizeof buf;
    do
        *--p = (char)('0' + magnitude % 10);
    while (magnitude /= 10);
    if (negative)
        *--p = '-';
    fputs(sep, out);
    fwrite(p, 1, (size_t)(buf + sizeof buf - p), out);
}

static void put_signed(FILE *out, const char *sep, int64_t v)
{
    put_number(out, sep, v < 0 ? 0 - (uint64_t)v : (uint64_t)v, v < 0);
}

/* A node's steps: [cell, bytes, blocks, ...], allocated in the cell minus
   what of it was freed there, for the cells where that is not zero; then
   its pairs: [allocation cell, free cell, bytes, blocks, ...] freed
   (flame_time.c). */
static void json_steps(FILE *out, const flame_time *t, uint32_t i)
{
    const char *sep = "";
    size_t steps[2], pairs[2];
    flame_time_of(t, i, steps, pairs);
    fputs(",[", out);
    for (size_t k = steps[0]; k < steps[1]; k++) {
        const time_step *s = &t->steps.v[k];
        if (!s->bytes && !s->blocks)
            continue;
        put_number(out, sep, s->cell, false);
        put_signed(out, ",", s->bytes);
        put_signed(out, ",", s->blocks);
        sep = ",";
    }
    fputs("],[", out);
    sep = "";
    for (size_t k = pairs[0]; k < pairs[1]; k++) {
        const time_pair *s = &t->pairs.v[k];
        if (!s->bytes && !s->blocks)
            continue;
        put_number(out, sep, s->alloc_cell, false);
        put_number(out, ",", s->free_cell, false);
        put_signed(out, ",", s->bytes);
        put_signed(out, ",", s->blocks);
        sep = ",";
    }
    fputc(']', out);
}

/* [label, peak bytes, blocks, leaked bytes, blocks, total bytes, blocks,
   [children], steps, pairs]; recursion is bounded by the stack depth (257). */
static void json_node(FILE *out, const flame *f, const uint32_t *owner, const flame_time *t,
                      uint32_t i)
{
    const flame_node *n = &f->nodes[i];
    put_number(out, "[", n->label, false);
    for (int v = 0; v < FLAME_NVALUES; v++) {
        put_number(out, ",", n->bytes[v], false);
        put_number(out, ",", n->blocks[v], false);
    }
    fputs(",[", out);
    bool first = true;
    for (uint32_t k = n->first_child; k; k = f->nodes[k].next_sibling) {
        if (owner[k] != k)
            continue;
        fputs(first ? "" : ",", out);
        json_node(out, f, owner, t, k);
        first = false;
    }
    fputc(']', out);
    json_steps(out, t, i);
    fputc(']', out);
}

static void json_samples(FILE *out, const rca_capture *c)
{
    fputc('[', out);
    for (size_t i = 0; i < c->nsamples; i++)
        fprintf(out, "%s[%.6f,%llu,%llu]", i ? "," : "", (double)c->samples[i].time_us / 1e6,
                (unsigned long long)c->samples[i].heap, (unsigned long long)c->samples[i].rss);
    fputc(']', out);
}

/* The tables: {"peak": rows, ...} by line, through the trace engine. */
static int json_tables(FILE *out, rca_capture *c)
{
    static const char *const names[] = {"peak", "leaked", "total", "count", "temporary"};
    static const rca_metric metrics[] = {RCA_PEAK, RCA_LEAKED, RCA_TOTAL, RCA_COUNT,
                                         RCA_TEMPORARY};
    fputc('{', out);
    for (int t = 0; t < 5; t++) {
        rc_snapshot *s = rca_snapshot(c, metrics[t]);
        size_t n = 0;
        rc_trace_stat *rows = s ? snapshot_rows(s, TABLE_ROWS, &n) : NULL;
        if (rows) {
            fprintf(out, "%s\"%s\": ", t ? ", " : "", names[t]);
            json_rows(out, rows, n, "a", "b");
        }
        free(rows);
        rc_snapshot_free(s);
        if (!rows)
            return -1;
    }
    fputc('}', out);
    return 0;
}

/* The page's data: {"summary", "labels", "tree", "time", "samples",
   "tables"}; -1 when out of memory. */
static int json_data(FILE *out, rca_capture *c, const flame *f, const uint32_t *owner,
                     const flame_time *t)
{
    fputs("{\"summary\": ", out);
    json_summary(out, c);
    fputs(",\n\"labels\": [", out);
    for (size_t i = 0; i < f->nlabels; i++) {
        fputs(i ? "," : "", out);
        json_label(out, &f->labels[i]);
    }
    fputs("],\n\"tree\": ", out);
    json_node(out, f, owner, t, 0);
    fprintf(out, ",\n\"time\": {\"buckets\": %u, \"bucket_s\": %.6f, \"exact\": %s}",
            t->ncells, (double)t->cell_us / 1e6, t->exact ? "true" : "false");
    fputs(",\n\"samples\": ", out);
    json_samples(out, c);
    fputs(",\n\"tables\": ", out);
    if (json_tables(out, c) < 0)
        return -1;
    fputs("}\n", out);
    return 0;
}

int report_html(FILE *out, rca_capture *c, const flame *f)
{
    flame_time t;
    uint32_t *owner = drawn_owners(f);
    if (!owner || flame_time_build(&t, c, f, owner) < 0) {
        cli_error("out of memory for the report's timeline");
        free(owner);
        return -1;
    }
    fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
          "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
          "style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:\">\n"
          "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
          "<title>rcgc report</title>\n<style>\n", out);
    fputs((const char *)report_css, out);
    fputs("</style></head>\n<body>\n<noscript>This report draws its graphs with "
          "JavaScript.</noscript>\n<script type=\"application/json\" id=\"rcgc-data\">\n",
          out);
    int rc = json_data(out, c, f, owner, &t);
    flame_time_free(&t);
    free(owner);
    if (rc < 0) {
        cli_error("out of memory writing the report");
        return -1;
    }
    fputs("</script>\n<script>\n", out);
    fputs((const char *)report_js, out);
    fputs("</script>\n</body></html>\n", out);
    return 0;
}

/* Calls fn for every node with bytes of its own under figure v. */
static void each_self(const flame *f, int v, void (*fn)(const flame *, uint32_t, uint64_t, void *),
                      void *ctx)
{
    for (uint32_t i = 0; i < f->nnodes; i++) {
        uint64_t bytes = flame_self(f, i, v, NULL);
        if (bytes)
            fn(f, i, bytes, ctx);
    }
}

static void collapsed_line(const flame *f, uint32_t i, uint64_t bytes, void *ctx)
{
    FILE *out = ctx;
    uint32_t labels[RCC_MAX_DEPTH + 1];
    size_t n = flame_path(f, i, labels);
    char buf[300];
    if (n == 0)
        fputs("[no stack]", out);
    for (size_t k = 0; k < n; k++) {
        const char *text = flame_text(&f->labels[labels[k]], buf, sizeof buf);
        if (k)
            fputc(';', out);
        for (; *text; text++) /* ';' separates frames, a newline ends the line */
            fputc(*text == ';' || *text == '\n' ? ':' : *text, out);
    }
    fprintf(out, " %llu\n", (unsigned long long)bytes);
}

void report_collapsed(FILE *out, const flame *f, int v)
{
    each_self(f, v, collapsed_line, out);
}

typedef struct speedscope_ctx {
    FILE *out;
    bool first;
    bool weights;   /* the pass writing weights (else samples) */
} speedscope_ctx;

static void speedscope_item(const flame *f, uint32_t i, uint64_t bytes, void *ctx)
{
    speedscope_ctx *s = ctx;
    fputs(s->first ? "" : ",", s->out);
    s->first = false;
    if (s->weights) {
        fprintf(s->out, "%llu", (unsigned long long)bytes);
        return;
    }
    uint32_t labels[RCC_MAX_DEPTH + 1];
    size_t n = flame_path(f, i, labels);
    fputc('[', s->out);
    for (size_t k = 0; k < n; k++) /* label 0 is the root: frames are labels - 1 */
        fprintf(s->out, "%s%u", k ? "," : "", labels[k] - 1);
    fputc(']', s->out);
}

void report_speedscope(FILE *out, const rca_capture *c, const flame *f)
{
    static const char *const names[FLAME_NVALUES] = {"memory at peak", "leaked",
                                                     "total allocated"};
    fputs("{\"$schema\": \"https://www.speedscope.app/file-format-schema.json\", "
          "\"exporter\": \"rcgc " RC_VERSION "\", \"name\": ", out);
    json_string(out, c->path);
    fputs(", \"activeProfileIndex\": 0, \"shared\": {\"frames\": [", out);
    char buf[300];
    for (size_t i = 1; i < f->nlabels; i++) {
        fputs(i > 1 ? ",\n" : "", out);
        fputs("{\"name\": ", out);
        json_string(out, flame_text(&f->labels[i], buf, sizeof buf));
        if (f->labels[i].file) {
            fputs(", \"file\": ", out);
            json_string(out, f->labels[i].file);
            fprintf(out, ", \"line\": %d", f->labels[i].line);
        }
        fputc('}', out);
    }
    fputs("]}, \"profiles\": [", out);
    for (int v = 0; v < FLAME_NVALUES; v++) {
        fprintf(out, "%s{\"type\": \"sampled\", \"name\": \"%s\", \"unit\": \"bytes\", "
                "\"startValue\": 0, \"endValue\": %llu, \"samples\": [",
                v ? ",\n" : "", names[v], (unsigned long long)f->nodes[0].bytes[v]);
        speedscope_ctx s = {out, true, false};
        each_self(f, v, speedscope_item, &s);
        fputs("], \"weights\": [", out);
        s = (speedscope_ctx){out, true, true};
        each_self(f, v, speedscope_item, &s);
        fputs("]}", out);
    }
    fputs("]}\n", out);
}
