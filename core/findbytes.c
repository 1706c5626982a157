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
    return mp_find_bytes_at(hay, n, needle, m, 0);
}

const char *mp_find_bytes_at(const char *hay, size_t n, const char *needle, size_t m, size_t a)
{
    if (m == 0)
        return hay;
    if (m > n)
        return NULL;
    size_t at = 0, last = n - m, candidates = 0; /* at: the first start not yet ruled out */
    while (at <= last) {
        const char *p = memchr(hay + at + a, needle[a], last - at + 1);
        if (p == NULL)
            return NULL;
        const char *start = p - a;
        if (memcmp(start, needle, m) == 0)
            return start;
        at = (size_t)(start - hay) + 1;
        if (++candidates > FREE_CANDIDATES && candidates > at / BYTES_PER_CANDIDATE)
            return memmem(hay + at, n - at, needle, m);
    }
    return NULL;
}

/* How often a byte turns up in text, roughly: 0 seldom (marks, controls,
 * digits), 1 capitals, 2 bytes of UTF-8 beyond ASCII, 3 lower case letters
 * and the space. */
static unsigned commonness(unsigned char c)
{
    if (c == ' ' || (c >= 'a' && c <= 'z'))
        return 3;
    if (c >= 0x80)
        return 2;
    return c >= 'A' && c <= 'Z' ? 1 : 0;
}

size_t mp_find_bytes_anchor(const char *needle, size_t m)
{
    size_t a = 0;
    for (size_t i = 1; i < m && commonness((unsigned char)needle[a]) > 0; i++)
        if (commonness((unsigned char)needle[i]) < commonness((unsigned char)needle[a]))
            a = i;
    return a;
}
