/*
 * collide.h — the str hash rcgc had before SipHash (an unkeyed mix of
 * 8-byte words, kept here only to attack it) and the attack: 16-byte
 * printable keys that all hash alike, found by running its last step
 * backwards.  Used by test_hash (the keys must spread under the new hash)
 * and bench_types (the load time of a dict of them).
 */
#ifndef RC_TEST_COLLIDE_H
#define RC_TEST_COLLIDE_H

#include <stdint.h>
#include <string.h>

#define OLD_SEED UINT64_C(0x9E3779B97F4A7C15)
#define OLD_MUL UINT64_C(0x100000001B3)
#define OLD_M1 UINT64_C(0xFF51AFD7ED558CCD)
#define OLD_M2 UINT64_C(0xC4CEB9FE1A85EC53)

static inline uint64_t old_mix64(uint64_t x)
{
    x ^= x >> 33;
    x *= OLD_M1;
    x ^= x >> 33;
    x *= OLD_M2;
    return x ^ (x >> 33);
}

/* The inverse of odd m modulo 2^64 (Newton: each step doubles the bits). */
static inline uint64_t mul_inverse(uint64_t m)
{
    uint64_t inv = m; /* right in the low 3 bits for any odd m */
    for (int i = 0; i < 5; i++)
        inv *= 2 - m * inv;
    return inv;
}

/* x ^= x >> 33 undoes itself (33 > 32); the multiplications by their
   inverses: the old mixer is a bijection, open to anyone. */
static inline uint64_t old_unmix64(uint64_t x)
{
    x ^= x >> 33;
    x *= mul_inverse(OLD_M2);
    x ^= x >> 33;
    x *= mul_inverse(OLD_M1);
    return x ^ (x >> 33);
}

/* The old hash of n bytes, folded to the 32 bits a str kept. */
static inline uint32_t old_str_hash(const void *p, size_t n)
{
    const unsigned char *b = p;
    uint64_t x = OLD_SEED ^ n;
    for (; n >= 8; n -= 8, b += 8) {
        uint64_t w;
        memcpy(&w, b, 8);
        x = (x ^ old_mix64(w)) * OLD_MUL;
    }
    uint64_t tail = 0;
    if (n)
        memcpy(&tail, b, n);
    x = old_mix64(x ^ tail);
    uint32_t v = (uint32_t)(x ^ (x >> 32));
    return v ? v : 1;
}

static inline int printable_word(uint64_t w)
{
    for (int i = 0; i < 8; i++, w >>= 8)
        if ((w & 0xff) < 0x20 || (w & 0xff) > 0x7e)
            return 0;
    return 1;
}

/* Fill keys[count][16] with printable ASCII keys whose old hashes are all
   equal: a random first word, then the second word that brings the state
   to one fixed value (kept when it is printable too, about 1 in 2,700).
   *rng is a splitmix64 state. */
static inline void old_hash_collisions(char (*keys)[16], size_t count, uint64_t *rng)
{
    const uint64_t target = UINT64_C(0x0123456789ABCDEF) * mul_inverse(OLD_MUL);
    for (size_t k = 0; k < count;) {
        uint64_t z = (*rng += UINT64_C(0x9E3779B97F4A7C15)), w0 = 0;
        z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
        z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
        for (int i = 0; i < 8; i++, z >>= 8)
            w0 |= (uint64_t)(0x20 + (z & 0xff) % 95) << (8 * i);
        uint64_t x1 = ((OLD_SEED ^ 16) ^ old_mix64(w0)) * OLD_MUL;
        uint64_t w1 = old_unmix64(target ^ x1);
        if (!printable_word(w1))
            continue;
        memcpy(keys[k], &w0, 8);
        memcpy(keys[k] + 8, &w1, 8);
        k++;
    }
}

#endif
