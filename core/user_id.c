/* User id rules (docs/http-api.md): strict UTF-8, printable code points only, no
 * unexpanded templates. A pure check; it neither normalizes nor trims. */
#include "user_id.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "status.h"
#include "json/utf8.h"

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
        size_t n = mp_utf8_decode(s + i, len - i, &c);
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
