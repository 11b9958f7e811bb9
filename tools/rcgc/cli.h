/*
 * cli.h — the rcgc command line's internals: the analysis of a capture
 * (analysis.c), the frame tree behind flame graphs and exports (flame.c)
 * and the time grid of its growth (flame_time.c), the HTML report and the
 * collapsed and speedscope exports (report.c), the pprof export (pprof.c),
 * output helpers (output.c), and one entry
 * point per subcommand (cmd_<verb>.c, dispatched by main.c).
 *
 * Exit statuses, for every reading command: 0 done (also for a truncated
 * capture: a warning on stderr, then the analysis of its complete chunks),
 * 1 a check failed (check), a usage error, or another error (out of
 * memory, an output that cannot be written), 2 a capture that is missing,
 * corrupt, of another version, or too large to analyse (the others given
 * with it are still analysed by the verbs that take several).
 */
#ifndef RCGC_CLI_H
#define RCGC_CLI_H

#include "capture.h"
#include "rcgc.h"
#include "trace.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

enum { EXIT_USAGE = 1, EXIT_ERROR = 1, EXIT_BAD_CAPTURE = 2 };

/* ---- analysis.c: one streaming pass over a capture --------------------------
 * Memory grows with allocation infos, distinct stacks and modules, never
 * with the number of events: one entry per info (its size and site), the
 * sites one aggregate per (stack, type), the timeline at most
 * RCA_MAX_SAMPLES points (merged pairwise, keeping maxima, when it fills),
 * and for the report at most TIME_CELLS time steps per site. */

/* What became of a block still allocated at exit (memcheck's terms, the
   capture's values of enum rcc_reach, plus "unknown" for captures without
   the shim's scan). */
enum rca_category { RCA_REACHABLE, RCA_INDIRECT, RCA_DEFINITE, RCA_POSSIBLE, RCA_UNKNOWN,
                    RCA_NCAT };

/* The figures a report can rank sites by. */
typedef enum rca_metric {
    RCA_PEAK,       /* bytes live when the heap peaked */
    RCA_TOTAL,      /* bytes ever allocated */
    RCA_COUNT,      /* allocations (its "bytes" are a count) */
    RCA_TEMPORARY,  /* temporary allocations (a count) */
    RCA_LEAKED,     /* definitely + indirectly + possibly lost (or unknown,
                       unscanned) */
    RCA_AT0,        /* live at the first --at time */
    RCA_AT1,        /* live at the second --at time */
    RCA_NMETRICS
} rca_metric;

typedef struct rca_site {
    uint32_t node;                     /* innermost stack node; 0: no stack */
    uint32_t type;                     /* managed type id; 0: raw malloc */
    uint64_t stamp;                    /* replay step of the last change */
    /* every event's fields first: the pass touches one cache line a site
       where the end of the struct made it two */
    uint64_t total_bytes, allocs;      /* everything allocated here */
    uint64_t temp_bytes, temps;        /* of which temporary */
    /* Live figures: during the pass kept modulo 2^64 (a free may be read
       before its allocation); after it, clamped at 0. */
    uint64_t live_bytes, live_blocks;  /* live now; after the pass, at exit */
    uint64_t peak_bytes, peak_blocks;  /* live when the heap peaked */
    uint64_t at_bytes[2], at_blocks[2];        /* live at the --at times */
    uint64_t leak_bytes[RCA_NCAT], leak_blocks[RCA_NCAT]; /* at exit */
} rca_site;

typedef struct rca_node {
    uint64_t ip;        /* return address */
    uint32_t parent;    /* 0: outermost frame */
    uint32_t site;      /* index of the site of (this node, raw malloc);
                           UINT32_MAX before its first use (analysis.c) */
} rca_node;

typedef struct rca_sample {
    uint64_t time_us, heap, rss;  /* P record (maxima when merged) */
} rca_sample;

enum { RCA_MAX_SAMPLES = 4096 };
enum { RCA_MAX_REPLACING = 64 }; /* modules loaded where another was, told apart */

