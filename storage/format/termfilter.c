/* The term filter's bits (termfilter.h): three bit positions per pair,
 * from one 64-bit hash split in three (the filter has 2^11 bits, so 33
 * bits of a well-mixed hash are enough). */
#include "format/termfilter.h"

#include <stdint.h>

#include "fnv1a.h"

#define FILTER_BITS (MP_TERMFILTER_BYTES * 8)
#define PROBES      3
#define PROBE_SHIFT 21

_Static_assert((FILTER_BITS & (FILTER_BITS - 1)) == 0, "the filter's bits are a power of two");
_Static_assert(FILTER_BITS <= (1u << PROBE_SHIFT), "each probe has bits of its own");

/* FNV-1a of the kind byte and the term, then a 64-bit finaliser (FNV's
 * low bits alone mix poorly for short strings). */
static uint64_t pair_hash(unsigned kind, const char *term, size_t len)
{
    unsigned char k = (unsigned char)(kind & 0xffu);
    uint64_t h = mp_fnv1a64(mp_fnv1a64(MP_FNV1A64_BASIS, &k, 1), term, len);
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    return h ^ (h >> 33);
}

static size_t probe(uint64_t h, int i)
{
    return (size_t)(h >> (PROBE_SHIFT * i)) & (FILTER_BITS - 1);
}

void mp_termfilter_add(struct mp_termfilter *f, unsigned kind, const char *term, size_t len)
{
    uint64_t h = pair_hash(kind, term, len);
    for (int i = 0; i < PROBES; i++) {
        size_t b = probe(h, i);
        f->bits[b >> 3] |= (unsigned char)(1u << (b & 7));
    }
}

bool mp_termfilter_may_hold(const struct mp_termfilter *f, unsigned kind, const char *term,
                            size_t len)
{
    uint64_t h = pair_hash(kind, term, len);
    for (int i = 0; i < PROBES; i++) {
        size_t b = probe(h, i);
        if ((f->bits[b >> 3] & (1u << (b & 7))) == 0)
            return false;
    }
    return true;
}
