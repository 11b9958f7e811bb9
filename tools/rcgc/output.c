/*
 * output.c — what every command prints with: JSON strings and the summary
 * object, human-readable sizes and sites, and the parsers of the command
 * line's sizes, times and counts.
 *
 * JSON strings escape '<', '>' and '&' too, so a JSON text can sit inside an
 * HTML <script> element as it is (report.c relies on that).
 */
#include "cli.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void json_string(FILE *out, const char *s)
{
    if (!s) {
        fputs("null", out);
        return;
    }
    fputc('"', out);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(out, "\\%c", *p);
        else if (*p < 0x20 || *p == '<' || *p == '>' || *p == '&' || *p == 0x7f)
            fprintf(out, "\\u%04x", *p);
        else
            fputc(*p, out);
    }
    fputc('"', out);
}

static double seconds(uint64_t us)
{
    return (double)us / 1e6;
}

static const char *const category_names[RCA_NCAT] = {
    "still_reachable", "indirectly_lost", "definitely_lost", "possibly_lost", "unknown"};

void json_summary(FILE *out, const rca_capture *c)
{
    uint64_t leaked_blocks, leaked = rca_leaked(c, &leaked_blocks);
    fputs("{\"file\": ", out);
    json_string(out, c->path);
    fprintf(out, ", \"pid\": %u, \"truncated\": %s", c->header.pid,
            c->truncated ? "true" : "false");
    fprintf(out, ", \"peak_bytes\": %llu, \"peak_time_s\": %.6f, \"peak_exact\": %s",
            (unsigned long long)c->peak_bytes, seconds(c->peak_time_us),
            c->peak_exact ? "true" : "false");
    fprintf(out, ", \"total_allocated_bytes\": %llu, \"allocations\": %llu, \"frees\": %llu",
            (unsigned long long)c->total_bytes, (unsigned long long)c->allocs,
            (unsigned long long)c->frees);
    fprintf(out, ", \"temporary_allocations\": %llu, \"temporary_bytes\": %llu",
            (unsigned long long)c->temps, (unsigned long long)c->temp_bytes);
    fprintf(out, ", \"leaked_bytes\": %llu, \"leaked_blocks\": %llu, \"leak_scan\": %s",
            (unsigned long long)leaked, (unsigned long long)leaked_blocks,
            c->scanned ? "true" : "false");
    for (int k = 0; k < RCA_NCAT; k++)
        fprintf(out, ", \"%s_bytes\": %llu, \"%s_blocks\": %llu", category_names[k],
                (unsigned long long)c->leak_bytes[k], category_names[k],
                (unsigned long long)c->leak_blocks[k]);
    fprintf(out, ", \"live_bytes_at_exit\": %llu, \"live_blocks_at_exit\": %llu",
            (unsigned long long)c->live_bytes, (unsigned long long)c->live_blocks);
    fprintf(out, ", \"peak_rss_bytes\": %llu, \"rss_at_peak_bytes\": %llu",
            (unsigned long long)c->peak_rss, (unsigned long long)c->rss_at_peak);
    if (c->rss_at_peak)
        fprintf(out, ", \"heap_rss_ratio_at_peak\": %.4f",
                (double)c->peak_bytes / (double)c->rss_at_peak);
    else
        fputs(", \"heap_rss_ratio_at_peak\": null", out);
    fprintf(out, ", \"duration_s\": %.6f, \"exit_status\": ", seconds(c->duration_us));
    if (c->ended)
        fprintf(out, "%lld", (long long)c->exit_status);
    else
        fputs("null", out);
    char ended[32];
    fprintf(out, ", \"ended\": \"%s\"", rca_ended(c, ended, sizeof ended));
    char version[32];
    fputs(", \"python\": ", out);
    json_string(out, c->python_version ? rca_python_version(c, version, sizeof version) : NULL);
    fputs(", \"python_objects\": ", out);
    json_census(out, c);
    fprintf(out, ", \"distinct_stacks\": %zu, \"samples\": %zu}", c->nsites, c->nsamples);
}

/* One list of the census: {"objects", "bytes", "types": [{type, objects, bytes}]}. */
static void json_census_list(FILE *out, const rca_capture *c, int list)
{
    uint64_t bytes, objects = rca_python_census_total(c, list, &bytes);
    fprintf(out, "{\"objects\": %llu, \"bytes\": %llu, \"types\": [", (unsigned long long)objects,
            (unsigned long long)bytes);
    const char *sep = "";
    for (size_t i = 0; i < c->npyobjects; i++) {
        const rca_pyobjects *o = &c->pyobjects[i];
        if (!o->objects[list])
            continue;
        fprintf(out, "%s{\"type\": ", sep);
        json_string(out, o->type);
        fprintf(out, ", \"objects\": %llu, \"bytes\": %llu}", (unsigned long long)o->objects[list],
                (unsigned long long)o->bytes[list]);
        sep = ", ";
    }
    fputs("]}", out);
}