/* ---- flame_time.c: the time grid of the report's range selection ----------------
 * Per site (or tree node, "of") and cell of a grid whose cells double in
 * width as the run goes on (at most TIME_CELLS of them): the bytes and
 * blocks allocated in the cell less those of them freed in it (steps), and
 * for blocks freed in a later cell, what was freed when (pairs: a capture
 * from version 5 says when each freed block was allocated).  A range of
 * cells [a, b] then holds, allocated in it and still live at b's end:
 * its steps' sum less the pairs allocated in [a, b] and freed by b. */
typedef struct time_step {
    uint32_t of;            /* a site (analysis.c's grid) or a tree node (flame_time) */
    uint32_t cell;          /* [cell, cell + 1) x the cell width */
    int64_t bytes, blocks;  /* allocated minus freed in the cell */
} time_step;

typedef struct time_steps {
    time_step *v;
    size_t n, cap;
    struct u64map *index;   /* (of, cell) -> index in v */
} time_steps;

typedef struct time_pair {
    uint32_t of;            /* as a step's */
    uint32_t alloc_cell;    /* the blocks were allocated in this cell */
    uint32_t free_cell;     /*   and freed in this later one */
    int64_t bytes, blocks;  /* freed */
} time_pair;

typedef struct time_pairs {
    time_pair *v;
    size_t n, cap;
    struct u64map *index;   /* (of, alloc cell, free cell) -> index in v */
} time_pairs;

/* At most TIME_CELLS cells (a power of two), each at least 2^TIME_MIN_SHIFT
   us wide: a capture dates its frees on no finer a grid (4.096 ms cells,
   capture.h RCC_AGE_SHIFT; the plot's samples come every 10 ms), and
   finer cells would cost a step per site each.  At most TIME_PAIRS pairs:
   the grid coarsens when they would be more. */
enum { TIME_CELLS = 512, TIME_MIN_SHIFT = 12, TIME_PAIRS = 1 << 17 };

/* The pass's grid: by site; cell = time_us >> shift. */
typedef struct time_grid {
    time_steps steps;
    time_pairs pairs;
    unsigned shift;         /* log2 of the cell width in microseconds */
} time_grid;

/* Add to site's step in the cell that holds cell, a cell of the grid when
   its shift was shift (<= g->shift): the step is made on first use.  0, or
   -1 when out of memory (the grid is then unusable: free it). */
int time_grid_add(time_grid *g, uint32_t site, uint32_t cell, unsigned shift, int64_t bytes,
                  int64_t blocks);
/* Blocks of site allocated in alloc_cell and freed in free_cell (cells of
   the grid when its shift was shift): a pair, or a step when the grid has
   them in one cell now.  May coarsen the grid.  0, or -1 as above. */
int time_grid_pair(time_grid *g, uint32_t site, uint32_t alloc_cell, uint32_t free_cell,
                   unsigned shift, int64_t bytes, int64_t blocks);
/* Coarsen the grid until time_us falls in one of its cells; -1 when out
   of memory. */
int time_grid_cover(time_grid *g, uint64_t time_us);
/* Cells from 0 to duration_us, once the grid covers it. */
uint32_t time_grid_cells(const time_grid *g, uint64_t duration_us);
void time_grid_free(time_grid *g);

enum { NAMES_MAX_ALLOC_FNS = 64 };
typedef struct rca_options {
    double at[2];     /* seconds, for RCA_AT0 / RCA_AT1 */
    int nat;          /* how many of them are set */
    bool progress;    /* report progress on stderr (when it is a terminal) */
    bool no_fold;     /* --no-fold: keep allocator wrappers as frames */
    bool time_steps;  /* keep the time grid (rca_capture.grid), for the report */
    bool native;      /* --native: group by the innermost frame even when a
                         stack has Python frames */
    const char *alloc_fns[NAMES_MAX_ALLOC_FNS]; /* --alloc-fn patterns (argv's) */
    size_t nalloc_fns;
} rca_options;

