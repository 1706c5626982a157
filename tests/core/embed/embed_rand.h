/* Deterministic random unit vectors for the embed suites (no libc rand:
 * the same numbers on every platform). */
#ifndef MP_TESTS_EMBED_RAND_H
#define MP_TESTS_EMBED_RAND_H

#include <math.h>
#include <stdint.h>

static inline double embed_rand_uniform(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return ((double)(*s >> 11) + 0.5) / 9007199254740992.0;
}

/* v[0..dims) a random direction (Gaussian coordinates), unit length. */
static inline void embed_rand_unit(uint64_t *s, float *v, unsigned dims)
{
    double sum = 0.0;
    for (unsigned i = 0; i < dims; i++) {
        double g = sqrt(-2.0 * log(embed_rand_uniform(s))) *
                   cos(6.283185307179586 * embed_rand_uniform(s));
        v[i] = (float)g;
        sum += g * g;
    }
    for (unsigned i = 0; i < dims; i++)
        v[i] = (float)(v[i] / sqrt(sum));
}

#endif
