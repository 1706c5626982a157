/* The JSON string escaper as it was before it found plain runs 64 bytes at
 * a time (core/json/json_write.c), kept to compare the new one with
 * (test_json_write.c). Not built into memproxy. */
#include "json_write_ref.h"

#include <string.h>

#include "json/json_scan.h"
#include "json/utf8.h"

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

size_t mp_json_escape_ref(char *out, size_t cap, const char *src, size_t len)
{
    const unsigned char *s = (const unsigned char *)src;
    size_t i = 0;
    size_t n = 0;

    while (i < len) {
        char esc[7];
        const char *put;
        size_t put_len;
        size_t plain = mp_json_plain_run(src, len, i);
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