typedef struct rca_capture {
    const char *path;                 /* as given (borrowed) */
    rcc_header header;
    bool truncated;                   /* cut short: complete chunks only */
    char note[256];                   /* the reader's word on truncation */
    /* totals */
    uint64_t peak_bytes, peak_time_us;   /* E record's exact figures, or computed */
    bool peak_exact;                     /* from an E record */
    uint64_t replay_peak;                /* the peak of the replay in file order */
    uint64_t total_bytes, allocs, frees; /* frees: F and X records */
    uint64_t temps, temp_bytes;
    uint64_t live_bytes, live_blocks;    /* at exit (modulo 2^64 during the pass) */
    uint64_t leak_bytes[RCA_NCAT], leak_blocks[RCA_NCAT];
    bool scanned;                        /* the shim's leak scan (L records) */
    bool ended;                          /* an E record */
    int64_t exit_status;                 /* from E */
    uint64_t end_signal;                 /* from E: the fatal signal (0: it exited) */
    uint64_t duration_us;
    uint64_t peak_rss, rss_at_peak;      /* from P samples (0: none) */
    uint64_t records[14];                /* by kind, in rca_kinds order */
    uint64_t python_version;             /* Y: PY_VERSION_HEX; 0: not Python */
    struct rca_pycode *pycodes;          /* K records: code location id i at [i - 1] */
    size_t npycodes, pycodes_cap;
    struct rca_pyobjects *pyobjects;     /* O records merged by type name, most
                                            bytes first once loaded; NULL: no census */
    size_t npyobjects, pyobjects_cap;
    struct u64map *pyobjects_of;         /* while loading: name hash -> index */
    /* what the records define */
    rca_node *nodes;                  /* [0] is the root; ids 1..nnodes */
    size_t nnodes, nodes_cap;
    size_t ninfos;                    /* allocation infos (I records) */
    rca_site *sites;
    size_t nsites, sites_cap;
    char **types;                     /* names by type id (NULL: unnamed) */
    size_t ntypes;
    rct_module *modules;              /* paths malloc'd */
    size_t nmodules, modules_cap;
    uint64_t *module_at;              /* where each was mapped: modules[i].base
                                         unless it replaced another (analysis.c,
                                         on_module) */
    size_t module_at_cap;
    uint32_t replacing[RCA_MAX_REPLACING]; /* those modules, in file order */
    size_t nreplacing;
    rca_sample *samples;              /* time order */
    size_t nsamples;
    time_grid grid;                   /* by site (rca_options.time_steps) */
    rct_symbols *symbols;             /* made on first use */
    const rca_options *options;       /* as loaded (borrowed): folding */
    struct u64map *alloc_fn_memo;     /* function name -> an allocator wrapper? */
    uint8_t *node_kinds;              /* by node, made on first use (analysis.c) */
    size_t node_kinds_len;
    void **site_keys;                 /* by site, made on first use: the frame its
                                         rows group by (analysis.c, site_key) */
} rca_capture;

/* Record kinds in the order rca_capture.records counts them; NUL-ended. */
extern const char rca_kinds[];

/* Read and analyse path.  Returns 0 (the capture may be truncated: see
   c->truncated and c->note), or -1 with a one-line message in err. */
int rca_load(rca_capture *c, const char *path, const rca_options *o, char *err,
             size_t errlen);
void rca_free(rca_capture *c);
/* Frames of a stack node, innermost first, without the preload shim's own
   (librcgc_preload.so) and, unless --no-fold, without the allocator
   wrappers at the innermost end (names.c; a Python frame is never one,
   and ends them); returns how many (at most
   RCC_MAX_DEPTH, which frames must hold). */
size_t rca_frames(rca_capture *c, uint32_t node, void **frames);
/* The node of the innermost frame rca_frames(c, node) gives, and the node
   of the frame it gives next to a node's (0: none): the same walk a node
   at a time, for callers that remember what they made of a node. */
uint32_t rca_innermost_shown(rca_capture *c, uint32_t node);
uint32_t rca_shown_parent(rca_capture *c, uint32_t node);
/* The offline symbolizer for the capture's modules; NULL when out of memory. */
rct_symbols *rca_symbols(rca_capture *c);
/* A site's figure for metric, in bytes and blocks (for RCA_COUNT and
   RCA_TEMPORARY, bytes is the count and blocks the bytes). */
void rca_value(const rca_site *s, rca_metric m, uint64_t *bytes, uint64_t *blocks);
/* The sites as a snapshot of the trace engine under metric, for rows by
   line: each site's stack is the one frame its rows group by, the
   innermost outside rcgc and (unless --native) the innermost Python
   frame when there is one, and sites of one such frame are one stack;
   NULL when out of memory. */
