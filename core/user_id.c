/* User id rules (CONTRACT §3): strict UTF-8, printable code points only, no
 * unexpanded templates. A pure check; it neither normalizes nor trims. */
#include "user_id.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "status.h"

/* Length of the sequence led by b (0: never a lead byte), and the range its
 * second byte must fall in; this is what rules out overlong forms,
 * surrogates and code points past U+10FFFF (Unicode table 3-7). */
static int lead_len(unsigned char b, unsigned char *lo, unsigned char *hi)
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

/* Decodes one code point at s; returns its length, or 0 when s[0..n) does
 * not start with a well-formed sequence. */
static size_t utf8_next(const unsigned char *s, size_t n, uint32_t *cp)
{
    unsigned char lo, hi;
    int need = lead_len(s[0], &lo, &hi);
    if (need == 0 || (size_t)need > n)
        return 0;
    uint32_t c = need == 1 ? s[0] : s[0] & (0x7Fu >> need);
    for (int i = 1; i < need; i++) {
        if (s[i] < lo || s[i] > hi)
            return 0;
        c = (c << 6) | (s[i] & 0x3Fu);
        lo = 0x80;
        hi = 0xBF;
    }
    *cp = c;
    return (size_t)need;
}

static bool is_noncharacter(uint32_t c)
{
    return (c >= 0xFDD0 && c <= 0xFDEF) || (c & 0xFFFE) == 0xFFFE;
}

/* Controls, DEL and the invisible format characters the header lists
 * (soft hyphen, zero-width and bidi marks, word joiner and friends, BOM). */
static bool is_unprintable(uint32_t c)
{
    if (c < 0x20 || (c >= 0x7F && c <= 0x9F) || c == 0xAD)
        return true;
    if ((c >= 0x200B && c <= 0x200F) || (c >= 0x202A && c <= 0x202E))
        return true;
    if ((c >= 0x2060 && c <= 0x206F) || c == 0xFEFF)
        return true;
    return is_noncharacter(c);
}

static bool valid_text(const unsigned char *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        uint32_t c;
        size_t n = utf8_next(s + i, len - i, &c);
        if (n == 0 || is_unprintable(c))
            return false;
        i += n;
    }
    return true;
}

static bool contains(const char *s, size_t len, const char *needle)
{
    return memmem(s, len, needle, strlen(needle)) != NULL;
}

/* True when "open" occurs and "close" follows it somewhere after. */
static bool contains_pair(const char *s, size_t len, const char *open, const char *close)
{
    const char *o = memmem(s, len, open, strlen(open));
    if (o == NULL)
        return false;
    size_t skip = (size_t)(o - s) + strlen(open);
    return memmem(s + skip, len - skip, close, strlen(close)) != NULL;
}

static bool is_name_start(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}

static bool is_name_char(char c)
{
    return is_name_start(c) || (c >= '0' && c <= '9');
}

static bool is_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F') || (c >= 'a' && c <= 'f');
}

/* "%name%" with name an identifier, as in Windows environment variables.
 * A two-hex-digit name is a percent-encoded byte ("caf%C3%A9"), not a
 * template, and is let through. */
static bool contains_percent_var(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (s[i] != '%' || i + 1 >= len || !is_name_start(s[i + 1]))
            continue;
        size_t j = i + 1;
        while (j < len && is_name_char(s[j]))
            j++;
        if (j == len || s[j] != '%')
            continue;
        if (!(j - i == 3 && is_hex(s[i + 1]) && is_hex(s[i + 2])))
            return true;
    }
    return false;
}

static bool looks_like_template(const char *s, size_t len)
{
    if (contains(s, len, "{{") || contains(s, len, "}}"))
        return true;
    if (contains_pair(s, len, "${", "}") || contains_pair(s, len, "<%", "%>"))
        return true;
    return contains_percent_var(s, len);
}

int mp_user_id_validate(const char *id, size_t len)
{
    if (id == NULL || len == 0 || len > MP_USER_ID_MAX)
        return MP_EINVAL;
    if (!valid_text((const unsigned char *)id, len))
        return MP_EINVAL;
    if (looks_like_template(id, len))
        return MP_EINVAL;
    return MP_OK;
}
