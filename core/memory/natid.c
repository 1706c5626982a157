/* National id detectors: fixed shapes with a checked letter where the
 * scheme has one (DNI, NIE), prefix rules where it does not (NINO). Each
 * reads at most 13 bytes from its start, so a scan stays linear. */
#include "memory/natid.h"

#include "json/ascii.h"

/* True when s[i..i+n) are all digits, adding them to *value. */
static bool digits(const unsigned char *s, size_t len, size_t i, size_t n, unsigned long *value)
{
    if (i + n > len)
        return false;
    for (size_t k = 0; k < n; k++) {
        if (!mp_ascii_is_digit(s[i + k]))
            return false;
        *value = *value * 10 + (unsigned long)(s[i + k] - '0');
    }
    return true;
}

static bool ends_token(const unsigned char *s, size_t len, size_t j)
{
    return j >= len || !mp_ascii_is_alnum(s[j]);
}

static bool in(unsigned char c, const char *set)
{
    for (; *set != '\0'; set++) {
        if ((unsigned char)*set == c)
            return true;
    }
    return false;
}

static bool nino_prefix_ok(unsigned char a, unsigned char b)
{
    static const char *const banned[] = {"BG", "GB", "KN", "NK", "NT", "TN", "ZZ"};
    if (a < 'A' || a > 'Z' || b < 'A' || b > 'Z' || in(a, "DFIQUV") || in(b, "DFIOQUV"))
        return false;
    for (size_t k = 0; k < sizeof(banned) / sizeof(banned[0]); k++) {
        if (a == banned[k][0] && b == banned[k][1])
            return false;
    }
    return true;
}

/* "AB123456C" or "AB 12 34 56 C": the spaced form has a space before each
 * pair of digits and before the suffix. */
static bool nino_at(const unsigned char *s, size_t len, size_t i, size_t *end)
{
    unsigned long ignored = 0;
    size_t j = i + 2;
    bool spaced;

    if (i + 9 > len || !nino_prefix_ok(mp_ascii_upper(s[i]), mp_ascii_upper(s[i + 1])))
        return false;
    spaced = s[j] == ' ';
    for (int pair = 0; pair < 3; pair++) {
        if (spaced && (j >= len || s[j++] != ' '))
            return false;
        if (!digits(s, len, j, 2, &ignored))
            return false;
        j += 2;
    }
    if (spaced && (j >= len || s[j++] != ' '))
        return false;
    if (j >= len || !in(mp_ascii_upper(s[j]), "ABCD") || !ends_token(s, len, j + 1))
        return false;
    *end = j + 1;
    return true;
}

/* The check letter after the number that starts at s[j]: an optional '-'
 * or ' ', then the letter for value, then the token's end. */
static bool dni_letter_at(const unsigned char *s, size_t len, size_t j, unsigned long value,
                          size_t *end)
{
    static const char letters[] = "TRWAGMYFPDXBNJZSQVHLCKE";
    if (j < len && (s[j] == '-' || s[j] == ' '))
        j++;
    if (j >= len || mp_ascii_upper(s[j]) != (unsigned char)letters[value % 23] ||
        !ends_token(s, len, j + 1))
        return false;
    *end = j + 1;
    return true;
}

static bool dni_at(const unsigned char *s, size_t len, size_t i, size_t *end)
{
    unsigned long value = 0;
    return digits(s, len, i, 8, &value) && dni_letter_at(s, len, i + 8, value, end);
}

static bool nie_at(const unsigned char *s, size_t len, size_t i, size_t *end)
{
    unsigned char lead = mp_ascii_upper(s[i]);
    unsigned long value;

    if (lead != 'X' && lead != 'Y' && lead != 'Z')
        return false;
    value = (unsigned long)(lead - 'X');
    return digits(s, len, i + 1, 7, &value) && dni_letter_at(s, len, i + 8, value, end);
}

bool mp_natid_at(const char *text, size_t len, size_t i, size_t *end)
{
    const unsigned char *s = (const unsigned char *)text;
    if (i >= len || (i > 0 && mp_ascii_is_alnum(s[i - 1])))
        return false;
    if (mp_ascii_is_digit(s[i]))
        return dni_at(s, len, i, end);
    return nie_at(s, len, i, end) || nino_at(s, len, i, end);
}
