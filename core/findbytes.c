/* A literal marker's first occurrence (see findbytes.h). */
#include "findbytes.h"

#include <string.h>

/* Candidates allowed before the rate check: a marker's first byte may well
 * occur a few times in text that does not hold it. */
#define FREE_CANDIDATES 8
/* One candidate per this many bytes scanned, at most, before memmem. */
#define BYTES_PER_CANDIDATE 64

const char *mp_find_bytes(const char *hay, size_t n, const char *needle, size_t m)
{
    if (m == 0)
        return hay;
    if (m > n)
        return NULL;
    size_t at = 0, last = n - m, candidates = 0;
    while (at <= last) {
        const char *p = memchr(hay + at, needle[0], last - at + 1);
        if (p == NULL)
            return NULL;
        if (memcmp(p + 1, needle + 1, m - 1) == 0)
            return p;
        at = (size_t)(p - hay) + 1;
        if (++candidates > FREE_CANDIDATES && candidates > at / BYTES_PER_CANDIDATE)
            return memmem(hay + at, n - at, needle, m);
    }
    return NULL;
}
