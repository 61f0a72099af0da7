/*
 * rng.h: a seeded pseudorandom number generator, reproducible from its seed.
 *
 * The generator is xoshiro256** from D. Blackman and S. Vigna, "Scrambled linear pseudorandom
 * number generators" (2018, ACM TOMS 47(4), 2021): 256 bits of state, period 2^256 - 1, output
 * scrambled by a multiply-rotate-multiply. The seed is expanded into the state with splitmix64
 * (G. Steele, D. Lea, C. Flood, "Fast splittable pseudorandom number generators", OOPSLA 2014),
 * as the xoshiro authors recommend, so that nearby seeds give unrelated streams.
 *
 * Invariant: the state is never all zero (the one state xoshiro cannot leave).
 *
 * Not for cryptography. Role code draws seeds through its io (io_entropy) and everything after
 * that from a struct rng, so that a simulator run replays exactly from its seed. The same seed
 * gives the same sequence on every platform (rng_fill writes little-endian words).
 */
#ifndef STROM_BASE_RNG_H
#define STROM_BASE_RNG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A generator. Owned by one caller; copy it to fork a sequence. */
struct rng {
    uint64_t s[4]; /* xoshiro256** state, never all zero */
};

/* Sets rng to the sequence of seed (any value, 0 included). */
void rng_init(struct rng *rng, uint64_t seed);

/* The next 64 uniformly distributed bits. */
uint64_t rng_next_u64(struct rng *rng);

/* A uniform integer in [0, n); n must be > 0. Unbiased, by D. Lemire's multiply-and-reject
 * method, "Fast random integer generation in an interval", ACM TOMACS 29(1), 2019. */
uint64_t rng_below(struct rng *rng, uint64_t n);

/* A uniform integer in [lo, hi], both ends included; lo <= hi. [0, UINT64_MAX] is allowed. */
uint64_t rng_range(struct rng *rng, uint64_t lo, uint64_t hi);

/* A uniform double in [0, 1) with 53 random bits (multiples of 2^-53). */
double rng_double(struct rng *rng);

/* Fills len bytes of buf with random bytes: successive rng_next_u64 values, little-endian; the
 * last word is cut to the bytes that remain. */
void rng_fill(struct rng *rng, void *buf, size_t len);

/* true with probability p, p in [0, 1]: never for 0, always for 1. */
bool rng_chance(struct rng *rng, double p);

#endif
