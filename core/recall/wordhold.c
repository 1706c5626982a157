/* Whole words (wordhold.h): a folded scan of the text for the value, each
 * place it stands checked at both ends against the characters around it.
 * A plain scan: values are short, and erasure, the caller, is rare. */
#include "recall/wordhold.h"

#include <stdint.h>
#include <string.h>
#include <unicode/uchar.h>
#include <unicode/uscript.h>

#include "json/utf8.h"
#include "recall/lang.h"
#include "recall/terms.h"

#define INVALID_CP 0x110000u /* + the byte: a byte that starts no sequence */

/* The code point at s[*i..n) folded (mp_terms_fold); advances *i. A byte
 * that starts no well-formed sequence is itself above every code point,
 * so that it matches only itself. */
static uint32_t next_folded(const char *s, size_t n, size_t *i)
{
    uint32_t cp = 0;
    size_t len = mp_utf8_decode((const unsigned char *)s + *i, n - *i, &cp);
    if (len == 0) {
        cp = INVALID_CP + (unsigned char)s[*i];
        len = 1;
    }
    *i += len;
    return mp_terms_fold(cp);
}

/* The code point that ends at s[..end) (end > 0), folded; *at: where it
 * starts. */
static uint32_t prev_folded(const char *s, size_t end, size_t *at)
{
    size_t b = end - 1;
    while (b > 0 && end - b < 4 && ((unsigned char)s[b] & 0xC0) == 0x80)
        b--;
    size_t i = b;
    uint32_t cp = next_folded(s, end, &i);
    if (i != end) { /* a stray continuation byte */
        b = end - 1;
        cp = INVALID_CP + (unsigned char)s[b];
    }
    *at = b;
    return cp;
}

