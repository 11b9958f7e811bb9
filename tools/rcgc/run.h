/*
 * run.h — the helpers of `rcgc run` (cmd_run.c): finding and vetting the
 * program before it starts (run_program.c), and the capture files it
 * writes: where they go, and what rcgc says about them afterwards
 * (run_output.c).  docs/PROFILING.md ("Run outcomes") is the user's side.
 */
#ifndef RCGC_RUN_H
#define RCGC_RUN_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* Exit statuses of `rcgc run` besides the program's own (a shell's 126 and
   127; 2 when the capture could not be written or finished). */
enum { RUN_CAPTURE_FAILED = 2, RUN_CANNOT_EXEC = 126, RUN_NOT_FOUND = 127 };

enum { RUN_PATH = 2 * PATH_MAX + 2 };

/* ---- run_program.c -------------------------------------------------------- */

/* The file execvp would run for prog (searched in $PATH when prog has no
   slash) in path.  0, or RUN_NOT_FOUND / RUN_CANNOT_EXEC after a message,
   as a shell would answer. */
int run_find_program(const char *prog, char *path, size_t len);
/* Whether path is an ELF executable without an interpreter (PT_INTERP):
   statically linked, so LD_PRELOAD never reaches it.  false for anything
   else (scripts included: their interpreter loads the shim). */
bool run_is_static(const char *path);

/* ---- run_output.c --------------------------------------------------------- */

typedef struct run_output {
    char dir[PATH_MAX];    /* absolute directory of the capture(s) */
    char name[NAME_MAX + 1]; /* file name as given (may hold %p); "" for the default */
    char temp[RUN_PATH];   /* the file the program writes (no %p): renamed at the end */
    char env[RUN_PATH];    /* RCGC_CAPTURE for the program */
    bool per_pid;          /* %p: one file per process, named by the shim */
    uint64_t start_ns;     /* CLOCK_REALTIME just before the program started */
} run_output;

/* Check that the capture can be written where asked (given: -o, or NULL
   for rcgc-<prog>-<pid>.cap in the current directory) and create the file
   the program will write.  0, or an exit status after a message (2: the
   directory is missing or unwritable, or the path names no regular file). */
int run_output_prepare(run_output *o, const char *given, const char *prog);
/* The program did not start: remove what prepare created. */
void run_output_discard(run_output *o);
/* After the program (pid, waitpid status) ended: put the capture in place,
   check that each file written ends cleanly and say what was written.
   Returns rcgc run's exit status: the program's (128 + the signal that
   killed it), or RUN_CAPTURE_FAILED when the program exited but its
   capture is missing or unfinished. */
int run_output_finish(run_output *o, const char *prog, pid_t pid, int status);

#endif