rc_snapshot *rca_snapshot(rca_capture *c, rca_metric m);
/* Leaked bytes (and blocks): definitely + indirectly + possibly lost, plus whatever
   was live at exit without a word from the scan (category unknown). */
uint64_t rca_leaked(const rca_capture *c, uint64_t *blocks);
/* How the program ended, into buf: "exit", "signal SIGSEGV", or "no end
   record" (killed outright, or the shim could not write). */
const char *rca_ended(const rca_capture *c, char *buf, size_t len);
/* The name of a managed type, or NULL for raw malloc or an unnamed type. */
const char *rca_type_name(const rca_capture *c, uint32_t type);
/* Load the n captures at paths, call fn on them all, free them.  Returns
   fn's result, or EXIT_BAD_CAPTURE (its message printed) when one cannot be
   read; a truncated one gets a warning on stderr and is analysed. */
int rca_with(char **paths, int n, const rca_options *o,
             int (*fn)(rca_capture *cs, int n, void *ctx), void *ctx);
/* The same for verbs that report on each capture alone: every capture that
   cannot be read gets its message, fn runs on the others, and the result
   is EXIT_BAD_CAPTURE if any could not be read, else fn's. */
int rca_each(char **paths, int n, const rca_options *o,
             int (*fn)(rca_capture *cs, int n, void *ctx), void *ctx);

/* ---- python.c: Python frames (docs/CAPTURE.md, version 4) -------------------- */
typedef struct rca_pycode {
    char *file, *function;  /* malloc'd; function is the qualname */
    int line;               /* 0: unknown */
} rca_pycode;
/* A frame's return address names a Python code location. */
static inline bool rca_is_pyframe(const void *ip)
{
    return ((uint64_t)(uintptr_t)ip & RCC_PYFRAME_BIT) != 0;
}
/* Keep a K record; 0, or -1 when out of memory. */
int rca_python_code(rca_capture *c, const rcc_event *e);
/* Give the symbolizer every Python frame's answer; 0, or -1 when out of memory. */
int rca_python_symbols(const rca_capture *c, rct_symbols *s);
void rca_python_free(rca_capture *c);
/* The innermost Python frame's node on node's path outward, else node
   itself: where `leaks` groups a stack. */
uint32_t rca_python_group(const rca_capture *c, uint32_t node);
/* The census at exit (O records): a type's live objects and its items in
   gc.garbage, indexed by enum rcc_pylist. */
typedef struct rca_pyobjects {
    char *type;             /* malloc'd */
    uint64_t objects[2], bytes[2];
} rca_pyobjects;
/* Add an O record (types of equal names merged); 0, or -1 when out of memory. */
int rca_python_objects(rca_capture *c, const rcc_event *e);
/* Once loaded: the census's types, most live bytes first. */
void rca_python_census_sort(rca_capture *c);
/* The census's totals of one list: objects (returned) and bytes. */
uint64_t rca_python_census_total(const rca_capture *c, int list, uint64_t *bytes);
/* "3.11.2", "3.13.0rc1": the version of a Y record. */
const char *rca_python_version(const rca_capture *c, char *buf, size_t len);

/* ---- names.c: demangling and allocator wrappers ------------------------------ */
/* The readable form of a mangled C++ or Rust name (malloc'd), or NULL. */
char *names_demangle(const char *name);
/* function (demangled) is an allocator wrapper to fold into its caller. */
bool names_is_alloc_fn(const rca_options *o, const char *function);
/* The verbs that show stacks take --alloc-fn NAME, --no-fold and --native:
   their getopt values, and the long options to put in each verb's table. */
enum { NAMES_OPT_ALLOC_FN = 0x100, NAMES_OPT_NO_FOLD, NAMES_OPT_NATIVE };
#define NAMES_LONGOPTS                                                \
    {"alloc-fn", required_argument, NULL, NAMES_OPT_ALLOC_FN},       \
    {"no-fold", no_argument, NULL, NAMES_OPT_NO_FOLD},               \
    {"native", no_argument, NULL, NAMES_OPT_NATIVE}