static bool is_space(uint32_t cp)
{
    return cp == ' ' || (cp >= '\t' && cp <= '\r') || cp == 0x85 || cp == 0xA0 || cp == 0x1680 ||
           (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F ||
           cp == 0x205F || cp == 0x3000;
}

static bool is_digit(uint32_t cp)
{
    return cp >= '0' && cp <= '9';
}

static bool is_word(uint32_t cp)
{
    return cp < INVALID_CP && mp_terms_is_word_char(cp);
}

static UScriptCode script_of(uint32_t cp)
{
    UErrorCode err = U_ZERO_ERROR;
    if (cp < 0x80)
        return is_digit(cp) ? USCRIPT_COMMON : USCRIPT_LATIN;
    UScriptCode sc = uscript_getScript((UChar32)cp, &err);
    return U_FAILURE(err) ? USCRIPT_COMMON : sc;
}

/* A script whose words meet without a space (or, Hangul, with particles
 * written onto them). */
static bool unspaced(uint32_t cp)
{
    if (cp < 0x80 || !is_word(cp))
        return false;
    switch (script_of(cp)) {
    case USCRIPT_HAN:
    case USCRIPT_HIRAGANA:
    case USCRIPT_KATAKANA:
    case USCRIPT_THAI:
    case USCRIPT_LAO:
    case USCRIPT_KHMER:
    case USCRIPT_MYANMAR:
    case USCRIPT_HANGUL:
        return true;
    default:
        return false;
    }
}

/* Whether a and b, side by side, are of one word. */
static bool joins(uint32_t a, uint32_t b)
{
    if (!is_word(a) || !is_word(b) || unspaced(a) || unspaced(b))
        return false;
    UScriptCode sa = script_of(a), sb = script_of(b);
    bool neutral = sa == USCRIPT_COMMON || sa == USCRIPT_INHERITED || sb == USCRIPT_COMMON ||
                   sb == USCRIPT_INHERITED;
    return neutral || sa == sb;
}

/* Whether text[start..) matches value[0..len) (folded, blank runs alike):
 * *end where the match ends. */
static bool match_at(const char *text, size_t n, size_t start, const char *value, size_t len,
                     size_t *end)
{
    size_t h = start, k = 0;
    while (k < len) {
        uint32_t v = next_folded(value, len, &k);
        if (!is_space(v)) {
            if (h >= n || next_folded(text, n, &h) != v)
                return false;
            continue;
        }
        for (size_t p = k; k < len && is_space(next_folded(value, len, &p)); p = k)
            k = p;
        size_t p = h;
        if (h >= n || !is_space(next_folded(text, n, &p)))
            return false;
        for (size_t q = h; h < n && is_space(next_folded(text, n, &q)); q = h)
            h = q;
    }
    *end = h;
    return true;
}

/* A French, Italian or Catalan elision ends at the apostrophe at text[ap]:
 * one to five ASCII letters before it that begin a word, and a value that
 * begins with a vowel or h (core/recall/terms.c: elide). */
static bool elided(const char *text, size_t ap, int lang, uint32_t first)
{
    if (lang != MP_LANG_FR && lang != MP_LANG_IT && lang != MP_LANG_CA)
        return false;
    if (first < 0x80 && strchr("bcdfgjklmnpqrstvwxz", (int)first) != NULL)
        return false;
    size_t b = ap;
    while (b > 0 && ap - b < 6 && ((text[b - 1] | 0x20) >= 'a' && (text[b - 1] | 0x20) <= 'z'))
        b--;
    size_t at;
    return ap - b >= 1 && ap - b <= 5 && (b == 0 || !is_word(prev_folded(text, b, &at)));
}

/* Whether nothing before text[start) continues the value's first
 * character first. */
static bool left_ok(const char *text, size_t start, int lang, uint32_t first)
{
    size_t at, at2;
    if (!is_word(first) || unspaced(first) || start == 0)
        return true;
    uint32_t p1 = prev_folded(text, start, &at);
    if (joins(p1, first))
        return false;
    uint32_t p2 = at > 0 ? prev_folded(text, at, &at2) : 0;
    if ((p1 == '.' || p1 == ',') && is_digit(first) && is_digit(p2))
        return false; /* "17.7", "1,7" */
    if (p1 == '\'' && is_word(p2) && !is_digit(p2) && !is_digit(first))
        return elided(text, at, lang, first); /* "O'Brien", or "l'Italie" */
    return true;
}

/* Whether nothing from text[end) on continues the value's last character
 * last. */
static bool right_ok(const char *text, size_t n, size_t end, int lang, uint32_t last)
{
    size_t i = end, j;
    if (!is_word(last) || unspaced(last) || end >= n)
        return true;
    uint32_t nx = next_folded(text, n, &i);
    if (joins(last, nx))
        return false;
    j = i;
    uint32_t after = i < n ? next_folded(text, n, &j) : 0;
    if ((nx == '.' || nx == ',') && is_digit(last) && is_digit(after))
        return false; /* "7.5", "7,000" */
    if (nx != '\'' || !is_word(after) || is_digit(last) || is_digit(after))
        return true;
    if (lang == MP_LANG_TR)
        return true; /* a proper noun's suffixes: "Ankara'da" */
    size_t k = j;
    return after == 's' && (j >= n || !is_word(next_folded(text, n, &k))); /* "Caroline's" */
}

bool mp_wordhold_in(const char *text, size_t n, int lang, const char *value, size_t len)
{
    size_t vs = 0, ve = len, at;
    for (size_t p = 0; vs < len && is_space(next_folded(value, len, &p)); p = vs)
        vs = p;
    while (ve > vs && is_space(prev_folded(value, ve, &at)))
        ve = at;
    if (ve == vs)
        return false;
    size_t p = vs;
    uint32_t first = next_folded(value, ve, &p);
    uint32_t last = prev_folded(value, ve, &at);
    for (size_t start = 0; start < n;) {
        size_t end;
        if (match_at(text, n, start, value + vs, ve - vs, &end) &&
            left_ok(text, start, lang, first) && right_ok(text, n, end, lang, last))
            return true;
        next_folded(text, n, &start);
    }
    return false;
}

bool mp_wordhold_unspaced(const char *value, size_t len)
{
    for (size_t i = 0; i < len;)
        if (unspaced(next_folded(value, len, &i)))
            return true;
    return false;
}
