/*
 * siphash.h — SipHash-c-d (Aumasson and Bernstein, "SipHash: a fast
 * short-input PRF", 2012), written from the paper's description.
 *
 * A keyed 64-bit function of a byte string: without the 128-bit key, an
 * attacker cannot predict which inputs collide, which is what makes hash
 * flooding (many keys on one probe chain) impractical.  The library uses
 * SipHash-1-3 (one compression round per word, three finalization rounds),
 * as CPython does since 3.11; the round counts are parameters so the tests
 * can check the same code against the paper's SipHash-2-4 vectors.
 *
 * Self-contained (no library headers) so a test can include it directly.
 */
#ifndef RC_SIPHASH_H
#define RC_SIPHASH_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

static inline uint64_t rci_sip_rotl(uint64_t x, unsigned b)
{
    return (x << b) | (x >> (64 - b));
}

/* Little-endian load of 8 bytes, whatever the host's byte order (one
   unaligned load on x86 and ARM). */
static inline uint64_t rci_sip_word(const unsigned char *p)
{
    uint64_t w;
    memcpy(&w, p, 8);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    w = __builtin_bswap64(w);
#endif
    return w;
}

/* The last 0..7 bytes, little-endian. */
static inline uint64_t rci_sip_tail(const unsigned char *p, size_t n)
{
    uint64_t w = 0;
    for (size_t i = 0; i < n; i++)
        w |= (uint64_t)p[i] << (8 * i);
    return w;
}

/* The paper's SipRound: two ARX half-rounds over the four state words. */
#define RCI_SIPROUND(v)                                                          \
    do {                                                                         \
        v[0] += v[1]; v[1] = rci_sip_rotl(v[1], 13); v[1] ^= v[0];               \
        v[0] = rci_sip_rotl(v[0], 32);                                           \
        v[2] += v[3]; v[3] = rci_sip_rotl(v[3], 16); v[3] ^= v[2];               \
        v[0] += v[3]; v[3] = rci_sip_rotl(v[3], 21); v[3] ^= v[0];               \
        v[2] += v[1]; v[1] = rci_sip_rotl(v[1], 17); v[1] ^= v[2];               \
        v[2] = rci_sip_rotl(v[2], 32);                                           \
    } while (0)

/* Absorb one 64-bit message word with c rounds. */
static inline void rci_sip_absorb(uint64_t v[4], uint64_t m, unsigned c)
{
    v[3] ^= m;
    for (unsigned r = 0; r < c; r++)
        RCI_SIPROUND(v);
    v[0] ^= m;
}

/* SipHash-c-d of n bytes at data under key (k0, k1): k0 is the key's first
   8 bytes read little-endian.  Callers pass constant c and d, so the round
   loops unroll. */
static inline uint64_t rci_siphash(const uint64_t key[2], const void *data, size_t n,
                                   unsigned c, unsigned d)
{
    const unsigned char *p = data;
    /* the paper's initialization constants: "somepseudorandomlygeneratedbytes" */
    uint64_t v[4] = {key[0] ^ UINT64_C(0x736f6d6570736575), key[1] ^ UINT64_C(0x646f72616e646f6d),
                     key[0] ^ UINT64_C(0x6c7967656e657261), key[1] ^ UINT64_C(0x7465646279746573)};
    size_t whole = n & ~(size_t)7;
    for (size_t i = 0; i < whole; i += 8)
        rci_sip_absorb(v, rci_sip_word(p + i), c);
    /* the last word: the remaining 0..7 bytes, and n mod 256 in the top byte */
    rci_sip_absorb(v, rci_sip_tail(p + whole, n - whole) | ((uint64_t)(n & 0xff) << 56), c);
    v[2] ^= 0xff;
    for (unsigned r = 0; r < d; r++)
        RCI_SIPROUND(v);
    return v[0] ^ v[1] ^ v[2] ^ v[3];
}

#endif