/* Take opt if it is one of those: 0 taken, -1 a bad argument (too many
   or empty), 1 not one of them. */
int names_option(rca_options *o, int opt, const char *arg);

/* ---- flame.c: the frames of all sites merged into one tree -----------------
 * Siblings with the same label merge (a function name; "[module]" or
 * "[unknown]" when there is none; a managed object's type as its own last
 * frame).  Values are inclusive, per metric. */
enum { FLAME_PEAK, FLAME_LEAKED, FLAME_TOTAL, FLAME_NVALUES };

typedef struct flame_node {
    uint32_t parent, first_child, next_sibling;  /* 0: none (node 0 is the root) */
    uint32_t label;                   /* index into flame.labels */
    uint64_t bytes[FLAME_NVALUES], blocks[FLAME_NVALUES];
} flame_node;

enum flame_kind {
    FLAME_FUNCTION,  /* name: the function */
    FLAME_MODULE,    /* no symbol: name is the module's path */
    FLAME_UNKNOWN,   /* nothing known about the address (name "[unknown]") */
    FLAME_TYPE,      /* a managed object's type: name is the type's */
    FLAME_ROOT,      /* the root (name "all") */
    FLAME_PYTHON,    /* a Python frame: name is its function, with file and line */
};

typedef struct flame_label {
    const char *name;   /* interned by the symbolizer (or the capture's type names) */
    const char *file;   /* of the first frame seen with this label; may be NULL */
    int line;
    int kind;           /* enum flame_kind */
} flame_label;

typedef struct flame {
    flame_node *nodes;
    size_t nnodes, cap;
    flame_label *labels;
    size_t nlabels, labels_cap;
    struct u64map *children;  /* while building: (parent, label) -> node, for
                                 the parents of many children (flame.c) */
    uint8_t *mapped;          /* while building: bit per node, its children
                                 are in `children` */
    struct u64map *by_name;   /* while building: interned label text -> label */
    uint32_t *site_node;      /* by site index: the node its path ends at (0: none) */
} flame;

int flame_build(flame *f, rca_capture *c);  /* 0, or -1 when out of memory */
void flame_free(flame *f);
/* Bytes of node i not in its children, for metric v. */
uint64_t flame_self(const flame *f, uint32_t i, int v, uint64_t *blocks);
/* The labels on the path from the root (excluded) to node i, root side
   first; returns how many (at most RCC_MAX_DEPTH + 1, which labels holds). */
size_t flame_path(const flame *f, uint32_t i, uint32_t *labels);
/* A label as shown: the function, "[libc.so.6]", "[unknown]", "[str object]",
   a Python frame "Loader.load (main.py:42)". */
const char *flame_text(const flame_label *l, char *buf, size_t len);

/* The pass's grid folded onto the tree: steps and pairs by node, then cell. */
typedef struct flame_time {
    uint32_t ncells;        /* cells from 0 to the capture's end (the page's "buckets") */
    uint64_t cell_us;       /* each cell's width */
    bool exact;             /* the capture dates its frees (version 5): else no
                               pairs, and a range's figure is a lower bound */
    time_steps steps;       /* of: the node; sorted by node, then cell */
    time_pairs pairs;       /* of: the node; sorted by node, then cells */
} flame_time;

/* c's grid (rca_options.time_steps) by tree node: owner[node] is the node
   that counts node's steps (the report draws pruned nodes in an
   ancestor).  0, or -1 when out of memory. */
int flame_time_build(flame_time *t, rca_capture *c, const flame *f, const uint32_t *owner);
void flame_time_free(flame_time *t);
/* Node's steps, [steps[0], steps[1]) of t->steps.v, and its pairs,
   [pairs[0], pairs[1]) of t->pairs.v (found by bisection: an index per
   node would cost 16 bytes for each of half a million nodes). */
void flame_time_of(const flame_time *t, uint32_t node, size_t steps[2], size_t pairs[2]);

/* ---- report.c: the HTML page and the exports ------------------------------- */
/* Each writes to out; a write error shows in ferror(out).  report_html
   needs a capture loaded with rca_options.time_steps; it returns -1 (its
   message printed) when out of memory, else 0. */
