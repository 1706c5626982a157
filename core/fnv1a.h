/* FNV-1a over bytes, 32 and 64 bits: the hash of memproxy's in-memory
 * tables (stem cache, word lists, view cache, conversation names) and of
 * the index's term filter. Not keyed: no table it serves may be filled
 * with keys an outsider chooses to collide without a bound on the probe.
 * A hash may go on from another's value (h), to hash several pieces as
 * one. */
#ifndef MP_CORE_FNV1A_H
#define MP_CORE_FNV1A_H

#include <stddef.h>
#include <stdint.h>

#define MP_FNV1A32_BASIS 2166136261u
#define MP_FNV1A64_BASIS 14695981039346656037ULL

/* h (MP_FNV1A32_BASIS to start) on over p[0..n). */
static inline uint32_t mp_fnv1a32(uint32_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 16777619u;
    return h;
}

/* h (MP_FNV1A64_BASIS to start) on over p[0..n). */
static inline uint64_t mp_fnv1a64(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 1099511628211ULL;
    return h;
}

#endif
