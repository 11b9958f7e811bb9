/*
 * run_program.c — what `rcgc run` checks about its program before starting
 * it: that it exists and can be executed (answered with a shell's 127 and
 * 126), and that it is not statically linked (LD_PRELOAD works through the
 * dynamic loader, which a static executable never runs, so such a program
 * would run unprofiled).
 */
#define _GNU_SOURCE
#include "cli.h"
#include "run.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* 0 if path is a file we may execute, else the errno execve would give. */
static int executable(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return errno;
    if (S_ISDIR(st.st_mode))
        return EISDIR;
    return access(path, X_OK) == 0 ? 0 : errno;
}

int run_find_program(const char *prog, char *path, size_t len)
{
    int err = ENOENT;
    if (strchr(prog, '/')) {
        snprintf(path, len, "%s", prog);
        err = executable(path);
    } else {
        const char *list = getenv("PATH");
        if (!list)
            list = "/bin:/usr/bin"; /* execvp's default */
        bool denied = false;
        for (const char *p = list;; p++) {
            const char *end = strchrnul(p, ':');
            int n = (int)(end - p);
            snprintf(path, len, "%.*s%s%s", n, p, n ? "/" : "", prog); /* "": the cwd */
            int e = executable(path);
            if (e == 0) {
                err = 0;
                break;
            }
            denied |= e == EACCES || e == EISDIR; /* found, but not runnable */
            if (!*end)
                break;
            p = end;
        }
        if (err && !denied) {
            cli_error("cannot run %s: command not found", prog);
            return RUN_NOT_FOUND;
        }
        if (err)
            err = EACCES;
    }
    if (err) {
        cli_error("cannot run %s: %s", prog, strerror(err));
        return err == ENOENT || err == ENOTDIR ? RUN_NOT_FOUND : RUN_CANNOT_EXEC;
    }
    return 0;
}

#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define NATIVE_DATA ELFDATA2LSB
#else
#define NATIVE_DATA ELFDATA2MSB
#endif

/* Whether the program headers at off (count n, entsize each, in the
   file's own class) include a PT_INTERP. */
static bool has_interp(int fd, uint64_t off, unsigned n, unsigned entsize, bool is64)
{
    for (unsigned i = 0; i < n; i++) {
        union {
            Elf64_Phdr p64;
            Elf32_Phdr p32;
        } ph;
        size_t want = is64 ? sizeof ph.p64 : sizeof ph.p32;
        if (entsize < want ||
            pread(fd, &ph, want, (off_t)(off + (uint64_t)i * entsize)) != (ssize_t)want)
            return true; /* unreadable: not ours to judge */
        if ((is64 ? ph.p64.p_type : ph.p32.p_type) == PT_INTERP)
            return true;
    }
    return false;
}

bool run_is_static(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return false;
    union {
        unsigned char ident[EI_NIDENT];
        Elf64_Ehdr e64;
        Elf32_Ehdr e32;
    } h;
    bool is_static = false;
    ssize_t got = pread(fd, &h, sizeof h, 0);
    bool is64 = got >= EI_NIDENT && h.ident[EI_CLASS] == ELFCLASS64;
    if (got >= (ssize_t)(is64 ? sizeof h.e64 : sizeof h.e32) &&
        memcmp(h.ident, ELFMAG, SELFMAG) == 0 && h.ident[EI_DATA] == NATIVE_DATA) {
        unsigned type = is64 ? h.e64.e_type : h.e32.e_type;
        if (type == ET_EXEC || type == ET_DYN) /* ET_DYN: PIE, static-pie */
            is_static = is64 ? !has_interp(fd, h.e64.e_phoff, h.e64.e_phnum,
                                           h.e64.e_phentsize, true)
                             : !has_interp(fd, h.e32.e_phoff, h.e32.e_phnum,
                                           h.e32.e_phentsize, false);
    }
    close(fd);
    return is_static;
}
