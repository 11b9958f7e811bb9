/*
 * clock.c — time for the capture: the monotonic clocks, the tick page that
 * rcgc run rewrites every millisecond (one load tells whether time moved),
 * and the resident set size for the timeline.  May call: libc.
 */
#include "shim.h"

/* ---- Time ----------------------------------------------------------------------------- */

uint64_t clock_ns(clockid_t c)
{
    struct timespec ts;
    clock_gettime(c, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t mono_us(void)
{
    return (clock_ns(CLOCK_MONOTONIC) - g.start_ns) / 1000u;
}

/* Read every time (every 10 ms at most): a kept fd could be closed under
   us by a program that closes them all. */
uint64_t rss_bytes(void)
{
    char buf[128];
    int fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
    ssize_t n = fd >= 0 ? read(fd, buf, sizeof buf - 1) : -1;
    if (fd >= 0)
        close(fd);
    if (n <= 0)
        return 0;
    buf[n] = 0;
    char *p = strchr(buf, ' ');
    return p ? strtoull(p + 1, NULL, 10) * (uint64_t)g.page : 0;
}

/* ---- Ticks: has time moved? -------------------------------------------------------
 * Under rcgc run, a load from its tick page (capture.h); else the coarse
 * clock (a vDSO call, ~6.5 ns in a VM, ticking every 4 ms here).  A page
 * that stops moving (rcgc run killed) is dropped for the coarse clock at
 * the next fine read. */


rcc_tick_page *_Atomic tick_page;

/* Map the page RCGC_TICK names ("path:token"), if it is the one meant. */
void tick_open(void)
{
    const char *v = env_get(RCC_TICK_ENV);
    const char *colon = v ? strrchr(v, ':') : NULL;
    char path[64];
    if (!colon || (size_t)(colon - v) >= sizeof path)
        return;
    memcpy(path, v, (size_t)(colon - v));
    path[colon - v] = 0;
    unsigned long long token = strtoull(colon + 1, NULL, 10);
    /* The name outlives rcgc run in descendants' environments, and its pid
       may be reused: take only a regular file large enough, never block. */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (fd < 0)
        return;
    struct stat st;
    void *p = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
                      st.st_size >= (off_t)sizeof(rcc_tick_page)
                  ? mmap(NULL, sizeof(rcc_tick_page), PROT_READ, MAP_SHARED, fd, 0)
                  : MAP_FAILED;
    close(fd);
    if (p == MAP_FAILED)
        return;
    if (((rcc_tick_page *)p)->token != token) {
        munmap(p, sizeof(rcc_tick_page));
        return;
    }
    atomic_store(&tick_page, p);
}
