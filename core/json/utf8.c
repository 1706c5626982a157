/* UTF-8 by Unicode table 3-7: the out-of-line half (maximal subparts,
 * encoding). The table itself and mp_utf8_decode live inline in utf8.h;
 * no other file in core/ knows the byte ranges. */
#include "json/utf8.h"

#include <string.h>

size_t mp_utf8_ill_formed_len(const unsigned char *s, size_t n)
{
    unsigned char lo, hi;
    size_t need, i;

    if (n == 0)
        return 0;
    need = mp_utf8_lead_len(s[0], &lo, &hi);
    for (i = 1; i < need && i < n; i++) {
        if (s[i] < lo || s[i] > hi)
            break;
        lo = 0x80;
        hi = 0xBF;
    }
    return i;
}

size_t mp_utf8_encode(uint32_t cp, unsigned char out[4])
{
    if (cp < 0x80) {
        out[0] = (unsigned char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (unsigned char)(0xC0 | (cp >> 6));
        out[1] = (unsigned char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp >= 0xD800 && cp <= 0xDFFF)
        return 0;
    if (cp < 0x10000) {
        out[0] = (unsigned char)(0xE0 | (cp >> 12));
        out[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (unsigned char)(0x80 | (cp & 0x3F));
        return 3;
    }
    if (cp > 0x10FFFF)
        return 0;
    out[0] = (unsigned char)(0xF0 | (cp >> 18));
    out[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (unsigned char)(0x80 | (cp & 0x3F));
    return 4;
}

size_t mp_utf8_cut(const char *s, size_t n, size_t max)
{
    size_t c = max;
    if (n <= max)
        return n;
    while (c > 0 && ((unsigned char)s[c] & 0xC0) == 0x80)
        c--;
    return c;
}

size_t mp_utf8_cut_marked(char *text, size_t len, size_t max)
{
    static const char mark[] = "\xE2\x80\xA6"; /* U+2026 */
    if (len <= max)
        return len;
    size_t cut = mp_utf8_cut(text, len, max - (sizeof(mark) - 1));
    memcpy(text + cut, mark, sizeof(mark)); /* with its NUL: cut + 4 <= len */
    return cut + sizeof(mark) - 1;
}