int report_html(FILE *out, rca_capture *c, const flame *f);
void report_collapsed(FILE *out, const flame *f, int v);
void report_speedscope(FILE *out, const rca_capture *c, const flame *f);

/* ---- pprof.c: pprof's profile.proto, gzipped --------------------------------- */
/* Write the capture's sites to path; 0, or -1 with its message printed. */
int report_pprof(const char *path, rca_capture *c);

/* ---- json.c / output.c: writing ---------------------------------------------- */
void json_string(FILE *out, const char *s);          /* null for NULL */
/* {"function": ..., "file": ..., "line": N   (the object left open) */
void json_place(FILE *out, const char *function, const char *file, int line);
/* "definitely_lost", "indirectly_lost", "possibly_lost", "still_reachable",
   "unknown". */
const char *rca_category_name(int category);
/* The summary object (the contract's fields and more), no newline. */
void json_summary(FILE *out, const rca_capture *c);
/* The census at exit: {"live": LIST, "garbage": LIST}, each LIST {"objects",
   "bytes", "types": [{"type", "objects", "bytes"}]} (most live bytes
   first); null when the capture has none. */
void json_census(FILE *out, const rca_capture *c);
/* One frame {function, file, line} of a symbolized stack. */
void json_frame(FILE *out, const rct_symbol *sym, const void *ip);
/* Rows of a snapshot grouped by line, as a JSON array; bytes and blocks
   are written under the given names. */
void json_rows(FILE *out, const rc_trace_stat *rows, size_t n, const char *bytes_name,
               const char *blocks_name);
/* The snapshot's rows by line (malloc'd, *n of them; at most max, 0 for
   all), largest first; NULL when out of memory. */
rc_trace_stat *snapshot_rows(const rc_snapshot *s, size_t max, size_t *n);

/* One JSON value per capture: alone, or as the items of an array when
   there are several.  Call item before capture i's value, end after all. */
void json_list_item(int i, int n);
void json_list_end(int n);

/* "12.3 MiB", "512 B"; buf of at least 32 bytes. */
const char *fmt_bytes(char *buf, uint64_t bytes);
/* "function  file:line" for a row or frame; buf of at least 512 bytes. */
const char *fmt_site(char *buf, size_t len, const char *function, const char *file,
                     int line);
/* Parse "100M", "1.5G", "0", "64k" (powers of 1024; a trailing B or iB is
   allowed); -1 when malformed. */
int parse_size(const char *s, uint64_t *out);
/* Parse a time: "1.5", "1.5s", "250ms", "20us"; -1 when malformed. */
int parse_seconds(const char *s, double *out);
/* Parse a count (decimal, no sign); -1 when malformed or too large. */
int parse_count(const char *s, uint64_t max, uint64_t *out);
/* Parse a --by argument against a NULL-ended list; its index, or -1. */
int parse_choice(const char *s, const char *const *choices);

/* Grow *array (elem bytes each, *cap of them) to hold need, doubling;
   false when out of memory (the array is unchanged). */
bool cli_reserve(void **array, size_t *cap, size_t need, size_t elem);

/* ---- u64map.c: u64 key (never 0) -> u32 value --------------------------------- */
size_t mix64(uint64_t x);   /* a hash whose low bits depend on every key bit */
typedef struct u64map u64map;
u64map *u64map_new(void);
void u64map_free(u64map *m);
/* The value slot of key, or NULL (find) / NULL when out of memory (claim:
   a new slot's value is UINT32_MAX). */
uint32_t *u64map_find(const u64map *m, uint64_t key);
uint32_t *u64map_claim(u64map *m, uint64_t key);

/* ---- commands ---------------------------------------------------------------- */
int cmd_run(int argc, char **argv);
int cmd_summary(int argc, char **argv);
int cmd_top(int argc, char **argv);
int cmd_leaks(int argc, char **argv);
int cmd_diff(int argc, char **argv);
int cmd_flamegraph(int argc, char **argv);
int cmd_stats(int argc, char **argv);
int cmd_check(int argc, char **argv);

/* main.c: "rcgc: " + message on stderr; usage hint for a bad command line. */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int cli_usage(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
