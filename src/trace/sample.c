/*
 * sample.c — Poisson sampling over allocated bytes, shared by the heap's
 * tracing (src/tracing.c) and the preload shim: about one byte in `mean`
 * is sampled, so a block of s bytes is taken with probability
 * p = 1 - e^(-s/mean), and a taken block stands for s/p bytes, which keeps
 * sums unbiased (the method of tcmalloc's and memray's samplers).
 */
#include "trace.h"

#include <math.h>

/* Uniform in (0, 1), from a xorshift64 state (never 0). */
static double uniform01(uint64_t *rng)
{
    *rng ^= *rng << 13;
    *rng ^= *rng >> 7;
    *rng ^= *rng << 17;
    return ((double)(*rng >> 11) + 0.5) / 9007199254740992.0;
}

double rct_sample_gap(uint64_t *rng, double mean)
{
    return -log(uniform01(rng)) * mean;
}

uint64_t rct_sample_weight(size_t size, double mean)
{
    double s = size ? (double)size : 1.0;
    return (uint64_t)(s / -expm1(-s / mean) + 0.5);
}
