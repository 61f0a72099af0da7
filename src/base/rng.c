/*
 * rng.c: xoshiro256** seeded by splitmix64, and the ways to draw from it (see rng.h).
 *
 * Invariant: rng->s is never all zero. splitmix64 is a bijection of its counter, so of four
 * consecutive outputs at most one is zero; rng_init asserts it anyway.
 */
#include "base/rng.h"

#include "base/assert.h"

/* Lemire's rejection loop ends after one round with probability at least 1/2 (and in practice
 * above 1 - n/2^64); 128 rounds without an accepted draw means the generator is broken. */
enum { rng_below_rounds_max = 128 };

static uint64_t rotl64(uint64_t x, int k) {
    return (x << k) | (x >> (64 - k));
}

/* splitmix64: one step of the Weyl sequence *x += golden gamma, then a mixing function. */
static uint64_t splitmix64_next(uint64_t *x) {
    *x += UINT64_C(0x9E3779B97F4A7C15);
    uint64_t z = *x;
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

void rng_init(struct rng *rng, uint64_t seed) {
    strom_assert(rng != NULL);
    uint64_t x = seed;
    for (int i = 0; i < 4; i++) {
        rng->s[i] = splitmix64_next(&x);
    }
    strom_assert((rng->s[0] | rng->s[1] | rng->s[2] | rng->s[3]) != 0);
}

uint64_t rng_next_u64(struct rng *rng) {
    uint64_t *s = rng->s;
    uint64_t result = rotl64(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl64(s[3], 45);
    return result;
}

/*
 * Lemire: x * n is a 128-bit number whose high word is uniform over [0, n) except that some high
 * words get one extra x. Those extra x are exactly the ones whose low word is below 2^64 mod n,
 * so rejecting low words below that threshold leaves every high word with the same count. The
 * threshold (a division) is only computed when the low word is below n, which is rare.
 */
uint64_t rng_below(struct rng *rng, uint64_t n) {
    strom_assert(n > 0);
    unsigned __int128 m = (unsigned __int128)rng_next_u64(rng) * n;
    uint64_t low = (uint64_t)m;
    if (low < n) {
        uint64_t threshold = (0 - n) % n; /* 2^64 mod n */
        int rounds = 0;
        while (low < threshold && rounds < rng_below_rounds_max) {
            m = (unsigned __int128)rng_next_u64(rng) * n;
            low = (uint64_t)m;
            rounds++;
        }
        strom_assert(low >= threshold);
    }
    uint64_t result = (uint64_t)(m >> 64);
    strom_assert(result < n);
    return result;
}

uint64_t rng_range(struct rng *rng, uint64_t lo, uint64_t hi) {
    strom_assert(lo <= hi);
    uint64_t span = hi - lo + 1; /* 0 when [lo, hi] is all of uint64 */
    uint64_t result = span == 0 ? rng_next_u64(rng) : lo + rng_below(rng, span);
    strom_assert(result >= lo && result <= hi);
    return result;
}

double rng_double(struct rng *rng) {
    /* The top 53 bits as an integer, scaled by 2^-53: exact in a double, and below 1. */
    return (double)(rng_next_u64(rng) >> 11) * 0x1.0p-53;
}

void rng_fill(struct rng *rng, void *buf, size_t len) {
    strom_assert(buf != NULL || len == 0);
    uint8_t *p = buf;
    size_t i = 0;
    while (i < len) {
        uint64_t x = rng_next_u64(rng);
        for (int k = 0; k < 8 && i < len; k++, i++) {
            p[i] = (uint8_t)(x >> (8 * k));
        }
    }
}

bool rng_chance(struct rng *rng, double p) {
    strom_assert(p >= 0.0 && p <= 1.0);
    return rng_double(rng) < p;
}
