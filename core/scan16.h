/* A text searched 16 bytes at a time where SSE2 is (every x86-64): the
 * walk both the JSON scanner (json_scan.c: past plain string bytes) and the
 * memory block (memblock.c: past ASCII) make over most of what they read,
 * and the range compare the question's words are classified with (terms.c,
 * relevance_words.c). It knows nothing of what a byte means: the caller's
 * mask says. */
#ifndef MP_CORE_SCAN16_H
#define MP_CORE_SCAN16_H

#include <stddef.h>

#ifdef __SSE2__
#include <emmintrin.h>

/* One bit per byte of the 16 at p that the caller looks for. */
typedef unsigned (*mp_scan16_mask_fn)(const unsigned char *p);

/* The first byte of s[i..len) that mask marks, len when none does, for a
 * text of len >= 16 (i <= len): the first 16 bytes, then 64 at a time (four
 * masks, one test), then 16, the last bytes as the text's last 16 (the
 * bits below i dropped), so no byte past len is read. Inline, with the caller's mask
 * inlined in it. */
static inline size_t mp_scan16(const unsigned char *s, size_t i, size_t len, mp_scan16_mask_fn mask)
{
    if (len - i >= 16) { /* most runs (a JSON name, a short value) end in their first 16 */
        unsigned m = mask(s + i);
        if (m != 0)
            return i + (size_t)__builtin_ctz(m);
        i += 16;
    }
    for (; len - i >= 64; i += 64) {
        unsigned m0 = mask(s + i), m1 = mask(s + i + 16), m2 = mask(s + i + 32);
        unsigned m3 = mask(s + i + 48);
        if ((m0 | m1 | m2 | m3) != 0) {
            unsigned long long m = m0 | (unsigned long long)m1 << 16 |
                                   (unsigned long long)m2 << 32 | (unsigned long long)m3 << 48;
            return i + (size_t)__builtin_ctzll(m);
        }
    }
    for (; len - i >= 16; i += 16) {
        unsigned m = mask(s + i);
        if (m != 0)
            return i + (size_t)__builtin_ctz(m);
    }
    if (i == len)
        return len;
    size_t w = len - 16;
    unsigned m = mask(s + w) & ~((1u << (i - w)) - 1);
    return m != 0 ? w + (size_t)__builtin_ctz(m) : len;
}
/* The bytes of x in [lo, hi] as 0xFF, the others 0 (lo <= hi, both
 * ASCII): a range compare of 16 bytes, shifted so that lo is -128. */
static inline __m128i mp_scan16_in_range(__m128i x, char lo, char hi)
{
    __m128i s = _mm_sub_epi8(x, _mm_set1_epi8((char)(lo - 128)));
    return _mm_cmplt_epi8(s, _mm_set1_epi8((char)(hi - lo + 1 - 128)));
}
#endif

#endif