void json_census(FILE *out, const rca_capture *c)
{
    if (!c->npyobjects) {
        fputs("null", out);
        return;
    }
    fputs("{\"live\": ", out);
    json_census_list(out, c, RCC_PY_LIVE);
    fputs(", \"garbage\": ", out);
    json_census_list(out, c, RCC_PY_GARBAGE);
    fputc('}', out);
}

const char *rca_category_name(int k)
{
    return k >= 0 && k < RCA_NCAT ? category_names[k] : "unknown";
}

void json_place(FILE *out, const char *function, const char *file, int line)
{
    fputs("{\"function\": ", out);
    json_string(out, function);
    fputs(", \"file\": ", out);
    json_string(out, file);
    fprintf(out, ", \"line\": %d", line);
}

void json_frame(FILE *out, const rct_symbol *sym, const void *ip)
{
    json_place(out, sym->function, sym->file, sym->line);
    fprintf(out, ", \"address\": \"%p\"", ip);
    if (sym->module) {
        fputs(", \"module\": ", out);
        json_string(out, sym->module);
    }
    fputc('}', out);
}

void json_rows(FILE *out, const rc_trace_stat *rows, size_t n, const char *bytes_name,
               const char *blocks_name)
{
    fputc('[', out);
    for (size_t i = 0; i < n; i++) {
        fputs(i ? ", " : "", out);
        json_place(out, rows[i].function, rows[i].file, rows[i].line);
        fprintf(out, ", \"%s\": %zu, \"%s\": %zu}", bytes_name, rows[i].bytes, blocks_name,
                rows[i].blocks);
    }
    fputc(']', out);
}

rc_trace_stat *snapshot_rows(const rc_snapshot *s, size_t max, size_t *n)
{
    rc_trace_stat none;
    /* all rows: grouped twice, to count them first (symbols are cached) */
    size_t keep = max ? max : rc_snapshot_by_line(s, &none, 0);
    rc_trace_stat *rows = malloc((keep ? keep : 1) * sizeof *rows);
    size_t all = rows ? rc_snapshot_by_line(s, rows, keep) : 0;
    *n = all < keep ? all : keep;
    return rows;
}

void json_list_item(int i, int n)
{
    fputs(i ? ",\n" : n > 1 ? "[" : "", stdout);
}

void json_list_end(int n)
{
    fputs(n > 1 ? "]\n" : "\n", stdout);
}

const char *fmt_bytes(char *buf, uint64_t bytes)
{
    static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
    double v = (double)bytes;
    int u = 0;
    while (v >= 1024 && u < 5) {
        v /= 1024;
        u++;
    }
    if (u == 0)
        snprintf(buf, 32, "%llu B", (unsigned long long)bytes);
    else
        snprintf(buf, 32, "%.1f %s", v, units[u]);
    return buf;
}

static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

const char *fmt_site(char *buf, size_t len, const char *function, const char *file, int line)
{
    if (file && line)
        snprintf(buf, len, "%s  %s:%d", function ? function : "[unknown]", base_name(file), line);
    else if (file)
        snprintf(buf, len, "%s  %s", function ? function : "[unknown]", base_name(file));
    else
        snprintf(buf, len, "%s", function ? function : "[unknown]");
    return buf;
}

int parse_size(const char *s, uint64_t *out)
{
    char *end;
    double v = strtod(s, &end);
    if (end == s || !(v >= 0) || !isfinite(v))
        return -1;
    const char *units = "KMGTP";
    const char *u = *end ? strchr(units, *end & ~0x20) : NULL;
    if (u && *end) {
        v *= pow(1024.0, (double)(u - units + 1));
        end++;
    }
    if (*end == 'i' && u)
        end++;
    if (*end == 'B' || *end == 'b')
        end++;
    if (*end || v >= 1.8e19)
        return -1;
    *out = (uint64_t)v;
    return 0;
}

int parse_seconds(const char *s, double *out)
{
    char *end;
    double v = strtod(s, &end);
    if (end == s || !(v >= 0) || !isfinite(v))
        return -1;
    if (strcmp(end, "ms") == 0)
        v /= 1e3;
    else if (strcmp(end, "us") == 0)
        v /= 1e6;
    else if (*end && strcmp(end, "s") != 0)
        return -1;
    *out = v;
    return 0;
}

int parse_count(const char *s, uint64_t max, uint64_t *out)
{
    char *end;
    if (*s < '0' || *s > '9')
        return -1;
    unsigned long long v = strtoull(s, &end, 10);
    if (*end || v > max)
        return -1;
    *out = v;
    return 0;
}

int parse_choice(const char *s, const char *const *choices)
{
    for (int i = 0; choices[i]; i++)
        if (strcmp(s, choices[i]) == 0)
            return i;
    return -1;
}
