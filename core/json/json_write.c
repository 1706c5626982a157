/* JSON text writing: the string escaping every JSON memproxy writes goes
 * through (error bodies, log lines, prompts, the injected memory). Writes
 * only; reading JSON is json_scan.c's. No allocation.
 *
 * Most of what it writes is long runs of bytes JSON carries as they are
 * (a memory block is kilobytes of them): on a CPU with AVX2 they are found
 * 32 bytes at a time (core/scan32.h), by the rule of json_scan.c's
 * mp_json_plain_run, which finds the rest. */
#include "json/json_write.h"

#include <string.h>

#include "json/json_scan.h"
#include "json/utf8.h"
#include "scan32.h"

/* U+FFFD, written for each maximal ill-formed subsequence (the Unicode
 * "substitution of maximal subparts" practice). */
static const char replacement[] = "\xEF\xBF\xBD";

/* Escape for one byte below 0x80, in esc; returns its length (1: as is). */
static size_t escape_ascii(unsigned char c, char esc[7])
{
    static const char hex[] = "0123456789abcdef";
    const char *named = NULL;

    switch (c) {
    case '"':
        named = "\\\"";
        break;
    case '\\':
        named = "\\\\";
        break;
    case '\n':
        named = "\\n";
        break;
    case '\r':
        named = "\\r";
        break;
    case '\t':
        named = "\\t";
        break;
    case '\b':
        named = "\\b";
        break;
    case '\f':
        named = "\\f";
        break;
    default:
        break;
    }
    if (named != NULL) {
        memcpy(esc, named, 3);
        return 2;
    }
    if (c >= 0x20) {
        esc[0] = (char)c;
        return 1;
    }
    memcpy(esc, "\\u00", 4);
    esc[4] = hex[c >> 4];
    esc[5] = hex[c & 0xF];
    return 6;
}

/* What one step of the escaper writes: a pointer to the bytes and their
 * length, and how many input bytes it consumed. */
static size_t escape_step(const unsigned char *s, size_t n, char esc[7], const char **put,
                          size_t *put_len)
{
    if (s[0] < 0x80) {
        *put_len = escape_ascii(s[0], esc);
        *put = esc;
        return 1;
    }
    size_t ok = mp_utf8_decode(s, n, NULL);
    if (ok != 0) {
        *put = (const char *)s;
        *put_len = ok;
        return ok;
    }
    *put = replacement;
    *put_len = sizeof(replacement) - 1;
    return mp_utf8_ill_formed_len(s, n);
}

#ifdef MP_SCAN32
/* The bytes of the 32 at p that end a plain run: below 0x20 or above 0x7F
 * (signed: below 0x20), '"' and '\\', one bit each. */
MP_SCAN32_TARGET static inline unsigned special32(const unsigned char *p)
{
    __m256i x = _mm256_loadu_si256((const __m256i *)(const void *)p);
    __m256i bad = _mm256_cmpgt_epi8(_mm256_set1_epi8(0x20), x);
    bad = _mm256_or_si256(bad, _mm256_cmpeq_epi8(x, _mm256_set1_epi8('"')));
    bad = _mm256_or_si256(bad, _mm256_cmpeq_epi8(x, _mm256_set1_epi8('\\')));
    return (unsigned)_mm256_movemask_epi8(bad);
}

MP_SCAN32_TARGET static size_t plain_run32(const char *s, size_t len, size_t i)
{
    return mp_scan32((const unsigned char *)s, i, len, special32);
}
#endif

/* The end of the plain run from i (mp_json_plain_run). */
static size_t plain_run(const char *s, size_t len, size_t i)
{
#ifdef MP_SCAN32
    if (len - i >= 32 && mp_scan32_ok())
        return plain_run32(s, len, i);
#endif
    return mp_json_plain_run(s, len, i);
}

size_t mp_json_escape(char *out, size_t cap, const char *src, size_t len)
{
    const unsigned char *s = (const unsigned char *)src;
    size_t i = 0;
    size_t n = 0;

    while (i < len) {
        char esc[7];
        const char *put;
        size_t put_len;
        size_t plain = plain_run(src, len, i);
        if (plain > i) { /* a run JSON carries as is: copy it whole */
            if (plain - i > cap - n)
                return (size_t)-1;
            memcpy(out + n, src + i, plain - i);
            n += plain - i;
            i = plain;
            if (i == len)
                break;
        }
        /* s[i] is not plain: the run stopped at it */
        i += escape_step(s + i, len - i, esc, &put, &put_len);
        if (put_len > cap - n)
            return (size_t)-1;
        for (size_t k = 0; k < put_len; k++) /* a few bytes: no call */
            out[n + k] = put[k];
        n += put_len;
    }
    return n;
}
