/* rng.h - small seeded random number generator (xoshiro256**, seeded by
 * splitmix64).  State is explicit: every thread owns one, seeded from
 * (seed, stream), so runs are reproducible and nothing is global. */
#ifndef EMBEDLAB_RNG_H
#define EMBEDLAB_RNG_H

#include <stdint.h>

typedef struct rng { uint64_t s[4]; } rng;

void rng_seed(rng *r, uint64_t seed, uint64_t stream);
uint64_t rng_u64(rng *r);
uint64_t rng_below(rng *r, uint64_t n);   /* uniform in [0, n); n > 0 */
double rng_uniform(rng *r);               /* uniform in [0, 1) */
double rng_normal(rng *r);                /* standard normal (Box-Muller) */
/* Shuffles n elements of `size` bytes (Fisher-Yates). */
void rng_shuffle(rng *r, void *base, uint64_t n, unsigned size);

#endif
