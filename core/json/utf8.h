/* UTF-8 per Unicode table 3-7: decoding one sequence, sizing the ill-formed
 * run one U+FFFD replaces, encoding one scalar value. Byte-level only: no
 * strings, no allocation, no normalization, no notion of "printable". */
#ifndef MP_CORE_UTF8_H
#define MP_CORE_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* Decodes the sequence at s[0..n) (borrowed). Accepts exactly the
 * well-formed sequences of Unicode table 3-7: ASCII, and 2 to 4 byte forms
 * that are not overlong, not surrogates (U+D800..U+DFFF) and not above
 * U+10FFFF. Returns the sequence length (1 to 4) and sets *cp to its code
 * point; returns 0 when s is ill-formed, truncated (the sequence runs past
 * n) or n is 0, leaving *cp untouched. cp may be NULL to only validate.
 * Bytes past the sequence are never read. Inline, see below. */
static inline size_t mp_utf8_decode(const unsigned char *s, size_t n, uint32_t *cp);

/* Length of the maximal subpart at s[0..n) (borrowed): the longest prefix
 * that begins some well-formed sequence, or 1 when even s[0] does not (a
 * stray continuation byte, C0, C1, F5..FF). For a start mp_utf8_decode
 * refuses this is 1 to 3, the bytes one U+FFFD replaces under the Unicode
 * "substitution of maximal subparts" practice; for a well-formed start it
 * equals the sequence length. Returns 0 only when n is 0. */
size_t mp_utf8_ill_formed_len(const unsigned char *s, size_t n);

/* The length of the longest prefix of s[0..n) (UTF-8) of at most max
 * bytes that ends on a sequence boundary: n when n <= max, else max moved
 * back over continuation bytes (10xxxxxx) so no sequence is split. */
size_t mp_utf8_cut(const char *s, size_t n, size_t max);

/* Cuts text[0..len) (writable, with room for a NUL at len) to at most max
 * bytes at a UTF-8 boundary, ending in an ellipsis (U+2026) when it was
 * longer, NUL-terminated then; returns the length to keep. max >= 4. */
size_t mp_utf8_cut_marked(char *text, size_t len, size_t max);

/* Writes the UTF-8 form of cp to out and returns its length (1 to 4).
 * Refuses what is not a Unicode scalar value (a surrogate, or above
 * U+10FFFF): returns 0 and writes nothing. */
size_t mp_utf8_encode(uint32_t cp, unsigned char out[4]);

/* Table 3-7 by its lead byte b: returns the length of the sequence b
 * starts (1 to 4; 0 for a byte that starts none: 80..C1, F5..FF) and sets
 * [*lo, *hi] to the range the second byte must fall in. The narrowed
 * ranges after E0, ED, F0 and F4 rule out overlong forms, surrogates and
 * code points past U+10FFFF; any later byte is 80..BF. */
static inline size_t mp_utf8_lead_len(unsigned char b, unsigned char *lo, unsigned char *hi)
{
    *lo = 0x80;
    *hi = 0xBF;
    if (b < 0x80)
        return 1;
    if (b < 0xC2)
        return 0;
    if (b < 0xE0)
        return 2;
    if (b < 0xF0) {
        *lo = b == 0xE0 ? 0xA0 : 0x80;
        *hi = b == 0xED ? 0x9F : 0xBF;
        return 3;
    }
    if (b < 0xF5) {
        *lo = b == 0xF0 ? 0x90 : 0x80;
        *hi = b == 0xF4 ? 0x8F : 0xBF;
        return 4;
    }
    return 0;
}

/* Inline because json_scan.c calls it once per non-ASCII character of every
 * request body: as a call into utf8.c its string scan ran 1.3x to 1.8x
 * slower on non-ASCII text. With cp NULL the decoding folds away. */
static inline size_t mp_utf8_decode(const unsigned char *s, size_t n, uint32_t *cp)
{
    unsigned char lo, hi;
    size_t need;
    uint32_t c;

    if (n == 0)
        return 0;
    need = mp_utf8_lead_len(s[0], &lo, &hi);
    /* One test for all but a 2 to 4 byte sequence keeps json_scan's path
     * short: ASCII (n >= 1 holds it whole), a byte that leads nothing, a
     * cut sequence. */
    if (need <= 1 || need > n) {
        if (need == 1 && cp != NULL)
            *cp = s[0];
        return need == 1 ? 1 : 0;
    }
    if (s[1] < lo || s[1] > hi)
        return 0;
    /* The lead keeps 5, 4 or 3 payload bits for 2, 3 or 4 bytes. */
    c = ((uint32_t)(s[0] & (0x7Fu >> need)) << 6) | (s[1] & 0x3Fu);
    for (size_t i = 2; i < need; i++) {
        if (s[i] < 0x80 || s[i] > 0xBF)
            return 0;
        c = (c << 6) | (s[i] & 0x3Fu);
    }
    if (cp != NULL)
        *cp = c;
    return need;
}

#endif
